//! `bmctl events import|ingest|list`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;

use super::{split_ref, App};
use crate::domain::time::parse_instant;
use crate::error::rejected;
use crate::ingest::neutral::InputFormat;
use crate::ingest::{borg, restic};
use crate::input::Shape;
use crate::ops::events::{self, Summary, Target};
use crate::ops::read::{self, EventFilter as Filter, EventView};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Import neutral job events (JSON lines or CSV; `-` reads stdin).
    #[command(
        after_help = "Validates the whole input first: one bad line rejects the file (exit 3, nothing written)\nunless --skip-invalid. Re-importing the same file is harmless: known runs are counted as duplicates.\n\nWith --history (onboarding a client, a backfill) every run is stored, counted and moves its policy's state,\nbut tickets wait for the end: each policy whose newest run leaves a problem gets the one ticket a live\nimport would leave open (failed or missed, escalated after enough in a row; warnings in a row; a failed\ncheck), and a good newest run recovers the open tickets it clears; problems later runs cleared get\nno ticket, and no notifications go out for them."
    )]
    Import {
        file: PathBuf,
        /// jsonl or csv [default: by extension, .csv is CSV].
        #[arg(long, value_enum)]
        input_format: Option<InputFormat>,
        /// Write the valid lines and report each rejected one (exit 0).
        #[arg(long)]
        skip_invalid: bool,
        /// Past runs (onboarding a client, a backfill): tickets only for the
        /// problems each policy's newest run leaves open, none for the ones
        /// later runs cleared.
        #[arg(long)]
        history: bool,
        /// With --history: the span's start (RFC 3339 or a date in UTC);
        /// windows from here on are expected, even before a policy existed
        /// [default: each client's earliest run, at its local midnight].
        #[arg(long, requires = "history")]
        from: Option<String>,
        /// Check the file and count what it would do (new runs, duplicates,
        /// tickets); write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Ingest a backup tool's own JSON output.
    #[command(subcommand)]
    Ingest(Tool),
    /// Take one past occurrence out of the incident rate, with a reason
    /// (audited, listed in the review).
    #[command(
        after_help = "The only way a recorded result is excused: a pause excuses what is to come. The window must\nhave closed; its ticket is withdrawn when this window was its only cause. --window takes the\noccurrence's scheduled time or any instant in its window."
    )]
    Exclude {
        /// CLIENT/JOB
        job: String,
        /// The occurrence (RFC 3339, or a date in the client's zone).
        #[arg(long)]
        window: String,
        #[arg(long)]
        reason: String,
        /// A change or ticket reference (e.g. CHG-77).
        #[arg(long = "ref")]
        reference: Option<String>,
    },
    /// Occurrences excluded from the incident rate.
    Exclusions {
        #[arg(long)]
        client: Option<String>,
    },
    /// Job events, oldest first (the latest --limit).
    List {
        #[arg(long)]
        client: Option<String>,
        /// CLIENT/JOB
        #[arg(long)]
        job: Option<String>,
        #[arg(long, value_parser = crate::cli::words(&["success", "warning", "failed", "missed", "running"]))]
        status: Option<String>,
        /// Only events that ended at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only runs of jobs the plan does not know.
        #[arg(long)]
        unmatched: bool,
        /// How many events at most (0 = all).
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Debug, clap::Args)]
pub struct ToolArgs {
    /// Every run in the input belongs to this CLIENT/JOB.
    #[arg(long, conflicts_with = "client")]
    job: Option<String>,
    /// Map runs to this client's policies by their `match` rules.
    #[arg(long)]
    client: Option<String>,
    /// The tool's output (`-` reads stdin).
    file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Tool {
    /// `restic backup --json` output (stdout and stderr) or `restic snapshots --json`.
    #[command(
        after_help = "restic 0.14's summary carries no time: the event ends at --ended, else at the file's\nmodification time (now for stdin). Snapshots carry their start time."
    )]
    Restic {
        #[command(flatten)]
        args: ToolArgs,
        /// When the backup ended (RFC 3339), for a backup summary.
        #[arg(long)]
        ended: Option<String>,
    },
    /// `borg create --json` or `borg list --json` output.
    Borg {
        #[command(flatten)]
        args: ToolArgs,
        /// Zone of borg's local times [default: the client's zone].
        #[arg(long)]
        tz: Option<String>,
    },
    /// A Bacula Director's job report (its Messages resource's mail or
    /// `mailcommand` pipe) or `bconsole` `llist jobs` output (also after `.api 2`).
    #[command(
        after_help = "A job matches the policy whose `match` names its Director and job (`match = { director = \"…\", bacula_job = \"…\" }`), else the policy of the same job name. Its key is DIRECTOR:JobId: a report and a listing of one job are one event. Type B jobs are backups, V integrity checks, R restores: a real recovery attempt of the job its report names (a listing does not say); other types are counted, not recorded.\n\nThe Director: a RunScript after the job (`Command = \"sh -c 'bconsole <<< \\\"llist jobid=%i\\\" | bmctl events ingest bacula --director %d -'\"`) or `mailcommand = \"bmctl events ingest bacula -\"` in its Messages resource."
    )]
    Bacula {
        /// The Director's zone [default: the client's zone with --client, else UTC].
        #[arg(long)]
        tz: Option<String>,
        /// The Director of a listing (a report names its own).
        #[arg(long)]
        director: Option<String>,
        /// Keep jobs no policy matches as unmatched events of this client.
        #[arg(long)]
        client: Option<String>,
        /// The report or listing (`-` reads stdin).
        file: PathBuf,
    },
    /// Report e-mails: a Maildir, an mbox, one message file, or `-` (an MTA's pipe).
    #[command(
        after_help = "Each message goes to the first recognizer that claims it: a Bacula job report, cron's mail of a restic or borg run, then the config's [[mail.rule]]s (presets veeam, synology, wsb). One none can place goes to the intake queue (`bmctl intake list`). A message is read once (by Message-ID, else a SHA-256 of it); a Maildir message moves to cur/ with the seen flag, an mbox is never changed."
    )]
    Mail {
        /// Zone of times without one in the messages [default: the sender's Date: offset].
        #[arg(long)]
        tz: Option<String>,
        /// The Maildir, mbox or message file (`-` reads one message on stdin).
        path: PathBuf,
    },
    /// JSON a tool prints, read by a `[[json.source]]` of the config (presets: pbs, kopia, veeam).
    Json {
        /// The `[[json.source]]` by name.
        #[arg(long)]
        source: String,
        /// The document (`-` reads stdin).
        file: PathBuf,
    },
}

