#!/usr/bin/env bash
# The data router under what goes wrong, with fixed VALIDATE rules (reads
# on the destination, writes on the source) and real clients: wrong
# passwords and unknown accounts get error 1045 as from a server; malformed
# and oversized packets end only that connection; a stopped destination
# gives a read a clear error naming it while writes go on, and is used
# again once back; a client that leaves mid-query does not leave its query
# running; KILL QUERY of a router connection id stops its statement; the
# accounts file is re-read when it changes (a bad edit keeps the old one);
# TLS for clients; LOAD DATA LOCAL INFILE; 1,000 concurrent connections
# and the router's memory for them.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

DB=rt_faults
U=router_app
P=router-app-password
max_conn_before=$(sql_source -e "SELECT @@global.max_connections")
max_conn_dest_before=$(sql_dest -e "SELECT @@global.max_connections")

forget_paris() { sandbox sql "$1" -e "SET sql_log_bin = 0; DELETE FROM mysql.time_zone_name WHERE name = 'Europe/Paris'"; }
cleanup() {
    stop_router
    sandbox start dest >/dev/null 2>&1 || true
    sql_source -e "SET GLOBAL max_connections = $max_conn_before" 2>/dev/null || true
    forget_paris source 2>/dev/null || true
    sql_dest -e "SET GLOBAL max_connections = $max_conn_dest_before" 2>/dev/null || true
    for n in source dest; do
        sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; DROP USER IF EXISTS '$U'@'127.0.0.1';
            DROP USER IF EXISTS 'second'@'127.0.0.1'" 2>/dev/null || true
    done
}
trap cleanup EXIT

for n in source dest; do
    sandbox sql $n -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB;
        CREATE TABLE $DB.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), sid INT)"
done
router_account "$U" "$P" "$DB" >"$WORK/accounts"
echo "ghost *F142931D9296BB66D4600D47418DBC1475D27D29" >>"$WORK/accounts" # on no server
start_router --mode=validate --source="127.0.0.1:$SOURCE_PORT" --destination="127.0.0.1:$DEST_PORT" \
    --accounts-file="$WORK/accounts" --max-packet=$((32 * 1024 * 1024))
src_sid=$(sql_source -e "SELECT @@server_id")
dst_sid=$(sql_dest -e "SELECT @@server_id")
assert_eq "$(via_router $U $P -e "SELECT @@server_id")" "$dst_sid" "a read through the router"

# ---- logins ---------------------------------------------------------------------
out=$(via_router $U wrong-password -e "SELECT 1" 2>&1) && fail "a wrong password logged in"
assert_contains "$out" "ERROR 1045 (28000): Access denied for user '$U'@'127.0.0.1' (using password: YES)" "wrong password"
out=$(mariadb -h127.0.0.1 -P"$ROUTER_PORT" -unobody -N -e "SELECT 1" 2>&1) && fail "an unknown account logged in"
assert_contains "$out" "ERROR 1045 (28000): Access denied for user 'nobody'@'127.0.0.1' (using password: NO)" "unknown account"
out=$(via_router ghost app-password -e "SELECT 1" 2>&1) && fail "an account the servers do not know logged in"
assert_contains "$out" "ERROR 1045" "an account only in the accounts file"
out=$(via_router $U $P -D no_such_db -e "SELECT 1" 2>&1) && fail "an unknown schema at connect worked"
direct=$(mariadb -h127.0.0.1 -P"$SOURCE_PORT" -u$U -p$P -D no_such_db -e "SELECT 1" 2>&1) || true
assert_eq "$out" "$direct" "an unknown schema at connect, through the router and directly"
pass "logins: wrong password, unknown account, an account the servers refuse, an unknown schema: the errors a server gives"

