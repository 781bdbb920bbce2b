#include "server/scheduler.h"

#include "common/duration.h"
#include "common/ids.h"
#include "common/jsonwriter.h"
#include "common/logging.h"
#include "common/secretmasker.h"
#include "common/text.h"
#include "protocol/protocol.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/workerlink.h"
#include "server/workerpool.h"
#include "store/store.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <limits>
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
    if (m_shared && !m_refreshTimer.isActive())
        m_refreshTimer.start();
}

void Scheduler::sortQueue()
{
    m_queue.sort([this](const QString &a, const QString &b) {
        const StepRecord &x = m_open[a], &y = m_open[b];
        return x.queuedAt != y.queuedAt ? x.queuedAt < y.queuedAt : x.seq < y.seq;
    });
}

qint64 Scheduler::queueDeadlineMs(const StepRecord &step)
{
    return step.queuedAt.toMSecsSinceEpoch() + step.spec.queueTimeoutMs;
}

void Scheduler::refreshQueue()
{
    // The database is the queue; this copy only saves a query per scheduling pass.
    QSet<QString> queued;
    bool added = false;
    auto visited = m_store->forEachQueuedStep([&](const StepRecord &step) {
        queued.insert(step.id);
        auto it = m_open.find(step.id);
        if (it == m_open.end()) {
            m_open.insert(step.id, step);
            m_queue.append(step.id, queueDeadlineMs(step));
            added = true;
        } else if (it->state == StepState::Queued) {
            *it = step; // attempts and flags as another orchestrator left them
            m_queue.setDeadline(step.id, queueDeadlineMs(step));
        }
    });
    if (!visited) {
        qCWarning(lcLease) << "could not reload the queue:" << visited.error().message;
        return;
    }
    m_queue.forEach([&](const QString &id) {
        if (queued.contains(id))
            return true;
        // Taken, cancelled or timed out through another orchestrator.
        m_queue.remove(id);
        auto it = m_open.find(id);
        if (it != m_open.end() && it->state == StepState::Queued)
            m_open.erase(it);
        return true;
    });
    if (added)
        sortQueue();
    requestSchedule();
}

int Scheduler::expireLeasesOf(const QString &orchestratorId, const QString &reason)
{
    const int expired = expireStoredLeases(m_store->activeLeasesOf(orchestratorId), reason);
    failLostSecretsOf(orchestratorId); // it held the --secret-env values of the steps it received
    requestSchedule();
    return expired;
}

int Scheduler::expireStoredLeases(const Result<QList<LeaseRecord>> &active, const QString &reason)
{
    if (!active) {
        qCWarning(lcLease) << "could not load leases to expire:" << active.error().message;
        return 0;
    }
    int expired = 0;
    for (const LeaseRecord &lease : std::as_const(*active)) {
        m_leases.insert(lease.id, lease);
        if (auto r = retireLease(m_leases[lease.id], LeaseState::Expired, reason, true); r)
            ++expired;
        m_leases.remove(lease.id); // retired or superseded: never held by this orchestrator
    }
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
            sendToWorker(session, {{QStringLiteral("type"), Protocol::Type::Cancel},
                                   {QStringLiteral("leaseId"), lease->id},
                                   {QStringLiteral("reason"), Tr::tr("cancelled by an operator")}});
        }
    }
    if (step != m_open.end() && step->state == StepState::Queued)
        requestRefresh();
}

void Scheduler::requestSchedule()
{
    if (!m_scheduleTimer.isActive())
        m_scheduleTimer.start();
}

