// The scheduler: submitting, matching steps to workers, dispatching and the sweep (queue
// timeouts). The queue itself (recovery at start, a fleet's reloads, its order) is in
// schedulerqueue.cpp; the worker's frames and how a lease ends in schedulerleases.cpp;
// cancelling and the runs' states in schedulerruns.cpp.
#include "server/scheduler.h"

#include "common/duration.h"
#include "common/ids.h"
#include "common/jsonwriter.h"
#include "common/logging.h"
#include "common/secretmasker.h"
#include "common/text.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/workerlink.h"
#include "server/workerpool.h"
#include "store/store.h"

#include <QJsonArray>

#include <algorithm>
#include <vector>

using namespace Qt::StringLiterals;

namespace Swamp {

Scheduler::Scheduler(Store *store, EventLog *events, WorkerPool *pool, WorkerLink *link,
                     qint64 defaultQueueTimeoutMs, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_events(events)
    , m_pool(pool)
    , m_link(link)
    , m_defaultQueueTimeoutMs(defaultQueueTimeoutMs)
{
    m_scheduleTimer.setSingleShot(true);
    m_scheduleTimer.setInterval(0);
    connect(&m_scheduleTimer, &QTimer::timeout, this, &Scheduler::schedule);
    m_refreshTimer.setSingleShot(true);
    m_refreshTimer.setInterval(0);
    connect(&m_refreshTimer, &QTimer::timeout, this, &Scheduler::refreshQueue);
}

void Scheduler::setFleet(Fleet *fleet, bool shared)
{
    m_fleet = fleet;
    m_shared = shared && fleet;
}

void Scheduler::requestRefresh()
{
    if (!m_shared)
        return;
    m_refreshWhole = true;
    if (!m_refreshTimer.isActive())
        m_refreshTimer.start();
}

void Scheduler::stepChangedElsewhere(const QString &stepId)
{
    if (!m_shared || stepId.isEmpty())
        return;
    m_changedElsewhere.insert(stepId);
    if (!m_refreshTimer.isActive())
        m_refreshTimer.start();
}

qint64 Scheduler::queueDeadlineMs(const StepRecord &step)
{
    return step.queuedAt.toMSecsSinceEpoch() + step.spec.queueTimeoutMs;
}

int Scheduler::expireLeasesOf(const QString &orchestratorId, const QString &reason)
{
    bool complete = false;
    const int expired = expireStoredLeases(m_store->activeLeasesOf(orchestratorId), reason, &complete);
    if (complete)
        m_goneOrchestrators.remove(orchestratorId);
    else
        m_goneOrchestrators.insert(orchestratorId, reason); // again at the next sweep()
    failLostSecretsOf(orchestratorId); // it held the --secret-env values of the steps it received
    requestSchedule();
    return expired;
}

int Scheduler::expireStoredLeases(const Result<QList<LeaseRecord>> &active, const QString &reason, bool *complete)
{
    *complete = false;
    if (!active) {
        if (!Store::isAwayError(active.error()))
            qCWarning(lcLease) << "could not load leases to expire:" << active.error().message << "- trying again";
        return 0;
    }
    int expired = 0;
    int refused = 0;
    for (const LeaseRecord &lease : std::as_const(*active)) {
        m_leases.insert(lease.id, lease);
        if (auto r = retireLease(m_leases[lease.id], LeaseState::Expired, reason, true); r)
            ++expired;
        else
            ++refused;
        m_leases.remove(lease.id); // retired or superseded: never held by this orchestrator
    }
    *complete = refused == 0;
    if (refused > 0)
        qCWarning(lcLease) << refused << "lease(s) could not be expired (" << reason << "): trying again at every sweep";
    return expired;
}

void Scheduler::cancelHere(const QString &stepId)
{
    auto step = m_open.find(stepId);
    for (auto lease = m_leases.cbegin(); lease != m_leases.cend(); ++lease) {
        if (lease->stepId != stepId)
            continue;
        if (step != m_open.end())
            step->cancelRequested = true;
        if (WorkerSession *session = m_pool->find(lease->workerId)) {
            sendCancel(session, lease->id, Tr::tr("cancelled by an operator"));
        }
    }
    if ((step != m_open.end() && step->state == StepState::Queued) || m_queuedOnly.contains(stepId))
        stepChangedElsewhere(stepId);
}

void Scheduler::requestSchedule()
{
    if (!m_scheduleTimer.isActive())
        m_scheduleTimer.start();
}

Result<QByteArray> Scheduler::submit(const QString &runName, const QList<StepSpec> &specs)
{
    if (specs.isEmpty()) {
        return fail(QStringLiteral("invalid_step"), Tr::tr("a run needs at least one step"),
                    Tr::tr("pass a command after --, or steps in --file"));
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    RunRecord run{newTimeOrderedId(), runName.isEmpty() ? specs.first().name : runName, StepState::Queued, now, now, {}};
    QList<StepRecord> steps;
    int seq = 0;
    for (const StepSpec &spec : specs) {
        StepRecord step;
        step.id = newTimeOrderedId();
        step.runId = run.id;
        step.seq = seq++;
        step.spec = spec;
        if (!spec.secretEnv.isEmpty()) {
            // The values stay here, in memory; the record keeps the names and who holds them.
            m_secrets.insert(step.id, spec.secretEnv);
            step.spec.secretEnv = QJsonObject();
            step.spec.secretHolder = secretHolder();
        }
        if (step.spec.queueTimeoutMs <= 0)
            step.spec.queueTimeoutMs = m_defaultQueueTimeoutMs;
        step.queuedAt = step.createdAt = step.updatedAt = now;
        steps << step;
    }
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (auto r = m_store->insertRun(run); !r)
            return r;
        for (const StepRecord &step : std::as_const(steps)) {
            if (auto r = m_store->insertStep(step); !r)
                return r;
        }
        if (m_shared)
            m_fleet->notify(QStringLiteral("steps"));
        return {};
    });
    if (!saved) {
        for (const StepRecord &step : std::as_const(steps))
            m_secrets.remove(step.id);
        return fail(saved.error());
    }
    QStringList stepIds;
    OpenRun *open = m_shared ? nullptr : &*m_runs.insert(run.id, OpenRun{run, {}, {}});
    for (const StepRecord &step : std::as_const(steps)) {
        if (open)
            open->set(step.id, step.state);
        m_open.insert(step.id, step);
        m_queue.append(step.id, queueDeadlineMs(step));
        stepIds << step.id;
        stepEvent(step, QStringLiteral("step.queued"),
                  Tr::tr("step %1 (%2) queued for %3").arg(shortId(step.id), step.spec.name, step.spec.requirement.text()));
        Q_EMIT stepChanged(step);
    }
    requestSchedule();
    return JsonObjectWriter().add("runId"_L1, run.id).add("stepIds"_L1, stepIds).addRaw("run"_L1, run.toJsonText()).finish();
}

namespace {

// The best worker has the most free slots, then the first name.
bool worse(int aSlots, const WorkerSession *a, int bSlots, const WorkerSession *b)
{
    return aSlots != bSlots ? aSlots < bSlots : a->record.name > b->record.name;
}

// The available workers, best first. For steps that any worker may run (most of them) a heap
// finds the best in O(log workers): looking at every available worker for every step made a
// burst of steps on thousands of idle workers quadratic. An entry whose worker got busier
// meanwhile (a step with a requirement went to it) is put back with its current free slots
// when it comes up.
class FreeSlotHeap
{
public:
    explicit FreeSlotHeap(const QList<WorkerSession *> &sessions)
    {
        m_heap.reserve(size_t(sessions.size()));
        for (WorkerSession *session : sessions)
            m_heap.push_back({session->freeSlots(), session});
        std::make_heap(m_heap.begin(), m_heap.end(), &FreeSlotHeap::worseEntry);
    }

