#!/usr/bin/env bash
# TLS between the data router and the servers (backend-tls, like the MySQL
# client's ssl-mode). The source runs with a certificate signed by a CA of
# the test's own, naming 127.0.0.1, and with require_secure_transport=ON,
# as managed servers often do:
#   - preferred (the default): the router's connections are encrypted (the
#     server's own Ssl_cipher, read through the router, says so);
#   - off: the server refuses the plaintext login with the 1045 of a wrong
#     password, and the router adds that it did not use TLS;
#   - verify-identity with the right CA: works; verify-ca with another CA:
#     refused, saying the certificate did not verify;
#   - an account that REQUIRE X509: refused without a client certificate,
#     served with backend-tls-cert and backend-tls-key;
#   - a certificate naming another host: verify-ca accepts it,
#     verify-identity refuses it;
#   - required toward a server that offers no TLS (the destination): a
#     clear error naming it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

DB=rt_tls
U=router_tls
P=router-tls-password
T=$WORK/tls

cleanup() {
    stop_router
    sandbox restart source >/dev/null 2>&1 || true # without TLS, as the other tests expect
    for n in source dest; do
        sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP USER IF EXISTS '$U'@'127.0.0.1';
            DROP USER IF EXISTS 'router_x509'@'127.0.0.1'" 2>/dev/null || true
    done
}
trap cleanup EXIT

# ---- certificates: a CA, the source's certificate, one naming another host, another CA ----
mkdir -p "$T"
cert() { # NAME SUBJECT SAN: a key and a certificate signed by the test's CA
    openssl req -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "$2" >/dev/null 2>&1
    printf 'subjectAltName = %s\n' "$3" >"$T/$1.ext"
    openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/$1.ext" -out "$T/$1.pem" >/dev/null 2>&1
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=tablet test CA" >/dev/null 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other-ca.key" -out "$T/other-ca.pem" -days 2 \
    -subj "/CN=another CA" >/dev/null 2>&1
cert server "/CN=127.0.0.1" "IP:127.0.0.1, DNS:localhost"
cert wrong "/CN=db.example.com" "DNS:db.example.com"
cert client "/CN=tablet-router" "DNS:tablet-router"

for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
done
router_account "$U" "$P" "$DB" >"$WORK/accounts"
router_account router_x509 x509-password "$DB" >>"$WORK/accounts"
sql_source -e "SET sql_log_bin = 0; ALTER USER 'router_x509'@'127.0.0.1' REQUIRE X509"
sandbox restart source --ssl-cert="$T/server.pem" --ssl-key="$T/server.key" --ssl-ca="$T/ca.pem" \
    --require-secure-transport=ON >/dev/null

# router MODE [flags]: a router with fixed rules and the given backend-tls flags
router() {
    local mode=$1
    shift
    stop_router
    : >"$ROUTER_LOG"
    start_router --mode="$mode" --source="127.0.0.1:$SOURCE_PORT" --destination="127.0.0.1:$DEST_PORT" \
        --accounts-file="$WORK/accounts" "$@"
}
cipher() { via_router $U $P $DB -e "SHOW SESSION STATUS LIKE 'Ssl_cipher'" | awk '{ print $2 }'; }
# encrypted WHAT [flags]: a router on the source with these flags gets
# through, over TLS (the server's Ssl_cipher for the session, into $c).
encrypted() {
    local what=$1
    shift
    router source "$@"
    c=$(cipher) || fail "$what: $c"
    [ -n "$c" ] || fail "$what: the router's connection to the source is not encrypted"
}
# refused WHAT TEXT MODE [flags]: a router with these flags does not get
# through, and the client's error says TEXT (into $out).
refused() {
    local what=$1 text=$2 mode=$3
    shift 3
    router "$mode" "$@"
    out=$(via_router $U $P $DB -e "SELECT 1" 2>&1) && fail "$what: it got through: $out"
    assert_contains "$out" "$text" "$what"
}

# ---- preferred: encrypted where the server offers it ---------------------------------
encrypted "backend-tls=preferred toward a source requiring TLS"
via_router $U $P $DB -e "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)"
assert_eq "$(via_router $U $P $DB -e "SELECT COUNT(*) FROM t")" "1" "a write and a read over TLS"
pass "backend-tls=preferred (the default): the source requires secure transport, the router's connection uses $c"

# ---- off: the server refuses, the client is told -----------------------------------------
refused "backend-tls=off toward require_secure_transport=ON" "ERROR 1045" source --backend-tls=off
assert_contains "$out" "the router logged in without TLS, backend-tls=off" "backend-tls=off: the hint"
pass "backend-tls=off: the source's 1045 reaches the client with a hint at backend-tls"

# ---- verifying the certificate -------------------------------------------------------------
encrypted "verify-identity with the right CA" --backend-tls=verify-identity --backend-tls-ca="$T/ca.pem"
refused "verify-ca with another CA" "certificate verification failed" source \
    --backend-tls=verify-ca --backend-tls-ca="$T/other-ca.pem"
assert_contains "$out" "TLS to the source" "the error names the side"
pass "verify-identity with the CA that signed it: $c; verify-ca with another CA: refused ($(echo "$out" | grep -o 'certificate verification failed[^(]*' | head -1))"

# ---- a client certificate for accounts that require one ------------------------------------
router source
out=$(via_router router_x509 x509-password $DB -e "SELECT 1" 2>&1) && fail "REQUIRE X509 served without a client certificate: $out"
assert_contains "$out" "ERROR 1045" "REQUIRE X509 without a client certificate"
router source --backend-tls-cert="$T/client.pem" --backend-tls-key="$T/client.key"
assert_eq "$(via_router router_x509 x509-password $DB -e "SELECT COUNT(*) FROM t" 2>&1)" "1" "REQUIRE X509 with the router's client certificate"
pass "an account that REQUIRE X509: refused without a client certificate, served with backend-tls-cert and backend-tls-key"

sandbox restart source --ssl-cert="$T/wrong.pem" --ssl-key="$T/wrong.key" --require-secure-transport=ON >/dev/null
encrypted "verify-ca, a certificate naming another host" --backend-tls=verify-ca --backend-tls-ca="$T/ca.pem"
refused "verify-identity, a certificate for db.example.com at 127.0.0.1" "mismatch" source \
    --backend-tls=verify-identity --backend-tls-ca="$T/ca.pem"
pass "a certificate naming db.example.com: verify-ca accepts it, verify-identity refuses it ($(echo "$out" | grep -o 'certificate verification failed: [a-zA-Z ]*' | head -1))"

# ---- required toward a server without TLS --------------------------------------------------
refused "backend-tls=required toward the destination without TLS" "does not offer TLS" primary --backend-tls=required
assert_contains "$out" "destination" "the error names the side"
pass "backend-tls=required toward a server without TLS: refused, naming the destination"

! grep -q "$P" "$ROUTER_LOG" || fail "the account's password is in the router's log"
