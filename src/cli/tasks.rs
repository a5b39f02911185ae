//! `bmctl tasks generate|due|show|start|check|assign|done|skip|reopen|templates` (05f.01).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use serde::Deserialize;

use super::App;
use crate::domain::task::Template;
use crate::domain::time::{format_duration, local_display, parse_duration};
use crate::error::rejected;
use crate::ops::correct::Desk;
use crate::ops::read::{self, Store};
use crate::ops::tasks::{self, DueFilter, TaskView};
use crate::ops::views::TicketView;
use crate::output::{self, Tabular};

// One value parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create the task tickets whose time has come (idempotent; for cron).
    Generate {
        /// Create occurrences due to be created by this instant [default: now].
        #[arg(long)]
        until: Option<String>,
    },
    /// The morning list: open tasks by due time.
    Due {
        #[arg(long)]
        client: Option<String>,
        /// Only tasks due within this long (e.g. 8h, 2d); overdue ones included.
        #[arg(long)]
        within: Option<String>,
        /// Only tasks past their due time.
        #[arg(long)]
        overdue: bool,
        /// Only tasks due today (in the client's zone) or overdue.
        #[arg(long)]
        today: bool,
        /// Only tasks assigned to you (--actor).
        #[arg(long)]
        mine: bool,
    },
    /// One task with its checklist and timeline.
    Show { id: i64 },
    /// Start working a task (assigns it to you if unassigned).
    Start { id: i64 },
    /// Tick a checklist item: its number, its text or the start of exactly
    /// one item's text.
    Check { id: i64, item: String },
    /// Untick a checklist item (named as for `check`).
    Uncheck { id: i64, item: String },
    /// Assign a task to someone (with a team: a login of `[team]`).
    Assign {
        id: i64,
        #[arg(required_unless_present = "unassign")]
        user: Option<String>,
        /// Assign it to nobody.
        #[arg(long, conflicts_with = "user")]
        unassign: bool,
    },
    /// Add a line to a task's timeline.
    Note { id: i64, text: String },
    /// Complete a task; `--result issues` opens a linked corrective ticket.
    Done {
        id: i64,
        #[arg(long, default_value = "ok", value_parser = ["ok", "issues"])]
        result: String,
        /// What was done or found (required with --result issues).
        #[arg(long, required_if_eq("result", "issues"))]
        note: Option<String>,
        /// Complete it with checklist items not ticked, saying why (asked
        /// on a terminal; required otherwise). The note names the items.
        #[arg(long, value_name = "REASON")]
        incomplete: Option<String>,
    },
    /// Skip a task (counts as missed unless --not-applicable).
    Skip {
        id: i64,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        not_applicable: bool,
    },
    /// Reopen a done or skipped task.
    Reopen { id: i64 },
    /// Task templates: what recurs, for whom, when.
    #[command(subcommand)]
    Templates(TemplateCmd),
}

