#!/usr/bin/env bash
# make bench-apply: how fast a backlog of sysbench oltp_write_only
# transactions is applied by (a) a native MariaDB replica, single-threaded,
# (b) the native replica with 4 parallel threads, (c) the agent, each from
# the same starting state and checked equal afterwards; then the agent's
# lag p99 while following a sustained write load live.
# Both replica kinds write the destination binlog (log_slave_updates=ON for
# the native replica), since a migration target needs it for reverse
# replication.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
LOAD_SECONDS=${LOAD_SECONDS:-60}
LAG_SECONDS=${LAG_SECONDS:-30}

bench_dataset
say "Destination: same data, empty binlog"
sql_dest -e "STOP SLAVE; RESET SLAVE ALL" 2>/dev/null || true
sql_dest -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS _tablet_agent; DROP DATABASE IF EXISTS bench_hb"
copy_db_quiesced sbtest
sql_dest -e "RESET MASTER"
g0=$(source_gtid)
dest_snapshot g0
note "start position $g0"

say "Backlog: sysbench oltp_write_only, ${LOAD_SECONDS}s, 4 threads"
sb run --tables="$BENCH_TABLES" --table-size="$BENCH_ROWS" --threads=4 --time="$LOAD_SECONDS" --report-interval=0 \
    >"$WORK/backlog.log"
g1=$(source_gtid)
trx=$(( ${g1##*-} - ${g0##*-} ))
note "backlog: $trx transactions, up to $g1"

native_run() { # threads
    dest_restore g0
    sql_dest -e "SET GLOBAL gtid_slave_pos='$g0'; SET GLOBAL slave_parallel_threads=$1;
        SET GLOBAL log_slave_updates=ON" 2>/dev/null ||
        sql_dest -e "SET GLOBAL gtid_slave_pos='$g0'; SET GLOBAL slave_parallel_threads=$1"
    sql_dest -e "CHANGE MASTER TO master_host='127.0.0.1', master_port=$SOURCE_PORT, master_user='agent',
        master_password='$(cat "$PASSWORD_FILE")', master_use_gtid=slave_pos"
    local t0; t0=$(now)
    sql_dest -e "START SLAVE"
    caught() { [ "$(sql_dest -e "SELECT @@gtid_slave_pos")" == "$g1" ]; }
    wait_for 900 "native replica ($1 threads) caught up" caught
    local secs; secs=$(elapsed "$t0")
    sql_dest -e "STOP SLAVE; RESET SLAVE ALL"
    tables_equal
    echo "$secs"
}

say "(a) native replica, single-threaded"
s1=$(native_run 0 | tail -1); n1=$(awk -v t=$trx -v s=$s1 'BEGIN { printf "%.0f", t / s }')
note "$trx trx in ${s1}s = $n1 trx/s (tables equal)"
say "(b) native replica, slave_parallel_threads=4"
s4=$(native_run 4 | tail -1); n4=$(awk -v t=$trx -v s=$s4 'BEGIN { printf "%.0f", t / s }')
note "$trx trx in ${s4}s = $n4 trx/s (tables equal)"

say "(c) tablet-agent stream"
dest_restore g0
AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
start_agent
t0=$(now)
cpctl stream start bench $(endpoint_opts target "$DEST_PORT") --gtid "$g0" --tables 'sbtest.*' --tables 'bench_hb.*' >/dev/null
wait_stream_at bench "$g1" 900
sa=$(elapsed "$t0"); na=$(awk -v t=$trx -v s=$sa 'BEGIN { printf "%.0f", t / s }')
tables_equal
note "$trx trx in ${sa}s = $na trx/s (tables equal)"

say "Lag while following a sustained load live (${LAG_SECONDS}s)"
sql_source -e "CREATE DATABASE IF NOT EXISTS bench_hb; CREATE TABLE IF NOT EXISTS bench_hb.hb (id INT PRIMARY KEY, ts DOUBLE)"
sql_dest -e "CREATE DATABASE IF NOT EXISTS bench_hb; CREATE TABLE IF NOT EXISTS bench_hb.hb (id INT PRIMARY KEY, ts DOUBLE)"
cpctl stream stop bench >/dev/null
cpctl stream start bench $(endpoint_opts target "$DEST_PORT") --gtid "$g0" --tables 'sbtest.*' --tables 'bench_hb.*' --ddl ignore >/dev/null
sb run --tables="$BENCH_TABLES" --table-size="$BENCH_ROWS" --threads=4 --time="$LAG_SECONDS" --report-interval=0 \
    >"$WORK/live.log" &
load=$!
lagjson=$("$BUILD/tools/heartbeat" "$SOURCE_PORT" "$DEST_PORT" "$((LAG_SECONDS - 2))")
wait $load
live_tps=$(awk '/transactions:/ { gsub(/\(/, "", $3); print $3 }' "$WORK/live.log")
wait_stream_at bench "$(source_gtid)" 120
tables_equal
p99=$(echo "$lagjson" | jq -r .lag_p99_s)
note "live load $live_tps trx/s: lag $lagjson"
stop_agent

r1=$(ratio "$na" "$n1"); r4=$(ratio "$na" "$n4")
say "Result"
printf '%-34s %10s trx/s\n' "native replica, 1 thread" "$n1" "native replica, 4 threads" "$n4" "tablet-agent" "$na"
printf 'agent / native1 = %sx   agent / native4 = %sx   lag p99 = %ss\n' "$r1" "$r4" "$p99"
printf '{"bench":"apply","agent_tps":%s,"native1_tps":%s,"native4_tps":%s,"ratio_vs_native1":%s,"ratio_vs_native4":%s,"lag_p99_s":%s}\n' \
    "$na" "$n1" "$n4" "$r1" "$r4" "$p99"
