//! Backup policies (jobs): what protects a CI, on which schedule, kept how long.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};

pub const TOOLS: &[&str] = &[
    "restic",
    "borg",
    "borgmatic",
    "bacula",
    "veeam",
    "pbs",
    "kopia",
    "synology",
    "wsb",
    "other",
];
pub const TARGETS: &[&str] = &["local", "offsite", "cloud", "immutable"];
pub const RESTORE_TESTS: &[&str] = &[
    "weekly",
    "monthly",
    "quarterly",
    "semiannual",
    "yearly",
    "never",
];

pub fn validate_choice(field: &str, value: &str, choices: &[&str]) -> Result<()> {
    if !choices.contains(&value) {
        bail!("{field} '{value}' is not one of {}", choices.join(", "));
    }
    Ok(())
}

/// Days between restore tests for a cadence; `None` for `never`.
pub fn restore_test_days(cadence: &str) -> Option<i64> {
    match cadence {
        "weekly" => Some(7),
        "monthly" => Some(31),
        "quarterly" => Some(92),
        "semiannual" => Some(183),
        "yearly" => Some(366),
        _ => None,
    }
}

/// A target that survives the loss of the site (3-2-1's "1").
pub fn is_offsite(target: &str) -> bool {
    matches!(target, "offsite" | "cloud" | "immutable")
}

/// How many snapshots of each period are kept (`keep daily 7, weekly 4, …`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yearly: Option<u32>,
}

impl Retention {
    fn fields(&self) -> [(&'static str, Option<u32>); 6] {
        [
            ("last", self.last),
            ("hourly", self.hourly),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    /// Keeps no snapshot at all: nothing set, or every count zero
    /// (`daily = 0` beside `weekly = 4` keeps the weeklies).
    pub fn keeps_nothing(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.unwrap_or(0) == 0)
    }

    /// Parse `daily=7,weekly=4,monthly=12` (the stored and command-line form).
    pub fn parse(text: &str) -> Result<Self> {
        let mut r = Retention::default();
        let mut seen = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| anyhow!("retention '{part}' must look like daily=7"))?;
            let n: u32 = value
                .trim()
                .parse()
                .map_err(|_| anyhow!("retention count '{value}' must be a whole number"))?;
            if seen.insert(key.trim().to_string(), n).is_some() {
                bail!("retention names '{key}' twice");
            }
            let slot = match key.trim() {
                "last" => &mut r.last,
                "hourly" => &mut r.hourly,
                "daily" => &mut r.daily,
                "weekly" => &mut r.weekly,
                "monthly" => &mut r.monthly,
                "yearly" => &mut r.yearly,
                other => bail!(
                    "retention period '{other}' is not one of last, hourly, daily, weekly, monthly, yearly"
                ),
            };
            *slot = Some(n);
        }
        if r.is_empty() {
            bail!("retention must keep something (e.g. daily=7,weekly=4,monthly=12)");
        }
        Ok(r)
    }

    /// What two policies of one CI keep together: the larger count of each period.
    pub fn merge(&self, other: &Retention) -> Retention {
        let max = |a: Option<u32>, b: Option<u32>| a.max(b);
        Retention {
            last: max(self.last, other.last),
            hourly: max(self.hourly, other.hourly),
            daily: max(self.daily, other.daily),
            weekly: max(self.weekly, other.weekly),
            monthly: max(self.monthly, other.monthly),
            yearly: max(self.yearly, other.yearly),
        }
    }

