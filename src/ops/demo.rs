//! The demo database: realistic clients onboarded through the same
//! plan-import code a user runs, so the demo shows the real product.

use anyhow::Result;
use serde::Serialize;

use crate::ops::{plan, Ctx};
use crate::store::{meta, Store};

/// The demo's plan files, as shipped in `examples/demo/`.
pub const PLANS: &[(&str, &str)] = &[
    (
        "examples/demo/acme.toml",
        include_str!("../../examples/demo/acme.toml"),
    ),
    (
        "examples/demo/globex.toml",
        include_str!("../../examples/demo/globex.toml"),
    ),
    (
        "examples/demo/wombat.toml",
        include_str!("../../examples/demo/wombat.toml"),
    ),
];

/// Days of history the demo covers before `now`.
pub const HISTORY_DAYS: i64 = 90;

pub const MARK: &str = "demo";

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub clients: i64,
    pub cis: i64,
    pub policies: i64,
    pub unprotected: i64,
}

/// Whether the database is marked as a demo.
pub fn is_demo(store: &Store) -> Result<bool> {
    Ok(meta::get(&store.conn, MARK)?.as_deref() == Some("true"))
}

/// Build the demo into an empty database, as of `ctx.now`.
pub fn build(store: &mut Store, ctx: &Ctx) -> Result<DemoSummary> {
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
        plan::import(store, &onboard, text, file, false)?;
    }
    summary(store)
}

pub fn summary(store: &Store) -> Result<DemoSummary> {
    let c = crate::store::cis::coverage(&store.conn)?;
    Ok(DemoSummary {
        clients: c.clients,
        cis: c.cis,
        policies: c.policies,
        unprotected: c.unprotected,
    })
}
