#!/usr/bin/env bash
# The import workflow end to end: a copy under a concurrent write load,
# in several snapshot cycles, turning into replication by itself; equal
# checksums at a quiesced point for every table, including composite,
# VARCHAR and binary keys, a NOT NULL UNIQUE key without a PK, every
# column type, empty tables and odd identifiers. Then kill -9 of the agent
# five times during a copy: it resumes from the saved key and ends equal.
# Then a busy source (Threads_running above the limit) holds both the copy
# and a VDiff back, each saying why, until it calms down. Last, the two
# slower write paths (LOAD DATA, INSERT) for targets that lack the fast one.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
SB_TABLES="sbtest1 sbtest2 sbtest3 sbtest4"

fixtures() {
    sql_source <<'EOF'
DROP DATABASE IF EXISTS imp; CREATE DATABASE imp;
CREATE TABLE imp.composite (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b));
INSERT INTO imp.composite SELECT seq % 7, CONCAT('k', seq), seq FROM imp.seq_1_to_3000;
CREATE TABLE imp.vkey (k VARCHAR(40) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT);
INSERT INTO imp.vkey SELECT CONCAT(IF(seq % 2, 'Key', 'key'), '-', seq, '-é😀'), seq FROM imp.seq_1_to_2500;
CREATE TABLE imp.bkey (k VARBINARY(16) PRIMARY KEY, v BLOB);
INSERT INTO imp.bkey SELECT UNHEX(LPAD(HEX(seq * 7919), 10, '0')), REPEAT(CHAR(seq % 256), seq % 50) FROM imp.seq_1_to_2500;
INSERT INTO imp.bkey VALUES (x'00', x'00'), (x'0000', ''), (x'ff00ff', NULL);
CREATE TABLE imp.uniq (code CHAR(8) NOT NULL, other INT NULL, v VARCHAR(20), UNIQUE KEY u_code (code), UNIQUE KEY u_other (other));
INSERT INTO imp.uniq SELECT LPAD(seq, 8, '0'), IF(seq % 3, seq, NULL), 'x' FROM imp.seq_1_to_2000;
CREATE TABLE imp.empty (id INT PRIMARY KEY, v TEXT);
CREATE TABLE imp.types (id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED,
    bi BIGINT, bu BIGINT UNSIGNED, de DECIMAL(65,30), d2 DECIMAL(5,2), fl FLOAT, db DOUBLE, b1 BIT(1), b64 BIT(64),
    y YEAR, d DATE, t TIME, t6 TIME(6), dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP NULL, ts6 TIMESTAMP(6) NULL,
    c CHAR(10), cl CHAR(10) CHARACTER SET latin1, vc VARCHAR(300), bn BINARY(8), vb VARBINARY(20), tt TINYTEXT,
    tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB, en ENUM('a','b c','d'),
    st SET('x','y','z'), js JSON, g GEOMETRY, p POINT, u UUID, ip INET6, `we``ird col` INT, `ünï` VARCHAR(5),
    gen INT AS (id * 2) VIRTUAL, gs VARCHAR(20) AS (CONCAT('g', id)) STORED);
