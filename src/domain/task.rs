//! Recurring proactive tasks (05f.01): templates and when their occurrences
//! come due. An occurrence at `t` is due at `t + due offset` and is created by
//! the first `tasks generate` at or after `t − lead time`.

use anyhow::{bail, Result};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::policy::Schedule;
use super::time::from_unix;

pub const SCOPES: &[&str] = &["client", "ci", "policy"];
pub const CADENCE_KINDS: &[&str] = &["cron", "after_completion", "restore_test"];

/// A task template as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub description: String,
    pub checklist: Vec<String>,
    pub cadence_kind: String,
    pub cadence: String,
    pub scope: String,
    pub client: Option<String>,
    pub filter_tier: Option<i64>,
    pub filter_kind: Option<String>,
    pub filter_tool: Option<String>,
    pub due_offset_s: i64,
    pub lead_time_s: i64,
    pub catch_up: String,
    pub status: String,
    pub created_at: i64,
}

impl Template {
    /// Check what the database constraints cannot: the cadence parses.
    pub fn validate(&self) -> Result<()> {
        super::client::validate_slug("template name", &self.name)?;
        if self.title.trim().is_empty() {
            bail!("a template needs a title");
        }
        match self.cadence_kind.as_str() {
            "cron" => {
                Schedule::parse(&self.cadence)?;
            }
            "after_completion" => {
                let days: i64 = self.cadence.parse().map_err(|_| {
                    anyhow::anyhow!("cadence '{}' must be a number of days", self.cadence)
                })?;
                if days < 1 {
                    bail!("cadence must be at least 1 day");
                }
            }
            "restore_test" => {}
            other => bail!(
                "cadence kind '{other}' is not one of {}",
                CADENCE_KINDS.join(", ")
            ),
        }
        if !SCOPES.contains(&self.scope.as_str()) {
            bail!("scope '{}' is not one of {}", self.scope, SCOPES.join(", "));
        }
        if !["latest", "all"].contains(&self.catch_up.as_str()) {
            bail!("catch_up '{}' is not latest or all", self.catch_up);
        }
        Ok(())
    }
}

/// The cron schedule of a policy's restore-test cadence (09:00 local).
pub fn restore_test_schedule(cadence: &str) -> Option<Schedule> {
    let cron = match cadence {
        "weekly" => "0 9 * * 1",
        "monthly" => "0 9 1 * *",
        "quarterly" => "0 9 1 1,4,7,10 *",
        "semiannual" => "0 9 1 1,7 *",
        "yearly" => "0 9 1 1 *",
        _ => return None,
    };
    Schedule::parse(cron).ok()
}

/// The most occurrences one generation looks at for one item (a guard
/// against an every-minute cron over a long gap).
const MAX_SCAN: usize = 100_000;

/// Occurrences after `after` whose creation time (`t − lead`) is at or before
/// `until`; with `latest` only the newest of them.
pub fn due_occurrences(
    schedule: &Schedule,
    tz: Tz,
    after: i64,
    until: i64,
    lead: i64,
    catch_up: &str,
) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cursor = from_unix(after);
    while let Some(t) = schedule.next_after(cursor, tz) {
        let ts = t.timestamp();
        if ts - lead > until || out.len() >= MAX_SCAN {
            break;
        }
        out.push(ts);
        cursor = t;
    }
    if catch_up == "latest" && out.len() > 1 {
        out.drain(..out.len() - 1);
    }
    out
}

/// What compliance needs of one task ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    pub due_at: i64,
    pub status: String,
    pub resolved_at: Option<i64>,
    pub not_applicable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::{parse_instant, parse_tz, rfc3339};

    fn ts(s: &str) -> i64 {
        parse_instant(s).unwrap().timestamp()
    }

    #[test]
    fn weekday_mornings_in_berlin_across_both_dst_changes() {
        let s = Schedule::parse("0 8 * * 1-5").unwrap();
        let tz = parse_tz("Europe/Berlin").unwrap();
        let spring = due_occurrences(
            &s,
            tz,
            ts("2026-03-26T12:00:00Z"),
            ts("2026-03-31T12:00:00Z"),
            0,
            "all",
        );
        let got: Vec<String> = spring.iter().map(|t| rfc3339(*t)).collect();
        // Fri 27 (CET), Mon 30 and Tue 31 (CEST): the weekend of the change has none
        assert_eq!(
            got,
            [
                "2026-03-27T07:00:00Z",
                "2026-03-30T06:00:00Z",
                "2026-03-31T06:00:00Z"
            ]
        );
        let autumn = due_occurrences(
            &s,
            tz,
            ts("2026-10-22T12:00:00Z"),
            ts("2026-10-27T12:00:00Z"),
            0,
            "all",
        );
        let got: Vec<String> = autumn.iter().map(|t| rfc3339(*t)).collect();
        assert_eq!(
            got,
            [
                "2026-10-23T06:00:00Z",
                "2026-10-26T07:00:00Z",
                "2026-10-27T07:00:00Z"
            ]
        );
    }

    #[test]
    fn catch_up_latest_or_all_after_a_gap() {
        let s = Schedule::parse("0 8 * * *").unwrap();
        let tz = parse_tz("UTC").unwrap();
        let all = due_occurrences(
            &s,
            tz,
            ts("2026-11-20T09:00:00Z"),
            ts("2026-11-30T09:00:00Z"),
            0,
            "all",
        );
        assert_eq!(all.len(), 10);
        let latest = due_occurrences(
            &s,
            tz,
            ts("2026-11-20T09:00:00Z"),
            ts("2026-11-30T09:00:00Z"),
            0,
            "latest",
        );
        assert_eq!(latest, vec![ts("2026-11-30T08:00:00Z")]);
        // lead time: tomorrow's occurrence is created a day ahead
        let ahead = due_occurrences(
            &s,
            tz,
            ts("2026-11-30T08:00:00Z"),
            ts("2026-11-30T09:00:00Z"),
            86_400,
            "all",
        );
        assert_eq!(ahead, vec![ts("2026-12-01T08:00:00Z")]);
    }

    #[test]
    fn day_31_runs_only_in_months_that_have_one_and_l_means_the_last_day() {
        let tz = parse_tz("UTC").unwrap();
        let from = ts("2026-01-01T00:00:00Z");
        let to = ts("2026-12-31T23:00:00Z");
        let d31 = due_occurrences(
            &Schedule::parse("0 9 31 * *").unwrap(),
            tz,
            from,
            to,
            0,
            "all",
        );
        assert_eq!(d31.len(), 7); // Jan, Mar, May, Jul, Aug, Oct, Dec
        let last = due_occurrences(
            &Schedule::parse("0 9 L * *").unwrap(),
            tz,
            from,
            to,
            0,
            "all",
        );
        let got: Vec<String> = last.iter().take(2).map(|t| rfc3339(*t)).collect();
        assert_eq!(last.len(), 12);
        assert_eq!(got, ["2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z"]);
    }

    #[test]
    fn restore_test_cadences() {
        assert!(restore_test_schedule("never").is_none());
        let tz = parse_tz("UTC").unwrap();
        let q = restore_test_schedule("quarterly").unwrap();
        let n = due_occurrences(
            &q,
            tz,
            ts("2026-01-01T10:00:00Z"),
            ts("2027-01-01T10:00:00Z"),
            0,
            "all",
        );
        assert_eq!(n.len(), 4);
    }
}
