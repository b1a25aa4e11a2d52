#!/usr/bin/env bash
# The agent tried as a careless operator and as an attacker would try it:
# requests that name the agent's own files and environment, a hostile
# server that asks for the password in the clear, a destination that is
# the source itself, a stream that takes a workflow's name, detach on the
# wrong side, bad values. Each case is one that once got through.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

FAKE_PID=
cleanup() {
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
    stop_agent
}
trap cleanup EXIT

for n in source dest; do
    sandbox sql $n -e "DROP DATABASE IF EXISTS safety; DROP DATABASE IF EXISTS _tablet_agent"
done
rm -rf "$WORK/state"
SECRETS=$WORK/secrets
FAKE_PORT=$((AGENT_PORT + 20))
rm -rf "$SECRETS" "$WORK/outside"
mkdir -p "$SECRETS" "$WORK/outside"
DECOY=decoy-$RANDOM-password
printf '%s\n' "$DECOY" >"$SECRETS/fake.pass"
printf '%s\n' "$DECOY" >"$WORK/outside/agent-own.pass"
ln -sf "$WORK/outside/agent-own.pass" "$SECRETS/link.pass"
cp "$PASSWORD_FILE" "$SECRETS/dest.pass"
export TABLET_AGENT_SECRET_DEST=$(cat "$PASSWORD_FILE") NOT_FOR_REQUESTS=$DECOY
start_agent --endpoint-password-dirs="$SECRETS"
dest=(--dest-host 127.0.0.1 --dest-port "$DEST_PORT" --dest-user agent)

# ---- passwords a request may name ---------------------------------------------
out=$(cpctl preflight "${dest[@]}" --dest-password-file "$WORK/outside/agent-own.pass" 2>&1) &&
    fail "a password file outside the configured directories was accepted"
assert_contains "$out" "INVALID_ARGUMENT" "password file outside"
assert_contains "$out" "endpoint-password-dirs" "the error names the setting"
out=$(cpctl preflight "${dest[@]}" --dest-password-file "$SECRETS/../outside/agent-own.pass" 2>&1) &&
    fail "a password file reached through .. was accepted"
out=$(cpctl preflight "${dest[@]}" --dest-password-file "$SECRETS/link.pass" 2>&1) &&
    fail "a symbolic link out of the password directory was accepted"
assert_contains "$out" "symbolic link" "link out of the directory"
out=$(cpctl preflight "${dest[@]}" --dest-password-env NOT_FOR_REQUESTS 2>&1) &&
    fail "an environment variable without the prefix was accepted"
assert_contains "$out" "TABLET_AGENT_SECRET_" "the error names the prefix"
logged_in() { # preflight args...: the destination login worked
    cpctl --json preflight "$@" >"$WORK/pf.json" 2>&1 || true
    [ "$(jq -r '.checks[] | select(.id == "destination.connection") | .severity' "$WORK/pf.json")" == PASS ]
}
logged_in "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" ||
    fail "a password file in the configured directory was refused: $(cat "$WORK/pf.json")"
logged_in "${dest[@]}" --dest-password-env TABLET_AGENT_SECRET_DEST ||
    fail "an environment variable with the prefix was refused: $(cat "$WORK/pf.json")"
pass "password_file only below --endpoint-password-dirs (no .., no link out), password_env only with the prefix"

# ---- a hostile server never gets the password --------------------------------------
for mode in clear switch-clear switch-sha256; do
    : >"$WORK/capture.bin"
    python3 "$REPO/tests/tools/fake_mysql.py" "$FAKE_PORT" "$WORK/capture.bin" "$mode" &
    FAKE_PID=$!
    wait_for 5 "the fake server listens" bash -c "echo >/dev/tcp/127.0.0.1/$FAKE_PORT"
    : >"$WORK/capture.bin"
    out=$(cpctl preflight --dest-host 127.0.0.1 --dest-port "$FAKE_PORT" --dest-user agent \
        --dest-password-file "$SECRETS/fake.pass" 2>&1) || true
    kill "$FAKE_PID"
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=
    [ -s "$WORK/capture.bin" ] || fail "$mode: the agent never reached the fake server"
    grep -qaF "$DECOY" "$WORK/capture.bin" && fail "$mode: the password was sent to a server that asked for it"
    assert_contains "$out" "TLS" "$mode: the refusal says why"