INSERT INTO imp.types (id, ti, tu, si, mi, bi, bu, de, d2, fl, db, b1, b64, y, d, t, t6, dt, dt6, ts, ts6, c, cl, vc,
    bn, vb, tt, tx, mt, lt, tb, bl, mb, lb, en, st, js, g, p, u, ip, `we``ird col`, `ünï`) VALUES
 (1, -128, 255, -32768, 16777215, -9223372036854775808, 18446744073709551615, -12345678901234567890.012345678901234567890123456789,
  -0.01, 3.40282e38, -2.2250738585072014e-308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
  1901, '0000-00-00', '-838:59:59', '-00:00:01.500000', '0000-00-00 00:00:00', '9999-12-31 23:59:59.999999',
  '1970-01-01 00:00:01', '2038-01-19 03:14:07.999999', 'abc', _latin1 x'636166e9', REPEAT('é', 300), x'00ff00', x'0000',
  'tiny', REPEAT('t', 60000), REPEAT('m', 70000), REPEAT('l', 100), x'00', x'0001', x'ffff', REPEAT(x'00ff', 30000),
  'b c', 'x,z', '{"a": [1, 2.5, "three", null, true], "b": {"c": "😀"}}', ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'),
  POINT(1.5, -2.25), '123e4567-e89b-12d3-a456-426614174000', '2001:db8::ff00:42:8329', 42, 'ü'),
 (2, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.1, b'0', b'0', 0, '1000-01-01', '00:00:00', '00:00:00', '1000-01-01 00:00:00',
  '1000-01-01 00:00:00', NULL, NULL, '', '', '', x'', x'', '', '', '', '', '', '', '', '', 'a', '', '[]', NULL, NULL,
  '00000000-0000-0000-0000-000000000000', '::', NULL, NULL),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL);
DROP DATABASE IF EXISTS `odd db`; CREATE DATABASE `odd db`;
CREATE TABLE `odd db`.`we``ird tbl` (`i d` INT PRIMARY KEY, `v``al` VARCHAR(10));
INSERT INTO `odd db`.`we``ird tbl` VALUES (1, 'a'), (2, 'b`c');
CREATE TABLE `odd db`.`ünïcødé` (id INT PRIMARY KEY, v INT);
INSERT INTO `odd db`.`ünïcødé` VALUES (1, 1);
CREATE TABLE imp.parent (id INT PRIMARY KEY);
CREATE TABLE imp.child (id INT PRIMARY KEY, pid INT, KEY k_pid (pid), CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES imp.parent (id));
INSERT INTO imp.parent SELECT seq FROM imp.seq_1_to_100;
INSERT INTO imp.child SELECT seq, seq % 100 + 1 FROM imp.seq_1_to_500;
EOF
}

IMP_TABLES="composite vkey bkey uniq empty types parent child"

# Checksums of every imported table, and row counts (no duplicates).
all_equal() {
    checksums_equal sbtest $SB_TABLES
    checksums_equal imp $IMP_TABLES
    checksums_equal "odd db" "we\`ird tbl" "ünïcødé"
    for t in $SB_TABLES; do
        assert_eq "$(sql_dest -e "SELECT COUNT(*) FROM sbtest.$t")" "$(sql_source -e "SELECT COUNT(*) FROM sbtest.$t")" \
            "row count of sbtest.$t"
    done
}

wf_field() { cpctl --json workflow status "$1" | jq -r "$2"; }
wf_state_is() { [ "$(wf_field "$1" .state)" == "$2" ]; }

