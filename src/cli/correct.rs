//! `bmctl correct list|show|open|start|note|resolve|escalate|reopen` (05f.02).

use std::collections::HashMap;

use anyhow::Result;
use chrono_tz::Tz;
use clap::Subcommand;

use super::{split_ref, App};
use crate::domain::ticket::{TicketKind, TicketStatus};
use crate::domain::time::{local_display, localize_text};
use crate::error::rejected;
use crate::ops::correct;
use crate::ops::read::{self, Store, TicketFilter as Filter};
use crate::ops::views::TicketView;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Open corrective tickets and incidents, by due time.
    List {
        #[arg(long)]
        client: Option<String>,
        /// open, in_progress, resolved, skipped, or waiting (open and on hold
        /// for the client).
        #[arg(long, value_parser = crate::cli::words(&["open", "in_progress", "resolved", "skipped", "waiting"]))]
        status: Option<String>,
        /// corrective (includes incidents) or incident.
        #[arg(long, value_parser = crate::cli::words(&["corrective", "incident"]))]
        kind: Option<String>,
        /// Include resolved tickets.
        #[arg(long)]
        all: bool,
        /// Only tickets changed after this instant (for a PSA sync).
        #[arg(long)]
        since: Option<String>,
        /// Only tickets assigned to you (--actor).
        #[arg(long)]
        mine: bool,
    },
    /// One ticket with its timeline.
    Show { id: i64 },
    /// Assign a ticket to someone (with a team: a login of `[team]`).
    Assign {
        id: i64,
        #[arg(required_unless_present = "unassign")]
        user: Option<String>,
        /// Assign it to nobody.
        #[arg(long, conflicts_with = "user")]
        unassign: bool,
    },
    /// Record the PSA's ticket number.
    Link {
        id: i64,
        #[arg(long)]
        psa: String,
    },
    /// Raise a finding by hand on a job.
    Open {
        #[command(flatten)]
        job: crate::cli::JobArg,
        #[arg(long)]
        title: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Start working a ticket (assigns it to you if unassigned).
    Start { id: i64 },
    /// Put a ticket on hold, waiting on the client: its SLA clock stops
    /// until `correct resume` (the time waited moves its due time on).
    Wait {
        id: i64,
        /// What the client must do (a server powered off, credentials changed).
        #[arg(long)]
        reason: String,
    },
    /// End a wait on the client: the SLA clock runs again.
    Resume { id: i64 },
    /// Add a line to a ticket's work log.
    Note { id: i64, text: String },
    /// Resolve a ticket with its root cause.
    #[command(
        after_help = "Causes: media, network, credentials, capacity, software, configuration, source-data, human, unknown"
    )]
    Resolve {
        id: i64,
        /// Root-cause category.
        #[arg(long, value_parser = crate::cli::words(crate::domain::ticket::CAUSES))]
        cause: String,
        /// What was done.
        #[arg(long)]
        fix: String,
    },
    /// Escalate a corrective ticket to an incident.
    Escalate {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reopen a resolved ticket.
    Reopen {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
}

/// A ticket row with its client's zone for display and the time it is read at.
pub struct Row(pub TicketView, pub Tz, pub i64);

impl serde::Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Tabular for Row {
    fn headers() -> Vec<&'static str> {
        vec![
            "id", "kind", "prio", "client", "job", "title", "status", "seen", "assignee", "psa",
            "due", "flag",
        ]
    }
    fn optional() -> &'static [&'static str] {
        &["seen", "due"]
    }
    fn cells(&self) -> Vec<String> {
        let t = &self.0;
        vec![
            t.id.to_string(),
            t.kind.to_string(),
            format!("P{}", t.priority),
            t.client.clone(),
            output::opt(&t.job),
            t.title.clone(),
            if t.waiting_since.is_some() {
                "waiting".to_string()
            } else {
                t.status.to_string()
            },
            format!("{}x", t.occurrences),
            output::opt(&t.assignee),
            output::opt(&t.psa_ref),
            t.due_at
                .map(|d| local_display(d.0, self.1))
                .unwrap_or_else(|| "-".into()),
            flag(t, self.2),
        ]
    }
}

/// How the SLA stands, relative to now: "BREACHED 2d 3h", "in 4h 0m",
/// "waiting 1d 2h" (the clock stopped).
fn flag(t: &TicketView, now: i64) -> String {
    let age = crate::domain::time::format_age;
    if t.resolved_at.is_some() {
        return if t.sla_breached {
            "BREACHED".into()
        } else {
            String::new()
        };
    }
    match (t.waiting_since, t.due_at) {
        (Some(w), _) => format!("waiting {}", age(now - w.0)),
        (None, Some(d)) if t.sla_breached => format!("BREACHED {}", age(now - d.0)),
        (None, Some(d)) => format!("in {}", age(d.0 - now)),
        (None, None) => String::new(),
    }
}

