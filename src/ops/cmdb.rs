//! The CMDB: configuration items, with or without backups.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::domain::ci::{validate_kind, validate_tier, Lifecycle};
use crate::domain::client::validate_host;
use crate::domain::plan::CiSpec;
use crate::error::{refused, rejected};
use crate::ops::Ctx;
use crate::store::cis::{self, CiRow};
use crate::store::{audit, clients, Store};

fn validate(spec: &CiSpec) -> Result<()> {
    validate_host(&spec.host)
        .and_then(|_| validate_kind(&spec.kind))
        .and_then(|_| validate_tier(spec.tier))
        .map_err(|e| rejected(e.to_string()))
}

pub fn add(store: &mut Store, ctx: &Ctx, client: &str, spec: CiSpec) -> Result<CiRow> {
    validate(&spec)?;
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    if cis::find(&tx, c.id, &spec.host)?.is_some() {
        return Err(refused(format!(
            "CI '{client}/{}' exists already; change it with `bmctl cmdb edit {client}/{}`",
            spec.host, spec.host
        )));
    }
    cis::insert(&tx, c.id, &spec, ctx.ts())?;
    let row = cis::get(&tx, c.id, client, &spec.host)?;
    audit::record(
        &tx,
        &ctx.who(),
        "ci",
        &format!("{client}/{}", spec.host),
        None,
        Some(&row),
    )?;
    tx.commit()?;
    Ok(row)
}

pub fn show(store: &Store, client: &str, host: &str) -> Result<CiRow> {
    let c = clients::get(store.db(), client)?;
    cis::get(store.db(), c.id, client, host)
}

/// Changes to a CI; `None` leaves a field as it is (`Some(None)` clears it).
#[derive(Debug, Default)]
pub struct CiEdit {
    pub kind: Option<String>,
    pub tier: Option<i64>,
    pub os: Option<Option<String>>,
    pub role: Option<Option<String>>,
    pub excluded: Option<Option<String>>,
}

pub fn edit(store: &mut Store, ctx: &Ctx, client: &str, host: &str, edit: CiEdit) -> Result<CiRow> {
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let before = cis::get(&tx, c.id, client, host)?;
    let mut spec = before.spec();
    if let Some(k) = edit.kind {
        spec.kind = k;
    }
    if let Some(t) = edit.tier {
        spec.tier = t;
    }
    if let Some(o) = edit.os {
        spec.os = o;
    }
    if let Some(r) = edit.role {
        spec.role = r;
    }
    if let Some(x) = edit.excluded {
        spec.excluded = x;
    }
    validate(&spec)?;
    cis::update(&tx, before.id, &spec, ctx.ts())?;
    let after = cis::get(&tx, c.id, client, host)?;
    audit::record(
        &tx,
        &ctx.who(),
        "ci",
        &format!("{client}/{host}"),
        Some(&before),
        Some(&after),
    )?;
    tx.commit()?;
    Ok(after)
}

pub fn retire(store: &mut Store, ctx: &Ctx, client: &str, host: &str) -> Result<CiRow> {
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let before = cis::get(&tx, c.id, client, host)?;
    if before.status == Lifecycle::Retired {
        return Err(refused(format!("CI '{client}/{host}' is retired already")));
    }
    if before.policies > 0 {
        return Err(refused(format!(
            "CI '{client}/{host}' still has {} active backup polic{}; delete them first with `bmctl macd delete --ci {host}` (a controlled change)",
            before.policies,
            if before.policies == 1 { "y" } else { "ies" }
        )));
    }
    cis::set_status(&tx, before.id, Lifecycle::Retired, ctx.ts())?;
    let after = cis::get(&tx, c.id, client, host)?;
    audit::record(
        &tx,
        &ctx.who(),
        "ci",
        &format!("{client}/{host}"),
        Some(&before),
        Some(&after),
    )?;
    tx.commit()?;
    Ok(after)
}

