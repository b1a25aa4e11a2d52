#!/usr/bin/env bash
# An import's progress as people see it, with many tables: cpctl's live
# view on a terminal (a pty from `script`, 15 x 100) stays within the
# terminal's height on every redraw, and shows the destination tables being
# created while setup runs; the agent publishes them ("creating", then
# "pending") before the copy starts; a table named with wide characters
# lines up with the others by display width; --json still lists every
# table. Last, preflight's schema.key remedy names each table without a key
# in a statement that works as given.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
N=300
ROWS=15
COLS=100
WIDE='café_日本'

# display_width TEXT: terminal columns (wide characters count two).
display_width() { printf '%s' "$1" | LC_ALL=C.UTF-8 wc -L; }
# rows_column LINE: the display column where a table line's row count starts.
rows_column() { display_width "$(sed -E 's/^(.*  [a-z]+ +)[0-9].*$/\1/' <<<"$1")"; }

{
    echo "DROP DATABASE IF EXISTS many; CREATE DATABASE many;"
    for i in $(seq -w 1 $N); do
        echo "CREATE TABLE many.t$i (id INT PRIMARY KEY, v INT); INSERT INTO many.t$i VALUES (1, 1), (2, 2);"
    done
    echo "CREATE TABLE many.\`$WIDE\` (id INT PRIMARY KEY, v INT); INSERT INTO many.\`$WIDE\` SELECT seq, seq FROM many.seq_1_to_1234;"
} | sql_source
total=$((N + 1))
sql_dest -e "DROP DATABASE IF EXISTS many; DROP DATABASE IF EXISTS _tablet_agent"
rm -rf "$WORK/state"
start_agent

# ---- the live view on a terminal, while the agent is watched through --json ------
t0=$(date +%s%N)
script -qfec "stty rows $ROWS cols $COLS; exec $BUILD/cpctl --agent $AGENT_ADDR import many $dest --tables 'many.*' 2>'$WORK/follow.err'" \
    "$WORK/follow.tty" >/dev/null </dev/null &
