//! The `tickets` and `ticket_notes` tables.

use crate::store::Db;
use std::sync::OnceLock;

use super::word;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::domain::ticket::{ProblemClass, Ticket, TicketKind, TicketStatus};
use crate::domain::time::Ts;
use crate::error::not_found;

const SELECT: &str = "SELECT t.id, t.kind, t.class, t.client_id, c.code, t.ci_id, ci.host, t.policy_id, p.job,
        t.title, t.status, t.priority, t.assignee, t.opened_at, t.updated_at, t.due_at, t.started_at,
        t.resolved_at, t.occurrences, t.first_seen_at, t.last_seen_at, t.resolution, t.cause,
        t.auto_resolved_at, t.recovered_at, t.psa_ref, t.linked_ticket_id, t.template_id,
        t.occurrence_at, t.checklist, t.result, t.not_applicable, c.sla_tier,
        t.waiting_since, t.waiting_reason, t.waited_s
     FROM tickets t
     JOIN clients c ON c.id = t.client_id
     LEFT JOIN cis ci ON ci.id = t.ci_id
     LEFT JOIN policies p ON p.id = t.policy_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        kind: word(r, 1, TicketKind::parse)?,
        class: super::word_opt(r, 2, ProblemClass::parse)?,
        client_id: r.get(3)?,
        client: r.get(4)?,
        ci_id: r.get(5)?,
        ci: r.get(6)?,
        policy_id: r.get(7)?,
        job: r.get(8)?,
        title: r.get(9)?,
        status: word(r, 10, TicketStatus::parse)?,
        priority: r.get(11)?,
        assignee: r.get(12)?,
        opened_at: r.get(13)?,
        updated_at: r.get(14)?,
        due_at: r.get(15)?,
        started_at: r.get(16)?,
        resolved_at: r.get(17)?,
        occurrences: r.get(18)?,
        first_seen_at: r.get(19)?,
        last_seen_at: r.get(20)?,
        resolution: r.get(21)?,
        cause: r.get(22)?,
        auto_resolved_at: r.get(23)?,
        recovered_at: r.get(24)?,
        psa_ref: r.get(25)?,
        linked_ticket_id: r.get(26)?,
        template_id: r.get(27)?,
        occurrence_at: r.get(28)?,
        checklist: r
            .get::<_, Option<String>>(29)?
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
        result: r.get(30)?,
        not_applicable: r.get(31)?,
        sla_tier: r.get(32)?,
        waiting_since: r.get(33)?,
        waiting_reason: r.get(34)?,
        waited_s: r.get(35)?,
    })
}

pub fn get(conn: &Db, id: i64) -> Result<Ticket> {
    conn.0
        .prepare_cached(&format!("{SELECT} WHERE t.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| {
            not_found(format!(
                "no ticket #{id}; see `bmctl correct list --all` or `bmctl tasks due`"
            ))
        })
}

/// The open corrective ticket or incident of a policy for a problem class.
pub(crate) fn find_open_sql() -> String {
    format!(
        "{SELECT} WHERE t.policy_id = ?1 AND t.class = ?2 AND t.status IN ('open', 'in_progress')
           AND t.kind IN ('corrective', 'incident')"
    )
}

static FIND_OPEN: OnceLock<String> = OnceLock::new();

pub fn find_open(conn: &Db, policy_id: i64, class: ProblemClass) -> Result<Option<Ticket>> {
    Ok(conn
        .0
        .prepare_cached(FIND_OPEN.get_or_init(find_open_sql))?
        .query_row(params![policy_id, class], from_row)
        .optional()?)
}

