//! 05f.06 — completing a change once a backup proves it: a new plan version
//! and the CMDB updated.

use super::*;

/// What completing a change updated.
#[derive(Debug, Serialize)]
pub struct Completed {
    pub change: Change,
    pub plan_version: i64,
    pub cmdb: Vec<String>,
    pub evidence: String,
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
    let evidence = if ch.kind == ChangeKind::Delete {
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
    // the version holds completed changes only: what other requests have
    // implemented but not completed is taken back out of it
    let mut published = crate::ops::plan::current_plan(&tx, &client)?;
    for other in changes::list(
        &tx,
        Some(ch.client_id),
        Some(ChangeState::Implemented),
        false,
    )? {
        if other.id != id {
            without(&mut published, &other);
        }
    }
    let content = published.to_toml();
    let plan_reason = format!("CR-{id} {} {}: {}", ch.kind, ch.job, ch.reason);
    let version = plans::insert(&tx, ch.client_id, now, &ctx.actor, &plan_reason, &content)?;
    ch.state = ChangeState::Completed;
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
    notify(&tx, &ch, now)?;
    tx.commit()?;
    Ok(Completed {
        change: ch,
        plan_version: version,
        cmdb,
        evidence,
    })
}

/// `plan` as it was before implemented change `ch`: an add's policy out, a
/// changed or moved policy as it was, a deleted one back.
fn without(plan: &mut crate::domain::plan::Plan, ch: &Change) {
    let pos = plan.policies.iter().position(|p| p.job == ch.job);
    match (ch.kind, pos, &ch.current) {
        (ChangeKind::Add, Some(i), _) => {
            plan.policies.remove(i);
        }
        (ChangeKind::Change | ChangeKind::Move, Some(i), Some(before)) => {
            plan.policies[i] = before.clone();
        }
        (ChangeKind::Delete, None, Some(before)) => plan.policies.push(before.clone()),
        _ => {}
    }
}
