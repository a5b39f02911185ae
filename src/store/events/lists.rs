//! Events as lists and reports read them; pruning.

use super::*;
use crate::store::Db;

/// A job event as lists print it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub external_id: Option<String>,
    pub client: String,
    pub job: String,
    pub operation: String,
    pub status: String,
    pub started_at: Option<Ts>,
    pub ended_at: Option<Ts>,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub snapshot: Option<String>,
    pub message: Option<String>,
    pub source: String,
    pub matched: bool,
}

#[derive(Debug, Default)]
pub struct Filter {
    pub client_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub status: Option<Status>,
    pub since: Option<i64>,
    pub unmatched: bool,
    pub limit: i64,
}

fn view(r: &Row<'_>) -> rusqlite::Result<EventView> {
    let xid: i64 = r.get(10)?;
    let xkind: i64 = r.get(11)?;
    let ext = external_id(xid, xkind, r.get(12)?);
    let snapshot: Option<String> = r.get(13)?;
    let source: String = r.get(9)?;
    let code: String = r.get(4)?;
    let tool_snapshot = (xkind > 0 && matches!(source.as_str(), "restic" | "borg"))
        .then(|| ext.clone())
        .flatten();
    Ok(EventView {
        client: r.get(0)?,
        job: r.get(1)?,
        matched: r.get(2)?,
        operation: r
            .get::<_, Option<String>>(3)?
            .unwrap_or_else(|| "backup".into()),
        status: Status::from_code(&code)
            .map(|s| s.as_str().to_string())
            .unwrap_or(code),
        started_at: r.get::<_, Option<i64>>(5)?.map(Ts),
        ended_at: r.get::<_, Option<i64>>(6)?.map(Ts),
        bytes: r.get(7)?,
        files: r.get(8)?,
        source,
        snapshot: snapshot.or(tool_snapshot),
        external_id: ext,
        message: r.get(14)?,
    })
}

/// The query for [`list`]: for one client a seek per day (from `since`, or
/// its first day, to the last day of any event); across clients the range
/// of days from `from_day` on (the newest days; [`list`] widens them until
/// they hold the limit).
pub(crate) fn list_sql(f: &Filter, from_day: Option<i64>) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    const COLUMNS: &str =
        "SELECT c.code, coalesce(p.job, u.job), e.policy_id IS NOT NULL, e.operation, e.status,
                e.started_at, e.ended_at, e.bytes, e.files, s.name, e.xid, e.xkind, e.ext_text,
                e.snapshot, e.message";
    const JOINS: &str = "JOIN clients c ON c.id = e.client_id
         JOIN event_sources s ON s.id = e.source_id
         LEFT JOIN policies p ON p.id = e.policy_id
         LEFT JOIN unmatched_jobs u ON u.id = e.unmatched_id
         WHERE 1";
    let first_day = f.since.map(end_day).max(from_day);
    let mut q = match f.client_id {
        Some(c) => {
            let mut q = crate::store::Query::new(format!(
                "{}{COLUMNS}
                 FROM days CROSS JOIN job_events e ON e.day = days.d AND e.client_id = ?1
                 {JOINS}",
                days_from_to!(
                    "max(coalesce(?2, (SELECT min(day) FROM job_events)), (SELECT min(day) FROM job_events))",
                    "(SELECT max(day) FROM job_events)"
                )
            ));
            q.args = vec![
                Value::Integer(c),
                first_day.map_or(Value::Null, Value::Integer),
            ];
            q
        }
        None => {
            let mut q = crate::store::Query::new(format!("{COLUMNS} FROM job_events e {JOINS}"));
            if let Some(d) = first_day {
                q.bind("e.day >=", Value::Integer(d));
            }
            q
        }
    };
    if let Some(p) = f.policy_id {
        q.bind("e.policy_id =", Value::Integer(p));
    }
    if let Some(st) = f.status {
        q.bind("e.status =", Value::Text(st.code().to_string()));
    }
    if let Some(t) = f.since {
        q.bind("e.ended_at >=", Value::Integer(t));
    }
    if f.unmatched {
        q.raw(" AND e.unmatched_id IS NOT NULL");
    }
    q.raw(" ORDER BY e.ended_at DESC, e.client_id DESC, e.xid DESC");
    if f.limit > 0 {
        q.raw(&format!(" LIMIT {}", f.limit));
    }
    (q.sql, q.args)
}

