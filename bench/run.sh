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
#
# When PostgreSQL is installed (pg_ctl in /usr/lib/postgresql/*/bin) it also runs the fleet rows:
# for each W:M of FLEET_SIZES (default "20:2000 100:5000"), throughput W M on SQLite, on
# PostgreSQL with one orchestrator and with two (--postgres: a server started by the bench,
# PostgreSQL's durable defaults; PG_SETTINGS="synchronous_commit=off ..." passes --pg-setting).
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
only=${ONLY:-all}
fleet_sizes=${FLEET_SIZES:-20:2000 100:5000}
fleet_probe=${FLEET_PROBE:-$probe}
pg_args=()
for setting in ${PG_SETTINGS:-}; do pg_args+=(--pg-setting "$setting"); done
have_pg=0
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null && have_pg=1
case $only in all|fleet|hostile) ;; *) echo "ONLY is 'all', 'fleet' or 'hostile', not '$only'" >&2; exit 2 ;; esac
if [ "$only" = fleet ] && [ $have_pg = 0 ]; then
    echo "ONLY=fleet needs PostgreSQL: apt-get install postgresql (or scripts/install-deps.sh)" >&2
    exit 2
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
    if [ $have_pg = 1 ] && [ "$only" != hostile ]; then
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
