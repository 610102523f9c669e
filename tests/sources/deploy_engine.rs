//! `Command::Deploy` through the real engine against the real demo fleet, as the dashboard sends
//! it: the deploy engine runs in a task of its own, its progress arrives as `Event::Deploy`, a
//! bad build is rolled back, the history is sent afterwards, and the charts get a marker.

use opsdeck::app::{Command, Event};
use opsdeck::config::Config;
use opsdeck::demo::Fleet;
use opsdeck::model::{Final, Phase};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_deploy_from_the_dashboard_is_rolled_back_and_recorded() {
    let fleet = Fleet::start_with(None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let cfg = Config::parse(&fleet.config_toml(dir.path()), &dir.path().join("demo.toml")).unwrap();
    let (mut events, commands, engine) = opsdeck::engine::start(cfg, dir.path().join("state")).into_parts();

    commands.send(Command::Deploy { env: "staging".into(), version: "1.6.0-bad".into() }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let (mut phases, mut marker, mut history) = (Vec::new(), false, None);
    let last = loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Deploy(p))) if p.env == "staging" => {
                if phases.last() != Some(&p.phase) {
                    phases.push(p.phase);
                }
                if let Some(f) = p.last {
                    assert!(p.message.contains("rolled back to 1.5.0"), "{}", p.message);
                    break f;
                }
            }
            Ok(Some(Event::Markers(m))) => marker |= m.iter().any(|m| m.env == "staging" && m.label == "1.6.0-bad"),
            Ok(Some(_)) => {}
            other => panic!("the operation never ended: {:?}", other.map(|e| e.map(|_| ()))),
        }
    };
    assert_eq!(last, Final::RolledBack);
    for p in [Phase::PreCheck, Phase::Driver, Phase::Verify, Phase::Rollback, Phase::RollbackVerify, Phase::Done] {
        assert!(phases.contains(&p), "{p:?} missing from {phases:?}");
    }
    assert_eq!(fleet.env("staging").unwrap().version(), "1.5.0");
    assert_eq!(fleet.env("production").unwrap().version(), "1.4.1", "other environments untouched");
    // Then the marker and the refreshed history.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while history.is_none() || !marker {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Markers(m))) => marker |= m.iter().any(|m| m.env == "staging" && m.label == "1.6.0-bad"),
            Ok(Some(Event::DeployHistory(h))) if h.env == "staging" && !h.rows.is_empty() => history = Some(h),
            Ok(Some(_)) => {}
            _ => panic!("no marker ({marker}) or history ({history:?})"),
        }
    }
    let h = history.unwrap();
    assert_eq!(h.rows.last().unwrap().outcome, "rolled back");
    assert_eq!(h.points, ["1.5.0"], "the verified rollback re-verified its point");

    // An environment without a deploy config: refused, nothing sent.
    commands.send(Command::Deploy { env: "nowhere".into(), version: "1.0".into() }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Deploy(p))) if p.env == "nowhere" => {
                assert_eq!(p.last, Some(Final::Refused));
                assert!(p.message.contains("no environment"), "{}", p.message);
                break;
            }
            Ok(Some(_)) => {}
            _ => panic!("no refusal"),
        }
    }
    drop(commands);
    assert!(engine.shutdown(Duration::from_secs(5)).await, "the engine stops when asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_at_dispatch() {
    let fleet = Fleet::start_with(None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    fleet.write_rule_files(dir.path()).unwrap();
    let mut cfg = Config::parse(&fleet.config_toml(dir.path()), &dir.path().join("demo.toml")).unwrap();
    cfg.general.read_only = true;
    let (mut events, commands, engine) = opsdeck::engine::start(cfg, dir.path().join("state")).into_parts();
    commands.send(Command::Deploy { env: "staging".into(), version: "1.4.0".into() }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Deploy(p))) if p.last.is_some() => {
                assert_eq!(p.last, Some(Final::Refused));
                assert!(p.message.contains("read-only"), "{}", p.message);
                break;
            }
            Ok(Some(_)) => {}
            _ => panic!("no refusal"),
        }
    }
    tokio::time::sleep(opsdeck::demo::DEPLOY_DELAY * 2).await;
    assert_eq!(fleet.env("staging").unwrap().version(), "1.5.0", "nothing was deployed");
    drop(commands);
    assert!(engine.shutdown(Duration::from_secs(5)).await);
}