    void push(WorkerSession *session)
    {
        m_heap.push_back({session->freeSlots(), session});
        std::push_heap(m_heap.begin(), m_heap.end(), &FreeSlotHeap::worseEntry);
    }

    WorkerSession *takeBest()
    {
        while (!m_heap.empty()) {
            std::pop_heap(m_heap.begin(), m_heap.end(), &FreeSlotHeap::worseEntry);
            const Entry top = m_heap.back();
            m_heap.pop_back();
            const int now = top.session->freeSlots();
            if (now == top.freeSlots)
                return top.session;
            if (now > 0)
                push(top.session);
        }
        return nullptr;
    }

private:
    struct Entry
    {
        int freeSlots;
        WorkerSession *session;
    };
    static bool worseEntry(const Entry &a, const Entry &b) { return worse(a.freeSlots, a.session, b.freeSlots, b.session); }

    std::vector<Entry> m_heap;
};

// The best of `available` that meets `requirement`, or null.
WorkerSession *bestMatching(const QList<WorkerSession *> &available, const Requirement &requirement)
{
    WorkerSession *best = nullptr;
    for (WorkerSession *session : available) {
        if (session->freeSlots() <= 0)
            continue;
        const WorkerRecord &w = session->record;
        if (!requirement.matches(w.name, w.instanceId, w.labels, w.platform, w.arch))
            continue;
        if (!best || worse(best->freeSlots(), best, session->freeSlots(), session))
            best = session;
    }
    return best;
}

} // namespace

QList<WorkerSession *> Scheduler::availableWorkers(int *slots) const
{
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    QList<WorkerSession *> available;
    for (WorkerSession *session : m_pool->all()) {
        if (m_link->isConnected(*session) && !session->record.draining && !session->record.paused
            && session->freeSlots() > 0
            && session->holdUntilMs <= nowMs) {
            available << session;
            *slots += session->freeSlots();
        }
    }
    return available;
}

void Scheduler::schedule()
{
    if (m_queue.isEmpty())
        return;
    int slots = 0; // free slots of the available workers, left in this pass
    const QList<WorkerSession *> available = availableWorkers(&slots);
    if (available.isEmpty())
        return;
    FreeSlotHeap heap(available);
    // Requirements no available worker meets: their steps are skipped without looking at the
    // workers again (a deep queue of steps for labels nobody has made every pass O(steps x
    // workers)). Workers only get busier during a pass, so the set stays true.
    QSet<QString> unmet;
    m_queue.forEach([&](const QString &stepId) {
        // What scheduling needs, from the full record or from the QueuedStep alone.
        const Requirement *requirement = nullptr;
        if (const auto open = m_open.constFind(stepId); open != m_open.cend())
            requirement = &open->spec.requirement;
        else if (const auto only = m_queuedOnly.constFind(stepId); only != m_queuedOnly.cend())
            requirement = &only->requirement;
        else
            return true;
        // Only the orchestrator holding a step's secret values can dispatch it.
        if (secretsElsewhere(stepId))
            return true;
        const bool anyWorker = requirement->target.isEmpty() && requirement->labels.isEmpty()
                               && requirement->platform.isEmpty();
        const QString key = anyWorker ? QString() : requirement->text();
        if (!anyWorker && unmet.contains(key))
            return true;
        WorkerSession *best = anyWorker ? heap.takeBest() : bestMatching(available, *requirement);
        if (best) {
            // `requirement` may point into m_queuedOnly, which openRecord() changes.
            auto step = openRecord(stepId);
            if (!step) {
                // While the database is away no step can be read or dispatched: the pass ends,
                // and the next one runs when it is back (reconnected() refreshes the queue).
                if (Store::isAwayError(step.error()))
                    return false;
                qCWarning(lcLease) << "could not read queued step" << stepId << step.error().message;
            } else if (*step && dispatch(**step, best, slots)) {
                --slots;
            }
            if (anyWorker && best->freeSlots() > 0)
                heap.push(best);
        } else if (!anyWorker) {
            unmet.insert(key);
        }
        return slots > 0;
    });
}

void Scheduler::prepareDispatch(const StepRecord &base, const WorkerSession &session, const QDateTime &now,
                                LeaseRecord &lease, StepRecord &next) const
{
    lease = LeaseRecord();
    lease.id = newTimeOrderedId();
    lease.stepId = base.id;
    lease.runId = base.runId;
    lease.workerId = session.record.id;
    lease.workerName = session.record.name;
    lease.orchestratorId = m_fleet ? m_fleet->id() : QString();
    lease.attempt = base.attempt + 1;
    lease.createdAt = lease.updatedAt = now;
    next = base;
    next.state = StepState::Dispatched;
    next.attempt = lease.attempt;
    next.workerId = session.record.id;
    next.workerName = session.record.name;
    next.updatedAt = now;
}

bool Scheduler::secretsElsewhere(const QString &stepId) const
{
    if (m_secrets.contains(stepId))
        return false;
    if (const auto open = m_open.constFind(stepId); open != m_open.cend())
        return !open->spec.secretNames.isEmpty();
    const auto only = m_queuedOnly.constFind(stepId);
    return only != m_queuedOnly.cend() && only->hasSecrets;
}

bool Scheduler::dispatch(StepRecord &step, WorkerSession *session, int claimAhead)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    LeaseRecord lease;
    StepRecord next;
    prepareDispatch(step, *session, now, lease, next);
    bool taken = false; // another orchestrator claimed it first
    if (m_shared && claimAhead > 1) {
        // Only steps this orchestrator may dispatch: not those whose secrets another one holds.
        const QStringList ids = queuedFrom(step.id, std::min(claimAhead, MaxClaimAhead), [this](const QString &id) {
            return !secretsElsewhere(id);
        });
        if (auto claimed = m_store->claimAhead(ids); !claimed && Store::isAwayError(claimed.error()))
            return false;
    }
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (m_shared) {
            // The claim: a row another orchestrator is dispatching is skipped, not waited for.
            auto claimed = m_store->claimQueuedStep(step.id);
            if (!claimed)
                return fail(claimed.error());
            if (!*claimed) {
                taken = true;
                return fail(QStringLiteral("taken"), QStringLiteral("claimed by another orchestrator"));
            }
            prepareDispatch(**claimed, *session, now, lease, next);
        }
        if (auto r = m_store->insertLease(lease); !r)
            return r;
        if (auto r = m_store->updateStep(next); !r)
            return r;
        if (!m_shared) {
            updateRun(next);
            return {};
        }
        // The run is running from its first dispatch (brought up to date with the batch).
        return m_store->refreshRunState(step.runId);
    });
    if (taken) {
        const QString id = step.id; // `step` lives in m_open
        m_queue.remove(id);
        m_open.remove(id);
        return false;
    }
    if (!saved) {
        if (!Store::isAwayError(saved.error()))
            qCWarning(lcLease) << "could not dispatch" << step.id << saved.error().message;
        return false;
    }
    step = next;
    m_queue.remove(step.id);
    m_leases.insert(lease.id, lease);
    m_lastSeq.insert(lease.id, 0);
    session->leaseIds.insert(lease.id);
    sendToWorker(session, Protocol::Dispatch{step.id, lease.id, lease.attempt, step.spec.name, step.spec.command,
                                             step.spec.shell, step.spec.env, m_secrets.value(step.id),
                                             step.spec.timeoutMs}
                              .encode());
    stepEvent(step, QStringLiteral("step.dispatched"),
              Tr::tr("step %1 (%2) dispatched to %3 (attempt %4/%5)")
                  .arg(shortId(step.id), step.spec.name, session->record.name)
                  .arg(lease.attempt)
                  .arg(step.spec.maxAttempts));
    Q_EMIT stepChanged(step);
    Q_EMIT slotsChanged(session);
    return true;
}