/// The newest ticket of a policy and class that bmctl auto-resolved at or
/// after `since`, other than those `skip` says the caller holds already.
pub fn find_auto_resolved_since(
    conn: &Db,
    policy_id: i64,
    class: ProblemClass,
    since: i64,
    skip: impl Fn(i64) -> bool,
) -> Result<Option<Ticket>> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "{SELECT} WHERE t.policy_id = ?1 AND t.class = ?2 AND t.status = 'resolved'
               AND coalesce(t.recovered_at, t.resolved_at) >= ?3 AND t.auto_resolved_at IS NOT NULL
             ORDER BY coalesce(t.recovered_at, t.resolved_at) DESC"
        )
    });
    let mut stmt = conn.0.prepare_cached(sql)?;
    let mut rows = stmt.query(params![policy_id, class, since])?;
    while let Some(row) = rows.next()? {
        let t = from_row(row)?;
        if !skip(t.id) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The id the next ticket will get (tickets are numbered in order; callers
/// that write a batch of tickets at once number them ahead).
pub fn next_id(conn: &Db) -> Result<i64> {
    Ok(conn
        .0
        .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM tickets")?
        .query_row([], |r| r.get(0))?)
}

/// The query of [`open_for_known_policy`].
pub(crate) fn open_for_known_policy_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let (columns, _) = SELECT.split_once("FROM tickets t").unwrap_or_default();
        let columns = columns
            .replace("c.code", "?2")
            .replace("ci.host", "NULL")
            .replace("p.job", "?3")
            .replace("c.sla_tier", "?4");
        format!(
            "{columns} FROM tickets t WHERE t.policy_id = ?1 AND t.status IN ('open', 'in_progress')
               AND t.kind IN ('corrective', 'incident')"
        )
    })
}

