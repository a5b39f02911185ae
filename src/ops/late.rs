//! Late data supersedes (DESIGN, "Late data"): a run that arrives after
//! `check` closed its window re-judges that occurrence. The window's outcome
//! is the best of its runs; the `missed` event of a window a late run filled
//! is kept, marked superseded, and not counted; the rollups move with the
//! outcome; the policy's streaks are counted again in event-time order; and
//! a ticket whose every cause went is withdrawn (principle 3).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono_tz::Tz;

use crate::domain::event::Status;
use crate::domain::policy::Schedule;
use crate::domain::time::{local_day, rfc3339};
use crate::ops::correct::{Auto, Subject};
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::policies::{self, State};
use rusqlite::Connection;

/// A run of this batch that may fall in a window `check` closed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LateRun {
    pub at: i64,
    pub ended: i64,
    pub status: Status,
    /// Older than the policy's newest run when it arrived.
    pub older: bool,
}

/// The streaks are read back this far at most.
const STREAK_HORIZON: i64 = 2 * 366 * 86_400;

/// Re-judge the closed windows `runs` fall in; recount the streaks when a run
/// is older than the newest; withdraw what lost its cause. `auto` is `None`
/// for a history import, which touches no ticket. Rollup corrections go
/// into `rollups`.
pub(crate) fn rejudge(
    conn: &Connection,
    ctx: &Ctx,
    s: &Subject,
    runs: &[LateRun],
    st: &mut State,
    auto: Option<&mut Auto<'_>>,
    rollups: &mut impl Extend<((i64, i64), Rollup)>,
) -> Result<()> {
    let w = policies::windows(conn, s.policy_id)?;
    let (Ok(schedule), Ok(tz)) = (Schedule::parse(&w.schedule), w.timezone.parse::<Tz>()) else {
        return Ok(());
    };
    let slack = w
        .max_runtime_s
        .unwrap_or(ctx.rules.default_max_runtime_s)
        .max(86_400);
    let grace = w.grace_s;
    let now = ctx.ts();
    // the closed windows the runs fall in, each with this batch's runs in it
    let mut windows: BTreeMap<i64, (i64, Vec<&LateRun>)> = BTreeMap::new();
    if let Some(closed) = st.checked_until {
        for r in runs {
            let Some((lo, tk)) = schedule.window_of(r.at, grace, tz) else {
                continue;
            };
            if tk <= w.created_at || tk > closed || r.ended <= lo || r.ended > tk + grace + slack {
                continue;
            }
            windows.entry(tk).or_insert((lo, Vec::new())).1.push(r);
        }
    }
    let mut filled_missed = Vec::new();
    // one read for all the windows
    let span = windows
        .iter()
        .next()
        .map(|(_, (lo, _))| *lo)
        .zip(windows.keys().next_back().map(|tk| tk + grace + slack));
    let all = match span {
        Some((from, to)) => events::one_policy_runs(conn, s.client_id, s.policy_id, from, to)?,
        None => Vec::new(),
    };
    for (tk, (lo, batch)) in windows {
        let hi = tk + grace;
        let stored: Vec<Status> = all
            .iter()
            .filter(|(at, ended, _)| *at > lo && *at <= hi && *ended > lo && *ended <= hi + slack)
            .map(|(_, _, status)| *status)
            .collect();
        let new = stored.iter().copied().max();
        let mut before = stored;
        for r in &batch {
            if let Some(i) = before.iter().position(|x| *x == r.status) {
                before.swap_remove(i);
            }
        }
        let old = before.into_iter().max();
        let (Some(old), Some(new)) = (old, new) else {
            continue; // a window not counted (paused): nothing to correct
        };
        if old == new {
            continue;
        }
        let mut d = Rollup::default();
        bump(&mut d, old, -1);
        bump(&mut d, new, 1);
        rollups.extend([((s.client_id, local_day(tk, tz)), d)]);
        if old == Status::Missed {
            events::supersede_missed(conn, s.client_id, s.policy_id, hi, now)?;
            filled_missed.push((tk, new));
        }
    }
    let before = *st;
    for r in runs.iter().filter(|r| r.status != Status::Failed) {
        // a restore point moves the RPO clock, late or not
        st.last_success_at = Some(st.last_success_at.unwrap_or(r.ended).max(r.ended));
    }
    if runs.iter().any(|r| r.older) || !filled_missed.is_empty() {
        recount(conn, s, now, st)?;
    }
    let Some(auto) = auto else {
        return Ok(());
    };
    // principle 3: a `missed` ticket none of whose missed windows stands
    let mut withdrawn = false;
    if !filled_missed.is_empty() {
        let (tk, outcome) = filled_missed[filled_missed.len() - 1];
        let detail = format!(
            "the window of {} was not missed: a late run ({}) arrived",
            rfc3339(tk),
            outcome.as_str()
        );
        withdrawn = auto.withdraw_if(s, "missed", &detail, |t| {
            let (Some(from), Some(to)) = (t.first_seen_at, t.last_seen_at) else {
                return Ok(true);
            };
            Ok(events::missed_standing(conn, s.client_id, s.policy_id, from, to)? == 0)
        })?;
    }
    if before.last_status == st.last_status && before.last_event_at == st.last_event_at {
        return Ok(());
    }
    // the newest occurrence changed under late data: what it means now
    let newest = st.last_event_at.unwrap_or(now);
    let detail = format!(
        "a late run changed the newest outcome ({})",
        rfc3339(newest)
    );
    match st.last_status {
        Some(Status::Success) if withdrawn => {
            auto.recover(s, &["failed", "hung", "warning", "rpo"], newest, &detail)?
        }
        Some(Status::Success) => auto.recover(
            s,
            &["failed", "missed", "hung", "warning", "rpo"],
            newest,
            &detail,
        )?,
        Some(Status::Warning) => auto.recover(s, &["hung", "rpo"], newest, &detail)?,
        Some(Status::Failed) if before.last_status == Some(Status::Missed) => {
            let id = auto.raise(s, "failed", newest, &detail)?;
            if st.consecutive_failures >= ctx.rules.escalate_after {
                auto.escalate(
                    id,
                    &format!(
                        "{} consecutive failed or missed runs",
                        st.consecutive_failures
                    ),
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn bump(r: &mut Rollup, s: Status, by: i64) {
    match s {
        Status::Success => r.occ_success += by,
        Status::Warning => r.occ_warning += by,
        Status::Failed => r.occ_failed += by,
        Status::Missed => r.occ_missed += by,
    }
}

/// Count the policy's newest outcome and streaks again from its recorded
/// runs, in event-time order (missed events that stand included).
fn recount(conn: &Connection, s: &Subject, now: i64, st: &mut State) -> Result<()> {
    let mut span = 32 * 86_400;
    loop {
        let mut rows =
            events::one_policy_runs(conn, s.client_id, s.policy_id, now - span, now + 86_400 * 2)?;
        rows.sort_unstable_by_key(|(at, ended, _)| std::cmp::Reverse((*at, *ended)));
        let Some(&(at, _, newest)) = rows.first() else {
            if span >= STREAK_HORIZON {
                return Ok(());
            }
            span *= 4;
            continue;
        };
        let fails = rows
            .iter()
            .take_while(|r| matches!(r.2, Status::Failed | Status::Missed))
            .count();
        let warns = rows.iter().take_while(|r| r.2 == Status::Warning).count();
        let open_ended = fails == rows.len() || warns == rows.len();
        if open_ended && span < STREAK_HORIZON {
            span *= 4;
            continue;
        }
        st.last_event_at = Some(at);
        st.last_status = Some(newest);
        st.consecutive_failures = fails as i64;
        st.consecutive_warnings = warns as i64;
        return Ok(());
    }
}
