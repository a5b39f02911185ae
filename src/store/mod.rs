//! The only module that speaks SQL. `Store` opens the file with the pragmas
//! every connection needs; one file per table holds its queries.

pub mod audit;
pub mod cis;
pub mod clients;
pub mod events;
pub mod meta;
pub mod plans;
pub mod policies;
pub mod schema;
pub mod tickets;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// An open bmctl database.
pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
}

impl Store {
    /// Open (creating when missing, mode 0600 in a 0700 folder) and migrate.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Store> {
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .with_context(|| format!("creating folder {}", dir.display()))?;
            }
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating database {}", path.display()))?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening database {}", path.display()))?;
        conn.busy_timeout(busy_timeout)?;
        // Refuse a newer database before anything can write to it.
        schema::refuse_newer(&conn, path)?;
        conn.pragma_update(None, "journal_mode", "wal")
            .with_context(|| {
                format!("{} is not a bmctl database (or is damaged)", path.display())
            })?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        schema::migrate(&mut store.conn)
            .with_context(|| format!("migrating database {}", path.display()))?;
        Ok(store)
    }

    /// An in-memory database with the full schema, for tests.
    pub fn memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path: PathBuf::from(":memory:"),
        })
    }

    /// Start the one write transaction of a command (IMMEDIATE: it takes the
    /// write lock now, so it never fails half-way with "database is locked").
    pub fn write(&mut self) -> Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a write transaction")
    }
}

/// Whether the file at `path` is marked as a bmctl demo, read without
/// writing anything (an unknown file must stay untouched).
pub fn peek_demo_mark(path: &Path) -> Result<bool> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .unwrap_or(false);
    if !has_meta {
        return Ok(false);
    }
    Ok(meta::get(&conn, "demo").ok().flatten().as_deref() == Some("true"))
}
