#!/usr/bin/env bash
# The status page (GET / on --metrics-listen) in a real headless browser
# (Debian's chromium): loaded during a real import held back by a busy
# source, after the copy with writes replicating, and after a switch and a
# VDiff. The DOM the browser builds must show what the test knows: the
# source serving and its version, the workflow and its phase, each table's
# rows with a progress bar, a lag chart (SVG) with samples, the switch with
# its steps' times, the VDiff's rows compared. While the copy runs on, the
# page as served gives the table a rate and an ETA. A table whose name is an
# HTML script with quotes shows as text and never runs (the title stays,
# no script element exists). The page is self-contained (no external
# URL), read-only (POST 405), never cached, and shows no password.
# Screenshots are kept: $WORK/status-{copy,moving,repl,final}.png.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dest=$(endpoint_opts dest "$DEST_PORT")
URL=http://127.0.0.1:$METRICS_PORT/
ROWS=300000
HOSTILE='<script>document.title="pwned"</script>'"'x"

command -v chromium >/dev/null || fail "chromium is not installed (tests/deps.sh installs it)"

cleanup() {
    stop_control_plane
    stop_agent
    unfence
}
trap cleanup EXIT

n=0
# browse NAME: the DOM chromium builds from the page into $WORK/NAME.dom.html
# and a screenshot into $WORK/NAME.png; $dom names the file.
browse() {
    local name=$1
    dom=$WORK/$name.dom.html
    local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
        --user-data-dir="$WORK/chromium-profile" --window-size=1280,1800)
    timeout 60 chromium "${flags[@]}" --dump-dom "$URL" >"$dom" 2>"$WORK/chromium.log" ||
        fail "chromium could not load $URL: $(tail -3 "$WORK/chromium.log")"
    timeout 60 chromium "${flags[@]}" --screenshot="$WORK/$name.png" "$URL" >>"$WORK/chromium.log" 2>&1 ||
        fail "chromium could not take a screenshot of $URL: $(tail -3 "$WORK/chromium.log")"
    [ -s "$WORK/$name.png" ] || fail "no screenshot in $WORK/$name.png"
}
# in_dom TEXT WHAT: the DOM contains TEXT (as chromium serialises it).
in_dom() { grep -qF -- "$1" "$dom" || fail "$2: '$1' is not on the page ($dom)"; }
# The text of one element picked by a CSS selector, from the DOM file.
dom_text() { $PY "$REPO/tests/tools/html_text.py" "$dom" "$@"; }
wf_field() { cpctl --json workflow status sp | jq -r "$1"; }
wf_state_is() { [ "$(wf_field .state)" == "$1" ]; }

