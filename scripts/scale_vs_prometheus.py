#!/usr/bin/env python3
"""opsdeck and a real Prometheus 2.42 side by side on the same loopback fleet, in one run.

    python3 scripts/scale_vs_prometheus.py [--targets 50] [--interval 1] [--seconds 180]

A fixture serves TARGETS node-exporter-like targets of about 1,000 series each (every value a
function of the current second, so two scrapers in the same second read the same body). Prometheus
(`prometheus` on PATH, Debian's package) and the opsdeck dashboard (the release build, in a private
tmux server) scrape them every INTERVAL seconds and evaluate the same rule files every 5 s: the
reference rules (assets/alert_rules.yml) and awesome-prometheus-alerts' node-exporter rules
(tests/data/realworld), 38 rules. Both send their alerts to one loopback Alertmanager stand-in that
records what each sent. After SECONDS it reports, for each:

  - RSS at the end, and CPU seconds over the window, per million samples ingested;
  - the rule groups' evaluation time: Prometheus's `prometheus_rule_group_last_duration_seconds`
    (summed over groups, sampled every 5 s over the last minute, median) against opsdeck's own
    figure of the same thing (its log, once a minute: every group's last evaluation, summed);
  - the firing alerts each sent (labels), which must be the same set;
  - opsdeck's bytes per sample (its footer).

The ratios are opsdeck / Prometheus; the goals of issue 18 are RSS <= 0.5, CPU <= 0.5 and rule
evaluation <= 1. The last line is one summary. Exit 1 when a run could not be made (a server did
not start, a target never came up) or the alert sets differ; the ratios are reported, not judged.
"""

import argparse
import http.server
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE_FILES = [
    os.path.join(ROOT, "assets/alert_rules.yml"),
    os.path.join(ROOT, "tests/data/realworld/awesome-prometheus-alerts/host-and-hardware_node-exporter.rules.yml"),
]
EVAL_S = 5
TICK = os.sysconf("SC_CLK_TCK")


# --- the fleet --------------------------------------------------------------------------------

