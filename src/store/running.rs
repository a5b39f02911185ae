//! The `running_runs` table: start records of runs still going (DESIGN,
//! "Runs still going"). The terminal record of a run replaces its start.

use crate::store::Db;
use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

/// A run still going, as `check` judges its window.
#[derive(Debug, Clone, Copy)]
pub struct Running {
    pub started_at: i64,
    /// The window `check` closed as hung, if it has.
    pub hung_window: Option<i64>,
    /// The window `check` passed by while the run was going (not counted yet).
    pub pending_window: Option<i64>,
}

/// Record a start; false when it is known already.
pub fn insert(
    conn: &Db,
    policy_id: i64,
    client_id: i64,
    started_at: i64,
    source_id: i64,
) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached(
            "INSERT INTO running_runs (policy_id, client_id, started_at, source_id)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![policy_id, client_id, started_at, source_id])?
        == 1)
}

/// Remove the start record a terminal record replaces; `Some` when there
/// was one, with the window `check` had counted as hung and the one it had
/// passed by while the run was going.
pub fn end(
    conn: &Db,
    policy_id: i64,
    started_at: i64,
) -> Result<Option<(Option<i64>, Option<i64>)>> {
    Ok(conn
        .0
        .prepare_cached(
            "DELETE FROM running_runs WHERE policy_id = ?1 AND started_at = ?2
             RETURNING hung_window, pending_window",
        )?
        .query_row(params![policy_id, started_at], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// `check` passed the run's window by while it was going.
pub fn mark_pending(conn: &Db, policy_id: i64, started_at: i64, window: i64) -> Result<()> {
    conn.0
        .prepare_cached(
            "UPDATE running_runs SET pending_window = ?3 WHERE policy_id = ?1 AND started_at = ?2",
        )?
        .execute(params![policy_id, started_at, window])?;
    Ok(())
}

/// The (policy, start) of every run still going.
pub fn keys(conn: &Db) -> Result<std::collections::HashSet<(i64, i64)>> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT policy_id, started_at FROM running_runs")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every run still going, by policy, oldest first.
pub fn all(conn: &Db) -> Result<HashMap<i64, Vec<Running>>> {
    let mut out: HashMap<i64, Vec<Running>> = HashMap::new();
    let mut stmt = conn.0.prepare_cached(
        "SELECT policy_id, started_at, hung_window, pending_window FROM running_runs
         ORDER BY policy_id, started_at",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(Running {
            started_at: r.get(1)?,
            hung_window: r.get(2)?,
            pending_window: r.get(3)?,
        });
    }
    Ok(out)
}

/// The oldest start of a policy's runs still going.
pub fn earliest(conn: &Db, policy_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .0
        .prepare_cached("SELECT min(started_at) FROM running_runs WHERE policy_id = ?1")?
        .query_row([policy_id], |r| r.get(0))?)
}

/// `check` counted the run's window as hung (a failed occurrence).
pub fn mark_hung(conn: &Db, policy_id: i64, started_at: i64, window: i64) -> Result<()> {
    conn.0
        .prepare_cached(
            "UPDATE running_runs SET hung_window = ?3, pending_window = NULL
         WHERE policy_id = ?1 AND started_at = ?2",
        )?
        .execute(params![policy_id, started_at, window])?;
    Ok(())
}

/// Whether a run still going holds the window at `window` as hung.
pub fn holds_hung(conn: &Db, policy_id: i64, window: i64) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM running_runs WHERE policy_id = ?1 AND hung_window = ?2)",
        )?
        .query_row(params![policy_id, window], |r| r.get(0))?)
}

/// A terminal run decided the window `window` that runs still going held:
/// they hold it no more. Returns whether any did.
pub fn clear_pending(conn: &Db, policy_id: i64, window: i64) -> Result<bool> {
    Ok(conn.0
        .prepare_cached(
            "UPDATE running_runs SET pending_window = NULL WHERE policy_id = ?1 AND pending_window = ?2",
        )?
        .execute(params![policy_id, window])?
        > 0)
}
