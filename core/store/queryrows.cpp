// The rows `data query` reads (issue 20): each step or lease row handed out as a Query::Record
// whose fields are read from its columns when the predicate asks for them. On SQLite the rows
// come straight from SQLite (Qt's driver converts every column of every row to a QVariant
// first); on PostgreSQL through QSqlQuery, whose driver converts a column when it is read.
#include "store/queryrows.h"

#include "common/labels.h"
#include "store/rows_p.h"
#include "store/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDriver>

#include <sqlite3.h>

#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

using namespace Qt::StringLiterals;

namespace Swamp {

namespace Internal {

// The current row of a statement SQLite runs.
class SqliteColumns final : public RowColumns
{
public:
    explicit SqliteColumns(sqlite3_stmt *statement)
        : m_statement(statement)
    {
    }
    bool isNull(int column) const override { return sqlite3_column_type(m_statement, column) == SQLITE_NULL; }
    qint64 integer(int column) const override { return sqlite3_column_int64(m_statement, column); }
    QString text(int column) const override { return QString::fromUtf8(utf8(column)); }
    QByteArray utf8(int column) const override
    {
        const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(m_statement, column));
        return QByteArray::fromRawData(text, sqlite3_column_bytes(m_statement, column));
    }

private:
    sqlite3_stmt *m_statement;
};

} // namespace Internal

using namespace Internal;

