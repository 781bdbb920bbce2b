#!/usr/bin/env bash
# Runs every swamp-bench scenario and the Celery+Redis peer RUNS times each (default 3) and writes
# the medians to bench/results/<date>.md, with the machine they ran on. Figures, never verdicts
# that fail a build: swamp-bench exits 1 only when a correctness check failed.
#
#   bench/run.sh                       # idle 10000, throughput 100 20000, storm 10000, query 100000,
#                                      # hostile 5000 1000
#   RUNS=5 IDLE=2000 bench/run.sh      # fewer workers, more runs
#   ONLY=fleet bench/run.sh            # only the PostgreSQL fleet rows (issue 9)
#   ONLY=hostile bench/run.sh          # only hostile 5000 1000 (issue 18: connections without a secret)
#   ONLY=graphile bench/run.sh         # only swamp vs graphile-worker on one PostgreSQL server
#   ONLY=soak bench/run.sh             # only the fleet soak (issue 20; opt-in, never part of 'all'):
#                                      # soak SOAK_WORKERS SOAK_STEPS (1000 20000) on PostgreSQL with
#                                      # SOAK_ORCHESTRATORS (3) orchestrators, through kills and restarts
#   ONLY=idle19k bench/run.sh          # only idle, storm and storm --crash at IDLE19K=19000 workers
#                                      # (issue 20: as many as the open-file limit allows; opt-in,
#                                      # about 15 minutes a run)
#
# When PostgreSQL is installed (pg_ctl in /usr/lib/postgresql/*/bin) it also runs the fleet rows:
# for each W:M of FLEET_SIZES (default "20:2000 100:5000"), throughput W M on SQLite, on
# PostgreSQL with one orchestrator and with two (--postgres: a server started by the bench,
# PostgreSQL's durable defaults; PG_SETTINGS="synchronous_commit=off ..." passes --pg-setting).
#
# When PostgreSQL, Node.js and npm are installed it also runs the graphile-worker peer: ONE
# PostgreSQL server for the whole bench (bench/pgserver.sh: durable defaults, as nobody through
# setpriv when root), and in each run `swamp-bench --database URL throughput W M` and
# bench/peers/graphile/graphile.sh (W workers, M jobs, PROBE idle jobs; GRAPHILE_BATCH=1000 per
# add_jobs, GRAPHILE_INFLIGHT=24 addJob calls in flight) against it, in alternating order.
# graphile-worker is installed from npm into ~/.cache/swamp-bench (see graphile.sh).
# SKIP_GRAPHILE=1 leaves it out.
#
# Installs the peer's Debian packages (redis-server, python3-celery, python3-redis) with apt-get
# when they are missing, and builds swamp and swamp-bench (RelWithDebInfo) into ${BUILD:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
runs=${RUNS:-3}
idle=${IDLE:-10000}
workers=${THROUGHPUT_WORKERS:-100}
steps=${THROUGHPUT_STEPS:-20000}
storm=${STORM:-10000}
records=${QUERY:-100000}
probe=${PROBE:-1000}
hostile=${HOSTILE:-5000}
hostile_workers=${HOSTILE_WORKERS:-1000}
idle19k=${IDLE19K:-19000}
only=${ONLY:-all}
fleet_sizes=${FLEET_SIZES:-20:2000 100:5000}
fleet_probe=${FLEET_PROBE:-$probe}
soak_workers=${SOAK_WORKERS:-1000}
soak_steps=${SOAK_STEPS:-20000}
soak_orchestrators=${SOAK_ORCHESTRATORS:-3}
pg_args=()
for setting in ${PG_SETTINGS:-}; do pg_args+=(--pg-setting "$setting"); done
have_pg=0
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && have_pg=1
case $only in all|fleet|hostile|graphile|soak|idle19k) ;;
    *) echo "ONLY is 'all', 'fleet', 'hostile', 'graphile', 'soak' or 'idle19k', not '$only'" >&2; exit 2 ;;
esac
if { [ "$only" = fleet ] || [ "$only" = graphile ] || [ "$only" = soak ]; } && [ $have_pg = 0 ]; then
    echo "ONLY=$only needs PostgreSQL: apt-get install postgresql (or scripts/install-deps.sh)" >&2
    exit 2
fi
graphile_batch=${GRAPHILE_BATCH:-1000}
graphile_inflight=${GRAPHILE_INFLIGHT:-24}
run_graphile=0
if [ "$only" = all ] || [ "$only" = graphile ]; then
    if [ "${SKIP_GRAPHILE:-0}" = 1 ]; then
        [ "$only" = all ] || { echo "ONLY=graphile and SKIP_GRAPHILE=1 leave nothing to run" >&2; exit 2; }
    elif [ $have_pg = 1 ] && command -v node >/dev/null && command -v npm >/dev/null; then
        run_graphile=1
    elif [ "$only" = graphile ]; then
        echo "ONLY=graphile needs Node.js 18 or newer and npm: apt-get install nodejs npm" >&2
        exit 2
    else
        echo "skipping the graphile-worker peer: it needs PostgreSQL, Node.js and npm" >&2
    fi
fi