Result<int> Scheduler::recover()
{
    if (m_shared) {
        // Other orchestrators hold live leases in this database: expire only the leases whose
        // orchestrator is gone (a previous run of this one, or one that stopped without leaving).
        refreshQueue();
        const int expired = expireStoredLeases(m_store->activeLeasesOfGoneOrchestrators(),
                                               QStringLiteral("orchestrator restart"));
        failLostSecretsOf(QString());
        return expired;
    }
    auto open = m_store->openSteps();
    if (!open)
        return fail(open.error());
    for (const StepRecord &step : std::as_const(*open))
        m_open.insert(step.id, step);
    auto active = m_store->activeLeases();
    if (!active)
        return fail(active.error());
    int expired = 0;
    for (LeaseRecord lease : std::as_const(*active)) {
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
    sortQueue();
    // Whatever this database held for a previous run of this orchestrator held its secret
    // values in that process's memory.
    failLostSecrets(m_open.values());
    return expired;
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

void Scheduler::schedule()
{
    if (m_queue.isEmpty())
        return;
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    QList<WorkerSession *> available;
    int slots = 0; // free slots of the available workers, left in this pass
    for (WorkerSession *session : m_pool->all()) {
        if (m_link->isConnected(*session) && !session->record.draining && session->freeSlots() > 0
            && session->holdUntilMs <= nowMs) {
            available << session;
            slots += session->freeSlots();
        }
    }
    if (available.isEmpty())
        return;
    // The best worker has the most free slots, then the first name. For steps that any worker
    // may run (most of them) a heap finds it in O(log workers): looking at every available
    // worker for every step made a burst of steps on thousands of idle workers quadratic. An
    // entry whose worker got busier meanwhile (a step with a requirement went to it) is put
    // back with its current free slots when it comes up.
    struct Candidate
    {
        int freeSlots;
        WorkerSession *session;
    };
    const auto worse = [](const Candidate &a, const Candidate &b) {
        return a.freeSlots != b.freeSlots ? a.freeSlots < b.freeSlots : a.session->record.name > b.session->record.name;
    };
    std::vector<Candidate> heap;
    heap.reserve(size_t(available.size()));
    for (WorkerSession *session : std::as_const(available))
        heap.push_back({session->freeSlots(), session});
    std::make_heap(heap.begin(), heap.end(), worse);
    const auto push = [&](WorkerSession *session) {
        heap.push_back({session->freeSlots(), session});
        std::push_heap(heap.begin(), heap.end(), worse);
    };
    const auto takeBest = [&]() -> WorkerSession * {
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), worse);
            const Candidate top = heap.back();
            heap.pop_back();
            const int now = top.session->freeSlots();
            if (now == top.freeSlots)
                return top.session;
            if (now > 0)
                push(top.session);
        }
        return nullptr;
    };
    // Requirements no available worker meets: their steps are skipped without looking at the
    // workers again (a deep queue of steps for labels nobody has made every pass O(steps x
    // workers)). Workers only get busier during a pass, so the set stays true.
    QSet<QString> unmet;
    m_queue.forEach([&](const QString &stepId) {
        auto it = m_open.find(stepId);
        if (it == m_open.end())
            return true;
        // Only the orchestrator holding a step's secret values can dispatch it.
        if (!it->spec.secretNames.isEmpty() && !m_secrets.contains(stepId))
            return true;
        const Requirement &requirement = it->spec.requirement;
        const bool anyWorker = requirement.target.isEmpty() && requirement.labels.isEmpty()
                               && requirement.platform.isEmpty();
        const QString key = anyWorker ? QString() : requirement.text();
        if (!anyWorker && unmet.contains(key))
            return true;
        WorkerSession *best = nullptr;
        if (anyWorker) {
            best = takeBest();
        } else {
            for (WorkerSession *session : std::as_const(available)) {
                if (session->freeSlots() <= 0)
                    continue;
                const WorkerRecord &w = session->record;
                if (!requirement.matches(w.name, w.instanceId, w.labels, w.platform, w.arch))
                    continue;
                if (!best || worse({best->freeSlots(), best}, {session->freeSlots(), session}))
                    best = session;
            }
        }
        if (best) {
            if (dispatch(*it, best))
                --slots;
            if (anyWorker && best->freeSlots() > 0)
                push(best);
        } else if (!anyWorker) {
            unmet.insert(key);
        }
        return slots > 0;
    });
}

bool Scheduler::dispatch(StepRecord &step, WorkerSession *session)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    LeaseRecord lease;
    StepRecord next;
    const auto prepare = [&](const StepRecord &base) {
        lease.id = newTimeOrderedId();
        lease.stepId = base.id;
        lease.runId = base.runId;
        lease.workerId = session->record.id;
        lease.workerName = session->record.name;
        lease.orchestratorId = m_fleet ? m_fleet->id() : QString();
        lease.attempt = base.attempt + 1;
        lease.createdAt = lease.updatedAt = now;
        next = base;
        next.state = StepState::Dispatched;
        next.attempt = lease.attempt;
        next.workerId = session->record.id;
        next.workerName = session->record.name;
        next.updatedAt = now;
    };
    prepare(step);
    bool taken = false; // another orchestrator claimed it first
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
            prepare(**claimed);
        }
        if (auto r = m_store->insertLease(lease); !r)
            return r;
        if (auto r = m_store->updateStep(next); !r)
            return r;
        if (!m_shared) {
            updateRun(next);
            return {};
        }
        // The run is running from its first dispatch (one cheap statement, no scan of its steps).
        return m_store->markRunRunning(step.runId, now);
    });
    if (taken) {
        const QString id = step.id; // `step` lives in m_open
        m_queue.remove(id);
        m_open.remove(id);
        return false;
    }
    if (!saved) {
        qCWarning(lcLease) << "could not dispatch" << step.id << saved.error().message;
        return false;
    }
    step = next;
    m_queue.remove(step.id);
    m_leases.insert(lease.id, lease);
    m_lastSeq.insert(lease.id, 0);
    session->leaseIds.insert(lease.id);
    sendToWorker(session, JsonObjectWriter()
                              .add("type"_L1, Protocol::Type::Dispatch)
                              .add("stepId"_L1, step.id)
                              .add("leaseId"_L1, lease.id)
                              .add("attempt"_L1, lease.attempt)
                              .add("name"_L1, step.spec.name)
                              .add("command"_L1, step.spec.command)
                              .add("shell"_L1, step.spec.shell)
                              .add("env"_L1, step.spec.env)
                              .add("secretEnv"_L1, m_secrets.value(step.id))
                              .add("timeoutMs"_L1, step.spec.timeoutMs)
                              .finish());
    stepEvent(step, QStringLiteral("step.dispatched"),
              Tr::tr("step %1 (%2) dispatched to %3 (attempt %4/%5)")
                  .arg(shortId(step.id), step.spec.name, session->record.name)
                  .arg(lease.attempt)
                  .arg(step.spec.maxAttempts));
    Q_EMIT stepChanged(step);
    Q_EMIT slotsChanged(session);
    return true;
}