fn rows(store: &Store, f: &Filter, now: i64) -> Result<Vec<Row>> {
    let zones = zones(store)?;
    Ok(read::tickets(store, f)?
        .into_iter()
        .map(|t| {
            let tz = zones.get(&t.client).copied().unwrap_or(chrono_tz::UTC);
            Row(TicketView::new(t, now), tz, now)
        })
        .collect())
}

fn zones(store: &Store) -> Result<HashMap<String, Tz>> {
    Ok(read::clients(store)?
        .into_iter()
        .map(|c| (c.code.clone(), c.tz()))
        .collect())
}

fn show_one(app: &App, store: &Store, id: i64, now: i64) -> Result<()> {
    let d = correct::show(store, correct::Desk::Correct, id, now)?;
    let tz = zones(store)?
        .get(&d.ticket.client)
        .copied()
        .unwrap_or(chrono_tz::UTC);
    if app.format() != output::Format::Table {
        return output::show(app.format(), &d, &[]);
    }
    let t = &d.ticket;
    let when = |v: Option<crate::domain::time::Ts>| {
        v.map(|x| local_display(x.0, tz))
            .unwrap_or_else(|| "-".into())
    };
    let pairs = vec![
        (
            "ticket",
            format!("#{} {} (P{}) {}", t.id, t.kind, t.priority, t.title),
        ),
        (
            "status",
            match (&t.waiting_since, &t.waiting_reason) {
                (Some(s), r) => format!(
                    "{}, waiting on the client since {} ({}): SLA clock stopped",
                    t.status,
                    local_display(s.0, tz),
                    r.as_deref().unwrap_or("-")
                ),
                _ => format!("{}{}", t.status, if t.overdue { " OVERDUE" } else { "" }),
            },
        ),
        (
            "client / job",
            format!("{} / {}", t.client, output::opt(&t.job)),
        ),
        ("class", output::opt(&t.class)),
        (
            "occurrences",
            format!(
                "{} (first {}, last {})",
                t.occurrences,
                when(t.first_seen_at),
                when(t.last_seen_at)
            ),
        ),
        ("opened", when(Some(t.opened_at))),
        ("due", when(t.due_at)),
        ("assignee", output::opt(&t.assignee)),
        ("resolved", when(t.resolved_at)),
        ("cause", output::opt(&t.cause)),
        ("resolution", output::opt(&t.resolution)),
        ("psa", output::opt(&t.psa_ref)),
    ];
    output::show(app.format(), &d, &pairs)?;
    let mut out = String::from("\ntimeline\n");
    for n in &d.timeline {
        out.push_str(&format!(
            "  {}  {:<8} {:<6} {}\n",
            local_display(n.at.0, tz),
            n.actor,
            n.kind,
            localize_text(&n.text, tz)
        ));
    }
    output::text(&out)
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    let ctx = app.ctx(match cmd {
        Cmd::List { .. } => "correct list",
        Cmd::Show { .. } => "correct show",
        Cmd::Assign { .. } => "correct assign",
        Cmd::Link { .. } => "correct link",
        Cmd::Open { .. } => "correct open",
        Cmd::Start { .. } => "correct start",
        Cmd::Wait { .. } => "correct wait",
        Cmd::Resume { .. } => "correct resume",
        Cmd::Note { .. } => "correct note",
        Cmd::Resolve { .. } => "correct resolve",
        Cmd::Escalate { .. } => "correct escalate",
        Cmd::Reopen { .. } => "correct reopen",
    })?;
    let now = ctx.ts();
    let changed = match cmd {
        Cmd::List {
            client,
            status,
            kind,
            all,
            since,
            mine,
        } => {
            let kind = match kind.as_deref().map(TicketKind::parse) {
                None => TicketKind::Corrective,
                Some(Some(k)) if k != TicketKind::Task => k,
                _ => {
                    return Err(rejected(format!(
                        "--kind '{}' is not corrective or incident (tasks: `bmctl tasks due`)",
                        kind.as_deref().unwrap_or_default()
                    )))
                }
            };
            let waiting = status.as_deref() == Some("waiting");
            let status = status
                .as_deref()
                .filter(|s| *s != "waiting")
                .map(|s| {
                    TicketStatus::parse(s).ok_or_else(|| {
                        rejected(format!(
                            "--status '{s}' is not one of {}",
                            TicketStatus::WORDS.join(", ")
                        ))
                    })
                })
                .transpose()?;
            let mut f = Filter {
                kind: Some(kind),
                status,
                all: *all,
                assignee: mine.then(|| app.actor()),
                ..Filter::default()
            };
            let mut tz = None;
            if let Some(c) = client {
                let c = read::client(&store, c)?;
                f.client_id = Some(c.id);
                tz = Some(c.tz());
            }
            if let Some(s) = since {
                f.updated_since =
                    Some(app.when("--since", s, tz, crate::domain::time::Span::Past)?);
            }
            let mut rows = rows(&store, &f, now)?;
            if waiting {
                rows.retain(|r| r.0.waiting_since.is_some());
            }
            // across clients, one zone for every time (display.timezone)
            if f.client_id.is_none() {
                for r in &mut rows {
                    r.1 = app.config.s.display_tz;
                }
            }
            output::list(app.format(), &rows)?;
            None
        }
        Cmd::Show { id } => {
            show_one(app, &store, *id, now)?;
            None
        }
        Cmd::Open { job, title, note } => {
            let (c, j) = split_ref("CLIENT/JOB", job.get("bmctl correct open"))?;
            Some(correct::open(
                &mut store,
                &ctx,
                c,
                j,
                title,
                note.as_deref(),
            )?)
        }
        Cmd::Start { id } => Some(correct::start(&mut store, &ctx, *id)?),
        Cmd::Wait { id, reason } => Some(correct::wait(&mut store, &ctx, *id, reason)?),
        Cmd::Resume { id } => Some(correct::resume(&mut store, &ctx, *id)?),
        Cmd::Assign { id, user, .. } => {
            if let Some(u) = user {
                app.config.check_assignee(u)?;
            }
            Some(crate::ops::tasks::assign(
                &mut store,
                &ctx,
                correct::Desk::Correct,
                *id,
                user.as_deref(),
            )?)
        }
        Cmd::Link { id, psa } => Some(correct::link(&mut store, &ctx, *id, psa)?),
        Cmd::Note { id, text } => Some(correct::note(
            &mut store,
            &ctx,
            correct::Desk::Correct,
            *id,
            text,
        )?),
        Cmd::Resolve { id, cause, fix } => {
            Some(correct::resolve(&mut store, &ctx, *id, cause, fix)?)
        }
        Cmd::Escalate { id, reason } => {
            Some(correct::escalate(&mut store, &ctx, *id, reason.as_deref())?)
        }
        Cmd::Reopen { id, reason } => {
            Some(correct::reopen(&mut store, &ctx, *id, reason.as_deref())?)
        }
    };
    if let Some(t) = changed {
        let tz = zones(&store)?
            .get(&t.client)
            .copied()
            .unwrap_or(chrono_tz::UTC);
        app.say(said(cmd, &t, tz));
        if app.format() != output::Format::Table {
            output::show(app.format(), &TicketView::new(t, now), &[])?;
        }
    }
    Ok(0)
}

