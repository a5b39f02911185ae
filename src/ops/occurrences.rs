//! Occurrences judged from the recorded runs, read-only: what `kpi` counts
//! where the rollups cannot answer (the part of a client's day an exact
//! period cuts, windows closed since the last `check`) and what `db check`
//! recomputes the rollups from. The rules are `check`'s: a window's outcome
//! is the best of its runs; with none, a run still going past its max
//! runtime makes it failed (hung), one still within it leaves it undecided,
//! a pause excuses it, else it is missed.

use std::collections::HashMap;

use crate::store::Db;
use anyhow::Result;
use chrono_tz::Tz;

use crate::domain::event::Status;
use crate::domain::policy::Schedule;
use crate::domain::time::{from_unix, local_day};
use crate::store::events::{ClientRuns, Rollup};
use crate::store::policies::{self, Occurring};
use crate::store::{exclusions, pauses, running};

/// A span of occurrence instants `[from, to)` of one client, and which of
/// its occurrences count.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    pub which: Which,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every window closed by now.
    All,
    /// Those `check` has not closed (the rollups hold the others).
    Unclosed,
    /// Those `check` has closed (what the rollups hold).
    Closed,
}

/// What a count found: the outcomes by the client's local day of each
/// occurrence, and how many of them `check` had not closed.
#[derive(Debug, Default)]
pub struct Counted {
    pub by_day: HashMap<(i64, i64), Rollup>,
    pub unclosed: i64,
}

impl Counted {
    pub fn total(&self) -> Rollup {
        let mut t = Rollup::default();
        for r in self.by_day.values() {
            t.add(r);
        }
        t
    }
}

/// Judge the occurrences of every policy (of a client, or all) in the spans
/// `spans` gives for each client (by id and zone), as of `now`.
pub fn count(
    conn: &Db,
    client_id: Option<i64>,
    now: i64,
    default_max_runtime_s: i64,
    spans: impl Fn(i64, Tz) -> Vec<Span>,
) -> Result<Counted> {
    count_where(conn, client_id, None, now, default_max_runtime_s, spans)
}

fn count_where(
    conn: &Db,
    client_id: Option<i64>,
    policy_id: Option<i64>,
    now: i64,
    default_max_runtime_s: i64,
    spans: impl Fn(i64, Tz) -> Vec<Span>,
) -> Result<Counted> {
    let mut out = Counted::default();
    let mut rows = policies::occurring(conn, client_id)?;
    if let Some(id) = policy_id {
        rows.retain(|p| p.id == id);
    }
    let going = running::all(conn)?;
    let in_force = pauses::list(conn, i64::MIN / 4, now + 1, false)?;
    let excluded = exclusions::keys(conn)?;
    let versions = policies::all_versions(conn, client_id)?;
    let mut schedules: HashMap<String, Option<Schedule>> = HashMap::new();
    let mut runs = ClientRuns::default();
    for client in rows.chunk_by(|a, b| a.client_id == b.client_id) {
        let Ok(tz) = client[0].timezone.parse::<Tz>() else {
            continue;
        };
        let spans = spans(client[0].client_id, tz);
        if spans.is_empty() {
            continue;
        }
        for p in client {
            let current = [policies::Version {
                since: p.created_at,
                schedule: p.schedule.clone(),
                grace_s: p.grace_s,
                max_runtime_s: p.max_runtime_s,
            }];
            let vs = versions.get(&p.id).map_or(&current[..], |v| &v[..]);
            for (i, v) in vs.iter().enumerate() {
                let schedule = schedules
                    .entry(v.schedule.clone())
                    .or_insert_with(|| Schedule::parse(&v.schedule).ok());
                let Some(schedule) = schedule.as_ref() else {
                    continue;
                };
                // each version's own occurrences: after it came in force
                // (the first: the policy's creation, or a history span's start)
                let next = vs.get(i + 1).map(|n| n.since);
                let era = Era {
                    schedule,
                    grace_s: v.grace_s,
                    max_runtime_s: v.max_runtime_s,
                    after: (i > 0).then_some(v.since),
                    until: next,
                };
                for span in &spans {
                    let facts = Facts {
                        going: &going,
                        in_force: &in_force,
                        excluded: &excluded,
                    };
                    judge(
                        conn,
                        p,
                        &era,
                        tz,
                        span,
                        now,
                        default_max_runtime_s,
                        &facts,
                        &mut runs,
                        &mut out,
                    )?;
                }
            }
        }
    }
    Ok(out)
}

/// What besides the runs decides a window: runs still going, pauses,
/// exclusions.
struct Facts<'a> {
    going: &'a HashMap<i64, Vec<running::Running>>,
    in_force: &'a [pauses::PauseRow],
    excluded: &'a std::collections::HashSet<(i64, i64)>,
}

