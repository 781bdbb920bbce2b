#pragma once

#include "livetablemodel.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>

namespace Swamp::Console {

// The steps as a live table: the open ones (queued, dispatched, running) and the most recent
// finished ones, at most `maxFinished` of them (the oldest finished rows go first). A list plus an
// id→row hash: upserts emit dataChanged for the changed row only, inserts and removes use
// begin/end, never a reset. Rows hold the step JSON of `run.status` (StepRecord::toJson()).
class StepModel final : public LiveTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepModel)

public:
    enum Column { Name, State, Worker, Attempt, ExitCode, Queued, Started, Finished, Id, Error, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1, // the raw value, for sorting: names, ints, msecs
        IdRole,
        RawStateRole, // "queued", "timed_out", ... untranslated
        FilterRole,   // everything a filter box may match, in one string
    };

    explicit StepModel(int maxFinished = 500, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // A snapshot of many steps (any order): the newest finished ones are kept, open ones always.
    void upsertAll(const QList<QJsonObject> &steps);
    // A full step record; an older record (by updatedAt) than the row's is ignored.
    void upsert(const QJsonObject &step);
    // What an operator event says about a step (state, workerName, attempt, runId); a step not
    // yet known gets a row that the full record fills in later.
    void applyEvent(const QString &id, const QJsonObject &eventData);
    void remove(const QString &id);

    int rowOf(const QString &id) const { return m_rows.value(id, -1); }
    const QJsonObject *step(const QString &id) const;
    const QJsonObject &stepAt(int row) const { return m_steps.at(row).json; }
    int queuedCount() const;
    int maxFinished() const { return m_maxFinished; }

    QDateTime now() const { return m_now; }
    void setNow(const QDateTime &now);

Q_SIGNALS:
    // The number of queued steps changed.
    void queuedCountChanged(int count);

protected:
    QVariant liveData(const QModelIndex &index, int role) const override;

private:
    struct Row
    {
        QJsonObject json;
        QString state;
        QDateTime queuedAt;
        QDateTime startedAt;
        QDateTime finishedAt;
        QDateTime updatedAt;
    };
    static Row makeRow(const QJsonObject &json);
    static QDateTime finishOrder(const Row &row);
    void put(const QJsonObject &json, bool checkAge);
    void trim();
    void noteQueued();
    QVariant displayValue(const Row &row, int column) const;
    QVariant sortValue(const Row &row, int column) const;

    QList<Row> m_steps;
    QHash<QString, int> m_rows;
    int m_maxFinished;
    int m_finished = 0;
    int m_lastQueued = 0;
    QDateTime m_now;
};

} // namespace Swamp::Console
