//! The five KPIs of the process for a period, per client or overall (05f.07).
//! Reads the daily rollups, tickets and recovery attempts; the arithmetic is
//! in `report`.

use anyhow::Result;
use chrono::{Datelike, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::time::{local_day, local_midnight, Ts};
use crate::ops::occurrences::{self, Span, Which};
use crate::report::{
    self as report, Backlog, Compliance, IncidentRate, RecoveryIssues, RecoverySuccess,
};
use crate::store::{clients, events, kpi, tickets, Store};

/// The KPIs of one period.
#[derive(Debug, Serialize)]
pub struct Kpis {
    pub client: Option<String>,
    /// The period's own name: `2026-10` for a month, `2026-Q4` for a
    /// quarter, else its first and last days (in the client's zone).
    pub period: String,
    pub from: Ts,
    pub to: Ts,
    /// Whose midnights bound the period: the client's zone, or overall
    /// `client-local days` (each client's own days, summed).
    pub boundaries: String,
    pub recovery_issues: RecoveryIssues,
    pub aged_backlog: Backlog,
    pub backup_incident_rate: IncidentRate,
    pub task_compliance: Compliance,
    pub recovery_success_rate: RecoverySuccess,
    /// When `check` last ran (`None`: never).
    pub counted_until: Option<Ts>,
    /// Occurrences of the period `check` had not closed, judged from the
    /// recorded runs by this read: the figures never wait for cron.
    pub judged_from_runs: i64,
}

/// How a period over all clients is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounds {
    /// Each client's own local midnights of the period's dates, summed
    /// (`--month`, `--quarter`, date-valued `--from/--to`).
    LocalDays,
    /// The instants themselves (RFC 3339 `--from/--to`, the default last 30
    /// days): a client's day the period cuts is counted from its runs.
    Exact,
}

/// The zone of the period's boundaries: the client's, or UTC for all clients.
pub fn zone(store: &Store, client: Option<&str>) -> Result<Tz> {
    Ok(match client {
        Some(c) => clients::get(store.db(), c)?.tz(),
        None => chrono_tz::UTC,
    })
}

pub use crate::domain::time::month;

/// The calendar months (in `tz`) that `[from, to)` spans, clipped to it.
pub fn months(from: i64, to: i64, tz: Tz) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    let first = tz
        .timestamp_opt(from, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("bad time"))?;
    let (mut y, mut m) = (first.year(), first.month());
    loop {
        let (a, b) = month(y, m, tz)?;
        if a >= to {
            break;
        }
        out.push((a.max(from), b.min(to)));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    Ok(out)
}

/// The name of `[from, to)` in `tz`: a whole month `2026-10`, a whole
/// quarter `2026-Q4`, else `2026-10-05..2026-11-03` (its first and last day).
pub fn period_label(from: i64, to: i64, tz: Tz) -> String {
    let day = |t: i64| {
        crate::domain::time::from_unix(t)
            .with_timezone(&tz)
            .date_naive()
    };
    let (first, last) = (day(from), day(to - 1));
    let whole = |a: i64, b: i64| a == from && b == to;
    if first.day() == 1 {
        if let Ok((a, b)) = month(first.year(), first.month(), tz) {
            if whole(a, b) {
                return first.format("%Y-%m").to_string();
            }
        }
        if first.month() % 3 == 1 {
            let q = (first.month() - 1) / 3 + 1;
            if let (Ok((a, _)), Ok((_, b))) = (
                month(first.year(), first.month(), tz),
                month(first.year(), first.month() + 2, tz),
            ) {
                if whole(a, b) {
                    return format!("{}-Q{q}", first.year());
                }
            }
        }
    }
    format!("{first}..{last}")
}

/// What the KPIs of a period are read with.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub now: i64,
    /// `kpi.aged_after`.
    pub aged_after: i64,
    /// `check.default_max_runtime`.
    pub max_runtime: i64,
    pub bounds: Bounds,
}

