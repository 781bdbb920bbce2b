// The admin methods about one worker by its name (issue 21): worker.show, worker.pause and
// worker.resume.
#include "server/adminservice.h"

#include "common/text.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp {

namespace {

// Recent events shown by `worker show`.
constexpr int ShownEvents = 20;

bool isGone(const WorkerRecord &record)
{
    return record.status == WorkerStatus::Disconnected || record.status == WorkerStatus::Lost;
}

} // namespace

bool WorkerFilter::matches(const WorkerRecord &record) const
{
    if (!status.isEmpty() && workerStatusName(record.status) != status)
        return false;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it) {
        if (!record.labels.contains(it.key()) || record.labels.value(it.key()) != it.value())
            return false;
    }
    return true;
}

Result<WorkerFilter> WorkerFilter::fromParams(const QJsonObject &params)
{
    WorkerFilter filter;
    auto labels = labelsFromWire(params.value(QStringLiteral("labels")));
    if (!labels)
        return fail(labels.error());
    filter.labels = *labels;
    filter.status = params.value(QStringLiteral("status")).toString();
    if (!filter.status.isEmpty() && !workerStatusNames().contains(filter.status)) {
        return fail(QStringLiteral("invalid_status"),
                    Tr::tr("unknown worker status \"%1\"").arg(printable(leftCharacters(filter.status, 40))),
                    Tr::tr("use one of %1").arg(workerStatusNames().join(QStringLiteral(", "))));
    }
    return filter;
}

Result<WorkerRecord> AdminService::workerNamed(const QString &name) const
{
    auto workers = m_view->currentWorkers();
    if (!workers)
        return fail(workers.error());
    // By name or id; of several records of one name (made before names were unique), the live
    // one, else the one heard from last.
    const WorkerRecord *found = nullptr;
    for (const WorkerRecord &record : std::as_const(*workers)) {
        if (record.name != name && record.id != name)
            continue;
        if (!found || (isGone(*found) && !isGone(record))
            || (isGone(*found) == isGone(record) && record.lastSeenAt > found->lastSeenAt))
            found = &record;
    }
    if (!found) {
        return fail(QStringLiteral("not_found"),
                    Tr::tr("no worker named '%1'").arg(printable(leftCharacters(name, 64))),
                    Tr::tr("see 'swamp worker list --all' for the names (a pruned or removed worker is gone)"));
    }
    return *found;
}

Result<QJsonObject> AdminService::showWorker(const QJsonObject &params)
{
    auto worker = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!worker)
        return fail(worker.error());
    QJsonObject result{{QStringLiteral("worker"), worker->toJson()}, {QStringLiteral("fleet"), shared()}};
    // Its active leases and the steps they run.
    auto leases = m_store->activeLeasesOfWorker(worker->id);
    if (!leases)
        return fail(leases.error());
    QJsonArray leaseList;
    QJsonArray steps;
    for (const LeaseRecord &lease : std::as_const(*leases)) {
        leaseList << lease.toJson();
        if (auto step = m_view->findStep(lease.stepId))
            steps << step->toJson();
    }
    result.insert(QStringLiteral("leases"), leaseList);
    result.insert(QStringLiteral("steps"), steps);
    auto events = m_store->recentEventsAbout(worker->name, ShownEvents);
    if (!events)
        return fail(events.error());
    QJsonArray eventList;
    for (const Event &event : std::as_const(*events))
        eventList << event.toJson();
    result.insert(QStringLiteral("events"), eventList);
    // The token it enrolled with, as `token list` shows it.
    auto tokens = m_store->tokensNamed(worker->tokenName);
    if (!tokens)
        return fail(tokens.error());
    for (const TokenRecord &token : std::as_const(*tokens)) {
        if (token.id == worker->tokenId)
            result.insert(QStringLiteral("token"), StateView::tokenJson(token, QDateTime::currentDateTimeUtc(), {}));
    }
    return result;
}

Result<QJsonObject> AdminService::pauseWorker(AdminConnection *connection, const QJsonObject &params, bool pause)
{
    const QString reason = params.value(QStringLiteral("reason")).toString();
    if (auto valid = validateReason(reason); !valid)
        return fail(valid.error());
    auto found = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!found)
        return fail(found.error());
    WorkerRecord worker = *found;
    const bool changed = worker.paused != pause;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (changed) {
        AuditRecord audit = auditRecord(connection, pause ? QStringLiteral("worker.pause") : QStringLiteral("worker.resume"), now);
        audit.tokenId = worker.tokenId;
        audit.tokenName = worker.tokenName;
        audit.workerName = worker.name;
        audit.reason = reason;
        auto saved = audited(audit, [&] { return m_store->setWorkerPaused(worker.id, pause, now); });
        if (!saved)
            return fail(saved.error());
        worker.paused = pause;
        applyWorkerChange(worker.id);
        if (shared())
            m_fleet->notify(QStringLiteral("worker"), {{QStringLiteral("workerId"), worker.id}});
        const QString message = pause ? Tr::tr("worker %1 paused by an operator: it takes no new steps").arg(worker.name)
                                      : Tr::tr("worker %1 resumed by an operator: it takes steps again").arg(worker.name);
        m_events->append(pause ? QStringLiteral("worker.paused") : QStringLiteral("worker.resumed"), worker.name,
                         reason.isEmpty() ? message : message + QStringLiteral(" (") + reason + u')',
                         {{QStringLiteral("workerId"), worker.id}, {QStringLiteral("reason"), reason}});
    }
    return QJsonObject{{QStringLiteral("worker"), worker.toJson()}, {QStringLiteral("changed"), changed}};
}

void AdminService::applyWorkerChange(const QString &workerId)
{
    // The session here (if any) takes what the database now says of the worker.
    WorkerSession *session = m_sessions->pool().find(workerId);
    if (!session)
        return;
    auto row = m_store->workerWithId(workerId);
    if (!row || !*row)
        return;
    session->record.paused = (*row)->paused;
    if (!session->record.paused)
        m_scheduler->requestSchedule();
}

} // namespace Swamp
