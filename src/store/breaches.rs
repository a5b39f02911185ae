//! The `rpo_breaches` table: gaps between restore points longer than a
//! policy's RPO + grace.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::domain::time::Ts;

#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub client: String,
    pub job: String,
    pub gap_from: Ts,
    pub gap_to: Ts,
    pub ticket_id: Option<i64>,
}

/// Record a gap; false when it is known.
pub fn insert(
    conn: &Db,
    policy_id: i64,
    client_id: i64,
    from: i64,
    to: i64,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached(
            "INSERT INTO rpo_breaches (policy_id, client_id, gap_from, gap_to, found_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![policy_id, client_id, from, to, now])?
        == 1)
}

pub fn set_ticket(conn: &Db, policy_id: i64, from: i64, ticket_id: i64) -> Result<()> {
    conn.0
        .prepare_cached(
            "UPDATE rpo_breaches SET ticket_id = ?3 WHERE policy_id = ?1 AND gap_from = ?2",
        )?
        .execute(params![policy_id, from, ticket_id])?;
    Ok(())
}

/// The recorded gap a restore point at `at` falls in, if any: (from, to, ticket).
pub fn around(conn: &Db, policy_id: i64, at: i64) -> Result<Option<(i64, i64, Option<i64>)>> {
    Ok(conn
        .0
        .prepare_cached(
            "SELECT gap_from, gap_to, ticket_id FROM rpo_breaches
             WHERE policy_id = ?1 AND gap_from < ?2 AND gap_to > ?2",
        )?
        .query_row(params![policy_id, at], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

pub fn delete(conn: &Db, policy_id: i64, from: i64) -> Result<()> {
    conn.0
        .prepare_cached("DELETE FROM rpo_breaches WHERE policy_id = ?1 AND gap_from = ?2")?
        .execute(params![policy_id, from])?;
    Ok(())
}

/// A client's breaches whose gap ended in `[from, to)`.
pub fn list(conn: &Db, client_id: i64, from: i64, to: i64) -> Result<Vec<Breach>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT c.code, p.job, b.gap_from, b.gap_to, b.ticket_id
         FROM rpo_breaches b JOIN clients c ON c.id = b.client_id JOIN policies p ON p.id = b.policy_id
         WHERE b.client_id = ?1 AND b.gap_to >= ?2 AND b.gap_to < ?3 ORDER BY b.gap_from",
    )?;
    let rows = stmt.query_map(params![client_id, from, to], |r| {
        Ok(Breach {
            client: r.get(0)?,
            job: r.get(1)?,
            gap_from: Ts(r.get(2)?),
            gap_to: Ts(r.get(3)?),
            ticket_id: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many breaches of each of a client's policies ended in `[from, to)`.
pub fn count_by_policy(
    conn: &Db,
    client_id: i64,
    from: i64,
    to: i64,
) -> Result<std::collections::HashMap<i64, usize>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT policy_id, count(*) FROM rpo_breaches
         WHERE client_id = ?1 AND gap_to >= ?2 AND gap_to < ?3 GROUP BY policy_id",
    )?;
    super::counts_by_policy(&mut stmt, client_id, from, to)
}
