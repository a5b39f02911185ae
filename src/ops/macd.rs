//! 05f.03–05f.06 — backup changes in a controlled manner: a request with the
//! proposed configuration and its risk (initiation), approval by someone
//! else, implementation in one transaction (adds and changes; careful
//! deletes), and completion once a backup proves it, which publishes a new
//! plan version and updates the CMDB.

use anyhow::Result;
use serde::Serialize;

use crate::domain::change::{self, Change, Context};
use crate::domain::plan::{self, CiSpec, DiffLine, PolicySpec};
use crate::domain::policy::is_offsite;
use crate::domain::ticket::Ticket;
use crate::domain::time::rfc3339;
use crate::error::{refused, rejected};
use crate::ops::Ctx;
use crate::store::changes::{self, LogLine};
use crate::store::{audit, cis, clients, plans, policies, tickets, Store};

/// Why and under which external reference a change is requested.
#[derive(Debug, Clone)]
pub struct Why {
    pub reason: String,
    pub ref_: Option<String>,
}

/// What a new request is.
#[derive(Debug, Clone)]
pub enum Request {
    Add {
        proposal: Box<PolicySpec>,
        new_ci: Option<CiSpec>,
    },
    Change {
        job: String,
        sets: Vec<(String, String)>,
    },
    Move {
        job: String,
        to_ci: Option<String>,
        target: Option<String>,
    },
    Delete {
        job: Option<String>,
        ci: Option<String>,
    },
}

fn risk_context(
    conn: &rusqlite::Connection,
    client_id: i64,
    ci_id: Option<i64>,
    tier: i64,
    policy_id: Option<i64>,
) -> Result<Context> {
    let all = policies::list(conn, client_id, false)?;
    let on_ci: Vec<_> = all.iter().filter(|p| Some(p.ci_id) == ci_id).collect();
    Ok(Context {
        ci_tier: tier,
        ci_policies: on_ci.len(),
        other_offsite: on_ci
            .iter()
            .filter(|p| Some(p.id) != policy_id && is_offsite(&p.spec.target))
            .count(),
        required_retention: None,
    })
}

/// What a request records before its risk is assessed: kind, job, policy,
/// CI host, proposal, new CI, revision based on, current spec, risk context.
type Draft = (
    &'static str,
    String,
    Option<i64>,
    Option<String>,
    Option<PolicySpec>,
    Option<String>,
    Option<i64>,
    Option<PolicySpec>,
    Context,
);

/// The draft of a request on an existing policy.
fn on_policy(
    conn: &rusqlite::Connection,
    client_id: i64,
    kind: &'static str,
    job: String,
    p: policies::PolicyRow,
    proposal: Option<PolicySpec>,
) -> Result<Draft> {
    let rctx = risk_context(conn, client_id, Some(p.ci_id), p.tier, Some(p.id))?;
    Ok((
        kind,
        job,
        Some(p.id),
        Some(p.ci),
        proposal,
        None,
        Some(p.revision),
        Some(p.spec),
        rctx,
    ))
}

