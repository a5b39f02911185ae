//! Bacula beyond its backup runs: the Director's JobIds remembered (a
//! restore names the JobIds it restored from), and restore jobs (Type R)
//! recorded as real recovery attempts of the policy they restored, once
//! each (by `DIRECTOR:JobId`).

use anyhow::Result;
use serde::Serialize;

use crate::domain::event::Status;
use crate::ingest::ToolRun;
use crate::ops::restore;
use crate::ops::Ctx;
use crate::store::{bacula, Store};

/// Remember each Bacula job's name by Director and JobId.
pub fn remember<'a>(store: &mut Store, runs: impl IntoIterator<Item = &'a ToolRun>) -> Result<()> {
    let tx = store.write()?;
    for r in runs {
        let (Some(id), Some(job)) = (&r.id, &r.job) else {
            continue;
        };
        if let Some((director, job_id)) = id.split_once(':') {
            bacula::remember(&tx, director, job_id, job)?;
        }
    }
    tx.commit()
}

/// What became of a document's restore jobs.
#[derive(Debug, Default, Serialize)]
pub struct Restores {
    pub recorded: usize,
    /// Recorded before (the same Director and JobId).
    pub known: usize,
    /// Restores whose backup bmctl cannot place, each with why.
    pub unplaced: Vec<String>,
}

/// Record restore jobs as real recovery attempts.
pub fn restores(
    store: &mut Store,
    ctx: &Ctx,
    found: Vec<(ToolRun, Vec<String>)>,
) -> Result<Restores> {
    let mut out = Restores::default();
    for (r, from) in found {
        let key = r.id.clone().unwrap_or_default();
        if bacula::attempt_known(store.db(), &key)? {
            out.known += 1;
            continue;
        }
        let Some((director, job_id)) = from.first().and_then(|f| f.split_once(':')) else {
            out.unplaced.push(format!(
                "restore {key}: a listing does not say what it restored (its job report does)"
            ));
            continue;
        };
        let Some(job) = bacula::job(store.db(), director, job_id)? else {
            out.unplaced.push(format!(
                "restore {key}: JobId {job_id} of {director}, which it restored from, is unknown to bmctl"
            ));
            continue;
        };
        let Some((client, policy)) =
            crate::ops::events::named_policy(store.db(), Some(director), &job, None)?
        else {
            out.unplaced.push(format!(
                "restore {key}: no policy matches Bacula job {job} of {director}, which it restored"
            ));
            continue;
        };
        let (Some(started), Some(ended)) = (r.started_at.or(r.ended_at), r.ended_at) else {
            out.unplaced
                .push(format!("restore {key}: no start or end time"));
            continue;
        };
        let outcome = match r.status {
            Some(Status::Success) => "success",
            Some(Status::Warning) => "partial",
            _ => "failed",
        };
        restore::record(
            store,
            ctx,
            restore::Report {
                client,
                job: policy,
                kind: "real".into(),
                outcome: outcome.into(),
                started_at: started.min(ended),
                ended_at: ended,
                issues: (outcome != "success").then(|| {
                    r.message
                        .clone()
                        .unwrap_or_else(|| "Bacula restore did not end OK".into())
                }),
                command: Some(format!("Bacula restore job {key} of {job}")),
                verified: false,
                ext_id: Some(key),
            },
        )?;
        out.recorded += 1;
    }
    Ok(out)
}
