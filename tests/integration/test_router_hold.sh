#!/usr/bin/env bash
# Zero-error switches through the data router. Two routers follow one
# workflow; under a continuous load through both (sysbench that stops at
# its first error but a deadlock between its own threads, with and
# without prepared statements, and a writer
# that opens a new connection for every insert, so logins meet the hold
# too), the workflow is validated, switched, reversed and switched again.
# Each switch holds both routers first (cpctl says so and prints the hold
# time); no client sees an error; every acknowledged insert is on both
# servers. Then the hold's limits, on a third router with small ones: a
# statement held too long, a full queue, an open transaction past the
# drain limit, a hold that outlasts hold-max-ms, and a router that never
# says it holds (the switch goes on and names it).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

U=hold_app
P=hold-app-password
DB=hold
R2_PORT=$((SANDBOX_PORT_BASE + 20)) R2_STATUS=$((SANDBOX_PORT_BASE + 21))
R3_PORT=$((SANDBOX_PORT_BASE + 22)) R3_STATUS=$((SANDBOX_PORT_BASE + 23))
R2_PID= R3_PID= LOADS=()
HC=("$PY" "$REPO/tests/router/hold_client.py")

stop_pid() { [ -z "${1:-}" ] || { kill -CONT "$1" 2>/dev/null; kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; } || true; }
cleanup() {
    for p in "${LOADS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_pid "$R2_PID"
    stop_pid "$R3_PID"
    stop_router
    stop_control_plane
    stop_agent
    unfence
    for n in source dest; do
        sandbox sql $n -e "SET GLOBAL read_only = 0; ALTER USER IF EXISTS '$U'@'127.0.0.1' ACCOUNT UNLOCK" 2>/dev/null || true
    done
}
trap cleanup EXIT

# ---- setup: a schema on the source, imported; three routers ----------------------------------
rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE $DB; CREATE TABLE $DB.events (id BIGINT AUTO_INCREMENT PRIMARY KEY,
    client VARCHAR(32) NOT NULL, token VARCHAR(64) NOT NULL, KEY (token)) ENGINE=InnoDB;
    CREATE TABLE $DB.ack (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32)) ENGINE=InnoDB"
router_account "$U" "$P" "$DB" >"$WORK/accounts"
SB=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=$U --mysql-password=$P --mysql-db=$DB
    --tables=2 --table-size=10000 --mysql-ignore-errors=1213)
"${SB[@]}" --mysql-port="$SOURCE_PORT" oltp_write_only prepare >/dev/null

start_control_plane
start_agent
cpctl import hw $(endpoint_opts dest "$DEST_PORT") --tables "$DB.*" >/dev/null
common=(--control-plane="$CPCTL_CONTROL_PLANE" --workflow=hw --accounts-file="$WORK/accounts")
start_router "${common[@]}" --router-id=r1 --metrics-listen="127.0.0.1:$ROUTER_METRICS_PORT"
start_extra_router() { # PORT STATUS_PORT ID [flags]
    local port=$1 st=$2 id=$3
    shift 3
    "${TABLET_ROUTER_BIN:-$BUILD/tablet-router}" --listen="127.0.0.1:$port" --status-listen="127.0.0.1:$st" \
        "${common[@]}" --router-id="$id" "$@" >>"$WORK/router-$id.log" 2>&1 &
    wait_for 10 "router $id listens on $port" port_open "$port"
}
start_extra_router "$R2_PORT" "$R2_STATUS" r2
R2_PID=$!
routers_apply() { # every router reports the current version
    local v
    v=$(cpctl --json routing hw | jq -r .version)
    [ "$(cpctl --json routing hw | jq --argjson v "$v" '[.routers[] | select(.applied_version == $v)] | length')" \
        -ge "$1" ]
}
wait_for 15 "both routers apply the rules" routers_apply 2

# ---- the lifecycle under load, through both routers ---------------------------------------------
sb_load() { # NAME PORT PS_MODE
    "${SB[@]}" --mysql-port="$2" --threads=4 --time=20 --rate=100 --db-ps-mode="$3" oltp_write_only run \
        >"$WORK/sb-$1.out" 2>&1 &
    LOADS+=($!)
}
: >"$WORK/acked"
: >"$WORK/writer-errors"
writer() { # a new connection for every insert, through router 2
    local i=0
    while [ ! -e "$WORK/stop" ]; do
        i=$((i + 1))
        if mariadb -h127.0.0.1 -P"$R2_PORT" -u$U -p$P -N -B $DB \
            -e "INSERT INTO events (client, token) VALUES ('writer', 'w-$i')" 2>>"$WORK/writer-errors"; then
            echo "w-$i" >>"$WORK/acked"
        fi
    done
}
rm -f "$WORK/stop"
sb_load r1 "$ROUTER_PORT" auto
sb_load r2 "$R2_PORT" disable
writer &
LOADS+=($!)
sleep 2

