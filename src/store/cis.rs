//! The `cis` table: the CMDB.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::domain::ci::{BackupStatus, Lifecycle};
use crate::domain::plan::CiSpec;
use crate::error::not_found;

/// A CI as stored, with its derived backup status.
#[derive(Debug, Clone, Serialize)]
pub struct CiRow {
    pub id: i64,
    #[serde(skip)]
    pub client_id: i64,
    pub client: String,
    pub host: String,
    pub kind: String,
    pub tier: i64,
    pub os: Option<String>,
    pub role: Option<String>,
    pub status: Lifecycle,
    pub backup_status: BackupStatus,
    pub excluded: Option<String>,
    pub policies: i64,
    pub last_change_ref: Option<String>,
}

const SELECT: &str =
    "SELECT c.id, c.client_id, cl.code, c.host, c.kind, c.tier, c.os, c.role, c.status,
        c.excluded, c.last_change_ref,
        (SELECT count(*) FROM policies p WHERE p.ci_id = c.id AND p.status = 'active')
     FROM cis c JOIN clients cl ON cl.id = c.client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CiRow> {
    let status = super::word(r, 8, Lifecycle::parse)?;
    let excluded: Option<String> = r.get(9)?;
    let policies: i64 = r.get(11)?;
    Ok(CiRow {
        id: r.get(0)?,
        client_id: r.get(1)?,
        client: r.get(2)?,
        host: r.get(3)?,
        kind: r.get(4)?,
        tier: r.get(5)?,
        os: r.get(6)?,
        role: r.get(7)?,
        backup_status: BackupStatus::derive(
            status == Lifecycle::Retired,
            excluded.is_some(),
            policies,
        ),
        status,
        excluded,
        policies,
        last_change_ref: r.get(10)?,
    })
}

impl CiRow {
    pub fn spec(&self) -> CiSpec {
        CiSpec {
            host: self.host.clone(),
            kind: self.kind.clone(),
            tier: self.tier,
            os: self.os.clone(),
            role: self.role.clone(),
            excluded: self.excluded.clone(),
        }
    }
}

/// A CI's host name by id.
pub fn host_of(conn: &Db, id: i64) -> Result<Option<String>> {
    Ok(conn
        .0
        .prepare_cached("SELECT host FROM cis WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// How many active policies protect a CI.
pub fn active_policies(conn: &Db, ci_id: i64) -> Result<i64> {
    Ok(conn.0.query_row(
        "SELECT count(*) FROM policies WHERE ci_id = ?1 AND status = 'active'",
        [ci_id],
        |r| r.get(0),
    )?)
}

pub fn find(conn: &Db, client_id: i64, host: &str) -> Result<Option<CiRow>> {
    Ok(conn
        .0
        .prepare_cached(&format!("{SELECT} WHERE c.client_id = ?1 AND c.host = ?2"))?
        .query_row(params![client_id, host], from_row)
        .optional()?)
}

pub fn get(conn: &Db, client_id: i64, client: &str, host: &str) -> Result<CiRow> {
    find(conn, client_id, host)?.ok_or_else(|| {
        not_found(format!(
            "no CI '{host}' for client '{client}'; see `bmctl cmdb list --client {client}`"
        ))
    })
}

/// CIs of one client or all, by client and host.
pub fn list(conn: &Db, client_id: Option<i64>) -> Result<Vec<CiRow>> {
    let mut stmt = conn.0.prepare(&format!(
        "{SELECT} WHERE (?1 IS NULL OR c.client_id = ?1) ORDER BY cl.code, c.host"
    ))?;
    let rows = stmt.query_map([client_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(conn: &Db, client_id: i64, spec: &CiSpec, now: i64) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO cis (client_id, host, kind, tier, os, role, excluded, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            client_id,
            spec.host,
            spec.kind,
            spec.tier,
            spec.os,
            spec.role,
            spec.excluded,
            now
        ],
    )?;
    Ok(conn.0.last_insert_rowid())
}

pub fn update(conn: &Db, id: i64, spec: &CiSpec, now: i64) -> Result<()> {
    conn.0.execute(
        "UPDATE cis SET kind = ?2, tier = ?3, os = ?4, role = ?5, excluded = ?6, updated_at = ?7
         WHERE id = ?1",
        params![
            id,
            spec.kind,
            spec.tier,
            spec.os,
            spec.role,
            spec.excluded,
            now
        ],
    )?;
    Ok(())
}

pub fn set_status(conn: &Db, id: i64, status: Lifecycle, now: i64) -> Result<()> {
    conn.0.execute(
        "UPDATE cis SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now],
    )?;
    Ok(())
}

/// Counts across the whole database: clients, CIs, active policies and
/// active CIs with neither a policy nor a recorded exclusion.
#[derive(Debug, Clone, Copy)]
pub struct Coverage {
    pub clients: i64,
    pub cis: i64,
    pub policies: i64,
    pub unprotected: i64,
}

pub fn coverage(conn: &Db) -> Result<Coverage> {
    Ok(conn.0.query_row(
        "SELECT (SELECT count(*) FROM clients),
                (SELECT count(*) FROM cis WHERE status = 'active'),
                (SELECT count(*) FROM policies WHERE status = 'active'),
                (SELECT count(*) FROM cis c WHERE c.status = 'active' AND c.excluded IS NULL
                   AND NOT EXISTS (SELECT 1 FROM policies p WHERE p.ci_id = c.id AND p.status = 'active'))",
        [],
        |r| {
            Ok(Coverage {
                clients: r.get(0)?,
                cis: r.get(1)?,
                policies: r.get(2)?,
                unprotected: r.get(3)?,
            })
        },
    )?)
}

/// Record the change that last touched a CI.
pub fn set_change_ref(conn: &Db, id: i64, reference: &str, now: i64) -> Result<()> {
    conn.0.execute(
        "UPDATE cis SET last_change_ref = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, reference, now],
    )?;
    Ok(())
}
