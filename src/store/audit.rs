//! The audit log: one row per write, with the actor and before/after JSON,
//! chained: each row's SHA-256 covers its content and the previous row's
//! hash, so an edited, deleted or inserted row breaks the chain.
//! For a change of an existing object only the fields that changed are kept:
//! `after` with their new values (null when cleared), `before` with their old
//! values where they had one; a creation keeps the whole new object.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension};
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
    conn: &Db,
    who: &Actor<'_>,
    entity_type: &str,
    entity_id: &str,
    before: Option<&dyn erased::Json>,
    after: Option<&dyn erased::Json>,
) -> Result<()> {
    let (before, after) = diff(before, after)?;
    append(
        conn,
        who,
        entity_type,
        [Entry {
            entity_id: entity_id.to_string(),
            before,
            after,
        }],
    )
}

/// One audit row to be written: the entity and its JSON sides from [`diff`].
#[derive(Debug, Clone)]
pub struct Entry {
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The JSON an audit row keeps of a write: only the fields that changed,
/// or the non-null fields of a created or deleted entity.
pub fn diff(
    before: Option<&dyn erased::Json>,
    after: Option<&dyn erased::Json>,
) -> Result<(Option<String>, Option<String>)> {
    let (before, after) = changed_fields(
        before.map(|b| b.value()).transpose()?,
        after.map(|a| a.value()).transpose()?,
    );
    Ok((before.map(|b| b.to_string()), after.map(|a| a.to_string())))
}

/// Append rows in order, all by `who` on entities of one type; the chain's
/// end is read once for all of them, and they are written 16 to a statement.
pub fn append(
    conn: &Db,
    who: &Actor<'_>,
    entity_type: &str,
    entries: impl IntoIterator<Item = Entry>,
) -> Result<()> {
    let mut entries = entries.into_iter().peekable();
    if entries.peek().is_none() {
        return Ok(());
    }
    let (mut prev_id, mut prev_hash): (i64, String) = conn
        .0
        .prepare_cached("SELECT id, coalesce(hash, '') FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, String::new()));
    let mut rows = Vec::with_capacity(entries.size_hint().0);
    let wall = crate::clock::wall();
    let (os_user, host) = origin();
    // a migration's own rows, written before schema 29 added the columns
    let has_origin: bool = conn
        .0
        .prepare_cached(
            "SELECT count(*) > 0 FROM pragma_table_info('audit_log') WHERE name = 'os_user'",
        )?
        .query_row([], |r| r.get(0))?;
    for e in entries {
        let row = ChainRow {
            id: prev_id + 1,
            at: who.at,
            actor: who.actor.to_string(),
            command: who.command.to_string(),
            entity_type: entity_type.to_string(),
            entity_id: e.entity_id,
            before: e.before,
            after: e.after,
            wall_at: Some(wall),
            os_user: has_origin.then(|| os_user.clone()),
            host: has_origin.then(|| host.clone()),
        };
        let hash = row.hash(&prev_hash);
        prev_id = row.id;
        prev_hash.clone_from(&hash);
        rows.push((row, hash));
    }
    let mut columns = vec![
        "id",
        "at",
        "actor",
        "command",
        "entity_type",
        "entity_id",
        "before",
        "after",
        "hash",
        "wall_at",
    ];
    if has_origin {
        columns.extend(["os_user", "host"]);
    }
    super::insert_rows(
        conn,
        "audit_log",
        &columns,
        &rows,
        |stmt, first, (row, hash)| {
            stmt.raw_bind_parameter(first, row.id)?;
            stmt.raw_bind_parameter(first + 1, row.at)?;
            stmt.raw_bind_parameter(first + 2, &row.actor)?;
            stmt.raw_bind_parameter(first + 3, &row.command)?;
            stmt.raw_bind_parameter(first + 4, &row.entity_type)?;
            stmt.raw_bind_parameter(first + 5, &row.entity_id)?;
            stmt.raw_bind_parameter(first + 6, &row.before)?;
            stmt.raw_bind_parameter(first + 7, &row.after)?;
            stmt.raw_bind_parameter(first + 8, hash)?;
            stmt.raw_bind_parameter(first + 9, row.wall_at)?;
            if has_origin {
                stmt.raw_bind_parameter(first + 10, &row.os_user)?;
                stmt.raw_bind_parameter(first + 11, &row.host)?;
            }
            Ok(())
        },
    )
}

/// The OS user of this process (`bmctl (sudo for alice)` under sudo) and
/// the host: where an audit row was written, whatever actor it names.
fn origin() -> (String, String) {
    static ORIGIN: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    ORIGIN
        .get_or_init(|| {
            let p = crate::identity::Process::current();
            let user = match &p.sudo_for {
                Some(t) => format!("{} (sudo for {t})", p.login),
                None => p.login,
            };
            (user, crate::identity::host())
        })
        .clone()
}

/// What the hash of an audit row covers.
struct ChainRow {
    id: i64,
    at: i64,
    actor: String,
    command: String,
    entity_type: String,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
    /// When the row was really written (schema 18 on; older rows: none).
    wall_at: Option<i64>,
    /// The OS user and host that wrote it (schema 29 on).
    os_user: Option<String>,
    host: Option<String>,
}

impl ChainRow {
    /// SHA-256 (hex) over the previous hash and every field, each length-prefixed.
    fn hash(&self, prev: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(prev.as_bytes());
        field(&self.id.to_le_bytes());
        field(&self.at.to_le_bytes());
        field(self.actor.as_bytes());
        field(self.command.as_bytes());
        field(self.entity_type.as_bytes());
        field(self.entity_id.as_bytes());
        field(self.before.as_deref().unwrap_or("\u{0}null").as_bytes());
        field(self.after.as_deref().unwrap_or("\u{0}null").as_bytes());
        if let Some(w) = self.wall_at {
            field(&w.to_le_bytes());
        }
        if let (Some(u), Some(h)) = (&self.os_user, &self.host) {
            field(u.as_bytes());
            field(h.as_bytes());
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in h.finalize() {
            hex.push(HEX[usize::from(b >> 4)] as char);
            hex.push(HEX[usize::from(b & 15)] as char);
        }
        hex
    }
}

fn chain_rows(conn: &Db) -> Result<Vec<(ChainRow, Option<String>)>> {
    // migration 7 hashes the rows before `wall_at` exists (migration 18)
    let has_wall: bool = conn.0.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('audit_log') WHERE name = 'wall_at'",
        [],
        |r| r.get(0),
    )?;
    let has_origin: bool = conn.0.query_row(
        "SELECT count(*) > 0 FROM pragma_table_info('audit_log') WHERE name = 'os_user'",
        [],
        |r| r.get(0),
    )?;
    let mut stmt = conn.0.prepare(match (has_wall, has_origin) {
        (true, true) => {
            "SELECT id, at, actor, command, entity_type, entity_id, before, after, hash, wall_at,
                    os_user, host
             FROM audit_log ORDER BY id"
        }
        (true, false) => {
            "SELECT id, at, actor, command, entity_type, entity_id, before, after, hash, wall_at,
                    NULL, NULL
             FROM audit_log ORDER BY id"
        }
        _ => {
            "SELECT id, at, actor, command, entity_type, entity_id, before, after, hash, NULL,
                    NULL, NULL
             FROM audit_log ORDER BY id"
        }
    })?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        // a damaged row is named, not a bare conversion error
        let damaged = |e: rusqlite::Error| anyhow::anyhow!("audit row {id} is damaged: {e}");
        let text = |i: usize| r.get::<_, String>(i).map_err(damaged);
        let opt = |i: usize| r.get::<_, Option<String>>(i).map_err(damaged);
        out.push((
            ChainRow {
                id,
                at: r.get(1).map_err(damaged)?,
                actor: text(2)?,
                command: text(3)?,
                entity_type: text(4)?,
                entity_id: text(5)?,
                before: opt(6)?,
                after: opt(7)?,
                wall_at: r.get(9).map_err(damaged)?,
                os_user: opt(10)?,
                host: opt(11)?,
            },
            opt(8)?,
        ));
    }
    Ok(out)
}

/// The head of the chain, as `audit checkpoint` anchors it outside the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Head {
    pub rows: i64,
    pub last_id: i64,
    pub hash: String,
}

