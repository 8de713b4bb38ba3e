#!/usr/bin/env bash
# Automatic rules at scale, on SQLite and on PostgreSQL: 200 active rules
# over 100,000 events with 1,000,000 participations; the time of one
# nightly evaluation (select, decide, render data, claim, enqueue) and of a
# second run the same day (which must enqueue nothing); then a campaign to
# every person: time of the request (scheduling) and of the background
# launch. Target (issue): nightly evaluation <= 10 s; the campaign request
# returns in <= 2 s. Figures only, never a test.
#
#   bench/rules.sh                 # both backends
#   EVENTS=10000 bench/rules.sh sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-both}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
case "$BACKENDS" in
  sqlite | postgres) ;;
  both) BACKENDS="sqlite postgres" ;;
  *) echo "usage: bench/rules.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
cargo build --release --quiet -p amicale --example rules_bench
work=$(mktemp -d)
cp ./target/release/examples/rules_bench "$work/"
trap 'rm -rf "$work"' EXIT
echo "cores: $(nproc); PEOPLE=${PEOPLE:-100000} EVENTS=${EVENTS:-100000} PER_EVENT=${PER_EVENT:-10} RULES=${RULES:-200}"
for backend in $BACKENDS; do
  echo "=== $backend"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/rules.db?mode=rwc"
  else
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then echo "postgres: not reachable, skipped"; continue; fi
    pg_db="amicale_rulesbench_$$"
    psql -q "$PG" -c "CREATE DATABASE $pg_db" >/dev/null
    url="${PG%/*}/$pg_db"
  fi
  AMICALE_LOG_LEVEL=warn /usr/bin/time -v -o "$work/time.txt" "$work/rules_bench" "$url"
  awk '/Maximum resident set size/ {printf "peak RSS: %.0f MB\n", $6 / 1024}' "$work/time.txt"
  if [ "$backend" = postgres ]; then psql -q "$PG" -c "DROP DATABASE $pg_db" >/dev/null; fi
done
