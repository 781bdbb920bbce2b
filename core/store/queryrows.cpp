// The rows `data query` reads (issue 20): each step or lease row handed out as a Query::Record
// whose fields are read from its columns when the predicate asks for them. On SQLite the rows
// come straight from SQLite (Qt's driver converts every column of every row to a QVariant
// first); on PostgreSQL through QSqlQuery, whose driver converts a column when it is read.
#include "store/queryrows.h"

#include "common/jsonwriter.h"
#include "common/labels.h"
#include "store/rows_p.h"
#include "store/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDriver>

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>
#include <string>
#include <string_view>
#include <unordered_map>

using namespace Qt::StringLiterals;

namespace Swamp {

namespace Internal {

// A row as the arguments of a function SQLite calls for it: swamp_keep(), given the columns of a
// projection (`at` maps the enum's columns to the arguments, -1 where not given), and
// swamp_visit(), given every column (no `at`). SQLite made each argument a value of its own,
// read here without a call into its API per column (sqlite3_column_*() take the connection's
// mutex and check for a malloc failure on every call: ten of them per record, issue 20).
class ArgumentColumns final : public RowColumns
{
public:
    ArgumentColumns(sqlite3_value **values, const std::vector<int> *at)
        : m_values(values)
        , m_at(at)
    {
    }
    bool isNull(int column) const override
    {
        sqlite3_value *v = value(column);
        return !v || sqlite3_value_type(v) == SQLITE_NULL;
    }
    qint64 integer(int column) const override
    {
        sqlite3_value *v = value(column);
        return v ? sqlite3_value_int64(v) : 0;
    }
    std::optional<qint64> optionalInteger(int column) const override
    {
        sqlite3_value *v = value(column);
        if (!v || sqlite3_value_type(v) == SQLITE_NULL)
            return std::nullopt;
        return sqlite3_value_int64(v);
    }
    QString text(int column) const override { return QString::fromUtf8(utf8(column)); }
    QByteArray utf8(int column) const override
    {
        sqlite3_value *v = value(column);
        if (!v)
            return {};
        const auto *text = reinterpret_cast<const char *>(sqlite3_value_text(v)); // first: it may convert
        return QByteArray::fromRawData(text, sqlite3_value_bytes(v));
    }

private:
    // nullptr (read as null) for a column the scan did not project: a bug the assertion names.
    sqlite3_value *value(int column) const
    {
        if (!m_at)
            return m_values[column];
        const int at = size_t(column) < m_at->size() ? (*m_at)[size_t(column)] : -1;
        Q_ASSERT_X(at >= 0, "ArgumentColumns", "a column the scan did not project");
        return at >= 0 ? m_values[at] : nullptr;
    }

