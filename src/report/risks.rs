//! The risk register of 05f.07: each rule a small pure function over plain
//! facts, giving the evidence and a recommendation in plain words.

use serde::Serialize;

use crate::domain::ci::BackupStatus;
use crate::domain::policy::{is_offsite, restore_test_days, Retention};
use crate::domain::time::{format_age, rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    fn of_tier(tier: i64) -> Severity {
        match tier {
            1 => Severity::High,
            2 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    pub rule: &'static str,
    pub severity: Severity,
    pub client: String,
    /// The CI, job or client the risk is about.
    pub subject: String,
    pub evidence: String,
    pub recommendation: String,
    /// How bad it is, one number per rule, higher worse (days overdue, the
    /// worst gap in hours, failure %, tiers of retention short, growth %);
    /// an acceptance holds while the measure is no worse than accepted.
    pub measure: Option<f64>,
    /// The client's acceptance in force, if any.
    pub accepted: Option<Accepted>,
}

/// A risk the client accepted, as the register shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accepted {
    pub by: String,
    pub until: crate::domain::time::Ts,
    /// The last day it holds, in the client's zone (`until` is the next midnight).
    pub through: String,
    #[serde(rename = "ref")]
    pub reference: String,
}

/// A recorded acceptance, as [`apply_acceptances`] weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    pub rule: String,
    pub subject: String,
    pub by: String,
    pub until: i64,
    pub reference: String,
    pub measure: Option<f64>,
}

/// Mark the risks the client accepted: an acceptance of the same rule and
/// subject, not expired at `now`, whose measure the risk's is no worse than.
/// An expired acceptance or worse facts bring the risk back, saying why.
pub fn apply_acceptances(
    risks: &mut [Risk],
    acceptances: &[Acceptance],
    now: i64,
    tz: chrono_tz::Tz,
) {
    for r in risks.iter_mut() {
        // the newest acceptance of this risk decides
        let Some(a) = acceptances
            .iter()
            .filter(|a| a.rule == r.rule && a.subject == r.subject)
            .max_by_key(|a| a.until)
        else {
            continue;
        };
        let worse = match (r.measure, a.measure) {
            (Some(now_m), Some(then)) => now_m > then + 1e-9,
            _ => false,
        };
        if a.until <= now {
            r.evidence.push_str(&format!(
                " (accepted by {} through {}: expired)",
                a.by,
                crate::domain::time::local_date(a.until - 1, tz)
            ));
        } else if worse {
            r.evidence.push_str(&format!(
                " (accepted by {} at {}, now worse: {})",
                a.by,
                a.measure.map(fmt_measure).unwrap_or_default(),
                r.measure.map(fmt_measure).unwrap_or_default()
            ));
        } else {
            r.accepted = Some(Accepted {
                by: a.by.clone(),
                until: crate::domain::time::Ts(a.until),
                through: crate::domain::time::local_date(a.until - 1, tz),
                reference: a.reference.clone(),
            });
        }
    }
}

fn fmt_measure(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// What the rules know of a CI.
#[derive(Debug, Clone, Default)]
pub struct CiFact {
    pub client: String,
    pub host: String,
    pub tier: i64,
    pub backup_status: BackupStatus,
    /// Whether an active policy copies it off site (offsite, cloud or immutable).
    pub offsite_copy: bool,
}

/// What the rules know of a policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyFact {
    pub client: String,
    pub job: String,
    pub ci: String,
    pub tier: i64,
    pub target: String,
    pub restore_test: String,
    pub retention: Retention,
    pub created_at: i64,
    /// Backup runs and successful (or warning) runs in the last 30 days.
    pub runs_30d: usize,
    pub good_30d: usize,
    pub consecutive_failures: i64,
    pub last_good_restore: Option<i64>,
    pub rpo_s: i64,
    pub grace_s: i64,
    /// The longest time between two runs of the schedule (over a year).
    pub schedule_gap_s: Option<i64>,
    /// RPO breaches (RPO tickets opened) in the period, and the longest gap
    /// between good runs in it.
    pub rpo_breaches: usize,
    pub worst_gap_s: Option<i64>,
    /// `(time, bytes)` of good runs over the last 90 days.
    pub sizes: Vec<(i64, i64)>,
}

