#!/usr/bin/env bash
# Statement-format events in the binlog, and a binlog file the source does
# not have. A session with binlog_format=STATEMENT that writes outside the
# stream's tables (pt-table-checksum's REPLACE INTO percona.checksums ...
# SELECT ... FROM a carried table) must not stop the stream; one that writes
# a carried table stops it for good with a message that names the table,
# quotes the statement exactly (bounded, valid UTF-8) and gives its binlog
# position; a Resume reports the same. A stream started at a file the
# source never had is told so, with the range it has, not "purged".
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

tgt=$(endpoint_opts target "$DEST_PORT")
stmt_sql() { sql_source -e "SET SESSION binlog_format=STATEMENT; $1"; }

# ---- setup: st is carried, chk (the checksum tool's schema) is not ----------
sql_source -e "DROP DATABASE IF EXISTS st; DROP DATABASE IF EXISTS chk; CREATE DATABASE st; CREATE DATABASE chk;
    CREATE TABLE st.orders (id INT PRIMARY KEY, qty INT NOT NULL, note VARCHAR(40));
    CREATE TABLE st.blobs (id INT PRIMARY KEY, b BLOB);
    INSERT INTO st.orders VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three');
    CREATE TABLE chk.checksums (db CHAR(64) NOT NULL, tbl CHAR(64) NOT NULL, chunk INT NOT NULL,
        cnt INT, crc CHAR(40), PRIMARY KEY (db, tbl, chunk));
    CREATE TABLE chk.log (id INT AUTO_INCREMENT PRIMARY KEY, v DOUBLE);
    CREATE TABLE chk.plain (id INT PRIMARY KEY) ENGINE=MyISAM;
    CREATE TABLE chk.loaded (id INT PRIMARY KEY, s VARCHAR(20))"
copy_db_quiesced st
sql_dest -e "DROP DATABASE IF EXISTS _tablet_agent"
g0=$(source_gtid)
start_agent
cpctl stream start stmt $tgt --gtid "$g0" --tables 'st.*' >/dev/null
running() { [ "$(stream_field "$1" .state)" == STREAM_RUNNING ]; }
wait_for 10 "stream running" running stmt

