#!/usr/bin/env bash
# Both snapshot methods give an exact position under a write load: the
# FLUSH TABLES WITH READ LOCK method (used for MySQL-flavour sources) and
# MariaDB's exact-GTID method, checked against the server's own record of
# each snapshot's binlog position.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

sql_source -e "DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest"
sb prepare --tables=4 --table-size=5000 >/dev/null
sb run --tables=4 --table-size=5000 --threads=4 --time=8 --report-interval=0 >"$WORK/load.log" 2>&1 &
load=$!
sleep 1
"$BUILD/tools/snapshot_check" "$SOURCE_PORT" "$PASSWORD_FILE" 15 >"$WORK/check.log" 2>&1 ||
    fail "snapshot check: $(tail -3 "$WORK/check.log")"
wait $load
pass "$(grep -c '^ok locked' "$WORK/check.log") locked and $(grep -c '^ok exact' "$WORK/check.log") exact-GTID snapshots under load: same rows on every connection, exact position ($(grep -c '^retry' "$WORK/check.log" || true) FTWRL lock timeouts retried)"
