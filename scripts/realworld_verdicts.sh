#!/usr/bin/env bash
# Records promtool's verdicts on the real-world rule and test files in tests/data/realworld/ (see its
# INDEX.md): `promtool check rules` for each rule file, `promtool test rules` for each test file,
# run from the file's directory, as a team runs them. The test suite (tests/conformance/realworld.rs)
# compares `opsdeck rules check` / `rules test` with these exit codes. Re-run after adding a file.
set -euo pipefail
cd "$(dirname "$0")/../tests/data/realworld"
promtool --version 2>&1 | grep -qE 'version 2\.42\.' || { echo "promtool 2.42 is needed (apt-get install prometheus)" >&2; exit 2; }
out=verdicts.tsv
{
  echo "# kind	file	promtool 2.42 exit code (written by scripts/realworld_verdicts.sh)"
  for f in $(find . -name '*.yml' -o -name '*.yaml' | sort); do
    f=${f#./}
    case $f in
      *test*) kind=test; cmd="test rules" ;;
      *) kind=check; cmd="check rules" ;;
    esac
    set +e
    (cd "$(dirname "$f")" && promtool $cmd "$(basename "$f")") >/dev/null 2>&1
    rc=$?
    set -e
    printf '%s\t%s\t%s\n' "$kind" "$f" "$rc"
  done
} >"$out"
cat "$out"
