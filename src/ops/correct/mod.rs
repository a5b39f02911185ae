//! 05f.02 — corrective tickets: raised by bmctl from backup events and
//! `check` findings (the automation here), and worked by people to a root
//! cause (`correct start|note|resolve|escalate|reopen`).
//!
//! Automatic actions are written with actor `bmctl` and audited.

use crate::store::Db;
use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::domain::ticket::{self, priority_for, Notice, ProblemClass, Ticket, TicketKind};
use crate::error::rejected;
use crate::ops::Ctx;
use crate::store::audit::{self, Actor};
use crate::store::tickets::{self, Note};
use crate::store::{clients, policies, Store};

use crate::domain::automation::tickets::{self as auto, Count, Effect, Logged, Occasion};
pub use crate::domain::automation::tickets::{Rules, Subject};

impl Default for Rules {
    fn default() -> Self {
        Rules::from_config(&Config::defaults())
    }
}

impl Rules {
    pub fn from_config(c: &Config) -> Rules {
        let s = &c.s;
        Rules {
            escalate_after: s.tickets_escalate_after_failures.max(1),
            warnings_before: s.tickets_warnings_before_ticket.max(1),
            auto_resolve: s.tickets_auto_resolve,
            reopen_within_s: s.tickets_reopen_within_s,
            max_future_s: s.ingest_max_future_s,
            same_run_skew_s: s.ingest_same_run_skew_s,
            default_max_runtime_s: s.check_default_max_runtime_s,
            sla: s.sla_s,
            assignees: c.assignees.clone(),
        }
    }
}

impl Subject {
    /// The subject of a stored policy of a client.
    pub fn of(
        c: &crate::store::clients::ClientRow,
        p: &crate::store::policies::PolicyRow,
    ) -> Subject {
        Subject {
            client_id: c.id,
            client: c.code.as_str().into(),
            sla_tier: c.sla_tier.as_str().into(),
            policy_id: p.id,
            ci_id: p.ci_id,
            ci: p.ci.as_str().into(),
            tier: p.tier,
            job: p.spec.job.as_str().into(),
            grace_s: p.spec.grace_s,
            rpo_s: p.spec.rpo_s,
            judge: p.spec.judgement,
        }
    }
}

/// What the automation did, for summaries.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct TicketCounts {
    pub tickets_opened: usize,
    pub tickets_updated: usize,
    pub tickets_resolved: usize,
}

impl TicketCounts {
    pub fn add(&mut self, o: TicketCounts) {
        self.tickets_opened += o.tickets_opened;
        self.tickets_updated += o.tickets_updated;
        self.tickets_resolved += o.tickets_resolved;
    }
}

mod automation;
pub use automation::Auto;

/// Save a changed ticket, say why in its work log and audit the change.
fn save_logged(
    conn: &Db,
    who: &Actor<'_>,
    before: &Ticket,
    t: &Ticket,
    note_kind: &str,
    note: &str,
) -> Result<()> {
    tickets::save(conn, before, t)?;
    tickets::add_note(conn, t.id, who.at, who.actor, note_kind, note)?;
    audit::record(
        conn,
        who,
        "ticket",
        &t.id.to_string(),
        Some(before),
        Some(t),
    )
}

// ---- the verbs a person runs ---------------------------------------------

/// A ticket with its timeline, as `correct show` prints it.
#[derive(Debug, Serialize)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: crate::ops::views::TicketView,
    pub timeline: Vec<Note>,
}

/// The command family that works a ticket: `correct` corrective tickets
/// and incidents, `tasks` tasks. Each refuses the other's, naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    Correct,
    Tasks,
}

impl Desk {
    pub fn admit(self, t: &Ticket) -> Result<()> {
        let id = t.id;
        match (self, t.kind == TicketKind::Task) {
            (Desk::Correct, true) => Err(crate::error::refused(format!(
                "#{id} is a task, not a corrective ticket or incident; work it with `bmctl tasks` (`bmctl tasks show {id}`)"
            ))),
            (Desk::Tasks, false) => Err(crate::error::refused(format!(
                "#{id} is {} ticket, not a task; work it with `bmctl correct` (`bmctl correct show {id}`)",
                if t.kind == TicketKind::Incident { "an incident" } else { "a corrective" }
            ))),
            _ => Ok(()),
        }
    }
}

pub fn show(store: &Store, desk: Desk, id: i64, now: i64) -> Result<TicketDetail> {
    let conn = store.db();
    let t = tickets::get(conn, id)?;
    desk.admit(&t)?;
    Ok(TicketDetail {
        ticket: crate::ops::views::TicketView::new(t, now),
        timeline: tickets::notes(conn, id)?,
    })
}

