//! `bmctl run --job CLIENT/JOB [--tool] [--operation] [--spool FILE] -- COMMAND ARGS…`

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;

use super::{split_ref, App};
use crate::domain::event::Operation;
use crate::ops::run::{self, Recorded, Spec, Tool};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  bmctl run --job acme/fs01-nightly -- \\
      restic backup --json --host fs01 --tag nightly /srv
  bmctl run --job acme/sql01-nightly -- \\
      borg create --json ::sql01-{now} /var/lib/postgresql
  bmctl run --job acme/fs01-nightly --operation check -- \\
      restic check --read-data

The command runs directly (no shell) and bmctl exits with its exit code (127 or 126 when it
cannot be started). Plain `restic check` passes a corrupted repository: use --read-data.
When the database cannot be opened, or with --spool, the event is appended to a spool file
as a neutral JSON line; ship it to the MSP's host and run `bmctl events import` there.")]
pub struct Args {
    /// The job this run belongs to, CLIENT/JOB.
    #[arg(long)]
    job: String,
    /// Exit-code contract and output parser [default: the policy's tool].
    #[arg(long, value_enum)]
    tool: Option<Tool>,
    /// backup, or check for a repository integrity check.
    #[arg(long, default_value = "backup")]
    operation: String,
    /// Append the event to this file instead of the database.
    #[arg(long)]
    spool: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    command: Vec<OsString>,
}

/// Where `run` spools when the database cannot be reached and no --spool is given.
fn default_spool() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("bmctl")
        .join("spool.jsonl")
}

pub fn run(app: &App, args: &Args) -> Result<u8> {
    let (client, job) = split_ref("--job", &args.job)?;
    let operation = Operation::parse(&args.operation)
        .map_err(|e| crate::error::rejected(format!("--operation: {e}")))?;
    let ctx = app.ctx("run")?;
    let spec = Spec {
        client: client.to_string(),
        job: job.to_string(),
        tool: args.tool,
        operation,
        spool: args.spool.clone(),
        argv: args.command.clone(),
    };
    let out = run::run(
        || app.store(),
        &ctx,
        spec,
        default_spool(),
        app.busy_timeout(),
    );
    match &out.recorded {
        Recorded::Database(s) => {
            if app.cli.verbose > 0 {
                app.say(format!(
                    "bmctl: recorded {} {} for {client}/{job}",
                    out.event.operation.as_str(),
                    out.event.status.as_str()
                ));
            }
            if s.unmatched > 0 {
                app.say(format!("bmctl: warning: {client}/{job} is not in the plan; the run was kept as unmatched"));
            }
        }
        Recorded::Spool { path, why } => {
            eprintln!(
                "bmctl: warning: {why}; the {} event was appended to {}",
                out.event.status.as_str(),
                path.display()
            );
        }
        Recorded::Lost { path, why, error } => {
            eprintln!(
                "bmctl: error: {why}; appending the {} event to {} failed too ({error}): this run was NOT recorded",
                out.event.status.as_str(),
                path.display()
            );
        }
    }
    Ok(out.exit_code.clamp(0, 255) as u8)
}
