#!/usr/bin/env bash
# make bench-copy: copy 4 x 250k sysbench rows from the source into an
# empty destination, binary log on for every method, with (a) the agent's
# import (until every row is in and replication has started), (b) mydumper
# + myloader with 4 threads (--enable-binlog), (c) mariadb-dump | mariadb;
# beside (d) the limit: the destination alone loading the same rows from
# local files (LOAD DATA INFILE, 4 tables at a time, secondary indexes added
# after), the fastest this destination ingests these rows at all.
#
# How it stays fair (see lib.sh): the source's buffer pool is warmed and one
# unmeasured load fills the destination's before anything is timed; every
# run starts from the same state (destination emptied, RESET MASTER, both
# servers quiesced); each method runs BENCH_RUNS times (default 3), once a
# round, the order of methods rotated each round. mariadb-dump runs once a
# round like the others. Each result is checked equal to the source, and
# the pages the source read from disk during the run are shown (0 when
# warm), and the CPU other jobs took meanwhile (a run they shared is
# measured again). Reported: every run, the median and the range of each
# method, the ratios of medians, and one JSON line (medians, ranges, runs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BENCH_RUNS=${BENCH_RUNS:-3}
load0=$(cut -d" " -f1-3 /proc/loadavg) # other jobs on the machine skew every figure

bench_dataset
rows=$(( BENCH_TABLES * BENCH_ROWS ))
pw=$APP_PASSWORD
rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }

# Every run's starting state: no copied data, an empty binary log, nothing
# left for either server to flush or purge from the run before.
dest_reset() {
    sql_dest -e "DROP DATABASE IF EXISTS sbtest; DROP DATABASE IF EXISTS _tablet_agent; RESET MASTER"
    sync -f "$SANDBOX_DIR"
    server_quiesce source
    server_quiesce dest
}

# Each method sets SECS (and the agent RSS_MB), leaving its copy in place.
run_agent() {
    rm -rf "$WORK/state"
    AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
    start_agent
    local t0; t0=$(now)
    cpctl import bench $(endpoint_opts dest "$DEST_PORT") --tables 'sbtest.*' --no-wait >/dev/null 2>>"$AGENT_LOG" ||
        fail "cpctl import failed (see $AGENT_LOG)"
    replicating() { [ "$(cpctl --json workflow status bench | jq -r .state)" == WORKFLOW_REPLICATING ]; }
    wait_for 900 "import finished" replicating
    # The agent's own clock, from the request to the start of replication
    # (the CLI polls, which would add up to 100 ms; its wall time is kept too).
    WALL=$(elapsed "$t0")
    SECS=$(cpctl --json workflow status bench | jq -r '(.copied_at_unix_ms - .created_at_unix_ms) / 1000')
    RSS_MB=$(( $(peak_rss_kb "$AGENT_PID") / 1024 ))
    wait_stream() { [ "$(cpctl --json workflow status bench | jq -r .stream.applied.gtid)" == "$(source_gtid)" ]; }
    wait_for 60 "stream caught up" wait_stream
    stop_agent
}
run_myloader() {
    rm -rf "$WORK/dump"
    local t0; t0=$(now)
    mydumper -h 127.0.0.1 -P "$SOURCE_PORT" -u "$APP_USER" -p "$pw" -B sbtest -t 4 -o "$WORK/dump" >/dev/null 2>&1
    myloader -h 127.0.0.1 -P "$DEST_PORT" -u "$APP_USER" -p "$pw" -B sbtest -d "$WORK/dump" -t 4 -e -o >/dev/null 2>&1
    SECS=$(elapsed "$t0")
    rm -rf "$WORK/dump" # its dirty pages must not be written back during the next run
}
run_dump() {
    local t0; t0=$(now)
    sql_dest -e "CREATE DATABASE sbtest"
    mariadb-dump -h 127.0.0.1 -P "$SOURCE_PORT" -u "$APP_USER" -p"$pw" --single-transaction sbtest |
        mariadb -h 127.0.0.1 -P "$DEST_PORT" -u "$APP_USER" -p"$pw" sbtest
    SECS=$(elapsed "$t0")
}