/// Record a change request (05f.03): validated like a plan file, risk assessed.
pub fn request(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    req: Request,
    why: Why,
) -> Result<Change> {
    if why.reason.trim().is_empty() {
        return Err(rejected("--reason must say why the change is needed"));
    }
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let tz = c.timezone.clone();
    let required = c.spec().required_retention;
    let draft: Draft = match req {
        Request::Add { proposal, new_ci } => {
            let proposal = *proposal;
            if policies::find(&tx, c.id, &proposal.job)?.is_some_and(|p| p.status == "active") {
                return Err(refused(format!("job {client}/{} exists already; change it with `bmctl macd change --job {client}/{}`", proposal.job, proposal.job)));
            }
            let (ci_id, tier) = match (cis::find(&tx, c.id, &proposal.ci)?, &new_ci) {
                (Some(ci), None) if ci.status == "active" => (Some(ci.id), ci.tier),
                (Some(_), Some(_)) => return Err(refused(format!("CI {client}/{} is in the CMDB already: drop --new-ci", proposal.ci))),
                (None, Some(n)) => (None, n.tier),
                _ => {
                    return Err(rejected(format!(
                        "CI '{}' is not an active CI of {client}; add it with --new-ci --kind K --tier N, or `bmctl cmdb add`",
                        proposal.ci
                    )))
                }
            };
            let rctx = risk_context(&tx, c.id, ci_id, tier, None)?;
            let new_ci = new_ci.map(|n| serde_json::json!({"host": n.host, "kind": n.kind, "tier": n.tier, "os": n.os, "role": n.role}).to_string());
            (
                "add",
                proposal.job.clone(),
                None,
                Some(proposal.ci.clone()),
                Some(proposal),
                new_ci,
                None,
                None,
                rctx,
            )
        }
        Request::Change { job, sets } => {
            let p = policies::get(&tx, c.id, client, &job)?;
            let mut proposal = p.spec.clone();
            for (field, value) in &sets {
                proposal
                    .set(field, value, &tz)
                    .map_err(|e| rejected(format!("--set {field}={value}: {e}")))?;
            }
            proposal
                .check()
                .map_err(|e| rejected(format!("--set: {e}")))?;
            if proposal == p.spec {
                return Err(rejected(
                    "the change changes nothing; give at least one --set FIELD=VALUE that differs",
                ));
            }
            on_policy(&tx, c.id, "change", job, p, Some(proposal))?
        }
        Request::Move { job, to_ci, target } => {
            let p = policies::get(&tx, c.id, client, &job)?;
            let mut proposal = p.spec.clone();
            if let Some(h) = &to_ci {
                let ci = cis::get(&tx, c.id, client, h)?;
                if ci.status != "active" {
                    return Err(refused(format!("CI {client}/{h} is retired")));
                }
                proposal.ci = h.clone();
            }
            if let Some(t) = &target {
                proposal
                    .set("target", t, &tz)
                    .map_err(|e| rejected(format!("--target: {e}")))?;
            }
            if proposal == p.spec {
                return Err(rejected(
                    "a move needs --to-ci HOST or --target T that differs from today's",
                ));
            }
            on_policy(&tx, c.id, "move", job, p, Some(proposal))?
        }
        Request::Delete {
            job: Some(job),
            ci: None,
        } => {
            let p = policies::get(&tx, c.id, client, &job)?;
            if p.status != "active" {
                return Err(refused(format!("job {client}/{job} is retired already")));
            }
            on_policy(&tx, c.id, "delete", job, p, None)?
        }
        Request::Delete {
            job: None,
            ci: Some(host),
        } => {
            let ci = cis::get(&tx, c.id, client, &host)?;
            let mut rctx = risk_context(&tx, c.id, Some(ci.id), ci.tier, None)?;
            rctx.ci_policies = rctx.ci_policies.min(1); // every policy of the CI goes
            rctx.other_offsite = 0;
            (
                "delete",
                format!("*{host}"),
                None,
                Some(host),
                None,
                None,
                None,
                None,
                rctx,
            )
        }
        Request::Delete { .. } => {
            return Err(rejected(
                "say what to delete: --job CLIENT/JOB or --ci CLIENT/HOST",
            ))
        }
    };
    let (kind, job, policy_id, ci_host, proposal, new_ci, based_on, current, mut rctx) = draft;
    rctx.required_retention = required;
    let (risk, reasons) = change::assess(kind, current.as_ref(), proposal.as_ref(), &rctx);
    let current = current.clone();
    let now = ctx.ts();
    let mut ch = Change {
        id: 0,
        kind: kind.into(),
        client_id: c.id,
        client: c.code.clone(),
        job,
        policy_id,
        ci_host,
        current,
        proposal,
        new_ci,
        based_on,
        state: "requested".into(),
        risk: risk.into(),
        risk_reasons: reasons,
        reason: why.reason.clone(),
        ref_: why.ref_.clone(),
        requested_by: ctx.actor.clone(),
        requested_at: now,
        approved_by: None,
        approved_at: None,
        decision: None,
        implemented_by: None,
        implemented_at: None,
        retain_until: None,
        dispose: false,
        forced: None,
        completed_by: None,
        completed_at: None,
        verified_by: None,
        plan_version: None,
        updated_at: now,
    };
    ch.id = changes::insert(&tx, &ch)?;
    changes::log(
        &tx,
        ch.id,
        now,
        &ctx.actor,
        &format!(
            "requested ({} risk: {}): {}",
            ch.risk,
            ch.risk_reasons.join("; "),
            why.reason
        ),
    )?;
    audit::record(
        &tx,
        &ctx.who(),
        "change",
        &format!("CR-{}", ch.id),
        None,
        Some(&ch),
    )?;
    tx.commit()?;
    Ok(ch)
}

