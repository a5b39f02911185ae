//! Backup plans as code: onboarding by `plan import`, `export`, `show`,
//! `history` and `diff`. After onboarding, plans change through MACD.

use std::collections::BTreeSet;

use crate::store::Db;
use anyhow::{Context, Result};
use serde::Serialize;

use crate::domain::plan::{self, parse_plan, DiffLine, Plan};
use crate::domain::policy::Schedule;
use crate::domain::time::{format_duration, Ts};
use crate::error::{not_found, refused};
use crate::ops::Ctx;
use crate::store::clients::{self, ClientRow};
use crate::store::{audit, cis, plans, policies, Store};

/// The live plan of a client: its settings, active CIs and active policies.
pub fn current_plan(conn: &Db, client: &ClientRow) -> Result<Plan> {
    let cis = cis::list(conn, Some(client.id))?
        .into_iter()
        .filter(|c| c.status == crate::domain::ci::Lifecycle::Active)
        .map(|c| c.spec())
        .collect();
    let policies = policies::list(conn, client.id, false)?
        .into_iter()
        .map(|p| p.spec)
        .collect();
    Ok(Plan {
        client: client.spec(),
        cis,
        policies,
    })
}

/// What a plan import did.
#[derive(Debug, Serialize)]
pub struct ImportOutcome {
    pub client: String,
    /// `created`, `unchanged` or `replaced`.
    pub result: &'static str,
    pub version: Option<i64>,
    pub cis: usize,
    pub policies: usize,
    /// A dry run: nothing was written; `changes` is what would change.
    pub dry_run: bool,
    pub changes: Vec<crate::domain::plan::DiffLine>,
    /// What the plan promises and cannot keep (imported all the same: the
    /// plan records what was agreed; the risk register keeps it in view).
    pub warnings: Vec<String>,
}

/// Policies whose schedule leaves gaps longer than their RPO plus grace:
/// every such gap is a breach.
fn rpo_warnings(plan: &Plan) -> Vec<String> {
    let tz = crate::domain::time::parse_tz(&plan.client.timezone).unwrap_or(chrono_tz::UTC);
    plan.policies
        .iter()
        .filter_map(|p| {
            let gap = Schedule::parse(&p.schedule).ok()?.longest_gap(tz)?;
            (gap > p.rpo_s + p.grace_s).then(|| {
                format!(
                    "{}/{}: the schedule '{}' leaves gaps of up to {}; the RPO is {} (grace {}), so every such gap is a breach",
                    plan.client.code,
                    p.job,
                    p.schedule,
                    crate::domain::time::format_age(gap),
                    format_duration(p.rpo_s),
                    format_duration(p.grace_s)
                )
            })
        })
        .collect()
}

/// The plan after applying `file` to `current`: the file's client settings,
/// the file's CIs over the CMDB's, exactly the file's policies.
fn merge(current: &Plan, file: &Plan) -> Plan {
    let mut cis = current.cis.clone();
    for ci in &file.cis {
        match cis.iter_mut().find(|c| c.host == ci.host) {
            Some(c) => *c = ci.clone(),
            None => cis.push(ci.clone()),
        }
    }
    cis.sort_by(|a, b| a.host.cmp(&b.host));
    let mut policies = file.policies.clone();
    policies.sort_by(|a, b| a.job.cmp(&b.job));
    Plan {
        client: file.client.clone(),
        cis,
        policies,
    }
}

