//! `bmctl due`: the technician's queue in one list — tasks due and overdue,
//! open corrective tickets and incidents, changes waiting on someone, and
//! restore tests overdue for their cadence — each with why it is there.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::change::{Change, ChangeState};
use crate::domain::policy::restore_test_days;
use crate::domain::ticket::{Ticket, TicketKind};
use crate::domain::time::{format_age, local_day, rfc3339, Ts};
use crate::store::tickets::{self, Filter};
use crate::store::{changes, clients, policies, recovery, templates, Store};

/// Tasks due within this long are in the queue (overdue ones always).
const TASKS_AHEAD_S: i64 = 86_400;

/// Whose queue, and how much of it.
#[derive(Debug, Default, Clone)]
pub struct DueFilter {
    pub client: Option<String>,
    /// Only what is for this person: tasks and tickets assigned to them,
    /// changes they must approve (requested by someone else) or carry on
    /// (requested by them).
    pub person: Option<String>,
    /// Only what nobody is assigned (tasks, tickets, restore tests).
    pub unassigned: bool,
    /// Only what is due today in its client's zone, or overdue.
    pub today: bool,
}

/// One line of the queue.
#[derive(Debug, Serialize)]
pub struct DueItem {
    /// `task`, `corrective`, `incident`, `change` or `restore-test`.
    pub kind: &'static str,
    /// The number to type next (`418`, `CR-4`); none for a restore test.
    pub id: Option<String>,
    pub client: String,
    /// `CLIENT/JOB` or `CLIENT/HOST`.
    pub object: Option<String>,
    pub title: String,
    pub priority: Option<i64>,
    pub assignee: Option<String>,
    pub due_at: Option<Ts>,
    pub overdue: bool,
    pub why: String,
    #[serde(skip)]
    pub tz: Tz,
    /// When the queue was read: tables say how long ago or how soon.
    #[serde(skip)]
    pub now: i64,
}

pub fn queue(store: &Store, f: &DueFilter, now: i64) -> Result<Vec<DueItem>> {
    let db = store.db();
    let all_clients = clients::list(db)?;
    let client_id = match &f.client {
        Some(c) => Some(clients::get(db, c)?.id),
        None => None,
    };
    let zones: HashMap<String, Tz> = all_clients
        .iter()
        .map(|c| (c.code.clone(), c.tz()))
        .collect();
    let zone = |client: &str| zones.get(client).copied().unwrap_or(chrono_tz::UTC);
    let today = |due: Option<i64>, tz: Tz| {
        due.is_some_and(|d| d < now || local_day(d, tz) == local_day(now, tz))
    };
    let person_ok = |assignee: &Option<String>| match (&f.person, f.unassigned) {
        (_, true) => assignee.is_none(),
        (Some(p), false) => assignee.as_deref() == Some(p.as_str()),
        (None, false) => true,
    };
    let mut out = Vec::new();

    // tasks and tickets
    let open = tickets::list(
        db,
        &Filter {
            client_id,
            ..Filter::default()
        },
    )?;
    let restore_templates: HashSet<i64> = templates::list(db)?
        .into_iter()
        .filter(|t| t.cadence_kind == "restore_test")
        .map(|t| t.id)
        .collect();
    // policy -> its open restore-test task: (id, due, in the queue, whose)
    let mut test_tasks: HashMap<i64, (i64, Option<i64>, bool, Option<String>)> = HashMap::new();
    for t in &open {
        let test_task = (t.kind == TicketKind::Task)
            .then_some(())
            .and(t.template_id.filter(|i| restore_templates.contains(i)))
            .and(t.policy_id);
        if let Some(p) = test_task {
            test_tasks.insert(p, (t.id, t.due_at, false, t.assignee.clone()));
        }
        if !person_ok(&t.assignee) {
            continue;
        }
        let tz = zone(&t.client);
        let item = ticket_item(t, tz, now);
        if t.kind == TicketKind::Task
            && !item.overdue
            && t.due_at.is_none_or(|d| d > now + TASKS_AHEAD_S)
        {
            continue;
        }
        if f.today && t.kind == TicketKind::Task && !today(t.due_at, tz) {
            continue;
        }
        if let Some(listed) = test_task.and_then(|p| test_tasks.get_mut(&p)) {
            listed.2 = true;
        }
        out.push(item);
    }

    // changes waiting on someone
    if !f.unassigned {
        for ch in changes::list(db, client_id, None, true)? {
            if let Some(why) = change_waits(&ch, f.person.as_deref()) {
                out.push(DueItem {
                    kind: "change",
                    id: Some(format!("CR-{}", ch.id)),
                    client: ch.client.clone(),
                    object: Some(match (&ch.ci_host, ch.job.is_empty()) {
                        (Some(h), true) => format!("{}/{h}", ch.client),
                        _ => format!("{}/{}", ch.client, ch.job),
                    }),
                    title: format!("{} {}: {}", ch.kind, ch.job, ch.reason),
                    priority: None,
                    assignee: None,
                    due_at: None,
                    overdue: false,
                    why,
                    tz: zone(&ch.client),
                    now,
                });
            }
        }
    }

    // restore tests overdue, unless a task already asks for one
    if f.person.is_none() {
        for c in all_clients
            .iter()
            .filter(|c| client_id.is_none_or(|id| id == c.id))
        {
            for p in policies::list(db, c.id, false)? {
                let Some(days) = restore_test_days(&p.spec.restore_test) else {
                    continue;
                };
                let task = test_tasks.get(&p.id);
                // listed as its task, or its task is someone's (not --unassigned work)
                if task.is_some_and(|t| t.2 || (f.unassigned && t.3.is_some())) {
                    continue;
                }
                let last = recovery::last_success(db, p.id)?.map(|a| a.ended_at.0);
                let since = last.unwrap_or(p.created_at);
                let due = since + days * 86_400;
                if due > now {
                    continue;
                }
                out.push(DueItem {
                    kind: "restore-test",
                    id: None,
                    client: c.code.clone(),
                    object: Some(format!("{}/{}", c.code, p.spec.job)),
                    title: format!("Test restore: {}/{}", c.code, p.spec.job),
                    priority: None,
                    assignee: None,
                    due_at: Some(Ts(due)),
                    overdue: true,
                    why: format!(
                        "{}; cadence {}{}",
                        match last {
                            Some(t) =>
                                format!("last good restore test {} ago", format_age(now - t)),
                            None => "never restore-tested".into(),
                        },
                        p.spec.restore_test,
                        match task {
                            Some((id, Some(d), _, _)) =>
                                format!("; task #{id} is due {}", rfc3339(*d)),
                            _ => String::new(),
                        }
                    ),
                    tz: c.tz(),
                    now,
                });
            }
        }
    }
    // overdue first, then by due time; what has no due time last
    out.sort_by_key(|i| (!i.overdue, i.due_at.map_or(i64::MAX, |d| d.0), i.kind));
    Ok(out)
}

