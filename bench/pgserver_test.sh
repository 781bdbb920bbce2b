#!/usr/bin/env bash
# bench/pgserver.sh (the one PostgreSQL server of bench/run.sh's graphile-worker step): it keeps
# PostgreSQL's durable defaults, listens on 127.0.0.1 only, gives a role with CREATEDB that logs
# in with PGPASSWORD while the password shows in no process's arguments nor in the server's log,
# counts the server's CPU, and is gone with its directory after pg_server_stop and after its
# caller is killed with SIGKILL (the watchdog). Exits 77 without PostgreSQL (skipped), unless
# SWAMP_REQUIRE_POSTGRES=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "PostgreSQL is not installed (apt-get install postgresql)"
    [ "${SWAMP_REQUIRE_POSTGRES:-0}" = 1 ] && exit 1
    exit 77
fi
. "$here/pgserver.sh"

not() {
    ! "$@"
}

fail() {
    echo "FAIL: $*"
    exit 1
}

# Whether a process runs (a zombie does not: in a container PID 1 may never reap the postmaster).
running() {
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Waits up to 30 s for a condition (a command) to hold.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 300); do
        "$@" && return 0
        sleep 0.1
    done
    fail "$what after 30 s"
}

trap pg_server_stop EXIT
pg_server_start >/dev/null
case $PG_SERVER_URL in
postgresql://bench@127.0.0.1:[0-9]*/postgres) echo "ok: $PG_SERVER_URL, without a password" ;;
*) fail "unexpected URL $PG_SERVER_URL" ;;
esac
psql() { PGPASSWORD=$PG_SERVER_PASSWORD "$PG_SERVER_BIN/psql" "$PG_SERVER_URL" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }
settings=$(psql "SELECT current_setting('fsync') || current_setting('full_page_writes') || current_setting('synchronous_commit') || ' ' || current_setting('listen_addresses')")
[ "$settings" = "ononon 127.0.0.1" ] || fail "fsync, full_page_writes, synchronous_commit, listen_addresses are '$settings'"
role=$(psql "SELECT rolcreatedb::text || ' ' || rolsuper::text FROM pg_roles WHERE rolname = current_user")
[ "$role" = "true false" ] || fail "the role has CREATEDB, superuser: '$role', not 'true false'"
echo "ok: durable defaults, 127.0.0.1 only, a role with CREATEDB that is not a superuser"
if ps -eo args | grep -F -- "$PG_SERVER_PASSWORD" | grep -v grep >/dev/null; then
    fail "the role's password is on a command line"
fi
if grep -rqF -- "$PG_SERVER_PASSWORD" "$PG_SERVER_DIR/postgres.log"; then
    fail "the role's password is in the server's log"
fi
echo "ok: the password is in no command line and not in the log"

before=$(pg_server_cpu_ms)
psql "SELECT count(*) FROM generate_series(1, 3000000)" >/dev/null
after=$(pg_server_cpu_ms)
[ "$after" -gt "$before" ] || fail "the server's CPU did not grow with a query: $before → $after ms"
echo "ok: the server's CPU counted ($before → $after ms)"

dir=$PG_SERVER_DIR pid=$PG_SERVER_PID
pg_server_stop
! running "$pid" || fail "the server (pid $pid) still runs after pg_server_stop"
[ ! -e "$dir" ] || fail "$dir is left after pg_server_stop"
echo "ok: pg_server_stop stops the server and removes $dir"

# A caller killed with SIGKILL: the watchdog stops its server and removes the directory.
state=$(mktemp)
trap 'rm -f "$state"' EXIT
bash -c '. "$1"; pg_server_start >/dev/null; echo "$PG_SERVER_DIR $PG_SERVER_PID" > "$2"; exec sleep 600' \
    caller "$here/pgserver.sh" "$state" &
caller=$!
wait_for "the caller did not start its server" test -s "$state"
read -r dir pid < "$state"
running "$pid" || fail "the caller's server is not running"
kill -KILL "$caller"
wait "$caller" 2>/dev/null || true
wait_for "the server (pid $pid) still runs after its caller was killed" not running "$pid"
wait_for "$dir is left after its caller was killed" test ! -e "$dir"
echo "ok: after SIGKILL of the caller the watchdog stops the server and removes $dir"
