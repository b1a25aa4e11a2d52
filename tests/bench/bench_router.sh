#!/usr/bin/env bash
# make bench-router: sysbench oltp_read_write and oltp_point_select at 16
# threads against the source directly, through tablet-router (fixed rules,
# mode SOURCE) and through HAProxy in TCP mode (one thread, no protocol
# work at all: what any proxy on these cores pays just to forward bytes),
# in one run. Prints TPS/QPS and p95 latency of each, the ratios, the
# router's RSS and CPU seconds; ends with one JSON line.
#
# BENCH_SECONDS (default 30) per measured run; BENCH_RUNS (default 1)
# rounds, the order of the three rotated from round to round, medians
# reported. Everything shares the machine's cores: client, proxy, server.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECS=${BENCH_SECONDS:-30}
RUNS=${BENCH_RUNS:-1}
THREADS=16
RPORT=$((SANDBOX_PORT_BASE + 13))
HPORT=$((SANDBOX_PORT_BASE + 15))
HAPROXY=$(command -v haproxy || true)

bench_dataset
printf 'app %s\n' "$(sql_source -e "SELECT PASSWORD('$APP_PASSWORD')")" >"$WORK/accounts"
ROUTER_LOG=$WORK/router.log
: >"$ROUTER_LOG"
"$BUILD/tablet-router" --listen="127.0.0.1:$RPORT" --status-listen= --mode=source \
    --source="127.0.0.1:$SOURCE_PORT" --destination="127.0.0.1:$DEST_PORT" --accounts-file="$WORK/accounts" \
    --log-level=warn >>"$ROUTER_LOG" 2>&1 &
RPID=$!
HPID=
cleanup() {
    kill "$RPID" 2>/dev/null || true
    [ -n "$HPID" ] && kill "$HPID" 2>/dev/null
    return 0
}
trap cleanup EXIT
if [ -n "$HAPROXY" ]; then
    cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen mysql
    bind 127.0.0.1:$HPORT
    server source 127.0.0.1:$SOURCE_PORT
EOF
    "$HAPROXY" -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
    HPID=$!
fi
wait_for 10 "the router listens" port_open "$RPORT"
[ -z "$HPID" ] || wait_for 10 "haproxy listens" port_open "$HPORT"

port_of() { case $1 in direct) echo "$SOURCE_PORT" ;; router) echo "$RPORT" ;; haproxy) echo "$HPORT" ;; esac; }
targets="direct router"
[ -n "$HPID" ] && targets="direct router haproxy"

# run WORKLOAD TARGET SECONDS: sysbench's output in $WORK/WORKLOAD-TARGET.out
run() {
    sysbench "$1" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$(port_of "$2")" --mysql-user=app \
        --mysql-password="$APP_PASSWORD" --mysql-db=sbtest --tables="$BENCH_TABLES" --table-size="$BENCH_ROWS" \
        --threads=$THREADS --time="$3" --report-interval=0 run >"$WORK/$1-$2.out" 2>&1 ||
        { echo "sysbench $1 against $2 failed:"; tail -5 "$WORK/$1-$2.out"; exit 1; }
    ! grep -q FATAL "$WORK/$1-$2.out" || { grep -m1 FATAL "$WORK/$1-$2.out"; exit 1; }
}
per_sec() { awk -v k="$2:" '$1 == k { gsub(/[(]/, "", $3); print $3 }' "$1"; }
p95() { awk '/95th percentile:/ { print $3 }' "$1"; }
cpu_s() { awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$RPID/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

say "Warming the buffer pool (10 s of each workload, directly)"
for w in oltp_point_select oltp_read_write; do run $w direct 10; done

declare -A results p95s
router_cpu=0
for round in $(seq 1 "$RUNS"); do
    order=$targets
    for ((k = 1; k < round; k++)); do order="${order#* } ${order%% *}"; done
    for w in oltp_read_write oltp_point_select; do
        for t in $order; do
            say "round $round/$RUNS: $w, $THREADS threads, ${SECS}s, $t"
            c0=$(cpu_s)
            run $w "$t" "$SECS"
            [ "$t" != router ] || router_cpu=$(awk -v a="$router_cpu" -v b="$(cpu_s)" -v c="$c0" 'BEGIN { printf "%.1f", a + b - c }')
            key=$([ $w = oltp_read_write ] && echo transactions || echo queries)
            v=$(per_sec "$WORK/$w-$t.out" "$key")
            results[$w-$t]+="$v "
            p95s[$w-$t]+="$(p95 "$WORK/$w-$t.out") "
            note "$w $t: $v $key/s, p95 $(p95 "$WORK/$w-$t.out") ms"
        done
    done
done

med() { tr ' ' '\n' <<<"${results[$1]}" | grep . | median; }
medp() { tr ' ' '\n' <<<"${p95s[$1]}" | grep . | median; }
rss_mb=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$RPID/status")
rw_d=$(med oltp_read_write-direct) rw_r=$(med oltp_read_write-router)
ps_d=$(med oltp_point_select-direct) ps_r=$(med oltp_point_select-router)
rw_h=0 ps_h=0
[ -z "$HPID" ] || { rw_h=$(med oltp_read_write-haproxy); ps_h=$(med oltp_point_select-haproxy); }

say "Results ($THREADS threads, ${SECS}s per run, median of $RUNS)"
printf '%-20s %14s %10s %14s %10s\n' "" "read_write tps" "p95 ms" "point_select qps" "p95 ms"
for t in $targets; do
    printf '%-20s %14s %10s %14s %10s\n' "$t" "$(med oltp_read_write-$t)" "$(medp oltp_read_write-$t)" \
        "$(med oltp_point_select-$t)" "$(medp oltp_point_select-$t)"
done
printf '%-20s %14s %10s %14s\n' "router / direct" "$(ratio "$rw_r" "$rw_d")" "" "$(ratio "$ps_r" "$ps_d")"
[ -z "$HPID" ] || printf '%-20s %14s %10s %14s\n' "haproxy / direct" "$(ratio "$rw_h" "$rw_d")" "" "$(ratio "$ps_h" "$ps_d")"
note "tablet-router: peak RSS ${rss_mb} MB, ${router_cpu} CPU seconds over its $(( RUNS * 2 )) runs"
note "bar: read_write >= 0.85, point_select >= 0.70 of direct"
printf '{"bench":"router","threads":%s,"seconds":%s,"runs":%s,"rw_direct_tps":%s,"rw_router_tps":%s,"rw_ratio":%s,"ps_direct_qps":%s,"ps_router_qps":%s,"ps_ratio":%s,"rw_haproxy_tps":%s,"ps_haproxy_qps":%s,"rw_router_p95_ms":%s,"ps_router_p95_ms":%s,"router_rss_mb":%s,"router_cpu_s":%s}\n' \
    $THREADS "$SECS" "$RUNS" "$rw_d" "$rw_r" "$(ratio "$rw_r" "$rw_d")" "$ps_d" "$ps_r" "$(ratio "$ps_r" "$ps_d")" \
    "$rw_h" "$ps_h" "$(medp oltp_read_write-router)" "$(medp oltp_point_select-router)" "$rss_mb" "$router_cpu"
