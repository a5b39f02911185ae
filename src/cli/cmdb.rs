//! `bmctl cmdb add|list|show|edit|retire|import`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::{split_ref, App};
use crate::domain::ci::BackupStatus;
use crate::domain::plan::CiSpec;
use crate::error::rejected;
use crate::ops::cmdb::{self, CiEdit};
use crate::ops::read::{self, CiRow};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Add a configuration item.
    Add {
        /// The new CI, as CLIENT/HOST.
        #[arg(value_name = "CLIENT/HOST")]
        host: String,
        /// Client code (deprecated: give the CI as CLIENT/HOST).
        #[arg(long, hide = true)]
        client: Option<String>,
        /// server, vm, workstation, laptop, database, saas, nas, network or other.
        #[arg(long, value_parser = crate::cli::words(crate::domain::ci::CI_KINDS))]
        kind: String,
        /// Criticality: 1 (critical), 2 or 3.
        #[arg(long)]
        tier: i64,
        #[arg(long)]
        os: Option<String>,
        #[arg(long)]
        role: Option<String>,
    },
    /// Configuration items, by client and host.
    List {
        #[arg(long)]
        client: Option<String>,
        /// Only active CIs with no backup policy and no recorded exclusion.
        #[arg(long)]
        unprotected: bool,
    },
    /// One configuration item (CLIENT/HOST).
    Show { ci: String },
    /// Change a configuration item (CLIENT/HOST).
    Edit {
        ci: String,
        #[arg(long, value_parser = crate::cli::words(crate::domain::ci::CI_KINDS))]
        kind: Option<String>,
        #[arg(long)]
        tier: Option<i64>,
        #[arg(long)]
        os: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Record that this CI is deliberately not backed up, and why.
        #[arg(long, value_name = "REASON", conflicts_with = "include")]
        exclude: Option<String>,
        /// Remove a recorded exclusion.
        #[arg(long)]
        include: bool,
    },
    /// Retire a configuration item that has no active policy (CLIENT/HOST).
    Retire { ci: String },
    /// Import CIs from CSV (header client,host,kind,tier,os,role); idempotent.
    Import { file: PathBuf },
}

impl Tabular for CiRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "client",
            "host",
            "kind",
            "tier",
            "os",
            "role",
            "status",
            "backup_status",
            "policies",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.host.clone(),
            self.kind.clone(),
            self.tier.to_string(),
            output::opt(&self.os),
            output::opt(&self.role),
            self.status.to_string(),
            match &self.excluded {
                Some(r) if self.backup_status == BackupStatus::Excluded => {
                    format!("excluded ({r})")
                }
                _ => self.backup_status.to_string(),
            },
            self.policies.to_string(),
        ]
    }
}

fn show(app: &App, ci: &CiRow) -> Result<()> {
    let mut pairs: Vec<(&str, String)> = CiRow::headers().into_iter().zip(ci.cells()).collect();
    pairs.push(("last_change_ref", output::opt(&ci.last_change_ref)));
    output::show(app.format(), ci, &pairs)
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Add {
            client,
            host,
            kind,
            tier,
            os,
            role,
        } => {
            let (client, host) = match (host.split_once('/'), client) {
                (Some((c, h)), None) => (c.to_string(), h.to_string()),
                (None, Some(c)) => {
                    crate::cli::deprecated(
                        &format!("bmctl cmdb add --client {c} {host}"),
                        &format!("bmctl cmdb add {c}/{host}"),
                    );
                    (c.clone(), host.clone())
                }
                (Some(_), Some(_)) => {
                    return Err(rejected(format!(
                        "'{host}' names its client: leave out --client"
                    )))
                }
                (None, None) => {
                    return Err(rejected(format!(
                        "'{host}' must look like CLIENT/HOST (e.g. acme/fs02)"
                    )))
                }
            };
            let client = &client;
            let spec = CiSpec {
                host,
                kind: kind.clone(),
                tier: *tier,
                os: os.clone(),
                role: role.clone(),
                excluded: None,
            };
            let row = cmdb::add(&mut store, &app.ctx("cmdb add")?, client, spec)?;
            app.say(format!(
                "added CI {}/{} ({})",
                row.client, row.host, row.backup_status
            ));
            show(app, &row)?;
        }
        Cmd::List {
            client,
            unprotected,
        } => {
            let client_id = read::client_id(&store, client.as_deref())?;
            let rows: Vec<CiRow> = read::cis(&store, client_id)?
                .into_iter()
                .filter(|c| !unprotected || c.backup_status == BackupStatus::Unprotected)
                .collect();
            output::list(app.format(), &rows)?;
        }
        Cmd::Show { ci } => {
            let (client, host) = split_ref("CI", ci)?;
            show(app, &cmdb::show(&store, client, host)?)?;
        }
        Cmd::Edit {
            ci,
            kind,
            tier,
            os,
            role,
            exclude,
            include,
        } => {
            let (client, host) = split_ref("CI", ci)?;
            let edit = CiEdit {
                kind: kind.clone(),
                tier: *tier,
                os: os.clone().map(Some),
                role: role.clone().map(Some),
                excluded: if *include {
                    Some(None)
                } else {
                    exclude.clone().map(Some)
                },
            };
            let row = cmdb::edit(&mut store, &app.ctx("cmdb edit")?, client, host, edit)?;
            show(app, &row)?;
        }
        Cmd::Retire { ci } => {
            let (client, host) = split_ref("CI", ci)?;
            let row = cmdb::retire(&mut store, &app.ctx("cmdb retire")?, client, host)?;
            app.say(format!("retired CI {}/{}", row.client, row.host));
        }
        Cmd::Import { file } => {
            // read whole before the write lock: a slow pipe keeps no writer waiting
            let taken = crate::input::take(file, crate::input::Shape::Document("a CMDB CSV"))?;
            let name = taken.name.clone();
            let bytes = std::fs::read(taken.path()).with_context(|| format!("reading {name}"))?;
            let report = cmdb::import_csv(&mut store, &app.ctx("cmdb import")?, &bytes[..], &name)?;
            let pairs = [
                ("added", report.added.to_string()),
                ("updated", report.updated.to_string()),
                ("unchanged", report.unchanged.to_string()),
            ];
            output::show(app.format(), &report, &pairs)?;
        }
    }
    Ok(0)
}
