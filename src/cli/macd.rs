//! `bmctl macd add|change|move|delete|list|show|approve|reject|implement|complete|cancel`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory, Subcommand};

use super::{split_ref, App, Cli};
use crate::domain::change::{Change, ChangeId, ChangeKind, ChangeState};
use crate::domain::plan::{CiSpec, PolicySpec};
use crate::domain::policy::{MatchRule, Retention};
use crate::domain::time::parse_duration;
use crate::error::rejected;
use crate::ops::macd::{self, DeleteTerms, Request, Why};
use crate::ops::read::{self, Store};
use crate::ops::views::ChangeView;
use crate::output::{self, Tabular};

#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Why the change is needed.
    #[arg(long)]
    pub reason: Option<String>,
    /// The external change-management reference (e.g. CHG-4711).
    #[arg(long = "ref")]
    pub ref_: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    #[arg(long)]
    pub client: Option<String>,
    /// The CI to protect (in the CMDB, or new with --new-ci).
    #[arg(long)]
    pub ci: Option<String>,
    /// The CI is not in the CMDB yet: add it with --kind and --tier.
    #[arg(long)]
    pub new_ci: bool,
    #[arg(long, value_parser = crate::cli::words(crate::domain::ci::CI_KINDS))]
    pub kind: Option<String>,
    #[arg(long)]
    pub tier: Option<i64>,
    #[arg(long)]
    pub job: Option<String>,
    #[arg(long, value_parser = crate::cli::words(crate::domain::policy::TOOLS))]
    pub tool: Option<String>,
    #[arg(long)]
    pub schedule: Option<String>,
    #[arg(long)]
    pub rpo: Option<String>,
    #[arg(long)]
    pub grace: Option<String>,
    /// e.g. daily=7,weekly=4,monthly=12
    #[arg(long)]
    pub retention: Option<String>,
    #[arg(long, value_parser = crate::cli::words(crate::domain::policy::TARGETS))]
    pub target: Option<String>,
    #[arg(long, value_parser = crate::cli::words(crate::domain::policy::RESTORE_TESTS))]
    pub restore_test: Option<String>,
    #[arg(long)]
    pub rto: Option<String>,
    #[arg(long)]
    pub max_runtime: Option<String>,
    /// One [[policy]] table of the plan format instead of the flags.
    #[arg(long, conflicts_with_all = ["ci", "job", "tool", "schedule", "rpo", "grace", "retention", "target", "restore_test", "rto", "max_runtime"])]
    pub from_file: Option<PathBuf>,
    /// A job seen in the runs but in no plan (CLIENT/JOB): its tool,
    /// schedule, CI and RPO guessed from its runs; flags given win. With
    /// --job, the new policy takes that name and matches the runs by theirs.
    #[arg(long, value_name = "CLIENT/JOB", conflicts_with_all = ["from_file", "client"])]
    pub from_unmatched: Option<String>,
    /// The tool's name of the adopted job, when the policy is named otherwise
    /// (`match = { name }`, or `bacula_job` for Bacula).
    #[arg(skip)]
    pub adopt_as: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

// One value parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Request a new backup policy (05f.03; a wizard on a terminal).
    #[command(after_help = "Example:
  bmctl macd add --job acme/fs02-nightly --ci fs02 --new-ci --kind server \\
      --tier 1 --tool restic --schedule '0 22 * * *' \\
      --rpo 24h --grace 2h --retention daily=7,weekly=4,monthly=12 \\
      --target offsite --restore-test monthly --rto 4h \\
      --reason 'new file server' --ref CHG-4711