void Scheduler::sweep()
{
    reportLeaseRefusals();
    const QHash<QString, Retirement> unretired = m_unretired;
    for (auto it = unretired.cbegin(); it != unretired.cend(); ++it)
        retireOrRetry(it.key(), *it);
    expireAgain();
    const QDateTime now = QDateTime::currentDateTimeUtc();
    askResends(now.toMSecsSinceEpoch());
    for (const QString &id : m_queue.due(now.toMSecsSinceEpoch())) {
        const std::optional<qint64> deadline = queueDeadlineOf(id);
        if (!deadline)
            continue;
        if (*deadline > now.toMSecsSinceEpoch()) {
            m_queue.setDeadline(id, *deadline); // requeued through another orchestrator meanwhile
            continue;
        }
        if (auto step = openRecord(id); !step || !*step) {
            if (!step && Store::isAwayError(step.error()))
                break; // timed out at a sweep after the database is back
            if (!step)
                qCWarning(lcLease) << "could not read queued step" << id << step.error().message;
            continue;
        }
        auto it = m_open.find(id);
        m_queue.remove(id);
        const QString error = Tr::tr("timed out waiting for a worker matching %1").arg(it->spec.requirement.text());
        auto ended = endQueued(*it, StepState::TimedOut, error);
        if (!ended)
            continue;
        if (!*ended) { // dispatched or ended through another orchestrator meanwhile
            m_open.erase(it);
            continue;
        }
        const StepRecord done = *it;
        m_open.erase(it);
        stepEvent(done, QStringLiteral("step.finished"), Tr::tr("step %1 (%2) %3").arg(shortId(done.id), done.spec.name, error));
        Q_EMIT stepChanged(done);
        updateRun(done);
    }
}

} // namespace Swamp
