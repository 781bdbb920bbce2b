#include "server/eventlog.h"

#include "common/logging.h"
#include "common/text.h"
#include "store/store.h"

namespace Swamp {

static constexpr size_t RecentEvents = 4096;
// A batch stays open for one event-loop turn, and the database ends a session idle in a
// transaction within seconds: an event id missing for this long belongs to a rolled-back one.
static constexpr qint64 MaxGapAgeMs = 120000;
// More ids missing at once than this is a jump of the sequence, not transactions still open.
static constexpr qint64 MaxGap = 4096;

EventLog::EventLog(Store *store, QObject *parent)
    : QObject(parent)
    , m_store(store)
{
    if (auto last = m_store->lastEventId())
        m_lastId = *last;
    m_pulledTo = m_lastId;
}

void EventLog::pull()
{
    if (!m_shared && m_ownPending.isEmpty())
        return;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_gaps.removeIf([now](const auto &gap) { return now - gap.value() > MaxGapAgeMs; });
    QList<qint64> pendingIds;
    if (!m_gaps.isEmpty()) {
        auto filled = m_store->eventsWithIds(m_gaps.keys(), &pendingIds);
        if (!filled) {
            if (!Store::isAwayError(filled.error()))
                qCWarning(lcDb) << "could not read the fleet's events:" << filled.error().message;
            return;
        }
        for (qsizetype i = 0; i < filled->size(); ++i) {
            m_gaps.remove(filled->at(i).id);
            deliver(filled->at(i), pendingIds.at(i));
        }
    }
    for (;;) {
        pendingIds.clear();
        auto stored = m_store->eventsAfter(m_pulledTo, 1000, &pendingIds);
        if (!stored) {
            if (!Store::isAwayError(stored.error()))
                qCWarning(lcDb) << "could not read the events:" << stored.error().message;
            return;
        }
        for (qsizetype i = 0; i < stored->size(); ++i) {
            const Event &event = stored->at(i);
            if (event.id - m_pulledTo - 1 <= MaxGap) {
                for (qint64 id = m_pulledTo + 1; id < event.id; ++id)
                    m_gaps.insert(id, now);
            }
            m_pulledTo = event.id;
            deliver(event, pendingIds.at(i));
        }
        if (stored->size() < 1000)
            break;
    }
}

void EventLog::deliver(const Event &event, qint64 pendingId)
{
    if (pendingId != 0 && m_ownPending.remove(pendingId)) {
        stored(event);
        return;
    }
    if (!m_shared)
        return;
    m_lastId = std::max(m_lastId, event.id);
    Q_EMIT remoteAppended(event);
}

Event EventLog::append(const QString &kind, const QString &subject, const QString &message,
                       const QJsonObject &data)
{
    Event event{0, QDateTime::currentDateTimeUtc(), kind, subject, message, {}};
    event.setData(data);
    return append(std::move(event));
}

Event EventLog::append(const QString &kind, const QString &subject, const QString &message,
                       QByteArray dataJson)
{
    return append(Event{0, QDateTime::currentDateTimeUtc(), kind, subject, message, std::move(dataJson)});
}

Event EventLog::append(Event event)
{
    auto id = m_store->insertEvent(event);
    if (!id) {
        // Not stored, so not sent either: subscribers resume after the last id they saw, and an
        // id made up here would be the next stored event's (which they would then skip).
        qCWarning(lcDb).noquote() << "could not store event" << event.kind << "-" << printable(event.message)
                                  << ":" << id.error().message;
        return event;
    }
    event.id = *id;
    Q_EMIT written();
    if (event.id > 0)
        stored(event);
    else if (!m_store->inBatch())
        deliverCommitted(); // stored outside a batch: committed already
    return event;
}

void EventLog::deliverCommitted()
{
    const QSet<qint64> own = m_store->takeOwnCommittedEvents();
    if (own.isEmpty())
        return;
    m_ownPending.unite(own);
    pull();
}

void EventLog::stored(const Event &event)
{
    m_lastId = std::max(m_lastId, event.id);
    m_recent.push_back(event);
    if (m_recent.size() > RecentEvents)
        m_recent.pop_front();
    Q_EMIT appended(event);
}

QList<Event> EventLog::since(qint64 afterId, int limit) const
{
    if (!m_shared && !m_recent.empty() && m_recent.front().id <= afterId + 1) {
        QList<Event> events;
        for (const Event &event : m_recent) {
            if (event.id > afterId && events.size() < limit)
                events << event;
        }
        return events;
    }
    auto stored = m_store->eventsAfter(afterId, limit);
    return stored ? *stored : QList<Event>();
}

} // namespace Swamp