def node_families(i):
    """(name, type, [(labels, base, slope_or_amplitude)]) for target i: about 1,000 series, the
    metrics the node-exporter rules read included. A few targets are broken on purpose, so some
    alerts fire (for: 0m and 2m), some stay pending (5m, 1w) and most never match."""
    rnd = random.Random(i)
    fam = []

    def add(name, typ, rows):
        fam.append((name, typ, rows))

    def j(x, spread=0.2):  # a target's own value near x
        return x * rnd.uniform(1 - spread, 1 + spread)

    cpus = range(16)
    idle = {"idle": 0.9, "user": 0.05, "system": 0.03, "iowait": 0.01, "irq": 0.002, "softirq": 0.004,
            "nice": 0.0, "steal": 0.001}
    add("node_cpu_seconds_total", "counter",
        [(f'cpu="{c}",mode="{m}"', j(1e5), j(r, 0.05)) for c in cpus for m, r in idle.items()])
    for c in ("running_seconds_total", "waiting_seconds_total", "timeslices_total"):
        add(f"node_schedstat_{c}", "counter", [(f'cpu="{x}"', j(1e6), j(50)) for x in cpus])
    nics = [f'device="eth{d}"' for d in range(12)]
    for m in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets", "receive_errs",
              "transmit_errs", "receive_drop", "transmit_drop", "receive_multicast", "transmit_colls"):
        slope = 1e5 if "bytes" in m else (0 if m.endswith(("errs", "drop", "colls")) else 100)
        add(f"node_network_{m}_total", "counter", [(n, j(1e9), j(slope) if slope else 0) for n in nics])
    add("node_network_speed_bytes", "gauge", [(n, 1.25e9, 0) for n in nics])
    add("node_network_up", "gauge", [(n, 1, 0) for n in nics])
    disks = [f'device="nvme{d}n1"' for d in range(10)]
    for m, slope in (("reads_completed", 200), ("writes_completed", 300), ("read_bytes", 4e6),
                     ("written_bytes", 6e6), ("read_time_seconds", 0.2), ("write_time_seconds", 0.3),
                     ("io_time_seconds", 0.05), ("io_time_weighted_seconds", 0.5), ("reads_merged", 5),
                     ("writes_merged", 8), ("discards_completed", 1), ("flush_requests", 2)):
        add(f"node_disk_{m}_total", "counter", [(d, j(1e6), j(slope)) for d in disks])
    mounts = [f'device="/dev/nvme{d}n1p1",fstype="ext4",mountpoint="/srv/vol{d}"' for d in range(8)]
    size = 1e12
    avail = [size * (0.03 if i == 1 and k == 0 else j(0.5)) for k in range(8)]
    add("node_filesystem_size_bytes", "gauge", [(m, size, 0) for m in mounts])
    add("node_filesystem_avail_bytes", "gauge", [(m, a, 0) for m, a in zip(mounts, avail)])
    add("node_filesystem_free_bytes", "gauge", [(m, a * 1.05, 0) for m, a in zip(mounts, avail)])
    add("node_filesystem_files", "gauge", [(m, 6e7, 0) for m in mounts])
    add("node_filesystem_files_free", "gauge", [(m, j(4e7), 0) for m in mounts])
    add("node_filesystem_readonly", "gauge", [(m, 0, 0) for m in mounts])
    add("node_filesystem_device_error", "gauge", [(m, 0, 0) for m in mounts])
    sensors = [f'chip="platform_coretemp_0",sensor="temp{s}"' for s in range(24)]
    hot = i == 4
    add("node_hwmon_temp_celsius", "gauge", [(s, 95 if hot and k == 0 else j(50), 2) for k, s in enumerate(sensors)])
    add("node_hwmon_temp_max_celsius", "gauge", [(s, 90, 0) for s in sensors])
    add("node_hwmon_temp_crit_alarm_celsius", "gauge", [(s, 0, 0) for s in sensors])
    add("node_hwmon_temp_alarm", "gauge", [(s, 0, 0) for s in sensors])
    units = [f"svc{u:02}.service" for u in range(59)] + ["backup.service"]
    states = ("activating", "active", "deactivating", "failed", "inactive")
    rows = []
    for u in units:
        now = "failed" if i == 2 and u == "backup.service" else "active"
        rows += [(f'name="{u}",state="{s}",type="simple"', 1 if s == now else 0, 0) for s in states]
    add("node_systemd_unit_state", "gauge", rows)
    add("node_vmstat_pgmajfault", "counter", [("", j(1e5), j(5))])
    add("node_vmstat_oom_kill", "counter", [("", 0, 0)])
    for v in range(38):
        add(f"node_vmstat_stat{v:02}", "counter", [("", j(1e7), j(100))])
    total = 64 * 2**30
    mem = {"MemTotal": total, "MemAvailable": total * (0.05 if i == 0 else j(0.5)), "MemFree": total * j(0.3),
           "SwapTotal": 8 * 2**30, "SwapFree": 8 * 2**30 * j(0.9, 0.05)}
    for k in range(35):
        mem[f"Field{k:02}"] = j(2**30)
    for name, v in mem.items():
        add(f"node_memory_{name}_bytes", "gauge", [("", v, 0)])
    add("node_md_disks_required", "gauge", [(f'device="md{d}"', 2, 0) for d in range(2)])
    add("node_md_disks", "gauge", [(f'device="md{d}",state="{s}"', (1 if i == 5 and d == 0 else 2) if s == "active"
                                    else (1 if i == 5 and d == 0 and s == "failed" else 0), 0)
                                   for d in range(2) for s in ("active", "failed", "spare")])
    add("node_edac_correctable_errors_total", "counter", [(f'controller="{c}"', 0, 0) for c in range(2)])
    add("node_edac_uncorrectable_errors_total", "counter", [(f'controller="{c}"', 2 if i == 3 else 0, 0) for c in range(2)])
    for name, v in (("offset_seconds", 0.001), ("maxerror_seconds", 0.2), ("sync_status", 1), ("frequency_adjustment_ratio", 1),
                    ("estimated_error_seconds", 0.0001), ("loop_time_constant", 7), ("pps_frequency_hertz", 0),
                    ("status", 8193), ("tai_offset_seconds", 37), ("tick_seconds", 0.01)):
        add(f"node_timex_{name}", "gauge", [("", v, 0)])
    add("node_nf_conntrack_entries", "gauge", [("", j(3000), 100)])
    add("node_nf_conntrack_entries_limit", "gauge", [("", 262144, 0)])
    add("node_context_switches_total", "counter", [("", j(1e9), j(2e4))])
    add("node_uname_info", "gauge", [(f'machine="x86_64",nodename="node{i:02}",release="6.1.0-27-amd64",sysname="Linux"', 1, 0)])
    for w in ("1", "5", "15"):
        add(f"node_load{w}", "gauge", [("", j(2), 0.5)])
    add("node_bonding_active", "gauge", [('master="bond0"', 2, 0)])
    add("node_bonding_slaves", "gauge", [('master="bond0"', 2, 0)])
    add("node_boot_time_seconds", "gauge", [("", 1.7e9, 0)])
    return fam