#[derive(Debug, Clone, clap::Args, Default)]
pub struct TemplateArgs {
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Checklist items separated by `;`.
    #[arg(long)]
    checklist: Option<String>,
    /// A cron expression in the client's zone.
    #[arg(long, conflicts_with_all = ["every_days", "restore_test"])]
    cadence: Option<String>,
    /// Every N days after the last completion.
    #[arg(long, conflicts_with = "restore_test")]
    every_days: Option<u32>,
    /// Follow each policy's restore-test cadence (scope policy).
    #[arg(long)]
    restore_test: bool,
    /// client, ci or policy.
    #[arg(long, value_parser = crate::cli::words(crate::domain::task::SCOPES))]
    scope: Option<String>,
    /// Only this client.
    #[arg(long)]
    client: Option<String>,
    /// Only CIs of this tier.
    #[arg(long)]
    tier: Option<i64>,
    /// Only CIs of this kind.
    #[arg(long, value_parser = crate::cli::words(crate::domain::ci::CI_KINDS))]
    kind: Option<String>,
    /// Only policies of this tool.
    #[arg(long, value_parser = crate::cli::words(crate::domain::policy::TOOLS))]
    tool: Option<String>,
    /// Due this long after the occurrence (e.g. 4h).
    #[arg(long)]
    due_offset: Option<String>,
    /// Created this long before the occurrence.
    #[arg(long)]
    lead_time: Option<String>,
    /// After a gap: latest (only the newest missed occurrence) or all.
    #[arg(long, value_parser = ["latest", "all"])]
    catch_up: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCmd {
    List,
    /// Add a template.
    Add {
        name: String,
        #[command(flatten)]
        args: TemplateArgs,
    },
    /// Change a template.
    Edit {
        name: String,
        #[command(flatten)]
        args: TemplateArgs,
    },
    /// Stop generating tasks from a template.
    Disable {
        name: String,
    },
    /// Add or replace templates from a TOML file of [[template]] tables.
    Import {
        file: PathBuf,
    },
}

impl Tabular for TaskView {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "due",
            "flag",
            "client",
            "title",
            "checklist",
            "assignee",
            "status",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let t = &self.ticket;
        // with how long: "OVERDUE 2d 3h", "DUE TODAY in 3h 0m"
        let age = |s: i64| crate::domain::time::format_age(s);
        let flag = match (t.overdue, self.due_today, t.due_at) {
            (true, _, Some(d)) => format!("OVERDUE {}", age(self.now - d.0)),
            (false, true, Some(d)) => format!("DUE TODAY in {}", age(d.0 - self.now)),
            _ => String::new(),
        };
        vec![
            t.id.to_string(),
            t.due_at
                .map(|d| local_display(d.0, self.tz))
                .unwrap_or_else(|| "-".into()),
            flag,
            t.client.clone(),
            t.title.clone(),
            if self.checklist_total > 0 {
                format!("{}/{}", self.checklist_done, self.checklist_total)
            } else {
                "-".into()
            },
            output::opt(&t.assignee),
            t.status.to_string(),
        ]
    }
}

impl Tabular for Template {
    fn headers() -> Vec<&'static str> {
        vec![
            "name", "title", "cadence", "scope", "client", "due", "lead", "catch_up", "status",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let cadence = match self.cadence_kind.as_str() {
            "cron" => self.cadence.clone(),
            "after_completion" => format!("every {} days after completion", self.cadence),
            _ => "policy's restore-test cadence".into(),
        };
        vec![
            self.name.clone(),
            self.title.clone(),
            cadence,
            self.scope.clone(),
            output::opt(&self.client),
            format_duration(self.due_offset_s.max(0)).replace("0s", "0"),
            format_duration(self.lead_time_s.max(0)).replace("0s", "0"),
            self.catch_up.clone(),
            self.status.clone(),
        ]
    }
}

fn dur(flag: &str, v: &str) -> Result<i64> {
    if v.trim() == "0" {
        return Ok(0);
    }
    parse_duration(v).map_err(|e| rejected(format!("{flag}: {e}")))
}

fn apply(t: &mut Template, a: &TemplateArgs) -> Result<()> {
    if let Some(v) = &a.title {
        t.title = v.clone();
    }
    if let Some(v) = &a.description {
        t.description = v.clone();
    }
    if let Some(v) = &a.checklist {
        t.checklist = v
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Some(v) = &a.cadence {
        (t.cadence_kind, t.cadence) = ("cron".into(), v.clone());
    }
    if let Some(n) = a.every_days {
        (t.cadence_kind, t.cadence) = ("after_completion".into(), n.to_string());
    }
    if a.restore_test {
        (t.cadence_kind, t.cadence, t.scope) =
            ("restore_test".into(), String::new(), "policy".into());
    }
    if let Some(v) = &a.scope {
        t.scope = v.clone();
    }
    if a.client.is_some() {
        t.client = a.client.clone();
    }
    if a.tier.is_some() {
        t.filter_tier = a.tier;
    }
    if a.kind.is_some() {
        t.filter_kind = a.kind.clone();
    }
    if a.tool.is_some() {
        t.filter_tool = a.tool.clone();
    }
    if let Some(v) = &a.due_offset {
        t.due_offset_s = dur("--due-offset", v)?;
    }
    if let Some(v) = &a.lead_time {
        t.lead_time_s = dur("--lead-time", v)?;
    }
    if let Some(v) = &a.catch_up {
        t.catch_up = v.clone();
    }
    t.validate()
        .map_err(|e| rejected(format!("template '{}': {e}", t.name)))
}

fn blank(name: &str, now: i64) -> Template {
    Template {
        id: 0,
        name: name.into(),
        title: String::new(),
        description: String::new(),
        checklist: Vec::new(),
        cadence_kind: String::new(),
        cadence: String::new(),
        scope: "client".into(),
        client: None,
        filter_tier: None,
        filter_kind: None,
        filter_tool: None,
        due_offset_s: 0,
        lead_time_s: 0,
        catch_up: "latest".into(),
        status: "active".into(),
        created_at: now,
    }
}

/// One `[[template]]` of an import file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTemplate {
    name: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    checklist: Vec<String>,
    #[serde(default)]
    cadence: Option<String>,
    #[serde(default)]
    every_days: Option<u32>,
    #[serde(default)]
    restore_test: bool,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    tier: Option<i64>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    due_offset: Option<String>,
    #[serde(default)]
    lead_time: Option<String>,
    #[serde(default)]
    catch_up: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    template: Vec<FileTemplate>,
}

