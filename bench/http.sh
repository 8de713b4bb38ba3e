#!/usr/bin/env bash
# Requests per second of the login page and of a bare handler (/ping) served
# by the same release binary through the same middleware stack, with wrk.
# The ratio says what the page itself (template, i18n, CSRF token) costs.
#
#   bench/http.sh            # 10 s per endpoint, 2 threads, 32 connections
#   DURATION=30s bench/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"

command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AMICALE_DATABASE_URL="sqlite://$work/bench.db" AMICALE_BIND="127.0.0.1:$port" AMICALE_LOG_LEVEL=warn \
  ./target/release/amicale serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done

rate() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port$1" >"$work/wrk.txt"
  grep -E '^Requests/sec' "$work/wrk.txt" | awk '{print $2}'
}
curl -fs "http://127.0.0.1:$port/login" >/dev/null
login=$(rate /login)
ping=$(rate /ping)
echo "cores: $(nproc), wrk -t2 -c$CONNECTIONS -d$DURATION (client and server share the machine)"
echo "GET /login  : $login requests/s"
echo "GET /ping   : $ping requests/s (same middleware stack, no page)"
python3 -c "print(f'ratio /login ÷ /ping: {float(\"$login\")/float(\"$ping\"):.2f}')"