fn step(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    log: &str,
    f: impl FnOnce(&rusqlite::Connection, &mut Change) -> Result<()>,
) -> Result<Change> {
    let tx = store.write()?;
    let mut ch = changes::get(&tx, id)?;
    let before = ch.clone();
    f(&tx, &mut ch)?;
    ch.updated_at = ctx.ts();
    changes::save(&tx, &ch)?;
    changes::log(&tx, id, ctx.ts(), &ctx.actor, log)?;
    audit::record(
        &tx,
        &ctx.who(),
        "change",
        &format!("CR-{id}"),
        Some(&before),
        Some(&ch),
    )?;
    tx.commit()?;
    Ok(ch)
}

pub fn approve(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    allow_self: bool,
    confirm_risk: bool,
) -> Result<Change> {
    let (now, who) = (ctx.ts(), ctx.actor.clone());
    let selfish = store_requested_by(store, id)? == who;
    let log = if selfish && allow_self {
        "approved by the requester (approval.allow_self_approval)"
    } else {
        "approved"
    };
    step(store, ctx, id, log, |_, c| {
        c.approve(&who, allow_self, confirm_risk, now)
    })
}

fn store_requested_by(store: &Store, id: i64) -> Result<String> {
    Ok(changes::get(&store.conn, id)?.requested_by)
}

pub fn reject(store: &mut Store, ctx: &Ctx, id: i64, reason: &str) -> Result<Change> {
    if reason.trim().is_empty() {
        return Err(rejected("--reason must say why"));
    }
    let (now, who) = (ctx.ts(), ctx.actor.clone());
    step(store, ctx, id, &format!("rejected: {reason}"), |_, c| {
        c.reject(&who, reason, now)
    })
}

pub fn cancel(store: &mut Store, ctx: &Ctx, id: i64, reason: &str) -> Result<Change> {
    if reason.trim().is_empty() {
        return Err(rejected("--reason must say why"));
    }
    let now = ctx.ts();
    step(store, ctx, id, &format!("cancelled: {reason}"), |_, c| {
        c.cancel(reason, now)
    })
}

/// What a delete needs at implementation (05f.05).
#[derive(Debug, Clone, Default)]
pub struct DeleteTerms {
    pub retain_until: Option<i64>,
    pub dispose: bool,
    /// The typed confirmation: `CLIENT/JOB` (or `CLIENT/HOST` for a CI).
    pub confirm: Option<String>,
    /// `--force --reason`: delete although the last run was not a success.
    pub force_reason: Option<String>,
}

