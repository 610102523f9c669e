//! `Command::Deploy` through the real engine against the real demo fleet: the engine triggers the
//! environment's http deploy endpoint without blocking, reports the outcome as a notice that says
//! verification and rollback are not built, and puts a deploy marker on the charts.

use opsdeck::app::{Command, Event};
use opsdeck::config::Config;
use opsdeck::demo::Fleet;
use std::time::Duration;
use tokio::sync::mpsc;

/// The next notice containing `needle` (other events are skipped), within `secs`.
async fn notice(events: &mut mpsc::Receiver<Event>, needle: &str, secs: u64) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Notice(n))) if n.contains(needle) => return n,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the engine stopped"),
            Err(_) => panic!("no notice containing {needle:?} within {secs}s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_command_triggers_the_endpoint_and_marks_the_charts() {
    let fleet = Fleet::start_with(None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let cfg = Config::parse(&fleet.config_toml(dir.path()), &dir.path().join("demo.toml")).unwrap();
    let (mut events, commands, engine) = opsdeck::engine::start(cfg, dir.path().join("state")).into_parts();

    commands.send(Command::Deploy { env: "staging".into(), version: "1.6.0-bad".into() }).await.unwrap();
    let n = notice(&mut events, "staging: deploy 1.6.0-bad", 15).await;
    assert!(n.contains("requested (HTTP 202"), "{n}");
    assert!(n.contains("verification and automatic rollback: not built yet"), "{n}");

    // The marker for the request arrives (the health poller adds its own "1.5.0 → 1.6.0-bad" later).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Markers(m))) if m.iter().any(|m| m.label == "1.6.0-bad") => {
                let m = m.iter().find(|m| m.label == "1.6.0-bad").unwrap();
                assert_eq!(m.env, "staging");
                assert!(!m.rollback);
                break;
            }
            Ok(Some(_)) => {}
            other => panic!("no deploy marker: {:?}", other.map(|e| e.map(|_| ()))),
        }
    }
    // The health poller then sees the new version; the request's marker already marks that
    // change, so no second marker is added for it. (The engine handles a health report before
    // forwarding it, so any marker for it arrives first.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut markers = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Markers(m))) => markers = m,
            Ok(Some(Event::Health { env, health }))
                if env == "staging" && health.version.as_deref() == Some("1.6.0-bad") =>
            {
                break
            }
            Ok(Some(_)) => {}
            _ => panic!("the health poller never saw staging on 1.6.0-bad"),
        }
    }
    assert!(markers.iter().all(|m| m.label != "1.5.0 → 1.6.0-bad"), "{markers:?}");
    assert_eq!(fleet.env("production").unwrap().version(), "1.4.1");

    // An environment without a deploy config: a notice, nothing sent.
    commands.send(Command::Deploy { env: "nowhere".into(), version: "1.0".into() }).await.unwrap();
    let n = notice(&mut events, "nowhere", 15).await;
    assert!(n.contains("no deploy configured"), "{n}");
    drop(commands);
    assert!(engine.shutdown(Duration::from_secs(5)).await, "the engine stops when asked");
}
