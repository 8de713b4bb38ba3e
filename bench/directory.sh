#!/usr/bin/env bash
# The directory at scale, on SQLite and on PostgreSQL, with $PEOPLE demo
# persons (default 1,000,000) loaded by `amicale demo --people`:
#  1. quick search through HTTP, 1,000 varied queries (names, "first last",
#     prefixes such as "dup mar", cities, companies, skills; accented and
#     not), p50/p95/p99, against the same search run as raw SQL in-process
#     (line "ratio:" = our overhead);
#  2. a CRM page with 3 filters (city, promo, role), sorted by name, page 1:
#     200 varied, p50/p95/p99 and the same ratio;
#  3. `amicale export people --format csv` of every row: time, peak RSS;
#  4. `amicale import people` of $IMPORT_ROWS (default 100,000) new persons:
#     time, peak RSS.
# Each search runs once in-process first (the cold-cache figure, which also
# brings its pages into the OS cache), then through HTTP and in-process in
# alternating order, so the ratio compares like with like.
# Targets (issue): quick search p95 ≤ 50 ms; CRM page p95 ≤ 150 ms; export
# ≤ 20 s with peak RSS ≤ 200 MB; import ≤ 30 s. Figures only, never a test.
#
# PostgreSQL is ANALYZEd after the load, as autovacuum would soon do;
# SQLite is left as the product leaves it (nothing runs ANALYZE there).
#
#   bench/directory.sh                      # both backends, 1,000,000 persons
#   PEOPLE=50000 bench/directory.sh sqlite  # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-both}"
PEOPLE="${PEOPLE:-1000000}"
IMPORT_ROWS="${IMPORT_ROWS:-100000}"
PG="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
case "$BACKENDS" in
  sqlite | postgres) ;;
  both) BACKENDS="sqlite postgres" ;;
  *) echo "usage: bench/directory.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac

[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
cargo build --release --quiet -p amicale --examples --bins
work=$(mktemp -d)
# Copies: a build started meanwhile in this tree must not swap them mid-run.
cp ./target/release/amicale ./target/release/examples/directory_bench "$work/"
bin="$work/amicale"
bench="$work/directory_bench"
server=""
pg_db=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then psql -q "$PG" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export AMICALE_DATA_DIR="$work/data" AMICALE_LOG_LEVEL=warn AMICALE_WORKERS=0

# `timed OUT CMD…`: runs CMD with stdout to OUT under /usr/bin/time -v;
# then `secs` and `rss_mb` read its wall time and peak RSS.
timed() {
  local out=$1
  shift
  /usr/bin/time -v -o "$work/time.txt" "$@" >"$out"
}
secs() {
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s}' "$work/time.txt"
}
rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}' "$work/time.txt"; }
verdict() { python3 -c "print('met' if $1 <= $2 else 'missed')"; }

# New persons for the import: unique e-mails that no demo person has.
python3 - "$IMPORT_ROWS" >"$work/import.csv" <<'EOF'
import csv, random, sys, unicodedata
n = int(sys.argv[1])
rng = random.Random(2026)
first = ["Camille", "Léa", "Hélène", "Chloé", "Inès", "Élodie", "Lucas", "Hugo", "Sébastien",
         "François", "Théo", "Jérôme", "Étienne", "Mamadou", "Aïcha", "Océane", "Karim", "Rémi"]
last = ["Martin", "Lefèvre", "Dupré", "Guérin", "N'Diaye", "Le Goff", "Da Silva", "Nguyen",
        "Traoré", "Haddad", "Kowalski", "Morel", "Fontaine", "Chevalier", "Benali", "Roussel"]
