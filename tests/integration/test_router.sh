#!/usr/bin/env bash
# The data router in front of a real migration, following the control
# plane's rules through the lifecycle: SOURCE after the import, VALIDATE,
# PRIMARY after the switch, SOURCE again after the reverse. In each mode,
# stock clients nobody here wrote, unchanged, through the router:
#   - the C client (libmariadb, prepared statements, 17 MB values, long
#     data, reset, change user), Node mysql2 and Python PyMySQL, each
#     checked for where every kind of statement ran (tests/router/);
#   - the mariadb CLI: USE, SET, a transaction, a multi-statement query;
#   - sysbench oltp_read_write with prepared statements and without.
# The router has a monitor account, so in VALIDATE the clients' reads
# after their own writes (read-your-writes) still come from the
# destination, once the forward stream has applied the writes.
# The control plane lists the router and the version it applies; cpctl
# router status shows what the router does.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/router/check_output.sh"

U=router_app
P=router-app-password
DB=rt
export ROUTER_CLIENTS_DB=$DB
dest=$(endpoint_opts dest "$DEST_PORT")
packet_before=$(sql_source -e "SELECT @@global.max_allowed_packet")

cleanup() {
    stop_router
    stop_control_plane
    stop_agent
    unfence
    for n in source dest; do
        # FLUSH BINARY LOGS: the 17 MB rows stay in a closed binlog file;
        # later tests read the current one with clients of 16 MB packets.
        sandbox sql $n -e "SET GLOBAL read_only = 0; ALTER USER IF EXISTS '$U'@'127.0.0.1' ACCOUNT UNLOCK;
            SET GLOBAL max_allowed_packet = $packet_before; FLUSH BINARY LOGS" 2>/dev/null || true
    done
    sql_dest -e "SET sql_log_bin = 0; DROP USER IF EXISTS 'rt_monitor'@'127.0.0.1'" 2>/dev/null || true
}
trap cleanup EXIT

# ---- setup: an application's schema on the source, imported ---------------------------
rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS ${DB}_b;
        DROP DATABASE IF EXISTS sbtest_r; DROP DATABASE IF EXISTS _tablet_agent; CREATE DATABASE ${DB}_b;
        SET GLOBAL max_allowed_packet = 64 * 1024 * 1024"
done
sql_source -e "CREATE DATABASE $DB; CREATE DATABASE sbtest_r"
sql_source "$DB" <"$REPO/tests/router/schema.sql"
router_account "$U" "$P" "$DB" "${DB}_b" sbtest_r >"$WORK/accounts"
SB=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=$U --mysql-password=$P --mysql-db=sbtest_r
    --tables=2 --table-size=2000)
"${SB[@]}" --mysql-port="$SOURCE_PORT" oltp_read_write prepare >/dev/null
src_sid=$(sql_source -e "SELECT @@server_id")
dst_sid=$(sql_dest -e "SELECT @@server_id")
EXPECT_RESET_TZ=$(sql_source -e "SELECT @@global.time_zone")

start_control_plane
start_agent
cpctl import rtw $dest --tables "$DB.*" --tables "sbtest_r.*" >/dev/null
# The router's monitor account: reads the forward stream's position on the
# destination (a grant on the schema works before the import creates it).
sql_dest -e "SET sql_log_bin = 0; DROP USER IF EXISTS 'rt_monitor'@'127.0.0.1';
    CREATE USER 'rt_monitor'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('rt-monitor-pw');
    GRANT SELECT ON _tablet_agent.* TO 'rt_monitor'@'127.0.0.1'"
echo rt-monitor-pw >"$WORK/monitor.pass"
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=rtw --accounts-file="$WORK/accounts" --router-id=r1 \
    --monitor-user=rt_monitor --monitor-password-file="$WORK/monitor.pass" --read-your-writes-wait-ms=5000
export CPCTL_ROUTER=127.0.0.1:$ROUTER_STATUS_PORT

