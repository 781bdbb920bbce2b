// The orchestrator's composition: start() in its phases (database, boot reconciliation, listener,
// serving), group commit and the outbound gate, stop(), and accepting connections and routing
// their frames. Sessions are in sessions.cpp; the services in enrollment, adminservice,
// runservice, queryservice, fleetservice, retentionservice and observability.
#include "server/orchestrator.h"

#include "common/datadir.h"
#include "common/duration.h"
#include "common/files.h"
#include "common/logging.h"
#include "model/errorcodes.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "server/adminservice.h"
#include "server/commitpipeline.h"
#include "server/enrollment.h"
#include "server/queryservice.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/reaper.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "server/stepfollowers.h"
#include "server/transport/connections.h"
#include "server/transport/metricsserver.h"
#include "server/transport/peersocket.h"
#include "server/transport/rawwebsocket.h"
#include "server/transport/rawwebsocketserver.h"
#include "server/transport/tlswebsocketserver.h"
#include "store/databasecheck.h"
#include "store/store.h"
#include "tls/listensafety.h"
#include "tls/tlscredentials.h"
#include "version/version.h"

#include <QDir>
#include <QFile>
#include <QHostInfo>
#include <QSslConfiguration>
#include <QWebSocket>

namespace Swamp {

Orchestrator::Orchestrator(OrchestratorConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_metrics(std::make_unique<Metrics>())
{
    m_sweepTimer.setInterval(250);
    connect(&m_sweepTimer, &QTimer::timeout, this, &Orchestrator::sweep);
}

Orchestrator::~Orchestrator()
{
    // Before the services they call into go: every connection still open, enrolled or not.
    qDeleteAll(std::exchange(m_connections, {}));
}

quint16 Orchestrator::listenPort() const
{
    return m_tlsServer ? m_tlsServer->serverPort() : m_server ? m_server->serverPort() : 0;
}

QString Orchestrator::url() const
{
    if (!m_server && !m_tlsServer)
        return {};
    const QString scheme = m_tlsServer ? QStringLiteral("wss") : QStringLiteral("ws");
    QString host = m_config.listenHost;
    if (host == u"0.0.0.0" || host == u"::")
        host = QStringLiteral("127.0.0.1");
    if (host.contains(u':'))
        host = u'[' + host + u']';
    return QStringLiteral("%1://%2:%3").arg(scheme, host).arg(listenPort());
}

Result<void> Orchestrator::start()
{
    // Flags are checked before the database is touched: a bad certificate must not reconcile
    // (disconnect, expire) anything.
    auto address = bindAddress(m_config.listenHost);
    if (!address)
        return fail(address.error());
    if (!m_config.metricsHost.isEmpty()) {
        if (auto metricsAddress = bindAddress(m_config.metricsHost); !metricsAddress)
            return fail(metricsAddress.error());
    }
    const bool tls = !m_config.tlsCertPath.isEmpty() || !m_config.tlsKeyPath.isEmpty();
    std::optional<ServerCredentials> credentials;
    if (tls) {
        auto loaded = loadServerCredentials(m_config.tlsCertPath, m_config.tlsKeyPath);
        if (!loaded)
            return fail(loaded.error());
        credentials = std::move(*loaded);
    }

    if (auto opened = openDatabase(); !opened)
        return opened;
    if (auto reconciled = reconcileOnBoot(); !reconciled)
        return reconciled;
    if (auto listening = openListener(*address, credentials); !listening)
        return listening;
    return startServing(credentials);
}

// One orchestrator per data dir, before anything in it is read or written; its SQLite file is
// checked before it is opened for writing, so that a damaged or emptied one is refused.
Result<void> Orchestrator::openDatabase()
{
    auto lock = lockDataDir(m_config.dataDir);
    if (!lock)
        return fail(lock.error());
    m_dataDirLock = std::move(*lock);
    const QString spec = m_config.database.isEmpty()
                             ? m_config.dataDir + QStringLiteral("/swamp.db")
                             : m_config.database;
    if (m_config.database.isEmpty()) {
        auto checked = checkDataDirDatabase(m_config.dataDir, spec);
        if (!checked)
            return fail(checked.error());
        if (!checked->warning.isEmpty())
            m_warnings << checked->warning;
    }
    auto store = Store::open(spec);
    if (!store)
        return fail(store.error());
    m_store = std::move(*store);
    m_events = std::make_unique<EventLog>(m_store.get());
    m_bootEventId = m_events->lastId();
    if (const int found = m_store->foundSchemaVersion(); found > 0 && found < m_store->schemaVersion()) {
        const QString backup = m_store->backupPath();
        m_events->append(QStringLiteral("orchestrator.migrated"), QString(),
                         backup.isEmpty()
                             ? Tr::tr("database schema migrated from version %1 to %2 (swamp backs up only "
                                      "SQLite files: back up a PostgreSQL database with pg_dump before upgrading)")
                                   .arg(found)
                                   .arg(m_store->schemaVersion())
                             : Tr::tr("database schema migrated from version %1 to %2; the old database was "
                                      "backed up to %3")
                                   .arg(found)
                                   .arg(m_store->schemaVersion())
                                   .arg(backup),
                         {{QStringLiteral("from"), found},
                          {QStringLiteral("to"), m_store->schemaVersion()},
                          {QStringLiteral("backup"), backup.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(backup)}});
    }
    return {};
}

// Boot reconciliation before the listener opens: nobody is connected yet. In a fleet only the
// workers of orchestrators that are gone are disconnected; the others hold theirs. Then the
// scheduler recovers the steps: active leases of the previous run expire and go back to the queue.
Result<void> Orchestrator::reconcileOnBoot()
{
    m_fleet = std::make_unique<Fleet>(m_store.get(), m_config.heartbeatIntervalMs, m_config.orchestratorTimeoutMs);
    m_events->setShared(shared());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (!shared()) {
        // One orchestrator per SQLite file: whatever was alive before this start is not.
        if (auto ended = m_store->endAliveOrchestrators(now, QStringLiteral("restart")); !ended)
            return fail(ended.error());
    }
    auto reconciled = shared() ? m_store->disconnectOrphanedWorkers(now) : m_store->reconcileWorkersOnBoot(now);
    if (!reconciled)
        return fail(reconciled.error());
    if (*reconciled > 0) {
        m_events->append(QStringLiteral("orchestrator.reconciled"), QString(),
                         Tr::tr("%n worker(s) marked disconnected after restart", nullptr, *reconciled),
                         {{QStringLiteral("workers"), *reconciled}});
    }

    m_sessions = std::make_unique<WorkerSessions>(
        WorkerSessions::Settings{m_config.heartbeatIntervalMs, m_config.heartbeatTimeoutMs, m_config.reconnectGraceMs},
        m_store.get(), m_events.get());
    if (shared())
        m_sessions->setHolder(m_fleet->id());
    // Steps: active leases of the previous run expire and their steps go back to the queue.
    m_scheduler = std::make_unique<Scheduler>(m_store.get(), m_events.get(), &m_sessions->pool(), &m_link, m_config.queueTimeoutMs);
    m_scheduler->setFleet(m_fleet.get(), shared());
    auto recovered = m_scheduler->recover();
    if (!recovered)
        return fail(recovered.error());
    m_sessions->setScheduler(m_scheduler.get());
    connect(m_scheduler.get(), &Scheduler::slotsChanged, m_sessions.get(), &WorkerSessions::slotsChanged);
    m_enrollment = std::make_unique<Enrollment>(
        Enrollment::Settings{m_config.heartbeatIntervalMs, m_config.heartbeatTimeoutMs, m_config.reconnectGraceMs,
                             m_config.ghostProbeMs},
        m_store.get(), m_events.get(), m_sessions.get(), m_scheduler.get(), m_metrics.get(), m_fleet.get());
    m_view = std::make_unique<StateView>(m_store.get(), m_sessions.get(), m_scheduler.get(),
                                         shared() ? m_fleet->id() : QString());
    m_query = std::make_unique<QueryService>(m_store.get(), m_view.get());
    m_followers = std::make_unique<StepFollowers>(m_store.get(), m_view.get());
    connect(m_scheduler.get(), &Scheduler::stepChanged, m_followers.get(), &StepFollowers::stepChanged);
    connect(m_scheduler.get(), &Scheduler::stepChanged, this, &Orchestrator::observeStep);
    connect(m_scheduler.get(), &Scheduler::outputAppended, m_followers.get(), &StepFollowers::outputAppended);
    connect(m_scheduler.get(), &Scheduler::leaseFrameRefused, this,
            [this] { m_metrics->countRejectedFrame(QStringLiteral("inactive_lease")); });
    return {};
}

// The admin token, then the WebSocket listener: wss:// with `credentials`, else ws://.
Result<void> Orchestrator::openListener(const QHostAddress &address, const std::optional<ServerCredentials> &credentials)
{
    const bool tls = credentials.has_value();
    // The admin token is kept across restarts; rotated only on request.
    auto existing = readAdminConfig(m_config.dataDir);
    m_adminToken = !m_config.adminToken.isEmpty()                    ? m_config.adminToken
                   : (existing && !m_config.rotateAdminToken) ? existing->adminToken
                                                              : randomHex32();

    if (const QString warning = plaintextListenWarning(m_config.listenHost, tls); !warning.isEmpty())
        m_warnings << warning;
    // The upgrade response names what an enroll must send (docs/protocol.md, "Version
    // discovery"), on ws:// and wss:// alike: both servers send it as their Server header.
    const QString serverName = QStringLiteral("swamp/%1 swamp-protocol/%2").arg(Swamp::version()).arg(Swamp::protocolVersion());
    bool listening = false;
    QString listenError;
    if (credentials) {
        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        ssl.setLocalCertificateChain(credentials->chain);
        ssl.setPrivateKey(credentials->key);
        ssl.setPeerVerifyMode(QSslSocket::VerifyNone);
        m_warnings += credentials->warnings;
        m_tlsServer = std::make_unique<TlsWebSocketServer>(serverName, ssl, 10000);
        connect(m_tlsServer.get(), &TlsWebSocketServer::newConnection, this, &Orchestrator::acceptConnections);
        listening = m_tlsServer->listen(address, m_config.listenPort);
        listenError = m_tlsServer->errorString();
    } else {
        // Plain ws:// is served on the file descriptors (RawWebSocketServer): QWebSocketServer's
        // sockets each keep 48 KB of buffers for good, most of an idle worker's cost (issue 8).
        m_server = std::make_unique<RawWebSocketServer>(serverName);
        m_server->setHandshakeTimeout(10000);
        connect(m_server.get(), &RawWebSocketServer::newConnection, this, &Orchestrator::acceptConnections);
        listening = m_server->listen(address, m_config.listenPort);
        listenError = m_server->errorString();
    }
    if (!listening) {
        return fail(QStringLiteral("listen"),
                    Tr::tr("cannot listen on %1:%2: %3")
                        .arg(m_config.listenHost)
                        .arg(m_config.listenPort)
                        .arg(listenError),
                    Tr::tr("pick a free port with --listen host:port, or stop what uses it"));
    }
    return {};
}

// Metrics, admin.json, the fleet, the timers, the reaper and group commit: the orchestrator serves.
Result<void> Orchestrator::startServing(const std::optional<ServerCredentials> &credentials)
{
    if (auto metrics = startMetrics(); !metrics)
        return fail(metrics.error());
    // With TLS the local CLI and console pin this very certificate (they need no --ca-cert).
    const QString pinned = credentials ? QString::fromLatin1(credentials->chain.first().toPem()) : QString();
    const QString scheme = credentials ? QStringLiteral("wss") : QStringLiteral("ws");
    m_workerUrls = workerUrlsFor(scheme, m_config.listenHost, listenPort(), m_config.advertiseUrl,
                                 interfaceAddresses(), QHostInfo::localHostName());
    if (const QString warning = workerUrlWarning(m_config.listenHost, m_config.advertiseUrl, m_workerUrls, url());
        !warning.isEmpty())
        m_warnings << warning;
    if (auto written = writeAdminConfig(m_config.dataDir, AdminConfig{url(), m_adminToken, pinned, m_workerUrls});
        !written)
        return fail(written.error());
    m_enrollment->setOrchestratorUrl(workerUrl());
    if (auto joined = joinFleet(); !joined)
        return fail(joined.error());

    m_sessions->startHeartbeats();
    m_sweepTimer.start();
    m_reaper = std::make_unique<Reaper>(m_store.get(), m_config.retentionMs);
    m_reaper->start();
    // Group commit: every change made while handling the frames and timers of one event-loop
    // turn is committed in one transaction on the next turn, and only then are the frames that
    // announce those changes sent (OutboundGate). Under load one commit carries many steps'
    // changes; an idle orchestrator commits at once. Each change is still written before
    // anything that depends on it leaves the process.
    if (m_store->dialect() == Store::Dialect::Postgres) {
        // A batch holds row locks until the next turn. Should this process be paused with one
        // open (SIGSTOP, a frozen VM), the server ends its session once it would have been
        // declared dead anyway, and the others never wait long for a lock it holds.
        const qint64 idleMs = std::max<qint64>(1000, m_config.orchestratorTimeoutMs);
        const qint64 lockMs = std::max<qint64>(500, m_config.orchestratorTimeoutMs / 3);
        if (auto limited = m_store->limitSession(idleMs, lockMs); !limited)
            return fail(limited.error());
    }
    m_commits = std::make_unique<CommitPipeline>(*m_store);
    connect(m_commits.get(), &CommitPipeline::failed, this, &Orchestrator::commitFailed);
    connect(m_commits.get(), &CommitPipeline::committed, m_events.get(), &EventLog::deliverCommitted);
    // Back after a loss: what the fleet announced meanwhile was missed.
    connect(m_commits.get(), &CommitPipeline::reconnected, m_scheduler.get(), &Scheduler::requestRefresh);
    createAdminService();
    m_store->checkpointInBackground();
    // The hot rows wait for the commit: on SQLite written once each in their newest version, on
    // PostgreSQL as a few multi-row statements per batch (store.h).
    if (auto behind = m_store->enableWriteBehind(); !behind)
        return fail(behind.error());
    return {};
}

// The admin endpoint, on every service (the commit pipeline included) and the admin token.
void Orchestrator::createAdminService()
{
    AdminService::Services services;
    services.store = m_store.get();
    services.events = m_events.get();
    services.sessions = m_sessions.get();
    services.scheduler = m_scheduler.get();
    services.view = m_view.get();
    services.query = m_query.get();
    services.followers = m_followers.get();
    services.commits = m_commits.get();
    services.metrics = m_metrics.get();
    services.fleet = shared() ? m_fleet.get() : nullptr;
    services.workerUrls = m_workerUrls.isEmpty() ? QStringList{url()} : m_workerUrls;
    m_admin = std::make_unique<AdminService>(services, m_adminToken,
                                              [this](PeerConnection *connection) { release(connection); });
    connect(m_events.get(), &EventLog::appended, m_admin.get(), &AdminService::broadcast);
}

void Orchestrator::commitFailed(const Error &error)
{
    // Paused past the fleet's timeout with a batch open, this process finds its session ended by
    // the server before its heartbeat can tell it why: say so.
    if (shared()) {
        if (const QString reason = m_fleet->evictionReason(); !reason.isEmpty())
            qCCritical(lcDb).noquote() << reason;
    }
    qCCritical(lcDb) << "commit failed, stopping:" << error.message;
    m_sessions->stopHeartbeats();
    m_sweepTimer.stop();
    closeListener();
    Q_EMIT failed(error);
}

void Orchestrator::sweep()
{
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    m_enrollment->closeOverdue(nowMs);
    m_sessions->sweepLiveness(nowMs);
    m_scheduler->sweep();
    m_enrollment->reportRefusals(nowMs);
    m_admin->reportRefusals(nowMs);
    m_sessions->sweepDeadlines(nowMs);
}

QList<Event> Orchestrator::bootEvents() const
{
    return m_events ? m_events->since(m_bootEventId) : QList<Event>();
}

void Orchestrator::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    if (m_sessions)
        m_sessions->stopHeartbeats();
    m_sweepTimer.stop();
    if (m_reaper)
        m_reaper->stop();
    closeListener();
    // The fleet will reconnect to the next orchestrator at once: ask it to spread the reconnects.
    const QByteArray goodbye =
        Protocol::Shutdown{Tr::tr("the orchestrator is shutting down"), m_sessions ? m_sessions->reconnectWindowMs() : 0}.encode();
    const QList<WorkerSession *> sessions = m_sessions ? m_sessions->pool().all() : QList<WorkerSession *>();
    for (WorkerSession *session : sessions) {
        // In a fleet the others carry on at once: running steps go back to the queue now
        // (cancelled on the worker, no attempt spent) instead of at this orchestrator's restart.
        if (shared() && !session->leaseIds.isEmpty())
            m_scheduler->requeueLeases(session, Tr::tr("orchestrator stopped"));
        if (WorkerConnection *connection = session->connection) {
            connection->sendEncoded(goodbye);
            connection->close(Protocol::CloseShutdown, QStringLiteral("orchestrator shutting down"));
        }
        session->record.status = WorkerStatus::Disconnected;
        session->record.disconnectedAt = QDateTime::currentDateTimeUtc();
        session->record.graceUntil = QDateTime(); // nothing resumes here any more
        m_sessions->persistWorker(session);
    }
    if (m_admin)
        m_admin->closeAll();
    if (m_events)
        m_events->append(QStringLiteral("orchestrator.stopped"), QString(), Tr::tr("orchestrator stopped"));
    if (m_commits)
        m_commits->commitNow();
    if (m_fleet && m_exitCode == 0)
        m_fleet->leave();
    // Give close frames a moment to leave before the process exits.
    QTimer::singleShot(200, this, &Orchestrator::stopped);
}

void Orchestrator::closeListener()
{
    if (m_server)
        m_server->close();
    if (m_tlsServer)
        m_tlsServer->close();
}

void Orchestrator::acceptConnections()
{
    if (m_server) {
        while (RawWebSocket *socket = m_server->nextPendingConnection())
            acceptConnection(socket);
    }
    if (m_tlsServer) {
        while (QWebSocket *socket = m_tlsServer->nextPendingConnection())
            acceptConnection(new QtPeerSocket(socket));
    }
}

void Orchestrator::acceptConnection(PeerSocket *socket)
{
    const QString path = socket->requestPath();
    if (m_stopping) {
        socket->close(Protocol::CloseShutdown, QStringLiteral("orchestrator shutting down"));
        socket->deleteLater();
    } else if (path == QStringView(Protocol::WorkerPath)) {
        auto *connection = new WorkerConnection(socket, Protocol::MaxWorkerFrameBytes);
        own(connection);
        if (!admitUnauthenticated(connection))
            return;
        observeConnection(connection, Metrics::Endpoint::Worker);
        connection->setGate(m_commits->gate());
        attachWorker(connection);
    } else if (path == QStringView(Protocol::AdminPath)) {
        auto *connection = new AdminConnection(socket, Protocol::MaxAdminFrameBytes);
        own(connection);
        if (!admitUnauthenticated(connection))
            return;
        observeConnection(connection, Metrics::Endpoint::Admin);
        connection->setGate(m_commits->gate());
        m_admin->attach(connection);
    } else {
        socket->close(Protocol::CloseBadFrame, QStringLiteral("unknown endpoint; use /v1/worker or /v1/admin"));
        socket->deleteLater();
    }
}

void Orchestrator::own(PeerConnection *connection)
{
    m_connections.insert(connection);
}

void Orchestrator::release(PeerConnection *connection)
{
    m_connections.remove(connection);
    connection->deleteLater();
}

bool Orchestrator::admitUnauthenticated(PeerConnection *connection)
{
    // The plain listener bounds its connections without a secret itself, from accept() on (with
    // what they buffer); the TLS one hands them over upgraded, and they are bounded here.
    if (!m_tlsServer)
        return true;
    if (!m_tlsServer->unauthenticated().admit(connection, connection->peerAddress())) {
        qCInfo(lcWs) << "refused a connection from" << connection->peerAddress()
                     << ": too many connections without a secret from that address";
        connection->abort();
        release(connection);
        return false;
    }
    connection->setUnauthenticatedPool(&m_tlsServer->unauthenticated());
    return true;
}

void Orchestrator::attachWorker(WorkerConnection *connection)
{
    connect(connection, &PeerConnection::frameReceived, this,
            [this, connection](const QJsonObject &frame) {
                handleWorkerFrame(connection, frame);
                m_commits->sealEarlyIfDue();
            });
    connect(connection, &PeerConnection::pongReceived, this, [this, connection] {
        if (WorkerSession *session = m_sessions->pool().find(connection->workerId); session && session->connection == connection)
            session->lastHeardMs = connection->lastHeardMs();
    });
    connect(connection, &PeerConnection::closed, this,
            [this, connection] { handleWorkerClosed(connection); });
    // A connection that does not enroll promptly is dropped (by sweep()).
    m_enrollment->expect(connection);
}

void Orchestrator::handleWorkerFrame(WorkerConnection *connection, const QJsonObject &frame)
{
    const QString type = frame.value(QStringLiteral("type")).toString();
    if (connection->workerId.isEmpty()) {
        if (type == Protocol::Type::Enroll)
            m_enrollment->handleEnroll(connection, frame);
        else
            connection->reject(QStringLiteral("enroll_expected"), QStringLiteral("the first frame must be enroll"));
        return;
    }
    WorkerSession *session = m_sessions->pool().find(connection->workerId);
    if (!session || session->connection != connection) {
        connection->close(Protocol::CloseReplaced, QStringLiteral("session was replaced"));
        return;
    }
    session->lastHeardMs = connection->lastHeardMs();
    if (type == Protocol::Type::Started) {
        m_scheduler->handleStarted(session, Protocol::Started::decode(frame));
        return;
    }
    if (type == Protocol::Type::Output) {
        m_scheduler->handleOutput(session, Protocol::Output::decode(frame));
        return;
    }
    if (type == Protocol::Type::Finished) {
        m_scheduler->handleFinished(session, Protocol::Finished::decode(frame));
        return;
    }
    if (type == Protocol::Type::Rejected) {
        m_scheduler->handleRejected(session, Protocol::Rejected::decode(frame));
        return;
    }
    if (type == Protocol::Type::Drain) {
        m_sessions->startDrain(session, QStringLiteral("worker"), Protocol::SelfDrain::decode(frame).reason, 0);
        return;
    }
    if (type == Protocol::Type::Goodbye) {
        connection->workerId.clear();
        m_sessions->endSession(session, WorkerStatus::Disconnected, Protocol::Goodbye::decode(frame).reason);
        connection->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("goodbye"));
        return;
    }
    connection->reject(QStringLiteral("unknown_type"), QStringLiteral("unknown frame type"));
}

void Orchestrator::handleWorkerClosed(WorkerConnection *connection)
{
    WorkerSession *session = m_sessions->pool().find(connection->workerId);
    if (session && session->connection == connection) {
        // stop() has recorded every worker disconnected already, with one event for all of them:
        // not another row write and event per worker while the process is on its way out.
        if (m_stopping)
            session->connection = nullptr;
        else
            m_sessions->markDisconnected(session, Tr::tr("connection closed"), true);
    }
    release(connection);
}

} // namespace Swamp