programmes = ["MMI", "MID", "MFE", "MBA-E", "LP-LOG", "BACH", "MRH", "MDD", "DUT-GEA", "MMC"]
sites = ["Paris", "Lyon", "Lille", "Marseille", "Bordeaux"]
cities = ["Paris", "Lyon", "Marseille", "Toulouse", "Genève", "Montréal", "Dakar", "Berlin"]
def slug(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    return "".join(c if c.isalnum() else "-" for c in s)
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["first_name", "last_name", "email", "promo", "cursus", "campus", "role", "city"])
for i in range(n):
    f, l = rng.choice(first), rng.choice(last)
    promo = rng.randint(1995, 2027)
    w.writerow([f, l, f"{slug(f)}.{slug(l)}.{i}@import.exemple.org", promo, rng.choice(programmes),
                rng.choice(sites), "student" if promo >= 2026 else "alumni", rng.choice(cities)])
EOF

echo "cores: $(nproc); $PEOPLE demo persons; import of $IMPORT_ROWS new persons"
for backend in $BACKENDS; do
  echo "=== $backend"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/directory.db?mode=rwc"
  else
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then echo "postgres: not reachable, skipped"; continue; fi
    pg_db="amicale_dirbench_$$"
    psql -q "$PG" -c "CREATE DATABASE $pg_db" >/dev/null
    url="${PG%/*}/$pg_db"
  fi
  export AMICALE_DATABASE_URL="$url"

  timed "$work/demo.txt" "$bin" demo --people "$PEOPLE"
  # The logins are printed in a frame: "│ administrator password:  … │".
  email=$(awk '/administrator e-mail:/ {gsub("│", ""); print $NF}' "$work/demo.txt")
  password=$(awk '/administrator password:/ {gsub("│", ""); print $NF}' "$work/demo.txt")
  t=$(secs)
  echo "demo load: $PEOPLE persons in $t s ($(python3 -c "print(int($PEOPLE / max($t, 0.1)))") persons/s), peak RSS $(rss_mb) MB"
  if [ "$backend" = sqlite ]; then
    echo "database size: $(du -cm "$work"/directory.db* | awk 'END {print $1}') MB"
  else
    start=$(date +%s.%N)
    psql -q "$url" -c "ANALYZE" >/dev/null
    echo "ANALYZE: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s; database size: $(psql -At "$url" -c "SELECT pg_database_size(current_database()) / 1048576") MB"
  fi

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  AMICALE_BIND="127.0.0.1:$port" "$bin" serve >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  "$bench" "http://127.0.0.1:$port" "$url" "$email" "$password"
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
  if grep -qiE 'error|panic' "$work/server.log"; then
    echo "server log (errors):"
    grep -iE 'error|panic' "$work/server.log" | head -5
  fi

  timed "$work/export.csv" "$bin" export people --format csv
  t=$(secs)
  rss=$(rss_mb)
  rows=$(($(wc -l <"$work/export.csv") - 1))
  echo "export: $rows rows to CSV ($(du -m "$work/export.csv" | cut -f1) MB) in $t s, peak RSS $rss MB"
  echo "target: export $t s (≤ 20 s: $(verdict "$t" 20)), peak RSS $rss MB (≤ 200 MB: $(verdict "$rss" 200))"
  rm -f "$work/export.csv"

  status=0
  timed "$work/import.json" "$bin" import people "$work/import.csv" || status=$?
  t=$(secs)
  summary=$(python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    r["rejected"] = len(r["rejected"])
    print("created %(created)s, updated %(updated)s, unchanged %(unchanged)s, rejected %(rejected)s, written %(written)s" % r)
except Exception as e:
    print(f"no report ({e})")' "$work/import.json")
  echo "import: $IMPORT_ROWS rows in $t s (exit $status; $summary), peak RSS $(rss_mb) MB"
  echo "target: import $t s (≤ 30 s: $(verdict "$t" 30))"

  if [ "$backend" = postgres ]; then
    psql -q "$PG" -c "DROP DATABASE $pg_db WITH (FORCE)" >/dev/null
    pg_db=""
  else
    rm -f "$work"/directory.db*
  fi
done