On a terminal, missing values are asked for; with --yes or without a terminal the missing
flags are named and nothing waits for input.")]
    Add(AddArgs),
    /// Request a change of fields of a policy.
    Change {
        #[command(flatten)]
        job: crate::cli::JobArg,
        /// FIELD=VALUE (schedule, rpo, grace, retention, target, restore_test, rto, max_runtime, tool,
        /// failures_before_ticket, warning_is_success, small_backup).
        #[arg(long = "set", required = true)]
        sets: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Request a move of a policy to another CI or target.
    Move {
        #[command(flatten)]
        job: crate::cli::JobArg,
        #[arg(long, required_unless_present = "target")]
        to_ci: Option<String>,
        #[arg(long, value_parser = crate::cli::words(crate::domain::policy::TARGETS))]
        target: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Request the deletion of a policy (CLIENT/JOB) or of every policy of a CI (CLIENT/HOST).
    Delete {
        /// The policy that goes, as CLIENT/JOB.
        #[arg(
            value_name = "CLIENT/JOB",
            required_unless_present_any = ["job_flag", "ci"],
            conflicts_with_all = ["job_flag", "ci"]
        )]
        job: Option<String>,
        /// The policy that goes (deprecated: give it without --job).
        #[arg(
            long = "job",
            value_name = "CLIENT/JOB",
            hide = true,
            conflicts_with = "ci"
        )]
        job_flag: Option<String>,
        /// A whole CI whose backups go, as CLIENT/HOST.
        #[arg(long)]
        ci: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Changes by id.
    List {
        /// Only changes not closed yet.
        #[arg(long)]
        open: bool,
        #[arg(long)]
        client: Option<String>,
        #[arg(long, value_parser = crate::cli::words(crate::domain::change::ChangeState::WORDS))]
        state: Option<String>,
    },
    /// A change: the proposal as a diff, the risk and why, the timeline.
    Show { id: ChangeId },
    /// Approve (not your own request); high risk needs --confirm-risk.
    Approve {
        id: ChangeId,
        #[arg(long)]
        confirm_risk: bool,
        /// The change-management reference (e.g. CHG-4711), recorded on the
        /// change; needed when `approval.require_ref` covers its risk.
        #[arg(long = "ref")]
        ref_: Option<String>,
    },
    Reject {
        id: ChangeId,
        #[arg(long)]
        reason: String,
    },
    /// Cancel before implementation.
    Cancel {
        id: ChangeId,
        #[arg(long)]
        reason: String,
    },
    /// Apply an approved change (05f.04/05f.05).
    #[command(
        after_help = "A delete needs a retention decision (--retain-until DATE or --dispose) and the typed
confirmation --confirm CLIENT/JOB (CLIENT/HOST for a CI); --yes never stands in for it."
    )]
    Implement {
        id: ChangeId,
        /// Keep the deleted policy's backups until this date.
        #[arg(long, conflicts_with = "dispose")]
        retain_until: Option<String>,
        /// Dispose of the deleted policy's backups.
        #[arg(long)]
        dispose: bool,
        /// Name what a delete removes: CLIENT/JOB (or CLIENT/HOST).
        #[arg(long)]
        confirm: Option<String>,
        /// Delete although the last run was not a success (needs --reason).
        #[arg(long, requires = "reason")]
        force: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Close a change once a backup proves it (05f.06).
    Complete {
        id: ChangeId,
        /// Manual evidence when no successful backup has been recorded.
        #[arg(long)]
        verified_by: Option<String>,
    },
}

impl Tabular for ChangeView {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "type",
            "client",
            "job",
            "state",
            "risk",
            "requested_by",
            "approved_by",
            "ref",
            "requested",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let c = &self.0;
        vec![
            format!("CR-{}", c.id),
            c.kind.to_string(),
            c.client.clone(),
            c.job.clone(),
            c.state.to_string(),
            c.risk.to_string(),
            c.requested_by.clone(),
            output::opt(&c.approved_by),
            output::opt(&c.ref_),
            output::at(c.requested_at),
        ]
    }
}

