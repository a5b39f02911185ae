//! The quarterly review's judgements as pure functions: targets and the
//! overall status, SLA attainment, the daily status grid's cells, risks as
//! decisions and actions, the capacity projection. Gathering is in
//! `ops::review`, rendering in `output::review`.

use serde::Serialize;

use super::risks::{Risk, Severity};

/// Who a review is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// The client: its language, no internal chores or rule ids.
    Client,
    /// The MSP itself: everything, including what it must fix about itself.
    Internal,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Client => "client",
            Audience::Internal => "internal",
        }
    }
}

/// A client's targets, by its SLA tier (`[targets]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Targets {
    /// Backup Incident Rate at most this (%).
    pub incident_rate: f64,
    /// Proactive Task Compliance at least this (%).
    pub task_compliance: f64,
    /// Recovery Attempt Success Rate at least this (%).
    pub recovery_success: f64,
    /// SLA attainment at least this (%).
    pub sla_attainment: f64,
    /// Aged Proactive Service Ticket Backlog at most this many.
    pub aged_backlog: i64,
}

/// Green, amber or red, by the rules of [`status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Green,
    Amber,
    Red,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Green => "green",
            Status::Amber => "amber",
            Status::Red => "red",
        }
    }
}

/// What the overall status is judged on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusFacts {
    /// Incidents open at the quarter's end (or now, while it runs).
    pub open_incidents: usize,
    /// Tier-1 policies with an RPO breach in the quarter.
    pub tier1_rpo_breaches: usize,
    pub incident_rate: Option<f64>,
    /// KPIs below their target, by name.
    pub below_target: Vec<String>,
    /// High risks that need a decision nobody has recorded.
    pub high_undecided: usize,
    /// Backups expected in the period: none, nothing to judge.
    pub expected: i64,
}

/// Red: an open incident at the quarter's end, an RPO breach on a tier-1
/// policy, or a Backup Incident Rate above twice its target. Amber: a KPI
/// below target, or a high risk without a decision. Green otherwise. The
/// reasons say which.
pub fn status(f: &StatusFacts, t: &Targets) -> (Status, Vec<String>) {
    let n = |k: usize, one: &str, many: &str| {
        if k == 1 {
            format!("1 {one}")
        } else {
            format!("{k} {many}")
        }
    };
    let mut red = Vec::new();
    if f.open_incidents > 0 {
        red.push(format!(
            "{} open at the end of the period",
            n(f.open_incidents, "incident", "incidents")
        ));
    }
    if f.tier1_rpo_breaches > 0 {
        red.push(format!(
            "{} missed {} recovery point objective",
            n(
                f.tier1_rpo_breaches,
                "critical (tier-1) backup",
                "critical (tier-1) backups"
            ),
            if f.tier1_rpo_breaches == 1 {
                "its"
            } else {
                "their"
            }
        ));
    }
    if let Some(r) = f.incident_rate.filter(|r| *r > 2.0 * t.incident_rate) {
        red.push(format!(
            "backup incident rate {r:.1} %, more than twice the target of {:.1} %",
            t.incident_rate
        ));
    }
    if !red.is_empty() {
        return (Status::Red, red);
    }
    let mut amber: Vec<String> = f
        .below_target
        .iter()
        .map(|k| format!("{k} below target"))
        .collect();
    if f.expected == 0 {
        amber.push("no backups were expected in the period: nothing to judge them by".into());
    }
    if f.high_undecided > 0 {
        amber.push(format!(
            "{} waiting for a decision",
            n(f.high_undecided, "high risk", "high risks")
        ));
    }
    if amber.is_empty() {
        (Status::Green, vec!["every target met".into()])
    } else {
        (Status::Amber, amber)
    }
}

/// Which way a figure moved since the previous quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    Up,
    Down,
    Same,
    /// One of the two has no value.
    None,
}

impl Trend {
    pub fn of(now: Option<f64>, before: Option<f64>) -> Trend {
        match (now, before) {
            (Some(a), Some(b)) if (a - b).abs() < 0.05 => Trend::Same,
            (Some(a), Some(b)) if a > b => Trend::Up,
            (Some(_), Some(_)) => Trend::Down,
            _ => Trend::None,
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Up => "▲",
            Trend::Down => "▼",
            Trend::Same => "=",
            Trend::None => "",
        }
    }
}

