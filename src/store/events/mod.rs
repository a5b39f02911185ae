//! The `job_events`, `unmatched_jobs` and `daily_rollups` tables.
//! Hot paths use cached prepared statements. Events are stored in key order,
//! `(day, client_id, xid, xh)`: `day` is the UTC day the run ended (also the
//! high 32 bits of `xid`), so a day's runs are appended at the end of the
//! table; `xh` completes the run's identity (see `NewEvent::key`).
//! One client's runs of a period are one seek per day ([`end_day`] of the
//! period's ends, through the `days` sequence of `days_from_to!`) and then a
//! check of `ended_at`; all clients' runs of a period are one range.

use crate::store::Db;
use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

pub use crate::domain::event::end_day;
use crate::domain::event::{external_id, Status};
use crate::domain::time::Ts;

/// An event row ready to insert.
#[derive(Debug, Clone)]
pub struct Insert<'a> {
    pub client_id: i64,
    pub policy_id: Option<i64>,
    pub unmatched_id: Option<i64>,
    pub check: bool,
    /// The one-letter status code.
    pub status: &'static str,
    pub started_at: Option<i64>,
    pub ended_at: i64,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub source_id: i64,
    pub xid: i64,
    pub xh: i64,
    pub xkind: i64,
    pub ext_text: Option<&'a str>,
    pub snapshot: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// Insert an event unless its key is known; true when it was new.
pub fn insert(conn: &Db, e: &Insert<'_>) -> Result<bool> {
    insert_with(&mut super::bulk::event_insert(conn)?, e)
}

/// The columns an insert writes, in the order [`bind_event`] binds them.
macro_rules! insert_into_events {
    () => {
        "INSERT INTO job_events (client_id, policy_id, unmatched_id, operation, status,
            started_at, ended_at, bytes, files, source_id, xid, xkind, ext_text, snapshot, message, day, xh)
         VALUES "
    };
}

/// One row's parameters of an insert.
macro_rules! event_row {
    () => {
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    };
}

/// The insert of [`insert`]; bulk writers prepare it once per batch.
pub const INSERT: &str = concat!(
    insert_into_events!(),
    event_row!(),
    " ON CONFLICT (day, client_id, xid, xh) DO NOTHING"
);

/// Bind an event's values as the row starting at parameter `at + 1`.
fn bind_event(stmt: &mut rusqlite::Statement<'_>, at: usize, e: &Insert<'_>) -> Result<()> {
    debug_assert_eq!(
        e.xid >> 32,
        e.ended_at.div_euclid(86_400),
        "an event's key is on the day it ended"
    );
    stmt.raw_bind_parameter(at + 1, e.client_id)?;
    stmt.raw_bind_parameter(at + 2, e.policy_id)?;
    stmt.raw_bind_parameter(at + 3, e.unmatched_id)?;
    stmt.raw_bind_parameter(at + 4, e.check.then_some("check"))?;
    stmt.raw_bind_parameter(at + 5, e.status)?;
    stmt.raw_bind_parameter(at + 6, e.started_at)?;
    stmt.raw_bind_parameter(at + 7, e.ended_at)?;
    stmt.raw_bind_parameter(at + 8, e.bytes)?;
    stmt.raw_bind_parameter(at + 9, e.files)?;
    stmt.raw_bind_parameter(at + 10, e.source_id)?;
    stmt.raw_bind_parameter(at + 11, e.xid)?;
    stmt.raw_bind_parameter(at + 12, e.xkind)?;
    stmt.raw_bind_parameter(at + 13, e.ext_text)?;
    stmt.raw_bind_parameter(at + 14, e.snapshot)?;
    stmt.raw_bind_parameter(at + 15, e.message)?;
    stmt.raw_bind_parameter(at + 16, e.xid >> 32)?;
    stmt.raw_bind_parameter(at + 17, e.xh)?;
    Ok(())
}

