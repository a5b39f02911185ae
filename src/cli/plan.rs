//! `bmctl plan import|export|show|history|diff|review|risks`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::App;
use crate::domain::plan::DiffLine;
use crate::domain::time::local_display;
use crate::ops::plan::{self, PolicyView};
use crate::ops::read::{self, Store, VersionRow};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Onboard a client from its backup plan (TOML; `-` reads stdin).
    Import {
        file: PathBuf,
        /// Overwrite an existing plan outside the change process: an
        /// emergency change, audited, its --reason in the plan's history
        /// and the review.
        #[arg(long, requires = "reason")]
        replace: bool,
        /// Why the plan is replaced outside a change request.
        #[arg(long)]
        reason: Option<String>,
        /// Check the file and print what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print a client's live plan as TOML that imports back to the same plan.
    Export { client: String },
    /// A client's policies with their next expected run.
    Show { client: String },
    /// The published versions of a client's plan.
    History { client: String },
    /// Field-by-field differences between two plan versions.
    Diff { client: String, v1: i64, v2: i64 },
    /// Write the technical input for a quarterly service review (05f.07).
    #[command(after_help = "Examples:
  bmctl plan review --client acme --quarter 2026-Q4 --out qsr/
  bmctl plan review --all-clients --quarter 2026-Q4 --out /srv/qsr \\
      --formats md,html

Writes OUT/CLIENT/qsr-QUARTER.{md,html,json,csv}; re-running replaces them.
Cron, a week before each quarter's reviews (QUARTER: the one ending):
  0 6 25 3,6,9,12 *  bmctl plan review --all-clients --quarter Q --out /srv/qsr")]
    Review {
        #[arg(
            long,
            conflicts_with = "all_clients",
            required_unless_present = "all_clients"
        )]
        client: Option<String>,
        #[arg(long)]
        all_clients: bool,
        /// e.g. 2026-Q4
        #[arg(long)]
        quarter: String,
        #[arg(long)]
        out: PathBuf,
        /// Any of md, html, json, csv, pdf (pdf: printed by headless Chromium).
        #[arg(long, default_value = "md,html,json,csv")]
        formats: String,
        /// Who the review is for: the client (its language, no internal
        /// chores) or the MSP itself (everything, with rule ids).
        #[arg(long, value_enum, default_value = "client")]
        audience: crate::report::review::Audience,
        /// The browser that prints the PDF [default: the first of chromium,
        /// chromium-browser, google-chrome on PATH].
        #[arg(long, value_name = "PATH")]
        chromium: Option<PathBuf>,
    },
    /// The risk register with recommendations (05f.07).
    #[command(args_conflicts_with_subcommands = true)]
    Risks {
        #[command(subcommand)]
        cmd: Option<RisksCmd>,
        #[arg(long)]
        client: Option<String>,
        /// Only risks at or above: low, medium or high.
        #[arg(long, default_value = "low", value_parser = ["low", "medium", "high"])]
        min_severity: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RisksCmd {
    /// Record the client's decision to accept a risk: shown as accepted in
    /// the register and the review until --until, or until it gets worse.
    #[command(after_help = "Example:
  bmctl plan risks accept retention-below-requirement web01 --client acme \\
      --by 'Jane Roe (CFO at Acme)' --until 2027-06-30 --ref CHG-4790")]
    Accept {
        /// The register's rule (as `plan risks` prints it).
        rule: String,
        /// The system it is about (as `plan risks` prints it).
        subject: String,
        /// The client's code.
        #[arg(long)]
        client: String,
        /// Who at the client accepted it, as they signed.
        #[arg(long)]
        by: String,
        /// Until when: a date (through that day, in the client's zone), a
        /// time or a future span.
        #[arg(long)]
        until: String,
        /// The record of the decision (a signed form, a ticket).
        #[arg(long = "ref")]
        ref_: String,
        /// Why the client accepted it, in a line.
        #[arg(long)]
        note: Option<String>,
    },
    /// The acceptances recorded (in force or not).
    Accepted {
        #[arg(long)]
        client: Option<String>,
    },
    /// Withdraw an acceptance the client took back: the risk is open again.
    Withdraw {
        /// The acceptance's number (as `plan risks accepted` prints it).
        id: i64,
        /// Why (the client's word, a changed contract).
        #[arg(long)]
        reason: String,
    },
}

impl Tabular for crate::ops::people::Acceptance {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "client",
            "rule",
            "subject",
            "accepted_by",
            "until",
            "ref",
            "measure",
            "recorded_by",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.client.clone(),
            self.rule.clone(),
            self.subject.clone(),
            self.accepted_by.clone(),
            output::at(self.until.0),
            self.reference.clone(),
            output::opt(&self.measure),
            self.recorded_by.clone(),
        ]
    }
}

