//! `bmctl client add|list|show|edit`.

use anyhow::Result;
use clap::Subcommand;

use super::App;
use crate::domain::client::SlaTier;
use crate::domain::plan::ClientSpec;
use crate::error::rejected;
use crate::ops::client::{self, ClientEdit};
use crate::ops::read::{self, ClientRow};
use crate::output::{self, Tabular};

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Activate the service for a new client.
    Add {
        /// Short slug, e.g. acme.
        code: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// IANA time zone of the client, e.g. Europe/Berlin.
        #[arg(long)]
        tz: String,
        /// SLA tier: bronze, silver, gold or platinum.
        #[arg(long, value_parser = crate::cli::words(crate::domain::client::SLA_TIER_WORDS), default_value = "silver")]
        sla_tier: String,
    },
    /// All clients.
    List,
    /// One client.
    Show { code: String },
    /// Change a client's name, zone or SLA tier.
    Edit {
        code: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        tz: Option<String>,
        #[arg(long, value_parser = crate::cli::words(crate::domain::client::SLA_TIER_WORDS))]
        sla_tier: Option<String>,
    },
    /// The client's people: who decides (named in the review), who to call.
    #[command(subcommand)]
    Contact(ContactCmd),
}

#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    /// Add a person of the client.
    Add {
        /// The client's code.
        client: String,
        /// Their name as they sign it (e.g. "Jane Roe").
        #[arg(long)]
        name: String,
        /// Their e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// What they are to the service.
        #[arg(long, value_parser = crate::cli::words(crate::ops::people::CONTACT_ROLES))]
        role: String,
    },
    /// The client's people (every client's without one).
    List { client: Option<String> },
    /// Remove a person of the client.
    Remove {
        client: String,
        #[arg(long)]
        name: String,
    },
}

impl Tabular for crate::ops::people::Contact {
    fn headers() -> Vec<&'static str> {
        vec!["id", "client", "name", "email", "role"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.client.clone(),
            self.name.clone(),
            output::opt(&self.email),
            self.role.clone(),
        ]
    }
}

impl Tabular for ClientRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "code",
            "name",
            "timezone",
            "sla_tier",
            "required_retention",
            "require_offsite",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.code.clone(),
            self.name.clone(),
            self.timezone.clone(),
            self.sla_tier.clone(),
            output::opt(&self.required_retention),
            if self.require_offsite {
                "required"
            } else {
                "-"
            }
            .into(),
        ]
    }
}

fn tier(text: &str) -> Result<SlaTier> {
    SlaTier::parse(text).map_err(|e| rejected(format!("--sla-tier: {e}")))
}

fn show(app: &App, c: &ClientRow) -> Result<()> {
    let pairs: Vec<(&str, String)> = ClientRow::headers().into_iter().zip(c.cells()).collect();
    output::show(app.format(), c, &pairs)
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Add {
            code,
            name,
            tz,
            sla_tier,
        } => {
            let spec = ClientSpec {
                code: code.clone(),
                name: name.clone(),
                timezone: tz.clone(),
                sla_tier: tier(sla_tier)?,
                required_retention: None,
                require_offsite: false,
            };
            let row = client::add(&mut store, &app.ctx("client add")?, spec)?;
            app.say(format!("added client {}", row.code));
            show(app, &row)?;
        }
        Cmd::List => output::list(app.format(), &read::clients(&store)?)?,
        Cmd::Show { code } => show(app, &read::client(&store, code)?)?,
        Cmd::Edit {
            code,
            name,
            tz,
            sla_tier,
        } => {
            let edit = ClientEdit {
                name: name.clone(),
                timezone: tz.clone(),
                sla_tier: sla_tier.as_deref().map(tier).transpose()?,
            };
            let row = client::edit(&mut store, &app.ctx("client edit")?, code, edit)?;
            show(app, &row)?;
        }
        Cmd::Contact(ContactCmd::Add {
            client,
            name,
            email,
            role,
        }) => {
            let k = crate::ops::people::add_contact(
                &mut store,
                &app.ctx("client contact add")?,
                client,
                name,
                email.as_deref(),
                role,
            )?;
            app.say(format!("added {} ({}) to {}", k.name, k.role, k.client));
            if app.format() != output::Format::Table {
                output::show(app.format(), &k, &[])?;
            }
        }
        Cmd::Contact(ContactCmd::List { client }) => {
            app.ctx("client contact list")?;
            output::list(
                app.format(),
                &crate::ops::people::contacts(&store, client.as_deref())?,
            )?
        }
        Cmd::Contact(ContactCmd::Remove { client, name }) => {
            let k = crate::ops::people::remove_contact(
                &mut store,
                &app.ctx("client contact remove")?,
                client,
                name,
            )?;
            app.say(format!("removed {} from {}", k.name, k.client));
        }
    }
    Ok(0)
}