/// Apply an approved change to the live configuration, in one transaction.
pub fn implement(store: &mut Store, ctx: &Ctx, id: i64, terms: &DeleteTerms) -> Result<Change> {
    let now = ctx.ts();
    let tx = store.write()?;
    let mut ch = changes::get(&tx, id)?;
    let before = ch.clone();
    ch.check_implementable()?;
    // the windows that ended before the change takes effect are judged by
    // the policies as they were
    crate::ops::check::close_due(&tx, ctx, ch.client_id)?;
    let client = clients::get_by_id(&tx, ch.client_id)?;
    let who = ctx.who();
    let mut log = String::from("implemented");
    match ch.kind.as_str() {
        "add" => {
            let p = ch
                .proposal
                .clone()
                .ok_or_else(|| anyhow::anyhow!("CR-{id} has no proposal"))?;
            let ci_id = match cis::find(&tx, ch.client_id, &p.ci)? {
                Some(ci) => ci.id,
                None => {
                    let n: serde_json::Value =
                        serde_json::from_str(ch.new_ci.as_deref().unwrap_or("{}"))?;
                    let spec = CiSpec {
                        host: p.ci.clone(),
                        kind: n["kind"].as_str().unwrap_or("other").into(),
                        tier: n["tier"].as_i64().unwrap_or(3),
                        os: n["os"].as_str().map(str::to_string),
                        role: n["role"].as_str().map(str::to_string),
                        excluded: None,
                    };
                    let ci_id = cis::insert(&tx, ch.client_id, &spec, now)?;
                    let row = cis::get(&tx, ch.client_id, &client.code, &p.ci)?;
                    audit::record(
                        &tx,
                        &who,
                        "ci",
                        &format!("{}/{}", client.code, p.ci),
                        None,
                        Some(&row),
                    )?;
                    ci_id
                }
            };
            if policies::find(&tx, ch.client_id, &p.job)?.is_some_and(|x| x.status == "active") {
                return Err(refused(format!(
                    "cannot implement {}: job {}/{} exists now; re-create the request",
                    ch.name(),
                    client.code,
                    p.job
                )));
            }
            let pid = match policies::find(&tx, ch.client_id, &p.job)? {
                Some(old) => {
                    policies::update(&tx, old.id, ci_id, &p, now)?;
                    old.id
                }
                None => policies::insert(&tx, ch.client_id, ci_id, &p, now)?,
            };
            audit_policy(&tx, &who, &client.code, &p, "active")?;
            ch.policy_id = Some(pid);
        }
        "change" | "move" => {
            let pid = ch
                .policy_id
                .ok_or_else(|| anyhow::anyhow!("CR-{id} names no policy"))?;
            let live = policies::get(&tx, ch.client_id, &client.code, &ch.job)?;
            if Some(live.revision) != ch.based_on || live.status != "active" {
                return Err(refused(format!(
                    "cannot implement {}: job {}/{} changed since the request (revision {} then, {} now); re-create the request with `bmctl macd {} --job {}/{} …`",
                    ch.name(),
                    client.code,
                    ch.job,
                    ch.based_on.unwrap_or(0),
                    live.revision,
                    ch.kind,
                    client.code,
                    ch.job
                )));
            }
            let p = ch
                .proposal
                .clone()
                .ok_or_else(|| anyhow::anyhow!("CR-{id} has no proposal"))?;
            let ci = cis::get(&tx, ch.client_id, &client.code, &p.ci)?;
            policies::update(&tx, pid, ci.id, &p, now)?;
            audit_policy(&tx, &who, &client.code, &p, "active")?;
        }
        _ => {
            // 05f.05: a delete, with care
            let what = match &ch.ci_host {
                Some(h) if ch.policy_id.is_none() => format!("{}/{h}", client.code),
                _ => format!("{}/{}", client.code, ch.job),
            };
            if terms.retain_until.is_none() && !terms.dispose {
                return Err(refused(format!(
                    "cannot implement {}: a delete needs a retention decision: --retain-until DATE (keep the backups until then) or --dispose",
                    ch.name()
                )));
            }
            if terms.confirm.as_deref() != Some(what.as_str()) {
                return Err(refused(format!(
                    "cannot implement {}: confirm the delete by naming what goes: --confirm {what} (--yes does not stand in for it)",
                    ch.name()
                )));
            }
            let targets: Vec<_> = match ch.policy_id {
                Some(_) => vec![policies::get(&tx, ch.client_id, &client.code, &ch.job)?],
                None => {
                    let host = ch.ci_host.clone().unwrap_or_default();
                    let ci = cis::get(&tx, ch.client_id, &client.code, &host)?;
                    policies::list(&tx, ch.client_id, false)?
                        .into_iter()
                        .filter(|p| p.ci_id == ci.id)
                        .collect()
                }
            };
            for p in &targets {
                if let Some(live) = ch.based_on {
                    if live != p.revision {
                        return Err(refused(format!("cannot implement {}: job {}/{} changed since the request; re-create it", ch.name(), client.code, p.spec.job)));
                    }
                }
                if p.last_status.as_deref() != Some("success") && terms.force_reason.is_none() {
                    return Err(refused(format!(
                        "cannot implement {}: the last run of {}/{} was not a success ({}); confirm a good final backup first, or pass --force --reason TEXT",
                        ch.name(),
                        client.code,
                        p.spec.job,
                        p.last_status.as_deref().unwrap_or("no run yet")
                    )));
                }
            }
            let mut auto = crate::ops::correct::Auto::new(&tx, ctx);
            for p in &targets {
                policies::retire(&tx, p.id, now)?;
                audit_policy(&tx, &who, &client.code, &p.spec, "retired")?;
                wind_down(&tx, ctx, &mut auto, &client, p, &ch.name())?;
            }
            auto.finish()?;
            if ch.policy_id.is_none() {
                if let Some(ci) =
                    cis::find(&tx, ch.client_id, ch.ci_host.as_deref().unwrap_or_default())?
                {
                    cis::set_status(&tx, ci.id, "retired", now)?;
                    let after = cis::get(&tx, ch.client_id, &client.code, &ci.host)?;
                    let id = format!("{}/{}", client.code, ci.host);
                    audit::record(&tx, &who, "ci", &id, Some(&ci), Some(&after))?;
                }
            }
            ch.retain_until = terms.retain_until;
            ch.dispose = terms.dispose;
            ch.forced = terms.force_reason.clone();
            // a task to verify disposal when the retention runs out
            let due = terms.retain_until.unwrap_or(now + 7 * 86_400);
            let title = match terms.retain_until {
                Some(t) => format!(
                    "Verify disposal of the backups of {what} (retained until {})",
                    &rfc3339(t)[..10]
                ),
                None => format!("Verify the backups of {what} were disposed of"),
            };
            let task = Ticket {
                policy_id: targets.first().map(|p| p.id),
                due_at: Some(due),
                assignee: ctx.rules.assignee(&client.code),
                ..Ticket::new("task", ch.client_id, &client.code, title, 3, now)
            };
            let task_id = tickets::insert(&tx, &task)?;
            let stored = tickets::get(&tx, task_id)?;
            audit::record(
                &tx,
                &who,
                "ticket",
                &task_id.to_string(),
                None,
                Some(&stored),
            )?;
            log = format!(
                "implemented: retired {} polic{}; {}; disposal check is task #{task_id}{}",
                targets.len(),
                if targets.len() == 1 { "y" } else { "ies" },
                match terms.retain_until {
                    Some(t) => format!("backups retained until {}", rfc3339(t)),
                    None => "backups to be disposed of".into(),
                },
                terms
                    .force_reason
                    .as_ref()
                    .map(|r| format!("; forced: {r}"))
                    .unwrap_or_default()
            );
        }
    }
    ch.state = "implemented".into();
    ch.implemented_by = Some(ctx.actor.clone());
    ch.implemented_at = Some(now);
    ch.updated_at = now;
    changes::save(&tx, &ch)?;
    changes::log(&tx, id, now, &ctx.actor, &log)?;
    audit::record(
        &tx,
        &ctx.who(),
        "change",
        &format!("CR-{id}"),
        Some(&before),
        Some(&ch),
    )?;
    tx.commit()?;
    Ok(ch)
}

