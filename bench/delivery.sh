#!/usr/bin/env bash
# Delivery throughput against Postfix's smtp-sink on loopback.
#  1. ceiling: smtp-source -s 20 -d -l 5120 -m $N (20 sessions reusing their
#     connections, 5 KB messages), median of 3;
#  2. the product's real path (templated send → outbox → workers → SMTP) for
#     $N personalised 5 KB HTML+text e-mails with tracked links and pixel,
#     on SQLite and on PostgreSQL.
# Prints messages/s, the ratio to the ceiling (line "ratio:"), p50/p99
# enqueue→accepted and peak RSS.
#
#   bench/delivery.sh                 # 100,000 recipients, 24 connections, claims of 300
#   RECIPIENTS=20000 WORKERS=8 BATCH=100 bench/delivery.sh   # the product's defaults
#
# 24 connections and claims of 300 (AMICALE_WORKERS, AMICALE_OUTBOX_BATCH)
# are what a network sending large mailings would set: on 2 cores they send
# a quarter more messages a second than the defaults, which suit a relay
# that limits connections. bench/crash.sh uses the same values.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${RECIPIENTS:-100000}"
WORKERS="${WORKERS:-24}"
# Messages per claim (AMICALE_OUTBOX_BATCH, as in the product).
export AMICALE_OUTBOX_BATCH="${BATCH:-300}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

work=$(mktemp -d)
cleanup() { pkill -f "smtp-sink -u nobody -c 127.0.0.1:$port" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# smtp-sink and smtp-source come in Debian's postfix package; unpacked only,
# no daemon is installed or started.
(cd "$work" && apt-get download -qq postfix >/dev/null 2>&1 && dpkg-deb -x postfix_*.deb pf)
export LD_LIBRARY_PATH="$work/pf/usr/lib/postfix"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/pf/usr/sbin/smtp-sink" -u nobody -c "127.0.0.1:$port" 1000 >/dev/null 2>&1 &
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

ceiling_runs=()
for _ in 1 2 3; do
  start=$(date +%s.%N)
  "$work/pf/usr/sbin/smtp-source" -s 20 -d -l 5120 -m "$N" "127.0.0.1:$port"
  end=$(date +%s.%N)
  ceiling_runs+=("$(python3 -c "print(int($N/($end-$start)))")")
done
ceiling=$(printf '%s\n' "${ceiling_runs[@]}" | sort -n | sed -n 2p)

LD_LIBRARY_PATH= cargo build --release --quiet -p amicale --example delivery_bench
bench=./target/release/examples/delivery_bench
echo "cores: $(nproc); smtp-source ceiling (median of ${ceiling_runs[*]}): $ceiling messages/s"

# RSA signing is CPU-bound: its own ceiling is this machine's signatures/s.
rsa_sign=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $6}')
rsa_ceiling=$(python3 -c "print(int(min($ceiling, $rsa_sign * $(nproc))))")
echo "openssl rsa2048 signatures/s: $rsa_sign × $(nproc) cores; run B ceiling: $rsa_ceiling messages/s"

run() {
  local label=$1 url=$2 dkim=$3 limit=$4
  out=$(LD_LIBRARY_PATH= "$bench" "$url" "smtp://127.0.0.1:$port" "$N" "$WORKERS" "$dkim")
  echo "--- $label"
  echo "$out"
  rate=$(echo "$out" | awk '/^messages\/s:/ {print $2}')
  python3 -c "print(f'ratio: {$rate/$limit:.2f} ($label, tracking on)')"
}
pg_db() {
  local db="amicale_bench_$$_$1"
  psql -q "$PG" -c "CREATE DATABASE $db" >/dev/null
  echo "${PG%/*}/$db"
}
run "A: sqlite, ed25519 DKIM" "sqlite://$work/a.db" ed25519 "$ceiling"
run "B: sqlite, RSA-2048 DKIM" "sqlite://$work/b.db" rsa "$rsa_ceiling"
if pg_isready -q -h 127.0.0.1 -p 5432; then
  run "A: postgres, ed25519 DKIM" "$(pg_db a)" ed25519 "$ceiling"
  for d in a; do psql -q "$PG" -c "DROP DATABASE amicale_bench_$$_$d WITH (FORCE)" >/dev/null; done
else
  echo "--- postgres: not reachable, skipped"
fi
