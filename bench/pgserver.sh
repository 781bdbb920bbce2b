# Sourced by bench/run.sh: one PostgreSQL server that swamp and a peer (graphile-worker) both run
# on, so that they meet the same server, the same settings and the same disk in the same run.
#
# What the tests' fixture (tests/support/pgserver.*) does, in shell: the newest
# /usr/lib/postgresql/<version>/bin, initdb into a directory under /tmp, run as `nobody` through
# setpriv when root (PostgreSQL refuses root; SWAMP_TEST_POSTGRES_USER picks another account),
# listening only on 127.0.0.1 at a free port, SCRAM passwords over TCP. Unlike the fixture it
# keeps PostgreSQL's durable defaults (fsync, full_page_writes and synchronous_commit on), and
# checks that they are on. The only setting changed is max_connections (100 → 200): a
# graphile-worker process with concurrency 100 holds 101 connections and its adder 24 more.
#
#   pg_server_start       sets PG_SERVER_URL (postgresql://bench@127.0.0.1:<port>/postgres, no
#                         password), PG_SERVER_PASSWORD (the role's, for PGPASSWORD: never on a
#                         command line, never printed), PG_SERVER_PID (the postmaster),
#                         PG_SERVER_VERSION; the role `bench` has CREATEDB (each run makes its
#                         own database)
#   pg_server_stop        stops it and removes its directory (also done by a watchdog when the
#                         caller dies without stopping it: SIGKILL)
#   pg_server_cpu_ms      CPU the server used so far (postmaster, backends alive and reaped), ms

pg_server_fail() {
    echo "pgserver: $*" >&2
    return 1
}

# Runs a PostgreSQL tool as the server's user, in the server's directory, without the caller's
# PG* variables or ~/.psqlrc.
pg_server_run() {
    local tool=$1
    shift
    (cd "$PG_SERVER_DIR" && env $(env | awk -F= '/^PG/ {printf "-u %s ", $1}') HOME="$PG_SERVER_DIR" LC_ALL=C \
        "${PG_SERVER_AS[@]}" "$PG_SERVER_BIN/$tool" "$@")
}

pg_server_sql() { # SQL on stdin, as the superuser over the private socket
    pg_server_run psql -h "$PG_SERVER_DIR" -p "$PG_SERVER_PORT" -U bench_admin -d postgres \
        -X -q -A -t -v ON_ERROR_STOP=1
}

pg_server_secret() {
    head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24
}

pg_server_account() {
    PG_SERVER_AS=()
    [ "$(id -u)" -eq 0 ] || return 0
    local user=${SWAMP_TEST_POSTGRES_USER:-nobody} uid gid
    uid=$(id -u "$user" 2>/dev/null) && gid=$(id -g "$user" 2>/dev/null) && [ "$uid" -ne 0 ] ||
        pg_server_fail "PostgreSQL refuses to run as root and there is no unprivileged account '$user'" \
            "to run it as: create one or set SWAMP_TEST_POSTGRES_USER" || return 1
    command -v setpriv >/dev/null || pg_server_fail "setpriv is missing (apt-get install util-linux)" || return 1
    PG_SERVER_AS=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
    chown "$uid:$gid" "$PG_SERVER_DIR"
}

