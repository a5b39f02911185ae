//! The demo database: realistic clients onboarded through the same
//! plan-import code a user runs, so the demo shows the real product.

use anyhow::{Context, Result};
use chrono::Duration;
use serde::Serialize;

use crate::domain::change::Change;
use crate::domain::event::{fnv64, NewEvent, Operation, Status};
use crate::domain::policy::Schedule;
use crate::domain::ticket::TicketKind;
use crate::domain::time::from_unix;
use crate::ops::{check, correct, events, macd, pause, plan, restore, tasks, Ctx};
use crate::store::{clients, meta, policies, tickets, Store};

/// The demo's plan files, as shipped in `examples/demo/`.
pub const PLANS: &[(&str, &str)] = &[
    (
        "examples/demo/acme.toml",
        include_str!("../../../examples/demo/acme.toml"),
    ),
    (
        "examples/demo/globex.toml",
        include_str!("../../../examples/demo/globex.toml"),
    ),
    (
        "examples/demo/wombat.toml",
        include_str!("../../../examples/demo/wombat.toml"),
    ),
];

/// Days of history the demo covers before `now`.
pub const HISTORY_DAYS: i64 = 90;

/// Days of past runs each client brings to its onboarding, from the monitor
/// the MSP used before bmctl.
pub const PAST_DAYS: i64 = 30;

pub const MARK: &str = "demo";

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub clients: i64,
    pub cis: i64,
    pub policies: i64,
    pub unprotected: i64,
}

/// The demo's config file: default assignees per client and a hook that
/// appends every ticket notification to `notifications` (a JSON line each).
pub fn config_text(notifications: &std::path::Path) -> String {
    let hook = format!(
        "[\"sh\", \"-c\", \"cat >> '{}'\"]",
        notifications.display().to_string().replace('\'', "")
    );
    format!(
        "# bmctl demo configuration: use it with --config\n\
         [hooks]\non_open = {hook}\non_escalate = {hook}\non_reopen = {hook}\non_resolve = {hook}\n\n\
         [team.alice]\nname = \"Alice Moreau\"\nemail = \"alice@msp.example\"\n\n\
         [team.bob]\nname = \"Bob Lindqvist\"\nemail = \"bob@msp.example\"\n\n\
         [team.carol]\nname = \"Carol Nguyen\"\nemail = \"carol@msp.example\"\n\n\
         [assignees]\nacme = \"alice\"\nglobex = \"bob\"\nwombat = \"carol\"\ninitech = \"bob\"\n\n\
         [branding]\nname = \"Northwind Managed IT\"\ncontact = \"Service desk +1 555 0100 · noc@northwind.example\"\naccent = \"#1f4e79\"\n{}",
        reach::CONFIG
    )
}

/// Whether the database is marked as a demo.
pub fn is_demo(store: &Store) -> Result<bool> {
    Ok(meta::get(store.db(), MARK)?.as_deref() == Some("true"))
}

/// Build the demo into an empty database, as of `ctx.now`; the clients'
/// past runs are written to `past_runs` (JSON lines) and imported from
/// there with `--history`, as an operator onboarding them would. Returns
/// what that import did.
pub fn build(store: &mut Store, ctx: &Ctx, past_runs: &std::path::Path) -> Result<events::Summary> {
    {
        let tx = store.write()?;
        meta::set(&tx, MARK, "true")?;
        tx.commit()?;
    }
    let onboard = Ctx {
        now: ctx.now - chrono::Duration::days(HISTORY_DAYS),
        ..ctx.clone()
    };
    for (file, text) in PLANS {
        plan::import(store, &onboard, text, file, None, false)?;
    }
    let past = import_past_runs(store, &onboard, past_runs)?;
    history(store, ctx)?;
    people(store, ctx)?;
    Ok(past)
}

pub fn summary(store: &Store) -> Result<DemoSummary> {
    let c = crate::store::cis::coverage(store.db())?;
    Ok(DemoSummary {
        clients: c.clients,
        cis: c.cis,
        policies: c.policies,
        unprotected: c.unprotected,
    })
}

mod history;
mod morning;
pub mod reach;
use history::*;
use morning::*;

/// Whether the file at `path` is a demo database (read without opening it
/// for writing).
pub fn peek_mark(path: &std::path::Path) -> Result<bool> {
    crate::store::peek_demo_mark(path)
}
