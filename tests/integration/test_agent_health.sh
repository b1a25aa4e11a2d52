#!/usr/bin/env bash
# The agent reports the source's real state, follows it when it moves, goes
# NOT_SERVING when the source dies and recovers by itself; health endpoints
# agree; secrets never leak; SIGTERM stops it fast and cleanly.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

start_agent --health-listen=127.0.0.1:$HEALTH_PORT
wait_for 5 "SERVING" cpctl health

# The GTID the agent reports is the server's own.
gtid=$(status_json | jq -r .source.position.gtid)
assert_eq "$gtid" "$(source_gtid)" "reported GTID"
assert_eq "$(status_json | jq -r .source.flavor)" "MARIADB" "flavor"
assert_eq "$(status_json | jq -r .source.binlog_format)" "ROW" "binlog_format"
assert_eq "$(status_json | jq -r .source.server_id)" "1" "server_id"
assert_eq "$(status_json | jq -r .source.oldest_binlog_file)" \
    "$(sql_source -e 'SHOW BINARY LOGS' | head -1 | cut -f1)" "oldest binlog"
pass "status shows the source's real GTID $gtid"

# A write moves it, within two probe intervals.
sql_source -e "CREATE DATABASE IF NOT EXISTS health_t; CREATE TABLE IF NOT EXISTS health_t.t (id INT PRIMARY KEY);
               REPLACE INTO health_t.t VALUES (1)"
want=$(source_gtid)
[ "$want" != "$gtid" ] || fail "the write did not move the source GTID"
gtid_is() { [ "$(status_json | jq -r .source.position.gtid)" == "$1" ]; }
wait_for 2 "GTID $want in status" gtid_is "$want"
pass "GTID follows a write: $want"

# Watch streams an update per probe, with increasing sequence numbers.
timeout 2 "$BUILD/cpctl" --agent "$AGENT_ADDR" --json watch >"$WORK/watch.json" || true
n=$(wc -l <"$WORK/watch.json")
[ "$n" -ge 3 ] || fail "watch printed $n updates in 2 s at a 500 ms probe interval"
jq -s -e 'map(.sequence) | . == (sort) and (unique | length) == length' "$WORK/watch.json" >/dev/null ||
    fail "watch sequence numbers do not increase"
pass "watch streamed $n updates"

# Kill the source: NOT_SERVING with a reason within two probe intervals.
sandbox stop source
t0=$(date +%s%N)
not_serving() { [ "$(status_json | jq -r .state)" == "NOT_SERVING" ]; }
wait_for 3 "NOT_SERVING" not_serving
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -le 1000 ] || fail "NOT_SERVING took ${ms} ms (limit: two 500 ms probe intervals)"
err=$(status_json | jq -r .health_error)
assert_contains "$err" "unreachable" "health error"
assert_contains "$err" "retrying" "health error says what happens next"
"$BUILD/cpctl" --agent 127.0.0.1:$HEALTH_PORT health >/dev/null && fail "health port still SERVING"
cpctl health >/dev/null && fail "main port health still SERVING"
"$BUILD/cpctl" --agent 127.0.0.1:$HEALTH_PORT health liveness >/dev/null ||
    fail "liveness must stay SERVING while the source is down"
pass "source down -> NOT_SERVING in ${ms} ms: $err"

# Restart it: the agent recovers by itself.
sandbox start source
wait_for 5 "SERVING again" cpctl health
"$BUILD/cpctl" --agent 127.0.0.1:$HEALTH_PORT health >/dev/null || fail "health port not SERVING after recovery"
pass "recovered after the source came back"

# The health-only port serves nothing else.
out=$("$BUILD/cpctl" --agent 127.0.0.1:$HEALTH_PORT status 2>&1) && fail "status served on the health port"
assert_contains "$out" "UNIMPLEMENTED" "health port refuses the full API"
pass "health-only port serves only grpc.health.v1"

# The password appears nowhere: log, status, watch output.
pw=$(cat "$PASSWORD_FILE")
for f in "$AGENT_LOG" "$WORK/watch.json"; do
    grep -qF "$pw" "$f" && fail "password found in $f"
done
status_json | grep -qF "$pw" && fail "password found in GetStatus"
out=$("$BUILD/tablet-agent" --source-user=agent --source-password="$pw" 2>&1) && fail "flag password accepted"
assert_not_contains "$out" "$pw" "error for a password flag"
assert_contains "$out" "source-password-file" "error for a password flag names the alternative"
pass "password appears in no log line, response or error"

# A refused login is reported as such, with the password still hidden.
echo "wrong-$pw" >"$WORK/bad.pass"
"$BUILD/tablet-agent" --listen=127.0.0.1:$((AGENT_PORT + 5)) --source-port="$SOURCE_PORT" --source-user=agent \
    --source-password-file="$WORK/bad.pass" --probe-interval-ms=200 >"$WORK/bad.log" 2>&1 &
bad=$!
bad_reason() { "$BUILD/cpctl" --agent 127.0.0.1:$((AGENT_PORT + 5)) --json status | jq -r .health_error | grep -q "refused the login"; }
wait_for 5 "login refused reported" bad_reason
kill -TERM $bad; wait $bad || true
grep -qF "$pw" "$WORK/bad.log" && fail "password found in the log of a refused login"
pass "refused login reported without the password"

# Idle RSS, reported for the record (goal: under 16 MB).
rss=$(status_json | jq -r .rss_bytes)
note "idle agent RSS: $((rss / 1024)) KiB"

# SIGTERM: clean exit in under 2 s.
t0=$(date +%s%N)
kill -TERM "$AGENT_PID"
rc=0; wait "$AGENT_PID" || rc=$?
AGENT_PID=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "$rc" "0" "exit code after SIGTERM"
[ "$ms" -lt 2000 ] || fail "shutdown took ${ms} ms"
pass "SIGTERM: clean exit in ${ms} ms"
