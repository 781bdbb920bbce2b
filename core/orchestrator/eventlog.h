#pragma once

#include "store/records.h"

#include <QObject>

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

    Event append(const QString &kind, const QString &subject, const QString &message,
                 const QJsonObject &data = {});

    // Events with id > afterId, oldest first, at most `limit`.
    QList<Event> since(qint64 afterId, int limit = 10000) const;
    qint64 lastId() const { return m_lastId; }

Q_SIGNALS:
    void appended(const Swamp::Event &event);

private:
    Store *m_store;
    qint64 m_lastId = 0;
    std::deque<Event> m_recent; // the newest events, to serve subscribers without a query
};

} // namespace Swamp
