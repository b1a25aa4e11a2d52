#!/usr/bin/env bash
# Sandbox servers: two local MariaDB servers, `source` and `dest`, on loopback.
#
#   tests/sandbox.sh start [source|dest]     install if needed, start, wait
#   tests/sandbox.sh stop [source|dest]      SIGTERM by pid, wait for exit
#   tests/sandbox.sh restart NAME [mariadbd options...]   e.g. --binlog-format=STATEMENT
#   tests/sandbox.sh reset [source|dest]     stop, wipe, reinstall, start
#   tests/sandbox.sh sql NAME [mariadb client args...]    admin client (root, socket)
#   tests/sandbox.sh env                     print the connection settings
#   tests/sandbox.sh status
#
# Settings (environment):
#   SANDBOX_DIR        where data lives (default: <repo>/.sandbox, git-ignored)
#   SANDBOX_PORT_BASE  source listens on BASE, dest on BASE+1 (default 23306),
#                      so two runs with different bases coexist
#   SANDBOX_BUFFER_POOL  InnoDB buffer pool (default 64M; benchmarks use 512M)
#   SANDBOX_FLUSH      innodb_flush_log_at_trx_commit (default 1)
#
# The agent logs in as `agent` with the least privileges it needs (see
# README "Grants"); its password is generated once into $SANDBOX_DIR/agent.pass.
# Test clients and benchmarks log in as `app` (password app-password), an
# ALL PRIVILEGES account like a real application's.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
SANDBOX_DIR=${SANDBOX_DIR:-$REPO/.sandbox}
SANDBOX_PORT_BASE=${SANDBOX_PORT_BASE:-23306}
SANDBOX_BUFFER_POOL=${SANDBOX_BUFFER_POOL:-64M}
SANDBOX_FLUSH=${SANDBOX_FLUSH:-1}
NAMES=(source dest)

die() { echo "sandbox: $*" >&2; exit 1; }

