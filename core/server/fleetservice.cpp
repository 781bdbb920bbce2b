// Several orchestrators on one PostgreSQL database (a fleet): joining it, reacting to the other
// orchestrators' notifications, and taking over what a dead orchestrator held.

#include "server/orchestrator.h"

#include "common/duration.h"
#include "common/logging.h"
#include "model/errorcodes.h"
#include "protocol/protocol.h"
#include "server/adminservice.h"
#include "server/enrollment.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/stepfollowers.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QHostInfo>

namespace Swamp {

bool Orchestrator::shared() const
{
    return m_store && m_store->dialect() == Store::Dialect::Postgres;
}

Result<void> Orchestrator::joinFleet()
{
    const QString name = QHostInfo::localHostName() + u':' + QString::number(listenPort());
    if (auto joined = m_fleet->join(name, workerUrl()); !joined)
        return joined;
    connect(m_fleet.get(), &Fleet::notified, this, &Orchestrator::handleFleetNotification);
    connect(m_fleet.get(), &Fleet::orchestratorDied, this, &Orchestrator::takeOver);
    connect(m_fleet.get(), &Fleet::evicted, this, &Orchestrator::evicted);
    if (!shared())
        return {};
    m_pullEventsTimer.setSingleShot(true);
    m_pullEventsTimer.setInterval(0);
    connect(&m_pullEventsTimer, &QTimer::timeout, m_events.get(), &EventLog::pullRemote);
    connect(m_events.get(), &EventLog::remoteAppended, this, &Orchestrator::forwardRemoteEvent);
    // A step's every move out of or into the queue is an event committed with it: the events
    // another orchestrator wrote since the last pull name the steps to read again.
    connect(m_events.get(), &EventLog::remoteAppended, m_scheduler.get(), [this](const Event &event) {
        if (event.kind.startsWith(u"step."))
            m_scheduler->stepChangedElsewhere(event.subject);
    });
    connect(m_events.get(), &EventLog::written, this, [this] { m_fleet->notify(QStringLiteral("event")); });
    // Safety net for notifications missed while the listening connection was down: the events
    // since the last pull, and through them the steps they name (never the whole queue).
    connect(m_fleet.get(), &Fleet::beat, this, [this] { m_pullEventsTimer.start(); });
    auto others = m_store->orchestrators();
    int alive = 0;
    if (others) {
        for (const auto &o : std::as_const(*others))
            alive += (o.state == u"alive" && o.id != m_fleet->id()) ? 1 : 0;
    }
    m_events->append(QStringLiteral("orchestrator.joined"), name,
                     Tr::tr("orchestrator %1 joined the fleet (%n other orchestrator(s) alive)", nullptr, alive).arg(name),
                     {{QStringLiteral("orchestratorId"), m_fleet->id()}, {QStringLiteral("url"), workerUrl()}});
    // Someone may have died while nobody was looking (a fleet of one that was killed).
    QTimer::singleShot(0, m_fleet.get(), &Fleet::reapNow);
    return {};
}

void Orchestrator::handleFleetNotification(const QString &kind, const QJsonObject &payload)
{
    if (m_stopping)
        return;
    if (kind == u"steps" || kind == u"event") {
        // The steps' events were committed with them: pulling those tells the scheduler which.
        if (!m_pullEventsTimer.isActive())
            m_pullEventsTimer.start();
    } else if (kind == u"output") {
        m_followers->forwardStored(payload.value(QStringLiteral("stepId")).toString());
    } else if (kind == u"cancel") {
        m_scheduler->cancelHere(payload.value(QStringLiteral("stepId")).toString());
    } else if (kind == u"revoke") {
        m_sessions->cutOffToken(payload.value(QStringLiteral("name")).toString());
    } else if (kind == u"extend") {
        m_sessions->extendToken(payload.value(QStringLiteral("name")).toString(),
                                parseIsoUtc(payload.value(QStringLiteral("expiresAt")).toString()));
    } else if (kind == u"takeover") {
        releaseSession(payload.value(QStringLiteral("workerId")).toString(),
                       payload.value(QStringLiteral("by")).toString());
    } else if (kind == u"drain") {
        remoteDrain(payload);
    } else if (kind == u"worker") {
        m_admin->applyWorkerChange(payload.value(QStringLiteral("workerId")).toString());
    } else if (kind == u"remove") {
        m_admin->applyWorkerRemoval(payload);
    } else if (kind == u"probe") {
        m_enrollment->answerProbe(payload);
    } else if (kind == u"probed") {
        m_enrollment->probeAnswered(payload);
    } else {
        qCDebug(lcDb) << "ignoring fleet notification" << kind;
    }
}

void Orchestrator::takeOver(const QString &orchestratorId, const QString &name)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QString reason = Tr::tr("orchestrator %1 stopped responding").arg(name);
    auto workers = m_store->disconnectWorkersOf(orchestratorId, now);
    if (!workers)
        qCWarning(lcDb) << "could not mark the workers of" << name << "disconnected:" << workers.error().message;
    const int leases = m_scheduler->expireLeasesOf(orchestratorId, reason);
    m_events->append(QStringLiteral("orchestrator.lost"), name,
                     Tr::tr("orchestrator %1 stopped heartbeating for %2: %n lease(s) expired", nullptr, leases)
                             .arg(name, formatDurationMs(m_fleet->timeoutMs()))
                         + Tr::tr(", %n worker(s) marked disconnected", nullptr, workers ? *workers : 0),
                     {{QStringLiteral("orchestratorId"), orchestratorId},
                      {QStringLiteral("leases"), leases},
                      {QStringLiteral("workers"), workers ? *workers : 0}});
    m_fleet->notify(QStringLiteral("steps"));
}

