//! Maintenance windows: a client, a CI or a policy paused until a time.
//! Inside a pause `check` expects no runs and raises no missed-run, hung or
//! RPO ticket; runs that do arrive are still recorded.

use crate::store::Db;
use anyhow::Result;

use crate::error::{refused, rejected};
use crate::ops::Ctx;
use crate::store::pauses::{self, NewPause, PauseRow};
use crate::store::{audit, cis, clients, policies, Store};

/// What is paused.
#[derive(Debug, Clone)]
pub enum Target {
    Client(String),
    Ci { client: String, host: String },
    Job { client: String, job: String },
}

pub fn create(
    store: &mut Store,
    ctx: &Ctx,
    target: &Target,
    from: Option<i64>,
    until: i64,
    reason: &str,
) -> Result<PauseRow> {
    if reason.trim().is_empty() {
        return Err(rejected(
            "--reason must say why (e.g. \"server migration, ticket CHG-123\")",
        ));
    }
    let starts = from.unwrap_or(ctx.ts());
    if until <= starts {
        return Err(rejected("--until must be after the start of the pause"));
    }
    // what was due before the pause is judged first: a pause excuses what
    // comes, not a result `check` already has (that is `events exclude`)
    let client = match target {
        Target::Client(c) | Target::Ci { client: c, .. } | Target::Job { client: c, .. } => {
            clients::get(store.db(), c)?
        }
    };
    let tx = store.write()?;
    crate::ops::check::close_due(&tx, ctx, client.id)?;
    let (client_id, ci_id, policy_id) = match target {
        Target::Client(c) => (clients::get(&tx, c)?.id, None, None),
        Target::Ci { client, host } => {
            let c = clients::get(&tx, client)?;
            (c.id, Some(cis::get(&tx, c.id, client, host)?.id), None)
        }
        Target::Job { client, job } => {
            let c = clients::get(&tx, client)?;
            let p = policies::get(&tx, c.id, client, job)?;
            (c.id, None, Some(p.id))
        }
    };
    for p in policies::list(&tx, client_id, false)? {
        if ci_id.is_some_and(|c| c != p.ci_id) || policy_id.is_some_and(|id| id != p.id) {
            continue;
        }
        if let Some(closed) = policies::state(&tx, p.id)?.checked_until {
            if starts <= closed {
                return Err(refused(format!(
                    "a pause of {} cannot start {}: its window of {} is closed already (a pause excuses what is to come, not a result bmctl has recorded)",
                    p.spec.job,
                    crate::domain::time::rfc3339(starts),
                    crate::domain::time::rfc3339(closed)
                )));
            }
        }
    }
    let id = pauses::insert(
        &tx,
        &NewPause {
            client_id,
            ci_id,
            policy_id,
            starts_at: starts,
            ends_at: until,
            reason,
            owner: &ctx.actor,
            created_at: ctx.ts(),
        },
    )?;
    let row = pauses::get(&tx, id)?;
    audit::record(&tx, &ctx.who(), "pause", &id.to_string(), None, Some(&row))?;
    tx.commit()?;
    Ok(row)
}

/// End a pause now (before its planned end).
pub fn end(store: &mut Store, ctx: &Ctx, id: i64) -> Result<PauseRow> {
    let tx = store.write()?;
    let before = pauses::get(&tx, id)?;
    if before.closed_at.is_some() || before.ends_at.0 <= ctx.ts() {
        return Err(refused(format!(
            "pause #{id} ({}) has ended already",
            before.target()
        )));
    }
    let after = close_audited(&tx, &ctx.who(), &before, ctx.ts())?;
    tx.commit()?;
    Ok(after)
}

/// End pause `before` at `at`, by `who`, with its audit row; the pause as it is now.
pub(crate) fn close_audited(
    tx: &Db,
    who: &audit::Actor<'_>,
    before: &pauses::PauseRow,
    at: i64,
) -> Result<pauses::PauseRow> {
    pauses::close(tx, before.id, at, who.actor)?;
    let after = pauses::get(tx, before.id)?;
    let id = before.id.to_string();
    audit::record(tx, who, "pause", &id, Some(before), Some(&after))?;
    Ok(after)
}