cpctl validate hw >/dev/null
sleep 1
step() { # switch|reverse: both routers held, then released
    local what=$1 out=$WORK/$1-$2.out
    cpctl "$what" hw >"$out" 2>&1 || fail "cpctl $what failed: $(cat "$out")"
    grep -q "^Routers    all 2 holding" "$out" || fail "$what: both routers should hold first: $(cat "$out")"
    grep -Eq "^  hold +[0-9]+ ms" "$out" || fail "$what: cpctl prints no hold time: $(cat "$out")"
    note "$what: $(grep -o "done in [0-9]* ms" "$out"), $(grep '^Routers' "$out" | sed 's/^Routers *//'), clients held $(grep -E '^  hold ' "$out" | awk '{print $2}') ms"
    wait_for 15 "both routers apply the rules after the $what" routers_apply 2
    sleep 1
}
step switch 1
step reverse 1
step switch 2
touch "$WORK/stop" # sysbench ends by itself (--time)
for p in "${LOADS[@]}"; do wait "$p" 2>/dev/null || true; done
LOADS=()
for r in r1 r2; do
    ! grep -q FATAL "$WORK/sb-$r.out" || fail "sysbench through $r saw an error: $(grep -m2 FATAL "$WORK/sb-$r.out")"
    n=$(awk '/transactions:/ {print $2}' "$WORK/sb-$r.out")
    [ "${n:-0}" -gt 0 ] || fail "sysbench through $r ran no transaction: $(tail -5 "$WORK/sb-$r.out")"
done
for r in "$ROUTER_STATUS_PORT" "$R2_STATUS"; do
    e=$(CPCTL_ROUTER=127.0.0.1:$r "$BUILD/cpctl" --json router status | jq -r '.errors_total // 0')
    [ "$e" == 0 ] || fail "the router on status port $r answered $e statements with an error of its own"
done
[ ! -s "$WORK/writer-errors" ] || fail "the writer saw errors: $(head -3 "$WORK/writer-errors")"
acked=$(wc -l <"$WORK/acked")
[ "$acked" -gt 20 ] || fail "the writer got only $acked inserts acknowledged"
pass "validate, switch, reverse, switch under sysbench (prepared and not) and a connect-per-insert writer through two routers: no client error ($acked inserts, $(awk '/transactions:/ {print $2}' "$WORK/sb-r1.out") + $(awk '/transactions:/ {print $2}' "$WORK/sb-r2.out") sysbench transactions)"

# Every acknowledged insert is on both sides once the reverse stream caught up.
missing_on() { # NAME: acked tokens not on that server
    sandbox sql "$1" -N -B -e "SELECT token FROM $DB.events WHERE client = 'writer'" | sort >"$WORK/have-$1"
    sort "$WORK/acked" | comm -23 - "$WORK/have-$1" | wc -l
}
caught_up() { [ "$(missing_on source)" == 0 ] && [ "$(missing_on dest)" == 0 ]; }
wait_for 30 "every acknowledged insert on both servers" caught_up
checksums_equal "$DB" events sbtest1 sbtest2
pass "every acknowledged insert is on the source and the destination; the tables are equal"
m=$(curl -sf "http://127.0.0.1:$ROUTER_METRICS_PORT/metrics")
holds=$(awk '$1 == "tablet_router_hold_seconds_count" {print $2}' <<<"$m")
released=$(awk '$1 == "tablet_router_held_statements_total{outcome=\"released\"}" {print $2}' <<<"$m")
[ "${holds:-0}" -ge 3 ] && [ "${released:-0}" -gt 0 ] ||
    fail "router 1's metrics should count 3 holds and the statements they released: $(grep -E 'hold|held' <<<"$m" | grep -v '^#')"
pass "router 1's metrics: $holds holds, $released statements held and released"

# ---- the hold's limits, on a router with small ones -------------------------------------------------
start_extra_router "$R3_PORT" "$R3_STATUS" r3 --hold-statement-wait-ms=1500 --hold-queue-max=1 \
    --hold-drain-ms=1500 --hold-max-ms=6000
