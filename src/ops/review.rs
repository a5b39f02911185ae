//! 05f.07 — the facts of a client's quarterly service review (QSR): the
//! overall status and its reasons, an executive summary, KPIs against
//! targets and the previous quarter, SLA attainment, risks as decisions and
//! actions, the daily status grid, capacity, plan changes, restore tests and
//! open items — for the client or for the MSP itself. The judgements are in
//! `report::review`; `output::review` renders them.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::domain::event::Status as RunStatus;
use crate::domain::plan::DiffLine;
use crate::domain::policy::Schedule;
use crate::domain::ticket::TicketKind;
use crate::domain::time::{from_unix, local_day, Ts};
use crate::ops::kpi::{self, Kpis};
use crate::ops::{plan, risks};
use crate::report::review::{
    self, ActWithin, Attainment, Audience, Capacity, Cell, Covered, RiskItem, SlaTicket, Status,
    StatusFacts, Targets, Trend,
};
use crate::report::risks::Severity;
use crate::store::events::PolicyRun;
use crate::store::recovery::{self, AttemptView};
use crate::store::tickets::{self, Filter};
use crate::store::{changes, clients, pauses, policies, Store};

pub use crate::domain::time::Quarter;

const DAY: i64 = 86_400;

#[derive(Debug, Serialize)]
pub struct PlanChange {
    pub version: i64,
    pub created_at: Ts,
    pub actor: String,
    pub reason: String,
    pub diff: Vec<DiffLine>,
}

#[derive(Debug, Serialize)]
pub struct OpenItem {
    /// The ticket's number (the internal review only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub kind: String,
    pub title: String,
    pub due_at: Option<Ts>,
    pub overdue: bool,
    /// Waiting on the client, and for what (its SLA clock stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on_client: Option<String>,
}

/// A KPI against its target and the previous quarter.
#[derive(Debug, Serialize)]
pub struct KpiLine {
    pub name: &'static str,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// `%` or empty for a count.
    pub unit: &'static str,
    pub target: f64,
    /// `max` (at most the target) or `min` (at least).
    pub target_is: &'static str,
    /// `None` without a value.
    pub met: Option<bool>,
    pub trend: Trend,
}

impl KpiLine {
    fn new(
        name: &'static str,
        value: Option<f64>,
        previous: Option<f64>,
        unit: &'static str,
        target: f64,
        higher_is_better: bool,
    ) -> KpiLine {
        KpiLine {
            name,
            value,
            previous,
            unit,
            target,
            target_is: if higher_is_better { "min" } else { "max" },
            met: value.map(|v| {
                if higher_is_better {
                    v >= target
                } else {
                    v <= target
                }
            }),
            trend: Trend::of(value, previous),
        }
    }
}

/// One job's row of the daily status grid.
#[derive(Debug, Serialize)]
pub struct GridRow {
    pub job: String,
    pub ci: String,
    pub tier: i64,
    pub cells: Vec<Cell>,
}

/// Rows = jobs, columns = the quarter's days in the client's zone.
#[derive(Debug, Serialize)]
pub struct Grid {
    /// `2026-10-01`, … one per day of the quarter.
    pub days: Vec<String>,
    pub rows: Vec<GridRow>,
}