impl Tabular for read::Exclusion {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "client",
            "job",
            "occurrence",
            "outcome",
            "reason",
            "ref",
            "by",
            "at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let t = |v: crate::domain::time::Ts| output::at(v.0);
        vec![
            self.id.to_string(),
            self.client.clone(),
            self.job.clone(),
            t(self.occurrence_at),
            self.outcome.clone(),
            self.reason.clone(),
            output::opt(&self.reference),
            self.actor.clone(),
            t(self.at),
        ]
    }
}

impl Tabular for EventView {
    fn headers() -> Vec<&'static str> {
        vec![
            "client", "job", "op", "status", "started", "ended", "bytes", "files", "id", "message",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let t = |v: &Option<crate::domain::time::Ts>| {
            v.map(|t| output::at(t.0)).unwrap_or_else(|| "-".into())
        };
        vec![
            self.client.clone(),
            if self.matched {
                self.job.clone()
            } else {
                format!("{} (unmatched)", self.job)
            },
            self.operation.clone(),
            self.status.clone(),
            t(&self.started_at),
            t(&self.ended_at),
            output::opt(&self.bytes),
            output::opt(&self.files),
            output::opt(&self.external_id),
            self.message
                .as_deref()
                .map(|m| output::local_text(m).chars().take(60).collect())
                .unwrap_or_else(|| "-".into()),
        ]
    }
}

