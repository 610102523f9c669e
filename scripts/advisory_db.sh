#!/usr/bin/env bash
# The RustSec advisories `cargo deny check advisories` reads when GitHub is out of reach (the CI
# machines reach crates.io only):
#   bash scripts/advisory_db.sh refresh [CLONE]   copy the advisories of every crate in Cargo.lock
#                                                  from a clone of github.com/rustsec/advisory-db
#                                                  (cloned when CLONE is not given) into deny/advisory-db
#   bash scripts/advisory_db.sh prepare            make target/advisory-dbs/ hold the live database
#                                                  when GitHub answers, else the vendored snapshot
# An advisory for a crate added to Cargo.lock after the snapshot is not in it: refresh when the
# lock file gains crates (deny/advisory-db/SNAPSHOT says when it was taken).
set -euo pipefail
cd "$(dirname "$0")/.."
URL=https://github.com/rustsec/advisory-db
# cargo-deny's directory for that URL (its url_to_db_path: last path segment + XxHash64 of the URL)
DB=target/advisory-dbs/advisory-db-3157b0e258782691
SNAP=deny/advisory-db

case "${1:-}" in
refresh)
  src=${2:-}
  if [ -z "$src" ]; then src=$(mktemp -d)/advisory-db; git clone -q --depth 1 "$URL" "$src"; fi
  rm -rf "$SNAP"; mkdir -p "$SNAP/crates"
  for c in $(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.lock | sort -u); do
    [ -d "$src/crates/$c" ] && cp -r "$src/crates/$c" "$SNAP/crates/"
  done
  cp "$src/LICENSE.txt" "$SNAP/"
  { echo "commit $(git -C "$src" rev-parse HEAD)"; echo "date $(git -C "$src" show -s --format=%cI HEAD)"
    echo "crates $(ls "$SNAP/crates" | wc -l) (those of Cargo.lock with an advisory), advisories $(find "$SNAP/crates" -name '*.md' | wc -l)"; } >"$SNAP/SNAPSHOT"
  cat "$SNAP/SNAPSHOT"
  ;;
prepare)
  if timeout 15 git ls-remote -q "$URL" HEAD >/dev/null 2>&1; then
    echo "advisories: the live RustSec database ($URL)" >&2; rm -rf "$DB"; echo fetch
  else
    date=$(sed -n 's/^date //p' "$SNAP/SNAPSHOT")
    echo "advisories: GitHub unreachable; the vendored RustSec snapshot of $date ($SNAP/SNAPSHOT)" >&2
    rm -rf "$DB"; mkdir -p "$DB"; cp -r "$SNAP/crates" "$DB/"
    git -C "$DB" init -q
    git -C "$DB" add -A
    GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date git -C "$DB" -c user.name=opsdeck -c user.email=ci@opsdeck.invalid \
      commit -q -m "RustSec snapshot $(sed -n 's/^commit //p' "$SNAP/SNAPSHOT")"
    echo offline
  fi
  ;;
*) echo "usage: $0 refresh [CLONE] | prepare" >&2; exit 2;;
esac