/// A ticket as SLA attainment sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaTicket<'a> {
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// The cause it was resolved with: a person's root cause, or bmctl's
    /// closure (`auto-recovered`, `superseded`, `withdrawn`, `decommissioned`).
    pub cause: Option<&'a str>,
    /// Since when it waits on the client (its SLA clock stopped then).
    pub waiting_since: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Attainment {
    pub percent: Option<f64>,
    pub met: usize,
    /// Resolved late, or open and past due at the period's end.
    pub missed: usize,
}

/// SLA attainment over [from, to): corrective tickets and incidents a person
/// resolved in the period at or before their due time, of those resolved by
/// a person in it plus those open and past due at its end. Tickets bmctl
/// closed itself (recovered, superseded, withdrawn, decommissioned) are left
/// out.
pub fn sla_attainment(tickets: &[SlaTicket], from: i64, to: i64) -> Attainment {
    let (mut met, mut missed) = (0, 0);
    for t in tickets {
        let Some(due) = t.due_at else { continue };
        match t.resolved_at {
            Some(r) if r >= from && r < to => {
                let by_person = t
                    .cause
                    .is_some_and(|c| crate::domain::ticket::CAUSES.contains(&c));
                match (by_person, r <= due) {
                    (false, _) => {}
                    (true, true) => met += 1,
                    (true, false) => missed += 1,
                }
            }
            Some(r) if r < from => {}
            // open at the end (resolved later or not at all), past due by
            // then as its SLA clock reads (stopped while it waits on the client)
            _ if due < t.waiting_since.map_or(to, |w| w.min(to)) => missed += 1,
            _ => {}
        }
    }
    Attainment {
        percent: super::percent(met, met + missed),
        met,
        missed,
    }
}

/// A day of a job in the daily status grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cell {
    NotExpected,
    Pending,
    Paused,
    Success,
    Warning,
    Failed,
    Missed,
}

impl Cell {
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::NotExpected => "not-expected",
            Cell::Pending => "pending",
            Cell::Paused => "paused",
            Cell::Success => "success",
            Cell::Warning => "warning",
            Cell::Failed => "failed",
            Cell::Missed => "missed",
        }
    }

    /// One letter, for the CSV grid and people who print without colour.
    pub fn letter(self) -> char {
        match self {
            Cell::NotExpected => '.',
            Cell::Pending => ' ',
            Cell::Paused => 'P',
            Cell::Success => 'S',
            Cell::Warning => 'W',
            Cell::Failed => 'F',
            Cell::Missed => 'M',
        }
    }

    /// An event status as a cell (`hung` counts as failed, `running` as
    /// nothing yet).
    pub fn of_status(status: &str) -> Option<Cell> {
        match status {
            "success" => Some(Cell::Success),
            "warning" => Some(Cell::Warning),
            "failed" | "hung" => Some(Cell::Failed),
            "missed" => Some(Cell::Missed),
            _ => None,
        }
    }
}

/// A grid cell: `pending` for today and later; else the worst outcome of
/// the day's occurrences (missed > failed or hung > warning > success);
/// `paused` when every occurrence expected that day was paused; `missed` when
/// one was expected and nothing came; `not-expected` when none was.
pub fn cell(pending: bool, outcomes: &[Cell], expected: usize, paused: usize) -> Cell {
    if pending {
        return Cell::Pending;
    }
    if let Some(worst) = outcomes.iter().copied().max() {
        return worst;
    }
    match (expected, paused) {
        (0, _) => Cell::NotExpected,
        (e, p) if p >= e => Cell::Paused,
        _ => Cell::Missed,
    }
}

/// Where a risk goes in the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The client must choose (with the consequence of each choice).
    Decision,
    /// The MSP acts on it.
    Action,
    /// The client accepted it (by whom, until when): shown, not acted on.
    Accepted,
    /// About the MSP's own service: the internal review only.
    Internal,
}

