//! The reads behind the KPIs (the rollups live in `events`).

use crate::store::Db;
use anyhow::Result;

use crate::domain::recovery::Attempt;
use crate::domain::time::Ts;

/// When each proactive service ticket open at `end` was opened.
pub fn open_at(conn: &Db, client_id: Option<i64>, end: i64) -> Result<Vec<i64>> {
    let q = open_at_sql(client_id, end);
    let mut stmt = conn.0.prepare(&q.sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.args), |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn open_at_sql(client_id: Option<i64>, end: i64) -> super::Query {
    let mut q = super::Query::new(
        "SELECT t.opened_at FROM tickets t WHERE t.kind IN ('task', 'corrective', 'incident')",
    );
    if let Some(c) = client_id {
        q.bind("t.client_id =", c.into());
    }
    q.bind("t.opened_at <", end.into());
    // open at `end` unless a closure covers it (reopened later or not):
    // the ticket's status then, not now
    q.raw(&format!(
        " AND NOT EXISTS (SELECT 1 FROM ticket_closures c WHERE c.ticket_id = t.id
             AND c.closed_at < {end} AND (c.reopened_at IS NULL OR c.reopened_at >= {end}))"
    ));
    q
}

/// Corrective tickets and incidents opened in `[from, to)`.
pub fn corrective_opened(conn: &Db, client_id: Option<i64>, from: i64, to: i64) -> Result<i64> {
    let mut q = super::Query::new(
        "SELECT count(*) FROM tickets t WHERE t.kind IN ('corrective', 'incident')",
    );
    if let Some(c) = client_id {
        q.bind("t.client_id =", c.into());
    }
    q.bind("t.opened_at >=", from.into());
    q.bind("t.opened_at <", to.into());
    Ok(conn
        .0
        .query_row(&q.sql, rusqlite::params_from_iter(q.args), |r| r.get(0))?)
}

/// Recovery attempts that ended in `[from, to)`.
pub fn attempts(conn: &Db, client_id: Option<i64>, from: i64, to: i64) -> Result<Vec<Attempt>> {
    let mut q = super::Query::new(
        "SELECT a.id, c.code, p.job, a.kind, a.outcome, a.ended_at, a.issues
         FROM recovery_attempts a JOIN clients c ON c.id = a.client_id JOIN policies p ON p.id = a.policy_id
         WHERE 1",
    );
    if let Some(c) = client_id {
        q.bind("a.client_id =", c.into());
    }
    q.bind("a.ended_at >=", from.into());
    q.bind("a.ended_at <", to.into());
    q.raw(" ORDER BY a.ended_at, a.id");
    let mut stmt = conn.0.prepare(&q.sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.args), |r| {
        Ok(Attempt {
            id: r.get(0)?,
            client: r.get(1)?,
            job: r.get(2)?,
            kind: r.get(3)?,
            outcome: r.get(4)?,
            ended_at: Ts(r.get(5)?),
            issues: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// RPO tickets opened in `[from, to)` per policy of a client.
pub fn rpo_tickets(
    conn: &Db,
    client_id: i64,
    from: i64,
    to: i64,
) -> Result<std::collections::HashMap<i64, usize>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT policy_id, count(*) FROM tickets
         WHERE client_id = ?1 AND kind IN ('corrective', 'incident') AND opened_at >= ?2 AND opened_at < ?3
           AND class = 'rpo' AND policy_id IS NOT NULL
         GROUP BY policy_id",
    )?;
    super::counts_by_policy(&mut stmt, client_id, from, to)
}

/// `(id, title, seconds late)` of a client's corrective tickets opened in
/// `[from, to)` that were resolved after their due time or are open past it at `now`.
pub fn sla_breaches(
    conn: &Db,
    client_id: i64,
    from: i64,
    to: i64,
    now: i64,
) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.0.prepare_cached(
        // an open ticket waiting on the client is judged as at the wait's
        // start (Ticket::sla_clock)
        "SELECT id, title, coalesce(resolved_at, min(?4, coalesce(waiting_since, ?4))) - due_at FROM tickets
         WHERE client_id = ?1 AND kind IN ('corrective', 'incident') AND opened_at >= ?2 AND opened_at < ?3
           AND due_at IS NOT NULL AND coalesce(resolved_at, min(?4, coalesce(waiting_since, ?4))) > due_at
         ORDER BY id",
    )?;
    let rows = stmt.query_map(rusqlite::params![client_id, from, to, now], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