void Scheduler::sendToWorker(WorkerSession *session, const QJsonObject &frame)
{
    m_link->send(*session, Protocol::encodeFrameUtf8(frame));
}

void Scheduler::sendToWorker(WorkerSession *session, QByteArray frame)
{
    m_link->send(*session, std::move(frame));
}

void Scheduler::sendAck(WorkerSession *session, const QString &leaseId)
{
    sendToWorker(session, JsonObjectWriter().add("type"_L1, Protocol::Type::Ack).add("leaseId"_L1, leaseId).finish());
}

void Scheduler::refuse(WorkerSession *session, const QString &leaseId, const QString &what)
{
    Q_EMIT leaseFrameRefused();
    // The worker is told every time (it stops that lease); operators hear of the first per
    // worker and minute, and of the rest in one summary (reportLeaseRefusals()).
    if (m_leaseRefusals.admit(session->record.name, QDateTime::currentMSecsSinceEpoch())) {
        qCInfo(lcLease) << "refused" << what << "for lease" << leaseId << "from" << session->record.name;
        QString stepId;
        if (auto stored = m_store->lease(leaseId); stored && *stored)
            stepId = (*stored)->stepId;
        m_events->append(QStringLiteral("lease.refused"), session->record.name,
                         Tr::tr("refused %1 from %2 for lease %3: the lease is not active")
                             .arg(what, session->record.name, leaseId),
                         {{QStringLiteral("leaseId"), leaseId}, {QStringLiteral("stepId"), stepId},
                          {QStringLiteral("frame"), what}});
    }
    sendToWorker(session, {{QStringLiteral("type"), Protocol::Type::Refused},
                           {QStringLiteral("leaseId"), leaseId},
                           {QStringLiteral("reason"), Tr::tr("lease %1 is no longer active").arg(leaseId)}});
}

void Scheduler::reportLeaseRefusals()
{
    const QString window = formatDurationMs(m_leaseRefusals.windowMs());
    for (const RefusalDigest::Summary &summary : m_leaseRefusals.takeSummaries(QDateTime::currentMSecsSinceEpoch())) {
        const QString message =
            summary.key.isEmpty()
                ? Tr::tr("%n more frame(s) for leases that are not active refused in the last %1 from %2 other worker(s)",
                         nullptr, summary.count)
                      .arg(window)
                      .arg(summary.keys)
                : Tr::tr("%n more frame(s) for leases that are not active refused from %1 in the last %2", nullptr,
                         summary.count)
                      .arg(summary.key, window);
        m_events->append(QStringLiteral("lease.refused"), summary.key, message,
                         {{QStringLiteral("count"), summary.count}, {QStringLiteral("workers"), summary.keys}});
    }
}

LeaseRecord *Scheduler::activeLease(WorkerSession *session, const QJsonObject &frame, const QString &what)
{
    const QString leaseId = frame.value(QStringLiteral("leaseId")).toString();
    auto it = m_leases.find(leaseId);
    if (it == m_leases.end() || it->workerId != session->record.id || !session->leaseIds.contains(leaseId)) {
        refuse(session, leaseId.left(64), what);
        return nullptr;
    }
    return &*it;
}

void Scheduler::handleStarted(WorkerSession *session, const QJsonObject &frame)
{
    LeaseRecord *lease = activeLease(session, frame, QStringLiteral("started"));
    if (!lease)
        return;
    auto step = m_open.find(lease->stepId);
    if (step == m_open.end() || lease->startedAt.isValid())
        return;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    LeaseRecord nextLease = *lease;
    nextLease.startedAt = now;
    nextLease.updatedAt = now;
    StepRecord next = *step;
    next.state = StepState::Running;
    if (!next.startedAt.isValid())
        next.startedAt = now;
    next.updatedAt = now;
    auto saved = writeFenced(nextLease, [&] { return m_store->updateStep(next); });
    if (!saved)
        return;
    if (!*saved) {
        dropSuperseded(session, nextLease.id, QStringLiteral("started"));
        return;
    }
    *lease = nextLease;
    *step = next;
    stepEvent(next, QStringLiteral("step.started"),
              Tr::tr("step %1 (%2) started on %3").arg(shortId(next.id), next.spec.name, session->record.name));
    Q_EMIT stepChanged(next);
}

