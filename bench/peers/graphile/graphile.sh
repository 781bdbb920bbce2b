#!/usr/bin/env bash
# graphile-worker (the PostgreSQL job queue on npm) on swamp-bench's no-op workload, against a
# PostgreSQL server given by its URL: batched adds (add_jobs), adds one at a time with some in
# flight, and the idle add→start latency. See driver.js for what is measured and
# bench/README.md "Peers: graphile-worker"; bench/run.sh runs it beside swamp on one server.
#
#   bench/peers/graphile/graphile.sh postgresql://bench@127.0.0.1:5432/postgres \
#       [--workers 100] [--jobs 20000] [--batch 1000] [--inflight 24] [--probe 1000] \
#       [--json FILE] [--pg-pid PID] [--keep]
#   bench/peers/graphile/graphile.sh --install     # only install graphile-worker (run.sh does)
#
# The role needs CREATEDB (a database per run, dropped afterwards unless --keep); its password
# comes from PGPASSWORD or ~/.pgpass, never from the URL. --pg-pid (the postmaster's pid, on this
# machine) adds PostgreSQL's CPU per job.
#
# graphile-worker is pinned (GRAPHILE_WORKER_VERSION below, with its pg) and installed from the
# npm registry on first use into ${XDG_CACHE_HOME:-~/.cache}/swamp-bench/graphile-<version>
# (GRAPHILE_CACHE overrides the directory), outside the repository. Needs Node.js 18 or newer and
# npm. Exits 77 when they or the registry are missing (bench/run.sh then skips this peer), 1 when
# a check failed, 2 on a usage error.
set -euo pipefail
GRAPHILE_WORKER_VERSION=0.16.6
PG_VERSION=8.23.1
here=$(cd "$(dirname "$0")" && pwd)
cache=${GRAPHILE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swamp-bench/graphile-$GRAPHILE_WORKER_VERSION}

missing() {
    echo "graphile: $1" >&2
    exit 77
}

command -v node >/dev/null ||
    missing "Node.js is not installed: apt-get install nodejs (Node 18 or newer), or see https://nodejs.org"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] ||
    missing "graphile-worker $GRAPHILE_WORKER_VERSION needs Node.js 18 or newer for this bench; $(command -v node) is $(node --version)"

installed() {
    [ "$(node -p 'require(process.argv[1]).version' "$cache/node_modules/graphile-worker/package.json" 2>/dev/null)" = \
        "$GRAPHILE_WORKER_VERSION" ]
}

# Into a directory of its own first, moved into place once complete: an install cut short (no
# network, Ctrl-C) is never taken for a good one.
install() {
    command -v npm >/dev/null ||
        missing "npm is not installed: apt-get install npm (it installs graphile-worker $GRAPHILE_WORKER_VERSION into $cache)"
    local staging log
    mkdir -p "$(dirname "$cache")"
    staging=$(mktemp -d "$cache.partial-XXXXXX")
    log=$staging/npm.log
    echo "installing graphile-worker@$GRAPHILE_WORKER_VERSION and pg@$PG_VERSION from $(npm config get registry) into $cache"
    if ! (cd "$staging" && echo '{"private": true}' > package.json &&
        npm install --no-audit --no-fund --omit=dev --save-exact \
            "graphile-worker@$GRAPHILE_WORKER_VERSION" "pg@$PG_VERSION") >"$log" 2>&1; then
        local why
        why=$(grep -m3 -E "^npm (ERR|error)" "$log" | sed 's/^/  /' || true)
        rm -rf "$staging"
        missing "cannot install graphile-worker@$GRAPHILE_WORKER_VERSION from the npm registry ($(npm config get registry)):
$why
  check the network and npm's proxy settings (npm config get proxy / https-proxy), or install it by hand:
  mkdir -p $cache && cd $cache && npm install graphile-worker@$GRAPHILE_WORKER_VERSION pg@$PG_VERSION"
    fi
    rm -f "$log"
    rm -rf "$cache"
    mv "$staging" "$cache"
}

installed || install
if [ "${1:-}" = --install ]; then
    exit 0
fi
# graphile-worker logs every completed job unless told not to (driver.js also drops info lines).
NODE_PATH="$cache/node_modules" NO_LOG_SUCCESS=1 exec node "$here/driver.js" "$@"
