//! The client's side of the service: its contacts (who decides) and the
//! risks it accepted (05f.07).

use anyhow::Result;

use crate::domain::role::check_person;
use crate::error::{not_found, rejected};
use crate::ops::Ctx;
use crate::report::risks::{Limits, Severity};
use crate::store::people::{self, NewAcceptance};
pub use crate::store::people::{Acceptance, Contact, CONTACT_ROLES};
use crate::store::{audit, clients, Store};

/// Record a person of the client.
pub fn add_contact(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    name: &str,
    email: Option<&str>,
    role: &str,
) -> Result<Contact> {
    let name = check_person(name).map_err(|e| rejected(format!("--name: {e}")))?;
    if !CONTACT_ROLES.contains(&role) {
        return Err(rejected(format!(
            "--role '{role}' is not one of {}",
            CONTACT_ROLES.join(", ")
        )));
    }
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email.filter(|e| !e.contains('@') || e.chars().any(char::is_whitespace)) {
        return Err(rejected(format!("--email '{e}' is not an e-mail address")));
    }
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    if people::contacts(&tx, Some(c.id))?
        .iter()
        .any(|k| k.name == name)
    {
        return Err(crate::error::refused(format!(
            "{client} already has a contact named '{name}'; remove it first with `bmctl client contact remove {client} --name '{name}'`"
        )));
    }
    let id = people::add_contact(&tx, c.id, name, email, role, ctx.ts())?;
    let row = people::contacts(&tx, Some(c.id))?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| anyhow::anyhow!("contact {id} vanished"))?;
    audit::record(
        &tx,
        &ctx.who(),
        "contact",
        &format!("{client}:{name}"),
        None,
        Some(&row),
    )?;
    tx.commit()?;
    Ok(row)
}

pub fn remove_contact(store: &mut Store, ctx: &Ctx, client: &str, name: &str) -> Result<Contact> {
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let row = people::contacts(&tx, Some(c.id))?
        .into_iter()
        .find(|k| k.name == name.trim())
        .ok_or_else(|| not_found(format!("{client} has no contact named '{}'", name.trim())))?;
    people::remove_contact(&tx, c.id, &row.name)?;
    audit::record(
        &tx,
        &ctx.who(),
        "contact",
        &format!("{client}:{}", row.name),
        Some(&row),
        None,
    )?;
    tx.commit()?;
    Ok(row)
}

pub fn contacts(store: &Store, client: Option<&str>) -> Result<Vec<Contact>> {
    let id = match client {
        Some(c) => Some(clients::get(store.db(), c)?.id),
        None => None,
    };
    people::contacts(store.db(), id)
}

/// What `plan risks accept` records.
pub struct Accept<'a> {
    pub client: Option<&'a str>,
    pub rule: &'a str,
    pub subject: &'a str,
    /// The client's person, as they signed: "Jane Roe (CFO at Acme)".
    pub by: &'a str,
    pub until: i64,
    pub reference: &'a str,
    pub note: Option<&'a str>,
}

/// Record a client's acceptance of a risk the register holds now, with the
/// rule's measure as accepted.
pub fn accept(
    store: &mut Store,
    ctx: &Ctx,
    a: &Accept,
    aged_after: i64,
    limits: &Limits,
) -> Result<Acceptance> {
    let now = ctx.ts();
    let by = check_person(a.by).map_err(|e| rejected(format!("--by: {e}")))?;
    let reference = a.reference.trim();
    if reference.is_empty() {
        return Err(rejected(
            "--ref names the record of the client's decision (e.g. CHG-4711)",
        ));
    }
    if a.until <= now {
        return Err(rejected("--until must be in the future"));
    }
    let open: Vec<_> =
        super::risks::register(store, a.client, Severity::Low, now, aged_after, limits)?
            .into_iter()
            .filter(|r| r.rule == a.rule && r.subject == a.subject)
            .collect();
    let risk = match open.as_slice() {
        [] => {
            return Err(not_found(format!(
                "no risk {} on {} in the register now (see `bmctl plan risks{}`)",
                a.rule,
                a.subject,
                a.client
                    .map(|c| format!(" --client {c}"))
                    .unwrap_or_default()
            )))
        }
        [one] => one.clone(),
        many => {
            return Err(rejected(format!(
                "{} on {} is a risk of {} clients ({}): name one with --client",
                a.rule,
                a.subject,
                many.len(),
                many.iter()
                    .map(|r| r.client.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let tx = store.write()?;
    let c = clients::get(&tx, &risk.client)?;
    let id = people::accept(
        &tx,
        &NewAcceptance {
            client_id: c.id,
            rule: a.rule,
            subject: a.subject,
            accepted_by: by,
            recorded_by: &ctx.actor,
            until: a.until,
            reference,
            note: a.note.map(str::trim).filter(|n| !n.is_empty()),
            measure: risk.measure,
            now,
        },
    )?;
    let row = people::acceptances(&tx, Some(c.id), now)?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| anyhow::anyhow!("acceptance {id} vanished"))?;
    audit::record(
        &tx,
        &ctx.who(),
        "risk_acceptance",
        &id.to_string(),
        None,
        Some(&row),
    )?;
    tx.commit()?;
    Ok(row)
}

pub fn accepted(store: &Store, client: Option<&str>, now: i64) -> Result<Vec<Acceptance>> {
    let id = match client {
        Some(c) => Some(clients::get(store.db(), c)?.id),
        None => None,
    };
    people::acceptances(store.db(), id, now)
}

/// Withdraw an acceptance the client took back: the risk is open again.
pub fn withdraw(store: &mut Store, ctx: &Ctx, id: i64, reason: &str) -> Result<Acceptance> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(rejected("--reason says why the acceptance is withdrawn"));
    }
    let tx = store.write()?;
    let row = people::acceptances(&tx, None, ctx.ts())?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| {
            not_found(format!(
                "no acceptance {id} in force (see `bmctl plan risks accepted`)"
            ))
        })?;
    people::revoke(&tx, id, ctx.ts())?;
    #[derive(serde::Serialize)]
    struct Withdrawn<'a> {
        withdrawn: &'a str,
    }
    audit::record(
        &tx,
        &ctx.who(),
        "risk_acceptance",
        &id.to_string(),
        Some(&row),
        Some(&Withdrawn { withdrawn: reason }),
    )?;
    tx.commit()?;
    Ok(row)
}