impl Tabular for PolicyView {
    fn headers() -> Vec<&'static str> {
        vec![
            "job",
            "ci",
            "tool",
            "schedule",
            "rpo",
            "grace",
            "retention",
            "target",
            "restore_test",
            "rto",
            "next_run",
            "last_status",
            "judged",
        ]
    }
    fn optional() -> &'static [&'static str] {
        &["judged"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.job.clone(),
            self.ci.clone(),
            self.tool.clone(),
            self.schedule.clone(),
            self.rpo.clone(),
            self.grace.clone(),
            self.retention.clone(),
            self.target.clone(),
            self.restore_test.clone(),
            self.rto.clone(),
            self.next_run
                .map(|t| local_display(t.0, self.tz))
                .unwrap_or_else(|| "-".into()),
            output::opt(&self.last_status),
            if self.judged.is_empty() {
                "-".into()
            } else {
                self.judged.clone()
            },
        ]
    }
}

impl Tabular for VersionRow {
    fn headers() -> Vec<&'static str> {
        vec!["version", "created_at", "actor", "reason"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.version.to_string(),
            output::at(self.created_at.0),
            self.actor.clone(),
            self.reason.clone(),
        ]
    }
}

impl Tabular for crate::report::risks::Risk {
    fn headers() -> Vec<&'static str> {
        vec![
            "severity",
            "client",
            "rule",
            "subject",
            "accepted",
            "evidence",
            "recommendation",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.severity.as_str().to_uppercase(),
            self.client.clone(),
            self.rule.into(),
            self.subject.clone(),
            self.accepted
                .as_ref()
                .map(|a| {
                    format!(
                        "until {} by {}",
                        crate::domain::time::local_date(a.until.0, chrono_tz::UTC),
                        a.by
                    )
                })
                .unwrap_or_else(|| "-".into()),
            output::local_text(&self.evidence),
            self.recommendation.clone(),
        ]
    }
}

impl Tabular for DiffLine {
    fn headers() -> Vec<&'static str> {
        vec!["change", "item", "field", "old", "new"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.change.into(),
            self.item.clone(),
            self.field.clone(),
            self.old.clone(),
            self.new.clone(),
        ]
    }
}

/// What [`reviews`] wrote, and the clients whose review failed.
pub struct Written {
    pub index: Vec<crate::output::review::IndexEntry>,
    pub failed: Vec<String>,
}

