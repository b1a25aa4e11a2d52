#!/usr/bin/env bash
# Everything `make test` runs, in order, with a summary:
#   1. unit tests under valgrind
#   2. a short fuzz run of the binlog decoder, the router's classifier and its
#      protocol parsers; offline checks of deploy/ (alert rules, manifests)
#   3. integration tests against fresh sandbox servers, and the independent
#      Node.js gRPC client
#   4. the same again with the agent and the router built with
#      AddressSanitizer and UndefinedBehaviorSanitizer (build/asan/); any
#      sanitizer report in an agent's or a router's log fails the run
# TEST_PORT_BASE (default 24306) keeps the test servers apart from the demo's;
# TESTS="agent_health preflight" runs only the named integration tests;
# SANITIZED=0 skips step 4, SANITIZED=only runs just step 4.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export SANDBOX_DIR=${SANDBOX_DIR:-$REPO/build/test-sandbox}
export SANDBOX_PORT_BASE=${TEST_PORT_BASE:-24306}
SANITIZED=${SANITIZED:-1}
ASAN_AGENT=$REPO/build/asan/tablet-agent
ASAN_ROUTER=$REPO/build/asan/tablet-router
results=()
failed=0

step() { # name command...
    local name=$1 t0 rc
    shift
    echo "=== $name"
    t0=$(date +%s)
    "$@"
    rc=$?
    results+=("$(printf '%-40s %-4s %4ss' "$name" "$([ $rc = 0 ] && echo ok || echo FAIL)" $(( $(date +%s) - t0 )))")
    [ $rc = 0 ] || failed=$((failed + 1))
    return 0
}

# integration LABEL: every integration test and the Node client, each
# agent's log in $TEST_WORK/<test>/agent.log, each router's in router*.log.
integration() {
    local label=$1 t name
    rm -rf "$TEST_WORK"
    tests/sandbox.sh reset >/dev/null || { echo "cannot start the sandbox servers"; exit 1; }
    for t in tests/integration/test_*.sh; do
        name=$(basename "$t" .sh)
        name=${name#test_}
        if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $name "* ]]; then continue; fi
        step "integration$label: $name" "$t"
        # A failed test may leave a server stopped or reconfigured.
        tests/sandbox.sh start >/dev/null 2>&1
    done
    step "node client (@grpc/grpc-js)$label" tests/node/run.sh
}

sanitizer_reports() {
    ! grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TEST_WORK"/*/agent.log "$TEST_WORK"/*/router*.log 2>/dev/null
}

if [ "$SANITIZED" != only ]; then
    step "unit tests (valgrind)" tests/run-unit.sh build/unit-tests
    step "fuzz smoke (decoder, classifier, router, rpc)" make -j"$(nproc)" --no-print-directory fuzz-smoke
    step "deploy: alert rules (promtool), manifests (schema, restricted)" tests/deploy/run.sh
    export TEST_WORK=$REPO/build/test-work
    integration ""
fi
if [ "$SANITIZED" != 0 ]; then
    export TEST_WORK=$REPO/build/test-work-asan TABLET_AGENT_BIN=$ASAN_AGENT TABLET_ROUTER_BIN=$ASAN_ROUTER
    integration " (asan)"
    step "no sanitizer reports in agent and router logs" sanitizer_reports
fi
tests/sandbox.sh stop >/dev/null

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
[ $failed = 0 ] && echo "all passed" || echo "$failed failed"
exit $((failed > 0))