/// Import a plan file: onboard a new client (version 1), do nothing for an
/// identical file, refuse a different one unless `replace`.
pub fn import(
    store: &mut Store,
    ctx: &Ctx,
    text: &str,
    file: &str,
    replace: Option<&str>,
    dry_run: bool,
) -> Result<ImportOutcome> {
    let parsed = parse_plan(text, file)?;
    let code = parsed.plan.client.code.clone();
    let warnings = rpo_warnings(&parsed.plan);
    let tx = store.write()?;
    let existing = clients::find(&tx, &code)?;
    let known: BTreeSet<String> = match &existing {
        Some(c) => cis::list(&tx, Some(c.id))?
            .into_iter()
            .filter(|c| c.status == crate::domain::ci::Lifecycle::Active)
            .map(|c| c.host)
            .collect(),
        None => BTreeSet::new(),
    };
    parsed.check_ci_refs(file, &known)?;

    let mut old_plan = None;
    let (client_id, result, before) = match existing {
        None => {
            let id = clients::insert(&tx, &parsed.plan.client, ctx.ts())?;
            (id, "created", None)
        }
        Some(c) => {
            let current = current_plan(&tx, &c)?;
            let merged = merge(&current, &parsed.plan);
            if merged == current {
                return Ok(ImportOutcome {
                    client: code,
                    result: "unchanged",
                    version: plans::latest(&tx, c.id)?,
                    cis: current.cis.len(),
                    policies: current.policies.len(),
                    dry_run,
                    changes: Vec::new(),
                    warnings,
                });
            }
            let has_plan = plans::latest(&tx, c.id)?.is_some() || !current.policies.is_empty();
            if has_plan && replace.is_none() {
                return Err(refused(format!(
                    "client '{code}' already has a backup plan (version {}); after onboarding, changes go through `bmctl macd add|change|move|delete`. To overwrite it anyway, re-run with --replace (audited, publishes a new version)",
                    plans::latest(&tx, c.id)?.unwrap_or(0)
                )));
            }
            clients::update(&tx, c.id, &parsed.plan.client, ctx.ts())?;
            let toml = current.to_toml();
            old_plan = Some(current);
            (
                c.id,
                if has_plan { "replaced" } else { "created" },
                Some(toml),
            )
        }
    };

    let now = ctx.ts();
    // what was due before the new plan is judged by the old one
    crate::ops::check::close_due(&tx, ctx, client_id)?;
    for ci in &parsed.plan.cis {
        match cis::find(&tx, client_id, &ci.host)? {
            None => {
                cis::insert(&tx, client_id, ci, now)?;
            }
            Some(row) if row.spec() != *ci => cis::update(&tx, row.id, ci, now)?,
            Some(_) => {}
        }
    }
    let mut keep = BTreeSet::new();
    for p in &parsed.plan.policies {
        let ci = cis::find(&tx, client_id, &p.ci)?.context("CI vanished during import")?;
        keep.insert(p.job.clone());
        match policies::find(&tx, client_id, &p.job)? {
            None => {
                policies::insert(&tx, client_id, ci.id, p, now)?;
            }
            Some(row) if row.spec != *p || row.status != crate::domain::ci::Lifecycle::Active => {
                policies::update(&tx, row.id, ci.id, p, now)?
            }
            Some(_) => {}
        }
    }
    for old in policies::list(&tx, client_id, false)? {
        if !keep.contains(&old.spec.job) {
            policies::retire(&tx, old.id, now)?;
        }
    }

    let client = clients::get_by_id(&tx, client_id)?;
    let after = current_plan(&tx, &client)?;
    if dry_run {
        let empty = crate::domain::plan::Plan {
            client: after.client.clone(),
            cis: Vec::new(),
            policies: Vec::new(),
        };
        let changes = crate::domain::plan::diff(old_plan.as_ref().unwrap_or(&empty), &after);
        // dropped uncommitted: nothing of it stays
        drop(tx);
        return Ok(ImportOutcome {
            client: code,
            result,
            version: None,
            cis: after.cis.len(),
            policies: after.policies.len(),
            dry_run,
            changes,
            warnings,
        });
    }
    let content = after.to_toml();
    // a replace outside a change request is an emergency change: its
    // reason stands in the plan's history and the review
    let reason = match replace {
        Some(why) => format!("emergency change (plan import {file} --replace): {why}"),
        None => format!("plan import {file}"),
    };
    let version = plans::insert(&tx, client_id, now, &ctx.actor, &reason, &content)?;
    audit::record(
        &tx,
        &ctx.who(),
        "plan",
        &format!("{code}:v{version}"),
        before
            .as_deref()
            .map(plans::text_digest)
            .as_ref()
            .map(|b| b as &dyn audit::erased::Json),
        Some(&plans::text_digest(&content)),
    )?;
    tx.commit()?;
    Ok(ImportOutcome {
        client: code,
        result,
        version: Some(version),
        cis: after.cis.len(),
        policies: after.policies.len(),
        dry_run,
        changes: Vec::new(),
        warnings,
    })
}