# The limit's files, made once and not timed: each table's rows as the
# source writes them (SELECT ... INTO OUTFILE, a full scan, so in primary
# key order), and a script per table that creates it without its secondary
# indexes, loads the file and then adds them (sorted, in one pass). The
# servers share this machine, so the destination reads the files directly.
limit_prepare() {
    local d=$WORK/limit t
    rm -rf "$d"; mkdir -p "$d"
    for t in $TABLES; do
        sql_source -e "SELECT * INTO OUTFILE '$d/$t.txt' CHARACTER SET utf8mb4 FROM sbtest.$t"
        sql_source -r -e "SHOW CREATE TABLE sbtest.$t" | cut -f2- | awk -v t="$t" -v f="$d/$t.txt" '
            /^  (UNIQUE |FULLTEXT |SPATIAL )?KEY / { k = $0; sub(/,$/, "", k); sub(/^ +/, "", k); keys = keys (keys ? ", " : "") "ADD " k; next }
            { lines[++n] = $0 }
            END {
                for (i = 1; i <= n; i++) {
                    if (i < n && lines[i + 1] ~ /^\)/) sub(/,$/, "", lines[i])
                    print lines[i]
                }
                print ";"
                printf "LOAD DATA INFILE '\''%s'\'' INTO TABLE `%s` CHARACTER SET utf8mb4;\n", f, t
                if (keys) printf "ALTER TABLE `%s` %s;\n", t, keys
            }' >"$d/$t.sql"
    done
}
run_limit() {
    local t0; t0=$(now)
    sql_dest -e "CREATE DATABASE sbtest"
    # One table per connection, 4 at a time; the admin client (sql_log_bin on).
    printf '%s\n' "$WORK"/limit/*.sql | xargs -P 4 -n 1 \
        sh -c 'mariadb --defaults-file="$0" sbtest <"$1"' "$SANDBOX_DIR/dest/client.cnf" ||
        fail "the limit's LOAD DATA INFILE failed"
    SECS=$(elapsed "$t0")
}

say "Warming up: the source's buffer pool, one unmeasured load into the destination"
server_quiesce source
source_warm
limit_prepare
dest_reset
run_limit
tables_equal
note "warm-up load: ${SECS}s (not counted)"

declare -A RATES=()
RSS=() OTHERS=() SHARED=0
for ((r = 1; r <= BENCH_RUNS; r++)); do
    order=$(rotate "$r" agent myloader dump limit)
    say "Round $r/$BENCH_RUNS: $order"
    for m in $order; do
        for ((try = 0; ; try++)); do
            dest_reset
            p0=$(source_page_reads)
            cpu_mark
            "run_$m"
            others=$(cpu_others)
            reads=$(( $(source_page_reads) - p0 ))
            tables_equal
            measure_again "$try" "$SECS" "$others" "$(printf '%-9s' "$m")" || break
        done
        ! run_shared "$SECS" "$others" || SHARED=$((SHARED + 1))
        OTHERS+=("$others")
        rt=$(rate "$SECS")
        RATES[$m]="${RATES[$m]:-} $rt"
        extra=""
        if [ "$m" == agent ]; then
            RSS+=("$RSS_MB")
            extra=" (${WALL}s by the CLI's clock, peak RSS ${RSS_MB} MB)"
        fi
        note "$(printf '%-9s' "$m") $rows rows in ${SECS}s$extra = $rt rows/s; source pages read from disk: $reads; other jobs' CPU: ${others}s (tables equal)"
    done
done

read -r am amin amax <<<"$(stats ${RATES[agent]})"
read -r mm mmin mmax <<<"$(stats ${RATES[myloader]})"
read -r dm dmin dmax <<<"$(stats ${RATES[dump]})"
read -r lm lmin lmax <<<"$(stats ${RATES[limit]})"
read -r rss _ _ <<<"$(stats "${RSS[@]}")"
ratio_m=$(ratio "$am" "$mm"); ratio_d=$(ratio "$am" "$dm"); ratio_l=$(ratio "$am" "$lm")
say "Result ($rows rows, rows/s, $BENCH_RUNS run(s) of each method)"
printf '%-40s %8s %8s %8s   %s\n' method median min max runs
printf '%-40s %8s %8s %8s  %s\n' \
    "tablet-agent import" "$am" "$amin" "$amax" "${RATES[agent]}" \
    "mydumper + myloader (4)" "$mm" "$mmin" "$mmax" "${RATES[myloader]}" \
    "mariadb-dump | mariadb" "$dm" "$dmin" "$dmax" "${RATES[dump]}" \
    "limit: LOAD DATA INFILE (4), keys after" "$lm" "$lmin" "$lmax" "${RATES[limit]}"
note "load average (1, 5, 15 min): $load0 at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end;" \
    "other jobs' CPU in a run: at most $(printf '%s\n' "${OTHERS[@]}" | sort -g | tail -1)s;" \
    "runs kept though shared with other jobs: $SHARED"
printf 'ratios of medians: agent / myloader = %sx   agent / dump = %sx   agent / limit = %s   agent peak RSS = %s MB\n' \
    "$ratio_m" "$ratio_d" "$ratio_l" "$rss"
printf '{"bench":"copy","runs":%s,"agent_rows_per_s":%s,"agent_rows_per_s_min":%s,"agent_rows_per_s_max":%s,"myloader_rows_per_s":%s,"myloader_rows_per_s_min":%s,"myloader_rows_per_s_max":%s,"dump_rows_per_s":%s,"dump_rows_per_s_min":%s,"dump_rows_per_s_max":%s,"limit_rows_per_s":%s,"limit_rows_per_s_min":%s,"limit_rows_per_s_max":%s,"ratio_vs_myloader":%s,"ratio_vs_limit":%s,"agent_peak_rss_mb":%s,"shared_runs":%s}\n' \
    "$BENCH_RUNS" "$am" "$amin" "$amax" "$mm" "$mmin" "$mmax" "$dm" "$dmin" "$dmax" "$lm" "$lmin" "$lmax" "$ratio_m" "$ratio_l" "$rss" "$SHARED"