#[derive(Debug, Deserialize)]
struct CsvRow {
    client: String,
    host: String,
    kind: String,
    tier: String,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// What `cmdb import` did.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

fn blank_none(s: Option<String>) -> Option<String> {
    s.map(|x| x.trim().to_string()).filter(|x| !x.is_empty())
}

/// The columns of a CMDB CSV.
const COLUMNS: [&str; 6] = ["client", "host", "kind", "tier", "os", "role"];

/// Import CIs from CSV (`client,host,kind,tier,os,role`), idempotent on
/// client + host. The whole file is validated before anything is written:
/// unknown or repeated columns and a host named twice are bad input; an
/// empty `os` or `role` cell leaves the field as it is; a row that would
/// change the kind or tier of a CI with active policies is refused (that is
/// a change to the backup plan: `macd`).
pub fn import_csv(
    store: &mut Store,
    ctx: &Ctx,
    input: impl Read,
    file: &str,
) -> Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .with_context(|| format!("{file}:1: reading the header"))?
        .clone();
    for need in ["client", "host", "kind", "tier"] {
        if !headers.iter().any(|h| h == need) {
            return Err(rejected(format!(
                "{file}:1: header lacks column '{need}' (expected client,host,kind,tier,os,role)"
            )));
        }
    }
    // a column bmctl does not know would be dropped in silence; one named
    // twice would keep only the last
    let mut seen_columns = std::collections::HashSet::new();
    for h in headers.iter() {
        if !COLUMNS.contains(&h) {
            return Err(rejected(format!(
                "{file}:1: header: column '{h}' is not one of {}",
                COLUMNS.join(",")
            )));
        }
        if !seen_columns.insert(h) {
            return Err(rejected(format!(
                "{file}:1: header: column '{h}' is named twice"
            )));
        }
    }
    let tx = store.write()?;
    let mut rows = Vec::new();
    let mut hosts: HashMap<(String, String), u64> = HashMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            rejected(format!("{file}:{line}: {e}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let at = |field: &str, msg: &dyn std::fmt::Display| {
            rejected(format!("{file}:{line}: {field}: {msg}"))
        };
        let row: CsvRow = rec.deserialize(Some(&headers)).map_err(|e| at("row", &e))?;
        if let Some(first) = hosts.insert((row.client.clone(), row.host.clone()), line) {
            return Err(at(
                "host",
                &format!("{}/{} is on line {first} already", row.client, row.host),
            ));
        }
        let tier: i64 = row
            .tier
            .parse()
            .map_err(|_| at("tier", &format!("'{}' is not 1, 2 or 3", row.tier)))?;
        let Some(client) = clients::find(&tx, &row.client)? else {
            return Err(at(
                "client",
                &format!(
                    "unknown client '{}'; add it with `bmctl client add` or `bmctl plan import`",
                    row.client
                ),
            ));
        };
        let spec = CiSpec {
            host: row.host,
            kind: row.kind,
            tier,
            os: blank_none(row.os),
            role: blank_none(row.role),
            excluded: None,
        };
        validate_host(&spec.host).map_err(|e| at("host", &e))?;
        validate_kind(&spec.kind).map_err(|e| at("kind", &e))?;
        validate_tier(spec.tier).map_err(|e| at("tier", &e))?;
        rows.push((client, spec));
    }
    let mut report = ImportReport::default();
    for (client, mut spec) in rows {
        let entity = format!("{}/{}", client.code, spec.host);
        match cis::find(&tx, client.id, &spec.host)? {
            None => {
                cis::insert(&tx, client.id, &spec, ctx.ts())?;
                let after = cis::get(&tx, client.id, &client.code, &spec.host)?;
                audit::record(&tx, &ctx.who(), "ci", &entity, None, Some(&after))?;
                report.added += 1;
            }
            Some(before) => {
                spec.excluded = before.excluded.clone();
                // an empty cell leaves the field as it is
                spec.os = spec.os.or(before.os.clone());
                spec.role = spec.role.or(before.role.clone());
                if (spec.kind != before.kind || spec.tier != before.tier)
                    && cis::active_policies(&tx, before.id)? > 0
                {
                    return Err(refused(format!(
                        "{entity} is protected by the backup plan: its kind or tier ({} tier {} → {} tier {}) changes only through a change request (`bmctl macd change`); nothing was imported",
                        before.kind, before.tier, spec.kind, spec.tier
                    )));
                }
                if before.spec() == spec {
                    report.unchanged += 1;
                    continue;
                }
                cis::update(&tx, before.id, &spec, ctx.ts())?;
                let after = cis::get(&tx, client.id, &client.code, &spec.host)?;
                audit::record(&tx, &ctx.who(), "ci", &entity, Some(&before), Some(&after))?;
                report.updated += 1;
            }
        }
    }
    tx.commit()?;
    Ok(report)
}