/// Events matching `f`: the latest `f.limit` by end time (0 = all), oldest first.
pub fn list(conn: &Db, f: &Filter) -> Result<Vec<EventView>> {
    let query = |from_day: Option<i64>| -> Result<Vec<EventView>> {
        let (sql, args) = list_sql(f, from_day);
        let mut stmt = conn.0.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), view)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    // Across clients, read the newest days first: a window of days that
    // holds `limit` events holds the latest `limit` (keys are end days).
    let bounds = (f.client_id.is_none() && f.limit > 0)
        .then(|| day_bounds(conn))
        .transpose()?
        .flatten();
    let mut rows = match bounds {
        Some((oldest, newest)) => {
            let mut days = 1;
            loop {
                let from = newest - days + 1;
                if from <= oldest {
                    break query(None)?;
                }
                let rows = query(Some(from))?;
                if rows.len() as i64 >= f.limit {
                    break rows;
                }
                days *= 4;
            }
        }
        None => query(None)?,
    };
    rows.reverse();
    Ok(rows)
}

/// The first and last day of any event (one seek at each end of the table);
/// `None` without events.
fn day_bounds(conn: &Db) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .0
        .prepare_cached(DAY_BOUNDS)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(|(lo, hi): (Option<i64>, Option<i64>)| lo.zip(hi))?)
}

pub(crate) const DAY_BOUNDS: &str =
    "SELECT (SELECT min(day) FROM job_events), (SELECT max(day) FROM job_events)";

/// Unmatched jobs: runs reported for jobs the plan does not know.
#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedJob {
    pub client: String,
    pub job: String,
    pub first_seen: Ts,
    pub last_seen: Ts,
}

