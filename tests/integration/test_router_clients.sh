#!/usr/bin/env bash
# The data router's stock-client programs (tests/router/run_clients.sh:
# libmariadb in C, mysql2 in Node, PyMySQL), run straight against the
# sandbox source, where reads and writes are necessarily the same server.
# Each must finish its whole scenario and report what one server gives:
# every *_server is the source's @@server_id, the transaction sees both of
# its client's rows, SET time_zone and the schema change hold, the C
# client's 17 MB values come back byte for byte, and a reset connection
# forgets the session's time zone. The router's own tests run the same
# programs through the router, per mode, with check_client_output.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/router/check_output.sh"

DB=router_clients
USER_NAME=router_app
USER_PASSWORD=router-app-password
ROUTER_CLIENTS_DB=$DB

packet_before=$(sql_source -e "SELECT @@global.max_allowed_packet")
cleanup() {
    stop_agent
    sql_source -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ${DB}_b;
        DROP USER IF EXISTS '$USER_NAME'@'127.0.0.1'; SET GLOBAL max_allowed_packet = $packet_before" 2>/dev/null || true
    # The 17 MB rows stay in a closed binlog file: later tests read the
    # current file with clients that take 16 MB packets.
    sql_source -e "FLUSH BINARY LOGS" 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$BUILD/tools/router_client" ] || fail "$BUILD/tools/router_client is missing: run make"
# The C client sends a 17 MB value in one packet sequence; the sandbox may
# start with 16 MB. New sessions see the global value.
sql_source -e "SET GLOBAL max_allowed_packet = 64 * 1024 * 1024"
# An application's own account with a password, as the router will see.
sql_source -e "SET sql_log_bin = 0;
    DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ${DB}_b; CREATE DATABASE $DB; CREATE DATABASE ${DB}_b;
    DROP USER IF EXISTS '$USER_NAME'@'127.0.0.1';
    CREATE USER '$USER_NAME'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('$USER_PASSWORD');
    GRANT ALL PRIVILEGES ON $DB.* TO '$USER_NAME'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON ${DB}_b.* TO '$USER_NAME'@'127.0.0.1'"
sql_source "$DB" <"$REPO/tests/router/schema.sql"

sid=$(sql_source -e "SELECT @@server_id")
EXPECT_RESET_TZ=$(sql_source -e "SELECT @@global.time_zone")
[ "$EXPECT_RESET_TZ" != "+05:00" ] || fail "the source's default time zone is +05:00: a reset could not be told from none"

"$REPO/tests/router/run_clients.sh" 127.0.0.1 "$SOURCE_PORT" "$USER_NAME" "$USER_PASSWORD" "$DB" >"$WORK/clients.out" ||
    fail "a client program failed: $(grep -E ' (error|exit [1-9])' "$WORK/clients.out" | tr '\n' ';')"
assert_not_contains "$(cat "$WORK/clients.out")" "$USER_PASSWORD" "the clients' output"
split_client_output "$WORK/clients.out" "$WORK/out"
assert_eq "$(cd "$WORK/out" && echo *)" "libmariadb.out mysql2.out pymysql.out" "programs that reported"

check_client_output "$WORK/out/libmariadb.out" "$sid" "$sid" "big long_data reset_tz change_user"
pass "libmariadb: prepared statements in and out of a transaction, multi-statements, COM_INIT_DB, 17 MB values (whole and in pieces), reset, change user"
check_client_output "$WORK/out/mysql2.out" "$sid" "$sid"
pass "mysql2: execute(), prepare(), beginTransaction(), multipleStatements, USE, ping"
check_client_output "$WORK/out/pymysql.out" "$sid" "$sid"
pass "pymysql: interpolated statements, begin(), nextset(), select_db(), ping"

# Each program wrote as itself, with its own token: 2 rows each, 4 for the
# C client (its two 17 MB rows), each sid the source's.
rows=$(sql_source -e "SELECT client, COUNT(*), MIN(sid), MAX(sid), SUM(v) FROM $DB.events GROUP BY client ORDER BY client" | tr '\t\n' ' ;')
assert_eq "$rows" "libmariadb 4 $sid $sid 3;mysql2 2 $sid $sid 3;pymysql 2 $sid $sid 3;" "rows the clients left"
pass "the rows on the server: each client's own, written where the clients said"