    sqlite3_value **m_values;
    const std::vector<int> *m_at;
};

// The scan running on this thread: its keep() and projection (swamp_keep()), and what each row
// it keeps goes to (swamp_visit()).
struct ScanCall
{
    const std::function<bool(const RowColumns &)> *keep = nullptr;
    const std::vector<int> *at = nullptr;
    std::function<void(const RowColumns &)> visit;
};
thread_local ScanCall *t_scanCall = nullptr;

// swamp_keep(columns...): whether the running scan keeps the row (1) or drops it (0) before
// SQLite reads the rest of it.
void keepFunction(sqlite3_context *context, int, sqlite3_value **values)
{
    const ScanCall *call = t_scanCall;
    if (!call || !call->keep) {
        sqlite3_result_error(context, "swamp_keep() outside a scan", -1);
        return;
    }
    sqlite3_result_int(context, (*call->keep)(ArgumentColumns(values, call->at)) ? 1 : 0);
}

// swamp_visit(every column): hands the row to the running scan, and is false: the statement
// yields no row, its scan runs to the end inside one sqlite3_step().
void visitFunction(sqlite3_context *context, int, sqlite3_value **values)
{
    const ScanCall *call = t_scanCall;
    if (!call || !call->visit) {
        sqlite3_result_error(context, "swamp_visit() outside a scan", -1);
        return;
    }
    call->visit(ArgumentColumns(values, nullptr));
    sqlite3_result_int(context, 0);
}

// Prepares `sql` on `db`, first defining swamp_keep() and swamp_visit() there when they are not
// yet (once a connection).
int prepareWithFunctions(sqlite3 *db, const QString &sql, sqlite3_stmt **statement)
{
    const auto prepare = [&]() {
        return sqlite3_prepare16_v2(db, sql.utf16(), int(sql.size() * sizeof(char16_t)), statement, nullptr);
    };
    int rc = prepare();
    if (rc == SQLITE_ERROR && std::strstr(sqlite3_errmsg(db), "no such function: swamp_")) {
        rc = sqlite3_create_function_v2(db, "swamp_keep", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr, keepFunction,
                                        nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK)
            rc = sqlite3_create_function_v2(db, "swamp_visit", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, nullptr, visitFunction,
                                            nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK)
            rc = prepare();
    }
    return rc;
}

// StepColumnsSql or LeaseColumnsSql ("SELECT a, b FROM t ") taken apart: its column names, in
// order, and what follows them ("FROM t ").
struct SelectParts
{
    QStringList names;
    QString from;
};

SelectParts selectParts(const char *columnsSql)
{
    const QString sql = QString::fromLatin1(columnsSql);
    const qsizetype from = sql.indexOf(QStringLiteral(" FROM "));
    Q_ASSERT(sql.startsWith(QStringLiteral("SELECT ")) && from > 0);
    SelectParts parts{sql.mid(7, from - 7).split(u','), sql.mid(from + 1)};
    for (QString &name : parts.names)
        name = name.trimmed();
    return parts;
}

} // namespace Internal

using namespace Internal;

namespace {

const QString StepModel = QStringLiteral("swamp/step");
const QString LeaseModel = QStringLiteral("swamp/step-lease");

QVariant null()
{
    return QVariant::fromValue(nullptr);
}

QVariant timeOrNull(const RowColumns &c, int column)
{
    return c.isNull(column) ? null() : QVariant(timeFromColumn(c, column));
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

// A text column as the records write an optional text (empty is null), and an optional integer.
Query::Scalar textOrNullScalar(const RowColumns &c, int column)
{
    QByteArray utf8 = c.utf8(column);
    return utf8.isEmpty() ? Query::Scalar::null() : Query::Scalar::fromUtf8(std::move(utf8));
}

Query::Scalar intOrNullScalar(const RowColumns &c, int column)
{
    return c.isNull(column) ? Query::Scalar::null() : Query::Scalar::fromInt(c.integer(column));
}

// The attributes of a step that are a column's text, integer or null, as Query::Scalar; Unknown
// for the rest. stepAttribute() answers these from here: one reading of each column.
Query::Scalar stepScalar(const RowColumns &c, StepAttribute attribute)
{
    switch (attribute) {
    case StepAttribute::Id:
        return Query::Scalar::fromUtf8(c.utf8(StepId));
    case StepAttribute::Name:
        return Query::Scalar::fromUtf8(c.utf8(StepName));
    case StepAttribute::Seq:
        return Query::Scalar::fromInt(c.integer(StepSeq));
    case StepAttribute::OutputBytes:
        return Query::Scalar::fromInt(c.integer(StepOutputBytes));
    case StepAttribute::RunId:
        return Query::Scalar::fromUtf8(c.utf8(StepRunId));
    case StepAttribute::State:
        return Query::Scalar::fromUtf8(c.utf8(StepState_));
    case StepAttribute::Attempt:
        return Query::Scalar::fromInt(c.integer(StepAttempt));
    case StepAttribute::MaxAttempts:
        return Query::Scalar::fromInt(c.integer(StepMaxAttempts));
    case StepAttribute::ExitCode:
        return intOrNullScalar(c, StepExitCode);
    case StepAttribute::Error:
        return textOrNullScalar(c, StepError);
    case StepAttribute::WorkerName:
        return textOrNullScalar(c, StepWorkerName);
    case StepAttribute::Target:
        return textOrNullScalar(c, StepTarget);
    case StepAttribute::Platform:
        return textOrNullScalar(c, StepPlatform);
    case StepAttribute::TimeoutSeconds: {
        const qint64 timeoutMs = c.integer(StepTimeoutMs);
        return timeoutMs > 0 ? Query::Scalar::fromInt(timeoutMs / 1000) : Query::Scalar::null();
    }
    default:
        return {};
    }
}

// The same for a lease's column: all but its times.
Query::Scalar leaseScalar(const RowColumns &c, int column)
{
    switch (column) {
    case LeaseAttempt:
        return Query::Scalar::fromInt(c.integer(column));
    case LeaseError:
        return textOrNullScalar(c, column);
    case LeaseExitCode:
        return intOrNullScalar(c, column);
    case LeaseCreatedAt:
    case LeaseStartedAt:
    case LeaseEndedAt:
    case LeaseUpdatedAt:
        return {};
    default:
        return Query::Scalar::fromUtf8(c.utf8(column));
    }
}

// A scalar as the records' QVariant: null, qint64 or QString.
QVariant variantOf(const Query::Scalar &scalar)
{
    switch (scalar.kind) {
    case Query::Scalar::Kind::Null:
        return null();
    case Query::Scalar::Kind::Int:
        return scalar.integer;
    case Query::Scalar::Kind::Text:
        return QString::fromUtf8(scalar.utf8);
    case Query::Scalar::Kind::String:
        return scalar.string;
    case Query::Scalar::Kind::Unknown:
        break;
    }
    return {};
}

QVariant stepAttribute(const RowColumns &c, TextCache &texts, StepAttribute attribute)
{
    if (const Query::Scalar scalar = stepScalar(c, attribute); scalar.kind != Query::Scalar::Kind::Unknown)
        return variantOf(scalar);
    switch (attribute) {
    case StepAttribute::Command:
        return texts.strings(c.utf8(StepCommand));
    case StepAttribute::Shell:
        return c.integer(StepShell) != 0;
    case StepAttribute::Requirement:
        return Requirement{c.text(StepTarget), texts.labels(c.utf8(StepLabels)), c.text(StepPlatform)}.text();
    case StepAttribute::Labels:
        return texts.labelsValue(c.utf8(StepLabels));
    case StepAttribute::AtMostOnce:
        return c.integer(StepAtMostOnce) != 0;
    case StepAttribute::MaskedEnv:
        return texts.strings(c.utf8(StepSecretEnv));
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
    default: // a scalar, answered above
        break;
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
    if (const Query::Scalar scalar = leaseScalar(c, column); scalar.kind != Query::Scalar::Kind::Unknown)
        return variantOf(scalar);
    return timeOrNull(c, column); // the times: the only columns that are no scalar
}

// Per Query::attributeId(), what `names` maps its name to; -1 where it has none.
template <typename T>
std::vector<int> byAttributeId(const QHash<QString, T> &names)
{
    std::vector<int> byId(size_t(Query::attributeIdNames().size()), -1);
    for (auto it = names.cbegin(); it != names.cend(); ++it) {
        if (const int id = Query::attributeId(it.key()); id >= 0)
            byId[size_t(id)] = int(it.value());
    }
    return byId;
}

int lookUp(const std::vector<int> &byId, int id)
{
    return id >= 0 && size_t(id) < byId.size() ? byId[size_t(id)] : -1;
}

// A row that answers null to everything and remembers which columns it was asked for: the
// columns a query needs, found by asking a row what the query asks (a field read from several
// columns, as `requirement`, asks for each), never from a second list of them.
class ColumnsAsked final : public RowColumns
{
public:
    bool isNull(int column) const override { return ask(column, true); }
    qint64 integer(int column) const override { return ask(column, 0); }
    QString text(int column) const override { return ask(column, QString()); }
    QByteArray utf8(int column) const override { return ask(column, QByteArray()); }

    // The columns `row` (over this) asks for its scan and for what `reads` names, in order.
    QList<int> columnsFor(const Query::Record &row, const Query::FieldsRead &reads) const
    {
        for (const QString &field : reads.fields)
            row.field(field);
        for (const QString &name : reads.attributes)
            row.attribute(name);
        QList<int> columns(m_asked.cbegin(), m_asked.cend());
        std::sort(columns.begin(), columns.end());
        return columns;
    }

private:
    template <typename T>
    T ask(int column, T answer) const
    {
        m_asked.insert(column);
        return answer;
    }

    mutable QSet<int> m_asked;
};

} // namespace

QList<int> StepRow::columnsFor(const std::optional<Query::FieldsRead> &reads)
{
    if (!reads)
        return {};
    ColumnsAsked asked;
    TextCache texts;
    const StepRow row(asked, texts);
    // What a scan's keep() reads of every row: whether it is open (memory may hold it), then
    // what the query reads. The rows it keeps are read whole.
    row.isOpen();
    return asked.columnsFor(row, *reads);
}

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

namespace {

// A column's scalar (stepScalar(), textOrNullScalar()) as its record writes it: null, an integer
// or text; the rules of what is null live there, once. `Writer` is a JsonObjectWriter (a record)
// or a JsonRowWriter (a row of the rows form), or RowNames (the table's names).
template <typename Writer>
void addScalar(Writer &writer, QLatin1StringView key, const Query::Scalar &scalar)
{
    switch (scalar.kind) {
    case Query::Scalar::Kind::Int:
        writer.add(key, scalar.integer);
        return;
    case Query::Scalar::Kind::Text:
        writer.addUtf8(key, scalar.utf8);
        return;
    case Query::Scalar::Kind::String:
        writer.add(key, scalar.string);
        return;
    case Query::Scalar::Kind::Null:
    case Query::Scalar::Kind::Unknown:
        break;
    }
    writer.addNull(key);
}

// A text column as the records write an optional text: empty is null.
template <typename Writer>
void addUtf8OrNull(Writer &writer, QLatin1StringView key, const RowColumns &c, int column)
{
    addScalar(writer, key, textOrNullScalar(c, column));
}

// An int column as the records hold it (narrowed to int), or null.
template <typename Writer>
void addIntOrNull(Writer &writer, QLatin1StringView key, const RowColumns &c, int column)
{
    if (c.isNull(column))
        writer.addNull(key);
    else
        writer.add(key, int(c.integer(column)));
}

// The names a state column holds, as their records write them.
template <typename State>
std::vector<QByteArray> namesOf(std::initializer_list<State> states, QString (*name)(State))
{
    std::vector<QByteArray> names;
    for (State state : states)
        names.push_back(name(state).toUtf8());
    return names;
}

// The names of the states, which a record writes as its column holds them.
const std::vector<QByteArray> &stepStateNames()
{
    static const std::vector<QByteArray> names =
        namesOf({StepState::Queued, StepState::Dispatched, StepState::Running, StepState::Succeeded, StepState::Failed,
                 StepState::Cancelled, StepState::TimedOut},
                stepStateName);
    return names;
}

const std::vector<QByteArray> &leaseStateNames()
{
    static const std::vector<QByteArray> names =
        namesOf({LeaseState::Active, LeaseState::Completed, LeaseState::Failed, LeaseState::Expired, LeaseState::Cancelled},
                leaseStateName);
    return names;
}

// Whether a row the scan gave for `attributes.<attribute> == literal` holds it as its record
// reads it. The scans narrow the rows by each such equality they have a column for (with a
// string literal, always); of those only the state reads as its column holds it, when it holds
// the name of a state (other columns do not: an empty error is a null attribute, an exit code
// past an int another number, a state outside the names the one it is taken for).
bool stateHolds(const QString &attribute, const QJsonValue &literal, const std::vector<QByteArray> &names)
{
    return attribute == u"state" && literal.isString()
           && std::find(names.cbegin(), names.cend(), literal.toString().toUtf8()) != names.cend();
}

// The state column as its record writes it, name(fromName(text)): a name that reads back as itself
// is written as its bytes, without a QString each way (every row writes one).
template <typename Writer, typename State>
void addState(Writer &writer, const RowColumns &c, int column, const std::vector<QByteArray> &known,
              QString (*name)(State), State (*fromName)(const QString &))
{
    const QByteArray text = c.utf8(column);
    if (std::find(known.cbegin(), known.cend(), text) != known.cend())
        writer.addUtf8("state"_L1, text);
    else
        writer.add("state"_L1, name(fromName(QString::fromUtf8(text))));
}

// The attributes of a step row (StepRecord::toJsonText()'s keys, in its order), written by `w`.
template <typename Writer>
void writeStepAttributes(Writer &w, const RowColumns &c, TextCache &texts)
{
    w.add("atMostOnce"_L1, c.integer(StepAtMostOnce) != 0).add("attempt"_L1, int(c.integer(StepAttempt)));
    w.addRaw("command"_L1, texts.stringsText(c.utf8(StepCommand)));
    w.addTimeMs("createdAt"_L1, c.optionalInteger(StepCreatedAt));
    addUtf8OrNull(w, "error"_L1, c, StepError);
    addIntOrNull(w, "exitCode"_L1, c, StepExitCode);
    w.addTimeMs("finishedAt"_L1, c.optionalInteger(StepFinishedAt)).addUtf8("id"_L1, c.utf8(StepId));
    const QByteArray labels = c.utf8(StepLabels);
    w.addRaw("labels"_L1, texts.labelsText(labels)).addRaw("maskedEnv"_L1, texts.stringsText(c.utf8(StepSecretEnv)));
    w.add("maxAttempts"_L1, int(c.integer(StepMaxAttempts))).addUtf8("name"_L1, c.utf8(StepName));
    w.add("outputBytes"_L1, c.integer(StepOutputBytes)).add("outputTruncated"_L1, c.integer(StepOutputTruncated) != 0);
    addUtf8OrNull(w, "platform"_L1, c, StepPlatform);
    w.addTimeMs("queuedAt"_L1, c.optionalInteger(StepQueuedAt));
    w.addRaw("requirement"_L1, texts.requirementText(c.utf8(StepTarget), labels, c.utf8(StepPlatform)));
    w.addUtf8("runId"_L1, c.utf8(StepRunId)).add("seq"_L1, int(c.integer(StepSeq)));
    w.add("shell"_L1, c.integer(StepShell) != 0).addTimeMs("startedAt"_L1, c.optionalInteger(StepStartedAt));
    addState(w, c, StepState_, stepStateNames(), stepStateName, stepStateFromName);
    addUtf8OrNull(w, "target"_L1, c, StepTarget);
    addScalar(w, "timeoutSeconds"_L1, stepScalar(c, StepAttribute::TimeoutSeconds));
    w.addTimeMs("updatedAt"_L1, c.optionalInteger(StepUpdatedAt));
    addUtf8OrNull(w, "workerName"_L1, c, StepWorkerName);
}

// The same of a lease row (LeaseRecord::toJsonText()'s keys, in its order).
template <typename Writer>
void writeLeaseAttributes(Writer &w, const RowColumns &c)
{
    w.add("attempt"_L1, int(c.integer(LeaseAttempt))).addTimeMs("createdAt"_L1, c.optionalInteger(LeaseCreatedAt));
    w.addTimeMs("endedAt"_L1, c.optionalInteger(LeaseEndedAt));
    addUtf8OrNull(w, "error"_L1, c, LeaseError);
    addIntOrNull(w, "exitCode"_L1, c, LeaseExitCode);
    w.addUtf8("id"_L1, c.utf8(LeaseId)).addUtf8("runId"_L1, c.utf8(LeaseRunId));
    w.addTimeMs("startedAt"_L1, c.optionalInteger(LeaseStartedAt));
    addState(w, c, LeaseState_, leaseStateNames(), leaseStateName, leaseStateFromName);
    w.addUtf8("stepId"_L1, c.utf8(LeaseStepId));
    w.addTimeMs("updatedAt"_L1, c.optionalInteger(LeaseUpdatedAt));
    w.addUtf8("workerId"_L1, c.utf8(LeaseWorkerId)).addUtf8("workerName"_L1, c.utf8(LeaseWorkerName));
}

// The record around its attributes (QueryService's recordText(): its keys sorted, as
// QJsonDocument writes them), the attributes written by `attributes` between.
template <typename Attributes>
void appendRecord(QByteArray &out, QLatin1StringView modelType, const QByteArray &name, const QByteArray &id,
                  std::optional<qint64> createdAt, std::optional<qint64> updatedAt, Attributes attributes)
{
    JsonObjectWriter writer(std::move(out));
    writer.beginObject("attributes"_L1);
    attributes(writer);
    writer.endObject();
    writer.addTimeMs("createdAt"_L1, createdAt).addUtf8("id"_L1, id).addUtf8("modelType"_L1, QByteArrayView(modelType));
    writer.addUtf8("name"_L1, name).addTimeMs("updatedAt"_L1, updatedAt);
    out = writer.finish();
}

// The names the attribute writers give, in order, and those of times: a table of the rows form.
class RowNames
{
public:
    template <typename T>
    RowNames &add(QLatin1StringView key, const T &)
    {
        m_names << key;
        return *this;
    }
    RowNames &addUtf8(QLatin1StringView key, QByteArrayView) { return add(key, 0); }
    RowNames &addRaw(QLatin1StringView key, QByteArrayView) { return add(key, 0); }
    RowNames &addNull(QLatin1StringView key) { return add(key, 0); }
    RowNames &addTimeMs(QLatin1StringView key, std::optional<qint64>)
    {
        m_times << key;
        return add(key, 0);
    }

    // `{"modelType", "name", "attributes", "times"}`: the record's name is the attribute `name`.
    QByteArray tableText(QLatin1StringView modelType, QLatin1StringView name) const
    {
        JsonObjectWriter writer;
        writer.addUtf8("modelType"_L1, QByteArrayView(modelType)).addUtf8("name"_L1, QByteArrayView(name));
        return writer.add("attributes"_L1, m_names).add("times"_L1, m_times).finish();
    }

private:
    QStringList m_names;
    QStringList m_times;
};

} // namespace

void StepRow::appendRecordText(QByteArray &out) const
{
    const RowColumns &c = m_columns;
    appendRecord(out, "swamp/step"_L1, c.utf8(StepName), c.utf8(StepId), c.optionalInteger(StepCreatedAt),
                 c.optionalInteger(StepUpdatedAt), [&](JsonObjectWriter &w) { writeStepAttributes(w, c, m_texts); });
}

void StepRow::appendRowText(QByteArray &out, int table) const
{
    JsonRowWriter writer(std::move(out), table);
    writeStepAttributes(writer, m_columns, m_texts);
    out = writer.finish();
}

bool StepRow::holdsEquality(const QString &attribute, const QJsonValue &literal)
{
    return stateHolds(attribute, literal, stepStateNames());
}

QByteArray StepRow::tableText()
{
    // The names come from the writer itself, run over a row of nulls: never a second list of them.
    const ColumnsAsked nulls;
    TextCache texts;
    RowNames names;
    writeStepAttributes(names, nulls, texts);
    return names.tableText("swamp/step"_L1, "name"_L1);
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

Query::Scalar StepRow::scalarEntry(int id, const QString &key) const
{
    static const int labelsId = Query::attributeId(u"labels");
    if (id != labelsId)
        return {};
    const Labels labels = m_texts.labels(m_columns.utf8(StepLabels)); // as labelsValue() reads them
    const auto found = labels.constFind(key);
    return found == labels.cend() ? Query::Scalar() : Query::Scalar::fromString(*found);
}

Query::Scalar StepRow::scalar(int id) const
{
    static const std::vector<int> byId = byAttributeId(stepAttributes());
    const int attribute = lookUp(byId, id);
    return attribute < 0 ? Query::Scalar() : stepScalar(m_columns, StepAttribute(attribute));
}

QList<int> LeaseRow::columnsFor(const std::optional<Query::FieldsRead> &reads)
{
    if (!reads)
        return {};
    ColumnsAsked asked;
    const LeaseRow row(asked);
    return asked.columnsFor(row, *reads);
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

void LeaseRow::appendRecordText(QByteArray &out) const
{
    const RowColumns &c = m_columns;
    const QByteArray id = c.utf8(LeaseId); // a lease's record is named by its id
    appendRecord(out, "swamp/step-lease"_L1, id, id, c.optionalInteger(LeaseCreatedAt), c.optionalInteger(LeaseUpdatedAt),
                 [&](JsonObjectWriter &w) { writeLeaseAttributes(w, c); });
}

void LeaseRow::appendRowText(QByteArray &out, int table) const
{
    JsonRowWriter writer(std::move(out), table);
    writeLeaseAttributes(writer, m_columns);
    out = writer.finish();
}

bool LeaseRow::holdsEquality(const QString &attribute, const QJsonValue &literal)
{
    return stateHolds(attribute, literal, leaseStateNames());
}

QByteArray LeaseRow::tableText()
{
    const ColumnsAsked nulls;
    RowNames names;
    writeLeaseAttributes(names, nulls);
    return names.tableText("swamp/step-lease"_L1, "id"_L1);
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

Query::Scalar LeaseRow::scalar(int id) const
{
    static const std::vector<int> byId = byAttributeId(leaseAttributes());
    const int column = lookUp(byId, id);
    return column < 0 ? Query::Scalar() : leaseScalar(m_columns, column);
}

Result<void> Store::forEachColumns(const char *columnsSql, const QString &where, const QVariantList &bindings,
                                   const QList<int> &projection,
                                   const std::function<bool(const Internal::RowColumns &)> &keep,
                                   const std::function<void(const Internal::RowColumns &)> &row)
{
    const auto kept = [&](const RowColumns &columns) {
        if (!keep || keep(columns))
            row(columns);
    };
    if (m_dialect == Dialect::Postgres)
        return forEachRow(QString::fromLatin1(columnsSql) + where, bindings,
                          [&](const QSqlQuery &query) { kept(QueryColumns(query)); });
    if (auto opened = openBatch(); !opened)
        return opened;
    if (auto flushed = beforeStatement(); !flushed)
        return flushed;
    const QVariant handle = database().driver()->handle();
    if (!handle.isValid() || std::strcmp(handle.typeName(), "sqlite3*") != 0)
        return databaseError(Tr::tr("reading rows"), Tr::tr("the connection is not SQLite's"));
    sqlite3 *db = *static_cast<sqlite3 *const *>(handle.constData());

    // With a projection, keep() runs inside SQLite on the projected columns (swamp_keep()), and
    // only the rows it keeps are read whole: no row is read twice, and none read whole in vain.
    // The rows kept go to `row` inside SQLite too (swamp_visit(), last): the statement yields
    // none, so no row is handed out through the API a column at a time.
    const SelectParts parts = selectParts(columnsSql);
    QString sql = QStringLiteral("SELECT 0 ") + parts.from + where;
    std::vector<int> at;
    const bool keepInside = keep && !projection.isEmpty() && projection.size() < parts.names.size();
    bool conditioned = !where.trimmed().isEmpty(); // `where` is "WHERE ... " or nothing
    const auto andThen = [&](const QString &term) {
        sql += (std::exchange(conditioned, true) ? QStringLiteral("AND ") : QStringLiteral("WHERE ")) + term + u' ';
    };
    if (keepInside) {
        at.assign(size_t(parts.names.size()), -1);
        QStringList arguments;
        for (int column : projection) {
            at[size_t(column)] = int(arguments.size());
            arguments << parts.names.at(column);
        }
        andThen(QStringLiteral("swamp_keep(") + arguments.join(QStringLiteral(", ")) + u')');
    }
    andThen(QStringLiteral("swamp_visit(") + parts.names.join(QStringLiteral(", ")) + u')');

    sqlite3_stmt *statement = nullptr;
    int rc = prepareWithFunctions(db, sql, &statement);
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
    ScanCall call{keepInside ? &keep : nullptr, &at, [&](const RowColumns &columns) {
        if (keepInside)
            row(columns);
        else
            kept(columns);
    }};
    ScanCall *const outer = std::exchange(t_scanCall, &call);
    while (rc == SQLITE_OK && (rc = sqlite3_step(statement)) == SQLITE_ROW)
        rc = SQLITE_OK; // (none: swamp_visit() is false)
    t_scanCall = outer;
    const QString error = rc == SQLITE_DONE ? QString() : QString::fromUtf8(sqlite3_errmsg(db));
    sqlite3_finalize(statement);
    if (!error.isEmpty())
        return databaseError(Tr::tr("reading rows"), error);
    return {};
}

} // namespace Swamp