/// Everything in a review; the JSON file is this.
#[derive(Debug, Serialize)]
pub struct Review {
    pub audience: Audience,
    /// The MSP (`[branding] name`).
    pub prepared_by: Option<String>,
    pub contact: Option<String>,
    pub client: String,
    pub name: String,
    pub sla_tier: String,
    /// The client's zone: the review's dates and times are in it.
    pub timezone: String,
    pub quarter: String,
    /// `2026-Q4`, or `2026-Q4 to date (67 of 92 days)` while it runs.
    pub quarter_label: String,
    pub previous_quarter: String,
    /// Set when the previous quarter holds only part of its days of data.
    pub previous_partial: Option<String>,
    pub generated_at: Ts,
    /// The next review: two weeks after the next quarter ends (a date in
    /// the client's zone).
    pub next_review: String,
    pub status: Status,
    pub status_reasons: Vec<String>,
    pub summary: Vec<String>,
    pub targets: Targets,
    pub scorecard: Vec<KpiLine>,
    pub sla_attainment: Attainment,
    pub sla_attainment_previous: Attainment,
    pub kpis: Kpis,
    pub previous: Kpis,
    pub monthly: Vec<Kpis>,
    /// Decisions first, then actions (and, internally, the MSP's own).
    pub risks: Vec<RiskItem>,
    pub plan_changes: Vec<PlanChange>,
    pub restore_tests: Vec<AttemptView>,
    /// Gaps between restore points longer than the RPO plus the grace that
    /// ended in the quarter.
    pub rpo_breaches: Vec<crate::store::breaches::Breach>,
    /// Occurrences of the quarter taken out of the incident rate, and why.
    pub exclusions: Vec<crate::store::exclusions::Exclusion>,
    pub open_items: Vec<OpenItem>,
    pub grid: Grid,
    pub capacity: Capacity,
    /// The client's decision-makers (`client contact`), named beside the
    /// decisions.
    pub decision_makers: Vec<String>,
}

/// What a review is built with besides the database.
pub struct Settings<'a> {
    pub audience: Audience,
    pub reading: &'a kpi::Reading,
    pub limits: &'a crate::report::risks::Limits,
    /// Targets by SLA tier index (`config::tier_index`).
    pub targets: &'a [Targets; 4],
    pub act_within: ActWithin,
    /// `[assignees]`: the client's technician.
    pub technician: Option<&'a str>,
    pub prepared_by: Option<&'a str>,
    pub contact: Option<&'a str>,
    /// People by login (`[team.LOGIN] name`): owners as the client knows them.
    pub names: &'a std::collections::BTreeMap<String, String>,
}

/// The quarter's name, with how far it has run when it has not ended: the
/// client's calendar days of it ended by `now`.
fn quarter_label(q: Quarter, from: i64, to: i64, now: i64, tz: chrono_tz::Tz) -> String {
    if now >= to {
        return q.label();
    }
    let day = |t: i64| local_day(t, tz);
    let total = day(to) - day(from);
    let done = day(now) - day(from);
    format!("{} to date ({done} of {total} days)", q.label())
}

