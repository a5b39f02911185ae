//! Housekeeping of the database file: checks and online copies.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::store::Db;
use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::refused;
use crate::store::{schema, Store};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub path: String,
    pub schema_version: i64,
    pub integrity: Vec<String>,
    pub foreign_key_violations: Vec<String>,
    /// The file's permissions, and how to fix them when others may read it.
    pub mode: String,
    /// The daily rollups against a recomputation from the events.
    pub rollups: RollupCheck,
    pub ok: bool,
}

/// SQLite's integrity and foreign-key checks.
pub fn check(store: &Store) -> Result<CheckReport> {
    let conn = store.db();
    // a damaged file is marked (writes refuse it) and its rollups not read
    let integrity = store.verify_pages(true)?;
    let fks = crate::store::health::foreign_key_problems(conn)?;
    let (mode, private) = match crate::store::file_mode(&store.path) {
        Some(m) if m & 0o077 != 0 => (
            format!(
                "{m:04o}: others may read it; fix with `chmod 600 {}`",
                store.path.display()
            ),
            false,
        ),
        Some(m) => (format!("{m:04o}"), true),
        None => ("-".into(), true),
    };
    let rollups = if integrity == ["ok"] {
        check_rollups(store)?
    } else {
        RollupCheck::default()
    };
    let ok = integrity == ["ok"] && fks.is_empty() && private && rollups.differences.is_empty();
    Ok(CheckReport {
        path: store.path.display().to_string(),
        schema_version: schema::version(conn)?,
        integrity,
        foreign_key_violations: fks,
        mode,
        rollups,
        ok,
    })
}

