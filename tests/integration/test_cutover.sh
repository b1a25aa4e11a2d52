#!/usr/bin/env bash
# The whole lifecycle under continuous writes from a client that follows the
# control plane's routing rules: import, validate, switch, reverse, switch
# again, detach. At every step every write the client saw acknowledged is
# on both servers and the tables are equal. Then: a switch that times out
# (forward stream held back) rolls back losing nothing; kill -9 of the agent
# after each step of a switch ends, after a restart, either switched or
# cleanly rolled back; wrong-state and concurrent commands are refused.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
WRITER_PID=

cleanup() {
    [ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT

wf_field() { cpctl --json workflow status lc | jq -r "$1"; }
wf_state_is() { [ "$(wf_field .state)" == "$1" ]; }
read_only() { sandbox sql "$1" -N -e "SELECT @@read_only"; }

# Every id in the acked file is on both servers (once replication caught up).
acked_everywhere() {
    local n have
    n=$(wc -l <"$WORK/acked")
    head -n "$n" "$WORK/acked" >"$WORK/acked.now"
    for side in source dest; do
        have=$(ids_present $side "$WORK/acked.now")
        [ "$have" == "$n" ] || return 1
    done
}
check_step() {
    wait_for 20 "every acknowledged write on both sides after $1" acked_everywhere
    checksums_equal app items
    pass "$1: $(wc -l <"$WORK/acked") acknowledged writes so far, all on both sides; tables equal"
}

# ---- setup ------------------------------------------------------------------
rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE app; CREATE TABLE app.events (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32));
    CREATE TABLE app.items (id INT PRIMARY KEY, v INT); INSERT INTO app.items SELECT seq, seq FROM app.seq_1_to_1000"
start_control_plane
start_agent
cpctl import lc $dest --tables 'app.*' >/dev/null
cpctl validate lc >/dev/null
assert_eq "$(cpctl --json routing lc | jq -r .reads)" "destination" "reads after validate"
"$BUILD/tools/app_writer" "$CPCTL_CONTROL_PLANE" lc 400 0 "$WORK/acked" >"$WORK/writer.json" &
WRITER_PID=$!
wait_for 10 "the writer acknowledged writes" test -s "$WORK/acked"
check_step "import + validate"

# ---- wrong-state commands ------------------------------------------------------
out=$(cpctl reverse lc 2>&1) && fail "reverse while REPLICATING succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "reverse before switch"
assert_contains "$out" "REPLICATING" "the error names the state"
pass "reverse before a switch: FAILED_PRECONDITION naming the state"

# ---- switch, reverse, switch ---------------------------------------------------
cpctl --json switch lc >"$WORK/switch1.json"
assert_eq "$(wf_field .state)" "WORKFLOW_PRIMARY" "state after switch"
assert_eq "$(cpctl --json routing lc | jq -r .writes)" "destination" "routing after switch"
assert_eq "$(read_only source)" "1" "source read_only after switch"
out=$(mariadb -h127.0.0.1 -P"$SOURCE_PORT" -uapp -papp-password -e "INSERT INTO app.items VALUES (-1, -1)" 2>&1) &&
    fail "an ALL PRIVILEGES account wrote to the fenced source"
note "stray write to the fenced source refused: ${out##*: }"
check_step "switch ($(jq -r .total_ms "$WORK/switch1.json") ms)"
out=$(cpctl switch lc 2>&1) && fail "switching twice succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "switch while PRIMARY"

cpctl --json reverse lc >"$WORK/reverse1.json"
assert_eq "$(wf_field .state)" "WORKFLOW_REPLICATING" "state after reverse"
assert_eq "$(read_only source)" "0" "source writable after reverse"
assert_eq "$(read_only dest)" "1" "destination fenced after reverse"
check_step "reverse ($(jq -r .total_ms "$WORK/reverse1.json") ms)"

cpctl --json switch lc >"$WORK/switch2.json"
assert_eq "$(read_only dest)" "0" "destination writable after switching again"
check_step "switch again ($(jq -r .total_ms "$WORK/switch2.json") ms)"

# ---- a switch that cannot catch up rolls back, losing nothing ----------------------
cpctl --json reverse lc >/dev/null
check_step "reverse before the timeout test"
sandbox sql dest -e "LOCK TABLES app.events WRITE; SELECT SLEEP(6)" >/dev/null 2>&1 &
locker=$!
sleep 0.5
out=$(cpctl switch lc --timeout-ms 2000 2>&1) && fail "a switch with a held-back stream succeeded"
assert_contains "$out" "DEADLINE_EXCEEDED" "timeout status"
assert_contains "$out" "catch_up" "the failed step is named"
assert_contains "$out" "rolled back" "the rollback is reported"
assert_eq "$(read_only source)" "0" "source writable after the rolled-back switch"
assert_eq "$(wf_field .state)" "WORKFLOW_REPLICATING" "state after the rolled-back switch"
wait $locker || true
check_step "timed-out switch rolled back"

# ---- a switch keeps to its deadline, also while waiting for a lock; bad values -------------
sandbox sql source -e "LOCK TABLES app.items WRITE; SELECT SLEEP(8)" >/dev/null 2>&1 &
locker=$!
sleep 0.5
t0=$(date +%s%N)
out=$(cpctl switch lc --timeout-ms 1500 2>&1) && fail "a switch got through a held lock"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 3500 ] || fail "a switch with timeout_ms 1500 took $ms ms"
assert_contains "$out" "fence_source" "the step that waited is named"
assert_eq "$(read_only source)" "0" "source writable after the switch that ran out of time"
kill "$locker" 2>/dev/null || true
wait "$locker" 2>/dev/null || true
for bad in "--timeout-ms 1" "--max-lag nan" "--max-lag -1"; do
    out=$(cpctl switch lc $bad 2>&1) && fail "switch $bad was accepted"
    assert_contains "$out" "INVALID_ARGUMENT" "switch $bad"