void Scheduler::handleOutput(WorkerSession *session, const QJsonObject &frame)
{
    LeaseRecord *lease = activeLease(session, frame, QStringLiteral("output"));
    if (!lease)
        return;
    auto step = m_open.find(lease->stepId);
    if (step == m_open.end())
        return;
    const int seq = frame.value(QStringLiteral("seq")).toInt(-1);
    int &lastSeq = m_lastSeq[lease->id];
    if (seq <= lastSeq)
        return; // a resend after a reconnect: already stored
    const QString stream = frame.value(QStringLiteral("stream")).toString();
    if (stream != u"stdout" && stream != u"stderr") {
        // Refused, not guessed: the chunk is not stored and its seq not taken, so a resend
        // after a reconnect is refused again and the step goes on.
        qCWarning(lcLease) << "refused output" << seq << "of lease" << lease->id << "from"
                           << session->record.name << ": \"stream\" must be \"stdout\" or \"stderr\"";
        return;
    }
    if (seq != lastSeq + 1)
        qCWarning(lcLease) << "output gap on lease" << lease->id << "expected" << lastSeq + 1 << "got" << seq;
    lastSeq = seq;
    if (step->outputTruncated)
        return;
    QString storedStream = stream;
    QString data = frame.value(QStringLiteral("data")).toString();
    if (const auto secrets = m_secrets.constFind(step->id); secrets != m_secrets.cend()) {
        // The worker masks its step's secret values as the output streams; this is a second
        // line, chunk by chunk, before anything is stored or forwarded.
        QStringList values;
        for (const QJsonValue &value : *secrets)
            values << value.toString();
        data = SecretMasker(values).mask(data);
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    StepRecord next = *step;
    const qint64 bytes = data.toUtf8().size();
    if (next.outputBytes + bytes > MaxStepOutputBytes) {
        data = Tr::tr("\n[swamp: output truncated: a step keeps at most %1 MiB]\n").arg(MaxStepOutputBytes / (1024 * 1024));
        storedStream = QStringLiteral("stderr");
        next.outputTruncated = true;
    } else {
        next.outputBytes += bytes;
    }
    next.outputChunks += 1;
    next.updatedAt = now;
    bool superseded = false;
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (m_shared) {
            // Another orchestrator may have expired this lease (fencing across orchestrators).
            LeaseRecord touched = *lease;
            touched.updatedAt = now;
            auto written = m_store->updateActiveLease(touched);
            if (!written)
                return fail(written.error());
            if (!*written) {
                superseded = true;
                return {};
            }
        }
        if (auto r = m_store->appendOutput(next.id, next.outputChunks, lease->id, lease->attempt, storedStream, data, now); !r)
            return r;
        if (m_shared)
            m_fleet->notify(QStringLiteral("output"), {{QStringLiteral("stepId"), next.id}});
        return m_store->updateStep(next);
    });
    if (superseded) {
        dropSuperseded(session, lease->id, QStringLiteral("output"));
        return;
    }
    if (!saved)
        return;
    *step = next;
    Q_EMIT outputAppended(next.id, QJsonObject{{QStringLiteral("chunk"), next.outputChunks},
                                               {QStringLiteral("attempt"), lease->attempt},
                                               {QStringLiteral("stream"), storedStream},
                                               {QStringLiteral("data"), data},
                                               {QStringLiteral("workerName"), lease->workerName}});
}

