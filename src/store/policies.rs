//! The `policies` table: backup jobs with their live per-policy state.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::plan::PolicySpec;
use crate::domain::policy::{MatchRule, Retention};
use crate::error::not_found;

/// A policy as stored.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: i64,
    pub client_id: i64,
    pub ci_id: i64,
    pub ci: String,
    pub spec: PolicySpec,
    pub status: String,
    pub revision: i64,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_status: Option<String>,
    pub consecutive_failures: i64,
}

const SELECT: &str =
    "SELECT p.id, p.client_id, p.ci_id, c.host, p.job, p.tool, p.schedule, p.rpo_s,
        p.grace_s, p.retention, p.target, p.restore_test, p.rto_s, p.max_runtime_s, p.match_host,
        p.match_tags, p.status, p.revision, p.created_at, p.retired_at, p.last_event_at,
        p.last_success_at, p.last_status, p.consecutive_failures
     FROM policies p JOIN cis c ON c.id = p.ci_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    let retention: String = r.get(9)?;
    let tags: Option<String> = r.get(15)?;
    let host: String = r.get(3)?;
    Ok(PolicyRow {
        id: r.get(0)?,
        client_id: r.get(1)?,
        ci_id: r.get(2)?,
        spec: PolicySpec {
            job: r.get(4)?,
            ci: host.clone(),
            tool: r.get(5)?,
            schedule: r.get(6)?,
            rpo_s: r.get(7)?,
            grace_s: r.get(8)?,
            retention: Retention::parse(&retention).unwrap_or_default(),
            target: r.get(10)?,
            restore_test: r.get(11)?,
            rto_s: r.get(12)?,
            max_runtime_s: r.get(13)?,
            match_rule: MatchRule {
                host: r.get(14)?,
                tags: tags
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
            },
        },
        ci: host,
        status: r.get(16)?,
        revision: r.get(17)?,
        created_at: r.get(18)?,
        retired_at: r.get(19)?,
        last_event_at: r.get(20)?,
        last_success_at: r.get(21)?,
        last_status: r.get(22)?,
        consecutive_failures: r.get(23)?,
    })
}

pub fn find(conn: &Connection, client_id: i64, job: &str) -> Result<Option<PolicyRow>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE p.client_id = ?1 AND p.job = ?2"))?
        .query_row(params![client_id, job], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, client_id: i64, client: &str, job: &str) -> Result<PolicyRow> {
    find(conn, client_id, job)?.ok_or_else(|| {
        not_found(format!(
            "no job '{client}/{job}'; see `bmctl plan show {client}`"
        ))
    })
}

/// Policies of a client (active only unless `all`), by job name.
pub fn list(conn: &Connection, client_id: i64, all: bool) -> Result<Vec<PolicyRow>> {
    let mut stmt = conn.prepare(&format!(
        "{SELECT} WHERE p.client_id = ?1 AND (?2 OR p.status = 'active') ORDER BY p.job"
    ))?;
    let rows = stmt.query_map(params![client_id, all], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn tags_json(m: &MatchRule) -> Option<String> {
    (!m.tags.is_empty()).then(|| serde_json::to_string(&m.tags).unwrap_or_default())
}

pub fn insert(
    conn: &Connection,
    client_id: i64,
    ci_id: i64,
    p: &PolicySpec,
    now: i64,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO policies (client_id, ci_id, job, tool, schedule, rpo_s, grace_s, retention, target,
                               restore_test, rto_s, max_runtime_s, match_host, match_tags, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            client_id,
            ci_id,
            p.job,
            p.tool,
            p.schedule,
            p.rpo_s,
            p.grace_s,
            p.retention.to_string(),
            p.target,
            p.restore_test,
            p.rto_s,
            p.max_runtime_s,
            p.match_rule.host,
            tags_json(&p.match_rule),
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Replace a policy's configuration (reactivating it if retired); bumps its revision.
pub fn update(conn: &Connection, id: i64, ci_id: i64, p: &PolicySpec) -> Result<()> {
    conn.execute(
        "UPDATE policies SET ci_id = ?2, tool = ?3, schedule = ?4, rpo_s = ?5, grace_s = ?6,
                retention = ?7, target = ?8, restore_test = ?9, rto_s = ?10, max_runtime_s = ?11,
                match_host = ?12, match_tags = ?13, status = 'active', retired_at = NULL,
                revision = revision + 1
         WHERE id = ?1",
        params![
            id,
            ci_id,
            p.tool,
            p.schedule,
            p.rpo_s,
            p.grace_s,
            p.retention.to_string(),
            p.target,
            p.restore_test,
            p.rto_s,
            p.max_runtime_s,
            p.match_rule.host,
            tags_json(&p.match_rule)
        ],
    )?;
    Ok(())
}

pub fn retire(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE policies SET status = 'retired', retired_at = ?2, revision = revision + 1 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