R3_PID=$!
wait_for 15 "three routers apply the rules" routers_apply 3
holding() { # ID: the router reports holding at the current version
    local v
    v=$(cpctl --json routing hw | jq -r .version)
    [ "$(cpctl --json routing hw | jq -r --arg id "$1" '.routers[] | select(.router_id == $id) | .holding_version')" == "$v" ]
}

# An open, idle transaction: the router reports holding only at the drain
# limit, after rolling it back; the application's next statement hears
# 1213 and its next transaction works (after the release).
rm -f "$WORK/txn-ready"
"${HC[@]}" idle_txn 127.0.0.1 "$R3_PORT" $U $P $DB t-idle "$WORK/txn-ready" 8 >"$WORK/idle.out" 2>&1 &
idle=$!
wait_for 10 "a transaction open through router 3" test -e "$WORK/txn-ready"
t0=$(now)
cpctl routing hw --hold >/dev/null
wait_for 10 "router 3 holds" holding r3
drain=$(elapsed "$t0")
awk -v d="$drain" 'BEGIN { exit !(d >= 1.3) }' || fail "router 3 held after ${drain}s, before its drain limit of 1.5 s"

# One statement (its login, here) waits its 1.5 s and gets 1205; with one
# waiting, another is refused at once (queue of 1).
"${HC[@]}" write 127.0.0.1 "$R3_PORT" $U $P $DB t-wait >"$WORK/wait.out" &
w1=$!
sleep 0.7 # python and its driver start slowly on a busy machine
"${HC[@]}" write 127.0.0.1 "$R3_PORT" $U $P $DB t-full >"$WORK/full.out"
wait $w1
read -r _ _ code secs _ <"$WORK/wait.out"
[ "$code" == 1205 ] || fail "a statement held past hold-statement-wait-ms: want error 1205, got: $(cat "$WORK/wait.out")"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.4 && s < 6) }' || fail "it was answered after ${secs}s, want about 1.5: $(cat "$WORK/wait.out") / $(cat "$WORK/full.out")"
grep -q "did not run. Retry" "$WORK/wait.out" || fail "the 1205 should say it did not run: $(cat "$WORK/wait.out")"
read -r _ _ code _ <"$WORK/full.out"
[ "$code" == 1205 ] || fail "a statement past hold-queue-max: want error 1205, got: $(cat "$WORK/full.out")"
grep -q "already wait" "$WORK/full.out" || fail "the full queue's error should say so: $(cat "$WORK/full.out")"
[ "$(sql_source -e "SELECT COUNT(*) FROM $DB.events WHERE token IN ('t-wait', 't-full')")" == 0 ] ||
    fail "a statement refused by the hold ran anyway"
pass "held past hold-statement-wait-ms: 1205 after ${secs}s; queue full: 1205 at once; neither ran"

cpctl routing hw --release >/dev/null
wait $idle || true
grep -q "^idle_txn error 1213" "$WORK/idle.out" || fail "the drained transaction's next statement: want 1213: $(cat "$WORK/idle.out")"
grep -q "^after ok" "$WORK/idle.out" || fail "after the 1213 the connection should work: $(cat "$WORK/idle.out")"
[ "$(sql_source -e "SELECT COUNT(*) FROM $DB.events WHERE token LIKE 't-idle%'")" == 1 ] ||
    fail "the rolled-back transaction's rows must be gone and the new one's there: $(sql_source -e "SELECT token FROM $DB.events WHERE token LIKE 't-idle%'")"
pass "an idle transaction past hold-drain-ms: rolled back, router held after ${drain}s, 1213 'restart the transaction', then fine"

# A hold nobody releases ends by itself after hold-max-ms.
cpctl routing hw --hold >/dev/null
wait_for 10 "router 3 holds again" holding r3
"${HC[@]}" write 127.0.0.1 "$R3_PORT" $U $P $DB t-before-max >"$WORK/max1.out"
grep -q "^write error 1205" "$WORK/max1.out" || fail "while holding, a write waits and fails: $(cat "$WORK/max1.out")"
not_holding() { ! holding r3; }
wait_for 10 "router 3 stops holding by itself (hold-max-ms)" not_holding
"${HC[@]}" write 127.0.0.1 "$R3_PORT" $U $P $DB t-after-max >"$WORK/max2.out"
grep -q "^write ok" "$WORK/max2.out" || fail "after hold-max-ms writes go through again: $(cat "$WORK/max2.out")"
grep -q "lasted hold-max-ms" "$WORK/router-r3.log" || fail "router 3 should log why it stopped holding"
cpctl routing hw --release >/dev/null
pass "a hold without release ends after hold-max-ms, and the router says so"