missing=()
for p in redis-server python3-celery python3-redis; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [ "$only" = all ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=1
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build" --target swamp swamp-bench --parallel 2 >/dev/null
if [ $run_graphile = 1 ]; then
    graphile_status=0
    bench/peers/graphile/graphile.sh --install || graphile_status=$?
    if [ $graphile_status != 0 ]; then
        [ "$only" = all ] && [ $graphile_status = 77 ] || exit $graphile_status
        echo "skipping the graphile-worker peer (above: why)" >&2
        run_graphile=0
    fi
fi
if [ $run_graphile = 1 ]; then
    . bench/pgserver.sh
    pg_server_start
    trap pg_server_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi

date=$(date -u +%Y-%m-%d)
raw=bench/results/raw/$date-$(date -u +%H%M%S)
mkdir -p "$raw"
bench="$build/bench/swamp-bench/swamp-bench"
{
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "nofile=$(ulimit -Hn)"
    echo "build=$(grep -m1 CMAKE_BUILD_TYPE: "$build/CMakeCache.txt" | cut -d= -f2)"
    echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
    if [ $have_pg = 1 ]; then
        pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
        echo "postgres=$("$pgbin/postgres" --version)"
        echo "pg_settings=${PG_SETTINGS:-}"
    fi
} > "$raw/machine.env"

# swamp and graphile-worker on the one server of pg_server_start, the first of them alternating.
peer_pg_swamp() {
    local i=$1 before
    before=$(pg_server_cpu_ms)
    PGPASSWORD=$PG_SERVER_PASSWORD "$bench" --json "$raw/peer-pg-swamp-$i.json" --probe "$probe" \
        --database "$PG_SERVER_URL" throughput "$workers" "$steps" || status=1
    echo "{\"postgresCpuMs\": $(($(pg_server_cpu_ms) - before)), \"jobs\": $((steps + probe))}" \
        > "$raw/peer-pg-cpu-swamp-$i.json"
}
peer_pg_graphile() {
    PGPASSWORD=$PG_SERVER_PASSWORD bench/peers/graphile/graphile.sh "$PG_SERVER_URL" --pg-pid "$PG_SERVER_PID" \
        --workers "$workers" --jobs "$steps" --probe "$probe" --batch "$graphile_batch" \
        --inflight "$graphile_inflight" --json "$raw/peer-pg-graphile-$1.json" || status=1
}

status=0
for i in $(seq "$runs"); do
    echo "== run $i of $runs"
    if [ "$only" = all ]; then
        "$bench" --json "$raw/idle-$i.json" idle "$idle" || status=1
        "$bench" --json "$raw/throughput-$i.json" --probe "$probe" throughput "$workers" "$steps" || status=1
        "$bench" --json "$raw/storm-$i.json" storm "$storm" || status=1
        "$bench" --json "$raw/query-$i.json" query "$records" || status=1
        for mode in durable default; do
            /usr/bin/python3 bench/peers/celery/driver.py "$workers" "$steps" --probe "$probe" --mode "$mode" \
                > "$raw/celery-$mode-$i.json" || status=1
        done
    fi
    if [ "$only" = all ] || [ "$only" = hostile ]; then
        "$bench" --json "$raw/hostile-$i.json" hostile "$hostile" "$hostile_workers" || status=1
    fi
    if [ "$only" = soak ]; then
        "$bench" --json "$raw/soak-$i.json" --postgres "${pg_args[@]}" --orchestrators "$soak_orchestrators" \
            soak "$soak_workers" "$soak_steps" || status=1
    fi
    if [ "$only" = idle19k ]; then
        "$bench" --json "$raw/idle19k-idle-$i.json" idle "$idle19k" || status=1
        "$bench" --json "$raw/idle19k-storm-$i.json" storm "$idle19k" || status=1
        "$bench" --json "$raw/idle19k-crash-$i.json" --crash storm "$idle19k" || status=1
    fi
    if [ $run_graphile = 1 ]; then
        if ((i % 2)); then peer_pg_swamp "$i"; peer_pg_graphile "$i"; else peer_pg_graphile "$i"; peer_pg_swamp "$i"; fi
    fi
    if [ $have_pg = 1 ] && { [ "$only" = all ] || [ "$only" = fleet ]; }; then
        for size in $fleet_sizes; do
            w=${size%%:*} m=${size##*:}
            "$bench" --json "$raw/fleet-sqlite1-$w-$m-$i.json" --probe "$fleet_probe" throughput "$w" "$m" || status=1
            "$bench" --json "$raw/fleet-pg1-$w-$m-$i.json" --probe "$fleet_probe" --postgres "${pg_args[@]}" \
                throughput "$w" "$m" || status=1
            "$bench" --json "$raw/fleet-pg2-$w-$m-$i.json" --probe "$fleet_probe" --postgres "${pg_args[@]}" \
                --orchestrators 2 throughput "$w" "$m" || status=1
        done
    fi
done
report=bench/results/$date.md
[ "$only" = all ] || report=bench/results/$date-$only.md
/usr/bin/python3 bench/summarize.py "$raw" > "$report"
echo "wrote $report (raw figures in $raw)"
exit $status
