//! 05f.01 — proactive backup-management tasks: recurring tickets from
//! templates, the technician's due list, and working a task to done.

use anyhow::Result;
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::policy::Schedule;
use crate::domain::task::{due_occurrences, restore_test_schedule, Template};
use crate::domain::ticket::{priority_for, ChecklistItem, Ticket, TicketKind, TicketStatus};
use crate::domain::time::local_day;
use crate::error::{refused, rejected};
use crate::ops::correct::{self, About, Desk};
use crate::ops::views::TicketView;
use crate::ops::Ctx;
use crate::report;
use crate::store::tickets::{self, Filter};
use crate::store::{audit, clients, templates, Store};

/// What `tasks generate` did.
#[derive(Debug, Default, Serialize)]
pub struct GenerateReport {
    pub templates: usize,
    pub items: usize,
    pub created: usize,
    pub already_present: usize,
}

/// The occurrences of `t` for `item` to create now.
fn occurrences(
    t: &Template,
    item: &templates::ScopeItem,
    last: Option<&templates::Generated>,
    until: i64,
) -> Vec<i64> {
    let after = match last {
        Some(g) => g.last_occurrence,
        None => t.created_at.max(item.created_at),
    };
    let schedule = match t.cadence_kind.as_str() {
        "cron" => Schedule::parse(&t.cadence).ok(),
        "restore_test" => item.restore_test.as_deref().and_then(restore_test_schedule),
        _ => {
            // every N days after the last completion, one open at a time
            let days: i64 = t.cadence.parse().unwrap_or(0);
            if days < 1 || last.is_some_and(|l| l.has_open) {
                return Vec::new();
            }
            let base = last
                .and_then(|l| l.last_completed)
                .unwrap_or(t.created_at.max(item.created_at));
            let due = base + days * 86_400;
            let fresh = last.is_none_or(|l| l.last_occurrence < due);
            return if due - t.lead_time_s <= until && fresh {
                vec![due]
            } else {
                Vec::new()
            };
        }
    };
    match schedule {
        Some(s) => due_occurrences(&s, item.tz, after, until, t.lead_time_s, &t.catch_up),
        None => Vec::new(),
    }
}

/// Create every task occurrence whose creation time has come by `until`,
/// once per (template, scope item, occurrence): safe to run any number of
/// times, concurrently, or after a gap.
pub fn generate(store: &mut Store, ctx: &Ctx, until: i64) -> Result<GenerateReport> {
    let tx = store.write()?;
    let mut report = GenerateReport::default();
    for t in templates::list(&tx)?
        .into_iter()
        .filter(|t| t.status == "active")
    {
        report.templates += 1;
        let done = templates::generated(&tx, t.id)?;
        for item in templates::scope_items(&tx, &t)? {
            report.items += 1;
            let last = done.get(&item.key());
            let occ = occurrences(&t, &item, last, until);
            if occ.is_empty() && last.is_some() {
                report.already_present += 1;
            }
            for at in occ {
                let title = format!("{}: {}", t.title, item.label());
                let priority = if item.tier.is_some() {
                    priority_for(item.tier, false)
                } else {
                    3
                };
                let task = Ticket {
                    ci_id: item.ci_id,
                    policy_id: item.policy_id,
                    due_at: Some(at + t.due_offset_s),
                    template_id: Some(t.id),
                    assignee: ctx.rules.assignee(&item.client),
                    occurrence_at: Some(at),
                    checklist: t
                        .checklist
                        .iter()
                        .map(|i| ChecklistItem {
                            item: i.clone(),
                            done: false,
                        })
                        .collect(),
                    ..Ticket::new(
                        TicketKind::Task,
                        item.client_id,
                        &item.client,
                        title,
                        priority,
                        ctx.ts(),
                    )
                };
                match tickets::try_insert(&tx, &task)? {
                    Some(id) => {
                        report.created += 1;
                        // as stored: its number, and its CI and job by name
                        let task = tickets::get(&tx, id)?;
                        audit::record(
                            &tx,
                            &ctx.who(),
                            "ticket",
                            &id.to_string(),
                            None,
                            Some(&task),
                        )?;
                        crate::fault::write_point(report.created);
                    }
                    None => report.already_present += 1,
                }
            }
        }
    }
    crate::ops::hooks::queue_overdue_tasks(&tx, ctx.ts())?;
    crate::store::meta::set(
        &tx,
        crate::ops::health::LAST_GENERATE,
        &ctx.ts().to_string(),
    )?;
    tx.commit()?;
    Ok(report)
}

/// A task in the technician's list.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub due_today: bool,
    pub checklist_done: usize,
    pub checklist_total: usize,
    #[serde(skip)]
    pub tz: Tz,
    /// When it was read, for "in 3h" and "2d overdue" in tables.
    #[serde(skip)]
    pub now: i64,
}

impl TaskView {
    pub fn new(t: Ticket, tz: Tz, now: i64) -> TaskView {
        let due_today = t
            .due_at
            .is_some_and(|d| local_day(d, tz) == local_day(now, tz));
        let checklist_done = t.checklist.iter().filter(|c| c.done).count();
        let checklist_total = t.checklist.len();
        TaskView {
            ticket: TicketView::new(t, now),
            due_today,
            checklist_done,
            checklist_total,
            tz,
            now,
        }
    }

