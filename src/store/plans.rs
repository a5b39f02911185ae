//! The `plan_versions` table: every published version of a client's plan.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::domain::time::Ts;

#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    pub version: i64,
    pub created_at: Ts,
    pub actor: String,
    pub reason: String,
    #[serde(skip)]
    pub content: String,
}

pub fn latest(conn: &Db, client_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .0
        .query_row(
            "SELECT max(version) FROM plan_versions WHERE client_id = ?1",
            [client_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub fn insert(
    conn: &Db,
    client_id: i64,
    at: i64,
    actor: &str,
    reason: &str,
    content: &str,
) -> Result<i64> {
    let version = latest(conn, client_id)?.unwrap_or(0) + 1;
    conn.0.execute(
        "INSERT INTO plan_versions (client_id, version, created_at, actor, reason, content)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![client_id, version, at, actor, reason, content],
    )?;
    Ok(version)
}

pub fn list(conn: &Db, client_id: i64) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.0.prepare(
        "SELECT version, created_at, actor, reason, content FROM plan_versions
         WHERE client_id = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map([client_id], |r| {
        Ok(VersionRow {
            version: r.get(0)?,
            created_at: Ts(r.get(1)?),
            actor: r.get(2)?,
            reason: r.get(3)?,
            content: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Db, client_id: i64, version: i64) -> Result<Option<String>> {
    Ok(conn
        .0
        .query_row(
            "SELECT content FROM plan_versions WHERE client_id = ?1 AND version = ?2",
            params![client_id, version],
            |r| r.get(0),
        )
        .optional()?)
}

/// What a plan version's audit row holds of its text: the text itself is in
/// `plan_versions`, once (a whole plan in the audit log too was 1.5 bytes
/// per event at scale); `audit verify --deep` checks it against this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TextDigest {
    pub sha256: String,
    pub bytes: usize,
}

pub fn text_digest(content: &str) -> TextDigest {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(content.as_bytes());
    TextDigest {
        sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
        bytes: content.len(),
    }
}