/// Print an ingestion summary: a line for people, the object for scripts.
fn print_mail(app: &App, m: &crate::ops::mail::MailSummary) -> Result<u8> {
    for h in &m.runs.holds {
        eprintln!("bmctl: warning: {h}");
    }
    if m.intake > 0 {
        eprintln!(
            "bmctl: {} {} in the intake queue (`bmctl intake list`)",
            m.intake,
            if m.intake == 1 {
                "message waits"
            } else {
                "messages wait"
            }
        );
    }
    if app.quiet_table() {
        return Ok(0);
    }
    let r = &m.runs;
    let pairs = [
        ("messages", m.messages.to_string()),
        ("seen before", m.seen_before.to_string()),
        ("with runs", m.recorded.to_string()),
        ("notices", m.skipped.to_string()),
        ("to the intake", m.intake.to_string()),
        ("runs new", r.new.to_string()),
        ("runs duplicate", r.duplicate.to_string()),
        ("runs unmatched", r.unmatched.to_string()),
        ("tickets_opened", r.tickets.tickets_opened.to_string()),
    ];
    output::show(app.format(), m, &pairs)?;
    Ok(0)
}

pub fn print_summary(app: &App, s: &Summary) -> Result<()> {
    for r in &s.rejections {
        app.say(format!("rejected: {r}"));
    }
    // Loud even under --quiet: a clock ahead would otherwise silence a policy.
    for h in &s.holds {
        eprintln!("bmctl: warning: {h}");
    }
    if s.pruned > 0 {
        eprintln!(
            "bmctl: warning: {} runs fall on days removed by `db prune`; the rollups hold their counts already, so they were not stored again",
            s.pruned
        );
    }
    for c in &s.conflicts {
        eprintln!("bmctl: warning: a known run came again with other facts: {c}");
    }
    if app.quiet_table() {
        let t = &s.tickets;
        if t.tickets_opened + t.tickets_updated > 0 {
            eprintln!(
                "bmctl: {} tickets opened, {} updated by these runs (`bmctl correct list`)",
                t.tickets_opened, t.tickets_updated
            );
        }
        return Ok(());
    }
    let pairs = [
        ("read", s.read.to_string()),
        ("new", s.new.to_string()),
        ("duplicate", s.duplicate.to_string()),
        ("unmatched", s.unmatched.to_string()),
        ("rejected", s.rejected.to_string()),
        ("held", s.held.to_string()),
        ("conflicting", s.conflicting.to_string()),
        ("pruned", s.pruned.to_string()),
        ("running", s.running.to_string()),
        ("missed (history span)", s.missed.to_string()),
        ("tickets_opened", s.tickets.tickets_opened.to_string()),
        ("tickets_updated", s.tickets.tickets_updated.to_string()),
        ("tickets_resolved", s.tickets.tickets_resolved.to_string()),
    ];
    output::show(app.format(), s, &pairs)
}

/// Read a tool's output (a file, a pipe or stdin) whole, within its limit.
fn read_text(file: &Path) -> Result<(String, String, Option<std::time::SystemTime>)> {
    let input = crate::input::take(file, Shape::Document("a tool's JSON output"))?;
    let text = input.text()?;
    Ok((input.name, text, input.mtime))
}

