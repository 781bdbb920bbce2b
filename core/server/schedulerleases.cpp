// The scheduler's leases: the frames a worker sends about them (started, output, finished,
// rejected), fencing (a frame for a lease not active on its session is refused), and how a
// lease ends: finished, expired (worker lost), given back (drain deadline, revocation), or
// superseded by another orchestrator.
#include "server/scheduler.h"

#include "common/duration.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/secretmasker.h"
#include "common/text.h"
#include "model/leaserules.h"
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

void Scheduler::sendToWorker(WorkerSession *session, QByteArray frame)
{
    m_link->send(*session, std::move(frame));
}

void Scheduler::sendAck(WorkerSession *session, const QString &leaseId)
{
    sendToWorker(session, Protocol::Ack{leaseId}.encode());
}

void Scheduler::sendCancel(WorkerSession *session, const QString &leaseId, const QString &reason)
{
    sendToWorker(session, Protocol::Cancel{leaseId, reason}.encode());
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
    sendToWorker(session, Protocol::Refused{leaseId, Tr::tr("lease %1 is no longer active").arg(leaseId)}.encode());
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

LeaseRecord *Scheduler::activeLease(WorkerSession *session, const QString &leaseId, const QString &what)
{
    auto it = m_leases.find(leaseId);
    if (it == m_leases.end() || it->workerId != session->record.id || !session->leaseIds.contains(leaseId)) {
        refuse(session, leaseId.left(64), what);
        return nullptr;
    }
    return &*it;
}

void Scheduler::handleStarted(WorkerSession *session, const Protocol::Started &started)
{
    LeaseRecord *lease = activeLease(session, started.leaseId, QStringLiteral("started"));
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
    if (!saved) {
        resyncLater(nextLease.id, saved.error());
        return;
    }
    if (!*saved) {
        dropSuperseded(session, nextLease.id, QStringLiteral("started"));
        return;
    }
    resynced(nextLease.id);
    *lease = nextLease;
    *step = next;
    stepEvent(next, QStringLiteral("step.started"),
              Tr::tr("step %1 (%2) started on %3").arg(shortId(next.id), next.spec.name, session->record.name));
    Q_EMIT stepChanged(next);
}

void Scheduler::handleOutput(WorkerSession *session, const Protocol::Output &output)
{
    LeaseRecord *lease = activeLease(session, output.leaseId, QStringLiteral("output"));
    if (!lease)
        return;
    auto step = m_open.find(lease->stepId);
    if (step == m_open.end())
        return;
    const int seq = output.seq;
    const int lastSeq = m_lastSeq.value(lease->id);
    if (seq <= lastSeq || !takesOutput(*lease, seq))
        return; // already stored (a resend), or it comes again after what the database refused
    if (output.stream == Protocol::OutputStream::Unknown) {
        // Refused, not guessed: the chunk is not stored and its seq not taken, so a resend
        // after a reconnect is refused again and the step goes on.
        qCWarning(lcLease) << "refused output" << seq << "of lease" << lease->id << "from"
                           << session->record.name << ": \"stream\" must be \"stdout\" or \"stderr\"";
        return;
    }
    if (seq != lastSeq + 1)
        qCWarning(lcLease) << "output gap on lease" << lease->id << "expected" << lastSeq + 1 << "got" << seq;
    if (step->outputTruncated) {
        m_lastSeq.insert(lease->id, seq);
        return;
    }
    QString storedStream = Protocol::outputStreamName(output.stream);
    QString data = output.data;
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
            auto written = m_store->updateHeldLease(touched);
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
    if (!saved) {
        resyncLater(lease->id, saved.error()); // the chunk's seq is not taken: it comes again
        return;
    }
    m_lastSeq.insert(lease->id, seq);
    resynced(lease->id);
    *step = next;
    Q_EMIT outputAppended(next.id, QJsonObject{{QStringLiteral("chunk"), next.outputChunks},
                                               {QStringLiteral("attempt"), lease->attempt},
                                               {QStringLiteral("stream"), storedStream},
                                               {QStringLiteral("data"), data},
                                               {QStringLiteral("workerName"), lease->workerName}});
}

void Scheduler::handleFinished(WorkerSession *session, const Protocol::Finished &finished)
{
    LeaseRecord *lease = activeLease(session, finished.leaseId, QStringLiteral("finished"));
    if (!lease) {
        // Let the worker forget a result the orchestrator will never take.
        sendAck(session, finished.leaseId);
        return;
    }
    const QString leaseId = lease->id;
    if (!takesFinished(*lease, finished.lastSeq))
        return; // output the database refused comes again first, then this
    auto step = m_open.find(lease->stepId);
    // The exit code comes only with `exited` (the codec's rule); the rest is the model's.
    const LeaseResult result = leaseResultOf(finished.outcome, finished.exitCode, finished.error,
                                             step != m_open.end() ? step->spec.timeoutMs : 0);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    LeaseRecord nextLease = *lease;
    nextLease.state = result.lease;
    nextLease.endedAt = now;
    nextLease.updatedAt = now;
    nextLease.exitCode = finished.exitCode;
    nextLease.error = result.error;

    auto saved = writeFenced(nextLease, [&]() -> Result<void> {
        if (step == m_open.end())
            return {};
        return finishStep(*step, result.step, finished.exitCode, result.error);
    });
    if (saved && !*saved) {
        dropSuperseded(session, leaseId, QStringLiteral("finished"));
        sendAck(session, leaseId);
        return;
    }
    if (!saved) {
        resyncLater(leaseId, saved.error()); // no ack: the worker keeps the result and sends it again
        return;
    }
    m_leases.remove(leaseId);
    m_lastSeq.remove(leaseId);
    resynced(leaseId);
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

void Scheduler::handleRejected(WorkerSession *session, const Protocol::Rejected &rejected)
{
    LeaseRecord *lease = activeLease(session, rejected.leaseId, QStringLiteral("rejected"));
    if (!lease)
        return;
    const QString leaseId = lease->id;
    if (auto r = retireLease(*lease, LeaseState::Cancelled, rejected.reason, false); !r)
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

bool Scheduler::heldHere(const LeaseRecord &lease) const
{
    return m_fleet && lease.orchestratorId == m_fleet->id();
}

Result<bool> Scheduler::writeFenced(const LeaseRecord &lease, const std::function<Result<void>()> &then)
{
    bool active = false;
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (m_recovering) {
            active = true; // boot recovery locked and expired its leases already, all at once
            return then();
        }
        if (!m_shared) {
            // The only writer: a lease in m_leases is the active one in the store.
            if (auto r = m_store->updateLease(lease); !r)
                return r;
            active = true;
            return then();
        }
        // A lease of this orchestrator's is checked with the whole batch at its commit; one that
        // another held (taking over from a dead orchestrator) is compared and set here.
        auto written = heldHere(lease) ? m_store->updateHeldLease(lease) : m_store->updateActiveLease(lease);
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
    // Fenced on the stored lease: of two orchestrators retiring it, one does.
    auto saved = writeFenced(nextLease, [&]() -> Result<void> {
        auto step = stepAfterRetiring(old, reason, countAttempt, now);
        if (!step)
            return fail(step.error());
        if (!*step)
            return {};
        nextStep = *step;
        if (auto r = m_store->updateStep(*nextStep); !r)
            return r;
        if (nextStep->state == StepState::Queued && m_shared && !m_recovering)
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
    if (nextStep)
        stepRetired(*nextStep, reason);
    return {};
}

Result<std::optional<StepRecord>> Scheduler::stepAfterRetiring(const LeaseRecord &lease, const QString &reason,
                                                               bool countAttempt, const QDateTime &now)
{
    std::optional<StepRecord> current;
    const auto open = m_open.constFind(lease.stepId);
    if (m_shared && !m_recovering && (!heldHere(lease) || open == m_open.cend())) {
        // Another orchestrator's step (a takeover): its row as stored, locked. Boot recovery read
        // the steps it retires into m_open, locked, in its own transaction.
        auto fresh = m_store->stepForUpdate(lease.stepId);
        if (!fresh)
            return fail(fresh.error());
        current = *fresh;
    } else if (open != m_open.cend()) {
        current = *open; // this orchestrator's: written by it alone while its lease is active
    }
    if (!current || isTerminal(current->state))
        return std::optional<StepRecord>();
    int givenBack = 0;
    if (needsAttemptsGivenBack(*current, countAttempt)) {
        auto counted = m_store->leasesGivenBack(current->id);
        if (!counted)
            return fail(counted.error());
        givenBack = *counted;
    }
    return std::optional<StepRecord>(
        stepAfterLeaseEnded(*current, lease.startedAt.isValid(), reason, countAttempt, givenBack, now));
}

void Scheduler::stepRetired(const StepRecord &step, const QString &reason)
{
    if (step.state == StepState::Queued) {
        m_open.insert(step.id, step);
        m_queue.prepend(step.id, queueDeadlineMs(step));
        trackRunStep(step);
        stepEvent(step, QStringLiteral("step.requeued"),
                  Tr::tr("step %1 (%2) requeued: %3").arg(shortId(step.id), step.spec.name, reason));
    } else {
        m_open.remove(step.id);
        stepEvent(step, QStringLiteral("step.finished"),
                  Tr::tr("step %1 (%2) %3: %4")
                      .arg(shortId(step.id), step.spec.name, stepStateName(step.state), step.error));
        updateRun(step);
    }
    Q_EMIT stepChanged(step);
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
    // Said once per lease, not at every retry.
    if (!m_unretired.contains(leaseId)) {
        qCWarning(lcLease) << "could not end lease" << leaseId << "(" << retirement.reason << "):"
                           << retired.error().message << "- retrying at every sweep";
    }
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
        stepChangedElsewhere(lease->stepId); // requeued by whoever expired the lease
        m_leases.erase(lease);
    }
    m_lastSeq.remove(leaseId);
    session->leaseIds.remove(leaseId);
    refuse(session, leaseId, what);
    Q_EMIT slotsChanged(session);
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
        sendCancel(session, leaseId, reason);
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
                    sendCancel(current, leaseId, Tr::tr("cancelled by an operator"));
                });
            }
        }
    }
    return leases;
}

} // namespace Swamp