namespace {

const QString StepModel = QStringLiteral("swamp/step");
const QString LeaseModel = QStringLiteral("swamp/step-lease");

QVariant null()
{
    return QVariant::fromValue(nullptr);
}

// A text column as StepRecord::toJson() writes an optional text: empty is null.
QVariant textOrNull(const RowColumns &c, int column)
{
    const QString text = c.text(column);
    return text.isEmpty() ? null() : QVariant(text);
}

QVariant timeOrNull(const RowColumns &c, int column)
{
    return c.isNull(column) ? null() : QVariant(timeFromColumn(c, column));
}

QVariant intOrNull(const RowColumns &c, int column)
{
    return c.isNull(column) ? null() : QVariant(c.integer(column));
}

// The attributes of StepRecord::toJson(), each with how its column becomes its value.
enum class StepAttribute {
    Id, RunId, Name, Seq, State, Command, Shell, Requirement, Target, Labels, Platform, TimeoutSeconds, Attempt,
    MaxAttempts, AtMostOnce, MaskedEnv, ExitCode, Error, WorkerName, OutputBytes, OutputTruncated, QueuedAt,
    StartedAt, FinishedAt, CreatedAt, UpdatedAt
};

const QHash<QString, StepAttribute> &stepAttributes()
{
    static const QHash<QString, StepAttribute> attributes{
        {QStringLiteral("id"), StepAttribute::Id}, {QStringLiteral("runId"), StepAttribute::RunId},
        {QStringLiteral("name"), StepAttribute::Name}, {QStringLiteral("seq"), StepAttribute::Seq},
        {QStringLiteral("state"), StepAttribute::State}, {QStringLiteral("command"), StepAttribute::Command},
        {QStringLiteral("shell"), StepAttribute::Shell}, {QStringLiteral("requirement"), StepAttribute::Requirement},
        {QStringLiteral("target"), StepAttribute::Target}, {QStringLiteral("labels"), StepAttribute::Labels},
        {QStringLiteral("platform"), StepAttribute::Platform},
        {QStringLiteral("timeoutSeconds"), StepAttribute::TimeoutSeconds},
        {QStringLiteral("attempt"), StepAttribute::Attempt}, {QStringLiteral("maxAttempts"), StepAttribute::MaxAttempts},
        {QStringLiteral("atMostOnce"), StepAttribute::AtMostOnce}, {QStringLiteral("maskedEnv"), StepAttribute::MaskedEnv},
        {QStringLiteral("exitCode"), StepAttribute::ExitCode}, {QStringLiteral("error"), StepAttribute::Error},
        {QStringLiteral("workerName"), StepAttribute::WorkerName},
        {QStringLiteral("outputBytes"), StepAttribute::OutputBytes},
        {QStringLiteral("outputTruncated"), StepAttribute::OutputTruncated},
        {QStringLiteral("queuedAt"), StepAttribute::QueuedAt}, {QStringLiteral("startedAt"), StepAttribute::StartedAt},
        {QStringLiteral("finishedAt"), StepAttribute::FinishedAt}, {QStringLiteral("createdAt"), StepAttribute::CreatedAt},
        {QStringLiteral("updatedAt"), StepAttribute::UpdatedAt},
    };
    return attributes;
}

QVariant stepAttribute(const RowColumns &c, TextCache &texts, StepAttribute attribute)
{
    switch (attribute) {
    case StepAttribute::Id:
        return c.text(StepId);
    case StepAttribute::RunId:
        return c.text(StepRunId);
    case StepAttribute::Name:
        return c.text(StepName);
    case StepAttribute::Seq:
        return c.integer(StepSeq);
    case StepAttribute::State:
        return c.text(StepState_);
    case StepAttribute::Command:
        return texts.strings(c.utf8(StepCommand));
    case StepAttribute::Shell:
        return c.integer(StepShell) != 0;
    case StepAttribute::Requirement:
        return Requirement{c.text(StepTarget), texts.labels(c.utf8(StepLabels)), c.text(StepPlatform)}.text();
    case StepAttribute::Target:
        return textOrNull(c, StepTarget);
    case StepAttribute::Labels:
        return texts.labelsJson(c.utf8(StepLabels));
    case StepAttribute::Platform:
        return textOrNull(c, StepPlatform);
    case StepAttribute::TimeoutSeconds:
        return c.integer(StepTimeoutMs) > 0 ? QVariant(c.integer(StepTimeoutMs) / 1000) : null();
    case StepAttribute::Attempt:
        return c.integer(StepAttempt);
    case StepAttribute::MaxAttempts:
        return c.integer(StepMaxAttempts);
    case StepAttribute::AtMostOnce:
        return c.integer(StepAtMostOnce) != 0;
    case StepAttribute::MaskedEnv:
        return texts.strings(c.utf8(StepSecretEnv));
    case StepAttribute::ExitCode:
        return intOrNull(c, StepExitCode);
    case StepAttribute::Error:
        return textOrNull(c, StepError);
    case StepAttribute::WorkerName:
        return textOrNull(c, StepWorkerName);
    case StepAttribute::OutputBytes:
        return c.integer(StepOutputBytes);
    case StepAttribute::OutputTruncated:
        return c.integer(StepOutputTruncated) != 0;
    case StepAttribute::QueuedAt:
        return timeOrNull(c, StepQueuedAt);
    case StepAttribute::StartedAt:
        return timeOrNull(c, StepStartedAt);
    case StepAttribute::FinishedAt:
        return timeOrNull(c, StepFinishedAt);
    case StepAttribute::CreatedAt:
        return timeOrNull(c, StepCreatedAt);
    case StepAttribute::UpdatedAt:
        return timeOrNull(c, StepUpdatedAt);
    }
    return {};
}

// The attributes of LeaseRecord::toJson() and their columns; times and the exit code may be null.
const QHash<QString, int> &leaseAttributes()
{
    static const QHash<QString, int> attributes{
        {QStringLiteral("id"), LeaseId}, {QStringLiteral("stepId"), LeaseStepId}, {QStringLiteral("runId"), LeaseRunId},
        {QStringLiteral("workerId"), LeaseWorkerId}, {QStringLiteral("workerName"), LeaseWorkerName},
        {QStringLiteral("attempt"), LeaseAttempt}, {QStringLiteral("state"), LeaseState_},
        {QStringLiteral("error"), LeaseError}, {QStringLiteral("exitCode"), LeaseExitCode},
        {QStringLiteral("createdAt"), LeaseCreatedAt}, {QStringLiteral("startedAt"), LeaseStartedAt},
        {QStringLiteral("endedAt"), LeaseEndedAt}, {QStringLiteral("updatedAt"), LeaseUpdatedAt},
    };
    return attributes;
}

QVariant leaseAttribute(const RowColumns &c, int column)
{
    switch (column) {
    case LeaseAttempt:
        return c.integer(column);
    case LeaseError:
        return textOrNull(c, column);
    case LeaseExitCode:
        return intOrNull(c, column);
    case LeaseCreatedAt:
    case LeaseStartedAt:
    case LeaseEndedAt:
    case LeaseUpdatedAt:
        return timeOrNull(c, column);
    default:
        return c.text(column);
    }
}

} // namespace

QString StepRow::id() const
{
    return m_columns.text(StepId);
}

