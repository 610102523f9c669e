//! Property tests (proptest, default 256 cases each) over the public API: `rate()` on monotonic
//! counters, `sanitize` on arbitrary text and bytes, and the deploy journal read back from any
//! byte prefix of a valid journal. The exposition print/parse round trip lives beside the
//! printer (`src/demo/expo.rs`), which is private to the crate.

use opsdeck::deploy::journal::{self, History, Line, Rec};
use opsdeck::model::{CheckOutcome, Final, GateVerdict, OpKind, Phase};
use opsdeck::promql::{self, Value};
use opsdeck::sanitize;
use opsdeck::tsdb::{Labels, Storage, StorageOptions};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// (b) rate() is never negative on a monotonic counter
// ---------------------------------------------------------------------------------------------

/// A counter that never decreases: a start value, then (gap in ms, increase) steps.
fn counter() -> impl Strategy<Value = (i64, f64, Vec<(i64, f64)>)> {
    let increase = prop_oneof![Just(0.0), 0.0..1e3f64, 0.0..1e12f64, Just(f64::MIN_POSITIVE)];
    (0i64..10_000_000, 0.0..1e9f64, prop::collection::vec((1i64..120_000, increase), 1..40))
}

proptest! {
    #[test]
    fn rate_is_never_negative_on_a_monotonic_counter((t0, v0, steps) in counter(), probe in 0i64..180_000) {
        let mut st = Storage::new(StorageOptions { retention_ms: i64::MAX / 4, max_series: 10 });
        let labels = Labels::from_pairs([("__name__", "x"), ("job", "p")]);
        let (mut t, mut v) = (t0, v0);
        st.append(&labels, t, v).unwrap();
        let mut times = vec![t];
        for (gap, inc) in steps {
            t += gap;
            v += inc;
            st.append(&labels, t, v).unwrap();
            times.push(t);
        }
        // At every sample, between samples, and after the last one.
        let mut at: Vec<i64> = times.clone();
        at.extend(times.windows(2).map(|w| (w[0] + w[1]) / 2));
        at.push(t + probe);
        for q in ["rate(x[1m])", "increase(x[1m])", "irate(x[1m])"] {
            for &now in &at {
                match promql::query(&st, q, now) {
                    Ok(Value::Vector(vs)) => {
                        for s in vs {
                            prop_assert!(s.v >= 0.0, "{} at {} = {} over a monotonic counter", q, now, s.v);
                        }
                    }
                    other => prop_assert!(false, "{}: {:?}", q, other),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c) sanitize leaves no control, C1 or bidi character
// ---------------------------------------------------------------------------------------------

/// Text rich in what must be escaped, mixed with anything else.
fn hostile_text() -> impl Strategy<Value = String> {
    let nasty = prop_oneof![
        (0u32..0x20).prop_map(|u| char::from_u32(u).unwrap()),
        (0x7fu32..=0x9f).prop_map(|u| char::from_u32(u).unwrap()),
        prop::sample::select(vec!['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}']),
        prop::sample::select(vec!['\u{2067}', '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}']),
        prop::sample::select(vec!['\u{200b}', '\u{feff}', '\u{2028}', '\\', 'x', 'u', '{', '}']),
    ];
    prop::collection::vec(prop_oneof![any::<char>(), nasty], 0..64).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #[test]
    fn sanitized_lines_hold_no_control_or_bidi_character(s in prop_oneof![any::<String>(), hostile_text()]) {
        let out = sanitize::line(&s);
        prop_assert!(!out.chars().any(sanitize::is_dangerous), "{:?} -> {:?}", s, out);
        // Safe text is left alone, and sanitising is idempotent.
        if !s.chars().any(sanitize::is_dangerous) && out == s {
            prop_assert!(matches!(out, std::borrow::Cow::Borrowed(_)));
        }
        prop_assert_eq!(sanitize::line(&out), out.clone());
        let multi = sanitize::multiline(&s);
        prop_assert!(!multi.chars().any(|c| c != '\n' && sanitize::is_dangerous(c)), "{:?} -> {:?}", s, multi);
    }

    #[test]
    fn sanitized_bytes_hold_no_control_or_bidi_character(
        b in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            hostile_text().prop_map(String::into_bytes),
        ]
    ) {
        let out = sanitize::bytes(&b);
        prop_assert!(!out.chars().any(sanitize::is_dangerous), "{:?} -> {:?}", b, out);
    }
}

// ---------------------------------------------------------------------------------------------
// (d) any byte prefix of a valid journal reads back as a prefix of its records
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Middle {
    Point(String),
    Step(Phase, String),
    Output(String),
    Check(Phase, u32, CheckOutcome, String),
    Gates(Phase, Vec<(String, CheckOutcome, Option<f64>)>),
}

#[derive(Debug, Clone)]
struct OpSpec {
    kind: OpKind,
    version: String,
    middle: Vec<Middle>,
    end: Option<(Final, Option<String>)>,
    resolve: bool,
}

/// Short text with non-ASCII in it, so a byte prefix can cut a character in two.
fn words() -> impl Strategy<Value = String> {
    "[a-z0-9 .:/\"\\\\ü✓日→-]{0,12}"
}

fn phase() -> impl Strategy<Value = Phase> {
    prop::sample::select(vec![
        Phase::PreCheck,
        Phase::RollbackPoint,
        Phase::Driver,
        Phase::Verify,
        Phase::Bake,
        Phase::Rollback,
        Phase::RollbackVerify,
        Phase::Done,
    ])
}

fn outcome() -> impl Strategy<Value = CheckOutcome> {
    prop::sample::select(vec![
        CheckOutcome::Success,
        CheckOutcome::Failure,
        CheckOutcome::Inconclusive,
        CheckOutcome::Error,
    ])
}

fn middle() -> impl Strategy<Value = Middle> {
    prop_oneof![
        words().prop_map(Middle::Point),
        (phase(), words()).prop_map(|(p, d)| Middle::Step(p, d)),
        words().prop_map(Middle::Output),
        (phase(), 0u32..5, outcome(), words()).prop_map(|(p, n, o, d)| Middle::Check(p, n, o, d)),
        (phase(), prop::collection::vec((words(), outcome(), prop::option::of(-1e3f64..1e3)), 0..3))
            .prop_map(|(p, v)| Middle::Gates(p, v)),
    ]
}

fn op_spec() -> impl Strategy<Value = OpSpec> {
    let kind = prop::sample::select(vec![OpKind::Deploy, OpKind::Rollback, OpKind::Promote]);
    let fin = prop::sample::select(vec![Final::Verified, Final::RolledBack, Final::RollbackFailed, Final::Refused]);
    (
        kind,
        words(),
        prop::collection::vec(middle(), 0..6),
        prop::option::of((fin, prop::option::of(words()))),
        any::<bool>(),
    )
        .prop_map(|(kind, version, middle, end, resolve)| OpSpec { kind, version, middle, end, resolve })
}

/// The journal's text, as `OpJournal::write` writes it: one JSON line per record, each ended by
/// a newline.
fn journal_text(ops: &[OpSpec]) -> String {
    let mut out = String::new();
    let mut at = 1_000;
    let mut put = |op: &str, rec: Rec| {
        at += 17;
        let line = Line { v: journal::FORMAT, op: op.to_string(), at, rec };
        out.push_str(&serde_json::to_string(&line).unwrap());
        out.push('\n');
    };
    for (i, o) in ops.iter().enumerate() {
        let id = format!("op{i}");
        put(
            &id,
            Rec::Start {
                env: "staging".into(),
                operation: o.kind,
                version: o.version.clone(),
                previous: Some("1.4.0".into()),
                user: "alice".into(),
                host: "bastion".into(),
                pid: u32::MAX,
                deadline: 99_999,
                forced: false,
                via: "cli".into(),
            },
        );
        for m in &o.middle {
            put(
                &id,
                match m.clone() {
                    Middle::Point(version) => Rec::Point { version, basis: "verified".into() },
                    Middle::Step(phase, detail) => Rec::Step { phase, detail },
                    Middle::Output(line) => Rec::Output { stream: "stdout".into(), line },
                    Middle::Check(phase, n, outcome, detail) => Rec::Check { phase, n, outcome, detail },
                    Middle::Gates(phase, v) => Rec::Gates {
                        phase,
                        verdicts: v
                            .into_iter()
                            .map(|(name, outcome, value)| GateVerdict { name, outcome, value, detail: String::new() })
                            .collect(),
                    },
                },
            );
        }
        if let Some((outcome, running)) = o.end.clone() {
            put(&id, Rec::End { outcome, running, detail: "done".into() });
        }
        if o.resolve {
            put(&id, Rec::Resolve { how: "marked resolved".into(), user: "bob".into() });
        }
    }
    out
}

fn load(bytes: &[u8]) -> History {
    let dir = tempfile::tempdir().unwrap();
    let p = journal::path(dir.path(), "staging");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    History::load(dir.path(), "staging")
}

proptest! {
    #[test]
    fn any_prefix_of_a_journal_reads_back_as_a_prefix_of_its_records(
        ops in prop::collection::vec(op_spec(), 0..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = journal_text(&ops);
        let full = load(text.as_bytes());
        prop_assert!(full.problems.is_empty(), "{:?}", full.problems);
        prop_assert_eq!(full.operations.len(), ops.len());

        let k = cut.index(text.len() + 1);
        let prefix = &text.as_bytes()[..k];
        let part = load(prefix);
        // What the prefix holds: its complete lines; a torn last line is reported, never read.
        let complete = prefix.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let whole = load(&prefix[..complete]);
        prop_assert_eq!(&part.operations, &whole.operations);
        prop_assert_eq!(part.problems.len(), usize::from(complete < k), "{:?}", part.problems);
        // Those complete lines are the journal's first records: the same operations, in order,
        // each one as far as the prefix goes.
        prop_assert!(part.operations.len() <= full.operations.len());
        for (p, f) in part.operations.iter().zip(&full.operations) {
            prop_assert_eq!(&p.id, &f.id);
            prop_assert_eq!((&p.version, p.operation, p.started, &p.user), (&f.version, f.operation, f.started, &f.user));
            prop_assert!(f.output.starts_with(&p.output));
            prop_assert!(p.checks <= f.checks);
            if p.last.is_some() {
                prop_assert_eq!((&p.outcome, p.ended, &p.running), (&f.outcome, f.ended, &f.running));
            } else {
                prop_assert!(p.interrupted, "an operation without its end is interrupted (no lock is held)");
            }
        }
        let _ = part.verified();
        let _ = part.interrupted();
    }
}