reset_dest() {
    sql_dest -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS imp; DROP DATABASE IF EXISTS \`odd db\`;
                 DROP DATABASE IF EXISTS _tablet_agent"
    rm -rf "$WORK/state"
}

# ---- copy under load, in cycles, then replication ---------------------------
sql_source -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb prepare --tables=4 --table-size=60000 >/dev/null
fixtures
reset_dest
start_agent
sb run --tables=4 --table-size=60000 --threads=2 --time=12 --rate=300 --report-interval=0 >"$WORK/load1.log" 2>&1 &
load=$!
cpctl import one $dest --tables 'sbtest.*' --tables 'imp.*' --tables 'odd db.*' --chunk-rows 200 --parallel 1 \
    --snapshot-seconds 1 >"$WORK/import1.out" || fail "import command failed: $(tail -3 "$WORK/import1.out")"
assert_eq "$(wf_field one .state)" "WORKFLOW_REPLICATING" "state after the copy"
took=$(wf_field one '.copied_at_unix_ms - .created_at_unix_ms')
[ "$took" -gt 0 ] || fail "copied_at_unix_ms is not after created_at_unix_ms ($took)"
cycles=$(wf_field one .copy_cycles)
[ "$cycles" -ge 2 ] || fail "the copy ran in $cycles snapshot cycle(s); expected several with --snapshot-seconds 1"
grep -q "Progress   \[" "$WORK/import1.out" || grep -q "REPLICATING" "$WORK/import1.out" || fail "no progress output"
sql_source -e "UPDATE imp.types SET vc = 'after copy', b64 = b'101' WHERE id = 1;
               INSERT INTO imp.empty VALUES (1, 'now'); DELETE FROM imp.vkey WHERE v < 10;
               UPDATE imp.uniq SET other = NULL WHERE code = '00000001'; UPDATE imp.uniq SET other = 1 WHERE code = '00000002'"
wait $load || fail "sysbench failed"
want=$(source_gtid)
caught() { [ "$(wf_field one .stream.applied.gtid)" == "$want" ]; }
wait_for 60 "replication caught up to $want" caught
all_equal
[ -n "$(sql_dest -e "SHOW INDEX FROM sbtest.sbtest1 WHERE Key_name = 'k_1'")" ] || fail "deferred index k_1 missing"
pass "copied under load in $cycles snapshot cycles, then replicated: every table equal (types, keys, odd names)"

# ---- workflow commands and their states ---------------------------------------------
cpctl workflow pause one >/dev/null
assert_eq "$(wf_field one .state)" "WORKFLOW_PAUSED" "after pause"
out=$(cpctl workflow pause one 2>&1) && fail "pausing a paused workflow succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "pause twice"
assert_contains "$out" "PAUSED" "pause twice names the state"
sql_source -e "UPDATE imp.composite SET v = v + 1 WHERE a = 3"
cpctl workflow resume one >/dev/null
out=$(cpctl workflow resume one 2>&1) && fail "resuming a running workflow succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "resume while running"
want=$(source_gtid)
wait_for 30 "replication after resume" caught
checksums_equal imp composite
out=$(cpctl import one $dest 2>&1) && fail "a duplicate name was accepted"
assert_contains "$out" "ALREADY_EXISTS" "duplicate workflow"
out=$(cpctl import two --dest-host 127.0.0.1 2>&1) && fail "an import without a user was accepted"
assert_contains "$out" "destination.user" "missing user names the field"
out=$(cpctl workflow status nosuch 2>&1) && fail "unknown workflow found"
assert_contains "$out" "NOT_FOUND" "unknown workflow"
pass "pause/resume, wrong-state commands (FAILED_PRECONDITION), bad requests"

# Resume with the destination's credentials again: for the same server
# only, and the whole endpoint (part of one would be taken with defaults).
cpctl workflow pause one >/dev/null
out=$(cpctl workflow resume one --dest-user agent 2>&1) && fail "a resume with part of an endpoint was accepted"
assert_contains "$out" "takes the whole endpoint, as at import: destination needs a host" "resume with part of an endpoint"
out=$(cpctl workflow resume one --dest-host 127.0.0.1 --dest-port "$SOURCE_PORT" --dest-user agent \
    --dest-password-file "$PASSWORD_FILE" 2>&1) && fail "a resume moved the workflow to another server"
assert_contains "$out" "INVALID_ARGUMENT" "resume toward another server"
assert_contains "$out" "resume takes new credentials for that server, not another one" "resume toward another server"
assert_eq "$(wf_field one .state)" "WORKFLOW_PAUSED" "after the refused resumes"
cpctl workflow resume one $dest >/dev/null
want=$(source_gtid)
wait_for 30 "replication after a resume with credentials" caught
pass "resume with credentials: the same server's whole endpoint is taken; part of one, or another server, is refused"

# ---- the agent restarts: the workflow resumes replicating by itself ---------------------
stop_agent
sql_source -e "UPDATE sbtest.sbtest2 SET k = k + 1 WHERE id < 100"
start_agent
want=$(source_gtid)
wait_for 30 "replicating again after an agent restart" caught
checksums_equal sbtest sbtest2
pass "after an agent restart the workflow resumed replication by itself"

# ---- a non-empty destination table stops a new import with a clear error -------------------
sql_dest -e "CREATE DATABASE IF NOT EXISTS other; CREATE TABLE IF NOT EXISTS other.t (id INT PRIMARY KEY); REPLACE INTO other.t VALUES (1)"
sql_source -e "CREATE DATABASE IF NOT EXISTS other; CREATE TABLE IF NOT EXISTS other.t (id INT PRIMARY KEY); REPLACE INTO other.t VALUES (5)"
out=$(cpctl import clash $dest --tables 'other.*' --no-wait 2>&1) && fail "an import into a non-empty table was created"
assert_contains "$out" "destination.tables_empty" "CreateImport names the failing check"
# Overridden, the copy's own guard still refuses to mix rows.
cpctl import clash $dest --tables 'other.*' --no-wait --override destination.tables_empty >/dev/null
clash_failed() { wf_state_is clash WORKFLOW_ERROR; }
wait_for 15 "import into a non-empty table fails" clash_failed
assert_contains "$(wf_field clash .error.message)" "already has rows" "non-empty destination"
pass "non-empty destination table: CreateImport refused; overridden, the copy stops: $(wf_field clash .error.message | cut -c1-80)..."
stop_agent

# ---- kill -9 during the copy, five times -----------------------------------------------------
reset_dest
sql_source -e "DROP DATABASE IF EXISTS other"
sql_dest -e "DROP DATABASE IF EXISTS other"
: >"$AGENT_LOG"
start_agent
sb run --tables=4 --table-size=60000 --threads=2 --time=30 --rate=200 --report-interval=0 >"$WORK/load2.log" 2>&1 &
load=$!
cpctl import crashy $dest --tables 'sbtest.*' --tables 'imp.*' --chunk-rows 40 --parallel 1 --snapshot-seconds 2 \
    --no-wait >/dev/null
kills=0
for i in $(seq 1 7); do
    sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 0.5 }')"
    state=$(wf_field crashy .state 2>/dev/null || echo "?")
    case "$state" in WORKFLOW_REPLICATING) break ;; WORKFLOW_ERROR) fail "workflow failed: $(wf_field crashy .message)" ;; esac
    kill9_agent
    kills=$((kills + 1))
    note "kill -9 number $kills (workflow was $state)"
    start_agent
done
[ "$kills" -ge 5 ] || fail "only $kills kills happened before the copy finished; make the copy slower"
wait_for 120 "the copy finishes after $kills kills" wf_state_is crashy WORKFLOW_REPLICATING
wait $load || fail "sysbench failed"
want=$(source_gtid)
caught_crashy() { [ "$(wf_field crashy .stream.applied.gtid)" == "$want" ]; }
wait_for 60 "replication caught up" caught_crashy
checksums_equal sbtest $SB_TABLES
checksums_equal imp $IMP_TABLES
for t in $SB_TABLES; do
    assert_eq "$(sql_dest -e "SELECT COUNT(*) FROM sbtest.$t")" "$(sql_source -e "SELECT COUNT(*) FROM sbtest.$t")" \
        "row count of sbtest.$t"
done
resumed=$(grep -c "after saved key" "$AGENT_LOG" || true)
[ "$resumed" -ge 1 ] || fail "the log shows no resumption from a saved key"
pass "$kills x kill -9 during the copy: equal data, no duplicates, $resumed resumptions from a saved key"
# ---- a busy source throttles the copy and a VDiff ------------------------------------------------
# busy SECONDS: four sessions running on the source for that long (their
# pids in $busy_pids; a bare `wait` would also wait for the agent).
busy() {
    busy_pids=()
    for i in 1 2 3 4; do sql_source -e "SELECT SLEEP($1)" >/dev/null & busy_pids+=($!); done
    sleep 0.5
}
sql_source -e "DROP DATABASE IF EXISTS thr; CREATE DATABASE thr; CREATE TABLE thr.t (id INT PRIMARY KEY, v CHAR(100));
    INSERT INTO thr.t SELECT seq, REPEAT('x', 100) FROM thr.seq_1_to_20000"
sql_dest -e "DROP DATABASE IF EXISTS thr"
busy 5
cpctl import thr $dest --tables 'thr.*' --chunk-rows 100 --parallel 1 --throttle-threads-running 1 --no-wait >/dev/null
throttled() { [ "$(wf_field thr .throttled)" == true ]; }
wait_for 10 "the copy throttles on a busy source" throttled
assert_contains "$(wf_field thr .throttle_reason)" "Threads_running" "the copy says why it throttles"
[ "$(wf_field thr .rows_copied)" -lt 20000 ] || fail "the copy finished while throttled"
wait "${busy_pids[@]}"
wait_for 60 "the copy finishes once the source calms down" wf_state_is thr WORKFLOW_REPLICATING
checksums_equal thr t
busy 5
cpctl --json vdiff thr --chunk-rows 10 >"$WORK/vdiff.json" 2>&1 &
vdiff_cli=$!
vdiff_throttled() { [ "$(cpctl --json vdiff thr --show | tail -n 1 | jq -r .throttled)" == true ]; }
wait_for 10 "the VDiff throttles on a busy source" vdiff_throttled
wait $vdiff_cli || fail "the throttled VDiff did not finish clean: $(tail -n 1 "$WORK/vdiff.json")"
wait "${busy_pids[@]}"
pass "a busy source (Threads_running over the limit): the copy and a VDiff wait, the copy says why, both finish"

# ---- bulk executions cut to the target's max_allowed_packet --------------------------------------
stop_agent
packet=$(sql_dest -e "SELECT @@global.max_allowed_packet")
restore_dest() {
    sql_dest -e "SET GLOBAL binlog_format = 'ROW', local_infile = 1, max_allowed_packet = $packet" || true
}
trap 'stop_agent; restore_dest' EXIT
sql_source -e "DROP DATABASE IF EXISTS big; CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, b LONGBLOB);
    INSERT INTO big.t SELECT seq, REPEAT(CHAR(seq), 300000) FROM big.seq_1_to_40;
    CREATE TABLE big.huge (id INT PRIMARY KEY, b LONGBLOB); INSERT INTO big.huge VALUES (7, REPEAT('h', 2000000))"
sql_dest -e "DROP DATABASE IF EXISTS big; SET GLOBAL max_allowed_packet = 1048576"
reset_dest
start_agent
cpctl import big $dest --tables 'big.t' --chunk-rows 40 >/dev/null || fail "import of 12 MB pages failed"
checksums_equal big t
# One row bigger than the packet: the server would hang up, which looks
# like a network error; the copy and the stream must stop and say what to
# raise instead. packet_error WORKFLOW TEXT: it fails naming TEXT and the
# setting; prints the message.
packet_error() {
    wait_for 30 "$1 stops on a row over max_allowed_packet" wf_state_is "$1" WORKFLOW_ERROR
    local msg
    msg=$(wf_field "$1" .error.message)
    assert_contains "$msg" "$2" "$1: the oversized row is named"
    assert_contains "$msg" "max_allowed_packet" "$1: the setting to raise is named"
    echo "$msg"
}
cpctl import huge $dest --tables 'big.huge' --no-wait >/dev/null
huge_msg=$(packet_error huge "the row (7) is 2000")
sql_source -e "INSERT INTO big.t VALUES (1000, REPEAT('r', 2000000))" # by replication
big_msg=$(packet_error big "on \`big\`.\`t\`")
# In ERROR the workflow still shows the progress it made.
assert_eq "$(wf_field big .rows_copied)" 40 "rows copied shown in ERROR"
assert_eq "$(wf_field big '.tables | length')" 1 "tables shown in ERROR"
# The remedy works: raise the packet, resume both.
sql_dest -e "SET GLOBAL max_allowed_packet = 4194304"
cpctl workflow resume huge >/dev/null
cpctl workflow resume big >/dev/null
both_replicating() { wf_state_is huge WORKFLOW_REPLICATING && wf_state_is big WORKFLOW_REPLICATING; }
wait_for 30 "both workflows replicating after the packet was raised" both_replicating
big_caught() { [ "$(wf_field big .stream.applied.gtid)" == "$(source_gtid)" ]; }
wait_for 30 "the big row replicated" big_caught
checksums_equal big t huge
# One transaction bigger than half the packet, of rows that each fit: the
# applier cuts it between statements, in several round trips (it used to
# cut one statement too late, then lead the next round trip with a ';').
warnings_before=$(grep -c "WARN" "$AGENT_LOG" || true)
sql_source -e "INSERT INTO big.t VALUES (1001, REPEAT('a', 1500000)), (1002, REPEAT('b', 1500000)), (1003, REPEAT('c', 1500000))"
wait_for 30 "a 4.5 MB transaction replicated into 4 MB packets" big_caught
checksums_equal big t
assert_eq "$(grep -c "WARN" "$AGENT_LOG" || true)" "$warnings_before" "warnings while applying the 4.5 MB transaction"
stop_agent
restore_dest
pass "12 MB pages into a target taking 1 MB packets: bulk executions cut to fit, table equal"
pass "a 2 MB row into 1 MB packets stops the copy: ${huge_msg:0:150}..."
pass "and stops the stream: ${big_msg:0:150}..."
pass "after SET GLOBAL max_allowed_packet and resume, both workflows finish: tables equal"
pass "a 4.5 MB transaction of 1.5 MB rows into 4 MB packets: applied in pieces, no retry, tables equal"

# ---- wide rows: pages stop near 4 MB whatever --chunk-rows says ---------------------------------
sql_source -e "CREATE TABLE big.wide (id INT PRIMARY KEY, b MEDIUMBLOB);
    INSERT INTO big.wide SELECT seq, REPEAT(CHAR(seq % 256), 100000) FROM big.seq_1_to_300"
reset_dest
sql_dest -e "DROP DATABASE IF EXISTS big"
start_agent
cpctl import wide $dest --tables 'big.wide' >/dev/null || fail "import of wide rows failed"
checksums_equal big wide
pages=$(grep -o "\`big\`.\`wide\` copied: 300 rows in [0-9]* pages" "$AGENT_LOG" | awk '{print $(NF-1)}')
# 100 rows to learn the width, then about 40 rows (4 MB) a page, not one 30 MB page of 10000 rows
[ "${pages:-0}" -ge 6 ] || fail "30 MB of wide rows went in ${pages:-?} page(s); expected pages of about 4 MB"
stop_agent
pass "300 rows of 100 kB with --chunk-rows 10000: $pages pages of at most about 10 MB, table equal"

# ---- pages by LOAD DATA, then by INSERT, on targets that take no bulk executions ----------------
for method in "LOAD DATA" "multi-row INSERT"; do
    reset_dest
    sql_dest -e "SET GLOBAL binlog_format = 'STATEMENT'" # bulk executions need row events
    [ "$method" == "LOAD DATA" ] || sql_dest -e "SET GLOBAL local_infile = 0"
    start_agent
    cpctl import fallback $dest --tables 'imp.*' --chunk-rows 50 --override destination.binlog_format >/dev/null || fail "import by $method failed"
    assert_contains "$(grep "writing pages with" "$AGENT_LOG" | tail -n 1)" "writing pages with $method" \
        "the copier's choice of write method"
    checksums_equal imp $IMP_TABLES
    stop_agent
done
restore_dest
pass "targets without bulk executions get pages by LOAD DATA, or without LOAD DATA by INSERT: tables equal"

pw=$(cat "$PASSWORD_FILE")
grep -qF "$pw" "$AGENT_LOG" && fail "password in the agent log"
grep -rqF "$pw" "$WORK/state" && fail "password in the agent's state directory"
pass "no password in the log or the state directory"
