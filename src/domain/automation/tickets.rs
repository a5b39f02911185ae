//! What the automation does to a policy's tickets, as decisions and their
//! effects: a problem seen appends to the open ticket, reopens one
//! auto-resolved within the reopen window, or opens a new one; the N-th
//! failure escalates; a good run auto-resolves corrective tickets and notes
//! incidents as recovered (they wait for a person); late data withdraws what
//! it disproves; a retired job closes its tickets. Pure: `ops` finds the
//! tickets, asks here, and writes what comes back.

use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::Result;

use crate::domain::ticket::{
    priority_for, Notice, ProblemClass, Ticket, TicketKind, TicketStatus, AUTO_RECOVERED,
};
use crate::domain::time::{format_duration, rfc3339};

/// The rules of the automation: thresholds (config `[tickets]`), SLA due
/// times by the client's tier and the priority (`[sla]`), default assignees
/// per client (`[assignees]`). Built from the config outside the domain.
#[derive(Debug, Clone)]
pub struct Rules {
    pub escalate_after: i64,
    pub warnings_before: i64,
    pub auto_resolve: bool,
    pub reopen_within_s: i64,
    /// Seconds until due, by SLA tier (bronze, silver, gold, platinum) and priority 1..4.
    pub sla: [[i64; 4]; 4],
    pub assignees: BTreeMap<String, String>,
    /// A run dated later than now plus this is held as clock skew.
    pub max_future_s: i64,
    /// Two records of one run further apart than this are reported, not merged.
    pub same_run_skew_s: i64,
    /// `check.default_max_runtime`: a run with no end after this long is hung.
    pub default_max_runtime_s: i64,
}

pub const SLA_TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];

impl Rules {
    /// The thresholds the policy state's steps are judged by.
    pub fn thresholds(&self, j: &super::judge::Judgement) -> super::Thresholds {
        super::Thresholds {
            escalate_after: self.escalate_after,
            warnings_before: self.warnings_before,
            failures_before: j.failures_before_ticket,
        }
    }

    /// When a ticket of `priority` opened at `now` for a client of `tier` is due.
    pub fn due(&self, tier: &str, priority: i64, now: i64) -> i64 {
        let t = SLA_TIERS.iter().position(|x| *x == tier).unwrap_or(1);
        now + self.sla[t][(priority.clamp(1, 4) - 1) as usize]
    }

    pub fn assignee(&self, client: &str) -> Option<String> {
        self.assignees.get(client).cloned()
    }

    /// The oldest recovery a problem seen by a run that ended at `end` may
    /// reopen: the window runs between run ends, not arrivals (#10 §1).
    pub fn reopen_since(&self, end: i64) -> i64 {
        end - self.reopen_within_s
    }

    /// A problem is seen: `open` is the policy's open ticket of its class,
    /// `recovered` its newest auto-resolved one (found from
    /// [`Rules::reopen_since`]). `None`: open a new ticket.
    pub fn on_problem(
        &self,
        open: Option<&Ticket>,
        recovered: Option<&Ticket>,
        end: i64,
    ) -> Option<Effect> {
        if open.is_some() {
            return Some(Effect::Again);
        }
        let since = self.reopen_since(end);
        recovered
            .filter(|t| {
                t.status == TicketStatus::Resolved
                    && t.auto_resolved_at.is_some()
                    && t.recovered_at.or(t.resolved_at).is_some_and(|r| r >= since)
            })
            .map(|_| Effect::Reopen)
    }

    /// A good run cleared the problem of open ticket `t`.
    pub fn on_recovery(&self, t: &Ticket) -> Option<Effect> {
        if t.kind == TicketKind::Incident {
            t.recovered_at.is_none().then_some(Effect::Recovered)
        } else {
            self.auto_resolve.then_some(Effect::AutoResolve)
        }
    }