/// Build and write the reviews of `codes` for `audience`, saying each file
/// written; with `keep_going` one client's failure is reported and the rest
/// still get their review.
#[allow(clippy::too_many_arguments)]
pub fn reviews(
    config: &crate::config::Config,
    say: &dyn Fn(String),
    store: &Store,
    codes: &[String],
    q: crate::ops::review::Quarter,
    audience: crate::report::review::Audience,
    out: &std::path::Path,
    writing: &crate::output::review::Writing,
    now: i64,
    keep_going: bool,
) -> Result<Written> {
    let b = &config.s.branding;
    let reading = crate::ops::kpi::Reading {
        now,
        aged_after: config.s.kpi_aged_after_s,
        max_runtime: config.s.check_default_max_runtime_s,
        bounds: crate::ops::kpi::Bounds::LocalDays,
    };
    let limits = crate::ops::risks::limits(config);
    let names: std::collections::BTreeMap<String, String> = config
        .team
        .iter()
        .filter_map(|(l, m)| m.name.clone().map(|n| (l.clone(), n)))
        .collect();
    let mut failed = Vec::new();
    let mut index = Vec::new();
    for code in codes {
        let settings = crate::ops::review::Settings {
            audience,
            reading: &reading,
            limits: &limits,
            targets: &config.s.targets,
            act_within: config.s.act_within,
            technician: config.assignees.get(code).map(String::as_str),
            prepared_by: b.name.as_deref(),
            contact: b.contact.as_deref(),
            names: &names,
        };
        let done = crate::ops::review::build(store, code, q, &settings).and_then(|r| {
            index.push(crate::output::review::IndexEntry::of(&r));
            crate::output::review::write(&r, out, writing)
        });
        match done {
            Ok(files) => {
                for f in files {
                    say(format!("wrote {}", f.display()));
                }
            }
            Err(e) if keep_going => {
                eprintln!("bmctl: review of {code} failed: {e:#}");
                failed.push(code.clone());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Written { index, failed })
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Import {
            file,
            replace,
            reason,
            dry_run,
        } => {
            let input = crate::input::take(file, crate::input::Shape::Document("a plan"))?;
            let (name, text) = (input.name.clone(), input.text()?);
            let ctx = app.ctx("plan import")?;
            let why =
                match (replace, reason.as_deref().map(str::trim)) {
                    (false, _) => None,
                    (true, Some(r)) if !r.is_empty() => Some(r),
                    (true, _) => return Err(crate::error::rejected(
                        "--replace needs --reason: why the plan changes outside a change request",
                    )),
                };
            let out = plan::import(&mut store, &ctx, &text, &name, why, *dry_run)?;
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            if out.dry_run {
                app.say(format!(
                    "dry run: the plan of {} would be {} ({} CIs, {} policies); nothing was written",
                    out.client, out.result, out.cis, out.policies
                ));
                output::list(app.format(), &out.changes)?;
                return Ok(0);
            }
            app.say(match out.result {
                "unchanged" => format!(
                    "plan of {} is unchanged (version {})",
                    out.client,
                    out.version.unwrap_or(0)
                ),
                r => format!(
                    "plan of {} {r}: version {}, {} CIs, {} policies",
                    out.client,
                    out.version.unwrap_or(0),
                    out.cis,
                    out.policies
                ),
            });
            if app.format() != output::Format::Table {
                output::show(app.format(), &out, &[])?;
            }
        }
        Cmd::Export { client } => output::text(&plan::export(&store, client)?)?,
        Cmd::Show { client } => {
            let view = plan::show(&store, client, &app.ctx("plan show")?)?;
            match app.format() {
                output::Format::Table => {
                    output::text(&format!(
                        "plan of {} (version {}), times in {}\n",
                        view.client,
                        output::opt(&view.version),
                        view.timezone
                    ))?;
                    output::list(app.format(), &view.policies)?;
                }
                output::Format::Json => output::show(app.format(), &view, &[])?,
                output::Format::Csv => output::list(app.format(), &view.policies)?,
            }
        }
        Cmd::History { client } => output::list(app.format(), &plan::history(&store, client)?)?,
        Cmd::Review {
            client,
            all_clients,
            quarter,
            out,
            formats,
            audience,
            chromium,
        } => {
            let ctx = app.ctx("plan review")?;
            let q = crate::ops::review::Quarter::parse(quarter).ok_or_else(|| {
                crate::error::rejected(format!("--quarter '{quarter}' must look like 2026-Q4"))
            })?;
            let formats: Vec<&str> = formats
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect();
            if let Some(bad) = formats
                .iter()
                .find(|f| !["md", "html", "json", "csv", "pdf"].contains(f))
            {
                return Err(crate::error::rejected(format!(
                    "--formats: '{bad}' is not one of md, html, json, csv, pdf"
                )));
            }
            // a missing browser or logo is said before anything is written
            let browser = if formats.contains(&"pdf") {
                Some(crate::output::pdf::find(chromium.as_deref())?)
            } else {
                None
            };
            let b = &app.config.s.branding;
            let look = crate::output::review::Look::of(b)?;
            let writing = crate::output::review::Writing {
                formats: &formats,
                look: &look,
                chromium: browser.as_deref(),
            };
            let codes: Vec<String> = match (client, all_clients) {
                (Some(c), _) => vec![c.clone()],
                _ => read::clients(&store)?.into_iter().map(|c| c.code).collect(),
            };
            let say = |m: String| app.say(m);
            let done = reviews(
                &app.config,
                &say,
                &store,
                &codes,
                q,
                *audience,
                out,
                &writing,
                ctx.ts(),
                *all_clients,
            )?;
            let (index, failed) = (done.index, done.failed);
            if *all_clients {
                for f in crate::output::review::write_index(
                    out,
                    &q.label(),
                    &index,
                    &look,
                    b.name.as_deref(),
                )? {
                    app.say(format!("wrote {}", f.display()));
                }
            }
            if !failed.is_empty() {
                return Err(anyhow::anyhow!(
                    "the reviews of {} of {} clients failed: {} (the others were written)",
                    failed.len(),
                    codes.len(),
                    failed.join(", ")
                ));
            }
        }
        Cmd::Risks {
            cmd:
                Some(RisksCmd::Accept {
                    rule,
                    subject,
                    client,
                    by,
                    until,
                    ref_,
                    note,
                }),
            ..
        } => {
            let ctx = app.ctx("plan risks accept")?;
            let tz = read::client(&store, client)?.tz();
            let mut at = app.when(
                "--until",
                until,
                Some(tz),
                crate::domain::time::Span::Future,
            )?;
            if chrono::NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d").is_ok() {
                // a date is the last day it holds: until the next midnight
                let next = crate::domain::time::from_unix(at)
                    .with_timezone(&tz)
                    .date_naive()
                    + chrono::Duration::days(1);
                at = crate::domain::time::local_midnight(next, tz)?.timestamp();
            }
            let until = at;
            let a = crate::ops::people::accept(
                &mut store,
                &ctx,
                &crate::ops::people::Accept {
                    client: Some(client.as_str()),
                    rule,
                    subject,
                    by,
                    until,
                    reference: ref_,
                    note: note.as_deref(),
                },
                app.config.s.kpi_aged_after_s,
                &crate::ops::risks::limits(&app.config),
            )?;
            app.say(format!(
                "recorded: {} accepted {} on {} until {} ({})",
                a.accepted_by,
                a.rule,
                a.subject,
                crate::domain::time::local_display(a.until.0, tz),
                a.reference
            ));
            if app.format() != output::Format::Table {
                output::show(app.format(), &a, &[])?;
            }
        }
        Cmd::Risks {
            cmd: Some(RisksCmd::Withdraw { id, reason }),
            ..
        } => {
            let a = crate::ops::people::withdraw(
                &mut store,
                &app.ctx("plan risks withdraw")?,
                *id,
                reason,
            )?;
            app.say(format!(
                "withdrawn: {} on {} ({}) is a risk again",
                a.rule, a.subject, a.client
            ));
        }
        Cmd::Risks {
            cmd: Some(RisksCmd::Accepted { client }),
            ..
        } => {
            let ctx = app.ctx("plan risks accepted")?;
            output::list(
                app.format(),
                &crate::ops::people::accepted(&store, client.as_deref(), ctx.ts())?,
            )?;
        }
        Cmd::Risks {
            cmd: None,
            client,
            min_severity,
        } => {
            let ctx = app.ctx("plan risks")?;
            let min = crate::report::risks::Severity::parse(min_severity)
                .unwrap_or(crate::report::risks::Severity::Low);
            let risks = crate::ops::risks::register(
                &store,
                client.as_deref(),
                min,
                ctx.ts(),
                app.config.s.kpi_aged_after_s,
                &crate::ops::risks::limits(&app.config),
            )?;
            output::list(app.format(), &risks)?;
        }
        Cmd::Diff { client, v1, v2 } => {
            let lines = plan::diff(&store, client, *v1, *v2)?;
            if lines.is_empty() {
                app.say(format!(
                    "versions {v1} and {v2} of {client}'s plan are the same"
                ));
            }
            output::list(app.format(), &lines)?;
        }
    }
    Ok(0)
}
