//! Logs: sources (file, http, command) → per-line parsing (JSON, logfmt, plain) → filtering →
//! bounded per-environment buffers → the panel's view model; and the same pipeline headless
//! (`opsdeck logs`). Every string leaves `parse` already sanitised.

pub mod buffer;
pub mod filter;
pub mod lines;
pub mod parse;
pub use crate::model::log as record;
pub mod source;
pub mod view;

use std::io::{Read, Write};
use std::sync::Arc;

pub use buffer::{correlate, LogBuffer, LogStore};
pub use filter::{Filter, FilterError};
pub use parse::parse_line;
pub use record::{Format, Level, LogBatch, LogRecord, Stream};
pub use source::{spawn_source, SourceOptions, Start};
pub use view::{details, trace_link, LogView, RecordDetails};

use crate::cli::LogsArgs;
use crate::config::{Config, LogSettings, LogSource};
use crate::exit;

/// The log source of environment `env` with a relative file path resolved against the config.
pub fn resolved_source(cfg: &Config, src: &LogSource) -> LogSource {
    match src {
        LogSource::File { path } => LogSource::File { path: cfg.resolve(path).to_string_lossy().into_owned() },
        other => other.clone(),
    }
}

/// One record as readable text: `timestamp LEVEL [env] logger: message request_id=… trace_id=…`,
/// the exception indented below. Fields are already sanitised.
pub fn write_text(r: &LogRecord, out: &mut Vec<u8>) {
    write_head(r, out);
    out.push(b'\n');
    if let Some(e) = &r.exception {
        for l in e.lines() {
            out.extend_from_slice(b"    ");
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
    }
}

/// The first line of `write_text`, for a one-line list entry.
pub fn summary(r: &LogRecord) -> String {
    let mut out = Vec::new();
    write_head(r, &mut out);
    // Built only from sanitised strings and ASCII: valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

fn write_head(r: &LogRecord, out: &mut Vec<u8>) {
    let mut sep = false;
    let mut put = |out: &mut Vec<u8>, s: &str| {
        if sep {
            out.push(b' ');
        }
        sep = true;
        out.extend_from_slice(s.as_bytes());
    };
    if let Some(t) = &r.timestamp {
        put(out, t);
    }
    if r.level != Level::Unknown && r.format != Format::Plain {
        put(out, &format!("{:<7}", r.level.as_str()));
    }
    if let Some(env) = &r.env {
        put(out, &format!("[{env}]"));
    }
    if r.stream == Stream::Stderr {
        put(out, "(stderr)");
    }
    if let Some(l) = &r.logger {
        put(out, &format!("{l}:"));
    }
    put(out, &r.message);
    if let Some(id) = &r.request_id {
        put(out, &format!("request_id={id}"));
    }
    if let Some(id) = &r.trace_id {
        put(out, &format!("trace_id={id}"));
    }
}

/// Buffered output that stops quietly when the reader goes away (`| head`).
struct Printer {
    json: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    line: Vec<u8>,
    /// The reader closed the pipe.
    gone: bool,
}

impl Printer {
    fn new(json: bool) -> Printer {
        Printer {
            json,
            out: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()),
            line: Vec::new(),
            gone: false,
        }
    }

    fn record(&mut self, r: &LogRecord) {
        if self.gone {
            return;
        }
        self.line.clear();
        if self.json {
            r.write_json(&mut self.line);
            self.line.push(b'\n');
        } else {
            write_text(r, &mut self.line);
        }
        if self.out.write_all(&self.line).is_err() {
            self.gone = true;
        }
    }

    fn flush(&mut self) {
        if !self.gone && self.out.flush().is_err() {
            self.gone = true;
        }
    }
}

/// `opsdeck logs`: the pipeline headless. 0 done, 2 usage or config error (unknown environment,
/// unreadable file, bad level or regex).
pub async fn cmd(cfg: Option<&Config>, args: &LogsArgs) -> anyhow::Result<i32> {
    let usage = |msg: String| {
        eprintln!("opsdeck logs: {}", crate::sanitize::line(&msg));
        Ok(exit::USAGE)
    };
    let filter = match Filter::from_args(args.level.as_deref(), args.grep.as_deref(), args.request_id.as_deref()) {
        Ok(f) => f,
        Err(e) => return usage(e.to_string()),
    };
    let settings: LogSettings = cfg.map(|c| c.log_settings.clone()).unwrap_or_default();
    let (env, src) = match (&args.env, &args.file) {
        (None, Some(path)) => (String::new(), LogSource::File { path: path.to_string_lossy().into_owned() }),
        (Some(name), None) => {
            let Some(cfg) = cfg else { return usage(format!("--env {name} needs a config file")) };
            let Some(e) = cfg.environment(name) else {
                let known: Vec<&str> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
                return usage(format!("unknown environment {name:?} (known: {})", known.join(", ")));
            };
            let Some(src) = &e.logs else {
                return usage(format!("environment {name:?} has no `logs` source in {}", cfg.path.display()));
            };
            (name.clone(), resolved_source(cfg, src))
        }
        (Some(_), Some(_)) => return usage("give either --env or --file, not both".into()),
        (None, None) => return usage("give --env ENV (a configured environment) or --file PATH".into()),
    };
    let mut printer = Printer::new(args.json);

    if let LogSource::File { path } = &src {
        match std::fs::File::open(path) {
            Ok(f) if !args.follow => {
                let code = read_file_once(f, path, &env, &settings, &filter, &mut printer);
                printer.flush();
                return Ok(code);
            }
            Ok(_) => {}
            // Following a file that is not there yet waits for it, as `tail -F` does.
            Err(e) if args.follow && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return usage(format!("cannot read {path}: {e}")),
        }
    }

    let opts = SourceOptions {
        start: Start::Beginning,
        follow: args.follow,
        filter: Some(Arc::new(filter)),
        ..SourceOptions::from_settings(&settings)
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let task = spawn_source(&env, &src, opts, tx);
    let mut failed = false;
    while let Some(batch) = rx.recv().await {
        for r in &batch.records {
            printer.record(r);
        }
        printer.flush();
        if let Some(n) = &batch.notice {
            eprintln!("opsdeck logs: {n}");
            failed |= batch.failed;
        }
        if printer.gone {
            break;
        }
    }
    drop(rx);
    let _ = task.await;
    // Without --follow, a source that could not be read at all is an error, as an unreadable file is.
    Ok(if failed && !args.follow { exit::USAGE } else { exit::OK })
}

/// The fast path: large reads, lines split in place, most rejected on their raw bytes.
fn read_file_once(
    mut f: std::fs::File,
    path: &str,
    env: &str,
    settings: &LogSettings,
    filter: &Filter,
    printer: &mut Printer,
) -> i32 {
    let env: Option<Arc<str>> = (!env.is_empty()).then(|| Arc::from(env));
    let mut split = lines::LineSplitter::new(settings.max_line_bytes);
    let mut buf = vec![0u8; 1 << 20];
    let mut on_line = |raw: &[u8], cut: usize| {
        if !filter.prefilter(raw) {
            return;
        }
        let r = parse_line(raw, cut, env.clone());
        if filter.matches(&r) {
            printer.record(&r);
        }
    };
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => split.feed(&buf[..n], &mut on_line),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("opsdeck logs: cannot read {}: {e}", crate::sanitize::line(path));
                return exit::USAGE;
            }
        }
    }
    split.finish(&mut on_line);
    exit::OK
}
