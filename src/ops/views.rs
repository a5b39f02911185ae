//! Views shared by several commands: what a ticket looks like outside.

use serde::Serialize;

use crate::domain::ticket::{ProblemClass, Ticket, TicketKind, TicketStatus};
use crate::domain::time::Ts;

/// A ticket with DESIGN's keys (plus what a technician needs to act).
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub id: i64,
    pub kind: TicketKind,
    pub class: Option<ProblemClass>,
    pub client: String,
    pub ci: Option<String>,
    pub job: Option<String>,
    pub title: String,
    pub status: TicketStatus,
    pub priority: i64,
    pub assignee: Option<String>,
    pub opened_at: Ts,
    pub updated_at: Ts,
    pub due_at: Option<Ts>,
    pub resolved_at: Option<Ts>,
    pub occurrences: i64,
    pub first_seen_at: Option<Ts>,
    pub last_seen_at: Option<Ts>,
    pub cause: Option<String>,
    pub resolution: Option<String>,
    pub psa_ref: Option<String>,
    pub linked_ticket_id: Option<i64>,
    /// An incident whose problem a good run cleared: it waits for a person.
    pub recovered_at: Option<Ts>,
    /// Open past its due time.
    pub overdue: bool,
    /// The SLA due time passed before the ticket was resolved (or it is still open past it).
    pub sla_breached: bool,
    /// Waiting on the client since then, and why: the SLA clock stands still.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    /// Seconds spent waiting on the client before (added to the due time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_s: Option<i64>,
}

impl TicketView {
    pub fn new(t: Ticket, now: i64) -> TicketView {
        // while it waits on the client, its SLA is judged as at the wait's start
        let clock = t.sla_clock(now);
        let overdue = t.is_open() && t.due_at.is_some_and(|d| d < clock);
        let sla_breached = t.due_at.is_some_and(|d| match t.resolved_at {
            Some(r) if !t.is_open() => r > d,
            _ => d < clock,
        });
        TicketView {
            id: t.id,
            kind: t.kind,
            class: t.class,
            client: t.client,
            ci: t.ci,
            job: t.job,
            title: t.title,
            status: t.status,
            priority: t.priority,
            assignee: t.assignee,
            opened_at: Ts(t.opened_at),
            updated_at: Ts(t.updated_at),
            due_at: t.due_at.map(Ts),
            resolved_at: t.resolved_at.map(Ts),
            occurrences: t.occurrences,
            first_seen_at: t.first_seen_at.map(Ts),
            last_seen_at: t.last_seen_at.map(Ts),
            cause: t.cause,
            resolution: t.resolution,
            psa_ref: t.psa_ref,
            linked_ticket_id: t.linked_ticket_id,
            recovered_at: t.recovered_at.map(Ts),
            overdue,
            sla_breached,
            waiting_since: t.waiting_since.map(Ts),
            waiting_reason: t.waiting_reason,
            waited_s: t.waited_s,
        }
    }
}

/// A change's times, Unix seconds as stored (and audited), that JSON
/// output shows as RFC 3339.
const CHANGE_TIMES: [&str; 6] = [
    "requested_at",
    "approved_at",
    "implemented_at",
    "completed_at",
    "updated_at",
    "retain_until",
];

/// Rewrite a change's times in its JSON form to RFC 3339.
pub fn change_times(v: &mut serde_json::Value) {
    for k in CHANGE_TIMES {
        if let Some(n) = v.get(k).and_then(serde_json::Value::as_i64) {
            v[k] = crate::domain::time::rfc3339(n).into();
        }
    }
}

/// A change as output shows it: its times in RFC 3339.
pub struct ChangeView(pub crate::domain::change::Change);

impl Serialize for ChangeView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        change_times(&mut v);
        v.serialize(s)
    }
}
