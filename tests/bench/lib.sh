# Shared by the benchmarks (sourced). They run on their own sandbox
# (build/bench-sandbox, ports 26306+) with the servers of the baseline
# measurements: 512 MB buffer pool, innodb_flush_log_at_trx_commit=1,
# binlog on. The 4 x 250k sysbench data set is prepared once and reused.
#
# Fairness: a method must not win by running on a warmer cache or a quieter
# server than the one it is compared with. So a benchmark warms what every
# method reads before measuring anything, lets the servers finish the
# background work earlier steps left behind (server_quiesce) before each
# measured run, runs each method BENCH_RUNS times with the order of methods
# rotated from round to round, and reports the median and the range of each
# method, and ratios of medians. The machine is shared: a run during which
# other jobs took much CPU (cpu_others, run_shared) is measured again.
export SANDBOX_DIR=${BENCH_SANDBOX_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench-sandbox}
export SANDBOX_PORT_BASE=${BENCH_PORT_BASE:-26306}
export SANDBOX_BUFFER_POOL=${SANDBOX_BUFFER_POOL:-512M}
export SANDBOX_FLUSH=1
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_TABLES=${BENCH_TABLES:-4}
BENCH_ROWS=${BENCH_ROWS:-250000}
TABLES=$(for i in $(seq 1 "$BENCH_TABLES"); do printf 'sbtest%s ' "$i"; done)

