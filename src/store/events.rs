//! The `job_events`, `unmatched_jobs` and `daily_rollups` tables.
//! Hot paths use cached prepared statements. Events are stored in key order,
//! `(day, client_id, xid, xh)`: `day` is the UTC day the run ended (also the
//! high 32 bits of `xid`), so a day's runs are appended at the end of the
//! table; `xh` completes the run's identity (see `NewEvent::key`).
//! One client's runs of a period are one seek per day ([`end_day`] of the
//! period's ends, through the `days` sequence of `days_from_to!`) and then a
//! check of `ended_at`; all clients' runs of a period are one range.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
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
pub fn insert(conn: &Connection, e: &Insert<'_>) -> Result<bool> {
    insert_with(&mut *conn.prepare_cached(INSERT)?, e)
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
pub fn insert_with(stmt: &mut rusqlite::Statement<'_>, e: &Insert<'_>) -> Result<bool> {
    bind_event(stmt, 0, e)?;
    Ok(stmt.raw_execute()? == 1)
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
    conn: &Connection,
    rows: impl ExactSizeIterator<Item = &'a Insert<'a>>,
) -> Result<bool> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    debug_assert_eq!(rows.len(), ROWS_PER_INSERT);
    let mut stmt = conn.prepare_cached(SQL.get_or_init(insert_many_sql))?;
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
pub fn source_id(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO event_sources (name) VALUES (?1)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )?
        .query_row([name], |r| r.get(0))?)
}

