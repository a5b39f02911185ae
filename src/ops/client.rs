//! Clients: service activation (`client add`) and their settings.

use anyhow::Result;

use crate::domain::client::{validate_slug, SlaTier};
use crate::domain::plan::ClientSpec;
use crate::domain::time::parse_tz;
use crate::error::{refused, rejected};
use crate::ops::Ctx;
use crate::store::clients::{self, ClientRow};
use crate::store::{audit, Store};

pub fn validate(spec: &ClientSpec) -> Result<()> {
    validate_slug("client code", &spec.code).map_err(|e| rejected(e.to_string()))?;
    if spec.name.trim().is_empty() {
        return Err(rejected("client name must not be empty (--name)"));
    }
    parse_tz(&spec.timezone).map_err(|e| rejected(format!("--tz: {e}")))?;
    Ok(())
}

pub fn add(store: &mut Store, ctx: &Ctx, spec: ClientSpec) -> Result<ClientRow> {
    validate(&spec)?;
    let tx = store.write()?;
    if clients::find(&tx, &spec.code)?.is_some() {
        return Err(refused(format!(
            "client '{}' exists already; change it with `bmctl client edit {}`",
            spec.code, spec.code
        )));
    }
    let id = clients::insert(&tx, &spec, ctx.ts())?;
    let row = clients::get_by_id(&tx, id)?;
    audit::record(&tx, &ctx.who(), "client", &spec.code, None, Some(&row))?;
    tx.commit()?;
    Ok(row)
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ClientEdit {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub sla_tier: Option<SlaTier>,
}

pub fn edit(store: &mut Store, ctx: &Ctx, code: &str, edit: ClientEdit) -> Result<ClientRow> {
    let tx = store.write()?;
    let before = clients::get(&tx, code)?;
    let mut spec = before.spec();
    if let Some(n) = edit.name {
        spec.name = n;
    }
    if let Some(t) = edit.timezone {
        spec.timezone = t;
    }
    if let Some(s) = edit.sla_tier {
        spec.sla_tier = s;
    }
    validate(&spec)?;
    clients::update(&tx, before.id, &spec, ctx.ts())?;
    let after = clients::get_by_id(&tx, before.id)?;
    audit::record(&tx, &ctx.who(), "client", code, Some(&before), Some(&after))?;
    tx.commit()?;
    Ok(after)
}
