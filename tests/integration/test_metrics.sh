#!/usr/bin/env bash
# Prometheus metrics (--metrics-listen): scraped with curl before, during
# and after a real import, after writes, a switch, a refused switch, a
# VDiff and a reverse. Every scrape must pass a strict reading of the text
# format (tests/tools/prom_check.py: grammar, escapes, families, histogram
# buckets, then Python's prometheus_client parser), and the numbers the
# test knows must be there: rows copied equal to each table's rows (a table
# name with a quote and a backslash read back exactly), throttled time
# while the source is busy, a stream's transactions growing with writes,
# the switch counted with its steps, gRPC calls counted with their codes.
# The router's metrics (--metrics-listen on tablet-router) the same way:
# statements by side and kind through a real client, a wrong password
# counted as access_denied, the rules version it applies following the
# control plane's. The port changes nothing (POST and others 405, paths other than
# /metrics and the status page at / 404: test_status_page.sh reads that), a
# half-sent request does not hold up the agent or other scrapes, and no
# password appears in any scrape.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
URL=http://127.0.0.1:$METRICS_PORT/metrics
ROWS=20000
ODD='q"uo\te'

cleanup() {
    exec 5>&- 2>/dev/null || true
    stop_router
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT

n=0
# scrape: the page into $WORK/scrape.N.txt (N counts up), checked strictly;
# $page names the file.
scrape() {
    n=$((n + 1))
    page=$WORK/scrape.$n.txt
    curl -sS --fail --max-time 10 -o "$page" "$URL" || fail "scrape $n: GET /metrics failed"
    $PY "$REPO/tests/tools/prom_check.py" check "$page" >"$WORK/check.$n.txt" ||
        fail "scrape $n does not read as the Prometheus text format: $(head -5 "$WORK/check.$n.txt")"
}
# metric NAME [label=value...]: the value of one sample in the last scrape.
metric() { $PY "$REPO/tests/tools/prom_check.py" get "$page" "$@"; }
# The same for the router: rscrape, rmetric (the last one in $rpage).
RURL=http://127.0.0.1:$ROUTER_METRICS_PORT/metrics
rscrape() {
    n=$((n + 1))
    rpage=$WORK/scrape.$n.router.txt
    curl -sS --fail --max-time 10 -o "$rpage" "$RURL" || fail "router scrape $n: GET /metrics failed"
    $PY "$REPO/tests/tools/prom_check.py" check "$rpage" >"$WORK/check.$n.txt" ||
        fail "router scrape $n does not read as the Prometheus text format: $(head -5 "$WORK/check.$n.txt")"
}
rmetric() { $PY "$REPO/tests/tools/prom_check.py" get "$rpage" "$@"; }
rules_version() { cpctl --json routing met | jq -r .version; }
router_applies() {
    rscrape
    [ "$(rmetric tablet_router_rules_version workflow=met 2>/dev/null)" == "$1" ]
}
# at_least MIN NAME [label=value...]: a fresh scrape's value is >= MIN.
at_least() {
    local min=$1 v
    shift
    scrape
    v=$(metric "$@" 2>/dev/null) || return 1
    $PY -c "import sys; sys.exit(0 if float('$v') >= float('$min') else 1)"
}
wf_field() { cpctl --json workflow status met | jq -r "$1"; }
wf_state_is() { [ "$(wf_field .state)" == "$1" ]; }

# ---- setup ---------------------------------------------------------------------
rm -rf "$WORK/state" "$WORK"/scrape.*.txt
unfence
for s in source dest; do
    sandbox sql $s -e "DROP DATABASE IF EXISTS met; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE met;
    CREATE TABLE met.items (id INT PRIMARY KEY, v VARCHAR(40));
    INSERT INTO met.items SELECT seq, CONCAT('item-', seq) FROM met.seq_1_to_$ROWS;
    CREATE TABLE met.\`$ODD\` (id INT PRIMARY KEY);
    INSERT INTO met.\`$ODD\` SELECT seq FROM met.seq_1_to_7"
start_control_plane
start_agent --metrics-listen=127.0.0.1:$METRICS_PORT

# ---- before any workflow ---------------------------------------------------------
wait_for 10 "source_up is 1" at_least 1 tablet_agent_source_up
assert_eq "$(metric tablet_agent_build_info version="$("$BUILD/tablet-agent" --version | cut -d' ' -f2)")" 1 \
    "build_info carries the version"
metric tablet_agent_binlog_retention_seconds >/dev/null || fail "no binlog_retention_seconds for a reachable source"
metric tablet_agent_source_probe_seconds >/dev/null || fail "no source_probe_seconds"
for fam in copy_rows_total copy_rows_estimated copy_throttled_seconds_total stream_state stream_transactions_total \
    stream_events_total stream_lag_seconds stream_last_event_age_seconds stream_errors_total cutover_step_seconds \
    cutovers_total vdiff_rows_compared_total vdiff_differences rpc_requests_total rpc_seconds; do
    grep -q "^# TYPE tablet_agent_$fam " "$page" || fail "family tablet_agent_$fam is not listed"
done
pass "before any workflow: build_info, source_up 1, retention, probe time; every family listed; the text is valid"

# ---- the port changes nothing -----------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "$(code -X POST --data 'x=1' "$URL")" 405 "POST /metrics"
assert_eq "$(code -X PUT --data 'x=1' "$URL")" 405 "PUT /metrics"
assert_eq "$(code -X DELETE "$URL")" 405 "DELETE /metrics"
assert_contains "$(curl -s -D - -o /dev/null -X POST "$URL")" "Allow: GET, HEAD" "405 names the methods allowed"
assert_eq "$(code -X POST "http://127.0.0.1:$METRICS_PORT/")" 405 "POST / (the status page)"
assert_eq "$(code "http://127.0.0.1:$METRICS_PORT/metrics/x")" 404 "GET /metrics/x"
assert_eq "$(code -X POST "http://127.0.0.1:$METRICS_PORT/admin")" 404 "POST /admin"
assert_eq "$(code -I "$URL")" 200 "HEAD /metrics"
assert_contains "$(curl -s -D - -o /dev/null "$URL")" "text/plain; version=0.0.4" "the format's content type"
# A client that sends half a request and waits holds up neither the agent
# nor other scrapes (the HTTP side is libmicrohttpd's thread, event-driven).
exec 5<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
printf 'GET /metr' >&5
t0=$(date +%s%N)
scrape
timeout 5 "$BUILD/cpctl" --agent "$AGENT_ADDR" status >/dev/null || fail "the agent did not answer with a stalled metrics client"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 3000 ] || fail "a scrape and a status took $ms ms beside a stalled metrics client"
exec 5>&-
pass "POST, PUT, DELETE get 405 (Allow: GET, HEAD), other paths 404; a stalled client blocks nothing (${ms} ms)"

# ---- during the copy: a busy source holds it back ------------------------------------------
busy_pids=()
for i in 1 2 3 4; do sql_source -e "SELECT SLEEP(8)" >/dev/null & busy_pids+=($!); done
sleep 0.5
cpctl import met $dest --tables 'met.*' --chunk-rows 100 --parallel 1 --throttle-threads-running 1 --no-wait >/dev/null
throttled() { [ "$(wf_field .throttled)" == true ]; }
wait_for 15 "the copy throttles on a busy source" throttled
wait_for 10 "throttled time counted" at_least 1.5 tablet_agent_copy_throttled_seconds_total workflow=met reason=threads_running
copied=$(metric tablet_agent_copy_rows_total workflow=met table=met.items)
[ "$copied" -lt "$ROWS" ] || fail "the copy finished while the source was busy ($copied rows)"
est=$(metric tablet_agent_copy_rows_estimated workflow=met table=met.items)
[ "$est" -gt 0 ] || fail "no row estimate for met.items during the copy"
state=$(grep -E '^tablet_agent_workflow_state\{workflow="met",state="[A-Z_]+"\} 1$' "$page" | sed 's/.*state="\([A-Z_]*\)".*/\1/')
[[ "$state" == COPYING || "$state" == STARTING || "$state" == CATCHING_UP ]] ||
    fail "workflow_state during the copy is '$state'"
wait "${busy_pids[@]}"
pass "during the copy: $copied of about $est rows of met.items, state $state, throttled time counted ($(metric tablet_agent_copy_throttled_seconds_total workflow=met reason=threads_running) s)"

# ---- after the copy ------------------------------------------------------------------
wait_for 90 "the import replicates" wf_state_is WORKFLOW_REPLICATING
scrape
assert_eq "$(metric tablet_agent_copy_rows_total workflow=met table=met.items)" \
    "$(sql_source -e "SELECT COUNT(*) FROM met.items")" "rows copied of met.items"
assert_eq "$(metric tablet_agent_copy_rows_total workflow=met "table=met.$ODD")" 7 \
    "rows copied of met.\`$ODD\` (label escaping read back)"
grep -qF 'table="met.q\"uo\\te"' "$page" || fail "the odd table's label is not escaped as the format says"
assert_eq "$(metric tablet_agent_stream_state stream=met state=RUNNING)" 1 "stream met RUNNING"
assert_eq "$(metric tablet_agent_stream_state stream=met state=ERROR)" 0 "stream met not in ERROR"
assert_eq "$(metric tablet_agent_workflow_state workflow=met state=REPLICATING)" 1 "workflow_state REPLICATING"
assert_eq "$(metric tablet_agent_stream_errors_total stream=met kind=PURGED)" 0 "no PURGED errors"
pass "after the copy: rows copied equal each table's rows (odd name included); stream RUNNING"

# ---- the router's metrics ------------------------------------------------------------
RU=met_app
RP=met-app-password
router_account "$RU" "$RP" met >"$WORK/accounts"
cpctl validate met >/dev/null
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=met --accounts-file="$WORK/accounts" --router-id=rm \
    --metrics-listen="127.0.0.1:$ROUTER_METRICS_PORT"
v=$(rules_version)
wait_for 10 "the router applies rules version $v" router_applies "$v"
assert_eq "$(rmetric tablet_router_control_plane_up workflow=met)" 1 "control_plane_up"
assert_eq "$(rmetric tablet_router_build_info version="$("$BUILD/tablet-router" --version | cut -d' ' -f2)")" 1 \
    "router build_info"
sel0=$(rmetric tablet_router_statements_total side=destination kind=select)
ins0=$(rmetric tablet_router_statements_total side=source kind=insert)
den0=$(rmetric tablet_router_errors_total kind=access_denied)
via_router "$RU" "$RP" met -e "SELECT COUNT(*) FROM items; SELECT 1; SELECT 2; SELECT 3; SELECT 4;
    INSERT INTO items VALUES (900001, 'r'); INSERT INTO items VALUES (900002, 'r'); INSERT INTO items VALUES (900003, 'r')" \
    >/dev/null || fail "statements through the router failed"
via_router "$RU" "not-$RP" met -e "SELECT 1" >/dev/null 2>&1 && fail "a wrong password got through the router"
rscrape
ins=$(($(rmetric tablet_router_statements_total side=source kind=insert) - ins0))
sel=$(($(rmetric tablet_router_statements_total side=destination kind=select) - sel0))
assert_eq "$ins" 3 "INSERTs counted on the source (VALIDATE: writes there)"
[ "$sel" -ge 5 ] || fail "$sel SELECTs counted on the destination; 5 went there (VALIDATE: reads there)"
assert_eq "$(rmetric tablet_router_statements_total side=destination kind=insert)" 0 "no INSERT on the destination"
assert_eq "$(($(rmetric tablet_router_errors_total kind=access_denied) - den0))" 1 "a wrong password: access_denied"
assert_eq "$(rmetric tablet_router_backend_up side=source)" 1 "the router sees the source"
no_clients() { rscrape; [ "$(rmetric tablet_router_client_connections)" == 0 ]; }
wait_for 5 "client_connections back to 0" no_clients
[ "$(rmetric tablet_router_client_connections_total)" -ge 2 ] || fail "client_connections_total below 2"
for s in POST PUT; do assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X $s "$RURL")" 405 "router: $s /metrics"; done
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ROUTER_METRICS_PORT/")" 404 "router: GET /"
have_inserts() { [ "$(sql_dest -e "SELECT COUNT(*) FROM met.items WHERE id > 900000")" == 3 ]; }
wait_for 20 "the router's inserts replicated" have_inserts
pass "router: rules version $v applied, $sel SELECTs on the destination and $ins INSERTs on the source, access_denied counted"

# ---- writes: the stream's counters grow ---------------------------------------------
scrape
trx0=$(metric tablet_agent_stream_transactions_total stream=met)
ev0=$(metric tablet_agent_stream_events_total stream=met)
for i in $(seq 1 25); do echo "INSERT INTO met.items VALUES ($((ROWS + i)), 'new');"; done | sandbox sql source
wait_for 20 "25 more transactions applied" at_least $((trx0 + 25)) tablet_agent_stream_transactions_total stream=met
ev1=$(metric tablet_agent_stream_events_total stream=met)
[ "$ev1" -gt "$ev0" ] || fail "stream_events_total did not grow ($ev0 -> $ev1)"
lag=$(metric tablet_agent_stream_lag_seconds stream=met)
age=$(metric tablet_agent_stream_last_event_age_seconds stream=met)
$PY -c "import sys; sys.exit(0 if 0 <= $age < 10 else 1)" || fail "last_event_age_seconds is $age right after writes"
sleep 2
scrape
age2=$(metric tablet_agent_stream_last_event_age_seconds stream=met)
$PY -c "import sys; sys.exit(0 if $age2 > $age else 1)" || fail "last_event_age_seconds did not grow while idle ($age -> $age2)"
pass "writes: transactions $trx0 -> $(metric tablet_agent_stream_transactions_total stream=met), events $ev0 -> $ev1, lag $lag s, last event age $age -> $age2 s"

# ---- a switch, and one refused -------------------------------------------------------
cpctl switch met >/dev/null
out=$(cpctl switch met 2>&1) && fail "a second switch succeeded"
assert_contains "$out" "FAILED_PRECONDITION" "second switch"
cpctl workflow status nosuch >/dev/null 2>&1 && fail "an unknown workflow was found"
scrape
assert_eq "$(metric tablet_agent_cutovers_total workflow=met direction=switch outcome=success)" 1 "switches that succeeded"
assert_eq "$(metric tablet_agent_cutovers_total workflow=met direction=switch outcome=refused)" 1 "switches refused"
assert_eq "$(metric tablet_agent_cutovers_total workflow=met direction=reverse outcome=success)" 0 "reverses"
assert_eq "$(metric tablet_agent_cutovers_total workflow=met direction=switch outcome=rolled_back)" 0 "rolled back"
for step in check fence_source catch_up commit start_reverse; do
    assert_eq "$(metric tablet_agent_cutover_step_seconds_count workflow=met step=$step)" 1 "step $step observed"
    assert_eq "$(metric tablet_agent_cutover_step_seconds_bucket workflow=met step=$step le=+Inf)" 1 "step $step +Inf bucket"
done
assert_eq "$(metric tablet_agent_stream_state stream=met.reverse state=RUNNING)" 1 "the reverse stream runs"
assert_eq "$(metric tablet_agent_workflow_state workflow=met state=PRIMARY)" 1 "workflow_state PRIMARY"
A=tabletagent.v1.TabletAgent
assert_eq "$(metric tablet_agent_rpc_requests_total method=$A/SwitchTraffic code=OK)" 1 "SwitchTraffic OK"
assert_eq "$(metric tablet_agent_rpc_requests_total method=$A/SwitchTraffic code=FAILED_PRECONDITION)" 1 \
    "SwitchTraffic FAILED_PRECONDITION"
assert_eq "$(metric tablet_agent_rpc_requests_total method=$A/GetWorkflow code=NOT_FOUND)" 1 "GetWorkflow NOT_FOUND"
assert_eq "$(metric tablet_agent_rpc_seconds_count method=$A/SwitchTraffic)" 2 "SwitchTraffic timings"
gw=$(metric tablet_agent_rpc_requests_total method=$A/GetWorkflow code=OK)
[ "$gw" -ge 3 ] || fail "GetWorkflow OK counted $gw times; this test made more"
cpctl workflow status met >/dev/null
scrape
assert_eq "$(metric tablet_agent_rpc_requests_total method=$A/GetWorkflow code=OK)" $((gw + 1)) "one more GetWorkflow"
v=$(rules_version)
wait_for 10 "the router applies rules version $v after the switch" router_applies "$v"
pass "switch: cutovers_total success 1 and refused 1, its steps timed; rpc_requests_total by method and code; the router at rules version $v"

# ---- VDiff, then back ------------------------------------------------------------------
cpctl vdiff met >"$WORK/vdiff.out" || fail "vdiff found differences or failed: $(tail -3 "$WORK/vdiff.out")"
scrape
total=$(($(sql_dest -e "SELECT COUNT(*) FROM met.items") + 7))
assert_eq "$(metric tablet_agent_vdiff_rows_compared_total workflow=met)" "$total" "rows VDiff compared"
assert_eq "$(metric tablet_agent_vdiff_differences workflow=met)" 0 "VDiff differences"
cpctl reverse met >/dev/null
scrape
assert_eq "$(metric tablet_agent_cutovers_total workflow=met direction=reverse outcome=success)" 1 "reverses"
assert_eq "$(metric tablet_agent_cutover_step_seconds_count workflow=met step=commit)" 2 "commit steps of both"
pass "VDiff: $total rows compared, 0 differences; the reverse counted"

# ---- no secret in any scrape ----------------------------------------------------------
for secret in "$(cat "$PASSWORD_FILE")" "$APP_PASSWORD" "$RP"; do
    [ -n "$secret" ] || continue
    if grep -lF -- "$secret" "$WORK"/scrape.*.txt; then fail "a password appears in a scrape"; fi
    grep -qF -- "$(sql_source -e "SELECT SUBSTR(PASSWORD('$secret'), 2)")" "$WORK"/scrape.*.txt &&
        fail "a password's hash appears in a scrape"
done
grep -qi "password" "$WORK"/scrape.*.txt && fail "the word password appears in a scrape"
pass "$n scrapes, each valid, none with a password in it"

cpctl detach met >/dev/null || true
