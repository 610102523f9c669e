#!/usr/bin/env bash
# The soak (issue 17, part 4): HOURS (default 24) of virtual time, time-compressed: 3 environments
# x 2,000 series scraped every 15 s into the store, rules evaluated and notified to a loopback
# Alertmanager API that is down for one hour, 1,000 log lines/s parsed into the log buffer, and
# the real `opsdeck deploy` every 10 minutes alternating a good and a bad version.
# Writes target/soak/soak.csv (one row per virtual hour: RSS, threads, fds, tokio tasks, store,
# logs, state directory size, notifications) and target/soak/summary.txt; exits 1 on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
hours="${1:-24}"
cargo build --release --locked
cargo bench --locked --bench soak -- --hours "$hours" --bin target/release/opsdeck --out target/soak
