#pragma once

#include "common/result.h"

namespace Swamp {
class Store;
}

namespace SwampBench {

// Fills `store` with `steps` finished steps, one lease each, 100 steps per run (90% succeeded,
// 5% failed with exit code 2, 5% timed out; labels region=eu/us alternating; workers ci-0..49),
// in one transaction. For measuring `swamp data query` over a large, realistic store.
Swamp::Result<void> seedFinishedSteps(Swamp::Store &store, int steps);

// Fills `store` with what a busy orchestrator leaves when it stops: `active` steps dispatched to
// workers ci-0..49 (half of them running) with one active lease each, then `queued` queued steps,
// 100 steps per run, each with a four-word command, two environment variables and two labels
// (region=eu/us alternating, pool=ci), a queue timeout of a day. The leases name no orchestrator
// that is alive, so the next `swamp serve` expires them all. In one transaction.
Swamp::Result<void> seedOpenSteps(Swamp::Store &store, int queued, int active);

} // namespace SwampBench