done
pass "a server asking for mysql_clear_password (at once or by auth switch) or sha256_password gets nothing"

# ---- a destination that is the source itself ----------------------------------------
sql_source -e "CREATE DATABASE safety; CREATE TABLE safety.t (id INT PRIMARY KEY, v INT);
    INSERT INTO safety.t VALUES (1, 1), (2, 2)"
self=(--dest-host 127.0.0.1 --dest-port "$SOURCE_PORT" --dest-user agent --dest-password-file "$SECRETS/dest.pass")
alias=(--dest-socket "$SANDBOX_DIR/source/mariadbd.sock" --dest-user agent --dest-password-file "$SECRETS/dest.pass")
RC=0
cpctl --json preflight "${self[@]}" --tables 'safety.*' >"$WORK/pf.json" || RC=$?
assert_eq "$RC" 1 "preflight exit code with the source as destination"
assert_eq "$(jq -r '.checks[] | select(.id == "destination.distinct") | .severity' "$WORK/pf.json")" FAIL \
    "destination.distinct"
assert_contains "$(jq -r '.checks[] | select(.id == "destination.distinct") | .message' "$WORK/pf.json")" \
    "source server itself" "destination.distinct says why"
for d in self alias; do
    declare -n ep=$d
    out=$(cpctl import selfie "${ep[@]}" --tables 'safety.*' 2>&1) && fail "an import into the source itself ($d) was created"
    assert_contains "$out" "FAILED_PRECONDITION" "import into the source ($d)"
    assert_contains "$out" "destination.distinct" "the refusal names the check ($d)"
done
out=$(cpctl import selfie "${self[@]}" --tables 'safety.*' --override destination.distinct 2>&1) &&
    fail "destination.distinct was overridden"
assert_contains "$out" "cannot be overridden" "destination.distinct is not overridable"
[ "$(cpctl --json workflow list | jq '.workflows | length')" == 0 ] || fail "a refused import left a workflow"
out=$(cpctl stream start selfie --target-host 127.0.0.1 --target-port "$SOURCE_PORT" --target-user agent \
    --target-password-file "$SECRETS/dest.pass" --gtid "$(source_gtid)" --tables 'safety.*' 2>&1) &&
    fail "a stream from the source into itself was started"
assert_contains "$out" "FAILED_PRECONDITION" "stream into the source"
assert_contains "$out" "source server itself" "the stream refusal says why"
before=$(source_gtid)
sleep 0.5
assert_eq "$(source_gtid)" "$before" "the source wrote nothing meanwhile"
pass "the source as destination (same port, or its socket): preflight FAIL, CreateImport and StartStream refused"

# ---- blocking preflight failures stop CreateImport, unless overridden by name -----------
sql_source -e "CREATE TABLE safety.legacy (id INT PRIMARY KEY, v INT) ENGINE=MyISAM; INSERT INTO safety.legacy VALUES (1, 1)"
out=$(cpctl import myisam "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" --tables 'safety.*' --no-wait 2>&1) &&
    fail "an import of a MyISAM table was created without a word"
assert_contains "$out" "FAILED_PRECONDITION" "MyISAM import"
assert_contains "$out" "schema.engine" "the refusal names the check"
sql_source -e "SET GLOBAL binlog_format = STATEMENT"
out=$(cpctl import stmt "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" --tables 'safety.t' --no-wait 2>&1) || true
sql_source -e "SET GLOBAL binlog_format = ROW"
assert_contains "$out" "source.binlog_format" "a STATEMENT source is refused, naming the check"
out=$(cpctl import safety_bad "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" --tables 'safety.*' --override no.such.check 2>&1) &&
    fail "an unknown override was accepted"
