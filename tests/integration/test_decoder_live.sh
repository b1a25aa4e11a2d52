#!/usr/bin/env bash
# The binlog row decoder against the real source server, value by value
# (tests/tools/decoder_check.c): every column type with tricky values,
# FULL and MINIMAL images, decoded rows replayed into clones and compared
# column by column. A second pass writes the binlog with log_bin_compress=ON
# so the compressed event types are decoded from a live server too.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

make -C "$REPO" --no-print-directory -s build/tools/decoder_check >/dev/null
check=$BUILD/tools/decoder_check
args=(--host 127.0.0.1 --port "$SOURCE_PORT" --user agent --password-file "$PASSWORD_FILE"
      --admin-socket "$SANDBOX_DIR/source/mariadbd.sock")

"$check" "${args[@]}" --db dectest_check >"$WORK/plain.log" 2>&1 ||
    { grep -v '^ok' "$WORK/plain.log" >&2; fail "decoder_check found mismatches (see $WORK/plain.log)"; }
pass "$(tail -1 "$WORK/plain.log")"

"$check" "${args[@]}" --db dectest_check_z --compress >"$WORK/compressed.log" 2>&1 ||
    { grep -v '^ok' "$WORK/compressed.log" >&2; fail "decoder_check --compress found mismatches (see $WORK/compressed.log)"; }
assert_eq "$(sql_source -e 'SELECT @@global.log_bin_compress')" 0 "log_bin_compress restored"
pass "with log_bin_compress=ON: $(tail -1 "$WORK/compressed.log")"
