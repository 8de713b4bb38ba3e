#!/usr/bin/env bash
# Crash test of the delivery engine: during a 50,000-recipient send into
# Postfix's smtp-sink (dumping every message), `kill -9` the delivering
# process 5 times at random moments and restart it. Then compare the dump
# with the recipient list: missing must be 0; duplicates must stay within the
# in-flight window (6 × claim batch + 4 × workers: see delivery/worker.rs),
# which is printed beside them.
#
#   bench/crash.sh
#   RECIPIENTS=20000 KILLS=3 bench/crash.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${RECIPIENTS:-50000}"
KILLS="${KILLS:-5}"
WORKERS="${WORKERS:-24}"
BATCH="${BATCH:-300}"

work=$(mktemp -d)
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill -9 "$worker_pid" 2>/dev/null || true
  pkill -f "smtp-sink -u nobody -D $work/dumps/dump" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && apt-get download -qq postfix >/dev/null 2>&1 && dpkg-deb -x postfix_*.deb pf)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# smtp-sink drops to user nobody before writing its dump files.
chmod 711 "$work"
mkdir -m 1777 "$work/dumps"
LD_LIBRARY_PATH="$work/pf/usr/lib/postfix" "$work/pf/usr/sbin/smtp-sink" -u nobody -D "$work/dumps/dump" -c "127.0.0.1:$port" 1000 >/dev/null 2>&1 &
up=""
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && up=1 && break; sleep 0.05; done
[ -n "$up" ] || { echo "smtp-sink did not start" >&2; exit 1; }

cargo build --release --quiet -p amicale
bin=./target/release/amicale
export AMICALE_DATABASE_URL="sqlite://$work/crash.db"
export AMICALE_SMTP_URL="smtp://127.0.0.1:$port"
export AMICALE_LOG_LEVEL=error
export AMICALE_WORKERS="$WORKERS"
export AMICALE_OUTBOX_BATCH="$BATCH"
# A killed worker's lease must run out before another takes its messages.
export AMICALE_OUTBOX_LEASE_SECS=5
export AMICALE_OUTBOX_POLL_SECS=1
export AMICALE_BIND="127.0.0.1:0"

# The demo's newsletter template (person.first_name, person.promo_year).
"$bin" demo >/dev/null
template=$(python3 - "$work/crash.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select id from templates where kind = 'newsletter' order by id limit 1").fetchone()[0])
PY
)
python3 -c "
print('email,first_name,promo_year')
for i in range($N): print(f'r{i}@crash.example,Membre{i},{1995 + i % 30}')
" > "$work/list.csv"
"$bin" send --template "$template" --to "$work/list.csv" --label crash

remaining() {
  python3 - "$work/crash.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from outbox where state in ('queued','deferred','sending')").fetchone()[0])
PY
}

for k in $(seq 1 "$KILLS"); do
  "$bin" worker >/dev/null 2>&1 &
  worker_pid=$!
  sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 3.0), 2))')"
  kill -9 "$worker_pid" 2>/dev/null || true
  wait "$worker_pid" 2>/dev/null || true
  echo "kill -9 #$k: $(remaining) messages still to deliver"
done
"$bin" worker >/dev/null 2>&1 &
worker_pid=$!
while [ "$(remaining)" != "0" ]; do sleep 1; done
kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
worker_pid=""

python3 - "$work/dumps" "$N" "$((6 * BATCH + 4 * WORKERS))" <<'PY'
import collections, os, re, sys
dumps, n, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for name in os.listdir(dumps):
    text = open(os.path.join(dumps, name), errors="replace").read()
    seen.update(re.findall(r"^X-Rcpt-Args: <([^>]+)>", text, re.M))
expected = {f"r{i}@crash.example" for i in range(n)}
missing = len(expected - set(seen))
duplicates = sum(c - 1 for a, c in seen.items() if c > 1)
print(f"recipients: {n}, delivered distinct: {len(set(seen) & expected)}")
print(f"missing: {missing}")
print(f"duplicates: {duplicates} (in-flight window: {window} = 6 × batch + 4 × workers, per kill)")
sys.exit(1 if missing else 0)
PY