/// An online copy with SQLite's backup API, created mode 0600.
pub fn backup(store: &Store, dest: &Path, force: bool) -> Result<()> {
    if dest.exists() {
        if !force {
            return Err(refused(format!(
                "{} exists; choose another file or pass --force to overwrite it",
                dest.display()
            )));
        }
        std::fs::remove_file(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .with_context(|| format!("creating {}", dest.display()))?;
    store
        .copy_into(dest)
        .with_context(|| format!("copying the database to {}", dest.display()))
}

/// The latest `db prune --before` may reach: the start of the previous
/// full quarter in every client's zone (the review's daily grid and its
/// previous-quarter figures read those events).
pub fn prune_limit(store: &Store, now: i64) -> Result<i64> {
    let mut zones: Vec<chrono_tz::Tz> = crate::store::clients::list(store.db())?
        .iter()
        .map(|c| c.tz())
        .collect();
    zones.push(chrono_tz::UTC);
    let mut limit = i64::MAX;
    for tz in zones {
        let q = crate::domain::time::Quarter::containing(now, tz).previous();
        limit = limit.min(q.bounds(tz)?.0);
    }
    Ok(limit)
}

/// Events `db prune --before` would delete.
pub fn prune_count(store: &Store, before: i64) -> Result<i64> {
    crate::store::events::count_before(store.db(), before)
}

/// What `db prune` did.
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub events_deleted: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Delete job events that ended before `before` — the daily rollups keep the
/// counts the KPIs read — then VACUUM so the file shrinks.
pub fn prune(store: &mut Store, ctx: &crate::ops::Ctx, before: i64) -> Result<Pruned> {
    let limit = prune_limit(store, ctx.ts())?;
    if before > limit {
        return Err(refused(format!(
            "--before {} is after {}, the start of the previous full quarter in every client's zone: the quarterly review reads those events; prune before that date",
            crate::domain::time::rfc3339(before),
            crate::domain::time::rfc3339(limit)
        )));
    }
    let size = |s: &Store| std::fs::metadata(&s.path).map(|m| m.len()).unwrap_or(0);
    let bytes_before = size(store);
    let tx = store.write()?;
    let n = crate::store::events::prune(&tx, before)?;
    crate::store::digests::pruned(&tx, &ctx.who(), crate::store::events::end_day(before))?;
    crate::store::audit::record(
        &tx,
        &ctx.who(),
        "events",
        "prune",
        None,
        Some(&serde_json::json!({"before": crate::domain::time::rfc3339(before), "deleted": n})),
    )?;
    tx.commit()?;
    store.vacuum()?;
    Ok(Pruned {
        events_deleted: n,
        bytes_before,
        bytes_after: size(store),
    })
}

/// A daily rollup that differs from its recomputation from the events.
#[derive(Debug, Clone, Serialize)]
pub struct RollupDifference {
    pub client: String,
    pub date: String,
    pub stored: crate::store::events::RunCounts,
    pub recomputed: crate::store::events::RunCounts,
}

/// The run part of the daily rollups against the events: every (client,
/// local day) whose events are all present; days touched by `db prune` are
/// listed apart, never compared.
#[derive(Debug, Default, Serialize)]
pub struct RollupCheck {
    pub days_checked: usize,
    pub days_pruned: Vec<String>,
    pub differences: Vec<RollupDifference>,
}

type Plan = (
    Vec<(
        (i64, i64),
        crate::store::events::RunCounts,
        crate::store::events::RunCounts,
    )>,
    RollupCheck,
);

fn compare_rollups(conn: &Db) -> Result<Plan> {
    use crate::store::events;
    let clients = crate::store::clients::list(conn)?;
    let zones: std::collections::HashMap<i64, chrono_tz::Tz> =
        clients.iter().map(|c| (c.id, c.tz())).collect();
    let codes: std::collections::HashMap<i64, &str> =
        clients.iter().map(|c| (c.id, c.code.as_str())).collect();
    let stored = events::stored_run_counts(conn)?;
    let mut fresh = events::recount_runs(conn, &zones)?;
    // the occurrences `check` closed, judged again from the runs and schedules
    let whole = |_: i64, _: chrono_tz::Tz| {
        vec![crate::ops::occurrences::Span {
            from: i64::MIN / 4,
            to: i64::MAX / 4,
            which: crate::ops::occurrences::Which::Closed,
        }]
    };
    let judged = crate::ops::occurrences::count(conn, None, i64::MAX / 4, 12 * 3_600, whole)?;
    for (key, r) in judged.by_day {
        let f = fresh.entry(key).or_default();
        f.expected = r.expected;
        f.occ_success = r.occ_success;
        f.occ_warning = r.occ_warning;
        f.occ_failed = r.occ_failed;
        f.occ_missed = r.occ_missed;
    }
    // a pruned UTC day touches the local days on either side of it
    let mut pruned = std::collections::BTreeSet::new();
    for (client, day) in events::pruned_days(conn)? {
        for d in day - 1..=day + 1 {
            pruned.insert((client, d));
        }
    }
    let mut keys: Vec<(i64, i64)> = stored.keys().chain(fresh.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut report = RollupCheck::default();
    let mut fixes = Vec::new();
    let date = |day: i64| crate::domain::time::day_date(day).to_string();
    for key in keys {
        let (client, day) = key;
        let code = codes.get(&client).copied().unwrap_or("?").to_string();
        if pruned.contains(&key) {
            if stored.get(&key).is_some_and(|s| s.runs > 0) {
                report.days_pruned.push(format!("{code} {}", date(day)));
            }
            continue;
        }
        let s = stored.get(&key).copied().unwrap_or_default();
        let f = fresh.get(&key).copied().unwrap_or_default();
        report.days_checked += 1;
        if s != f {
            report.differences.push(RollupDifference {
                client: code,
                date: date(day),
                stored: s,
                recomputed: f,
            });
            fixes.push((key, s, f));
        }
    }
    Ok((fixes, report))
}

/// `db check`'s rollup part.
pub fn check_rollups(store: &Store) -> Result<RollupCheck> {
    Ok(compare_rollups(store.db())?.1)
}

/// `db repair --rollups`: set the run part of every differing rollup to its
/// recomputation from the events, audited; pruned days are left alone.
pub fn repair_rollups(store: &mut Store, ctx: &crate::ops::Ctx) -> Result<RollupCheck> {
    let tx = store.write()?;
    let (fixes, report) = compare_rollups(&tx)?;
    for ((client, day), before, after) in &fixes {
        crate::store::events::set_run_counts(&tx, *client, *day, after)?;
        crate::store::audit::record(
            &tx,
            &ctx.who(),
            "rollup",
            &format!("{client}:{}", crate::domain::time::day_date(*day)),
            Some(before),
            Some(after),
        )?;
    }
    tx.commit()?;
    Ok(report)
}
