//! Late data supersedes (DESIGN, "Late data"): a run that arrives after
//! `check` closed its window re-judges that occurrence. The window's outcome
//! is the best of its runs; the `missed` event of a window a late run filled
//! is kept, marked superseded, and not counted; the rollups move with the
//! outcome; the policy's streaks are counted again in event-time order; and
//! a ticket whose every cause went is withdrawn (principle 3).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono_tz::Tz;

use crate::domain::automation::PolicyState;
use crate::domain::event::Status;
use crate::domain::policy::Schedule;
use crate::domain::ticket::ProblemClass;
use crate::domain::time::{local_day, rfc3339};
use crate::ops::correct::{Auto, Subject};
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::policies;
use crate::store::running;
use crate::store::Db;

/// A run of this batch that may fall in a window `check` closed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LateRun {
    pub at: i64,
    pub ended: i64,
    pub status: Status,
    /// It replaced a start record whose window `check` closed as hung.
    pub hung: bool,
    /// It replaced a start record whose window `check` passed by uncounted.
    pub pending: bool,
    /// It replaced a start record (counted hung or not).
    pub replaced_start: bool,
    /// Not a run: a start record just recorded (status is a placeholder).
    pub start: bool,
}

/// The streaks are read back this far at most.
const STREAK_HORIZON: i64 = 2 * 366 * 86_400;

