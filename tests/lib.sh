# Shared helpers for integration tests (sourced, not run).
#
# A test script sources this file, calls the helpers, and exits non-zero
# through `fail` on the first broken expectation. The sandbox servers are
# started by tests/run-tests.sh; ports derive from SANDBOX_PORT_BASE so
# two runs can coexist.
#   source    SANDBOX_PORT_BASE      agent     SANDBOX_PORT_BASE + 10
#   dest      SANDBOX_PORT_BASE + 1  health    SANDBOX_PORT_BASE + 11
#                                    mock      SANDBOX_PORT_BASE + 12
#                                    router    SANDBOX_PORT_BASE + 13 (status + 14)
#                                    metrics   SANDBOX_PORT_BASE + 15 (agent), + 16 (router)
#                                    prometheus SANDBOX_PORT_BASE + 17 (test_prometheus)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$REPO/build
export SANDBOX_DIR=${SANDBOX_DIR:-$REPO/.sandbox}
export SANDBOX_PORT_BASE=${SANDBOX_PORT_BASE:-23306}
SOURCE_PORT=$SANDBOX_PORT_BASE
DEST_PORT=$((SANDBOX_PORT_BASE + 1))
AGENT_PORT=$((SANDBOX_PORT_BASE + 10))
HEALTH_PORT=$((SANDBOX_PORT_BASE + 11))
MOCK_PORT=$((SANDBOX_PORT_BASE + 12))
ROUTER_PORT=$((SANDBOX_PORT_BASE + 13))
ROUTER_STATUS_PORT=$((SANDBOX_PORT_BASE + 14))
METRICS_PORT=$((SANDBOX_PORT_BASE + 15))
ROUTER_METRICS_PORT=$((SANDBOX_PORT_BASE + 16))
AGENT_ADDR=127.0.0.1:$AGENT_PORT
PASSWORD_FILE=$SANDBOX_DIR/agent.pass
TEST_NAME=$(basename "${0%.sh}")
WORK=${TEST_WORK:-$BUILD/test-work}/$TEST_NAME
AGENT_PID=
AGENT_LOG=$WORK/agent.log
mkdir -p "$WORK"

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    [ -n "$AGENT_PID" ] && [ -f "$AGENT_LOG" ] && { echo "--- agent log (tail) ---" >&2; tail -20 "$AGENT_LOG" >&2; }
    exit 1
}
pass() { echo "ok   [$TEST_NAME] $*"; }
note() { echo "     [$TEST_NAME] $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; } # seconds since a now

sandbox() { "$REPO/tests/sandbox.sh" "$@"; }
sql_source() { sandbox sql source -N -B "$@"; }
sql_dest() { sandbox sql dest -N -B "$@"; }
cpctl() { "$BUILD/cpctl" --agent "$AGENT_ADDR" "$@"; }

assert_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in: $1"; }
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "$3: '$2' must not appear in: $1"; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 100 ms.
wait_for() {
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "timed out after ${limit}s waiting for: $what"
}

# start_agent [extra flags...]: run the agent against the sandbox source.
start_agent() {
    mkdir -p "$WORK/state"
    ${TABLET_AGENT_WRAP:-} "${TABLET_AGENT_BIN:-$BUILD/tablet-agent}" --listen="$AGENT_ADDR" --source-host=127.0.0.1 --source-port="$SOURCE_PORT" \
        --source-user=agent --source-password-file="$PASSWORD_FILE" --state-dir="$WORK/state" \
        --probe-interval-ms=500 --endpoint-password-dirs="$SANDBOX_DIR" "$@" >>"$AGENT_LOG" 2>&1 &
    AGENT_PID=$!
    wait_for 10 "agent answers" cpctl status
}

stop_agent() {
    [ -n "$AGENT_PID" ] || return 0
    kill -TERM "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=
}

kill9_agent() {
    [ -n "$AGENT_PID" ] || return 0
    kill -KILL "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=
}

trap 'stop_agent' EXIT

# ---- router helpers ------------------------------------------------------

ROUTER_PID=
ROUTER_LOG=$WORK/router.log
# Debian's python3: the one on PATH may be a build that misses python3-pymysql.
PY=/usr/bin/python3

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_router [flags...]: tablet-router for applications on ROUTER_PORT
# (status on ROUTER_STATUS_PORT); later flags override these.
start_router() {
    "${TABLET_ROUTER_BIN:-$BUILD/tablet-router}" --listen="127.0.0.1:$ROUTER_PORT" \
        --status-listen="127.0.0.1:$ROUTER_STATUS_PORT" "$@" >>"$ROUTER_LOG" 2>&1 &
    ROUTER_PID=$!
    wait_for 10 "the router listens on $ROUTER_PORT" port_open "$ROUTER_PORT"
}

stop_router() {
    [ -n "$ROUTER_PID" ] || return 0
    kill -TERM "$ROUTER_PID" 2>/dev/null || true
    wait "$ROUTER_PID" 2>/dev/null || true
    ROUTER_PID=
}

# router_on_rules WORKFLOW ROUTER_ID: the control plane has rules for
# WORKFLOW and the router reported applying their current version.
router_on_rules() {
    cpctl --json routing "$1" | jq -e --arg id "$2" \
        '.version as $v | $v > 0 and any(.routers[]?; .router_id == $id and .applied_version == $v)' >/dev/null
}

# The sandbox's application account (app) for the router, with its password
# in a file for sql_writer: app_router_account ACCOUNTS_FILE PASSWORD_FILE.
app_router_account() {
    printf 'app %s\n' "$(sql_source -e "SELECT PASSWORD('$APP_PASSWORD')")" >"$1"
    (umask 077 && printf '%s\n' "$APP_PASSWORD" >"$2")
}

# The mariadb CLI through the router: via_router USER PASSWORD [args...].
via_router() {
    local u=$1 p=$2
    shift 2
    mariadb -h127.0.0.1 -P"$ROUTER_PORT" -u"$u" -p"$p" -N -B "$@"
}

# A router account for an application account on both servers, created
# without binary logging so no stream carries it: router_account USER PASSWORD GRANTS_ON...
router_account() {
    local u=$1 p=$2 n db
    shift 2
    for n in source dest; do
        sandbox sql $n -e "SET sql_log_bin = 0; DROP USER IF EXISTS '$u'@'127.0.0.1';
            CREATE USER '$u'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('$p')"
        for db in "$@"; do
            sandbox sql $n -e "SET sql_log_bin = 0; GRANT ALL PRIVILEGES ON \`$db\`.* TO '$u'@'127.0.0.1'"
        done
    done
    echo "$u $(sql_source -e "SELECT PASSWORD('$p')")"
}

status_json() { cpctl --json status; }
source_gtid() { sql_source -e "SELECT @@gtid_binlog_pos"; }

# ---- replication helpers ---------------------------------------------------

APP_USER=app
APP_PASSWORD=app-password

# sysbench against the source as the application user: sb PHASE [options].
sb() {
    local phase=$1
    shift
    sysbench oltp_write_only --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$SOURCE_PORT" \
        --mysql-user=$APP_USER --mysql-password=$APP_PASSWORD --mysql-db=sbtest "$@" "$phase"
}

# The agent's account on a server, as cpctl endpoint options: endpoint_opts ROLE PORT.
endpoint_opts() {
    echo "--$1-host 127.0.0.1 --$1-port $2 --$1-user agent --$1-password-file $PASSWORD_FILE"
}

stream_json() { cpctl --json stream status "$1"; }
stream_field() { stream_json "$1" | jq -r "$2"; }

# wait_stream_at NAME GTID [SECONDS]: the stream has applied GTID.
wait_stream_at() {
    local name=$1 want=$2 limit=${3:-30}
    at() { [ "$(stream_field "$name" .applied.gtid)" == "$want" ]; }
    wait_for "$limit" "stream $name at $want (now $(stream_field "$name" .applied.gtid 2>/dev/null))" at
}

# checksums_equal DB TABLE...: CHECKSUM TABLE agrees on both servers.
checksums_equal() {
    local db=$1 t a b q
    shift
    for t in "$@"; do
        q="\`${db//\`/\`\`}\`.\`${t//\`/\`\`}\`"
        a=$(sql_source -e "CHECKSUM TABLE $q" | cut -f2)
        b=$(sql_dest -e "CHECKSUM TABLE $q" | cut -f2)
        [ -n "$a" ] && [ "$a" == "$b" ] || fail "checksum of $db.$t differs: source $a, dest $b"
    done
}

# ---- cutover helpers ------------------------------------------------------

export CPCTL_CONTROL_PLANE=127.0.0.1:$MOCK_PORT
MOCK_PID=

# start_control_plane: the control-plane mock (cpctl serve), no rules yet.
start_control_plane() {
    rm -f "$WORK/routing.tsv"
    "$BUILD/cpctl" --agent "$AGENT_ADDR" serve --listen "$CPCTL_CONTROL_PLANE" --state "$WORK/routing.tsv" >"$WORK/control-plane.log" 2>&1 &
    MOCK_PID=$!
}
stop_control_plane() {
    [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
    MOCK_PID=
    return 0
}

# unfence: writes open on both servers again (read_only off, the
# application's account unlocked), however a cutover left them.
unfence() {
    local n
    for n in source dest; do
        sandbox sql $n -e "SET GLOBAL read_only = 0; ALTER USER IF EXISTS 'app'@'127.0.0.1' ACCOUNT UNLOCK" 2>/dev/null || true
    done
}

# ids_present SIDE FILE: how many of the app.events ids listed in FILE
# (one per line) SIDE holds. The list goes through stdin: it can be longer
# than a command line.
ids_present() {
    { printf 'SELECT COUNT(*) FROM app.events WHERE id IN (0'; sed 's/^/,/' "$2" | tr -d '\n'; printf ');\n'; } |
        sandbox sql "$1" -N -B
}

# acked_check TABLE FILE: the acknowledged writes of FILE (ids, one per
# line, as sql_writer --acked writes them) against both servers' TABLE,
# as one JSON line:
#   acked            distinct ids acknowledged
#   missing_source, missing_dest   acknowledged ids one side lacks
#   lost_writes      acknowledged ids missing on either side (each once)
#   duplicates       acknowledged ids held by more than one row on a side,
#                    or acknowledged twice (a table without a key could)
#   unacked_present  rows of TABLE that were never acknowledged: writes that
#                    failed after they committed; not lost, just extra. It
#                    assumes TABLE holds this writer's rows only.
# The ids are compared outside the servers (sort, comm): a list of 100,000
# ids is no statement to send.
acked_check() {
    local table=$1 acked=$2 d side
    d=$(mktemp -d)
    LC_ALL=C sort "$acked" >"$d/acked.all"
    LC_ALL=C sort -u "$d/acked.all" >"$d/acked"
    for side in source dest; do
        sandbox sql $side -N -B -e "SELECT id FROM $table" | LC_ALL=C sort >"$d/$side.all" || { rm -rf "$d"; return 1; }
        LC_ALL=C sort -u "$d/$side.all" >"$d/$side"
    done
    LC_ALL=C comm -12 "$d/source" "$d/dest" >"$d/both"
    LC_ALL=C sort -u "$d/source" "$d/dest" >"$d/either"
    jq -n --argjson acked "$(wc -l <"$d/acked")" \
        --argjson missing_source "$(LC_ALL=C comm -23 "$d/acked" "$d/source" | wc -l)" \
        --argjson missing_dest "$(LC_ALL=C comm -23 "$d/acked" "$d/dest" | wc -l)" \
        --argjson lost "$(LC_ALL=C comm -23 "$d/acked" "$d/both" | wc -l)" \
        --argjson dups "$(cat <(uniq -d "$d/acked.all") <(uniq -d "$d/source.all") <(uniq -d "$d/dest.all") |
            LC_ALL=C sort -u | LC_ALL=C comm -12 - "$d/acked" | wc -l)" \
        --argjson unacked "$(LC_ALL=C comm -13 "$d/acked" "$d/either" | wc -l)" \
        '{acked: $acked, missing_source: $missing_source, missing_dest: $missing_dest, lost_writes: $lost,
          duplicates: $dups, unacked_present: $unacked}' -c
    rm -rf "$d"
}

# copy_schema_and_rows DB: a quiesced copy of DB to dest (test setup only;
# the product's own copy is the import workflow).
copy_db_quiesced() {
    sql_dest -e "DROP DATABASE IF EXISTS \`$1\`"
    sql_dest -e "CREATE DATABASE \`$1\`"
    mariadb-dump --defaults-file="$SANDBOX_DIR/source/client.cnf" --single-transaction --skip-triggers "$1" |
        mariadb --defaults-file="$SANDBOX_DIR/dest/client.cnf" "$1"
}
