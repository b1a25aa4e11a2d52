#!/usr/bin/env bash
# The replication engine end to end: a stream under a concurrent sysbench
# write load survives kill -9 of the agent and a restart of the source and
# ends with identical tables; MINIMAL row images apply; every DDL policy;
# apply errors name the GTID, statement and table; a purged binlog says a
# re-copy is needed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

TABLES="sbtest1 sbtest2 sbtest3 sbtest4"
tgt=$(endpoint_opts target "$DEST_PORT")

# ---- setup: identical starting data on both sides --------------------------
sql_source -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb prepare --tables=4 --table-size=20000 >/dev/null
sql_source -e "CREATE TABLE sbtest.types (id INT PRIMARY KEY, ti TINYINT, bu BIGINT UNSIGNED, de DECIMAL(30,10),
    fl FLOAT, db DOUBLE, bi BIT(12), y YEAR, d DATE, t TIME(3), dt DATETIME(6), ts TIMESTAMP(6) NULL,
    c CHAR(5), vc VARCHAR(50), bn BINARY(6), vb VARBINARY(20), tx TEXT, bl BLOB, en ENUM('a','b c'),
    st SET('x','y','z'), js JSON, u UUID, ip INET6, \`odd col\` INT)"
copy_db_quiesced sbtest
sql_dest -e "DROP DATABASE IF EXISTS _tablet_agent"
g0=$(source_gtid)
note "starting data copied at GTID $g0"

start_fwd() { cpctl stream start fwd $tgt --gtid "$g0" --tables 'sbtest.*' "$@" >/dev/null; }

# ---- load + kill -9 ---------------------------------------------------------
start_agent
start_fwd
wait_for 10 "stream running" bash -c "[ \"\$($BUILD/cpctl --agent $AGENT_ADDR --json stream status fwd | jq -r .state)\" == STREAM_RUNNING ]"
sb run --tables=4 --table-size=20000 --threads=4 --time=12 --report-interval=0 >"$WORK/sysbench.log" 2>&1 &
load=$!
sql_source -e "INSERT INTO sbtest.types VALUES
    (1, -128, 18446744073709551615, -12345678901234567890.0123456789, -1.5, 2.25e-300, b'101010101010', 2155,
     '0000-00-00', '-838:59:59.000', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.123456', 'ab', 'héllo 😀',
     x'00ff00', x'000000', repeat('x', 5000), x'00010203', 'b c', 'x,z', '{\"k\": [1, \"two\"]}',
     '123e4567-e89b-12d3-a456-426614174000', '::ffff:10.0.0.1', 7),
    (2, NULL, 0, 0, 0, 0, b'0', 0, '1000-01-01', '00:00:00', '0000-00-00 00:00:00', NULL, '', '', '', '',
     '', '', 'a', '', '[]', '00000000-0000-0000-0000-000000000000', '::', NULL)"
for i in 1 2 3; do
    sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.2f", 1 + rand() * 2 }')"
    kill9_agent
    note "killed the agent (kill -9) under load, round $i"
    start_agent
    start_fwd
done
wait $load || fail "sysbench failed: $(tail -5 "$WORK/sysbench.log")"
grep -q "transactions:" "$WORK/sysbench.log" || fail "sysbench did not run"
trx=$(grep "transactions:" "$WORK/sysbench.log" | awk '{print $2}')
want=$(source_gtid)
wait_stream_at fwd "$want" 60
checksums_equal sbtest $TABLES types
[ "$(grep -c "resuming from saved position" "$AGENT_LOG")" -ge 3 ] || fail "the stream did not resume after kill -9"
pass "$trx sysbench transactions under 3 kill -9 of the agent: all tables equal, resumed from the saved position"

# ---- MINIMAL row images: ordered apply ---------------------------------------
sql_source -e "SET SESSION binlog_row_image=MINIMAL;
    UPDATE sbtest.sbtest3 SET k = k + 1 WHERE id <= 300;
    DELETE FROM sbtest.sbtest3 WHERE id BETWEEN 301 AND 320;
    INSERT INTO sbtest.sbtest3 (k, c, pad) VALUES (1, 'minimal', 'image');
    UPDATE sbtest.types SET vc = 'minimal', bu = 1 WHERE id = 1"
wait_stream_at fwd "$(source_gtid)"
checksums_equal sbtest sbtest3 types
pass "MINIMAL row images replicate exactly"

# ---- the source restarts mid-stream -------------------------------------------
sandbox stop source
retrying() { [ "$(stream_field fwd .state)" == STREAM_RETRYING ]; }
wait_for 15 "stream RETRYING while the source is down" retrying
sandbox start source
sql_source -e "UPDATE sbtest.sbtest1 SET k = k + 1 WHERE id < 50"
wait_stream_at fwd "$(source_gtid)" 30
checksums_equal sbtest sbtest1
[ "$(stream_field fwd .retries)" -ge 1 ] || fail "no retry counted"
pass "source restart: stream retried by itself and caught up"

# ---- DDL policies ------------------------------------------------------------------
before=$(source_gtid)
sql_source -e "ALTER TABLE sbtest.sbtest1 ADD COLUMN extra INT NULL"
stopped() { [ "$(stream_field fwd .state)" == STREAM_STOPPED ]; }
wait_for 10 "stream stops at DDL" stopped
assert_eq "$(stream_field fwd .error.code)" "DDL" "error code at DDL"
assert_contains "$(stream_field fwd .error.message)" "ALTER TABLE sbtest.sbtest1 ADD COLUMN extra" "DDL named"
assert_eq "$(stream_field fwd .applied.gtid)" "$before" "position stays before the DDL"
pass "ddl=stop: stopped before the DDL, naming it"

start_fwd --ddl exec
sql_source -e "INSERT INTO sbtest.sbtest1 (k, c, pad, extra) VALUES (1, 'after', 'ddl', 42)"
wait_stream_at fwd "$(source_gtid)"
assert_eq "$(sql_dest -e "SELECT extra FROM sbtest.sbtest1 WHERE c = 'after'")" "42" "row with the new column"
checksums_equal sbtest sbtest1
pass "ddl=exec: applied on the destination, rows with the new column follow"

cpctl stream stop fwd >/dev/null
sql_source -e "CREATE INDEX idx_k2 ON sbtest.sbtest2 (k, id)"
start_fwd --ddl ignore
sql_source -e "UPDATE sbtest.sbtest2 SET k = k + 1 WHERE id < 10"
wait_stream_at fwd "$(source_gtid)"
[ -z "$(sql_dest -e "SHOW INDEX FROM sbtest.sbtest2 WHERE Key_name = 'idx_k2'")" ] || fail "ignored DDL was applied"
checksums_equal sbtest sbtest2
pass "ddl=ignore: skipped, replication goes on"

# ---- start from a binlog file/offset (the MySQL-flavour way), stop at a position -------
cpctl stream stop fwd >/dev/null
read -r file offset < <(sql_source -e "SHOW MASTER STATUS" | cut -f1,2)
at_file=$(source_gtid)
sql_source -e "UPDATE sbtest.sbtest2 SET k = k + 1 WHERE id BETWEEN 10 AND 20"
stop=$(source_gtid)
sql_source -e "UPDATE sbtest.sbtest2 SET k = k + 1 WHERE id BETWEEN 21 AND 30"
cpctl stream start byfile $tgt --file "$file" --offset "$offset" --tables 'sbtest.*' --stop-at-gtid "$stop" --reset >/dev/null
byfile_done() { [ "$(stream_field byfile .state)" == STREAM_STOPPED ]; }
wait_for 15 "file/offset stream stops at its stop position" byfile_done
assert_eq "$(stream_field byfile .stop_reached)" "true" "stop_reached"
assert_eq "$(stream_field byfile .applied.gtid)" "$stop" "stopped exactly at the stop position"
assert_eq "$(sql_dest -e "SELECT SUM(k) FROM sbtest.sbtest2 WHERE id BETWEEN 21 AND 30")" \
    "$(sql_source -e "SELECT SUM(k) - 10 FROM sbtest.sbtest2 WHERE id BETWEEN 21 AND 30")" "nothing past the stop"
pass "stream from $file:$offset (GTID $at_file) stopped exactly at $stop"
start_fwd
wait_stream_at fwd "$(source_gtid)"
checksums_equal sbtest sbtest2

# ---- an apply error names the GTID, statement and table -------------------------------
sql_dest -e "ALTER TABLE sbtest.sbtest4 DROP COLUMN pad"
sql_source -e "UPDATE sbtest.sbtest4 SET pad = 'boom' WHERE id = 7"
bad=$(source_gtid)
failed() { [ "$(stream_field fwd .state)" == STREAM_ERROR ]; }
wait_for 20 "stream ERROR on an impossible apply" failed
msg=$(stream_field fwd .error.message)
assert_eq "$(stream_field fwd .error.code)" "APPLY" "error code"
assert_contains "$msg" "GTID $bad" "apply error names the GTID"
assert_contains "$msg" "on \`sbtest\`.\`sbtest4\`" "apply error names the table"
assert_contains "$msg" "Unknown column" "apply error carries the server's reason"
pass "apply error: $msg"

# ---- purged binlog ---------------------------------------------------------------------
cpctl stream stop fwd >/dev/null
old=$(source_gtid)
sql_source -e "INSERT INTO sbtest.sbtest2 (k, c, pad) VALUES (1, 'purge', 'me'); FLUSH BINARY LOGS"
sql_source -e "FLUSH BINARY LOGS"
last=$(sql_source -e "SHOW MASTER STATUS" | cut -f1)
sql_source -e "PURGE BINARY LOGS TO '$last'"
cpctl stream start stale $tgt --gtid "$g0" --tables 'sbtest.*' --reset >/dev/null
stale_failed() { [ "$(stream_field stale .state)" == STREAM_ERROR ]; }
wait_for 15 "stale stream fails" stale_failed
assert_eq "$(stream_field stale .error.code)" "PURGED" "purged error code"
assert_contains "$(stream_field stale .error.message)" "re-copied" "purged message says what to do"
pass "purged binlog: $(stream_field stale .error.message | cut -c1-140)..."
: "$old"

# ---- bad requests ----------------------------------------------------------------------------
out=$(cpctl stream start "bad name" $tgt --gtid "$g0" 2>&1) && fail "bad name accepted"
assert_contains "$out" "INVALID_ARGUMENT" "bad name"
out=$(cpctl stream start x $tgt --gtid "0-1" 2>&1) && fail "bad gtid accepted"
assert_contains "$out" "start.gtid" "bad gtid names the field"
out=$(cpctl stream start x --target-host 127.0.0.1 --gtid "$g0" 2>&1) && fail "missing user accepted"
assert_contains "$out" "target.user" "missing user"
out=$(cpctl stream status nosuch 2>&1) && fail "unknown stream found"
assert_contains "$out" "NOT_FOUND" "unknown stream"
pass "malformed stream requests get INVALID_ARGUMENT / NOT_FOUND naming the field"

pw=$(cat "$PASSWORD_FILE")
grep -qF "$pw" "$AGENT_LOG" && fail "password found in the agent log"
pass "no password in the agent log"
