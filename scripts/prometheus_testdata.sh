#!/usr/bin/env bash
# Prometheus v2.42.0's own test files (its PromQL engine tests and promtool's fixtures), which the
# test suite runs but this repository does not commit (they are upstream's work). Puts them in
# target/prometheus-v2.42/{promql,promtool}: copied from a `shared/prometheus-v2.42` folder beside
# the checkout when there is one, otherwise a shallow, sparse clone of the upstream tag.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/prometheus-v2.42
if [ -f "$dest/promql/functions.test" ] && [ -f "$dest/promtool/unittest.yml" ]; then
  exit 0
fi
rm -rf "$dest"; mkdir -p target
beside=$(cd .. && pwd)/shared/prometheus-v2.42
if [ -d "$beside/promql" ] && [ -d "$beside/promtool" ]; then
  mkdir -p "$dest"
  cp -r "$beside/promql" "$beside/promtool" "$dest/"
  [ -f "$beside/LICENSE" ] && cp "$beside/LICENSE" "$dest/"
  echo "prometheus test data: copied from $beside"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q --depth 1 --branch v2.42.0 --filter=blob:none --sparse https://github.com/prometheus/prometheus "$tmp/p"
git -C "$tmp/p" sparse-checkout set promql/testdata cmd/promtool/testdata
mkdir -p "$dest"
cp -r "$tmp/p/promql/testdata" "$dest/promql"
cp -r "$tmp/p/cmd/promtool/testdata" "$dest/promtool"
cp "$tmp/p/LICENSE" "$dest/"
echo "prometheus test data: cloned v2.42.0"
