//! `check` (for cron): expected runs that did not happen become `missed`
//! events and tickets; hung runs and RPO breaches become tickets.
//!
//! DESIGN, "Expected runs and missed runs": occurrence tₖ's window is
//! (tₖ₋₁ + grace, tₖ + grace]; a closed window with no run in it and no run
//! still going is missed, recorded exactly once.

use crate::store::Db;
use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::domain::automation::windows::{self, Verdict};
use crate::domain::event::{NewEvent, Status};
use crate::domain::policy::Schedule;
use crate::domain::ticket::ProblemClass;
use crate::domain::time::{format_duration, from_unix, local_day, rfc3339, Ts};
use crate::ops::correct::{self, Subject, TicketCounts};
use crate::ops::events::Ingestor;
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::{pauses, policies, running, Store};

/// Settings of a check run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub default_max_runtime_s: i64,
    /// Windows closed per write transaction (`check.batch_windows`).
    pub batch_windows: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `missed`, `hung` or `rpo`.
    pub kind: &'static str,
    pub client: String,
    pub job: String,
    pub at: Ts,
    pub detail: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub policies: usize,
    pub occurrences_closed: usize,
    pub missed: usize,
    pub hung: usize,
    pub rpo_breaches: usize,
    #[serde(flatten)]
    pub tickets: TicketCounts,
    /// The first [`MAX_FINDINGS`] findings; the counts above hold them all.
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], counted only.
    pub findings_omitted: usize,
    /// Write transactions the catch-up took (each at most `check.batch_windows` windows).
    pub transactions: usize,
    /// One client's policies only: not a `check` run (no stamp, no overdue tasks).
    #[serde(skip)]
    partial: bool,
}

/// Findings listed one by one; a long catch-up counts the rest.
pub const MAX_FINDINGS: usize = 1_000;
/// Windows closed per write transaction by default: a catch-up over many
/// policies or a long gap commits in steps, so other writers (imports,
/// `run`, people) wait at most about a second, and its memory stays flat.
pub const BATCH_OCCURRENCES: usize = 20_000;

impl Report {
    fn find(&mut self, f: Finding) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(f);
        } else {
            self.findings_omitted += 1;
        }
    }

    /// Whether this run raised anything (for `--fail-on-findings`).
    pub fn raised(&self) -> bool {
        self.missed > 0
            || self.hung > 0
            || self.rpo_breaches > 0
            || self.tickets.tickets_opened > 0
            || self.tickets.tickets_updated > 0
    }
}

pub fn run(store: &mut Store, ctx: &Ctx, set: &Settings) -> Result<Report> {
    run_for(store, ctx, set, None)
}

/// Close what was due before a change takes effect (DESIGN, "Changes,
/// retirement and pauses"): `check` over one client's policies, in the
/// change's own transaction (a refused change leaves nothing behind).
pub fn close_due(tx: &Db, ctx: &Ctx, client_id: i64) -> Result<Report> {
    let set = Settings {
        default_max_runtime_s: ctx.rules.default_max_runtime_s,
        batch_windows: BATCH_OCCURRENCES,
    };
    let mut report = Report {
        partial: true,
        ..Report::default()
    };
    let mut counts = TicketCounts::default();
    let mut rows = policies::active_for_check(tx)?;
    rows.retain(|p| p.client_id == client_id);
    let (mut cursor, mut walks) = (0, Walks::new());
    while pass(
        tx,
        ctx,
        &set,
        &mut report,
        &mut rows,
        &mut cursor,
        &mut walks,
        &mut counts,
    )? {}
    report.tickets = counts;
    Ok(report)
}

/// The meta key of `check`'s last `PRAGMA quick_check` (once a day).
pub const LAST_QUICK_CHECK: &str = "last_quick_check_at";