pg_server_initdb() {
    local pwfile=$PG_SERVER_DIR/superuser-password
    (umask 077 && pg_server_secret > "$pwfile")
    [ ${#PG_SERVER_AS[@]} -eq 0 ] || chown "$(stat -c %u:%g "$PG_SERVER_DIR")" "$pwfile"
    local out
    if ! out=$(pg_server_run initdb --pgdata="$PG_SERVER_DIR/data" --username=bench_admin --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C --no-instructions 2>&1); then
        rm -f "$pwfile"
        pg_server_fail "initdb failed: $(tail -5 <<<"$out")"
        return 1
    fi
    rm -f "$pwfile"
    printf "\n# bench/pgserver.sh\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\n" \
        "$PG_SERVER_DIR" >> "$PG_SERVER_DIR/data/postgresql.conf"
}

# pg_ctl start on a port that was free a moment ago; another process may take it first: retry.
pg_server_listen() {
    local attempt out
    for attempt in 1 2 3 4 5; do
        PG_SERVER_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        if out=$(pg_server_run pg_ctl --pgdata="$PG_SERVER_DIR/data" --log="$PG_SERVER_DIR/postgres.log" \
            --options="-c port=$PG_SERVER_PORT" --wait --timeout=120 start 2>&1); then
            return 0
        fi
        grep -qE "could not bind|already in use" "$PG_SERVER_DIR/postgres.log" 2>/dev/null || break
    done
    pg_server_fail "PostgreSQL did not start (pg_ctl start): $(tail -5 <<<"$out") $(tail -5 "$PG_SERVER_DIR/postgres.log" 2>/dev/null)"
}

# Stops the server when the caller dies without pg_server_stop (SIGKILL): in a session of its own,
# so that a Ctrl-C to the caller's process group does not end it first.
pg_server_watchdog() {
    setsid bash -c 'tail --pid="$1" -f /dev/null; dir=$2 bin=$3; shift 3
        (cd "$dir" && "$@" "$bin/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait stop); rm -rf "$dir"' \
        pgserver-watchdog "$$" "$PG_SERVER_DIR" "$PG_SERVER_BIN" "${PG_SERVER_AS[@]}" </dev/null >/dev/null 2>&1 &
    PG_SERVER_WATCHDOG=$!
}

pg_server_check_durable() {
    local values
    values=$(pg_server_sql <<<"SELECT current_setting('fsync') || ' ' || current_setting('full_page_writes') || ' '
        || current_setting('synchronous_commit');") || return 1
    [ "$values" = "on on on" ] ||
        pg_server_fail "fsync, full_page_writes, synchronous_commit are '$values', not 'on on on'"
}

pg_server_start() {
    PG_SERVER_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$PG_SERVER_BIN" ] && [ -x "$PG_SERVER_BIN/initdb" ] ||
        pg_server_fail "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb):" \
            "apt-get install postgresql (or scripts/install-deps.sh)" || return 1
    PG_SERVER_DIR=$(mktemp -d /tmp/swamp-bench-pg-XXXXXX)
    pg_server_account && pg_server_initdb && pg_server_listen || { rm -rf "$PG_SERVER_DIR"; return 1; }
    pg_server_watchdog
    PG_SERVER_PID=$(head -1 "$PG_SERVER_DIR/data/postmaster.pid")
    PG_SERVER_PASSWORD=$(pg_server_secret)
    pg_server_sql <<<"CREATE ROLE bench LOGIN CREATEDB PASSWORD '$PG_SERVER_PASSWORD';" >/dev/null &&
        pg_server_check_durable || { pg_server_stop; return 1; }
    PG_SERVER_VERSION=$("$PG_SERVER_BIN/postgres" --version)
    PG_SERVER_URL="postgresql://bench@127.0.0.1:$PG_SERVER_PORT/postgres"
    echo "PostgreSQL ($PG_SERVER_BIN) on 127.0.0.1:$PG_SERVER_PORT, fsync=on, full_page_writes=on," \
        "synchronous_commit=on, max_connections=200"
}

pg_server_stop() {
    [ -n "${PG_SERVER_DIR:-}" ] || return 0
    [ -z "${PG_SERVER_WATCHDOG:-}" ] || kill "$PG_SERVER_WATCHDOG" 2>/dev/null || true
    [ ! -d "$PG_SERVER_DIR/data" ] ||
        pg_server_run pg_ctl --pgdata="$PG_SERVER_DIR/data" --mode=fast --wait stop >/dev/null 2>&1 || true
    rm -rf "$PG_SERVER_DIR"
    PG_SERVER_DIR="" PG_SERVER_WATCHDOG=""
}

# /proc/<pid>/stat after the command name: field 12 utime, 13 stime, 14 cutime, 15 cstime (ticks).
# The postmaster reaps every backend, so its cutime/cstime hold the CPU of those that ended.
pg_server_cpu_ms() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v parent="$PG_SERVER_PID" -v ticks="$(getconf CLK_TCK)" '
        { pid = $1; sub(/^.*\) /, ""); split($0, f, " ") }
        pid == parent { sum += f[12] + f[13] + f[14] + f[15] }
        f[2] == parent { sum += f[12] + f[13] }
        END { printf "%.0f\n", sum * 1000 / ticks }'
}