pub fn export(store: &Store, code: &str) -> Result<String> {
    let conn = store.db();
    let c = clients::get(conn, code)?;
    Ok(current_plan(conn, &c)?.to_toml())
}

/// A policy as `plan show` prints it.
#[derive(Debug, Serialize)]
pub struct PolicyView {
    pub id: i64,
    pub job: String,
    pub ci: String,
    pub tool: String,
    pub schedule: String,
    pub rpo: String,
    pub grace: String,
    pub retention: String,
    pub target: String,
    pub restore_test: String,
    pub rto: String,
    pub status: String,
    pub next_run: Option<Ts>,
    pub last_success_at: Option<Ts>,
    pub last_status: Option<String>,
    /// How its runs are judged (#14).
    #[serde(flatten)]
    pub judgement: crate::domain::automation::judge::Judgement,
    /// The keys that differ from the default judgement, as the plan says them.
    pub judged: String,
    #[serde(skip)]
    pub tz: chrono_tz::Tz,
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    pub client: String,
    pub timezone: String,
    pub version: Option<i64>,
    pub policies: Vec<PolicyView>,
}

pub fn show(store: &Store, code: &str, ctx: &Ctx) -> Result<PlanView> {
    let conn = store.db();
    let c = clients::get(conn, code)?;
    let tz = c.tz();
    let mut out = Vec::new();
    for p in policies::list(conn, c.id, false)? {
        let s = &p.spec;
        let next_run = Schedule::parse(&s.schedule)
            .ok()
            .and_then(|sch| sch.next_after(ctx.now, tz))
            .map(|t| Ts(t.timestamp()));
        out.push(PolicyView {
            id: p.id,
            job: s.job.clone(),
            ci: p.ci.clone(),
            tool: s.tool.clone(),
            schedule: s.schedule.clone(),
            rpo: format_duration(s.rpo_s),
            grace: format_duration(s.grace_s),
            retention: s.retention.to_string(),
            target: s.target.clone(),
            restore_test: s.restore_test.clone(),
            rto: format_duration(s.rto_s),
            status: p.status.to_string(),
            next_run,
            last_success_at: p.last_success_at.map(Ts),
            last_status: p.last_status.clone(),
            judgement: s.judgement,
            judged: s
                .judgement
                .fields()
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            tz,
        });
    }
    Ok(PlanView {
        client: c.code.clone(),
        timezone: c.timezone.clone(),
        version: plans::latest(conn, c.id)?,
        policies: out,
    })
}

pub fn history(store: &Store, code: &str) -> Result<Vec<plans::VersionRow>> {
    let conn = store.db();
    let c = clients::get(conn, code)?;
    plans::list(conn, c.id)
}

fn version_plan(conn: &Db, client: &ClientRow, v: i64) -> Result<Plan> {
    let text = plans::get(conn, client.id, v)?.ok_or_else(|| {
        not_found(format!(
            "client '{}' has no plan version {v}; see `bmctl plan history {}`",
            client.code, client.code
        ))
    })?;
    Ok(parse_plan(&text, &format!("{} plan version {v}", client.code))?.plan)
}

pub fn diff(store: &Store, code: &str, v1: i64, v2: i64) -> Result<Vec<DiffLine>> {
    let conn = store.db();
    let c = clients::get(conn, code)?;
    Ok(plan::diff(
        &version_plan(conn, &c, v1)?,
        &version_plan(conn, &c, v2)?,
    ))
}
