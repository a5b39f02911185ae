//! Runs by window: what `check` and late data read and mark.

use super::*;
use crate::store::Db;

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
        conn: &Db,
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
    pub fn preload(&mut self, conn: &Db, client_id: i64, from: i64, to: i64) -> Result<()> {
        self.load(conn, client_id, from, to)
    }

    fn load(&mut self, conn: &Db, client_id: i64, from: i64, to: i64) -> Result<()> {
        self.runs.clear();
        let mut stmt = conn.0.prepare_cached(CLIENT_RUNS)?;
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
    conn: &Db,
    client_id: i64,
    policy_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, Status)>> {
    let mut stmt = conn.0.prepare_cached(ONE_POLICY_RUNS)?;
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
pub fn run_started_at(conn: &Db, client_id: i64, policy_id: i64, start: i64) -> Result<bool> {
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
    conn: &Db,
    client_id: i64,
    policy_id: i64,
    at: i64,
    now: i64,
) -> Result<usize> {
    Ok(conn
        .0
        .prepare_cached(
            "UPDATE job_events SET superseded = ?5
             WHERE day = ?4 AND client_id = ?1 AND policy_id = ?2 AND ended_at = ?3
               AND status = 'm' AND operation IS NULL AND superseded IS NULL",
        )?
        .execute(params![client_id, policy_id, at, end_day(at), now])?)
}

/// How many of a policy's `missed` events in `[from, to]` still stand.
pub fn missed_standing(
    conn: &Db,
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