port_of() { [ "$1" = source ] && echo "$SANDBOX_PORT_BASE" || echo $((SANDBOX_PORT_BASE + 1)); }
sid_of() { [ "$1" = source ] && echo 1 || echo 2; }
dir_of() { echo "$SANDBOX_DIR/$1"; }
pid_of() { cat "$(dir_of "$1")/mariadbd.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
client() { local n=$1; shift; mariadb --defaults-file="$(dir_of "$n")/client.cnf" "$@"; }

# The server's own options. --defaults-file keeps /etc/mysql out of the
# picture; log-basename must precede log-error or the log moves into datadir.
write_config() {
    local n=$1 d; d=$(dir_of "$n")
    mkdir -p "$d"
    cat >"$d/my.cnf" <<EOF
[mariadbd]
$( [ "$(id -u)" = 0 ] && echo "user=root" )
datadir=$d/data
port=$(port_of "$n")
bind-address=127.0.0.1
socket=$d/mariadbd.sock
pid-file=$d/mariadbd.pid
log-basename=$n
log-error=$d/error.log
server-id=$(sid_of "$n")
log-bin=$d/data/$n-bin
binlog-format=ROW
binlog-row-image=FULL
binlog-row-metadata=FULL
gtid-strict-mode=1
binlog-expire-logs-seconds=604800
skip-slave-start
skip-name-resolve
performance-schema=OFF
max-connections=300
max-allowed-packet=64M
innodb-buffer-pool-size=$SANDBOX_BUFFER_POOL
innodb-log-file-size=256M
innodb-log-buffer-size=16M
innodb-flush-log-at-trx-commit=$SANDBOX_FLUSH
key-buffer-size=1M
aria-pagecache-buffer-size=1M
local-infile=1
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
EOF
    cat >"$d/client.cnf" <<EOF
[client]
socket=$d/mariadbd.sock
user=root
default-character-set=utf8mb4
EOF
}

install_db() {
    local n=$1 d; d=$(dir_of "$n")
    rm -rf "$d/data"
    mkdir -p "$d/data"
    mariadb-install-db --defaults-file="$d/my.cnf" --skip-test-db \
        $( [ "$(id -u)" = 0 ] && echo "--user=root" ) >"$d/install.log" 2>&1 ||
        die "mariadb-install-db for $n failed; see $d/install.log"
}

wait_ready() {
    local n=$1 pid=$2 i
    for i in $(seq 1 300); do
        if mariadb-admin --defaults-file="$(dir_of "$n")/client.cnf" ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$n exited during start; see $(dir_of "$n")/error.log"
        sleep 0.1
    done
    die "$n did not answer within 30 s; see $(dir_of "$n")/error.log"
}

agent_password() {
    local f="$SANDBOX_DIR/agent.pass"
    if [ ! -s "$f" ]; then
        mkdir -p "$SANDBOX_DIR"
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f")
    fi
    cat "$f"
}

# README's GRANT statements for a server, one per line: source or dest (the
# first or the second sql block under "## Grants"), for the sandbox account.
readme_grants() {
    awk -v want="$1" '
        /^## Grants/ { on = 1; next }
        on && /^## / { exit }
        on && /^```sql/ { block++; inblock = 1; stmt = ""; next }
        on && /^```/ { inblock = 0; next }
        inblock && ((want == "source" && block == 1) || (want == "dest" && block == 2)) {
            sub(/^ +/, " "); stmt = stmt $0
            if (stmt ~ /;$/) { if (stmt ~ /^GRANT/) print stmt; stmt = "" }
        }' "$REPO/README.md"
}

# The agent's account gets exactly the README's grants, so the suite proves
# they suffice; created with sql_log_bin=0 so account setup never becomes
# GTIDs in the binlog.
create_accounts() {
    local n=$1 pw host stmts role; pw=$(agent_password)
    role=$([ "$n" = source ] && echo source || echo dest)
    stmts=$(readme_grants "$role")
    [ -n "$stmts" ] || die "no GRANT statements for the $role under \"## Grants\" in README.md"
    {
        echo "SET sql_log_bin=0;"
        for host in 127.0.0.1 localhost; do
            echo "CREATE USER IF NOT EXISTS 'agent'@'$host' IDENTIFIED BY '$pw';"
            echo "$stmts" | sed "s/'tablet_agent'@'%'/'agent'@'$host'/"
            # and the optional one the README lists, so preflight can see triggers
            [ "$role" = source ] && echo "GRANT TRIGGER ON *.* TO 'agent'@'$host';"
        done
        # The application's account in tests and benchmarks: ALL PRIVILEGES
        # on purpose, because write fencing must stop even such users.
        echo "CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app-password';"
        echo "GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1';"
    } | client "$n"
}

start_one() {
    local n=$1 d; d=$(dir_of "$n")
    shift
    alive "$n" && return 0
    [ -f "$d/my.cnf" ] || write_config "$n"
    [ -d "$d/data/mysql" ] || install_db "$n"
    # --defaults-file must come first, or /etc/mysql is read too.
    mariadbd --defaults-file="$d/my.cnf" "$@" >>"$d/stdout.log" 2>&1 &
    wait_ready "$n" $!
    # Every start, not just the first: a sandbox from an older checkout
    # gets the grants this one needs (CREATE IF NOT EXISTS and GRANT only add).
    create_accounts "$n"
    return 0
}

stop_one() {
    local n=$1 p i; p=$(pid_of "$n")
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p"
    for i in $(seq 1 600); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "sandbox: $n (pid $p) ignored SIGTERM for 60 s; killing" >&2
    kill -KILL "$p" 2>/dev/null || true
}

names_or_all() { if [ $# -gt 0 ] && [ -n "$1" ]; then echo "$1"; else echo "${NAMES[@]}"; fi; }

check_name() { case "$1" in source|dest) ;; *) die "unknown server '$1' (source or dest)";; esac; }

cmd=${1:-}
shift || true
case "$cmd" in
start) # a running server whose settings changed (e.g. SANDBOX_BUFFER_POOL) is restarted with them
    for n in $(names_or_all "${1:-}"); do
        check_name "$n"
        before=$(cat "$(dir_of "$n")/my.cnf" 2>/dev/null || true)
        write_config "$n"
        [ "$before" == "$(cat "$(dir_of "$n")/my.cnf")" ] || stop_one "$n"
        start_one "$n"
    done ;;
stop)
    for n in $(names_or_all "${1:-}"); do check_name "$n"; stop_one "$n"; done ;;
restart)
    n=${1:?usage: sandbox.sh restart NAME [mariadbd options]}; shift
    check_name "$n"; stop_one "$n"; write_config "$n"; start_one "$n" "$@" ;;
reset)
    for n in $(names_or_all "${1:-}"); do
        check_name "$n"; stop_one "$n"; rm -rf "$(dir_of "$n")"; write_config "$n"; start_one "$n"
    done ;;
sql)
    n=${1:?usage: sandbox.sh sql NAME [client args]}; shift; check_name "$n"; client "$n" "$@" ;;
env)
    cat <<EOF
SANDBOX_DIR=$SANDBOX_DIR
SOURCE_HOST=127.0.0.1
SOURCE_PORT=$(port_of source)
DEST_HOST=127.0.0.1
DEST_PORT=$(port_of dest)
AGENT_USER=agent
AGENT_PASSWORD_FILE=$SANDBOX_DIR/agent.pass
EOF
    ;;
status)
    for n in "${NAMES[@]}"; do
        if alive "$n"; then echo "$n: running (pid $(pid_of "$n"), port $(port_of "$n"))"
        else echo "$n: stopped"; fi
    done ;;
*)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