/// A risk in the client's words: a title, what was found, and either the
/// choices with their consequences or what the MSP will do.
pub struct Wording {
    pub kind: Kind,
    pub title: &'static str,
    /// For a decision: (choice, consequence) pairs.
    pub choices: &'static [(&'static str, &'static str)],
    /// For an action: what the MSP will do.
    pub action: &'static str,
}

/// The client's words for each rule of the risk register.
pub fn wording(rule: &str) -> Wording {
    let decision = |title, choices| Wording {
        kind: Kind::Decision,
        title,
        choices,
        action: "",
    };
    let action = |title, action| Wording {
        kind: Kind::Action,
        title,
        choices: &[],
        action,
    };
    match rule {
        "unprotected-ci" => decision(
            "A system has no backup",
            &[
                ("Protect it", "we propose a backup plan for it; storage costs rise a little"),
                ("Confirm it needs none", "it is recorded as excluded and cannot be restored if lost"),
            ],
        ),
        "no-offsite-copy" => decision(
            "No copy away from the site",
            &[
                ("Add an offsite or cloud copy", "a fire or theft at the site no longer takes the backups with it; storage costs rise"),
                ("Accept the risk", "a site-wide loss loses the data and its backups together"),
            ],
        ),
        "retention-below-requirement" => decision(
            "Backups are kept for less time than agreed",
            &[
                ("Keep them as long as agreed", "older restore points become available; storage costs rise"),
                ("Agree to the shorter retention", "data older than the retention cannot be restored"),
            ],
        ),
        "rpo-unreachable" => decision(
            "The schedule cannot meet the agreed recovery point",
            &[
                ("Back up more often", "the agreed recovery point is met; more runs and storage"),
                ("Agree a longer recovery point", "up to the schedule's gap of work can be lost"),
            ],
        ),
        "restore-test-overdue" => action(
            "A restore test is overdue",
            "We will run and document a restore test of this system.",
        ),
        "chronic-failure" => action(
            "Backups of this system fail often",
            "We will find and fix the cause of the failures.",
        ),
        "rpo-breach" => action(
            "Restore points were missing for longer than agreed",
            "We will find why runs were missed and prevent a repeat.",
        ),
        "growth" => action(
            "Backup data is growing fast",
            "We will plan the storage for the next quarter and review what is backed up.",
        ),
        _ => Wording {
            kind: Kind::Internal,
            title: "Service issue",
            choices: &[],
            action: "",
        },
    }
}

/// One row of the review's risks: one per rule and system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskItem {
    pub kind: Kind,
    /// The register's rule (the internal review shows it).
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    /// The system (CI or job) or the client it is about.
    pub subject: String,
    /// What was found, one line per finding of this rule and subject.
    pub evidence: Vec<String>,
    /// Decisions: the choices and their consequences.
    pub choices: Vec<(String, String)>,
    /// Actions: what the MSP will do (internal: the register's recommendation).
    pub action: String,
    pub owner: String,
    /// Unix seconds.
    pub target_date: i64,
    /// The client's acceptance in force.
    pub accepted: Option<super::risks::Accepted>,
}

/// How long the MSP gives itself to act, by severity (`[risks] act_within_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActWithin {
    pub high_s: i64,
    pub medium_s: i64,
    pub low_s: i64,
}

impl ActWithin {
    pub fn of(&self, s: Severity) -> i64 {
        match s {
            Severity::High => self.high_s,
            Severity::Medium => self.medium_s,
            Severity::Low => self.low_s,
        }
    }
}

/// Who owns a risk's action and by when, when an open ticket or change
/// already covers its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub subject: String,
    pub assignee: Option<String>,
    pub due_at: Option<i64>,
}

/// The register as the review's rows: one per rule and subject (a rule
/// found per ticket becomes one row with every finding as evidence), the
/// highest severity of the group; for the client, internal rules left out.
/// Owner: the open ticket or change that covers the subject, else the
/// client's technician, else "Service desk"; target date: that object's due
/// time, else the review date plus `act_within` of the severity.
pub fn present(
    risks: &[Risk],
    audience: Audience,
    technician: Option<&str>,
    review_at: i64,
    act: &ActWithin,
    covered: &[Covered],
) -> Vec<RiskItem> {
    present_named(risks, audience, technician, review_at, act, covered, &|l| {
        l.to_string()
    })
}

