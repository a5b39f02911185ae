//! `bmctl due`: the technician's queue.

use anyhow::Result;

use super::App;
use crate::domain::time::{format_age, local_display};
use crate::ops::due::{self, DueFilter, DueItem};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  bmctl due --mine --today
  bmctl due --client acme
  bmctl due --unassigned --format json")]
pub struct Args {
    /// Only one client's work.
    #[arg(long)]
    client: Option<String>,
    /// Only what is for you (--actor or your login): tasks and tickets
    /// assigned to you, changes you must approve or carry on [default when
    /// you are in the config's [team]].
    #[arg(long, conflicts_with_all = ["assignee", "unassigned", "all"])]
    mine: bool,
    /// Everyone's work (when a [team] makes --mine the default).
    #[arg(long, conflicts_with_all = ["assignee", "unassigned"])]
    all: bool,
    /// Only what is for this person (as --mine does for you).
    #[arg(long, value_name = "NAME", conflicts_with = "unassigned")]
    assignee: Option<String>,
    /// Only what nobody is assigned: tasks, tickets and overdue restore tests.
    #[arg(long)]
    unassigned: bool,
    /// Only tasks due today in their client's zone, or overdue.
    #[arg(long)]
    today: bool,
}

impl Tabular for DueItem {
    fn headers() -> Vec<&'static str> {
        vec![
            "kind", "id", "object", "priority", "due_at", "flag", "assignee", "title", "why",
        ]
    }
    fn optional() -> &'static [&'static str] {
        &["due_at"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.to_string(),
            output::opt(&self.id),
            self.object.clone().unwrap_or_else(|| self.client.clone()),
            self.priority
                .map(|p| format!("P{p}"))
                .unwrap_or_else(|| "-".into()),
            self.due_at
                .map(|d| local_display(d.0, self.tz))
                .unwrap_or_else(|| "-".into()),
            // how long overdue or how soon: "OVERDUE 2d 3h", "in 4h 0m"
            match self.due_at {
                Some(d) if self.overdue => format!("OVERDUE {}", format_age(self.now - d.0)),
                Some(d) if d.0 > self.now => format!("in {}", format_age(d.0 - self.now)),
                // a ticket waiting on the client: its clock is stopped
                _ => String::new(),
            },
            output::opt(&self.assignee),
            self.title.clone(),
            crate::domain::time::localize_text(&self.why, self.tz),
        ]
    }
}

/// Across clients, one zone for every time (`display.timezone`).
pub fn in_display_zone(app: &App, items: &mut [DueItem]) {
    for i in items {
        i.tz = app.config.s.display_tz;
    }
}

pub fn run(app: &App, a: &Args) -> Result<u8> {
    let store = app.store()?;
    let now = app.ctx("due")?.ts();
    let actor = app.actor();
    // with a team, a member's queue is their own unless they ask for more
    let mine = a.mine
        || (!a.all
            && a.assignee.is_none()
            && !a.unassigned
            && app.config.team.contains_key(&actor));
    if mine && !a.mine && app.format() == output::Format::Table {
        app.say(format!("{actor}'s queue (--all for everyone's)"));
    }
    if let Some(p) = &a.assignee {
        app.config.check_assignee(p)?;
    }
    let f = DueFilter {
        client: a.client.clone(),
        person: match (&a.assignee, mine) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(actor),
            (None, false) => None,
        },
        unassigned: a.unassigned,
        today: a.today,
    };
    let mut items = due::queue(&store, &f, now)?;
    if f.client.is_none() {
        in_display_zone(app, &mut items);
    }
    if items.is_empty() && app.format() == output::Format::Table {
        app.say(match &f.person {
            Some(p) => format!("nothing is waiting for {p}"),
            None => "nothing is waiting".into(),
        });
        return Ok(0);
    }
    output::list(app.format(), &items)?;
    Ok(0)
}
