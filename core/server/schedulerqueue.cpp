// The scheduler's queue: recovering it at boot, reloading it in a fleet, its order, and the
// queued steps held only by what scheduling needs (QueuedStep) until one is dispatched,
// cancelled or ended. A restart with 100,000 queued steps used to read every step's command and
// environment and keep them all: 2 KB each, and most of the boot.
#include "server/scheduler.h"

#include "common/ids.h"
#include "common/logging.h"
#include "common/text.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "store/store.h"

#include <algorithm>
#include <vector>

namespace Swamp {

namespace {
// Queued steps read in one statement when the first of them is needed (see openRecord()).
constexpr int ReadAhead = 256;
} // namespace

Result<int> Scheduler::recover()
{
    // One transaction: expiring 10,000 leases one transaction each made 10,000 commits, each
    // flushed to disk on PostgreSQL (a minute of boot).
    // On PostgreSQL also one batch: each expired lease's step and events as rows of multi-row
    // statements at its commit, not three statements (30,000 round trips for 10,000 leases).
    int expired = 0;
    auto recovered = m_store->asOneBatch([&] { return m_store->transaction([&]() -> Result<void> {
        if (auto r = m_shared ? recoverShared(expired) : recoverAlone(expired); !r)
            return r;
        // Whatever this database held for a previous run of this orchestrator (or, in a fleet, for
        // an orchestrator that is gone) held its secret values in that process's memory.
        if (m_shared)
            failLostSecretsOf(QString());
        else
            failLostSecrets(queuedWithSecrets());
        return {};
    }); });
    if (!recovered)
        return fail(recovered.error());
    return expired;
}

Result<void> Scheduler::recoverAlone(int &expired)
{
    auto onWorkers = m_store->stepsOnWorkers();
    if (!onWorkers)
        return fail(onWorkers.error());
    for (const StepRecord &step : std::as_const(*onWorkers))
        m_open.insert(step.id, step);
    auto queued = m_store->forEachQueuedStepSummary([this](const QueuedStep &step) { m_queuedOnly.insert(step.id, step); });
    if (!queued)
        return fail(queued.error());
    auto active = m_store->activeLeases();
    if (!active)
        return fail(active.error());
    for (const LeaseRecord &lease : std::as_const(*active)) {
        // A lease of a step the store says is queued (it should not be) requeues it all the same.
        if (auto step = openRecord(lease.stepId); !step)
            return fail(step.error());
        m_leases.insert(lease.id, lease);
        if (auto r = retireLease(m_leases[lease.id], LeaseState::Expired, QStringLiteral("orchestrator restart"), true); !r)
            return fail(r.error());
        ++expired;
    }
    // Steps left dispatched/running without an active lease (should not happen) go back too.
    for (auto it = m_open.begin(); it != m_open.end(); ++it) {
        if (it->state != StepState::Queued) {
            it->state = StepState::Queued;
            it->workerId.clear();
            it->workerName.clear();
            if (auto r = saveStep(*it); !r)
                return fail(r.error());
        }
        m_queue.append(it->id, queueDeadlineMs(*it));
    }
    for (const QueuedStep &step : std::as_const(m_queuedOnly))
        m_queue.append(step.id, step.queueDeadlineMs());
    sortQueue();
    return {};
}

Result<void> Scheduler::recoverShared(int &expired)
{
    // Other orchestrators hold live leases in this database: expire only the leases whose
    // orchestrator is gone (a previous run of this one, or one that stopped without leaving).
    refreshWholeQueue();
    // The leases and their steps, locked until this transaction ends: nobody else changes them
    // meanwhile, so the leases are expired all at once and the steps read once.
    auto active = m_store->activeLeasesOfGoneOrchestrators(Store::Lock::ForUpdate);
    if (!active)
        return fail(active.error());
    QStringList leaseIds;
    QStringList stepIds;
    for (const LeaseRecord &lease : std::as_const(*active)) {
        leaseIds << lease.id;
        stepIds << lease.stepId;
    }
    const QString reason = QStringLiteral("orchestrator restart");
    if (auto ended = m_store->expireLeases(leaseIds, reason, QDateTime::currentDateTimeUtc()); !ended)
        return ended;
    auto locked = m_store->stepsWithIds(stepIds, Store::Lock::ForUpdate);
    if (!locked)
        return fail(locked.error());
    for (const StepRecord &step : std::as_const(*locked)) {
        m_queuedOnly.remove(step.id);
        m_open.insert(step.id, step);
    }
    m_recovering = true;
    Result<void> retired;
    for (const LeaseRecord &lease : std::as_const(*active)) {
        m_leases.insert(lease.id, lease);
        retired = retireLease(m_leases[lease.id], LeaseState::Expired, reason, true);
        m_leases.remove(lease.id); // retired or superseded: never held by this orchestrator
        if (!retired)
            break;
        ++expired;
    }
    m_recovering = false;
    if (!retired)
        return retired;
    // What is not queued again here (ended, or left as another orchestrator's) is not kept.
    for (const StepRecord &step : std::as_const(*locked)) {
        const auto open = m_open.constFind(step.id);
        if (open != m_open.cend() && open->state != StepState::Queued)
            m_open.erase(open);
    }
    if (expired > 0)
        m_fleet->notify(QStringLiteral("steps"));
    return {};
}

QList<StepRecord> Scheduler::queuedWithSecrets()
{
    QList<StepRecord> steps;
    for (const StepRecord &step : std::as_const(m_open)) {
        if (step.state == StepState::Queued && !step.spec.secretNames.isEmpty())
            steps << step;
    }
    QStringList unread;
    for (const QueuedStep &step : std::as_const(m_queuedOnly)) {
        if (step.hasSecrets)
            unread << step.id;
    }
    if (unread.isEmpty())
        return steps;
    auto stored = m_store->stepsWithIds(unread);
    if (!stored) {
        qCWarning(lcLease) << "could not read the steps whose secret environment is lost:" << stored.error().message;
        return steps;
    }
    return steps + *stored;
}

void Scheduler::refreshQueue()
{
    // The database is the queue; this copy only saves a query per scheduling pass.
    if (m_refreshWhole)
        refreshWholeQueue();
    else
        refreshChangedSteps();
}

void Scheduler::refreshWholeQueue()
{
    // Every queued step, read in one pass: at boot and when the database is back (events pulled
    // meanwhile would do, but a reconnect is rare and this needs no reasoning about what was
    // missed). Steps changed elsewhere since are covered too.
    m_refreshWhole = false;
    m_changedElsewhere.clear();
    QSet<QString> queued;
    bool added = false;
    auto visited = m_store->forEachQueuedStepSummary([&](const QueuedStep &step) {
        queued.insert(step.id);
        added = mergeQueued(step) || added;
    });
    if (!visited) {
        m_refreshWhole = true; // again at the next beat or reconnect
        if (!Store::isAwayError(visited.error()))
            qCWarning(lcLease) << "could not reload the queue:" << visited.error().message;
        return;
    }
    QStringList gone;
    m_queue.forEach([&](const QString &id) {
        if (!queued.contains(id))
            gone << id;
        return true;
    });
    for (const QString &id : std::as_const(gone))
        forgetQueued(id);
    if (added)
        sortQueue();
    requestSchedule();
}

void Scheduler::refreshChangedSteps()
{
    // The steps whose events other orchestrators committed since the last pull: read by id, in
    // one statement per 256; what is no longer queued leaves the queue.
    if (m_changedElsewhere.isEmpty())
        return;
    const QStringList ids(m_changedElsewhere.cbegin(), m_changedElsewhere.cend());
    m_changedElsewhere.clear();
    QSet<QString> queued;
    bool added = false;
    auto visited = m_store->forEachQueuedStepSummary(ids, [&](const QueuedStep &step) {
        queued.insert(step.id);
        added = mergeQueued(step) || added;
    });
    if (!visited) {
        for (const QString &id : ids)
            m_changedElsewhere.insert(id); // read at the next refresh
        if (!Store::isAwayError(visited.error()))
            qCWarning(lcLease) << "could not read the steps changed by the fleet:" << visited.error().message;
        return;
    }
    for (const QString &id : ids) {
        if (!queued.contains(id))
            forgetQueued(id);
    }
    if (added)
        sortQueue();
    requestSchedule();
}

bool Scheduler::mergeQueued(const QueuedStep &step)
{
    const auto open = m_open.find(step.id);
    if (open == m_open.end()) {
        const bool added = !m_queue.contains(step.id);
        m_queuedOnly.insert(step.id, step);
        m_queue.append(step.id, step.queueDeadlineMs());
        m_queue.setDeadline(step.id, step.queueDeadlineMs());
        return added;
    }
    if (open->state == StepState::Queued) {
        if (open->attempt != step.attempt || open->queuedAt != step.queuedAt) {
            // Dispatched and requeued through another orchestrator meanwhile: its record is read
            // again when it is needed.
            m_open.erase(open);
            m_queuedOnly.insert(step.id, step);
        }
        m_queue.setDeadline(step.id, step.queueDeadlineMs());
    }
    return false;
}

void Scheduler::forgetQueued(const QString &id)
{
    m_queue.remove(id);
    m_queuedOnly.remove(id);
    const auto open = m_open.find(id);
    if (open != m_open.end() && open->state == StepState::Queued)
        m_open.erase(open);
}

void Scheduler::sortQueue()
{
    // Oldest first, then by place in the run; the keys are looked up once, not per comparison.
    struct Place
    {
        qint64 queuedAtMs;
        int seq;
        QString id;
        qint64 deadlineMs;
    };
    std::vector<Place> places;
    places.reserve(size_t(m_queue.size()));
    m_queue.forEach([&](const QString &id) {
        if (const auto open = m_open.constFind(id); open != m_open.cend())
            places.push_back({open->queuedAt.toMSecsSinceEpoch(), open->seq, id, queueDeadlineMs(*open)});
        else if (const auto only = m_queuedOnly.constFind(id); only != m_queuedOnly.cend())
            places.push_back({only->queuedAt.toMSecsSinceEpoch(), only->seq, id, only->queueDeadlineMs()});
        return true;
    });
    std::stable_sort(places.begin(), places.end(), [](const Place &a, const Place &b) {
        return a.queuedAtMs != b.queuedAtMs ? a.queuedAtMs < b.queuedAtMs : a.seq < b.seq;
    });
    m_queue = StepQueue();
    for (const Place &place : places)
        m_queue.append(place.id, place.deadlineMs);
}

Result<StepRecord *> Scheduler::openRecord(const QString &id)
{
    if (const auto open = m_open.find(id); open != m_open.end())
        return &*open;
    if (!m_queuedOnly.contains(id))
        return nullptr;
    // This one and the next ones held the same way, in queue order.
    const QStringList ids = queuedFrom(id, ReadAhead, [this](const QString &queued) { return m_queuedOnly.contains(queued); });
    auto stored = m_store->stepsWithIds(ids);
    if (!stored)
        return fail(stored.error());
    for (const StepRecord &step : std::as_const(*stored)) {
        if (m_queuedOnly.remove(step.id) && step.state == StepState::Queued)
            m_open.insert(step.id, step);
    }
    for (const QString &gone : std::as_const(ids)) {
        // Not queued any more (taken or ended through another orchestrator): forgotten here.
        if (m_queuedOnly.remove(gone) || !m_open.contains(gone))
            m_queue.remove(gone);
    }
    const auto open = m_open.find(id);
    return open == m_open.end() ? nullptr : &*open;
}

QStringList Scheduler::queuedFrom(const QString &id, int limit, const std::function<bool(const QString &)> &also) const
{
    QStringList ids{id};
    bool found = false;
    m_queue.forEach([&](const QString &queued) {
        if (found && also(queued))
            ids << queued;
        found = found || queued == id;
        return ids.size() < limit;
    });
    return ids;
}

std::optional<qint64> Scheduler::queueDeadlineOf(const QString &id) const
{
    if (const auto open = m_open.constFind(id); open != m_open.cend())
        return open->state == StepState::Queued ? std::optional<qint64>(queueDeadlineMs(*open)) : std::nullopt;
    if (const auto only = m_queuedOnly.constFind(id); only != m_queuedOnly.cend())
        return only->queueDeadlineMs();
    return std::nullopt;
}

QList<StepRecord> Scheduler::queuedSteps() const
{
    // The steps held only by what scheduling needs are read from the store, in one pass.
    QHash<QString, StepRecord> stored;
    if (!m_queuedOnly.isEmpty()) {
        auto read = m_store->forEachQueuedStep([&](const StepRecord &step) {
            if (m_queuedOnly.contains(step.id))
                stored.insert(step.id, step);
        });
        if (!read)
            qCWarning(lcLease) << "could not read the queued steps:" << read.error().message;
    }
    QList<StepRecord> steps;
    m_queue.forEach([&](const QString &id) {
        if (const auto open = m_open.constFind(id); open != m_open.cend())
            steps << *open;
        else if (const auto read = stored.constFind(id); read != stored.cend())
            steps << *read;
        return true;
    });
    return steps;
}

std::optional<StepRecord> Scheduler::openStep(const QString &id) const
{
    // A step held only by its QueuedStep is as the store has it: nothing in memory is newer.
    const auto it = m_open.constFind(id);
    return it == m_open.cend() ? std::nullopt : std::optional<StepRecord>(*it);
}

QString Scheduler::secretHolder() const
{
    return m_fleet ? m_fleet->id() : QStringLiteral("local");
}

void Scheduler::failLostSecrets(const QList<StepRecord> &steps)
{
    const QString error = Tr::tr("its --secret-env values were held in memory by an orchestrator that has "
                                 "restarted or stopped (they are never stored); submit the step again");
    for (StepRecord step : steps) {
        if (step.state != StepState::Queued || step.spec.secretNames.isEmpty() || m_secrets.contains(step.id))
            continue;
        m_queue.remove(step.id);
        m_open.remove(step.id);
        m_queuedOnly.remove(step.id);
        auto ended = endQueued(step, StepState::Failed, error);
        if (!ended || !*ended)
            continue; // dispatched or ended through another orchestrator meanwhile
        stepEvent(step, QStringLiteral("step.finished"), Tr::tr("step %1 (%2) failed: %3").arg(shortId(step.id), step.spec.name, error));
        Q_EMIT stepChanged(step);
        updateRun(step);
    }
}

void Scheduler::failLostSecretsOf(const QString &holder)
{
    // A fleet: the steps whose values the orchestrator that just died held, or (empty) every
    // orchestrator that is not alive.
    auto steps = m_store->queuedStepsWithSecretsHeldBy(holder);
    if (!steps) {
        qCWarning(lcLease) << "could not look for steps whose secret environment is lost:" << steps.error().message;
        return;
    }
    failLostSecrets(*steps);
}

} // namespace Swamp
