//! The `recovery_attempts` table: restore tests and real restores.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, Row};
use serde::Serialize;

use crate::domain::time::Ts;

/// An attempt to insert.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub client_id: i64,
    pub policy_id: i64,
    pub kind: String,
    pub outcome: String,
    pub started_at: i64,
    pub ended_at: i64,
    pub rto_s: i64,
    pub issues: Option<String>,
    pub command: Option<String>,
    pub verified: bool,
    pub task_ticket_id: Option<i64>,
    pub corrective_ticket_id: Option<i64>,
    pub actor: String,
    pub recorded_at: i64,
    /// The tool's key of the attempt (a Bacula restore's `DIRECTOR:JobId`).
    pub ext_id: Option<String>,
}

pub fn insert(conn: &Db, a: &NewAttempt) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO recovery_attempts (client_id, policy_id, kind, outcome, started_at, ended_at, rto_s, issues,
            command, verified, task_ticket_id, corrective_ticket_id, actor, recorded_at, ext_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            a.client_id,
            a.policy_id,
            a.kind,
            a.outcome,
            a.started_at,
            a.ended_at,
            a.rto_s,
            a.issues,
            a.command,
            a.verified,
            a.task_ticket_id,
            a.corrective_ticket_id,
            a.actor,
            a.recorded_at,
            a.ext_id
        ],
    )?;
    Ok(conn.0.last_insert_rowid())
}

/// A recovery attempt as lists print it (DESIGN's keys first).
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    pub id: i64,
    pub client: String,
    pub job: String,
    pub kind: String,
    pub outcome: String,
    pub started_at: Ts,
    pub ended_at: Ts,
    pub duration_s: i64,
    pub rto_s: i64,
    /// Whether a successful attempt took no longer than the RTO; `None`
    /// for a failed or partial one (it restored nothing in time).
    pub rto_met: Option<bool>,
    pub issues: Option<String>,
    pub verified: bool,
    pub task_ticket_id: Option<i64>,
    pub corrective_ticket_id: Option<i64>,
    #[serde(skip)]
    pub timezone: String,
}

const SELECT: &str = "SELECT a.id, c.code, p.job, a.kind, a.outcome, a.started_at, a.ended_at, a.rto_s, a.issues,
        a.verified, a.task_ticket_id, a.corrective_ticket_id, c.timezone
     FROM recovery_attempts a JOIN clients c ON c.id = a.client_id JOIN policies p ON p.id = a.policy_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<AttemptView> {
    let (s, e): (i64, i64) = (r.get(5)?, r.get(6)?);
    let rto: i64 = r.get(7)?;
    Ok(AttemptView {
        id: r.get(0)?,
        client: r.get(1)?,
        job: r.get(2)?,
        kind: r.get(3)?,
        outcome: r.get(4)?,
        started_at: Ts(s),
        ended_at: Ts(e),
        duration_s: e - s,
        rto_s: rto,
        rto_met: (r.get::<_, String>(4)? == "success").then_some(e - s <= rto),
        issues: r.get(8)?,
        verified: r.get(9)?,
        task_ticket_id: r.get(10)?,
        corrective_ticket_id: r.get(11)?,
        timezone: r.get(12)?,
    })
}

/// Attempts, oldest first, optionally of one client or one policy.
pub fn list(conn: &Db, client_id: Option<i64>, policy_id: Option<i64>) -> Result<Vec<AttemptView>> {
    let mut q = super::Query::new(format!("{SELECT} WHERE 1"));
    if let Some(c) = client_id {
        q.bind("a.client_id =", c.into());
    }
    if let Some(p) = policy_id {
        q.bind("a.policy_id =", p.into());
    }
    q.raw(" ORDER BY a.ended_at, a.id");
    let mut stmt = conn.0.prepare(&q.sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.args), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest successful attempt of a policy, if any.
pub fn last_success(conn: &Db, policy_id: i64) -> Result<Option<AttemptView>> {
    use rusqlite::OptionalExtension;
    Ok(conn.0
        .prepare_cached(&format!(
            "{SELECT} WHERE a.policy_id = ?1 AND a.outcome = 'success' ORDER BY a.ended_at DESC LIMIT 1"
        ))?
        .query_row([policy_id], from_row)
        .optional()?)
}
