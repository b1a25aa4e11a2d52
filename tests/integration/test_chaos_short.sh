#!/usr/bin/env bash
# The chaos suite's short run (tests/chaos/chaos.sh): a fixed seed, 8 faults
# (agent and router kill -9s, a partition, packet loss, a SIGKILL of each
# server, in the copy, the replication, a VDiff and inside switches and
# reverses), then every acknowledged write on both sides, equal checksums,
# a clean VDiff, no crash, detach, and a purged binlog ending in ERROR.
# It runs in a network namespace of its own with its own sandbox servers
# (under this test's work directory), so the suite's servers are untouched.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

out=$WORK/chaos.out
if ! CHAOS_SEED=${CHAOS_SEED:-16} CHAOS_FAULTS=8 CHAOS_ROWS=300000 CHAOS_NET_MAX=8 CHAOS_RECOVER_S=60 \
    CHAOS_DIR="$WORK" "$REPO/tests/chaos/chaos.sh" >"$out" 2>&1; then
    tail -40 "$out" >&2
    fail "the short chaos run failed (full output: $out)"
fi
json=$(tail -n 1 "$out")
[ "$(jq -r '.lost_writes + .lost_updates + .duplicate_rows + .vdiff_differences + .agent_crashes' <<<"$json")" == 0 ] ||
    fail "the short chaos run lost or duplicated writes or updates, found differences or a crash: $json"
[ "$(jq -r .acked_updates <<<"$json")" -gt 0 ] || fail "the short chaos run acknowledged no update: $json"
[ "$(jq -r '.kills + .net_faults + .server_restarts' <<<"$json")" -ge 8 ] || fail "fewer than 8 faults injected: $json"
pass "8 faults (seed $(jq -r .seed <<<"$json")): $(jq -r '"\(.kills) kills, \(.net_faults) network faults, \(.server_restarts) server restarts; \(.acked_writes) acknowledged inserts and \(.acked_updates) updates, none lost; longest recovery \(.recover_s_max) s"' <<<"$json")"
