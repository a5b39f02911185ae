//! The `pauses` table: maintenance windows of a client, a CI or a policy.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::domain::time::Ts;
use crate::error::not_found;

#[derive(Debug, Clone, Serialize)]
pub struct PauseRow {
    pub id: i64,
    #[serde(skip)]
    pub client_id: i64,
    pub client: String,
    #[serde(skip)]
    pub ci_id: Option<i64>,
    pub ci: Option<String>,
    #[serde(skip)]
    pub policy_id: Option<i64>,
    pub job: Option<String>,
    pub starts_at: Ts,
    pub ends_at: Ts,
    pub reason: String,
    pub owner: String,
    pub closed_at: Option<Ts>,
    pub closed_by: Option<String>,
}

impl PauseRow {
    /// The end in force: the planned end, or earlier when ended by hand.
    pub fn effective_end(&self) -> i64 {
        self.closed_at
            .map_or(self.ends_at.0, |c| c.0.min(self.ends_at.0))
    }

    pub fn covers(&self, t: i64) -> bool {
        t >= self.starts_at.0 && t < self.effective_end()
    }

    /// Whether this pause applies to a policy of a CI of a client.
    pub fn applies_to(&self, client_id: i64, ci_id: i64, policy_id: i64) -> bool {
        self.client_id == client_id
            && self.ci_id.is_none_or(|c| c == ci_id)
            && self.policy_id.is_none_or(|p| p == policy_id)
    }

    pub fn target(&self) -> String {
        match (&self.job, &self.ci) {
            (Some(j), _) => format!("job {}/{j}", self.client),
            (None, Some(h)) => format!("ci {}/{h}", self.client),
            _ => format!("client {}", self.client),
        }
    }
}

const SELECT: &str = "SELECT pa.id, pa.client_id, c.code, pa.ci_id, ci.host, pa.policy_id, p.job, pa.starts_at, pa.ends_at,
        pa.reason, pa.owner, pa.closed_at, pa.closed_by
     FROM pauses pa JOIN clients c ON c.id = pa.client_id
     LEFT JOIN cis ci ON ci.id = pa.ci_id LEFT JOIN policies p ON p.id = pa.policy_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PauseRow> {
    Ok(PauseRow {
        id: r.get(0)?,
        client_id: r.get(1)?,
        client: r.get(2)?,
        ci_id: r.get(3)?,
        ci: r.get(4)?,
        policy_id: r.get(5)?,
        job: r.get(6)?,
        starts_at: Ts(r.get(7)?),
        ends_at: Ts(r.get(8)?),
        reason: r.get(9)?,
        owner: r.get(10)?,
        closed_at: r.get::<_, Option<i64>>(11)?.map(Ts),
        closed_by: r.get(12)?,
    })
}

pub struct NewPause<'a> {
    pub client_id: i64,
    pub ci_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: &'a str,
    pub owner: &'a str,
    pub created_at: i64,
}

pub fn insert(conn: &Db, p: &NewPause<'_>) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO pauses (client_id, ci_id, policy_id, starts_at, ends_at, reason, owner, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![p.client_id, p.ci_id, p.policy_id, p.starts_at, p.ends_at, p.reason, p.owner, p.created_at],
    )?;
    Ok(conn.0.last_insert_rowid())
}

pub fn get(conn: &Db, id: i64) -> Result<PauseRow> {
    conn.0
        .prepare_cached(&format!("{SELECT} WHERE pa.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| not_found(format!("no pause #{id}; see `bmctl pause list --all`")))
}

/// Pauses in force at some point of `[from, to)`; all of them with `all`.
pub fn list(conn: &Db, from: i64, to: i64, all: bool) -> Result<Vec<PauseRow>> {
    let mut stmt = conn.0.prepare_cached(&format!(
        "{SELECT} WHERE ?3 OR (pa.starts_at < ?2 AND min(pa.ends_at, coalesce(pa.closed_at, pa.ends_at)) > ?1)
         ORDER BY pa.starts_at, pa.id"
    ))?;
    let rows = stmt.query_map(params![from, to, all], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Pauses whose end has passed but that were not closed yet.
pub fn expired_open(conn: &Db, now: i64) -> Result<Vec<PauseRow>> {
    let mut stmt = conn.0.prepare_cached(&format!(
        "{SELECT} WHERE pa.closed_at IS NULL AND pa.ends_at <= ?1 ORDER BY pa.id"
    ))?;
    let rows = stmt.query_map([now], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn close(conn: &Db, id: i64, at: i64, by: &str) -> Result<()> {
    conn.0.execute(
        "UPDATE pauses SET closed_at = ?2, closed_by = ?3 WHERE id = ?1",
        params![id, at, by],
    )?;
    Ok(())
}
