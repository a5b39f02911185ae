//! `bmctl audit list`.

use anyhow::Result;
use clap::Subcommand;

use super::App;
use crate::domain::time::parse_instant;
use crate::error::rejected;
use crate::output::{self, Tabular};
use crate::store::audit::{self, AuditRow};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Recompute the hash chain; exit 1 naming the first edited, deleted or inserted row.
    Verify,
    /// Audit entries, oldest first.
    List {
        /// Only this entity type, or TYPE:ID (e.g. ci:acme/fs01, client:acme).
        #[arg(long)]
        entity: Option<String>,
        /// Only entries at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
    },
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
            crate::domain::time::rfc3339(self.at.0),
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
        Cmd::Verify => {
            let v = audit::verify(&store.conn)?;
            let pairs = [
                ("rows", v.rows.to_string()),
                (
                    "chain",
                    if v.ok {
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
                ("problem", v.problem.clone().unwrap_or_else(|| "-".into())),
            ];
            output::show(app.format(), &v, &pairs)?;
            if !v.ok {
                return Err(anyhow::anyhow!(
                    "audit chain broken at row {}: {}",
                    v.first_broken_id.unwrap_or(0),
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
                .map(|s| parse_instant(s).map_err(|e| rejected(format!("--since: {e}"))))
                .transpose()?
                .map(|t| t.timestamp());
            output::list(app.format(), &audit::list(&store.conn, etype, eid, since)?)?;
        }
    }
    Ok(0)
}
