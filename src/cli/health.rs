//! `bmctl health`: is bmctl itself being fed and run? Exit 1 when stale.

use anyhow::Result;

use super::App;
use crate::ops::health::{self, Item, Limits};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
#[command(after_help = "For an outside monitor (exit 1 when anything is stale):
  */15 * * * *  bmctl health -q || notify-noc 'bmctl is stale'

Stale: `check` not run within health.check_within (1h), `tasks generate` not within
health.generate_within (1d), a client whose jobs run daily silent longer than
ingest.silence_after (26h), a notification waiting longer than health.check_within.")]
pub struct Args {}

impl Tabular for Item {
    fn headers() -> Vec<&'static str> {
        vec!["", "what", "when"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            if self.stale { "STALE" } else { "ok" }.into(),
            self.item.clone(),
            self.value.clone(),
        ]
    }
}

pub fn limits(app: &App) -> Limits {
    Limits {
        check_within_s: app.config.s.health_check_within_s,
        generate_within_s: app.config.s.health_generate_within_s,
        silence_after_s: app.config.s.ingest_silence_after_s,
    }
}

pub fn run(app: &App, _args: &Args) -> Result<u8> {
    let store = app.store()?;
    let ctx = app.ctx("health")?;
    let h = health::report(&store, ctx.ts(), &limits(app))?;
    match app.format() {
        output::Format::Json => output::show(app.format(), &h, &[])?,
        f => output::list(f, &h.items)?,
    }
    Ok(if h.ok { 0 } else { 1 })
}
