//! The `hook_outbox` table: ticket notifications waiting for delivery.

use anyhow::Result;
use rusqlite::{params, Connection};

/// Queue a notification; called in the transaction that changes the ticket.
pub fn push(conn: &Connection, event: &str, ticket_id: i64, at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO hook_outbox (event, ticket_id, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![event, ticket_id, at])?;
    Ok(())
}

/// Queue notifications (event, ticket) of one instant, in order.
pub fn push_all(conn: &Connection, events: &[(&str, i64)], at: i64) -> Result<()> {
    super::insert_rows(
        conn,
        "hook_outbox",
        &["event", "ticket_id", "created_at"],
        events,
        |stmt, first, (event, ticket_id)| {
            stmt.raw_bind_parameter(first, event)?;
            stmt.raw_bind_parameter(first + 1, ticket_id)?;
            stmt.raw_bind_parameter(first + 2, at)
        },
    )
}

/// Waiting notifications, oldest first: `(id, event, ticket_id)`.
pub fn pending(conn: &Connection, limit: i64) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, event, ticket_id FROM hook_outbox ORDER BY id LIMIT ?1")?;
    let rows = stmt.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Remove the notifications up to and including `last` (a batch read by
/// [`pending`]: ids only grow, so nothing queued since is below it).
pub fn delete_through(conn: &Connection, last: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM hook_outbox WHERE id <= ?1")?
        .execute([last])?;
    Ok(())
}

/// Open tasks past their due time that were not announced yet; marks them.
pub fn take_overdue_tasks(conn: &Connection, now: i64) -> Result<Vec<i64>> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT t.id FROM tickets t INDEXED BY tickets_open_due
             WHERE t.kind = 'task' AND t.status IN ('open', 'in_progress') AND t.due_at < ?1
               AND t.overdue_notified_at IS NULL",
        )?;
        let rows = stmt.query_map([now], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in &ids {
        conn.prepare_cached("UPDATE tickets SET overdue_notified_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        push(conn, "task_overdue", *id, now)?;
    }
    Ok(ids)
}
