#!/usr/bin/env bash
# Read-your-writes in the data router (agent/router/ryw.h, position.h), in
# VALIDATE: writes go to the source, reads to the destination, which the
# agent's forward stream fills a little later. Sessions through the router
# write a row and read it back at once, with stock clients of both kinds:
# libmariadb (negotiates CLIENT_SESSION_TRACK: GTIDs from the OK packets;
# plain queries and prepared statements) and PyMySQL (does not: the router
# asks SELECT @@last_gtid itself; autocommit and BEGIN/COMMIT).
#   - Stream held back (FLUSH TABLES WITH READ LOCK on the destination):
#     with read-your-writes=off the reads are stale, so the test can fail;
#     with session (the default) none is: each waits, then reads from the
#     source. Counters in the router's status say so.
#   - Stream flowing: no stale read, and reads are served by the
#     destination once it has the write; what that costs (the latency of a
#     read right after a write, on and off) is printed.
#   - Mode global: another session's write is seen too (session mode does
#     not promise that, and under the lock it is indeed stale).
#   - No monitor account: reads after writes go to the source, the log
#     says what to set; a monitor account without its grant: the log gives
#     the GRANT, and reads do not wait for nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

U=ryw_app
P=ryw-app-password
DB=ryw
MON=ryw_monitor
MON_PW=ryw-monitor-password
WF=rywf
dest=$(endpoint_opts dest "$DEST_PORT")
TOOLS=$(dirname "${TABLET_AGENT_BIN:-$BUILD/tablet-agent}")/tools
[ -x "$TOOLS/ryw_client" ] || TOOLS=$BUILD/tools
LOCKER_ID=

cleanup() {
    [ -n "$LOCKER_ID" ] && sql_dest -e "KILL $LOCKER_ID" 2>/dev/null
    stop_router
    stop_control_plane
    stop_agent
    unfence
    # Accounts left behind change how a server answers logins of unknown
    # users (test_router_faults counts on ERROR 1045).
    for n in source dest; do
        sandbox sql $n -e "SET sql_log_bin = 0; DROP USER IF EXISTS '$U'@'127.0.0.1';
            DROP USER IF EXISTS '$MON'@'127.0.0.1'; DROP USER IF EXISTS 'ryw_nogrant'@'127.0.0.1'" 2>/dev/null || true
    done
}
trap cleanup EXIT

# ---- setup: a table on the source, imported; VALIDATE rules ---------------------------
rm -rf "$WORK/state"
unfence
for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS _tablet_agent;
        DROP USER IF EXISTS '$MON'@'127.0.0.1'; DROP USER IF EXISTS 'ryw_nogrant'@'127.0.0.1'"
done
sql_source -e "CREATE DATABASE $DB; CREATE TABLE $DB.ryw (id INT PRIMARY KEY, v BIGINT NOT NULL);
    INSERT INTO $DB.ryw SELECT seq, 0 FROM $DB.seq_1_to_20"
router_account "$U" "$P" "$DB" >"$WORK/accounts"
src_sid=$(sql_source -e "SELECT @@server_id")
dst_sid=$(sql_dest -e "SELECT @@server_id")

start_control_plane
start_agent
cpctl import $WF $dest --tables "$DB.*" >/dev/null
wf_state() { cpctl --json workflow status $WF | jq -r .state; }
replicating() { [ "$(wf_state)" == WORKFLOW_REPLICATING ]; }
wait_for 30 "the import replicates" replicating

# The monitor account: on the destination only, allowed to read one table.
sql_dest -e "SET sql_log_bin = 0; CREATE USER '$MON'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MON_PW');
    GRANT SELECT ON _tablet_agent.streams TO '$MON'@'127.0.0.1';
    CREATE USER 'ryw_nogrant'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MON_PW')"
printf '%s\n' "$MON_PW" >"$WORK/monitor.pass"
chmod 600 "$WORK/monitor.pass"