/// What the rules know of a client.
#[derive(Debug, Clone, Default)]
pub struct ClientFact {
    pub code: String,
    pub require_offsite: bool,
    pub required_retention: Option<Retention>,
    pub aged_backlog: usize,
    pub overdue_tasks: usize,
    pub unmatched_jobs: Vec<String>,
    /// `(id, days open)` of changes open longer than the limit.
    pub old_changes: Vec<(i64, i64)>,
    /// `(ticket id, title, seconds late)` of corrective tickets whose SLA due
    /// time passed before they were resolved (or that are still open past it).
    pub sla_breaches: Vec<(i64, String, i64)>,
}

/// Thresholds of the rules (config `[risks]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Success rate below this over 30 days is chronic failure (percent).
    pub min_success_percent: f64,
    /// Projected growth over a quarter above this is flagged (percent).
    pub growth_percent: f64,
    pub change_open_days: i64,
    /// The window the run-based rules look at, as evidence says it.
    pub window: &'static str,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            window: "30 days",
            min_success_percent: 95.0,
            growth_percent: 25.0,
            change_open_days: 14,
        }
    }
}

fn risk(
    rule: &'static str,
    severity: Severity,
    client: &str,
    subject: &str,
    evidence: String,
    recommendation: &str,
) -> Risk {
    Risk {
        rule,
        severity,
        client: client.into(),
        subject: subject.into(),
        evidence,
        recommendation: recommendation.into(),
        measure: None,
        accepted: None,
    }
}

impl Risk {
    fn measured(mut self, m: f64) -> Risk {
        self.measure = Some(m);
        self
    }
}

/// An active CI with no backup policy and no recorded exclusion.
pub fn unprotected(cis: &[CiFact]) -> Vec<Risk> {
    cis.iter()
        .filter(|c| c.backup_status == BackupStatus::Unprotected)
        .map(|c| {
            risk(
                "unprotected-ci",
                Severity::of_tier(c.tier),
                &c.client,
                &c.host,
                format!("tier-{} CI {} has no backup policy and no recorded exclusion", c.tier, c.host),
                "add a backup policy (bmctl macd add) or record why it is excluded (bmctl cmdb edit --exclude)",
            )
            .measured(1.0)
        })
        .collect()
}

/// No successful recovery attempt within the policy's restore-test cadence, or never.
pub fn restore_test_overdue(policies: &[PolicyFact], now: i64) -> Vec<Risk> {
    policies
        .iter()
        .filter_map(|p| {
            let days = restore_test_days(&p.restore_test)?;
            let since = p.last_good_restore.unwrap_or(p.created_at);
            (now - since > days * 86_400).then(|| {
                let evidence = match p.last_good_restore {
                    Some(t) => format!("last successful restore test {} ago ({}); cadence {}", format_age(now - t), rfc3339(t), p.restore_test),
                    None => format!("never restored successfully; cadence {}", p.restore_test),
                };
                risk(
                    "restore-test-overdue",
                    if p.tier == 1 { Severity::High } else { Severity::Medium },
                    &p.client,
                    &p.job,
                    evidence,
                    "run a restore test (bmctl restore test) and record it; an untested backup is a hope, not a backup",
                )
                // days overdue
                .measured(((now - since) / 86_400 - days) as f64)
            })
        })
        .collect()
}

/// Runs in 30 days below which a success rate says nothing.
const MIN_SAMPLE: usize = 10;

/// Success rate below the limit over 30 days (at least 10 runs), or 3+
/// consecutive failures now.
pub fn chronic_failure(policies: &[PolicyFact], limits: &Limits) -> Vec<Risk> {
    policies
        .iter()
        .filter_map(|p| {
            let rate = (p.runs_30d > 0).then(|| p.good_30d as f64 * 100.0 / p.runs_30d as f64);
            // A rate needs a sample: a weekly job's one failure is not "chronic".
            let low = p.runs_30d >= MIN_SAMPLE && rate.is_some_and(|r| r < limits.min_success_percent);
            if !low && p.consecutive_failures < 3 {
                return None;
            }
            let evidence = format!(
                "{} of {} runs good in {} ({}); {} consecutive failed or missed runs now",
                p.good_30d,
                p.runs_30d,
                limits.window,
                rate.map(|r| format!("{r:.1} %")).unwrap_or_else(|| "n/a".into()),
                p.consecutive_failures
            );
            Some(
                risk("chronic-failure", Severity::High, &p.client, &p.job, evidence, "find the root cause (network, capacity, credentials) rather than re-running; escalate to the client if it is theirs")
                    // failure %
                    .measured(((100.0 - rate.unwrap_or(0.0)) * 10.0).round() / 10.0),
            )
        })
        .collect()
}