/// What completing a change updated.
#[derive(Debug, Serialize)]
pub struct Completed {
    pub change: Change,
    pub plan_version: i64,
    pub cmdb: Vec<String>,
    pub evidence: String,
}

/// Close a change (05f.06): verified by a good backup after implementation
/// (or `verified_by` evidence), publish a plan version, update the CMDB.
/// A retired policy's open work: corrective tickets decommissioned (a
/// touched one noted), open tasks skipped as not applicable, pauses ended.
fn wind_down(
    tx: &rusqlite::Connection,
    ctx: &Ctx,
    auto: &mut crate::ops::correct::Auto<'_>,
    client: &crate::store::clients::ClientRow,
    p: &policies::PolicyRow,
    change: &str,
) -> Result<()> {
    let now = ctx.ts();
    let subject = crate::ops::correct::Subject::of(client, p);
    let why = format!("{}/{} retired by {change}", client.code, p.spec.job);
    auto.decommission(&subject, &why)?;
    let who = crate::store::audit::Actor {
        at: now,
        actor: "bmctl",
        command: &ctx.command,
    };
    for id in tickets::open_tasks_of_policy(tx, p.id)? {
        let before = tickets::get(tx, id)?;
        let mut t = before.clone();
        t.status = "skipped".into();
        t.resolved_at = Some(now);
        t.updated_at = now;
        t.resolution = Some(why.clone());
        t.not_applicable = true;
        tickets::save(tx, &before, &t)?;
        tickets::add_note(
            tx,
            id,
            now,
            "bmctl",
            "status",
            &format!("skipped (not applicable): {why}"),
        )?;
        crate::store::audit::record(tx, &who, "ticket", &id.to_string(), Some(&before), Some(&t))?;
    }
    for pa in crate::store::pauses::list(tx, now, i64::MAX / 4, false)? {
        if pa.policy_id == Some(p.id) && pa.effective_end() > now {
            crate::store::pauses::close(tx, pa.id, now, "bmctl")?;
            let after = crate::store::pauses::get(tx, pa.id)?;
            crate::store::audit::record(
                tx,
                &who,
                "pause",
                &pa.id.to_string(),
                Some(&pa),
                Some(&after),
            )?;
        }
    }
    Ok(())
}