/// The five KPIs for `[from, to)` (bounded by the client's midnights, or
/// overall as `bounds` says).
pub fn compute(
    store: &Store,
    client: Option<&str>,
    from: i64,
    to: i64,
    at: &Reading,
) -> Result<Kpis> {
    let (now, aged_after) = (at.now, at.aged_after);
    let c = client.map(|c| clients::get(store.db(), c)).transpose()?;
    let client_id = c.as_ref().map(|c| c.id);
    let tz = c.as_ref().map_or(chrono_tz::UTC, |c| c.tz());
    let end = to.min(now);
    let attempts = kpi::attempts(store.db(), client_id, from, to)?;
    let exact = client_id.is_none() && at.bounds == Bounds::Exact;
    let (mut r, counted) = if exact {
        exact_occurrences(store, from, to, at)?
    } else {
        // Rollups are kept per client's local day; overall, each client's
        // own local days of the period's dates are summed.
        let r = events::rollup_sum(
            store.db(),
            client_id,
            local_day(from, tz),
            local_day(to, tz),
        )?;
        let (d0, d1) = (local_day(from, tz), local_day(to, tz));
        let spans = |_: i64, ctz: Tz| match client_id {
            Some(_) => vec![Span {
                from,
                to,
                which: Which::Unclosed,
            }],
            None => match (midnight(d0, ctz), midnight(d1, ctz)) {
                (Some(a), Some(b)) => vec![Span {
                    from: a,
                    to: b,
                    which: Which::Unclosed,
                }],
                _ => Vec::new(),
            },
        };
        (
            r,
            occurrences::count(store.db(), client_id, now, at.max_runtime, spans)?,
        )
    };
    r.add(&counted.total());
    let tasks = tickets::tasks_due_between(store.db(), client_id, from, to)?;
    let last_check = crate::store::meta::get_i64(store.db(), crate::ops::health::LAST_CHECK)?;
    Ok(Kpis {
        client: client.map(str::to_string),
        period: period_label(from, to, tz),
        from: Ts(from),
        to: Ts(to),
        boundaries: match (c.is_some(), exact) {
            (true, _) => tz.name().to_string(),
            (false, true) => "exact instants, UTC".to_string(),
            (false, false) => "client-local days".to_string(),
        },
        recovery_issues: report::recovery_issues(&attempts),
        aged_backlog: report::backlog(&kpi::open_at(store.db(), client_id, end)?, end, aged_after),
        backup_incident_rate: report::incident_rate(
            r.occ_failed,
            r.occ_missed,
            r.expected,
            kpi::corrective_opened(store.db(), client_id, from, to)?,
        ),
        task_compliance: report::compliance(&tasks, end),
        recovery_success_rate: report::recovery_success(&attempts),
        counted_until: last_check.map(Ts),
        judged_from_runs: counted.unclosed,
    })
}

/// The UTC instant of local day `day`'s midnight in `tz`.
fn midnight(day: i64, tz: Tz) -> Option<i64> {
    local_midnight(crate::domain::time::day_date(day), tz)
        .ok()
        .map(|t| t.timestamp())
}

/// All clients' occurrences in `[from, to)` exactly: each client's whole
/// local days inside from the rollups (and what `check` has not closed of
/// them from the runs), the days the bounds cut from the runs.
fn exact_occurrences(
    store: &Store,
    from: i64,
    to: i64,
    at: &Reading,
) -> Result<(events::Rollup, occurrences::Counted)> {
    let mut r = events::Rollup::default();
    let mut inner: std::collections::HashMap<String, (i64, i64)> = Default::default();
    for zone in clients::zones(store.db())? {
        let Ok(tz) = zone.parse::<Tz>() else { continue };
        // the first whole local day, and the day `to` falls in
        let first = match midnight(local_day(from, tz), tz) {
            Some(m) if m == from => local_day(from, tz),
            _ => local_day(from, tz) + 1,
        };
        let last = local_day(to, tz);
        if first < last {
            r.add(&events::rollup_sum_zone(store.db(), &zone, first, last)?);
        }
        inner.insert(zone, (first, last));
    }
    let spans = |_: i64, tz: Tz| {
        let Some(&(first, last)) = inner.get(tz.name()) else {
            return Vec::new();
        };
        match (midnight(first, tz), midnight(last, tz)) {
            (Some(a), Some(b)) if first < last => vec![
                Span {
                    from,
                    to: a,
                    which: Which::All,
                },
                Span {
                    from: a,
                    to: b,
                    which: Which::Unclosed,
                },
                Span {
                    from: b,
                    to,
                    which: Which::All,
                },
            ],
            _ => vec![Span {
                from,
                to,
                which: Which::All,
            }],
        }
    };
    let counted = occurrences::count(store.db(), None, at.now, at.max_runtime, spans)?;
    Ok((r, counted))
}
