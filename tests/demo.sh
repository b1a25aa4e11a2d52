#!/usr/bin/env bash
# The main job, on local sandbox servers: the whole lifecycle of a live
# migration while an application keeps writing through the data router.
#
#   preflight -> import (copy + replicate) -> validate (reads move) -> vdiff
#   -> switch (writes move, reverse replication) -> reverse (rollback)
#   -> switch -> vdiff -> the application stops -> detach
#
# The application (tests/tools/sql_writer) is a plain libmariadb program
# that knows nothing of routing: it connects to tablet-router only, which
# follows the control plane's rules. At the end every write it saw
# acknowledged is checked on both servers, and what it went through is
# printed: the errors it got, its longest pause, its stale reads.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
export SANDBOX_DIR=${SANDBOX_DIR:-$REPO/.sandbox}
export SANDBOX_PORT_BASE=${SANDBOX_PORT_BASE:-23306}
# The benchmarks' server settings: with the 64 MB default the destination
# spends seconds flushing after the bulk copy, and the application's
# writes stall on it right after the switch.
export SANDBOX_BUFFER_POOL=${SANDBOX_BUFFER_POOL:-512M}
source "$REPO/tests/lib.sh"
WORK=$REPO/build/demo
AGENT_LOG=$WORK/agent.log
ROUTER_LOG=$WORK/router.log
mkdir -p "$WORK"
DEMO_ROWS=${DEMO_ROWS:-500000}
RATE=200
SESSIONS=16
WRITER_PID=
cleanup() {
    [ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null
    stop_router
    stop_control_plane
    stop_agent
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ cpctl %s\033[0m\n' "$*"; cpctl "$@"; }
ms_now() { date +%s%3N; }
# Each step's start, to say which one the application's pauses fall in.
mark() { echo "$(ms_now) $*" >>"$WORK/steps"; }
dest=$(endpoint_opts dest "$DEST_PORT")

say "Sandbox servers (source :$SOURCE_PORT, destination :$DEST_PORT)"
sandbox start
sandbox status
unfence # a clean slate from an earlier run
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS _tablet_agent"
done
rm -f "$WORK/steps" "$WORK/acked" "$WORK/errors.jsonl" "$WORK/writer.json"

say "The application's database on the source: $DEMO_ROWS orders"
sql_source -e "CREATE DATABASE app;
  CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL,
    amount DECIMAL(10,2) NOT NULL, note TEXT, created_at DATETIME(6) NOT NULL DEFAULT NOW(6), KEY (customer));
  INSERT INTO app.orders (customer, amount, note)
    SELECT CONCAT('customer-', seq % 1000), (seq % 10000) / 100, IF(seq % 3, NULL, 'gift wrap, ünïcødé')
    FROM app.seq_1_to_$DEMO_ROWS;
  CREATE TABLE app.events (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32))"

say "The control plane (routing rules), tablet-agent next to the source, tablet-router for the application"
: >"$AGENT_LOG"
: >"$ROUTER_LOG"
rm -rf "$WORK/state"
start_control_plane
start_agent --health-listen=127.0.0.1:$HEALTH_PORT
app_router_account "$WORK/accounts" "$WORK/app.pass"
# The router's monitor account reads how far the forward stream has
# applied, so that in validate a read after the session's own write waits
# for it (read-your-writes) instead of showing the old row.
sql_dest -e "SET sql_log_bin = 0; DROP USER IF EXISTS 'demo_monitor'@'127.0.0.1';
    CREATE USER 'demo_monitor'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('demo-monitor-pw');
    GRANT SELECT ON _tablet_agent.* TO 'demo_monitor'@'127.0.0.1'"
(umask 077 && echo demo-monitor-pw >"$WORK/monitor.pass")
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=demo --accounts-file="$WORK/accounts" --router-id=demo \
    --monitor-user=demo_monitor --monitor-password-file="$WORK/monitor.pass"
echo "tablet-router listens on 127.0.0.1:$ROUTER_PORT for the application; it follows workflow demo's rules"
run status

say "Preflight: is everything in place before any data moves?"
run preflight $dest --tables 'app.*' || true

say "Import: copy from a consistent snapshot, then replicate continuously"
mark import
run import demo $dest --tables 'app.*' --no-wait >/dev/null
# The import gave the control plane the workflow's first rules (SOURCE:
# everything to the source); once the router applies them it lets clients in.
wait_for 10 "the router applies workflow demo's first rules" router_on_rules demo demo

say "The application: $SESSIONS sessions, $RATE writes/s in all, each row read back; it knows only the router"
printf '\033[2m$ sql_writer 127.0.0.1:%s app app.pass --connections %s --rate %s --read-after-write\033[0m\n' \
    "$ROUTER_PORT" "$SESSIONS" "$RATE"
"$BUILD/tools/sql_writer" "127.0.0.1:$ROUTER_PORT" app "$WORK/app.pass" --connections $SESSIONS --rate $RATE \
    --read-after-write --acked "$WORK/acked" --errors "$WORK/errors.jsonl" >"$WORK/writer.json" &
WRITER_PID=$!
run workflow follow demo

say "Validate: reads move to the destination, writes stay on the source"
mark validate
run validate demo

say "VDiff: every row compared at one synchronised point, writes going on"
mark vdiff
run vdiff demo

say "Switch: fence the source, catch up, writes move, reverse replication starts"
mark switch
run switch demo
sleep 2

say "Reverse (rollback): writes back to the source, nothing lost"
mark reverse
run reverse demo
sleep 2
say "Switch again; the final comparison, the destination writing"
mark "second switch"
run switch demo
sleep 1
mark "final vdiff"
run vdiff demo

say "The application stops; reverse replication brings the source up to date; detach"
mark "application stops"
kill "$WRITER_PID"
wait "$WRITER_PID" || true
WRITER_PID=
# Every acknowledged write reaches the source through reverse replication
# within a second or so; detach then ends that stream.
source_has_all() { [ "$(acked_check app.events "$WORK/acked" | jq .missing_source)" == 0 ]; }
wait_for 20 "the source holds every acknowledged write (reverse replication)" source_has_all
run detach demo

say "What the application saw"
check=$(acked_check app.events "$WORK/acked")
w=$WORK/writer.json
jq -r --argjson c "$check" '
    "acknowledged writes: \($c.acked); missing on the source: \($c.missing_source), on the destination: \($c.missing_dest)",
    "writes that failed: \(.failed_writes) (never retried, never acknowledged; \($c.unacked_present) of them committed anyway: extra rows, not lost)",
    "errors the application got: \(.errors)" + (if .errors == 0 then "" else ", by kind:" end),
    (.first_errors[] | "  \(.count) x error \(.code) (\(.sqlstate)) on \(.what), e.g. \(.message)"),
    "longest time without an acknowledged write: \(.window_ms_max | round) ms",
    "write latency: median \(.lat_ms_p50) ms, 99th percentile \(.lat_ms_p99) ms, worst \(.lat_ms_max) ms",
    "reads right after a write that did not find it: \(.stale_reads)" +
      (if .stale_reads > 0 then " (reads go to the destination in validate mode; read-your-writes should have made them wait)" else " (read-your-writes: in validate mode a read after the session'"'"'s write waits for the destination)" end)' "$w"
# The errors by the step they came in, then pauses over 50 ms, each with its step.
[ ! -s "$WORK/errors.jsonl" ] || jq -r .at_unix_ms "$WORK/errors.jsonl" | awk '
    NR == FNR { t[NR] = $1; $1 = ""; name[NR] = substr($0, 2); n = NR; next }
    { s = 0; for (i = 1; i <= n; i++) if (t[i] <= $1) s = i; c[s]++ }
    END { for (i = 0; i <= n; i++) if (c[i]) out = out (out ? ", " : "") (i ? name[i] : "before the import") " " c[i]
          print "  errors by step: " out }' "$WORK/steps" -
jq -r '.start_unix_ms as $s | .gaps[] | "\($s + .at_ms + .ms) \(.ms)"' "$w" | while read -r end ms; do
    step=$(awk -v t="${end%.*}" '$1 <= t { $1 = ""; s = $0 } END { print s }' "$WORK/steps")
    printf '  a pause of %.0f ms, during:%s\n' "$ms" "$step"
done
[ "$(jq .lost_writes <<<"$check")" == 0 ] || { echo "LOST WRITES: $check"; exit 1; }
[ "$(jq .duplicates <<<"$check")" == 0 ] || { echo "DUPLICATED WRITES: $check"; exit 1; }
echo "every acknowledged write is on both servers"

say "Done"
echo "Logs: $AGENT_LOG, $ROUTER_LOG; the application's errors, one per line: $WORK/errors.jsonl."
echo "The sandbox servers keep running; stop them with: tests/sandbox.sh stop"