/// Apply a person's change to a ticket in one transaction, with a work-log
/// line and an audit entry.
pub(crate) fn change(
    store: &mut Store,
    ctx: &Ctx,
    desk: Desk,
    id: i64,
    log: &str,
    f: impl FnOnce(&Db, &mut Ticket) -> Result<()>,
) -> Result<Ticket> {
    let tx = store.write()?;
    let mut t = tickets::get(&tx, id)?;
    desk.admit(&t)?;
    let before = t.clone();
    f(&tx, &mut t)?;
    t.updated_at = ctx.ts();
    let kind = if log.starts_with("note: ") {
        "note"
    } else {
        "status"
    };
    save_logged(
        &tx,
        &ctx.who(),
        &before,
        &t,
        kind,
        log.trim_start_matches("note: "),
    )?;
    tx.commit()?;
    Ok(t)
}

pub fn start(store: &mut Store, ctx: &Ctx, id: i64) -> Result<Ticket> {
    let now = ctx.ts();
    let actor = ctx.actor.clone();
    change(store, ctx, Desk::Correct, id, "started", |_, t| {
        t.start(now)?;
        if t.assignee.is_none() {
            t.assignee = Some(actor);
        }
        Ok(())
    })
}

/// Put a ticket on hold, waiting on the client (05f.02): the SLA clock stops.
pub fn wait(store: &mut Store, ctx: &Ctx, id: i64, reason: &str) -> Result<Ticket> {
    if reason.trim().is_empty() {
        return Err(rejected("--reason must say what the client must do"));
    }
    let now = ctx.ts();
    let log = format!("waiting on the client: {reason}");
    change(store, ctx, Desk::Correct, id, &log, |_, t| {
        t.wait(now, reason)
    })
}

/// End a wait on the client: the time waited moves the due time on.
pub fn resume(store: &mut Store, ctx: &Ctx, id: i64) -> Result<Ticket> {
    let now = ctx.ts();
    let t = tickets::get(store.db(), id)?;
    let waited = t.waiting_since.map_or(0, |s| (now - s).max(0));
    let log = format!(
        "resumed after waiting {} on the client",
        crate::domain::time::format_age(waited)
    );
    change(store, ctx, Desk::Correct, id, &log, |_, t| {
        t.resume(now).map(|_| ())
    })
}

pub fn note(store: &mut Store, ctx: &Ctx, desk: Desk, id: i64, text: &str) -> Result<Ticket> {
    if text.trim().is_empty() {
        return Err(rejected("a note needs text"));
    }
    change(
        store,
        ctx,
        desk,
        id,
        &format!("note: {text}"),
        |_, _| Ok(()),
    )
}

pub fn resolve(store: &mut Store, ctx: &Ctx, id: i64, cause: &str, fix: &str) -> Result<Ticket> {
    ticket::validate_cause(cause).map_err(|e| rejected(format!("--cause: {e}")))?;
    if fix.trim().is_empty() {
        return Err(rejected("--fix must say what was done"));
    }
    let now = ctx.ts();
    change(
        store,
        ctx,
        Desk::Correct,
        id,
        &format!("resolved: cause {cause}; {fix}"),
        |conn, t| {
            t.resolve(cause, fix, now)?;
            notify(conn, Notice::Resolve, t, now, Some("person"))
        },
    )
}

