#!/usr/bin/env bash
# make bench-cutover: an application writes through the data router at
# RATE small transactions per second over SESSIONS sessions while the
# agent switches writes to the destination and back, CUTOVERS times each
# way. The application (tests/tools/sql_writer) is a plain libmariadb
# client: it knows only the router, which follows the control plane's
# rules; on an error it does what an application does (counts it,
# reconnects if the connection is gone, goes on with a new row).
#
# Per switch and reverse: the agent's time (cpctl's "done in N ms"), the
# hold (cpctl's `  hold  N ms` row, once the router holds writes at a
# switch; "-" until then), the client's window (the longest pause between
# acknowledged writes that overlaps the cutover: from its start to 300 ms
# after cpctl returned), the errors the client got from the cutover's
# start to the next one's, and how long they went on (first to last: with
# sessions failing fast, writes can fail for longer than any pause). Beside them, the longest pause in a steady
# stretch without cutovers (the servers' own fsync noise). Every
# acknowledged write is checked on both servers at the end (acked_check).
# The bar: no client error, no lost write, a window under 300 ms at worst;
# goal 100 ms. The last line is JSON.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CUTOVERS=${CUTOVERS:-10}
RATE=${RATE:-1000}
SESSIONS=${SESSIONS:-32}
GAP_MS=5 # pauses the client lists: finer than a cutover, coarser than its 1 ms between writes
WF="cut"
WRITER=
cleanup() {
    [ -z "$WRITER" ] || kill "$WRITER" 2>/dev/null || true
    stop_router
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT
ms_now() { date +%s%3N; }

sandbox start >/dev/null
rm -rf "$WORK/state" "$WORK"/cut-*.txt "$WORK/cutovers.jsonl" "$WORK/acked" "$WORK/errors.jsonl"
AGENT_LOG=$WORK/agent.log; : >"$AGENT_LOG"
ROUTER_LOG=$WORK/router.log; : >"$ROUTER_LOG"
unfence
for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS app; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE app; CREATE TABLE app.events (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32))"
start_control_plane
start_agent
cpctl import $WF $(endpoint_opts dest "$DEST_PORT") --tables 'app.*' >/dev/null
cpctl validate $WF >/dev/null
app_router_account "$WORK/accounts" "$WORK/app.pass"
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=$WF --accounts-file="$WORK/accounts" --router-id=bench
wait_for 10 "the router applies the workflow's rules" router_on_rules $WF bench

say "The application: $SESSIONS sessions, $RATE writes/s in all, through tablet-router (127.0.0.1:$ROUTER_PORT)"
"$BUILD/tools/sql_writer" "127.0.0.1:$ROUTER_PORT" app "$WORK/app.pass" --connections "$SESSIONS" --rate "$RATE" \
    --gap-ms $GAP_MS --acked "$WORK/acked" --errors "$WORK/errors.jsonl" >"$WORK/writer.json" &
WRITER=$!
sleep 1
steady_from=$(ms_now)
sleep 5
steady_to=$(ms_now)

say "$CUTOVERS switches and $CUTOVERS reverses, 2 s apart"
for i in $(seq 1 "$CUTOVERS"); do
    for op in switch reverse; do
        out=$WORK/cut-$i-$op.txt
        t0=$(ms_now)
        cpctl $op $WF >"$out" 2>&1 || { echo "cpctl $op $WF failed:"; cat "$out"; exit 1; }
        t1=$(ms_now)
        # cpctl's rows: "switch done in N ms: ...", then "  STEP  N ms" (one
        # of them "  hold  N ms" once the router holds writes).
        total=$(sed -nE "s/^$op done in ([0-9]+) ms.*/\1/p" "$out")
        hold=$(sed -nE 's/^  hold +([0-9]+) ms.*/\1/p' "$out")
        steps=$(sed -nE 's/^  ([a-z_]+) +([0-9]+) ms$/\1=\2/p' "$out" | paste -sd' ')
        jq -nc --arg op $op --argjson i "$i" --argjson t0 "$t0" --argjson t1 "$t1" --argjson total "${total:-null}" \
            --argjson hold "${hold:-null}" --arg steps "$steps" \
            '{op: $op, i: $i, t0: $t0, t1: $t1, total_ms: $total, hold_ms: $hold, steps: $steps}' >>"$WORK/cutovers.jsonl"
        sleep 2
    done
done
kill "$WRITER"
wait "$WRITER" || true
WRITER=

# The last reverse left writes on the source: forward replication brings
# the destination the last of them.
# Up to 30 s; what is still missing then is reported as lost.
for _ in $(seq 1 60); do
    check=$(acked_check app.events "$WORK/acked")
    [ "$(jq .missing_dest <<<"$check")" != 0 ] || break
    sleep 0.5
done

