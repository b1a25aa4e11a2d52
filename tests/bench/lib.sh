# Shared by the benchmarks (sourced). They run on their own sandbox
# (build/bench-sandbox, ports 26306+) with the servers of the baseline
# measurements: 512 MB buffer pool, innodb_flush_log_at_trx_commit=1,
# binlog on. The 4 x 250k sysbench data set is prepared once and reused.
export SANDBOX_DIR=${BENCH_SANDBOX_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench-sandbox}
export SANDBOX_PORT_BASE=${BENCH_PORT_BASE:-26306}
export SANDBOX_BUFFER_POOL=${SANDBOX_BUFFER_POOL:-512M}
export SANDBOX_FLUSH=1
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
BENCH_TABLES=${BENCH_TABLES:-4}
BENCH_ROWS=${BENCH_ROWS:-250000}
TABLES=$(for i in $(seq 1 "$BENCH_TABLES"); do printf 'sbtest%s ' "$i"; done)

say() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
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

# Destination datadir snapshots, to replay the same starting state.
dest_snapshot() { sandbox stop dest; rm -rf "$SANDBOX_DIR/dest-$1"; cp -a "$SANDBOX_DIR/dest/data" "$SANDBOX_DIR/dest-$1"; sandbox start dest >/dev/null; }
dest_restore() { sandbox stop dest; rm -rf "$SANDBOX_DIR/dest/data"; cp -a "$SANDBOX_DIR/dest-$1" "$SANDBOX_DIR/dest/data"; sandbox start dest >/dev/null; }

tables_equal() {
    checksums_equal sbtest $TABLES
}

peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
