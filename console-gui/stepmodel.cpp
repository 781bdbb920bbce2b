#include "stepmodel.h"

#include "statuspalette.h"

#include "common/duration.h"
#include "common/ids.h"
#include "model/step.h"

#include <QGuiApplication>
#include <QJsonArray>
#include <QLocale>
#include <QPalette>

#include <algorithm>

namespace Swamp::Console {

namespace {
QString text(const QJsonObject &json, const char16_t *key)
{
    return json.value(QString::fromUtf16(key)).toString();
}
} // namespace

StepModel::StepModel(int maxFinished, QObject *parent)
    : LiveTableModel(parent)
    , m_maxFinished(maxFinished)
    , m_now(QDateTime::currentDateTimeUtc())
{
}

StepModel::Row StepModel::makeRow(const QJsonObject &json)
{
    Row row;
    row.json = json;
    row.state = text(json, u"state");
    row.queuedAt = parseIsoUtc(text(json, u"queuedAt"));
    row.startedAt = parseIsoUtc(text(json, u"startedAt"));
    row.finishedAt = parseIsoUtc(text(json, u"finishedAt"));
    row.updatedAt = parseIsoUtc(text(json, u"updatedAt"));
    return row;
}

// Which finished rows go first when the table is full: the oldest finish (or queue) time.
QDateTime StepModel::finishOrder(const Row &row)
{
    if (row.finishedAt.isValid())
        return row.finishedAt;
    return row.updatedAt.isValid() ? row.updatedAt : row.queuedAt;
}

int StepModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_steps.size());
}

int StepModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StepModel::displayValue(const Row &row, int column) const
{
    const QJsonObject &json = row.json;
    switch (column) {
    case Name: return text(json, u"name");
    case State: return StatusPalette::stepStateText(row.state);
    case Worker: return text(json, u"workerName");
    case Attempt: {
        const int attempt = json.value(QStringLiteral("attempt")).toInt();
        const int max = json.value(QStringLiteral("maxAttempts")).toInt();
        if (attempt <= 0)
            return QString();
        return max > 0 ? tr("%1/%2").arg(attempt).arg(max) : QString::number(attempt);
    }
    case ExitCode: {
        const QJsonValue code = json.value(QStringLiteral("exitCode"));
        return code.isDouble() ? QString::number(code.toInt()) : QString();
    }
    case Queued: return row.queuedAt.isValid() ? formatRelative(row.queuedAt, m_now) : QString();
    case Started: return row.startedAt.isValid() ? formatRelative(row.startedAt, m_now) : QString();
    case Finished: return row.finishedAt.isValid() ? formatRelative(row.finishedAt, m_now) : QString();
    case Id: return shortId(text(json, u"id"));
    case Error: return text(json, u"error").section(u'\n', 0, 0);
    }
    return {};
}

QVariant StepModel::sortValue(const Row &row, int column) const
{
    const auto msecs = [](const QDateTime &when) { return when.isValid() ? when.toMSecsSinceEpoch() : qint64(0); };
    switch (column) {
    case Attempt: return row.json.value(QStringLiteral("attempt")).toInt();
    case ExitCode: {
        const QJsonValue code = row.json.value(QStringLiteral("exitCode"));
        return code.isDouble() ? code.toInt() : -1;
    }
    case Queued: return msecs(row.queuedAt);
    case Started: return msecs(row.startedAt);
    case Finished: return msecs(row.finishedAt);
    case Id: return text(row.json, u"id");
    case State: return row.state;
    default: return displayValue(row, column);
    }
}

QVariant StepModel::liveData(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_steps.at(index.row());
    switch (role) {
    case Qt::DisplayRole: return displayValue(row, index.column());
    case SortRole: return sortValue(row, index.column());
    case IdRole: return text(row.json, u"id");
    case RawStateRole: return row.state;
    case FilterRole: {
        QStringList parts;
        for (int column = 0; column < ColumnCount; ++column)
            parts << displayValue(row, column).toString();
        parts << row.state << text(row.json, u"id") << text(row.json, u"runId")
              << text(row.json, u"requirement");
        return parts.join(u'\n');
    }
    case Qt::ToolTipRole: {
        const auto local = [](const QDateTime &when) {
            return when.isValid() ? QLocale().toString(when.toLocalTime(), QLocale::LongFormat) : QVariant();
        };
        switch (index.column()) {
        case Queued: return local(row.queuedAt);
        case Started: return local(row.startedAt);
        case Finished: return local(row.finishedAt);
        case Id: return text(row.json, u"id");
        case Error: return text(row.json, u"error");
        case Name: {
            const QJsonArray command = row.json.value(QStringLiteral("command")).toArray();
            QStringList argv;
            for (const QJsonValue &value : command)
                argv << value.toString();
            return argv.join(u' ');
        }
        }
        return {};
    }
    case Qt::ForegroundRole:
        if (index.column() == State)
            return StatusPalette::stepStateColor(row.state, QGuiApplication::palette());
        if (index.column() == Error || (index.column() == ExitCode && row.state == u"failed"))
            return StatusPalette::stepStateColor(QStringLiteral("failed"), QGuiApplication::palette());
        return {};
    case Qt::DecorationRole:
        if (index.column() == State)
            return StatusPalette::stepStateIcon(row.state);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Attempt || index.column() == ExitCode)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    return {};
}