# ---- statement-format writes outside the stream's tables are skipped ---------------
printf '1\tx\n2\ty\n' >"$WORK/rows.tsv"
stmt_sql "REPLACE INTO \`chk\`.\`checksums\` (db, tbl, chunk, cnt, crc)
        SELECT 'st', 'orders', 1, COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', id, qty, note))
        AS UNSIGNED)), 10, 16)), 0) FROM \`st\`.\`orders\` FORCE INDEX(\`PRIMARY\`) WHERE ((\`id\` >= 1)) /*checksum chunk*/;
    UPDATE chk.checksums SET cnt = cnt + 0 WHERE db = 'st' AND tbl = 'orders' AND chunk = 1;
    /* tool */ DELETE FROM \`chk\`.checksums WHERE tbl = 'none';
    USE chk; SET @v = 2.5; INSERT INTO log (v) VALUES (@v), (RAND(7)), (LAST_INSERT_ID());
    BEGIN; INSERT INTO chk.log (v) VALUES (1); UPDATE chk.log SET v = v * 2; COMMIT;
    INSERT INTO chk.plain VALUES (1);
    LOAD DATA INFILE '$WORK/rows.tsv' INTO TABLE chk.loaded"
[ "$(sql_source -e "SELECT cnt FROM chk.checksums WHERE tbl = 'orders'")" == 3 ] || fail "the checksum row was not written"
sql_source -e "INSERT INTO st.orders VALUES (4, 40, 'row format after')"
wait_stream_at stmt "$(source_gtid)"
assert_eq "$(stream_field stmt .state)" "STREAM_RUNNING" "state after statement-format writes to chk"
assert_eq "$(sql_dest -e "SELECT note FROM st.orders WHERE id = 4")" "row format after" "later row change applied"
checksums_equal st orders
pass "statement-format writes outside the stream's tables (REPLACE ... SELECT FROM st.orders, UPDATE, DELETE, INTVAR/RAND/USER_VAR, MyISAM, LOAD DATA) skipped; later row changes applied"

# ---- a statement-format write to a carried table stops the stream, for good --------
stmt="UPDATE st.orders SET qty = qty + 1 WHERE id = 1"
before=$(source_gtid)
stmt_sql "$stmt"
gtid=$(source_gtid)
read -r file < <(sql_source -e "SHOW MASTER STATUS" | cut -f1)
pos=$(sql_source -e "SHOW BINLOG EVENTS IN '$file'" | awk -F'\t' -v q="$stmt" '$6 == q { print $2 }' | tail -1)
[ -n "$pos" ] || fail "the statement is not in $file as a query event"
failed() { [ "$(stream_field "$1" .state)" == STREAM_ERROR ]; }
wait_for 15 "stream ERROR at the statement-format UPDATE" failed stmt
msg=$(stream_field stmt .error.message)
assert_eq "$(stream_field stmt .error.code)" "STATEMENT" "error code"
assert_contains "$msg" "\`st\`.\`orders\`" "the message names the table"
assert_contains "$msg" "\"$stmt\"" "the message quotes the statement exactly"
assert_contains "$msg" "$file:$pos" "the message gives the event's binlog position"
assert_contains "$msg" "GTID $gtid" "the message gives the transaction's GTID"
assert_contains "$msg" "binlog_format=ROW" "the message says what writers must use"
assert_contains "$msg" "copied again" "the message says the table needs a new copy"
assert_eq "$(stream_field stmt .applied.gtid)" "$before" "position stays before the statement"
pass "statement-format write to st.orders: $msg"

cpctl stream start stmt $tgt --gtid "$g0" --tables 'st.*' >/dev/null
wait_for 15 "resumed stream ERROR again" failed stmt
assert_eq "$(stream_field stmt .error.code)" "STATEMENT" "error code after resume"
assert_eq "$(stream_field stmt .error.message)" "$msg" "same message after resume"
grep -q "resuming from saved position" "$AGENT_LOG" || fail "the second start did not resume"
pass "resumed: the same event, the same clear error"

# ---- quoted statements are bounded, escaped and valid UTF-8 ---------------------------
cpctl stream stop stmt >/dev/null
from=$(source_gtid)
long=$(printf 'p%.0s' $(seq 1 300))
printf "SET SESSION binlog_format=STATEMENT; INSERT INTO st.blobs VALUES (2, '\xff\xfe\xc3 tail');
    INSERT INTO st.blobs VALUES (3, '%s')\n" "$long" |
    sandbox sql source --default-character-set=binary
cpctl stream start raw $tgt --gtid "$from" --tables 'st.*' --reset >/dev/null
wait_for 15 "stream ERROR at the statement with raw bytes" failed raw
stream_json raw >"$WORK/raw.json"
python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' <"$WORK/raw.json" ||
    fail "the status is not valid UTF-8: $(od -c "$WORK/raw.json" | head -20)"
msg=$(jq -r .error.message "$WORK/raw.json")
assert_contains "$msg" "\"INSERT INTO st.blobs VALUES (2, '\\xFF\\xFE\\xC3 tail')\"" "raw bytes escaped, statement exact"
assert_contains "$msg" "\`st\`.\`blobs\`" "the table"
pass "raw 0xFF bytes: $msg"

sql_source -e "DELETE FROM st.blobs WHERE id IN (2, 3)"
from=$(source_gtid)
sql_source --default-character-set=binary -e "SET SESSION binlog_format=STATEMENT; INSERT INTO st.blobs VALUES (3, '$long')"
cpctl stream start long $tgt --gtid "$from" --tables 'st.*' --reset >/dev/null
wait_for 15 "stream ERROR at the long statement" failed long
msg=$(stream_field long .error.message)
assert_contains "$msg" "\"INSERT INTO st.blobs VALUES (3, 'ppp" "long statement quoted from its start"
assert_contains "$msg" "ppp...\"" "long statement cut, and marked"
[ "${#msg}" -lt 900 ] || fail "message of ${#msg} bytes: the statement is not bounded"
pass "a 330-byte statement is cut to a bounded quote"

# ---- LOAD DATA into a carried table, and a statement under the default schema --------
from=$(source_gtid)
stmt_sql "LOAD DATA INFILE '$WORK/rows.tsv' INTO TABLE st.blobs (id, b)"
cpctl stream start load $tgt --gtid "$from" --tables 'st.*' --reset >/dev/null
wait_for 15 "stream ERROR at LOAD DATA" failed load
msg=$(stream_field load .error.message)
assert_eq "$(stream_field load .error.code)" "STATEMENT" "LOAD DATA error code"
assert_contains "$msg" "\`st\`.\`blobs\`" "LOAD DATA names the table"
assert_contains "$msg" "\"LOAD DATA INFILE '$WORK/rows.tsv' INTO TABLE \`st\`.\`blobs\`" "LOAD DATA quoted"
pass "statement-format LOAD DATA into st.blobs stops the stream"

from=$(source_gtid)
sql_source -e "USE st; SET SESSION binlog_format=STATEMENT; DELETE LOW_PRIORITY FROM orders WHERE id = 3"
cpctl stream start dflt $tgt --gtid "$from" --tables 'st.*' --reset >/dev/null
wait_for 15 "stream ERROR at DELETE under USE st" failed dflt
assert_contains "$(stream_field dflt .error.message)" "\`st\`.\`orders\`" "default schema resolved"
pass "an unqualified table resolves to the statement's default schema"

# ---- a binlog file the source does not have ----------------------------------------------
sql_source -e "FLUSH BINARY LOGS"
first=$(sql_source -e "SHOW BINARY LOGS" | head -1 | cut -f1)
last=$(sql_source -e "SHOW BINARY LOGS" | tail -1 | cut -f1)
for missing in source-bin.999999 other-bin.000001; do
    cpctl stream start nofile $tgt --file "$missing" --offset 4 --tables 'st.*' --reset >/dev/null
    wait_for 15 "stream ERROR at $missing" failed nofile
    msg=$(stream_field nofile .error.message)
    assert_eq "$(stream_field nofile .error.code)" "NO_SUCH_BINLOG" "error code for $missing"
    assert_contains "$msg" "'$missing'" "the message names the file"
    assert_contains "$msg" "'$first' .. '$last'" "the message lists the files the source has"
    assert_not_contains "$msg" "re-copied" "no re-copy advice"
    assert_not_contains "$msg" "purged" "not called purged"
    cpctl stream stop nofile >/dev/null
done
pass "nonexistent binlog file: $msg"

sql_source -e "FLUSH BINARY LOGS"
newest=$(sql_source -e "SHOW MASTER STATUS" | cut -f1)
sql_source -e "PURGE BINARY LOGS TO '$newest'"
cpctl stream start nofile $tgt --file "$first" --offset 4 --tables 'st.*' --reset >/dev/null
wait_for 15 "stream ERROR at a purged file" failed nofile
assert_eq "$(stream_field nofile .error.code)" "PURGED" "a file older than the oldest is purged"
assert_contains "$(stream_field nofile .error.message)" "re-copied" "purged message says what to do"
pass "a file older than the oldest binlog is still PURGED: $(stream_field nofile .error.message | cut -c1-120)..."
