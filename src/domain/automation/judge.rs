//! Per-policy judgement (plan keys, `macd change --set`): how many failed
//! or missed runs in a row open a ticket, whether a warning counts as a
//! success, and the small-backup check — a run whose source size falls
//! below a share of the median of its policy's earlier comparable runs.

use serde::{Deserialize, Serialize};

use crate::domain::event::Status;

/// How one policy's runs are judged. The default is bmctl's judgement
/// before these keys existed, plus the small-backup check at 50 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Judgement {
    /// Failed or missed occurrences in a row (in event time) that open a ticket.
    pub failures_before_ticket: i64,
    /// A warning is judged as a success: no warning ticket, and it clears.
    pub warning_is_success: bool,
    /// A run below this percentage of the median is suspiciously small (0: off).
    pub small_backup_pct: i64,
}

impl Default for Judgement {
    fn default() -> Self {
        Judgement {
            failures_before_ticket: 1,
            warning_is_success: false,
            small_backup_pct: 50,
        }
    }
}

/// Earlier comparable runs the median is taken over, and the fewest it needs.
pub const SIZE_WINDOW: usize = 14;
pub const SIZE_WINDOW_MIN: usize = 7;

impl Judgement {
    /// The status the automation judges a run by.
    pub fn judged(&self, status: Status) -> Status {
        match status {
            Status::Warning if self.warning_is_success => Status::Success,
            s => s,
        }
    }

    /// Parse `failures_before_ticket` (a whole number ≥ 1).
    pub fn parse_failures(text: &str) -> Result<i64, String> {
        match text.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(format!(
                "failures_before_ticket '{text}' must be a whole number from 1 to 100"
            )),
        }
    }

    /// Parse `small_backup` (`50%`, `50` or `off`).
    pub fn parse_small(text: &str) -> Result<i64, String> {
        let t = text.trim();
        if t == "off" {
            return Ok(0);
        }
        match t.trim_end_matches('%').trim().parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => Ok(n),
            _ => Err(format!(
                "small_backup '{text}' must be a percentage from 0 to 100 (e.g. 50%) or off"
            )),
        }
    }

    /// Parse `warning_is_success` (`true` or `false`).
    pub fn parse_bool(text: &str) -> Result<bool, String> {
        match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("warning_is_success '{text}' must be true or false")),
        }
    }

    /// The plan file's printed values, empty where the default holds.
    pub fn fields(&self) -> [(&'static str, String); 3] {
        let d = Judgement::default();
        let show = |differs: bool, v: String| if differs { v } else { String::new() };
        [
            (
                "failures_before_ticket",
                show(
                    self.failures_before_ticket != d.failures_before_ticket,
                    self.failures_before_ticket.to_string(),
                ),
            ),
            (
                "warning_is_success",
                show(
                    self.warning_is_success != d.warning_is_success,
                    self.warning_is_success.to_string(),
                ),
            ),
            (
                "small_backup",
                show(
                    self.small_backup_pct != d.small_backup_pct,
                    match self.small_backup_pct {
                        0 => "off".to_string(),
                        n => format!("{n}%"),
                    },
                ),
            ),
        ]
    }
}

/// A backup's level, where the tool has levels (Bacula): sizes are compared
/// only within one level (an incremental is small beside a full by design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Full,
    Incremental,
    Differential,
}

impl Level {
    pub fn code(self) -> char {
        match self {
            Level::Full => 'F',
            Level::Incremental => 'I',
            Level::Differential => 'D',
        }
    }

    pub fn from_code(c: char) -> Option<Level> {
        match c {
            'F' => Some(Level::Full),
            'I' => Some(Level::Incremental),
            'D' => Some(Level::Differential),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Full => "full",
            Level::Incremental => "incremental",
            Level::Differential => "differential",
        }
    }
}

/// The sizes of a policy's newest successful runs, per level (a run without
/// a level counts with the fulls: its size is its whole source), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SizeWindow {
    runs: Vec<(Level, i64, i64)>,
}

/// A run judged suspiciously small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Small {
    pub bytes: i64,
    pub median: i64,
    /// Earlier comparable runs the median is of.
    pub of: usize,
    pub pct: i64,
}

impl Small {
    pub fn describe(&self) -> String {
        format!(
            "suspiciously small backup: {} bytes, {} % of the median {} bytes of the {} runs before it (below {} %)",
            self.bytes,
            self.bytes.saturating_mul(100) / self.median.max(1),
            self.median,
            self.of,
            self.pct
        )
    }
}