QVariant StepModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return LiveTableModel::headerData(section, orientation, role);
    switch (section) {
    case Name: return tr("Name");
    case State: return tr("State");
    case Worker: return tr("Worker");
    case Attempt: return tr("Attempt");
    case ExitCode: return tr("Exit");
    case Queued: return tr("Queued");
    case Started: return tr("Started");
    case Finished: return tr("Finished");
    case Id: return tr("ID");
    case Error: return tr("Error");
    }
    return {};
}

void StepModel::upsertAll(const QList<QJsonObject> &steps)
{
    // Newest first, so that only the finished steps that fit are inserted at all.
    QList<Row> rows;
    rows.reserve(steps.size());
    for (const QJsonObject &step : steps)
        rows << makeRow(step);
    std::stable_sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
        return finishOrder(a) > finishOrder(b);
    });
    int finished = 0;
    for (const Row &row : std::as_const(rows)) {
        if (isTerminalStateName(row.state) && ++finished > m_maxFinished && rowOf(text(row.json, u"id")) < 0)
            continue;
        put(row.json, true);
    }
    trim();
    noteQueued();
}

void StepModel::upsert(const QJsonObject &step)
{
    put(step, true);
    trim();
    noteQueued();
}

void StepModel::put(const QJsonObject &json, bool checkAge)
{
    const QString id = text(json, u"id");
    if (id.isEmpty())
        return;
    Row next = makeRow(json);
    const int row = m_rows.value(id, -1);
    if (row >= 0) {
        const Row &current = m_steps.at(row);
        if (current.json == json)
            return;
        if (checkAge && current.updatedAt.isValid() && next.updatedAt.isValid() && next.updatedAt < current.updatedAt)
            return;
        m_steps[row] = std::move(next);
        Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
        return;
    }
    const int newRow = int(m_steps.size());
    beginInsertRows({}, newRow, newRow);
    m_steps.append(std::move(next));
    m_rows.insert(id, newRow);
    endInsertRows();
}

void StepModel::applyEvent(const QString &id, const QJsonObject &eventData)
{
    if (id.isEmpty())
        return;
    const int row = m_rows.value(id, -1);
    QJsonObject json = row >= 0 ? m_steps.at(row).json : QJsonObject{{QStringLiteral("id"), id}};
    for (const char16_t *key : {u"state", u"workerName", u"attempt", u"runId"}) {
        const QString name = QString::fromUtf16(key);
        const QJsonValue value = eventData.value(name);
        if (value.isUndefined() || (value.isString() && value.toString().isEmpty()))
            continue;
        json.insert(name, value);
    }
    put(json, false);
    trim();
    noteQueued();
}

void StepModel::remove(const QString &idRef)
{
    const QString id = idRef; // idRef may point into the row we remove
    const int row = m_rows.value(id, -1);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_steps.removeAt(row);
    m_rows.remove(id);
    for (int i = row; i < m_steps.size(); ++i)
        m_rows.insert(text(m_steps.at(i).json, u"id"), i);
    endRemoveRows();
    noteQueued();
}

void StepModel::trim()
{
    QList<std::pair<QDateTime, QString>> finished;
    for (const Row &row : std::as_const(m_steps)) {
        if (isTerminalStateName(row.state))
            finished.append({finishOrder(row), text(row.json, u"id")});
    }
    if (finished.size() <= m_maxFinished)
        return;
    std::sort(finished.begin(), finished.end());
    const qsizetype excess = finished.size() - m_maxFinished;
    for (qsizetype i = 0; i < excess; ++i)
        remove(finished.at(i).second);
}

const QJsonObject *StepModel::step(const QString &id) const
{
    const int row = m_rows.value(id, -1);
    return row < 0 ? nullptr : &m_steps.at(row).json;
}

int StepModel::queuedCount() const
{
    return int(std::count_if(m_steps.cbegin(), m_steps.cend(), [](const Row &row) { return row.state == u"queued"; }));
}

void StepModel::noteQueued()
{
    const int count = queuedCount();
    if (count != m_lastQueued) {
        m_lastQueued = count;
        Q_EMIT queuedCountChanged(count);
    }
}

void StepModel::setNow(const QDateTime &now)
{
    m_now = now;
    if (!m_steps.isEmpty())
        Q_EMIT dataChanged(index(0, Queued), index(int(m_steps.size()) - 1, Finished),
                           {Qt::DisplayRole, Qt::ToolTipRole});
}

} // namespace Swamp::Console
