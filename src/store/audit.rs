//! The audit log: one row per write, with the actor and before/after JSON.
//! For a change of an existing object only the fields that changed are kept
//! on either side; a creation keeps the whole new object.

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
    let (before, after) = changed_fields(
        before.map(|b| b.value()).transpose()?,
        after.map(|a| a.value()).transpose()?,
    );
    let before = before.map(|b| b.to_string());
    let after = after.map(|a| a.to_string());
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

/// Keep only the fields whose values differ when both sides are objects.
fn changed_fields(
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    use serde_json::Value;
    match (before, after) {
        (Some(Value::Object(mut b)), Some(Value::Object(mut a))) => {
            let same: Vec<String> = b
                .iter()
                .filter(|(k, v)| a.get(*k) == Some(*v))
                .map(|(k, _)| k.clone())
                .collect();
            for k in same {
                b.remove(&k);
                a.remove(&k);
            }
            (Some(Value::Object(b)), Some(Value::Object(a)))
        }
        other => other,
    }
}

/// Serialize anything `Serialize` behind a trait object.
pub mod erased {
    pub trait Json {
        fn value(&self) -> anyhow::Result<serde_json::Value>;
    }
    impl<T: serde::Serialize> Json for T {
        fn value(&self) -> anyhow::Result<serde_json::Value> {
            Ok(serde_json::to_value(self)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_kept() {
        let (b, a) = changed_fields(
            Some(serde_json::json!({"host": "fs01", "os": null, "tier": 1})),
            Some(serde_json::json!({"host": "fs01", "os": "Debian 12", "tier": 1})),
        );
        assert_eq!(b.unwrap(), serde_json::json!({"os": null}));
        assert_eq!(a.unwrap(), serde_json::json!({"os": "Debian 12"}));
        let (b, a) = changed_fields(None, Some(serde_json::json!({"host": "fs01"})));
        assert_eq!((b, a.unwrap()), (None, serde_json::json!({"host": "fs01"})));
    }
}
