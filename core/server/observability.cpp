// Metrics and health: the registry's hooks that need no line in the scheduler (dispatches are
// seen through stepChanged, fenced frames through the lease.refused event), the per-endpoint
// socket gauges, and the /metrics + /healthz listener.
#include "server/orchestrator.h"

#include "model/event.h"
#include "model/token.h"
#include "model/worker.h"
#include "server/fleet.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "server/transport/metricsserver.h"
#include "store/store.h"
#include "tls/listensafety.h"

namespace Swamp {

Result<void> Orchestrator::startMetrics()
{
    if (m_config.metricsHost.isEmpty())
        return {};
    auto address = bindAddress(m_config.metricsHost);
    if (!address)
        return fail(address.error());
    m_metricsServer = std::make_unique<MetricsServer>(
        [this] {
            return m_metrics->render(
                m_metrics->readDatabaseState(*m_store, shared() ? m_fleet->id() : QString()),
                ownMetrics());
        },
        [this] { return checkHealth(); });
    if (auto listening = m_metricsServer->listen(*address, m_config.metricsPort); !listening)
        return listening;
    if (const QString warning = metricsListenWarning(m_config.metricsHost); !warning.isEmpty())
        m_warnings << warning;
    return {};
}

Metrics::OwnState Orchestrator::ownMetrics() const
{
    Metrics::OwnState own;
    const QDateTime soon = QDateTime::currentDateTimeUtc().addMSecs(TokenExpiryWarningMs);
    QSet<QString> expiring;
    for (const WorkerSession *session : m_sessions->pool().all()) {
        ++(session->isConnected() ? own.connectedSessions : own.graceSessions);
        own.heldLeases += session->leaseIds.size();
        if (session->isConnected() && session->tokenExpiresAt.isValid() && session->tokenExpiresAt <= soon)
            expiring.insert(session->record.tokenName);
    }
    own.expiringTokensWithWorkers = expiring.size();
    return own;
}

QString Orchestrator::metricsUrl() const
{
    return m_metricsServer ? m_metricsServer->url() : QString();
}

Result<void> Orchestrator::checkHealth() const
{
    if (m_stopping)
        return fail(QStringLiteral("stopping"), Tr::tr("the orchestrator is shutting down"));
    return m_store->checkReadable();
}

void Orchestrator::observeConnection(PeerConnection *connection, Metrics::Endpoint endpoint)
{
    m_metrics->socketOpened(endpoint);
    connect(connection, &PeerConnection::closed, this,
            [this, endpoint] { m_metrics->socketClosed(endpoint); });
    connect(connection, &PeerConnection::frameRejected, this,
            [this](const QString &reason) { m_metrics->countRejectedFrame(reason); });
}

void Orchestrator::observeStep(const StepRecord &step)
{
    // Terminal states are reached once per step, each announced once, after the write.
    if (isTerminal(step.state)) {
        m_metrics->countFinishedStep(stepStateName(step.state));
        return;
    }
    // A step is `dispatched` exactly once per dispatch; queuedAt is when it entered the queue
    // (submitted, or requeued for another attempt).
    if (step.state != StepState::Dispatched || !step.queuedAt.isValid())
        return;
    const qint64 waitedMs = step.queuedAt.msecsTo(QDateTime::currentDateTimeUtc());
    m_metrics->observeDispatchLatency(double(waitedMs) / 1000.0);
}

} // namespace Swamp