pub fn escalate(store: &mut Store, ctx: &Ctx, id: i64, reason: Option<&str>) -> Result<Ticket> {
    let now = ctx.ts();
    let log = format!(
        "escalated to incident{}",
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    change(store, ctx, Desk::Correct, id, &log, |conn, t| {
        t.escalate(now)?;
        t.due_at = Some(ctx.rules.due(&t.sla_tier, t.priority, now));
        notify(conn, Notice::Escalate, t, now, None)
    })
}

pub fn reopen(store: &mut Store, ctx: &Ctx, id: i64, reason: Option<&str>) -> Result<Ticket> {
    let now = ctx.ts();
    let log = format!(
        "reopened{}",
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    change(store, ctx, Desk::Correct, id, &log, |conn, t| {
        // One open ticket per policy and class: point at the open one.
        if let (Some(p), Some(c)) = (t.policy_id, t.class) {
            if c != ProblemClass::Finding && !t.is_open() {
                if let Some(open) = tickets::find_open(conn, p, c)? {
                    return Err(crate::error::refused(format!(
                        "cannot reopen ticket #{id}: ticket #{} is open for the same problem; add to it with `bmctl correct note {} TEXT`",
                        open.id, open.id
                    )));
                }
            }
        }
        t.reopen(now)?;
        notify(conn, Notice::Reopen, t, now, None)
    })
}

/// Record the PSA's ticket number for a ticket (shown wherever the ticket is).
pub fn link(store: &mut Store, ctx: &Ctx, id: i64, psa: &str) -> Result<Ticket> {
    if psa.trim().is_empty() {
        return Err(rejected("--psa needs the PSA's ticket number"));
    }
    change(
        store,
        ctx,
        Desk::Correct,
        id,
        &format!("linked to PSA ticket {psa}"),
        |_, t| {
            t.psa_ref = Some(psa.to_string());
            Ok(())
        },
    )
}

/// What a ticket opened by hand or from a task is about.
#[derive(Debug, Clone)]
pub struct About {
    pub client_id: i64,
    pub client: String,
    pub sla_tier: String,
    pub ci_id: Option<i64>,
    pub ci: Option<String>,
    pub tier: Option<i64>,
    pub policy_id: Option<i64>,
    pub job: Option<String>,
}

impl About {
    pub fn of_ticket(t: &Ticket, tier: Option<i64>) -> About {
        About {
            client_id: t.client_id,
            client: t.client.clone(),
            sla_tier: t.sla_tier.clone(),
            ci_id: t.ci_id,
            ci: t.ci.clone(),
            tier,
            policy_id: t.policy_id,
            job: t.job.clone(),
        }
    }
}

/// Open a corrective ticket of class `finding` inside a transaction (findings
/// are not deduplicated: several may be open on one policy).
pub(crate) fn open_finding(
    conn: &Db,
    ctx: &Ctx,
    about: &About,
    title: &str,
    detail: &str,
    linked: Option<i64>,
) -> Result<Ticket> {
    if title.trim().is_empty() {
        return Err(rejected("a finding needs a title"));
    }
    let now = ctx.ts();
    let priority = priority_for(about.tier, false);
    let mut t = Ticket {
        class: Some(ProblemClass::Finding),
        ci_id: about.ci_id,
        ci: about.ci.clone(),
        policy_id: about.policy_id,
        job: about.job.clone(),
        due_at: Some(ctx.rules.due(&about.sla_tier, priority, now)),
        first_seen_at: Some(now),
        sla_tier: about.sla_tier.clone(),
        assignee: ctx.rules.assignee(&about.client),
        last_seen_at: Some(now),
        linked_ticket_id: linked,
        ..Ticket::new(
            TicketKind::Corrective,
            about.client_id,
            &about.client,
            title.to_string(),
            priority,
            now,
        )
    };
    t.id = tickets::insert(conn, &t)?;
    notify(conn, Notice::Open, &t, now, None)?;
    tickets::add_note(conn, t.id, now, &ctx.actor, "note", detail)?;
    audit::record(
        conn,
        &ctx.who(),
        "ticket",
        &t.id.to_string(),
        None,
        Some(&t),
    )?;
    Ok(t)
}

/// A finding raised by hand on a job.
pub fn open(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    job: &str,
    title: &str,
    detail: Option<&str>,
) -> Result<Ticket> {
    if title.trim().is_empty() {
        return Err(rejected("--title must not be empty"));
    }
    let tx = store.write()?;
    let c = clients::get(&tx, client)?;
    let p = policies::get(&tx, c.id, client, job)?;
    let about = About {
        client_id: c.id,
        client: c.code.clone(),
        sla_tier: c.sla_tier.clone(),
        ci_id: Some(p.ci_id),
        ci: Some(p.ci.clone()),
        tier: Some(p.tier),
        policy_id: Some(p.id),
        job: Some(p.spec.job.clone()),
    };
    let t = open_finding(
        &tx,
        ctx,
        &about,
        title,
        detail.unwrap_or("opened by hand"),
        None,
    )?;
    tx.commit()?;
    Ok(t)
}

/// Queue `event` for a ticket changed by a person, with its payload as now.
fn notify(conn: &Db, event: Notice, t: &Ticket, now: i64, reason: Option<&str>) -> Result<()> {
    let view = crate::ops::views::TicketView::new(t.clone(), now);
    let payload = crate::ops::hooks::payload(event, &view, reason);
    crate::store::outbox::push(conn, event, t.id, now, Some(&payload))
}