void Orchestrator::evicted(const QString &reason)
{
    qCCritical(lcDb).noquote() << reason;
    m_events->append(QStringLiteral("orchestrator.evicted"), m_fleet->name(), reason,
                     {{QStringLiteral("orchestratorId"), m_fleet->id()}});
    // What this process held was taken over; the only safe way back is a fresh start, which
    // a supervisor (systemd Restart=on-failure) provides. Its workers reconnect to a survivor.
    m_exitCode = 1;
    stop();
}

void Orchestrator::releaseSession(const QString &workerId, const QString &holder)
{
    WorkerSession *session = m_sessions->pool().find(workerId);
    if (!session)
        return;
    if (!session->leaseIds.isEmpty())
        m_scheduler->expireLeases(session, Tr::tr("worker moved to orchestrator %1").arg(holder));
    if (WorkerConnection *connection = session->connection) {
        connection->workerId.clear();
        connection->close(Protocol::CloseReplaced, QStringLiteral("replaced by a connection to another orchestrator"));
    }
    m_events->append(QStringLiteral("worker.moved"), session->record.name,
                     Tr::tr("worker %1 moved to orchestrator %2").arg(session->record.name, holder),
                     {{QStringLiteral("workerId"), workerId}, {QStringLiteral("to"), holder}});
    m_sessions->forget(workerId); // the record now belongs to the new holder: not written here
    m_scheduler->requestSchedule();
}

void Orchestrator::forwardRemoteEvent(const Event &event)
{
    // Joining a busy fleet, the `orchestrator.joined` event pulls the others' events before the
    // admin endpoint exists: there is no subscriber to give them to yet.
    if (m_admin)
        m_admin->broadcast(event);
    // A step another orchestrator changed: its followers here see the change.
    const QString stepId = event.data().value(QStringLiteral("stepId")).toString();
    if (event.kind.startsWith(u"step.") && !stepId.isEmpty())
        m_followers->remoteStepChanged(stepId);
}

void Orchestrator::remoteDrain(const QJsonObject &payload)
{
    const QString workerId = payload.value(QStringLiteral("workerId")).toString();
    WorkerSession *session = m_sessions->pool().find(workerId);
    if (!session)
        return;
    QJsonObject params{{QStringLiteral("name"), workerId},
                       {QStringLiteral("deadlineMs"), payload.value(QStringLiteral("deadlineMs"))}};
    auto applied = m_admin->drainWorker(params, payload.value(QStringLiteral("drain")).toBool(true));
    if (!applied)
        qCWarning(lcWorker) << "could not apply a drain from another orchestrator:" << applied.error().message;
}

} // namespace Swamp
