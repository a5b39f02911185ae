//! 05f.03–05f.06 — backup changes in a controlled manner: a request with the
//! proposed configuration and its risk (initiation), approval by someone
//! else, implementation in one transaction (adds and changes; careful
//! deletes), and completion once a backup proves it, which publishes a new
//! plan version and updates the CMDB.

use crate::store::Db;
use anyhow::Result;
use serde::Serialize;

use crate::domain::change::{self, Change, ChangeKind, ChangeState, Context};
use crate::domain::ci::Lifecycle;
use crate::domain::plan::{self, CiSpec, DiffLine, PolicySpec};
use crate::domain::policy::is_offsite;
use crate::domain::ticket::{Ticket, TicketKind, TicketStatus};
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
    conn: &Db,
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
        other_retentions: on_ci
            .iter()
            .filter(|p| Some(p.id) != policy_id)
            .map(|p| p.spec.retention.clone())
            .collect(),
        required_retention: None,
        proposed_gap_s: None,
    })
}

/// What a request records before its risk is assessed.
struct Draft {
    kind: ChangeKind,
    job: String,
    policy_id: Option<i64>,
    ci_host: Option<String>,
    proposal: Option<PolicySpec>,
    new_ci: Option<CiSpec>,
    /// The policy revision the request is made against.
    based_on: Option<i64>,
    current: Option<PolicySpec>,
    risk: Context,
}

/// The draft of a request on an existing policy.
fn on_policy(
    conn: &Db,
    client_id: i64,
    kind: ChangeKind,
    job: String,
    p: policies::PolicyRow,
    proposal: Option<PolicySpec>,
) -> Result<Draft> {
    Ok(Draft {
        risk: risk_context(conn, client_id, Some(p.ci_id), p.tier, Some(p.id))?,
        kind,
        job,
        policy_id: Some(p.id),
        ci_host: Some(p.ci),
        proposal,
        new_ci: None,
        based_on: Some(p.revision),
        current: Some(p.spec),
    })
}

/// Record a change request (05f.03): validated like a plan file, risk assessed.
pub fn request(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    req: Request,
    why: Why,
) -> Result<Change> {
    request_or_preview(store, ctx, client, req, why, true)
}

/// The change a request would record (its risk and reasons), checked as
/// [`request`] checks it; nothing is written.
pub fn preview(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    req: Request,
    why: Why,
) -> Result<Change> {
    request_or_preview(store, ctx, client, req, why, false)
}

