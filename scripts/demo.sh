#!/usr/bin/env bash
# The README's first command: installs, builds, then runs the main job on this machine:
# an orchestrator on loopback (embedded SQLite in its own data dir), one enrollment token,
# one worker with a stable cache dir, `swamp worker list` showing it, and a real step run on it.
# Keeps both running until Ctrl-C, then stops them cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
swamp="$PWD/${SWAMP_BUILD_DIR:-build}/headless/swamp"
work=$(mktemp -d -t swamp-demo.XXXXXX)
export SWAMP_DATA_DIR="$work/data"
serve_pid="" worker_pid=""
stop() {
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    echo "orchestrator and worker stopped; their files are in $work"
}
trap stop INT TERM EXIT

echo "== swamp serve (data in $SWAMP_DATA_DIR)"
"$swamp" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q '^Listening on' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
head -1 "$work/serve.log"
url=$(sed -n 's/^Listening on \([^ ]*\) .*/\1/p' "$work/serve.log")

echo "== swamp worker token create demo"
token=$("$swamp" worker token create demo --duration 1d | head -1)
echo "${token%%.*}.<secret hidden>"

echo "== swamp worker connect $url --token <token> --cache-dir $work/worker"
"$swamp" worker connect "$url" --token "$token" --cache-dir "$work/worker" >"$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 100); do grep -q 'enrolled as' "$work/worker.log" 2>/dev/null && break; sleep 0.1; done
cat "$work/worker.log"

echo "== swamp worker list"
"$swamp" worker list

if "$swamp" run --help >/dev/null 2>&1; then
    echo "== swamp run -- uname -a"
    "$swamp" run -- uname -a
fi

echo
echo "Running. The orchestrator logs to $work/serve.log. Try (in another shell):"
echo "  SWAMP_DATA_DIR=$SWAMP_DATA_DIR $swamp worker list"
echo "Press Ctrl-C to stop both."
wait "$serve_pid"
