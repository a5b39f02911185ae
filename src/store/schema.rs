//! Numbered SQL migrations, applied in order; the version lives in
//! `PRAGMA user_version`. A migration, once landed, is never edited.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::Connection;

use super::Db;

/// The migrations, in order; index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_tickets.sql"),
    include_str!("migrations/0003_tasks.sql"),
    include_str!("migrations/0004_operations.sql"),
    include_str!("migrations/0005_kpi.sql"),
    include_str!("migrations/0006_changes.sql"),
    include_str!("migrations/0007_audit_chain.sql"),
    include_str!("migrations/0008_audit_guard.sql"),
    include_str!("migrations/0009_rollup_day.sql"),
    include_str!("migrations/0010_policy_state.sql"),
    include_str!("migrations/0011_events_clustered.sql"),
    include_str!("migrations/0012_write_locality.sql"),
    include_str!("migrations/0013_events_by_day.sql"),
    include_str!("migrations/0014_run_identity.sql"),
    include_str!("migrations/0015_pruned_days.sql"),
    include_str!("migrations/0016_outbox_payload.sql"),
    include_str!("migrations/0017_ticket_closures.sql"),
    include_str!("migrations/0018_audit_wall_clock.sql"),
    include_str!("migrations/0019_superseded.sql"),
    include_str!("migrations/0020_exclusions.sql"),
    include_str!("migrations/0021_expected_from.sql"),
    include_str!("migrations/0022_policy_versions.sql"),
    include_str!("migrations/0023_rpo_breaches.sql"),
    include_str!("migrations/0024_pending_windows.sql"),
    include_str!("migrations/0025_event_digests.sql"),
    include_str!("migrations/0026_waiting_on_the_client.sql"),
    include_str!("migrations/0027_change_notifications.sql"),
    include_str!("migrations/0028_contacts_and_acceptances.sql"),
    include_str!("migrations/0029_audit_origin.sql"),
    include_str!("migrations/0030_judgement_and_reach.sql"),
    include_str!("migrations/0031_mail_intake.sql"),
];

/// The newest schema version this bmctl knows.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

pub fn user_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version (is this a SQLite database?)")
}

/// Refuse a database written by a newer bmctl, touching nothing.
pub fn refuse_newer(conn: &Connection, path: &Path) -> Result<()> {
    let found = user_version(conn)
        .with_context(|| format!("{} is not a bmctl database (or is damaged)", path.display()))?;
    if found > VERSION {
        bail!(
            "database {} has schema version {found}, but this bmctl knows only up to version {VERSION}; upgrade bmctl",
            path.display()
        );
    }
    Ok(())
}

/// The schema version of a database.
pub fn version(conn: &Db) -> Result<i64> {
    user_version(&conn.0)
}

/// Apply every migration the database has not seen, each in its own transaction.
pub fn migrate(conn: &Db) -> Result<()> {
    let current = user_version(&conn.0)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        // SQLite's way to rebuild a table others reference: no foreign-key
        // enforcement during the transaction (it cannot change inside
        // one), a `foreign_key_check` before the commit
        let rebuilds = sql.contains(REBUILDS);
        if rebuilds {
            conn.0.pragma_update(None, "foreign_keys", false)?;
        }
        let applied = apply(conn, version, sql, rebuilds);
        if rebuilds {
            conn.0.pragma_update(None, "foreign_keys", true)?;
        }
        applied?;
    }
    Ok(())
}

/// The first line of a migration that rebuilds a referenced table.
const REBUILDS: &str = "-- bmctl: rebuilds tables";

fn apply(conn: &Db, version: i64, sql: &str, rebuilds: bool) -> Result<()> {
    {
        let tx = super::Tx::begin(conn)?;
        // Another process may have migrated while we waited for the lock.
        if user_version(&tx.0)? >= version {
            return Ok(());
        }
        tx.0.execute_batch(sql)
            .with_context(|| format!("applying migration {version}"))?;
        if version == 7 {
            // hash the rows written before the chain existed
            super::audit::backfill_chain(&tx)?;
        }
        if version == 25 {
            // the digests of the events stored before them
            let who = super::audit::Actor {
                at: crate::clock::wall(),
                actor: "bmctl",
                command: "migration 25",
            };
            super::digests::baseline(&tx, &who)?;
        }
        if rebuilds {
            let broken: i64 =
                tx.0.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                anyhow::bail!("applying migration {version}: {broken} rows lose their reference");
            }
        }
        tx.0.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_and_are_idempotent() {
        let conn = Db(Connection::open_in_memory().unwrap());
        migrate(&conn).unwrap();
        assert_eq!(version(&conn).unwrap(), VERSION);
        migrate(&conn).unwrap();
        let conn = conn.0;
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'job_events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    /// Version 12 re-keys the rollups by day and keeps every row.
    #[test]
    fn rollups_survive_the_rekey_by_day() {
        let conn = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS[..11].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        conn.execute(
            "INSERT INTO clients (id, code, name, timezone, sla_tier, created_at, updated_at)
             VALUES (1, 'a', 'A', 'UTC', 'gold', 0, 0), (2, 'b', 'B', 'UTC', 'gold', 0, 0)",
            [],
        )
        .unwrap();
        let rows = "SELECT client_id, day, runs, runs_failed, bytes, expected, occ_missed
                    FROM daily_rollups ORDER BY client_id, day";
        for (client, day) in [(2, 20_000), (1, 20_001), (1, 20_000), (2, 19_999)] {
            conn.execute(
                "INSERT INTO daily_rollups (client_id, day, runs, runs_failed, bytes, expected, occ_missed)
                 VALUES (?1, ?2, ?1 + ?2, 1, ?2 * 7, 3, 2)",
                [client, day],
            )
            .unwrap();
        }
        let read = |conn: &Connection| -> Vec<Vec<i64>> {
            let mut stmt = conn.prepare(rows).unwrap();
            let r = stmt
                .query_map([], |r| (0..7).map(|i| r.get(i)).collect())
                .unwrap();
            r.map(|r| r.unwrap()).collect()
        };
        let before = read(&conn);
        let conn = Db(conn);
        migrate(&conn).unwrap();
        let conn = conn.0;
        assert_eq!(read(&conn), before);
        let pk: String = conn
            .query_row(
                "SELECT group_concat(name) FROM pragma_index_info('sqlite_autoindex_daily_rollups_1')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(pk, "day,client_id");
    }
}
