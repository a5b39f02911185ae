//! The `exclusions` table: past occurrences a person took out of the
//! incident rate, with a reason.

use crate::store::Db;
use std::collections::HashSet;

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

use crate::domain::time::Ts;

#[derive(Debug, Clone, Serialize)]
pub struct Exclusion {
    pub id: i64,
    pub client: String,
    pub job: String,
    pub occurrence_at: Ts,
    /// The window's outcome when it was excluded.
    pub outcome: String,
    pub reason: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub actor: String,
    pub at: Ts,
}

pub struct New<'a> {
    pub policy_id: i64,
    pub client_id: i64,
    pub occurrence_at: i64,
    pub outcome: &'a str,
    pub reason: &'a str,
    pub reference: Option<&'a str>,
    pub actor: &'a str,
    pub at: i64,
}

pub fn insert(conn: &Db, n: &New<'_>) -> Result<i64> {
    conn.0.prepare_cached(
        "INSERT INTO exclusions (policy_id, client_id, occurrence_at, outcome, reason, ref, actor, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        n.policy_id,
        n.client_id,
        n.occurrence_at,
        n.outcome,
        n.reason,
        n.reference,
        n.actor,
        n.at
    ])?;
    Ok(conn.0.last_insert_rowid())
}

/// The (policy, occurrence) of every exclusion.
pub fn keys(conn: &Db) -> Result<HashSet<(i64, i64)>> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT policy_id, occurrence_at FROM exclusions")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A client's (or all clients') exclusions of occurrences in `[from, to)`.
pub fn list(conn: &Db, client_id: Option<i64>, from: i64, to: i64) -> Result<Vec<Exclusion>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT x.id, c.code, p.job, x.occurrence_at, x.outcome, x.reason, x.ref, x.actor, x.at
         FROM exclusions x JOIN clients c ON c.id = x.client_id JOIN policies p ON p.id = x.policy_id
         WHERE (?1 IS NULL OR x.client_id = ?1) AND x.occurrence_at >= ?2 AND x.occurrence_at < ?3
         ORDER BY x.occurrence_at, x.id",
    )?;
    let rows = stmt.query_map(params![client_id, from, to], |r| {
        Ok(Exclusion {
            id: r.get(0)?,
            client: r.get(1)?,
            job: r.get(2)?,
            occurrence_at: Ts(r.get(3)?),
            outcome: r.get(4)?,
            reason: r.get(5)?,
            reference: r.get(6)?,
            actor: r.get(7)?,
            at: Ts(r.get(8)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether any occurrence was ever excluded.
pub fn any(conn: &Db) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM exclusions)")?
        .query_row([], |r| r.get(0))?)
}
