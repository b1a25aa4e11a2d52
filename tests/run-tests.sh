#!/usr/bin/env bash
# Everything `make test` runs, in order, with a summary:
#   1. unit tests under valgrind
#   2. a short fuzz run of the binlog decoder
#   3. integration tests against fresh sandbox servers
#   4. the independent Node.js gRPC client
# TEST_PORT_BASE (default 24306) keeps the test servers apart from the demo's;
# TESTS="agent_health preflight" runs only the named integration tests.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export SANDBOX_DIR=${SANDBOX_DIR:-$REPO/build/test-sandbox}
export SANDBOX_PORT_BASE=${TEST_PORT_BASE:-24306}
export TEST_WORK=$REPO/build/test-work
results=()
failed=0

step() { # name command...
    local name=$1 t0 rc
    shift
    echo "=== $name"
    t0=$(date +%s)
    "$@"
    rc=$?
    results+=("$(printf '%-34s %-4s %4ss' "$name" "$([ $rc = 0 ] && echo ok || echo FAIL)" $(( $(date +%s) - t0 )))")
    [ $rc = 0 ] || failed=$((failed + 1))
    return 0
}

step "unit tests (valgrind)" tests/run-unit.sh build/unit-tests
if [ -f tests/fuzz/fuzz_decoder.c ]; then
    step "fuzz smoke (decoder)" make --no-print-directory fuzz-smoke
fi

rm -rf "$TEST_WORK"
tests/sandbox.sh reset >/dev/null || { echo "cannot start the sandbox servers"; exit 1; }
for t in tests/integration/test_*.sh; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $name "* ]]; then continue; fi
    step "integration: $name" "$t"
    # A failed test may leave a server stopped or reconfigured.
    tests/sandbox.sh start >/dev/null 2>&1
done
step "node client (@grpc/grpc-js)" tests/node/run.sh
tests/sandbox.sh stop >/dev/null

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
[ $failed = 0 ] && echo "all passed" || echo "$failed failed"
exit $((failed > 0))
