//! Small key/value facts about the database file itself (e.g. the demo mark).

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};

pub fn get(conn: &Db, key: &str) -> Result<Option<String>> {
    Ok(conn
        .0
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// A fact stored as a whole number (a time, a bound); none when unset.
pub fn get_i64(conn: &Db, key: &str) -> Result<Option<i64>> {
    Ok(get(conn, key)?.and_then(|v| v.parse().ok()))
}

pub fn set(conn: &Db, key: &str, value: &str) -> Result<()> {
    conn.0.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