fn run_for(store: &mut Store, ctx: &Ctx, set: &Settings, client: Option<i64>) -> Result<Report> {
    // once a day the pages are checked: a damaged file is marked, and every
    // write (this check's first) refuses it
    let now = ctx.ts();
    let last = crate::store::meta::get_i64(store.db(), LAST_QUICK_CHECK)?;
    if client.is_none() && last.is_none_or(|t| now - t >= 86_400 || t > now) {
        store.verify_pages(false)?;
        let tx = store.write()?;
        crate::store::meta::set(&tx, LAST_QUICK_CHECK, &now.to_string())?;
        tx.commit()?;
    }
    let mut report = Report::default();
    let mut counts = TicketCounts::default();
    // The policies are read once; each transaction goes on from the cursor,
    // and a policy's progress is kept in its row (and in the database).
    let mut rows = policies::active_for_check(store.db())?;
    if let Some(c) = client {
        rows.retain(|p| p.client_id == c);
        report.partial = true;
    }
    report.policies = rows.len();
    let mut cursor = 0;
    let mut walks = Walks::new();
    loop {
        report.transactions += 1;
        let started = std::time::Instant::now();
        let tx = store.write()?;
        let more = pass(
            &tx,
            ctx,
            set,
            &mut report,
            &mut rows,
            &mut cursor,
            &mut walks,
            &mut counts,
        )?;
        tx.commit()?;
        if !more {
            break;
        }
        // SQLite's busy handler is not fair: a writer waiting for the lock
        // retries every 100 ms at most. A pause of a tenth of the pass
        // (5–100 ms) lets it in between two transactions.
        let pause = (started.elapsed() / 10).clamp(
            std::time::Duration::from_millis(5),
            std::time::Duration::from_millis(100),
        );
        std::thread::sleep(pause);
    }
    report.tickets = counts;
    Ok(report)
}

/// Closed windows per (schedule, zone, start, end), shared by the policies
/// that have them all alike, and the occurrence before the first.
type Walks = HashMap<(String, String, i64, i64), (Vec<i64>, Option<i64>)>;