export CPCTL_ROUTER=127.0.0.1:$ROUTER_STATUS_PORT
rules_applied() { [ "$("$BUILD/cpctl" --json router status | jq -r '.workflows[0].mode')" == MODE_VALIDATE ]; }
# router [flags]: a router on the workflow's rules, monitor account given
# unless a flag overrides it.
router() {
    stop_router
    : >"$ROUTER_LOG"
    start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=$WF --accounts-file="$WORK/accounts" \
        --monitor-user=$MON --monitor-password-file="$WORK/monitor.pass" --log-level=debug "$@"
    wait_for 10 "the router applies VALIDATE" rules_applied
}
# router_nomon [flags]: the same without a monitor account.
router_nomon() {
    stop_router
    : >"$ROUTER_LOG"
    start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=$WF --accounts-file="$WORK/accounts" "$@"
    wait_for 10 "the router applies VALIDATE" rules_applied
}
stat() { "$BUILD/cpctl" --json router status | jq -r ".$1"; }

# pairs NAME ID N [client options]: one session's write-then-read pairs,
# output in $WORK/NAME.out. Clients: c (libmariadb, queries), ps
# (libmariadb, prepared), py (PyMySQL), pytx (PyMySQL, BEGIN/COMMIT).
pairs() {
    local name=$1 id=$2 n=$3 kind=$4
    shift 4
    case $kind in
    c) "$TOOLS/ryw_client" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id "$id" --pairs "$n" "$@" ;;
    ps) "$TOOLS/ryw_client" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id "$id" --pairs "$n" --prepared "$@" ;;
    py) $PY "$REPO/tests/router/ryw_pairs.py" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id "$id" --pairs "$n" "$@" ;;
    pytx) $PY "$REPO/tests/router/ryw_pairs.py" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id "$id" --pairs "$n" --transaction "$@" ;;
    esac >"$WORK/$name.out" 2>&1
}
field() { awk -v k="$2" '$1 == k { print }' "$WORK/$1.out"; }
stale_of() { field "$1" pairs | awk '{ print $4 }'; }
served_by() { field "$1" servers | tr ' ' '\n' | awk -F= -v s="$2" '$1 == s { print $2 }'; }
# four sessions at once, one of each client kind, N pairs each
all_kinds() {
    local tag=$1 n=$2 pids=() k i=0
    for k in c ps py pytx; do
        i=$((i + 1))
        pairs "$tag-$k" $i "$n" $k &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    for k in c ps py pytx; do
        grep -q "^pairs " "$WORK/$tag-$k.out" || fail "$tag: the $k session failed: $(cat "$WORK/$tag-$k.out")"
    done
}

# ---- hold the forward stream back -----------------------------------------------------
hold_stream() {
    sandbox sql dest -N -n -e "SELECT CONNECTION_ID(); FLUSH TABLES WITH READ LOCK; SELECT SLEEP(600)" \
        >"$WORK/locker.out" 2>&1 &
    wait_for 30 "the lock holder connected" grep -q . "$WORK/locker.out"
    LOCKER_ID=$(head -1 "$WORK/locker.out")
    locked() { [ "$(sql_dest -e "SELECT COUNT(*) FROM information_schema.processlist WHERE id = $LOCKER_ID AND info LIKE 'SELECT SLEEP%'")" == 1 ]; }
    wait_for 30 "the destination is locked" locked
}
release_stream() {
    sql_dest -e "KILL $LOCKER_ID"
    LOCKER_ID=
}

# ---- writes made before VALIDATE ------------------------------------------------------
# Sessions write while the rules still say SOURCE (everything to the
# source), the stream held back; then the rules turn to VALIDATE and each
# reads its row in the same session. The destination does not have the
# write, so the read must wait for it, then read from the source. One
# client of each kind: the mariadb CLI (session tracking) and PyMySQL.
source_mode() { [ "$("$BUILD/cpctl" --json router status | jq -r '.workflows[0].mode')" == MODE_SOURCE ]; }
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=$WF --accounts-file="$WORK/accounts" \
    --monitor-user=$MON --monitor-password-file="$WORK/monitor.pass" --read-your-writes-wait-ms=300