fn target(args: &ToolArgs) -> Result<Target> {
    match (&args.job, &args.client) {
        (Some(j), _) => {
            let (c, j) = split_ref("--job", j)?;
            Ok(Target::Job { client: c.into(), job: j.into() })
        }
        (None, Some(c)) => Ok(Target::Client(c.clone())),
        (None, None) => Err(rejected("say whose runs these are: --job CLIENT/JOB, or --client CLIENT to match by the plan's `match` rules")),
    }
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Import {
            file,
            input_format,
            skip_invalid,
            history,
            from,
            dry_run,
        } => {
            let ctx = app.ctx("events import")?;
            let history_from = from
                .as_deref()
                .map(|f| {
                    app.when(
                        "--from",
                        f,
                        Some(chrono_tz::UTC),
                        crate::domain::time::Span::Past,
                    )
                })
                .transpose()?;
            // stdin and pipes are spooled once to a private file, then validated whole
            let taken = crate::input::take(file, Shape::Lines)?;
            let (path, name) = (taken.path().to_path_buf(), taken.name.clone());
            let format = input_format.unwrap_or_else(|| InputFormat::guess(&name));
            let show_progress = std::io::stderr().is_terminal() && !app.cli.quiet;
            let input = events::Input {
                path: &path,
                name: &name,
                format,
                skip_invalid: *skip_invalid,
                history: *history,
                history_from,
                dry_run: *dry_run,
            };
            // A progress bar on a terminal for large inputs; nothing when piped.
            let bar = show_progress.then(|| {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("importing {name} ({:.1} MB)", size as f64 / 1e6));
                bar
            });
            let s = events::import(&mut store, &ctx, &input, |n| {
                if let Some(b) = &bar {
                    b.set_message(format!("{n} events written"));
                    b.tick();
                }
            })?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if *dry_run {
                app.say("dry run: the counts are what the import would do; nothing was written");
            }
            print_summary(app, &s)?;
        }
        Cmd::Ingest(tool) => {
            let ctx = app.ctx("events ingest")?;
            let mut skipped = 0;
            let mut mail: Option<crate::ops::mail::MailSummary> = None;
            let mut restores: Option<crate::ops::bacula::Restores> = None;
            let evs = match tool {
                Tool::Mail { tz, path } => {
                    let zone = tz
                        .as_deref()
                        .map(|z| {
                            crate::domain::time::parse_tz(z)
                                .map_err(|e| rejected(format!("--tz: {e}")))
                        })
                        .transpose()?;
                    let msgs = crate::ops::mail::messages(path)?;
                    mail = Some(crate::ops::mail::ingest(
                        &mut store,
                        &ctx,
                        msgs,
                        &app.config.mail_rules,
                        zone,
                    )?);
                    Vec::new()
                }
                Tool::Restic { args, ended } => {
                    let (name, text, mtime) = read_text(&args.file)?;
                    let runs = restic::parse(&text).map_err(|r| rejected(r.describe(&name)))?;
                    let ended = match ended {
                        Some(t) => Some(
                            parse_instant(t)
                                .map_err(|e| rejected(format!("--ended: {e}")))?
                                .timestamp(),
                        ),
                        None => mtime.map(|m| chrono::DateTime::<chrono::Utc>::from(m).timestamp()),
                    };
                    let runs = runs
                        .into_iter()
                        .map(|mut r| {
                            r.ended_at = r.ended_at.or(ended);
                            r
                        })
                        .collect();
                    events::map_tool_runs(&store, "restic", &target(args)?, runs, ctx.ts())?
                }
                Tool::Borg { args, tz } => {
                    let (name, text, _) = read_text(&args.file)?;
                    let zone = match (tz, &args.job, &args.client) {
                        (Some(z), _, _) => crate::domain::time::parse_tz(z)
                            .map_err(|e| rejected(format!("--tz: {e}")))?,
                        (None, Some(j), _) => read::client(&store, split_ref("--job", j)?.0)?.tz(),
                        (None, None, Some(c)) => read::client(&store, c)?.tz(),
                        _ => chrono_tz::UTC,
                    };
                    let runs = borg::parse(&text, zone).map_err(|r| rejected(r.describe(&name)))?;
                    events::map_tool_runs(&store, "borg", &target(args)?, runs, ctx.ts())?
                }
                Tool::Bacula {
                    tz,
                    director,
                    client,
                    file,
                } => {
                    let input = crate::input::take(
                        file,
                        Shape::Document("a Bacula job report or bconsole listing"),
                    )?;
                    let (name, text) = (input.name.clone(), input.text()?);
                    let zone = match (tz, client) {
                        (Some(z), _) => crate::domain::time::parse_tz(z)
                            .map_err(|e| rejected(format!("--tz: {e}")))?,
                        (None, Some(c)) => read::client(&store, c)?.tz(),
                        _ => chrono_tz::UTC,
                    };
                    let parsed = crate::ingest::bacula::parse(&text, zone, director.as_deref())
                        .map_err(|r| rejected(r.describe(&name)))?;
                    skipped = parsed.skipped;
                    let runs: Vec<_> = parsed.runs.iter().cloned().map(|r| (None, r)).collect();
                    let evs = events::map_named_runs(&store, "bacula", client.as_deref(), runs)?;
                    crate::ops::bacula::remember(&mut store, &parsed.runs)?;
                    restores = Some(crate::ops::bacula::restores(
                        &mut store,
                        &ctx,
                        parsed.restores,
                    )?);
                    evs
                }
                Tool::Json { source, file } => {
                    let src = app
                        .config
                        .json_sources
                        .iter()
                        .find(|s| s.name == *source)
                        .ok_or_else(|| {
                            let known: Vec<&str> =
                                app.config.json_sources.iter().map(|s| s.name.as_str()).collect();
                            rejected(format!(
                                "--source: no [[json.source]] named '{source}' in the config (known: {})",
                                if known.is_empty() { "none".to_string() } else { known.join(", ") }
                            ))
                        })?
                        .resolved()
                        .map_err(rejected)?;
                    let input = crate::input::take(file, Shape::Document("a tool's JSON output"))?;
                    let (name, text) = (input.name.clone(), input.text()?);
                    let parsed = crate::ingest::json_map::parse(&text, &src)
                        .map_err(|r| rejected(r.describe(&name)))?;
                    skipped = parsed.skipped;
                    let runs = parsed.runs.into_iter().map(|(c, r)| (Some(c), r)).collect();
                    events::map_named_runs(&store, &format!("json:{source}"), None, runs)?
                }
            };
            if let Some(m) = mail.take() {
                return print_mail(app, &m);
            }
            let s = events::ingest(&mut store, &ctx, &evs)?;
            print_summary(app, &s)?;
            if let Some(r) = restores {
                for why in &r.unplaced {
                    eprintln!("bmctl: warning: {why}; not recorded");
                }
                if r.recorded + r.known > 0 {
                    app.say(format!(
                        "restores: {} recorded as real recovery attempts, {} recorded before",
                        r.recorded, r.known
                    ));
                }
            }
            if skipped > 0 {
                app.say(format!(
                    "skipped: {skipped} items of other kinds (verify or prune tasks of other tools, admin or copy jobs)"
                ));
            }
        }
        Cmd::Exclude {
            job,
            window,
            reason,
            reference,
        } => {
            let (c, j) = split_ref("CLIENT/JOB", job)?;
            let tz = read::client(&store, c)?.tz();
            let when = crate::domain::time::parse_instant_or_date(window, tz)
                .map_err(|e| rejected(format!("--window: {e}")))?
                .timestamp();
            let ctx = app.ctx("events exclude")?;
            let x = crate::ops::exclude::exclude(
                &mut store,
                &ctx,
                c,
                j,
                when,
                reason,
                reference.as_deref(),
            )?;
            app.say(format!(
                "excluded {}/{} {} ({}) from the incident rate: {}",
                x.client,
                x.job,
                crate::domain::time::local_display(x.occurrence_at.0, tz),
                x.outcome,
                x.reason
            ));
            if app.format() != output::Format::Table {
                output::show(app.format(), &x, &[])?;
            }
        }
        Cmd::Exclusions { client } => {
            let id = client
                .as_deref()
                .map(|c| read::client(&store, c).map(|c| c.id))
                .transpose()?;
            let all = read::exclusions(&store, id, i64::MIN / 4, i64::MAX / 4)?;
            output::list(app.format(), &all)?;
        }
        Cmd::List {
            client,
            job,
            status,
            since,
            unmatched,
            limit,
        } => {
            let status = status
                .as_deref()
                .map(|s| {
                    crate::domain::event::Status::parse(s)
                        .map_err(|e| rejected(format!("--status: {e}")))
                })
                .transpose()?;
            let mut f = Filter {
                limit: *limit,
                unmatched: *unmatched,
                status,
                ..Filter::default()
            };
            if let Some(c) = client {
                f.client_id = Some(read::client(&store, c)?.id);
            }
            if let Some(j) = job {
                // CLIENT/JOB, or a bare JOB of --client
                let (c, j) = match (j.split_once('/'), client) {
                    (None, Some(c)) => (c.as_str(), j.as_str()),
                    _ => split_ref("--job", j)?,
                };
                let cl = read::client(&store, c)?;
                f.client_id = Some(cl.id);
                f.policy_id = Some(read::policy(&store, &cl, j)?.id);
            }
            if let Some(s) = since {
                let tz = match f.client_id {
                    Some(id) => Some(read::client_by_id(&store, id)?.tz()),
                    None => None,
                };
                f.since = Some(app.when("--since", s, tz, crate::domain::time::Span::Past)?);
            }
            // one client's events in its zone
            if let Some(id) = f.client_id {
                output::set_table_tz(read::client_by_id(&store, id)?.tz());
            }
            output::list(app.format(), &read::events(&store, &f)?)?;
        }
    }
    Ok(0)
}
