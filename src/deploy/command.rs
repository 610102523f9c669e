// TEMPORARY stand-in until the helper's driver lands (never committed).
use std::time::Duration;
pub struct Vars<'a> {
    pub env: &'a str,
    pub version: &'a str,
    pub previous: &'a str,
}
pub fn expand(template: &[String], vars: &Vars) -> Vec<String> {
    template
        .iter()
        .map(|a| a.replace("{env}", vars.env).replace("{version}", vars.version).replace("{previous}", vars.previous))
        .collect()
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
    SpawnFailed(String),
}
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub exit: Exit,
    pub output: Vec<(Stream, String)>,
    pub truncated: bool,
    pub duration: Duration,
}
impl RunOutcome {
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0)
    }
    pub fn describe(&self) -> String {
        format!("{:?}", self.exit)
    }
}
pub struct Spec<'a> {
    pub argv: &'a [String],
    pub env_allow: &'a [String],
    pub extra_env: &'a [(String, String)],
    pub timeout: Duration,
}
pub async fn run(spec: &Spec<'_>, on_line: &mut (dyn FnMut(Stream, &str) + Send)) -> RunOutcome {
    let o = tokio::process::Command::new(&spec.argv[0]).args(&spec.argv[1..]).output().await;
    match o {
        Ok(o) => {
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                on_line(Stream::Stdout, l)
            }
            RunOutcome {
                exit: Exit::Code(o.status.code().unwrap_or(-1)),
                output: vec![],
                truncated: false,
                duration: spec.timeout,
            }
        }
        Err(e) => RunOutcome {
            exit: Exit::SpawnFailed(e.to_string()),
            output: vec![],
            truncated: false,
            duration: spec.timeout,
        },
    }
}