# A router that never says it holds does not stop the reverse; cpctl names it.
kill -STOP "$R3_PID"
cpctl --json reverse hw --hold-wait-ms=1500 >"$WORK/switch-stopped.out" 2>&1 || fail "reverse with a silent router: $(cat "$WORK/switch-stopped.out")"
kill -CONT "$R3_PID"
[ "$(jq -c .routers_not_holding "$WORK/switch-stopped.out")" == '["r3"]' ] ||
    fail "cpctl should name the router that did not hold: $(cat "$WORK/switch-stopped.out")"
[ "$(jq -r '.hold_ms >= 1500' "$WORK/switch-stopped.out")" == true ] ||
    fail "cpctl --json should give the hold's time (at least the 1500 ms it waited): $(cat "$WORK/switch-stopped.out")"
wait_for 15 "three routers apply the rules" routers_apply 3
"${HC[@]}" write 127.0.0.1 "$R3_PORT" $U $P $DB t-after-stop >"$WORK/stop.out"
grep -q "^write ok" "$WORK/stop.out" || fail "router 3 after the switch: $(cat "$WORK/stop.out")"
[ "$(sql_source -e "SELECT COUNT(*) FROM $DB.events WHERE token = 't-after-stop'")" == 1 ] || fail "router 3 should write to the source now"
pass "a router that never held: the reverse went on and cpctl named it (--json: routers_not_holding, hold_ms); the router follows afterwards"

# ---- kill -9 in the middle of a switch: of the agent, then of a router --------------------------------
stop_pid "$R3_PID"
R3_PID=
printf '%s\n' "$P" >"$WORK/app.pass"
writers() { # start sql_writer through r1 and r2 (8 sessions each; ids apart)
    local r port
    for r in r1 r2; do
        sleep 0.01
        port=$ROUTER_PORT
        [ $r == r1 ] || port=$R2_PORT
        "$BUILD/tools/sql_writer" "127.0.0.1:$port" $U "$WORK/app.pass" --connections 8 --rate 200 \
            --table $DB.ack --acked "$WORK/acked-$1-$r" >"$WORK/writer-$1-$r.json" 2>"$WORK/writer-$1-$r.err" &
        LOADS+=($!)
    done
}
writers_stop() {
    local p
    for p in "${LOADS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${LOADS[@]}"; do wait "$p" 2>/dev/null || true; done
    LOADS=()
}
no_writer_errors() { # CASE WHEN: the routers apply the rules, the writers stop, they saw no error
    local r e
    wait_for 15 "both routers apply the rules" routers_apply 2
    sleep 1
    writers_stop
    for r in r1 r2; do
        e=$(jq -r .errors "$WORK/writer-$1-$r.json")
        [ "$e" == 0 ] || fail "through $r the writer saw $e errors $2: $(jq -c .first_errors "$WORK/writer-$1-$r.json")"
    done
}
all_acked() { # CASE: every acknowledged write of both writers on both servers
    local r j
    for r in r1 r2; do
        j=$(acked_check $DB.ack "$WORK/acked-$1-$r")
        [ "$(jq -r .lost_writes <<<"$j")" == 0 ] || return 1
    done
}

# The agent dies after the switch's point of no return: cpctl cannot know
# whether it happened, so the routers keep holding until the agent, back,
# finishes it from its journal; then they are released to the destination.
writers agent
sleep 1
stop_agent
: >"$AGENT_LOG"
TABLET_AGENT_TEST_PAUSE_AFTER=commit:3000 start_agent
cpctl switch hw >"$WORK/switch-kill.out" 2>&1 &
cut=$!
paused() { grep -q "pausing 3000 ms after step commit" "$AGENT_LOG"; }
wait_for 15 "the switch at its commit step" paused
kill9_agent
sleep 0.5
start_agent
t0=$(now)
wait $cut || fail "cpctl switch with the agent killed after commit: $(cat "$WORK/switch-kill.out")"
settle=$(elapsed "$t0")
# The agent settles the workflow at once when it starts: cpctl must see it
# then, not after gRPC's reconnect backoff (seconds, while clients wait).
awk -v s="$settle" 'BEGIN { exit !(s < 5) }' || fail "cpctl released the routers ${settle}s after the agent was back"
grep -q "routers were released to it" "$WORK/switch-kill.out" ||
    fail "cpctl should wait for the workflow to settle and release the routers to it: $(cat "$WORK/switch-kill.out")"
