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

} // namespace SwampBench