void Scheduler::handleFinished(WorkerSession *session, const QJsonObject &frame)
{
    LeaseRecord *lease = activeLease(session, frame, QStringLiteral("finished"));
    if (!lease) {
        // Let the worker forget a result the orchestrator will never take.
        sendToWorker(session, {{QStringLiteral("type"), Protocol::Type::Ack},
                               {QStringLiteral("leaseId"), frame.value(QStringLiteral("leaseId"))}});
        return;
    }
    const QString leaseId = lease->id;
    const QString outcome = frame.value(QStringLiteral("outcome")).toString();
    // Only `exited` carries an exit code, and only a whole number is one (not 1.5 or "0"); every
    // other outcome stores none, whatever the frame says (docs/protocol.md, `finished`).
    const QJsonValue exitValue = frame.value(QStringLiteral("exitCode"));
    const double exitNumber = exitValue.toDouble(0.5);
    const bool wholeExitCode = exitValue.isDouble() && exitNumber == std::trunc(exitNumber)
                               && exitNumber >= std::numeric_limits<int>::min()
                               && exitNumber <= std::numeric_limits<int>::max();
    const std::optional<int> exitCode =
        outcome == u"exited" && wholeExitCode ? std::optional<int>(int(exitNumber)) : std::nullopt;
    const QString error = leftCharacters(frame.value(QStringLiteral("error")).toString(), 1000);
    auto step = m_open.find(lease->stepId);
    const QDateTime now = QDateTime::currentDateTimeUtc();

    LeaseRecord nextLease = *lease;
    nextLease.endedAt = now;
    nextLease.updatedAt = now;
    nextLease.exitCode = exitCode;
    StepState stepState = StepState::Failed;
    QString stepError;
    if (outcome == u"exited" && exitCode) {
        nextLease.state = LeaseState::Completed;
        stepState = *exitCode == 0 ? StepState::Succeeded : StepState::Failed;
        if (*exitCode != 0)
            stepError = Tr::tr("exited with code %1").arg(*exitCode);
    } else if (outcome == u"timed_out") {
        nextLease.state = LeaseState::Failed;
        stepState = StepState::TimedOut;
        stepError = Tr::tr("timed out after %1").arg(formatDurationMs(step != m_open.end() ? step->spec.timeoutMs : 0));
    } else if (outcome == u"cancelled") {
        nextLease.state = LeaseState::Cancelled;
        stepState = StepState::Cancelled;
        stepError = Tr::tr("cancelled");
    } else {
        // failed_to_start, crashed, any other outcome, and `exited` without a whole-number
        // exitCode: the step failed, and no exit code is known.
        nextLease.state = LeaseState::Failed;
        stepState = StepState::Failed;
        if (!error.isEmpty())
            stepError = error;
        else if (outcome == u"exited")
            stepError = Tr::tr("the worker reported an exit without an exit code");
        else
            stepError = Tr::tr("the step failed without an exit code");
    }
    nextLease.error = stepError;

    auto saved = writeFenced(nextLease, [&]() -> Result<void> {
        if (step == m_open.end())
            return {};
        return finishStep(*step, stepState, exitCode, stepError);
    });
    if (saved && !*saved) {
        dropSuperseded(session, leaseId, QStringLiteral("finished"));
        sendAck(session, leaseId);
        return;
    }
    if (!saved) {
        qCWarning(lcLease) << "could not record result of lease" << leaseId << saved.error().message;
        return; // no ack: the worker sends the result again after it reconnects
    }
    m_leases.remove(leaseId);
    m_lastSeq.remove(leaseId);
    session->leaseIds.remove(leaseId);
    session->holdUntilMs = 0;
    sendAck(session, leaseId);
    if (step != m_open.end()) {
        const StepRecord done = *step;
        m_open.erase(step);
        stepEvent(done, QStringLiteral("step.finished"),
                  Tr::tr("step %1 (%2) %3 on %4%5")
                      .arg(shortId(done.id), done.spec.name, stepStateName(done.state), session->record.name,
                           done.exitCode ? Tr::tr(" (exit code %1)").arg(*done.exitCode) : QString()));
        Q_EMIT stepChanged(done);
        updateRun(done);
    }
    Q_EMIT slotsChanged(session);
    requestSchedule();
}

void Scheduler::handleRejected(WorkerSession *session, const QJsonObject &frame)
{
    LeaseRecord *lease = activeLease(session, frame, QStringLiteral("rejected"));
    if (!lease)
        return;
    const QString leaseId = lease->id;
    if (auto r = retireLease(*lease, LeaseState::Cancelled,
                             frame.value(QStringLiteral("reason")).toString(QStringLiteral("worker declined the step")), false);
        !r)
        return;
    session->leaseIds.remove(leaseId);
    // The worker's view differs from ours (busy with a stale lease, or draining): give it a moment
    // instead of sending the step straight back to it.
    constexpr int HoldMs = 1000;
    session->holdUntilMs = QDateTime::currentMSecsSinceEpoch() + HoldMs;
    Q_EMIT slotsChanged(session);
    requestSchedule();
    QTimer::singleShot(HoldMs + 10, this, &Scheduler::requestSchedule);
}

Result<bool> Scheduler::writeFenced(const LeaseRecord &lease, const std::function<Result<void>()> &then)
{
    bool active = false;
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (!m_shared) {
            // The only writer: a lease in m_leases is the active one in the store.
            if (auto r = m_store->updateLease(lease); !r)
                return r;
            active = true;
            return then();
        }
        auto written = m_store->updateActiveLease(lease);
        if (!written)
            return fail(written.error());
        active = *written;
        return active ? then() : Result<void>();
    });
    if (!saved)
        return fail(saved.error());
    return active;
}

Result<bool> Scheduler::endQueued(StepRecord &step, StepState state, const QString &error)
{
    bool claimed = true;
    auto ended = m_store->transaction([&]() -> Result<void> {
        if (m_shared) {
            auto row = m_store->claimQueuedStep(step.id);
            if (!row)
                return fail(row.error());
            claimed = row->has_value();
            if (!claimed)
                return {};
        }
        return finishStep(step, state, std::nullopt, error);
    });
    if (!ended)
        return fail(ended.error());
    return claimed;
}

Result<void> Scheduler::saveStep(StepRecord &step)
{
    step.updatedAt = QDateTime::currentDateTimeUtc();
    return m_store->updateStep(step);
}

Result<void> Scheduler::finishStep(StepRecord &step, StepState state, std::optional<int> exitCode,
                                   const QString &error)
{
    step.state = state;
    step.exitCode = exitCode;
    step.error = error;
    step.finishedAt = QDateTime::currentDateTimeUtc();
    return saveStep(step);
}

