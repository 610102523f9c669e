//! Logs: sources (file, http, command), parsing, filtering, bounded buffers.

pub async fn cmd(_cfg: Option<&crate::config::Config>, _args: &crate::cli::LogsArgs) -> anyhow::Result<i32> {
    eprintln!("opsdeck: logs is not built yet");
    Ok(crate::exit::USAGE)
}
