//! The `daily_rollups` table: what ingest adds, sums over periods, and its
//! recount from the events.

use super::*;
use crate::store::Db;

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
pub fn rollups_add(conn: &Db, rows: &mut [((i64, i64), Rollup)]) -> Result<()> {
    rows.sort_unstable_by_key(|((client_id, day), _)| (*day, *client_id));
    let mut stmt = conn.0.prepare_cached(
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
pub(crate) fn rollup_sum_sql(
    client_id: Option<i64>,
    from_day: i64,
    to_day: i64,
) -> crate::store::Query {
    let mut q = crate::store::Query::new(
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
pub fn rollup_sum(conn: &Db, client_id: Option<i64>, from_day: i64, to_day: i64) -> Result<Rollup> {
    let q = rollup_sum_sql(client_id, from_day, to_day);
    Ok(conn
        .0
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
pub fn rollup_sum_zone(conn: &Db, zone: &str, from_day: i64, to_day: i64) -> Result<Rollup> {
    Ok(conn.0
        .prepare_cached(
            "SELECT total(runs), total(runs_success), total(runs_warning), total(runs_failed), total(bytes),
                    total(expected), total(occ_success), total(occ_warning), total(occ_failed), total(occ_missed)
             FROM daily_rollups r JOIN clients c ON c.id = r.client_id
             WHERE r.day >= ?2 AND r.day < ?3 AND c.timezone = ?1",
        )?
        .query_row(params![zone, from_day, to_day], summed)?)
}

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
pub fn stored_run_counts(conn: &Db) -> Result<HashMap<(i64, i64), RunCounts>> {
    let mut stmt = conn.0.prepare(
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
    conn: &Db,
    zones: &HashMap<i64, chrono_tz::Tz>,
) -> Result<HashMap<(i64, i64), RunCounts>> {
    let mut out: HashMap<(i64, i64), RunCounts> = HashMap::new();
    let mut stmt = conn.0.prepare(
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
pub fn set_run_counts(conn: &Db, client_id: i64, day: i64, c: &RunCounts) -> Result<()> {
    conn.0.prepare_cached(
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
pub fn pruned_days(conn: &Db) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn
        .0
        .prepare("SELECT client_id, day FROM pruned_days ORDER BY client_id, day")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
