#!/usr/bin/env bash
# Log pipeline figures for the README: level filtering of 300,000 reference-format lines against jq
# (measured alternately, median of RUNS), and full-parse throughput (every line parsed and printed).
# usage: scripts/bench_logs.sh [RUNS]   (builds the release binary; needs jq and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
ACC=${ACCEPTANCE_DIR:-/work/shared/acceptance}
command -v jq >/dev/null || { echo "jq missing: apt-get install -y --no-install-recommends jq"; exit 1; }
cargo build --release -q
BIN=$PWD/target/release/opsdeck
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
python3 "$ACC/lib/gen_logs.py" 300000 >"$T/big.log"
n=$("$BIN" logs --file "$T/big.log" --level error --json | wc -l)
want=$(jq -c 'select(.level=="ERROR")' "$T/big.log" | wc -l)
[ "$n" = "$want" ] || { echo "count differs: opsdeck $n, jq $want"; exit 1; }
read -r ratio a b < <(python3 "$ACC/lib/ratio.py" "$RUNS" \
  "$BIN logs --file $T/big.log --level error --json" "jq -c 'select(.level==\"ERROR\")' $T/big.log")
echo "level filter, 300k lines ($n records): opsdeck ${a}s, jq ${b}s: ${ratio}x"
s=$(date +%s.%N); "$BIN" logs --file "$T/big.log" --json >/dev/null; e=$(date +%s.%N)
awk -v s="$s" -v e="$e" 'BEGIN{printf "full parse + --json output, 300k lines: %.3fs (%.0f lines/s)\n", e-s, 300000/(e-s)}'
s=$(date +%s.%N); "$BIN" logs --file "$T/big.log" >/dev/null; e=$(date +%s.%N)
awk -v s="$s" -v e="$e" 'BEGIN{printf "full parse + text output, 300k lines: %.3fs (%.0f lines/s)\n", e-s, 300000/(e-s)}'