pub fn head(conn: &Db) -> Result<Head> {
    let (rows, last_id): (i64, Option<i64>) =
        conn.0
            .query_row("SELECT count(*), max(id) FROM audit_log", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
    let hash: Option<String> = match last_id {
        Some(id) => conn
            .0
            .query_row("SELECT hash FROM audit_log WHERE id = ?1", [id], |r| {
                r.get(0)
            })?,
        None => None,
    };
    Ok(Head {
        rows,
        last_id: last_id.unwrap_or(0),
        hash: hash.unwrap_or_default(),
    })
}

/// What a checkpoint taken at `wall` (the wall clock) finds wrong now: the
/// chain up to its head changed (truncated, re-hashed, a row inserted or
/// renumbered), or a row after it claims to be older than the checkpoint.
pub fn against_checkpoint(conn: &Db, cp: &Head, wall: i64) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let (count, hash): (i64, Option<String>) = conn.0.query_row(
        "SELECT (SELECT count(*) FROM audit_log WHERE id <= ?1),
                (SELECT hash FROM audit_log WHERE id = ?1)",
        [cp.last_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match hash {
        None if cp.last_id > 0 => problems.push(format!(
            "row {} of the checkpoint is gone: the log was truncated",
            cp.last_id
        )),
        Some(h) if h != cp.hash => problems.push(format!(
            "row {} no longer has the checkpoint's hash: the chain up to it was rewritten",
            cp.last_id
        )),
        _ => {}
    }
    if count != cp.rows {
        problems.push(format!(
            "{count} rows up to row {} where the checkpoint counted {}: rows were inserted or removed",
            cp.last_id, cp.rows
        ));
    }
    let mut stmt = conn.0.prepare(
        "SELECT id, wall_at FROM audit_log WHERE id > ?1 AND (wall_at IS NULL OR wall_at < ?2) ORDER BY id",
    )?;
    let late = stmt.query_map(params![cp.last_id, wall], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
    })?;
    for row in late {
        let (id, w) = row?;
        problems.push(match w {
            Some(w) => format!(
                "row {id}, after the checkpoint, says it was written at {}, before the checkpoint ({}): back-dated",
                crate::domain::time::rfc3339(w),
                crate::domain::time::rfc3339(wall)
            ),
            None => format!("row {id}, after the checkpoint, has no write time: not written by bmctl"),
        });
    }
    Ok(problems)
}

/// Hash the rows written before the chain existed (migration 7).
pub fn backfill_chain(conn: &Db) -> Result<()> {
    let mut prev = String::new();
    for (row, _) in chain_rows(conn)? {
        let h = row.hash(&prev);
        conn.0.execute(
            "UPDATE audit_log SET hash = ?2 WHERE id = ?1",
            params![row.id, h],
        )?;
        prev = h;
    }
    Ok(())
}

/// Each row's id, entity and `after` side of the given entity types, oldest
/// first (`audit verify --deep` folds them).
pub fn for_each_after(
    conn: &Db,
    entity_types: &[&str],
    mut f: impl FnMut(i64, &str, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    let marks = vec!["?"; entity_types.len()].join(", ");
    let mut stmt = conn.0.prepare(&format!(
        "SELECT id, entity_type, entity_id, after FROM audit_log
         WHERE entity_type IN ({marks}) ORDER BY id"
    ))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(entity_types))?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let damaged = |e: rusqlite::Error| anyhow::anyhow!("audit row {id} is damaged: {e}");
        let kind: String = r.get(1).map_err(damaged)?;
        let entity: String = r.get(2).map_err(damaged)?;
        let after: Option<String> = r.get(3).map_err(damaged)?;
        f(id, &kind, &entity, after.as_deref())?;
    }
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub rows: usize,
    pub ok: bool,
    /// The first row whose hash does not follow: edited, or the row before it
    /// was deleted or a row was inserted.
    pub first_broken_id: Option<i64>,
    pub problem: Option<String>,
}