/// Re-judge the closed windows `runs` fall in; recount the streaks when a run
/// is older than the newest; withdraw what lost its cause. `auto` is `None`
/// for a history import, which touches no ticket. Rollup corrections go
/// into `rollups`.
pub(crate) fn rejudge(
    conn: &Db,
    ctx: &Ctx,
    s: &Subject,
    runs: &[LateRun],
    st: &mut PolicyState,
    auto: Option<&mut Auto<'_>>,
    rollups: &mut impl Extend<((i64, i64), Rollup)>,
) -> Result<()> {
    let w = policies::windows(conn, s.policy_id)?;
    let (Ok(schedule), Ok(tz)) = (
        Schedule::parse_cached(&w.schedule),
        w.timezone.parse::<Tz>(),
    ) else {
        return Ok(());
    };
    let slack = w
        .max_runtime_s
        .unwrap_or(ctx.rules.default_max_runtime_s)
        .max(86_400);
    let grace = w.grace_s;
    let now = ctx.ts();
    // the closed windows the runs fall in, each with this batch's runs in it
    let mut windows: BTreeMap<i64, (i64, i64, Vec<&LateRun>)> = BTreeMap::new();
    // a run is judged by the policy's version in force then
    let versions = policies::versions(conn, s.policy_id)?;
    let mut parsed: Vec<Option<Schedule>> = Vec::new();
    for v in &versions {
        parsed.push(Schedule::parse_cached(&v.schedule).ok());
    }
    // closed by `check` after the creation, or by a history import before it
    let closed = |tk: i64| {
        if tk > w.created_at {
            st.checked_until.is_some_and(|c| tk <= c)
        } else {
            w.expected_from.is_some_and(|e| tk >= e)
        }
    };
    for r in runs {
        let i = versions.iter().rposition(|v| v.since < r.at).unwrap_or(0);
        let (schedule, grace) = match (parsed.get(i), versions.get(i)) {
            (Some(Some(sch)), Some(v)) => (sch, v.grace_s),
            _ => (&schedule, grace),
        };
        let Some((lo, tk)) = schedule.window_of(r.at, grace, tz) else {
            continue;
        };
        if !closed(tk) || r.ended <= lo || r.ended > tk + grace + slack {
            continue;
        }
        windows
            .entry(tk)
            .or_insert((lo, grace, Vec::new()))
            .2
            .push(r);
    }
    let mut filled_missed = Vec::new();
    let excluded = if windows.is_empty() || !crate::store::exclusions::any(conn)? {
        Default::default()
    } else {
        crate::store::exclusions::keys(conn)?
    };
    // most policies have no run going: then no window waits on one
    let going = !windows.is_empty() && running::earliest(conn, s.policy_id)?.is_some();
    // one read for all the windows
    let span = windows.iter().next().map(|(_, (lo, _, _))| *lo).zip(
        windows
            .iter()
            .next_back()
            .map(|(tk, (_, g, _))| tk + g + slack),
    );
    let all = match span {
        Some((from, to)) => events::one_policy_runs(conn, s.client_id, s.policy_id, from, to)?,
        None => Vec::new(),
    };
    for (tk, (lo, grace, batch)) in windows {
        let hi = tk + grace;
        if excluded.contains(&(s.policy_id, tk)) {
            continue; // out of the incident rate by a person's decision
        }
        let stored: Vec<Status> = all
            .iter()
            .filter(|(at, ended, _)| *at > lo && *at <= hi && *ended > lo && *ended <= hi + slack)
            .map(|(_, _, status)| *status)
            .collect();
        // a run still going past its max runtime holds the window as failed
        let held = (going && running::holds_hung(conn, s.policy_id, tk)?).then_some(Status::Failed);
        let mut held_now = held;
        // a start learned of after its window closed with no run in it: the
        // window is held as failed (hung) until the run's end re-judges it
        if let Some(r) = batch.iter().find(|r| r.start) {
            if !stored.is_empty() && stored.iter().all(|x| *x == Status::Missed) {
                running::mark_hung(conn, s.policy_id, r.at, tk)?;
                held_now = Some(Status::Failed);
            }
        }
        let new = stored.iter().copied().max().max(held_now);
        let mut before = stored;
        for r in batch.iter().filter(|r| !r.start) {
            if let Some(i) = before.iter().position(|x| *x == r.status) {
                before.swap_remove(i);
            }
        }
        // a start record counted hung was a failed occurrence
        let hung = batch.iter().any(|r| r.hung).then_some(Status::Failed);
        let old = before.into_iter().max().max(hung).max(held);
        let terminal = batch.iter().any(|r| !r.start);
        let still_waiting = terminal && going && running::clear_pending(conn, s.policy_id, tk)?;
        if batch.iter().any(|r| r.pending) || still_waiting {
            // the window `check` passed by while a run in it was going: its
            // outcome is counted now, for the first time (a run still going
            // in it no longer holds it)
            if let Some(new) = new {
                let mut d = Rollup {
                    expected: 1,
                    ..Rollup::default()
                };
                d.outcome(new, 1);
                rollups.extend([((s.client_id, local_day(tk, tz)), d)]);
            }
            continue;
        }
        let (Some(old), Some(new)) = (old, new) else {
            continue; // a window not counted (paused): nothing to correct
        };
        if old == new {
            continue;
        }
        let mut d = Rollup::default();
        d.outcome(old, -1);
        d.outcome(new, 1);
        rollups.extend([((s.client_id, local_day(tk, tz)), d)]);
        if old == Status::Missed {
            events::supersede_missed(conn, s.client_id, s.policy_id, hi, now)?;
            filled_missed.push((tk, new));
        }
    }
    let runs: Vec<&LateRun> = runs.iter().filter(|r| !r.start).collect();
    for r in runs
        .iter()
        .filter(|r| matches!(r.status, Status::Success | Status::Warning))
    {
        // a restore point moves the RPO clock, late or not
        st.last_success_at = Some(st.last_success_at.unwrap_or(r.at).max(r.at));
    }
    let streak_before = st.consecutive_failures;
    let trail = recount(conn, s, now, ctx.rules.warnings_before, st)?;
    let Some(auto) = auto else {
        return Ok(());
    };
    // a late restore point inside a gap: a recorded breach shrinks or goes
    // (its "find the cause" ticket withdrawn), and an RPO incident whose
    // claim it disproves is withdrawn (principle 3)
    let limit = s.rpo_s + grace;
    for r in runs
        .iter()
        .filter(|r| matches!(r.status, Status::Success | Status::Warning))
    {
        if let Some((from, to, ticket)) = crate::store::breaches::around(conn, s.policy_id, r.at)? {
            crate::store::breaches::delete(conn, s.policy_id, from)?;
            let mut left = false;
            for (a, b) in [(from, r.at), (r.at, to)] {
                if b - a > limit {
                    crate::store::breaches::insert(conn, s.policy_id, s.client_id, a, b, now)?;
                    if let Some(t) = ticket {
                        crate::store::breaches::set_ticket(conn, s.policy_id, a, t)?;
                    }
                    left = true;
                }
            }
            if !left {
                let detail = format!(
                    "a restore point of {} arrived inside the gap",
                    rfc3339(r.at)
                );
                auto.withdraw_if(s, ProblemClass::Finding, &detail, |t| {
                    Ok(Some(t.id) == ticket)
                })?;
            }
        }
        let detail = format!(
            "a restore point of {} arrived: no gap longer than the RPO plus the grace was open",
            rfc3339(r.at)
        );
        auto.withdraw_if(s, ProblemClass::Rpo, &detail, |t| {
            Ok(t.first_seen_at
                .is_some_and(|f| r.at <= f && f - r.at <= limit))
        })?;
    }
    // a late restore point that brings the newest within the RPO: the breach
    // is over (an incident waits for a person, as when a run ends one live)
    if let Some(r) = runs
        .iter()
        .find(|r| matches!(r.status, Status::Success | Status::Warning))
    {
        if st
            .last_success_at
            .is_some_and(|t| now - t <= w.rpo_s + grace)
        {
            let detail = format!("a late restore point of {} arrived", rfc3339(r.at));
            auto.recover(s, &[ProblemClass::Rpo], r.at, &detail)?;
        }
    }
    // late data never de-escalates: an open ticket keeps its kind and
    // priority, and says so
    if st.consecutive_failures < streak_before {
        if let Some(r) = runs
            .iter()
            .find(|r| matches!(r.status, Status::Success | Status::Warning))
        {
            let text = format!(
                "streak broken by a late {} run on {} ({} failed or missed in a row now, {} before); the ticket keeps its priority",
                r.status.as_str(),
                &rfc3339(r.at)[..10],
                st.consecutive_failures,
                streak_before
            );
            for class in [ProblemClass::Failed, ProblemClass::Missed] {
                auto.note_open(s, class, &text)?;
            }
        }
    }
    // principle 3: the hung ticket of a run that has ended, once none is left hung
    if let Some(r) = runs.iter().find(|r| r.replaced_start) {
        let max_runtime = w.max_runtime_s.unwrap_or(ctx.rules.default_max_runtime_s);
        let still_hung =
            running::earliest(conn, s.policy_id)?.is_some_and(|t| now - t > max_runtime);
        if !still_hung {
            let detail = format!(
                "the run that started {} ended {} ({}, after {}: an overrun, not a hang)",
                rfc3339(r.at),
                rfc3339(r.ended),
                r.status.as_str(),
                crate::domain::time::format_age(r.ended - r.at)
            );
            auto.withdraw_if(s, ProblemClass::Hung, &detail, |_| Ok(true))?;
        }
    }
    // What the runs say now, in event-time order, against the open tickets:
    // a ticket whose every cause went is withdrawn (principle 3), one a late
    // good run cleared recovers, a problem late data revealed is raised.
    let newest = st.last_event_at.unwrap_or(now);
    let late_note = match filled_missed.last() {
        Some((tk, outcome)) => format!(
            "the window of {} was not missed: a late run ({}) arrived",
            rfc3339(*tk),
            outcome.as_str()
        ),
        None => format!("late runs changed the outcome (newest {})", rfc3339(newest)),
    };
    for (class, holds, status) in [
        (ProblemClass::Missed, trail.missed, Status::Missed),
        (ProblemClass::Failed, trail.failed, Status::Failed),
        (ProblemClass::Warning, trail.warning, Status::Warning),
    ] {
        if holds {
            // raised only for what these runs revealed: a ticket a person
            // closed stays closed
            let revealed = runs
                .iter()
                .any(|r| r.status == status && trail.good_at.is_none_or(|g| r.at > g));
            if revealed && !auto.is_open(s, class)? {
                let id = auto.raise(s, class, newest, &late_note)?;
                if class != ProblemClass::Warning
                    && ctx
                        .rules
                        .thresholds(&s.judge)
                        .escalates(st.consecutive_failures)
                {
                    let why = format!(
                        "{} consecutive failed or missed runs",
                        st.consecutive_failures
                    );
                    auto.escalate(id, &why)?;
                }
            }
            continue;
        }
        let withdrawn = class == ProblemClass::Missed
            && auto.withdraw_if(s, class, &late_note, |t| {
                let (Some(from), Some(to)) = (t.first_seen_at, t.last_seen_at) else {
                    return Ok(true);
                };
                Ok(events::missed_standing(conn, s.client_id, s.policy_id, from, to)? == 0)
            })?;
        if !withdrawn {
            let cleared = format!("a late good run cleared it ({late_note})");
            auto.recover(s, &[class], trail.good_at.unwrap_or(newest), &cleared)?;
        }
    }
    Ok(())
}