    /// Shown in another zone (a list across clients): "today" is that zone's.
    pub fn in_zone(mut self, tz: Tz) -> TaskView {
        self.tz = tz;
        self.due_today = self
            .ticket
            .due_at
            .is_some_and(|d| local_day(d.0, tz) == local_day(self.now, tz));
        self
    }
}

/// What `tasks due` shows.
#[derive(Debug, Default)]
pub struct DueFilter {
    pub client: Option<String>,
    /// Due before now + this (overdue ones included).
    pub within_s: Option<i64>,
    pub overdue: bool,
    pub today: bool,
    pub mine: Option<String>,
}

/// Open tasks by due time: the morning list.
pub fn due(store: &Store, f: &DueFilter, now: i64) -> Result<Vec<TaskView>> {
    let mut filter = Filter {
        kind: Some(TicketKind::Task),
        assignee: f.mine.clone(),
        ..Filter::default()
    };
    if let Some(c) = &f.client {
        filter.client_id = Some(clients::get(store.db(), c)?.id);
    }
    filter.due_before = match (f.overdue, f.within_s) {
        (true, _) => Some(now),
        (false, Some(w)) => Some(now + w),
        (false, None) if f.today => Some(now + 2 * 86_400),
        _ => None,
    };
    let zones: std::collections::HashMap<String, Tz> = clients::list(store.db())?
        .into_iter()
        .map(|c| (c.code.clone(), c.tz()))
        .collect();
    Ok(tickets::list(store.db(), &filter)?
        .into_iter()
        .map(|t| {
            let tz = zones.get(&t.client).copied().unwrap_or(chrono_tz::UTC);
            TaskView::new(t, tz, now)
        })
        .filter(|v| !f.today || v.due_today || v.ticket.overdue)
        .collect())
}

fn task(t: &Ticket) -> Result<()> {
    Desk::Tasks.admit(t)
}

pub fn start(store: &mut Store, ctx: &Ctx, id: i64) -> Result<Ticket> {
    let (now, actor) = (ctx.ts(), ctx.actor.clone());
    correct::change(store, ctx, Desk::Tasks, id, "started", |_, t| {
        task(t)?;
        t.start(now)?;
        t.assignee.get_or_insert(actor);
        Ok(())
    })
}

/// Assign a ticket or task to `user`, or (`None`) to nobody.
pub fn assign(
    store: &mut Store,
    ctx: &Ctx,
    desk: Desk,
    id: i64,
    user: Option<&str>,
) -> Result<Ticket> {
    if user.is_some_and(|u| u.trim().is_empty()) {
        return Err(rejected("assign needs a user name"));
    }
    let log = match user {
        Some(u) => format!("assigned to {u}"),
        None => "unassigned".to_string(),
    };
    correct::change(store, ctx, desk, id, &log, |_, t| {
        t.assignee = user.map(str::to_string);
        Ok(())
    })
}

/// What ticking or unticking an item did.
pub struct Ticked {
    pub task: Ticket,
    /// The item's number (1-based) and text.
    pub number: usize,
    pub item: String,
    /// It was already as asked: nothing was written.
    pub unchanged: bool,
}

/// Tick (`done`) or untick a checklist item, named as
/// [`Ticket::checklist_index`] takes it.
pub fn check(store: &mut Store, ctx: &Ctx, id: i64, item: &str, done: bool) -> Result<Ticked> {
    let t = tickets::get(store.db(), id)?;
    task(&t)?;
    if !t.is_open() {
        return Err(refused(format!(
            "task #{} is '{}'; reopen it first with `bmctl tasks reopen {}`",
            t.id, t.status, t.id
        )));
    }
    let i = t.checklist_index(item)?;
    let text = t.checklist[i].item.clone();
    if t.checklist[i].done == done {
        return Ok(Ticked {
            task: t,
            number: i + 1,
            item: text,
            unchanged: true,
        });
    }
    let verb = if done { "checked" } else { "unchecked" };
    let log = format!("{verb}: {} {text}", i + 1);
    let task = correct::change(store, ctx, Desk::Tasks, id, &log, |_, t| {
        // the same item, read again in the write transaction
        if t.checklist.get(i).is_none_or(|c| c.item != text) {
            return Err(refused(format!(
                "task #{id}'s checklist changed meanwhile; run the command again"
            )));
        }
        t.checklist[i].done = done;
        Ok(())
    })?;
    Ok(Ticked {
        task,
        number: i + 1,
        item: text,
        unchanged: false,
    })
}