/// RPO breaches in the period: how many, and the worst gap.
pub fn rpo_breaches(policies: &[PolicyFact]) -> Vec<Risk> {
    policies
        .iter()
        .filter(|p| p.rpo_breaches > 0)
        .map(|p| {
            let gap = p.worst_gap_s.map(|g| format!(", worst gap {}", format_age(g))).unwrap_or_default();
            risk(
                "rpo-breach",
                if p.tier == 1 { Severity::High } else { Severity::Medium },
                &p.client,
                &p.job,
                format!("{} RPO breach(es) in the period (RPO {}){gap}", p.rpo_breaches, crate::domain::time::format_duration(p.rpo_s)),
                "shorten the schedule or fix the failures behind the gaps; agree a realistic RPO with the client if it cannot be met",
            )
            // the worst gap, in hours
            .measured((p.worst_gap_s.unwrap_or(0) as f64 / 3_600.0).round())
        })
        .collect()
}

/// A schedule that cannot meet its own RPO: its longest gap between runs is
/// longer than the RPO plus grace, so every such gap is a breach.
pub fn rpo_unreachable(policies: &[PolicyFact]) -> Vec<Risk> {
    policies
        .iter()
        .filter_map(|p| {
            let gap = p.schedule_gap_s.filter(|g| *g > p.rpo_s + p.grace_s)?;
            Some(risk(
                "rpo-unreachable",
                Severity::High,
                &p.client,
                &p.job,
                format!(
                    "the schedule leaves gaps of up to {} between runs; the RPO is {} (grace {})",
                    format_age(gap),
                    crate::domain::time::format_duration(p.rpo_s),
                    crate::domain::time::format_duration(p.grace_s)
                ),
                "run the job at least once per RPO, or agree an RPO the schedule can meet (bmctl macd change --set schedule=… or rpo=…)",
            )
            .measured((gap as f64 / 3_600.0).round()))
        })
        .collect()
}

/// No offsite or immutable copy where the plan requires one (3-2-1).
pub fn offsite_missing(client: &ClientFact, cis: &[CiFact]) -> Vec<Risk> {
    if !client.require_offsite {
        return Vec::new();
    }
    cis.iter()
        .filter(|c| {
            c.client == client.code && c.backup_status == BackupStatus::Protected && !c.offsite_copy
        })
        .map(|c| {
            risk(
                "no-offsite-copy",
                Severity::of_tier(c.tier).max(Severity::Medium),
                &c.client,
                &c.host,
                format!(
                    "{} is backed up only locally; the plan requires an offsite copy",
                    c.host
                ),
                "add an offsite, cloud or immutable copy (bmctl macd add) to follow 3-2-1",
            )
            .measured(1.0)
        })
        .collect()
}

/// Retention below the client's requirement: what all policies of a CI keep
/// together (a nightly and a weekly job complement each other).
pub fn retention_short(client: &ClientFact, policies: &[PolicyFact]) -> Vec<Risk> {
    let Some(required) = &client.required_retention else {
        return Vec::new();
    };
    let mut by_ci: std::collections::BTreeMap<&str, (Retention, Vec<&str>)> =
        std::collections::BTreeMap::new();
    for p in policies.iter().filter(|p| p.client == client.code) {
        let e = by_ci
            .entry(&p.ci)
            .or_insert_with(|| (Retention::default(), Vec::new()));
        e.0 = e.0.merge(&p.retention);
        e.1.push(&p.job);
    }
    by_ci
        .into_iter()
        .filter_map(|(ci, (kept, jobs))| {
            let short = kept.shortfalls(required);
            (!short.is_empty()).then(|| {
                risk(
                    "retention-below-requirement",
                    Severity::Medium,
                    &client.code,
                    ci,
                    format!("{} ({}) keep {kept} against the required {required}: {}", ci, jobs.join(", "), short.join(", ")),
                    "raise the retention (bmctl macd change --set retention=…) or record the client's agreement to less (bmctl plan risks accept)",
                )
                // how many kinds of copy fall short
                .measured(short.len() as f64)
            })
        })
        .collect()
}