/// `--from-unmatched CLIENT/JOB`: the fields its runs suggest, where the
/// flags left them out.
fn prefill_unmatched(store: &Store, a: &AddArgs) -> Result<AddArgs> {
    let mut a = a.clone();
    let Some(from) = a.from_unmatched.clone() else {
        return Ok(a);
    };
    let (client, job) = split_ref("--from-unmatched", &from)?;
    let g = macd::adopt::guess(store, client, job)?;
    match a.job.as_deref().map(|j| j.rsplit('/').next().unwrap_or(j)) {
        // another name for the policy: the runs keep theirs, the match maps them
        Some(named) if named != job => a.adopt_as = Some(job.to_string()),
        Some(_) => {}
        None => {
            if let Err(e) = crate::domain::client::validate_slug("job name", job) {
                return Err(rejected(format!(
                    "'{job}' cannot name a policy ({e}): name it with --job {client}/NAME; the runs reported as '{job}' then map to it"
                )));
            }
        }
    }
    let fill = |slot: &mut Option<String>, v: Option<String>| {
        if slot.is_none() {
            *slot = v;
        }
    };
    fill(&mut a.client, Some(g.client.clone()));
    fill(&mut a.job, Some(g.job.clone()));
    // a reporter that names no tool a policy knows: `other` (--tool to say)
    fill(
        &mut a.tool,
        Some(g.tool.clone().unwrap_or_else(|| "other".into())),
    );
    fill(&mut a.schedule, g.schedule.clone());
    fill(&mut a.ci, g.ci.clone());
    fill(
        &mut a.rpo,
        g.interval_s.map(crate::domain::time::format_duration),
    );
    fill(
        &mut a.grace,
        Some(
            if g.interval_s == Some(3_600) {
                "15m"
            } else {
                "2h"
            }
            .into(),
        ),
    );
    fill(&mut a.retention, Some(g.retention.clone()));
    fill(&mut a.target, Some(g.target.clone()));
    fill(&mut a.restore_test, Some("monthly".into()));
    fill(&mut a.rto, Some("4h".into()));
    fill(
        &mut a.common.reason,
        Some(format!(
            "adopt {client}/{job}: {} runs reported by a job no plan knew",
            g.runs
        )),
    );
    if a.ci.is_none() {
        return Err(rejected(format!(
            "cannot tell which CI {job} backs up (no CI's host starts its name): give --ci HOST, or --new-ci --ci HOST --kind K --tier N"
        )));
    }
    Ok(a)
}

/// `--job CLIENT/JOB`, the form every other command takes, as `--client
/// CLIENT --job JOB` (a bare job name stays as it is).
fn job_as_ref(a: &AddArgs) -> Result<AddArgs> {
    let mut a = a.clone();
    if let Some((client, job)) = a.job.as_deref().and_then(|j| j.split_once('/')) {
        if a.client.as_deref().is_some_and(|c| c != client) {
            return Err(rejected(format!(
                "--job {client}/{job} names client '{client}', --client '{}'",
                a.client.as_deref().unwrap_or_default()
            )));
        }
        (a.client, a.job) = (Some(client.to_string()), Some(job.to_string()));
    }
    Ok(a)
}

/// Off a terminal (or with --yes) nothing is asked: name the missing flags
/// (the wizard asks for them on a terminal).
fn complete_add(a: &AddArgs) -> Result<AddArgs> {
    let fields = [
        ("client", &a.client),
        ("ci", &a.ci),
        ("job", &a.job),
        ("tool", &a.tool),
        ("schedule", &a.schedule),
        ("rpo", &a.rpo),
        ("grace", &a.grace),
        ("retention", &a.retention),
        ("target", &a.target),
        ("restore-test", &a.restore_test),
        ("rto", &a.rto),
        ("reason", &a.common.reason),
    ];
    let missing: Vec<String> = fields
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| format!("--{name}"))
        .collect();
    if !missing.is_empty() {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!(
                    "macd add needs {} (no terminal to ask on; or use --from-file)",
                    missing.join(", ")
                ),
            )
            .exit();
    }
    Ok(a.clone())
}

