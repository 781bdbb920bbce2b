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

} // namespace SwampBench
