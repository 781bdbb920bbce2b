#pragma once

#include "livetablemodel.h"

#include "model/event.h"

#include <QList>

namespace Swamp::Console {

// The operator event log, oldest first, capped at `capacity` rows (the oldest go first).
class EventModel final : public LiveTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventModel)

public:
    enum Column { Time, Kind, Subject, Message, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, KindRole, FilterRole };

    explicit EventModel(int capacity = 5000, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void append(const Event &event);
    const Event &eventAt(int row) const { return m_events.at(row); }
    qint64 lastId() const { return m_events.isEmpty() ? 0 : m_events.constLast().id; }
    // Distinct kinds seen so far, for the kind filter.
    QStringList kinds() const { return m_kinds; }

Q_SIGNALS:
    void kindAdded(const QString &kind);

protected:
    QVariant liveData(const QModelIndex &index, int role) const override;

private:
    QList<Event> m_events;
    QStringList m_kinds;
    int m_capacity;
};

} // namespace Swamp::Console