    /// A new ticket for a problem of `class` seen at `at` on `s`'s policy.
    pub fn open(
        &self,
        s: &Subject,
        class: ProblemClass,
        at: i64,
        title: Option<String>,
        now: i64,
    ) -> Ticket {
        let incident = class == ProblemClass::Rpo;
        let priority = priority_for(Some(s.tier), incident);
        Ticket {
            class: Some(class),
            due_at: Some(self.due(&s.sla_tier, priority, now)),
            first_seen_at: Some(at),
            last_seen_at: Some(at),
            ..self.about(
                s,
                if incident {
                    TicketKind::Incident
                } else {
                    TicketKind::Corrective
                },
                title.unwrap_or_else(|| default_title(class, s)),
                priority,
                now,
            )
        }
    }

    /// An RPO breach nobody saw while it lasted (its runs came after the gap
    /// closed): a P3 corrective ticket asking for the cause, recovered from
    /// birth. Returns the ticket and its first work-log line.
    pub fn breach_found(&self, s: &Subject, from: i64, to: i64, now: i64) -> (Ticket, String) {
        let day = |t: i64| rfc3339(t)[..10].to_string();
        let title = format!(
            "RPO breached {}–{} — find the cause: {}/{}",
            day(from),
            day(to),
            s.client,
            s.job
        );
        let t = Ticket {
            class: Some(ProblemClass::Finding),
            due_at: Some(self.due(&s.sla_tier, 3, now)),
            first_seen_at: Some(from),
            last_seen_at: Some(to),
            recovered_at: Some(to),
            ..self.about(s, TicketKind::Corrective, title, 3, now)
        };
        let detail = format!(
            "no restore point between {} and {}: longer than the RPO plus the grace; the runs arrived after the gap closed",
            rfc3339(from),
            rfc3339(to)
        );
        (t, detail)
    }

    fn about(
        &self,
        s: &Subject,
        kind: TicketKind,
        title: String,
        priority: i64,
        now: i64,
    ) -> Ticket {
        Ticket {
            ci_id: Some(s.ci_id),
            ci: Some(s.ci.to_string()),
            policy_id: Some(s.policy_id),
            job: Some(s.job.to_string()),
            sla_tier: s.sla_tier.to_string(),
            assignee: self.assignee(&s.client),
            ..Ticket::new(kind, s.client_id, &s.client, title, priority, now)
        }
    }
}

/// A corrective ticket is escalated (the N-th failure in a row); anything
/// else is left alone.
pub fn on_escalation(t: &Ticket) -> Option<Effect> {
    (t.kind == TicketKind::Corrective && t.is_open()).then_some(Effect::Escalate)
}

/// Late data took away every cause of open ticket `t` (DESIGN principle 3),
/// or its job was retired (`retired`): untouched by a person it closes,
/// touched it gets a note and stays with its person.
pub fn on_cause_gone(t: &Ticket, touched: bool, retired: bool) -> Effect {
    let why = if retired {
        Closure::Decommissioned
    } else if t.kind == TicketKind::Incident {
        Closure::Withdrawn
    } else {
        Closure::Superseded
    };
    if touched {
        Effect::Keep(why)
    } else {
        Effect::Close(why)
    }
}

/// The policy a ticket is about.
///
/// Its texts are shared: the ingestor holds one per active policy, and a
/// client's code and tier are one allocation for all its policies.
#[derive(Debug, Clone)]
pub struct Subject {
    pub client_id: i64,
    pub client: Rc<str>,
    pub sla_tier: Rc<str>,
    pub policy_id: i64,
    pub ci_id: i64,
    /// The CI's host, as a ticket names it.
    pub ci: Rc<str>,
    pub tier: i64,
    pub job: Rc<str>,
    /// The policy's grace: which of its runs fall in windows `check` closed.
    pub grace_s: i64,
    /// Its RPO: a gap between restore points longer than RPO + grace is a breach.
    pub rpo_s: i64,
    /// How its runs are judged (plan keys).
    pub judge: super::judge::Judgement,
}

fn default_title(class: ProblemClass, s: &Subject) -> String {
    use super::ProblemClass::*;
    let what = match class {
        Failed => "Backup failed",
        Missed => "Backup missed",
        Hung => "Backup hung",
        Rpo => "RPO breached",
        Warning => "Repeated backup warnings",
        Integrity => "Repository integrity check failed",
        Small => "Suspiciously small backup",
        Restore => "Restore test failed",
        Finding => "Backup problem",
    };
    format!("{what}: {}/{}", s.client, s.job)
}

