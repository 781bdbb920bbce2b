#!/usr/bin/env bash
# The README's first command: installs only what the demo needs (scripts/install-deps.sh --demo),
# builds only the `swamp` binary (scripts/build.sh --demo), then runs the main job on this
# machine: an orchestrator on loopback (embedded SQLite in its own data dir), one enrollment
# token, one worker with a stable cache dir, `swamp worker list` showing it, and a real step run
# on it. Keeps both running until Ctrl-C, then stops them cleanly.
#   SWAMP_DEMO_ONESHOT=1       stop both and exit (with the step's exit code) after the step's output
#   SWAMP_DEMO_BINARY=PATH     run this swamp binary (e.g. /usr/bin/swamp); install and build nothing
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${SWAMP_DEMO_BINARY:-}" ]; then
    swamp=$SWAMP_DEMO_BINARY
else
    scripts/install-deps.sh --demo
    scripts/build.sh --demo
    swamp="$PWD/${SWAMP_BUILD_DIR:-build}/headless/swamp"
fi
work=$(mktemp -d -t swamp-demo.XXXXXX)
export SWAMP_DATA_DIR="$work/data"
serve_pid="" worker_pid=""
# Ctrl-C (or TERM) is the way to end the demo: exit 0; otherwise the demo's own exit code.
stop() {
    local rc=$1
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    echo "orchestrator and worker stopped; their files are in $work"
    exit "$rc"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

# Waits until the log of a process shows a line, for up to a minute (a busy machine starts slowly);
# fails with the log when the process exits first or the minute runs out.
wait_for() {
    local pattern=$1 log=$2 pid=$3
    for _ in $(seq 600); do
        grep -q "$pattern" "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "error: no \"$pattern\" from the process logging to $log:" >&2
    cat "$log" >&2
    return 1
}

echo "== swamp serve (data in $SWAMP_DATA_DIR)"
"$swamp" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve_pid=$!
wait_for '^Listening on' "$work/serve.log" "$serve_pid"
grep -m1 '^Listening on' "$work/serve.log"
url=$(sed -n 's/^Listening on \(ws[^ ]*\).*/\1/p' "$work/serve.log" | head -1)

echo "== swamp worker token create demo"
# The token is the first line of stdout (the summary goes to stderr).
created=$("$swamp" worker token create demo --duration 1d)
token=${created%%$'\n'*}
echo "${token%%.*}.<secret hidden>"

echo "== swamp worker connect $url --token <token> --cache-dir $work/worker"
"$swamp" worker connect "$url" --token "$token" --cache-dir "$work/worker" >"$work/worker.log" 2>&1 &
worker_pid=$!
wait_for 'enrolled as' "$work/worker.log" "$worker_pid"
cat "$work/worker.log"

echo "== swamp worker list"
"$swamp" worker list

echo "== swamp run -- uname -a"
"$swamp" run -- uname -a

if [ "${SWAMP_DEMO_ONESHOT:-0}" = 1 ]; then
    exit 0
fi
echo
echo "Running. The orchestrator logs to $work/serve.log. Try (in another shell):"
echo "  SWAMP_DATA_DIR=$SWAMP_DATA_DIR $swamp worker list"
echo "Press Ctrl-C to stop both."
wait "$serve_pid"