/// The problems a policy's runs leave open, read in event-time order: those
/// after its newest success (which clears them all).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trail {
    pub failed: bool,
    pub missed: bool,
    /// `warnings_before` warnings in a row since the newest success.
    pub warning: bool,
    /// When the newest success started.
    pub good_at: Option<i64>,
}

impl Trail {
    /// `newest_first`: a policy's standing runs, newest first (by start, then
    /// end), as judged. A failed or missed run holds its class from the
    /// `failures_before`-th in a row on (warnings break a row, as live).
    pub fn of(
        newest_first: &[(i64, i64, Status)],
        warnings_before: i64,
        failures_before: i64,
    ) -> Trail {
        let mut t = Trail::default();
        let mut streak = 0;
        // the failed and missed runs of one row, newest first
        let mut row: Vec<Status> = Vec::new();
        let close = |row: &mut Vec<Status>, t: &mut Trail| {
            let n = row.len() as i64;
            for (i, status) in row.iter().enumerate() {
                if n - i as i64 >= failures_before {
                    match status {
                        Status::Failed => t.failed = true,
                        Status::Missed => t.missed = true,
                        _ => {}
                    }
                }
            }
            row.clear();
        };
        for (at, _, status) in newest_first {
            match status {
                Status::Success => {
                    t.good_at = Some(*at);
                    break;
                }
                Status::Warning => {
                    close(&mut row, &mut t);
                    streak += 1;
                    t.warning |= streak >= warnings_before;
                    continue;
                }
                Status::Failed | Status::Missed => row.push(*status),
            }
            streak = 0;
        }
        close(&mut row, &mut t);
        t
    }
}