/// Build the proposal of `macd add` from its flags, validated like a plan file.
pub fn add_proposal(a: &AddArgs, tz: &str) -> Result<PolicySpec> {
    let need = |v: &Option<String>, f: &str| {
        v.clone()
            .ok_or_else(|| rejected(format!("--{f} is required")))
    };
    let dur = |v: &Option<String>, f: &str| {
        parse_duration(&need(v, f)?).map_err(|e| rejected(format!("--{f}: {e}")))
    };
    let mut p = PolicySpec {
        job: need(&a.job, "job")?,
        ci: need(&a.ci, "ci")?,
        tool: String::new(),
        schedule: String::new(),
        rpo_s: dur(&a.rpo, "rpo")?,
        grace_s: dur(&a.grace, "grace")?,
        retention: Retention::parse(&need(&a.retention, "retention")?)
            .map_err(|e| rejected(format!("--retention: {e}")))?,
        target: String::new(),
        restore_test: String::new(),
        rto_s: dur(&a.rto, "rto")?,
        max_runtime_s: a
            .max_runtime
            .as_deref()
            .map(|m| parse_duration(m).map_err(|e| rejected(format!("--max-runtime: {e}"))))
            .transpose()?,
        match_rule: MatchRule::default(),
        judgement: Default::default(),
    };
    if let Some(seen) = &a.adopt_as {
        if a.tool.as_deref() == Some("bacula") {
            p.match_rule.bacula_job = Some(seen.clone());
        } else {
            p.match_rule.name = Some(seen.clone());
        }
    }
    crate::domain::client::validate_slug("job name", &p.job)
        .map_err(|e| rejected(format!("--job: {e}")))?;
    for (field, value) in [
        ("tool", &a.tool),
        ("schedule", &a.schedule),
        ("target", &a.target),
        ("restore_test", &a.restore_test),
    ] {
        p.set(field, &need(value, field)?, tz)
            .map_err(|e| rejected(format!("--{}: {e}", field.replace('_', "-"))))?;
    }
    Ok(p)
}