done
out=$(cpctl workflow status "" 2>&1) && fail "an empty workflow name was looked up"
assert_contains "$out" "INVALID_ARGUMENT" "empty name"
pass "a switch waiting for a lock gives up in ${ms} ms with timeout_ms 1500; timeout_ms 1, NaN or negative lag and empty names: INVALID_ARGUMENT"
check_step "switch that ran out of time"

# ---- concurrent commands ---------------------------------------------------------------
stop_agent
TABLET_AGENT_TEST_PAUSE_AFTER=catch_up:2500 start_agent
wait_for 15 "replicating again" wf_state_is WORKFLOW_REPLICATING
cpctl switch lc >"$WORK/slow_switch.out" 2>&1 &
slow=$!
wait_for 10 "switch in flight" wf_state_is WORKFLOW_SWITCHING
out=$(cpctl detach lc 2>&1) && fail "detach during a switch succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "detach during a switch"
out=$(cpctl switch lc 2>&1) && fail "a second concurrent switch succeeded"
assert_contains "$out" "SWITCHING" "concurrent switch names the state"
wait $slow || fail "the slow switch failed: $(cat "$WORK/slow_switch.out")"
pass "detach and a second switch during a switch: FAILED_PRECONDITION"
check_step "slow switch"
cpctl reverse lc >/dev/null
stop_agent

# ---- kill -9 after each step of a switch ---------------------------------------------------
before_commit="check fence_source source_position catch_up stop_forward dest_position"
# cut_at OP STEP FROM_STATE: run OP (switch or reverse) with the agent
# pausing after STEP, kill -9 it there, start it again; $state is where the
# workflow settles.
cut_at() {
    local op=$1 step=$2 from=$3
    : >"$AGENT_LOG"
    TABLET_AGENT_TEST_PAUSE_AFTER=$step:3000 start_agent
    wait_for 15 "$from before the $op" wf_state_is "$from"
    cpctl "$op" lc >/dev/null 2>&1 &
    paused() { grep -q "pausing 3000 ms after step $step" "$AGENT_LOG"; }
    wait_for 10 "the $op at step $step" paused
    kill9_agent
    start_agent
    settled() { local s; s=$(wf_field .state); [ "$s" == WORKFLOW_REPLICATING ] || [ "$s" == WORKFLOW_PRIMARY ]; }
    wait_for 20 "the workflow settles after kill -9 at $step" settled
    state=$(wf_field .state)
}
for step in $before_commit commit release_fence start_reverse; do
    cut_at switch "$step" WORKFLOW_REPLICATING
    if [[ " $before_commit " == *" $step "* ]]; then
        assert_eq "$state" "WORKFLOW_REPLICATING" "kill -9 after $step (before the point of no return)"
        assert_eq "$(read_only source)" "0" "source writable after the rollback at $step"
    else
        assert_eq "$state" "WORKFLOW_PRIMARY" "kill -9 after $step (after the point of no return)"
        assert_eq "$(read_only source)" "1" "source fenced after completing at $step"
        # The switch was cut before cpctl could change the rules: the
        # control plane follows the agent, so writes move anyway.
        rules_primary() { [ "$(cpctl --json routing lc | jq -r .writes)" == destination ]; }
        wait_for 10 "the rules follow the switch the agent finished at $step" rules_primary
        cpctl reverse lc >/dev/null # back to the source, and the routing with it
    fi
    check_step "kill -9 after $step -> $state"
    stop_agent