pub fn unmatched_jobs(conn: &Db, client_id: Option<i64>) -> Result<Vec<UnmatchedJob>> {
    let mut stmt = conn.0.prepare(
        "SELECT c.code, u.job, u.first_seen, u.last_seen FROM unmatched_jobs u
         JOIN clients c ON c.id = u.client_id
         WHERE ?1 IS NULL OR u.client_id = ?1 ORDER BY u.first_seen, u.id",
    )?;
    let rows = stmt.query_map([client_id], |r| {
        Ok(UnmatchedJob {
            client: r.get(0)?,
            job: r.get(1)?,
            first_seen: Ts(r.get(2)?),
            last_seen: Ts(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many events a client has (for summaries and tests).
pub fn count(conn: &Db) -> Result<i64> {
    Ok(conn
        .0
        .query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))?)
}

/// One run of a client's policies, for the risk rules.
#[derive(Debug, Clone)]
pub struct PolicyRun {
    pub policy_id: i64,
    pub at: i64,
    pub ended_at: i64,
    pub status: Status,
    pub bytes: Option<i64>,
}

pub(crate) const POLICY_RUNS: &str = concat!(
    days_from_to!("?4", "?5"),
    "SELECT e.policy_id, coalesce(e.started_at, e.ended_at), e.ended_at, e.status, e.bytes
     FROM days CROSS JOIN job_events e ON e.day = days.d AND e.client_id = ?1
     WHERE e.ended_at >= ?2 AND e.ended_at < ?3 AND e.policy_id IS NOT NULL AND e.operation IS NULL
       AND e.superseded IS NULL
     ORDER BY e.ended_at"
);

/// A client's backup runs (not integrity checks) that ended in `[from, to)`, by time.
pub fn policy_runs(conn: &Db, client_id: i64, from: i64, to: i64) -> Result<Vec<PolicyRun>> {
    let mut stmt = conn.0.prepare_cached(POLICY_RUNS)?;
    let rows = stmt.query_map(
        params![client_id, from, to, end_day(from), end_day(to)],
        |r| {
            let code: String = r.get(3)?;
            Ok(PolicyRun {
                policy_id: r.get(0)?,
                at: r.get(1)?,
                ended_at: r.get(2)?,
                status: Status::from_code(&code).unwrap_or(Status::Failed),
                bytes: r.get(4)?,
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the first successful backup of a policy since `since` ended, if any.
pub fn first_success_since(
    conn: &Db,
    client_id: i64,
    policy_id: i64,
    since: i64,
) -> Result<Option<i64>> {
    Ok(conn
        .0
        .prepare_cached(FIRST_SUCCESS_SINCE)?
        .query_row(params![client_id, policy_id, since, end_day(since)], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

pub(crate) const FIRST_SUCCESS_SINCE: &str = concat!(
    days_from_to!(
        "max(?4, (SELECT min(day) FROM job_events))",
        "(SELECT max(day) FROM job_events)"
    ),
    "SELECT min(e.ended_at)
     FROM days CROSS JOIN job_events e ON e.day = days.d AND e.client_id = ?1
     WHERE e.ended_at >= ?3 AND e.policy_id = ?2 AND e.status = 's'
       AND e.operation IS NULL AND coalesce(e.started_at, e.ended_at) >= ?3"
);

/// Delete the events that ended before `before` (the daily rollups keep their
/// counts); returns how many. Unmatched-job records stay.
pub fn prune(conn: &Db, before: i64) -> Result<usize> {
    // what goes, per client and day: a re-import of it is not counted again
    conn.0.execute(
        "INSERT INTO pruned_days (client_id, day, events)
         SELECT client_id, day, count(*) FROM job_events WHERE day <= ?2 AND ended_at < ?1
         GROUP BY client_id, day
         ON CONFLICT (client_id, day) DO UPDATE SET events = events + excluded.events",
        [before, end_day(before)],
    )?;
    let newest =
        crate::store::meta::get_i64(conn, PRUNED_BEFORE)?.map_or(before, |t| t.max(before));
    crate::store::meta::set(conn, PRUNED_BEFORE, &newest.to_string())?;
    Ok(conn.0.execute(PRUNE, [before, end_day(before)])?)
}

/// Events that ended before `before` (what [`prune`] would delete).
pub fn count_before(conn: &Db, before: i64) -> Result<i64> {
    Ok(conn.0.query_row(
        "SELECT count(*) FROM job_events WHERE day <= ?2 AND ended_at < ?1",
        [before, end_day(before)],
        |r| r.get(0),
    )?)
}

/// The meta key of the newest `db prune` bound.
pub const PRUNED_BEFORE: &str = "pruned_before";

/// Whether `db prune` removed runs of this client on this UTC day.
pub fn pruned_day(conn: &Db, client_id: i64, day: i64) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached("SELECT 1 FROM pruned_days WHERE client_id = ?1 AND day = ?2")?
        .exists(params![client_id, day])?)
}

/// The days up to `before`'s: one range at the start of the table.
pub(crate) const PRUNE: &str = "DELETE FROM job_events WHERE day <= ?2 AND ended_at < ?1";

/// The runs of a job no plan knows yet: (start, else end; the source that
/// reported it), oldest first; `None` when the client has no such job.
pub fn unmatched_runs(conn: &Db, client_id: i64, job: &str) -> Result<Option<Vec<(i64, String)>>> {
    let id: Option<i64> = conn
        .0
        .query_row(
            "SELECT id FROM unmatched_jobs WHERE client_id = ?1 AND job = ?2",
            params![client_id, job],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let mut stmt = conn.0.prepare(
        "SELECT coalesce(e.started_at, e.ended_at), s.name FROM job_events e
         JOIN event_sources s ON s.id = e.source_id
         WHERE e.client_id = ?1 AND e.unmatched_id = ?2 AND e.operation IS NULL
         ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![client_id, id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
}