# ---- accounts file re-read ---------------------------------------------------------
second=$(router_account second second-pw "$DB")
out=$(via_router second second-pw -e "SELECT 1" 2>&1) && fail "an account not yet in the file logged in"
cp "$WORK/accounts" "$WORK/accounts.new"
echo "$second" >>"$WORK/accounts.new"
mv "$WORK/accounts.new" "$WORK/accounts"
wait_for 5 "the added account logs in" via_router second second-pw -e "SELECT 1"
cp "$WORK/accounts" "$WORK/accounts.good"
echo "broken line" >>"$WORK/accounts"
wait_for 5 "the router says the file is unusable" grep -q "cannot be used" "$ROUTER_LOG"
assert_eq "$(via_router second second-pw -e "SELECT 1")" "1" "an account after a bad edit"
cp "$WORK/accounts.good" "$WORK/accounts"
assert_not_contains "$(cat "$ROUTER_LOG")" "F142931D" "the router's log"
pass "accounts file: an added account logs in within seconds; a bad edit keeps the accounts loaded before"

# ---- malformed packets ------------------------------------------------------------
$PY "$REPO/tests/router/probe_client.py" malformed 127.0.0.1 "$ROUTER_PORT" $U $P >"$WORK/malformed.out" ||
    fail "the malformed-packet client failed: $(cat "$WORK/malformed.out")"
assert_contains "$(cat "$WORK/malformed.out")" "garbage_login code 1043 closed yes" "a garbage login"
assert_contains "$(cat "$WORK/malformed.out")" "out_of_order code 1156 closed yes" "a command out of sequence"
grep -qE "oversized code (1153|None) closed yes" "$WORK/malformed.out" || fail "an oversized packet: $(cat "$WORK/malformed.out")"
assert_contains "$(cat "$WORK/malformed.out")" "sha2_client switched_to mysql_native_password result ok" \
    "a client asking for caching_sha2_password"
kill -0 "$ROUTER_PID" || fail "the router died of malformed packets"
assert_eq "$(via_router $U $P -e "SELECT 'still here'")" "still here" "a client after the malformed ones"
pass "malformed packets: 1043, 1156, an oversized packet refused from its headers; each closes only its connection"
pass "a client naming caching_sha2_password (MySQL 8's default) is switched to mysql_native_password and logs in"

# ---- a setting the read side refuses -------------------------------------------------
# The source knows the time zone Europe/Paris, the destination does not:
# the SET runs on the source, its replay on the destination fails, and the
# session reads from the source from then on rather than read wrongly.
forget_paris source
forget_paris dest
mariadb-tzinfo-to-sql /usr/share/zoneinfo/Europe/Paris Europe/Paris 2>/dev/null |
    sandbox sql source --init-command="SET sql_log_bin = 0" mysql
c=$(via_router $U $P -e "SET time_zone = 'Europe/Paris'; SELECT @@time_zone, @@server_id" | tr '\t' ' ')
assert_eq "$c" "Europe/Paris $src_sid" "a read after a setting the destination refuses"
assert_contains "$(cat "$ROUTER_LOG")" "the read side refused a setting" "the router's log"
pass "a SET the destination refuses (an unknown time zone there): the session reads from the source, right"

# ---- a stopped destination ---------------------------------------------------------
sandbox stop dest >/dev/null
out=$(via_router $U $P -e "SELECT @@server_id" 2>&1) && fail "a read with the destination stopped succeeded"
assert_contains "$out" "ERROR 1429 (08S01)" "a read with the destination down"
assert_contains "$out" "destination (127.0.0.1:$DEST_PORT)" "the error names the side"
via_router $U $P -e "INSERT INTO $DB.t (v, sid) VALUES ('while dest down', @@server_id)" ||
    fail "a write failed while only the destination was down"
sandbox start dest >/dev/null
wait_for 20 "reads work again" via_router $U $P -e "SELECT 1"
assert_eq "$(via_router $U $P -e "SELECT @@server_id")" "$dst_sid" "a read after the destination came back"
kill -0 "$ROUTER_PID" || fail "the router died while the destination was down"
pass "destination stopped: reads get ERROR 1429 naming it (\"${out##*: }\"), writes go on; back in use once it is up"

