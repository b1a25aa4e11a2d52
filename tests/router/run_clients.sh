#!/usr/bin/env bash
# Run the data router's three stock-client programs, one after another,
# against one MySQL endpoint (the router, or a server directly):
#
#   tests/router/run_clients.sh HOST PORT USER PASSWORD DB
#
#   libmariadb  build/tools/router_client (C; `make` builds it), with --big
#   mysql2      tests/node/router_client.js (npm ci runs first if needed)
#   pymysql     tests/router/pymysql_client.py (Debian's /usr/bin/python3)
#
# Each program runs the same scenario as its own session and prints
# `key value...` lines (see the header of tests/tools/router_client.c);
# here every line is prefixed with the program's name, which is also its
# --client value, and each program's part ends with `NAME exit STATUS`:
#   libmariadb read_server 1
#   ...
#   libmariadb done
#   libmariadb exit 0
# Each run gets fresh tokens, so runs never see each other's rows. DB must
# hold the table in tests/router/schema.sql, and DB_b must exist.
# ROUTER_CLIENTS_BIG=0 leaves out the C client's 17 MB values (they need
# max_allowed_packet >= 18 MB on the server). Exit status: 0 when all three
# exited 0. The password goes only to the programs, never to the output.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 5 ] || { echo "usage: $0 HOST PORT USER PASSWORD DB" >&2; exit 2; }
HOST=$1 PORT=$2 USER_NAME=$3 PASSWORD=$4 DB=$5
C_CLIENT=$REPO/build/tools/router_client
RUN_ID=$(date +%s%N)-$$
failed=0

[ -x "$C_CLIENT" ] || { echo "run_clients: $C_CLIENT is missing: run make" >&2; exit 2; }
if [ ! -d "$REPO/tests/node/node_modules/mysql2" ]; then
    (cd "$REPO/tests/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        { echo "run_clients: npm ci in tests/node failed: the mysql2 client cannot run" >&2; exit 2; }
fi

# run NAME PROGRAM...: the program's stdout, prefixed; its stderr as is.
run() {
    local name=$1 line rc
    shift
    "$@" --host "$HOST" --port "$PORT" --user "$USER_NAME" --password "$PASSWORD" --database "$DB" \
        --client "$name" --token "$name-$RUN_ID" |
        while IFS= read -r line || [ -n "$line" ]; do printf '%s %s\n' "$name" "$line"; done
    rc=${PIPESTATUS[0]}
    echo "$name exit $rc"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

big=(--big)
[ "${ROUTER_CLIENTS_BIG:-1}" = 0 ] && big=()
run libmariadb "$C_CLIENT" "${big[@]}"
run mysql2 node "$REPO/tests/node/router_client.js"
run pymysql /usr/bin/python3 "$REPO/tests/router/pymysql_client.py"
exit $((failed > 0))
