#!/usr/bin/env bash
# make bench-copy: copy 4 x 250k sysbench rows from the source into an
# empty destination, binary log on for every method, with (a) the agent's
# import (until every row is in and replication has started), (b) mydumper
# + myloader with 4 threads (--enable-binlog), (c) mariadb-dump | mariadb.
# Each result is checked equal to the source.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bench_dataset
rows=$(( BENCH_TABLES * BENCH_ROWS ))
pw=$APP_PASSWORD
clean_dest() { sql_dest -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS _tablet_agent; RESET MASTER"; }
rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }

say "(a) tablet-agent import"
clean_dest
rm -rf "$WORK/state"
AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
start_agent
t0=$(now)
cpctl import bench $(endpoint_opts dest "$DEST_PORT") --tables 'sbtest.*' --no-wait >/dev/null
replicating() { [ "$(cpctl --json workflow status bench | jq -r .state)" == WORKFLOW_REPLICATING ]; }
wait_for 900 "import finished" replicating
# The agent's own clock, from the request to the start of replication (the
# CLI polls, which would add up to 100 ms; its wall time is printed too).
sw=$(elapsed "$t0")
sa=$(cpctl --json workflow status bench | jq -r '(.copied_at_unix_ms - .created_at_unix_ms) / 1000')
rss_mb=$(( $(peak_rss_kb "$AGENT_PID") / 1024 ))
wait_stream() { [ "$(cpctl --json workflow status bench | jq -r .stream.applied.gtid)" == "$(source_gtid)" ]; }
wait_for 60 "stream caught up" wait_stream
stop_agent
tables_equal
ra=$(rate "$sa")
note "agent: $rows rows in ${sa}s (${sw}s by the CLI's clock) = $ra rows/s, peak RSS ${rss_mb} MB (tables equal)"

say "(b) mydumper + myloader, 4 threads, destination binlog on"
clean_dest
rm -rf "$WORK/dump"
t0=$(now)
mydumper -h 127.0.0.1 -P "$SOURCE_PORT" -u "$APP_USER" -p "$pw" -B sbtest -t 4 -o "$WORK/dump" >/dev/null 2>&1
myloader -h 127.0.0.1 -P "$DEST_PORT" -u "$APP_USER" -p "$pw" -B sbtest -d "$WORK/dump" -t 4 -e -o >/dev/null 2>&1
sm=$(elapsed "$t0")
tables_equal
rm_=$(rate "$sm")
note "mydumper+myloader: $rows rows in ${sm}s = $rm_ rows/s (tables equal)"

say "(c) mariadb-dump | mariadb"
clean_dest
t0=$(now)
sql_dest -e "CREATE DATABASE sbtest"
mariadb-dump -h 127.0.0.1 -P "$SOURCE_PORT" -u "$APP_USER" -p"$pw" --single-transaction sbtest |
    mariadb -h 127.0.0.1 -P "$DEST_PORT" -u "$APP_USER" -p"$pw" sbtest
sd=$(elapsed "$t0")
tables_equal
rd=$(rate "$sd")
note "mariadb-dump | mariadb: $rows rows in ${sd}s = $rd rows/s (tables equal)"

ratio_m=$(ratio "$ra" "$rm_")
say "Result ($rows rows)"
printf '%-28s %10s rows/s\n' "tablet-agent import" "$ra" "mydumper + myloader (4)" "$rm_" "mariadb-dump | mariadb" "$rd"
printf 'agent / myloader = %sx   agent / dump = %sx   agent peak RSS = %s MB\n' "$ratio_m" "$(ratio "$ra" "$rd")" "$rss_mb"
printf '{"bench":"copy","agent_rows_per_s":%s,"myloader_rows_per_s":%s,"dump_rows_per_s":%s,"ratio_vs_myloader":%s,"agent_peak_rss_mb":%s}\n' \
    "$ra" "$rm_" "$rd" "$ratio_m" "$rss_mb"
