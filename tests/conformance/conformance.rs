//! The conformance corpus (`tests/data/conformance`, a copy of the project's corpus): every `*.test.yml` must pass and every
//! `*.mustfail.test.yml` must fail under `opsdeck rules test`, as under promtool 2.42.

use opsdeck::rules::unittest::run_test_file;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    crate::common::data("conformance")
}

#[test]
fn conformance_corpus_agrees_with_promtool() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "expected the whole corpus, found {} files", files.len());
    let mut wrong = vec![];
    let (mut pass, mut must_fail) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let res = run_test_file(f);
        if name.ends_with(".mustfail.test.yml") {
            must_fail += 1;
            if res.is_ok() {
                wrong.push(format!("{name}: passed, but it must fail"));
            }
        } else {
            pass += 1;
            if let Err(errs) = res {
                wrong.push(format!("{name}: failed:\n{}", errs.join("\n")));
            }
        }
    }
    println!(
        "conformance: {} of {} files as promtool ({pass} pass, {must_fail} must fail)",
        files.len() - wrong.len(),
        files.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
