//! `bmctl audit list`.

use anyhow::Result;
use clap::Subcommand;

use super::App;
use crate::error::rejected;
use crate::ops::read::{self, AuditRow};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Recompute the hash chain; exit 1 naming the first edited, deleted or inserted row.
    #[command(
        after_help = "With --since FILE, also against every checkpoint of this database in FILE
(see `audit checkpoint`): a truncated or re-hashed log, a row inserted before a checkpoint's
head, and a row appended after it with a time before it are found.
With --deep, also the tables against the log: tickets, changes, pauses, restore attempts,
clients, CIs and policies re-derived from their audit rows, and the events against the
digests their import batches recorded; a row edited outside bmctl is named."
    )]
    Verify {
        /// A checkpoint file written by `audit checkpoint`.
        #[arg(long, value_name = "FILE")]
        since: Option<std::path::PathBuf>,
        /// Also re-derive the business rows from the audit log and check the events.
        #[arg(long)]
        deep: bool,
    },
    /// Anchor the chain's head (row count, hash, wall-clock time) outside the
    /// database: appended to a file (default: audit.checkpoint_file) and handed
    /// to audit.checkpoint_hook (e.g. ["logger", "-t", "bmctl-audit"]).
    Checkpoint {
        /// The file to append to [default: audit.checkpoint_file].
        #[arg(long, value_name = "FILE")]
        to: Option<std::path::PathBuf>,
    },
    /// Audit entries, oldest first.
    List {
        /// Only this entity type, or TYPE:ID (e.g. ci:acme/fs01, client:acme).
        #[arg(long, value_parser = entity_arg)]
        entity: Option<String>,
        /// Only entries at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
    },
}

/// `--entity TYPE[:ID]` with a TYPE the audit log knows: a usage error otherwise.
fn entity_arg(text: &str) -> Result<String, String> {
    let kind = text.split(':').next().unwrap_or("");
    let types = crate::ops::read::AUDIT_ENTITY_TYPES;
    if types.contains(&kind) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "'{kind}' is not an entity type of the audit log ({})",
            types.join(", ")
        ))
    }
}

fn brief(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "-".into(),
        Some(serde_json::Value::String(s)) => format!("{} bytes of text", s.len()),
        Some(v) => v.to_string(),
    }
}