    /// The periods where this keeps fewer than `required` asks for.
    pub fn shortfalls(&self, required: &Retention) -> Vec<String> {
        self.fields()
            .iter()
            .zip(required.fields())
            .filter_map(|((name, have), (_, want))| match (have, want) {
                (_, None) => None,
                (Some(h), Some(w)) if *h >= w => None,
                (h, Some(w)) => Some(format!("{name} {} < {w}", h.unwrap_or(0))),
            })
            .collect()
    }
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .fields()
            .iter()
            .filter_map(|(k, v)| v.map(|n| format!("{k}={n}")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// A cron schedule, evaluated in a client's zone with Vixie-cron semantics
/// (day of month OR day of week) and croner's DST rules.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self> {
        let fields = text.split_whitespace().count();
        if fields != 5 && !text.trim_start().starts_with('@') {
            bail!("cron expression '{text}' must have 5 fields (minute hour day month weekday), it has {fields}");
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|e| anyhow!("cron expression '{text}' is invalid: {e}"))?;
        Ok(Schedule { cron })
    }

    /// [`Schedule::parse`], remembered per thread: an expression is parsed
    /// once however many policies and windows share it (parsing is costly).
    pub fn parse_cached(text: &str) -> Result<Self> {
        thread_local! {
            static PARSED: std::cell::RefCell<std::collections::HashMap<String, Schedule>> =
                std::cell::RefCell::new(std::collections::HashMap::new());
        }
        if let Some(s) = PARSED.with(|p| p.borrow().get(text).cloned()) {
            return Ok(s);
        }
        let s = Schedule::parse(text)?;
        PARSED.with(|p| p.borrow_mut().insert(text.to_string(), s.clone()));
        Ok(s)
    }

    /// The longest time between two runs over a year (a schedule's gaps
    /// vary with months, weekdays and DST), or `None` for one that never
    /// runs twice. Frequent schedules are sampled over their first 5,000 runs.
    pub fn longest_gap(&self, tz: Tz) -> Option<i64> {
        let start = super::time::from_unix(1_767_225_600); // 2026-01-01
        let end = super::time::from_unix(1_767_225_600 + 400 * 86_400);
        let runs = self.occurrences_at_most(start, end, tz, 5_000);
        runs.windows(2).map(|w| (w[1] - w[0]).num_seconds()).max()
    }

    /// The first occurrence strictly after `after`, in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The last occurrence strictly before `before`, in `tz`.
    pub fn prev_before(&self, before: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&before.with_timezone(&tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The window a run that started at `at` belongs to: `(lo, tk)` where
    /// `tk` is the first occurrence with `tk + grace >= at` and `lo` is the
    /// previous occurrence plus the grace (`(lo, tk + grace]`, DESIGN
    /// "Expected runs and missed runs").
    pub fn window_of(&self, at: i64, grace: i64, tz: Tz) -> Option<(i64, i64)> {
        let tk = self.next_after(super::time::from_unix(at - grace - 1), tz)?;
        let lo = self
            .prev_before(tk, tz)
            .map_or(i64::MIN / 2, |p| p.timestamp() + grace);
        Some((lo, tk.timestamp()))
    }

    /// Occurrences in `(from, to]`, in `tz`.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<DateTime<Utc>> {
        self.occurrences_at_most(from, to, tz, usize::MAX)
    }

    /// The first `max` of [`Schedule::occurrences`].
    pub fn occurrences_at_most(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        max: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = from;
        while out.len() < max {
            let Some(next) = self.next_after(cursor, tz) else {
                break;
            };
            if next > to {
                break;
            }
            out.push(next);
            cursor = next;
        }
        out
    }
}

impl FromStr for Schedule {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Schedule::parse(s)
    }
}

/// The optional rule that maps a tool's snapshots or archives to this policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A Bacula Director's name: with `bacula_job`, the key of a Bacula job
    /// (two Directors may both have a `BackupClient1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub director: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bacula_job: Option<String>,
    /// The tool's own name of the job (a mail rule's or JSON source's `job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl MatchRule {
    pub fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.tags.is_empty()
            && self.director.is_none()
            && self.bacula_job.is_none()
            && self.name.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::{parse_instant, parse_tz};

