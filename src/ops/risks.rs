//! 05f.07 risk analysis: gather the facts of each client and run the rules
//! of `domain::risks`.

use anyhow::Result;

use crate::domain::event::Status;
use crate::report::risks::{self, CiFact, ClientFact, Limits, PolicyFact, Risk, Severity};
use crate::store::{cis, clients, events, kpi, policies, recovery, tickets, Store};

const DAY: i64 = 86_400;

/// The thresholds of the rules from config `[risks]`.
pub fn limits(c: &crate::config::Config) -> Limits {
    Limits {
        min_success_percent: c.s.risks_min_success_percent as f64,
        growth_percent: c.s.risks_growth_percent as f64,
        change_open_days: c.s.risks_change_open_days,
        window: "30 days",
    }
}

/// The risk register of one client (or all), at `now`, at or above `min`;
/// the run-based rules look at the last 30 days.
pub fn register(
    store: &Store,
    client: Option<&str>,
    min: Severity,
    now: i64,
    aged_after: i64,
    limits: &Limits,
) -> Result<Vec<Risk>> {
    register_over(store, client, min, now - 30 * DAY, now, aged_after, limits)
}

/// The risk register with the run-based rules (failures, RPO breaches, SLA
/// breaches) judged over `[since, now)`: a review's quarter.
pub fn register_over(
    store: &Store,
    client: Option<&str>,
    min: Severity,
    since: i64,
    now: i64,
    aged_after: i64,
    limits: &Limits,
) -> Result<Vec<Risk>> {
    let mut out = Vec::new();
    for c in clients::list(store.db())?
        .into_iter()
        .filter(|c| client.is_none_or(|x| x == c.code))
    {
        let ci_rows = cis::list(store.db(), Some(c.id))?;
        let pols = policies::list(store.db(), c.id, false)?;
        let runs = events::policy_runs(store.db(), c.id, (now - 90 * DAY).min(since), now + 1)?;
        let rpo = kpi::rpo_tickets(store.db(), c.id, since, now + 1)?;
        // breaches learned of after their gap closed have no incident: the
        // recorded gaps count too
        let gaps = crate::store::breaches::count_by_policy(store.db(), c.id, since, now + 1)?;
        let cis: Vec<CiFact> = ci_rows
            .iter()
            .filter(|ci| ci.status == crate::domain::ci::Lifecycle::Active)
            .map(|ci| CiFact {
                client: c.code.clone(),
                host: ci.host.clone(),
                tier: ci.tier,
                backup_status: ci.backup_status,
                offsite_copy: pols
                    .iter()
                    .any(|p| p.ci_id == ci.id && risks::offsite(&p.spec.target)),
            })
            .collect();
        let mut facts = Vec::new();
        for p in &pols {
            let mine: Vec<&events::PolicyRun> =
                runs.iter().filter(|r| r.policy_id == p.id).collect();
            let recent: Vec<&&events::PolicyRun> =
                mine.iter().filter(|r| r.ended_at >= since).collect();
            let good =
                |r: &events::PolicyRun| matches!(r.status, Status::Success | Status::Warning);
            let good_times: Vec<i64> = recent
                .iter()
                .filter(|r| good(r))
                .map(|r| r.ended_at)
                .collect();
            let worst_gap = good_times.windows(2).map(|w| w[1] - w[0]).max();
            facts.push(PolicyFact {
                client: c.code.clone(),
                job: p.spec.job.clone(),
                ci: p.ci.clone(),
                tier: p.tier,
                target: p.spec.target.clone(),
                restore_test: p.spec.restore_test.clone(),
                retention: p.spec.retention.clone(),
                created_at: p.created_at,
                runs_30d: recent.len(),
                good_30d: good_times.len(),
                consecutive_failures: p.consecutive_failures,
                last_good_restore: recovery::last_success(store.db(), p.id)?.map(|a| a.ended_at.0),
                rpo_s: p.spec.rpo_s,
                grace_s: p.spec.grace_s,
                schedule_gap_s: crate::domain::policy::Schedule::parse_cached(&p.spec.schedule)
                    .ok()
                    .and_then(|s| s.longest_gap(c.tz())),
                rpo_breaches: rpo
                    .get(&p.id)
                    .copied()
                    .unwrap_or(0)
                    .max(gaps.get(&p.id).copied().unwrap_or(0) as _),
                worst_gap_s: worst_gap,
                sizes: mine
                    .iter()
                    .filter(|r| good(r))
                    .filter_map(|r| r.bytes.map(|b| (r.at, b)))
                    .collect(),
            });
        }
        let overdue = tickets::list(
            store.db(),
            &tickets::Filter {
                client_id: Some(c.id),
                kind: Some(crate::domain::ticket::TicketKind::Task),
                due_before: Some(now),
                ..Default::default()
            },
        )?
        .len();
        let aged = kpi::open_at(store.db(), Some(c.id), now)?
            .into_iter()
            .filter(|o| now - o >= aged_after)
            .count();
        let fact = ClientFact {
            code: c.code.clone(),
            require_offsite: c.require_offsite,
            required_retention: c.spec().required_retention,
            aged_backlog: aged,
            overdue_tasks: overdue,
            unmatched_jobs: events::unmatched_jobs(store.db(), Some(c.id))?
                .into_iter()
                .map(|u| u.job)
                .collect(),
            old_changes: crate::store::changes::list(store.db(), Some(c.id), None, true)?
                .into_iter()
                .map(|ch| (ch.id, (now - ch.requested_at) / DAY))
                .filter(|(_, days)| *days > limits.change_open_days)
                .collect(),
            sla_breaches: kpi::sla_breaches(store.db(), c.id, since, now + 1, now)?,
        };
        let mut found = risks::register(&fact, &cis, &facts, limits, now);
        let accepted: Vec<risks::Acceptance> =
            crate::store::people::acceptances(store.db(), Some(c.id), now)?
                .into_iter()
                .map(|a| risks::Acceptance {
                    rule: a.rule,
                    subject: a.subject,
                    by: a.accepted_by,
                    until: a.until.0,
                    reference: a.reference,
                    measure: a.measure,
                })
                .collect();
        risks::apply_acceptances(&mut found, &accepted, now, c.tz());
        out.extend(found.into_iter().filter(|r| r.severity >= min));
    }
    Ok(out)
}