/// [`present`], owners shown by `name` (a login as the client knows the
/// person: `[team.LOGIN] name`).
pub fn present_named(
    risks: &[Risk],
    audience: Audience,
    technician: Option<&str>,
    review_at: i64,
    act: &ActWithin,
    covered: &[Covered],
    name: &dyn Fn(&str) -> String,
) -> Vec<RiskItem> {
    let mut out: Vec<RiskItem> = Vec::new();
    for r in risks {
        let w = wording(r.rule);
        if audience == Audience::Client && w.kind == Kind::Internal {
            continue;
        }
        // per-ticket rules are about the client's service as a whole
        let subject = match w.kind {
            Kind::Internal if r.rule == "sla-breach" => r.client.clone(),
            _ => r.subject.clone(),
        };
        if let Some(item) = out
            .iter_mut()
            .find(|i| i.rule == r.rule && i.subject == subject)
        {
            item.severity = item.severity.max(r.severity);
            if !item.evidence.contains(&r.evidence) {
                item.evidence.push(r.evidence.clone());
            }
            continue;
        }
        let cover = covered.iter().find(|c| c.subject == subject);
        out.push(RiskItem {
            kind: if r.accepted.is_some() && w.kind != Kind::Internal {
                Kind::Accepted
            } else {
                w.kind
            },
            accepted: r.accepted.clone(),
            rule: r.rule.to_string(),
            title: match audience {
                Audience::Internal => format!("{} ({})", w.title, r.rule),
                Audience::Client => w.title.to_string(),
            },
            severity: r.severity,
            subject,
            evidence: vec![r.evidence.clone()],
            choices: w
                .choices
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            action: match audience {
                Audience::Internal => r.recommendation.clone(),
                Audience::Client => w.action.to_string(),
            },
            owner: cover
                .and_then(|c| c.assignee.clone())
                .or(technician.map(str::to_string))
                .map(|l| name(&l))
                .unwrap_or_else(|| "Service desk".into()),
            target_date: 0,
        });
    }
    for i in &mut out {
        // a covering ticket already past due: a new date from the review's
        let cover = covered.iter().find(|c| c.subject == i.subject);
        i.target_date = cover
            .and_then(|c| c.due_at)
            .filter(|d| *d > review_at)
            .unwrap_or(review_at + act.of(i.severity));
    }
    // decisions first, then by severity, highest first
    out.sort_by(|a, b| {
        let rank = |k: Kind| match k {
            Kind::Decision => 0,
            Kind::Action => 1,
            Kind::Accepted => 2,
            Kind::Internal => 3,
        };
        (
            rank(a.kind),
            std::cmp::Reverse(a.severity),
            &a.subject,
            &a.rule,
        )
            .cmp(&(
                rank(b.kind),
                std::cmp::Reverse(b.severity),
                &b.subject,
                &b.rule,
            ))
    });
    out
}

/// Protected data at the quarter's start and end, and a quarter ahead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Capacity {
    pub start_bytes: i64,
    pub end_bytes: i64,
    /// Growth over the quarter (%), `None` from nothing.
    pub growth_percent: Option<f64>,
    /// `end` plus the quarter's growth rate carried on for `ahead_s`.
    pub projected_bytes: i64,
}

/// The growth of the protected data over `elapsed_s`, carried on for
/// `ahead_s` at the same rate (straight line: bytes a day).
pub fn capacity(start: i64, end: i64, elapsed_s: i64, ahead_s: i64) -> Capacity {
    let growth = end - start;
    let projected = if elapsed_s > 0 {
        end + (growth as f64 * ahead_s as f64 / elapsed_s as f64).round() as i64
    } else {
        end
    };
    Capacity {
        start_bytes: start,
        end_bytes: end,
        growth_percent: (start > 0).then(|| (growth as f64 * 1000.0 / start as f64).round() / 10.0),
        projected_bytes: projected.max(0),
    }
}

