#include "workermodel.h"

#include "statuspalette.h"

#include "common/duration.h"

#include <QGuiApplication>
#include <QPalette>
#include <QUrl>

namespace Swamp::Console {

bool isConnectedStatus(WorkerStatus status)
{
    return status == WorkerStatus::Idle || status == WorkerStatus::Busy
        || status == WorkerStatus::Draining;
}

QString orchestratorText(const WorkerRecord &worker)
{
    // As `swamp worker list` shows it in a fleet.
    const QUrl holder(worker.orchestrator);
    return holder.host().isEmpty() ? QStringLiteral("-") : holder.host() + u':' + QString::number(holder.port());
}

QString workerStatusText(const WorkerRecord &worker)
{
    // Paused is a flag beside the status (as in `swamp worker list`): a connected paused worker
    // shows it instead.
    const bool live = worker.status == WorkerStatus::Idle || worker.status == WorkerStatus::Busy;
    return worker.paused && live ? WorkerModel::tr("paused") : StatusPalette::workerStatusText(worker.status);
}

WorkerModel::WorkerModel(QObject *parent)
    : QAbstractTableModel(parent)
    , m_now(QDateTime::currentDateTimeUtc())
{
}

int WorkerModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_workers.size());
}

int WorkerModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QDateTime WorkerModel::lastSeen(const WorkerRecord &worker) const
{
    // Heartbeats are not pushed (they never reach the database). A connected worker has been
    // heard within the heartbeat timeout, or the orchestrator would have sent its disconnect.
    return isConnectedStatus(worker.status) ? m_now : worker.lastSeenAt;
}

QVariant WorkerModel::displayValue(const WorkerRecord &worker, int column) const
{
    switch (column) {
    case Name: return worker.name;
    case Status: return workerStatusText(worker);
    case Slots: return tr("%1/%2").arg(worker.activeSteps).arg(worker.capacity);
    case Labels: return formatLabels(worker.labels);
    case Platform:
        return worker.arch.isEmpty() ? worker.platform : worker.platform + u'/' + worker.arch;
    case Version: return worker.version;
    case LastSeen:
        if (isConnectedStatus(worker.status))
            return tr("now");
        return formatRelative(worker.lastSeenAt, m_now);
    case Token: return worker.tokenName;
    case Orchestrator: return orchestratorText(worker);
    }
    return {};
}

QVariant WorkerModel::sortValue(const WorkerRecord &worker, int column) const
{
    switch (column) {
    case Status: return int(worker.status);
    case Slots: return worker.activeSteps * 100000 + worker.capacity;
    case LastSeen: {
        const QDateTime seen = lastSeen(worker);
        return seen.isValid() ? seen.toMSecsSinceEpoch() : qint64(0);
    }
    default: return displayValue(worker, column);
    }
}

QVariant WorkerModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const WorkerRecord &worker = m_workers.at(index.row());
    switch (role) {
    case Qt::DisplayRole: return displayValue(worker, index.column());
    case SortRole: return sortValue(worker, index.column());
    case IdRole: return worker.id;
    case RawStatusRole: return workerStatusName(worker.status);
    case FilterRole: {
        QStringList parts;
        for (int column = 0; column < ColumnCount; ++column)
            parts << displayValue(worker, column).toString();
        parts << workerStatusName(worker.status) << worker.hostname << worker.machineId;
        return parts.join(u'\n');
    }
    case Qt::ToolTipRole:
        if (index.column() == LastSeen && worker.lastSeenAt.isValid())
            return QLocale().toString(worker.lastSeenAt.toLocalTime(), QLocale::LongFormat);
        if (index.column() == Labels)
            return formatLabels(worker.labels);
        if (index.column() == Orchestrator)
            return worker.orchestrator;
        return {};
    case Qt::ForegroundRole:
        if (index.column() == Status)
            return StatusPalette::workerStatusColor(worker.status, QGuiApplication::palette());
        if (!isConnectedStatus(worker.status))
            return QGuiApplication::palette().color(QPalette::Disabled, QPalette::Text);
        return {};
    case Qt::DecorationRole:
        if (index.column() == Status)
            return StatusPalette::workerStatusIcon(worker.status);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Slots)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    return {};
}

QVariant WorkerModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Name: return tr("Name");
    case Status: return tr("Status");
    case Slots: return tr("Slots");
    case Labels: return tr("Labels");
    case Platform: return tr("Platform");
    case Version: return tr("Version");
    case LastSeen: return tr("Last seen");
    case Token: return tr("Token");
    case Orchestrator: return tr("Orchestrator");
    }
    return {};
}

void WorkerModel::setWorkers(const QList<WorkerRecord> &workers)
{
    QSet<QString> present;
    for (const WorkerRecord &worker : workers)
        present.insert(worker.id);
    for (int row = int(m_workers.size()) - 1; row >= 0; --row) {
        if (!present.contains(m_workers.at(row).id))
            remove(m_workers.at(row).id);
    }
    for (const WorkerRecord &worker : workers)
        upsert(worker);
}

void WorkerModel::upsert(const WorkerRecord &worker)
{
    const int row = m_rows.value(worker.id, -1);
    if (row >= 0) {
        if (m_workers.at(row).toJson() == worker.toJson())
            return;
        m_workers[row] = worker;
        Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
        return;
    }
    const int newRow = int(m_workers.size());
    beginInsertRows({}, newRow, newRow);
    m_workers.append(worker);
    m_rows.insert(worker.id, newRow);
    endInsertRows();
}

void WorkerModel::remove(const QString &idRef)
{
    const QString id = idRef; // idRef may point into the row we remove
    const int row = m_rows.value(id, -1);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_workers.removeAt(row);
    m_rows.remove(id);
    for (int i = row; i < m_workers.size(); ++i)
        m_rows.insert(m_workers.at(i).id, i);
    endRemoveRows();
}

const WorkerRecord *WorkerModel::worker(const QString &id) const
{
    const int row = m_rows.value(id, -1);
    return row < 0 ? nullptr : &m_workers.at(row);
}

void WorkerModel::setNow(const QDateTime &now)
{
    m_now = now;
    if (!m_workers.isEmpty())
        Q_EMIT dataChanged(index(0, LastSeen), index(int(m_workers.size()) - 1, LastSeen),
                           {Qt::DisplayRole, SortRole, Qt::ToolTipRole});
}

} // namespace Swamp::Console