wait_for 10 "the router applies SOURCE" source_mode
hold_stream
rm -f "$WORK/cli.fifo" "$WORK/go"
mkfifo "$WORK/cli.fifo"
mariadb -h127.0.0.1 -P"$ROUTER_PORT" -u$U -p$P -N -B -n $DB <"$WORK/cli.fifo" >"$WORK/before-cli.out" 2>&1 &
cli_pid=$!
exec 7>"$WORK/cli.fifo"
echo "UPDATE ryw SET v = 7001 WHERE id = 17; SELECT 'wrote';" >&7
$PY - "$ROUTER_PORT" $U $P $DB "$WORK/go" >"$WORK/before-py.out" 2>&1 <<'PYEOF' &
import os, sys, time
import pymysql
port, user, password, db, go = sys.argv[1:]
c = pymysql.connect(host="127.0.0.1", port=int(port), user=user, password=password, database=db, autocommit=True)
cur = c.cursor()
cur.execute("UPDATE ryw SET v = 7002 WHERE id = 18")
print("wrote", flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
cur.execute("SELECT v, @@server_id FROM ryw WHERE id = 18")
print(*cur.fetchone(), flush=True)
PYEOF
py_pid=$!
wait_for 10 "the CLI's write" grep -q wrote "$WORK/before-cli.out"
wait_for 10 "PyMySQL's write" grep -q wrote "$WORK/before-py.out"
cpctl validate $WF --max-lag 3600 >/dev/null
wait_for 10 "the router applies VALIDATE" rules_applied
touch "$WORK/go"
echo "SELECT v, @@server_id FROM ryw WHERE id = 17;" >&7
exec 7>&-
wait $cli_pid || fail "the mariadb CLI session failed: $(cat "$WORK/before-cli.out")"
wait $py_pid || fail "the PyMySQL session failed: $(cat "$WORK/before-py.out")"
release_stream
assert_eq "$(tail -1 "$WORK/before-cli.out")" "7001	$src_sid" "the mariadb CLI's read, after its write in mode SOURCE"
assert_eq "$(tail -1 "$WORK/before-py.out")" "7002 $src_sid" "PyMySQL's read, after its write in mode SOURCE"
assert_eq "$(stat reads_after_writes_waited)" "2" "reads that waited for writes made in mode SOURCE"
pass "writes made in mode SOURCE, read after the rules turned to VALIDATE (stream held): each read waited, then read its write from the source"

# read-your-writes=off: the test can fail. The stream is held: every read
# right after a write shows the old value.
router --read-your-writes=off
hold_stream
all_kinds off 5
for k in c ps py pytx; do
    [ "$(stale_of off-$k)" -gt 0 ] || fail "read-your-writes=off with the stream held, $k: no stale read: $(cat "$WORK/off-$k.out")"
done
pass "read-your-writes=off, stream held: stale reads ($(for k in c ps py pytx; do printf '%s %s/5 ' $k "$(stale_of off-$k)"; done))"

# session (the default): no stale read; each read waits, then the source.
router --read-your-writes-wait-ms=200
all_kinds held 10
for k in c ps py pytx; do
    assert_eq "$(stale_of held-$k)" "0" "session mode with the stream held, $k: stale reads"
    assert_eq "$(served_by held-$k "$src_sid")" "10" "session mode with the stream held, $k: reads from the source"
done
assert_eq "$(stat reads_after_writes_waited)" "40" "reads that waited"
assert_eq "$(stat reads_after_writes_waited_to_source)" "40" "reads that went to the source after the wait"
waited=$(stat reads_after_writes_wait_seconds)
awk "BEGIN { exit !($waited >= 40 * 0.19 && $waited < 40 * 0.5) }" || fail "40 reads held 200 ms each waited $waited s in all"
assert_contains "$(grep -m1 'a read after writes waited' "$ROUTER_LOG")" "then went to the write side" "debug log of a wait"
pass "session mode, stream held: no stale read in 4 x 10 pairs; 40 reads waited ${waited} s in all, then read from the source"

# What the router does to learn GTIDs must not show: ROW_COUNT() right
# after a write still answers for that write (PyMySQL: asked only when a
# read comes; the mariadb CLI: tracking set before the first statement).
pairs rowcount 8 5 py --row-count
assert_eq "$(field rowcount row_count_wrong)" "row_count_wrong 0" "PyMySQL: ROW_COUNT() after each UPDATE"
assert_eq "$(stale_of rowcount)" "0" "PyMySQL with ROW_COUNT(): stale reads"
c=$(via_router $U $P $DB -e "UPDATE ryw SET v = 4242 WHERE id = 15; SELECT ROW_COUNT(); SELECT v, @@server_id FROM ryw WHERE id = 15;
    UPDATE ryw SET v = 4243 WHERE id = 15; SELECT ROW_COUNT(); SHOW WARNINGS; SELECT v FROM ryw WHERE id = 15" | tr '\t\n' ' ;')
assert_eq "$c" "1;4242 $src_sid;1;4243;" "the mariadb CLI: ROW_COUNT() and reads after writes"
pass "ROW_COUNT() after a write is the write's, with PyMySQL and the mariadb CLI; their reads see the writes"

# global: another session's write is seen too; session mode does not wait for it.
$PY "$REPO/tests/router/ryw_pairs.py" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id 9 --pairs 3 \
    --reader-connection >"$WORK/cross-session.out" 2>&1 || fail "cross-session pairs: $(cat "$WORK/cross-session.out")"
assert_eq "$(stale_of cross-session)" "3" "session mode: another session's reads do not wait for this one's writes"
via_router $U $P $DB -e "UPDATE ryw SET v = 5151 WHERE id = 16"
assert_eq "$(via_router $U $P $DB -e "SELECT v FROM ryw WHERE id = 16")" "0" "session mode: a new CLI session reads the old row"
router --read-your-writes=global --read-your-writes-wait-ms=200
$PY "$REPO/tests/router/ryw_pairs.py" --port "$ROUTER_PORT" --user $U --password $P --database $DB --id 9 --pairs 3 \
    --reader-connection >"$WORK/cross-global.out" 2>&1 || fail "cross-session pairs: $(cat "$WORK/cross-global.out")"
assert_eq "$(stale_of cross-global)" "0" "global mode: another session's write"
via_router $U $P $DB -e "UPDATE ryw SET v = 5152 WHERE id = 16"
assert_eq "$(via_router $U $P $DB -e "SELECT v FROM ryw WHERE id = 16")" "5152" "global mode: a new CLI session after another's write"
pass "global mode, stream held: a read sees another session's write, PyMySQL's and the mariadb CLI's (session mode: stale)"

# Without a monitor account: reads after writes go to the source at once.
router_nomon
assert_contains "$(cat "$ROUTER_LOG")" "without a monitor account: in VALIDATE a read after a write goes to the source" "the log at start"
assert_contains "$(cat "$ROUTER_LOG")" "set monitor-user and monitor-password-file" "what to set"
pairs nomon-py 5 5 py
pairs nomon-c 6 5 c
for k in py c; do
    assert_eq "$(stale_of nomon-$k)" "0" "no monitor, $k: stale reads"
    assert_eq "$(served_by nomon-$k "$src_sid")" "5" "no monitor, $k: reads from the source"
done
assert_eq "$(stat reads_after_writes_to_source)" "10" "reads sent to the source at once"
assert_eq "$(stat reads_after_writes_waited)" "0" "reads that waited without a monitor"
pass "no monitor account: the log says what to set; reads after writes go to the source at once, none stale"

# A monitor account without its grant: the log gives the GRANT; no wait.
router --monitor-user=ryw_nogrant
wait_for 5 "the log names the missing grant" grep -q "GRANT SELECT ON \`_tablet_agent\`.\`streams\` TO the monitor account" "$ROUTER_LOG"
pairs nogrant 7 5 c
assert_eq "$(stale_of nogrant)" "0" "monitor without grant: stale reads"
assert_eq "$(stat reads_after_writes_waited)" "0" "reads that waited while the position fails"
[ "$(field nogrant read_us | awk '{ print $9 }')" -lt 100000 ] || fail "reads waited for a position that fails: $(field nogrant read_us)"
pass "monitor account without SELECT on streams: the log gives the GRANT; reads after writes go to the source without waiting"
! grep -q "$MON_PW" "$ROUTER_LOG" || fail "the monitor password is in the router's log"

# ---- the stream flowing -------------------------------------------------------------------
release_stream
router
all_kinds flow 50
for k in c ps py pytx; do
    assert_eq "$(stale_of flow-$k)" "0" "stream flowing, $k: stale reads"
    d=$(served_by flow-$k "$dst_sid")
    [ "${d:-0}" -gt 0 ] || fail "stream flowing, $k: no read served by the destination: $(field flow-$k servers)"
done
pass "stream flowing: no stale read in 4 x 50 pairs; the destination served $(for k in c ps py pytx; do printf '%s %s/50 ' $k "$(served_by flow-$k "$dst_sid")"; done)"
c=$(via_router $U $P $DB -e "UPDATE ryw SET v = 4244 WHERE id = 15; SELECT ROW_COUNT(); SELECT v, @@server_id FROM ryw WHERE id = 15" | tr '\t\n' ' ;')
assert_eq "$c" "1;4244 $dst_sid;" "the mariadb CLI, stream flowing: its read, from the destination"
out=$("$BUILD/cpctl" router status)
assert_contains "$out" "Reads      after writes: " "cpctl router status"
note "$(echo "$out" | grep 'after writes')"

# The monitor's password rotated (a new Secret mounted): its next login
# uses the new one. The test ends the monitor's connection so that a new
# login must happen; until it succeeds reads go to the source.
NEW_PW=ryw-monitor-rotated
sql_dest -e "SET sql_log_bin = 0; SET PASSWORD FOR '$MON'@'127.0.0.1' = PASSWORD('$NEW_PW')"
printf '%s\n' "$NEW_PW" >"$WORK/monitor.pass"
for id in $(sql_dest -e "SELECT id FROM information_schema.processlist WHERE user = '$MON'"); do
    sql_dest -e "KILL $id" 2>/dev/null || true
done
served_after_rotation() {
    pairs rotated 14 5 c
    [ "$(stale_of rotated)" == 0 ] || fail "after the monitor password rotated: stale reads: $(cat "$WORK/rotated.out")"
    [ "$(served_by rotated "$dst_sid")" -gt 0 ] 2>/dev/null
}
wait_for 15 "reads served by the destination again, with the rotated monitor password" served_after_rotation
! grep -q "$NEW_PW" "$ROUTER_LOG" || fail "the rotated monitor password is in the router's log"
pass "the monitor password rotated: the next login used the new one, the destination serves reads after writes again"

# What it costs: a read right after a write (one session, 300 pairs):
# waiting for the destination, reading from the source (no monitor), and
# not caring (off: stale).
pairs cost-on 11 300 c
router_nomon
pairs cost-src 12 300 c
router --read-your-writes=off
pairs cost-off 13 300 c
assert_eq "$(stale_of cost-on)" "0" "cost run, session: stale reads"
assert_eq "$(stale_of cost-src)" "0" "cost run, no monitor: stale reads"
note "a read right after a write, in us (p50 p90 p99 max avg); the write itself took p50 $(field cost-on write_us | awk '{ print $3 }') us:"
note "  session, monitor (destination):   $(field cost-on read_us | awk '{ print $3, $5, $7, $9, $11 }')  served by the destination $(served_by cost-on "$dst_sid")/300"
note "  session, no monitor (source):     $(field cost-src read_us | awk '{ print $3, $5, $7, $9, $11 }')"
note "  off (destination, stale $(stale_of cost-off)/300):   $(field cost-off read_us | awk '{ print $3, $5, $7, $9, $11 }')"
pass "what read-your-writes costs: measured above"