# ---- a client that leaves mid-query -----------------------------------------------
mariadb -h127.0.0.1 -P"$ROUTER_PORT" -u$U -p$P -e "SELECT SLEEP(60), 'left-behind'" >/dev/null 2>&1 &
cli=$! # the client itself, not a subshell around it
running() { sql_dest -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%left-behind%' AND info NOT LIKE '%processlist%'"; }
wait_for 10 "the query runs on the destination" test "$(running)" = 1
kill -9 $cli
wait $cli 2>/dev/null || true
wait_for 5 "the query is gone from the destination" test "$(running)" = 0
pass "a client killed mid-query: its statement is killed on the server within seconds"

# ---- KILL QUERY of a router connection ----------------------------------------------
$PY "$REPO/tests/router/probe_client.py" kill_query 127.0.0.1 "$ROUTER_PORT" $U $P >"$WORK/kill.out" ||
    fail "the KILL QUERY client failed: $(cat "$WORK/kill.out")"
secs=$(awk '/kill_query_seconds/ {print $2}' "$WORK/kill.out")
awk -v s="$secs" 'BEGIN { exit !(s < 5) }' || fail "KILL QUERY <router id> did not stop SLEEP(20): it ran ${secs}s"
pass "KILL QUERY with the id from the handshake: SLEEP(20) stopped after ${secs}s"

# ---- LOAD DATA LOCAL INFILE ---------------------------------------------------------
seq 1 5000 | sed 's/$/,from-file/' >"$WORK/rows.csv"
via_router $U $P --local-infile=1 -e "LOAD DATA LOCAL INFILE '$WORK/rows.csv' INTO TABLE $DB.t FIELDS TERMINATED BY ',' (sid, v)"
assert_eq "$(sql_source -e "SELECT COUNT(*) FROM $DB.t WHERE v = 'from-file'")" "5000" "rows loaded on the source"
pass "LOAD DATA LOCAL INFILE: 5000 rows streamed to the write side"

# ---- TLS ------------------------------------------------------------------------
stop_router
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 1 \
    -subj "/CN=localhost" >/dev/null 2>&1
start_router --mode=validate --source="127.0.0.1:$SOURCE_PORT" --destination="127.0.0.1:$DEST_PORT" \
    --accounts-file="$WORK/accounts" --tls-cert="$WORK/cert.pem" --tls-key="$WORK/key.pem" --require-tls=true
out=$(via_router $U $P --ssl -e "\\s" 2>&1) || fail "a TLS client failed: $out"
assert_contains "$out" "Cipher in use is" "the client's view of its connection"
out=$(via_router $U $P --skip-ssl -e "SELECT 1" 2>&1) && fail "a plaintext client got in with require-tls"
assert_contains "$out" "requires TLS" "a plaintext client"
pass "TLS: a client with --ssl gets a cipher; with require-tls a plaintext client is refused"
stop_router

# ---- 1,000 connections ---------------------------------------------------------------
start_router --mode=validate --source="127.0.0.1:$SOURCE_PORT" --destination="127.0.0.1:$DEST_PORT" \
    --accounts-file="$WORK/accounts"
# Each client holds a connection to each server once it has read and written.
sql_source -e "SET GLOBAL max_connections = 1500"
sql_dest -e "SET GLOBAL max_connections = 1500"
rss() { awk '/VmRSS/ {print $2}' "/proc/$ROUTER_PID/status"; }
before=$(rss)
rm -f "$WORK/hold" "$WORK/many.out" # a stale "ready" must not count
$PY "$REPO/tests/router/probe_client.py" many 127.0.0.1 "$ROUTER_PORT" $U $P 1000 "$WORK/hold" >"$WORK/many.out" 2>&1 &
many=$!
ready_or_gone() { grep -q "ready 1000" "$WORK/many.out" || ! kill -0 $many; }
wait_for 120 "1000 connections ran a statement" ready_or_gone
grep -q "ready 1000" "$WORK/many.out" || fail "the 1000-connection client failed: $(tail -3 "$WORK/many.out")"
held=$(rss)
open=$(ls "/proc/$ROUTER_PID/fd" | wc -l)
touch "$WORK/hold"
wait $many || fail "the 1000-connection client failed: $(tail -3 "$WORK/many.out")"
assert_contains "$(cat "$WORK/many.out")" "closed 1000" "every connection worked again after being held"
per=$(( (held - before) / 1000 ))
[ "$per" -lt 64 ] || fail "1000 connections cost ${per} kB each in the router"
pass "1000 concurrent connections (each with its server connection, $open descriptors): router RSS ${before} kB -> ${held} kB, ${per} kB per connection"
