//! Reads and writes tests of `ops` make behind the commands' backs: named
//! questions about the tables, so that the SQL stays in the store.

use crate::store::Db;

fn one<T: rusqlite::types::FromSql>(conn: &Db, sql: &str) -> T {
    conn.0.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every row of a query, each as its columns joined by `|` (text as is,
/// other values as rusqlite shows them).
fn dump(conn: &Db, sql: &str) -> Vec<String> {
    let mut stmt = conn.0.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    v => format!("{v:?}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// The first policy: its id and job.
pub fn first_policy(conn: &Db) -> (i64, String) {
    conn.0
        .query_row(
            "SELECT id, job FROM policies ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The jobs of the first `n` policies.
pub fn first_jobs(conn: &Db, n: usize) -> Vec<String> {
    let mut stmt = conn
        .0
        .prepare("SELECT job FROM policies ORDER BY id LIMIT ?1")
        .unwrap();
    let rows = stmt.query_map([n as i64], |r| r.get(0)).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// The one client's code.
pub fn client_code(conn: &Db) -> String {
    one(conn, "SELECT code FROM clients")
}

/// Another process sets a policy's failures in a row.
pub fn set_failures(conn: &Db, policy_id: i64, n: i64) {
    conn.0
        .execute(
            "UPDATE policy_state SET consecutive_failures = ?2 WHERE policy_id = ?1",
            [policy_id, n],
        )
        .unwrap();
}

/// Bare policy states 1..=n (no policies behind them), last run at id·100.
pub fn bare_states(conn: &Db, n: i64) {
    conn.0.execute_batch("PRAGMA foreign_keys = off").unwrap();
    for id in 1..=n {
        conn.0
            .execute(
                "INSERT INTO policy_state (policy_id, last_event_at) VALUES (?1, ?1 * 100)",
                [id],
            )
            .unwrap();
    }
}

pub fn foreign_keys_on(conn: &Db) -> bool {
    one::<i64>(conn, "PRAGMA foreign_keys") == 1
}

/// Make every ticket insert fail (`true`) or work again.
pub fn refuse_tickets(conn: &Db, refuse: bool) {
    conn.0
        .execute_batch(if refuse {
            "CREATE TEMP TRIGGER no_tickets BEFORE INSERT ON tickets
         BEGIN SELECT RAISE(ABORT, 'no tickets today'); END"
        } else {
            "DROP TRIGGER no_tickets"
        })
        .unwrap();
}

/// The open tickets of a job.
pub fn open_tickets_of(conn: &Db, job: &str) -> i64 {
    conn.0
        .query_row(
            "SELECT count(*) FROM tickets t JOIN policies p ON p.id = t.policy_id
         WHERE p.job = ?1 AND t.status = 'open'",
            [job],
            |r| r.get(0),
        )
        .unwrap()
}

/// The status of a job's one ticket.
pub fn ticket_status_of(conn: &Db, job: &str) -> String {
    conn.0
        .query_row(
            "SELECT t.status FROM tickets t JOIN policies p ON p.id = t.policy_id WHERE p.job = ?1",
            [job],
            |r| r.get(0),
        )
        .unwrap()
}

pub fn event_count(conn: &Db) -> i64 {
    one(conn, "SELECT count(*) FROM job_events")
}

/// The runs the daily rollups count.
pub fn rollup_runs(conn: &Db) -> i64 {
    one(conn, "SELECT sum(runs) FROM daily_rollups")
}

pub fn integrity(conn: &Db) -> String {
    one(conn, "PRAGMA integrity_check")
}

/// A passive checkpoint: (busy, WAL frames, frames copied).
pub fn checkpoint(conn: &Db) -> (i64, i64, i64) {
    conn.0
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
}

/// All the automation wrote: tickets, work-log lines, notifications and
/// audit rows (not the wall-clock write time, nor the hash over it, nor the
/// digest rows: one per batch).
pub fn automation_rows(conn: &Db) -> Vec<Vec<String>> {
    [
        "SELECT * FROM tickets ORDER BY id",
        "SELECT * FROM ticket_notes ORDER BY id",
        "SELECT * FROM hook_outbox ORDER BY id",
        "SELECT at, actor, command, entity_type, entity_id, before, after FROM audit_log
         WHERE entity_type <> 'event_digest' ORDER BY id",
    ]
    .iter()
    .map(|sql| dump(conn, sql))
    .collect()
}

/// Every row of the tickets, their notes, the outbox and the audit log.
pub fn ticket_tables(conn: &Db) -> Vec<Vec<String>> {
    ["tickets", "ticket_notes", "hook_outbox", "audit_log"]
        .iter()
        .map(|t| dump(conn, &format!("SELECT * FROM {t}")))
        .collect()
}

/// What a history import and a live one of the same runs agree on: the
/// runs (not the missed windows), the restore points and the rollups' runs.
pub fn run_facts(conn: &Db) -> Vec<(&'static str, Vec<String>)> {
    [
        (
            "runs",
            "SELECT * FROM job_events WHERE status <> 'm' ORDER BY day, client_id, xid",
        ),
        (
            "restore points",
            "SELECT policy_id, last_success_at FROM policy_state ORDER BY policy_id",
        ),
        (
            "rollups",
            "SELECT client_id, day, runs, runs_success, runs_warning, runs_failed, bytes
             FROM daily_rollups ORDER BY 1, 2",
        ),
    ]
    .into_iter()
    .map(|(what, sql)| (what, dump(conn, sql)))
    .collect()
}

/// Each ticket as `job|class|kind|status`, by id.
pub fn ticket_lines(conn: &Db) -> Vec<String> {
    dump(
        conn,
        "SELECT p.job, t.class, t.kind, t.status FROM tickets t
         JOIN policies p ON p.id = t.policy_id ORDER BY t.id",
    )
}

/// Every work-log line, by id.
pub fn note_texts(conn: &Db) -> Vec<String> {
    dump(conn, "SELECT text FROM ticket_notes ORDER BY id")
}

/// The daily rollups' run and occurrence counts by day: runs, success,
/// warning, failed, expected, then occurrences success, warning, failed,
/// missed (days with all zero left out).
pub fn rollup_counts(conn: &Db) -> Vec<(i64, [i64; 9])> {
    let mut stmt = conn
        .0
        .prepare(
            "SELECT day, runs, runs_success, runs_warning, runs_failed, expected,
                    occ_success, occ_warning, occ_failed, occ_missed FROM daily_rollups",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let v: [i64; 9] = std::array::from_fn(|i| r.get(i + 1).unwrap());
        if v.iter().any(|x| *x != 0) {
            out.push((r.get(0).unwrap(), v));
        }
    }
    out
}

/// The standing missed events: (job, end of the window).
pub fn standing_misses(conn: &Db) -> Vec<(String, i64)> {
    let mut stmt = conn
        .0
        .prepare(
            "SELECT p.job, e.ended_at FROM job_events e JOIN policies p ON p.id = e.policy_id
             WHERE e.status = 'm' AND e.superseded IS NULL",
        )
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// The open, unrecovered tickets of run problems: (job, class).
pub fn open_run_problems(conn: &Db) -> Vec<(String, String)> {
    let mut stmt = conn
        .0
        .prepare(
            "SELECT p.job, t.class FROM tickets t JOIN policies p ON p.id = t.policy_id
             WHERE t.status IN ('open', 'in_progress') AND t.recovered_at IS NULL
               AND t.class IN ('failed', 'missed', 'warning', 'hung')",
        )
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}