/// Least-squares slope and intercept of `(x, y)` points.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// Backup size trend over 90 days projected a quarter ahead, flagged above
/// the growth limit.
pub fn growth(policies: &[PolicyFact], limits: &Limits, now: i64) -> Vec<Risk> {
    policies
        .iter()
        .filter_map(|p| {
            let pts: Vec<(f64, f64)> = p.sizes.iter().map(|(t, b)| ((t - now) as f64 / 86_400.0, *b as f64)).collect();
            let (slope, today) = linear_fit(&pts)?;
            if today <= 0.0 {
                return None;
            }
            let quarter = today + slope * 91.0;
            let growth = (quarter - today) / today * 100.0;
            (growth > limits.growth_percent).then(|| {
                risk(
                    "growth",
                    Severity::Medium,
                    &p.client,
                    &p.job,
                    format!("{:.0} GB now, {:.0} GB projected in a quarter (+{growth:.0} %)", today / 1e9, quarter / 1e9),
                    "check repository and target capacity for the next quarter; review what is being backed up",
                )
                .measured(growth.round())
            })
        })
        .collect()
}

/// Aged proactive backlog and overdue tasks for the client.
pub fn backlog(client: &ClientFact) -> Vec<Risk> {
    let mut out = Vec::new();
    if client.aged_backlog > 0 || client.overdue_tasks > 0 {
        out.push(risk(
            "aged-backlog",
            if client.aged_backlog >= 5 { Severity::High } else { Severity::Medium },
            &client.code,
            &client.code,
            format!("{} proactive tickets open longer than the aged limit; {} tasks overdue", client.aged_backlog, client.overdue_tasks),
            "work the oldest tickets first and check that tasks are assigned (bmctl tasks due --overdue)",
        ));
    }
    out
}

/// Corrective tickets and incidents that breached their SLA due time in the period.
pub fn sla_breaches(client: &ClientFact) -> Vec<Risk> {
    client
        .sla_breaches
        .iter()
        .map(|(id, title, late)| {
            risk(
                "sla-breach",
                Severity::Medium,
                &client.code,
                &format!("#{id}"),
                format!("{title}: {} past its SLA due time", format_age(*late)),
                "review staffing and escalation for this client's tickets; check the SLA table fits the contract",
            )
        })
        .collect()
}

/// Changes open longer than the limit.
pub fn old_changes(client: &ClientFact) -> Vec<Risk> {
    client
        .old_changes
        .iter()
        .map(|(id, days)| {
            risk(
                "change-open-too-long",
                Severity::Medium,
                &client.code,
                &format!("CR-{id}"),
                format!("change CR-{id} has been open for {days} days"),
                "approve, implement and complete it, or cancel it (bmctl macd show)",
            )
        })
        .collect()
}

/// Runs reported for jobs the plan does not know.
pub fn unmatched(client: &ClientFact) -> Vec<Risk> {
    client
        .unmatched_jobs
        .iter()
        .map(|j| {
            risk(
                "unmatched-job",
                Severity::Low,
                &client.code,
                j,
                format!("runs are reported for job {j}, which no backup plan declares"),
                "add the job to the plan (bmctl macd add) or stop it; unknown jobs are unmanaged risk",
            )
        })
        .collect()
}

/// Every rule for one client, most severe first.
pub fn register(
    client: &ClientFact,
    cis: &[CiFact],
    policies: &[PolicyFact],
    limits: &Limits,
    now: i64,
) -> Vec<Risk> {
    let mut all = Vec::new();
    all.extend(unprotected(cis));
    all.extend(restore_test_overdue(policies, now));
    all.extend(chronic_failure(policies, limits));
    all.extend(rpo_breaches(policies));
    all.extend(rpo_unreachable(policies));
    all.extend(offsite_missing(client, cis));
    all.extend(retention_short(client, policies));
    all.extend(growth(policies, limits, now));
    all.extend(backlog(client));
    all.extend(sla_breaches(client));
    all.extend(old_changes(client));
    all.extend(unmatched(client));
    all.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(b.rule))
            .then(a.subject.cmp(&b.subject))
    });
    all
}

