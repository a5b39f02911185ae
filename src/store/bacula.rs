//! Bacula jobs by Director and JobId: what a restore restored from.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use crate::store::Db;

pub fn remember(conn: &Db, director: &str, job_id: &str, job: &str) -> Result<()> {
    let mut stmt = conn.0.prepare_cached(
        "INSERT INTO bacula_jobs (director, job_id, job) VALUES (?1, ?2, ?3)
         ON CONFLICT (director, job_id) DO UPDATE SET job = excluded.job",
    )?;
    stmt.execute(params![director, job_id, job])?;
    Ok(())
}

pub fn job(conn: &Db, director: &str, job_id: &str) -> Result<Option<String>> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT job FROM bacula_jobs WHERE director = ?1 AND job_id = ?2")?;
    Ok(stmt
        .query_row(params![director, job_id], |r| r.get(0))
        .optional()?)
}

/// Whether a recovery attempt with this tool key is recorded.
pub fn attempt_known(conn: &Db, ext_id: &str) -> Result<bool> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT 1 FROM recovery_attempts WHERE ext_id = ?1")?;
    Ok(stmt.exists([ext_id])?)
}
