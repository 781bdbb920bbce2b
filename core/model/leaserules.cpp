#include "model/leaserules.h"

#include "common/duration.h"
#include "common/result.h"

#include <QLatin1StringView>

#include <utility>

using namespace Qt::StringLiterals;

namespace Swamp {

namespace {

constexpr std::pair<StepOutcome, QLatin1StringView> OutcomeNames[] = {
    {StepOutcome::Exited, "exited"_L1},
    {StepOutcome::TimedOut, "timed_out"_L1},
    {StepOutcome::Cancelled, "cancelled"_L1},
    {StepOutcome::FailedToStart, "failed_to_start"_L1},
    {StepOutcome::Crashed, "crashed"_L1},
};

} // namespace

QString stepOutcomeName(StepOutcome outcome)
{
    for (const auto &[value, name] : OutcomeNames) {
        if (value == outcome)
            return name;
    }
    return {};
}

StepOutcome stepOutcomeFromName(const QString &name)
{
    for (const auto &[value, text] : OutcomeNames) {
        if (name == text)
            return value;
    }
    return StepOutcome::Unknown;
}

LeaseResult leaseResultOf(StepOutcome outcome, std::optional<int> exitCode, const QString &workerError,
                          qint64 timeoutMs)
{
    if (outcome == StepOutcome::Exited && exitCode) {
        if (*exitCode == 0)
            return {LeaseState::Completed, StepState::Succeeded, {}};
        return {LeaseState::Completed, StepState::Failed, Tr::tr("exited with code %1").arg(*exitCode)};
    }
    if (outcome == StepOutcome::TimedOut)
        return {LeaseState::Failed, StepState::TimedOut, Tr::tr("timed out after %1").arg(formatDurationMs(timeoutMs))};
    if (outcome == StepOutcome::Cancelled)
        return {LeaseState::Cancelled, StepState::Cancelled, Tr::tr("cancelled")};
    // failed_to_start, crashed, any other outcome, and `exited` without a whole-number exitCode:
    // the step failed, and no exit code is known.
    if (!workerError.isEmpty())
        return {LeaseState::Failed, StepState::Failed, workerError};
    if (outcome == StepOutcome::Exited)
        return {LeaseState::Failed, StepState::Failed, Tr::tr("the worker reported an exit without an exit code")};
    return {LeaseState::Failed, StepState::Failed, Tr::tr("the step failed without an exit code")};
}

bool needsAttemptsGivenBack(const StepRecord &step, bool countAttempt)
{
    return countAttempt && step.attempt >= step.spec.maxAttempts;
}

StepRecord stepAfterLeaseEnded(StepRecord step, bool leaseStarted, const QString &reason, bool countAttempt,
                               int attemptsGivenBack, const QDateTime &now)
{
    if (isTerminal(step.state))
        return step;
    // `attempt` counts every dispatch (attempts started). maxAttempts bounds the ones that count:
    // a dispatch given back without counting (its lease ended `cancelled` while the step went on:
    // rejected, drain deadline, revocation, orchestrator stop) uses none up.
    const int spent = needsAttemptsGivenBack(step, countAttempt) ? step.attempt - attemptsGivenBack : step.attempt;
    if (step.cancelRequested) {
        step.state = StepState::Cancelled;
        step.error = Tr::tr("cancelled");
        step.finishedAt = now;
    } else if (step.spec.atMostOnce && leaseStarted) {
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
    }
    step.updatedAt = now;
    return step;
}

} // namespace Swamp