/// The open corrective tickets and incidents of a policy whose client, job
/// and SLA tier the caller knows, in no order: the tickets alone, no join
/// (their CI's host is left out). The ticket automation reads a policy's open tickets
/// this way once per batch, in a fresh process mostly from pages not
/// cached yet.
pub fn open_for_known_policy(
    conn: &Db,
    policy_id: i64,
    client: &str,
    job: &str,
    sla_tier: &str,
) -> Result<Vec<Ticket>> {
    let mut stmt = conn.0.prepare_cached(open_for_known_policy_sql())?;
    let rows = stmt.query_map(params![policy_id, client, job, sla_tier], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The open task of a policy from the named template (the earliest due).
pub fn open_task_of(conn: &Db, policy_id: i64, template: &str) -> Result<Option<Ticket>> {
    Ok(conn.0
        .prepare_cached(&format!(
            "{SELECT} WHERE t.policy_id = ?1 AND t.kind = 'task' AND t.status IN ('open', 'in_progress')
               AND t.template_id = (SELECT id FROM task_templates WHERE name = ?2)
             ORDER BY t.due_at LIMIT 1"
        ))?
        .query_row(params![policy_id, template], from_row)
        .optional()?)
}

/// The query of [`tasks_due_between`]: a seek on (client, due) or (kind, due).
pub(crate) fn tasks_due_sql(client_id: Option<i64>, from: i64, to: i64) -> super::Query {
    let mut q = super::Query::new(
        "SELECT t.due_at, t.status, t.resolved_at, t.not_applicable FROM tickets t
         WHERE t.kind = 'task'",
    );
    if let Some(c) = client_id {
        q.bind("t.client_id =", c.into());
    }
    q.bind("t.due_at >=", from.into());
    q.bind("t.due_at <", to.into());
    q
}

/// Task outcomes for compliance: tasks due in `[from, to)`, optionally of one client.
pub fn tasks_due_between(
    conn: &Db,
    client_id: Option<i64>,
    from: i64,
    to: i64,
) -> Result<Vec<crate::domain::task::TaskOutcome>> {
    let q = tasks_due_sql(client_id, from, to);
    let mut stmt = conn.0.prepare_cached(&q.sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.args), |r| {
        Ok(crate::domain::task::TaskOutcome {
            due_at: r.get(0)?,
            status: r.get(1)?,
            resolved_at: r.get(2)?,
            not_applicable: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Without the index named, SQLite picks `tickets_kind_opened` and reads
/// every corrective ticket ever opened, once per ingest batch.
pub const POLICIES_WITH_OPEN: &str = "SELECT DISTINCT policy_id FROM tickets INDEXED BY tickets_open_due
     WHERE kind IN ('corrective', 'incident') AND status IN ('open', 'in_progress') AND policy_id IS NOT NULL";

/// The policies that have an open corrective ticket or incident (few: read
/// once per ingest batch through the partial index on open tickets).
pub fn policies_with_open(conn: &Db) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.0.prepare_cached(POLICIES_WITH_OPEN)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The columns a ticket is inserted with, in [`bind_ticket`]'s order.
const COLUMNS: [&str; 32] = [
    "id",
    "kind",
    "class",
    "client_id",
    "ci_id",
    "policy_id",
    "title",
    "status",
    "priority",
    "assignee",
    "opened_at",
    "updated_at",
    "due_at",
    "started_at",
    "resolved_at",
    "occurrences",
    "first_seen_at",
    "last_seen_at",
    "resolution",
    "cause",
    "auto_resolved_at",
    "recovered_at",
    "psa_ref",
    "linked_ticket_id",
    "template_id",
    "occurrence_at",
    "checklist",
    "result",
    "not_applicable",
    "waiting_since",
    "waiting_reason",
    "waited_s",
];

/// Bind a ticket's [`COLUMNS`] from parameter `first` on (an `id` of 0:
/// the next free number).
fn bind_ticket(
    stmt: &mut rusqlite::Statement<'_>,
    first: usize,
    t: &Ticket,
) -> rusqlite::Result<()> {
    let mut at = first;
    let mut bind = |v: &dyn rusqlite::ToSql| {
        let bound = stmt.raw_bind_parameter(at, v);
        at += 1;
        bound
    };
    bind(&(t.id != 0).then_some(t.id))?;
    bind(&t.kind)?;
    bind(&t.class)?;
    bind(&t.client_id)?;
    bind(&t.ci_id)?;
    bind(&t.policy_id)?;
    bind(&t.title)?;
    bind(&t.status)?;
    bind(&t.priority)?;
    bind(&t.assignee)?;
    bind(&t.opened_at)?;
    bind(&t.updated_at)?;
    bind(&t.due_at)?;
    bind(&t.started_at)?;
    bind(&t.resolved_at)?;
    bind(&t.occurrences)?;
    bind(&t.first_seen_at)?;
    bind(&t.last_seen_at)?;
    bind(&t.resolution)?;
    bind(&t.cause)?;
    bind(&t.auto_resolved_at)?;
    bind(&t.recovered_at)?;
    bind(&t.psa_ref)?;
    bind(&t.linked_ticket_id)?;
    bind(&t.template_id)?;
    bind(&t.occurrence_at)?;
    bind(&checklist_json(t))?;
    bind(&t.result)?;
    bind(&t.not_applicable)?;
    bind(&t.waiting_since)?;
    bind(&t.waiting_reason)?;
    bind(&t.waited_s)
}

/// Insert a ticket (numbered by the caller when its `id` is not 0); `None`
/// when a task for the same occurrence exists already.
/// Record a ticket's closure or reopening when its status crossed between
/// open and closed (`before` `None`: a new ticket, born closed or not).
fn track_closure(conn: &Db, before: Option<&Ticket>, t: &Ticket) -> Result<()> {
    let was_open = before.is_none_or(Ticket::is_open);
    match (was_open, t.is_open()) {
        (true, false) => {
            conn.0
                .prepare_cached(
                    "INSERT INTO ticket_closures (ticket_id, closed_at) VALUES (?1, ?2)
                 ON CONFLICT (ticket_id, closed_at) DO UPDATE SET reopened_at = NULL",
                )?
                .execute(rusqlite::params![
                    t.id,
                    t.resolved_at.unwrap_or(t.updated_at)
                ])?;
        }
        (false, true) => {
            conn.0.prepare_cached(
                "UPDATE ticket_closures SET reopened_at = ?2 WHERE ticket_id = ?1 AND reopened_at IS NULL",
            )?
            .execute(rusqlite::params![t.id, t.updated_at])?;
        }
        _ => {}
    }
    Ok(())
}

pub fn try_insert(conn: &Db, t: &Ticket) -> Result<Option<i64>> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "INSERT INTO tickets ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            COLUMNS.join(", "),
            vec!["?"; COLUMNS.len()].join(", ")
        )
    });
    let mut stmt = conn.0.prepare_cached(sql)?;
    bind_ticket(&mut stmt, 1, t)?;
    if stmt.raw_execute()? != 1 {
        return Ok(None);
    }
    let id = conn.0.last_insert_rowid();
    if !t.is_open() {
        track_closure(conn, None, &Ticket { id, ..t.clone() })?;
    }
    Ok(Some(id))
}

pub fn insert(conn: &Db, t: &Ticket) -> Result<i64> {
    try_insert(conn, t)?.ok_or_else(|| anyhow::anyhow!("ticket for {} exists already", t.title))
}

/// Insert tickets numbered by the caller, 16 to a statement; any conflict
/// is an error.
pub fn insert_numbered(conn: &Db, tickets: &[&Ticket]) -> Result<()> {
    debug_assert!(tickets.iter().all(|t| t.id != 0));
    super::insert_rows(conn, "tickets", &COLUMNS, tickets, |stmt, first, t| {
        bind_ticket(stmt, first, t)
    })?;
    for t in tickets.iter().filter(|t| !t.is_open()) {
        track_closure(conn, None, t)?;
    }
    Ok(())
}

/// Write back the fields a ticket's life changes, those that differ from
/// `before` (the same ticket as read): an index none of whose columns
/// changed keeps its pages clean (every column in a `SET` counts as
/// changed, and the nine ticket indexes' pages would be most of the
/// automation's writes).
pub fn save(conn: &Db, before: &Ticket, t: &Ticket) -> Result<()> {
    debug_assert_eq!(before.id, t.id);
    track_closure(conn, Some(before), t)?;
    let checklist = checklist_json(t);
    let mut changed: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
    macro_rules! field {
        ($($name:ident),*) => {
            $(if before.$name != t.$name {
                changed.push((stringify!($name), &t.$name));
            })*
        };
    }
    field!(
        kind,
        title,
        status,
        priority,
        assignee,
        updated_at,
        due_at,
        started_at,
        resolved_at,
        occurrences,
        first_seen_at,
        last_seen_at,
        resolution,
        cause,
        auto_resolved_at,
        recovered_at,
        psa_ref,
        linked_ticket_id,
        result,
        not_applicable,
        waiting_since,
        waiting_reason,
        waited_s
    );
    if before.checklist != t.checklist {
        changed.push(("checklist", &checklist));
    }
    if changed.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = changed
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ?{}", i + 2))
        .collect();
    let sql = format!("UPDATE tickets SET {} WHERE id = ?1", sets.join(", "));
    let args =
        std::iter::once(&t.id as &dyn rusqlite::ToSql).chain(changed.into_iter().map(|(_, v)| v));
    conn.0
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(())
}

/// The fields of a ticket as serialized (and audited), in order.
macro_rules! audited_fields {
    ($m:ident) => {
        $m!(
            id,
            kind,
            class,
            client,
            ci,
            job,
            title,
            status,
            priority,
            assignee,
            opened_at,
            updated_at,
            due_at,
            started_at,
            resolved_at,
            occurrences,
            first_seen_at,
            last_seen_at,
            resolution,
            cause,
            auto_resolved_at,
            recovered_at,
            psa_ref,
            linked_ticket_id,
            template_id,
            occurrence_at,
            checklist,
            result,
            not_applicable,
            waiting_since,
            waiting_reason,
            waited_s
        )
    };
}

/// The audit row's sides of a change of a ticket: the fields that differ,
/// in field order. What [`super::audit::diff`] makes of the two tickets,
/// without turning both whole into JSON trees first (a test holds the two
/// equal, and the field list to the serialized one).
pub fn audit_diff(before: &Ticket, after: &Ticket) -> Result<(Option<String>, Option<String>)> {
    use serde_json::{Map, Value};
    let (mut b, mut a) = (Map::new(), Map::new());
    macro_rules! changed {
        ($($name:ident),*) => {
            $(if before.$name != after.$name {
                let old = serde_json::to_value(&before.$name)?;
                if !old.is_null() {
                    b.insert(stringify!($name).into(), old);
                }
                a.insert(stringify!($name).into(), serde_json::to_value(&after.$name)?);
            })*
        };
    }
    audited_fields!(changed);
    Ok((
        Some(Value::Object(b).to_string()),
        Some(Value::Object(a).to_string()),
    ))
}

fn checklist_json(t: &Ticket) -> Option<String> {
    (!t.checklist.is_empty()).then(|| serde_json::to_string(&t.checklist).unwrap_or_default())
}

/// One line of a ticket's work log.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub at: Ts,
    pub actor: String,
    pub kind: String,
    pub text: String,
}

pub fn add_note(
    conn: &Db,
    ticket_id: i64,
    at: i64,
    actor: &str,
    kind: &str,
    text: &str,
) -> Result<()> {
    conn.0.prepare_cached(
        "INSERT INTO ticket_notes (ticket_id, at, actor, kind, text) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![ticket_id, at, actor, kind, text])?;
    Ok(())
}

/// Work-log lines of many tickets, all by one actor at one time: ticket,
/// kind, text.
pub fn add_notes(conn: &Db, at: i64, actor: &str, notes: &[(i64, &str, String)]) -> Result<()> {
    super::insert_rows(
        conn,
        "ticket_notes",
        &["ticket_id", "at", "actor", "kind", "text"],
        notes,
        |stmt, first, (ticket_id, kind, text)| {
            stmt.raw_bind_parameter(first, ticket_id)?;
            stmt.raw_bind_parameter(first + 1, at)?;
            stmt.raw_bind_parameter(first + 2, actor)?;
            stmt.raw_bind_parameter(first + 3, kind)?;
            stmt.raw_bind_parameter(first + 4, text)
        },
    )
}

/// The open tasks of a policy, by id.
pub fn open_tasks_of_policy(conn: &Db, policy_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT id FROM tickets WHERE policy_id = ?1 AND kind = 'task'
           AND status IN ('open', 'in_progress') ORDER BY id",
    )?;
    let rows = stmt.query_map([policy_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether anyone but bmctl wrote in a ticket's work log (a note, a
/// status change, an assignment).
pub fn touched_by_a_person(conn: &Db, ticket_id: i64) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM ticket_notes WHERE ticket_id = ?1 AND actor <> 'bmctl')",
        )?
        .query_row([ticket_id], |r| r.get(0))?)
}