/// Recompute the chain from the first row.
pub fn verify(conn: &Db) -> Result<Verdict> {
    let rows = chain_rows(conn)?;
    let mut prev = String::new();
    let mut expected_id = None;
    for (row, stored) in &rows {
        let problem = if expected_id.is_some_and(|e| row.id != e) {
            Some(format!(
                "row {} follows row {}: a row is missing",
                row.id,
                row.id - 1
            ))
        } else if stored.as_deref() != Some(row.hash(&prev).as_str()) {
            Some(format!("row {} does not match its hash: edited, inserted, or the row before it was removed", row.id))
        } else {
            None
        };
        if let Some(p) = problem {
            return Ok(Verdict {
                rows: rows.len(),
                ok: false,
                first_broken_id: Some(row.id),
                problem: Some(p),
            });
        }
        prev = stored.clone().unwrap_or_default();
        expected_id = Some(row.id + 1);
    }
    Ok(Verdict {
        rows: rows.len(),
        ok: true,
        first_broken_id: None,
        problem: None,
    })
}

/// Keep only the fields whose values differ when both sides are objects (an
/// old value only when it was set: its absence says it was empty); a
/// created or deleted entity keeps its non-null fields.
fn changed_fields(
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    use serde_json::Value;
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            // in field order; only the few changed values of `after` are copied
            let after: serde_json::Map<String, Value> = a
                .iter()
                .filter(|(k, v)| b.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let before = b
                .into_iter()
                .filter(|(k, v)| !v.is_null() && a.get(k) != Some(v))
                .collect();
            (Some(Value::Object(before)), Some(Value::Object(after)))
        }
        // A created or deleted entity: its empty fields (null, false, [])
        // say nothing.
        (None, Some(Value::Object(mut a))) => {
            a.retain(|_, v| !is_empty(v));
            (None, Some(Value::Object(a)))
        }
        (Some(Value::Object(mut b)), None) => {
            b.retain(|_, v| !v.is_null());
            (Some(Value::Object(b)), None)
        }
        other => other,
    }
}

