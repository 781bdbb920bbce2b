#pragma once

#include "common/refusaldigest.h"
#include "common/result.h"
#include "model/step.h"
#include "model/token.h"
#include "server/addressthrottle.h"
#include "server/metrics.h"
#include "server/transport/connections.h"
#include "server/workerlink.h"
#include "server/workerpool.h"
#include "tls/tlscredentials.h"

#include <QHash>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QPointer>
#include <QTimer>

#include <memory>
#include <utility>

class QLockFile;

namespace Swamp {

class AdminConnection;
class AdminService;
class CommitPipeline;
class Enrollment;
class QueryService;
class StateView;
class StepFollowers;
class WorkerSessions;
class EventLog;
class PeerSocket;
class RawWebSocketServer;
class TlsWebSocketServer;
class MetricsServer;
class Fleet;
class PeerConnection;
class Reaper;
class Scheduler;
class Store;
class WorkerConnection;
struct AuditRecord;
struct Event;
namespace Protocol {
struct EnrollRequest;
}

struct OrchestratorConfig
{
    QString listenHost = QStringLiteral("127.0.0.1");
    quint16 listenPort = 9090;
    QString advertiseUrl; // --advertise-url (checked by parseAdvertiseUrl()); empty: derived
    QString dataDir;
    QString database; // empty: SQLite in dataDir; else a postgresql:// URL
    QString tlsCertPath;
    QString tlsKeyPath;
    QString metricsHost;      // empty: no metrics listener (--metrics-listen)
    quint16 metricsPort = 0;
    qint64 heartbeatIntervalMs = 5000;
    qint64 heartbeatTimeoutMs = 15000;
    qint64 reconnectGraceMs = 30000;
    qint64 queueTimeoutMs = 10 * 60 * 1000;
    qint64 retentionMs = 24LL * 3600 * 1000;
    qint64 ghostProbeMs = 2000;
    qint64 orchestratorTimeoutMs = 15000; // fleet: silence before another orchestrator takes over
    QString adminToken;                   // empty: generated once and kept in admin.json
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

    // The URL on this machine (a wildcard listener: its loopback address), for local admin use.
    QString url() const;
    // The URLs workers on other machines dial, best first (workerUrlsFor()); empty only for a
    // wildcard listener on a machine without a network address (then warnings() says so).
    QStringList workerUrls() const { return m_workerUrls; }
    // The first of workerUrls(), else url().
    QString workerUrl() const { return m_workerUrls.isEmpty() ? url() : m_workerUrls.first(); }
    // http://host:port/metrics when --metrics-listen was given, else empty.
    QString metricsUrl() const;
    // What the operator should know about how it serves (no TLS on the network, an expired
    // certificate, unauthenticated metrics on the network), one sentence each.
    QStringList warnings() const { return m_warnings; }
    const Metrics &metrics() const { return *m_metrics; }
    QString dataDir() const { return m_config.dataDir; }
    EventLog *eventLog() const { return m_events.get(); }
    // Events recorded while starting (boot reconciliation), before anyone could subscribe.
    QList<Event> bootEvents() const;
    Store *store() const { return m_store.get(); }
    Fleet *fleet() const { return m_fleet.get(); }
    // Non-zero when the orchestrator stopped because of a failure (evicted from its fleet).
    int exitCode() const { return m_exitCode; }
    // The retention reaper (`--retention`); null before start().
    Reaper *reaper() const { return m_reaper.get(); }

Q_SIGNALS:
    void stopped();
    // A group-commit batch could not be committed (disk full, I/O error): nothing of it was sent,
    // but the in-memory state is ahead of the database, so the orchestrator must exit; a restart
    // recovers from the last committed state (boot reconciliation).
    void failed(const Swamp::Error &error);

private:
    // start(), in its order
    Result<void> openDatabase();
    Result<void> reconcileOnBoot();
    Result<void> openListener(const QHostAddress &address, const std::optional<ServerCredentials> &credentials);
    Result<void> startServing(const std::optional<ServerCredentials> &credentials);
    // wiring
    void acceptConnections();
    void acceptConnection(PeerSocket *socket);
    quint16 listenPort() const;
    void closeListener();
    // Counts a connection of the TLS listener among those without a secret; false: refused (and
    // deleted), its address holds too many.
    bool admitUnauthenticated(PeerConnection *connection);
    // The orchestrator is a connection's one owner (it has no parent): release() deletes it
    // (later) once its close is handled; what is left goes with the orchestrator.
    void own(PeerConnection *connection);
    void release(PeerConnection *connection);
    void attachWorker(WorkerConnection *connection);
    void handleWorkerFrame(WorkerConnection *connection, const QJsonObject &frame);
    void handleWorkerClosed(WorkerConnection *connection);

    void createAdminService();
    // A batch could not be committed (CommitPipeline::failed): stop serving, and say why.
    void commitFailed(const Error &error);

    // Every 250 ms: enrollment deadlines, the sessions' liveness and deadlines, the scheduler's
    // retries and timeouts, refusal summaries.
    void sweep();

    // metrics and health (observability.cpp)
    Result<void> startMetrics();
    void observeConnection(PeerConnection *connection, Metrics::Endpoint endpoint);
    void observeStep(const StepRecord &step);
    // The sessions and leases this process holds, for the per-orchestrator gauges.
    Metrics::OwnState ownMetrics() const;
    Result<void> checkHealth() const;
    // fleet (fleetservice.cpp): several orchestrators on one PostgreSQL database
    bool shared() const;
    Result<void> joinFleet();
    void handleFleetNotification(const QString &kind, const QJsonObject &payload);
    void takeOver(const QString &orchestratorId, const QString &name);
    void evicted(const QString &reason);
    // Another orchestrator now holds this worker: its session here ends without touching the
    // worker's record, which belongs to the new holder.
    void releaseSession(const QString &workerId, const QString &holder);
    void forwardRemoteEvent(const Event &event);
    void remoteDrain(const QJsonObject &payload);


    OrchestratorConfig m_config;
    std::unique_ptr<QLockFile> m_dataDirLock; // held from start() until after everything else is gone
    QString m_adminToken;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<CommitPipeline> m_commits; // after the store: its hook is the store's
    std::unique_ptr<EventLog> m_events;
    std::unique_ptr<RawWebSocketServer> m_server;   // ws://
    std::unique_ptr<TlsWebSocketServer> m_tlsServer; // wss://
    std::unique_ptr<Scheduler> m_scheduler;
    std::unique_ptr<Metrics> m_metrics;
    std::unique_ptr<MetricsServer> m_metricsServer;
    QStringList m_warnings;
    QStringList m_workerUrls;
    std::unique_ptr<Fleet> m_fleet;
    QTimer m_pullEventsTimer; // fleet: coalesces event notifications into one read
    int m_exitCode = 0;
    std::unique_ptr<Reaper> m_reaper;
    std::unique_ptr<WorkerSessions> m_sessions; // from start(); the scheduler works on its pool
    ConnectionLink m_link; // the scheduler's way to the workers' sockets
    QSet<PeerConnection *> m_connections; // every accepted connection not yet deleted (own())
    QTimer m_sweepTimer;
    std::unique_ptr<Enrollment> m_enrollment; // from start(), after the sessions and the scheduler
    std::unique_ptr<StateView> m_view;        // from start(): what the admin methods read
    std::unique_ptr<QueryService> m_query;
    std::unique_ptr<StepFollowers> m_followers; // run.follow
    std::unique_ptr<AdminService> m_admin;     // from start(), once the token and the commit pipeline are
    bool m_stopping = false;
    qint64 m_bootEventId = 0;
};

} // namespace Swamp
