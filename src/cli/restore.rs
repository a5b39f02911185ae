//! `bmctl restore record|test|list`: recovery attempts as evidence.

use std::ffi::OsString;

use anyhow::Result;
use clap::Subcommand;

use super::{split_ref, App};
use crate::domain::time::{format_age, format_duration, local_display, parse_instant};
use crate::error::rejected;
use crate::ops::read::{self, AttemptView};
use crate::ops::restore::{self, Latest, Report};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Record a restore test or real restore done by other means.
    Record {
        #[command(flatten)]
        job: crate::cli::JobArg,
        #[arg(long, value_parser = ["test", "real"])]
        kind: String,
        #[arg(long, value_parser = ["success", "partial", "failed"])]
        outcome: String,
        /// When it started (RFC 3339) [default: --ended].
        #[arg(long)]
        started: Option<String>,
        /// When it ended (RFC 3339) [default: now].
        #[arg(long)]
        ended: Option<String>,
        /// What went wrong (required unless success).
        #[arg(long)]
        issues: Option<String>,
    },
    /// Run a real restore (no shell), verify it, time it and record it.
    #[command(after_help = "Example:
  bmctl restore test --job acme/fs01-nightly \\
      --verify 'diff -r /srv/share /tmp/restore/srv/share' \\
      -- restic -r /srv/repo restore latest --target /tmp/restore

Exits with the restore's exit code, or the verification's when that failed.")]
    Test {
        /// CLIENT/JOB
        #[arg(long)]
        job: String,
        /// A command that checks the restored data (split by shell-word rules, run directly).
        #[arg(long)]
        verify: Option<String>,
        #[arg(last = true, required = true, num_args = 1..)]
        command: Vec<OsString>,
    },
    /// The evidence: one row per attempt, or per policy with --latest.
    List {
        #[arg(long)]
        client: Option<String>,
        /// CLIENT/JOB
        #[arg(long)]
        job: Option<String>,
        /// One row per policy: last verified restore, measured RTO against target, how long ago.
        #[arg(long)]
        latest: bool,
    },
}

impl Tabular for AttemptView {
    fn headers() -> Vec<&'static str> {
        vec![
            "id", "client", "job", "kind", "outcome", "ended", "took", "rto", "rto_met", "issues",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let tz = self.timezone.parse().unwrap_or(chrono_tz::UTC);
        vec![
            self.id.to_string(),
            self.client.clone(),
            self.job.clone(),
            self.kind.clone(),
            self.outcome.clone(),
            local_display(self.ended_at.0, tz),
            format_age(self.duration_s),
            format_duration(self.rto_s),
            match self.rto_met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "—",
            }
            .into(),
            output::opt(&self.issues),
        ]
    }
}

impl Tabular for Latest {
    fn headers() -> Vec<&'static str> {
        vec![
            "client",
            "job",
            "restore_test",
            "last_success_at",
            "took",
            "rto",
            "rto_met",
            "age",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.job.clone(),
            self.restore_test.clone(),
            self.last_success_at
                .map(|t| output::at(t.0))
                .unwrap_or_else(|| "never".into()),
            self.duration_s
                .map(format_age)
                .unwrap_or_else(|| "-".into()),
            format_duration(self.rto_s),
            match self.rto_met {
                Some(true) => "yes".into(),
                Some(false) => "NO".into(),
                None => "-".into(),
            },
            self.age_days
                .map(|d| format!("{d}d"))
                .unwrap_or_else(|| "-".into()),
        ]
    }
}

fn instant(flag: &str, v: &Option<String>) -> Result<Option<i64>> {
    v.as_deref()
        .map(|s| {
            parse_instant(s)
                .map(|t| t.timestamp())
                .map_err(|e| rejected(format!("{flag}: {e}")))
        })
        .transpose()
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Record {
            job,
            kind,
            outcome,
            started,
            ended,
            issues,
        } => {
            let ctx = app.ctx("restore record")?;
            let (client, job) = split_ref("CLIENT/JOB", job.get("bmctl restore record"))?;
            let ended = instant("--ended", ended)?.unwrap_or(ctx.ts());
            let started = instant("--started", started)?.unwrap_or(ended);
            let r = restore::record(
                &mut store,
                &ctx,
                Report {
                    client: client.into(),
                    job: job.into(),
                    kind: kind.clone(),
                    outcome: outcome.clone(),
                    started_at: started,
                    ended_at: ended,
                    issues: issues.clone(),
                    command: None,
                    verified: false,
                    ext_id: None,
                },
            )?;
            if let Some(t) = r.task_completed {
                app.say(format!("completed restore-test task #{t}"));
            }
            output::show(
                app.format(),
                &r,
                &AttemptView::headers()
                    .into_iter()
                    .zip(r.attempt.cells())
                    .collect::<Vec<_>>(),
            )?;
            Ok(0)
        }
        Cmd::Test {
            job,
            verify,
            command,
        } => {
            let ctx = app.ctx("restore test")?;
            let (client, job) = split_ref("--job", job)?;
            let t = restore::test(&mut store, &ctx, client, job, verify.as_deref(), command)?;
            if let Some(r) = &t.recorded {
                app.say(format!(
                    "restore test {}: {} in {} (RTO {}{})",
                    r.attempt.id,
                    r.attempt.outcome,
                    format_age(r.attempt.duration_s),
                    format_duration(r.attempt.rto_s),
                    match r.attempt.rto_met {
                        Some(true) => ", met",
                        Some(false) => ", NOT met",
                        None => "",
                    }
                ));
                if app.format() != output::Format::Table {
                    output::show(app.format(), r, &[])?;
                }
            }
            Ok(t.exit_code.clamp(0, 255) as u8)
        }
        Cmd::List {
            client,
            job,
            latest,
        } => {
            if let Some(c) = client
                .as_deref()
                .or(job.as_deref().map(|j| j.split('/').next().unwrap_or(j)))
            {
                // one client's tests in its zone
                output::set_table_tz(read::client(&store, c)?.tz());
            }
            if *latest {
                output::list(
                    app.format(),
                    &restore::latest(&store, client.as_deref(), app.ctx("restore list")?.ts())?,
                )?;
                return Ok(0);
            }
            let mut client_id = read::client_id(&store, client.as_deref())?;
            let mut policy_id = None;
            if let Some(j) = job {
                let (c, j) = split_ref("--job", j)?;
                let cl = read::client(&store, c)?;
                client_id = Some(cl.id);
                policy_id = Some(read::policy(&store, &cl, j)?.id);
            }
            output::list(app.format(), &read::attempts(&store, client_id, policy_id)?)?;
            Ok(0)
        }
    }
}
