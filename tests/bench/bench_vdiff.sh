#!/usr/bin/env bash
# make bench-vdiff: compare 4 x 250k sysbench rows between the source and
# an imported destination with the agent's VDiff (row by row, at one
# synchronised point, naming every differing key), beside CHECKSUM TABLE
# run on both servers at once (one number per table: it finds that a
# table differs, not where, and is not synchronised with replication).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bench_dataset
rows=$(( BENCH_TABLES * BENCH_ROWS ))
sql_dest -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS _tablet_agent"
rm -rf "$WORK/state"
AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
start_agent
trap 'stop_agent' EXIT
say "Importing the data set into the destination"
cpctl import bench $(endpoint_opts dest "$DEST_PORT") --tables 'sbtest.*' --no-wait >/dev/null
replicating() { [ "$(cpctl --json workflow status bench | jq -r .state)" == WORKFLOW_REPLICATING ]; }
wait_for 900 "import finished" replicating

say "(a) tablet-agent VDiff"
t0=$(now)
cpctl --json vdiff bench | tail -n 1 >"$WORK/vdiff.json" || { cat "$WORK/vdiff.json"; exit 1; }
sv=$(elapsed "$t0")
[ "$(jq -r .state "$WORK/vdiff.json")/$(jq -r .differences "$WORK/vdiff.json")" == "DONE/0" ] ||
    { echo "the vdiff did not come out clean: $(cat "$WORK/vdiff.json")"; exit 1; }
compared=$(jq -r .total.rows_compared "$WORK/vdiff.json")
# The agent's own clock, from the request to the last chunk (the CLI polls
# every 0.5 s, so its wall time rounds up).
sa=$(jq -r '(.finished_unix_ms - .started_unix_ms) / 1000' "$WORK/vdiff.json")
rv=$(awk -v r="$compared" -v s="$sa" 'BEGIN { printf "%.0f", r / s }')
note "vdiff: $compared rows compared in ${sa}s (synchronising included; ${sv}s by the CLI's clock) = $rv rows/s, 0 differences"

say "(b) CHECKSUM TABLE on both servers at once"
list=$(for t in $TABLES; do printf 'sbtest.%s,' "$t"; done)
list=${list%,}
t0=$(now)
sql_source -e "CHECKSUM TABLE $list" >"$WORK/checksum.source" &
p1=$!
sql_dest -e "CHECKSUM TABLE $list" >"$WORK/checksum.dest"
wait $p1
sc=$(elapsed "$t0")
cmp -s "$WORK/checksum.source" "$WORK/checksum.dest" || { echo "CHECKSUM TABLE disagrees"; exit 1; }
rc_=$(awk -v r="$rows" -v s="$sc" 'BEGIN { printf "%.0f", r / s }')
note "CHECKSUM TABLE: $rows rows in ${sc}s = $rc_ rows/s (tables equal, no keys named)"

ratio_=$(ratio "$rv" "$rc_")
say "Result ($rows rows)"
printf '%-34s %10s rows/s  %6ss\n' "tablet-agent VDiff (row by row)" "$rv" "$sa" "CHECKSUM TABLE, both servers" "$rc_" "$sc"
printf 'vdiff / CHECKSUM TABLE = %sx (VDiff also names every differing key, at a synchronised point)\n' "$ratio_"
printf '{"bench":"vdiff","rows_per_s":%s,"checksum_table_s":%s,"vdiff_s":%s,"checksum_rows_per_s":%s,"ratio_vs_checksum":%s}\n' \
    "$rv" "$sc" "$sa" "$rc_" "$ratio_"
