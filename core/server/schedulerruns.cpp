// The scheduler's cancelling of steps and runs, and the state of each run from its steps.
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

QList<QString> Scheduler::openStepIdsOf(const QString &stepOrRunId) const
{
    if (m_open.contains(stepOrRunId) || m_queuedOnly.contains(stepOrRunId))
        return {stepOrRunId};
    QList<QString> stepIds;
    for (auto it = m_open.cbegin(); it != m_open.cend(); ++it) {
        if (it->runId == stepOrRunId)
            stepIds << it.key();
    }
    for (auto it = m_queuedOnly.cbegin(); it != m_queuedOnly.cend(); ++it) {
        if (it->runId == stepOrRunId)
            stepIds << it.key();
    }
    return stepIds;
}

Result<QJsonObject> Scheduler::cancel(const QString &id)
{
    if (m_shared) {
        // Steps submitted through, or running on, other orchestrators are only in the database.
        auto open = m_store->openStepsOf(id);
        if (!open)
            return fail(open.error());
        for (const StepRecord &step : std::as_const(*open)) {
            if (!m_open.contains(step.id)) {
                m_open.insert(step.id, step);
                m_queuedOnly.remove(step.id);
            }
        }
    }
    const QList<QString> stepIds = openStepIdsOf(id);
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
        auto record = openRecord(stepId);
        if (!record)
            return fail(record.error());
        if (!*record)
            continue; // taken or ended through another orchestrator meanwhile
        StepRecord &step = **record;
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
                sendCancel(session, lease->id, Tr::tr("cancelled by an operator"));
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
        // Other orchestrators change the run's other steps: the store recomputes it from them all.
        if (auto r = m_store->refreshRunState(changed.runId); !r)
            qCWarning(lcLease) << "could not bring run" << changed.runId << "up to date:" << r.error().message;
        return;
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