    #[test]
    fn the_longest_gap_of_a_schedule() {
        let utc = chrono_tz::UTC;
        let gap = |cron: &str| Schedule::parse(cron).unwrap().longest_gap(utc);
        assert_eq!(gap("0 22 * * *"), Some(86_400));
        assert_eq!(gap("0 3 * * 6"), Some(7 * 86_400));
        assert_eq!(gap("0 0 * * 1-5"), Some(3 * 86_400)); // Friday to Monday
        assert_eq!(gap("15 * * * *"), Some(3_600));
        // in Berlin the night of the autumn change is an hour longer
        let berlin = Schedule::parse("0 22 * * *")
            .unwrap()
            .longest_gap(chrono_tz::Europe::Berlin);
        assert_eq!(berlin, Some(86_400 + 3_600));
    }

    #[test]
    fn retention_round_trips_and_compares() {
        let r = Retention::parse("daily=7, weekly=4,monthly=12").unwrap();
        assert_eq!(r.to_string(), "daily=7,weekly=4,monthly=12");
        let need = Retention::parse("daily=14,weekly=4,yearly=1").unwrap();
        assert_eq!(r.shortfalls(&need), vec!["daily 7 < 14", "yearly 0 < 1"]);
        assert!(Retention::parse("fortnightly=2").is_err());
        assert!(Retention::parse("").is_err());
        assert!(Retention::parse("daily=x").is_err());
    }

    #[test]
    fn a_run_belongs_to_the_window_its_start_falls_in() {
        let s = Schedule::parse("0 22 * * *").unwrap();
        let tz = parse_tz("UTC").unwrap();
        let t = |x: &str| parse_instant(x).unwrap().timestamp();
        let grace = 3600;
        // (21:00 + grace of the day before, 22:00 + grace]
        for (at, tk) in [
            ("2026-11-02T22:30:00Z", "2026-11-02T22:00:00Z"),
            ("2026-11-02T23:00:00Z", "2026-11-02T22:00:00Z"),
            ("2026-11-02T23:00:01Z", "2026-11-03T22:00:00Z"),
            ("2026-11-02T03:00:00Z", "2026-11-02T22:00:00Z"),
        ] {
            let (lo, k) = s.window_of(t(at), grace, tz).unwrap();
            assert_eq!(k, t(tk), "{at}");
            assert!(lo < t(at) && t(at) <= k + grace, "{at}");
            assert_eq!(lo, k - 86_400 + grace);
        }
    }

    #[test]
    fn cron_rejects_bad_fields() {
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("0 22 * *").is_err());
        assert!(Schedule::parse("0 0 22 * * *").is_err());
        assert!(Schedule::parse("0 22 * * *").is_ok());
    }

    #[test]
    fn daily_schedule_across_dst_in_berlin() {
        let s = Schedule::parse("0 22 * * *").unwrap();
        let tz = parse_tz("Europe/Berlin").unwrap();
        let from = parse_instant("2026-10-23T12:00:00Z").unwrap();
        let to = parse_instant("2026-10-27T12:00:00Z").unwrap();
        let got: Vec<String> = s
            .occurrences(from, to, tz)
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2026-10-23T20:00",
                "2026-10-24T20:00",
                "2026-10-25T21:00",
                "2026-10-26T21:00"
            ]
        );
    }

    #[test]
    fn fixed_time_in_spring_gap_runs_at_gap_end_and_wildcards_skip() {
        let tz = parse_tz("Europe/Berlin").unwrap();
        let from = parse_instant("2026-03-28T12:00:00Z").unwrap();
        let to = parse_instant("2026-03-29T12:00:00Z").unwrap();
        let fixed = Schedule::parse("30 2 * * *")
            .unwrap()
            .occurrences(from, to, tz);
        assert_eq!(fixed.len(), 1);
        assert_eq!(fixed[0].to_rfc3339(), "2026-03-29T01:00:00+00:00");
        let hourly = Schedule::parse("30 * * * *").unwrap().occurrences(
            parse_instant("2026-03-29T00:00:00Z").unwrap(),
            parse_instant("2026-03-29T02:00:00Z").unwrap(),
            tz,
        );
        // 01:30 CET (00:30Z), then 03:30 CEST (01:30Z): the missing 02:30 is skipped.
        assert_eq!(hourly.len(), 2);
    }

    #[test]
    fn previous_occurrence() {
        let s = Schedule::parse("0 22 * * *").unwrap();
        let tz = parse_tz("Europe/Berlin").unwrap();
        let t = parse_instant("2026-10-25T21:00:00Z").unwrap();
        assert_eq!(
            s.prev_before(t, tz).unwrap().to_rfc3339(),
            "2026-10-24T20:00:00+00:00"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        let s = Schedule::parse("0 8 1 * 1").unwrap();
        let tz = parse_tz("UTC").unwrap();
        let occ = s.occurrences(
            parse_instant("2026-11-30T12:00:00Z").unwrap(),
            parse_instant("2026-12-15T00:00:00Z").unwrap(),
            tz,
        );
        // Dec 1 (day 1) and Mondays Dec 7 and Dec 14.
        assert_eq!(occ.len(), 3);
    }
}

