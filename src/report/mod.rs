//! KPI arithmetic as pure functions over plain structs: compute here, print
//! elsewhere. Each formula is in its function's doc comment.

use serde::Serialize;

/// What compliance needs of one task ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    pub due_at: i64,
    pub status: String,
    pub resolved_at: Option<i64>,
    pub not_applicable: bool,
}

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