/// Complete a task. `issues` needs a note and opens a corrective ticket
/// linked to the task (a finding during proactive work enters 05f.02).
/// Items left unticked need `incomplete`, the reason, which the note keeps
/// with the items.
pub fn done(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    issues: bool,
    note: Option<&str>,
    incomplete: Option<&str>,
) -> Result<(Ticket, Option<Ticket>)> {
    if issues && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(rejected(
            "--result issues needs --note saying what was found",
        ));
    }
    let now = ctx.ts();
    let tx = store.write()?;
    let mut t = tickets::get(&tx, id)?;
    task(&t)?;
    let before = t.clone();
    if !t.is_open() {
        return Err(refused(format!(
            "cannot complete task #{id}: it is '{}'; reopen it with `bmctl tasks reopen {id}`",
            t.status
        )));
    }
    let left = t.unticked();
    let left_note = if left.is_empty() {
        None
    } else {
        if incomplete.is_some_and(|r| r.trim().is_empty()) {
            return Err(rejected(
                "--incomplete needs the reason the items were left",
            ));
        }
        match incomplete.map(str::trim).filter(|r| !r.is_empty()) {
            Some(why) => Some(format!(
                "left unticked: {} ({why})",
                t.numbered(left.iter().copied())
            )),
            None => {
                return Err(refused(format!(
                    "task #{id} has {} of {} checklist items not ticked: {}; tick them with `bmctl tasks check {id} N`, or complete it with --incomplete REASON",
                    left.len(),
                    t.checklist.len(),
                    t.numbered(left.iter().copied())
                )))
            }
        }
    };
    let result = if issues { "issues" } else { "ok" };
    t.resolve("done", note.unwrap_or("done"), now)?;
    t.cause = None;
    t.result = Some(result.into());
    let finding = if issues {
        let about = About::of_ticket(&t, None);
        let title = format!("Finding from task #{}: {}", t.id, note.unwrap_or_default());
        let f = correct::open_finding(
            &tx,
            ctx,
            &about,
            &title,
            note.unwrap_or_default(),
            Some(t.id),
        )?;
        t.linked_ticket_id = Some(f.id);
        Some(f)
    } else {
        None
    };
    tickets::save(&tx, &before, &t)?;
    let log = match (&finding, note) {
        (Some(f), Some(n)) => format!("done with issues: {n} (corrective ticket #{})", f.id),
        (None, Some(n)) => format!("done: {n}"),
        _ => "done".into(),
    };
    tickets::add_note(&tx, id, now, &ctx.actor, "status", &log)?;
    if let Some(left) = &left_note {
        tickets::add_note(&tx, id, now, &ctx.actor, "note", left)?;
    }
    audit::record(
        &tx,
        &ctx.who(),
        "ticket",
        &id.to_string(),
        Some(&before),
        Some(&t),
    )?;
    tx.commit()?;
    Ok((t, finding))
}

/// Skip a task; it counts as missed for compliance unless not applicable.
pub fn skip(
    store: &mut Store,
    ctx: &Ctx,
    id: i64,
    reason: &str,
    not_applicable: bool,
) -> Result<Ticket> {
    if reason.trim().is_empty() {
        return Err(rejected("--reason must say why the task is skipped"));
    }
    let now = ctx.ts();
    let log = format!(
        "skipped{}: {reason}",
        if not_applicable {
            " (not applicable)"
        } else {
            ""
        }
    );
    correct::change(store, ctx, Desk::Tasks, id, &log, |_, t| {
        task(t)?;
        if !t.is_open() {
            return Err(refused(format!(
                "cannot skip task #{}: it is '{}'",
                t.id, t.status
            )));
        }
        t.status = TicketStatus::Skipped;
        t.resolved_at = Some(now);
        t.resolution = Some(reason.to_string());
        t.not_applicable = not_applicable;
        Ok(())
    })
}

pub fn reopen(store: &mut Store, ctx: &Ctx, id: i64) -> Result<Ticket> {
    let now = ctx.ts();
    correct::change(store, ctx, Desk::Tasks, id, "reopened", |_, t| {
        task(t)?;
        t.reopen(now)?;
        t.result = None;
        t.not_applicable = false;
        Ok(())
    })
}

/// Proactive Task Compliance inputs for `[from, to)` (see [`report::compliance`]).
pub fn compliance(
    store: &Store,
    client: Option<&str>,
    from: i64,
    to: i64,
    now: i64,
) -> Result<report::Compliance> {
    let client_id = client
        .map(|c| clients::get(store.db(), c))
        .transpose()?
        .map(|c| c.id);
    let tasks = tickets::tasks_due_between(store.db(), client_id, from, to)?;
    Ok(report::compliance(&tasks, now))
}

/// Add or replace a task template, audited.
pub fn save_template(store: &mut Store, ctx: &Ctx, t: &Template) -> Result<()> {
    let tx = store.write()?;
    let client_id = match &t.client {
        Some(c) => Some(clients::get(&tx, c)?.id),
        None => None,
    };
    let before = templates::find(&tx, &t.name)?;
    templates::upsert(&tx, t, client_id)?;
    let after = templates::get(&tx, &t.name)?;
    audit::record(
        &tx,
        &ctx.who(),
        "task_template",
        &t.name,
        before.as_ref().map(|b| b as &dyn audit::erased::Json),
        Some(&after),
    )?;
    tx.commit()?;
    Ok(())
}
