//! kill -9 at random points while state is written: a child (this test binary, re-executed on
//! `crash_writer_child`) replaces a state file and appends to a journal as fast as it can, saying
//! each sequence number once the write returned; the parent kills it at a random moment. After
//! every kill the state file parses and holds at least the last number said, the journal holds
//! every number said, each complete line parses, and no temp file is left behind for ever.
//! (The deploy journal and audit log under kill -9 of the real binary: tests/cli/deploy.rs.)

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const DIR_VAR: &str = "OPSDECK_CRASH_WRITER_DIR";

#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let dir = Path::new(&dir);
    let mut journal = opsdeck::persist::Journal::open(&dir.join("journal.jsonl")).unwrap();
    let pad = "x".repeat(64 << 10);
    let out = std::io::stdout();
    for seq in 0u64.. {
        opsdeck::persist::write_json(&dir.join("state.json"), &serde_json::json!({ "seq": seq, "pad": pad })).unwrap();
        journal.append(&format!(r#"{{"seq":{seq},"pad":"{}"}}"#, &pad[..seq as usize % 4096])).unwrap();
        let mut o = out.lock();
        writeln!(o, "durable {seq}").unwrap();
        o.flush().unwrap();
    }
}

#[test]
fn kill_9_while_writing_state_and_journals_loses_nothing_said_durable() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = u64::from(std::process::id()) ^ 0x2545_f491_4f6c_dd1d;
    let mut said_total = 0u64;
    let mut next_seq_floor = 0u64;
    for round in 0..30 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(30 + (seed >> 33) % 250);
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_safety::crash_writer_child", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let said: Vec<u64> = std::io::BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("durable ").and_then(|n| n.parse().ok()))
            .collect();
        said_total += said.len() as u64;
        // The state file: whole, and at least as new as the last write said done.
        if let Some(&last) = said.last() {
            let text = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("round {round}: state.json torn: {e}"));
            assert!(v["seq"].as_u64().unwrap() >= last, "round {round}: state older than said durable");
        }
        // The journal: every complete line parses; every number said is there.
        let (lines, _torn) = opsdeck::persist::read_lines(&dir.path().join("journal.jsonl")).unwrap();
        let mut seen = std::collections::HashSet::new();
        for (i, l) in lines.iter().enumerate() {
            match serde_json::from_str::<serde_json::Value>(l) {
                Ok(v) => {
                    seen.insert(v["seq"].as_u64().unwrap());
                }
                // A fragment a crash cut short, ended by the next writer: reported and skipped;
                // it is never a record that was said durable.
                Err(_) => assert!(!l.ends_with('}'), "round {round}: line {} is not JSON: {l:.80}", i + 1),
            }
        }
        for s in &said {
            assert!(seen.contains(s), "round {round}: journal record {s} was said durable and is gone");
        }
        // Each round's writer starts again at 0: the numbers it said are checked above; the
        // floor only checks the child really ran.
        next_seq_floor = next_seq_floor.max(said.last().copied().unwrap_or(0));
        // Temp files: at most the one of the writer just killed (swept by the next write).
        let temps = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert!(temps <= 1, "round {round}: {temps} temp files left behind");
    }
    assert!(said_total >= 30, "the writer hardly ran ({said_total} writes over 30 rounds)");
    assert!(next_seq_floor > 0);
}