impl SizeWindow {
    /// The stored form: `F1764547200:1048576,I…` (level, start, bytes).
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.runs.len() * 24);
        for (i, (level, at, bytes)) in self.runs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push(level.code());
            out.push_str(&format!("{at}:{bytes}"));
        }
        out
    }

    /// Read the stored form; what does not parse is dropped (a cache, not a fact).
    pub fn decode(text: &str) -> SizeWindow {
        let runs = text
            .split(',')
            .filter_map(|part| {
                let mut chars = part.chars();
                let level = Level::from_code(chars.next()?)?;
                let (at, bytes) = chars.as_str().split_once(':')?;
                Some((level, at.parse().ok()?, bytes.parse().ok()?))
            })
            .collect();
        SizeWindow { runs }
    }

    /// Judge a successful run of `bytes` that started at `at` against the
    /// runs of its level before it, then keep it. `pct` 0: only keep.
    pub fn judge_and_keep(
        &mut self,
        level: Option<Level>,
        at: i64,
        bytes: i64,
        pct: i64,
    ) -> Option<Small> {
        let level = level.unwrap_or(Level::Full);
        let mut earlier: Vec<i64> = self
            .runs
            .iter()
            .filter(|(l, t, _)| *l == level && *t < at)
            .map(|(_, _, b)| *b)
            .collect();
        let from = earlier.len().saturating_sub(SIZE_WINDOW);
        let earlier = &mut earlier[from..];
        let small = (pct > 0 && earlier.len() >= SIZE_WINDOW_MIN)
            .then(|| {
                earlier.sort_unstable();
                let n = earlier.len();
                let median = if n % 2 == 1 {
                    earlier[n / 2]
                } else {
                    (earlier[n / 2 - 1] + earlier[n / 2]) / 2
                };
                (median > 0 && (bytes as i128) * 100 < (median as i128) * pct as i128).then_some(
                    Small {
                        bytes,
                        median,
                        of: n,
                        pct,
                    },
                )
            })
            .flatten();
        self.keep(level, at, bytes);
        small
    }

    fn keep(&mut self, level: Level, at: i64, bytes: i64) {
        if self.runs.iter().any(|(l, t, _)| *l == level && *t == at) {
            return; // the same run again
        }
        let i = self.runs.partition_point(|(_, t, _)| *t <= at);
        self.runs.insert(i, (level, at, bytes));
        // the window of each level is its newest SIZE_WINDOW runs
        let count = self.runs.iter().filter(|(l, _, _)| *l == level).count();
        if count > SIZE_WINDOW {
            if let Some(oldest) = self.runs.iter().position(|(l, _, _)| *l == level) {
                self.runs.remove(oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(sizes: &[i64]) -> SizeWindow {
        let mut w = SizeWindow::default();
        for (i, b) in sizes.iter().enumerate() {
            w.judge_and_keep(None, i as i64 * 100, *b, 50);
        }
        w
    }

    #[test]
    fn a_run_below_the_share_of_the_median_is_small() {
        let ten = [1000; 10];
        for (bytes, small) in [(100, true), (499, true), (500, false), (800, false)] {
            let mut w = window(&ten);
            let got = w.judge_and_keep(None, 5_000, bytes, 50);
            assert_eq!(got.is_some(), small, "{bytes}");
        }
        let s = window(&ten).judge_and_keep(None, 5_000, 100, 50).unwrap();
        assert_eq!((s.median, s.of), (1000, 10));
        assert!(
            s.describe().contains("10 % of the median 1000"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn fewer_than_seven_earlier_runs_judge_nothing() {
        let mut w = window(&[1000; 6]);
        assert_eq!(w.judge_and_keep(None, 5_000, 1, 50), None);
        // the seventh earlier run is enough
        assert!(w.judge_and_keep(None, 6_000, 1, 50).is_some());
    }

    #[test]
    fn only_the_newest_fourteen_of_the_same_level_count() {
        // 14 recent runs of 1000 after old ones of 10,000
        let mut sizes = vec![10_000; 10];
        sizes.extend([1000; 14]);
        let mut w = window(&sizes);
        assert_eq!(w.judge_and_keep(None, 99_999, 600, 50), None);
        assert_eq!(w.runs.len(), 14);
        // an incremental is never compared with fulls
        let mut w = window(&[1000; 10]);
        for i in 0..10 {
            assert_eq!(
                w.judge_and_keep(Some(Level::Incremental), 10_000 + i, 10, 50),
                None
            );
        }
        assert!(w
            .judge_and_keep(Some(Level::Incremental), 20_000, 1, 50)
            .is_some());
    }

    #[test]
    fn a_run_is_judged_by_the_runs_before_it_in_event_time() {
        // a late run (older than the window's newest) sees only older runs
        let mut w = window(&[1000; 7]);
        assert_eq!(w.judge_and_keep(None, -1, 1, 50), None);
        // arrival order does not change the kept window
        let mut a = SizeWindow::default();
        let mut b = SizeWindow::default();
        for i in 0..20 {
            a.judge_and_keep(None, i, 1000 + i, 50);
            b.judge_and_keep(None, 19 - i, 1000 + 19 - i, 50);
        }
        assert_eq!(a, b);
        assert_eq!(SizeWindow::decode(&a.encode()), a);
        // the same run again is kept once
        a.judge_and_keep(None, 19, 1019, 50);
        assert_eq!(a.runs.len(), 14);
    }

    #[test]
    fn off_keeps_but_never_judges() {
        let mut w = window(&[1000; 10]);
        assert_eq!(w.judge_and_keep(None, 5_000, 1, 0), None);
    }

    #[test]
    fn the_keys_parse_and_print() {
        assert_eq!(Judgement::parse_small("50%"), Ok(50));
        assert_eq!(Judgement::parse_small("off"), Ok(0));
        assert!(Judgement::parse_small("150%").is_err());
        assert_eq!(Judgement::parse_failures("3"), Ok(3));
        assert!(Judgement::parse_failures("0").is_err());
        assert!(Judgement::parse_bool("yes").is_err());
        let j = Judgement {
            failures_before_ticket: 3,
            ..Judgement::default()
        };
        assert_eq!(j.fields()[0].1, "3");
        assert_eq!(j.fields()[2].1, "");
        assert_eq!(
            Judgement {
                warning_is_success: true,
                ..j
            }
            .judged(Status::Warning),
            Status::Success
        );
        assert_eq!(j.judged(Status::Warning), Status::Warning);
    }
}