/// Gather the review of one client for a quarter, as of `reading.now`.
pub fn build(store: &Store, client: &str, q: Quarter, set: &Settings) -> Result<Review> {
    let reading = set.reading;
    let (now, aged_after) = (reading.now, reading.aged_after);
    let c = clients::get(store.db(), client)?;
    let tz = c.tz();
    let (from, to) = q.bounds(tz)?;
    if from > now {
        return Err(crate::error::rejected(format!(
            "{} has not started for {} (it starts {}): there is nothing to review yet",
            q.label(),
            c.code,
            from_unix(from).with_timezone(&tz).format("%Y-%m-%d")
        )));
    }
    let (pf, pt) = q.previous().bounds(tz)?;
    let at = to.min(now);
    let internal = set.audience == Audience::Internal;
    let targets = set.targets[crate::config::tier_index(&c.sla_tier)];
    let monthly = kpi::months(from, to, tz)?
        .into_iter()
        .map(|(f, t)| kpi::compute(store, Some(client), f, t, reading))
        .collect::<Result<Vec<_>>>()?;
    let kpis = kpi::compute(store, Some(client), from, to, reading)?;
    let previous = kpi::compute(store, Some(client), pf, pt, reading)?;

    let mut plan_changes = Vec::new();
    for v in plan::history(store, client)? {
        if v.created_at.0 >= from && v.created_at.0 < to {
            let diff = if v.version > 1 {
                plan::diff(store, client, v.version - 1, v.version)?
            } else {
                Vec::new()
            };
            plan_changes.push(PlanChange {
                version: v.version,
                created_at: v.created_at,
                actor: v.actor,
                reason: v.reason,
                diff,
            });
        }
    }
    let restore_tests: Vec<AttemptView> = recovery::list(store.db(), Some(c.id), None)?
        .into_iter()
        .filter(|a| a.ended_at.0 >= from && a.ended_at.0 < to)
        .collect();

    // tickets: open items, SLA attainment, incidents, who covers a risk
    let all_tickets = tickets::list(
        store.db(),
        &Filter {
            client_id: Some(c.id),
            all: true,
            ..Filter::default()
        },
    )?;
    let open_at = |t: &crate::domain::ticket::Ticket, at: i64| {
        t.opened_at < at && t.resolved_at.is_none_or(|r| r >= at)
    };
    let mut open_items = Vec::new();
    let mut covered = Vec::new();
    for t in all_tickets.iter().filter(|t| open_at(t, at)) {
        if let Some(job) = &t.job {
            covered.push(Covered {
                subject: job.clone(),
                assignee: t.assignee.clone(),
                due_at: t.due_at,
            });
        }
        let task = t.kind == TicketKind::Task;
        // only overdue tasks are open items, and only for the MSP itself
        if task && (!internal || t.due_at.is_none_or(|d| d >= at)) {
            continue;
        }
        open_items.push(OpenItem {
            id: internal.then_some(t.id),
            kind: t.kind.to_string(),
            title: t.title.clone(),
            overdue: t.due_at.is_some_and(|d| d < t.sla_clock(at)),
            due_at: t.due_at.map(Ts),
            waiting_on_client: t
                .waiting_since
                .filter(|s| *s < at)
                .map(|_| t.waiting_reason.clone().unwrap_or_default()),
        });
    }
    // an open change covers its job and, for a CI's risks, its host
    for ch in changes::list(store.db(), Some(c.id), None, true)? {
        for subject in std::iter::once(ch.job.clone()).chain(ch.ci_host.clone()) {
            covered.push(Covered {
                subject,
                assignee: Some(ch.requested_by.clone()),
                due_at: None,
            });
        }
    }
    let corrective: Vec<&crate::domain::ticket::Ticket> = all_tickets
        .iter()
        .filter(|t| t.kind != TicketKind::Task)
        .collect();
    let sla_of = |f: i64, t: i64| {
        let list: Vec<SlaTicket> = corrective
            .iter()
            .filter(|x| x.opened_at < t)
            .map(|x| SlaTicket {
                due_at: x.due_at,
                resolved_at: x.resolved_at,
                cause: x.cause.as_deref(),
                waiting_since: x.waiting_since,
            })
            .collect();
        review::sla_attainment(&list, f, t)
    };
    let sla_attainment = sla_of(from, at);
    let sla_attainment_previous = sla_of(pf, pt.min(now));

    // risks over the quarter
    let limits = crate::report::risks::Limits {
        window: "the quarter",
        ..*set.limits
    };
    let register = risks::register_over(
        store,
        Some(client),
        Severity::Low,
        from,
        at,
        aged_after,
        &limits,
    )?;
    // target dates count from the review's own date
    let name = |login: &str| {
        set.names
            .get(login)
            .cloned()
            .unwrap_or_else(|| login.to_string())
    };
    let risks = review::present_named(
        &register,
        set.audience,
        set.technician,
        now,
        &set.act_within,
        &covered,
        &name,
    );

    // the scorecard
    let b = |k: &Kpis| k.aged_backlog.aged as f64;
    let scorecard = vec![
        KpiLine::new(
            "Backup Incident Rate",
            kpis.backup_incident_rate.percent,
            previous.backup_incident_rate.percent,
            "%",
            targets.incident_rate,
            false,
        ),
        KpiLine::new(
            "Proactive Task Compliance",
            kpis.task_compliance.percent,
            previous.task_compliance.percent,
            "%",
            targets.task_compliance,
            true,
        ),
        KpiLine::new(
            "Recovery Attempt Success Rate",
            kpis.recovery_success_rate.percent,
            previous.recovery_success_rate.percent,
            "%",
            targets.recovery_success,
            true,
        ),
        KpiLine::new(
            "Recovery Issues",
            Some(kpis.recovery_issues.count as f64),
            Some(previous.recovery_issues.count as f64),
            "",
            0.0,
            false,
        ),
        KpiLine::new(
            "Aged Proactive Service Ticket Backlog",
            Some(b(&kpis)),
            Some(b(&previous)),
            "",
            targets.aged_backlog as f64,
            false,
        ),
        KpiLine::new(
            "SLA attainment",
            sla_attainment.percent,
            sla_attainment_previous.percent,
            "%",
            targets.sla_attainment,
            true,
        ),
    ];

    let pols = policies::list(store.db(), c.id, true)?;
    let runs = crate::store::events::policy_runs(store.db(), c.id, from, at)?;
    let rpo_breaches = crate::store::breaches::list(store.db(), c.id, from, to)?;
    let tier_of: HashMap<&str, i64> = pols.iter().map(|p| (p.spec.job.as_str(), p.tier)).collect();
    let mut tier1_jobs: Vec<&str> = rpo_breaches
        .iter()
        .filter(|b| tier_of.get(b.job.as_str()) == Some(&1))
        .map(|b| b.job.as_str())
        .collect();
    tier1_jobs.sort_unstable();
    tier1_jobs.dedup();
    let incidents_opened = corrective
        .iter()
        .filter(|t| t.kind == TicketKind::Incident && t.opened_at >= from && t.opened_at < at)
        .count();
    let incidents_open = corrective
        .iter()
        .filter(|t| t.kind == TicketKind::Incident && open_at(t, at))
        .count();
    let decisions = risks
        .iter()
        .filter(|r| r.kind == review::Kind::Decision)
        .count();
    let (status, status_reasons) = review::status(
        &StatusFacts {
            open_incidents: incidents_open,
            tier1_rpo_breaches: tier1_jobs.len(),
            incident_rate: kpis.backup_incident_rate.percent,
            below_target: scorecard
                .iter()
                .filter(|l| l.met == Some(false))
                .map(|l| l.name.to_string())
                .collect(),
            high_undecided: risks
                .iter()
                .filter(|r| r.kind == review::Kind::Decision && r.severity == Severity::High)
                .count(),
            expected: kpis.backup_incident_rate.expected,
        },
        &targets,
    );

    let grid = grid(store, &c, &pols, &runs, from, to, now, tz)?;
    let capacity = capacity(&pols, &runs, from, at);
    let previous_partial = partial(store, c.id, pf, pt, tz)?;
    let summary = summary(
        &kpis,
        &previous,
        &q.previous().label(),
        &restore_tests,
        &sla_attainment,
        incidents_opened,
        incidents_open,
        decisions,
    );
    let (_, nt) = q.next().bounds(tz)?;
    let next_review = from_unix(nt + 14 * DAY)
        .with_timezone(&tz)
        .format("%Y-%m-%d")
        .to_string();
    Ok(Review {
        audience: set.audience,
        prepared_by: set.prepared_by.map(str::to_string),
        contact: set.contact.map(str::to_string),
        client: c.code.clone(),
        name: c.name.clone(),
        sla_tier: c.sla_tier.clone(),
        timezone: c.timezone.clone(),
        quarter: q.label(),
        quarter_label: quarter_label(q, from, to, now, tz),
        previous_quarter: q.previous().label(),
        previous_partial,
        generated_at: Ts(now),
        next_review,
        status,
        status_reasons,
        summary,
        targets,
        scorecard,
        sla_attainment,
        sla_attainment_previous,
        kpis,
        previous,
        monthly,
        risks,
        plan_changes,
        restore_tests,
        exclusions: crate::store::exclusions::list(store.db(), Some(c.id), from, to)?,
        rpo_breaches,
        open_items,
        grid,
        capacity,
        decision_makers: crate::store::people::contacts(store.db(), Some(c.id))?
            .into_iter()
            .filter(|k| k.role == "decision-maker")
            .map(|k| match k.email {
                Some(e) => format!("{} <{e}>", k.name),
                None => k.name,
            })
            .collect(),
    })
}

