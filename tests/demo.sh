#!/usr/bin/env bash
# The main job, on local sandbox servers: the whole lifecycle of a live
# migration while an application keeps writing through the control plane's
# routing rules.
#
#   preflight -> import (copy + replicate) -> validate (reads move) -> vdiff
#   -> switch (writes move, reverse replication) -> reverse (rollback)
#   -> switch -> vdiff -> detach
#
# At the end every write the application saw acknowledged is checked on
# the destination, and its longest pause is printed.
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
mkdir -p "$WORK"
DEMO_ROWS=${DEMO_ROWS:-500000}
WRITER_PID=
cleanup() {
    [ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null
    stop_control_plane
    stop_agent
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ cpctl %s\033[0m\n' "$*"; cpctl "$@"; }
dest=$(endpoint_opts dest "$DEST_PORT")

say "Sandbox servers (source :$SOURCE_PORT, destination :$DEST_PORT)"
sandbox start
sandbox status
unfence # a clean slate from an earlier run
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS _tablet_agent"
done

say "The application's database on the source: $DEMO_ROWS orders"
sql_source -e "CREATE DATABASE app;
  CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL,
    amount DECIMAL(10,2) NOT NULL, note TEXT, created_at DATETIME(6) NOT NULL DEFAULT NOW(6), KEY (customer));
  INSERT INTO app.orders (customer, amount, note)
    SELECT CONCAT('customer-', seq % 1000), (seq % 10000) / 100, IF(seq % 3, NULL, 'gift wrap, ünïcødé')
    FROM app.seq_1_to_$DEMO_ROWS;
  CREATE TABLE app.events (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32))"

say "The control plane (routing rules) and tablet-agent next to the source"
: >"$AGENT_LOG"
rm -rf "$WORK/state"
start_control_plane
start_agent --health-listen=127.0.0.1:$HEALTH_PORT
run status

say "Preflight: is everything in place before any data moves?"
run preflight $dest --tables 'app.*' || true

say "The application: 200 writes/s, wherever the routing rules send them (it waits for them: the import registers them)"
"$BUILD/tools/app_writer" "$CPCTL_CONTROL_PLANE" demo 200 0 "$WORK/acked" >"$WORK/writer.json" &
WRITER_PID=$!

say "Import: copy from a consistent snapshot, then replicate continuously"
run import demo $dest --tables 'app.*'

say "Validate: reads move to the destination, writes stay on the source"
run validate demo

say "VDiff: every row compared at one synchronised point, writes going on"
run vdiff demo

say "Switch: fence the source, catch up, writes move, reverse replication starts"
run switch demo
sleep 2

say "Reverse (rollback): writes back to the source, nothing lost"
run reverse demo
sleep 2
say "Switch again; the final comparison, the destination writing; detach"
run switch demo
sleep 1
run vdiff demo
run detach demo
sleep 0.5
kill "$WRITER_PID"
wait "$WRITER_PID" || true
WRITER_PID=

say "What the application saw"
n=$(wc -l <"$WORK/acked")
on_dest=$(ids_present dest "$WORK/acked")
echo "acknowledged writes: $n, on the destination: $on_dest"
jq -r '"longest pause between acknowledged writes: \(.max_gap_ms) ms; failed attempts retried: \(.failed_attempts)"' \
    "$WORK/writer.json"
[ "$n" == "$on_dest" ] || { echo "LOST WRITES"; exit 1; }

say "Done"
echo "Agent log: $AGENT_LOG. The sandbox servers keep running; stop them with: tests/sandbox.sh stop"
