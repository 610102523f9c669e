//! `opsdeck status`: poll every environment once and report.

pub async fn run(_cfg: &crate::config::Config, _json: bool) -> anyhow::Result<i32> {
    eprintln!("opsdeck: status is not built yet");
    Ok(crate::exit::USAGE)
}