Result<void> Scheduler::retireLease(LeaseRecord &lease, LeaseState leaseState, const QString &reason,
                                    bool countAttempt)
{
    const LeaseRecord old = lease; // `lease` lives in m_leases, which changes below
    const QDateTime now = QDateTime::currentDateTimeUtc();
    LeaseRecord nextLease = old;
    nextLease.state = leaseState;
    nextLease.error = reason;
    nextLease.endedAt = now;
    nextLease.updatedAt = now;
    std::optional<StepRecord> nextStep;
    bool requeue = false;
    // Fenced on the stored lease: of two orchestrators retiring it, one does.
    auto saved = writeFenced(nextLease, [&]() -> Result<void> {
        std::optional<StepRecord> current;
        if (m_shared) {
            auto fresh = m_store->stepForUpdate(old.stepId);
            if (!fresh)
                return fail(fresh.error());
            current = *fresh;
        } else if (const auto it = m_open.constFind(old.stepId); it != m_open.cend()) {
            current = *it;
        }
        if (!current || isTerminal(current->state))
            return {};
        StepRecord step = *current;
        // `attempt` counts every dispatch (attempts started). maxAttempts bounds the ones that
        // count: a dispatch given back without counting (its lease ended `cancelled` while the
        // step went on: rejected, drain deadline, revocation, orchestrator stop) uses none up.
        int spent = step.attempt;
        if (countAttempt && spent >= step.spec.maxAttempts) {
            auto givenBack = m_store->leasesGivenBack(step.id);
            if (!givenBack)
                return fail(givenBack.error());
            spent -= *givenBack;
        }
        if (step.cancelRequested) {
            step.state = StepState::Cancelled;
            step.error = Tr::tr("cancelled");
            step.finishedAt = now;
        } else if (step.spec.atMostOnce && old.startedAt.isValid()) {
            step.state = StepState::Failed;
            step.error = Tr::tr("%1 after the step started").arg(reason);
            step.finishedAt = now;
        } else if (countAttempt && spent >= step.spec.maxAttempts) {
            step.state = StepState::Failed;
            step.error = Tr::tr("%1; attempts exhausted (%2/%3)").arg(reason).arg(spent).arg(step.spec.maxAttempts);
            step.finishedAt = now;
        } else {
            step.state = StepState::Queued;
            step.workerId.clear();
            step.workerName.clear();
            step.queuedAt = now;
            requeue = true;
        }
        step.updatedAt = now;
        nextStep = step;
        if (auto r = m_store->updateStep(step); !r)
            return r;
        if (requeue && m_shared)
            m_fleet->notify(QStringLiteral("steps"));
        return {};
    });
    if (!saved)
        return fail(saved.error());
    m_leases.remove(old.id);
    m_lastSeq.remove(old.id);
    if (!*saved) {
        qCInfo(lcLease) << "lease" << old.id << "was already retired by another orchestrator";
        return {};
    }
    m_events->append(QStringLiteral("lease.expired"), old.workerName,
                     Tr::tr("lease %1 of step %2 on %3 %4: %5")
                         .arg(shortId(old.id), shortId(old.stepId), old.workerName, leaseStateName(leaseState), reason),
                     {{QStringLiteral("leaseId"), old.id}, {QStringLiteral("stepId"), old.stepId},
                      {QStringLiteral("state"), leaseStateName(leaseState)}});
    if (nextStep) {
        if (requeue) {
            m_open.insert(nextStep->id, *nextStep);
            m_queue.prepend(nextStep->id, queueDeadlineMs(*nextStep));
            trackRunStep(*nextStep);
            stepEvent(*nextStep, QStringLiteral("step.requeued"),
                      Tr::tr("step %1 (%2) requeued: %3").arg(shortId(nextStep->id), nextStep->spec.name, reason));
        } else {
            m_open.remove(nextStep->id);
            stepEvent(*nextStep, QStringLiteral("step.finished"),
                      Tr::tr("step %1 (%2) %3: %4").arg(shortId(nextStep->id), nextStep->spec.name,
                                                        stepStateName(nextStep->state), nextStep->error));
            updateRun(*nextStep);
        }
        Q_EMIT stepChanged(*nextStep);
    }
    return {};
}

void Scheduler::retireOrRetry(const QString &leaseId, const Retirement &retirement)
{
    const auto lease = m_leases.find(leaseId);
    if (lease == m_leases.end()) {
        m_unretired.remove(leaseId); // ended meanwhile (another orchestrator, a late result)
        return;
    }
    auto retired = retireLease(*lease, retirement.state, retirement.reason, retirement.countAttempt);
    if (retired) {
        m_unretired.remove(leaseId);
        return;
    }
    // The database refused it: the lease stays active in memory and in the database, held by no
    // session, so its step would never move again. sweep() tries again until it is written.
    qCWarning(lcLease) << "could not end lease" << leaseId << "(" << retirement.reason << "):"
                       << retired.error().message << "- retrying at the next sweep";
    m_unretired.insert(leaseId, retirement);
}

