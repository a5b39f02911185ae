//! The automation's rules: how a backup run moves its policy's state and
//! which problem that raises or clears (here), and what that does to the
//! policy's tickets ([`tickets`]). Pure: `ops` reads the state and the
//! tickets, applies runs here in event-time order and writes the effects
//! through the store.

use super::event::Status;

pub mod judge;
pub mod tickets;
pub mod windows;

/// The live state of a policy that ingest and `check` keep up to date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyState {
    pub last_event_at: Option<i64>,
    /// The newest restore point, dated at its run's start.
    pub last_success_at: Option<i64>,
    pub last_status: Option<Status>,
    /// Failed or missed runs in a row.
    pub consecutive_failures: i64,
    pub consecutive_warnings: i64,
    pub running_since: Option<i64>,
    /// The end of the last window `check` closed.
    pub checked_until: Option<i64>,
}

pub use crate::domain::ticket::ProblemClass;

/// The thresholds of the ticket rules (`[tickets]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failed or missed runs in a row that make a ticket an incident.
    pub escalate_after: i64,
    /// Warnings in a row that open a warning ticket.
    pub warnings_before: i64,
    /// The policy's failed or missed runs in a row that open a ticket
    /// (`failures_before_ticket`); escalation counts from that opening.
    pub failures_before: i64,
}

impl Thresholds {
    /// Whether `in_a_row` failed or missed runs escalate the ticket.
    pub fn escalates(&self, in_a_row: i64) -> bool {
        in_a_row >= self.failures_before.max(1) - 1 + self.escalate_after
    }
}

/// What a backup run did to its policy's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An older run arriving late: history, not news.
    Late,
    Good,
    Warning {
        in_a_row: i64,
    },
    Bad {
        class: ProblemClass,
        in_a_row: i64,
    },
}

/// A problem a step raises: its ticket class, and what the work log says
/// of it (the run itself is described by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raise {
    pub class: ProblemClass,
    /// A warning ticket: the warnings in a row.
    pub warnings_in_a_row: Option<i64>,
    /// Escalate the ticket to an incident: the failed or missed runs in a row.
    pub escalate_after: Option<i64>,
}

impl PolicyState {
    /// Move the state by one backup run that started (or, without a start,
    /// ended) at `at`.
    pub fn apply_run(&mut self, at: i64, status: Status) -> Step {
        if self.last_event_at.is_some_and(|last| at < last) {
            return Step::Late;
        }
        self.last_event_at = Some(at);
        self.last_status = Some(status);
        match status {
            Status::Success | Status::Warning => {
                // a snapshot was made either way: a restore point for the
                // RPO, dated at its start (the snapshot's point in time)
                self.last_success_at = Some(self.last_success_at.unwrap_or(at).max(at));
                self.consecutive_failures = 0;
                if status == Status::Success {
                    self.consecutive_warnings = 0;
                    Step::Good
                } else {
                    self.consecutive_warnings += 1;
                    Step::Warning {
                        in_a_row: self.consecutive_warnings,
                    }
                }
            }
            Status::Failed | Status::Missed => {
                self.consecutive_failures += 1;
                self.consecutive_warnings = 0;
                Step::Bad {
                    class: if status == Status::Failed {
                        ProblemClass::Failed
                    } else {
                        ProblemClass::Missed
                    },
                    in_a_row: self.consecutive_failures,
                }
            }
        }
    }
}

impl Step {
    /// The step that left a policy in `st` (its newest run's).
    pub fn of_state(st: &PolicyState) -> Step {
        match st.last_status {
            None | Some(Status::Success) => Step::Good,
            Some(Status::Warning) => Step::Warning {
                in_a_row: st.consecutive_warnings,
            },
            Some(Status::Failed) => Step::Bad {
                class: ProblemClass::Failed,
                in_a_row: st.consecutive_failures,
            },
            Some(Status::Missed) => Step::Bad {
                class: ProblemClass::Missed,
                in_a_row: st.consecutive_failures,
            },
        }
    }

    /// Whether the run made a restore point (and was not older than the newest).
    pub fn is_restore_point(self) -> bool {
        matches!(self, Step::Good | Step::Warning { .. })
    }

    /// The classes of open problems this run clears.
    pub fn clears(self) -> &'static [ProblemClass] {
        use ProblemClass::*;
        match self {
            Step::Good => &[Failed, Missed, Hung, Warning, Rpo],
            // a snapshot was made: not hung, and a restore point for the RPO
            Step::Warning { .. } => &[Hung, Rpo],
            Step::Late | Step::Bad { .. } => &[],
        }
    }

    /// The problem this step raises under `t`.
    pub fn problem(self, t: &Thresholds) -> Option<Raise> {
        match self {
            Step::Warning { in_a_row } if in_a_row >= t.warnings_before => Some(Raise {
                class: ProblemClass::Warning,
                warnings_in_a_row: Some(in_a_row),
                escalate_after: None,
            }),
            Step::Bad { class, in_a_row } if in_a_row >= t.failures_before => Some(Raise {
                class,
                warnings_in_a_row: None,
                escalate_after: t.escalates(in_a_row).then_some(in_a_row),
            }),
            _ => None,
        }
    }
}

