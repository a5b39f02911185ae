//! Connection settings of a bulk import, the checkpointer beside it, and
//! giving space back.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{CachedStatement, Connection};

use super::{Store, CACHE_KIB};

/// Page cache of a bulk import, as SQLite's negative KiB.
const IMPORT_CACHE_KIB: i64 = -32_768;

impl Store {
    /// Set the connection up for a bulk import; [`Store::end_bulk`] undoes it.
    pub fn begin_bulk(&self) -> Result<()> {
        // The writer checkpoints rarely (its commits would otherwise copy the
        // same hot index pages again and again); `checkpoint_on_commit`
        // copies them on the other core.
        self.conn
            .0
            .pragma_update(None, "wal_autocheckpoint", 40_000)?;
        // A smaller page cache keeps the import's peak memory flat whatever
        // the input (the target is in BENCHMARKS.md).
        self.conn
            .0
            .pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
        // The event rows refer to clients, policies, unmatched jobs and
        // sources by ids the import read or created inside its own
        // transactions, and no command deletes those rows: checking each
        // reference again costs three B-tree seeks per event.
        self.conn.0.pragma_update(None, "foreign_keys", "off")?;
        Ok(())
    }

    /// The connection's usual settings again, whatever the import did.
    pub fn end_bulk(&self) -> Result<()> {
        self.conn.0.pragma_update(None, "foreign_keys", "on")?;
        self.conn
            .0
            .pragma_update(None, "wal_autocheckpoint", 1000)?;
        self.conn.0.pragma_update(None, "cache_size", CACHE_KIB)?;
        Ok(())
    }

    /// Give the space of deleted rows back to the file system.
    pub fn vacuum(&self) -> Result<()> {
        self.conn.0.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        Ok(())
    }

    /// Copy what the WAL holds into the database, without waiting for readers.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn
            .0
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// A number that changes when another connection commits.
pub fn data_version(conn: &Db) -> Result<i64> {
    Ok(conn.0.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// The statement that inserts one event ([`super::events::INSERT`]),
/// prepared once per batch.
pub struct EventInsert<'a>(pub(super) CachedStatement<'a>);

pub fn event_insert(conn: &Db) -> Result<EventInsert<'_>> {
    Ok(EventInsert(conn.0.prepare_cached(super::events::INSERT)?))
}

/// Checkpoint `db_file` after each commit a writer reports on `commits`,
/// from a connection of its own (on another core), until the writer is done.
pub fn checkpoint_on_commit(db_file: &std::path::Path, commits: std::sync::mpsc::Receiver<()>) {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(db_file, flags) else {
        return;
    };
    // as the writer's: a checkpoint syncs the database file once it is copied
    if conn.pragma_update(None, "synchronous", "normal").is_err() {
        return;
    }
    while commits.recv().is_ok() {
        while commits.try_recv().is_ok() {}
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
