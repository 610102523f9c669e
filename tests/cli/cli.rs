//! The CLI contract (design §2) as a user meets it: the real binary, real files.

use std::process::Command;

fn opsdeck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
}

fn run_with_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opsdeck.toml");
    std::fs::write(&path, text).unwrap();
    let out = opsdeck().arg("--config").arg(&path).arg("status").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn help_lists_every_command() {
    let out = opsdeck().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["demo", "status", "rules", "check", "logs", "deploy", "rollback", "history"] {
        assert!(help.contains(cmd), "--help lacks {cmd}:\n{help}");
    }
    assert!(opsdeck().arg("--version").output().unwrap().status.success());
}

#[test]
fn missing_config_exits_2_naming_the_path() {
    let out = opsdeck().args(["--config", "/nonexistent/opsdeck.toml", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/opsdeck.toml"));
}

#[test]
fn no_config_anywhere_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = opsdeck()
        .current_dir(dir.path())
        .env_remove("OPSDECK_CONFIG")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("opsdeck demo") && err.contains("config.example.toml"), "{err}");
}

#[test]
fn toml_syntax_error_names_line_3() {
    let (code, err) = run_with_config("[general]\nhistory = \"1h\"\n[[environment]\nname = \"x\"\n");
    assert_eq!(code, 2);
    assert!(err.contains(":3:"), "{err}");
}

#[test]
fn unknown_field_names_field_and_line() {
    let (code, err) = run_with_config(
        "[[environment]]\nname = \"x\"\nhealth = { url = \"http://127.0.0.1:9/health\" }\ncolour = \"red\"\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("colour") && err.contains(":4:"), "{err}");
}

#[test]
fn bad_duration_names_line_3() {
    let (code, err) = run_with_config(
        "[[environment]]\nname = \"x\"\nhealth = { url = \"http://127.0.0.1:9/health\", interval = \"ten seconds\" }\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains(":3:") && err.contains("ten seconds"), "{err}");
}

#[test]
fn deploy_without_a_deploy_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[[environment]]\nname = \"staging\"\n").unwrap();
    let out = opsdeck().arg("--config").arg(&path).args(["deploy", "staging", "1.5.0", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("staging: no deploy configured"), "{out:?}");
}

#[test]
fn a_hostile_file_name_and_config_value_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil\x1b]52;c;aGk=\x07\u{202e}.toml");
    std::fs::write(
        &path,
        "[[environment]]\nname = \"x\x1b[2J\"\nhealth = { url = \"http://h\", interval = \"\x1b[1;1Hsoon\" }\n",
    )
    .unwrap();
    let out = opsdeck().arg("--config").arg(&path).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'), "{err:?}");
    assert!(err.contains("evil\\x1b]52") && err.contains("\\u{202e}"), "{err}");
    let missing = opsdeck().args(["--config", "/nonexistent/\x1b[2Jx.toml", "status"]).output().unwrap();
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(!err.contains('\x1b') && err.contains("\\x1b[2Jx.toml"), "{err:?}");
}
