//! The tasks that feed the engine: one scraper per target, a health poller per environment, and
//! the log sources. Scrapes and health reports come back to the engine's loop; log batches go
//! straight on to the view, since nothing in the engine needs them.

use tokio::sync::mpsc;

use super::deploys::DeployOutcome;
use super::Engine;
use crate::config::Config;
use crate::model::Event;
use crate::scrape::target::{ScrapeOutcome, Target, TargetState};

/// What the loop listens to besides commands and timers.
pub(super) struct Inputs {
    pub scrapes: mpsc::Receiver<(usize, ScrapeOutcome)>,
    pub healths: mpsc::Receiver<Event>,
    pub deploy_outcomes: mpsc::Receiver<DeployOutcome>,
    pub components: mpsc::Receiver<crate::model::ComponentStatus>,
    pub backups: mpsc::Receiver<(String, Result<crate::backup::formats::Latest, String>)>,
    /// Abort the pollers, checkers and backup readers when the engine stops.
    _pollers: crate::health::Poller,
    _checkers: crate::components::Checkers,
    _readers: crate::backup::Readers,
}

pub(super) fn spawn(cfg: &Config, eng: &mut Engine) -> Inputs {
    let (scrape_tx, scrapes) = mpsc::channel(64);
    for env in &cfg.environments {
        for sc in &env.scrape {
            for target in Target::from_config(&env.name, sc) {
                let key = eng.targets.len();
                eng.targets.push(TargetState::new(target.clone()));
                tokio::spawn(crate::scrape::target::run(
                    eng.client.clone(),
                    target,
                    sc.interval,
                    key,
                    scrape_tx.clone(),
                ));
            }
        }
    }

    let (health_tx, healths) = mpsc::channel(64);
    let pollers = crate::health::spawn(&cfg.environments, health_tx);

    let (log_tx, mut logs) = mpsc::channel(64);
    let log_opts = crate::logs::SourceOptions::from_settings(&cfg.log_settings);
    for env in &cfg.environments {
        if let Some(src) = &env.logs {
            let src = crate::logs::resolved_source(cfg, src);
            crate::logs::spawn_source(&env.name, &src, log_opts.clone(), log_tx.clone());
        }
    }
    drop(log_tx);
    let log_events = eng.events.clone();
    tokio::spawn(async move {
        while let Some(batch) = logs.recv().await {
            if log_events.send(Event::Logs(batch)).await.is_err() {
                return;
            }
        }
    });

    let (component_tx, components) = mpsc::channel(64);
    let clock = eng.clock.clone();
    let checkers = crate::components::spawn(&cfg.environments, move || clock.now(), component_tx);
    let (backup_tx, backups) = mpsc::channel(16);
    let readers = crate::backup::spawn(&cfg.environments, backup_tx);

    Inputs {
        scrapes,
        healths,
        deploy_outcomes: eng.deploys.take_outcomes(),
        components,
        backups,
        _pollers: pollers,
        _checkers: checkers,
        _readers: readers,
    }
}
