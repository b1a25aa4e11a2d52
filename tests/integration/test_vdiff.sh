#!/usr/bin/env bash
# VDiff end to end. A clean import reports zero differences, every row
# compared. Differences injected directly on the destination (a changed
# column, a case-only change under a _ci collation, NULL changed to '', a
# deleted row, an extra row, a changed byte in a BLOB) are each found
# exactly, with the right key, before the switch (source writing) and after it (destination writing).
# A diff under a continuous sysbench write load reports zero differences.
# A diff cut by kill -9 of the agent resumes after the restart and counts
# every difference once. Wrong-state requests are refused.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
SB_PID=
cleanup() {
    [ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT

wf_state_is() { [ "$(cpctl --json workflow status vd | jq -r .state)" == "$1" ]; }
report() { { cpctl --json vdiff vd --show || true; } | tail -n 1; }
# vdiff_json [cpctl vdiff options]: run a diff to the end; its report in $WORK/vdiff.json, exit code in $rc.
vdiff_json() {
    rc=0
    cpctl --json vdiff vd "$@" >"$WORK/vdiff.out" 2>&1 || rc=$?
    tail -n 1 "$WORK/vdiff.out" >"$WORK/vdiff.json"
    jq -e .state "$WORK/vdiff.json" >/dev/null 2>&1 || fail "vdiff printed no report: $(cat "$WORK/vdiff.out")"
}
field() { jq -r "$1" "$WORK/vdiff.json"; }
tbl() { jq -r --arg t "$1" ".tables[] | select(.name == \$t) | $2" "$WORK/vdiff.json"; }
rows_on_source() { sql_source -e "SELECT (SELECT COUNT(*) FROM app.items) + (SELECT COUNT(*) FROM app.parts) +
    (SELECT COUNT(*) FROM app.\`we\`\`ird tbl\`) + (SELECT COUNT(*) FROM sbtest.sbtest1) + (SELECT COUNT(*) FROM sbtest.sbtest2)"; }

# dest_sql SQL: change the destination behind the agent's back (no binlog,
# so no stream carries it anywhere).
dest_sql() { sql_dest -e "SET SESSION sql_log_bin = 0; $1"; }

inject() {
    dest_sql "UPDATE app.items SET v = v + 1 WHERE id = 17;
        UPDATE app.items SET name = 'ABC' WHERE id = 23;
        UPDATE app.items SET b = '' WHERE id = 14;
        DELETE FROM app.items WHERE id = 42;
        INSERT INTO app.items VALUES (100001, 1, 'extra', NULL, 0.5);
        UPDATE app.parts SET payload = x'00ff0002' WHERE a = 'x''y' AND b = 3"
}
repair() {
    dest_sql "UPDATE app.items SET v = v - 1 WHERE id = 17;
        UPDATE app.items SET name = 'abc' WHERE id = 23;
        UPDATE app.items SET b = NULL WHERE id = 14;
        INSERT INTO app.items SELECT 42, 42, 'n42', x'2a00', NULL;
        DELETE FROM app.items WHERE id = 100001;
        UPDATE app.parts SET payload = x'00ff0001' WHERE a = 'x''y' AND b = 3"
}

# The injected differences, found exactly: $1 names the run.
expect_injected() {
    assert_eq "$(field .state)" "DONE" "$1: state"
    assert_eq "$(field .differences)" "6" "$1: differences"
    assert_eq "$(tbl items .mismatched)" "3" "$1: items mismatched"
    assert_eq "$(tbl items .missing_on_destination)" "1" "$1: items missing on the destination"
    assert_eq "$(tbl items .extra_on_destination)" "1" "$1: items extra on the destination"
    assert_eq "$(tbl parts .mismatched)" "1" "$1: parts mismatched"
    assert_eq "$(tbl parts .missing_on_destination)$(tbl parts .extra_on_destination)" "00" "$1: parts missing/extra"
    local s
    s=$(tbl items '.samples | join(";")')
    assert_contains "$s" "mismatched (17)" "$1: changed column"
    assert_contains "$s" "mismatched (23)" "$1: case-only change under a _ci collation"
    assert_contains "$s" "mismatched (14)" "$1: NULL changed to ''"
    assert_contains "$s" "missing on the destination (42)" "$1: deleted row"
    assert_contains "$s" "extra on the destination (100001)" "$1: extra row"
    assert_eq "$(tbl parts '.samples | join(";")')" "mismatched ('x\\'y',3)" "$1: changed BLOB byte"
    assert_eq "$(tbl 'we`ird tbl' .matching)" "$(sql_source -e 'SELECT COUNT(*) FROM app.`we``ird tbl`')" \
        "$1: the odd-named table matches"
}

# ---- setup ------------------------------------------------------------------
rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE app; CREATE DATABASE sbtest;
    CREATE TABLE app.items (id INT PRIMARY KEY, v INT, name VARCHAR(20) COLLATE utf8mb4_general_ci,
        b VARBINARY(16), f FLOAT);
    INSERT INTO app.items SELECT seq, seq, CONCAT('n', seq), UNHEX(HEX(seq)), seq + 0.5 FROM app.seq_1_to_5000;
    UPDATE app.items SET name = 'abc' WHERE id = 23;
    UPDATE app.items SET b = NULL, f = NULL WHERE id % 7 = 0;
    UPDATE app.items SET b = x'2a00' WHERE id = 42;
    CREATE TABLE app.parts (a VARCHAR(10) COLLATE utf8mb4_general_ci, b INT, payload BLOB, PRIMARY KEY (a, b));
    INSERT INTO app.parts VALUES ('x''y', 1, x'00'), ('x''y', 2, ''), ('x''y', 3, x'00ff0001'), ('é', 1, NULL),
        ('back\\\\slash', 1, 'z'), ('Z', 9, 'last');
    CREATE TABLE app.\`we\`\`ird tbl\` (\`id col\` BIGINT UNSIGNED PRIMARY KEY, d DATETIME(6), j JSON);
    INSERT INTO app.\`we\`\`ird tbl\` SELECT seq, '2026-01-02 03:04:05.123456', JSON_OBJECT('k', seq)
        FROM app.seq_1_to_300"
sb prepare --tables=2 --table-size=50000 >/dev/null
start_control_plane
start_agent
out=$(cpctl vdiff nosuch 2>&1) && fail "vdiff of an unknown workflow succeeded"
assert_contains "$out" "NOT_FOUND" "vdiff of an unknown workflow"
cpctl import vd $dest --tables 'app.*' --tables 'sbtest.*' >/dev/null
wait_for 30 "REPLICATING" wf_state_is WORKFLOW_REPLICATING

# ---- a clean import -------------------------------------------------------------
vdiff_json
assert_eq "$rc" "0" "exit code of a clean vdiff ($(cat "$WORK/vdiff.out"))"
assert_eq "$(field .state)" "DONE" "state of a clean vdiff"
assert_eq "$(field .differences)" "0" "differences after a clean import"
assert_eq "$(field .total.rows_compared)" "$(rows_on_source)" "every row compared"
assert_eq "$(field .writing_side)" "SIDE_SOURCE" "the source writes before the switch"
# --json prints the report alone: the whole output is one JSON document
# (a summary line used to come first, found by the chaos suite).
assert_eq "$(jq -se length "$WORK/vdiff.out" 2>&1)" "1" "cpctl --json vdiff output: one JSON document ($(head -c 300 "$WORK/vdiff.out"))"
assert_eq "$(cpctl --json vdiff vd --show | jq -se 'length' 2>&1)" "1" "cpctl --json vdiff --show output: one JSON document"
pass "clean import: $(field .total.rows_compared) rows compared, 0 differences ($(field .rows_per_second | cut -d. -f1) rows/s)"

# ---- injected differences, source writing ------------------------------------------
inject
vdiff_json --chunk-rows 100
assert_eq "$rc" "1" "cpctl vdiff exit code with differences"
expect_injected "before the switch"
pass "before the switch: a changed column, a case-only change, NULL -> '', a deleted row, an extra row and a BLOB byte found, with their keys"
repair
vdiff_json
assert_eq "$rc/$(field .differences)" "0/0" "after repairing the destination ($(jq -c '[.tables[].samples]' "$WORK/vdiff.json"))"

# ---- under a write load ---------------------------------------------------------------
sb run --tables=2 --table-size=50000 --threads=2 --rate=300 --time=60 >/dev/null 2>&1 &
SB_PID=$!
sleep 1
vdiff_json --chunk-rows 200
assert_eq "$(field .state)/$(field .differences)" "DONE/0" "vdiff under writes ($(field .message))"
gtid_before=$(field .position.gtid)
vdiff_json --chunk-rows 200
[ "$(field .position.gtid)" != "$gtid_before" ] || fail "two diffs under writes synchronised at the same point"
assert_eq "$rc/$(field .differences)" "0/0" "second vdiff under writes"
pass "under a sysbench write load: 0 differences twice, at $gtid_before and $(field .position.gtid)"
kill "$SB_PID" 2>/dev/null || true
wait "$SB_PID" 2>/dev/null || true
SB_PID=

# ---- wrong state and concurrent requests ---------------------------------------------------
cpctl --json vdiff vd --chunk-rows 5 >/dev/null 2>&1 &
first=$!
running() { [ "$(report | jq -r .state)" == RUNNING ]; }
wait_for 10 "a diff running" running
out=$(cpctl vdiff vd 2>&1) && fail "a second concurrent vdiff succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "concurrent vdiff"
assert_contains "$out" "already running" "concurrent vdiff message"
wait $first || true
out=$(cpctl vdiff vd --chunk-rows abc 2>&1) && fail "a malformed --chunk-rows was accepted"
assert_contains "$out" "positive number" "malformed chunk rows"
cpctl workflow pause vd >/dev/null
out=$(cpctl vdiff vd 2>&1) && fail "vdiff of a paused workflow succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "vdiff while paused"
assert_contains "$out" "PAUSED" "the error names the state"
cpctl workflow resume vd >/dev/null
wait_for 20 "REPLICATING after resume" wf_state_is WORKFLOW_REPLICATING
pass "refused: unknown workflow (NOT_FOUND), concurrent diff and paused workflow (FAILED_PRECONDITION), bad chunk size"

# ---- after the switch: the destination writes ---------------------------------------------------
cpctl switch vd >/dev/null
wait_for 10 "PRIMARY" wf_state_is WORKFLOW_PRIMARY
inject
vdiff_json --chunk-rows 10
assert_eq "$(field .writing_side)" "SIDE_DESTINATION" "the destination writes after the switch"
expect_injected "after the switch"
pass "after the switch (reverse replication): the same differences found, missing and extra on the right side"

# ---- resume after kill -9 ------------------------------------------------------------------------
cpctl --json vdiff vd --chunk-rows 10 >/dev/null 2>&1 &
diff_cli=$!
progressed() { [ "$(report | jq -r 'if .state == "RUNNING" then .total.rows_compared else 0 end')" -gt 20000 ]; }
wait_for 60 "the diff compared 20000 rows" progressed
before=$(report | jq -r .total.rows_compared)
kill9_agent
wait $diff_cli || true
start_agent
wait_for 30 "PRIMARY after the restart" wf_state_is WORKFLOW_PRIMARY
resumed() { [ "$(report | jq -r .message)" == "resumed after an agent restart" ] || [ "$(report | jq -r .state)" == DONE ]; }
wait_for 30 "the diff resumed" resumed
done_() { [ "$(report | jq -r .state)" == DONE ]; }
wait_for 120 "the resumed diff finished" done_
report >"$WORK/vdiff.json"
expect_injected "resumed after kill -9"
assert_eq "$(field .total.rows_compared)" "$(($(rows_on_source) + 1))" "every row compared once after the resume"
grep -q "resum" "$AGENT_LOG" || fail "the agent log does not mention the resume"
pass "kill -9 after $before rows compared: resumed, every row compared once, each difference counted once"

stop_agent
start_agent
wait_for 30 "PRIMARY after another restart" wf_state_is WORKFLOW_PRIMARY
report >"$WORK/vdiff.json"
expect_injected "the last report after a restart"
pass "after a restart the last report is read back from the sidecar schema"

# ---- detach forgets the diff -------------------------------------------------------------------------
repair
cpctl detach vd >/dev/null
assert_eq "$(sql_dest -e "SELECT COUNT(*) FROM _tablet_agent.vdiff WHERE workflow = 'vd'")" "0" "vdiff state after detach"
assert_eq "$(sql_dest -e "SELECT COUNT(*) FROM _tablet_agent.vdiff_tables WHERE workflow = 'vd'")" "0" \
    "vdiff table state after detach"
pw=$(cat "$PASSWORD_FILE")
grep -qF "$pw" "$AGENT_LOG" && fail "password in the agent log"
pass "detach removed the diff's state; no password in the agent log"