/// Count the policy's newest outcome and streaks again from its recorded
/// runs, in event-time order (missed events that stand included), and what
/// they leave open.
fn recount(
    conn: &Db,
    s: &Subject,
    now: i64,
    warnings_before: i64,
    st: &mut PolicyState,
) -> Result<Trail> {
    let mut span = 32 * 86_400;
    loop {
        let mut rows =
            events::one_policy_runs(conn, s.client_id, s.policy_id, now - span, now + 86_400 * 2)?;
        for r in &mut rows {
            r.2 = s.judge.judged(r.2);
        }
        rows.sort_unstable_by_key(|(at, ended, _)| std::cmp::Reverse((*at, *ended)));
        let good = rows.iter().any(|r| r.2 == Status::Success);
        if !good && span < STREAK_HORIZON {
            span *= 4;
            continue;
        }
        let Some(&(at, _, newest)) = rows.first() else {
            return Ok(Trail::default());
        };
        st.last_event_at = Some(at);
        st.last_status = Some(newest);
        st.consecutive_failures = rows
            .iter()
            .take_while(|r| matches!(r.2, Status::Failed | Status::Missed))
            .count() as i64;
        st.consecutive_warnings = rows.iter().take_while(|r| r.2 == Status::Warning).count() as i64;
        return Ok(Trail::of(
            &rows,
            warnings_before,
            s.judge.failures_before_ticket,
        ));
    }
}

/// The gap a new newest restore point at `at` closes, when it is longer than
/// the RPO plus the grace (`previous`: the restore point before it).
pub(crate) fn breach(
    s: &Subject,
    previous: Option<i64>,
    at: i64,
    restore_point: bool,
) -> Option<(i64, i64)> {
    let from = previous?;
    (restore_point && at - from > s.rpo_s + s.grace_s).then_some((from, at))
}

/// Record an RPO breach whose gap a run just closed (DESIGN, "RPO breaches
/// are facts"). Live: the incident `check` opened while the gap was open
/// stands for it; when nobody saw it, a P3 ticket asks for the cause.
pub(crate) fn gap_closed(
    conn: &Db,
    ctx: &Ctx,
    s: &Subject,
    (from, to): (i64, i64),
    auto: Option<&mut Auto<'_>>,
) -> Result<()> {
    if !crate::store::breaches::insert(conn, s.policy_id, s.client_id, from, to, ctx.ts())? {
        return Ok(());
    }
    let Some(auto) = auto else {
        return Ok(()); // a history import records, it does not ask
    };
    let ticket = match auto.open_id(s, ProblemClass::Rpo)? {
        Some(id) => id,
        None => auto.breach_found(s, from, to)?,
    };
    crate::store::breaches::set_ticket(conn, s.policy_id, from, ticket)
}
