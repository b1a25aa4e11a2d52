#!/usr/bin/env bash
# make bench-cutover: two application writers follow the control plane's
# routing rules at 500 small transactions per second each (1,000 in all)
# while the agent switches writes to the destination and back, CUTOVERS
# times each way. The write-unavailability window of a cutover is the
# longest pause between acknowledged writes of either writer that overlaps
# it; beside it, the longest pause in a steady stretch without cutovers
# (the servers' own fsync noise). Every acknowledged write is checked on
# both servers at the end. The bar: under 1,000 ms at worst; goal 300 ms.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CUTOVERS=${CUTOVERS:-5}
RATE=${RATE:-500}
export APP_WRITER_GAP_MS=5
W1= W2=
cleanup() {
    for p in $W1 $W2; do kill "$p" 2>/dev/null || true; done
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT
ms_now() { date +%s%3N; }

sandbox start >/dev/null
rm -rf "$WORK/state" "$WORK"/cut-*.json "$WORK/cutovers.jsonl"
AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
unfence
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE app; CREATE TABLE app.events (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32))"
start_control_plane
start_agent
cpctl import cut $(endpoint_opts dest "$DEST_PORT") --tables 'app.*' >/dev/null
cpctl validate cut >/dev/null

say "Writers: 2 x $RATE writes/s through the routing rules"
"$BUILD/tools/app_writer" "$CPCTL_CONTROL_PLANE" cut "$RATE" 0 "$WORK/acked1" >"$WORK/writer1.json" &
W1=$!
sleep 0.05
"$BUILD/tools/app_writer" "$CPCTL_CONTROL_PLANE" cut "$RATE" 0 "$WORK/acked2" >"$WORK/writer2.json" &
W2=$!
sleep 1
steady_from=$(ms_now)
sleep 5
steady_to=$(ms_now)

say "$CUTOVERS switches and $CUTOVERS reverses, 2 s apart"
for i in $(seq 1 "$CUTOVERS"); do
    for op in switch reverse; do
        t0=$(ms_now)
        cpctl --json $op cut >"$WORK/cut-$i-$op.json"
        t1=$(ms_now)
        jq -c --arg op $op --argjson t0 "$t0" --argjson t1 "$t1" \
            '{op: $op, t0: $t0, t1: $t1, total_ms, steps: [.steps[] | {(.name): .duration_ms}] | add}' \
            "$WORK/cut-$i-$op.json" >>"$WORK/cutovers.jsonl"
        sleep 2
    done
done
kill "$W1" "$W2"
wait "$W1" "$W2" || true
W1= W2=

# Every acknowledged write is on both servers.
cat "$WORK/acked1" "$WORK/acked2" >"$WORK/acked"
n=$(wc -l <"$WORK/acked")
for side in source dest; do
    have=$(ids_present $side "$WORK/acked")
    [ "$have" == "$n" ] || { echo "$side holds $have of $n acknowledged writes"; exit 1; }
done
note "$n acknowledged writes, all on both servers"

# Per cutover: the longest writer pause overlapping [t0, t1 + 300 ms];
# the pause a cutover causes starts inside it and ends after the rules change.
gaps=$(jq -c '.start_unix_ms as $s | .gaps[] | {from: ($s + .at_ms), to: ($s + .at_ms + .ms), ms}' \
    "$WORK/writer1.json" "$WORK/writer2.json" | jq -s .)
jq -c --argjson gaps "$gaps" '. as $c | ($gaps | map(select(.to >= $c.t0 and .from <= $c.t1 + 300) | .ms) | max // 0) as $w |
    $c + {window_ms: $w}' "$WORK/cutovers.jsonl" >"$WORK/windows.jsonl"
steady=$(jq -n --argjson gaps "$gaps" --argjson a "$steady_from" --argjson b "$steady_to" \
    '$gaps | map(select(.from >= $a and .to <= $b) | .ms) | max // 0')

say "Result"
printf '%-8s %10s %10s   %s\n' op window_ms agent_ms "agent steps (ms)"
jq -r '[.op, (.window_ms | floor), .total_ms, (.steps | to_entries | map("\(.key)=\(.value)") | join(" "))] | @tsv' \
    "$WORK/windows.jsonl" | awk -F'\t' '{ printf "%-8s %10s %10s   %s\n", $1, $2, $3, $4 }'
stats=$(jq -s '
    def p50: sort | .[(length - 1) / 2 | floor];
    {window_ms_max: (map(.window_ms) | max), window_ms_p50: (map(.window_ms) | p50),
     switch_ms_p50: (map(select(.op == "switch") | .total_ms) | p50),
     reverse_ms_p50: (map(select(.op == "reverse") | .total_ms) | p50), cutovers: length}' "$WORK/windows.jsonl")
wmax=$(jq -r .window_ms_max <<<"$stats")
if [ "$steady" == 0 ]; then
    echo "steady-state longest pause (no cutover): under $APP_WRITER_GAP_MS ms (none longer recorded)"
else
    printf 'steady-state longest pause (no cutover): %.1f ms\n' "$steady"
fi
printf 'window: worst %.1f ms, median %.1f ms   bar 1000 ms (%sx under it), goal 300 ms\n' "$wmax" \
    "$(jq -r .window_ms_p50 <<<"$stats")" "$(ratio 1000 "$wmax")"
printf 'agent: switch median %s ms, reverse median %s ms\n' "$(jq -r .switch_ms_p50 <<<"$stats")" \
    "$(jq -r .reverse_ms_p50 <<<"$stats")"
jq -c --argjson steady "$steady" --argjson writes "$n" \
    '{bench: "cutover"} + . + {steady_gap_ms_max: $steady, gap_resolution_ms: 5, bar_ms: 1000, goal_ms: 300,
     acked_writes: $writes}' <<<"$stats"