/// The days `$from` to `$to` (inclusive; SQL expressions) as rows of
/// `days(d)`, for one seek of a client's events per day: `… FROM days CROSS
/// JOIN job_events e ON e.day = days.d AND e.client_id = …` (`CROSS JOIN`
/// keeps the days as the outer loop).
macro_rules! days_from_to {
    ($from:literal, $to:literal) => {
        concat!(
            "WITH RECURSIVE days(d) AS (SELECT ",
            $from,
            " UNION ALL SELECT d + 1 FROM days WHERE d < ",
            $to,
            ") "
        )
    };
}

/// Parameters of one row of an insert.
const COLUMNS: usize = 17;

/// Insert an event with a statement prepared from [`INSERT`]; true when it was new.
pub fn insert_with(stmt: &mut super::bulk::EventInsert<'_>, e: &Insert<'_>) -> Result<bool> {
    bind_event(&mut stmt.0, 0, e)?;
    Ok(stmt.0.raw_execute()? == 1)
}

/// Events per statement of [`insert_all_new`]: a statement's set-up and end
/// are most of a one-row insert's cost.
pub const ROWS_PER_INSERT: usize = 48;

/// `INSERT` of [`ROWS_PER_INSERT`] events, without `ON CONFLICT`: a known
/// key undoes the whole statement.
fn insert_many_sql() -> String {
    format!(
        "{}{}",
        insert_into_events!(),
        vec![event_row!(); ROWS_PER_INSERT].join(", ")
    )
}