# Per cutover: the longest pause overlapping [t0, t1 + 300 ms] (the pause a
# cutover causes starts inside it and ends after the rules change), and the
# errors from t0 to the next cutover's t0.
gaps=$(jq -c '.start_unix_ms as $s | [.gaps[] | {from: ($s + .at_ms), to: ($s + .at_ms + .ms), ms}]' "$WORK/writer.json")
errors=$(jq -sc 'map({at: .at_unix_ms, code})' "$WORK/errors.jsonl")
jq -sc --argjson gaps "$gaps" --argjson errors "$errors" '
    . as $all | to_entries | map(.value as $c | ($all[.key + 1].t0 // 1e15) as $next |
      $c + {window_ms: ($gaps | map(select(.to >= $c.t0 and .from <= $c.t1 + 300) | .ms) | max // 0),
            errors: ($errors | map(select(.at >= $c.t0 and .at < $next)) | group_by(.code) |
                     map({code: .[0].code, n: length})),
            failing_ms: ($errors | map(select(.at >= $c.t0 and .at < $next) | .at) |
                         if length == 0 then 0 else max - min end)}) | .[]' "$WORK/cutovers.jsonl" >"$WORK/windows.jsonl"
steady=$(jq -n --argjson gaps "$gaps" --argjson a "$steady_from" --argjson b "$steady_to" \
    '$gaps | map(select(.from >= $a and .to <= $b) | .ms) | max // 0')
steady_errors=$(jq -s --argjson b "$(jq -s '.[0].t0' "$WORK/cutovers.jsonl")" 'map(select(.at_unix_ms < $b)) | length' \
    "$WORK/errors.jsonl")

say "Result"
printf '%-8s %3s %9s %8s %10s %11s   %-28s %s\n' op "#" agent_ms hold_ms window_ms failing_ms "client errors (code x count)" \
    "agent steps (ms)"
jq -r '[.op, .i, .total_ms, (.hold_ms // "-"), (.window_ms | floor), .failing_ms,
        (if (.errors | length) == 0 then "0" else (.errors | map("\(.code)x\(.n)") | join(" ")) end), .steps] | @tsv' \
    "$WORK/windows.jsonl" | awk -F'\t' '{ printf "%-8s %3s %9s %8s %10s %11s   %-28s %s\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
echo "(window: the client's longest pause without an acknowledged write; failing: from its first error to its last)"
echo
jq -r '"client: \(.acked) writes acknowledged, \(.failed_writes) failed, \(.errors) errors in all, \(.reconnects) reconnects;" +
       " write latency median \(.lat_ms_p50) ms, p99 \(.lat_ms_p99) ms, worst \(.lat_ms_max) ms",
       (.first_errors[] | "  error \(.code) (\(.sqlstate)) on \(.what), first seen: \(.message)")' "$WORK/writer.json"
jq -r '"acknowledged writes: \(.acked); missing on the source \(.missing_source), on the destination \(.missing_dest);" +
       " duplicated \(.duplicates); failed writes that committed anyway (extra, not lost): \(.unacked_present)"' <<<"$check"
[ "$steady_errors" == 0 ] || echo "errors in the steady stretch before the first cutover: $steady_errors"
if [ "$steady" == 0 ]; then
    echo "steady-state longest pause (no cutover): under $GAP_MS ms (none longer recorded)"
else
    printf 'steady-state longest pause (no cutover): %.1f ms\n' "$steady"
fi
stats=$(jq -s --argjson check "$check" --slurpfile w "$WORK/writer.json" '
    def p50: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
    {bench: "cutover", via: "router", window_ms_max: (map(.window_ms) | max), window_ms_p50: (map(.window_ms) | p50),
     client_errors: $w[0].errors, acked_writes: $check.acked, lost_writes: $check.lost_writes,
     switch_ms_p50: (map(select(.op == "switch") | .total_ms) | p50),
     hold_ms_p50: (map(.hold_ms | select(. != null)) | p50),
     reverse_ms_p50: (map(select(.op == "reverse") | .total_ms) | p50), cutovers: length,
     failing_ms_max: (map(.failing_ms) | max),
     errors_by_code: $w[0].errors_by_code, duplicates: $check.duplicates, unacked_present: $check.unacked_present,
     lat_ms_p99: $w[0].lat_ms_p99}' "$WORK/windows.jsonl")
wmax=$(jq -r .window_ms_max <<<"$stats")
printf 'window: worst %.1f ms, median %.1f ms   bar 300 ms (%sx under it), goal 100 ms; client errors %s (bar 0)\n' \
    "$wmax" "$(jq -r .window_ms_p50 <<<"$stats")" "$(ratio 300 "$wmax")" "$(jq -r .client_errors <<<"$stats")"
printf 'agent: switch median %s ms, reverse median %s ms; hold median %s\n' "$(jq -r .switch_ms_p50 <<<"$stats")" \
    "$(jq -r .reverse_ms_p50 <<<"$stats")" "$(jq -r 'if .hold_ms_p50 == null then "- (cpctl prints no hold)" else "\(.hold_ms_p50) ms" end' <<<"$stats")"
lost=$(jq .lost_writes <<<"$check")
[ "$lost" == 0 ] || echo "LOST WRITES: $lost acknowledged writes are missing on a server"
jq -c . <<<"$stats"
[ "$lost" == 0 ] && [ "$(jq .duplicates <<<"$check")" == 0 ]