done

# ---- kill -9 in the middle of a reverse ------------------------------------------------------------
# A reverse journals on the source and its completion rewrites the
# destination's row: cut before, at and after its point of no return.
start_agent
wait_for 15 "replicating" wf_state_is WORKFLOW_REPLICATING
cpctl switch lc >/dev/null
stop_agent
for step in fence_destination commit start_forward; do
    cut_at reverse "$step" WORKFLOW_PRIMARY
    if [ "$step" == fence_destination ]; then
        assert_eq "$state" "WORKFLOW_PRIMARY" "kill -9 after reverse step $step (before the point of no return)"
        assert_eq "$(read_only dest)" "0" "destination writable after the rollback at $step"
    else
        assert_eq "$state" "WORKFLOW_REPLICATING" "kill -9 after reverse step $step (after the point of no return)"
        assert_eq "$(read_only dest)" "1" "destination fenced after completing at $step"
        assert_eq "$(read_only source)" "0" "source writable after completing at $step"
        rules_source() { [ "$(cpctl --json routing lc | jq -r .writes)" == source ]; }
        wait_for 10 "the rules follow the reverse the agent finished at $step" rules_source
        cpctl switch lc >/dev/null
    fi
    check_step "kill -9 after reverse step $step -> $state"
    stop_agent
done
start_agent
wait_for 15 "primary" wf_state_is WORKFLOW_PRIMARY
cpctl reverse lc >/dev/null
stop_agent

# ---- detach ---------------------------------------------------------------------------------------
start_agent
wait_for 15 "replicating" wf_state_is WORKFLOW_REPLICATING
cpctl switch lc >/dev/null
check_step "final switch"
# Rules that lag behind must not decide: keeping the fenced source open
# would leave both servers writable.
out=$(cpctl detach lc --keep source 2>&1) && fail "detach kept the source writable after a switch"
assert_contains "$out" "FAILED_PRECONDITION" "detach on the wrong side"
assert_contains "$out" "Reverse" "the refusal says what to do"
assert_eq "$(read_only source)" "1" "the source stays fenced after the refused detach"
pass "detach --keep source after a switch: FAILED_PRECONDITION, the source stays fenced"
cpctl detach lc >"$WORK/detach.out"
assert_contains "$(cat "$WORK/detach.out")" "writes stay open on the destination" "detach keeps the primary open"
assert_eq "$(read_only dest)" "0" "destination writable after detach"
[ -z "$(cpctl --json workflow list | jq -r '.workflows[]?.name')" ] || fail "the workflow is still listed"
[ -z "$(ls "$WORK/state/workflows" 2>/dev/null)" ] || fail "files the agent wrote are still in its state dir"
[ -z "$(sql_dest -e "SELECT name FROM _tablet_agent.workflows")" ] || fail "sidecar state left on the destination"
for side in source dest; do
    [ "$(sandbox sql $side -N -e "SELECT (SELECT COUNT(*) FROM _tablet_agent.cutover) +
        (SELECT COUNT(*) FROM _tablet_agent.streams)")" == 0 ] || fail "journal or stream rows left on the $side after detach"
done
sleep 0.5
kill "$WRITER_PID"
wait "$WRITER_PID" || true
WRITER_PID=
n=$(wc -l <"$WORK/acked")
missing=$(ids_present dest "$WORK/acked")
assert_eq "$missing" "$n" "every acknowledged write on the destination after detach"
pass "detach: $n acknowledged writes over the whole lifecycle, all kept; $(jq -c '{max_gap_ms}' "$WORK/writer.json")"
pw=$(cat "$PASSWORD_FILE")
grep -qF "$pw" "$AGENT_LOG" && fail "password in the agent log"
pass "no password in the agent log"
