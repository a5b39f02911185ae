//! The reads the commands print, each through the store: `cli` reaches the
//! database only through `ops`. The rows are the store's typed views.

use anyhow::Result;

pub use crate::store::audit::{AuditRow, Head, Verdict};
pub use crate::store::changes::LogLine;
pub use crate::store::cis::CiRow;
pub use crate::store::clients::ClientRow;
pub use crate::store::events::{EventView, Filter as EventFilter, RunCounts, UnmatchedJob};
pub use crate::store::exclusions::Exclusion;
pub use crate::store::pauses::PauseRow;
pub use crate::store::plans::VersionRow;
pub use crate::store::policies::PolicyRow;
pub use crate::store::recovery::AttemptView;
pub use crate::store::schema::VERSION as SCHEMA_VERSION;
pub use crate::store::tickets::Filter as TicketFilter;
pub use crate::store::{file_mode, Store};

use crate::domain::change::{Change, ChangeState};
use crate::domain::task::Template;
use crate::domain::ticket::Ticket;
use crate::store::{
    audit, changes, cis, clients, events, exclusions, pauses, policies, recovery, templates,
    tickets,
};

pub fn clients(s: &Store) -> Result<Vec<ClientRow>> {
    clients::list(s.db())
}

/// A client by code (an error naming it when there is none).
pub fn client(s: &Store, code: &str) -> Result<ClientRow> {
    clients::get(s.db(), code)
}

pub fn client_by_id(s: &Store, id: i64) -> Result<ClientRow> {
    clients::get_by_id(s.db(), id)
}

/// A client's id by code, for filters (`None` stays `None`).
pub fn client_id(s: &Store, code: Option<&str>) -> Result<Option<i64>> {
    code.map(|c| client(s, c).map(|c| c.id)).transpose()
}

/// A policy of a client by job (an error naming it when there is none).
pub fn policy(s: &Store, client: &ClientRow, job: &str) -> Result<PolicyRow> {
    policies::get(s.db(), client.id, &client.code, job)
}

/// The CIs of a client, or of all clients.
/// A client's active policies.
pub fn policies(s: &Store, client_id: i64) -> Result<Vec<PolicyRow>> {
    crate::store::policies::list(s.db(), client_id, false)
}

pub fn cis(s: &Store, client_id: Option<i64>) -> Result<Vec<CiRow>> {
    cis::list(s.db(), client_id)
}

pub fn tickets(s: &Store, f: &TicketFilter) -> Result<Vec<Ticket>> {
    tickets::list(s.db(), f)
}

/// The entity types audit rows name (`audit list --entity TYPE[:ID]`).
pub const AUDIT_ENTITY_TYPES: &[&str] = &[
    "change",
    "ci",
    "client",
    "contact",
    "event_digest",
    "events",
    "exclusion",
    "hook",
    "pause",
    "plan",
    "policy",
    "recovery_attempt",
    "risk_acceptance",
    "rollup",
    "run",
    "task_template",
    "ticket",
];

/// Open corrective tickets and incidents.
pub fn open_problems(s: &Store) -> Result<usize> {
    let f = TicketFilter {
        kind: Some(crate::domain::ticket::TicketKind::Corrective),
        ..TicketFilter::default()
    };
    Ok(tickets::list(s.db(), &f)?.len())
}

pub fn ticket(s: &Store, id: i64) -> Result<Ticket> {
    tickets::get(s.db(), id)
}

pub fn events(s: &Store, f: &EventFilter) -> Result<Vec<EventView>> {
    events::list(s.db(), f)
}

pub fn unmatched_jobs(s: &Store, client_id: Option<i64>) -> Result<Vec<UnmatchedJob>> {
    events::unmatched_jobs(s.db(), client_id)
}

/// The exclusions of a client (or all) overlapping `[from, to)`.
pub fn exclusions(s: &Store, client_id: Option<i64>, from: i64, to: i64) -> Result<Vec<Exclusion>> {
    exclusions::list(s.db(), client_id, from, to)
}

pub fn changes(
    s: &Store,
    client_id: Option<i64>,
    state: Option<ChangeState>,
    open: bool,
) -> Result<Vec<Change>> {
    changes::list(s.db(), client_id, state, open)
}

pub fn change(s: &Store, id: i64) -> Result<Change> {
    changes::get(s.db(), id)
}

/// The pauses in force in `[from, to)` (`all`: ended ones too).
pub fn pauses(s: &Store, from: i64, to: i64, all: bool) -> Result<Vec<PauseRow>> {
    pauses::list(s.db(), from, to, all)
}

pub fn attempts(
    s: &Store,
    client_id: Option<i64>,
    policy_id: Option<i64>,
) -> Result<Vec<AttemptView>> {
    recovery::list(s.db(), client_id, policy_id)
}

pub fn templates(s: &Store) -> Result<Vec<Template>> {
    templates::list(s.db())
}

pub fn template(s: &Store, name: &str) -> Result<Template> {
    templates::get(s.db(), name)
}

pub fn find_template(s: &Store, name: &str) -> Result<Option<Template>> {
    templates::find(s.db(), name)
}

pub fn audit_rows(
    s: &Store,
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    since: Option<i64>,
) -> Result<Vec<AuditRow>> {
    audit::list(s.db(), entity_type, entity_id, since)
}

/// The audit chain's head, for a checkpoint.
pub fn audit_head(s: &Store) -> Result<Head> {
    audit::head(s.db())
}

/// The audit chain checked row by row.
pub fn audit_verify(s: &Store) -> Result<Verdict> {
    audit::verify(s.db())
}

/// What differs from a checkpoint taken at wall time `wall`.
pub fn audit_against(s: &Store, cp: &Head, wall: i64) -> Result<Vec<String>> {
    audit::against_checkpoint(s.db(), cp, wall)
}
