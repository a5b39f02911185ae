//! Tickets: proactive tasks, corrective tickets and incidents, with the
//! state machine `open → in_progress → resolved | skipped` and `reopen`.
//! A refused step names the ticket, its state and the command that helps.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::error::{refused, rejected};

/// What a ticket is: a proactive task, a corrective ticket, an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Task,
    Corrective,
    Incident,
}

/// Where a ticket is in its state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Resolved,
    Skipped,
}

words!(TicketKind { Task = "task", Corrective = "corrective", Incident = "incident" });
words!(TicketStatus { Open = "open", InProgress = "in_progress", Resolved = "resolved", Skipped = "skipped" });

/// What a corrective ticket or incident is about: a run problem, a failed
/// restore test, or a finding that asks for a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemClass {
    Failed,
    Missed,
    Hung,
    Warning,
    Rpo,
    Integrity,
    Restore,
    Finding,
    /// A successful run far smaller than its policy's usual (#14 §6).
    Small,
}

words!(ProblemClass { Failed = "failed", Missed = "missed", Hung = "hung", Warning = "warning", Rpo = "rpo", Integrity = "integrity", Restore = "restore", Finding = "finding", Small = "small" });

/// What a notification (a hook's run) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    Open,
    Escalate,
    Reopen,
    Resolve,
    TaskOverdue,
    /// A change request's new state (not a ticket's).
    Change,
}

words!(Notice { Open = "open", Escalate = "escalate", Reopen = "reopen", Resolve = "resolve", TaskOverdue = "task_overdue", Change = "change" });

/// Root-cause categories a person resolves a corrective ticket with.
pub const CAUSES: &[&str] = &[
    "media",
    "network",
    "credentials",
    "capacity",
    "software",
    "configuration",
    "source-data",
    "human",
    "unknown",
];

/// The cause and resolution bmctl writes when a success clears a ticket.
pub const AUTO_RECOVERED: &str = "auto-recovered";

pub fn validate_cause(cause: &str) -> Result<()> {
    if !CAUSES.contains(&cause) {
        bail!("cause '{cause}' is not one of {}", CAUSES.join(", "));
    }
    Ok(())
}

/// Priority (1 = highest … 4) of a corrective ticket on a CI of `tier`; an
/// incident is one step higher.
pub fn priority_for(tier: Option<i64>, incident: bool) -> i64 {
    let base = match tier {
        Some(1) => 2,
        Some(2) => 3,
        Some(_) => 4,
        None => 3,
    };
    if incident {
        (base - 1).max(1)
    } else {
        base
    }
}

/// A ticket as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub kind: TicketKind,
    pub class: Option<ProblemClass>,
    #[serde(skip)]
    pub client_id: i64,
    pub client: String,
    /// The client's SLA tier: it sets due times.
    #[serde(skip)]
    pub sla_tier: String,
    #[serde(skip)]
    pub ci_id: Option<i64>,
    pub ci: Option<String>,
    #[serde(skip)]
    pub policy_id: Option<i64>,
    pub job: Option<String>,
    pub title: String,
    pub status: TicketStatus,
    pub priority: i64,
    pub assignee: Option<String>,
    pub opened_at: i64,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    pub started_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub occurrences: i64,
    pub first_seen_at: Option<i64>,
    pub last_seen_at: Option<i64>,
    pub resolution: Option<String>,
    pub cause: Option<String>,
    pub auto_resolved_at: Option<i64>,
    pub recovered_at: Option<i64>,
    pub psa_ref: Option<String>,
    pub linked_ticket_id: Option<i64>,
    /// Tasks: the template and occurrence they come from.
    pub template_id: Option<i64>,
    pub occurrence_at: Option<i64>,
    /// Tasks: the checklist with what is ticked.
    pub checklist: Vec<ChecklistItem>,
    /// Tasks: `ok` or `issues` when done.
    pub result: Option<String>,
    /// Tasks: skipped as not applicable (left out of compliance).
    pub not_applicable: bool,
    /// Waiting on the client since (`correct wait`): the SLA clock stops.
    pub waiting_since: Option<i64>,
    pub waiting_reason: Option<String>,
    /// Seconds it waited before, added to its due time on each resume.
    pub waited_s: Option<i64>,
}

/// One line of a task's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChecklistItem {
    pub item: String,
    pub done: bool,
}

impl Ticket {
    /// A new open ticket; the caller fills in what it is about.
    pub fn new(
        kind: TicketKind,
        client_id: i64,
        client: &str,
        title: String,
        priority: i64,
        now: i64,
    ) -> Ticket {
        Ticket {
            id: 0,
            kind,
            class: None,
            client_id,
            client: client.into(),
            sla_tier: "silver".into(),
            ci_id: None,
            ci: None,
            policy_id: None,
            job: None,
            title,
            status: TicketStatus::Open,
            priority,
            assignee: None,
            opened_at: now,
            updated_at: now,
            due_at: None,
            started_at: None,
            resolved_at: None,
            occurrences: 1,
            first_seen_at: None,
            last_seen_at: None,
            resolution: None,
            cause: None,
            auto_resolved_at: None,
            recovered_at: None,
            psa_ref: None,
            linked_ticket_id: None,
            template_id: None,
            occurrence_at: None,
            checklist: Vec::new(),
            result: None,
            not_applicable: false,
            waiting_since: None,
            waiting_reason: None,
            waited_s: None,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, TicketStatus::Open | TicketStatus::InProgress)
    }

