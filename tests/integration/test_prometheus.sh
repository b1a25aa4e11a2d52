#!/usr/bin/env bash
# A real Prometheus (Debian's prometheus, on loopback, its own config and
# data under the test's WORK dir, scraping every second) watches the agent
# and a router through a real import, writes through the router and a
# switch, with deploy/prometheus-rules.yaml loaded. What the test knows
# must come back through Prometheus's HTTP API (/api/v1/query): both
# targets up, rows copied equal to the table's rows, the stream's lag at 0
# once the writes are in, the router's statements counted by side and
# kind, the switch counted as a success. Every alert rule loads and
# evaluates without error on the real series, and none fires in this
# healthy run. `promtool check metrics` finds nothing to say about a
# scrape of either.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

PROM_PORT=$((SANDBOX_PORT_BASE + 17))
PROM=http://127.0.0.1:$PROM_PORT
PROM_PID=
ROWS=5000
INSERTS=7
dest=$(endpoint_opts dest "$DEST_PORT")

cleanup() {
    if [ -n "$PROM_PID" ]; then
        kill -TERM "$PROM_PID" 2>/dev/null || true
        wait "$PROM_PID" 2>/dev/null || true
    fi
    stop_router
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT

command -v prometheus >/dev/null && command -v promtool >/dev/null ||
    fail "prometheus and promtool are missing: run tests/deps.sh (Debian's prometheus package)"

# query EXPR: the values of an instant query, sorted, space-separated;
# "none" for an empty result. Fails on an API error.
query() {
    local out
    out=$(curl -sS --fail --max-time 5 -G "$PROM/api/v1/query" --data-urlencode "query=$1") || return 1
    jq -e '.status == "success"' <<<"$out" >/dev/null || return 1
    jq -r '.data.result | if length == 0 then "none" else ([.[].value[1]] | sort | join(" ")) end' <<<"$out"
}
# expect SECONDS EXPR WANT WHAT: poll until the query gives WANT.
expect() {
    local limit=$1 expr=$2 want=$3 what=$4 got= i
    for ((i = 0; i < limit * 4; i++)); do
        got=$(query "$expr" 2>/dev/null) || got="(query failed)"
        [ "$got" == "$want" ] && return 0
        sleep 0.25
    done
    fail "$what: Prometheus answers '$got' to $expr after ${limit}s, expected '$want'"
}
wf_state_is() { [ "$(cpctl --json workflow status prom | jq -r .state)" == "$1" ]; }

# ---- servers, agent, router -----------------------------------------------------
rm -rf "$WORK/state" "$WORK/prometheus"
unfence
for s in source dest; do
    sandbox sql $s -e "DROP DATABASE IF EXISTS prom; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE prom;
    CREATE TABLE prom.items (id INT PRIMARY KEY, v VARCHAR(40));
    INSERT INTO prom.items SELECT seq, CONCAT('item-', seq) FROM prom.seq_1_to_$ROWS"
start_control_plane
start_agent --metrics-listen=127.0.0.1:$METRICS_PORT
RU=prom_app
RP=prom-app-password
router_account "$RU" "$RP" prom >"$WORK/accounts"

# ---- Prometheus ---------------------------------------------------------------------
mkdir -p "$WORK/prometheus/data"
cat >"$WORK/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $REPO/deploy/prometheus-rules.yaml
scrape_configs:
  - job_name: tablet-agent
    static_configs: [{targets: ["127.0.0.1:$METRICS_PORT"]}]
  - job_name: tablet-router
    static_configs: [{targets: ["127.0.0.1:$ROUTER_METRICS_PORT"]}]
EOF
promtool check config "$WORK/prometheus/prometheus.yml" >"$WORK/prometheus/check-config.txt" 2>&1 ||
    fail "promtool check config: $(cat "$WORK/prometheus/check-config.txt")"
prometheus --config.file="$WORK/prometheus/prometheus.yml" --storage.tsdb.path="$WORK/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=1h \
    >"$WORK/prometheus/prometheus.log" 2>&1 &
PROM_PID=$!
ready() { curl -sf --max-time 2 "$PROM/-/ready" >/dev/null; }
wait_for 30 "Prometheus is ready on $PROM_PORT (log: $WORK/prometheus/prometheus.log)" ready
expect 15 'up{job="tablet-agent"}' 1 "the agent's target"
expect 10 'tablet_agent_source_up' 1 "source_up"
pass "Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') on $PROM_PORT scrapes the agent every second"

# ---- the rules load; they evaluate cleanly --------------------------------------------------
rules_json() { curl -sS --fail --max-time 5 "$PROM/api/v1/rules"; }
want=$(grep -c '^ *- alert: ' "$REPO/deploy/prometheus-rules.yaml")
rules_loaded() { [ "$(rules_json | jq '[.data.groups[].rules[] | select(.type == "alerting")] | length')" == "$want" ]; }
wait_for 10 "$want alerting rules loaded" rules_loaded
assert_eq "$(rules_json | jq -r '[.data.groups[].name] | sort | join(" ")')" "tablet-agent tablet-router" "rule groups"
pass "deploy/prometheus-rules.yaml loads: $want alerting rules in groups tablet-agent, tablet-router"

# ---- the import -------------------------------------------------------------------
cpctl import prom $dest --tables 'prom.*' --chunk-rows 500 >/dev/null
wait_for 60 "the import replicates" wf_state_is WORKFLOW_REPLICATING
expect 10 'tablet_agent_copy_rows_total{workflow="prom",table="prom.items"}' "$ROWS" "rows copied of prom.items"
expect 10 'tablet_agent_copy_rows_estimated{workflow="prom",table="prom.items"}' "$ROWS" "rows estimated once copied"
expect 10 'tablet_agent_stream_state{stream="prom",state="RUNNING"}' 1 "the stream runs"
pass "import: Prometheus reads $ROWS rows copied of prom.items, the stream RUNNING"

# ---- the router: statements counted --------------------------------------------------
cpctl validate prom >/dev/null
start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=prom --accounts-file="$WORK/accounts" --router-id=rp \
    --metrics-listen="127.0.0.1:$ROUTER_METRICS_PORT"
wait_for 10 "the router applies the rules" router_on_rules prom rp
expect 15 'up{job="tablet-router"}' 1 "the router's target"
expect 10 'tablet_router_control_plane_up{workflow="prom"}' 1 "the router's control plane"
stmts=""
for i in $(seq 1 $INSERTS); do stmts+="INSERT INTO items VALUES ($((ROWS + i)), 'via-router'); "; done
via_router "$RU" "$RP" prom -e "SELECT COUNT(*) FROM items; SELECT 1; SELECT 2; $stmts" >/dev/null ||
    fail "statements through the router failed"
expect 10 'tablet_router_statements_total{side="source",kind="insert"}' "$INSERTS" "INSERTs through the router"
expect 10 'tablet_router_statements_total{side="destination",kind="insert"}' 0 "no INSERT on the destination"
sel=$(query 'tablet_router_statements_total{side="destination",kind="select"}')
[ "$sel" != none ] && [ "$sel" -ge 3 ] || fail "SELECTs on the destination: Prometheus says $sel, 3 were sent"
pass "router: $INSERTS INSERTs counted on the source and $sel SELECTs on the destination (VALIDATE)"

# ---- lag falls to 0 once the writes are applied -------------------------------------
have_rows() { [ "$(sql_dest -e "SELECT COUNT(*) FROM prom.items")" == $((ROWS + INSERTS)) ]; }
wait_for 20 "the router's inserts replicated" have_rows
expect 10 'tablet_agent_stream_transactions_total{stream="prom"} >= bool '$INSERTS 1 "transactions applied"
expect 15 'tablet_agent_stream_lag_seconds{stream="prom"}' 0 "lag after the writes"
pass "lag: 0 once the $INSERTS writes are applied ($(query 'tablet_agent_stream_transactions_total{stream="prom"}') transactions)"

# ---- a switch, counted -----------------------------------------------------------------
cpctl switch prom >/dev/null || fail "the switch failed"
expect 10 'tablet_agent_cutovers_total{workflow="prom",direction="switch",outcome="success"}' 1 "switches that succeeded"
expect 10 'sum(tablet_agent_cutovers_total{workflow="prom",outcome=~"rolled_back|timed_out"})' 0 "failed cutovers"
expect 10 'tablet_agent_cutover_step_seconds_count{workflow="prom",step="commit"}' 1 "the commit step timed"
expect 10 'tablet_agent_stream_state{stream="prom.reverse",state="RUNNING"}' 1 "the reverse stream"
v=$(cpctl --json routing prom | jq -r .version)
expect 10 'tablet_router_rules_version{workflow="prom"}' "$v" "the router's rules version after the switch"
pass "switch: one success counted, none failed, commit step timed; the router at rules version $v"

# ---- promtool check metrics on a scrape of each ---------------------------------------------
for t in agent:$METRICS_PORT router:$ROUTER_METRICS_PORT; do
    f=$WORK/prometheus/scrape.${t%%:*}.txt
    curl -sS --fail --max-time 5 -o "$f" "http://127.0.0.1:${t#*:}/metrics" || fail "GET /metrics of the ${t%%:*}"
    out=$(promtool check metrics <"$f" 2>&1) || fail "promtool check metrics on the ${t%%:*}'s scrape: $out"
    [ -z "$out" ] || fail "promtool check metrics on the ${t%%:*}'s scrape says: $out"
done
pass "promtool check metrics: nothing to say about the agent's or the router's scrape"

# ---- healthy: every rule evaluates, none fires ------------------------------------------
sleep 2 # a couple more evaluations over the switch's series
rules_json >"$WORK/prometheus/rules.json"
broken=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError)"' "$WORK/prometheus/rules.json")
[ -z "$broken" ] || fail "rules that do not evaluate: $broken"
never=$(jq -r '[.data.groups[].rules[] | select(.lastEvaluation | startswith("0001"))] | length' "$WORK/prometheus/rules.json")
assert_eq "$never" 0 "rules never evaluated"
firing=$(jq -r '.data.groups[].rules[] | select(.state == "firing") | .name' "$WORK/prometheus/rules.json")
[ -z "$firing" ] || fail "alerts firing in a healthy run: $firing"
pending=$(jq -r '[.data.groups[].rules[] | select(.state == "pending") | .name] | join(", ")' "$WORK/prometheus/rules.json")
[ -z "$pending" ] || fail "alerts pending in a healthy run: $pending"
pass "all $want rules evaluated without error on the real series; none pending or firing"

# ---- and one that must fire: the source goes away -------------------------------------
# The rules are not just silent: with the source down, TabletAgentSourceDown
# goes pending at once (its for: 2m would page after that).
sandbox stop source >/dev/null
pending_source() {
    curl -sS --fail --max-time 5 "$PROM/api/v1/alerts" |
        jq -e '.data.alerts[] | select(.labels.alertname == "TabletAgentSourceDown" and .state == "pending")' >/dev/null
}
wait_for 20 "TabletAgentSourceDown pending with the source stopped" pending_source
sandbox start source >/dev/null
expect 20 'tablet_agent_source_up' 1 "source_up once the source is back"
pass "with the source stopped, TabletAgentSourceDown goes pending; source_up back to 1 after"

cpctl reverse prom >/dev/null 2>&1 || true
cpctl detach prom >/dev/null 2>&1 || true