/// One write transaction of a check: closes at most `set.batch_windows`
/// windows, from the policy at `cursor` on; true when windows are left.
#[allow(clippy::too_many_arguments)]
fn pass(
    tx: &Db,
    ctx: &Ctx,
    set: &Settings,
    report: &mut Report,
    rows: &mut [policies::CheckRow],
    cursor: &mut usize,
    walks: &mut Walks,
    counts: &mut TicketCounts,
) -> Result<bool> {
    let now = ctx.ts();
    let mut ing = Ingestor::new();
    let mut rollups: HashMap<(i64, i64), Rollup> = HashMap::new();
    let batch = set.batch_windows.max(1);
    let mut budget = batch;
    let mut more = false;

    // Pauses that ended are closed (and audited) once; pauses in force or
    // recently ended shape what is expected.
    for pa in pauses::expired_open(tx, now)? {
        let who = crate::store::audit::Actor {
            at: now,
            actor: "bmctl",
            command: &ctx.command,
        };
        crate::ops::pause::close_audited(tx, &who, &pa, pa.ends_at.0)?;
    }
    // every pause that may cover a window still to close, however old
    let in_force = pauses::list(tx, i64::MIN / 4, now + 1, false)?;
    let mut schedules: HashMap<String, Schedule> = HashMap::new();
    let mut runs = events::ClientRuns::default();
    let going = running::all(tx)?;
    let mut auto = correct::Auto::new(tx, ctx);
    while let Some(p) = rows.get_mut(*cursor) {
        if budget == 0 {
            more = true;
            break;
        }
        // Many policies share a schedule: parse each expression once per run.
        let Ok(tz) = p.timezone.parse::<chrono_tz::Tz>() else {
            *cursor += 1;
            continue;
        };
        if !schedules.contains_key(&p.schedule) {
            let Ok(parsed) = Schedule::parse(&p.schedule) else {
                *cursor += 1;
                continue;
            };
            schedules.insert(p.schedule.clone(), parsed);
        }
        let schedule = &schedules[&p.schedule];
        let subject = Subject {
            client_id: p.client_id,
            client: p.client.as_str().into(),
            sla_tier: p.sla_tier.as_str().into(),
            policy_id: p.id,
            ci_id: p.ci_id,
            ci: p.ci.as_str().into(),
            tier: p.tier,
            job: p.job.as_str().into(),
            grace_s: p.grace_s,
            rpo_s: p.rpo_s,
            // check raises only hung and RPO tickets: the judgement of runs is ingest's
            judge: Default::default(),
        };
        let max_runtime = p.max_runtime_s.unwrap_or(set.default_max_runtime_s);
        // every window since the last one closed, or since the policy's
        // creation: a long gap is caught up in steps, never cut short
        // (a change of schedule is in force from its own time: the windows
        // before it were closed then, by the schedule as it was)
        let floor = p.created_at.max(p.since);
        let start = p.state.checked_until.map_or(floor, |c| c.max(floor));
        // Policies sharing a schedule, zone and window share the walk.
        let walk_key = (
            p.schedule.clone(),
            p.timezone.clone(),
            start,
            now - p.grace_s,
        );
        let (mut closed, mut prev) = match walks.get(&walk_key) {
            Some(w) => w.clone(),
            None => {
                let closed: Vec<i64> = schedule
                    // one more than a transaction closes: enough to know more wait
                    .occurrences_at_most(
                        from_unix(start),
                        from_unix(now - p.grace_s),
                        tz,
                        batch + 1,
                    )
                    .iter()
                    .map(|t| t.timestamp())
                    .collect();
                let prev = closed
                    .first()
                    .and_then(|t| schedule.prev_before(from_unix(*t), tz))
                    .map(|t| t.timestamp());
                walks.insert(walk_key, (closed.clone(), prev));
                (closed, prev)
            }
        };
        // the rest of a long walk waits for the next transaction
        let caught_up = closed.len() <= budget;
        if !caught_up {
            closed.truncate(budget);
            more = true;
        }
        budget -= closed.len();
        let mut checked = None;
        let paused: Vec<&pauses::PauseRow> = in_force
            .iter()
            .filter(|pa| pa.applies_to(p.client_id, p.ci_id, p.id))
            .collect();
        let paused_at = |t: i64| paused.iter().any(|pa| pa.covers(t));
        for tk in closed {
            let (lo, hi) = windows::window(prev, tk, p.grace_s);
            prev = Some(tk);
            let paused = paused_at(tk);
            // The policy's newest run started in this window and succeeded:
            // success is the best outcome, no need to read the events.
            let newest_ok = p.state.last_status == Some(Status::Success)
                && p.state.last_event_at.is_some_and(|t| t > lo && t <= hi);
            let best = if paused {
                None
            } else if newest_ok {
                Some(Status::Success)
            } else {
                runs.best_in_window(tx, p.client_id, p.id, lo, hi, max_runtime.max(86_400))?
            };
            let started = going
                .get(&p.id)
                .and_then(|v| v.iter().find(|g| g.started_at > lo && g.started_at <= hi))
                .map(|g| g.started_at);
            let verdict = windows::judge(paused, best, started, now, max_runtime);
            match (verdict, started) {
                // a run still going holds only its own window: passed by,
                // counted when the run ends or outlives its max runtime
                (Verdict::Going, Some(s)) => running::mark_pending(tx, p.id, s, tk)?,
                // one `hung` ticket below and no missed one
                (Verdict::Hung, Some(s)) => running::mark_hung(tx, p.id, s, tk)?,
                (Verdict::Missed, _) => {
                    let detail = format!(
                        "no run between {} and {}",
                        rfc3339(lo.max(p.created_at)),
                        rfc3339(hi)
                    );
                    ing.add(tx, &NewEvent::missed(&p.client, &p.job, hi, detail.clone()))?;
                    report.missed += 1;
                    report.find(Finding {
                        kind: "missed",
                        client: p.client.clone(),
                        job: p.job.clone(),
                        at: Ts(tk),
                        detail,
                    });
                }
                _ => {}
            }
            checked = Some(tk);
            let Some(outcome) = verdict.occurrence() else {
                continue;
            };
            let r = rollups.entry((p.client_id, local_day(tk, tz))).or_default();
            r.expected += 1;
            r.outcome(outcome, 1);
            report.occurrences_closed += 1;
        }
        if let Some(tk) = checked {
            policies::set_checked_until(tx, p.id, tk)?;
            p.state.checked_until = Some(tk);
        }
        if !caught_up {
            continue; // the rest of its windows in the next transaction
        }
        *cursor += 1;
        // a window passed by while its run was going, the run now past its
        // max runtime: hung, a failed occurrence
        for g in going.get(&p.id).into_iter().flatten() {
            if let (Some(w), true) = (
                g.pending_window,
                windows::is_hung(g.started_at, now, max_runtime),
            ) {
                running::mark_hung(tx, p.id, g.started_at, w)?;
                let r = rollups.entry((p.client_id, local_day(w, tz))).or_default();
                r.expected += 1;
                r.outcome(Status::Failed, 1);
                report.occurrences_closed += 1;
            }
        }
        if paused_at(now) {
            continue; // no hung-run or RPO tickets inside a pause
        }
        if let Some(rs) = going
            .get(&p.id)
            .and_then(|v| v.first())
            .map(|g| g.started_at)
        {
            if windows::is_hung(rs, now, max_runtime) {
                report.hung += 1;
                let detail = format!(
                    "started {} and still running after {} (max runtime {})",
                    rfc3339(rs),
                    crate::domain::time::format_age(now - rs),
                    format_duration(max_runtime)
                );
                auto.ensure(&subject, ProblemClass::Hung, rs, &detail)?;
                report.find(Finding {
                    kind: "hung",
                    client: p.client.clone(),
                    job: p.job.clone(),
                    at: Ts(rs),
                    detail,
                });
            }
        }
        // Like a missed run, an RPO breach waits for the grace: a nightly job
        // with a 24h RPO is not in breach while tonight's run is under way.
        // A pause resets the clock: the RPO counts from its end.
        let pause_end = paused
            .iter()
            .map(|pa| pa.effective_end())
            .filter(|e| *e <= now)
            .max();
        if let Some(last_good) = windows::rpo_breach(
            p.state.last_success_at,
            p.created_at,
            pause_end,
            now,
            p.rpo_s,
            p.grace_s,
        ) {
            report.rpo_breaches += 1;
            let detail = match p.state.last_success_at {
                Some(t) => format!(
                    "last good backup {} ago ({}), RPO {}",
                    format_duration_rough(now - t),
                    rfc3339(t),
                    format_duration(p.rpo_s)
                ),
                None => format!(
                    "no good backup since the policy was created {}, RPO {}",
                    rfc3339(p.created_at),
                    format_duration(p.rpo_s)
                ),
            };
            auto.ensure(&subject, ProblemClass::Rpo, now, &detail)?;
            report.find(Finding {
                kind: "rpo",
                client: p.client.clone(),
                job: p.job.clone(),
                at: Ts(last_good),
                detail,
            });
        }
    }
    counts.add(auto.finish()?);
    ing.flush(tx, ctx)?;
    if !more && !report.partial {
        crate::ops::hooks::queue_overdue_tasks(tx, now)?;
        crate::store::meta::set(tx, crate::ops::health::LAST_CHECK, &now.to_string())?;
    }
    events::rollups_add(tx, &mut rollups.into_iter().collect::<Vec<_>>())?;
    counts.add(ing.summary.tickets);
    Ok(more)
}

fn format_duration_rough(secs: i64) -> String {
    crate::domain::time::format_age(secs)
}
