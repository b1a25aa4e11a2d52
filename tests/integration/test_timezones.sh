#!/usr/bin/env bash
# Servers whose time zone is not UTC, and differs between the two sides:
# TIMESTAMP values must arrive unchanged by the copy and by the stream, and
# VDiff must find the tables equal. Every data-path connection works in
# UTC (db.h, DB_DATA); a connection that did not once made VDiff report
# every TIMESTAMP row as different.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

restore() {
    stop_agent
    sandbox restart source >/dev/null 2>&1 || true
    sandbox restart dest >/dev/null 2>&1 || true
}
trap restore EXIT

sandbox restart source --default-time-zone=+05:30 >/dev/null
sandbox restart dest --default-time-zone=-07:00 >/dev/null
assert_eq "$(sql_source -e "SELECT @@global.time_zone")" "+05:30" "source time zone"
assert_eq "$(sql_dest -e "SELECT @@global.time_zone")" "-07:00" "destination time zone"
rm -rf "$WORK/state"
for n in source dest; do sandbox sql $n -e "DROP DATABASE IF EXISTS tz; DROP DATABASE IF EXISTS _tablet_agent"; done
sql_source -e "CREATE DATABASE tz; CREATE TABLE tz.t (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL, dt DATETIME(6) NULL,
    d DATE NULL, note VARCHAR(20));
    INSERT INTO tz.t VALUES (1, '2026-03-29 01:30:00.5', '2026-03-29 01:30:00.5', '2026-03-29', 'dst night'),
        (2, '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59', '1999-12-31', 'y2k'), (3, NULL, NULL, NULL, 'nulls'),
        (4, NOW(6), NOW(6), CURDATE(), 'now');
    INSERT INTO tz.t SELECT seq + 10, FROM_UNIXTIME(1700000000 + seq * 3607), FROM_UNIXTIME(1700000000 + seq * 3607),
        NULL, 'series' FROM tz.seq_1_to_200"

# The same instants on both sides, read in a fixed zone on each.
same_rows() {
    local q="SET time_zone = '+00:00'; SELECT id, UNIX_TIMESTAMP(ts), dt, d, note FROM tz.t ORDER BY id"
    [ "$(sql_source -e "$q" | md5sum)" == "$(sql_dest -e "$q" | md5sum)" ]
}

start_agent
cpctl import tz $(endpoint_opts dest "$DEST_PORT") --tables 'tz.*' >/dev/null
same_rows || fail "copied TIMESTAMP values differ between a +05:30 source and a -07:00 destination"
checksums_equal tz t
pass "copy: 204 rows with TIMESTAMP(6), DATETIME and DATE equal across +05:30 -> -07:00"

sql_source -e "INSERT INTO tz.t VALUES (1000, NOW(6), NOW(6), CURDATE(), 'streamed');
    UPDATE tz.t SET ts = ts + INTERVAL 1 HOUR WHERE id BETWEEN 10 AND 50; DELETE FROM tz.t WHERE id = 2"
want=$(source_gtid)
caught() { [ "$(cpctl --json workflow status tz | jq -r .stream.applied.gtid)" == "$want" ]; }
wait_for 20 "the stream applied the changes" caught
same_rows || fail "streamed TIMESTAMP values differ"
checksums_equal tz t
pass "stream: inserts, updates and a delete of TIMESTAMP rows applied unchanged"

cpctl --json vdiff tz >"$WORK/vdiff.out" || fail "VDiff found differences between equal tables: $(tail -c 600 "$WORK/vdiff.out")"
tail -n 1 "$WORK/vdiff.out" >"$WORK/vdiff.json"
assert_eq "$(jq -r .differences "$WORK/vdiff.json")" 0 "VDiff differences"
assert_eq "$(jq -r .total.rows_compared "$WORK/vdiff.json")" 204 "rows compared"
pass "VDiff across the two time zones: 204 rows, 0 differences"
