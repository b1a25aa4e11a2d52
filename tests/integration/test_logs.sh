#!/usr/bin/env bash
# Logs for a log pipeline, and the source password rotated under a running
# agent.
# JSON: an agent (log-format = json from its config file) and a router
# (TABLET_ROUTER_LOG_FORMAT=json) through a real import, statements through
# the router, a switch and a VDiff: every line of both logs is one JSON
# object with ts (RFC 3339, milliseconds, UTC), level, component and msg;
# workflow, stream and table lines carry those as fields, a table name
# with a quote, a backslash and an accent read back exactly.
# Rotation: an agent whose source account is `rot`, its password in a
# file. The password changes on the source and rot's sessions end: the
# next probe and a preflight fail (the file still holds the old one). The
# file changes (written aside and renamed, as a Kubernetes Secret volume
# does): the next probe and a preflight connect again, with no restart. This run logs in text (the environment
# overriding the file's json), so the last check, that no password used
# here appears in any log line, covers both formats.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
ODD=$'q"u\\o\'te-\xc3\xa9'
RU=lg_app
RP=lg-app-password-77
OLD_PW=rot-old-password-4711
NEW_PW=rot-new-password-0815

cleanup() {
    stop_router
    stop_control_plane
    stop_agent
    unfence
    sandbox sql source -e "DROP USER IF EXISTS 'rot'@'127.0.0.1'" 2>/dev/null || true
}
trap cleanup EXIT

