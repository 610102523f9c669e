#!/usr/bin/env bash
# `opsdeck check metrics` vs `promtool check metrics` on the ~26 MB exposition of the acceptance
# check (6,000 endpoints), timed alternately (median ratio of 5 runs). Prints: ratio opsdeck_s promtool_s
# usage: scripts/bench_check_metrics.sh [ENDPOINTS]   (run from the repo root)
set -euo pipefail
LIB=${ACCEPTANCE_LIB:-../shared/acceptance/lib}
n=${1:-6000}
cargo build --release -q
tmp=$(mktemp -t exposition.XXXXXX.prom)
trap 'rm -f "$tmp"' EXIT
python3 "$LIB/gen_exposition.py" "$n" >"$tmp"
echo "input: $(du -h "$tmp" | cut -f1), $(wc -l <"$tmp") lines"
read -r ratio a b < <(python3 "$LIB/ratio.py" 5 "target/release/opsdeck check metrics < $tmp" "promtool check metrics < $tmp")
echo "check metrics: ${ratio}x promtool (opsdeck ${a}s, promtool ${b}s)"