/// The outcome of one policy's occurrence at `tk`, as `check` closed it
/// (`None`: not an expected occurrence — paused, excluded, or not closed).
pub fn outcome_of(
    conn: &Db,
    policy_id: i64,
    client_id: i64,
    tk: i64,
    now: i64,
    default_max_runtime_s: i64,
) -> Result<Option<Status>> {
    let one = |c: i64, _: Tz| {
        if c == client_id {
            vec![Span {
                from: tk,
                to: tk + 1,
                which: Which::Closed,
            }]
        } else {
            Vec::new()
        }
    };
    let counted = count_where(
        conn,
        Some(client_id),
        Some(policy_id),
        now,
        default_max_runtime_s,
        one,
    )?;
    let r = counted.total();
    Ok([
        (r.occ_success, Status::Success),
        (r.occ_warning, Status::Warning),
        (r.occ_failed, Status::Failed),
        (r.occ_missed, Status::Missed),
    ]
    .into_iter()
    .find(|(n, _)| *n > 0)
    .map(|(_, s)| s))
}

/// One version of a policy and the occurrences it governs: after `after`
/// (the first: from the creation) up to `until` (the next version's start).
struct Era<'a> {
    schedule: &'a Schedule,
    grace_s: i64,
    max_runtime_s: Option<i64>,
    after: Option<i64>,
    until: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
fn judge(
    conn: &Db,
    p: &Occurring,
    era: &Era<'_>,
    tz: Tz,
    span: &Span,
    now: i64,
    default_max_runtime_s: i64,
    facts: &Facts<'_>,
    runs: &mut ClientRuns,
    out: &mut Counted,
) -> Result<()> {
    let schedule = era.schedule;
    let grace = era.grace_s;
    let max_runtime = era.max_runtime_s.unwrap_or(default_max_runtime_s);
    let closed = p.checked_until.unwrap_or(i64::MIN);
    // a retired policy's windows are those `check` closed
    // `check` closed the windows up to `checked_until`; a history import
    // those from `expected_from` to the policy's creation
    let closed = closed.max(p.created_at);
    // a version no longer in force has only the windows `check` closed
    let current = era.until.is_none();
    if !current && span.which == Which::Unclosed {
        return Ok(());
    }
    let last = if p.active && current && span.which != Which::Closed {
        now - grace
    } else {
        closed
    };
    let first = match era.after {
        Some(since) => since + 1,
        None => p
            .expected_from
            .map_or(p.created_at + 1, |e| e.min(p.created_at + 1)),
    };
    let is_closed = |tk: i64| tk <= closed;
    let mut from = span.from.max(first);
    if span.which == Which::Unclosed {
        from = from.max(closed + 1);
    }
    let to = span
        .to
        .min(last + 1)
        .min(era.until.map_or(i64::MAX, |u| u + 1));
    if from >= to {
        return Ok(());
    }
    let occurrences = schedule.occurrences(from_unix(from - 1), from_unix(to - 1), tz);
    let Some(first) = occurrences.first() else {
        return Ok(());
    };
    let mut prev = schedule.prev_before(*first, tz).map(|t| t.timestamp());
    let slack = max_runtime.max(86_400);
    for tk in occurrences.iter().map(|t| t.timestamp()) {
        let lo = prev.map_or(i64::MIN / 2, |t| t + grace);
        let hi = tk + grace;
        prev = Some(tk);
        let paused = facts
            .in_force
            .iter()
            .any(|pa| pa.applies_to(p.client_id, p.ci_id, p.id) && pa.covers(tk));
        if paused || facts.excluded.contains(&(p.id, tk)) {
            continue;
        }
        let best = runs
            .best_in_window(conn, p.client_id, p.id, lo, hi, slack)?
            .filter(|s| *s != Status::Missed);
        let outcome = match best {
            Some(s) => s,
            None => {
                let started = facts
                    .going
                    .get(&p.id)
                    .and_then(|v| v.iter().find(|g| g.started_at > lo && g.started_at <= hi));
                match started {
                    // counted hung by `check`
                    Some(g) if g.hung_window == Some(tk) => Status::Failed,
                    // passed by while the run was going: not counted yet
                    Some(_) if is_closed(tk) && span.which == Which::Closed => continue,
                    Some(g) if now - g.started_at <= max_runtime => continue,
                    Some(_) => Status::Failed,
                    None => Status::Missed,
                }
            }
        };
        let r = out
            .by_day
            .entry((p.client_id, local_day(tk, tz)))
            .or_default();
        r.expected += 1;
        r.outcome(outcome, 1);
        if !is_closed(tk) {
            out.unclosed += 1;
        }
    }
    Ok(())
}