/// Bytes as a person reads them: `1.4 TB`, `820 GB` (decimal units, as
/// storage is sold).
pub fn bytes(n: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n.max(0) as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 || v >= 100.0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A whole number with thousands separators: `2,214`.
pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Targets = Targets {
        incident_rate: 3.0,
        task_compliance: 90.0,
        recovery_success: 90.0,
        sla_attainment: 90.0,
        aged_backlog: 5,
    };

    #[test]
    fn the_status_rules() {
        let base = StatusFacts {
            incident_rate: Some(2.0),
            expected: 100,
            ..Default::default()
        };
        let cases: Vec<(StatusFacts, Status, &str)> = vec![
            (base.clone(), Status::Green, "every target met"),
            (
                StatusFacts {
                    open_incidents: 2,
                    ..base.clone()
                },
                Status::Red,
                "2 incidents open",
            ),
            (
                StatusFacts {
                    tier1_rpo_breaches: 1,
                    ..base.clone()
                },
                Status::Red,
                "1 critical (tier-1) backup missed",
            ),
            (
                StatusFacts {
                    incident_rate: Some(6.1),
                    ..base.clone()
                },
                Status::Red,
                "more than twice the target",
            ),
            // exactly twice the target is amber (above target), not red
            (
                StatusFacts {
                    incident_rate: Some(6.0),
                    below_target: vec!["Backup Incident Rate".into()],
                    ..base.clone()
                },
                Status::Amber,
                "Backup Incident Rate below target",
            ),
            (
                StatusFacts {
                    high_undecided: 1,
                    ..base.clone()
                },
                Status::Amber,
                "1 high risk waiting",
            ),
            // an empty period is not a good one
            (
                StatusFacts {
                    expected: 0,
                    incident_rate: None,
                    ..base.clone()
                },
                Status::Amber,
                "nothing to judge",
            ),
        ];
        for (facts, want, reason) in cases {
            let (s, why) = status(&facts, &T);
            assert_eq!(s, want, "{facts:?}");
            assert!(why.join("; ").contains(reason), "{why:?}");
        }
    }

    #[test]
    fn sla_attainment_counts_what_people_resolved_and_what_is_past_due() {
        let (from, to) = (1_000, 2_000);
        let t = |due: i64, resolved: Option<i64>, cause: Option<&'static str>| SlaTicket {
            due_at: Some(due),
            resolved_at: resolved,
            cause,
            waiting_since: None,
        };
        let tickets = [
            t(1_500, Some(1_400), Some("network")),        // met
            t(1_500, Some(1_600), Some("media")),          // late
            t(1_500, Some(1_400), Some("auto-recovered")), // bmctl's: out
            t(1_500, Some(1_400), Some("superseded")),     // out
            t(1_500, None, None),                          // open, past due: missed
            t(2_500, None, None),                          // open, not due yet: out
            t(1_500, Some(2_100), Some("media")),          // resolved after the end: missed
            t(500, Some(900), Some("media")),              // resolved before: out
        ];
        let a = sla_attainment(&tickets, from, to);
        assert_eq!((a.met, a.missed), (1, 3));
        assert_eq!(a.percent, Some(25.0));
        // waiting on the client since before its due time: not missed
        let waiting = SlaTicket {
            waiting_since: Some(1_400),
            ..t(1_500, None, None)
        };
        assert_eq!(sla_attainment(&[waiting], from, to).missed, 0);
        let late_wait = SlaTicket {
            waiting_since: Some(1_600),
            ..t(1_500, None, None)
        };
        assert_eq!(sla_attainment(&[late_wait], from, to).missed, 1);
        assert_eq!(sla_attainment(&[], from, to).percent, None);
    }

    #[test]
    fn a_grid_cell_is_the_days_worst_outcome() {
        use Cell::*;
        let cases: [(bool, &[Cell], usize, usize, Cell); 8] = [
            (true, &[Failed], 1, 0, Pending),
            (false, &[Success, Warning], 2, 0, Warning),
            (false, &[Success, Failed, Warning], 3, 0, Failed),
            (false, &[Failed, Missed], 2, 0, Missed),
            (false, &[], 1, 0, Missed),
            (false, &[], 2, 2, Paused),
            (false, &[], 2, 1, Missed),
            (false, &[], 0, 0, NotExpected),
        ];
        for (pending, outcomes, expected, paused, want) in cases {
            assert_eq!(
                cell(pending, outcomes, expected, paused),
                want,
                "{outcomes:?}"
            );
        }
        assert_eq!(Cell::of_status("hung"), Some(Failed));
        assert_eq!(Cell::of_status("running"), None);
    }

    fn risk(rule: &'static str, severity: Severity, subject: &str, evidence: &str) -> Risk {
        Risk {
            rule,
            severity,
            client: "acme".into(),
            subject: subject.into(),
            evidence: evidence.into(),
            recommendation: "bmctl macd change --set retention=…".into(),
            measure: None,
            accepted: None,
        }
    }

    #[test]
    fn risks_become_one_row_per_rule_and_system_in_the_clients_words() {
        let risks = vec![
            risk("sla-breach", Severity::Medium, "#12", "ticket 12 late"),
            risk("sla-breach", Severity::Medium, "#13", "ticket 13 late"),
            risk(
                "retention-below-requirement",
                Severity::Medium,
                "fs01-nightly",
                "7 < 30 daily",
            ),
            risk(
                "retention-below-requirement",
                Severity::High,
                "fs01-nightly",
                "0 < 12 monthly",
            ),
            risk(
                "restore-test-overdue",
                Severity::High,
                "sql01-nightly",
                "never tested",
            ),
        ];
        let act = ActWithin {
            high_s: 14 * 86_400,
            medium_s: 30 * 86_400,
            low_s: 90 * 86_400,
        };
        let covered = [Covered {
            subject: "sql01-nightly".into(),
            assignee: Some("bob".into()),
            due_at: Some(5_000),
        }];
        let client = present(
            &risks,
            Audience::Client,
            Some("alice"),
            1_000,
            &act,
            &covered,
        );
        assert_eq!(client.len(), 2, "{client:#?}");
        let d = &client[0];
        assert_eq!((d.kind, d.severity), (Kind::Decision, Severity::High));
        assert_eq!(d.evidence.len(), 2);
        assert_eq!(d.title, "Backups are kept for less time than agreed");
        assert_eq!(d.choices.len(), 2);
        assert_eq!(
            (d.owner.as_str(), d.target_date),
            ("alice", 1_000 + 14 * 86_400)
        );
        let a = &client[1];
        assert_eq!(
            (a.kind, a.owner.as_str(), a.target_date),
            (Kind::Action, "bob", 5_000)
        );
        assert!(!a.action.contains("bmctl"));
        // the internal review keeps the chores, one row for the client's tickets
        let internal = present(&risks, Audience::Internal, None, 1_000, &act, &[]);
        assert_eq!(internal.len(), 3);
        let sla = internal.iter().find(|i| i.rule == "sla-breach").unwrap();
        assert_eq!((sla.subject.as_str(), sla.evidence.len()), ("acme", 2));
        assert_eq!(sla.owner, "Service desk");
    }

    #[test]
    fn capacity_carries_the_quarters_growth_on() {
        let c = capacity(1_000, 1_200, 90 * 86_400, 90 * 86_400);
        assert_eq!((c.growth_percent, c.projected_bytes), (Some(20.0), 1_400));
        let c = capacity(0, 500, 10, 20);
        assert_eq!((c.growth_percent, c.projected_bytes), (None, 1_500));
        assert_eq!(bytes(1_400_000_000_000), "1.4 TB");
        assert_eq!(bytes(820_000_000_000), "820 GB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(thousands(2214), "2,214");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn trends() {
        assert_eq!(Trend::of(Some(97.0), Some(95.3)), Trend::Up);
        assert_eq!(Trend::of(Some(95.0), Some(95.02)), Trend::Same);
        assert_eq!(Trend::of(Some(1.0), Some(2.0)), Trend::Down);
        assert_eq!(Trend::of(None, Some(2.0)), Trend::None);
    }
}