fn save(app: &App, store: &mut Store, t: &Template, command: &str) -> Result<()> {
    tasks::save_template(store, &app.ctx(command)?, t)
}

fn print_task(app: &App, store: &Store, id: i64, now: i64) -> Result<()> {
    let d = crate::ops::correct::show(store, Desk::Tasks, id, now)?;
    let t = read::ticket(store, id)?;
    if app.format() != output::Format::Table {
        #[derive(serde::Serialize)]
        struct View<'a> {
            #[serde(flatten)]
            detail: &'a crate::ops::correct::TicketDetail,
            checklist: &'a [crate::domain::ticket::ChecklistItem],
            result: &'a Option<String>,
            not_applicable: bool,
        }
        return output::show(
            app.format(),
            &View {
                detail: &d,
                checklist: &t.checklist,
                result: &t.result,
                not_applicable: t.not_applicable,
            },
            &[],
        );
    }
    let tz = read::client(store, &t.client)?.tz();
    let mut out = format!(
        "task #{} {}\nstatus {}{}, due {}, assignee {}\n",
        t.id,
        t.title,
        t.status,
        if d.ticket.overdue { " OVERDUE" } else { "" },
        t.due_at
            .map(|x| local_display(x, tz))
            .unwrap_or_else(|| "-".into()),
        t.assignee.as_deref().unwrap_or("-")
    );
    for (i, c) in t.checklist.iter().enumerate() {
        out.push_str(&format!(
            "  [{}] {}. {}\n",
            if c.done { "x" } else { " " },
            i + 1,
            c.item
        ));
    }
    if let Some(r) = &t.result {
        let left = t.unticked();
        out.push_str(&format!("result: {r}"));
        if !left.is_empty() {
            // completed with --incomplete: the timeline keeps the reason
            out.push_str(&format!(
                ", completed with {} of {} items not ticked (why: in the timeline)",
                left.len(),
                t.checklist.len()
            ));
        }
        out.push('\n');
    }
    out.push_str("timeline\n");
    for n in &d.timeline {
        out.push_str(&format!(
            "  {}  {:<8} {}\n",
            local_display(n.at.0, tz),
            n.actor,
            crate::domain::time::localize_text(&n.text, tz)
        ));
    }
    output::text(&out)
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    let ctx = app.ctx("tasks")?;
    let now = ctx.ts();
    let changed = match cmd {
        Cmd::Generate { until } => {
            let ctx = app.ctx("tasks generate")?;
            let until = match until {
                Some(u) => app.when("--until", u, None, crate::domain::time::Span::Future)?,
                None => now,
            };
            let r = tasks::generate(&mut store, &ctx, until)?;
            if app.quiet_table() {
                return Ok(0);
            }
            let pairs = [
                ("created", r.created.to_string()),
                ("already_present", r.already_present.to_string()),
            ];
            output::show(app.format(), &r, &pairs)?;
            None
        }
        Cmd::Due {
            client,
            within,
            overdue,
            today,
            mine,
        } => {
            // the morning view starts with bmctl's own health when it is stale
            if let Ok(h) = crate::ops::health::quick(
                &store,
                app.ctx("tasks due")?.ts(),
                &super::health::limits(app),
            ) {
                if let Some(line) = h.summary() {
                    app.say(line);
                }
            }
            let f = DueFilter {
                client: client.clone(),
                within_s: within.as_deref().map(|w| dur("--within", w)).transpose()?,
                overdue: *overdue,
                today: *today,
                mine: mine.then(|| app.actor()),
            };
            let mut due = tasks::due(&store, &f, now)?;
            // across clients, one zone for every time (display.timezone)
            if f.client.is_none() {
                due = due
                    .into_iter()
                    .map(|t| t.in_zone(app.config.s.display_tz))
                    .collect();
            }
            output::list(app.format(), &due)?;
            None
        }
        Cmd::Show { id } => {
            print_task(app, &store, *id, now)?;
            None
        }
        Cmd::Start { id } => Some(tasks::start(&mut store, &app.ctx("tasks start")?, *id)?),
        Cmd::Check { id, item } | Cmd::Uncheck { id, item } => {
            let done = matches!(cmd, Cmd::Check { .. });
            let verb = if done { "check" } else { "uncheck" };
            let ctx = app.ctx(&format!("tasks {verb}"))?;
            let r = tasks::check(&mut store, &ctx, *id, item, done)?;
            let ticked = r.task.checklist.iter().filter(|c| c.done).count();
            app.say(format!(
                "{} item {} '{}' of task #{} ({ticked} of {} ticked)",
                match (done, r.unchanged) {
                    (true, false) => "ticked",
                    (false, false) => "unticked",
                    (true, true) => "already ticked:",
                    (false, true) => "not ticked:",
                },
                r.number,
                r.item,
                r.task.id,
                r.task.checklist.len()
            ));
            if app.format() != output::Format::Table {
                output::show(app.format(), &TicketView::new(r.task, now), &[])?;
            }
            return Ok(0);
        }
        Cmd::Assign { id, user, .. } => {
            if let Some(u) = user {
                app.config.check_assignee(u)?;
            }
            Some(tasks::assign(
                &mut store,
                &app.ctx("tasks assign")?,
                Desk::Tasks,
                *id,
                user.as_deref(),
            )?)
        }
        Cmd::Note { id, text } => Some(crate::ops::correct::note(
            &mut store,
            &app.ctx("tasks note")?,
            Desk::Tasks,
            *id,
            text,
        )?),
        Cmd::Done {
            id,
            result,
            note,
            incomplete,
        } => {
            let mut incomplete = incomplete.clone();
            let t = read::ticket(&store, *id)?;
            let left = t.unticked();
            if incomplete.is_none() && !left.is_empty() && crate::prompt::interactive(false) {
                eprintln!(
                    "task #{id} has {} of {} checklist items not ticked: {}",
                    left.len(),
                    t.checklist.len(),
                    t.numbered(left.iter().copied())
                );
                let why = crate::prompt::ask("Complete it anyway? Say why (empty: no)", None)?;
                if why.trim().is_empty() {
                    app.say(format!("task #{id} left open"));
                    return Ok(0);
                }
                incomplete = Some(why);
            }
            let (t, finding) = tasks::done(
                &mut store,
                &app.ctx("tasks done")?,
                *id,
                result == "issues",
                note.as_deref(),
                incomplete.as_deref(),
            )?;
            if let Some(f) = finding {
                app.say(format!(
                    "opened corrective ticket #{} for the finding",
                    f.id
                ));
            }
            Some(t)
        }
        Cmd::Skip {
            id,
            reason,
            not_applicable,
        } => Some(tasks::skip(
            &mut store,
            &{
                let ctx = app.ctx("tasks skip")?;
                if *not_applicable {
                    // a task that does not apply leaves the compliance figure
                    app.config.authorize_role(
                        &ctx.actor,
                        "tasks skip --not-applicable",
                        crate::domain::role::Role::BackupAdmin,
                    )?;
                }
                ctx
            },
            *id,
            reason,
            *not_applicable,
        )?),
        Cmd::Reopen { id } => Some(tasks::reopen(&mut store, &app.ctx("tasks reopen")?, *id)?),
        Cmd::Templates(t) => {
            match t {
                TemplateCmd::List => output::list(app.format(), &read::templates(&store)?)?,
                TemplateCmd::Add { name, args } => {
                    if read::find_template(&store, name)?.is_some() {
                        return Err(crate::error::refused(format!("template '{name}' exists; change it with `bmctl tasks templates edit {name}`")));
                    }
                    let mut t = blank(name, now);
                    if args.cadence.is_none() && args.every_days.is_none() && !args.restore_test {
                        return Err(rejected(
                            "a template needs --cadence CRON, --every-days N or --restore-test",
                        ));
                    }
                    apply(&mut t, args)?;
                    save(app, &mut store, &t, "tasks templates add")?;
                    app.say(format!("added template {name}"));
                }
                TemplateCmd::Edit { name, args } => {
                    let mut t = read::template(&store, name)?;
                    apply(&mut t, args)?;
                    save(app, &mut store, &t, "tasks templates edit")?;
                }
                TemplateCmd::Disable { name } => {
                    let mut t = read::template(&store, name)?;
                    t.status = "disabled".into();
                    save(app, &mut store, &t, "tasks templates disable")?;
                    app.say(format!("template {name} disabled: no new tasks from it"));
                }
                TemplateCmd::Import { file } => {
                    let input =
                        crate::input::take(file, crate::input::Shape::Document("a template file"))?;
                    let (name, text) = (input.name.clone(), input.text()?);
                    let parsed: TemplateFile = toml::from_str(&text).map_err(|e| {
                        let line = e
                            .span()
                            .map(|s| crate::domain::plan::line_of(&text, s.start))
                            .unwrap_or(1);
                        rejected(format!("{name}:{line}: {}", e.message()))
                    })?;
                    let mut all = Vec::new();
                    for (i, f) in parsed.template.iter().enumerate() {
                        let mut t = read::find_template(&store, &f.name)?
                            .unwrap_or_else(|| blank(&f.name, now));
                        let args = TemplateArgs {
                            title: Some(f.title.clone()),
                            description: f.description.clone(),
                            checklist: Some(f.checklist.join(";")),
                            cadence: f.cadence.clone(),
                            every_days: f.every_days,
                            restore_test: f.restore_test,
                            scope: f.scope.clone(),
                            client: f.client.clone(),
                            tier: f.tier,
                            kind: f.kind.clone(),
                            tool: f.tool.clone(),
                            due_offset: f.due_offset.clone(),
                            lead_time: f.lead_time.clone(),
                            catch_up: f.catch_up.clone(),
                        };
                        apply(&mut t, &args)
                            .map_err(|e| rejected(format!("{name}: template[{i}]: {e:#}")))?;
                        all.push(t);
                    }
                    for t in &all {
                        save(app, &mut store, t, "tasks templates import")?;
                    }
                    app.say(format!("imported {} templates from {name}", all.len()));
                }
            }
            None
        }
    };
    if let Some(t) = changed {
        app.say(said(cmd, &t));
        if app.format() != output::Format::Table {
            output::show(app.format(), &TicketView::new(t, now), &[])?;
        }
    }
    Ok(0)
}

/// What a verb did, in a line (not the state it left).
fn said(cmd: &Cmd, t: &crate::domain::ticket::Ticket) -> String {
    let id = t.id;
    match cmd {
        Cmd::Start { .. } => format!(
            "started task #{id} (assigned to {})",
            t.assignee.as_deref().unwrap_or("nobody")
        ),
        Cmd::Assign { user: Some(u), .. } => format!("assigned task #{id} to {u}"),
        Cmd::Assign { user: None, .. } => format!("unassigned task #{id}"),
        Cmd::Note { .. } => format!("added a note to task #{id}"),
        Cmd::Done { .. } => format!(
            "completed task #{id} (result {})",
            t.result.as_deref().unwrap_or("ok")
        ),
        Cmd::Skip { not_applicable, .. } => format!(
            "skipped task #{id}{}",
            if *not_applicable {
                " as not applicable (left out of compliance)"
            } else {
                " (counts as missed for compliance)"
            }
        ),
        Cmd::Reopen { .. } => format!("reopened task #{id}"),
        _ => format!("task #{id} is {}", t.status),
    }
}