/// Insert [`ROWS_PER_INSERT`] events in one statement when none of their
/// keys is known (true); otherwise SQLite undoes the statement, nothing is
/// written, and the caller inserts them one by one (false). Any other
/// failure is an error.
pub fn insert_all_new<'a>(
    conn: &Db,
    rows: impl ExactSizeIterator<Item = &'a Insert<'a>>,
) -> Result<bool> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    debug_assert_eq!(rows.len(), ROWS_PER_INSERT);
    let mut stmt = conn.0.prepare_cached(SQL.get_or_init(insert_many_sql))?;
    for (i, e) in rows.enumerate() {
        bind_event(&mut stmt, i * COLUMNS, e)?;
    }
    match stmt.raw_execute() {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// The id of an event source name, created on first use.
pub fn source_id(conn: &Db, name: &str) -> Result<i64> {
    Ok(conn
        .0
        .prepare_cached(
            "INSERT INTO event_sources (name) VALUES (?1)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )?
        .query_row([name], |r| r.get(0))?)
}

/// Whether a client already has an event under one of these `(xid, xh)`
/// keys (one seek each: a key names its day).
pub fn any_key_exists(conn: &Db, client_id: i64, keys: &[(i64, i64)]) -> Result<bool> {
    let mut stmt = conn.0.prepare_cached(KEY_EXISTS)?;
    for (xid, xh) in keys {
        if stmt.exists(params![client_id, xid, xid >> 32, xh])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a client holds a run of this policy (or unmatched job) under a
/// legacy key (schema < 14, `xh` 0): legacy keys of different jobs could be
/// equal, so the job must agree too.
pub fn legacy_key_exists(
    conn: &Db,
    client_id: i64,
    keys: &[i64],
    policy_id: Option<i64>,
    unmatched_id: Option<i64>,
) -> Result<bool> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT 1 FROM job_events WHERE day = ?3 AND client_id = ?1 AND xid = ?2 AND xh = 0
           AND policy_id IS ?4 AND unmatched_id IS ?5",
    )?;
    for k in keys {
        if stmt.exists(params![client_id, k, k >> 32, policy_id, unmatched_id])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What is stored of a known run, to compare a re-delivery with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub status: Status,
    pub started_at: Option<i64>,
    pub ended_at: i64,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub message: Option<String>,
    pub snapshot: Option<String>,
}

impl StoredRun {
    /// Whether another record of the run has a field this one lacks.
    pub fn lacks_any_of(&self, e: &Insert<'_>) -> bool {
        (self.started_at.is_none() && e.started_at.is_some_and(|s| s <= e.ended_at))
            || (self.bytes.is_none() && e.bytes.is_some())
            || (self.files.is_none() && e.files.is_some())
            || (self.message.is_none() && e.message.is_some())
            || (self.snapshot.is_none() && e.snapshot.is_some())
    }
}

/// The stored run under a key.
pub fn stored_run(conn: &Db, client_id: i64, xid: i64, xh: i64) -> Result<Option<StoredRun>> {
    Ok(conn
        .0
        .prepare_cached(
            "SELECT status, started_at, ended_at, bytes, files, message, snapshot FROM job_events
             WHERE day = ?3 AND client_id = ?1 AND xid = ?2 AND xh = ?4",
        )?
        .query_row(params![client_id, xid, xid >> 32, xh], |r| {
            Ok(StoredRun {
                status: Status::from_code(&r.get::<_, String>(0)?).unwrap_or(Status::Failed),
                started_at: r.get(1)?,
                ended_at: r.get(2)?,
                bytes: r.get(3)?,
                files: r.get(4)?,
                message: r.get(5)?,
                snapshot: r.get(6)?,
            })
        })
        .optional()?)
}

/// Fill the fields a known run lacks from another record of it (a snapshot
/// listing after the summary, or the other way round). Never overwrites.
pub fn fill_missing(conn: &Db, client_id: i64, xid: i64, xh: i64, e: &Insert<'_>) -> Result<bool> {
    let n = conn.0
        .prepare_cached(
            "UPDATE job_events SET started_at = coalesce(started_at, ?5), bytes = coalesce(bytes, ?6),
                files = coalesce(files, ?7), message = coalesce(message, ?8), snapshot = coalesce(snapshot, ?9)
             WHERE day = ?3 AND client_id = ?1 AND xid = ?2 AND xh = ?4
               AND ((started_at IS NULL AND ?5 IS NOT NULL) OR (bytes IS NULL AND ?6 IS NOT NULL)
                 OR (files IS NULL AND ?7 IS NOT NULL) OR (message IS NULL AND ?8 IS NOT NULL)
                 OR (snapshot IS NULL AND ?9 IS NOT NULL))",
        )?
        .execute(params![
            client_id,
            xid,
            xid >> 32,
            xh,
            e.started_at.filter(|s| *s <= e.ended_at),
            e.bytes,
            e.files,
            e.message,
            e.snapshot
        ])?;
    Ok(n > 0)
}

/// The newest day of any event (`i64::MIN` without events): one seek.
pub fn newest_day(conn: &Db) -> Result<i64> {
    Ok(conn
        .0
        .prepare_cached(NEWEST_DAY)?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(i64::MIN))
}

pub(crate) const NEWEST_DAY: &str = "SELECT max(day) FROM job_events";

pub(crate) const KEY_EXISTS: &str =
    "SELECT 1 FROM job_events WHERE day = ?3 AND client_id = ?1 AND xid = ?2 AND xh = ?4";

/// The id of an unmatched job of a client, recording that it was seen.
pub fn unmatched_job(conn: &Db, client_id: i64, job: &str, at: i64) -> Result<i64> {
    Ok(conn.0
        .prepare_cached(
            "INSERT INTO unmatched_jobs (client_id, job, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (client_id, job) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen)
             RETURNING id",
        )?
        .query_row(params![client_id, job, at], |r| r.get(0))?)
}

pub(crate) const CLIENT_RUNS: &str = concat!(
    days_from_to!("?4", "?5"),
    "SELECT e.policy_id, coalesce(e.started_at, e.ended_at), e.ended_at, e.status
     FROM days CROSS JOIN job_events e ON e.day = days.d AND e.client_id = ?1
     WHERE e.ended_at > ?2 AND e.ended_at <= ?3 AND e.policy_id IS NOT NULL AND e.operation IS NULL
       AND e.superseded IS NULL"
);

mod lists;
mod rollups;
mod windows;
pub use lists::*;
pub use rollups::*;
pub use windows::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Rollups added, then added to: every (client, day) holds both sums.
    #[test]
    fn rollups_add_up_across_statements() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.0.execute_batch("PRAGMA foreign_keys = off").unwrap();
        let rows = |k: i64| -> Vec<((i64, i64), Rollup)> {
            (0..40)
                .map(|i| {
                    let r = Rollup {
                        runs: k * i,
                        bytes: 1000 * i,
                        occ_missed: 1,
                        ..Rollup::default()
                    };
                    ((i % 3 + 1, 20_000 + i / 3), r)
                })
                .collect()
        };
        rollups_add(c, &mut rows(1)).unwrap();
        rollups_add(c, &mut rows(2)).unwrap();
        let (n, runs, bytes, missed): (i64, i64, i64, i64) =
            c.0.query_row(
                "SELECT count(*), sum(runs), sum(bytes), sum(occ_missed) FROM daily_rollups",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let sum: i64 = (0..40).sum();
        assert_eq!((n, runs, bytes, missed), (40, 3 * sum, 2000 * sum, 80));
        let one: i64 =
            c.0.query_row(
                "SELECT runs FROM daily_rollups WHERE client_id = 3 AND day = 20003",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(one, 3 * 11);
    }

    /// Windows of one client far apart force a re-read; a second client
    /// replaces the first; each answer is what the window holds.
    #[test]
    fn client_runs_answer_each_window_across_reads() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.0.execute_batch("PRAGMA foreign_keys = off").unwrap();
        let day = 86_400;
        // (client, policy, status, started, ended, operation)
        type Run<'a> = (i64, i64, &'a str, i64, i64, Option<&'a str>);
        let rows: [Run; 6] = [
            (1, 10, "f", 100, 200, None),
            (1, 10, "s", 150, 400, None),
            (1, 11, "w", 120, 130, None),
            (1, 10, "s", 10 * day, 10 * day + 60, Some("check")),
            (1, 10, "w", 10 * day, 10 * day + 60, None),
            (2, 20, "m", 100, 100, None),
        ];
        for (i, (client, policy, status, started, ended, op)) in rows.iter().enumerate() {
            c.0.execute(
                "INSERT INTO job_events (client_id, policy_id, operation, status, started_at,
                    ended_at, source_id, xid, xkind, day, xh) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, 0, ?7 >> 32, 1)",
                params![
                    client,
                    policy,
                    op,
                    status,
                    started,
                    ended,
                    (end_day(*ended) << 32) | i as i64
                ],
            )
            .unwrap();
        }
        let mut runs = ClientRuns::default();
        let mut best = |client, policy, lo, hi, slack| {
            runs.best_in_window(c, client, policy, lo, hi, slack)
                .unwrap()
        };
        assert_eq!(
            best(1, 10, 0, 200, 0),
            Some(Status::Failed),
            "the success ended late"
        );
        assert_eq!(best(1, 10, 0, 200, 300), Some(Status::Success));
        assert_eq!(best(1, 11, 0, 200, 0), Some(Status::Warning));
        assert_eq!(best(1, 11, 200, 400, 0), None);
        assert_eq!(
            best(1, 10, 9 * day, 11 * day, 0),
            Some(Status::Warning),
            "the integrity check is not a run"
        );
        assert_eq!(
            best(1, 10, 0, 200, 300),
            Some(Status::Success),
            "read again"
        );
        assert_eq!(best(2, 20, 0, 200, 0), Some(Status::Missed));
        assert_eq!(best(2, 10, 0, 200, 300), None, "another client's policy");
        // from the epoch: the days walked start at the first stored day
        assert_eq!(first_success_since(c, 1, 10, 0).unwrap(), Some(400));
        assert_eq!(first_success_since(c, 1, 10, 401).unwrap(), None);
        assert_eq!(first_success_since(c, 2, 20, 0).unwrap(), None);
    }
}