fn ticket_item(t: &Ticket, tz: Tz, now: i64) -> DueItem {
    let overdue = t.due_at.is_some_and(|d| d < t.sla_clock(now));
    let when = match t.due_at {
        Some(d) if d < now => format!("overdue {}", format_age(now - d)),
        Some(d) if d == now => "due now".into(),
        Some(d) if local_day(d, tz) == local_day(now, tz) => {
            format!("due today, in {}", format_age(d - now))
        }
        Some(d) => format!("due in {}", format_age(d - now)),
        None => "no due time".into(),
    };
    let why = match t.kind {
        _ if t.waiting_since.is_some() => format!(
            "waiting on the client since {} ({}): the SLA clock is stopped",
            crate::domain::time::local_display(t.waiting_since.unwrap_or(now), tz),
            t.waiting_reason.as_deref().unwrap_or("-")
        ),
        TicketKind::Task => when,
        TicketKind::Incident if t.recovered_at.is_some() => {
            format!("{when}; recovered, waits for a person to resolve it")
        }
        _ if t.occurrences > 1 => format!("{when}; seen {} times", t.occurrences),
        _ => when,
    };
    let object = match (&t.job, &t.ci) {
        (Some(j), _) => Some(format!("{}/{j}", t.client)),
        (None, Some(h)) => Some(format!("{}/{h}", t.client)),
        _ => None,
    };
    DueItem {
        kind: t.kind.as_str(),
        id: Some(t.id.to_string()),
        client: t.client.clone(),
        object,
        title: t.title.clone(),
        priority: Some(t.priority),
        assignee: t.assignee.clone(),
        due_at: t.due_at.map(Ts),
        overdue,
        why,
        tz,
        now,
    }
}

/// Why an open change waits, and on whom; `None` when it does not wait on
/// `person` (with no person, every open change waits on someone).
pub fn change_waits(ch: &Change, person: Option<&str>) -> Option<String> {
    let mine = person.is_some_and(|p| p == ch.requested_by);
    let (waits_on_requester, why) = match ch.state {
        ChangeState::Requested => (
            false,
            format!("awaits approval by someone other than {}", ch.requested_by),
        ),
        ChangeState::Approved => (
            true,
            format!("approved: awaits implementation by {}", ch.requested_by),
        ),
        ChangeState::Implemented => (
            true,
            format!("implemented: awaits completion by {}", ch.requested_by),
        ),
        _ => return None,
    };
    match person {
        None => Some(why),
        Some(_) if mine == waits_on_requester => Some(why),
        Some(_) => None,
    }
}