class Target:
    """One target's exposition, rendered once per second (both scrapers in a second read one body)."""

    def __init__(self, i):
        self.fams = []
        for name, typ, rows in node_families(i):
            lines = [(f"{name}{{{ls}}}" if ls else name, base, k, (hash(ls) % 628) / 100) for ls, base, k in rows]
            # Printed as node_exporter prints them: seconds to the centisecond, other counters and
            # large gauges as integers, small gauges to 4 digits.
            fmt = "{:.2f}" if name.endswith("seconds_total") else "{:.0f}" if typ == "counter" else None
            self.fams.append((f"# HELP {name} {name}\n# TYPE {name} {typ}\n", typ == "counter", fmt, lines))
        self.series = sum(len(f[-1]) for f in self.fams)
        self.lock = threading.Lock()
        self.cached = (None, b"")

    def body(self):
        t = int(time.time())
        with self.lock:
            if self.cached[0] != t:
                out = []
                for head, counter, fmt, lines in self.fams:
                    out.append(head)
                    if counter:
                        out.extend(f"{s} {fmt.format(base + k * t)}\n" for s, base, k, _ in lines)
                    else:
                        for s, base, k, ph in lines:
                            v = base + k * math.sin(t / 60 + ph)
                            out.append(f"{s} {v:.0f}\n" if abs(v) >= 1e4 else f"{s} {v:.4g}\n")
                self.cached = (t, "".join(out).encode())
            return self.cached[1]


class Fleet:
    def __init__(self, n):
        self.targets = [Target(i) for i in range(n)]
        self.scrapes = {}
        self.alerts = {}  # sender -> {labels key: (labels, endsAt)}
        self.lock = threading.Lock()
        self.servers = []
        fleet = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, body, ctype):
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.server.target is None:  # opsdeck reads the stand-in's groups and silences
                    return self.reply(b"[]", "application/json")
                ua = (self.headers.get("User-Agent") or "-").split("/")[0].lower()
                with fleet.lock:
                    fleet.scrapes[ua] = fleet.scrapes.get(ua, 0) + 1
                self.reply(self.server.target.body(), "text/plain; version=0.0.4")

            def do_POST(self):  # the Alertmanager stand-in: /prometheus/… and /opsdeck/…
                sender = self.path.strip("/").split("/")[0]
                batch = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"[]")
                with fleet.lock:
                    got = fleet.alerts.setdefault(sender, {})
                    for a in batch:
                        got[json.dumps(a["labels"], sort_keys=True)] = a.get("endsAt") or ""
                self.reply(b'{"status":"success"}', "application/json")

        for t in self.targets + [None]:
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            s.daemon_threads = True
            s.target = t
            threading.Thread(target=s.serve_forever, daemon=True).start()
            self.servers.append(s)
        self.ports = [s.server_address[1] for s in self.servers[:-1]]
        self.sink = self.servers[-1].server_address[1]

    def firing(self, sender):
        """Label sets `sender` last said are firing (endsAt still ahead)."""
        now = time.time()
        out = set()
        with self.lock:
            for key, ends in self.alerts.get(sender, {}).items():
                if not ends or parse_time(ends) > now:
                    out.add(key)
        return out


def parse_time(s):
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