    fn name(&self) -> String {
        format!("ticket #{}", self.id)
    }

    fn verb(&self) -> &'static str {
        if self.kind == TicketKind::Task {
            "tasks"
        } else {
            "correct"
        }
    }

    pub fn start(&mut self, now: i64) -> Result<()> {
        if self.status != TicketStatus::Open {
            let help = if self.is_open() {
                format!(
                    "it is being worked already; resolve it with `bmctl {} resolve {}`",
                    self.verb(),
                    self.id
                )
            } else {
                format!(
                    "reopen it first with `bmctl {} reopen {}`",
                    self.verb(),
                    self.id
                )
            };
            return Err(refused(format!(
                "cannot start {}: it is '{}'; {help}",
                self.name(),
                self.status
            )));
        }
        self.status = TicketStatus::InProgress;
        self.started_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    pub fn resolve(&mut self, cause: &str, fix: &str, now: i64) -> Result<()> {
        if !self.is_open() {
            return Err(refused(format!(
                "cannot resolve {}: it is '{}' already; reopen it with `bmctl {} reopen {}`",
                self.name(),
                self.status,
                self.verb(),
                self.id
            )));
        }
        if self.waiting_since.is_some() {
            self.resume(now)?;
        }
        self.status = TicketStatus::Resolved;
        self.cause = Some(cause.to_string());
        self.resolution = Some(fix.to_string());
        self.resolved_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    pub fn escalate(&mut self, now: i64) -> Result<()> {
        if !self.is_open() {
            return Err(refused(format!(
                "cannot escalate {}: it is '{}'; reopen it first with `bmctl correct reopen {}`",
                self.name(),
                self.status,
                self.id
            )));
        }
        if self.kind != TicketKind::Corrective {
            return Err(refused(format!(
                "cannot escalate {}: it is a '{}', and only corrective tickets escalate to incidents",
                self.name(),
                self.kind
            )));
        }
        self.kind = TicketKind::Incident;
        self.priority = (self.priority - 1).max(1);
        self.updated_at = now;
        Ok(())
    }

    pub fn reopen(&mut self, now: i64) -> Result<()> {
        if self.is_open() {
            return Err(refused(format!(
                "cannot reopen {}: it is '{}' (still open)",
                self.name(),
                self.status
            )));
        }
        self.status = TicketStatus::Open;
        self.resolved_at = None;
        self.started_at = None;
        self.resolution = None;
        self.cause = None;
        self.auto_resolved_at = None;
        self.recovered_at = None;
        self.updated_at = now;
        Ok(())
    }

    /// Put an open ticket on hold, waiting on the client (a server the client
    /// powered off, credentials the client changed): its SLA clock stops.
    pub fn wait(&mut self, now: i64, reason: &str) -> Result<()> {
        if !self.is_open() {
            return Err(refused(format!(
                "ticket #{} is '{}': only an open ticket can wait; reopen it with `bmctl correct reopen {}`",
                self.id, self.status, self.id
            )));
        }
        if let Some(since) = self.waiting_since {
            return Err(refused(format!(
                "ticket #{} is waiting on the client already (since {}); resume it with `bmctl correct resume {}`",
                self.id,
                crate::domain::time::rfc3339(since),
                self.id
            )));
        }
        self.waiting_since = Some(now);
        self.waiting_reason = Some(reason.to_string());
        self.updated_at = now;
        Ok(())
    }

    /// End a wait: the time waited moves the due time on. The seconds waited.
    pub fn resume(&mut self, now: i64) -> Result<i64> {
        let Some(since) = self.waiting_since else {
            return Err(refused(format!(
                "ticket #{} is not waiting on the client (put it on hold with `bmctl correct wait {} --reason …`)",
                self.id, self.id
            )));
        };
        let waited = (now - since).max(0);
        self.due_at = self.due_at.map(|d| d + waited);
        self.waited_s = Some(self.waited_s.unwrap_or(0) + waited);
        self.waiting_since = None;
        self.waiting_reason = None;
        self.updated_at = now;
        Ok(waited)
    }

    /// The instant the SLA is judged at: `now`, or when the wait began.
    pub fn sla_clock(&self, now: i64) -> i64 {
        self.waiting_since.map_or(now, |s| s.min(now))
    }

    /// The checklist item `item` names: its number (1-based), its whole text
    /// or the start of exactly one item's text (any case). An ambiguous start
    /// is refused with the items it matches: ticking the wrong one is worse.
    pub fn checklist_index(&self, item: &str) -> Result<usize> {
        let list = &self.checklist;
        if let Ok(n) = item.trim().parse::<usize>() {
            if (1..=list.len()).contains(&n) {
                return Ok(n - 1);
            }
        }
        let want = item.trim().to_lowercase();
        if let Some(i) = list.iter().position(|c| c.item.to_lowercase() == want) {
            return Ok(i);
        }
        let matches: Vec<usize> = (0..list.len())
            .filter(|&i| !want.is_empty() && list[i].item.to_lowercase().starts_with(&want))
            .collect();
        match matches[..] {
            [i] => Ok(i),
            [] => Err(rejected(format!(
                "task #{} has no checklist item '{item}' (its items: {}; see `bmctl tasks show {}`)",
                self.id,
                self.numbered(0..list.len()),
                self.id
            ))),
            _ => Err(rejected(format!(
                "'{item}' matches {} items of task #{}: {}; give its number",
                matches.len(),
                self.id,
                self.numbered(matches.iter().copied())
            ))),
        }
    }

    /// The numbers of the checklist items not ticked.
    pub fn unticked(&self) -> Vec<usize> {
        (0..self.checklist.len())
            .filter(|&i| !self.checklist[i].done)
            .collect()
    }

    /// Items as `2 'Review logs', 4 'Review alerts'`.
    pub fn numbered(&self, items: impl Iterator<Item = usize>) -> String {
        items
            .map(|i| format!("{} '{}'", i + 1, self.checklist[i].item))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            id: 7,
            class: Some(ProblemClass::Failed),
            ..Ticket::new(TicketKind::Corrective, 1, "acme", "t".into(), 3, 0)
        }
    }

    #[test]
    fn the_state_machine() {
        let mut t = ticket();
        t.start(1).unwrap();
        let e = format!("{}", t.start(2).unwrap_err());
        assert!(
            e.contains("'in_progress'") && e.contains("bmctl correct resolve 7"),
            "{e}"
        );
        t.escalate(3).unwrap();
        assert_eq!((t.kind.as_str(), t.priority), ("incident", 2));
        assert!(t.escalate(4).is_err());
        t.resolve("media", "replaced disk", 5).unwrap();
        let e = format!("{}", t.resolve("media", "x", 6).unwrap_err());
        assert!(e.contains("bmctl correct reopen 7"), "{e}");
        t.reopen(7).unwrap();
        assert_eq!((t.status.as_str(), t.resolved_at), ("open", None));
        assert!(t.reopen(8).is_err());
    }

    #[test]
    fn waiting_on_the_client_stops_the_sla_clock() {
        let mut t = ticket();
        t.due_at = Some(1_000);
        t.wait(400, "server powered off by the client").unwrap();
        assert!(t.wait(450, "again").is_err());
        // while it waits, the SLA is judged at the start of the wait
        assert_eq!(t.sla_clock(5_000), 400);
        assert_eq!(t.resume(3_400).unwrap(), 3_000);
        assert_eq!(
            (t.due_at, t.waited_s, t.waiting_since),
            (Some(4_000), Some(3_000), None)
        );
        assert!(t.resume(3_500).is_err());
        assert_eq!(t.sla_clock(5_000), 5_000);
        // a second wait adds up; resolving ends it
        t.wait(4_100, "credentials changed").unwrap();
        t.resolve("credentials", "new key from the client", 4_200)
            .unwrap();
        assert_eq!(
            (t.waited_s, t.waiting_since, t.due_at),
            (Some(3_100), None, Some(4_100))
        );
        assert!(t.wait(4_300, "closed").is_err());
    }

    #[test]
    fn checklist_items_by_number_text_or_unique_start() {
        let mut t = ticket();
        t.checklist = ["Review logs", "Review alerts", "Rotate keys", "Review"]
            .iter()
            .map(|i| ChecklistItem {
                item: i.to_string(),
                done: false,
            })
            .collect();
        let cases: &[(&str, Result<usize, &str>)] = &[
            ("1", Ok(0)),
            ("4", Ok(3)),
            ("review", Ok(3)),   // the whole text wins over a start
            ("Review l", Ok(0)), // a unique start
            ("ROT", Ok(2)),      // any case
            ("Review a", Ok(1)),
            ("Rev", Err("matches 3 items")), // ambiguous: refused, listing them
            ("5", Err("no checklist item '5'")),
            ("backup", Err("no checklist item")),
            ("", Err("no checklist item")),
        ];
        for (item, want) in cases {
            let got = t.checklist_index(item).map_err(|e| e.to_string());
            match want {
                Ok(i) => assert_eq!(got.as_ref().ok(), Some(i), "{item}: {got:?}"),
                Err(text) => {
                    let e = got.unwrap_err();
                    assert!(e.contains(text), "{item}: {e}");
                }
            }
        }
        let e = t.checklist_index("Rev").unwrap_err().to_string();
        assert!(
            e.contains("1 'Review logs'") && e.contains("give its number"),
            "{e}"
        );
        t.checklist[1].done = true;
        assert_eq!(t.unticked(), [0, 2, 3]);
    }

    #[test]
    fn priorities_follow_tier() {
        assert_eq!(priority_for(Some(1), false), 2);
        assert_eq!(priority_for(Some(1), true), 1);
        assert_eq!(priority_for(Some(3), false), 4);
        assert!(validate_cause("gremlins").is_err());
    }
}
