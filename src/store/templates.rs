//! The `task_templates` table.

use crate::store::Db;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Row};

use crate::domain::task::Template;
use crate::error::not_found;

const SELECT: &str =
    "SELECT t.id, t.name, t.title, t.description, t.checklist, t.cadence_kind, t.cadence,
        t.scope, c.code, t.filter_tier, t.filter_kind, t.filter_tool, t.due_offset_s, t.lead_time_s,
        t.catch_up, t.status, t.created_at
     FROM task_templates t LEFT JOIN clients c ON c.id = t.client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Template> {
    let checklist: String = r.get(4)?;
    Ok(Template {
        id: r.get(0)?,
        name: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        checklist: serde_json::from_str(&checklist).unwrap_or_default(),
        cadence_kind: r.get(5)?,
        cadence: r.get(6)?,
        scope: r.get(7)?,
        client: r.get(8)?,
        filter_tier: r.get(9)?,
        filter_kind: r.get(10)?,
        filter_tool: r.get(11)?,
        due_offset_s: r.get(12)?,
        lead_time_s: r.get(13)?,
        catch_up: r.get(14)?,
        status: r.get(15)?,
        created_at: r.get(16)?,
    })
}

pub fn list(conn: &Db) -> Result<Vec<Template>> {
    let mut stmt = conn.0.prepare(&format!("{SELECT} ORDER BY t.id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn find(conn: &Db, name: &str) -> Result<Option<Template>> {
    Ok(conn
        .0
        .prepare_cached(&format!("{SELECT} WHERE t.name = ?1"))?
        .query_row([name], from_row)
        .optional()?)
}

pub fn get(conn: &Db, name: &str) -> Result<Template> {
    find(conn, name)?.ok_or_else(|| {
        not_found(format!(
            "no task template '{name}'; see `bmctl tasks templates list`"
        ))
    })
}

/// Insert or replace a template by name; returns its id.
pub fn upsert(conn: &Db, t: &Template, client_id: Option<i64>) -> Result<i64> {
    Ok(conn.0.query_row(
        "INSERT INTO task_templates (name, title, description, checklist, cadence_kind, cadence, scope, client_id,
            filter_tier, filter_kind, filter_tool, due_offset_s, lead_time_s, catch_up, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (name) DO UPDATE SET title = excluded.title, description = excluded.description,
            checklist = excluded.checklist, cadence_kind = excluded.cadence_kind, cadence = excluded.cadence,
            scope = excluded.scope, client_id = excluded.client_id, filter_tier = excluded.filter_tier,
            filter_kind = excluded.filter_kind, filter_tool = excluded.filter_tool,
            due_offset_s = excluded.due_offset_s, lead_time_s = excluded.lead_time_s,
            catch_up = excluded.catch_up, status = excluded.status
         RETURNING id",
        params![
            t.name,
            t.title,
            t.description,
            serde_json::to_string(&t.checklist)?,
            t.cadence_kind,
            t.cadence,
            t.scope,
            client_id,
            t.filter_tier,
            t.filter_kind,
            t.filter_tool,
            t.due_offset_s,
            t.lead_time_s,
            t.catch_up,
            t.status,
            t.created_at
        ],
        |r| r.get(0),
    )?)
}

/// One thing a template makes tasks for: a client, a CI or a policy.
#[derive(Debug, Clone)]
pub struct ScopeItem {
    pub client_id: i64,
    pub client: String,
    pub tz: chrono_tz::Tz,
    pub ci_id: Option<i64>,
    pub ci: Option<String>,
    pub tier: Option<i64>,
    pub policy_id: Option<i64>,
    pub job: Option<String>,
    pub restore_test: Option<String>,
    pub created_at: i64,
}

impl ScopeItem {
    /// `(client, ci, policy)` as the task key stores them.
    pub fn key(&self) -> ItemKey {
        (
            self.client_id,
            self.ci_id.unwrap_or(0),
            self.policy_id.unwrap_or(0),
        )
    }

    pub fn label(&self) -> String {
        match (&self.job, &self.ci) {
            (Some(j), _) => format!("{}/{j}", self.client),
            (None, Some(h)) => format!("{}/{h}", self.client),
            _ => self.client.clone(),
        }
    }
}

/// The active items a template covers (retired CIs and policies get none).
pub fn scope_items(conn: &Db, t: &Template) -> Result<Vec<ScopeItem>> {
    let sql = match t.scope.as_str() {
        "client" => "SELECT c.id, c.code, c.timezone, NULL, NULL, NULL, NULL, NULL, NULL, c.created_at
                     FROM clients c WHERE (?1 IS NULL OR c.code = ?1) ORDER BY c.id",
        "ci" => "SELECT c.id, c.code, c.timezone, ci.id, ci.host, ci.tier, NULL, NULL, NULL, ci.created_at
                 FROM cis ci JOIN clients c ON c.id = ci.client_id
                 WHERE ci.status = 'active' AND (?1 IS NULL OR c.code = ?1)
                   AND (?2 IS NULL OR ci.tier = ?2) AND (?3 IS NULL OR ci.kind = ?3) ORDER BY ci.id",
        _ => "SELECT c.id, c.code, c.timezone, ci.id, ci.host, ci.tier, p.id, p.job, p.restore_test, p.created_at
              FROM policies p JOIN cis ci ON ci.id = p.ci_id JOIN clients c ON c.id = p.client_id
              WHERE p.status = 'active' AND (?1 IS NULL OR c.code = ?1)
                AND (?2 IS NULL OR ci.tier = ?2) AND (?3 IS NULL OR ci.kind = ?3)
                AND (?4 IS NULL OR p.tool = ?4) ORDER BY p.id",
    };
    let mut stmt = conn.0.prepare(sql)?;
    let n = stmt.parameter_count();
    let all = [
        rusqlite::types::Value::from(t.client.clone()),
        rusqlite::types::Value::from(t.filter_tier),
        rusqlite::types::Value::from(t.filter_kind.clone()),
        rusqlite::types::Value::from(t.filter_tool.clone()),
    ];
    let rows = stmt.query_map(rusqlite::params_from_iter(all.into_iter().take(n)), |r| {
        let tz: String = r.get(2)?;
        Ok(ScopeItem {
            client_id: r.get(0)?,
            client: r.get(1)?,
            tz: tz.parse().unwrap_or(chrono_tz::UTC),
            ci_id: r.get(3)?,
            ci: r.get(4)?,
            tier: r.get(5)?,
            policy_id: r.get(6)?,
            job: r.get(7)?,
            restore_test: r.get(8)?,
            created_at: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What a template has generated for one scope item so far.
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    pub last_occurrence: i64,
    /// The newest completion (for "every N days after the last completion").
    pub last_completed: Option<i64>,
    pub has_open: bool,
}

/// A scope item's key: `(client, ci or 0, policy or 0)`.
pub type ItemKey = (i64, i64, i64);

/// Per scope item, what a template has generated.
pub fn generated(
    conn: &Db,
    template_id: i64,
) -> Result<std::collections::HashMap<ItemKey, Generated>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT client_id, coalesce(ci_id, 0), coalesce(policy_id, 0), max(occurrence_at),
                max(CASE WHEN status = 'resolved' THEN resolved_at END),
                max(status IN ('open', 'in_progress'))
         FROM tickets WHERE kind = 'task' AND template_id = ?1
         GROUP BY client_id, coalesce(ci_id, 0), coalesce(policy_id, 0)",
    )?;
    let rows = stmt.query_map([template_id], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            Generated {
                last_occurrence: r.get(3)?,
                last_completed: r.get(4)?,
                has_open: r.get(5)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
