#!/usr/bin/env bash
# End-to-end `swamp data query` over a store of 100,000 steps and 100,000 leases (plus runs):
# seeds a fresh data dir, starts a real orchestrator on 127.0.0.1, and times whole CLI processes
# (connect, query, print) with /usr/bin/time-like repetition. Usage: bench/query-e2e.sh [build-dir] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
steps=${2:-100000}
work=$(mktemp -d -t swamp-bench-query.XXXXXX)
trap 'kill "$serve" 2>/dev/null; wait "$serve" 2>/dev/null; rm -rf "$work"' EXIT
"$build/bench/seed/swamp-bench-seed" "$work/data" "$steps"
export SWAMP_DATA_DIR="$work/data"
"$build/headless/swamp" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do grep -q '^Listening on' "$work/serve.log" && break; sleep 0.1; done
run() {
    local label=$1; shift
    local best=999999 total=0 n=5
    for _ in $(seq $n); do
        local start end ms
        start=$(date +%s%N)
        "$build/headless/swamp" data query "$@" --json >/dev/null
        end=$(date +%s%N)
        ms=$(( (end - start) / 1000000 ))
        total=$(( total + ms )); (( ms < best )) && best=$ms
    done
    printf '%-60s best %5d ms  mean %5d ms\n' "$label" "$best" "$(( total / n ))"
}
run "selective, pushed down (failed steps: 5%)" 'modelType == "swamp/step" && attributes.state == "failed"'
run "selective, not pushed down (failed steps in eu)" 'modelType == "swamp/step" && attributes.labels.region == "eu" && attributes.exitCode == 2'
run "active leases (none)" 'modelType == "swamp/step-lease" && attributes.state == "active"'
run "workers" 'modelType == "swamp/worker"'