wf_field() { cpctl --json workflow status lg | jq -r "$1"; }
wf_state_is() { [ "$(wf_field .state)" == "$1" ]; }
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
# json_lines FILE: every line is a JSON object with the required fields;
# prints the lines that are not and fails.
json_lines() {
    local bad
    [ -s "$1" ] || fail "$1 is empty"
    bad=$(jq -R -r --arg re "$TS_RE" '. as $l | (try fromjson catch null) as $o |
        if ($o | type) == "object" and ($o.ts | type) == "string" and ($o.ts | test($re))
           and (["debug", "info", "warn", "error"] | index($o.level)) != null
           and ($o.component | type) == "string" and ($o.msg | type) == "string"
        then empty else $l end' "$1")
    [ -z "$bad" ] || fail "lines of $(basename "$1") that are not JSON objects with ts, level, component, msg: $(head -3 <<<"$bad")"
}
# has_line FILE JQ-CONDITION WHAT
has_line() { jq -e -s "map(select($2)) | length > 0" "$1" >/dev/null || fail "$(basename "$1"): no line with $3"; }

# ---- setup ---------------------------------------------------------------------
rm -rf "$WORK/state" "$WORK/state-rot" "$WORK"/*.log
unfence
for s in source dest; do
    sandbox sql $s -e "DROP DATABASE IF EXISTS lg; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE lg;
    CREATE TABLE lg.items (id INT PRIMARY KEY, v VARCHAR(40));
    INSERT INTO lg.items SELECT seq, CONCAT('item-', seq) FROM lg.seq_1_to_3000;
    CREATE TABLE lg.\`$ODD\` (id INT PRIMARY KEY);
    INSERT INTO lg.\`$ODD\` SELECT seq FROM lg.seq_1_to_5"

# ---- the setting -------------------------------------------------------------------
out=$("$BUILD/tablet-agent" --log-format=xml --source-user=x 2>&1) && fail "--log-format=xml was accepted"
assert_contains "$out" "log-format must be text or json" "a bad log format"
out=$(TABLET_ROUTER_LOG_FORMAT=yaml "$BUILD/tablet-router" --accounts-file=/nonexistent 2>&1) && fail "the router took yaml"
assert_contains "$out" "log-format must be text or json" "the router's bad log format"
pass "a log format other than text or json is refused by both programs, naming the setting"

# ---- JSON: import, router, switch, VDiff ------------------------------------------------
printf 'log-format = json\n' >"$WORK/agent.conf"
AGENT_LOG=$WORK/agent-json.log
start_control_plane
start_agent --config="$WORK/agent.conf"
cpctl import lg $dest --tables 'lg.*' --no-wait >/dev/null
wait_for 60 "the import replicates" wf_state_is WORKFLOW_REPLICATING
router_account "$RU" "$RP" lg >"$WORK/accounts"
cpctl validate lg >/dev/null
ROUTER_LOG=$WORK/router-json.log
TABLET_ROUTER_LOG_FORMAT=json start_router --control-plane="$CPCTL_CONTROL_PLANE" --workflow=lg \
    --accounts-file="$WORK/accounts" --router-id=rl
wait_for 10 "the router applies the rules" router_on_rules lg rl
via_router "$RU" "$RP" lg -e "SELECT COUNT(*) FROM items; INSERT INTO items VALUES (900001, 'r')" >/dev/null ||
    fail "statements through the router failed"
via_router "$RU" "not-$RP" lg -e "SELECT 1" >/dev/null 2>&1 && fail "a wrong password got through the router"
cpctl switch lg >/dev/null
cpctl vdiff lg >"$WORK/vdiff.out" || fail "vdiff failed: $(tail -3 "$WORK/vdiff.out")"
cpctl detach lg >/dev/null
stop_router
stop_control_plane
stop_agent
json_lines "$AGENT_LOG"
json_lines "$ROUTER_LOG"
has_line "$AGENT_LOG" '.component == "workflow" and .workflow == "lg" and .msg == "REPLICATING"' \
    "the workflow's phase and the workflow as a field"
has_line "$AGENT_LOG" '.component == "stream" and .stream == "lg" and .msg == "RUNNING"' "the stream as a field"
has_line "$AGENT_LOG" '.workflow == "lg" and .table == "lg.items" and (.msg | startswith("`lg`.`items` copied"))' \
    "a table's copy with the table as a field"
jq -e -s --arg t "lg.$ODD" 'map(select(.table == $t)) | length > 0' "$AGENT_LOG" >/dev/null ||
    fail "no line names the table lg.$ODD exactly (its name with a quote, a backslash and an accent)"
has_line "$AGENT_LOG" '.component == "cutover" and .workflow == "lg" and (.msg | test("^switch done in [0-9]+ ms"))' \
    "the switch"
has_line "$AGENT_LOG" '.component == "vdiff" and .workflow == "lg"' "the VDiff"
has_line "$ROUTER_LOG" '.component != null and .level == "info"' "the router's lines"
pass "JSON: $(wc -l <"$AGENT_LOG") agent and $(wc -l <"$ROUTER_LOG") router lines, each an object with ts, level, component, msg; workflow, stream and table as fields"

# ---- rotation: a new source password, picked up at the next connection -----------------
grants=$("$BUILD/tablet-agent" --print-grants --source-user=x | awk '/^-- on the destination/ { exit } !/^--/' |
    tr '\n' ' ' | sed "s/'tablet_agent'@'%'/'rot'@'127.0.0.1'/g")
sql_source -e "DROP USER IF EXISTS 'rot'@'127.0.0.1'; CREATE USER 'rot'@'127.0.0.1' IDENTIFIED BY '$OLD_PW'; $grants"
printf '%s\n' "$OLD_PW" >"$WORK/rot.pass"
AGENT_LOG=$WORK/agent-text.log
serving() { [ "$(cpctl health 2>/dev/null)" == SERVING ]; }
not_serving() { ! serving; }
TABLET_AGENT_LOG_FORMAT=text start_agent --config="$WORK/agent.conf" --source-user=rot \
    --source-password-file="$WORK/rot.pass" --state-dir="$WORK/state-rot"
wait_for 10 "the agent serves with rot's first password" serving
head -1 "$AGENT_LOG" | jq -e . >/dev/null 2>&1 && fail "the environment's text did not override the file's json"
# The server keeps sessions open across a password change; the monitor's
# probe reuses its session while it answers. Ending rot's sessions makes
# the next probe connect again, as a source restart or a network cut would.
kill_rot() {
    local id
    for id in $(sql_source -e "SELECT id FROM information_schema.processlist WHERE user = 'rot'"); do
        sql_source -e "KILL $id" 2>/dev/null || true
    done
}
sql_source -e "ALTER USER 'rot'@'127.0.0.1' IDENTIFIED BY '$NEW_PW'"
kill_rot
wait_for 10 "the next probe fails with the old password" not_serving
cpctl preflight >"$WORK/preflight-old.out" 2>&1 && fail "a preflight passed with the old password in the file"
grep -q "Access denied for user 'rot'" "$WORK/preflight-old.out" ||
    fail "the preflight with the old password did not say access denied: $(head -3 "$WORK/preflight-old.out")"
printf '%s\n' "$NEW_PW" >"$WORK/rot.pass.new"
mv "$WORK/rot.pass.new" "$WORK/rot.pass"
t0=$(now)
wait_for 30 "the next probe connects with the new password" serving
took=$(elapsed "$t0")
cpctl preflight >"$WORK/preflight.out" 2>&1 || true
grep -qi "access denied\|cannot connect" "$WORK/preflight.out" && fail "preflight could not connect: $(head -3 "$WORK/preflight.out")"
grep -q "Access denied for user 'rot'" "$AGENT_LOG" || fail "the failed probe with the old password is not in the log"
stop_agent
pass "rotation: the old password fails once the account changes; the new file is used by the next probe (${took}s) and a preflight, without a restart"

# ---- no password in any log line, either format ------------------------------------------
logs=("$WORK/agent-json.log" "$WORK/router-json.log" "$WORK/agent-text.log" "$WORK/control-plane.log")
for secret in "$(cat "$PASSWORD_FILE")" "$RP" "not-$RP" "$OLD_PW" "$NEW_PW" "$APP_PASSWORD"; do
    [ -n "$secret" ] || continue
    if grep -lF -- "$secret" "${logs[@]}"; then fail "a password appears in a log line"; fi
done
pass "no password (the agent's, rot's old and new, the router account's, a wrong one) in any log line of either format"

sandbox sql dest -e "DROP DATABASE IF EXISTS lg" || true