/// A value a created entity's audit row leaves out: null, false, empty.
pub fn is_empty(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(_) | Value::Number(_) | Value::Bool(true) => false,
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
    /// When it was really written (`at` is the command's time, `--now`).
    pub wall_at: Option<Ts>,
    /// The OS user and host that wrote it.
    pub os_user: Option<String>,
    pub host: Option<String>,
}

/// Audit rows, oldest first, filtered by entity type (and id) and time.
pub fn list(
    conn: &Db,
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    since: Option<i64>,
) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.0.prepare(
        "SELECT id, at, actor, command, entity_type, entity_id, before, after, wall_at, os_user, host
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
            wall_at: r.get::<_, Option<i64>>(8)?.map(Ts),
            os_user: r.get(9)?,
            host: r.get(10)?,
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
        assert_eq!(b.unwrap(), serde_json::json!({}), "it was empty");
        assert_eq!(a.unwrap(), serde_json::json!({"os": "Debian 12"}));
        let (b, a) = changed_fields(
            None,
            Some(serde_json::json!({"host": "fs01", "os": null, "tags": [], "off": false})),
        );
        assert_eq!((b, a.unwrap()), (None, serde_json::json!({"host": "fs01"})));
        let (b, a) = changed_fields(Some(serde_json::json!({"id": 3, "psa": null})), None);
        assert_eq!((b.unwrap(), a), (serde_json::json!({"id": 3}), None));
        // a field on one side only is kept; the fields keep their order
        let (b, a) = changed_fields(
            Some(serde_json::json!({"a": 1, "b": 2, "c": 3, "d": 4})),
            Some(serde_json::json!({"a": 1, "b": 5, "d": 6, "e": 7})),
        );
        assert_eq!(b.unwrap().to_string(), r#"{"b":2,"c":3,"d":4}"#);
        assert_eq!(a.unwrap().to_string(), r#"{"b":5,"d":6,"e":7}"#);
    }
}
