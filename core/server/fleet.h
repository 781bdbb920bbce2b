#pragma once

#include "common/result.h"

#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QSqlDriver>
#include <QTimer>

namespace Swamp {

class Store;

// This orchestrator's membership in a fleet: several `swamp serve` processes on one PostgreSQL
// database. It registers the process in the `orchestrators` table, heartbeats there, declares
// orchestrators whose heartbeat stopped dead (compare-and-set, so one survivor takes over), and
// carries wake-ups between orchestrators over LISTEN/NOTIFY. The Orchestrator reacts to its
// signals; the Fleet itself never touches sessions or steps.
class Fleet final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Fleet)

public:
    Fleet(Store *store, qint64 heartbeatMs, qint64 timeoutMs, QObject *parent = nullptr);
    ~Fleet() override;

    // Registers this process (alive) and starts listening and heartbeating.
    Result<void> join(const QString &name, const QString &url);
    // Graceful stop: this orchestrator is marked `stopped`; nothing of it is left for others to reap.
    void leave();

    QString id() const { return m_id; }
    QString name() const { return m_name; }
    qint64 timeoutMs() const { return m_timeoutMs; }

    // Sends `kind` with `fields` to every other orchestrator (at commit when inside a transaction).
    void notify(const QString &kind, QJsonObject fields = {});

    // Looks for orchestrators whose heartbeat stopped now instead of at the next beat.
    void reapNow() { reap(); }
    // Why this orchestrator lost its place, when another one declared it dead; empty otherwise
    // or when that cannot be read. For a failure seen first elsewhere (a commit after a pause).
    QString evictionReason();

Q_SIGNALS:
    // A notification from another orchestrator (never our own).
    void notified(const QString &kind, const QJsonObject &payload);
    // This process won the right to take over what `id` held (its heartbeat stopped).
    void orchestratorDied(const QString &id, const QString &name);
    // Another orchestrator declared this one dead (it missed heartbeats): what it held is gone.
    void evicted(const QString &reason);
    // Every beat: a safety net for notifications lost while the listener reconnected.
    void beat();

private:
    void heartbeat();
    QString evictedMessage() const;
    QString lostMessage() const; // its own row is gone: the database lost committed changes
    void reap();
    void listen();
    void handleNotification(const QString &name, QSqlDriver::NotificationSource source,
                            const QVariant &payload);

    Store *m_store;
    qint64 m_heartbeatMs;
    qint64 m_timeoutMs;
    QString m_id;
    QString m_name;
    QTimer m_timer;
    QPointer<QSqlDriver> m_listener;
    bool m_left = false;
};

} // namespace Swamp
