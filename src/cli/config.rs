//! `bmctl config show`.

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use super::App;
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Effective settings and where each came from.
    Show,
}

#[derive(Serialize)]
struct Row {
    key: String,
    value: String,
    source: String,
    meaning: String,
}

impl Tabular for Row {
    fn headers() -> Vec<&'static str> {
        vec!["key", "value", "source", "meaning"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            self.value.clone(),
            self.source.clone(),
            self.meaning.clone(),
        ]
    }
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    match cmd {
        Cmd::Show => {
            let mut rows: Vec<Row> = app
                .config
                .effective()
                .into_iter()
                .map(|(e, help)| Row {
                    key: e.key,
                    value: e.value,
                    source: e.source,
                    meaning: help.to_string(),
                })
                .collect();
            if let Some(r) = rows
                .iter_mut()
                .find(|r| r.key == "database.path" && r.value.is_empty())
            {
                r.value = app.config.db_path()?.display().to_string();
            }
            for (login, m) in &app.config.team {
                rows.push(Row {
                    key: format!("team.{login}"),
                    value: [
                        m.name.clone(),
                        m.email.as_ref().map(|e| format!("<{e}>")),
                        (!m.roles.is_empty()).then(|| {
                            format!(
                                "roles: {}",
                                m.roles
                                    .iter()
                                    .map(|r| r.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                    source: app
                        .config
                        .file
                        .as_ref()
                        .map(|f| format!("file {}", f.display()))
                        .unwrap_or_default(),
                    meaning: "a person work is assigned to (login)".into(),
                });
            }
            for (client, user) in &app.config.assignees {
                rows.push(Row {
                    key: format!("assignees.{client}"),
                    value: user.clone(),
                    source: "file".into(),
                    meaning: "default assignee of this client's tickets".into(),
                });
            }
            rows.push(Row {
                key: "roles".into(),
                value: if app.config.roles_configured() {
                    "from [team.LOGIN] roles: each command needs its role (README, Roles)".into()
                } else {
                    "none configured: every command is allowed to everyone".into()
                },
                source: app
                    .config
                    .file
                    .as_ref()
                    .map(|f| format!("file {}", f.display()))
                    .unwrap_or_else(|| "default".into()),
                meaning: "who may do what".into(),
            });
            let actor_source = if app.cli.actor.is_some() {
                "flag --actor or env BMCTL_ACTOR"
            } else {
                "login name"
            };
            rows.push(Row {
                key: "actor".into(),
                value: app.actor(),
                source: actor_source.into(),
                meaning: "who is acting, for the audit log".into(),
            });
            rows.push(Row {
                key: "config_file".into(),
                value: app
                    .config
                    .file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(none)".into()),
                source: if app.cli.config.is_some() {
                    "flag --config or env BMCTL_CONFIG".into()
                } else {
                    "platform config folder".into()
                },
                meaning: "where settings were read from".into(),
            });
            // A database that does not exist yet is a fact to show, not an error.
            // (a PostgreSQL URL is no file: nothing to open yet)
            let path = app.config.db_path().unwrap_or_default();
            let travel = match (path.exists() && path.is_file()).then(|| app.store()) {
                None => "(no database yet)".to_string(),
                Some(Ok(s)) if s.time_travel => "allowed".to_string(),
                Some(Ok(_)) => "refused".to_string(),
                Some(Err(e)) => format!("(cannot open the database: {e:#})"),
            };
            rows.push(Row {
                key: "time_travel".into(),
                value: travel,
                source: "database".into(),
                meaning:
                    "whether writes may honour --now (set by `init --allow-time-travel` or `demo`)"
                        .into(),
            });
            output::list(app.format(), &rows)?;
            Ok(0)
        }
    }
}
