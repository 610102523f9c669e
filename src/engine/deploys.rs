//! Deploy operations requested from the dashboard. Each runs in a task of its own, so a slow
//! endpoint never holds up the loop; its outcome comes back to the loop, which owns the markers.
//! Today only the `http` driver's trigger is built, and the notice says so.

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::config::{Config, DeployConfig};
use crate::deploy::http::DeployError;
use crate::model::Millis;

/// What a deploy task reports back to the loop.
pub(crate) struct DeployOutcome {
    pub env: String,
    pub version: String,
    /// When the deploy was requested (where the chart marker goes).
    pub at: Millis,
    pub result: Result<String, DeployError>,
}

pub(super) struct Deploys {
    /// Each environment's `deploy` settings.
    configs: HashMap<String, DeployConfig>,
    client: reqwest::Client,
    done: mpsc::Sender<DeployOutcome>,
    /// Taken once by the loop.
    outcomes: Option<mpsc::Receiver<DeployOutcome>>,
}

impl Deploys {
    pub fn new(cfg: &Config, client: reqwest::Client) -> Deploys {
        let (done, outcomes) = mpsc::channel(8);
        let configs = cfg.environments.iter().filter_map(|e| Some((e.name.clone(), e.deploy.clone()?))).collect();
        Deploys { configs, client, done, outcomes: Some(outcomes) }
    }

    pub fn take_outcomes(&mut self) -> mpsc::Receiver<DeployOutcome> {
        self.outcomes.take().expect("the loop takes the deploy outcomes once")
    }

    /// Start a deploy trigger; `Err` is the notice when there is nothing to deploy with.
    pub fn trigger(&self, env: String, version: String, now: Millis) -> Result<(), String> {
        let Some(cfg) = self.configs.get(&env).cloned() else {
            return Err(format!("{env}: no deploy configured; nothing was deployed"));
        };
        let (client, done) = (self.client.clone(), self.done.clone());
        tokio::spawn(async move {
            let result = crate::deploy::http::trigger(&client, &cfg, &env, &version).await;
            let _ = done.send(DeployOutcome { env, version, at: now, result }).await;
        });
        Ok(())
    }
}

/// The notice for a deploy trigger's outcome. Only the trigger is built, and it says so.
pub fn deploy_notice(env: &str, version: &str, result: &Result<String, DeployError>) -> String {
    let text = match result {
        Ok(answer) => {
            format!("{env}: deploy {version} requested ({answer}); verification and automatic rollback: not built yet")
        }
        Err(e) => format!("{env}: deploy {version} not requested: {e}"),
    };
    crate::sanitize::line(&text).into_owned()
}
