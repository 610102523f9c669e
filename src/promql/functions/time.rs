//! `timestamp()` and the date functions (`year`, `month`, `day_of_week`, `hour`, ...), which
//! read a sample's value, or the evaluation time, as seconds since the epoch in UTC.

use chrono::{Datelike, TimeZone, Timelike, Utc};
use promql_parser::parser::Expr;

use super::{map_values, Context};
use crate::promql::value::{dedup_checked, drop_name, Smp, Val};
use crate::promql::{unwrap_parens, EvalError};
use crate::tsdb::Labels;

/// `timestamp(arg)`: a selector's samples report their own timestamps, anything else the step's.
pub(super) fn timestamp(ev: &impl Context, arg: &Expr, t: i64) -> Result<Val, EvalError> {
    let arg = unwrap_parens(arg);
    let own_time = matches!(arg, Expr::VectorSelector(_));
    let v = ev.eval_vector(arg, t)?;
    let out: Vec<Smp> = v
        .into_iter()
        .map(|s| {
            let ts = if own_time { s.t } else { t };
            Smp { labels: drop_name(&s.labels), v: ts as f64 / 1000.0, t: ts }
        })
        .collect();
    dedup_checked(out)
}

/// A date function of its vector argument, or of the evaluation time when it has none.
pub(super) fn date_function(ev: &impl Context, name: &str, args: &[&Expr], t: i64) -> Result<Val, EvalError> {
    if args.is_empty() {
        return Ok(Val::Vector(vec![Smp { labels: Labels::empty(), v: date_part(name, t / 1000), t }]));
    }
    let v = ev.eval_vector(args[0], t)?;
    map_values(v, |x| date_part(name, go_f64_to_i64(x)))
}

/// The part of the date at `secs` (UTC) that the function `name` reports.
fn date_part(name: &str, secs: i64) -> f64 {
    let d = Utc.timestamp_opt(secs, 0).single().unwrap_or_else(|| Utc.timestamp_opt(0, 0).unwrap());
    match name {
        "days_in_month" => {
            let (y, m) = (d.year(), d.month());
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let first_next = chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1);
            let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
            match (first, first_next) {
                (Some(a), Some(b)) => (b - a).num_days() as f64,
                _ => f64::NAN,
            }
        }
        "day_of_month" => d.day() as f64,
        "day_of_week" => d.weekday().num_days_from_sunday() as f64,
        "day_of_year" => d.ordinal() as f64,
        "hour" => d.hour() as f64,
        "minute" => d.minute() as f64,
        "month" => d.month() as f64,
        _ => d.year() as f64,
    }
}

/// Go's float→int64 conversion on amd64 gives i64::MIN for NaN and out-of-range values.
fn go_f64_to_i64(v: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}