/// Whether a client already has an event under one of these `(xid, xh)`
/// keys (one seek each: a key names its day).
pub fn any_key_exists(conn: &Connection, client_id: i64, keys: &[(i64, i64)]) -> Result<bool> {
    let mut stmt = conn.prepare_cached(KEY_EXISTS)?;
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
    conn: &Connection,
    client_id: i64,
    keys: &[i64],
    policy_id: Option<i64>,
    unmatched_id: Option<i64>,
) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
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
pub fn stored_run(
    conn: &Connection,
    client_id: i64,
    xid: i64,
    xh: i64,
) -> Result<Option<StoredRun>> {
    Ok(conn
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
pub fn fill_missing(
    conn: &Connection,
    client_id: i64,
    xid: i64,
    xh: i64,
    e: &Insert<'_>,
) -> Result<bool> {
    let n = conn
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
pub fn newest_day(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(NEWEST_DAY)?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(i64::MIN))
}

pub(crate) const NEWEST_DAY: &str = "SELECT max(day) FROM job_events";

pub(crate) const KEY_EXISTS: &str =
    "SELECT 1 FROM job_events WHERE day = ?3 AND client_id = ?1 AND xid = ?2 AND xh = ?4";

/// The id of an unmatched job of a client, recording that it was seen.
pub fn unmatched_job(conn: &Connection, client_id: i64, job: &str, at: i64) -> Result<i64> {
    Ok(conn
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

/// The backup runs of one client whose end falls in a time range, read with
/// one seek per day of the client's runs and kept for all of the client's
/// windows in a `check` (one seek per client, not one per policy window).
#[derive(Debug, Default)]
pub struct ClientRuns {
    client_id: Option<i64>,
    /// The range read: `(from, to]` of `ended_at`.
    from: i64,
    to: i64,
    /// Per policy: (started, ended, status) of each run.
    runs: std::collections::HashMap<i64, Vec<(i64, i64, Status)>>,
}

impl ClientRuns {
    /// The best outcome of the backup runs of a policy that started in
    /// `(lo, hi]`; `None` when there was no run. A run that started in the
    /// window ended by `hi + slack`.
    pub fn best_in_window(
        &mut self,
        conn: &Connection,
        client_id: i64,
        policy_id: i64,
        lo: i64,
        hi: i64,
        slack: i64,
    ) -> Result<Option<Status>> {
        let to = hi + slack;
        // The client's other policies have windows minutes or hours apart:
        // read a day more on each side so that one read serves them all.
        const PAD: i64 = 86_400;
        if self.client_id != Some(client_id) {
            self.load(conn, client_id, lo - PAD, to + PAD)?;
        } else if lo < self.from {
            self.load(conn, client_id, lo - PAD, self.to.max(to + PAD))?;
        } else if to > self.to {
            // a walk moving forward: what lies behind it is not read again
            self.load(conn, client_id, lo - PAD, to + PAD)?;
        }
        Ok(self
            .runs
            .get(&policy_id)
            .into_iter()
            .flatten()
            .filter(|(start, ended, _)| *ended > lo && *ended <= to && *start > lo && *start <= hi)
            .map(|r| r.2)
            .max())
    }

    /// Read a client's runs that ended in `(from, to]` at once: a walk over
    /// many windows of many policies then reads nothing more.
    pub fn preload(&mut self, conn: &Connection, client_id: i64, from: i64, to: i64) -> Result<()> {
        self.load(conn, client_id, from, to)
    }

    fn load(&mut self, conn: &Connection, client_id: i64, from: i64, to: i64) -> Result<()> {
        self.runs.clear();
        let mut stmt = conn.prepare_cached(CLIENT_RUNS)?;
        let mut rows = stmt.query(params![client_id, from, to, end_day(from), end_day(to)])?;
        while let Some(r) = rows.next()? {
            let code: String = r.get(3)?;
            if let Some(status) = Status::from_code(&code) {
                self.runs
                    .entry(r.get(0)?)
                    .or_default()
                    .push((r.get(1)?, r.get(2)?, status));
            }
        }
        self.client_id = Some(client_id);
        self.from = from;
        self.to = to;
        Ok(())
    }
}

pub(crate) const ONE_POLICY_RUNS: &str = concat!(
    days_from_to!("?5", "?6"),
    "SELECT coalesce(e.started_at, e.ended_at), e.ended_at, e.status
     FROM days CROSS JOIN job_events e ON e.day = days.d AND e.client_id = ?1
     WHERE e.policy_id = ?2 AND e.ended_at > ?3 AND e.ended_at <= ?4 AND e.operation IS NULL
       AND e.superseded IS NULL"
);

/// One policy's backup runs (missed events included, superseded ones not)
/// that ended in `(from, to]`: (start or end, end, status).
pub fn one_policy_runs(
    conn: &Connection,
    client_id: i64,
    policy_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, Status)>> {
    let mut stmt = conn.prepare_cached(ONE_POLICY_RUNS)?;
    let rows = stmt.query_map(
        params![client_id, policy_id, from, to, end_day(from), end_day(to)],
        |r| {
            let code: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                Status::from_code(&code).unwrap_or(Status::Failed),
            ))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a run of the policy that started at `start` has ended (is stored).
pub fn run_started_at(
    conn: &Connection,
    client_id: i64,
    policy_id: i64,
    start: i64,
) -> Result<bool> {
    // a run ends within a week of its start, or is hung long before
    Ok(
        one_policy_runs(conn, client_id, policy_id, start - 1, start + 7 * 86_400)?
            .iter()
            .any(|(at, _, s)| *at == start && *s != Status::Missed),
    )
}

/// Mark a policy's `missed` event of the window closing at `at` superseded
/// (late data filled the window); returns how many were.
pub fn supersede_missed(
    conn: &Connection,
    client_id: i64,
    policy_id: i64,
    at: i64,
    now: i64,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE job_events SET superseded = ?5
             WHERE day = ?4 AND client_id = ?1 AND policy_id = ?2 AND ended_at = ?3
               AND status = 'm' AND operation IS NULL AND superseded IS NULL",
        )?
        .execute(params![client_id, policy_id, at, end_day(at), now])?)
}

/// How many of a policy's `missed` events in `[from, to]` still stand.
pub fn missed_standing(
    conn: &Connection,
    client_id: i64,
    policy_id: i64,
    from: i64,
    to: i64,
) -> Result<usize> {
    Ok(one_policy_runs(conn, client_id, policy_id, from - 1, to)?
        .iter()
        .filter(|(at, _, s)| *s == Status::Missed && *at >= from)
        .count())
}

/// Add to a client's daily rollup.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rollup {
    pub runs: i64,
    pub runs_success: i64,
    pub runs_warning: i64,
    pub runs_failed: i64,
    pub bytes: i64,
    pub expected: i64,
    pub occ_success: i64,
    pub occ_warning: i64,
    pub occ_failed: i64,
    pub occ_missed: i64,
}

impl Rollup {
    /// Count `by` occurrences of outcome `s` (negative: take them back).
    pub fn outcome(&mut self, s: Status, by: i64) {
        match s {
            Status::Success => self.occ_success += by,
            Status::Warning => self.occ_warning += by,
            Status::Failed => self.occ_failed += by,
            Status::Missed => self.occ_missed += by,
        }
    }

    pub fn add(&mut self, o: &Rollup) {
        self.runs += o.runs;
        self.runs_success += o.runs_success;
        self.runs_warning += o.runs_warning;
        self.runs_failed += o.runs_failed;
        self.bytes += o.bytes;
        self.expected += o.expected;
        self.occ_success += o.occ_success;
        self.occ_warning += o.occ_warning;
        self.occ_failed += o.occ_failed;
        self.occ_missed += o.occ_missed;
    }
}

/// Add to the rollups of many (client, day) pairs, each once, in key order
/// (day, client): neighbours in the table, written one after the other.
/// (One statement per row: a multi-row upsert was slower in SQLite.)
pub fn rollups_add(conn: &Connection, rows: &mut [((i64, i64), Rollup)]) -> Result<()> {
    rows.sort_unstable_by_key(|((client_id, day), _)| (*day, *client_id));
    let mut stmt = conn.prepare_cached(
        "INSERT INTO daily_rollups (client_id, day, runs, runs_success, runs_warning, runs_failed, bytes,
            expected, occ_success, occ_warning, occ_failed, occ_missed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (day, client_id) DO UPDATE SET
            runs = runs + excluded.runs, runs_success = runs_success + excluded.runs_success,
            runs_warning = runs_warning + excluded.runs_warning, runs_failed = runs_failed + excluded.runs_failed,
            bytes = bytes + excluded.bytes, expected = expected + excluded.expected,
            occ_success = occ_success + excluded.occ_success, occ_warning = occ_warning + excluded.occ_warning,
            occ_failed = occ_failed + excluded.occ_failed, occ_missed = occ_missed + excluded.occ_missed",
    )?;
    for ((client_id, day), d) in rows.iter() {
        stmt.execute(params![
            client_id,
            day,
            d.runs,
            d.runs_success,
            d.runs_warning,
            d.runs_failed,
            d.bytes,
            d.expected,
            d.occ_success,
            d.occ_warning,
            d.occ_failed,
            d.occ_missed
        ])?;
    }
    Ok(())
}

/// The query of [`rollup_sum`]: a seek on the (client, day) index, or
/// across clients a range of the primary key (day, client).
pub(crate) fn rollup_sum_sql(client_id: Option<i64>, from_day: i64, to_day: i64) -> super::Query {
    let mut q = super::Query::new(
        "SELECT total(runs), total(runs_success), total(runs_warning), total(runs_failed), total(bytes),
                total(expected), total(occ_success), total(occ_warning), total(occ_failed), total(occ_missed)
         FROM daily_rollups WHERE 1",
    );
    if let Some(c) = client_id {
        q.bind("client_id =", c.into());
    }
    q.bind("day >=", from_day.into());
    q.bind("day <", to_day.into());
    q
}

/// Sum of a client's (or all clients') rollups over local days `[from, to)`.
pub fn rollup_sum(
    conn: &Connection,
    client_id: Option<i64>,
    from_day: i64,
    to_day: i64,
) -> Result<Rollup> {
    let q = rollup_sum_sql(client_id, from_day, to_day);
    Ok(conn
        .prepare_cached(&q.sql)?
        .query_row(rusqlite::params_from_iter(q.args), summed)?)
}

/// A row of ten `total(…)` columns, in `Rollup`'s field order.
fn summed(r: &Row<'_>) -> rusqlite::Result<Rollup> {
    let g = |i| r.get::<_, f64>(i).map(|v| v as i64);
    Ok(Rollup {
        runs: g(0)?,
        runs_success: g(1)?,
        runs_warning: g(2)?,
        runs_failed: g(3)?,
        bytes: g(4)?,
        expected: g(5)?,
        occ_success: g(6)?,
        occ_warning: g(7)?,
        occ_failed: g(8)?,
        occ_missed: g(9)?,
    })
}

/// Sum of the rollups of the clients in zone `zone` over their local days `[from, to)`.
pub fn rollup_sum_zone(
    conn: &Connection,
    zone: &str,
    from_day: i64,
    to_day: i64,
) -> Result<Rollup> {
    Ok(conn
        .prepare_cached(
            "SELECT total(runs), total(runs_success), total(runs_warning), total(runs_failed), total(bytes),
                    total(expected), total(occ_success), total(occ_warning), total(occ_failed), total(occ_missed)
             FROM daily_rollups r JOIN clients c ON c.id = r.client_id
             WHERE r.day >= ?2 AND r.day < ?3 AND c.timezone = ?1",
        )?
        .query_row(params![zone, from_day, to_day], summed)?)
}

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
            let mut q = super::Query::new(format!(
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
            let mut q = super::Query::new(format!("{COLUMNS} FROM job_events e {JOINS}"));
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
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<EventView>> {
    let query = |from_day: Option<i64>| -> Result<Vec<EventView>> {
        let (sql, args) = list_sql(f, from_day);
        let mut stmt = conn.prepare(&sql)?;
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
fn day_bounds(conn: &Connection) -> Result<Option<(i64, i64)>> {
    Ok(conn
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

pub fn unmatched_jobs(conn: &Connection, client_id: Option<i64>) -> Result<Vec<UnmatchedJob>> {
    let mut stmt = conn.prepare(
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
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))?)
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
pub fn policy_runs(
    conn: &Connection,
    client_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<PolicyRun>> {
    let mut stmt = conn.prepare_cached(POLICY_RUNS)?;
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
    conn: &Connection,
    client_id: i64,
    policy_id: i64,
    since: i64,
) -> Result<Option<i64>> {
    Ok(conn
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
pub fn prune(conn: &Connection, before: i64) -> Result<usize> {
    // what goes, per client and day: a re-import of it is not counted again
    conn.execute(
        "INSERT INTO pruned_days (client_id, day, events)
         SELECT client_id, day, count(*) FROM job_events WHERE day <= ?2 AND ended_at < ?1
         GROUP BY client_id, day
         ON CONFLICT (client_id, day) DO UPDATE SET events = events + excluded.events",
        [before, end_day(before)],
    )?;
    let newest =
        crate::store::meta::get_i64(conn, PRUNED_BEFORE)?.map_or(before, |t| t.max(before));
    crate::store::meta::set(conn, PRUNED_BEFORE, &newest.to_string())?;
    Ok(conn.execute(PRUNE, [before, end_day(before)])?)
}

/// The meta key of the newest `db prune` bound.
pub const PRUNED_BEFORE: &str = "pruned_before";

/// Whether `db prune` removed runs of this client on this UTC day.
pub fn pruned_day(conn: &Connection, client_id: i64, day: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM pruned_days WHERE client_id = ?1 AND day = ?2")?
        .exists(params![client_id, day])?)
}

/// The days up to `before`'s: one range at the start of the table.
pub(crate) const PRUNE: &str = "DELETE FROM job_events WHERE day <= ?2 AND ended_at < ?1";

/// The run part of a daily rollup (what ingest adds; `check` adds the occurrences).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub runs: i64,
    pub runs_success: i64,
    pub runs_warning: i64,
    pub runs_failed: i64,
    pub bytes: i64,
    /// The occurrences of the day `check` closed, and their outcomes.
    pub expected: i64,
    pub occ_success: i64,
    pub occ_warning: i64,
    pub occ_failed: i64,
    pub occ_missed: i64,
}

/// The run part of every stored rollup, by (client, local day).
pub fn stored_run_counts(conn: &Connection) -> Result<HashMap<(i64, i64), RunCounts>> {
    let mut stmt = conn.prepare(
        "SELECT client_id, day, runs, runs_success, runs_warning, runs_failed, bytes,
                expected, occ_success, occ_warning, occ_failed, occ_missed FROM daily_rollups",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?),
            RunCounts {
                runs: r.get(2)?,
                runs_success: r.get(3)?,
                runs_warning: r.get(4)?,
                runs_failed: r.get(5)?,
                bytes: r.get(6)?,
                expected: r.get(7)?,
                occ_success: r.get(8)?,
                occ_warning: r.get(9)?,
                occ_failed: r.get(10)?,
                occ_missed: r.get(11)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The run part of the rollups recomputed from the events themselves: each
/// backup run (not a check, not a missed window) on the client's local day
/// of its start (its end without one), as ingest counts it.
pub fn recount_runs(
    conn: &Connection,
    zones: &HashMap<i64, chrono_tz::Tz>,
) -> Result<HashMap<(i64, i64), RunCounts>> {
    let mut out: HashMap<(i64, i64), RunCounts> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT client_id, coalesce(started_at, ended_at), status, bytes FROM job_events
         WHERE operation IS NULL AND status <> 'm'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let client: i64 = r.get(0)?;
        let at: i64 = r.get(1)?;
        let tz = zones.get(&client).copied().unwrap_or(chrono_tz::UTC);
        let c = out
            .entry((client, crate::domain::time::local_day(at, tz)))
            .or_default();
        c.runs += 1;
        c.bytes += r.get::<_, Option<i64>>(3)?.unwrap_or(0);
        match r.get_ref(2)?.as_str()? {
            "s" => c.runs_success += 1,
            "w" => c.runs_warning += 1,
            _ => c.runs_failed += 1,
        }
    }
    Ok(out)
}

/// Set the run part of one rollup (kept rows keep their occurrences).
pub fn set_run_counts(conn: &Connection, client_id: i64, day: i64, c: &RunCounts) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO daily_rollups (client_id, day, runs, runs_success, runs_warning, runs_failed, bytes,
            expected, occ_success, occ_warning, occ_failed, occ_missed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (day, client_id) DO UPDATE SET runs = excluded.runs,
            runs_success = excluded.runs_success, runs_warning = excluded.runs_warning,
            runs_failed = excluded.runs_failed, bytes = excluded.bytes,
            expected = excluded.expected, occ_success = excluded.occ_success,
            occ_warning = excluded.occ_warning, occ_failed = excluded.occ_failed,
            occ_missed = excluded.occ_missed",
    )?
    .execute(params![
        client_id,
        day,
        c.runs,
        c.runs_success,
        c.runs_warning,
        c.runs_failed,
        c.bytes,
        c.expected,
        c.occ_success,
        c.occ_warning,
        c.occ_failed,
        c.occ_missed
    ])?;
    Ok(())
}

/// The UTC days `db prune` removed runs of, per client.
pub fn pruned_days(conn: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut stmt =
        conn.prepare("SELECT client_id, day FROM pruned_days ORDER BY client_id, day")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Rollups added, then added to: every (client, day) holds both sums.
    #[test]
    fn rollups_add_up_across_statements() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.execute_batch("PRAGMA foreign_keys = off").unwrap();
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
        let (n, runs, bytes, missed): (i64, i64, i64, i64) = c
            .query_row(
                "SELECT count(*), sum(runs), sum(bytes), sum(occ_missed) FROM daily_rollups",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let sum: i64 = (0..40).sum();
        assert_eq!((n, runs, bytes, missed), (40, 3 * sum, 2000 * sum, 80));
        let one: i64 = c
            .query_row(
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
        c.execute_batch("PRAGMA foreign_keys = off").unwrap();
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
            c.execute(
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
