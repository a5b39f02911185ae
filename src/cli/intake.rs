//! `bmctl intake`: report e-mails no recognizer could place, and runs of
//! jobs no plan knows — both wait here for a person (#14 §2).

use anyhow::Result;
use clap::Subcommand;
use serde::Serialize;

use super::App;
use crate::cli::split_ref;
use crate::domain::time::Ts;
use crate::output::{self, Tabular};
use crate::store::intake::Item;

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// What waits: messages no recognizer placed, and jobs seen in runs that no plan has.
    #[command(after_help = "Examples:
  bmctl intake list
  bmctl intake show 3
  bmctl intake map 3 --job acme/vbr-daily    # that job from now on
  bmctl intake ignore 4 --reason \"newsletter\"
  bmctl macd add --from-unmatched acme/nas02 # a job seen in runs")]
    List {
        /// Also the messages mapped or ignored.
        #[arg(long)]
        all: bool,
    },
    /// One message: sender, subject, why it waits, and its text.
    Show {
        /// The message's id (`intake list`).
        id: i64,
    },
    /// Map the message's job to a plan's job (an audited plan version), then read it again.
    Map {
        /// The message's id (`intake list`).
        id: i64,
        /// CLIENT/JOB of the plan.
        #[arg(long)]
        job: String,
    },
    /// Read a waiting message again (its backup is known now, a rule was fixed).
    Retry {
        /// The message's id (`intake list`).
        id: i64,
    },
    /// Set a message aside: nothing to record (audited).
    Ignore {
        /// The message's id (`intake list`).
        id: i64,
        /// Why it needs no run (kept with the message).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// One row of `intake list`: a message, or a job seen only in runs.
#[derive(Debug, Serialize)]
struct Row {
    kind: &'static str,
    id: Option<i64>,
    client: Option<String>,
    /// The tool's job name (a message's, when a recognizer read one).
    job: Option<String>,
    seen: Ts,
    state: String,
    why: String,
}

impl Tabular for Row {
    fn headers() -> Vec<&'static str> {
        vec!["kind", "id", "client", "job", "seen", "state", "why"]
    }
    fn optional() -> &'static [&'static str] {
        &["state", "seen"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.to_string(),
            output::opt(&self.id),
            self.client.clone().unwrap_or_else(|| "-".into()),
            self.job.clone().unwrap_or_else(|| "-".into()),
            output::at(self.seen.0),
            self.state.clone(),
            self.why.clone(),
        ]
    }
}

fn row(i: &Item) -> Row {
    Row {
        kind: "message",
        id: Some(i.id),
        client: i.client.clone(),
        job: i.job_name.clone(),
        seen: Ts(i.received_at),
        state: i.state.clone(),
        why: format!("{} — {}", i.reason, i.subject),
    }
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::List { all } => {
            let mut rows: Vec<Row> = crate::store::intake::list(store.db(), *all)?
                .iter()
                .map(row)
                .collect();
            for u in crate::store::events::unmatched_jobs(store.db(), None)? {
                rows.push(Row {
                    kind: "job",
                    id: None,
                    why: {
                        let seen =
                            shell_words::quote(&format!("{}/{}", u.client, u.job)).into_owned();
                        let named = crate::domain::client::validate_slug("job", &u.job).is_ok();
                        format!(
                            "runs of a job no plan has: `bmctl macd add --from-unmatched {seen}{}`",
                            if named {
                                String::new()
                            } else {
                                format!(" --job {}/NAME", u.client)
                            }
                        )
                    },
                    client: Some(u.client),
                    job: Some(u.job),
                    seen: u.last_seen,
                    state: "open".into(),
                });
            }
            output::list(app.format(), &rows)?;
        }
        Cmd::Show { id } => {
            let i = crate::store::intake::get(store.db(), *id)?.ok_or_else(|| {
                crate::error::not_found(format!("no intake item {id}; see `bmctl intake list`"))
            })?;
            let text = crate::ingest::mail::parse(&i.raw)
                .map(|m| m.body)
                .unwrap_or_default();
            let shown: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
            let pairs = [
                ("id", i.id.to_string()),
                ("state", i.state.clone()),
                ("from", i.sender.clone()),
                ("subject", i.subject.clone()),
                ("sent", i.sent_at.map(output::at).unwrap_or_default()),
                ("received", output::at(i.received_at)),
                ("why", i.reason.clone()),
                ("read by", i.recognizer.clone().unwrap_or_default()),
                ("job", i.job_name.clone().unwrap_or_default()),
                ("director", i.director.clone().unwrap_or_default()),
                (
                    "closed",
                    i.closed_by
                        .clone()
                        .map(|b| {
                            format!("{} by {b}: {}", i.state, i.note.clone().unwrap_or_default())
                        })
                        .unwrap_or_default(),
                ),
            ];
            #[derive(Serialize)]
            struct Shown<'a> {
                #[serde(flatten)]
                item: &'a Item,
                text: String,
            }
            output::show(app.format(), &Shown { item: &i, text }, &pairs)?;
            if app.format() == output::Format::Table {
                output::text(&format!("\n{shown}\n"))?;
            }
        }
        Cmd::Map { id, job } => {
            let (client, job) = split_ref("--job", job)?;
            let ctx = app.ctx("intake map")?;
            let (item, again) = crate::ops::mail::map(
                &mut store,
                &ctx,
                *id,
                client,
                job,
                &app.config.mail_rules,
                None,
            )?;
            let said = format!(
                "intake {id}: {} is {client}/{job} from now on ({}); read again: {} runs new, {} duplicate, {} to the intake",
                item.job_name.clone().unwrap_or_default(),
                item.note.clone().unwrap_or_default(),
                again.runs.new,
                again.runs.duplicate,
                again.intake
            );
            match app.format() {
                output::Format::Json => output::show(
                    app.format(),
                    &serde_json::json!({ "item": row(&item), "read_again": again }),
                    &[],
                )?,
                _ => app.say(said),
            }
        }
        Cmd::Retry { id } => {
            let ctx = app.ctx("intake retry")?;
            let (item, again) =
                crate::ops::mail::retry(&mut store, &ctx, *id, &app.config.mail_rules, None)?;
            if item.state == "open" {
                return Err(crate::error::rejected(format!(
                    "intake {id}: read again, it still cannot be placed: {}",
                    item.reason
                )));
            }
            app.say(format!(
                "intake {id}: read again and placed ({} runs new, {} duplicate)",
                again.runs.new, again.runs.duplicate
            ));
        }
        Cmd::Ignore { id, reason } => {
            let ctx = app.ctx("intake ignore")?;
            let item = crate::ops::mail::ignore(&mut store, &ctx, *id, reason.as_deref())?;
            app.say(format!("intake {id} ignored: {}", item.subject));
        }
    }
    Ok(0)
}
