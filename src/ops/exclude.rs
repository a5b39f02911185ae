//! `events exclude`: a person takes one past occurrence out of the incident
//! rate, with a reason (DESIGN, "Changes, retirement and pauses"). The only
//! way a recorded result is excused; audited, listed in the review.

use anyhow::Result;
use chrono_tz::Tz;

use crate::domain::event::Status;
use crate::domain::policy::Schedule;
use crate::domain::ticket::ProblemClass;
use crate::domain::time::{local_day, rfc3339};
use crate::error::{refused, rejected};
use crate::ops::correct::{Auto, Subject};
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::exclusions::{self, Exclusion};
use crate::store::{audit, clients, policies, Store};

/// Exclude the occurrence of `client/job` whose window holds `when`.
pub fn exclude(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    job: &str,
    when: i64,
    reason: &str,
    reference: Option<&str>,
) -> Result<Exclusion> {
    if reason.trim().is_empty() {
        return Err(rejected(
            "--reason must say why this result is excused (e.g. \"client powered the server off, CHG-77\")",
        ));
    }
    let now = ctx.ts();
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let p = policies::get(&tx, c.id, client, job)?;
    crate::ops::check::close_due(&tx, ctx, c.id)?;
    let w = policies::windows(&tx, p.id)?;
    let tz: Tz = w
        .timezone
        .parse()
        .map_err(|_| rejected("the client's zone is invalid"))?;
    let schedule = Schedule::parse(&w.schedule)?;
    let Some((lo, tk)) = schedule.window_of(when, w.grace_s, tz) else {
        return Err(rejected(format!(
            "{client}/{job} has no occurrence at {}",
            rfc3339(when)
        )));
    };
    let hi = tk + w.grace_s;
    let closed = policies::state(&tx, p.id)?.checked_until;
    if closed.is_none_or(|c| tk > c) {
        return Err(refused(format!(
            "the window of {} ({client}/{job}) has not closed yet (it closes {}): there is no result to excuse",
            rfc3339(tk),
            rfc3339(hi)
        )));
    }
    if exclusions::keys(&tx)?.contains(&(p.id, tk)) {
        return Err(refused(format!(
            "the occurrence of {} ({client}/{job}) is excluded already",
            rfc3339(tk)
        )));
    }
    let Some(outcome) = crate::ops::occurrences::outcome_of(
        &tx,
        p.id,
        c.id,
        tk,
        now,
        ctx.rules.default_max_runtime_s,
    )?
    else {
        return Err(refused(format!(
            "{} was not an expected occurrence of {client}/{job} (paused, or before the job existed)",
            rfc3339(tk)
        )));
    };
    let id = exclusions::insert(
        &tx,
        &exclusions::New {
            policy_id: p.id,
            client_id: c.id,
            occurrence_at: tk,
            outcome: outcome.as_str(),
            reason,
            reference,
            actor: &ctx.actor,
            at: now,
        },
    )?;
    let mut d = Rollup {
        expected: -1,
        ..Rollup::default()
    };
    d.outcome(outcome, -1);
    events::rollups_add(&tx, &mut [((c.id, local_day(tk, tz)), d)])?;
    // its ticket: withdrawn when this window was its only cause
    let subject = Subject::of(&c, &p);
    let detail = format!(
        "the occurrence of {} was excluded by {}: {reason}",
        rfc3339(tk),
        ctx.actor
    );
    let mut auto = Auto::new(&tx, ctx);
    match outcome {
        Status::Missed => {
            events::supersede_missed(&tx, c.id, p.id, hi, now)?;
            auto.withdraw_if(&subject, ProblemClass::Missed, &detail, |t| {
                let (Some(from), Some(to)) = (t.first_seen_at, t.last_seen_at) else {
                    return Ok(true);
                };
                Ok(events::missed_standing(&tx, c.id, p.id, from, to)? == 0)
            })?;
        }
        Status::Failed => {
            auto.withdraw_if(&subject, ProblemClass::Failed, &detail, |t| {
                Ok(t.first_seen_at.is_some_and(|f| f > lo)
                    && t.last_seen_at.is_some_and(|l| l <= hi))
            })?;
        }
        _ => {}
    }
    auto.finish()?;
    let row = exclusions::list(&tx, Some(c.id), tk, tk + 1)?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| anyhow::anyhow!("exclusion #{id} vanished"))?;
    audit::record(
        &tx,
        &ctx.who(),
        "exclusion",
        &id.to_string(),
        None,
        Some(&row),
    )?;
    tx.commit()?;
    Ok(row)
}
