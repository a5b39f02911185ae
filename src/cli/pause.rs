//! `bmctl pause --client C | --ci CLIENT/HOST | --job CLIENT/JOB --until T --reason TEXT`,
//! `bmctl pause list [--all]`, `bmctl pause end ID`.

use anyhow::Result;
use clap::Subcommand;

use super::{split_ref, App};
use crate::error::rejected;
use crate::ops::pause::{self, Target};
use crate::ops::read::{self, PauseRow};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group(clap::ArgGroup::new("what").required(true).args(["client", "ci", "job"])),
    after_help = "Examples:
  bmctl pause --job acme/fs01-nightly --until 2026-12-03T08:00:00+01:00 \\
      --reason \"NAS migration, CHG-4711\"
  bmctl pause --client globex --until 2026-12-24T00:00:00-05:00 \\
      --reason \"office move\"
  bmctl pause list
  bmctl pause end 3

The end is mandatory: a pause cannot be forgotten."
)]
pub struct Args {
    /// Pause every job of a client.
    #[arg(long)]
    client: Option<String>,
    /// Pause the jobs of a CI (CLIENT/HOST).
    #[arg(long)]
    ci: Option<String>,
    /// Pause one job (CLIENT/JOB).
    #[arg(long)]
    job: Option<String>,
    /// When the pause starts (RFC 3339) [default: now].
    #[arg(long)]
    from: Option<String>,
    /// When the pause ends (RFC 3339).
    #[arg(long, required = true)]
    until: Option<String>,
    /// Why (shown in the audit and to the next technician).
    #[arg(long, required = true)]
    reason: Option<String>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Pauses in force or to come (all with --all).
    List {
        /// Ended pauses too.
        #[arg(long)]
        all: bool,
        /// One client's pauses, in its zone.
        #[arg(long)]
        client: Option<String>,
    },
    /// End a pause now.
    End { id: i64 },
}

impl Tabular for PauseRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "what",
            "starts_at",
            "ends_at",
            "reason",
            "owner",
            "closed_at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let t = |x: i64| output::at(x);
        vec![
            self.id.to_string(),
            self.target(),
            t(self.starts_at.0),
            t(self.ends_at.0),
            self.reason.clone(),
            self.owner.clone(),
            self.closed_at
                .map(|c| {
                    format!(
                        "{} by {}",
                        t(c.0),
                        self.closed_by.clone().unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| "-".into()),
        ]
    }
}

pub fn run(app: &App, args: &Args) -> Result<u8> {
    let mut store = app.store()?;
    match &args.cmd {
        Some(Cmd::List { all, client }) => {
            let now = app.ctx("pause list")?.ts();
            let mut rows = read::pauses(&store, now, i64::MAX, *all)?;
            if let Some(code) = client {
                let c = read::client(&store, code)?;
                rows.retain(|p| p.client_id == c.id);
                output::set_table_tz(c.tz());
            }
            output::list(app.format(), &rows)?;
        }
        Some(Cmd::End { id }) => {
            let p = pause::end(&mut store, &app.ctx("pause end")?, *id)?;
            app.say(format!("pause #{} ({}) ended", p.id, p.target()));
        }
        None => {
            let target = match (&args.client, &args.ci, &args.job) {
                (Some(c), _, _) => Target::Client(c.clone()),
                (_, Some(ci), _) => {
                    let (c, h) = split_ref("--ci", ci)?;
                    Target::Ci {
                        client: c.into(),
                        host: h.into(),
                    }
                }
                (_, _, Some(j)) => {
                    let (c, j) = split_ref("--job", j)?;
                    Target::Job {
                        client: c.into(),
                        job: j.into(),
                    }
                }
                _ => return Err(rejected("say what to pause: --client, --ci or --job")),
            };
            let tz = match &target {
                Target::Client(c)
                | Target::Ci { client: c, .. }
                | Target::Job { client: c, .. } => read::client(&store, c)?.tz(),
            };
            let future = crate::domain::time::Span::Future;
            let until = app.when(
                "--until",
                args.until.as_deref().unwrap_or_default(),
                Some(tz),
                future,
            )?;
            let from = args
                .from
                .as_deref()
                .map(|f| app.when("--from", f, Some(tz), future))
                .transpose()?;
            let p = pause::create(
                &mut store,
                &app.ctx("pause")?,
                &target,
                from,
                until,
                args.reason.as_deref().unwrap_or_default(),
            )?;
            app.say(format!(
                "paused {} until {} (pause #{})",
                p.target(),
                crate::domain::time::local_display(p.ends_at.0, tz),
                p.id
            ));
            if app.format() != output::Format::Table {
                output::show(app.format(), &p, &[])?;
            }
        }
    }
    Ok(0)
}