say() { printf '\n== %s\n' "$*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# The data set on the source, prepared once (about a minute).
bench_dataset() {
    sandbox start >/dev/null
    local have
    have=$(sql_source -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='sbtest'" 2>/dev/null || echo 0)
    if [ "$have" != "$BENCH_TABLES" ] ||
        [ "$(sql_source -e "SELECT COUNT(*) FROM sbtest.sbtest1" 2>/dev/null)" != "$BENCH_ROWS" ]; then
        say "Preparing sysbench data: $BENCH_TABLES x $BENCH_ROWS rows"
        sql_source -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
        sb prepare --tables="$BENCH_TABLES" --table-size="$BENCH_ROWS" --threads=4 >/dev/null
    fi
}

# Destination datadir snapshots, to replay the same starting state. The
# copy is synced before the server starts, or the kernel would write it back
# during the measured run; server_quiesce then waits for the server's
# buffer pool to be reloaded (from the ib_buffer_pool the snapshot holds),
# so every restore starts equally warm.
dest_snapshot() { sandbox stop dest; rm -rf "$SANDBOX_DIR/dest-$1"; cp -a "$SANDBOX_DIR/dest/data" "$SANDBOX_DIR/dest-$1"; sandbox start dest >/dev/null; }
dest_restore() {
    sandbox stop dest
    rm -rf "$SANDBOX_DIR/dest/data"
    cp -a "$SANDBOX_DIR/dest-$1" "$SANDBOX_DIR/dest/data"
    sync -f "$SANDBOX_DIR/dest/data"
    sandbox start dest >/dev/null
    server_quiesce dest
}

# server_quiesce NAME: wait until NAME's InnoDB has no work left over from
# earlier steps (no dirty page, purge done, checkpoint caught up, buffer
# pool load finished), so a measured run neither pays for what ran before
# it nor races it for the 2 cores. Dirty pages are flushed at once and
# fast (not at innodb_io_capacity's 200 pages/s) for the wait only.
server_quiesce() {
    local n=$1 saved
    saved=$(sandbox sql "$n" -N -B -e "SELECT CONCAT('SET GLOBAL innodb_max_dirty_pages_pct = ', @@innodb_max_dirty_pages_pct,
        ', innodb_io_capacity = ', @@innodb_io_capacity, ', innodb_io_capacity_max = ', @@innodb_io_capacity_max)")
    sandbox sql "$n" -e "SET GLOBAL innodb_max_dirty_pages_pct = 0, innodb_io_capacity_max = 20000, innodb_io_capacity = 20000"
    settled() {
        [ "$(sandbox sql "$n" -N -B -e "SELECT SUM(CASE VARIABLE_NAME
            WHEN 'INNODB_BUFFER_POOL_PAGES_DIRTY' THEN VARIABLE_VALUE > 0
            WHEN 'INNODB_HISTORY_LIST_LENGTH' THEN VARIABLE_VALUE > 0
            WHEN 'INNODB_CHECKPOINT_AGE' THEN VARIABLE_VALUE > 1048576
            WHEN 'INNODB_BUFFER_POOL_LOAD_STATUS' THEN VARIABLE_VALUE LIKE 'Load%'
            ELSE 0 END) FROM information_schema.GLOBAL_STATUS")" == 0 ]
    }
    wait_for 300 "$n: dirty pages flushed, purge done, buffer pool loaded" settled
    sandbox sql "$n" -e "$saved"
}

# source_warm: read every row of the data set through the clustered index
# (which is what every copy method reads), so no method finds the source's
# buffer pool colder than another. source_page_reads counts the pages the
# source had to read from disk: it should not move during a measured run.
source_warm() { local t; for t in $TABLES; do sql_source -e "CHECKSUM TABLE sbtest.$t" >/dev/null; done; }
source_page_reads() { sql_source -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_READS'"; }

# cpu_mark / cpu_others: CPU seconds the machine spent, since cpu_mark, on
# anything but this benchmark (its two servers and the processes it has
# waited for): other jobs competing for the 2 cores, plus a little kernel
# work (writeback, softirqs) done for ours. A run with several seconds of it
# was not measured alone. /proc ticks are 1/100 s.
cpu_ticks() {
    local total ours p
    total=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)
    ours=$(awk '{ print $(NF - 36) + $(NF - 35) }' "/proc/$$/stat")
    for p in $(cat "$SANDBOX_DIR"/source/mariadbd.pid "$SANDBOX_DIR"/dest/mariadbd.pid 2>/dev/null); do
        ours=$(( ours + $(awk '{ print $(NF - 38) + $(NF - 37) }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
    done
    echo $(( total - ours ))
}
cpu_mark() { CPU_MARK=$(cpu_ticks); }
cpu_others() { awk -v t=$(( $(cpu_ticks) - CPU_MARK )) 'BEGIN { printf "%.1f", t / 100 }'; }

# run_shared SECS OTHERS: did other jobs take more than 10% of the
# machine's CPU time during a run of SECS (and over 1 s)?
run_shared() {
    awk -v s="$1" -v o="$2" -v n="$(nproc)" 'BEGIN { l = s * n * 0.1; exit !(o > (l > 1 ? l : 1)) }'
}

# measure_again TRY SECS OTHERS LABEL: should a run be measured again? Yes
# if it was shared, up to BENCH_RETRIES times, while the retries so far
# have taken under BENCH_RETRY_SECONDS in all (a machine that stays busy
# must not stretch the benchmark without end; such runs are kept and
# counted). It then waits (up to 30 s) for 2 s in which other jobs took
# under 0.3 s of CPU, so as not to meet the same compile again.
BENCH_RETRIES=${BENCH_RETRIES:-2}
BENCH_RETRY_SECONDS=${BENCH_RETRY_SECONDS:-120}
RETRY_SPENT=0 RETRY_T0=
measure_again() {
    [ -z "$RETRY_T0" ] || RETRY_SPENT=$(( RETRY_SPENT + SECONDS - RETRY_T0 ))
    RETRY_T0=
    run_shared "$2" "$3" && [ "$1" -lt "$BENCH_RETRIES" ] && [ "$RETRY_SPENT" -lt "$BENCH_RETRY_SECONDS" ] || return 1
    note "$4 ${2}s, but other jobs took ${3}s of CPU meanwhile: measuring again"
    RETRY_T0=$SECONDS
    local i
    for ((i = 0; i < 15; i++)); do
        cpu_mark; sleep 2
        awk -v o="$(cpu_others)" 'BEGIN { exit !(o < 0.3) }' && break
    done
    return 0
}

# stats VALUE...: "median min max" of numbers (the median of an even count
# is the mean of the middle two), rounded to integers.
stats() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.0f %.0f %.0f\n", m, v[1], v[NR] }'
}

# rotate ROUND ITEM...: the items, starting at the ROUND-th (1-based,
# wrapping), so no method always runs first.
rotate() {
    local r=$1; shift
    local items=("$@") n=$# i
    for ((i = 0; i < n; i++)); do printf '%s ' "${items[$(( (r - 1 + i) % n ))]}"; done
}

tables_equal() {
    checksums_equal sbtest $TABLES
}

peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
