#!/usr/bin/env bash
# A router's control-plane side (agent/router/rules.c), driven by
# tests/tools/rules_follow against the real control-plane mock: it gets the
# rules and every change, cpctl routing lists it with the version it
# applies; a router that stops reporting shows its age and falls behind;
# rules that are garbage (an address that is not host:port, an unknown
# mode, a version going back) are refused and the last good ones kept; the
# control plane killed, restarted with other rules, or stopped (SIGSTOP: no
# reset, the stream just goes quiet) is noticed, said, and recovered from;
# stopping the follower takes well under a second even then; a report
# without router_id or workflow is INVALID_ARGUMENT; cpctl router status
# shows the follower's own view (router.v1.Router, served by it as the
# router will). No agent, no servers.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# The sanitizer pass (TABLET_AGENT_BIN=build/asan/tablet-agent) runs the
# sanitized builds of the follower and the control plane too.
BIN_DIR=$(dirname "${TABLET_AGENT_BIN:-$BUILD/tablet-agent}")
FOLLOW=$BIN_DIR/tools/rules_follow
CPCTL_BIN=$BIN_DIR/cpctl
[ -x "$FOLLOW" ] && [ -x "$CPCTL_BIN" ] || fail "$FOLLOW and $CPCTL_BIN are not built (make all; make asan-agent)"
note "follower and control plane from $BIN_DIR"

CP=$CPCTL_CONTROL_PLANE
R1_STATUS=127.0.0.1:$((SANDBOX_PORT_BASE + 13))
STATE=$WORK/routing.tsv
R1_PID= R2_PID=

cleanup() {
    [ -n "$MOCK_PID" ] && kill -CONT "$MOCK_PID" 2>/dev/null
    for p in $R1_PID $R2_PID; do kill "$p" 2>/dev/null || true; done
    stop_control_plane
}
trap cleanup EXIT

cpx() { "$CPCTL_BIN" --control-plane "$CP" "$@"; }
set_rules() { "$FOLLOW" --control-plane "$CP" --workflow shop --set "$@"; }
router_field() { cpx --json routing shop | jq -r "[.routers[] | select(.router_id == \"$1\")][0] | $2"; }
# The control plane on the state file as it is (lib.sh's start_control_plane
# starts from none): restarts keep the rules, or take the ones a test wrote.
cp_start() {
    "$CPCTL_BIN" --agent "$AGENT_ADDR" serve --listen "$CP" --state "$STATE" >>"$WORK/control-plane.log" 2>&1 &
    MOCK_PID=$!
    wait_for 5 "control plane answers" cpx routing shop
}
cp_kill() {
    kill -9 "$MOCK_PID"
    wait "$MOCK_PID" 2>/dev/null || true
    MOCK_PID=
}
# cp_rules VERSION MODE: the state file, as if another control plane
# replica had changed the rules while this one was away.
cp_rules() {
    printf 'shop\t%s\t%s\t127.0.0.1:3306\t127.0.0.1:3307\t%s\t0\n' "$1" "$2" "$(date +%s%3N)" >"$STATE"
}
# follow ID ADDRESS [options]: a follower reporting every 300 ms.
follow() {
    local id=$1 addr=$2
    shift 2
    "$FOLLOW" --control-plane "$CP" --workflow shop --router-id "$id" --address "$addr" --report-interval-ms 300 \
        "$@" >"$WORK/$id.out" 2>"$WORK/$id.log" &
}
saw() { grep -qF -- "$2" "$WORK/$1.out"; }
wait_saw() { wait_for "$1" "$2 prints: $3" saw "$2" "$3"; }
count() { grep -c -- "$2" "$WORK/$1.out" || true; } # count ID REGEX: matching lines
count_above() { [ "$(count "$1" "$2")" -gt "$3" ]; }
status_of() { # status_of ID PID: the follower's own view (SIGUSR1)
    local n
    n=$(count "$1" "^status ")
    kill -USR1 "$2"
    wait_for 2 "$1 answers SIGUSR1" count_above "$1" "^status " "$n"
    grep "^status " "$WORK/$1.out" | tail -1
}