/// What a verb did, in a line (not the state it left).
fn said(cmd: &Cmd, t: &crate::domain::ticket::Ticket, tz: Tz) -> String {
    let due = |t: &crate::domain::ticket::Ticket| due(t, tz);
    let what = format!("{} #{}", t.kind, t.id);
    match cmd {
        Cmd::Open { .. } => format!("opened {what}, due {}", due(t)),
        Cmd::Start { .. } => format!(
            "started {what} (assigned to {})",
            t.assignee.as_deref().unwrap_or("nobody")
        ),
        Cmd::Assign { user: Some(u), .. } => format!("assigned {what} to {u}"),
        Cmd::Assign { user: None, .. } => format!("unassigned {what}"),
        Cmd::Link { psa, .. } => format!("linked {what} to PSA ticket {psa}"),
        Cmd::Wait { .. } => format!("{what} waits on the client: its SLA clock is stopped"),
        Cmd::Resume { .. } => format!(
            "resumed {what}: waited {} on the client in all; due {}",
            crate::domain::time::format_age(t.waited_s.unwrap_or(0)),
            due(t)
        ),
        Cmd::Note { .. } => format!("added a note to {what}"),
        Cmd::Resolve { cause, .. } => format!("resolved {what} (cause {cause})"),
        Cmd::Escalate { .. } => format!(
            "escalated #{} to an incident, P{}, due {}",
            t.id,
            t.priority,
            due(t)
        ),
        Cmd::Reopen { .. } => format!("reopened {what}, due {}", due(t)),
        _ => format!("{what} is {}", t.status),
    }
}

fn due(t: &crate::domain::ticket::Ticket, tz: Tz) -> String {
    t.due_at
        .map(|d| local_display(d, tz))
        .unwrap_or_else(|| "-".into())
}
