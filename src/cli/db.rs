//! `bmctl db path|check|backup`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::App;
use crate::ops::db;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print the database path in use.
    Path,
    /// SQLite's integrity and foreign-key checks; exit 1 when anything is wrong.
    Check,
    /// Delete job events that ended before DATE; KPIs keep their counts (rollups).
    Prune {
        /// A date (midnight UTC) or an RFC 3339 instant, no later than the
        /// start of the previous full quarter.
        #[arg(long)]
        before: String,
    },
    /// Rebuild what can be recomputed: `--rollups`, the run counts of the
    /// daily rollups from the events (days touched by `db prune` stay).
    Repair {
        /// The daily rollups' run counts.
        #[arg(long, required = true)]
        rollups: bool,
    },
    /// Take an online copy of the database (mode 0600).
    Backup {
        file: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Who owns the file: on a shared host, the service account, so no
/// technician can write it except through bmctl.
fn owner(app: &App, store: &crate::ops::read::Store) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&store.path) else {
        return "-".into();
    };
    let who = crate::identity::login_of(meta.uid());
    match &app.mode {
        crate::identity::Mode::Sudo { service, .. }
        | crate::identity::Mode::Service { login: service }
            if &who != service =>
        {
            format!(
                "{who}: not the service account '{service}'; a technician may write it directly — fix with `chown {service} {}`",
                store.path.display()
            )
        }
        _ => who,
    }
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    match cmd {
        Cmd::Path => {
            let path = app.config.db_path()?.display().to_string();
            match app.format() {
                output::Format::Table => output::text(&format!("{path}\n"))?,
                f => output::show(f, &serde_json::json!({ "path": path }), &[])?,
            }
            Ok(0)
        }
        Cmd::Check => {
            let store = app.store()?;
            let r = db::check(&store)?;
            let pairs = [
                ("path", r.path.clone()),
                ("schema_version", r.schema_version.to_string()),
                ("integrity", r.integrity.join("; ")),
                (
                    "foreign_keys",
                    if r.foreign_key_violations.is_empty() {
                        "ok".into()
                    } else {
                        r.foreign_key_violations.join("; ")
                    },
                ),
                ("mode", r.mode.clone()),
                ("owner", owner(app, &store)),
                (
                    "rollups",
                    if r.rollups.differences.is_empty() {
                        format!("ok ({} client days checked)", r.rollups.days_checked)
                    } else {
                        format!(
                            "{} of {} client days differ from the events: {}; rebuild with `bmctl db repair --rollups`",
                            r.rollups.differences.len(),
                            r.rollups.days_checked,
                            r.rollups
                                .differences
                                .iter()
                                .map(|d| {
                                    let (s, f) = (&d.stored, &d.recomputed);
                                    let mut what = Vec::new();
                                    if (s.runs, s.runs_success, s.runs_warning, s.runs_failed, s.bytes)
                                        != (f.runs, f.runs_success, f.runs_warning, f.runs_failed, f.bytes)
                                    {
                                        what.push(format!("runs {} (events say {})", s.runs, f.runs));
                                    }
                                    let occ = |c: &crate::ops::read::RunCounts| {
                                        format!(
                                            "{} expected: {} ok, {} warning, {} failed, {} missed",
                                            c.expected, c.occ_success, c.occ_warning, c.occ_failed, c.occ_missed
                                        )
                                    };
                                    if occ(s) != occ(f) {
                                        what.push(format!("{} (runs and schedules say {})", occ(s), occ(f)));
                                    }
                                    format!("{} {} {}", d.client, d.date, what.join(", "))
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    },
                ),
                (
                    "rollups_pruned",
                    if r.rollups.days_pruned.is_empty() {
                        "-".into()
                    } else {
                        format!(
                            "{} client days pruned (kept as counted): {}",
                            r.rollups.days_pruned.len(),
                            r.rollups.days_pruned.join(", ")
                        )
                    },
                ),
                ("result", if r.ok { "ok" } else { "PROBLEMS FOUND" }.into()),
            ];
            output::show(app.format(), &r, &pairs)?;
            Ok(if r.ok { 0 } else { 1 })
        }
        Cmd::Repair { rollups: _ } => {
            let mut store = app.store()?;
            let ctx = app.ctx("db repair")?;
            let r = db::repair_rollups(&mut store, &ctx)?;
            app.say(format!(
                "rebuilt {} of {} client days of the rollups from the events",
                r.differences.len(),
                r.days_checked
            ));
            output::list(app.format(), &r.differences)?;
            Ok(0)
        }
        Cmd::Prune { before } => {
            let mut store = app.store()?;
            let ctx = app.ctx("db prune")?;
            let t = app.when("--before", before, None, crate::domain::time::Span::Past)?;
            let n = db::prune_count(&store, t)?;
            if crate::prompt::interactive(app.cli.yes) {
                let limit = db::prune_limit(&store, ctx.ts())?;
                if t <= limit
                    && !crate::prompt::confirm(&format!(
                        "Delete {n} events that ended before {} (their counts stay in the rollups)?",
                        output::at(t)
                    ))?
                {
                    app.say("nothing deleted");
                    return Ok(0);
                }
            } else if !app.cli.yes {
                return Err(crate::error::refused(format!(
                    "db prune deletes {n} events for good: pass --yes to confirm (asked on a terminal)"
                )));
            }
            let r = db::prune(&mut store, &ctx, t)?;
            let pairs = [
                ("events_deleted", r.events_deleted.to_string()),
                ("bytes_before", r.bytes_before.to_string()),
                ("bytes_after", r.bytes_after.to_string()),
            ];
            output::show(app.format(), &r, &pairs)?;
            Ok(0)
        }
        Cmd::Backup { file, force } => {
            app.ctx("db backup")?;
            let store = app.store()?;
            db::backup(&store, file, *force)?;
            app.say(format!(
                "copied {} to {}",
                store.path.display(),
                file.display()
            ));
            Ok(0)
        }
    }
}

impl output::Tabular for db::RollupDifference {
    fn headers() -> Vec<&'static str> {
        vec![
            "client",
            "date",
            "runs (was)",
            "runs",
            "bytes (was)",
            "bytes",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.date.clone(),
            self.stored.runs.to_string(),
            self.recomputed.runs.to_string(),
            self.stored.bytes.to_string(),
            self.recomputed.bytes.to_string(),
        ]
    }
}
