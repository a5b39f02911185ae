//! What `health` and `db check` read: clocks of the collectors, the outbox,
//! SQLite's own checks.

use crate::store::Db;
use anyhow::Result;
use rusqlite::OptionalExtension;

/// An active policy's client, zone, schedule, creation and newest run.
pub struct PolicyClock {
    pub client: String,
    pub timezone: String,
    pub schedule: String,
    pub created_at: i64,
    pub last_event_at: Option<i64>,
}

/// Every active policy's clock, by client code.
pub fn policy_clocks(conn: &Db) -> Result<Vec<PolicyClock>> {
    let mut stmt = conn.0.prepare(
        "SELECT c.code, c.timezone, p.schedule, p.created_at, s.last_event_at
         FROM policies p JOIN clients c ON c.id = p.client_id
         JOIN policy_state s ON s.policy_id = p.id
         WHERE p.status = 'active' ORDER BY c.code",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PolicyClock {
            client: r.get(0)?,
            timezone: r.get(1)?,
            schedule: r.get(2)?,
            created_at: r.get(3)?,
            last_event_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Per source, the newest end of a run in the last week of data (one key
/// range of the events table), by name.
pub fn newest_by_source(conn: &Db) -> Result<Vec<(String, i64)>> {
    let day: Option<i64> = conn
        .0
        .query_row("SELECT max(day) FROM job_events", [], |r| r.get(0))?;
    let Some(day) = day else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.0.prepare(
        "SELECT s.name, max(e.ended_at) FROM job_events e JOIN event_sources s ON s.id = e.source_id
         WHERE e.day >= ?1 GROUP BY s.name ORDER BY s.name",
    )?;
    let rows = stmt.query_map([day - 7], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the oldest waiting notification was queued: the first by id, one seek.
pub fn outbox_oldest(conn: &Db) -> Result<Option<i64>> {
    Ok(conn
        .0
        .query_row(
            "SELECT created_at FROM hook_outbox ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// The notifications waiting.
pub fn outbox_count(conn: &Db) -> Result<i64> {
    Ok(conn
        .0
        .query_row("SELECT count(*) FROM hook_outbox", [], |r| r.get(0))?)
}

/// SQLite's foreign-key check: each row pointing to a missing row, in words.
pub fn foreign_key_problems(conn: &Db) -> Result<Vec<String>> {
    let mut stmt = conn.0.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        let table: String = r.get(0)?;
        let rowid: Option<i64> = r.get(1)?;
        let parent: String = r.get(2)?;
        Ok(format!(
            "{table} row {} points to a missing {parent} row",
            rowid.unwrap_or(0)
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
