# shellcheck shell=bash
# Assertions on the router clients' output (sourced after tests/lib.sh,
# whose `fail` they call).
#
#   split_client_output RUN_CLIENTS_OUTPUT DIR
#       one file per program, DIR/<name>.out: its lines without the prefix,
#       and without run_clients.sh's `NAME exit STATUS` line
#   check_client_output FILE EXPECT_READ_SID EXPECT_WRITE_SID [EXTRA_KEYS]
#       FILE is one program's output; it passes when the program printed
#       exactly the scenario's lines, in order, with the values a correct
#       router gives:
#         read_server, ps_read_server, tz, db     EXPECT_READ_SID (plain reads)
#         write_server, tx_read_server,           EXPECT_WRITE_SID (what the
#         tx_write_server                         write executed on, and all
#                                                 of a transaction)
#         last_insert_id = insert_id, affected 1, tx_count 2, ps_echo 42,
#         multi 1,2,3, tz +05:00, db <DB>_b, ping ok, done
#       EXTRA_KEYS: the C client's further steps it must have printed, any
#       of "big long_data reset_tz change_user", in that order (the order
#       the client prints them): big and long_data must say
#       ok 17825795; reset_tz must be $EXPECT_RESET_TZ (the server's
#       default, e.g. SYSTEM; set it before calling), never +05:00.
#       $ROUTER_CLIENTS_DB names DB (default router_clients).

ROUTER_BIG_LEN=$((17 * 1024 * 1024 + 3))
ROUTER_COMMON_KEYS=(read_server insert_id last_insert_id write_server affected tx_read_server tx_count tx_write_server
    ps_read_server ps_echo multi tz db ping)

split_client_output() {
    local in=$1 dir=$2 name
    mkdir -p "$dir"
    awk '{print $1}' "$in" | sort -u | while IFS= read -r name; do
        awk -v n="$name" '$1 == n && $2 != "exit" { sub(/^[^ ]+ /, ""); print }' "$in" >"$dir/$name.out"
    done
}

# client_value FILE KEY: the rest of KEY's line.
client_value() { awk -v k="$2" '$1 == k { sub(/^[^ ]+ ?/, ""); print; exit }' "$1"; }

check_client_output() {
    local file=$1 rsid=$2 wsid=$3 extra=${4:-} who keys extra_keys want id db=${ROUTER_CLIENTS_DB:-router_clients}
    who=$(basename "$file")
    [ -s "$file" ] || fail "$who: no output"
    grep -q '^error ' "$file" && fail "$who: the client failed: $(grep -m1 '^error ' "$file")"
    keys=$(awk '{print $1}' "$file" | tr '\n' ' ')
    read -ra extra_keys <<<"$extra"
    want=("${ROUTER_COMMON_KEYS[@]}" "${extra_keys[@]}" 'done')
    [ "${keys% }" == "${want[*]}" ] || fail "$who: expected the lines '${want[*]}', got '${keys% }'"

    id=$(client_value "$file" insert_id)
    [[ "$id" =~ ^[1-9][0-9]*$ ]] || fail "$who: insert_id '$id' is not a positive integer"
    assert_eq "$(client_value "$file" last_insert_id)" "$id" "$who: SELECT LAST_INSERT_ID() after the insert"
    assert_eq "$(client_value "$file" read_server)" "$rsid" "$who: server of a plain read"
    assert_eq "$(client_value "$file" write_server)" "$wsid" "$who: server that executed the autocommit insert"
    assert_eq "$(client_value "$file" affected)" 1 "$who: rows affected by the update"
    assert_eq "$(client_value "$file" tx_read_server)" "$wsid" "$who: server of a read in a transaction"
    assert_eq "$(client_value "$file" tx_count)" 2 "$who: rows seen in the transaction (its own insert and step 2's)"
    assert_eq "$(client_value "$file" tx_write_server)" "$wsid" "$who: server that executed the insert in the transaction"
    assert_eq "$(client_value "$file" ps_read_server)" "$rsid" "$who: server of a prepared read"
    assert_eq "$(client_value "$file" ps_echo)" 42 "$who: prepared read's parameter echoed"
    assert_eq "$(client_value "$file" multi)" 1,2,3 "$who: multi-statement result sets"
    assert_eq "$(client_value "$file" tz)" "+05:00 $rsid" "$who: time zone after SET time_zone, and the server read"
    assert_eq "$(client_value "$file" db)" "${db}_b $rsid" "$who: database after the schema change, and the server read"
    assert_eq "$(client_value "$file" ping)" ok "$who: ping"
    if [[ " $extra " == *" big "* ]]; then
        assert_eq "$(client_value "$file" big)" "ok $ROUTER_BIG_LEN" "$who: 17 MB value in one execute, read back"
    fi
    if [[ " $extra " == *" long_data "* ]]; then
        assert_eq "$(client_value "$file" long_data)" "ok $ROUTER_BIG_LEN" "$who: 17 MB value in send_long_data pieces, read back"
    fi
    if [[ " $extra " == *" reset_tz "* ]]; then
        [ "$(client_value "$file" reset_tz)" != "+05:00" ] || fail "$who: mysql_reset_connection kept the session's time zone"
        assert_eq "$(client_value "$file" reset_tz)" "${EXPECT_RESET_TZ:?set EXPECT_RESET_TZ}" "$who: time zone after reset"
    fi
    if [[ " $extra " == *" change_user "* ]]; then
        assert_eq "$(client_value "$file" change_user)" ok "$who: mysql_change_user and a query after it"
    fi
    return 0
}