fn request_or_preview(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    req: Request,
    why: Why,
    record: bool,
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
            if policies::find(&tx, c.id, &proposal.job)?
                .is_some_and(|p| p.status == Lifecycle::Active)
            {
                return Err(refused(format!("job {client}/{} exists already; change it with `bmctl macd change {client}/{}`", proposal.job, proposal.job)));
            }
            let (ci_id, tier) = match (cis::find(&tx, c.id, &proposal.ci)?, &new_ci) {
                (Some(ci), None) if ci.status == Lifecycle::Active => (Some(ci.id), ci.tier),
                (Some(_), Some(_)) => return Err(refused(format!("CI {client}/{} is in the CMDB already: drop --new-ci", proposal.ci))),
                (None, Some(n)) => (None, n.tier),
                _ => {
                    return Err(rejected(format!(
                        "CI '{}' is not an active CI of {client}; add it with --new-ci --kind K --tier N, or `bmctl cmdb add`",
                        proposal.ci
                    )))
                }
            };
            Draft {
                risk: risk_context(&tx, c.id, ci_id, tier, None)?,
                kind: ChangeKind::Add,
                job: proposal.job.clone(),
                policy_id: None,
                ci_host: Some(proposal.ci.clone()),
                proposal: Some(proposal),
                new_ci,
                based_on: None,
                current: None,
            }
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
            on_policy(&tx, c.id, ChangeKind::Change, job, p, Some(proposal))?
        }
        Request::Move { job, to_ci, target } => {
            let p = policies::get(&tx, c.id, client, &job)?;
            let mut proposal = p.spec.clone();
            if let Some(h) = &to_ci {
                let ci = cis::get(&tx, c.id, client, h)?;
                if ci.status != Lifecycle::Active {
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
            on_policy(&tx, c.id, ChangeKind::Move, job, p, Some(proposal))?
        }
        Request::Delete {
            job: Some(job),
            ci: None,
        } => {
            let p = policies::get(&tx, c.id, client, &job)?;
            if p.status != Lifecycle::Active {
                return Err(refused(format!("job {client}/{job} is retired already")));
            }
            on_policy(&tx, c.id, ChangeKind::Delete, job, p, None)?
        }
        Request::Delete {
            job: None,
            ci: Some(host),
        } => {
            let ci = cis::get(&tx, c.id, client, &host)?;
            let mut rctx = risk_context(&tx, c.id, Some(ci.id), ci.tier, None)?;
            rctx.ci_policies = rctx.ci_policies.min(1); // every policy of the CI goes
            rctx.other_offsite = 0;
            Draft {
                risk: rctx,
                kind: ChangeKind::Delete,
                job: format!("*{host}"),
                policy_id: None,
                ci_host: Some(host),
                proposal: None,
                new_ci: None,
                based_on: None,
                current: None,
            }
        }
        Request::Delete { .. } => {
            return Err(rejected(
                "say what to delete: CLIENT/JOB or --ci CLIENT/HOST",
            ))
        }
    };
    let Draft {
        kind,
        job,
        policy_id,
        ci_host,
        proposal,
        new_ci,
        based_on,
        current,
        risk: mut rctx,
    } = draft;
    // one open request per policy (or CI): a second would dead-end after approval
    let same = |o: &Change| {
        let whole_ci = job.starts_with('*') || o.job.starts_with('*');
        o.job == job || (whole_ci && o.ci_host.is_some() && o.ci_host == ci_host)
    };
    if let Some(open) = changes::list(&tx, Some(c.id), None, true)?
        .into_iter()
        .find(|o| same(o))
    {
        return Err(refused(format!(
            "CR-{} ({} {client}/{}) is open for it ({}); finish it or cancel it (`bmctl macd cancel CR-{} --reason …`) first",
            open.id, open.kind, open.job, open.state, open.id
        )));
    }
    rctx.required_retention = required;
    rctx.proposed_gap_s = proposal
        .as_ref()
        .and_then(|p| crate::domain::policy::Schedule::parse(&p.schedule).ok())
        .and_then(|s| s.longest_gap(c.tz()));
    let (risk, reasons) = change::assess(kind, current.as_ref(), proposal.as_ref(), &rctx);
    let current = current.clone();
    let now = ctx.ts();
    let mut ch = Change {
        id: 0,
        kind,
        client_id: c.id,
        client: c.code.clone(),
        job,
        policy_id,
        ci_host,
        current,
        proposal,
        new_ci,
        based_on,
        state: ChangeState::Requested,
        risk,
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
    if record {
        notify(&tx, &ch, now)?;
        tx.commit()?;
    }
    Ok(ch)
}

/// Queue `on_change` with the change in its new state (delivered after the commit).
fn notify(tx: &Db, ch: &Change, now: i64) -> Result<()> {
    crate::store::outbox::push_change(tx, ch.id, now, &crate::ops::hooks::change_payload(ch))
}

fn step(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    log: &str,
    f: impl FnOnce(&Db, &mut Change) -> Result<()>,
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
    if ch.state != before.state {
        notify(&tx, &ch, ctx.ts())?;
    }
    tx.commit()?;
    Ok(ch)
}

pub fn approve(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    rules: &Approval,
    ref_: Option<&str>,
    confirm_risk: bool,
) -> Result<Change> {
    let (now, who) = (ctx.ts(), ctx.actor.clone());
    let selfish = store_requested_by(store, id)? == who;
    let log = if selfish && rules.allow_self {
        "approved by the requester (approval.allow_self_approval)"
    } else {
        "approved"
    };
    step(store, ctx, id, log, |_, c| {
        if let Some(r) = ref_.map(str::trim).filter(|r| !r.is_empty()) {
            c.ref_ = Some(r.to_string());
        }
        c.approve(&who, rules.allow_self, rules.require_ref, confirm_risk, now)
    })
}

/// How approvals are judged (`[approval]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Approval {
    pub allow_self: bool,
    pub require_ref: crate::domain::change::RequireRef,
}

fn store_requested_by(store: &Store, id: i64) -> Result<String> {
    Ok(changes::get(store.db(), id)?.requested_by)
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

/// A change with its proposal as a diff against the live policy, and its timeline.
#[derive(Debug, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub change: Change,
    pub diff: Vec<DiffLine>,
    pub timeline: Vec<LogLine>,
}

pub fn show(store: &Store, id: i64) -> Result<Detail> {
    let ch = changes::get(store.db(), id)?;
    let client = clients::get_by_id(store.db(), ch.client_id)?;
    let one = |p: Option<PolicySpec>| plan::Plan {
        client: client.spec(),
        cis: Vec::new(),
        policies: p.into_iter().collect(),
    };
    let diff = plan::diff(&one(ch.current.clone()), &one(ch.proposal.clone()));
    let timeline = changes::timeline(store.db(), id)?;
    Ok(Detail {
        change: ch,
        diff,
        timeline,
    })
}

pub mod adopt;
mod complete;
mod implement;
pub use complete::{complete, Completed};
pub use implement::{implement, DeleteTerms};