pub fn complete(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    verified_by: Option<&str>,
) -> Result<Completed> {
    let now = ctx.ts();
    let tx = store.write()?;
    let mut ch = changes::get(&tx, id)?;
    let before = ch.clone();
    ch.check_completable()?;
    let client = clients::get_by_id(&tx, ch.client_id)?;
    let evidence = if ch.kind == "delete" {
        "policies retired".to_string()
    } else {
        let pid = ch
            .policy_id
            .ok_or_else(|| anyhow::anyhow!("CR-{id} names no policy"))?;
        match crate::store::events::first_success_since(&tx, ch.client_id, pid, ch.implemented_at.unwrap_or(0))? {
            Some(t) => format!("first good backup at {}", rfc3339(t)),
            None => match verified_by.filter(|v| !v.trim().is_empty()) {
                Some(v) => format!("verified by hand: {v}"),
                None => {
                    return Err(refused(format!(
                        "cannot complete {}: no successful backup of {}/{} since it was implemented ({}); wait for one, or give manual evidence with --verified-by TEXT",
                        ch.name(),
                        client.code,
                        ch.job,
                        rfc3339(ch.implemented_at.unwrap_or(0))
                    )))
                }
            },
        }
    };
    // CMDB: the change reference on every CI the change touched
    let reference = ch.ref_.clone().unwrap_or_else(|| format!("CR-{id}"));
    let mut hosts: Vec<String> = ch.ci_host.iter().cloned().collect();
    if let Some(p) = &ch.proposal {
        if !hosts.contains(&p.ci) {
            hosts.push(p.ci.clone());
        }
    }
    let mut cmdb = Vec::new();
    for h in &hosts {
        if let Some(ci) = cis::find(&tx, ch.client_id, h)? {
            cis::set_change_ref(&tx, ci.id, &reference, now)?;
            let after = cis::get(&tx, ch.client_id, &client.code, h)?;
            cmdb.push(format!(
                "{}/{h}: backup status {}, last change {reference}",
                client.code, after.backup_status
            ));
        }
    }
    let content = crate::ops::plan::current_plan(&tx, &client)?.to_toml();
    let plan_reason = format!("CR-{id} {} {}: {}", ch.kind, ch.job, ch.reason);
    let version = plans::insert(&tx, ch.client_id, now, &ctx.actor, &plan_reason, &content)?;
    ch.state = "completed".into();
    ch.completed_by = Some(ctx.actor.clone());
    ch.completed_at = Some(now);
    ch.verified_by = Some(evidence.clone());
    ch.plan_version = Some(version);
    ch.updated_at = now;
    changes::save(&tx, &ch)?;
    changes::log(
        &tx,
        id,
        now,
        &ctx.actor,
        &format!("completed: {evidence}; plan version {version} published"),
    )?;
    audit::record(
        &tx,
        &ctx.who(),
        "change",
        &format!("CR-{id}"),
        Some(&before),
        Some(&ch),
    )?;
    audit::record(
        &tx,
        &ctx.who(),
        "plan",
        &format!("{}:v{version}", client.code),
        None,
        Some(&crate::store::plans::text_digest(&content)),
    )?;
    tx.commit()?;
    Ok(Completed {
        change: ch,
        plan_version: version,
        cmdb,
        evidence,
    })
}

/// A change with its proposal as a diff against the live policy, and its timeline.
#[derive(Debug, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub change: Change,
    pub diff: Vec<DiffLine>,
    pub timeline: Vec<LogLine>,
}

pub fn show(store: &Store, id: i64) -> Result<Detail> {
    let ch = changes::get(&store.conn, id)?;
    let client = clients::get_by_id(&store.conn, ch.client_id)?;
    let one = |p: Option<PolicySpec>| plan::Plan {
        client: client.spec(),
        cis: Vec::new(),
        policies: p.into_iter().collect(),
    };
    let diff = plan::diff(&one(ch.current.clone()), &one(ch.proposal.clone()));
    let timeline = changes::timeline(&store.conn, id)?;
    Ok(Detail {
        change: ch,
        diff,
        timeline,
    })
}

/// A policy's audit row as a change implements it: the plan's fields and its
/// status (what `audit verify --deep` replays between plan versions).
fn audit_policy(
    tx: &rusqlite::Connection,
    who: &crate::store::audit::Actor<'_>,
    client: &str,
    p: &crate::domain::plan::PolicySpec,
    status: &str,
) -> Result<()> {
    // whole, its empty fields too: they replace what the policy had
    let fields = serde_json::Value::Object(crate::ops::deep::policy_fields(p, status)?);
    audit::append(
        tx,
        who,
        "policy",
        [audit::Entry {
            entity_id: format!("{client}/{}", p.job),
            before: None,
            after: Some(fields.to_string()),
        }],
    )
}
