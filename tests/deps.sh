#!/usr/bin/env bash
# Install the Debian 12 packages the build, tests, demo and benchmarks need.
# As root: apt-get installs whatever is missing. Otherwise: print the exact
# command to run and stop, so nothing half-works later.
set -euo pipefail

PKGS=(
    build-essential pkg-config zlib1g-dev
    libgrpc-dev libprotobuf-c-dev protobuf-c-compiler grpc-proto
    libuv1-dev libcunit1-dev libmariadb-dev libmariadb-dev-compat libssl-dev
    libmicrohttpd-dev
    mariadb-server mariadb-client
    valgrind clang libclang-rt-14-dev
    jq openssl procps curl iptables
    chromium python3-bs4 # the status page test: a headless browser, then its DOM read by selector
    sysbench mydumper haproxy
    python3-pymysql python3-prometheus-client
    prometheus
)
# Node.js runs the independent gRPC client test; any installed node will do.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The mariadb-server package would start a system server; we run our own.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged MariaDB where it can; the sandbox does not
# need it, and it would hold port 3306 and memory.
# HAProxy is only a benchmark's baseline: bench-router starts its own.
# Prometheus (promtool, and the server test_prometheus.sh runs on loopback
# with its own config) would scrape and listen on 9090 for nothing.
for svc in mariadb haproxy prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet $svc 2>/dev/null; then
        systemctl stop $svc || true
    fi
done
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet prometheus 2>/dev/null; then
    systemctl disable prometheus >/dev/null 2>&1 || true
fi
# Without systemd, the package's init script may have started it.
if [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
    /etc/init.d/prometheus stop >/dev/null || true
fi
