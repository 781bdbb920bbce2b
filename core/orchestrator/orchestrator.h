#pragma once

#include "common/result.h"
#include "orchestrator/connections.h"
#include "pool/workerpool.h"
#include "scheduling/steps.h"
#include "tokens/tokens.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <memory>

class QWebSocketServer;

namespace Swamp {

class AdminConnection;
class EventLog;
class PeerConnection;
class Scheduler;
class Store;
class WorkerConnection;
struct Event;

struct OrchestratorConfig
{
    QString listenHost = QStringLiteral("127.0.0.1");
    quint16 listenPort = 9090;
    QString dataDir;
    QString database; // empty: SQLite in dataDir; else a postgresql:// URL
    QString tlsCertPath;
    QString tlsKeyPath;
    qint64 heartbeatIntervalMs = 5000;
    qint64 heartbeatTimeoutMs = 15000;
    qint64 reconnectGraceMs = 30000;
    qint64 queueTimeoutMs = 10 * 60 * 1000;
    qint64 retentionMs = 24LL * 3600 * 1000;
    qint64 ghostProbeMs = 2000;
    bool rotateAdminToken = false;
};

// The orchestrator (`swamp serve`): one WebSocket listener with /v1/worker and /v1/admin, the
// database, the live worker pool and the operator event log. Everything runs on one thread:
// no thread per worker, no database write per heartbeat, no scan of the pool per frame.
class Orchestrator final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Orchestrator)

public:
    explicit Orchestrator(OrchestratorConfig config, QObject *parent = nullptr);
    ~Orchestrator() override;

    // Opens the database, reconciles state left by a previous run, writes admin.json, and then
    // opens the listener. The URL it listens on (with the real port) is url().
    Result<void> start();
    // Tells every worker the orchestrator is going away, records them disconnected, closes.
    void stop();

    QString url() const;
    QString dataDir() const { return m_config.dataDir; }
    EventLog *eventLog() const { return m_events.get(); }
    // Events recorded while starting (boot reconciliation), before anyone could subscribe.
    QList<Event> bootEvents() const;
    Store *store() const { return m_store.get(); }

Q_SIGNALS:
    void stopped();
    // A group-commit batch could not be committed (disk full, I/O error): nothing of it was sent,
    // but the in-memory state is ahead of the database, so the orchestrator must exit; a restart
    // recovers from the last committed state (boot reconciliation).
    void failed(const Swamp::Error &error);

private:
    // wiring
    void acceptConnection();
    void attachWorker(WorkerConnection *connection);
    void attachAdmin(AdminConnection *connection);
    void handleWorkerFrame(WorkerConnection *connection, const QJsonObject &frame);
    void handleWorkerClosed(WorkerConnection *connection);

    // enrollment (enrollment.cpp)
    void handleEnroll(WorkerConnection *connection, const QJsonObject &frame);
    Result<TokenRecord> checkToken(const QJsonObject &frame, const QString &peer);
    void admitWorker(WorkerConnection *connection, const QJsonObject &frame, const TokenRecord &token);
    void refuse(WorkerConnection *connection, const Error &error, const QString &requestId);
    bool rateLimited(const QString &tokenName, const QString &address) const;
    void recordSecretFailure(const QString &tokenName, const QString &address);

    // group commit: what one event-loop turn changed is committed at once, then sent
    void commitBatch();

    // liveness
    void heartbeat();
    void sweep();
    void markDisconnected(WorkerSession *session, const QString &reason, bool withGrace);
    // `requeue`: its running steps go back to the queue without counting an attempt (revoke),
    // instead of expiring like a lost worker's.
    void endSession(WorkerSession *session, WorkerStatus finalStatus, const QString &reason,
                    bool requeue = false);
    void persistWorker(WorkerSession *session);
    void updateStatus(WorkerSession *session);
    void expireTokenSessions(const QString &tokenName);
    void startDrain(WorkerSession *session, const QString &code, const QString &reason, qint64 deadlineMs);
    void checkDrained(WorkerSession *session);
    void slotsChanged(WorkerSession *session);

    // admin (adminservice.cpp)
    void handleAdminFrame(AdminConnection *connection, const QJsonObject &frame);
    Result<QJsonObject> adminCall(AdminConnection *connection, const QString &method,
                                  const QJsonObject &params);
    Result<QJsonObject> listWorkers(const QJsonObject &params);
    Result<QJsonObject> createToken(const QJsonObject &params);
    Result<QJsonObject> listTokens();
    Result<QJsonObject> revokeToken(const QJsonObject &params);
    Result<QJsonObject> subscribe(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> dataQuery(const QJsonObject &params);
    // steps (runservice.cpp)
    Result<QJsonObject> submitRun(const QJsonObject &params);
    Result<QJsonObject> runStatus(const QJsonObject &params);
    Result<QJsonObject> runLogs(const QJsonObject &params);
    Result<QJsonObject> followStep(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> cancelRun(const QJsonObject &params);
    Result<QJsonObject> workerQueue();
    Result<QJsonObject> drainWorker(const QJsonObject &params, bool drain);
    Result<StepRecord> findStep(const QString &id);
    void forwardStepChange(const StepRecord &step);
    void forwardOutput(const QString &stepId, const QJsonObject &chunk);
    Result<QList<WorkerRecord>> currentWorkers();
    QJsonObject tokenJson(const TokenRecord &token, const QDateTime &now) const;
    void broadcastEvent(const Event &event);

    OrchestratorConfig m_config;
    QString m_adminToken;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<EventLog> m_events;
    std::unique_ptr<QWebSocketServer> m_server;
    std::unique_ptr<Scheduler> m_scheduler;
    QMultiHash<QString, QPointer<AdminConnection>> m_followers; // step id → clients following it
    WorkerPool m_pool;
    QList<QPointer<AdminConnection>> m_admins;
    QTimer m_heartbeatTimer;
    QList<QString> m_heartbeatRound; // worker ids of this interval's pass
    qsizetype m_heartbeatNext = 0;
    qint64 m_heartbeatRoundStartMs = 0;
    QTimer m_sweepTimer;
    QSet<QString> m_inGrace;                       // worker ids disconnected within grace
    QSet<QString> m_drainDeadlines;                // worker ids draining with a deadline
    QMultiMap<QDateTime, QString> m_tokenExpiries; // tokens with live sessions, by expiry
    QHash<QString, QList<qint64>> m_secretFailures; // by "name:" / "addr:" key, recent ms
    bool m_stopping = false;
    qint64 m_bootEventId = 0;
    OutboundGate m_gate;
};

} // namespace Swamp
