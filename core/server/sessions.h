#pragma once

#include "common/result.h"
#include "server/workerpool.h"

#include <QDateTime>
#include <QHash>
#include <QJsonArray>
#include <QMultiMap>
#include <QObject>
#include <QSet>
#include <QTimer>

namespace Swamp {

class EventLog;
class Scheduler;
class Store;

// The live sessions of the enrolled workers, and everything that keeps them true: heartbeats
// (pings spread over the interval, a silent worker cut off), the reconnect grace of a dropped
// worker, drains (an operator's, the worker's own, a token's expiry) and their deadlines, the
// worker's status and its row in the database (written again until the database takes it), and
// the reconnect window announced to the fleet. Enrollment creates and attaches sessions; the
// scheduler fills their slots; this ends them.
class WorkerSessions final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkerSessions)

public:
    struct Settings
    {
        qint64 heartbeatIntervalMs = 5000;
        qint64 heartbeatTimeoutMs = 15000;
        qint64 reconnectGraceMs = 30000;
    };

    WorkerSessions(const Settings &settings, Store *store, EventLog *events, QObject *parent = nullptr);
    ~WorkerSessions() override;

    WorkerPool &pool() { return m_pool; }
    const WorkerPool &pool() const { return m_pool; }
    // The scheduler works on pool(), so it comes after this; set before anything else is called.
    void setScheduler(Scheduler *scheduler) { m_scheduler = scheduler; }
    // In a fleet: the orchestrator's id, which every worker row it writes must still name (a
    // worker taken over by another orchestrator is not written here). Empty: the only writer.
    void setHolder(const QString &orchestratorId) { m_holder = orchestratorId; }

    void startHeartbeats() { m_heartbeatTimer.start(); }
    void stopHeartbeats() { m_heartbeatTimer.stop(); }

    // The sweep (every 250 ms), in two parts around the scheduler's: idle/busy flips written,
    // grace over, rows the database refused written again ...
    void sweepLiveness(qint64 nowMs);
    // ... then drain deadlines and token lifetimes.
    void sweepDeadlines(qint64 nowMs);

    // Over how long the fleet should spread its reconnects when this orchestrator goes away.
    qint64 reconnectWindowMs() const;
    // Workers that enrolled while the fleet was small hold a small window. Called after each
    // enrollment: once the window has doubled since it was last announced, every connected worker
    // is sent it (a `window` frame) within a second, a share at each heartbeat tick.
    void announceReconnectWindow();
    // What the worker was told in `enrolled`: later windows are sent only when they are larger.
    void windowTold(WorkerSession *session, qint64 windowMs) { session->windowToldMs = windowMs; }

    // A connection (back) on `session`: it is no longer within a grace.
    void attached(WorkerSession *session);
    // A resume whose enrollment the database refused: the session is back within a grace, its
    // leases kept (the worker's next resume gives back what it never got; the grace's end expires
    // them). Its row, which the refused write left as it was, is not written.
    void detached(WorkerSession *session);
    // The session's token ends at `expiresAt`: it is drained then (sweepDeadlines()).
    void watchTokenExpiry(const QDateTime &expiresAt, const QString &tokenName);
    void markDisconnected(WorkerSession *session, const QString &reason, bool withGrace);
    // `requeue`: its running steps go back to the queue without counting an attempt (revoke),
    // instead of expiring like a lost worker's.
    void endSession(WorkerSession *session, WorkerStatus finalStatus, const QString &reason, bool requeue = false);
    // Another orchestrator holds the worker now: the session is forgotten here, its row not written.
    void forget(const QString &workerId);
    void startDrain(WorkerSession *session, const QString &code, const QString &reason, qint64 deadlineMs);
    // An operator's undrain; error token_expired when the token's expiry drains it.
    Result<void> undrain(WorkerSession *session);
    // The token was revoked: every live session on it here ends at once, its running steps back
    // in the queue (a `cancel` each), then `error` token_revoked and close 4003. Their names.
    QJsonArray cutOffToken(const QString &tokenName);
    // `swamp worker remove`: the worker's session here (connected or within its grace) ends the
    // same way, with `error` worker_removed and close 4004. True if it was connected.
    bool cutOffWorker(const QString &workerId, const QString &reason);
    // The token was extended to `expiresAt`: every session on it here lasts until then, and those
    // draining because it had expired take steps again. Their names.
    QJsonArray extendToken(const QString &tokenName, const QDateTime &expiresAt);
    void checkDrained(WorkerSession *session);
    void slotsChanged(WorkerSession *session);
    void updateStatus(WorkerSession *session);
    enum class PersistWhat { Row, State };
    void persistWorker(WorkerSession *session, PersistWhat what = PersistWhat::Row);

private:
    void heartbeat();
    // The share of the announced window's round that is due by the clock.
    void tellWindowRound(qint64 nowMs);
    // Ends `session` now (its steps requeued by their retry policy), then sends `error` and closes.
    void cutOff(WorkerSession *session, const QString &why, const Error &error, int closeCode);
    void expireTokenSessions(const QString &tokenName, const QDateTime &now);
    // Writes again the rows persistWorker() could not write.
    void retryUnsavedWorkers();
    bool shared() const { return !m_holder.isEmpty(); }

    Settings m_settings;
    Store *m_store;
    EventLog *m_events;
    Scheduler *m_scheduler = nullptr;
    QString m_holder;
    WorkerPool m_pool;
    QTimer m_heartbeatTimer;
    QList<QString> m_heartbeatRound; // worker ids of this interval's pass
    qsizetype m_heartbeatNext = 0;
    qint64 m_heartbeatRoundStartMs = 0;
    QList<QString> m_windowRound; // worker ids still to be told m_announcedWindowMs
    qsizetype m_windowNext = 0;
    qint64 m_windowRoundStartMs = 0;
    QSet<QString> m_inGrace;                       // worker ids disconnected within grace
    QSet<QString> m_drainDeadlines;                // worker ids draining with a deadline
    QMultiMap<QDateTime, QString> m_tokenExpiries; // tokens with live sessions, by expiry
    QSet<QString> m_statusToWrite;                 // workers whose idle/busy flips wait for the next sweep
    QHash<QString, WorkerRecord> m_unsavedWorkers; // rows the database refused, by worker id
    qint64 m_announcedWindowMs = 1000;             // the smallest reconnectWindowMs()
};

} // namespace Swamp
