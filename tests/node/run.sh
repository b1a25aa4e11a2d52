#!/usr/bin/env bash
# Run the Node.js client test against a fresh agent on the sandbox.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO/tests/node"
[ -d node_modules/@grpc/grpc-js ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null
start_agent
wait_for 5 "SERVING" cpctl health
node client_test.js "$AGENT_ADDR"