/// Why the automation closes a ticket it did not solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closure {
    /// Late data: the corrective ticket's cause never was.
    Superseded,
    /// Late data: the incident's cause never was.
    Withdrawn,
    /// Its job was retired.
    Decommissioned,
}

impl Closure {
    pub fn as_str(self) -> &'static str {
        match self {
            Closure::Superseded => "superseded",
            Closure::Withdrawn => "withdrawn",
            Closure::Decommissioned => "decommissioned",
        }
    }
}

/// A decision about one existing ticket, applied by [`Effect::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The same problem again on the open ticket.
    Again,
    /// The problem is back within the reopen window of its auto-recovery.
    Reopen,
    /// A corrective ticket becomes an incident.
    Escalate,
    /// An incident's problem cleared: a note, and it waits for a person.
    Recovered,
    /// A corrective ticket's problem cleared: it resolves itself.
    AutoResolve,
    /// Closed for a reason that is not a fix.
    Close(Closure),
    /// Its cause is gone, but a person works on it: a note, it stays open.
    Keep(Closure),
    /// A work-log line, nothing else.
    Note,
}

/// What the effect is applied for: the problem (or recovery) and its time.
#[derive(Debug, Clone, Copy)]
pub struct Occasion<'a> {
    /// The problem's class (none: an effect on a ticket without one).
    pub class: Option<ProblemClass>,
    /// When the problem (or the good run) happened.
    pub at: i64,
    /// When the run behind it ended: the reopen window runs from there.
    pub end: i64,
    /// What happened, in the work log's words (for a closure, why).
    pub detail: &'a str,
    pub now: i64,
    /// The client's SLA tier, for due times.
    pub sla_tier: &'a str,
}

/// What to record of an applied effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The work-log line's kind: `event` or `status`.
    pub kind: &'static str,
    pub note: String,
    /// A notification: its event and reason.
    pub notify: Option<(Notice, Option<&'static str>)>,
    pub count: Count,
}

/// Which summary count an effect adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Opened,
    Updated,
    Resolved,
}

impl Logged {
    /// A new ticket's first line.
    pub fn opened(detail: &str) -> Logged {
        Logged {
            kind: "event",
            note: format!("opened by bmctl: {detail}"),
            notify: Some((Notice::Open, None)),
            count: Count::Opened,
        }
    }

    fn event(note: String) -> Logged {
        Logged {
            kind: "event",
            note,
            notify: None,
            count: Count::Updated,
        }
    }
}

