//! `check`'s judgement of a policy's closed windows (DESIGN, "Expected runs
//! and missed runs"): occurrence tₖ's window is (tₖ₋₁ + grace, tₖ + grace];
//! a closed window with no run in it and no run still going is missed. A
//! run going past its max runtime is hung; a restore point older than the
//! RPO plus the grace is a breach. Pure: `ops::check` reads the runs.

use crate::domain::event::Status;

/// The window of occurrence `tk` after occurrence `prev`: `(lo, hi]`.
pub fn window(prev: Option<i64>, tk: i64, grace_s: i64) -> (i64, i64) {
    (prev.map_or(i64::MIN / 2, |t| t + grace_s), tk + grace_s)
}

/// What a closed window held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Inside a pause: not an expected run, not in the incident rate.
    Paused,
    /// Its best run.
    Ran(Status),
    /// No run ended in it, but one that started in it is still going within
    /// its max runtime: judged when it ends (or outlives the runtime).
    Going,
    /// A run that started in it is still going past its max runtime: a
    /// failed occurrence (provisional: its end re-judges it).
    Hung,
    /// Nothing: a missed event.
    Missed,
}

/// What a window that closed is, at `now`: `best` is the best outcome of
/// the runs that ended in it, `started` when a run still going started in it.
pub fn judge(
    paused: bool,
    best: Option<Status>,
    started: Option<i64>,
    now: i64,
    max_runtime_s: i64,
) -> Verdict {
    match (paused, best, started) {
        (true, _, _) => Verdict::Paused,
        (false, Some(s), _) => Verdict::Ran(s),
        (false, None, Some(s)) if now - s <= max_runtime_s => Verdict::Going,
        (false, None, Some(_)) => Verdict::Hung,
        (false, None, None) => Verdict::Missed,
    }
}

impl Verdict {
    /// The occurrence it counts as in the rollups (`None`: not counted yet).
    pub fn occurrence(self) -> Option<Status> {
        match self {
            Verdict::Ran(s) => Some(s),
            Verdict::Hung => Some(Status::Failed),
            Verdict::Missed => Some(Status::Missed),
            Verdict::Paused | Verdict::Going => None,
        }
    }
}

/// Whether a run started at `started` is hung at `now`.
pub fn is_hung(started: i64, now: i64, max_runtime_s: i64) -> bool {
    now - started > max_runtime_s
}

/// The RPO clock of a policy: its newest restore point (else its creation),
/// restarted at the end of a pause. `Some(since)` when the gap to `now` is
/// longer than the RPO plus the grace (a nightly job with a 24 h RPO is not
/// in breach while tonight's run is under way).
pub fn rpo_breach(
    last_success: Option<i64>,
    created: i64,
    pause_end: Option<i64>,
    now: i64,
    rpo_s: i64,
    grace_s: i64,
) -> Option<i64> {
    let since = last_success
        .unwrap_or(created)
        .max(pause_end.unwrap_or(i64::MIN));
    (now - since > rpo_s + grace_s).then_some(since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    const H: i64 = 3_600;

    #[test]
    fn windows_run_from_grace_after_one_occurrence_to_grace_after_the_next() {
        assert_eq!(window(Some(10 * H), 34 * H, H), (11 * H, 35 * H));
        // the first window has no start
        assert_eq!(window(None, 34 * H, H).1, 35 * H);
        assert!(window(None, 34 * H, H).0 < -1_000_000_000);
    }

    #[test]
    fn a_closed_window_is_judged_by_its_runs_pauses_and_runs_going() {
        let now = 100 * H;
        let max = 12 * H;
        type Case<'a> = (
            &'a str,
            bool,
            Option<Status>,
            Option<i64>,
            Verdict,
            Option<Status>,
        );
        #[rustfmt::skip]
        let table: &[Case] = &[
            ("a pause wins over everything",   true,  Some(Failed), None,                Verdict::Paused,       None),
            ("the best run decides",           false, Some(Warning), Some(now - H),      Verdict::Ran(Warning), Some(Warning)),
            ("a failure is a failure",         false, Some(Failed), None,                Verdict::Ran(Failed),  Some(Failed)),
            ("nothing: missed",                false, None,         None,                Verdict::Missed,       Some(Missed)),
            ("going within its runtime: wait", false, None,         Some(now - max),     Verdict::Going,        None),
            ("one second past it: hung",       false, None,         Some(now - max - 1), Verdict::Hung,         Some(Failed)),
        ];
        for (case, paused, best, started, verdict, occ) in table {
            let v = judge(*paused, *best, *started, now, max);
            assert_eq!(v, *verdict, "{case}");
            assert_eq!(v.occurrence(), *occ, "{case}");
        }
        assert!(!is_hung(now - max, now, max));
        assert!(is_hung(now - max - 1, now, max));
    }

    #[test]
    fn the_rpo_clock_runs_from_the_newest_restore_point_or_a_pause_end() {
        let (rpo, grace) = (24 * H, H);
        let now = 1_000 * H;
        type Case<'a> = (&'a str, Option<i64>, i64, Option<i64>, Option<i64>);
        #[rustfmt::skip]
        let table: &[Case] = &[
            ("within RPO + grace",              Some(now - 25 * H),     0, None,                 None),
            ("one second past it",              Some(now - 25 * H - 1), 0, None,                 Some(now - 25 * H - 1)),
            ("never a restore point: creation", None,          now - 30 * H, None,               Some(now - 30 * H)),
            ("a pause's end restarts it",       Some(now - 40 * H),     0, Some(now - 2 * H),    None),
            ("an older pause does not",         Some(now - 40 * H),     0, Some(now - 50 * H),   Some(now - 40 * H)),
        ];
        for (case, last, created, pause_end, want) in table {
            assert_eq!(
                rpo_breach(*last, *created, *pause_end, now, rpo, grace),
                *want,
                "{case}"
            );
        }
    }
}
