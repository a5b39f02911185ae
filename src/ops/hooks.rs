//! Notification hooks: after a command commits, the queued ticket events are
//! handed to the configured commands — run directly (no shell), the ticket as
//! JSON on stdin, each with a timeout. A failing or hanging hook is reported
//! and audited; it never undoes the ticket and never holds up the others.

use crate::store::Db;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::config::Config;
use crate::domain::ticket::Notice;
use crate::ops::views::TicketView;
use crate::ops::Ctx;
use crate::store::{audit, outbox, tickets, Store};

/// The configured commands, by event.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    pub on_open: Vec<String>,
    pub on_escalate: Vec<String>,
    pub on_reopen: Vec<String>,
    pub on_resolve: Vec<String>,
    pub on_task_overdue: Vec<String>,
    pub on_change: Vec<String>,
    pub timeout: Duration,
}

impl Hooks {
    pub fn from_config(c: &Config) -> Hooks {
        Hooks {
            on_open: c.s.hooks.on_open.clone(),
            on_escalate: c.s.hooks.on_escalate.clone(),
            on_reopen: c.s.hooks.on_reopen.clone(),
            on_resolve: c.s.hooks.on_resolve.clone(),
            on_task_overdue: c.s.hooks.on_task_overdue.clone(),
            on_change: c.s.hooks.on_change.clone(),
            timeout: Duration::from_secs(c.s.hooks.timeout_s.max(1) as u64),
        }
    }

    fn argv(&self, event: Notice) -> &[String] {
        match event {
            Notice::Open => &self.on_open,
            Notice::Escalate => &self.on_escalate,
            Notice::Reopen => &self.on_reopen,
            Notice::Resolve => &self.on_resolve,
            Notice::TaskOverdue => &self.on_task_overdue,
            Notice::Change => &self.on_change,
        }
    }
}

/// What a hook is handed on stdin: the ticket as it was at the change.
#[derive(Serialize)]
struct Payload<'a> {
    event: Notice,
    ticket: &'a TicketView,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// The payload of a notification, as stored with it at the change:
/// `{"event", "ticket", "reason"?}`. `reason` of a `resolve`: `person`,
/// `auto-recovered`, `superseded`, `withdrawn` or `decommissioned`.
pub fn payload(event: Notice, ticket: &TicketView, reason: Option<&str>) -> String {
    serde_json::to_string(&Payload {
        event,
        ticket,
        reason,
    })
    .unwrap_or_default()
}

/// A hook that failed, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<i64>,
    pub command: String,
    pub error: String,
}

/// What a change's hook is handed on stdin: the change in its new state.
pub fn change_payload(ch: &crate::domain::change::Change) -> String {
    let mut v = serde_json::json!({
        "event": "change",
        "state": ch.state.as_str(),
        "change": serde_json::to_value(ch).unwrap_or_default(),
    });
    crate::ops::views::change_times(&mut v["change"]);
    v.to_string()
}

/// Hooks running at once at most (rows of different tickets).
const PARALLEL: usize = 8;

struct Running {
    child: std::process::Child,
    started: Instant,
    job: (String, Subject, String),
}

/// What a notification is about: one subject's rows run in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Ticket(i64),
    Change(i64),
}

impl Subject {
    fn failure(self, event: String, command: String, error: String) -> Failure {
        let (ticket_id, change_id) = match self {
            Subject::Ticket(t) => (Some(t), None),
            Subject::Change(c) => (None, Some(c)),
        };
        Failure {
            event,
            ticket_id,
            change_id,
            command,
            error,
        }
    }
}

/// Notifications claimed, run and removed per round.
const DELIVER_BATCH: i64 = 1024;

/// A notification ready to run: its row, event, subject, command and payload.
type Job = (i64, String, Subject, Vec<String>, String);