no_writer_errors agent "with the agent killed mid-switch"
wait_for 30 "every acknowledged write on both servers" all_acked agent
pass "agent kill -9 after a switch's commit: the routers held until it finished the switch (released ${settle}s after it was back) to the destination; no client error, nothing lost ($(cat "$WORK/acked-agent-r1" "$WORK/acked-agent-r2" | wc -l) writes)"

# A router dies while it holds: its clients lose the statements in flight
# (and reconnect), the restarted router takes up the hold, and the reverse
# goes through it; the other router's clients see nothing.
writers router
sleep 1
cpctl routing hw --hold >/dev/null
wait_for 10 "router 2 holds" holding r2
kill -KILL "$R2_PID"
wait "$R2_PID" 2>/dev/null || true
start_extra_router "$R2_PORT" "$R2_STATUS" r2
R2_PID=$!
wait_for 10 "the restarted router 2 holds again" holding r2
cpctl reverse hw >"$WORK/reverse-kill.out" 2>&1 || fail "reverse after a router's kill -9: $(cat "$WORK/reverse-kill.out")"
grep -q "^Routers    all 2 holding" "$WORK/reverse-kill.out" || fail "both routers should hold: $(cat "$WORK/reverse-kill.out")"
wait_for 15 "both routers apply the rules" routers_apply 2
sleep 1
writers_stop
e1=$(jq -r .errors "$WORK/writer-router-r1.json")
[ "$e1" == 0 ] || fail "the other router's clients saw $e1 errors: $(jq -c .first_errors "$WORK/writer-router-r1.json")"
# Each of router 2's 8 sessions loses the write it had in flight (or held);
# while the router is down, reconnecting fails, as with any server.
e2=$(jq -r '[.first_errors[] | select(.what == "write") | .count] | add // 0' "$WORK/writer-router-r2.json")
[ "$e2" -le 8 ] || fail "router 2's clients should lose only what was in flight (8 sessions), got $e2 failed writes: $(jq -c .first_errors "$WORK/writer-router-r2.json")"
bad=$(jq -r '[.first_errors[] | select(.sqlstate | startswith("08") | not) | select(.code < 2000)] | length' "$WORK/writer-router-r2.json")
[ "$bad" == 0 ] || fail "router 2's clients saw errors other than a lost connection: $(jq -c .first_errors "$WORK/writer-router-r2.json")"
wait_for 30 "every acknowledged write on both servers" all_acked router
pass "router kill -9 while holding: its clients lost only the connection ($e2 writes in flight failed; reconnects failed until it was back), the restarted router held again, the reverse went through; the other router's clients saw nothing; nothing lost"

# ---- a switch that fails goes back: the routers release to the old side -----------------------------
# A table locked for writing on the source keeps the fence's read lock
# from being taken within the switch's deadline: the agent undoes the fence.
writers failed
sleep 1
sql_source -e "LOCK TABLES $DB.events WRITE; DO SLEEP(6); UNLOCK TABLES" >/dev/null &
long=$!
sleep 0.3
if cpctl switch hw --timeout-ms=2000 >"$WORK/switch-fail.out" 2>&1; then
    fail "the switch should have failed on the read lock: $(cat "$WORK/switch-fail.out")"
fi
grep -q "released to the side they used before" "$WORK/switch-fail.out" ||
    fail "cpctl should release the routers to the old side: $(cat "$WORK/switch-fail.out")"
wait $long || true
no_writer_errors failed "across a failed switch"
[ "$(cpctl --json routing hw | jq -r .writes)" == source ] || fail "writes should stay on the source"
wait_for 30 "every acknowledged write on both servers" all_acked failed
pass "a switch that failed (read lock not had in 2 s): the routers went back to the source; no client error, nothing lost"

# ---- VDiff, then detach ------------------------------------------------------------------------------
cpctl vdiff hw >"$WORK/vdiff.out" 2>&1 || fail "vdiff: $(tail -3 "$WORK/vdiff.out")"
grep -q "no differences" "$WORK/vdiff.out" || fail "VDiff found differences: $(tail -5 "$WORK/vdiff.out")"
cpctl detach hw >/dev/null
[ "$(cpctl --json routing hw | jq -r .detached)" == true ] || fail "the rules should say detached"
pass "VDiff after all of it: no differences; detached"