void Scheduler::dropSuperseded(WorkerSession *session, QString leaseId, const QString &what)
{
    // Another orchestrator expired this lease (this one was presumed dead, or the worker moved):
    // the step is no longer ours; the worker is told to forget it.
    const auto lease = m_leases.constFind(leaseId);
    if (lease != m_leases.cend()) {
        const auto step = m_open.constFind(lease->stepId);
        if (step != m_open.cend() && step->state != StepState::Queued)
            m_open.erase(step);
        m_leases.erase(lease);
    }
    m_lastSeq.remove(leaseId);
    session->leaseIds.remove(leaseId);
    refuse(session, leaseId, what);
    Q_EMIT slotsChanged(session);
    requestRefresh();
    requestSchedule();
}

void Scheduler::expireLeases(WorkerSession *session, const QString &reason)
{
    const QSet<QString> leaseIds = session->leaseIds;
    for (const QString &leaseId : leaseIds)
        retireOrRetry(leaseId, {LeaseState::Expired, reason, true});
    session->leaseIds.clear();
    requestSchedule();
}

void Scheduler::requeueLeases(WorkerSession *session, const QString &reason)
{
    const QSet<QString> leaseIds = session->leaseIds;
    for (const QString &leaseId : leaseIds) {
        sendToWorker(session, {{QStringLiteral("type"), Protocol::Type::Cancel},
                               {QStringLiteral("leaseId"), leaseId},
                               {QStringLiteral("reason"), reason}});
        retireOrRetry(leaseId, {LeaseState::Cancelled, reason, false});
    }
    session->leaseIds.clear();
    Q_EMIT slotsChanged(session);
    requestSchedule();
}

QJsonObject Scheduler::resumeLeases(WorkerSession *session)
{
    QJsonObject leases;
    for (const QString &leaseId : std::as_const(session->leaseIds)) {
        leases.insert(leaseId, m_lastSeq.value(leaseId));
        const auto lease = m_leases.constFind(leaseId);
        if (lease != m_leases.cend()) {
            const auto step = m_open.constFind(lease->stepId);
            if (step != m_open.cend() && step->cancelRequested) {
                // On the next turn, after `enrolled` (this returns its leases). The session may be
                // gone by then (the pool deletes it): it is looked up again, never kept.
                QTimer::singleShot(0, this, [this, workerId = session->record.id, leaseId] {
                    WorkerSession *current = m_pool->find(workerId);
                    if (!current || !current->leaseIds.contains(leaseId))
                        return;
                    sendToWorker(current, {{QStringLiteral("type"), Protocol::Type::Cancel},
                                           {QStringLiteral("leaseId"), leaseId},
                                           {QStringLiteral("reason"), Tr::tr("cancelled by an operator")}});
                });
            }
        }
    }
    return leases;
}

Result<QJsonObject> Scheduler::cancel(const QString &id)
{
    if (m_shared) {
        // Steps submitted through, or running on, other orchestrators are only in the database.
        auto open = m_store->openStepsOf(id);
        if (!open)
            return fail(open.error());
        for (const StepRecord &step : std::as_const(*open)) {
            if (!m_open.contains(step.id))
                m_open.insert(step.id, step);
        }
    }
    QList<QString> stepIds;
    if (m_open.contains(id)) {
        stepIds << id;
    } else {
        for (auto it = m_open.cbegin(); it != m_open.cend(); ++it) {
            if (it->runId == id)
                stepIds << it.key();
        }
    }
    if (stepIds.isEmpty()) {
        auto stored = m_store->step(id);
        auto run = m_store->run(id);
        if ((stored && *stored) || (run && *run)) {
            return QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("cancelled"), QJsonArray()},
                               {QStringLiteral("alreadyFinished"), true}};
        }
        return fail(QStringLiteral("not_found"), Tr::tr("no step or run with id '%1'").arg(id),
                    Tr::tr("see 'swamp data query \"modelType == \\\"swamp/step\\\"\"'"));
    }
    QJsonArray cancelled;
    for (const QString &stepId : std::as_const(stepIds)) {
        StepRecord &step = m_open[stepId];
        step.cancelRequested = true;
        cancelled << stepId;
        if (step.state == StepState::Queued) {
            // Not ended: being dispatched elsewhere right now, so it is cancelled running.
            auto ended = endQueued(step, StepState::Cancelled, Tr::tr("cancelled while queued"));
            if (!ended)
                return fail(ended.error());
            const bool taken = !*ended;
            m_queue.remove(stepId);
            if (!taken) {
                const StepRecord done = step;
                m_open.remove(stepId);
                stepEvent(done, QStringLiteral("step.finished"), Tr::tr("step %1 (%2) cancelled while queued").arg(shortId(done.id), done.spec.name));
                Q_EMIT stepChanged(done);
                updateRun(done);
                continue;
            }
        }
        // Running: the flag is stored (it survives a requeue), and the worker is told by
        // whichever orchestrator holds its lease.
        if (auto r = m_store->requestStepCancel(stepId); !r)
            return fail(r.error());
        bool held = false;
        for (auto lease = m_leases.cbegin(); lease != m_leases.cend(); ++lease) {
            if (lease->stepId != stepId)
                continue;
            held = true;
            if (WorkerSession *session = m_pool->find(lease->workerId)) {
                sendToWorker(session, {{QStringLiteral("type"), Protocol::Type::Cancel},
                                       {QStringLiteral("leaseId"), lease->id},
                                       {QStringLiteral("reason"), Tr::tr("cancelled by an operator")}});
            }
        }
        if (!held && m_shared) {
            m_open.remove(stepId); // its lease lives on another orchestrator
            m_fleet->notify(QStringLiteral("cancel"), {{QStringLiteral("stepId"), stepId}});
        }
    }
    return QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("cancelled"), cancelled},
                       {QStringLiteral("alreadyFinished"), false}};
}

