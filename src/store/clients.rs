//! The `clients` table.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::domain::client::SlaTier;
use crate::domain::plan::ClientSpec;
use crate::domain::policy::Retention;
use crate::error::not_found;

#[derive(Debug, Clone, Serialize)]
pub struct ClientRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub sla_tier: String,
    pub required_retention: Option<String>,
    pub require_offsite: bool,
}

const COLUMNS: &str = "id, code, name, timezone, sla_tier, required_retention, require_offsite";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ClientRow> {
    Ok(ClientRow {
        id: r.get(0)?,
        code: r.get(1)?,
        name: r.get(2)?,
        timezone: r.get(3)?,
        sla_tier: r.get(4)?,
        required_retention: r.get(5)?,
        require_offsite: r.get(6)?,
    })
}

impl ClientRow {
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn spec(&self) -> ClientSpec {
        ClientSpec {
            code: self.code.clone(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            sla_tier: SlaTier::parse(&self.sla_tier).unwrap_or(SlaTier::Silver),
            required_retention: self
                .required_retention
                .as_deref()
                .and_then(|r| Retention::parse(r).ok()),
            require_offsite: self.require_offsite,
        }
    }
}

pub fn find(conn: &Db, code: &str) -> Result<Option<ClientRow>> {
    Ok(conn
        .0
        .prepare_cached(&format!("SELECT {COLUMNS} FROM clients WHERE code = ?1"))?
        .query_row([code], from_row)
        .optional()?)
}

/// The client with this code, or a not-found error that says what to run.
pub fn get(conn: &Db, code: &str) -> Result<ClientRow> {
    find(conn, code)?.ok_or_else(|| {
        not_found(format!(
            "no client '{code}'; see `bmctl client list` or add it with `bmctl client add`"
        ))
    })
}

pub fn get_by_id(conn: &Db, id: i64) -> Result<ClientRow> {
    Ok(conn
        .0
        .prepare_cached(&format!("SELECT {COLUMNS} FROM clients WHERE id = ?1"))?
        .query_row([id], from_row)?)
}

pub fn list(conn: &Db) -> Result<Vec<ClientRow>> {
    let mut stmt = conn
        .0
        .prepare(&format!("SELECT {COLUMNS} FROM clients ORDER BY code"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(conn: &Db, spec: &ClientSpec, now: i64) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO clients (code, name, timezone, sla_tier, required_retention, require_offsite, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            spec.code,
            spec.name,
            spec.timezone,
            spec.sla_tier.as_str(),
            spec.required_retention.as_ref().map(|r| r.to_string()),
            spec.require_offsite,
            now
        ],
    )?;
    Ok(conn.0.last_insert_rowid())
}

pub fn update(conn: &Db, id: i64, spec: &ClientSpec, now: i64) -> Result<()> {
    conn.0.execute(
        "UPDATE clients SET name = ?2, timezone = ?3, sla_tier = ?4, required_retention = ?5,
                require_offsite = ?6, updated_at = ?7
         WHERE id = ?1",
        params![
            id,
            spec.name,
            spec.timezone,
            spec.sla_tier.as_str(),
            spec.required_retention.as_ref().map(|r| r.to_string()),
            spec.require_offsite,
            now
        ],
    )?;
    Ok(())
}

/// The zones clients are in.
pub fn zones(conn: &Db) -> Result<Vec<String>> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT DISTINCT timezone FROM clients")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