rm -f "$STATE" "$WORK"/*.out "$WORK"/*.log
cp_start
assert_eq "$(set_rules 1 --source 127.0.0.1:3306 --destination 127.0.0.1:3307)" "ok version=1" "rules set"
assert_contains "$(cpx routing shop)" "routers: none reported" "routing before any router"

# ---- it follows, and cpctl shows what it applies -----------------------------------------------
follow r1 127.0.0.1:6033 --clients 12 --status-listen "$R1_STATUS"
R1_PID=$!
wait_saw 5 r1 "rules v1 mode SOURCE source 127.0.0.1:3306 destination 127.0.0.1:3307 detached 0"
wait_saw 5 r1 "connected"
applied_is() { [ "$(router_field "$1" .applied_version)" == "$2" ]; }
wait_for 5 "r1 applies v1 in cpctl routing" applied_is r1 1
out=$(cpx routing shop)
assert_contains "$out" "routers: 1 (all on v1)" "routing summary"
assert_contains "$out" "  r1  127.0.0.1:6033  v1  12 clients  seen " "routing line"
assert_eq "$(router_field r1 .clients)" "12" "clients in --json"
pass "the follower gets the rules; cpctl routing lists it on v1 with its clients"
out=$(cpx router status --router "$R1_STATUS")
assert_contains "$out" "Router     r1  at $R1_STATUS  tablet-router " "router status: first line"
assert_contains "$out" "Clients    12 connected to 127.0.0.1:6033" "router status: clients"
assert_contains "$out" "Workflow   shop  rules v1  mode SOURCE  reads -> source (127.0.0.1:3306)  writes -> source (127.0.0.1:3306)" "router status: rules"
assert_contains "$out" "           control plane connected for " "router status: connected"
assert_not_contains "$out" "Problem" "router status while all is well"
pass "cpctl router status shows the router's own view"

assert_eq "$(set_rules 2)" "ok version=2" "validate"
wait_saw 5 r1 "rules v2 mode VALIDATE source 127.0.0.1:3306 destination 127.0.0.1:3307 detached 0"
wait_for 5 "r1 applies v2" applied_is r1 2
assert_contains "$(cpx routing shop)" "routers: 1 (all on v2)" "summary after the change"
pass "a change reaches it at once, and cpctl shows it applied"

# ---- a router that stops reporting ---------------------------------------------------------
follow r2 127.0.0.1:6034
R2_PID=$!
wait_for 5 "r2 applies v2" applied_is r2 2
kill -9 "$R2_PID"
wait "$R2_PID" 2>/dev/null || true
R2_PID=
sleep 2.5
assert_eq "$(set_rules 3)" "ok version=3" "primary"
wait_for 5 "r1 applies v3" applied_is r1 3
age=$(router_field r2 .seconds_since_report)
awk "BEGIN { exit !($age >= 2.4) }" || fail "r2 silent for 2.5 s but reported $age s ago"
out=$(cpx routing shop)
assert_contains "$out" "routers: 2 (1 on v3, 1 behind v3)" "summary with a silent router"
[[ "$out" =~ "  r2  127.0.0.1:6034  v2 (behind)  0 clients  seen "[2-9]"s ago" ]] || fail "r2's line: $out"
pass "a router that stopped reporting shows its age (${age} s) and that it is behind"

# ---- garbage rules are refused, the last good ones kept ------------------------------------
assert_eq "$(set_rules 2 --destination db-2:99999)" "ok version=4" "rules with a bad address"
wait_saw 5 r1 "problem: control plane $CP sent rules this router refuses: the destination's address \"db-2:99999\" is not host:port; serving with rules v3 received"
assert_contains "$(status_of r1 "$R1_PID")" "status connected=1 version=3 " "r1 keeps v3"
assert_contains "$(cpx routing shop)" "  r1  127.0.0.1:6033  v3 (behind)" "r1 stays on v3"
assert_eq "$(set_rules 2 --destination 127.0.0.1:3307)" "ok version=5" "rules fixed"
wait_saw 5 r1 "rules v5 mode VALIDATE"
pass "rules naming an address that is not host:port are refused; v3 kept until good ones came"

# ---- reports the control plane refuses ------------------------------------------------------
report() { "$FOLLOW" --report-only --control-plane "$CP" "$@" || true; }
assert_contains "$(report --workflow shop)" "3 a router report needs router_id" "no router_id"
assert_contains "$(report --router-id x)" "3 a router report needs router_id (unique per router replica" "no workflow"
assert_contains "$(report --workflow shop --router-id "$(printf 'x%.0s' {1..300})")" "3 router_id, workflow and address take at most 255 bytes" "long router_id"
assert_eq "$(report --workflow shop --router-id probe --applied 5)" "ok current_version=5" "a good report"
pass "a report without router_id or workflow is INVALID_ARGUMENT, saying what to send"
assert_eq "$(report --workflow crowd --router-id c --repeat 256)" "ok current_version=0" "256 routers"
assert_contains "$(report --workflow crowd --router-id c257)" "8 256 routers already report for workflow crowd; a router_id must stay the same across a router's restarts" "the 257th"
assert_eq "$(report --workflow crowd --router-id c-17 --applied 1)" "ok current_version=0" "a known router still reports"
assert_eq "$(report --workflow shop --router-id probe-2)" "ok current_version=5" "another workflow is not affected"
pass "past 256 routers for a workflow a new one is RESOURCE_EXHAUSTED, saying why; known ones still report"

# ---- the control plane killed, then back with rules changed meanwhile --------------------------
cp_kill
wait_saw 5 r1 "disconnected: control plane $CP unreachable ("
assert_contains "$(grep disconnected "$WORK/r1.out")" "); serving with rules v5 received" "disconnected line"
st=$(status_of r1 "$R1_PID")
assert_contains "$st" "status connected=0 version=5 error=control plane $CP unreachable (" "status while away"
assert_contains "$st" "; serving with rules v5 received " "status names the rules kept"
assert_contains "$st" "; retrying" "status says it retries"
out=$(cpx router status --router "$R1_STATUS")
assert_contains "$out" "Workflow   shop  rules v5  mode VALIDATE" "router status: rules kept"
assert_contains "$out" "           control plane DISCONNECTED for " "router status: disconnected"
assert_contains "$out" "Problem    control plane $CP unreachable (" "router status: the problem"
assert_eq "$(cpx --json router status --router "$R1_STATUS" | jq -r '.workflows[0] | "\(.control_plane_connected) \(.rules_version) \(.mode)"')" \
    "false 5 MODE_VALIDATE" "router status --json"
pass "control plane killed: the follower says so and keeps serving v5 (cpctl router status too)"

cp_rules 6 3
cp_start
wait_saw 10 r1 "rules v6 mode PRIMARY"
assert_eq "$(count r1 '^connected$')" "2" "connected lines"
wait_for 5 "r1 reports again to the restarted control plane" applied_is r1 6
pass "control plane restarted: the follower reconnects, gets v6, and the new process lists it at once"

# ---- a version going back, an unknown mode ------------------------------------------------
cp_kill
cp_rules 4 1
cp_start
wait_saw 10 r1 "its version went back from v6 to v4 (it may have lost its state, or be an older replica; a restarted router would accept it); serving with rules v6 received"
assert_contains "$(status_of r1 "$R1_PID")" "status connected=1 version=6 " "r1 keeps v6"
cp_kill
cp_rules 7 9
cp_start
wait_saw 10 r1 "mode 9 is not one this router knows (SOURCE, VALIDATE, PRIMARY)"
assert_contains "$(status_of r1 "$R1_PID")" "status connected=1 version=6 " "r1 still on v6"
saw r1 "rules v4" && fail "v4 was applied after v6"
saw r1 "rules v7" && fail "rules with mode 9 were applied"
pass "a version going back and an unknown mode are refused; v6 kept"

# ---- the control plane stopped: no reset, the stream goes quiet --------------------------------
assert_eq "$(set_rules 1)" "ok version=8" "back to the source"
wait_saw 5 r1 "rules v8 mode SOURCE"
n=$(count r1 '^connected$')
kill -STOP "$MOCK_PID"
wait_saw 10 r1 "disconnected: control plane $CP stopped answering (2 reports in a row: "
kill -CONT "$MOCK_PID"
wait_for 10 "r1 connected again" count_above r1 '^connected$' "$n"
pass "a stopped control plane is noticed from the unanswered reports, and found again"

# Stopping while the watcher waits for a new stream to open (the kick
# above, again): the call is still connecting, and must be cancelled.
kill -STOP "$MOCK_PID"
wait_for 10 "r1 notices again" count_above r1 'stopped answering' 1
sleep 0.5
kill -TERM "$R1_PID"
wait "$R1_PID" || fail "rules_follow exited with $?"
R1_PID=
kill -CONT "$MOCK_PID"
ms=$(sed -n 's/^stopped in \([0-9]*\) ms$/\1/p' "$WORK/r1.out")
[ -n "$ms" ] && [ "$ms" -lt 1500 ] || fail "stopping took ${ms:-?} ms with the control plane stopped"
pass "stopping the follower while its watch waits on a hung control plane takes $ms ms"

! grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$WORK"/*.log "$WORK/control-plane.log" ||
    fail "sanitizer reports above"
