//! The dashboard: state, keys, panels, dialogs, theme. Pure view of state; no I/O here.

pub async fn run(_cfg: crate::config::Config, _state_dir: std::path::PathBuf, _no_color: bool) -> anyhow::Result<i32> {
    eprintln!("opsdeck: the dashboard is not built yet");
    Ok(crate::exit::USAGE)
}
