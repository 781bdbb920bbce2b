#!/bin/sh
# Screenshots of swamp-console for the docs: starts a throwaway orchestrator with a few tokens,
# workers and steps, runs the console under Xvfb in English and German, and saves one PNG per
# tab into docs/images/ (the console's own --screenshot option, which uses QWidget::grab()), then
# stops the orchestrator and saves each tab again as it looks with the orchestrator lost.
#
# Usage: tools/console-screenshots.sh BUILD_DIR [OUTPUT_DIR]
# Builds nothing: BUILD_DIR must hold headless/swamp and console-gui/swamp-console.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [OUTPUT_DIR]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
out=${2:-$here/../docs/images}
mkdir -p "$out"
out=$(cd "$out" && pwd)
swamp=$build/headless/swamp
console=$build/console-gui/swamp-console
for binary in "$swamp" "$console"; do
    [ -x "$binary" ] || { echo "missing $binary — build it first" >&2; exit 1; }
done
command -v xvfb-run >/dev/null || { echo "xvfb-run not found — apt-get install -y xvfb" >&2; exit 1; }

tmp=$(mktemp -d)
pids=""
cleanup() {
    # Workers drain on SIGTERM; without an orchestrator they may wait, so SIGKILL follows.
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export SWAMP_DATA_DIR="$tmp/data"
# Settings of the screenshot runs stay out of the user's own.
export XDG_CONFIG_HOME="$tmp/config"

"$swamp" serve --listen 127.0.0.1:0 --data-dir "$SWAMP_DATA_DIR" >"$tmp/serve.log" 2>&1 &
pids="$pids $!"
url=""
for _ in $(seq 100); do
    url=$(sed -n 's/^Listening on \(ws:\/\/[^ ]*\) .*/\1/p' "$tmp/serve.log" | head -n 1)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "swamp serve did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }

token() { "$swamp" worker token create "$@" | head -n 1; }
worker() { # worker <token> <cache name> [args...]
    t=$1; name=$2; shift 2
    "$swamp" worker connect "$url" --token "$t" --cache-dir "$tmp/workers/$name" "$@" >"$tmp/$name.log" 2>&1 &
    last_pid=$!
    pids="$pids $last_pid"
}
wait_for() { # wait_for <file> <text>
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    return 1
}

ci=$(token ci-linux --duration 7d --max-enrollments 5 --label pool=ci)
gpu=$(token gpu-eu --duration 30d --max-enrollments unlimited --label region=eu --label gpu=a100)
token spare --duration 2h >/dev/null
old=$(token old-laptop --duration 24h)

for n in 1 2 3; do
    worker "$ci" "ci-$n" --concurrency 4
    wait_for "$tmp/ci-$n.log" "enrolled as"
done
worker "$gpu" gpu-1 --concurrency 2 --label rack=b7 --name gpu-a100-eu-west-01
wait_for "$tmp/gpu-1.log" "enrolled as"
"$swamp" worker pause gpu-a100-eu-west-01 >/dev/null   # shows up as paused
worker "$old" laptop
wait_for "$tmp/laptop.log" "enrolled as"
kill -9 "$last_pid"   # shows up as disconnected
"$swamp" worker token revoke old-laptop --reason "laptop returned to IT" >/dev/null

# Steps for the Steps tab: results of each kind, one waiting for a worker nobody has, long ones
# so that slots are in use, and last (the one selected) one that writes output as it runs.
run() { "$swamp" run --detach "$@" 2>/dev/null | head -n 1; }
run --label pool=ci --name checkout --shell -- 'echo "fetching origin/main"; echo "HEAD is now at 4f2c9e1"' >/dev/null
run --label pool=ci --name integration-tests --shell -- \
    'echo "running 48 tests"; echo "test_upload: connection refused (127.0.0.1:9000)" >&2; exit 2' >/dev/null
doomed=$(run --label pool=ci --name nightly-bench -- sleep 300)
run --label region=us --name release-macos --queue-timeout 2h -- make release >/dev/null
for n in 1 2; do
    run --label pool=ci --name "soak-$n" -- sleep 600 >/dev/null
done
run --label gpu=a100 --name train-resnet -- sleep 600 >/dev/null
sleep 0.5
[ -n "$doomed" ] && "$swamp" run cancel "$doomed" >/dev/null 2>&1 || true
run --label pool=ci --name build-linux --shell -- \
    'for i in $(seq 1 60); do echo "[$i/60] compiling src/module$i.cpp"; [ $((i % 4)) = 0 ] && echo "src/module$i.cpp:12: warning: unused variable ‘n’" >&2; sleep 0.2; done' >/dev/null
sleep 1

# Both languages at once: each console saves its tabs while connected, then waits; once both
# have, the orchestrator stops and each saves the tabs again as they show a lost orchestrator.
serve_pid=$(echo $pids | cut -d' ' -f1)
for lang in en de; do
    xvfb-run -a -s "-screen 0 1400x900x24" \
        "$console" --lang "$lang" --screenshot "$out" --screenshot-lost >"$tmp/console-$lang.log" 2>&1 &
    eval "console_$lang=$!"
    sleep 1 # xvfb-run -a picks a free display: one at a time
done
for lang in en de; do
    for _ in $(seq 300); do
        [ "$(grep -c '\.png$' "$tmp/console-$lang.log" 2>/dev/null)" -ge 6 ] && break
        sleep 0.1
    done
done
kill "$serve_pid"
status=0
for lang in en de; do
    eval "pid=\$console_$lang"
    wait "$pid" || { echo "swamp-console --screenshot failed ($lang):" >&2; cat "$tmp/console-$lang.log" >&2; status=1; }
    cat "$tmp/console-$lang.log"
done
exit $status