# ---- setup ---------------------------------------------------------------------
rm -rf "$WORK/state" "$WORK"/*.png "$WORK"/*.dom.html "$WORK/chromium-profile"
unfence
for s in source dest; do
    sandbox sql $s -e "DROP DATABASE IF EXISTS sp; DROP DATABASE IF EXISTS _tablet_agent"
done
sql_source -e "CREATE DATABASE sp;
    CREATE TABLE sp.items (id INT PRIMARY KEY, v VARCHAR(40));
    INSERT INTO sp.items SELECT seq, CONCAT('item-', seq) FROM sp.seq_1_to_$ROWS;
    CREATE TABLE sp.\`$HOSTILE\` (id INT PRIMARY KEY);
    INSERT INTO sp.\`$HOSTILE\` SELECT seq FROM sp.seq_1_to_7"
start_control_plane
TABLET_AGENT_TEST_LAG_SAMPLE_MS=300 start_agent --metrics-listen=127.0.0.1:$METRICS_PORT

# ---- the page itself ------------------------------------------------------------
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "$(code "$URL")" 200 "GET /"
assert_eq "$(code -X POST --data x=1 "$URL")" 405 "POST /"
assert_eq "$(code "${URL}status")" 404 "GET /status"
headers=$(curl -s -D - -o "$WORK/raw.html" "$URL")
assert_contains "$headers" "Content-Type: text/html; charset=utf-8" "the page's media type"
assert_contains "$headers" "Cache-Control: no-store" "the page is never cached"
grep -qF '<meta http-equiv="refresh"' "$WORK/raw.html" || fail "the page does not refresh itself"
grep -qiE '(src|href)="(https?:)?//' "$WORK/raw.html" && fail "the page loads something from elsewhere"
grep -qiE '<(script|link|img|iframe)' "$WORK/raw.html" && fail "the page has a script or an external asset"
pass "GET / is HTML (no-store, refreshes itself, nothing external), POST 405, other paths 404"

# ---- during the copy: a busy source holds it back -------------------------------------
busy_pids=()
for i in 1 2 3 4; do sql_source -e "SELECT SLEEP(10)" >/dev/null & busy_pids+=($!); done
sleep 0.5
cpctl import sp $dest --tables 'sp.*' --chunk-rows 100 --parallel 1 --throttle-threads-running 1 --no-wait >/dev/null
throttled() { [ "$(wf_field .throttled)" == true ]; }
wait_for 15 "the copy throttles on a busy source" throttled
browse status-copy
assert_eq "$(dom_text title)" "tablet-agent status" "the title"
assert_eq "$(dom_text '#source td.ok')" serving "the source's health"
in_dom "$(sql_source -e 'SELECT VERSION()')" "the source's version"
assert_eq "$(dom_text '.workflow .wf-name')" sp "the workflow's name"
state=$(dom_text '.workflow .wf-state')
[[ "$state" == COPYING || "$state" == STARTING || "$state" == CATCHING_UP ]] || fail "the workflow's phase is '$state'"
in_dom "copy throttled" "the throttle"
copied=$(dom_text 'tr.table:has(td.name:-soup-contains("sp.items")) td.rows' | cut -d' ' -f1)
[ "$copied" -lt "$ROWS" ] || fail "the page shows sp.items copied ($copied rows) while the source was busy"
[ "$(grep -o 'class="bar"' "$dom" | wc -l)" -ge 2 ] || fail "fewer progress bars than tables"
wait "${busy_pids[@]}"
pass "during the copy: workflow sp $state, throttled, sp.items at $copied of $ROWS rows, progress bars (screenshot $WORK/status-copy.png)"

# Once the source calms down the copy goes on: the table's row shows a
# rate and an ETA while rows are still to come (read from the HTML as
# served, several times a second: a browser takes longer than a look).
copying_with_rate() {
    curl -sS --fail -o "$WORK/moving.html" "$URL" || return 1
    local row='tr.table:has(td.name:-soup-contains("sp.items"))'
    local rows rate eta
    rows=$($PY "$REPO/tests/tools/html_text.py" "$WORK/moving.html" "$row td.rows" | cut -d' ' -f1)
    rate=$($PY "$REPO/tests/tools/html_text.py" "$WORK/moving.html" "$row td:nth-of-type(5)")
    eta=$($PY "$REPO/tests/tools/html_text.py" "$WORK/moving.html" "$row td:nth-of-type(6)")
    [ "$rows" -gt 0 ] && [ "$rows" -lt "$ROWS" ] && [ "${rate%/s}" -gt 0 ] && [ "$eta" != - ] || return 1
    moving="$rows of $ROWS rows at $rate, ETA $eta"
}
wait_for 30 "sp.items copying with a rate and an ETA on the page" copying_with_rate
browse status-moving # for people: bars part-way (the copy may have ended by now)
pass "the copy under way: sp.items $moving (screenshot $WORK/status-moving.png)"

# ---- after the copy, with writes -------------------------------------------------------
wait_for 90 "the import replicates" wf_state_is WORKFLOW_REPLICATING
for i in $(seq 1 20); do echo "INSERT INTO sp.items VALUES ($((ROWS + i)), 'new');"; done | sandbox sql source
have_new() { [ "$(sql_dest -e "SELECT COUNT(*) FROM sp.items")" == $((ROWS + 20)) ]; }
wait_for 20 "the writes replicated" have_new
sleep 1 # a few lag samples while running
browse status-repl
assert_eq "$(dom_text '.workflow .wf-state')" REPLICATING "the phase after the copy"
assert_eq "$(dom_text 'tr.table:has(td.name:-soup-contains("sp.items")) td.rows')" "$ROWS / $ROWS" "sp.items rows"
assert_eq "$(dom_text '.stream .stream-name')" sp "the stream"
svg=$(dom_text 'svg.lag-chart' count)
[ "$svg" -ge 1 ] || fail "no lag chart (svg.lag-chart) on the page"
[ "$(dom_text 'svg.lag-chart polyline' count)" -ge 1 ] || fail "the lag chart has no line of samples"
pass "after the copy: REPLICATING, sp.items $ROWS / $ROWS, stream sp with a lag chart of samples"

# ---- a hostile name is text, never markup ---------------------------------------------
assert_eq "$(dom_text 'tr.table:has(td.name:-soup-contains("script")) td.name')" "sp.$HOSTILE" \
    "the hostile table's name, read back as text"
grep -qi '<script' "$dom" && fail "the browser built a script element from a table name"
grep -q 'pwned' "$dom" && ! grep -qF '&lt;script&gt;document.title="pwned"&lt;/script&gt;' "$dom" &&
    fail "the hostile name appears unescaped"
assert_eq "$(dom_text title)" "tablet-agent status" "the title after a hostile table name (a script would change it)"
pass "a table named $HOSTILE shows as text; no script ran"

# ---- a switch and a VDiff ---------------------------------------------------------------
cpctl switch sp >/dev/null
cpctl vdiff sp >"$WORK/vdiff.out" || fail "vdiff found differences or failed: $(tail -3 "$WORK/vdiff.out")"
browse status-final
assert_eq "$(dom_text '.workflow .wf-state')" PRIMARY "the phase after the switch"
assert_eq "$(dom_text 'tr.cutover td:nth-of-type(2)')" switch "the last cutover"
assert_eq "$(dom_text 'tr.cutover td:nth-of-type(3)')" success "its outcome"
steps=$(dom_text 'tr.cutover span.step' all)
for step in check fence_source catch_up commit start_reverse; do
    grep -qE "^$step [0-9]+$" <<<"$steps" || fail "the cutover's step $step and its time (steps: $steps)"
done
total=$((ROWS + 20 + 7))
assert_eq "$(dom_text '#vdiff tr.vdiff-total td:nth-of-type(1)')" "$total" "rows VDiff compared"
assert_eq "$(dom_text '#vdiff tr.vdiff-total td:nth-of-type(3)')" 0 "mismatched rows"
in_dom "sp.reverse" "the reverse stream"
pass "after a switch and a VDiff: PRIMARY, the switch with its steps' times, $total rows compared (screenshot $WORK/status-final.png)"

# ---- no secret --------------------------------------------------------------------
for f in "$WORK"/*.dom.html "$WORK/raw.html"; do
    grep -qF -- "$(cat "$PASSWORD_FILE")" "$f" && fail "the agent's password is on the page ($f)"
    grep -qi "password" "$f" && fail "the word password is on the page ($f)"
done
pass "no password on any page; screenshots: $WORK/status-{copy,moving,repl,final}.png"

cpctl detach sp >/dev/null || true
