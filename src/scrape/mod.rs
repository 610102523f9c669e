//! Scraping: text exposition parsing (lenient scrape mode, strict promtool mode) and per-target limits.

pub fn cmd_check_metrics(_file: Option<&std::path::Path>) -> i32 {
    eprintln!("opsdeck: check metrics is not built yet");
    crate::exit::USAGE
}