pub fn notes(conn: &Db, ticket_id: i64) -> Result<Vec<Note>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT at, actor, kind, text FROM ticket_notes WHERE ticket_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map([ticket_id], |r| {
        Ok(Note {
            at: Ts(r.get(0)?),
            actor: r.get(1)?,
            kind: r.get(2)?,
            text: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which tickets a list shows.
#[derive(Debug, Default)]
pub struct Filter {
    pub client_id: Option<i64>,
    /// `task`, or `corrective` (which includes incidents), or `incident`.
    /// `Corrective`: corrective tickets and incidents.
    pub kind: Option<TicketKind>,
    pub status: Option<TicketStatus>,
    /// Include resolved and skipped tickets.
    pub all: bool,
    pub updated_since: Option<i64>,
    /// Only tickets due before this instant.
    pub due_before: Option<i64>,
    pub assignee: Option<String>,
}

/// The query for [`list`]: open tickets through the partial index on open
/// tickets by kind and due time; one client's through its (client, due) index.
pub(crate) fn list_sql(f: &Filter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let open_only = f.status.is_none() && !f.all && f.updated_since.is_none();
    // Across clients, the open list reads the partial index of open tickets
    // (the planner, without statistics, would take the index of all tickets).
    let from = if open_only && f.client_id.is_none() && f.kind.is_some() {
        SELECT.replacen(
            "FROM tickets t",
            "FROM tickets t INDEXED BY tickets_open_due",
            1,
        )
    } else {
        SELECT.to_string()
    };
    let mut q = super::Query::new(format!("{from} WHERE 1"));
    if let Some(c) = f.client_id {
        q.bind("t.client_id =", Value::Integer(c));
    }
    match f.kind {
        Some(TicketKind::Corrective) => q.raw(" AND t.kind IN ('corrective', 'incident')"),
        // spelled out, so that a client's tasks read the partial index of tasks
        Some(TicketKind::Task) => q.raw(" AND t.kind = 'task'"),
        Some(k) => q.bind("t.kind =", Value::Text(k.as_str().into())),
        None => {}
    }
    if let Some(st) = f.status {
        q.bind("t.status =", Value::Text(st.as_str().into()));
    } else if !f.all && f.updated_since.is_none() {
        q.raw(" AND t.status IN ('open', 'in_progress')");
    }
    if let Some(t) = f.updated_since {
        q.bind("t.updated_at >", Value::Integer(t));
    }
    if let Some(t) = f.due_before {
        q.bind("t.due_at <", Value::Integer(t));
    }
    if let Some(a) = &f.assignee {
        q.bind("t.assignee =", Value::Text(a.clone()));
    }
    q.raw(" ORDER BY t.due_at, t.id");
    (q.sql, q.args)
}

/// Tickets matching `f`, by due time (then id).
pub fn list(conn: &Db, f: &Filter) -> Result<Vec<Ticket>> {
    let (sql, args) = list_sql(f);
    let mut stmt = conn.0.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl rusqlite::ToSql for TicketKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::ToSql for ProblemClass {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::ToSql for TicketStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The ticket audit diff is the generic one, field for field: every
    /// serialized field is in its list, and changes of each kind agree.
    #[test]
    fn ticket_audit_diff_is_the_generic_diff() {
        let t = Ticket::new(
            TicketKind::Corrective,
            1,
            "acme",
            "Backup failed".into(),
            3,
            100,
        );
        macro_rules! names {
            ($($name:ident),*) => { vec![$(stringify!($name)),*] };
        }
        let listed: Vec<&str> = audited_fields!(names);
        let serialized = serde_json::to_value(&t).unwrap();
        let serialized: Vec<&str> = serialized
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(listed, serialized);

        let mut resolved = t.clone();
        resolved
            .resolve("auto-recovered", "a good run", 200)
            .unwrap();
        resolved.auto_resolved_at = Some(200);
        let mut escalated = t.clone();
        escalated.escalate(300).unwrap();
        escalated.due_at = Some(900);
        let mut everything = t.clone();
        everything.id = 9;
        everything.kind = TicketKind::Task;
        everything.class = Some(ProblemClass::Missed);
        everything.client = "other".into();
        everything.ci = Some("fs01".into());
        everything.job = Some("nightly".into());
        everything.title = "Another".into();
        everything.status = TicketStatus::InProgress;
        everything.priority = 1;
        everything.assignee = Some("kim".into());
        everything.opened_at = 1;
        everything.updated_at = 2;
        everything.due_at = Some(3);
        everything.started_at = Some(4);
        everything.resolved_at = Some(5);
        everything.occurrences = 6;
        everything.first_seen_at = Some(7);
        everything.last_seen_at = Some(8);
        everything.resolution = Some("fixed".into());
        everything.cause = Some("media".into());
        everything.auto_resolved_at = Some(9);
        everything.recovered_at = Some(10);
        everything.psa_ref = Some("PSA-1".into());
        everything.linked_ticket_id = Some(11);
        everything.template_id = Some(12);
        everything.occurrence_at = Some(13);
        everything.checklist = vec![crate::domain::ticket::ChecklistItem {
            item: "look".into(),
            done: true,
        }];
        everything.result = Some("ok".into());
        everything.not_applicable = true;
        everything.waiting_since = Some(14);
        everything.waiting_reason = Some("client powered it off".into());
        everything.waited_s = Some(15);
        for after in [&t, &resolved, &escalated, &everything] {
            for (b, a) in [(&t, after), (after, &t)] {
                assert_eq!(
                    audit_diff(b, a).unwrap(),
                    crate::store::audit::diff(Some(b), Some(a)).unwrap()
                );
            }
        }
        let (_, all) = audit_diff(&t, &everything).unwrap();
        let all: serde_json::Value = serde_json::from_str(&all.unwrap()).unwrap();
        assert_eq!(
            all.as_object().unwrap().len(),
            listed.len(),
            "every field differs"
        );
    }

    /// `save` writes the changed fields (and only those: a save with
    /// nothing changed runs no statement).
    #[test]
    fn save_writes_what_changed() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.0.execute(
            "INSERT INTO clients (code, name, timezone, sla_tier, created_at, updated_at)
             VALUES ('acme', 'Acme', 'UTC', 'gold', 0, 0)",
            [],
        )
        .unwrap();
        let mut t = Ticket::new(
            TicketKind::Corrective,
            1,
            "acme",
            "Backup failed".into(),
            3,
            100,
        );
        t.class = Some(ProblemClass::Failed);
        t.id = insert(c, &t).unwrap();
        let before = get(c, t.id).unwrap();
        let changes = c.0.total_changes();
        save(c, &before, &before.clone()).unwrap();
        assert_eq!(
            c.0.total_changes(),
            changes,
            "nothing changed, nothing written"
        );

        let mut after = before.clone();
        after.resolve("auto-recovered", "a good run", 200).unwrap();
        after.auto_resolved_at = Some(200);
        after.occurrences = 2;
        save(c, &before, &after).unwrap();
        let stored = get(c, t.id).unwrap();
        assert_eq!(stored.status, TicketStatus::Resolved);
        assert_eq!(stored.resolved_at, Some(200));
        assert_eq!(stored.auto_resolved_at, Some(200));
        assert_eq!(stored.resolution, after.resolution);
        assert_eq!(stored.occurrences, 2);
        assert_eq!((stored.kind.as_str(), stored.priority), ("corrective", 3));
    }
}