/// Whether a target counts as an offsite copy.
pub fn offsite(target: &str) -> bool {
    is_offsite(target)
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_acceptance_holds_until_it_expires_or_the_facts_get_worse() {
        let r = |m: f64| Risk {
            measure: Some(m),
            ..risk(
                "retention-below-requirement",
                Severity::Medium,
                "acme",
                "fs01",
                "short".into(),
                "-",
            )
        };
        let acc = Acceptance {
            rule: "retention-below-requirement".into(),
            subject: "fs01".into(),
            by: "Jane Roe (CFO at Acme)".into(),
            until: 1_000,
            reference: "CHG-9".into(),
            measure: Some(2.0),
        };
        let cases = [
            (r(2.0), 500, true, ""),
            (r(1.0), 500, true, ""),           // better than accepted
            (r(3.0), 500, false, "now worse"), // worse: back
            (r(2.0), 1_000, false, "expired"), // expired: back
        ];
        for (risk, now, accepted, says) in cases {
            let mut list = vec![risk];
            apply_acceptances(&mut list, std::slice::from_ref(&acc), now, chrono_tz::UTC);
            assert_eq!(list[0].accepted.is_some(), accepted, "{list:?}");
            assert!(list[0].evidence.contains(says), "{}", list[0].evidence);
        }
        // another subject is not covered
        let mut other = vec![Risk {
            subject: "dc01".into(),
            ..r(1.0)
        }];
        apply_acceptances(&mut other, &[acc], 500, chrono_tz::UTC);
        assert!(other[0].accepted.is_none());
    }

    use super::*;

    const DAY: i64 = 86_400;

    fn policy() -> PolicyFact {
        PolicyFact {
            client: "acme".into(),
            job: "fs01-nightly".into(),
            ci: "fs01".into(),
            tier: 1,
            target: "offsite".into(),
            restore_test: "monthly".into(),
            retention: Retention::parse("daily=7,weekly=4,monthly=12").unwrap(),
            created_at: 0,
            runs_30d: 30,
            good_30d: 30,
            consecutive_failures: 0,
            last_good_restore: Some(90 * DAY),
            rpo_s: DAY,
            grace_s: 7_200,
            schedule_gap_s: Some(DAY),
            rpo_breaches: 0,
            worst_gap_s: None,
            sizes: Vec::new(),
        }
    }

    fn client() -> ClientFact {
        ClientFact {
            code: "acme".into(),
            require_offsite: true,
            required_retention: Some(Retention::parse("daily=7,weekly=4,monthly=12").unwrap()),
            ..ClientFact::default()
        }
    }

    fn ci(status: &str, offsite: bool) -> CiFact {
        CiFact {
            client: "acme".into(),
            host: "fs01".into(),
            tier: 1,
            backup_status: BackupStatus::parse(status).unwrap(),
            offsite_copy: offsite,
        }
    }

    #[test]
    fn unprotected_ci() {
        assert_eq!(
            unprotected(&[ci("unprotected", false)])[0].severity,
            Severity::High
        );
        assert!(unprotected(&[ci("protected", true), ci("excluded", false)]).is_empty());
    }

    #[test]
    fn restore_test_overdue_rule() {
        let now = 100 * DAY;
        assert!(restore_test_overdue(&[policy()], now).is_empty()); // 10 days ago, monthly
        let mut p = policy();
        p.last_good_restore = Some(50 * DAY);
        assert_eq!(restore_test_overdue(&[p.clone()], now).len(), 1);
        p.last_good_restore = None;
        assert!(restore_test_overdue(&[p.clone()], now)[0]
            .evidence
            .contains("never"));
        p.restore_test = "never".into();
        assert!(restore_test_overdue(&[p], now).is_empty());
    }

    #[test]
    fn chronic_failure_rule() {
        let l = Limits::default();
        assert!(chronic_failure(&[policy()], &l).is_empty());
        let mut p = policy();
        p.good_30d = 28; // 93.3 %
        assert_eq!(chronic_failure(&[p.clone()], &l).len(), 1);
        p.runs_30d = 4; // a weekly job: too few runs for a rate
        p.good_30d = 3;
        assert!(chronic_failure(&[p], &l).is_empty());
        let mut p = policy();
        p.consecutive_failures = 3;
        assert_eq!(chronic_failure(&[p], &l).len(), 1);
    }

    #[test]
    fn rpo_breach_rule() {
        assert!(rpo_breaches(&[policy()]).is_empty());
        let mut p = policy();
        p.rpo_breaches = 2;
        p.worst_gap_s = Some(3 * DAY);
        let r = rpo_breaches(&[p]);
        assert!(
            r[0].evidence.contains("2 RPO breach") && r[0].evidence.contains("worst gap 3d"),
            "{}",
            r[0].evidence
        );
    }

    #[test]
    fn offsite_rule() {
        assert_eq!(
            offsite_missing(&client(), &[ci("protected", false)]).len(),
            1
        );
        assert!(offsite_missing(&client(), &[ci("protected", true)]).is_empty());
        let relaxed = ClientFact {
            require_offsite: false,
            ..client()
        };
        assert!(offsite_missing(&relaxed, &[ci("protected", false)]).is_empty());
    }

    #[test]
    fn retention_rule() {
        assert!(retention_short(&client(), &[policy()]).is_empty());
        let mut p = policy();
        p.retention = Retention::parse("daily=7").unwrap();
        let r = retention_short(&client(), &[p.clone()]);
        assert!(r[0].evidence.contains("weekly 0 < 4"), "{}", r[0].evidence);
        // a weekly job on the same CI makes up for it
        let weekly = PolicyFact {
            job: "fs01-weekly".into(),
            retention: Retention::parse("weekly=4,monthly=12").unwrap(),
            ..p.clone()
        };
        assert!(retention_short(&client(), &[p, weekly]).is_empty());
    }

    #[test]
    fn a_schedule_that_cannot_meet_its_rpo() {
        assert!(rpo_unreachable(&[policy()]).is_empty(), "daily, RPO 1d");
        let weekly = PolicyFact {
            schedule_gap_s: Some(7 * DAY),
            ..policy()
        };
        let r = rpo_unreachable(&[weekly]);
        assert_eq!((r.len(), r[0].rule), (1, "rpo-unreachable"));
        assert!(
            r[0].evidence.contains("gaps of up to 7d 0h"),
            "{}",
            r[0].evidence
        );
        // the grace covers a DST night an hour longer
        let dst = PolicyFact {
            schedule_gap_s: Some(DAY + 3_600),
            ..policy()
        };
        assert!(rpo_unreachable(&[dst]).is_empty());
    }

    #[test]
    fn growth_rule_fits_a_line() {
        assert_eq!(
            linear_fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]),
            Some((2.0, 1.0))
        );
        let now = 100 * DAY;
        let mut p = policy();
        // 100 GB growing 1 GB a day: +91 % in a quarter
        p.sizes = (0..90)
            .map(|d| (now - (89 - d) * DAY, (11 + d) * 1_000_000_000))
            .collect();
        assert_eq!(growth(&[p.clone()], &Limits::default(), now).len(), 1);
        p.sizes = (0..90)
            .map(|d| (now - (89 - d) * DAY, 100_000_000_000 + d * 10_000_000))
            .collect();
        assert!(growth(&[p], &Limits::default(), now).is_empty());
    }

    #[test]
    fn backlog_changes_and_unmatched_rules() {
        assert!(backlog(&client()).is_empty());
        assert_eq!(
            backlog(&ClientFact {
                overdue_tasks: 2,
                ..client()
            })
            .len(),
            1
        );
        assert!(old_changes(&client()).is_empty());
        assert_eq!(
            old_changes(&ClientFact {
                old_changes: vec![(7, 20)],
                ..client()
            })[0]
                .subject,
            "CR-7"
        );
        assert!(sla_breaches(&client()).is_empty());
        let late = ClientFact {
            sla_breaches: vec![(12, "Backup failed".into(), 3 * 3600)],
            ..client()
        };
        assert_eq!(
            sla_breaches(&late)[0].evidence,
            "Backup failed: 3h 0m past its SLA due time"
        );
        assert!(unmatched(&client()).is_empty());
        assert_eq!(
            unmatched(&ClientFact {
                unmatched_jobs: vec!["old-nas".into()],
                ..client()
            })
            .len(),
            1
        );
    }
}
