#pragma once

#include "model/worker.h"

#include <QAbstractTableModel>
#include <QDateTime>
#include <QHash>
#include <QList>

namespace Swamp::Console {

// The workers as a live table: a list plus an id→row hash. Upserts emit dataChanged for the
// changed row, inserts and removes use begin/end (never a reset on updates). The "last seen"
// column ticks through setNow(), which touches that column only.
class WorkerModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkerModel)

public:
    // Orchestrator: which orchestrator of a fleet holds the session (the tab hides it otherwise).
    enum Column { Name, Status, Slots, Labels, Platform, Version, LastSeen, Token, Orchestrator, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // the raw value, for sorting: names, ints, msecs
        IdRole,
        RawStatusRole, // "idle", "disconnected", ... untranslated
        FilterRole,    // everything a filter box may match, in one string
    };

    explicit WorkerModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // The complete current list: rows not in it are removed, the others upserted.
    void setWorkers(const QList<WorkerRecord> &workers);
    void upsert(const WorkerRecord &worker);
    void remove(const QString &id);

    int rowOf(const QString &id) const { return m_rows.value(id, -1); }
    const WorkerRecord *worker(const QString &id) const;
    const WorkerRecord &workerAt(int row) const { return m_workers.at(row); }
    QList<WorkerRecord> workers() const { return m_workers; }

    QDateTime now() const { return m_now; }
    void setNow(const QDateTime &now);

private:
    QVariant displayValue(const WorkerRecord &worker, int column) const;
    QVariant sortValue(const WorkerRecord &worker, int column) const;
    QDateTime lastSeen(const WorkerRecord &worker) const;

    QList<WorkerRecord> m_workers;
    QHash<QString, int> m_rows;
    QDateTime m_now;
};

bool isConnectedStatus(WorkerStatus status);
// "host:port" of the orchestrator URL that holds (or last held) the worker, "-" when none.
QString orchestratorText(const WorkerRecord &worker);
// The status as the table shows it: "paused" for a connected paused worker.
QString workerStatusText(const WorkerRecord &worker);

} // namespace Swamp::Console
