//! Secrets and TLS as the config gives them: a token from a file reaches the server, a literal one
//! is refused without being echoed, certificates are verified, and `[general] ca_file` trusts a
//! company CA. The HTTPS server is `openssl s_server`, the certificate made by `openssl req`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn opsdeck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status_json(dir: &std::path::Path, config: &str) -> (i32, serde_json::Value, String) {
    let path = dir.join("opsdeck.toml");
    std::fs::write(&path, config).unwrap();
    let out = opsdeck()
        .arg("--config")
        .arg(&path)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn env_health(json: &serde_json::Value, name: &str) -> (String, String) {
    let e = json["environments"].as_array().and_then(|a| a.iter().find(|e| e["name"] == name)).cloned();
    let e = e.unwrap_or_default();
    (e["health"].as_str().unwrap_or("?").to_string(), e["reason"].as_str().unwrap_or("").to_string())
}

#[test]
fn certificates_are_verified_and_ca_file_trusts_a_company_ca() {
    if !crate::common::have_tool("openssl", &["version"], "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A company CA and a server certificate it signed (a self-signed end entity is refused by
    // rustls whatever is trusted).
    let ext = d.join("leaf.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    let steps: [Vec<&str>; 3] = [
        "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=opsdeck-test-ca -keyout ca.key -out ca.pem"
            .split(' ')
            .collect(),
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out leaf.csr".split(' ').collect(),
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile leaf.ext -out leaf.pem"
            .split(' ')
            .collect(),
    ];
    for args in steps {
        let ok = Command::new("openssl").args(&args).current_dir(d).stderr(Stdio::null()).status().unwrap();
        assert!(ok.success(), "openssl {args:?} failed");
    }
    let (cert, key) = (d.join("leaf.pem"), d.join("key.pem"));
    std::fs::write(d.join("health.txt"), "ok\n").unwrap();
    let port = free_port();
    let _server = Killed(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept", &port.to_string()])
            .current_dir(d)
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let env = format!(
        "[[environment]]\nname = \"tls\"\nhealth = {{ url = \"https://127.0.0.1:{port}/health.txt\", timeout = \"3s\" }}\n"
    );
    // The system's roots do not know this CA: a TLS error, said as one.
    let (code, json, err) = status_json(dir.path(), &env);
    let (health, reason) = env_health(&json, "tls");
    assert_eq!(code, 1, "{json} {err}");
    assert_ne!(health, "up", "{json}");
    assert!(reason.to_lowercase().contains("tls") || reason.contains("certificate"), "{reason}");
    // Trusted through ca_file.
    let (code, json, err) = status_json(dir.path(), &format!("[general]\nca_file = \"ca.pem\"\n\n{env}"));
    assert_eq!(env_health(&json, "tls").0, "up", "{json} {err}");
    assert_eq!(code, 0, "{json} {err}");
    // A ca_file that is not one is a config error naming the file.
    std::fs::write(dir.path().join("bad.pem"), "not a certificate\n").unwrap();
    let (code, _, err) = status_json(dir.path(), &format!("[general]\nca_file = \"bad.pem\"\n\n{env}"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.pem"), "{err}");
}

/// A one-shot HTTP server that answers 200 with the metrics and hands back the request's headers.
fn header_catcher() -> (u16, std::sync::mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let body = "up_metric 1\n";
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (port, rx)
}

#[test]
fn a_token_file_is_sent_and_a_literal_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scrape.token"), "file-canary-7f3a\n").unwrap();
    let (port, rx) = header_catcher();
    let cfg = format!(
        "[[environment]]\nname = \"t\"\nscrape = [ {{ job = \"app\", urls = [\"http://127.0.0.1:{port}/metrics\"], \
         bearer_token_file = \"scrape.token\" }} ]\n"
    );
    let (_, json, err) = status_json(dir.path(), &cfg);
    let req = rx.recv_timeout(Duration::from_secs(10)).expect("the target was scraped");
    assert!(req.contains("Bearer file-canary-7f3a\r\n"), "{req}");
    let printed = format!("{json}{err}");
    assert!(!printed.contains("file-canary-7f3a"), "the token was printed: {printed}");

    let literal = format!(
        "[[environment]]\nname = \"t\"\nscrape = [ {{ job = \"app\", urls = [\"http://127.0.0.1:{port}/metrics\"], \
         bearer_token = \"literal-canary-9c1d\" }} ]\n"
    );
    let (code, _, err) = status_json(dir.path(), &literal);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("opsdeck.toml:3:") && err.contains("`bearer_token`"), "{err}");
    assert!(!err.contains("literal-canary-9c1d"), "{err}");

    let missing = cfg.replace("scrape.token", "no-such.token");
    let (_, json, _) = status_json(dir.path(), &missing);
    let text = json.to_string();
    assert!(text.contains("no-such.token"), "the unreadable token file is named: {text}");
}
