//! The audit log: one row per write, with the actor and before/after JSON.

use anyhow::Result;
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::domain::time::Ts;

/// Who did what, when: passed to every write.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub command: &'a str,
}

pub fn record(
    conn: &Connection,
    who: &Actor<'_>,
    entity_type: &str,
    entity_id: &str,
    before: Option<&dyn erased::Json>,
    after: Option<&dyn erased::Json>,
) -> Result<()> {
    let before = before.map(|b| b.json()).transpose()?;
    let after = after.map(|a| a.json()).transpose()?;
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, command, entity_type, entity_id, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        who.at,
        who.actor,
        who.command,
        entity_type,
        entity_id,
        before,
        after
    ])?;
    Ok(())
}

/// Serialize anything `Serialize` behind a trait object.
pub mod erased {
    pub trait Json {
        fn json(&self) -> anyhow::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> anyhow::Result<String> {
            Ok(serde_json::to_string(self)?)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: Ts,
    pub actor: String,
    pub command: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Audit rows, oldest first, filtered by entity type (and id) and time.
pub fn list(
    conn: &Connection,
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    since: Option<i64>,
) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, command, entity_type, entity_id, before, after
         FROM audit_log
         WHERE (?1 IS NULL OR entity_type = ?1)
           AND (?2 IS NULL OR entity_id = ?2)
           AND (?3 IS NULL OR at >= ?3)
         ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![entity_type, entity_id, since], |r| {
        let before: Option<String> = r.get(6)?;
        let after: Option<String> = r.get(7)?;
        Ok(AuditRow {
            id: r.get(0)?,
            at: Ts(r.get(1)?),
            actor: r.get(2)?,
            command: r.get(3)?,
            entity_type: r.get(4)?,
            entity_id: r.get(5)?,
            before: before.and_then(|b| serde_json::from_str(&b).ok()),
            after: after.and_then(|a| serde_json::from_str(&a).ok()),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