fn show(app: &App, store: &Store, id: i64) -> Result<()> {
    let d = macd::show(store, id)?;
    if app.format() != output::Format::Table {
        let mut v = serde_json::to_value(&d)?;
        crate::ops::views::change_times(&mut v);
        return output::show(app.format(), &v, &[]);
    }
    let c = &d.change;
    let mut out = format!(
        "CR-{} {} {}/{} — {}\nrisk {}: {}\nrequested by {} at {}{}\nreason: {}\n",
        c.id,
        c.kind,
        c.client,
        c.job,
        c.state,
        c.risk,
        c.risk_reasons.join("; "),
        c.requested_by,
        output::at(c.requested_at),
        c.ref_
            .as_ref()
            .map(|r| format!(" (ref {r})"))
            .unwrap_or_default(),
        c.reason
    );
    if let Some(a) = &c.approved_by {
        out.push_str(&format!(
            "decided by {a}{}\n",
            c.decision
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
    }
    // the whole proposal of an add, what goes with a delete, the fields a
    // change or move changes
    let whole = |title: &str, p: &PolicySpec, out: &mut String| {
        out.push_str(&format!("{title} {}/{}:\n", c.client, p.job));
        for (k, v) in p.fields().into_iter().filter(|(_, v)| !v.is_empty()) {
            out.push_str(&format!("  {k:<13} {v}\n"));
        }
    };
    match (c.kind, &c.proposal, &c.current) {
        (ChangeKind::Add, Some(p), _) => whole("proposal: add", p, &mut out),
        (ChangeKind::Delete, _, Some(p)) => whole("deletes", p, &mut out),
        (ChangeKind::Delete, _, None) => out.push_str(&format!(
            "deletes every policy of {}/{}\n",
            c.client,
            c.ci_host.as_deref().unwrap_or("?")
        )),
        _ if !d.diff.is_empty() => {
            out.push_str("proposal:\n");
            for l in &d.diff {
                match l.change {
                    "changed" => out.push_str(&format!(
                        "  {} {}: {} → {}\n",
                        l.item, l.field, l.old, l.new
                    )),
                    other => out.push_str(&format!("  {other} {}\n", l.item)),
                }
            }
        }
        _ => {}
    }
    if c.kind == ChangeKind::Delete {
        match (c.retain_until, c.dispose) {
            (Some(t), _) => out.push_str(&format!("backups kept until {}\n", output::at(t))),
            (None, true) => out.push_str("backups disposed of\n"),
            _ => out.push_str(
                "retention decision: at implementation (--retain-until DATE or --dispose)\n",
            ),
        }
    }
    out.push_str("timeline:\n");
    for l in &d.timeline {
        out.push_str(&format!(
            "  {}  {:<8} {}\n",
            output::at(l.at.0),
            l.actor,
            l.text
        ));
    }
    output::text(&out)
}

fn done(app: &App, c: &Change) -> Result<()> {
    app.say(format!(
        "CR-{} ({} {}/{}) is {}",
        c.id, c.kind, c.client, c.job, c.state
    ));
    if app.format() != output::Format::Table {
        output::show(app.format(), &ChangeView(c.clone()), &[])?;
    }
    Ok(())
}

fn why(c: &Common) -> Result<Why> {
    Ok(Why {
        reason: c
            .reason
            .clone()
            .ok_or_else(|| rejected("--reason is required: say why the change is needed"))?,
        ref_: c.ref_.clone(),
    })
}

pub fn run(app: &App, cmd: &Cmd) -> Result<u8> {
    let mut store = app.store()?;
    match cmd {
        Cmd::Add(a) if a.from_file.is_none() && crate::prompt::interactive(app.cli.yes) => {
            let ctx = app.ctx("macd add")?;
            let a = &job_as_ref(&prefill_unmatched(&store, a)?)?;
            let w = super::wizard::add(&store, a)?;
            let req = || Request::Add {
                proposal: Box::new(w.proposal.clone()),
                new_ci: w.new_ci.clone(),
            };
            let why = || Why {
                reason: w.reason.clone(),
                ref_: w.ref_.clone(),
            };
            let seen = macd::preview(&mut store, &ctx, &w.client, req(), why())?;
            eprintln!(
                "\n{}",
                super::wizard::summary(&w, seen.risk.as_str(), &seen.risk_reasons)
            );
            if !crate::prompt::confirm("Request this change?")? {
                app.say("nothing requested");
                return Ok(0);
            }
            let c = macd::request(&mut store, &ctx, &w.client, req(), why())?;
            done(app, &c)?;
        }
        Cmd::Add(a) => {
            let ctx = app.ctx("macd add")?;
            let a = &job_as_ref(&prefill_unmatched(&store, a)?)?;
            let (client, proposal, a) = if let Some(f) = &a.from_file {
                let client = a
                    .client
                    .clone()
                    .ok_or_else(|| rejected("--client is required"))?;
                let tz = read::client(&store, &client)?.timezone;
                let input = crate::input::take(f, crate::input::Shape::Document("a policy file"))?;
                let (name, text) = (input.name.clone(), input.text()?);
                (
                    client,
                    crate::domain::plan::parse_policy_file(&text, &name, &tz)?,
                    a.clone(),
                )
            } else {
                let a = complete_add(a)?;
                let client = a.client.clone().unwrap_or_default();
                let tz = read::client(&store, &client)?.timezone;
                (client, add_proposal(&a, &tz)?, a)
            };
            let new_ci = if a.new_ci {
                let kind = a
                    .kind
                    .clone()
                    .ok_or_else(|| rejected("--new-ci needs --kind"))?;
                let tier = a.tier.ok_or_else(|| rejected("--new-ci needs --tier"))?;
                crate::domain::ci::validate_kind(&kind)
                    .map_err(|e| rejected(format!("--kind: {e}")))?;
                crate::domain::ci::validate_tier(tier)
                    .map_err(|e| rejected(format!("--tier: {e}")))?;
                crate::domain::client::validate_host(&proposal.ci)
                    .map_err(|e| rejected(format!("--ci: {e}")))?;
                Some(CiSpec {
                    host: proposal.ci.clone(),
                    kind,
                    tier,
                    os: None,
                    role: None,
                    excluded: None,
                })
            } else {
                None
            };
            let c = macd::request(
                &mut store,
                &ctx,
                &client,
                Request::Add {
                    proposal: Box::new(proposal),
                    new_ci,
                },
                why(&a.common)?,
            )?;
            done(app, &c)?;
        }
        Cmd::Change { job, sets, common } => {
            let (client, job) = split_ref("CLIENT/JOB", job.get("bmctl macd change"))?;
            let sets = sets
                .iter()
                .map(|s| {
                    s.split_once('=')
                        .map(|(f, v)| (f.trim().to_string(), v.to_string()))
                        .ok_or_else(|| rejected(format!("--set '{s}' must look like FIELD=VALUE")))
                })
                .collect::<Result<Vec<_>>>()?;
            let c = macd::request(
                &mut store,
                &app.ctx("macd change")?,
                client,
                Request::Change {
                    job: job.into(),
                    sets,
                },
                why(common)?,
            )?;
            done(app, &c)?;
        }
        Cmd::Move {
            job,
            to_ci,
            target,
            common,
        } => {
            let (client, job) = split_ref("CLIENT/JOB", job.get("bmctl macd move"))?;
            let req = Request::Move {
                job: job.into(),
                to_ci: to_ci.clone(),
                target: target.clone(),
            };
            let c = macd::request(
                &mut store,
                &app.ctx("macd move")?,
                client,
                req,
                why(common)?,
            )?;
            done(app, &c)?;
        }
        Cmd::Delete {
            job,
            job_flag,
            ci,
            common,
        } => {
            if let Some(j) = job_flag {
                crate::cli::deprecated(
                    &format!("bmctl macd delete --job {j}"),
                    &format!("bmctl macd delete {j}"),
                );
            }
            let (client, req) = match (job.as_ref().or(job_flag.as_ref()), ci) {
                (Some(j), _) => {
                    let (c, j) = split_ref("CLIENT/JOB", j)?;
                    (
                        c,
                        Request::Delete {
                            job: Some(j.into()),
                            ci: None,
                        },
                    )
                }
                (None, Some(h)) => {
                    let (c, h) = split_ref("--ci", h)?;
                    (
                        c,
                        Request::Delete {
                            job: None,
                            ci: Some(h.into()),
                        },
                    )
                }
                _ => {
                    return Err(rejected(
                        "say what to delete: CLIENT/JOB or --ci CLIENT/HOST",
                    ))
                }
            };
            let c = macd::request(
                &mut store,
                &app.ctx("macd delete")?,
                client,
                req,
                why(common)?,
            )?;
            done(app, &c)?;
        }
        Cmd::List {
            open,
            client,
            state,
        } => {
            let client_id = read::client_id(&store, client.as_deref())?;
            let state = state
                .as_deref()
                .map(|s| {
                    ChangeState::parse(s).ok_or_else(|| {
                        rejected(format!(
                            "--state '{s}' is not one of {}",
                            ChangeState::WORDS.join(", ")
                        ))
                    })
                })
                .transpose()?;
            if let Some(id) = client_id {
                output::set_table_tz(read::client_by_id(&store, id)?.tz());
            }
            let list: Vec<ChangeView> = read::changes(&store, client_id, state, *open)?
                .into_iter()
                .map(ChangeView)
                .collect();
            output::list(app.format(), &list)?;
        }
        Cmd::Show { id } => show(app, &store, id.0)?,
        Cmd::Approve {
            id,
            confirm_risk,
            ref_,
        } => {
            let c = macd::approve(
                &mut store,
                &app.ctx("macd approve")?,
                id.0,
                &macd::Approval {
                    allow_self: app.config.s.approval_allow_self_approval,
                    require_ref: app.config.s.approval_require_ref,
                },
                ref_.as_deref(),
                *confirm_risk,
            )?;
            done(app, &c)?;
        }
        Cmd::Reject { id, reason } => done(
            app,
            &macd::reject(&mut store, &app.ctx("macd reject")?, id.0, reason)?,
        )?,
        Cmd::Cancel { id, reason } => done(
            app,
            &macd::cancel(&mut store, &app.ctx("macd cancel")?, id.0, reason)?,
        )?,
        Cmd::Implement {
            id,
            retain_until,
            dispose,
            confirm,
            force,
            reason,
        } => {
            let ctx = app.ctx("macd implement")?;
            let ch = read::change(&store, id.0)?;
            let tz = read::client_by_id(&store, ch.client_id)?.tz();
            let retain_until = retain_until
                .as_deref()
                .map(|d| {
                    app.when(
                        "--retain-until",
                        d,
                        Some(tz),
                        crate::domain::time::Span::Future,
                    )
                })
                .transpose()?;
            // On a terminal a delete's confirmation is typed, never implied by --yes.
            let mut confirm = confirm.clone();
            if ch.kind == ChangeKind::Delete
                && confirm.is_none()
                && crate::prompt::interactive(false)
                && !app.cli.yes
            {
                let what = match &ch.ci_host {
                    Some(h) if ch.policy_id.is_none() => format!("{}/{h}", ch.client),
                    _ => format!("{}/{}", ch.client, ch.job),
                };
                confirm = Some(crate::prompt::ask(
                    &format!("Type {what} to delete it"),
                    None,
                )?);
            }
            let terms = DeleteTerms {
                retain_until,
                dispose: *dispose,
                confirm,
                force_reason: if *force { reason.clone() } else { None },
            };
            done(app, &macd::implement(&mut store, &ctx, id.0, &terms)?)?;
        }
        Cmd::Complete { id, verified_by } => {
            let r = macd::complete(
                &mut store,
                &app.ctx("macd complete")?,
                id.0,
                verified_by.as_deref(),
            )?;
            app.say(format!(
                "CR-{} completed: {}; plan version {} published",
                r.change.id, r.evidence, r.plan_version
            ));
            for line in &r.cmdb {
                app.say(format!("  CMDB {line}"));
            }
            if app.format() != output::Format::Table {
                let mut v = serde_json::to_value(&r)?;
                crate::ops::views::change_times(&mut v["change"]);
                output::show(app.format(), &v, &[])?;
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AddArgs {
        AddArgs {
            client: Some("acme".into()),
            ci: Some("fs01".into()),
            new_ci: false,
            kind: None,
            tier: None,
            job: Some("fs01-nightly".into()),
            tool: Some("restic".into()),
            schedule: Some("0 22 * * *".into()),
            rpo: Some("24h".into()),
            grace: Some("2h".into()),
            retention: Some("daily=7,weekly=4".into()),
            target: Some("offsite".into()),
            restore_test: Some("monthly".into()),
            rto: Some("4h".into()),
            max_runtime: None,
            from_file: None,
            from_unmatched: None,
            adopt_as: None,
            common: Common {
                reason: Some("r".into()),
                ref_: None,
            },
        }
    }

    #[test]
    fn the_wizard_builds_the_same_request_as_the_flags() {
        let p = add_proposal(&args(), "Europe/Berlin").unwrap();
        assert_eq!(
            (p.rpo_s, p.retention.to_string().as_str(), p.target.as_str()),
            (86_400, "daily=7,weekly=4", "offsite")
        );
        let bad = AddArgs {
            schedule: Some("61 * * * *".into()),
            ..args()
        };
        assert!(format!("{:#}", add_proposal(&bad, "UTC").unwrap_err()).contains("--schedule"));
        let bad = AddArgs {
            target: Some("moon".into()),
            ..args()
        };
        assert!(format!("{:#}", add_proposal(&bad, "UTC").unwrap_err()).contains("--target"));
    }
}
