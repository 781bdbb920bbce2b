#pragma once

#include "model/step.h"

#include <QDateTime>
#include <QString>

#include <optional>

// The lease rules of SPEC §5 as pure functions: what a step and its lease become when the lease
// ends, with a result from the worker (`finished`) or without one (the worker lost, the lease
// expired or given back). The scheduler applies them; tests/unit/tst_leaserules.cpp checks them
// without a database or a socket.
namespace Swamp {

// How a step's process ended, as the worker reports it (the `outcome` of a `finished` frame).
enum class StepOutcome { Exited, TimedOut, Cancelled, FailedToStart, Crashed, Unknown };
QString stepOutcomeName(StepOutcome outcome); // "exited", ...; empty for Unknown
StepOutcome stepOutcomeFromName(const QString &name);

// What a `finished` result makes of the lease and its step.
struct LeaseResult
{
    LeaseState lease = LeaseState::Failed;
    StepState step = StepState::Failed;
    QString error; // the step's (and the lease's) error; empty for a success
};
// `exitCode`: only with Exited (the codec's rule). Exited with a code: completed, the step
// succeeded (0) or failed; timed out, cancelled: so; any other outcome, and Exited without a
// code: failed with no exit code, the worker's `error` if it gave one. `timeoutMs`: the step's,
// for the message.
LeaseResult leaseResultOf(StepOutcome outcome, std::optional<int> exitCode, const QString &workerError,
                          qint64 timeoutMs);

// Whether stepAfterLeaseEnded() needs to know how many of the step's dispatches were given back
// (a query): only when the lease counts an attempt and the step has used up its attempts.
bool needsAttemptsGivenBack(const StepRecord &step, bool countAttempt);

// The step once one of its leases ended without a result, for `reason` ("worker lost", ...):
// cancelled if an operator asked for it; failed if it is at most once and its process started;
// failed if the lease counts an attempt and none is left (`attemptsGivenBack` of the step's
// dispatches ended `cancelled` and count for nothing); else queued again for another worker.
// A terminal step is returned as it is.
StepRecord stepAfterLeaseEnded(StepRecord step, bool leaseStarted, const QString &reason, bool countAttempt,
                               int attemptsGivenBack, const QDateTime &now);

} // namespace Swamp
