//! Report e-mails read (by identity) and the intake queue.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::store::Db;

pub fn seen(conn: &Db, key: &str) -> Result<bool> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT 1 FROM mail_seen WHERE key = ?1")?;
    Ok(stmt.exists([key])?)
}

pub fn mark_seen(
    conn: &Db,
    key: &str,
    at: i64,
    outcome: &str,
    recognizer: Option<&str>,
) -> Result<()> {
    conn.0.execute(
        "INSERT INTO mail_seen (key, seen_at, outcome, recognizer) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO NOTHING",
        params![key, at, outcome, recognizer],
    )?;
    Ok(())
}

/// A message in the intake queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Item {
    pub id: i64,
    #[serde(skip)]
    pub key: String,
    pub received_at: i64,
    pub sender: String,
    pub subject: String,
    pub sent_at: Option<i64>,
    pub reason: String,
    pub recognizer: Option<String>,
    pub job_name: Option<String>,
    pub director: Option<String>,
    pub client: Option<String>,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub state: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub note: Option<String>,
}

const COLUMNS: &str =
    "id, key, received_at, sender, subject, sent_at, reason, recognizer, job_name,
    director, client, raw, state, closed_by, closed_at, note";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Item> {
    Ok(Item {
        id: r.get(0)?,
        key: r.get(1)?,
        received_at: r.get(2)?,
        sender: r.get(3)?,
        subject: r.get(4)?,
        sent_at: r.get(5)?,
        reason: r.get(6)?,
        recognizer: r.get(7)?,
        job_name: r.get(8)?,
        director: r.get(9)?,
        client: r.get(10)?,
        raw: r.get(11)?,
        state: r.get(12)?,
        closed_by: r.get(13)?,
        closed_at: r.get(14)?,
        note: r.get(15)?,
    })
}

/// Queue a message (once per identity); its id.
pub fn insert(conn: &Db, i: &Item) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO intake (key, received_at, sender, subject, sent_at, reason, recognizer, job_name,
                             director, client, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, state = 'open',
             closed_by = NULL, closed_at = NULL
         WHERE intake.state <> 'ignored'",
        params![
            i.key, i.received_at, i.sender, i.subject, i.sent_at, i.reason, i.recognizer, i.job_name,
            i.director, i.client, i.raw
        ],
    )?;
    Ok(conn
        .0
        .query_row("SELECT id FROM intake WHERE key = ?1", [&i.key], |r| {
            r.get(0)
        })?)
}

pub fn list(conn: &Db, all: bool) -> Result<Vec<Item>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM intake {} ORDER BY received_at, id",
        if all { "" } else { "WHERE state = 'open'" }
    );
    let mut stmt = conn.0.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Db, id: i64) -> Result<Option<Item>> {
    let sql = format!("SELECT {COLUMNS} FROM intake WHERE id = ?1");
    Ok(conn.0.query_row(&sql, [id], from_row).optional()?)
}

pub fn close(conn: &Db, id: i64, state: &str, by: &str, at: i64, note: Option<&str>) -> Result<()> {
    conn.0.execute(
        "UPDATE intake SET state = ?2, closed_by = ?3, closed_at = ?4, note = ?5 WHERE id = ?1",
        params![id, state, by, at, note],
    )?;
    Ok(())
}

/// Forget that a message was read (it is to be read again, once mapped).
pub fn forget(conn: &Db, key: &str) -> Result<()> {
    conn.0
        .execute("DELETE FROM mail_seen WHERE key = ?1", [key])?;
    Ok(())
}
