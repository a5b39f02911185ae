//! The `hook_outbox` table: notifications of tickets and changes waiting
//! for delivery.

use crate::store::Db;
use anyhow::Result;
use rusqlite::params;

use crate::domain::ticket::Notice;

/// Queue a notification with its payload as at this change; called in the
/// transaction that changes the ticket.
pub fn push(
    conn: &Db,
    event: Notice,
    ticket_id: i64,
    at: i64,
    payload: Option<&str>,
) -> Result<()> {
    conn.0.prepare_cached(
        "INSERT INTO hook_outbox (event, ticket_id, created_at, payload) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![event.as_str(), ticket_id, at, payload])?;
    Ok(())
}

/// Queue the notification of a change's new state, with its payload; called
/// in the transaction that changes it.
pub fn push_change(conn: &Db, change_id: i64, at: i64, payload: &str) -> Result<()> {
    conn.0.prepare_cached(
        "INSERT INTO hook_outbox (event, change_id, created_at, payload) VALUES ('change', ?1, ?2, ?3)",
    )?
    .execute(params![change_id, at, payload])?;
    Ok(())
}

/// Queue notifications (event, ticket, payload) of one instant, in order.
pub fn push_all(conn: &Db, events: &[(Notice, i64, String)], at: i64) -> Result<()> {
    super::insert_rows(
        conn,
        "hook_outbox",
        &["event", "ticket_id", "created_at", "payload"],
        events,
        |stmt, first, (event, ticket_id, payload)| {
            stmt.raw_bind_parameter(first, event.as_str())?;
            stmt.raw_bind_parameter(first + 1, ticket_id)?;
            stmt.raw_bind_parameter(first + 2, at)?;
            stmt.raw_bind_parameter(first + 3, payload)
        },
    )
}

/// A claimed notification.
pub struct Claimed {
    pub id: i64,
    pub event: String,
    pub ticket_id: Option<i64>,
    pub change_id: Option<i64>,
    pub payload: Option<String>,
}

/// Claim up to `limit` waiting notifications for `claimer` (a short write
/// transaction of the caller): rows nobody holds, or whose lease (taken at
/// `wall`, the wall clock) is older than `lease_s`, and none of a ticket
/// whose earlier row someone else still holds, so that one ticket's rows
/// run in order. Oldest first.
pub fn claim(
    conn: &Db,
    limit: i64,
    wall: i64,
    lease_s: i64,
    claimer: &str,
) -> Result<Vec<Claimed>> {
    let mut stmt = conn.0.prepare_cached(
        "UPDATE hook_outbox SET claimed_at = ?2, claimed_by = ?4
         WHERE id IN (
             SELECT o.id FROM hook_outbox o
             WHERE (o.claimed_at IS NULL OR o.claimed_at < ?2 - ?3)
               AND NOT EXISTS (
                   SELECT 1 FROM hook_outbox e
                   WHERE (e.ticket_id = o.ticket_id OR e.change_id = o.change_id) AND e.id < o.id
                     AND e.claimed_at IS NOT NULL AND e.claimed_at >= ?2 - ?3)
             ORDER BY o.id LIMIT ?1)
         RETURNING id, event, ticket_id, change_id, payload",
    )?;
    let rows = stmt.query_map(params![limit, wall, lease_s, claimer], |r| {
        Ok(Claimed {
            id: r.get(0)?,
            event: r.get(1)?,
            ticket_id: r.get(2)?,
            change_id: r.get(3)?,
            payload: r.get(4)?,
        })
    })?;
    let mut out: Vec<Claimed> = rows.collect::<rusqlite::Result<_>>()?;
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Remove delivered (or failed: never retried) notifications.
pub fn delete(conn: &Db, ids: &[i64]) -> Result<()> {
    let mut stmt = conn
        .0
        .prepare_cached("DELETE FROM hook_outbox WHERE id = ?1")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// Open tasks past their due time that were not announced yet; marks them.
pub fn take_overdue_tasks(conn: &Db, now: i64) -> Result<Vec<i64>> {
    let ids: Vec<i64> = {
        let mut stmt = conn.0.prepare_cached(
            "SELECT t.id FROM tickets t INDEXED BY tickets_open_due
             WHERE t.kind = 'task' AND t.status IN ('open', 'in_progress') AND t.due_at < ?1
               AND t.overdue_notified_at IS NULL",
        )?;
        let rows = stmt.query_map([now], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &ids {
        conn.0
            .prepare_cached("UPDATE tickets SET overdue_notified_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
    }
    Ok(ids)
}
