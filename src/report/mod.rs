//! KPI arithmetic as pure functions over plain structs: compute here, print
//! elsewhere. Each formula is in its function's doc comment.

pub mod review;
pub mod risks;

use serde::Serialize;

pub use crate::domain::task::TaskOutcome;

/// Proactive Task Compliance inputs and result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Compliance {
    /// `null` where nothing was due.
    pub percent: Option<f64>,
    pub on_time: usize,
    pub due: usize,
    /// Of `due`: resolved after the due time, skipped (not as not-applicable), or still open.
    pub late: usize,
    pub skipped: usize,
    pub open: usize,
    /// Left out of both counts.
    pub not_applicable: usize,
}

/// Proactive Task Compliance = tasks due in P resolved at or before their due
/// time ÷ tasks due in P. Tasks skipped as not applicable are left out of
/// both; any other skip counts as not on time; so does a task still open.
/// Only tasks whose due time has passed by `now` count (a period that has not
/// ended is judged on what could already be late).
pub fn compliance(tasks: &[TaskOutcome], now: i64) -> Compliance {
    let mut c = Compliance {
        percent: None,
        on_time: 0,
        due: 0,
        late: 0,
        skipped: 0,
        open: 0,
        not_applicable: 0,
    };
    for t in tasks.iter().filter(|t| t.due_at <= now) {
        if t.status == "skipped" && t.not_applicable {
            c.not_applicable += 1;
            continue;
        }
        c.due += 1;
        match (t.status.as_str(), t.resolved_at) {
            ("resolved", Some(r)) if r <= t.due_at => c.on_time += 1,
            ("resolved", _) => c.late += 1,
            ("skipped", _) => c.skipped += 1,
            _ => c.open += 1,
        }
    }
    c.percent = percent(c.on_time, c.due);
    c
}

/// A percentage with one decimal, `None` for an empty denominator.
pub fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(due: i64, status: &str, resolved: Option<i64>, na: bool) -> TaskOutcome {
        TaskOutcome {
            due_at: due,
            status: status.into(),
            resolved_at: resolved,
            not_applicable: na,
        }
    }

    #[test]
    fn compliance_counts_on_time_late_skipped_and_not_applicable() {
        let tasks = [
            t(100, "resolved", Some(90), false),  // on time
            t(100, "resolved", Some(100), false), // on time: at the due time
            t(100, "resolved", Some(101), false), // late
            t(100, "skipped", Some(95), false),   // skipped: not on time
            t(100, "skipped", Some(95), true),    // not applicable: left out
            t(100, "open", None, false),          // still open past due
            t(500, "open", None, false),          // not yet due at now = 200
        ];
        let c = compliance(&tasks, 200);
        assert_eq!(
            (
                c.on_time,
                c.due,
                c.late,
                c.skipped,
                c.open,
                c.not_applicable
            ),
            (2, 5, 1, 1, 1, 1)
        );
        assert_eq!(c.percent, Some(40.0));
    }

    #[test]
    fn nothing_due_is_not_a_percentage() {
        assert_eq!(compliance(&[], 0).percent, None);
        assert_eq!(percent(2, 3), Some(66.7));
    }
}

/// Age buckets of the Aged Proactive Service Ticket Backlog, half-open:
/// [0, 1d), [1d, 3d), [3d, 7d), [7d, 14d), [14d, 30d), [30d, ∞).
pub const BUCKETS: [(&str, i64); 6] = [
    ("<1d", 86_400),
    ("1-3d", 3 * 86_400),
    ("3-7d", 7 * 86_400),
    ("7-14d", 14 * 86_400),
    ("14-30d", 30 * 86_400),
    (">30d", i64::MAX),
];

/// Aged Proactive Service Ticket Backlog: open proactive service tickets
/// (task, corrective, incident) at the end of P, by age since opened; the
/// headline counts those with age ≥ `aged_after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backlog {
    pub aged_after_days: f64,
    pub aged: usize,
    pub open: usize,
    pub buckets: buckets::Buckets,
}

pub mod buckets {
    //! The buckets as an ordered JSON object.
    use serde::ser::{Serialize, SerializeMap, Serializer};

    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Buckets(pub [usize; 6]);

    impl Serialize for Buckets {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(6))?;
            for (i, (name, _)) in super::BUCKETS.iter().enumerate() {
                m.serialize_entry(name, &self.0[i])?;
            }
            m.end()
        }
    }
}