rules_version() { cpctl --json routing rtw | jq -r .version; }
# The router applies the current rules and the control plane knows it.
router_applies() {
    local v
    v=$(rules_version)
    [ "$(cpctl --json routing rtw | jq -r --argjson v "$v" '.routers[] | select(.router_id == "r1") | .applied_version == $v')" == true ]
}

cli_insert_on_source() {
    [ -n "$(sql_source -e "SELECT sid FROM $DB.events WHERE token = 'cli-$1'")" ]
}

# ---- one mode: every client, the CLI, sysbench --------------------------------------
run_mode() {
    local mode=$1 rsid=$2 wsid=$3 out c n
    wait_for 15 "the router applies the $mode rules" router_applies
    assert_eq "$(via_router $U $P -e "SELECT @@server_id")" "$rsid" "$mode: a plain read"

    out=$WORK/clients-$mode.out
    "$REPO/tests/router/run_clients.sh" 127.0.0.1 "$ROUTER_PORT" $U $P $DB >"$out" ||
        fail "$mode: a client failed through the router: $(grep -E ' (error|exit [1-9])' "$out" | tr '\n' ';')"
    split_client_output "$out" "$WORK/out-$mode"
    check_client_output "$WORK/out-$mode/libmariadb.out" "$rsid" "$wsid" "big long_data reset_tz change_user"
    check_client_output "$WORK/out-$mode/mysql2.out" "$rsid" "$wsid"
    check_client_output "$WORK/out-$mode/pymysql.out" "$rsid" "$wsid"
    pass "$mode: libmariadb, mysql2, PyMySQL: reads on server $rsid, writes and transactions on server $wsid"

    # The mariadb CLI: USE, SET, a transaction that reads its own write,
    # and (with another delimiter) two statements in one query.
    c=$(via_router $U $P $DB -e "SELECT @@server_id; USE ${DB}_b; SELECT DATABASE(), @@server_id;
        SET SESSION sql_mode = 'ANSI_QUOTES'; SELECT @@sql_mode, @@server_id;
        BEGIN; INSERT INTO $DB.events (client, token, sid) VALUES ('cli', 'cli-$mode', @@server_id);
        SELECT @@server_id, COUNT(*) FROM $DB.events WHERE token = 'cli-$mode'; COMMIT" | tr '\t\n' ' ;')
    assert_eq "$c" "$rsid;${DB}_b $rsid;ANSI_QUOTES $rsid;$wsid 1;" "$mode: the mariadb CLI's session"
    c=$(via_router $U $P --delimiter='$$' -e 'SELECT @@server_id AS a; SELECT 2 AS b$$' | tr '\n' ' ')
    assert_eq "$c" "$wsid 2 " "$mode: a multi-statement query (runs where writes go)"
    # In PRIMARY the insert reaches the source by reverse replication: wait for it.
    wait_for 15 "the CLI's insert ($mode) on the source" cli_insert_on_source "$mode"
    assert_eq "$(sql_source -e "SELECT sid FROM $DB.events WHERE token = 'cli-$mode'")" "$wsid" \
        "$mode: the CLI's insert, on the source"
    pass "$mode: the mariadb CLI: USE and SET follow the session to server $rsid, its transaction runs on $wsid"

    for ps in auto disable; do
        "${SB[@]}" --mysql-port="$ROUTER_PORT" --threads=4 --time=4 --db-ps-mode=$ps oltp_read_write run \
            >"$WORK/sb-$mode-$ps.out" 2>&1 || fail "$mode: sysbench (ps-mode $ps) failed: $(tail -3 "$WORK/sb-$mode-$ps.out")"
        n=$(awk '/transactions:/ {print $2}' "$WORK/sb-$mode-$ps.out")
        [ "${n:-0}" -gt 0 ] || fail "$mode: sysbench (ps-mode $ps) ran no transaction"
        ! grep -q "FATAL" "$WORK/sb-$mode-$ps.out" || fail "$mode: sysbench (ps-mode $ps): $(grep -m1 FATAL "$WORK/sb-$mode-$ps.out")"
    done
    pass "$mode: sysbench oltp_read_write, prepared and not, 4 threads: $(awk '/transactions:/ {print $3}' "$WORK/sb-$mode-auto.out" | tr -d '(') and $(awk '/transactions:/ {print $3}' "$WORK/sb-$mode-disable.out" | tr -d '(') transactions/s"
}

run_mode SOURCE "$src_sid" "$src_sid"
cpctl validate rtw >/dev/null
run_mode VALIDATE "$dst_sid" "$src_sid"
st=$("$BUILD/cpctl" --json router status)
[ "$(jq -r .reads_after_writes_waited <<<"$st")" -gt 0 ] || fail "VALIDATE: no read after a write waited: $st"
pass "VALIDATE: $(jq -r .reads_after_writes_waited <<<"$st") reads after writes waited for the destination ($(jq -r .reads_after_writes_wait_seconds <<<"$st") s in all), $(jq -r .reads_after_writes_waited_to_source <<<"$st") then read from the source"

# Across the switch: a plain session goes on, on the new side; a session
# whose user variable lives on the source cannot follow, so it ends.
rm -f "$WORK/switched" "$WORK/across.out" # a stale "ready" must not count
$PY "$REPO/tests/router/probe_client.py" across_switch 127.0.0.1 "$ROUTER_PORT" $U $P $DB "$WORK/switched" \
    >"$WORK/across.out" 2>&1 &
across=$!
wait_for 20 "two sessions open before the switch" grep -q ready "$WORK/across.out"
cpctl switch rtw >/dev/null
wait_for 15 "the router applies the rules after the switch" router_applies
touch "$WORK/switched"
wait $across || fail "the sessions across the switch: $(cat "$WORK/across.out")"
assert_contains "$(cat "$WORK/across.out")" "plain_after $dst_sid" "a plain session after the switch"
grep -q "pinned_after error" "$WORK/across.out" || fail "a pinned session's variable followed it: $(cat "$WORK/across.out")"
pass "across the switch: a plain session goes on on the destination; one with a user variable on the source ends ($(grep pinned_after "$WORK/across.out"))"
run_mode PRIMARY "$dst_sid" "$dst_sid"
cpctl reverse rtw >/dev/null
wait_for 15 "the router applies the rules after the reverse" router_applies
assert_eq "$(via_router $U $P -e "SELECT @@server_id")" "$src_sid" "a read after the reverse"
pass "reverse: back to the source"

# ---- what the control plane and the router say --------------------------------------
out=$(cpctl routing rtw)
assert_contains "$out" "routers: 1 (all on v$(rules_version))" "cpctl routing lists the router"
assert_contains "$out" "r1  127.0.0.1:$ROUTER_PORT" "the router's line"
st=$("$BUILD/cpctl" --json router status)
assert_eq "$(jq -r '.workflows[0].mode' <<<"$st")" "MODE_SOURCE" "router status: mode"
assert_eq "$(jq -r '.workflows[0].control_plane_connected' <<<"$st")" "true" "router status: control plane"
[ "$(jq -r '.statements_destination' <<<"$st")" -gt 0 ] && [ "$(jq -r '.statements_source' <<<"$st")" -gt 0 ] ||
    fail "router status: statements per side: $st"
out=$("$BUILD/cpctl" router status)
pass "control plane lists r1 on the current version; cpctl router status: $(echo "$out" | grep -m1 -i "statements" | sed 's/^ *//')"

# ---- the control plane goes away ----------------------------------------------------
stop_control_plane
cp_down() { [ "$("$BUILD/cpctl" --json router status | jq -r '.workflows[0].control_plane_connected')" == false ]; }
wait_for 20 "the router notices the control plane is gone" cp_down
assert_eq "$(via_router $U $P -e "SELECT @@server_id")" "$src_sid" "a read with the control plane gone"
err=$("$BUILD/cpctl" --json router status | jq -r '.workflows[0].control_plane_error')
assert_contains "$err" "serving with rules v" "the router's status"
pass "control plane gone: the router serves with the last rules and says so (\"${err:0:110}...\")"
