//! The dashboard in a real terminal (tmux) against real servers on loopback:
//! - the Alertmanager view on a real Alertmanager (Debian's `prometheus-alertmanager`): a silence
//!   created from the selected alert through the keys — refused without a comment, previewed,
//!   then found in Alertmanager with the typed comment and the user as its author, muting exactly
//!   that alert — listed with its comment and author, and expired with `x` `y`;
//! - hostile label values, annotations, silence comments and authors shown escaped, checked on the
//!   bytes the pane received;
//! - a `[prometheus]` server that accepts connections and never answers: keys are answered, the
//!   clock goes on, the panels say so, and `q` quits at once.

use crate::common::{have_tmux, have_tool, terminal_acts_on, FleetProc, Tmux, HOSTILE};
use opsdeck::sanitize;
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have_alertmanager() -> bool {
    have_tool("prometheus-alertmanager", &["--version"], "prometheus-alertmanager")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A blocking HTTP request on loopback (`GET`, or `POST` with a JSON body): (status, body).
fn http(method: &str, url: &str, body: Option<&Value>) -> Option<(u16, String)> {
    use std::io::Write;
    let rest = url.strip_prefix("http://")?;
    let (addr, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

fn get_json(url: &str) -> Value {
    match http("GET", url, None) {
        Some((200, b)) => serde_json::from_str(&b).unwrap_or_else(|e| panic!("{url}: {e}: {b}")),
        other => panic!("GET {url}: {other:?}"),
    }
}

/// Poll `f` until it yields a value or `secs` have passed (then fail naming `what`).
fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real Alertmanager on a free loopback port; killed when dropped.
struct Am {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Am {
    fn start() -> Am {
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let cfg = dir.path().join("am.yml");
            std::fs::write(
                &cfg,
                "route: {receiver: sink, group_by: [alertname], group_wait: 1s, group_interval: 2s}\nreceivers: [{name: sink}]\n",
            )
            .unwrap();
            let port = free_port();
            let child = Command::new("prometheus-alertmanager")
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!("--storage.path={}", dir.path().join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start prometheus-alertmanager");
            let mut am = Am { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if am.child.try_wait().ok().flatten().is_some() {
                    break; // the port was taken meanwhile: another one
                }
                if http("GET", &format!("{}/-/ready", am.url), None).is_some_and(|(c, _)| c == 200) {
                    return am;
                }
                assert!(Instant::now() < deadline, "Alertmanager not ready in 30 s");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("Alertmanager did not start on three free ports");
    }

    fn alerts(&self) -> Vec<Value> {
        get_json(&format!("{}/api/v2/alerts", self.url)).as_array().cloned().unwrap_or_default()
    }

    fn silences(&self) -> Vec<Value> {
        get_json(&format!("{}/api/v2/silences", self.url)).as_array().cloned().unwrap_or_default()
    }
}

const COMMENT: &str = "disk swap on db1, ticket OPS-4711";

#[test]
fn a_silence_from_the_alertmanager_view_is_refused_without_a_comment_created_listed_and_expired() {
    if !have_tmux() || !have_alertmanager() {
        return;
    }
    let am = Am::start();
    let body = json!([
        { "labels": { "alertname": "DiskFull", "env": "production", "instance": "db1", "severity": "warning" },
          "annotations": { "summary": "db1 disk is 97% full" } },
        { "labels": { "alertname": "QueueBacklog", "env": "staging", "queue": "mail", "severity": "critical" },
          "annotations": { "summary": "mail queue is backing up" } },
    ]);
    let posted = http("POST", &format!("{}/api/v2/alerts", am.url), Some(&body));
    assert_eq!(posted.map(|p| p.0), Some(200));
    poll(10, "both alerts in Alertmanager", || (am.alerts().len() == 2).then_some(()));

    let user = format!("oncall-e2e-{}", std::process::id());
    let url = am.url.clone();
    let t = Tmux::opsdeck("amview", 160, 45, &format!("env -u SUDO_USER USER={user} "), move |dir| {
        let cfg = dir.join("opsdeck.toml");
        std::fs::write(&cfg, format!("[alerting]\nalertmanager = [\"{url}\"]\n")).unwrap();
        format!("--config {} --state-dir {}", cfg.display(), dir.join("state").display())
    });
    t.wait("the dashboard", 15, |s| s.contains("opsdeck"));
    t.keys(&["M"]);
    let s = t.wait("both alerts in the Alertmanager view", 15, |s| {
        s.contains("Alertmanager") && s.contains("DiskFull") && s.contains("QueueBacklog")
    });
    assert!(!s.contains("silenced by"), "{s}");

    // s: the form, prefilled from the selected alert's labels.
    t.keys(&["s"]);
    let s = t.wait("the new-silence form", 10, |s| s.contains("New silence") && s.contains("comment"));
    let selected = ["DiskFull", "QueueBacklog"]
        .into_iter()
        .find(|n| s.contains(&format!("alertname=\"{n}\"")))
        .unwrap_or_else(|| panic!("the matchers name the selected alert:\n{s}"));
    let other = if selected == "DiskFull" { "QueueBacklog" } else { "DiskFull" };
    let author = regex::Regex::new(&format!(r"author\s+{user}\b")).unwrap();
    assert!(author.is_match(&s), "the form names USER as the author:\n{s}");
    assert!(s.contains("these matchers catch 1 alert now"), "{s}");

    // Enter with an empty comment is refused: the form stays, nothing reaches Alertmanager.
    t.keys(&["Enter"]);
    t.wait("the refusal", 5, |s| s.contains("a comment is required") && s.contains("New silence"));
    assert!(am.silences().is_empty(), "a refused silence was sent: {:?}", am.silences());

    // The comment goes into the focused field; the preview still counts 1.
    assert!(t.tmux(&["send-keys", "-t", "amview", "-l", COMMENT]).status.success());
    t.wait("the comment typed", 5, |s| s.contains(COMMENT) && s.contains("these matchers catch 1 alert now"));
    t.keys(&["Enter"]);
    let sil = poll(10, "the silence in Alertmanager", || am.silences().into_iter().find(|x| x["comment"] == COMMENT));
    let id = sil["id"].as_str().unwrap().to_string();
    assert_eq!(sil["createdBy"], user.as_str(), "{sil}");
    assert_eq!(sil["status"]["state"], "active", "{sil}");
    let ms = sil["matchers"].as_array().unwrap();
    assert!(
        ms.iter().any(|m| m["name"] == "alertname"
            && m["value"] == selected
            && m["isEqual"] != false
            && m["isRegex"] == false),
        "{sil}"
    );
    // It mutes exactly the selected alert (Alertmanager's own word).
    let muted = poll(10, "the alert silenced", || {
        let by: Vec<Value> = am
            .alerts()
            .into_iter()
            .filter(|a| a["status"]["silencedBy"].as_array().is_some_and(|v| v.iter().any(|x| x == id.as_str())))
            .collect();
        (!by.is_empty()).then_some(by)
    });
    assert_eq!(muted.len(), 1, "{muted:?}");
    assert_eq!(muted[0]["labels"]["alertname"], selected);

    // The view marks it silenced (and only it).
    let short: String = id.chars().take(8).collect();
    let s = t.wait("the alert shown silenced", 15, |s| {
        s.lines().any(|l| l.contains(selected) && l.contains(&format!("silenced by {short}")))
    });
    assert!(s.lines().filter(|l| l.contains(other)).all(|l| !l.contains("silenced")), "{s}");

    // S: the silences list, with the comment and who made it.
    t.keys(&["S"]);
    t.wait("the silence listed with its comment and author", 10, |s| {
        s.contains(COMMENT) && s.contains(&format!("by {user}")) && s.contains(&id)
    });
    // x then y expires it.
    t.keys(&["x"]);
    t.wait("the expire question", 5, |s| s.contains(&format!("expire silence {id}?")));
    t.keys(&["y"]);
    poll(10, "Alertmanager to report the silence expired", || {
        let v = get_json(&format!("{}/api/v2/silence/{id}", am.url));
        (v["status"]["state"] == "expired").then_some(())
    });
    t.wait("the silence shown expired", 15, |s| s.lines().any(|l| l.contains("expired") && l.contains(&id)));
    // One silence in all: the refused Enter sent none.
    assert_eq!(am.silences().len(), 1, "{:?}", am.silences());
    t.keys(&["q"]);
    t.wait("the exit", 5, |s| s.contains("EXITED 0"));
}

/// Accepts connections and never answers; stops when dropped.
struct Hung {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hung {
    fn start() -> Hung {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Hung { addr, stop, thread: Some(thread) }
    }
}

impl Drop for Hung {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The header's HH:MM:SS clock.
fn clock(screen: &str) -> Option<String> {
    let re = regex::Regex::new(r"\b\d{2}:\d{2}:\d{2}\b").unwrap();
    screen.lines().take(3).find_map(|l| re.find(l).map(|m| m.as_str().to_string()))
}

#[test]
fn a_prometheus_that_never_answers_leaves_the_dashboard_responsive() {
    if !have_tmux() {
        return;
    }
    let hung = Hung::start();
    let fleet_dir = tempfile::tempdir().unwrap();
    let fleet = FleetProc::start(fleet_dir.path(), None);
    let demo = std::fs::read_to_string(&fleet.config).unwrap();
    let cfg = fleet_dir.path().join("hung.toml");
    std::fs::write(&cfg, format!("{demo}\n[prometheus]\nurl = \"http://{}\"\ntimeout = \"2s\"\n", hung.addr)).unwrap();
    let cfg_arg = cfg.clone();
    let t = Tmux::opsdeck("hung", 160, 45, "", move |dir: &Path| {
        format!("--config {} --state-dir {}", cfg_arg.display(), dir.join("state").display())
    });
    let first = t.wait("the dashboard", 15, |s| s.contains("production") && clock(s).is_some());

    // ? is answered within 1 s while every query hangs; Esc closes the help.
    let t0 = Instant::now();
    t.keys(&["?"]);
    t.wait("the help", 3, |s| s.contains("this help"));
    let took = t0.elapsed();
    assert!(took <= Duration::from_secs(1), "help took {took:?}");
    t.keys(&["Escape"]);
    t.wait("the help closed", 3, |s| !s.contains("this help"));

    // The screen keeps drawing: the header's clock moves on.
    let c0 = clock(&first).unwrap();
    t.wait("the clock to change", 5, |s| clock(s).is_some_and(|c| c != c0));

    // The panels say their server does not answer: "timed out", or "stale: … has not answered"
    // (words only a failing remote round puts on screen).
    let s = t.wait("a panel marked stale or timed out", 20, |s| {
        s.contains("timed out") || (s.contains("stale:") && s.contains("has not answered"))
    });
    assert!(!s.contains("panicked"), "{s}");

    let t0 = Instant::now();
    t.keys(&["q"]);
    t.wait("the exit", 3, |s| s.contains("EXITED"));
    let took = t0.elapsed();
    let s = t.screen();
    assert!(s.contains("EXITED 0"), "exit status: {s}\n{}", t.stderr());
    assert!(took <= Duration::from_secs(2), "q took {took:?}");
    assert!(!t.stderr().contains("panicked"), "{}", t.stderr());
}

/// Hostile text in everything Alertmanager hands the view: label values, annotations, silence
/// comments and authors. The screen shows each probe escaped, and the bytes the pane received
/// carry nothing a terminal would act on.
#[test]
fn hostile_alerts_and_silences_reach_the_terminal_escaped() {
    if !have_tmux() || !have_alertmanager() {
        return;
    }
    let am = Am::start();
    let alerts: Vec<Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({ "labels": { "alertname": "Hostile", "probe": format!("p{i}"), "note": h, "severity": "warning" },
                    "annotations": { "summary": h } })
        })
        .collect();
    let posted = http("POST", &format!("{}/api/v2/alerts", am.url), Some(&Value::Array(alerts)));
    assert_eq!(posted.map(|p| p.0), Some(200));
    let now = chrono::Utc::now();
    for (i, h) in HOSTILE.iter().enumerate() {
        let silence = json!({
            "matchers": [{ "name": "probe", "value": format!("p{i}"), "isRegex": false, "isEqual": true }],
            "startsAt": now.to_rfc3339(), "endsAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "createdBy": format!("u{i}{h}"), "comment": format!("c{i}{h}"),
        });
        let made = http("POST", &format!("{}/api/v2/silences", am.url), Some(&silence));
        assert_eq!(made.as_ref().map(|p| p.0), Some(200), "{made:?}");
    }
    poll(10, "the alerts in Alertmanager", || (am.alerts().len() == HOSTILE.len()).then_some(()));

    let url = am.url.clone();
    let t = Tmux::opsdeck("amhostile", 250, 70, "", move |dir| {
        let cfg = dir.join("opsdeck.toml");
        std::fs::write(&cfg, format!("[alerting]\nbell = false\nalertmanager = [\"{url}\"]\n")).unwrap();
        format!("--config {} --state-dir {}", cfg.display(), dir.join("state").display())
    });
    t.record();
    t.wait("the dashboard", 15, |s| s.contains("opsdeck"));
    t.keys(&["M"]);
    let shown = |s: &str, prefix: &str| {
        HOSTILE
            .iter()
            .enumerate()
            .filter(|(i, h)| !s.contains(&format!("{}{}", prefix.replace('#', &i.to_string()), sanitize::line(h))))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    let s = t.wait("every hostile alert", 15, |s| s.matches("Hostile").count() >= HOSTILE.len());
    let escaped_alerts = shown(&s, "");
    t.keys(&["S"]);
    let silences = t.wait("the silences", 10, |s| s.contains("c9hJ"));
    let missing_comments = shown(&silences, "c#");
    let missing_authors = shown(&silences, "by u#");
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    let raw = t.raw();
    t.keys(&["q"]);
    t.wait("the exit", 5, |s| s.contains("EXITED 0"));

    let bad = terminal_acts_on(&raw);
    assert!(bad.is_empty(), "the pane received what a terminal acts on: {bad:?}");
    assert!(escaped_alerts.is_empty(), "probes {escaped_alerts:?} not shown escaped in the alerts:\n{s}");
    assert!(missing_comments.is_empty(), "comments {missing_comments:?} not shown escaped:\n{silences}");
    assert!(missing_authors.is_empty(), "authors {missing_authors:?} not shown escaped:\n{silences}");
    // Wide text is measured: the line with the CJK probe is as wide as the pane, no wider.
    for l in s.lines().filter(|l| l.contains("zJ")) {
        assert!(unicode_width::UnicodeWidthStr::width(l) <= 250, "a line wider than the pane: {l}");
    }
    assert!(raw.len() > 1000 && raw.windows(2).any(|w| w == b"zJ"), "the recording holds the screens");
}