impl Effect {
    /// Change `t` as the effect says; what to log of it.
    pub fn apply(self, t: &mut Ticket, o: &Occasion<'_>, rules: &Rules) -> Result<Logged> {
        let (at, now, detail) = (o.at, o.now, o.detail);
        let class = o.class.map_or("problem", ProblemClass::as_str);
        Ok(match self {
            Effect::Again => {
                t.occurrences += 1;
                t.last_seen_at = Some(t.last_seen_at.unwrap_or(at).max(at));
                t.recovered_at = None;
                t.updated_at = now;
                Logged::event(format!("{class} again ({} times): {detail}", t.occurrences))
            }
            Effect::Reopen => {
                t.reopen(now)?;
                t.occurrences += 1;
                t.last_seen_at = Some(at);
                t.due_at = Some(rules.due(o.sla_tier, t.priority, now));
                Logged {
                    kind: "status",
                    note: format!(
                        "reopened: {class} again within {} of the auto-recovery: {detail}",
                        format_duration(rules.reopen_within_s)
                    ),
                    notify: Some((Notice::Reopen, None)),
                    count: Count::Updated,
                }
            }
            Effect::Escalate => {
                t.escalate(now)?;
                t.due_at = Some(rules.due(&t.sla_tier, t.priority, now));
                Logged {
                    kind: "status",
                    note: format!("escalated to incident: {detail}"),
                    notify: Some((Notice::Escalate, None)),
                    count: Count::Updated,
                }
            }
            Effect::Recovered => {
                t.recovered_at = Some(at);
                t.updated_at = now;
                Logged::event(format!(
                    "recovered at {}: {detail}; an incident waits for a person to resolve it with a cause (`bmctl correct resolve {}`)",
                    rfc3339(at),
                    t.id
                ))
            }
            Effect::AutoResolve => {
                t.resolve(AUTO_RECOVERED, &format!("auto-recovered: {detail}"), now)?;
                t.auto_resolved_at = Some(now);
                // the reopen window runs from the recovering run's end
                t.recovered_at = Some(o.end);
                Logged {
                    kind: "status",
                    note: format!("auto-resolved: a good run at {} ({detail})", rfc3339(at)),
                    notify: Some((Notice::Resolve, Some("auto-recovered"))),
                    count: Count::Resolved,
                }
            }
            Effect::Close(why) => {
                let reason = why.as_str();
                t.resolve(reason, &format!("{reason}: {detail}"), now)?;
                Logged {
                    kind: "status",
                    note: format!("{reason}: {detail}"),
                    notify: Some((Notice::Resolve, Some(reason))),
                    count: Count::Resolved,
                }
            }
            Effect::Keep(why) => {
                t.updated_at = now;
                Logged::event(match why {
                    Closure::Decommissioned => format!(
                        "its job was retired ({detail}); it stays open for the person working on it"
                    ),
                    _ => format!(
                        "its cause is gone: {detail}; it stays open for the person working on it"
                    ),
                })
            }
            Effect::Note => {
                t.updated_at = now;
                Logged::event(detail.to_string())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    fn rules() -> Rules {
        Rules {
            escalate_after: 3,
            warnings_before: 3,
            auto_resolve: true,
            reopen_within_s: 7 * DAY,
            sla: [[4 * HOUR, 8 * HOUR, 24 * HOUR, 72 * HOUR]; 4],
            assignees: BTreeMap::from([("acme".into(), "alice".into())]),
            max_future_s: 300,
            same_run_skew_s: 60,
            default_max_runtime_s: 12 * HOUR,
        }
    }

    fn subject() -> Subject {
        Subject {
            client_id: 1,
            client: "acme".into(),
            sla_tier: "gold".into(),
            policy_id: 7,
            ci_id: 3,
            ci: "fs01".into(),
            tier: 2,
            job: "fs01-nightly".into(),
            grace_s: HOUR,
            rpo_s: DAY,
            judge: Default::default(),
        }
    }

    fn occasion(at: i64, now: i64) -> Occasion<'static> {
        Occasion {
            class: Some(ProblemClass::Failed),
            at,
            end: at,
            detail: "exit 1",
            now,
            sla_tier: "gold",
        }
    }

    /// A ticket of `kind`, opened at 0 and auto-resolved by a run that
    /// ended at `recovered` (None: still open).
    fn ticket(kind: &str, recovered: Option<i64>) -> Ticket {
        let mut t = rules().open(&subject(), ProblemClass::Failed, 0, None, 0);
        t.id = 42;
        t.kind = TicketKind::parse(kind).unwrap();
        if let Some(end) = recovered {
            Effect::AutoResolve
                .apply(
                    &mut t,
                    &Occasion {
                        end,
                        ..occasion(end, end + HOUR)
                    },
                    &rules(),
                )
                .unwrap();
        }
        t
    }

    #[test]
    fn a_problem_appends_reopens_or_opens() {
        let r = rules();
        let open = ticket("corrective", None);
        let done = ticket("corrective", Some(10 * DAY));
        let window_end = 10 * DAY + 7 * DAY;
        let mut by_hand = ticket("corrective", None);
        by_hand
            .resolve("hardware", "disk replaced", 11 * DAY)
            .unwrap();
        type Case<'t> = (
            &'t str,
            Option<&'t Ticket>,
            Option<&'t Ticket>,
            i64,
            Option<Effect>,
        );
        #[rustfmt::skip]
        let table: &[Case] = &[
            ("an open ticket takes the problem",          Some(&open), Some(&done), window_end + DAY, Some(Effect::Again)),
            ("within the window: reopen",                 None, Some(&done), 12 * DAY,       Some(Effect::Reopen)),
            ("the window's last second: reopen",          None, Some(&done), window_end,     Some(Effect::Reopen)),
            ("one second after the window: a new ticket", None, Some(&done), window_end + 1, None),
            ("resolved by a person: a new ticket",        None, Some(&by_hand), 12 * DAY,    None),
            ("nothing before: a new ticket",              None, None, 12 * DAY,              None),
        ];
        for (case, open, recovered, end, want) in table {
            assert_eq!(r.on_problem(*open, *recovered, *end), *want, "{case}");
        }
    }

    #[test]
    fn the_reopen_window_runs_from_the_run_end_not_the_arrival() {
        // the recovering run ended on day 10; bmctl learned of it on day 15
        let mut t = ticket("corrective", None);
        let o = Occasion {
            end: 10 * DAY,
            ..occasion(10 * DAY - HOUR, 15 * DAY)
        };
        Effect::AutoResolve.apply(&mut t, &o, &rules()).unwrap();
        assert_eq!(t.recovered_at, Some(10 * DAY));
        assert_eq!(
            rules().on_problem(None, Some(&t), 17 * DAY),
            Some(Effect::Reopen)
        );
        assert_eq!(rules().on_problem(None, Some(&t), 17 * DAY + 1), None);
    }

    #[test]
    fn a_good_run_resolves_corrective_tickets_and_notes_incidents() {
        let r = rules();
        let manual = Rules {
            auto_resolve: false,
            ..rules()
        };
        let mut recovered_incident = ticket("incident", None);
        recovered_incident.recovered_at = Some(5);
        #[rustfmt::skip]
        let table: &[(&str, &Rules, Ticket, Option<Effect>)] = &[
            ("corrective: auto-resolved",               &r,      ticket("corrective", None), Some(Effect::AutoResolve)),
            ("corrective, auto_resolve off: left open", &manual, ticket("corrective", None), None),
            ("incident: recovered, waits for a person", &r,      ticket("incident", None),   Some(Effect::Recovered)),
            ("incident recovered already: nothing",     &r,      recovered_incident,         None),
        ];
        for (case, rules, t, want) in table {
            assert_eq!(rules.on_recovery(t), *want, "{case}");
        }
        let mut t = ticket("incident", None);
        let logged = Effect::Recovered
            .apply(&mut t, &occasion(100, 200), &r)
            .unwrap();
        assert!(t.is_open(), "an incident waits for a person");
        assert_eq!(
            (t.recovered_at, logged.notify, logged.count),
            (Some(100), None, Count::Updated)
        );
        let mut t = ticket("corrective", None);
        let logged = Effect::AutoResolve
            .apply(&mut t, &occasion(100, 200), &r)
            .unwrap();
        assert_eq!(
            (
                t.status.as_str(),
                t.resolution.as_deref(),
                t.auto_resolved_at,
                logged.notify
            ),
            (
                "resolved",
                Some("auto-recovered: exit 1"),
                Some(200),
                Some((Notice::Resolve, Some("auto-recovered")))
            )
        );
    }

    #[test]
    fn only_open_corrective_tickets_escalate() {
        assert_eq!(
            on_escalation(&ticket("corrective", None)),
            Some(Effect::Escalate)
        );
        assert_eq!(on_escalation(&ticket("incident", None)), None);
        assert_eq!(on_escalation(&ticket("corrective", Some(DAY))), None);
        let mut t = ticket("corrective", None);
        let p = t.priority;
        let logged = Effect::Escalate
            .apply(&mut t, &occasion(0, HOUR), &rules())
            .unwrap();
        assert_eq!((t.kind.as_str(), t.priority), ("incident", p - 1));
        assert_eq!(
            t.due_at,
            Some(HOUR + 8 * HOUR),
            "P{}: due from the escalation",
            t.priority
        );
        assert_eq!(logged.notify, Some((Notice::Escalate, None)));
    }

    #[test]
    fn late_data_and_retirement_close_what_nobody_works_on() {
        #[rustfmt::skip]
        let table: &[(&str, bool, bool, Effect)] = &[
            ("corrective",   false, false, Effect::Close(Closure::Superseded)),
            ("incident",     false, false, Effect::Close(Closure::Withdrawn)),
            ("corrective",   true,  false, Effect::Keep(Closure::Superseded)),
            ("incident",     false, true,  Effect::Close(Closure::Decommissioned)),
            ("corrective",   true,  true,  Effect::Keep(Closure::Decommissioned)),
        ];
        for (kind, touched, retired, want) in table {
            let t = ticket(kind, None);
            assert_eq!(
                on_cause_gone(&t, *touched, *retired),
                *want,
                "{kind} {touched} {retired}"
            );
        }
        let mut t = ticket("corrective", None);
        let logged = Effect::Keep(Closure::Superseded)
            .apply(&mut t, &occasion(0, HOUR), &rules())
            .unwrap();
        assert!(t.is_open());
        assert_eq!(logged.kind, "event");
        let logged = Effect::Close(Closure::Superseded)
            .apply(&mut t, &occasion(0, HOUR), &rules())
            .unwrap();
        assert_eq!(
            (t.cause.as_deref(), logged.count),
            (Some("superseded"), Count::Resolved)
        );
    }

    #[test]
    fn the_same_problem_again_counts_and_keeps_the_newest_sighting() {
        let mut t = ticket("corrective", None);
        t.recovered_at = Some(50);
        let logged = Effect::Again
            .apply(&mut t, &occasion(5_000, 6_000), &rules())
            .unwrap();
        assert_eq!(
            (t.occurrences, t.last_seen_at, t.recovered_at),
            (2, Some(5_000), None)
        );
        assert_eq!(logged.note, "failed again (2 times): exit 1");
        // an older occurrence arriving late does not move the last sighting back
        Effect::Again
            .apply(&mut t, &occasion(4_000, 6_000), &rules())
            .unwrap();
        assert_eq!((t.occurrences, t.last_seen_at), (3, Some(5_000)));
    }

    #[test]
    fn a_reopened_ticket_is_due_again_and_counts_the_occurrence() {
        let mut t = ticket("corrective", Some(DAY));
        let logged = Effect::Reopen
            .apply(&mut t, &occasion(2 * DAY, 2 * DAY + 60), &rules())
            .unwrap();
        assert!(t.is_open());
        assert_eq!(
            (t.occurrences, t.auto_resolved_at, t.recovered_at),
            (2, None, None)
        );
        assert_eq!(t.due_at, Some(2 * DAY + 60 + 24 * HOUR), "gold P3 from now");
        assert_eq!(logged.notify, Some((Notice::Reopen, None)));
        assert!(
            logged.note.contains("within 7d of the auto-recovery"),
            "{}",
            logged.note
        );
    }

    #[test]
    fn new_tickets_by_class() {
        let r = rules();
        let s = subject();
        let t = r.open(&s, ProblemClass::Failed, 100, None, 200);
        assert_eq!(
            (t.kind.as_str(), t.priority, t.title.as_str()),
            ("corrective", 3, "Backup failed: acme/fs01-nightly")
        );
        assert_eq!(
            (t.assignee.as_deref(), t.due_at, t.first_seen_at),
            (Some("alice"), Some(200 + 24 * HOUR), Some(100))
        );
        let t = r.open(&s, ProblemClass::Rpo, 100, Some("custom".into()), 200);
        assert_eq!(
            (t.kind.as_str(), t.priority, t.title.as_str()),
            ("incident", 2, "custom")
        );
        let (t, detail) = r.breach_found(&s, 0, 3 * DAY, 4 * DAY);
        assert_eq!(
            (t.class, t.priority, t.recovered_at),
            (Some(ProblemClass::Finding), 3, Some(3 * DAY))
        );
        assert!(
            t.title.starts_with("RPO breached 1970-01-01–1970-01-04"),
            "{}",
            t.title
        );
        assert!(detail.contains("arrived after the gap closed"));
    }
}
