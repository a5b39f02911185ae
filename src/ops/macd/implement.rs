//! 05f.05 — implementing an approved change in one transaction: adds and
//! changes, and careful deletes (retention kept, disposal scheduled).

use super::*;

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
                    let spec = CiSpec {
                        host: p.ci.clone(),
                        ..ch.new_ci.clone().unwrap_or(CiSpec {
                            host: String::new(),
                            kind: "other".into(),
                            tier: 3,
                            os: None,
                            role: None,
                            excluded: None,
                        })
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
            if policies::find(&tx, ch.client_id, &p.job)?
                .is_some_and(|x| x.status == Lifecycle::Active)
            {
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
            audit_policy(&tx, &who, &client.code, &p, Lifecycle::Active)?;
            ch.policy_id = Some(pid);
        }
        "change" | "move" => {
            let pid = ch
                .policy_id
                .ok_or_else(|| anyhow::anyhow!("CR-{id} names no policy"))?;
            let live = policies::get(&tx, ch.client_id, &client.code, &ch.job)?;
            if Some(live.revision) != ch.based_on || live.status != Lifecycle::Active {
                return Err(refused(format!(
                    "cannot implement {}: job {}/{} changed since the request (revision {} then, {} now); re-create the request with `bmctl macd {} {}/{} …`",
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
            audit_policy(&tx, &who, &client.code, &p, Lifecycle::Active)?;
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
                audit_policy(&tx, &who, &client.code, &p.spec, Lifecycle::Retired)?;
                wind_down(&tx, ctx, &mut auto, &client, p, &ch.name())?;
            }
            auto.finish()?;
            if ch.policy_id.is_none() {
                if let Some(ci) =
                    cis::find(&tx, ch.client_id, ch.ci_host.as_deref().unwrap_or_default())?
                {
                    cis::set_status(&tx, ci.id, Lifecycle::Retired, now)?;
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
                // the date as given: midnight in the client's zone
                Some(t) => format!(
                    "Verify disposal of the backups of {what} (retained until {})",
                    crate::domain::time::local_date(t, client.tz())
                ),
                None => format!("Verify the backups of {what} were disposed of"),
            };
            let task = Ticket {
                policy_id: targets.first().map(|p| p.id),
                due_at: Some(due),
                assignee: ctx.rules.assignee(&client.code),
                ..Ticket::new(TicketKind::Task, ch.client_id, &client.code, title, 3, now)
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
                    Some(t) => format!(
                        "backups retained until {}",
                        crate::domain::time::local_display(t, client.tz())
                    ),
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
    ch.state = ChangeState::Implemented;
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
    notify(&tx, &ch, ctx.ts())?;
    tx.commit()?;
    Ok(ch)
}

/// A policy's audit row as a change implements it: the plan's fields and its
/// status (what `audit verify --deep` replays between plan versions).
fn audit_policy(
    tx: &Db,
    who: &crate::store::audit::Actor<'_>,
    client: &str,
    p: &crate::domain::plan::PolicySpec,
    status: Lifecycle,
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

/// Close a change (05f.06): verified by a good backup after implementation
/// (or `verified_by` evidence), publish a plan version, update the CMDB.
/// A retired policy's open work: corrective tickets decommissioned (a
/// touched one noted), open tasks skipped as not applicable, pauses ended.
fn wind_down(
    tx: &Db,
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
        t.status = TicketStatus::Skipped;
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
            crate::ops::pause::close_audited(tx, &who, &pa, now)?;
        }
    }
    Ok(())
}