follow=$!
partial="" # the first status with some tables created and some not
while kill -0 "$follow" 2>/dev/null; do
    if [ -z "$partial" ] && j=$(cpctl --json workflow status many 2>/dev/null); then
        read -r creating listed < <(jq -r '(.tables // []) as $t
            | [($t | map(select(.phase == "creating")) | length), ($t | length)] | @tsv' <<<"$j")
        if [ "$creating" -gt 0 ] && [ "$creating" -lt "$listed" ]; then
            partial="$((listed - creating))/$listed"
            assert_eq "$(jq -r '[.tables[].phase] | unique | join(" ")' <<<"$j")" "creating pending" \
                "phases while the tables are created"
        fi
    fi
    sleep 0.1
done
wait "$follow" || fail "cpctl import failed: $(cat "$WORK/follow.err") $(tail -c 300 "$WORK/follow.tty")"
took=$((($(date +%s%N) - t0) / 1000000))
[ -n "$partial" ] || fail "no status showed the tables being created (a table list appeared only once all $total existed)"
assert_eq "${partial#*/}" "$total" "tables listed while creating"
pass "the agent lists the tables as it creates them: a status showed $partial created, the rest \"creating\""

# Frames: each redraw starts by moving up over the rows drawn before.
read -r frames tallest wrong_ups < <(perl -0777 -ne '
    s/\r//g;
    s/^Script started on .*?\n//;
    s/\n?Script done on .*//s;
    my @p = split /((?:\e\[A\e\[K)+)/;
    my ($tallest, $wrong) = (0, 0);
    for (my $k = 0; $k < @p; $k += 2) {
        my $lines = () = $p[$k] =~ /\n/g;
        $tallest = $lines if $lines > $tallest;
        if ($k + 1 < @p) { my $ups = () = $p[$k + 1] =~ /\e\[A/g; $wrong++ if $ups != $lines; }
    }
    printf "%d %d %d\n", (@p + 1) / 2, $tallest, $wrong;' "$WORK/follow.tty")
widest=$(tr -d '\r' <"$WORK/follow.tty" | sed 's/\x1b\[A\x1b\[K//g' | grep -av '^Script ' | LC_ALL=C.UTF-8 wc -L)
[ "$frames" -ge 3 ] || fail "only $frames frame(s) drawn"
[ "$tallest" -le $((ROWS - 1)) ] || fail "a frame took $tallest lines on a terminal of $ROWS rows"
[ "$wrong_ups" = 0 ] || fail "$wrong_ups redraw(s) moved up by other than the rows drawn before"
[ "$widest" -le "$COLS" ] || fail "a line $widest columns wide on a terminal of $COLS columns"
pass "$frames redraws on a ${ROWS}x$COLS terminal: at most $tallest lines each, every redraw erased the one before"

created=$(grep -aoE "creating tables: [0-9]+/$total" "$WORK/follow.tty" | head -n 1 || true)
[ -n "$created" ] || fail "the live view never said \"creating tables: n/$total\""
assert_contains "$(tail -c 3000 "$WORK/follow.tty")" "$total tables: $total done, 0 copying, 0 pending" "last frame's summary"
note "import of $total tables took $took ms; first creation frame: $created"
pass "the live view shows the tables being created ($created) and ends with a summary of every table"

# ---- the bounded views, aligned by display width -----------------------------------------
out=$(cpctl workflow status many)
assert_eq "$(cpctl --json workflow status many | jq '.tables | length')" "$total" "tables in --json"
lines=$(grep -c '^  many\.' <<<"$out" || true)
assert_eq "$lines" 19 "table lines in the status view"
assert_contains "$out" "... $((total - 19)) more (cpctl --json workflow status many lists every table)" "the rest counted"
wide_line=$(grep -a "^  many\.$WIDE " <<<"$out") || fail "no line for many.$WIDE in: $out"
plain_line=$(grep -a "^  many\.t001 " <<<"$out") || fail "no line for many.t001 in: $out"
assert_eq "$(rows_column "$wide_line")" "$(rows_column "$plain_line")" \
    "display column of the row count: '$wide_line' vs '$plain_line'"
# And wherever the live view showed it.
while IFS= read -r l; do
    assert_eq "$(rows_column "$l")" "$(rows_column "$plain_line")" "display column in the live view: '$l'"
done < <(tr -d '\r' <"$WORK/follow.tty" | sed 's/\x1b\[A\x1b\[K//g' | grep -a "^  many\.$WIDE ")
pass "status lists 19 of $total tables and counts the rest; many.$WIDE lines up with many.t001"
stop_agent
rm -rf "$WORK/state" # the workflow would follow the source's DROP DATABASE below

# ---- preflight: the schema.key remedy names each table --------------------------------------
sql_source -e "DROP DATABASE IF EXISTS nokey; CREATE DATABASE nokey;
    CREATE TABLE nokey.\`plain\` (a INT, b INT NULL, UNIQUE KEY (b));
    CREATE TABLE nokey.\`has row_id\` (row_id INT, v INT);
    INSERT INTO nokey.plain VALUES (1, NULL), (1, NULL); INSERT INTO nokey.\`has row_id\` VALUES (7, 7)"
start_agent
cpctl --json preflight --tables 'nokey.*' >"$WORK/pf.json" || true
remedy=$(jq -r '.checks[] | select(.id == "schema.key") | .remedy' "$WORK/pf.json")
assert_eq "$(jq -r '.checks[] | select(.id == "schema.key") | .severity' "$WORK/pf.json")" FAIL "schema.key"
assert_not_contains "$remedy" "<table>" "schema.key remedy"
assert_contains "$remedy" 'ALTER TABLE `nokey`.`plain` ADD COLUMN `row_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY' \
    "statement for nokey.plain"
assert_contains "$remedy" 'ALTER TABLE `nokey`.`has row_id` ADD COLUMN `row_id_2` BIGINT' \
    "statement for the table that has a row_id column"
# The statements work as given.
grep -v '^--' <<<"$remedy" | sql_source
cpctl --json preflight --tables 'nokey.*' >"$WORK/pf.json" || true
assert_eq "$(jq -r '.checks[] | select(.id == "schema.key") | .severity' "$WORK/pf.json")" PASS "schema.key after the remedy"
sql_source -e "DROP DATABASE nokey; DROP DATABASE many"
pass "schema.key's remedy names each table in a statement that works: then schema.key passes"
