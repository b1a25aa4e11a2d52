#!/usr/bin/env bash
# mTLS on the main port: a client with a certificate from the trusted CA
# gets through; no certificate, or one from another CA, is refused. The
# plaintext health-only port keeps answering kubelet-style probes.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

pki=$WORK/pki
rm -rf "$pki" && mkdir -p "$pki"
mkcert() { # name CN CA-prefix extfile
    openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -subj "/CN=$2" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.crt" -CAkey "$pki/$3.key" -CAcreateserial \
        -days 2 -out "$pki/$1.crt" ${4:+-extfile "$4"} 2>/dev/null
}
for ca in ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/$ca.key" -subj "/CN=$ca" -days 2 \
        -out "$pki/$ca.crt" 2>/dev/null
done
echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$pki/san.ext"
mkcert server 127.0.0.1 ca "$pki/san.ext"
mkcert client orchestrator ca
mkcert intruder intruder other-ca

start_tls_agent() {
    mkdir -p "$WORK/state"
    "$BUILD/tablet-agent" --listen="$AGENT_ADDR" --source-port="$SOURCE_PORT" --source-user=agent \
        --source-password-file="$PASSWORD_FILE" --state-dir="$WORK/state" --probe-interval-ms=500 \
        --health-listen=127.0.0.1:$HEALTH_PORT --tls-cert="$pki/server.crt" --tls-key="$pki/server.key" \
        --tls-client-ca="$pki/ca.crt" >>"$AGENT_LOG" 2>&1 &
    AGENT_PID=$!
}
start_tls_agent
tls_ok() { "$BUILD/cpctl" --agent "$AGENT_ADDR" --tls-ca "$pki/ca.crt" --tls-cert "$pki/client.crt" \
    --tls-key "$pki/client.key" --timeout-ms 2000 status; }
wait_for 10 "mTLS status" tls_ok
assert_contains "$(tls_ok)" "SERVING" "status over mTLS"
pass "client with a certificate from the trusted CA is served"

out=$("$BUILD/cpctl" --agent "$AGENT_ADDR" --tls-ca "$pki/ca.crt" --timeout-ms 2000 status 2>&1) &&
    fail "a client without a certificate was served"
pass "client without a certificate refused: ${out:0:120}"

out=$("$BUILD/cpctl" --agent "$AGENT_ADDR" --tls-ca "$pki/ca.crt" --tls-cert "$pki/intruder.crt" \
    --tls-key "$pki/intruder.key" --timeout-ms 2000 status 2>&1) && fail "a certificate from another CA was served"
pass "client with a certificate from another CA refused"

out=$("$BUILD/cpctl" --agent "$AGENT_ADDR" --timeout-ms 2000 status 2>&1) && fail "plaintext served on the mTLS port"
pass "plaintext client refused on the mTLS port"

"$BUILD/cpctl" --agent 127.0.0.1:$HEALTH_PORT health >/dev/null || fail "plaintext health port not serving"
pass "plaintext health-only port answers without a certificate"
