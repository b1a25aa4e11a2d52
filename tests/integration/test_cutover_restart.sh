#!/usr/bin/env bash
# A reverse after the destination restarted, then kill -9 of the agent: the
# restarted agent must come back REPLICATING, with the forward stream
# carrying the source's new writes. Found by the chaos suite (seed 20261206):
# the workflow's own connection to the destination, idle since the restart,
# was dead; the reverse used it to record on the destination's journal row
# (the authority on where the writes are) that the source writes again, the
# error was dropped and the reverse's own row said done. The next agent
# believed the stale row and resumed as PRIMARY: the source took writes the
# destination never got (734 acknowledged writes missing there), and the
# next switch left both servers read_only.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

wf_state() { cpctl --json workflow status rs | jq -r .state; }
wf_state_is() { [ "$(wf_state)" == "$1" ]; }
stream_running() { [ "$(cpctl --json workflow status rs | jq -r .stream.state)" == STREAM_RUNNING ]; }
cleanup() {
    stop_control_plane
    stop_agent
    sandbox start >/dev/null 2>&1
    unfence
}
trap cleanup EXIT

rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS rs; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE rs; CREATE TABLE rs.t (id INT PRIMARY KEY, v INT); INSERT INTO rs.t SELECT seq, seq FROM rs.seq_1_to_100"
start_control_plane
start_agent
cpctl import rs $(endpoint_opts dest "$DEST_PORT") --tables 'rs.*' >/dev/null
cpctl switch rs >/dev/null
sandbox restart dest >/dev/null # the workflow's idle connection to it dies
wait_for 30 "the reverse stream runs again after the destination's restart" stream_running
out=$(cpctl reverse rs 2>&1) || fail "reverse after the destination's restart: $out"
assert_eq "$(wf_state)" "WORKFLOW_REPLICATING" "state after the reverse"
kill9_agent
start_agent
settled() { local s; s=$(wf_state); [ "$s" == WORKFLOW_REPLICATING ] || [ "$s" == WORKFLOW_PRIMARY ]; }
wait_for 30 "the workflow settled after the restart" settled
assert_eq "$(wf_state)" "WORKFLOW_REPLICATING" "state after kill -9 and restart (the reverse was done)"
sql_source -e "INSERT INTO rs.t VALUES (1000, 1000)"
wait_for 30 "the source's new row on the destination" bash -c "[ \"\$($REPO/tests/sandbox.sh sql dest -N -B -e 'SELECT COUNT(*) FROM rs.t WHERE id = 1000')\" == 1 ]"
checksums_equal rs t
pass "reverse after a destination restart, then kill -9: the agent comes back REPLICATING and the forward stream carries new writes"

# A fenced server that restarts comes back writable (read_only is not
# persistent; the account locks are): the agent fences it again within
# seconds and says why. Found by the chaos suite.
cpctl switch rs >/dev/null
assert_eq "$(sql_source -e "SELECT @@GLOBAL.read_only")" 1 "source fenced after the switch"
sandbox restart source >/dev/null
fenced_again() { [ "$(sql_source -e "SELECT @@GLOBAL.read_only" 2>/dev/null)" == 1 ]; }
wait_for 15 "the agent fences the restarted source again" fenced_again
grep -q "was writable again (read_only does not survive a restart): fenced again" "$AGENT_LOG" ||
    fail "the agent should say it fenced the source again"
pass "a fenced source restarted with read_only off: the agent fenced it again and said so"