/// A schedule that fits runs seen before a plan knew their job: from the
/// starts' typical interval (hourly, daily, weekly; else daily) and their
/// most common local minute, hour and weekday. `None` without two runs.
pub fn guess_schedule(starts: &[i64], tz: Tz) -> Option<String> {
    use chrono::{Datelike, Timelike};
    if starts.len() < 2 {
        return None;
    }
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    let mut gaps: Vec<i64> = sorted.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let gap = gaps[gaps.len() / 2];
    let local: Vec<_> = sorted
        .iter()
        .map(|t| super::time::from_unix(*t).with_timezone(&tz))
        .collect();
    let mode = |f: &dyn Fn(&chrono::DateTime<Tz>) -> u32| {
        let mut counts = std::collections::BTreeMap::new();
        for d in &local {
            *counts.entry(f(d)).or_insert(0usize) += 1;
        }
        // the most common; the smallest on a tie, so the guess is stable
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(v, _)| v)
            .unwrap_or(0)
    };
    let minute = mode(&|d| d.minute());
    let hour = mode(&|d| d.hour());
    Some(match gap {
        g if g <= 2 * 3_600 => format!("{minute} * * * *"),
        g if g >= 5 * 86_400 => format!(
            "{minute} {hour} * * {}",
            mode(&|d| d.weekday().num_days_from_sunday())
        ),
        _ => format!("{minute} {hour} * * *"),
    })
}

#[cfg(test)]
mod guess_tests {
    use super::*;

    #[test]
    fn a_schedule_is_guessed_from_the_runs() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        // nightly at 22:05 Berlin (21:05 UTC in winter), one run late
        let nightly = [
            at("2026-11-01T21:05:00Z"),
            at("2026-11-02T21:05:00Z"),
            at("2026-11-03T21:40:00Z"),
            at("2026-11-04T21:05:00Z"),
        ];
        assert_eq!(
            guess_schedule(&nightly, berlin).as_deref(),
            Some("5 22 * * *")
        );
        let hourly: Vec<i64> = (0..10)
            .map(|h| at("2026-11-01T00:15:00Z") + h * 3_600)
            .collect();
        assert_eq!(
            guess_schedule(&hourly, berlin).as_deref(),
            Some("15 * * * *")
        );
        // weekly on Sundays at 03:00 Berlin
        let weekly: Vec<i64> = (0..4)
            .map(|w| at("2026-11-01T02:00:00Z") + w * 7 * 86_400)
            .collect();
        assert_eq!(
            guess_schedule(&weekly, berlin).as_deref(),
            Some("0 3 * * 0")
        );
        assert_eq!(guess_schedule(&nightly[..1], berlin), None);
        // every guess is a schedule bmctl accepts
        for runs in [&nightly[..], &hourly[..], &weekly[..]] {
            let s = guess_schedule(runs, berlin).unwrap();
            assert!(Schedule::parse(&s).is_ok(), "{s}");
        }
    }
}
