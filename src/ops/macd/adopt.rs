//! A job seen in the runs but not in the plan, as a change request ready
//! for approval: what its runs say about it.

use anyhow::Result;
use serde::Serialize;

use crate::domain::policy::guess_schedule;
use crate::error::not_found;
use crate::store::{cis, clients, events, Store};

/// What the runs of an unmatched job suggest for its policy.
#[derive(Debug, Clone, Serialize)]
pub struct Guess {
    pub client: String,
    pub job: String,
    pub runs: usize,
    /// The tool that reported the runs, when it is one a policy names.
    pub tool: Option<String>,
    pub schedule: Option<String>,
    /// The CI whose host starts the job's name (`fs02-nightly` → `fs02`).
    pub ci: Option<String>,
    /// The interval between runs the schedule implies, for the RPO.
    pub interval_s: Option<i64>,
    /// The client's required retention, else a week of dailies.
    pub retention: String,
    /// Offsite when the client requires it.
    pub target: String,
}

pub fn guess(store: &Store, client: &str, job: &str) -> Result<Guess> {
    let c = clients::get(store.db(), client)?;
    let runs = events::unmatched_runs(store.db(), c.id, job)?.ok_or_else(|| {
        not_found(format!(
            "no runs of an unknown job {client}/{job} (see `bmctl events list --client {client} --unmatched`)"
        ))
    })?;
    let starts: Vec<i64> = runs.iter().map(|(t, _)| *t).collect();
    let schedule = guess_schedule(&starts, c.tz());
    let interval_s = schedule.as_deref().map(|s| match s.split(' ').nth(1) {
        Some("*") => 3_600,
        _ if s.ends_with("* * *") => 86_400,
        _ => 7 * 86_400,
    });
    // the most frequent reporter, if it is a tool a policy can name
    let mut sources: Vec<&str> = runs.iter().map(|(_, s)| s.as_str()).collect();
    sources.sort_unstable();
    let tool = sources
        .chunk_by(|a, b| a == b)
        .max_by_key(|g| g.len())
        .map(|g| g[0].to_string())
        .filter(|t| crate::domain::policy::TOOLS.contains(&t.as_str()));
    let ci = cis::list(store.db(), Some(c.id))?
        .into_iter()
        .filter(|ci| ci.status == crate::domain::ci::Lifecycle::Active)
        .map(|ci| ci.host)
        .filter(|h| job.starts_with(&format!("{h}-")) || job == h)
        .max_by_key(String::len);
    let spec = c.spec();
    Ok(Guess {
        client: client.to_string(),
        job: job.to_string(),
        runs: runs.len(),
        tool,
        schedule,
        ci,
        interval_s,
        retention: spec
            .required_retention
            .map(|r| r.to_string())
            .unwrap_or_else(|| "daily=7".into()),
        target: if spec.require_offsite {
            "offsite"
        } else {
            "local"
        }
        .into(),
    })
}