QList<StepRecord> Scheduler::queuedSteps() const
{
    QList<StepRecord> steps;
    m_queue.forEach([&](const QString &id) {
        const auto it = m_open.constFind(id);
        if (it != m_open.cend())
            steps << *it;
        return true;
    });
    return steps;
}

std::optional<StepRecord> Scheduler::openStep(const QString &id) const
{
    const auto it = m_open.constFind(id);
    return it == m_open.cend() ? std::nullopt : std::optional<StepRecord>(*it);
}

void Scheduler::sweep()
{
    reportLeaseRefusals();
    const QHash<QString, Retirement> unretired = m_unretired;
    for (auto it = unretired.cbegin(); it != unretired.cend(); ++it)
        retireOrRetry(it.key(), *it);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const QString &id : m_queue.due(now.toMSecsSinceEpoch())) {
        auto it = m_open.find(id);
        if (it == m_open.end())
            continue;
        if (const qint64 deadline = queueDeadlineMs(*it); deadline > now.toMSecsSinceEpoch()) {
            m_queue.setDeadline(id, deadline); // requeued through another orchestrator meanwhile
            continue;
        }
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

void Scheduler::OpenRun::set(const QString &stepId, StepState state)
{
    auto it = steps.find(stepId);
    if (it == steps.end()) {
        it = steps.insert(stepId, state);
    } else {
        --counts[size_t(*it)];
        *it = state;
    }
    ++counts[size_t(state)];
}

Scheduler::OpenRun *Scheduler::openRun(const QString &runId)
{
    if (auto it = m_runs.find(runId); it != m_runs.end())
        return &*it;
    auto run = m_store->run(runId);
    if (!run || !*run)
        return nullptr;
    OpenRun open{**run, {}, {}};
    auto states = m_store->stepStatesOfRun(runId);
    if (!states)
        return nullptr;
    for (const auto &[stepId, state] : std::as_const(*states))
        open.set(stepId, state);
    return &*m_runs.insert(runId, std::move(open));
}

void Scheduler::trackRunStep(const StepRecord &changed)
{
    if (m_shared)
        return;
    if (OpenRun *run = openRun(changed.runId))
        run->set(changed.id, changed.state);
}

void Scheduler::updateRun(const StepRecord &changed)
{
    if (isTerminal(changed.state))
        m_secrets.remove(changed.id); // every way a step ends comes here
    // The run's state depends only on which states its steps are in: one orchestrator counts them
    // in memory; a fleet asks the store (every change is written before it is applied in
    // memory, so the stored states are current), as other orchestrators change steps too.
    OpenRun *open = nullptr;
    RunRecord current;
    QList<StepState> states;
    if (!m_shared) {
        open = openRun(changed.runId);
        if (!open)
            return;
        open->set(changed.id, changed.state);
        current = open->record;
        for (size_t state = 0; state < open->counts.size(); ++state) {
            if (open->counts[state] > 0)
                states << StepState(state);
        }
    } else {
        auto run = m_store->run(changed.runId);
        if (!run || !*run)
            return;
        current = **run;
        auto distinct = m_store->distinctStepStatesOfRun(changed.runId);
        if (!distinct)
            return;
        states = *distinct;
    }
    RunRecord next = current;
    next.state = runStateFrom(states);
    if (next.state != current.state) {
        next.updatedAt = QDateTime::currentDateTimeUtc();
        if (isTerminal(next.state) && !next.finishedAt.isValid())
            next.finishedAt = next.updatedAt;
        if (!m_store->updateRun(next))
            return;
        if (open)
            open->record = next;
    }
    if (open && isTerminal(next.state))
        m_runs.remove(changed.runId);
}

void Scheduler::stepEvent(const StepRecord &step, const QString &kind, const QString &message)
{
    m_events->append(kind, step.id, message,
                     JsonObjectWriter()
                         .add("stepId"_L1, step.id)
                         .add("runId"_L1, step.runId)
                         .add("name"_L1, step.spec.name)
                         .add("state"_L1, stepStateName(step.state))
                         .add("workerName"_L1, step.workerName)
                         .add("attempt"_L1, step.attempt)
                         .add("maxAttempts"_L1, step.spec.maxAttempts)
                         .finish());
}

} // namespace Swamp
