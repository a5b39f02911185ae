//! The `changes` and `change_log` tables (MACD).

use super::word;
use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::domain::change::{Change, ChangeKind, ChangeRisk, ChangeState};
use crate::domain::plan::CiSpec;
use crate::domain::time::Ts;
use crate::error::not_found;

const SELECT: &str = "SELECT ch.id, ch.type, ch.client_id, c.code, ch.job, ch.policy_id, ch.ci_host, ch.proposal, ch.new_ci,
        ch.based_on, ch.state, ch.risk, ch.risk_reasons, ch.reason, ch.ref, ch.requested_by, ch.requested_at,
        ch.approved_by, ch.approved_at, ch.decision, ch.implemented_by, ch.implemented_at, ch.retain_until,
        ch.dispose, ch.forced, ch.completed_by, ch.completed_at, ch.verified_by, ch.plan_version, ch.updated_at,
        ch.current
     FROM changes ch JOIN clients c ON c.id = ch.client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Change> {
    Ok(Change {
        id: r.get(0)?,
        kind: word(r, 1, ChangeKind::parse)?,
        client_id: r.get(2)?,
        client: r.get(3)?,
        job: r.get(4)?,
        policy_id: r.get(5)?,
        ci_host: r.get(6)?,
        proposal: json_opt(r, 7)?,
        new_ci: r
            .get::<_, Option<String>>(8)?
            .as_deref()
            .map(ci_of_json)
            .transpose()?,
        based_on: r.get(9)?,
        state: word(r, 10, ChangeState::parse)?,
        risk: word(r, 11, ChangeRisk::parse)?,
        risk_reasons: json_opt(r, 12)?.unwrap_or_default(),
        reason: r.get(13)?,
        ref_: r.get(14)?,
        requested_by: r.get(15)?,
        requested_at: r.get(16)?,
        approved_by: r.get(17)?,
        approved_at: r.get(18)?,
        decision: r.get(19)?,
        implemented_by: r.get(20)?,
        implemented_at: r.get(21)?,
        retain_until: r.get(22)?,
        dispose: r.get(23)?,
        forced: r.get(24)?,
        completed_by: r.get(25)?,
        completed_at: r.get(26)?,
        verified_by: r.get(27)?,
        plan_version: r.get(28)?,
        updated_at: r.get(29)?,
        current: json_opt(r, 30)?,
    })
}

pub fn get(conn: &Db, id: i64) -> Result<Change> {
    conn.0
        .prepare_cached(&format!("{SELECT} WHERE ch.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| not_found(format!("no change CR-{id}; see `bmctl macd list`")))
}

fn proposal_json(c: &Change) -> Result<Option<String>> {
    Ok(c.proposal.as_ref().map(serde_json::to_string).transpose()?)
}

pub fn insert(conn: &Db, c: &Change) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO changes (type, client_id, job, policy_id, ci_host, proposal, new_ci, based_on, state, risk,
            risk_reasons, reason, ref, requested_by, requested_at, updated_at, current)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)",
        params![
            c.kind.as_str(),
            c.client_id,
            c.job,
            c.policy_id,
            c.ci_host,
            proposal_json(c)?,
            c.new_ci.as_ref().map(ci_json),
            c.based_on,
            c.state.as_str(),
            c.risk.as_str(),
            serde_json::to_string(&c.risk_reasons)?,
            c.reason,
            c.ref_,
            c.requested_by,
            c.requested_at,
            c.current.as_ref().map(serde_json::to_string).transpose()?
        ],
    )?;
    Ok(conn.0.last_insert_rowid())
}

pub fn save(conn: &Db, c: &Change) -> Result<()> {
    conn.0.execute(
        "UPDATE changes SET policy_id = ?2, state = ?3, approved_by = ?4, approved_at = ?5, decision = ?6,
            implemented_by = ?7, implemented_at = ?8, retain_until = ?9, dispose = ?10, forced = ?11,
            completed_by = ?12, completed_at = ?13, verified_by = ?14, plan_version = ?15, updated_at = ?16,
            ref = ?17
         WHERE id = ?1",
        params![
            c.id,
            c.policy_id,
            c.state.as_str(),
            c.approved_by,
            c.approved_at,
            c.decision,
            c.implemented_by,
            c.implemented_at,
            c.retain_until,
            c.dispose,
            c.forced,
            c.completed_by,
            c.completed_at,
            c.verified_by,
            c.plan_version,
            c.updated_at,
            c.ref_
        ],
    )?;
    Ok(())
}

/// Changes by id, filtered by client, state, or open only.
pub fn list(
    conn: &Db,
    client_id: Option<i64>,
    state: Option<ChangeState>,
    open: bool,
) -> Result<Vec<Change>> {
    let mut q = super::Query::new(format!("{SELECT} WHERE 1"));
    if let Some(c) = client_id {
        q.bind("ch.client_id =", c.into());
    }
    if let Some(s) = state {
        q.bind("ch.state =", s.as_str().to_string().into());
    }
    if open {
        q.raw(" AND ch.state IN ('requested', 'approved', 'implemented')");
    }
    q.raw(" ORDER BY ch.id");
    let mut stmt = conn.0.prepare(&q.sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(q.args), from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One line of a change's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub at: Ts,
    pub actor: String,
    pub text: String,
}

pub fn log(conn: &Db, change_id: i64, at: i64, actor: &str, text: &str) -> Result<()> {
    conn.0.execute(
        "INSERT INTO change_log (change_id, at, actor, text) VALUES (?1, ?2, ?3, ?4)",
        params![change_id, at, actor, text],
    )?;
    Ok(())
}

pub fn timeline(conn: &Db, change_id: i64) -> Result<Vec<LogLine>> {
    let mut stmt = conn
        .0
        .prepare("SELECT at, actor, text FROM change_log WHERE change_id = ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([change_id], |r| {
        Ok(LogLine {
            at: Ts(r.get(0)?),
            actor: r.get(1)?,
            text: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A JSON column as `T`; text that is not one is a damaged row, named.
fn json_opt<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = r.get(i)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// A request's new CI as stored: its host, kind, tier, OS and role.
fn ci_json(n: &CiSpec) -> String {
    serde_json::json!({"host": n.host, "kind": n.kind, "tier": n.tier, "os": n.os, "role": n.role})
        .to_string()
}

/// The new CI a request stored (what is missing: kind `other`, tier 3);
/// text that is not a JSON object is a damaged row.
fn ci_of_json(text: &str) -> rusqlite::Result<CiSpec> {
    let n: serde_json::Value = serde_json::from_str(text)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Text,
                format!("new_ci '{text}' is not a JSON object").into(),
            )
        })?;
    let text = |k: &str| n[k].as_str().map(str::to_string);
    Ok(CiSpec {
        host: text("host").unwrap_or_default(),
        kind: text("kind").unwrap_or_else(|| "other".into()),
        tier: n["tier"].as_i64().unwrap_or(3),
        os: text("os"),
        role: text("role"),
        excluded: None,
    })
}