# --- the two processes ------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_mb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def prom_rule_durations(port):
    """`prometheus_rule_group_last_duration_seconds` per group, in ms, from Prometheus's /metrics."""
    out = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("prometheus_rule_group_last_duration_seconds{"):
                group = line.split('rule_group="')[1].split('"')[0]
                out[group] = float(line.rsplit(" ", 1)[1]) * 1e3
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--interval", type=int, default=1, help="scrape interval, seconds")
    ap.add_argument("--seconds", type=int, default=180, help="the measured window")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/opsdeck"))
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    a = ap.parse_args()
    for tool in ("prometheus", "tmux"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install -y --no-install-recommends {tool}")
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"{a.bin} is missing: cargo build --release")
    version = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    d = tempfile.mkdtemp(prefix="opsdeck-scale-")
    fleet = Fleet(a.targets)
    per_target = fleet.targets[0].series
    print(f"fleet: {a.targets} targets x {per_target} series every {a.interval}s; {version}", file=sys.stderr)

    pp = free_port()
    scrape_targets = "".join(f"          - '127.0.0.1:{p}'\n" for p in fleet.ports)
    with open(f"{d}/prometheus.yml", "w") as f:
        f.write(f"global:\n  scrape_interval: {a.interval}s\n  scrape_timeout: {a.interval}s\n  evaluation_interval: {EVAL_S}s\n"
                f"rule_files: {json.dumps(RULE_FILES)}\n"
                f"alerting:\n  alertmanagers:\n    - path_prefix: /prometheus\n      static_configs: [{{targets: ['127.0.0.1:{fleet.sink}']}}]\n"
                f"scrape_configs:\n  - job_name: node\n    static_configs:\n      - labels: {{env: fleet}}\n        targets:\n{scrape_targets}")
    urls = ", ".join(f'"http://127.0.0.1:{p}/metrics"' for p in fleet.ports)
    with open(f"{d}/opsdeck.toml", "w") as f:
        f.write(f'[general]\nhistory = "{a.seconds // 60 + 10}m"\nmax_series = 500000\n\n'
                f'[alerting]\nbell = false\nevaluation_interval = "{EVAL_S}s"\nrule_files = {json.dumps(RULE_FILES)}\n'
                f'alertmanager = ["http://127.0.0.1:{fleet.sink}/opsdeck"]\n\n'
                f'[[environment]]\nname = "fleet"\n'
                f'scrape = [ {{ job = "node", urls = [ {urls} ], interval = "{a.interval}s", timeout = "{a.interval}s" }} ]\n')
    sock = f"opsdeck-scale-{os.getpid()}"
    prom = subprocess.Popen(["prometheus", f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/prom",
                             f"--web.listen-address=127.0.0.1:{pp}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=open(f"{d}/prometheus.log", "w"))
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "od", "-x", "200", "-y", "50",
                    f"exec {a.bin} --config {d}/opsdeck.toml --state-dir {d}/st --log-file {d}/opsdeck.log 2>{d}/od.err"],
                   check=True)
    screen = lambda: subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "od"],
                                    capture_output=True, text=True).stdout
    od = int(subprocess.run(["tmux", "-L", sock, "list-panes", "-t", "od", "-F", "#{pane_pid}"],
                            capture_output=True, text=True).stdout.split()[0])
    failed = []
    try:
        deadline = time.time() + 120
        ready = (False, False)
        while time.time() < deadline and not all(ready):
            time.sleep(0.5)
            try:
                up = sum(t["health"] == "up" for t in get_json(f"http://127.0.0.1:{pp}/api/v1/targets")["data"]["activeTargets"])
            except Exception:
                up = 0
            ready = (up == a.targets, f"targets {a.targets}/{a.targets} up" in screen())
        if not all(ready):
            failed.append(f"not all targets up in 120 s (Prometheus {ready[0]}, opsdeck {ready[1]})")
            raise SystemExit
        time.sleep(3)
        c0 = (proc_cpu_s(pp_pid := prom.pid), proc_cpu_s(od))
        s0 = dict(fleet.scrapes)
        t0 = time.time()
        prom_rounds = []
        while time.time() - t0 < a.seconds:
            time.sleep(5)
            if time.time() - t0 >= a.seconds - 60:
                by_group = prom_rule_durations(pp)
                if by_group:
                    prom_rounds.append(sum(by_group.values()))
        window = time.time() - t0
        c1 = (proc_cpu_s(pp_pid), proc_cpu_s(od))
        rss = (proc_rss_mb(pp_pid), proc_rss_mb(od))
        s1 = dict(fleet.scrapes)
        foot = screen()
        prom_rule_groups = prom_rule_durations(pp)
        prom_firing = fleet.firing("prometheus")
        od_firing = fleet.firing("opsdeck")
    finally:
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "od", "q"])
        time.sleep(1)
        subprocess.run(["tmux", "-L", sock, "kill-server"], stderr=subprocess.DEVNULL)
        prom.terminate()
        prom.wait()
        if failed:
            print("scale vs prometheus: could not measure: " + "; ".join(failed))
            print(f"scratch: {d}", file=sys.stderr)
            sys.exit(1)

    # opsdeck's own figure: the log's "rule evaluation: … X ms in all" lines past the first minute.
    od_rounds = []
    with open(f"{d}/opsdeck.log") as f:
        for line in f:
            if "rule evaluation:" in line and "ms in all" in line:
                od_rounds.append(float(line.split("rules, ")[1].split(" ms in all")[0]))
    od_rounds = od_rounds[1:] or od_rounds  # the first is taken on an empty store
    samples = {who: (s1.get(who, 0) - s0.get(who, 0)) * per_target for who in ("prometheus", "opsdeck")}
    cpu = (c1[0] - c0[0], c1[1] - c0[1])
    per_m = tuple(c / max(samples[w], 1) * 1e6 for c, w in zip(cpu, ("prometheus", "opsdeck")))
    rules = (statistics.median(prom_rounds) if prom_rounds else float("nan"),
             statistics.median(od_rounds) if od_rounds else float("nan"))
    bps = next((w.split()[0] for w in foot.split("·") if "B/sample" in w), "?")
    same = prom_firing == od_firing
    ratio = lambda o, p: o / p if p else float("nan")

    print(f"window {window:.0f} s; samples ingested: Prometheus {samples['prometheus'] / 1e6:.2f} M, opsdeck {samples['opsdeck'] / 1e6:.2f} M")
    print(f"RSS:  Prometheus {rss[0]:.1f} MB, opsdeck {rss[1]:.1f} MB: {ratio(rss[1], rss[0]):.2f}x")
    print(f"CPU:  Prometheus {cpu[0]:.2f} s ({per_m[0]:.2f} s per million samples), opsdeck {cpu[1]:.2f} s ({per_m[1]:.2f} s per million): {ratio(per_m[1], per_m[0]):.2f}x")
    print(f"rule evaluation, all groups: Prometheus {rules[0]:.2f} ms (median of {len(prom_rounds)}), opsdeck {rules[1]:.2f} ms (median of {len(od_rounds)}): {ratio(rules[1], rules[0]):.2f}x")
    for g, ms in sorted(prom_rule_groups.items()):
        print(f"  Prometheus {os.path.basename(g)}: {ms:.2f} ms", file=sys.stderr)
    print(f"firing alerts: Prometheus {len(prom_firing)}, opsdeck {len(od_firing)}: {'the same' if same else 'DIFFERENT'}")
    if not same:
        for k in sorted(prom_firing - od_firing):
            print(f"  only Prometheus: {k}")
        for k in sorted(od_firing - prom_firing):
            print(f"  only opsdeck: {k}")
    names = sorted({json.loads(k)["alertname"] for k in prom_firing | od_firing})
    for n in names:
        count = lambda fs: sum(json.loads(k)["alertname"] == n for k in fs)
        print(f"  {n}: Prometheus {count(prom_firing)}, opsdeck {count(od_firing)}")
    print(f"opsdeck store: {bps} bytes/sample (footer)")
    print(f"scale vs prometheus: {a.targets}x{per_target} series every {a.interval}s for {window:.0f}s; "
          f"RSS {ratio(rss[1], rss[0]):.2f}x, CPU per sample {ratio(per_m[1], per_m[0]):.2f}x, "
          f"rule evaluation {ratio(rules[1], rules[0]):.2f}x, firing alerts {len(od_firing)} {'same' if same else 'DIFFERENT'}, "
          f"{bps} B/sample")
    if a.keep:
        print(f"scratch: {d}", file=sys.stderr)
    else:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
