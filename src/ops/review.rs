//! 05f.07 — the facts of a client's quarterly service review (QSR): KPIs
//! beside the previous quarter and by month, the risk register, plan changes
//! with their diffs, restore tests against RTO targets and open items.
//! `output::review` renders them.

use anyhow::Result;
use serde::Serialize;

use crate::domain::plan::DiffLine;
use crate::domain::ticket::TicketKind;
use crate::domain::time::Ts;
use crate::ops::kpi::{self, Kpis};
use crate::ops::{plan, risks};
use crate::report::risks::{Risk, Severity};
use crate::store::recovery::{self, AttemptView};
use crate::store::tickets::{self, Filter};
use crate::store::{clients, Store};

pub use crate::domain::time::Quarter;

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
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub due_at: Option<Ts>,
    pub overdue: bool,
    /// Waiting on the client, and for what (its SLA clock stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on_client: Option<String>,
}

/// Everything in a review; the JSON file is this.
#[derive(Debug, Serialize)]
pub struct Review {
    pub client: String,
    pub name: String,
    pub sla_tier: String,
    pub quarter: String,
    /// `2026-Q4`, or `2026-Q4 to date (67 of 92 days)` while it runs.
    pub quarter_label: String,
    pub previous_quarter: String,
    pub generated_at: Ts,
    pub kpis: Kpis,
    pub previous: Kpis,
    pub monthly: Vec<Kpis>,
    pub risks: Vec<Risk>,
    pub plan_changes: Vec<PlanChange>,
    pub restore_tests: Vec<AttemptView>,
    /// Gaps between restore points longer than the RPO plus the grace that
    /// ended in the quarter.
    pub rpo_breaches: Vec<crate::store::breaches::Breach>,
    /// Occurrences of the quarter taken out of the incident rate, and why.
    pub exclusions: Vec<crate::store::exclusions::Exclusion>,
    pub open_items: Vec<OpenItem>,
}

/// The quarter's name, with how far it has run when it has not ended: the
/// client's calendar days of it ended by `now`.
fn quarter_label(q: Quarter, from: i64, to: i64, now: i64, tz: chrono_tz::Tz) -> String {
    if now >= to {
        return q.label();
    }
    let day = |t: i64| crate::domain::time::local_day(t, tz);
    let total = day(to) - day(from);
    let done = day(now) - day(from);
    format!("{} to date ({done} of {total} days)", q.label())
}

/// Gather the review of one client for a quarter, as of `now`.
pub fn build(
    store: &Store,
    client: &str,
    q: Quarter,
    reading: &kpi::Reading,
    limits: &crate::report::risks::Limits,
) -> Result<Review> {
    let (now, aged_after) = (reading.now, reading.aged_after);
    let c = clients::get(store.db(), client)?;
    let tz = c.tz();
    let (from, to) = q.bounds(tz)?;
    if from > now {
        return Err(crate::error::rejected(format!(
            "{} has not started for {} (it starts {}): there is nothing to review yet",
            q.label(),
            c.code,
            crate::domain::time::from_unix(from)
                .with_timezone(&tz)
                .format("%Y-%m-%d")
        )));
    }
    let (pf, pt) = q.previous().bounds(tz)?;
    let at = to.min(now);
    let monthly = kpi::months(from, to, tz)?
        .into_iter()
        .map(|(f, t)| kpi::compute(store, Some(client), f, t, reading))
        .collect::<Result<Vec<_>>>()?;
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
    let restore_tests = recovery::list(store.db(), Some(c.id), None)?
        .into_iter()
        .filter(|a| a.ended_at.0 >= from && a.ended_at.0 < to)
        .collect();
    let mut open_items = Vec::new();
    for kind in [TicketKind::Corrective, TicketKind::Task] {
        let f = Filter {
            client_id: Some(c.id),
            kind: Some(kind),
            all: true,
            ..Filter::default()
        };
        for t in tickets::list(store.db(), &f)? {
            // open at the quarter's end (or now): opened before it, not closed before it
            if t.opened_at >= at || t.resolved_at.is_some_and(|r| r < at) {
                continue;
            }
            if kind == TicketKind::Task && t.due_at.is_none_or(|d| d >= at) {
                continue; // only overdue tasks are open items
            }
            open_items.push(OpenItem {
                id: t.id,
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
    }
    Ok(Review {
        client: c.code.clone(),
        name: c.name.clone(),
        sla_tier: c.sla_tier.clone(),
        quarter: q.label(),
        quarter_label: quarter_label(q, from, to, now, tz),
        previous_quarter: q.previous().label(),
        generated_at: Ts(now),
        kpis: kpi::compute(store, Some(client), from, to, reading)?,
        previous: kpi::compute(store, Some(client), pf, pt, reading)?,
        monthly,
        risks: risks::register(store, Some(client), Severity::Low, at, aged_after, limits)?,
        plan_changes,
        restore_tests,
        exclusions: crate::store::exclusions::list(store.db(), Some(c.id), from, to)?,
        rpo_breaches: crate::store::breaches::list(store.db(), c.id, from, to)?,
        open_items,
    })
}