impl Tabular for AuditRow {
    fn headers() -> Vec<&'static str> {
        vec!["id", "at", "actor", "command", "entity", "before", "after"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            output::at(self.at.0),
            self.actor.clone(),
            self.command.clone(),
            format!("{}:{}", self.entity_type, self.entity_id),
            brief(&self.before),
            brief(&self.after),
        ]
    }
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let store = app.store()?;
    match cmd {
        Cmd::Checkpoint { to } => {
            app.ctx("audit checkpoint")?;
            let file = match to {
                Some(f) => f.clone(),
                None => checkpoint_file(app)?,
            };
            if file.parent() == store.path.parent() && file.parent().is_some() {
                app.say("bmctl: warning: the checkpoint file is beside the database: whoever can rewrite one can rewrite both; keep it elsewhere");
            }
            let cp = Checkpoint {
                db: db_name(&store.path),
                head: read::audit_head(&store)?,
                wall_at: crate::clock::wall(),
            };
            let line = serde_json::to_string(&cp)?;
            append_private(&file, &line)?;
            let hook = app.config.s.audit_checkpoint_hook.clone();
            if let Some((cmd, args)) = hook.split_first() {
                use std::io::Write;
                let mut child = std::process::Command::new(cmd)
                    .args(args)
                    .stdin(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| anyhow::anyhow!("audit.checkpoint_hook `{cmd}`: {e}"))?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(format!("{line}\n").as_bytes())?;
                }
                let st = child.wait()?;
                if !st.success() {
                    return Err(anyhow::anyhow!(
                        "audit.checkpoint_hook `{cmd}` failed: {st}"
                    ));
                }
            }
            output::text(&format!("{line}\n"))?;
            app.say(format!("checkpoint appended to {}", file.display()));
        }
        Cmd::Verify { since, deep } => {
            let mut v = read::audit_verify(&store)?;
            if let Some(f) = since {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| anyhow::anyhow!("reading checkpoints {}: {e}", f.display()))?;
                let me = db_name(&store.path);
                let mut found = 0;
                for (n, l) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let cp: Checkpoint = serde_json::from_str(l).map_err(|e| {
                        rejected(format!("{}:{}: not a checkpoint: {e}", f.display(), n + 1))
                    })?;
                    if cp.db != me {
                        continue;
                    }
                    found += 1;
                    let problems = read::audit_against(&store, &cp.head, cp.wall_at)?;
                    if !problems.is_empty() && v.ok {
                        v.ok = false;
                        v.problem = Some(format!(
                            "against the checkpoint of {} ({}:{}): {}",
                            crate::domain::time::rfc3339(cp.wall_at),
                            f.display(),
                            n + 1,
                            problems.join("; ")
                        ));
                    }
                }
                if found == 0 {
                    return Err(rejected(format!(
                        "{} holds no checkpoint of {me}",
                        f.display()
                    )));
                }
            }
            let chain_ok = v.ok;
            let mut tables = None;
            if *deep && v.ok {
                let found = crate::ops::deep::verify(&store)?;
                tables = Some(if found.is_empty() {
                    "match the audit log"
                } else {
                    "DIFFER from the audit log"
                });
                if !found.is_empty() {
                    v.ok = false;
                    v.problem = Some(format!(
                        "the tables differ from the audit log: {}",
                        found.join("; ")
                    ));
                }
            }
            let mut pairs = vec![
                ("rows", v.rows.to_string()),
                (
                    "chain",
                    if chain_ok {
                        "intact".into()
                    } else {
                        "BROKEN".into()
                    },
                ),
                (
                    "first_broken_id",
                    v.first_broken_id
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
            ];
            if let Some(t) = tables {
                pairs.push(("tables", t.into()));
            }
            pairs.push(("problem", v.problem.clone().unwrap_or_else(|| "-".into())));
            output::show(app.format(), &v, &pairs)?;
            if !v.ok {
                return Err(anyhow::anyhow!(
                    "audit log does not verify: {}",
                    v.problem.unwrap_or_default()
                ));
            }
        }
        Cmd::List { entity, since } => {
            let (etype, eid) = match entity.as_deref().map(|e| {
                e.split_once(':')
                    .map(|(a, b)| (a, Some(b)))
                    .unwrap_or((e, None))
            }) {
                Some((t, i)) => (Some(t), i),
                None => (None, None),
            };
            let since = since
                .as_deref()
                .map(|s| app.when("--since", s, None, crate::domain::time::Span::Past))
                .transpose()?;
            output::list(app.format(), &read::audit_rows(&store, etype, eid, since)?)?;
        }
    }
    Ok(0)
}

/// One line of a checkpoint file.
#[derive(serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    /// The database it anchors (its path as opened), so one file serves several.
    db: String,
    #[serde(flatten)]
    head: read::Head,
    wall_at: i64,
}

fn db_name(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// `audit.checkpoint_file`, else the platform's state folder: not the
/// database's own folder.
fn checkpoint_file(app: &App) -> Result<std::path::PathBuf> {
    if let Some(set) = &app.config.s.audit_checkpoint_file {
        return Ok(set.clone());
    }
    Ok(dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .ok_or_else(|| anyhow::anyhow!("no state folder on this platform; give --to FILE"))?
        .join("bmctl")
        .join("audit-checkpoints.jsonl"))
}

fn append_private(file: &std::path::Path, line: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| anyhow::anyhow!("writing checkpoint {}: {e}", file.display()))?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_data()?;
    Ok(())
}
