//! The `policies` table: backup jobs with their live per-policy state.

use crate::store::Db;
use std::sync::OnceLock;

use anyhow::Result;

pub use crate::domain::automation::PolicyState;
use rusqlite::{params, OptionalExtension, Row};

use crate::domain::automation::judge::Judgement;
use crate::domain::ci::Lifecycle;
use crate::domain::event::Status;
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
    pub status: Lifecycle,
    pub revision: i64,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_status: Option<String>,
    pub consecutive_failures: i64,
    pub tier: i64,
}

const SELECT: &str =
    "SELECT p.id, p.client_id, p.ci_id, c.host, p.job, p.tool, p.schedule, p.rpo_s,
        p.grace_s, p.retention, p.target, p.restore_test, p.rto_s, p.max_runtime_s, p.match_host,
        p.match_tags, p.status, p.revision, p.created_at, p.retired_at, s.last_event_at,
        s.last_success_at, s.last_status, s.consecutive_failures, c.tier,
        p.failures_before_ticket, p.warning_is_success, p.small_backup_pct,
        p.match_director, p.match_bacula_job, p.match_name
     FROM policies p JOIN cis c ON c.id = p.ci_id JOIN policy_state s ON s.policy_id = p.id";

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
                director: r.get(28)?,
                bacula_job: r.get(29)?,
                name: r.get(30)?,
            },
            judgement: Judgement {
                failures_before_ticket: r.get(25)?,
                warning_is_success: r.get(26)?,
                small_backup_pct: r.get(27)?,
            },
        },
        ci: host,
        status: super::word(r, 16, Lifecycle::parse)?,
        revision: r.get(17)?,
        created_at: r.get(18)?,
        retired_at: r.get(19)?,
        last_event_at: r.get(20)?,
        last_success_at: r.get(21)?,
        last_status: r.get(22)?,
        consecutive_failures: r.get(23)?,
        tier: r.get(24)?,
    })
}

pub fn find(conn: &Db, client_id: i64, job: &str) -> Result<Option<PolicyRow>> {
    Ok(conn
        .0
        .prepare_cached(&format!("{SELECT} WHERE p.client_id = ?1 AND p.job = ?2"))?
        .query_row(params![client_id, job], from_row)
        .optional()?)
}

/// The job, id, CI and tier of each active policy of a client: what ingest
/// needs to match events, read once per client (no spec to decode).
/// A client's active policy as the ingest matches it: job, policy id, CI
/// id, CI tier, grace, RPO.
pub type ActiveKey = (String, i64, i64, i64, i64, i64, String, Judgement);

