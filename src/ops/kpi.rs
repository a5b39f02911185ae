//! The five KPIs of the process for a period, per client or overall (05f.07).
//! Reads the daily rollups, tickets and recovery attempts; the arithmetic is
//! in `report`.

use anyhow::Result;
use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::time::{local_day, local_midnight, Ts};
use crate::report::{self, Backlog, Compliance, IncidentRate, RecoveryIssues, RecoverySuccess};
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
    /// The windows `check` has closed reach this far (its last run): when
    /// it is before the period's end (or now), occurrences after it are not
    /// counted yet. `None`: `check` never ran.
    pub counted_until: Option<Ts>,
    /// Whether occurrences of the period may be missing for that reason.
    pub incomplete: bool,
}

/// The zone of the period's boundaries: the client's, or UTC for all clients.
pub fn zone(store: &Store, client: Option<&str>) -> Result<Tz> {
    Ok(match client {
        Some(c) => clients::get(&store.conn, c)?.tz(),
        None => chrono_tz::UTC,
    })
}

/// `[first of month, first of next month)` in `tz`.
pub fn month(year: i32, month: u32, tz: Tz) -> Result<(i64, i64)> {
    let start = NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| anyhow::anyhow!("no month {year}-{month}"))?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(|| anyhow::anyhow!("no month after {year}-{month}"))?;
    Ok((
        local_midnight(start, tz)?.timestamp(),
        local_midnight(next, tz)?.timestamp(),
    ))
}

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

/// The five KPIs for `[from, to)` as of `now`.
pub fn compute(
    store: &Store,
    client: Option<&str>,
    from: i64,
    to: i64,
    now: i64,
    aged_after: i64,
) -> Result<Kpis> {
    let c = client.map(|c| clients::get(&store.conn, c)).transpose()?;
    let client_id = c.as_ref().map(|c| c.id);
    let tz = c.as_ref().map_or(chrono_tz::UTC, |c| c.tz());
    let end = to.min(now);
    let attempts = kpi::attempts(&store.conn, client_id, from, to)?;
    // Rollups are kept per client's local day; overall, each client's local days are summed.
    let r = events::rollup_sum(
        &store.conn,
        client_id,
        local_day(from, tz),
        local_day(to, tz),
    )?;
    let tasks = tickets::tasks_due_between(&store.conn, client_id, from, to)?;
    let counted = crate::store::meta::get_i64(&store.conn, crate::ops::health::LAST_CHECK)?;
    Ok(Kpis {
        client: client.map(str::to_string),
        period: period_label(from, to, tz),
        from: Ts(from),
        to: Ts(to),
        boundaries: if c.is_some() {
            tz.name().to_string()
        } else {
            "client-local days".to_string()
        },
        recovery_issues: report::recovery_issues(&attempts),
        aged_backlog: report::backlog(&kpi::open_at(&store.conn, client_id, end)?, end, aged_after),
        backup_incident_rate: report::incident_rate(
            r.occ_failed,
            r.occ_missed,
            r.expected,
            kpi::corrective_opened(&store.conn, client_id, from, to)?,
        ),
        task_compliance: report::compliance(&tasks, end),
        recovery_success_rate: report::recovery_success(&attempts),
        counted_until: counted.map(Ts),
        incomplete: match counted {
            None => true,
            Some(c) if c >= end => false,
            Some(c) => window_closed_between(store, client_id, c, end)?,
        },
    })
}

/// Whether any active policy (of one client, or all) has a window that
/// closed in `(after, until]`: one that `check`, last run at `after`, has
/// not judged. Policies sharing a schedule, zone and grace are asked once.
fn window_closed_between(
    store: &Store,
    client_id: Option<i64>,
    after: i64,
    until: i64,
) -> Result<bool> {
    use crate::domain::policy::Schedule;
    for (schedule, zone, grace) in crate::store::policies::schedules(&store.conn, client_id)? {
        let (Ok(s), Ok(tz)) = (Schedule::parse(&schedule), zone.parse::<Tz>()) else {
            continue;
        };
        // the first occurrence whose window closes after `after`
        let first = crate::domain::time::from_unix(after - grace);
        if s.next_after(first, tz)
            .is_some_and(|t| t.timestamp() + grace <= until)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
