//! Real teams' rule and test files (`tests/data/realworld/`, sources in its INDEX.md): opsdeck's
//! `rules check` / `rules test` exit as promtool 2.42 did on each (`verdicts.tsv`, recorded by
//! `scripts/realworld_verdicts.sh`), and as the installed promtool does now when there is one.

use std::path::Path;
use std::process::Command;

fn exit_code(cmd: &mut Command) -> i32 {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}")).status.code().unwrap_or(-1)
}

/// `opsdeck rules KIND FILE` (or promtool's equivalent) run from the file's directory.
fn verdict(prog: &str, kind: &str, file: &Path) -> i32 {
    let dir = file.parent().unwrap();
    let name = file.file_name().unwrap();
    let mut cmd = Command::new(prog);
    if prog == "promtool" {
        cmd.args([kind, "rules"]);
    } else {
        cmd.args(["rules", kind]);
    }
    exit_code(cmd.arg(name).current_dir(dir))
}

fn promtool_kind(kind: &str) -> &str {
    if kind == "test" {
        "test"
    } else {
        "check"
    }
}

#[test]
fn real_world_files_get_promtools_verdict() {
    let root = crate::common::data("realworld");
    let table = std::fs::read_to_string(root.join("verdicts.tsv")).expect("verdicts.tsv");
    let live = crate::common::have_tool("promtool", &["--version"], "prometheus");
    let bin = env!("CARGO_BIN_EXE_opsdeck");
    let (mut n, mut wrong) = (0, Vec::new());
    for line in table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (kind, rel, want) = (cols[0], cols[1], cols[2].parse::<i32>().expect("exit code"));
        let file = root.join(rel);
        n += 1;
        if live {
            let now = verdict("promtool", promtool_kind(kind), &file);
            assert_eq!(now, want, "{rel}: the recorded verdict is stale (re-run scripts/realworld_verdicts.sh)");
        }
        let ours = verdict(bin, kind, &file);
        if ours != want {
            wrong.push(format!("rules {kind} {rel}: promtool {want}, opsdeck {ours}"));
        }
    }
    assert!(n >= 11, "the whole corpus: {n} files");
    assert!(wrong.is_empty(), "{} of {n} differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// Agreeing is not passing everything: one expected annotation changed fails under both.
#[test]
fn a_mutant_of_a_real_test_file_fails() {
    let src = crate::common::data("realworld/thanos");
    let dir = tempfile::tempdir().unwrap();
    for f in ["alerts.yaml", "rules.yaml", "tests.yaml"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let tests = std::fs::read_to_string(src.join("tests.yaml")).unwrap();
    let from = "description: 'Thanos Sidecar thanos-sidecar-1 is unhealthy.'";
    assert!(tests.contains(from), "the mutation point is in the file");
    let mutant = dir.path().join("mutant.tests.yaml");
    std::fs::write(&mutant, tests.replacen(from, "description: 'Thanos Sidecar thanos-sidecar-0 is unhealthy.'", 1))
        .unwrap();
    assert_eq!(verdict(env!("CARGO_BIN_EXE_opsdeck"), "test", &mutant), 1);
    if crate::common::have_tool("promtool", &["--version"], "prometheus") {
        assert_eq!(verdict("promtool", "test", &mutant), 1);
    }
}