assert_contains "$out" "no preflight check is named" "unknown override"
cpctl import myisam "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" --tables 'safety.*' \
    --override schema.engine >/dev/null || fail "an overridden schema.engine still refused the import"
assert_eq "$(sql_dest -e "SELECT COUNT(*) FROM safety.legacy")" 1 "the overridden import copied the MyISAM table"
grep -q "created with preflight check schema.engine overridden" "$AGENT_LOG" || fail "the override is not logged"
pass "CreateImport refuses on FAIL checks (MyISAM, binlog_format STATEMENT), naming them; --override ID lets it through, logged"

# ---- names a workflow owns ------------------------------------------------------------
tgt=(--target-host 127.0.0.1 --target-port "$DEST_PORT" --target-user agent --target-password-file "$SECRETS/dest.pass")
for name in myisam myisam.reverse; do
    out=$(cpctl stream start "$name" "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' 2>&1) &&
        fail "StartStream took the workflow stream name $name"
    assert_contains "$out" "ALREADY_EXISTS" "StartStream $name"
done
cpctl stream start lone "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' >/dev/null
cpctl stream start other.reverse "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' >/dev/null
for name in lone other; do
    out=$(cpctl import "$name" "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" --tables 'safety.t' --no-wait 2>&1) &&
        fail "CreateImport took the stream name of $name"
    assert_contains "$out" "ALREADY_EXISTS" "CreateImport $name"
done
pass "a workflow's stream names (NAME, NAME.reverse) are reserved both ways: ALREADY_EXISTS"

# ---- replica ids ----------------------------------------------------------------------
for id in 1 2; do
    out=$(cpctl stream start ids "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' --server-id $id 2>&1) &&
        fail "StartStream with server_id $id (a server's own) was accepted"
    assert_contains "$out" "INVALID_ARGUMENT" "server_id $id"
done
cpctl stream start ids1 "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' --server-id 4000001 >/dev/null
out=$(cpctl stream start ids2 "${tgt[@]}" --gtid "$(source_gtid)" --tables 'nothing.*' --server-id 4000001 2>&1) &&
    fail "two streams with one server_id"
assert_contains "$out" "used by stream ids1" "a replica id another stream runs with"
for s in lone other.reverse ids1; do cpctl stream stop "$s" >/dev/null; done
pass "server_id equal to the source's or the target's own, or another stream's, is refused"

# ---- detach without the destination ------------------------------------------------------
cpctl import nowhere --dest-host 127.0.0.1 --dest-port "$FAKE_PORT" --dest-user agent \
    --dest-password-file "$SECRETS/dest.pass" --tables 'safety.t' --no-wait --override destination.connection >/dev/null
out=$(cpctl detach nowhere 2>&1) || fail "a workflow that never reached its destination could not be detached: $out"
assert_contains "$out" "nothing was ever written to the destination" "detach of a never-connected workflow"
wf_state() { cpctl --json workflow status "$1" | jq -r .state; }
replicating() { [ "$(wf_state myisam)" == WORKFLOW_REPLICATING ]; }
wait_for 20 "the myisam workflow replicates" replicating
sandbox stop dest
RC=0
out=$(cpctl detach myisam 2>&1) || RC=$?
sandbox start dest >/dev/null
[ $RC != 0 ] || fail "a workflow holding data on an unreachable destination was detached without force"
assert_contains "$out" "UNAVAILABLE" "detach with the destination down"
assert_contains "$out" "cannot reach the destination" "the message blames the destination"
assert_not_contains "$out" "unreachable; check that tablet-agent runs" "cpctl does not blame the agent, which answered"
assert_contains "$out" "force" "the message offers force"
sandbox stop dest
out=$(cpctl detach myisam --force 2>&1) || RC=$?
sandbox start dest >/dev/null
assert_contains "$out" "forced without the destination" "forced detach"
[ "$(cpctl --json workflow list | jq '.workflows | length')" == 0 ] || fail "a detached workflow is still listed"
pass "detach: without a destination that never got data; refused (UNAVAILABLE, naming it) when it holds data; --force detaches"
