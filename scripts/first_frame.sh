#!/usr/bin/env bash
# Time from `opsdeck demo` starting in a real terminal (tmux, 160x45) to the first frame showing data
# (an environment's version and latency). Prints one line per run and the median.
# usage: scripts/first_frame.sh [RUNS]   (run from the repo root; builds the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
[ -n "${OPSDECK_BIN:-}" ] || cargo build --release -q
BIN=${OPSDECK_BIN:-$PWD/target/release/opsdeck}
SOCK=opsdeck-ff-$$
trap 'tmux -L $SOCK kill-server 2>/dev/null || true' EXIT
times=()
for i in $(seq 1 "$RUNS"); do
  st=$(mktemp -d)
  t0=$(date +%s%N)
  tmux -L "$SOCK" new-session -d -s ff -x 160 -y 45 "$BIN demo --state-dir $st"
  until tmux -L "$SOCK" capture-pane -p -t ff | grep -qE '1\.[0-9]+\.[0-9]+ .*ago|[0-9.]+ms +[^ ]+ 1\.[0-9]'; do sleep 0.01; done
  t1=$(date +%s%N)
  tmux -L "$SOCK" kill-server
  ms=$(( (t1 - t0) / 1000000 )); times+=("$ms"); echo "run $i: ${ms} ms"; rm -rf "$st"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END{print "first frame with data (median of " NR "): " a[int((NR+1)/2)] " ms"}'
