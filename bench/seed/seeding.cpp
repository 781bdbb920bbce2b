#include "seeding.h"

#include "store/store.h"

#include <QUuid>

using namespace Swamp;

namespace SwampBench {

Result<void> seedFinishedSteps(Store &store, int count)
{
    // Half a day ago: well inside the orchestrator's default retention (24h). A day ago put the
    // first steps at its edge, and the reaper removed some of them while the queries ran.
    const QDateTime base = QDateTime::currentDateTimeUtc().addSecs(-12 * 3600);
    RunRecord run;
    return store.transaction([&]() -> Result<void> {
        for (int i = 0; i < count; ++i) {
            const QDateTime at = base.addMSecs(qint64(i) * 10);
            if (i % 100 == 0) {
                run = RunRecord{QUuid::createUuid().toString(QUuid::WithoutBraces),
                                QStringLiteral("run-%1").arg(i / 100), StepState::Succeeded, at, at, at};
                if (auto r = store.insertRun(run); !r)
                    return r;
            }
            StepRecord step;
            step.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
            step.runId = run.id;
            step.seq = i % 100;
            step.spec.name = QStringLiteral("step-%1").arg(i);
            step.spec.command = {QStringLiteral("make"), QStringLiteral("test")};
            step.spec.requirement.labels.insert(QStringLiteral("region"), i % 2 ? QStringLiteral("eu") : QStringLiteral("us"));
            step.spec.queueTimeoutMs = 600000;
            step.state = i % 20 == 0 ? StepState::Failed : i % 20 == 1 ? StepState::TimedOut : StepState::Succeeded;
            step.attempt = 1;
            step.exitCode = step.state == StepState::Failed ? std::optional<int>(2)
                            : step.state == StepState::Succeeded ? std::optional<int>(0) : std::nullopt;
            step.workerName = QStringLiteral("ci-%1").arg(i % 50);
            step.workerId = step.workerName;
            step.queuedAt = step.createdAt = step.startedAt = at;
            step.finishedAt = step.updatedAt = at.addSecs(5);
            if (auto r = store.insertStep(step); !r)
                return r;
            LeaseRecord lease;
            lease.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
            lease.stepId = step.id;
            lease.runId = run.id;
            lease.workerId = step.workerId;
            lease.workerName = step.workerName;
            lease.attempt = 1;
            lease.state = step.state == StepState::TimedOut ? LeaseState::Failed : LeaseState::Completed;
            lease.exitCode = step.exitCode;
            lease.createdAt = lease.startedAt = at;
            lease.endedAt = lease.updatedAt = step.finishedAt;
            if (auto r = store.insertLease(lease); !r)
                return r;
        }
        return {};
    });
}

namespace {

StepRecord openStep(int i, const RunRecord &run, const QDateTime &at, bool active)
{
    StepRecord step;
    step.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    step.runId = run.id;
    step.seq = i % 100;
    step.spec.name = QStringLiteral("build-%1").arg(i);
    step.spec.command = {QStringLiteral("make"), QStringLiteral("-j4"), QStringLiteral("test"),
                         QStringLiteral("SHARD=%1").arg(i % 64)};
    step.spec.env = {{QStringLiteral("CI"), QStringLiteral("1")}, {QStringLiteral("BUILD"), QString::number(i)}};
    step.spec.requirement.labels.insert(QStringLiteral("region"), i % 2 ? QStringLiteral("eu") : QStringLiteral("us"));
    step.spec.requirement.labels.insert(QStringLiteral("pool"), QStringLiteral("ci"));
    step.spec.queueTimeoutMs = qint64(24) * 3600 * 1000;
    step.queuedAt = step.createdAt = step.updatedAt = at;
    if (active) {
        step.state = i % 2 ? StepState::Running : StepState::Dispatched;
        step.attempt = 1;
        step.workerName = QStringLiteral("ci-%1").arg(i % 50);
        step.workerId = step.workerName;
        if (step.state == StepState::Running)
            step.startedAt = at.addMSecs(5);
    }
    return step;
}

LeaseRecord activeLease(const StepRecord &step)
{
    LeaseRecord lease;
    lease.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    lease.stepId = step.id;
    lease.runId = step.runId;
    lease.workerId = step.workerId;
    lease.workerName = step.workerName;
    lease.orchestratorId = QStringLiteral("gone");
    lease.attempt = 1;
    lease.createdAt = lease.updatedAt = step.createdAt;
    lease.startedAt = step.startedAt;
    return lease;
}

} // namespace

Result<void> seedOpenSteps(Store &store, int queued, int active)
{
    // An hour ago, and a day of queue timeout: nothing times out while the bench runs.
    const QDateTime base = QDateTime::currentDateTimeUtc().addSecs(-3600);
    RunRecord run;
    return store.transaction([&]() -> Result<void> {
        for (int i = 0; i < active + queued; ++i) {
            const QDateTime at = base.addMSecs(qint64(i) / 100);
            if (i % 100 == 0) {
                run = RunRecord{QUuid::createUuid().toString(QUuid::WithoutBraces), QStringLiteral("run-%1").arg(i / 100),
                                i < active ? StepState::Running : StepState::Queued, at, at, {}};
                if (auto r = store.insertRun(run); !r)
                    return r;
            }
            const StepRecord step = openStep(i, run, at, i < active);
            if (auto r = store.insertStep(step); !r)
                return r;
            if (i < active) {
                if (auto r = store.insertLease(activeLease(step)); !r)
                    return r;
            }
        }
        return {};
    });
}

} // namespace SwampBench