/// What a history import leaves to the ticket automation of one policy:
/// only its newest runs speak (a problem a later run of the import cleared
/// gets no ticket). `backup` is the step of the policy's newest backup run
/// when that run came with the import; `check` the status of its newest
/// integrity check that did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryVerdict {
    /// The classes of open problems the newest runs clear.
    pub clears: Vec<ProblemClass>,
    /// The problems they leave open, backup first.
    pub raises: Vec<Raise>,
}

pub fn judge_history(
    backup: Option<Step>,
    check: Option<Status>,
    t: &Thresholds,
) -> HistoryVerdict {
    let mut v = HistoryVerdict::default();
    if let Some(step) = backup {
        v.clears.extend_from_slice(step.clears());
        v.raises.extend(step.problem(t));
    }
    match check {
        Some(Status::Failed | Status::Missed) => v.raises.push(Raise {
            class: ProblemClass::Integrity,
            warnings_in_a_row: None,
            escalate_after: None,
        }),
        Some(_) => v.clears.push(ProblemClass::Integrity),
        None => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::ProblemClass::*;
    use super::*;

    const T: Thresholds = Thresholds {
        escalate_after: 3,
        warnings_before: 3,
        failures_before: 1,
    };

    /// `failures_before_ticket = 3`: the third failed or missed run in a
    /// row opens the ticket; escalation (after 3) counts from that opening.
    #[test]
    fn a_policy_may_wait_for_failures_in_a_row() {
        let t = Thresholds {
            failures_before: 3,
            ..T
        };
        let table: &[(&str, Option<Raise>)] = &[
            ("F", None),
            ("FF", None),
            ("FFM", Some(raise(Missed, None, None))),
            ("FFMF", Some(raise(Failed, None, None))),
            ("FFMFF", Some(raise(Failed, None, Some(5)))),
            ("FFSF", None),
            ("FFWF", None),
        ];
        for (runs, want) in table {
            let mut st = PolicyState::default();
            let mut last = None;
            for (i, c) in runs.chars().enumerate() {
                last = Some(st.apply_run(i as i64 * 3600, run(&c.to_string())));
            }
            assert_eq!(last.unwrap().problem(&t), *want, "{runs}");
        }
    }

    fn run(s: &str) -> Status {
        match s {
            "S" => Status::Success,
            "W" => Status::Warning,
            "F" => Status::Failed,
            "M" => Status::Missed,
            other => panic!("no status {other}"),
        }
    }

    /// Runs an hour apart from a fresh policy: the last step, what it
    /// raises, and the counters it leaves.
    #[test]
    fn runs_move_the_state_and_raise_by_the_rules() {
        #[rustfmt::skip]
        let table: &[(&str, Step, Option<Raise>, i64, i64)] = &[
            // runs     last step                                   raises                                    fails warns
            ("S",       Step::Good,                                 None,                                     0, 0),
            ("F",       Step::Bad { class: Failed, in_a_row: 1 },   Some(raise(Failed, None, None)),          1, 0),
            ("M",       Step::Bad { class: Missed, in_a_row: 1 },   Some(raise(Missed, None, None)),          1, 0),
            ("FF",      Step::Bad { class: Failed, in_a_row: 2 },   Some(raise(Failed, None, None)),          2, 0),
            // the N-th failed or missed run in a row escalates, and each after it
            ("FMF",     Step::Bad { class: Failed, in_a_row: 3 },   Some(raise(Failed, None, Some(3))),       3, 0),
            ("FFFM",    Step::Bad { class: Missed, in_a_row: 4 },   Some(raise(Missed, None, Some(4))),       4, 0),
            // a success or a warning breaks the streak
            ("FFSF",    Step::Bad { class: Failed, in_a_row: 1 },   Some(raise(Failed, None, None)),          1, 0),
            ("FFWF",    Step::Bad { class: Failed, in_a_row: 1 },   Some(raise(Failed, None, None)),          1, 0),
            // warnings: a ticket from the N-th in a row, not before
            ("WW",      Step::Warning { in_a_row: 2 },              None,                                     0, 2),
            ("WWW",     Step::Warning { in_a_row: 3 },              Some(raise(Warning, Some(3), None)),      0, 3),
            ("WWWW",    Step::Warning { in_a_row: 4 },              Some(raise(Warning, Some(4), None)),      0, 4),
            // a warning after failures: the failures end, the warnings start
            ("FFW",     Step::Warning { in_a_row: 1 },              None,                                     0, 1),
            // a failure or a success ends the warnings
            ("WWF",     Step::Bad { class: Failed, in_a_row: 1 },   Some(raise(Failed, None, None)),          1, 0),
            ("WWS",     Step::Good,                                 None,                                     0, 0),
        ];
        for (runs, step, raises, fails, warns) in table {
            let mut st = PolicyState::default();
            let mut last = Step::Late;
            for (i, s) in runs.chars().enumerate() {
                last = st.apply_run(1_000 + i as i64 * 3_600, run(&s.to_string()));
            }
            assert_eq!(last, *step, "{runs}");
            assert_eq!(last.problem(&T), *raises, "{runs}");
            assert_eq!(
                (st.consecutive_failures, st.consecutive_warnings),
                (*fails, *warns),
                "{runs}"
            );
            assert_eq!(
                Step::of_state(&st),
                *step,
                "{runs}: the state says the same"
            );
        }
    }

    fn raise(class: ProblemClass, warnings: Option<i64>, escalate: Option<i64>) -> Raise {
        Raise {
            class,
            warnings_in_a_row: warnings,
            escalate_after: escalate,
        }
    }

    #[test]
    fn a_run_older_than_the_newest_is_history() {
        let mut st = PolicyState::default();
        st.apply_run(10_000, Status::Failed);
        let before = st;
        assert_eq!(st.apply_run(9_999, Status::Success), Step::Late);
        assert_eq!(st, before, "a late run moves nothing");
        assert_eq!(Step::Late.problem(&T), None);
        assert!(Step::Late.clears().is_empty());
        // the same instant is not older
        assert_eq!(st.apply_run(10_000, Status::Success), Step::Good);
    }

    #[test]
    fn restore_points_are_dated_at_their_start_and_only_move_forward() {
        let mut st = PolicyState::default();
        st.apply_run(5_000, Status::Warning);
        assert_eq!(st.last_success_at, Some(5_000));
        st.apply_run(6_000, Status::Failed);
        assert_eq!(st.last_success_at, Some(5_000), "a failure makes none");
        st.apply_run(7_000, Status::Success);
        assert_eq!(st.last_success_at, Some(7_000));
        assert!(Step::Good.is_restore_point());
        assert!(Step::Warning { in_a_row: 1 }.is_restore_point());
        assert!(!Step::Bad {
            class: Failed,
            in_a_row: 1
        }
        .is_restore_point());
    }

    #[test]
    fn what_each_step_clears() {
        assert_eq!(Step::Good.clears(), &[Failed, Missed, Hung, Warning, Rpo]);
        // a warning made a snapshot: not hung, a restore point; not a success
        assert_eq!(Step::Warning { in_a_row: 5 }.clears(), &[Hung, Rpo]);
        assert!(Step::Bad {
            class: Missed,
            in_a_row: 1
        }
        .clears()
        .is_empty());
        // integrity problems are cleared by a good check, never by a backup
        for s in [Step::Good, Step::Warning { in_a_row: 1 }] {
            assert!(!s.clears().contains(&Integrity));
        }
    }

    #[test]
    fn thresholds_of_one_raise_at_once() {
        let t = Thresholds {
            escalate_after: 1,
            warnings_before: 1,
            failures_before: 1,
        };
        let mut st = PolicyState::default();
        let s = st.apply_run(1, Status::Warning);
        assert_eq!(s.problem(&t), Some(raise(Warning, Some(1), None)));
        let s = st.apply_run(2, Status::Missed);
        assert_eq!(s.problem(&t), Some(raise(Missed, None, Some(1))));
    }

    #[test]
    fn a_history_import_raises_only_what_its_newest_runs_leave_wrong() {
        let of = |runs: &str| {
            let mut st = PolicyState::default();
            let mut last = Step::Late;
            for (i, s) in runs.chars().enumerate() {
                last = st.apply_run(1_000 + i as i64 * 3_600, run(&s.to_string()));
            }
            last
        };
        let failed3 = raise(Failed, None, Some(3));
        let integrity = raise(Integrity, None, None);
        type Case<'a> = (&'a str, Option<Status>, &'a [ProblemClass], Vec<Raise>);
        #[rustfmt::skip]
        let table: &[Case] = &[
            // failures a later success cleared: nothing raised, all cleared
            ("FFFS",  None,                  &[Failed, Missed, Hung, Warning, Rpo], vec![]),
            // still failing at the end: one ticket, escalated at the N-th
            ("SFFF",  None,                  &[],                                   vec![failed3]),
            ("SF",    None,                  &[],                                   vec![raise(Failed, None, None)]),
            // warnings: a ticket from the N-th in a row; fewer clear what a snapshot clears
            ("WWW",   None,                  &[Hung, Rpo],                          vec![raise(Warning, Some(3), None)]),
            ("SWW",   None,                  &[Hung, Rpo],                          vec![]),
            // the newest check speaks for integrity, beside the backups
            ("S",     Some(Status::Failed),  &[Failed, Missed, Hung, Warning, Rpo], vec![integrity]),
            ("",      Some(Status::Success), &[Integrity],                          vec![]),
            ("",      Some(Status::Missed),  &[],                                   vec![integrity]),
        ];
        for (runs, check, clears, raises) in table {
            let backup = (!runs.is_empty()).then(|| of(runs));
            let v = judge_history(backup, *check, &T);
            assert_eq!(v.clears, *clears, "{runs} {check:?}");
            assert_eq!(v.raises, *raises, "{runs} {check:?}");
        }
    }
}