/// `opened` are the opening instants of the tickets open at `end`.
pub fn backlog(opened: &[i64], end: i64, aged_after: i64) -> Backlog {
    let mut b = buckets::Buckets::default();
    let mut aged = 0;
    for o in opened {
        let age = (end - o).max(0);
        let i = BUCKETS
            .iter()
            .position(|(_, upper)| age < *upper)
            .unwrap_or(5);
        b.0[i] += 1;
        if age >= aged_after {
            aged += 1;
        }
    }
    Backlog {
        aged_after_days: aged_after as f64 / 86_400.0,
        aged,
        open: opened.len(),
        buckets: b,
    }
}

/// Backup Incident Rate = (occurrences failed + occurrences missed) ÷
/// occurrences expected in P, as a percentage; corrective tickets opened in
/// P are reported beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRate {
    pub percent: Option<f64>,
    pub failed: i64,
    pub missed: i64,
    pub expected: i64,
    pub corrective_opened: i64,
}

pub fn incident_rate(
    failed: i64,
    missed: i64,
    expected: i64,
    corrective_opened: i64,
) -> IncidentRate {
    IncidentRate {
        percent: percent((failed + missed) as usize, expected.max(0) as usize),
        failed,
        missed,
        expected,
        corrective_opened,
    }
}

pub use crate::domain::recovery::Attempt;

/// Recovery Issues = attempts ended in P with outcome failed or partial.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryIssues {
    pub count: usize,
    pub items: Vec<Attempt>,
}

pub fn recovery_issues(attempts: &[Attempt]) -> RecoveryIssues {
    let items: Vec<Attempt> = attempts
        .iter()
        .filter(|a| a.outcome != "success")
        .cloned()
        .collect();
    RecoveryIssues {
        count: items.len(),
        items,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub percent: Option<f64>,
    pub success: usize,
    pub total: usize,
}

/// Recovery Attempt Success Rate = attempts ended in P with outcome success
/// ÷ all attempts ended in P (tests and real restores, also shown apart).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RecoverySuccess {
    pub percent: Option<f64>,
    pub success: usize,
    pub total: usize,
    pub tests: Rate,
    pub real: Rate,
}

pub fn recovery_success(attempts: &[Attempt]) -> RecoverySuccess {
    let rate = |f: &dyn Fn(&Attempt) -> bool| {
        let total = attempts.iter().filter(|a| f(a)).count();
        let success = attempts
            .iter()
            .filter(|a| f(a) && a.outcome == "success")
            .count();
        Rate {
            percent: percent(success, total),
            success,
            total,
        }
    };
    let all = rate(&|_| true);
    RecoverySuccess {
        percent: all.percent,
        success: all.success,
        total: all.total,
        tests: rate(&|a| a.kind == "test"),
        real: rate(&|a| a.kind == "real"),
    }
}

#[cfg(test)]
mod kpi_tests {
    use super::*;

    #[test]
    fn backlog_buckets_are_half_open() {
        let d = 86_400;
        let end = 100 * d;
        let opened = [
            end,
            end - d + 1,
            end - d,
            end - 3 * d,
            end - 7 * d + 1,
            end - 7 * d,
            end - 30 * d,
            end - 45 * d,
        ];
        let b = backlog(&opened, end, 7 * d);
        assert_eq!(b.buckets.0, [2, 1, 2, 1, 0, 2]);
        assert_eq!(b.aged, 3);
        let json = serde_json::to_string(&b.buckets).unwrap();
        assert_eq!(
            json,
            r#"{"<1d":2,"1-3d":1,"3-7d":2,"7-14d":1,"14-30d":0,">30d":2}"#
        );
    }

    #[test]
    fn incident_rate_and_empty_denominators() {
        let r = incident_rate(12, 3, 790, 9);
        assert_eq!(r.percent, Some(1.9));
        assert_eq!(incident_rate(0, 0, 0, 0).percent, None);
        assert_eq!(recovery_success(&[]).percent, None);
    }

    #[test]
    fn recovery_rates_apart() {
        let a = |kind: &str, outcome: &str| Attempt {
            id: 1,
            client: "c".into(),
            job: "j".into(),
            kind: kind.into(),
            outcome: outcome.into(),
            ended_at: crate::domain::time::Ts(0),
            issues: None,
        };
        let all = [
            a("test", "success"),
            a("test", "failed"),
            a("real", "success"),
            a("test", "partial"),
        ];
        let r = recovery_success(&all);
        assert_eq!((r.success, r.total, r.percent), (2, 4, Some(50.0)));
        assert_eq!((r.tests.success, r.tests.total, r.real.total), (1, 3, 1));
        assert_eq!(recovery_issues(&all).count, 2);
    }
}
