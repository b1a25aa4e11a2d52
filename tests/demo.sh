#!/usr/bin/env bash
# The main job, on local sandbox servers: start the source and destination,
# start the agent next to the source, and show what it sees, live, while a
# writer changes the source.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
export SANDBOX_DIR=${SANDBOX_DIR:-$REPO/.sandbox}
export SANDBOX_PORT_BASE=${SANDBOX_PORT_BASE:-23306}
source "$REPO/tests/lib.sh"
WORK=$REPO/build/demo
AGENT_LOG=$WORK/agent.log
mkdir -p "$WORK"
DEMO_SECONDS=${DEMO_SECONDS:-6}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Sandbox servers (source :$SOURCE_PORT, dest :$DEST_PORT)"
sandbox start
sandbox status

say "A demo schema on the source"
sql_source -e "CREATE DATABASE IF NOT EXISTS shop;
  CREATE TABLE IF NOT EXISTS shop.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL,
    amount DECIMAL(10,2) NOT NULL, created_at DATETIME(6) NOT NULL DEFAULT NOW(6))"
echo "shop.orders has $(sql_source -e 'SELECT COUNT(*) FROM shop.orders') rows"

say "Starting tablet-agent on $AGENT_ADDR (log: $AGENT_LOG)"
: >"$AGENT_LOG"
start_agent --health-listen=127.0.0.1:$HEALTH_PORT
wait_for 5 "agent SERVING" cpctl health
cpctl status

say "Live status for ${DEMO_SECONDS}s while a writer inserts orders (cpctl watch)"
(
    end=$(( $(date +%s) + DEMO_SECONDS ))
    while [ "$(date +%s)" -lt "$end" ]; do
        sql_source -e "INSERT INTO shop.orders (customer, amount) VALUES (CONCAT('c', FLOOR(RAND()*100)), RAND()*100)"
        sleep 0.2
    done
) &
writer=$!
timeout "$DEMO_SECONDS" "$BUILD/cpctl" --agent "$AGENT_ADDR" watch || true
wait $writer || true

say "Final status"
cpctl status
echo
echo "Source GTID from the server itself: $(source_gtid)"
echo "Agent RSS: $(( $(cpctl --json status | jq -r .rss_bytes) / 1024 )) KiB"
stop_agent
say "Done. The sandbox servers keep running; stop them with: tests/sandbox.sh stop"