pub fn active_keys(conn: &Db, client_id: i64) -> Result<Vec<ActiveKey>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT p.job, p.id, p.ci_id, c.tier, p.grace_s, p.rpo_s, c.host, p.failures_before_ticket,
                p.warning_is_success, p.small_backup_pct FROM policies p JOIN cis c ON c.id = p.ci_id
         WHERE p.client_id = ?1 AND p.status = 'active'",
    )?;
    let rows = stmt.query_map([client_id], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            Judgement {
                failures_before_ticket: r.get(7)?,
                warning_is_success: r.get(8)?,
                small_backup_pct: r.get(9)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A policy's size window (stored form), if it has one.
pub fn sizes(conn: &Db, policy_id: i64) -> Result<Option<String>> {
    let mut stmt = conn
        .0
        .prepare_cached("SELECT sizes FROM policies WHERE id = ?1")?;
    Ok(stmt
        .query_row([policy_id], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn set_sizes(conn: &Db, policy_id: i64, window: &str) -> Result<()> {
    let mut stmt = conn
        .0
        .prepare_cached("UPDATE policies SET sizes = ?2 WHERE id = ?1")?;
    stmt.execute(params![policy_id, window])?;
    Ok(())
}

pub fn get(conn: &Db, client_id: i64, client: &str, job: &str) -> Result<PolicyRow> {
    find(conn, client_id, job)?.ok_or_else(|| {
        not_found(format!(
            "no job '{client}/{job}'; see `bmctl plan show {client}`"
        ))
    })
}

/// Policies of a client (active only unless `all`), by job name.
pub fn list(conn: &Db, client_id: i64, all: bool) -> Result<Vec<PolicyRow>> {
    let mut stmt = conn.0.prepare(&format!(
        "{SELECT} WHERE p.client_id = ?1 AND (?2 OR p.status = 'active') ORDER BY p.job"
    ))?;
    let rows = stmt.query_map(params![client_id, all], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn tags_json(m: &MatchRule) -> Option<String> {
    (!m.tags.is_empty()).then(|| serde_json::to_string(&m.tags).unwrap_or_default())
}

pub fn insert(conn: &Db, client_id: i64, ci_id: i64, p: &PolicySpec, now: i64) -> Result<i64> {
    conn.0.execute(
        "INSERT INTO policies (client_id, ci_id, job, tool, schedule, rpo_s, grace_s, retention, target,
                               restore_test, rto_s, max_runtime_s, match_host, match_tags, created_at,
                               failures_before_ticket, warning_is_success, small_backup_pct,
                               match_director, match_bacula_job, match_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21)",
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
            now,
            p.judgement.failures_before_ticket,
            p.judgement.warning_is_success,
            p.judgement.small_backup_pct,
            p.match_rule.director,
            p.match_rule.bacula_job,
            p.match_rule.name
        ],
    )?;
    let id = conn.0.last_insert_rowid();
    record_version(conn, id, p, now)?;
    Ok(id)
}

/// What a policy expected from `since` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub since: i64,
    pub schedule: String,
    pub grace_s: i64,
    pub max_runtime_s: Option<i64>,
}

/// Record the policy's schedule, grace and max runtime from `now` on,
/// when they differ from the version in force.
fn record_version(conn: &Db, id: i64, p: &PolicySpec, now: i64) -> Result<()> {
    let v = Version {
        since: now,
        schedule: p.schedule.clone(),
        grace_s: p.grace_s,
        max_runtime_s: p.max_runtime_s,
    };
    let last = versions(conn, id)?.pop();
    if last.is_some_and(|l| {
        (l.schedule, l.grace_s, l.max_runtime_s) == (v.schedule.clone(), v.grace_s, v.max_runtime_s)
    }) {
        return Ok(());
    }
    conn.0
        .prepare_cached(
            "INSERT INTO policy_versions (policy_id, since, schedule, grace_s, max_runtime_s)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (policy_id, since) DO UPDATE SET schedule = excluded.schedule,
            grace_s = excluded.grace_s, max_runtime_s = excluded.max_runtime_s",
        )?
        .execute(params![id, v.since, v.schedule, v.grace_s, v.max_runtime_s])?;
    Ok(())
}

/// A policy's versions, oldest first.
pub fn versions(conn: &Db, id: i64) -> Result<Vec<Version>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT since, schedule, grace_s, max_runtime_s FROM policy_versions
         WHERE policy_id = ?1 ORDER BY since",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Version {
            since: r.get(0)?,
            schedule: r.get(1)?,
            grace_s: r.get(2)?,
            max_runtime_s: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every policy's versions (of a client, or all), oldest first.
pub fn all_versions(
    conn: &Db,
    client_id: Option<i64>,
) -> Result<std::collections::HashMap<i64, Vec<Version>>> {
    const SELECT: &str = "SELECT v.policy_id, v.since, v.schedule, v.grace_s, v.max_runtime_s
         FROM policy_versions v JOIN policies p ON p.id = v.policy_id";
    let mut stmt = match client_id {
        Some(_) => conn.0.prepare_cached(&format!(
            "{SELECT} WHERE p.client_id = ?1 ORDER BY v.policy_id, v.since"
        ))?,
        None => conn.0.prepare_cached(&format!(
            "{SELECT} WHERE ?1 IS NULL ORDER BY v.policy_id, v.since"
        ))?,
    };
    let mut out: std::collections::HashMap<i64, Vec<Version>> = Default::default();
    let mut rows = stmt.query([client_id])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(Version {
            since: r.get(1)?,
            schedule: r.get(2)?,
            grace_s: r.get(3)?,
            max_runtime_s: r.get(4)?,
        });
    }
    Ok(out)
}

/// Replace a policy's configuration (reactivating it if retired); bumps its
/// revision; a new schedule, grace or max runtime is in force from `now`.
pub fn update(conn: &Db, id: i64, ci_id: i64, p: &PolicySpec, now: i64) -> Result<()> {
    record_version(conn, id, p, now)?;
    conn.0.execute(
        "UPDATE policies SET ci_id = ?2, tool = ?3, schedule = ?4, rpo_s = ?5, grace_s = ?6,
                retention = ?7, target = ?8, restore_test = ?9, rto_s = ?10, max_runtime_s = ?11,
                match_host = ?12, match_tags = ?13, status = 'active', retired_at = NULL,
                revision = revision + 1, failures_before_ticket = ?14, warning_is_success = ?15,
                small_backup_pct = ?16, match_director = ?17, match_bacula_job = ?18,
                match_name = ?19
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
            tags_json(&p.match_rule),
            p.judgement.failures_before_ticket,
            p.judgement.warning_is_success,
            p.judgement.small_backup_pct,
            p.match_rule.director,
            p.match_rule.bacula_job,
            p.match_rule.name
        ],
    )?;
    Ok(())
}

pub fn retire(conn: &Db, id: i64, now: i64) -> Result<()> {
    conn.0.execute(
        "UPDATE policies SET status = 'retired', retired_at = ?2, revision = revision + 1 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn state(conn: &Db, id: i64) -> Result<PolicyState> {
    Ok(conn.0
        .prepare_cached(
            "SELECT last_event_at, last_success_at, last_status, consecutive_failures, consecutive_warnings,
                    running_since, checked_until
             FROM policy_state WHERE policy_id = ?1",
        )?
        .query_row([id], state_from_row)?)
}

fn state_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PolicyState> {
    Ok(PolicyState {
        last_event_at: r.get(0)?,
        last_success_at: r.get(1)?,
        last_status: status_at(r, 2)?,
        consecutive_failures: r.get(3)?,
        consecutive_warnings: r.get(4)?,
        running_since: r.get(5)?,
        checked_until: r.get(6)?,
    })
}

/// A status column (its text; no string is kept per policy).
fn status_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Status>> {
    r.get_ref(i)?
        .as_str_or_null()?
        .map(|text| {
            Status::parse(text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
            })
        })
        .transpose()
}

/// The states of many policies, [`STATES_PER_UPDATE`] to a statement (the
/// rest 10 and then 1 at a time); a policy without a state row is left out.
pub fn states(conn: &Db, ids: &[i64]) -> Result<Vec<(i64, PolicyState)>> {
    static SQL: [OnceLock<String>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let mut out = Vec::with_capacity(ids.len());
    for (size, chunk) in in_chunks(ids) {
        let sql = SQL[size].get_or_init(|| states_sql(CHUNK_SIZES[size]));
        let mut stmt = conn.0.prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(chunk))?;
        while let Some(r) = rows.next()? {
            out.push((r.get(7)?, state_from_row(r)?));
        }
    }
    Ok(out)
}

/// Every policy's state, in one pass over the table.
pub fn all_states(conn: &Db) -> Result<Vec<(i64, PolicyState)>> {
    let mut stmt = conn.0.prepare_cached(ALL_STATES)?;
    let rows = stmt.query_map([], |r| Ok((r.get(7)?, state_from_row(r)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) const ALL_STATES: &str =
    "SELECT last_event_at, last_success_at, last_status, consecutive_failures,
            consecutive_warnings, running_since, checked_until, policy_id
     FROM policy_state";

/// Statement sizes of the bulk state reads and writes, largest first.
const CHUNK_SIZES: [usize; 3] = [STATES_PER_UPDATE, 10, 1];

/// `items` cut into runs of [`CHUNK_SIZES`], each with the index of its size.
fn in_chunks<T>(items: &[T]) -> impl Iterator<Item = (usize, &[T])> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = CHUNK_SIZES.iter().position(|&n| n <= rest.len())?;
        let (chunk, more) = rest.split_at(CHUNK_SIZES[size]);
        rest = more;
        Some((size, chunk))
    })
}

/// `SELECT … FROM (VALUES …) JOIN policy_state`: one rowid seek per id.
pub(crate) fn states_sql(n: usize) -> String {
    let rows = vec!["(?)"; n].join(", ");
    format!(
        "SELECT s.last_event_at, s.last_success_at, s.last_status, s.consecutive_failures,
                s.consecutive_warnings, s.running_since, s.checked_until, s.policy_id
         FROM (VALUES {rows}) AS v CROSS JOIN policy_state s ON s.policy_id = v.column1"
    )
}

/// Write the states of many policies: one statement per [`STATES_PER_UPDATE`]
/// policies (the statement's overhead is paid once), the rest 10 and then
/// 1 at a time.
pub fn set_states(conn: &Db, states: &[(i64, PolicyState)]) -> Result<()> {
    static SQL: [OnceLock<String>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    for (size, chunk) in in_chunks(states) {
        let sql = SQL[size].get_or_init(|| set_states_sql(CHUNK_SIZES[size]));
        let mut stmt = conn.0.prepare_cached(sql)?;
        // bound in place: no boxed values, no copy of the status text
        for (i, (id, s)) in chunk.iter().enumerate() {
            let at = i * 8;
            stmt.raw_bind_parameter(at + 1, id)?;
            stmt.raw_bind_parameter(at + 2, s.last_event_at)?;
            stmt.raw_bind_parameter(at + 3, s.last_success_at)?;
            stmt.raw_bind_parameter(at + 4, s.last_status.map(Status::as_str))?;
            stmt.raw_bind_parameter(at + 5, s.consecutive_failures)?;
            stmt.raw_bind_parameter(at + 6, s.consecutive_warnings)?;
            stmt.raw_bind_parameter(at + 7, s.running_since)?;
            stmt.raw_bind_parameter(at + 8, s.checked_until)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Policies per statement of [`set_states`] (8 parameters each).
pub const STATES_PER_UPDATE: usize = 100;

/// The upsert of `n` states (every policy has its state row from its
/// creation on, so each row is one rowid seek and an update in place).
/// (Not `UPDATE … FROM (VALUES …)`: SQLite copies the values and the rows
/// to change into temporary tables first.)
pub(crate) fn set_states_sql(n: usize) -> String {
    let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ");
    format!(
        "INSERT INTO policy_state (policy_id, last_event_at, last_success_at, last_status,
            consecutive_failures, consecutive_warnings, running_since, checked_until)
         VALUES {rows}
         ON CONFLICT (policy_id) DO UPDATE SET last_event_at = excluded.last_event_at,
            last_success_at = excluded.last_success_at, last_status = excluded.last_status,
            consecutive_failures = excluded.consecutive_failures,
            consecutive_warnings = excluded.consecutive_warnings,
            running_since = excluded.running_since, checked_until = excluded.checked_until"
    )
}

/// What `check` needs of every active policy, in one pass over the table.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub id: i64,
    pub client_id: i64,
    pub ci_id: i64,
    pub ci: String,
    pub tier: i64,
    pub client: String,
    pub timezone: String,
    pub sla_tier: String,
    pub job: String,
    pub schedule: String,
    pub rpo_s: i64,
    pub grace_s: i64,
    pub max_runtime_s: Option<i64>,
    pub created_at: i64,
    pub state: PolicyState,
    /// Since when the current schedule is in force.
    pub since: i64,
}

pub fn active_for_check(conn: &Db) -> Result<Vec<CheckRow>> {
    let mut stmt = conn.0.prepare(
        "SELECT p.id, p.client_id, p.ci_id, ci.tier, c.code, c.timezone, p.job, p.schedule, p.rpo_s, p.grace_s,
                p.max_runtime_s, p.created_at, s.last_event_at, s.last_success_at, s.last_status,
                s.consecutive_failures, s.consecutive_warnings, s.running_since, s.checked_until, c.sla_tier,
                (SELECT max(v.since) FROM policy_versions v WHERE v.policy_id = p.id), ci.host
         FROM policies p JOIN clients c ON c.id = p.client_id JOIN cis ci ON ci.id = p.ci_id
         JOIN policy_state s ON s.policy_id = p.id
         WHERE p.status = 'active' ORDER BY p.client_id, p.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CheckRow {
            id: r.get(0)?,
            client_id: r.get(1)?,
            ci_id: r.get(2)?,
            ci: r.get(21)?,
            tier: r.get(3)?,
            client: r.get(4)?,
            timezone: r.get(5)?,
            job: r.get(6)?,
            schedule: r.get(7)?,
            rpo_s: r.get(8)?,
            grace_s: r.get(9)?,
            max_runtime_s: r.get(10)?,
            created_at: r.get(11)?,
            state: PolicyState {
                last_event_at: r.get(12)?,
                last_success_at: r.get(13)?,
                last_status: status_at(r, 14)?,
                consecutive_failures: r.get(15)?,
                consecutive_warnings: r.get(16)?,
                running_since: r.get(17)?,
                checked_until: r.get(18)?,
            },
            sla_tier: r.get(19)?,
            since: r.get::<_, Option<i64>>(20)?.unwrap_or(r.get(11)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The distinct (schedule, zone, grace) of active policies, of one client or all.
pub fn schedules(conn: &Db, client_id: Option<i64>) -> Result<Vec<(String, String, i64)>> {
    const SELECT: &str = "SELECT DISTINCT p.schedule, c.timezone, p.grace_s FROM policies p
         JOIN clients c ON c.id = p.client_id WHERE p.status = 'active'";
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    // one client's through the (status, client_id) index
    let rows: Vec<(String, String, i64)> = match client_id {
        Some(c) => conn
            .0
            .prepare_cached(&format!("{SELECT} AND p.client_id = ?1"))?
            .query_map([c], row)?
            .collect::<rusqlite::Result<_>>()?,
        None => conn
            .0
            .prepare_cached(SELECT)?
            .query_map([], row)?
            .collect::<rusqlite::Result<_>>()?,
    };
    Ok(rows)
}

/// A policy as the occurrence count of `kpi` and `db check` reads it.
#[derive(Debug, Clone)]
pub struct Occurring {
    pub id: i64,
    pub client_id: i64,
    pub ci_id: i64,
    pub timezone: String,
    pub schedule: String,
    pub grace_s: i64,
    pub max_runtime_s: Option<i64>,
    pub created_at: i64,
    pub active: bool,
    pub checked_until: Option<i64>,
    /// A history import closed its windows from here up to its creation.
    pub expected_from: Option<i64>,
}

/// Every policy (of a client, or all; retired ones too), by client.
pub fn occurring(conn: &Db, client_id: Option<i64>) -> Result<Vec<Occurring>> {
    const SELECT: &str = "SELECT p.id, p.client_id, p.ci_id, c.timezone, p.schedule, p.grace_s, p.max_runtime_s,
                p.created_at, p.status = 'active', s.checked_until, s.expected_from
         FROM policies p JOIN clients c ON c.id = p.client_id JOIN policy_state s ON s.policy_id = p.id";
    // one client's through its index (an `?1 IS NULL OR` would scan them all)
    let mut stmt = match client_id {
        Some(_) => conn
            .0
            .prepare_cached(&format!("{SELECT} WHERE p.client_id = ?1 ORDER BY p.id"))?,
        None => conn.0.prepare_cached(&format!(
            "{SELECT} WHERE ?1 IS NULL ORDER BY p.client_id, p.id"
        ))?,
    };
    let rows = stmt.query_map([client_id], |r| {
        Ok(Occurring {
            id: r.get(0)?,
            client_id: r.get(1)?,
            ci_id: r.get(2)?,
            timezone: r.get(3)?,
            schedule: r.get(4)?,
            grace_s: r.get(5)?,
            max_runtime_s: r.get(6)?,
            created_at: r.get(7)?,
            active: r.get(8)?,
            checked_until: r.get(9)?,
            expected_from: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What places a policy's runs in its windows.
#[derive(Debug, Clone)]
pub struct Windows {
    pub schedule: String,
    pub timezone: String,
    pub grace_s: i64,
    pub max_runtime_s: Option<i64>,
    pub created_at: i64,
    pub rpo_s: i64,
    /// A history import closed its windows from here to its creation.
    pub expected_from: Option<i64>,
}

pub fn windows(conn: &Db, id: i64) -> Result<Windows> {
    Ok(conn
        .0
        .prepare_cached(
            "SELECT p.schedule, c.timezone, p.grace_s, p.max_runtime_s, p.created_at, p.rpo_s,
                    s.expected_from
             FROM policies p JOIN clients c ON c.id = p.client_id
             JOIN policy_state s ON s.policy_id = p.id WHERE p.id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Windows {
                schedule: r.get(0)?,
                timezone: r.get(1)?,
                grace_s: r.get(2)?,
                max_runtime_s: r.get(3)?,
                created_at: r.get(4)?,
                rpo_s: r.get(5)?,
                expected_from: r.get(6)?,
            })
        })?)
}

/// A policy's job name.
pub fn job_of(conn: &Db, id: i64) -> Result<String> {
    Ok(conn
        .0
        .prepare_cached("SELECT job FROM policies WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

/// A history import closed the policy's windows from `from` on.
pub fn set_expected_from(conn: &Db, id: i64, from: i64) -> Result<()> {
    conn.0.prepare_cached(
        "UPDATE policy_state SET expected_from = min(coalesce(expected_from, ?2), ?2) WHERE policy_id = ?1",
    )?
    .execute(params![id, from])?;
    Ok(())
}

pub fn set_checked_until(conn: &Db, id: i64, until: i64) -> Result<()> {
    conn.0
        .prepare_cached("UPDATE policy_state SET checked_until = ?2 WHERE policy_id = ?1")?
        .execute(params![id, until])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Two full statements, one of ten and single ones: every state lands on its own policy.
    #[test]
    fn many_states_are_written_to_their_policies() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.0.execute_batch("PRAGMA foreign_keys = off").unwrap();
        let n = 2 * STATES_PER_UPDATE as i64 + 17;
        for id in 1..=n + 1 {
            c.0.execute("INSERT INTO policy_state (policy_id) VALUES (?1)", [id])
                .unwrap();
        }
        let state = |id: i64| PolicyState {
            last_event_at: Some(id * 10),
            last_success_at: (id % 2 == 0).then_some(id),
            last_status: [
                Status::Success,
                Status::Failed,
                Status::Warning,
                Status::Missed,
            ]
            .get(id as usize % 5)
            .copied(),
            consecutive_failures: id % 5,
            consecutive_warnings: id % 3,
            running_since: None,
            checked_until: Some(id + 1),
        };
        let all: Vec<(i64, PolicyState)> = (1..=n).map(|id| (id, state(id))).collect();
        set_states(c, &all).unwrap();
        for id in 1..=n {
            assert_eq!(super::state(c, id).unwrap(), state(id), "policy {id}");
        }
        assert_eq!(
            super::state(c, n + 1).unwrap(),
            PolicyState::default(),
            "untouched"
        );
        // read back in bulk the same way (100, 100, 10, then one by one);
        // an id without a state row is left out
        let mut ids: Vec<i64> = (1..=n + 1).collect();
        ids.push(n + 100);
        let mut read = states(c, &ids).unwrap();
        read.sort_by_key(|(id, _)| *id);
        let mut expected = all.clone();
        expected.push((n + 1, PolicyState::default()));
        assert_eq!(read, expected);
        // the whole table in one pass reads the same
        let mut whole = all_states(c).unwrap();
        whole.sort_by_key(|(id, _)| *id);
        assert_eq!(whole, expected);
    }
}
