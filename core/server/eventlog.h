#pragma once

#include "model/event.h"

#include <QMap>
#include <QObject>
#include <QSet>

#include <deque>

namespace Swamp {

class Store;

// The operator event channel (worker enrolled, token revoked, ...), separate from developer
// logging. Events get increasing ids and are stored, so a client that reconnects resumes from
// its last id and misses nothing.
class EventLog final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventLog)

public:
    explicit EventLog(Store *store, QObject *parent = nullptr);

    // The event as stored and sent, with its id; id 0 when the database refused it (then it was
    // logged as a warning and not sent).
    Event append(const QString &kind, const QString &subject, const QString &message,
                 const QJsonObject &data = {});
    // `dataJson`: the data object as compact JSON text (JsonObjectWriter), for the hot paths.
    Event append(const QString &kind, const QString &subject, const QString &message,
                 QByteArray dataJson);

    // Fleet: other orchestrators write events to the same table. `since` then always reads the
    // table, and pullRemote() emits remoteAppended for the events others stored since the last pull.
    void setShared(bool shared) { m_shared = shared; }
    void pullRemote() { pull(); }

    // On PostgreSQL an event gets its id when its transaction commits: append() returns it with
    // id 0, and appended() follows from here, read back in id order, once the commit is done
    // (the orchestrator calls this after every commit).
    void deliverCommitted();

    // Events with id > afterId, oldest first, at most `limit`.
    QList<Event> since(qint64 afterId, int limit = 10000) const;
    qint64 lastId() const { return m_lastId; }

Q_SIGNALS:
    // Stored and committed, with its id.
    void appended(const Swamp::Event &event);
    // Given to the store (with write-behind: its batch not committed yet).
    void written();
    void remoteAppended(const Swamp::Event &event);

private:
    Event append(Event event);
    void stored(const Event &event);
    // Reads the events stored since the last pull: this store's own (see deliverCommitted())
    // are appended, the fleet's others remoteAppended.
    void pull();
    void deliver(const Event &event, qint64 pendingId);

    Store *m_store;
    qint64 m_lastId = 0;
    std::deque<Event> m_recent; // the newest events, to serve subscribers without a query
    bool m_shared = false;
    qint64 m_pulledTo = 0;      // every event up to this id was seen, but the gaps
    QSet<qint64> m_ownPending;  // PostgreSQL: pending ids of this store's events, committed, not yet read
    // Fleet: ids below m_pulledTo not read yet, with when the gap was noticed (ms). Ids come from
    // one sequence but commit in any order: another orchestrator's batch that took id n may
    // commit after an event n+1 was read. Asked for again on every pull until MaxGapAgeMs.
    QMap<qint64, qint64> m_gaps;
};

} // namespace Swamp
