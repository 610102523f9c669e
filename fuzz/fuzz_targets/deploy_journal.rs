//! The deploy journal reader: any bytes as `<deploy dir>/journal/<env>.jsonl`, replayed into an
//! environment's history (torn and corrupt lines are problems, never fatal), then everything
//! the dashboard and `history` ask of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::deploy::journal::{self, History};
use std::path::PathBuf;
use std::sync::OnceLock;

const ENV: &str = "staging";

/// One scratch deploy directory for the whole run (the journal file is rewritten each time).
fn dir() -> &'static (tempfile::TempDir, PathBuf) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("a temporary directory");
        let p = journal::path(d.path(), ENV);
        std::fs::create_dir_all(p.parent().expect("a journal directory")).expect("mkdir");
        (d, p)
    })
}

fuzz_target!(|data: &[u8]| {
    let (d, p) = dir();
    std::fs::write(p, data).expect("write the journal");
    let h: History = History::load(d.path(), ENV);
    let _ = h.verified();
    let _ = h.points(3);
    let _ = h.last_verified();
    let _ = h.interrupted();
    if let Some(o) = h.operations.first() {
        assert!(h.find(&o.id).is_some());
    }
    let _ = serde_json::to_string(&h).expect("a history serialises");
});
