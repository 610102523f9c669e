//! The embedded demo fleet (design §4): loopback HTTP services that behave like the reference app.

use std::path::Path;

/// The running fleet. (Placeholder until the demo issue work lands.)
pub struct Fleet;

impl Fleet {
    pub async fn start() -> anyhow::Result<Fleet> {
        anyhow::bail!("the demo fleet is not built yet")
    }
    pub fn config_toml(&self, _state_dir: &Path) -> String {
        String::new()
    }
    pub fn write_rule_files(&self, _dir: &Path) -> std::io::Result<()> {
        Ok(())
    }
    pub fn describe(&self) -> String {
        String::new()
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
