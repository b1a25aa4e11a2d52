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
cpctl preflight "${dest[@]}" --dest-password-file "$SECRETS/dest.pass" >/dev/null ||
    fail "a password file in the configured directory was refused"
cpctl preflight "${dest[@]}" --dest-password-env TABLET_AGENT_SECRET_DEST >/dev/null ||
    fail "an environment variable with the prefix was refused"
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
