#!/usr/bin/env bash
# The README's "What differs on VictoriaMetrics": the demo fleet scraped every second by Prometheus
# and by VictoriaMetrics, then the same queries asked of both at the same instant (40 s ago, past
# VictoriaMetrics's default 30 s latency offset). Prints SAME/DIFF per query with examples.
# Needs: prometheus, victoria-metrics (Debian packages), python3, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/opsdeck
[ -x "$BIN" ] || cargo build --release -q
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(port) VP=$(port)
"$BIN" demo --serve-only --write-config "$D/demo.toml" --state-dir "$D/st" >"$D/demo.out" 2>&1 &
for _ in $(seq 1 100); do [ -s "$D/demo.toml" ] && break; sleep 0.1; done
python3 - "$D" <<'PY'
import sys, tomllib, urllib.parse
d = sys.argv[1]
cfg = tomllib.load(open(f"{d}/demo.toml", "rb"))
out = ["global: {scrape_interval: 1s, scrape_timeout: 1s}", "scrape_configs:"]
jobs = {}
for e in cfg["environment"]:
    for sc in e.get("scrape", []):
        for u in sc["urls"]:
            p = urllib.parse.urlparse(u)
            jobs.setdefault((sc["job"], p.path or "/metrics"), []).append((e["name"], p.netloc))
for i, ((job, path), ts) in enumerate(jobs.items()):
    out.append(f"  - job_name: '{job}-{i}'\n    metrics_path: '{path}'\n    static_configs:")
    for env, addr in ts:
        out.append(f"      - targets: ['{addr}']\n        labels: {{env: '{env}', job: '{job}'}}")
open(f"{d}/scrape.yml", "w").write("\n".join(out) + "\n")
PY
prometheus --config.file="$D/scrape.yml" --storage.tsdb.path="$D/prom" --web.listen-address=127.0.0.1:$PP --log.level=warn >"$D/prom.log" 2>&1 &
victoria-metrics -httpListenAddr=127.0.0.1:$VP -storageDataPath="$D/vm" -promscrape.config="$D/scrape.yml" -loggerLevel=WARN >"$D/vm.log" 2>&1 &
echo "scraping for 90 s…" >&2
sleep 90
python3 - "$PP" "$VP" <<'PY'
import json, sys, time, urllib.parse, urllib.request
pp, vp = sys.argv[1:3]
t = time.time() - 40
def q(port, e):
    d = urllib.parse.urlencode({"query": e, "time": t}).encode()
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query", d))["data"]
def flat(d):
    if d["resultType"] != "vector":
        return d["resultType"], d["result"][1] if d["resultType"] == "scalar" else d["result"]
    return "vector", {json.dumps(s["metric"], sort_keys=True): s["value"][1] for s in d["result"]}
for e in ["up", "rate(http_requests_total[1m])", "increase(http_requests_total[1m])",
          "sum by (env) (rate(http_requests_total[1m]))",
          "histogram_quantile(0.95, sum by (le, env) (rate(http_request_duration_seconds_bucket[1m])))",
          "irate(http_requests_total[1m])", "max_over_time(up[1m])", "count_over_time(up[30s])",
          "scalar(count(up))", "absent(nope)"]:
    a, b = flat(q(pp, e)), flat(q(vp, e))
    print(("SAME " if a == b else "DIFF ") + e)
    if a != b:
        if a[0] != b[0]:
            print(f"    Prometheus {a[0]}, VictoriaMetrics {b[0]}")
        elif isinstance(a[1], dict):
            common = sorted(set(a[1]) & set(b[1]))
            for k in common[:2]:
                print(f"    {k[:90]}: Prometheus {a[1][k]}, VictoriaMetrics {b[1][k]}")
            only = sorted(set(a[1]) ^ set(b[1]))
            for k in only[:2]:
                print(f"    only in {'Prometheus' if k in a[1] else 'VictoriaMetrics'}: {k[:90]}")
PY