/// Deliver every queued notification, at most once each: rows are claimed
/// with a lease (twice `hooks.timeout`) in a short transaction, run (one
/// ticket's rows in order, each after the one before has finished), then
/// removed whatever the outcome; failures are audited, never retried.
pub fn deliver(store: &mut Store, ctx: &Ctx, hooks: &Hooks) -> Result<Vec<Failure>> {
    let mut failures = Vec::new();
    let lease = 2 * hooks.timeout.as_secs().max(1) as i64;
    let claimer = format!("bmctl pid {}", std::process::id());
    loop {
        let tx = store.write()?;
        let batch = outbox::claim(&tx, DELIVER_BATCH, crate::clock::wall(), lease, &claimer)?;
        tx.commit()?;
        if batch.is_empty() {
            break;
        }
        let mut jobs = Vec::new();
        for row in &batch {
            let (id, event, stored) = (&row.id, &row.event, &row.payload);
            let event = Notice::parse(event).ok_or_else(|| {
                anyhow::anyhow!(
                    "notification event '{event}' is not one of {}",
                    Notice::WORDS.join(", ")
                )
            })?;
            let argv = hooks.argv(event);
            if argv.is_empty() {
                continue;
            }
            let subject = match (row.ticket_id, row.change_id) {
                (Some(t), _) => Subject::Ticket(t),
                (None, Some(c)) => Subject::Change(c),
                (None, None) => continue,
            };
            // rows queued before payloads were kept: the ticket as it is now
            let json = match (stored, subject) {
                (Some(p), _) => p.clone(),
                (None, Subject::Ticket(t)) => {
                    let t = tickets::get(store.db(), t)?;
                    payload(event, &TicketView::new(t, ctx.ts()), None)
                }
                (None, Subject::Change(_)) => continue,
            };
            jobs.push((*id, event.to_string(), subject, argv.to_vec(), json));
        }
        let failed = run_all(jobs, hooks.timeout);
        let tx = store.write()?;
        outbox::delete(&tx, &batch.iter().map(|b| b.id).collect::<Vec<_>>())?;
        for f in &failed {
            let about = match (f.ticket_id, f.change_id) {
                (Some(t), _) => t.to_string(),
                (None, Some(c)) => format!("CR-{c}"),
                (None, None) => "-".into(),
            };
            audit::record(
                &tx,
                &ctx.who(),
                "hook",
                &format!("{}:{about}", f.event),
                None,
                Some(f),
            )?;
        }
        tx.commit()?;
        failures.extend(failed);
        if batch.len() < DELIVER_BATCH as usize {
            break;
        }
    }
    Ok(failures)
}

/// Run the hook commands, at most [`PARALLEL`] at once, each with `timeout`.
fn run_all(jobs: Vec<Job>, timeout: Duration) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut queue: Vec<Job> = jobs;
    let mut running: Vec<Running> = Vec::new();
    loop {
        while running.len() < PARALLEL {
            // the first row whose ticket has nothing running or waiting before it
            let mut seen = std::collections::HashSet::new();
            let next = queue.iter().position(|j| {
                let free = seen.insert(j.2) && !running.iter().any(|r| r.job.1 == j.2);
                free
            });
            let Some(i) = next else {
                break;
            };
            let (_, event, ticket_id, argv, json) = queue.remove(i);
            let command = shell_words::join(&argv);
            // its own process group: a timeout kills the hook and its children
            let spawned = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .process_group(0)
                .spawn();
            match spawned {
                Ok(mut child) => {
                    // The timeout counts from the spawn; the payload is written
                    // from a thread of its own, so a hook that never reads its
                    // stdin cannot hold bmctl past it.
                    let started = Instant::now();
                    if let Some(mut stdin) = child.stdin.take() {
                        std::thread::spawn(move || {
                            // A hook that does not read its stdin is not an error.
                            let _ = stdin.write_all(json.as_bytes());
                            let _ = stdin.write_all(b"\n");
                        });
                    }
                    running.push(Running {
                        child,
                        started,
                        job: (event, ticket_id, command),
                    });
                }
                Err(e) => {
                    failures.push(ticket_id.failure(event, command, format!("cannot start: {e}")))
                }
            }
        }
        if running.is_empty() && queue.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        running.retain_mut(|r| {
            let (event, ticket_id, command) = r.job.clone();
            match r.child.try_wait() {
                Ok(Some(status)) if status.success() => false,
                Ok(Some(status)) => {
                    failures.push(ticket_id.failure(
                        event,
                        command,
                        format!("exited with {status}"),
                    ));
                    false
                }
                Ok(None) if r.started.elapsed() > timeout => {
                    crate::process::kill_group(&mut r.child);
                    failures.push(ticket_id.failure(
                        event,
                        command,
                        format!("still running after {}s: killed", timeout.as_secs()),
                    ));
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    failures.push(ticket_id.failure(event, command, e.to_string()));
                    false
                }
            }
        });
    }
    failures
}

/// Queue `task_overdue` for the tasks that fell due, each with its payload
/// as the task is at that moment (#10 §12).
pub(crate) fn queue_overdue_tasks(conn: &Db, now: i64) -> anyhow::Result<()> {
    for id in crate::store::outbox::take_overdue_tasks(conn, now)? {
        let mut t = crate::store::tickets::get(conn, id)?;
        if let (None, Some(ci)) = (&t.ci, t.ci_id) {
            t.ci = crate::store::cis::host_of(conn, ci)?;
        }
        let view = TicketView::new(t, now);
        let p = payload(Notice::TaskOverdue, &view, None);
        crate::store::outbox::push(conn, Notice::TaskOverdue, id, now, Some(&p))?;
    }
    Ok(())
}