/// "2026-Q3 holds 21 of 92 days of data" when the client's first recorded
/// run came after the previous quarter began.
fn partial(
    store: &Store,
    client_id: i64,
    pf: i64,
    pt: i64,
    tz: chrono_tz::Tz,
) -> Result<Option<String>> {
    let runs = crate::store::events::policy_runs(store.db(), client_id, pf, pt)?;
    let total = local_day(pt, tz) - local_day(pf, tz);
    Ok(match runs.iter().map(|r| r.at).min() {
        None => Some("the previous quarter holds no data".into()),
        Some(first) if local_day(first, tz) > local_day(pf, tz) => Some(format!(
            "the previous quarter holds {} of {total} days of data",
            local_day(pt, tz) - local_day(first, tz)
        )),
        Some(_) => None,
    })
}

/// The daily status grid: a cell per job and local day of the quarter (see
/// [`review::cell`]); a run's day is the local day it started (a missed
/// occurrence: its scheduled time).
#[allow(clippy::too_many_arguments)]
fn grid(
    store: &Store,
    c: &crate::store::clients::ClientRow,
    pols: &[policies::PolicyRow],
    runs: &[PolicyRun],
    from: i64,
    to: i64,
    now: i64,
    tz: chrono_tz::Tz,
) -> Result<Grid> {
    let (d0, d1) = (local_day(from, tz), local_day(to, tz));
    let today = local_day(now, tz);
    let days: Vec<String> = (d0..d1)
        .map(|d| {
            crate::domain::time::day_date(d)
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    let pauses: Vec<_> = pauses::list(store.db(), from, to, false)?
        .into_iter()
        .filter(|p| p.client_id == c.id)
        .collect();
    let mut rows = Vec::new();
    for p in pols
        .iter()
        .filter(|p| p.created_at < to.min(now) && p.retired_at.is_none_or(|r| r >= from))
    {
        let n = (d1 - d0) as usize;
        let mut outcomes: Vec<Vec<Cell>> = vec![Vec::new(); n];
        for r in runs.iter().filter(|r| r.policy_id == p.id) {
            let d = local_day(r.at, tz) - d0;
            if let (Ok(i), Some(cell)) = (usize::try_from(d), Cell::of_status(r.status.as_str())) {
                if i < n {
                    outcomes[i].push(cell);
                }
            }
        }
        let (mut expected, mut paused) = (vec![0usize; n], vec![0usize; n]);
        let live_from = p.created_at.max(from);
        let live_to = p.retired_at.unwrap_or(i64::MAX).min(to).min(now);
        if let Ok(s) = Schedule::parse_cached(&p.spec.schedule) {
            for o in s.occurrences_at_most(from_unix(live_from), from_unix(live_to), tz, 200_000) {
                let t = o.timestamp();
                let Ok(i) = usize::try_from(local_day(t, tz) - d0) else {
                    continue;
                };
                if i >= n {
                    continue;
                }
                expected[i] += 1;
                let in_pause = pauses.iter().any(|pa| {
                    let end = pa.closed_at.map_or(pa.ends_at.0, |c| c.0.min(pa.ends_at.0));
                    pa.starts_at.0 <= t
                        && t < end
                        && (pa.policy_id == Some(p.id)
                            || pa.ci_id == Some(p.ci_id)
                            || (pa.policy_id.is_none() && pa.ci_id.is_none()))
                });
                if in_pause {
                    paused[i] += 1;
                }
            }
        }
        let cells = (0..n)
            .map(|i| review::cell(d0 + i as i64 >= today, &outcomes[i], expected[i], paused[i]))
            .collect();
        rows.push(GridRow {
            job: p.spec.job.clone(),
            ci: p.ci.clone(),
            tier: p.tier,
            cells,
        });
    }
    Ok(Grid { days, rows })
}

/// Protected data: the sum over jobs of the first and the last successful
/// run's size in the quarter, carried a quarter (91 days) ahead.
fn capacity(pols: &[policies::PolicyRow], runs: &[PolicyRun], from: i64, at: i64) -> Capacity {
    let (mut start, mut end) = (0, 0);
    for p in pols {
        let sizes: Vec<i64> = runs
            .iter()
            .filter(|r| {
                r.policy_id == p.id && matches!(r.status, RunStatus::Success | RunStatus::Warning)
            })
            .filter_map(|r| r.bytes)
            .collect();
        if let (Some(a), Some(b)) = (sizes.first(), sizes.last()) {
            start += a;
            end += b;
        }
    }
    review::capacity(start, end, at - from, 91 * DAY)
}

/// Three to five plain sentences from the facts.
#[allow(clippy::too_many_arguments)]
fn summary(
    k: &Kpis,
    prev: &Kpis,
    prev_label: &str,
    tests: &[AttemptView],
    sla: &Attainment,
    incidents_opened: usize,
    incidents_open: usize,
    decisions: usize,
) -> Vec<String> {
    let success = |k: &Kpis| {
        let b = &k.backup_incident_rate;
        crate::report::percent(
            (b.expected - b.failed - b.missed).max(0) as usize,
            b.expected.max(0) as usize,
        )
    };
    let mut out = Vec::new();
    let b = &k.backup_incident_rate;
    match (success(k), success(prev)) {
        (Some(now), Some(before)) => out.push(format!(
            "{} backups were expected; {now:.1} % succeeded, {} {before:.1} % in {prev_label}.",
            review::thousands(b.expected),
            match Trend::of(Some(now), Some(before)) {
                Trend::Up => "up from",
                Trend::Down => "down from",
                _ => "as",
            }
        )),
        (Some(now), None) => out.push(format!(
            "{} backups were expected; {now:.1} % succeeded.",
            review::thousands(b.expected)
        )),
        _ => out.push("No backups were expected in this period.".into()),
    }
    let tests: Vec<&AttemptView> = tests.iter().filter(|a| a.kind == "test").collect();
    let failed: Vec<&&AttemptView> = tests.iter().filter(|a| a.outcome != "success").collect();
    let repeated = failed
        .iter()
        .filter(|f| {
            tests
                .iter()
                .any(|a| a.job == f.job && a.outcome == "success" && a.ended_at > f.ended_at)
        })
        .count();
    let n = |k: usize, one: &str, many: &str| {
        format!("{} {}", spell(k), if k == 1 { one } else { many })
    };
    out.push(match (tests.len(), failed.len()) {
        (0, _) => "No restore test was run in this period.".into(),
        (t, 0) => format!(
            "{} run; all succeeded.",
            n(t, "restore test was", "restore tests were")
        ),
        (t, f) => format!(
            "{} run; {} did not fully succeed{}.",
            n(t, "restore test was", "restore tests were"),
            spell(f),
            match repeated {
                0 => String::new(),
                r if r == f && f == 1 => " and was repeated successfully".into(),
                r if r == f => " and were repeated successfully".into(),
                r => format!(", {} of them repeated successfully", spell(r)),
            }
        ),
    });
    if let Some(p) = sla.percent {
        out.push(format!(
            "{p:.1} % of service tickets were resolved within the agreed time ({} of {}).",
            sla.met,
            sla.met + sla.missed
        ));
    }
    out.push(match (incidents_opened, incidents_open) {
        (0, 0) => "No incident ticket was raised.".into(),
        (o, 0) => format!(
            "{}; none is open.",
            n(
                o,
                "incident ticket was raised",
                "incident tickets were raised"
            )
        ),
        (o, s) => format!(
            "{}; {} still open.",
            n(
                o,
                "incident ticket was raised",
                "incident tickets were raised"
            ),
            n(s, "is", "are")
        ),
    });
    out.push(match decisions {
        0 => "No decision is needed from you.".into(),
        d => format!("{} needed from you.", n(d, "decision is", "decisions are")),
    });
    out.into_iter().map(|s| capitalised(&s)).collect()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Small counts in words, as a person writes them.
fn spell(n: usize) -> String {
    const WORDS: [&str; 11] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    WORDS
        .get(n)
        .map(|w| w.to_string())
        .unwrap_or_else(|| review::thousands(n as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_quarter() {
        assert_eq!(Quarter { year: 2026, q: 4 }.next().label(), "2027-Q1");
        assert_eq!(Quarter { year: 2026, q: 2 }.next().label(), "2026-Q3");
    }
}
