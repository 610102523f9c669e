#!/usr/bin/env bash
# Fuzz every target in fuzz/ for FUZZ_MINUTES minutes each (default 10), one after another,
# one libFuzzer worker at a time, and append one result line per target to FUZZ_RESULTS
# (default fuzz/RESULTS.md): target, minutes, executions, crashes found, corpus size.
#
#   bash scripts/fuzz.sh                                  # all targets, 10 minutes each
#   FUZZ_MINUTES=1 FUZZ_TARGETS="promql config" bash scripts/fuzz.sh
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). Seeds are
# read from fuzz/seeds/TARGET (committed); what the fuzzer learns goes to fuzz/corpus/TARGET
# (ignored by git), findings to fuzz/artifacts/TARGET, each run's log to fuzz/logs/TARGET.log.
# libFuzzer stops at the first crash; the script then records it and resumes the target with
# the time left (at most FUZZ_MAX_RESTARTS times), so every target gets its full time.
set -uo pipefail
cd "$(dirname "$0")/.."

minutes=${FUZZ_MINUTES:-10}
results=${FUZZ_RESULTS:-fuzz/RESULTS.md}
max_restarts=${FUZZ_MAX_RESTARTS:-20}

# Build once, then run the binaries themselves (what `cargo fuzz run` executes), so a source
# edit during a long run does not rebuild in the middle of it.
cargo +nightly fuzz build || exit 1
bin=fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}

mkdir -p fuzz/logs
if [ ! -s "$results" ]; then
    {
        echo "| date (UTC) | target | minutes | executions | crashes found | corpus (files) |"
        echo "|---|---|---|---|---|---|"
    } >"$results"
fi

findings() { # crash-, timeout-, oom- and leak- files under fuzz/artifacts/$1
    find "fuzz/artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) 2>/dev/null | wc -l
}

for t in $targets; do
    corpus=fuzz/corpus/$t
    log=fuzz/logs/$t.log
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    : >"$log"
    before=$(findings "$t")
    total=$((minutes * 60))
    start=$(date +%s)
    execs=0
    runs=0
    while :; do
        left=$((total - ($(date +%s) - start)))
        [ "$left" -gt 0 ] || break
        [ "$runs" -le "$max_restarts" ] || break
        runs=$((runs + 1))
        echo "== $t: run $runs, ${left}s left" >>"$log"
        "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$left" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 "$corpus" "fuzz/seeds/$t" >>"$log.run" 2>&1
        status=$?
        # The executions of this run: libFuzzer's final stats, or its last status line when a
        # crash cut the run short before the stats were printed.
        n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log.run" | tail -1 | grep -o '[0-9]*$')
        [ -n "$n" ] || n=$(grep -oE '^#[0-9]+' "$log.run" | tail -1 | tr -d '#')
        execs=$((execs + ${n:-0}))
        cat "$log.run" >>"$log"
        rm -f "$log.run"
        [ "$status" -eq 0 ] && break
    done
    crashes=$(($(findings "$t") - before))
    files=$(find "$corpus" -type f | wc -l)
    ran=$(( ($(date +%s) - start + 30) / 60 ))
    line="| $(date -u +%Y-%m-%dT%H:%MZ) | $t | $ran | $execs | $crashes | $files |"
    echo "$line" >>"$results"
    echo "$line"
done
