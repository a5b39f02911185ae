//! `bmctl check [--fail-on-findings | --fail-on-open]`.

use anyhow::Result;

use super::App;
use crate::ops::check::{self, Finding, Settings};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "For cron, every few minutes (quiet: nothing on success, a line per new finding):
  */5 * * * * bmctl -q check
Re-running is harmless: each missed occurrence is recorded once."
)]
pub struct Args {
    /// Exit 1 when this run raised, reopened or escalated anything (for cron).
    #[arg(long)]
    fail_on_findings: bool,
    /// Exit 1 while any corrective ticket or incident is open (for monitoring probes).
    #[arg(long)]
    fail_on_open: bool,
}

impl Tabular for Finding {
    fn headers() -> Vec<&'static str> {
        vec!["kind", "client", "job", "at", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.into(),
            self.client.clone(),
            self.job.clone(),
            output::at(self.at.0),
            output::local_text(&self.detail),
        ]
    }
}

pub fn run(app: &App, args: &Args) -> Result<u8> {
    let mut store = app.store()?;
    let ctx = app.ctx("check")?;
    let settings = Settings {
        default_max_runtime_s: app.config.s.check_default_max_runtime_s,
        batch_windows: app.config.s.check_batch_windows.max(1) as usize,
    };
    let report = check::run(&mut store, &ctx, &settings)?;
    if app.quiet_table() {
        // cron: a line per finding this run raised, nothing else
        for f in &report.findings {
            eprintln!(
                "bmctl check: {} {}/{} at {}: {}",
                f.kind,
                f.client,
                f.job,
                crate::domain::time::rfc3339(f.at.0),
                f.detail
            );
        }
        if report.findings_omitted > 0 {
            eprintln!(
                "bmctl check: … and {} more findings (`bmctl correct list`)",
                report.findings_omitted
            );
        }
    } else if app.format() == output::Format::Table {
        output::list(app.format(), &report.findings)?;
        if report.findings_omitted > 0 {
            app.say(format!(
                "… and {} more findings (counted below; `bmctl correct list` and `events list --status missed` hold them all)",
                report.findings_omitted
            ));
        }
        app.say(format!(
            "checked {} policies: {} windows closed, {} missed, {} hung, {} RPO breaches; tickets opened {}, updated {}",
            report.policies,
            report.occurrences_closed,
            report.missed,
            report.hung,
            report.rpo_breaches,
            report.tickets.tickets_opened,
            report.tickets.tickets_updated
        ));
    } else if app.format() == output::Format::Json {
        output::show(app.format(), &report, &[])?;
    } else {
        output::list(app.format(), &report.findings)?;
    }
    let open = args.fail_on_open && crate::ops::read::open_problems(&store)? > 0;
    Ok(if (args.fail_on_findings && report.raised()) || open {
        1
    } else {
        0
    })
}
