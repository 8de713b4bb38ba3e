#!/usr/bin/env bash
# Renders per second of one ~5 KB personalised HTML e-mail (≈25 merge fields,
# a date filter, a loop over 5 participants), compiled once, for many
# recipients on one core: amicale-merge (minijinja) against Python's Jinja2
# rendering the same template text and data. Targets: ≥ 100,000 renders/s
# and ≥ 10× Jinja2.
#
#   bench/merge.sh                 # 100,000 recipients each
#   RECIPIENTS=20000 bench/merge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPIENTS="${RECIPIENTS:-100000}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Debian ships venv's pip bootstrap separately.
python3 -m venv "$work/venv" 2>/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv "$work/venv"
}
"$work/venv/bin/pip" install --quiet --disable-pip-version-check jinja2

cargo build --release --quiet -p amicale-merge --example merge_bench

pin=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi

echo "cores: $(nproc), pinned: ${pin[*]:-no}, recipients: $RECIPIENTS"
ours_out=$(MERGE_BENCH_SAMPLE="$work/ours.html" "${pin[@]}" ./target/release/examples/merge_bench "$RECIPIENTS")
echo "$ours_out"
theirs_out=$(MERGE_BENCH_SAMPLE="$work/jinja2.html" "${pin[@]}" "$work/venv/bin/python" bench/merge_jinja2.py "$RECIPIENTS")
echo "$theirs_out"

ours=$(echo "$ours_out" | awk '/^amicale-merge renders\/s:/ {print $3}')
theirs=$(echo "$theirs_out" | awk '/renders\/s:/ {print $NF}')
# Both renders must say the same thing; they differ only in how they spell
# escapes (minijinja also escapes "/", and writes &#x27; for Jinja2's &#39;).
normalise() { sed -e 's/&#x2f;/\//g' -e 's/&#x27;/\&#39;/g' -e 's/&#34;/\&quot;/g' "$1"; }
if diff <(normalise "$work/ours.html") <(normalise "$work/jinja2.html") >"$work/diff.txt"; then
  echo "outputs: identical (after normalising escapes)"
else
  echo "outputs: DIFFER"; head -20 "$work/diff.txt"
fi
python3 -c "print(f'ratio: {float(\"$ours\")/float(\"$theirs\"):.2f}')"