bool StepRow::isOpen() const
{
    const QByteArray state = m_columns.utf8(StepState_); // no copy: most rows are read for this alone
    return state == "queued" || state == "dispatched" || state == "running";
}

qint64 StepRow::createdAtMs() const
{
    return m_columns.integer(StepCreatedAt);
}

int StepRow::seq() const
{
    return int(m_columns.integer(StepSeq));
}

StepRecord StepRow::step() const
{
    return stepFromColumns(m_columns);
}

StepRecord StepRow::forJson() const
{
    return stepForJson(m_columns, m_texts);
}

QVariant StepRow::field(const QString &name) const
{
    // As QueryService's records: name and id are the step's, the times its attributes'.
    if (name == "modelType"_L1)
        return StepModel;
    if (name == "name"_L1)
        return m_columns.text(StepName);
    if (name == "id"_L1)
        return m_columns.text(StepId);
    if (name == "createdAt"_L1 || name == "updatedAt"_L1)
        return attribute(name);
    return {};
}

QVariant StepRow::attribute(const QString &name) const
{
    const auto found = stepAttributes().constFind(name);
    return found == stepAttributes().cend() ? QVariant() : stepAttribute(m_columns, m_texts, *found);
}

QStringList StepRow::attributeNames() const
{
    return stepAttributes().keys();
}

QString LeaseRow::id() const
{
    return m_columns.text(LeaseId);
}

qint64 LeaseRow::createdAtMs() const
{
    return m_columns.integer(LeaseCreatedAt);
}

LeaseRecord LeaseRow::lease() const
{
    return leaseFromColumns(m_columns);
}

QVariant LeaseRow::field(const QString &name) const
{
    if (name == "modelType"_L1)
        return LeaseModel;
    if (name == "name"_L1 || name == "id"_L1)
        return m_columns.text(LeaseId);
    if (name == "createdAt"_L1 || name == "updatedAt"_L1)
        return attribute(name);
    return {};
}

QVariant LeaseRow::attribute(const QString &name) const
{
    const auto found = leaseAttributes().constFind(name);
    return found == leaseAttributes().cend() ? QVariant() : leaseAttribute(m_columns, *found);
}

QStringList LeaseRow::attributeNames() const
{
    return leaseAttributes().keys();
}

Result<void> Store::forEachColumns(const QString &sql, const QVariantList &bindings,
                                   const std::function<void(const Internal::RowColumns &)> &row)
{
    if (m_dialect == Dialect::Postgres)
        return forEachRow(sql, bindings, [&](const QSqlQuery &query) { row(QueryColumns(query)); });
    if (auto opened = openBatch(); !opened)
        return opened;
    if (auto flushed = beforeStatement(); !flushed)
        return flushed;
    const QVariant handle = database().driver()->handle();
    if (!handle.isValid() || std::strcmp(handle.typeName(), "sqlite3*") != 0)
        return databaseError(Tr::tr("reading rows"), Tr::tr("the connection is not SQLite's"));
    sqlite3 *db = *static_cast<sqlite3 *const *>(handle.constData());
    sqlite3_stmt *statement = nullptr;
    int rc = sqlite3_prepare16_v2(db, sql.utf16(), int(sql.size() * sizeof(char16_t)), &statement, nullptr);
    for (qsizetype i = 0; rc == SQLITE_OK && i < bindings.size(); ++i) {
        // Only the texts and integers of a query's equalities are bound here.
        const QVariant &value = bindings.at(i);
        if (value.metaType().id() == QMetaType::QString) {
            const QString text = value.toString();
            rc = sqlite3_bind_text16(statement, int(i) + 1, text.utf16(), int(text.size() * sizeof(char16_t)),
                                     SQLITE_TRANSIENT);
        } else {
            rc = sqlite3_bind_int64(statement, int(i) + 1, value.toLongLong());
        }
    }
    const SqliteColumns columns(statement);
    while (rc == SQLITE_OK && (rc = sqlite3_step(statement)) == SQLITE_ROW) {
        row(columns);
        rc = SQLITE_OK;
    }
    const QString error = rc == SQLITE_DONE ? QString() : QString::fromUtf8(sqlite3_errmsg(db));
    sqlite3_finalize(statement);
    if (!error.isEmpty())
        return databaseError(Tr::tr("reading rows"), error);
    return {};
}

} // namespace Swamp
