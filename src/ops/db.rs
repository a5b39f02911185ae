//! Housekeeping of the database file: checks and online copies.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;
use serde::Serialize;

use crate::error::refused;
use crate::store::{schema, Store};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub path: String,
    pub schema_version: i64,
    pub integrity: Vec<String>,
    pub foreign_key_violations: Vec<String>,
    /// The file's permissions, and how to fix them when others may read it.
    pub mode: String,
    pub ok: bool,
}

/// SQLite's integrity and foreign-key checks.
pub fn check(store: &Store) -> Result<CheckReport> {
    let conn = &store.conn;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let integrity: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let fks: Vec<String> = stmt
        .query_map([], |r| {
            let table: String = r.get(0)?;
            let rowid: Option<i64> = r.get(1)?;
            let parent: String = r.get(2)?;
            Ok(format!(
                "{table} row {} points to a missing {parent} row",
                rowid.unwrap_or(0)
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let (mode, private) = match crate::store::file_mode(&store.path) {
        Some(m) if m & 0o077 != 0 => (
            format!(
                "{m:04o}: others may read it; fix with `chmod 600 {}`",
                store.path.display()
            ),
            false,
        ),
        Some(m) => (format!("{m:04o}"), true),
        None => ("-".into(), true),
    };
    let ok = integrity == ["ok"] && fks.is_empty() && private;
    Ok(CheckReport {
        path: store.path.display().to_string(),
        schema_version: schema::user_version(conn)?,
        integrity,
        foreign_key_violations: fks,
        mode,
        ok,
    })
}

/// An online copy with SQLite's backup API, created mode 0600.
pub fn backup(store: &Store, dest: &Path, force: bool) -> Result<()> {
    if dest.exists() {
        if !force {
            return Err(refused(format!(
                "{} exists; choose another file or pass --force to overwrite it",
                dest.display()
            )));
        }
        std::fs::remove_file(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .with_context(|| format!("creating {}", dest.display()))?;
    let mut target =
        Connection::open(dest).with_context(|| format!("opening {}", dest.display()))?;
    let b = rusqlite::backup::Backup::new(&store.conn, &mut target)?;
    b.run_to_completion(1024, std::time::Duration::from_millis(0), None)
        .with_context(|| format!("copying the database to {}", dest.display()))?;
    Ok(())
}

/// What `db prune` did.
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub events_deleted: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Delete job events that ended before `before` — the daily rollups keep the
/// counts the KPIs read — then VACUUM so the file shrinks.
pub fn prune(store: &mut Store, ctx: &crate::ops::Ctx, before: i64) -> Result<Pruned> {
    let size = |s: &Store| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0);
    let bytes_before = size(store);
    let tx = store.write()?;
    let n = crate::store::events::prune(&tx, before)?;
    crate::store::audit::record(
        &tx,
        &ctx.who(),
        "events",
        "prune",
        None,
        Some(&serde_json::json!({"before": crate::domain::time::rfc3339(before), "deleted": n})),
    )?;
    tx.commit()?;
    store.conn.execute_batch(
        "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
    )?;
    Ok(Pruned {
        events_deleted: n,
        bytes_before,
        bytes_after: size(store),
    })
}
