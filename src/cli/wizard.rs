//! The `macd add` wizard: each answer checked at its prompt (the reason,
//! then the prompt again), the client's CIs and jobs named, a new CI's kind
//! and tier asked, a summary with every field and the risk before anything
//! is written. Ctrl-C at any prompt leaves the database as it was.

use anyhow::Result;
use dialoguer::{Confirm, Input};

use super::macd::AddArgs;
use crate::domain::ci::{validate_kind, validate_tier, CI_KINDS};
use crate::domain::client::{validate_host, validate_slug};
use crate::domain::plan::{check_schedule, CiSpec, PolicySpec};
use crate::domain::policy::{MatchRule, Retention, RESTORE_TESTS, TARGETS, TOOLS};
use crate::domain::time::{format_duration, parse_duration};
use crate::ops::read::{self, Store};

/// What the wizard gathered: the request's client, proposal, new CI and why.
pub struct Answers {
    pub client: String,
    pub proposal: PolicySpec,
    pub new_ci: Option<CiSpec>,
    pub reason: String,
    pub ref_: Option<String>,
}

/// Ask `question` until `check` accepts the answer; `given` (a flag) is
/// checked too and asked again when it fails.
fn ask<T>(
    question: &str,
    default: Option<String>,
    given: Option<String>,
    check: impl Fn(&str) -> Result<T, String>,
) -> Result<T> {
    if let Some(g) = given {
        match check(&g) {
            Ok(v) => return Ok(v),
            Err(e) => eprintln!("{question}: {e}"),
        }
    }
    let mut input = Input::<String>::new().with_prompt(question);
    if let Some(d) = default {
        input = input.default(d);
    }
    let text = input
        .validate_with(|t: &String| check(t).map(|_| ()))
        .interact_text()?;
    check(&text).map_err(|e| anyhow::anyhow!(e))
}

fn one_of(words: &'static [&'static str]) -> impl Fn(&str) -> Result<String, String> {
    move |t: &str| {
        let t = t.trim();
        if words.contains(&t) {
            Ok(t.to_string())
        } else {
            Err(format!("'{t}' is not one of {}", words.join(", ")))
        }
    }
}

fn duration(t: &str) -> Result<i64, String> {
    parse_duration(t).map_err(|e| e.to_string())
}

/// Gather an add request on a terminal, starting from the flags given.
pub fn add(store: &Store, a: &AddArgs) -> Result<Answers> {
    let clients: Vec<String> = read::clients(store)?.into_iter().map(|c| c.code).collect();
    let client = ask(
        &format!("client ({})", clients.join(", ")),
        (clients.len() == 1).then(|| clients[0].clone()),
        a.client.clone(),
        |t| {
            let t = t.trim();
            if clients.iter().any(|c| c == t) {
                Ok(t.to_string())
            } else {
                Err(format!(
                    "no client '{t}'; the clients are {}",
                    clients.join(", ")
                ))
            }
        },
    )?;
    let c = read::client(store, &client)?;
    let tz = c.timezone.clone();
    let cis: Vec<String> = read::cis(store, Some(c.id))?
        .into_iter()
        .filter(|x| x.status == crate::domain::ci::Lifecycle::Active)
        .map(|x| x.host)
        .collect();
    let jobs: Vec<String> = read::policies(store, c.id)?
        .into_iter()
        .map(|p| p.spec.job)
        .collect();

    // the CI: one of the CMDB's, or a new one with its kind and tier
    let mut given_ci = a.ci.clone();
    let (host, new_ci) = loop {
        let host = ask(
            &format!("CI of {client} ({}; or a new host)", cis.join(", ")),
            None,
            given_ci.take(),
            |t| {
                validate_host(t.trim())
                    .map(|_| t.trim().to_string())
                    .map_err(|e| e.to_string())
            },
        )?;
        if cis.contains(&host) {
            break (host, None);
        }
        let new = a.new_ci
            || Confirm::new()
                .with_prompt(format!(
                    "{host} is not in {client}'s CMDB: add it as a new CI?"
                ))
                .default(true)
                .interact()?;
        if !new {
            continue;
        }
        let kind = ask(
            &format!("kind of {host} ({})", CI_KINDS.join(", ")),
            Some("server".into()),
            a.kind.clone(),
            |t| {
                validate_kind(t.trim())
                    .map(|_| t.trim().to_string())
                    .map_err(|e| e.to_string())
            },
        )?;
        let tier = ask(
            &format!("tier of {host} (1 critical, 2, 3)"),
            Some("2".into()),
            a.tier.map(|t| t.to_string()),
            |t| {
                let n: i64 = t
                    .trim()
                    .parse()
                    .map_err(|_| format!("'{t}' is not 1, 2 or 3"))?;
                validate_tier(n).map(|_| n).map_err(|e| e.to_string())
            },
        )?;
        let spec = CiSpec {
            host: host.clone(),
            kind,
            tier,
            os: None,
            role: None,
            excluded: None,
        };
        break (host, Some(spec));
    };
    let job = ask(
        &format!(
            "job name (taken: {})",
            if jobs.is_empty() {
                "none".into()
            } else {
                jobs.join(", ")
            }
        ),
        Some(format!("{host}-nightly")),
        a.job.clone(),
        |t| {
            let t = t.trim();
            validate_slug("job name", t).map_err(|e| e.to_string())?;
            if jobs.iter().any(|j| j == t) {
                return Err(format!("{client}/{t} exists already"));
            }
            Ok(t.to_string())
        },
    )?;
    let tool = ask(
        &format!("tool ({})", TOOLS.join(", ")),
        Some("restic".into()),
        a.tool.clone(),
        one_of(TOOLS),
    )?;
    let schedule = ask(
        &format!("schedule (cron, in {tz})"),
        Some("0 22 * * *".into()),
        a.schedule.clone(),
        |t| {
            check_schedule(t.trim(), &tz)
                .map(|_| t.trim().to_string())
                .map_err(|e| e.to_string())
        },
    )?;
    let rpo_s = ask("rpo", Some("24h".into()), a.rpo.clone(), duration)?;
    let grace_s = ask("grace", Some("2h".into()), a.grace.clone(), |t| {
        let g = duration(t)?;
        if g > rpo_s {
            return Err(format!("longer than the rpo ({})", format_duration(rpo_s)));
        }
        Ok(g)
    })?;
    let required = c.spec().required_retention;
    let retention = ask(
        "retention (e.g. daily=7,weekly=4,monthly=12)",
        Some(
            required
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "daily=7,weekly=4,monthly=12".into()),
        ),
        a.retention.clone(),
        |t| {
            let r = Retention::parse(t.trim()).map_err(|e| e.to_string())?;
            if r.keeps_nothing() {
                return Err("keeps nothing".into());
            }
            Ok(r)
        },
    )?;
    let target = ask(
        &format!("target ({})", TARGETS.join(", ")),
        Some("offsite".into()),
        a.target.clone(),
        one_of(TARGETS),
    )?;
    let restore_test = ask(
        &format!("restore test ({})", RESTORE_TESTS.join(", ")),
        Some("monthly".into()),
        a.restore_test.clone(),
        one_of(RESTORE_TESTS),
    )?;
    let rto_s = ask("rto", Some("4h".into()), a.rto.clone(), duration)?;
    let reason = ask("reason", None, a.common.reason.clone(), |t| {
        if t.trim().is_empty() {
            Err("say why the change is needed".to_string())
        } else {
            Ok(t.trim().to_string())
        }
    })?;
    let ref_ = match a.common.ref_.clone() {
        Some(r) => Some(r),
        None => Some(
            Input::<String>::new()
                .with_prompt("change reference (e.g. CHG-4711; empty: none)")
                .allow_empty(true)
                .interact_text()?,
        )
        .filter(|r| !r.trim().is_empty()),
    };
    let max_runtime_s = a
        .max_runtime
        .as_deref()
        .map(duration)
        .transpose()
        .map_err(|e| crate::error::rejected(format!("--max-runtime: {e}")))?;
    Ok(Answers {
        client,
        proposal: PolicySpec {
            job,
            ci: host,
            tool,
            schedule,
            rpo_s,
            grace_s,
            retention,
            target,
            restore_test,
            rto_s,
            max_runtime_s,
            match_rule: MatchRule::default(),
            judgement: Default::default(),
        },
        new_ci,
        reason,
        ref_,
    })
}

/// Every field of the request, the risk and its reasons.
pub fn summary(a: &Answers, risk: &str, reasons: &[String]) -> String {
    let p = &a.proposal;
    let ci = match &a.new_ci {
        Some(n) => format!("{} (new CI: {}, tier {})", p.ci, n.kind, n.tier),
        None => format!("{} (in the CMDB)", p.ci),
    };
    let rows = [
        ("add", format!("{}/{}", a.client, p.job)),
        ("on", ci),
        ("tool", p.tool.clone()),
        ("schedule", p.schedule.clone()),
        ("rpo", format_duration(p.rpo_s)),
        ("grace", format_duration(p.grace_s)),
        ("retention", p.retention.to_string()),
        ("target", p.target.clone()),
        ("restore test", p.restore_test.clone()),
        ("rto", format_duration(p.rto_s)),
        ("reason", a.reason.clone()),
        ("ref", a.ref_.clone().unwrap_or_else(|| "-".into())),
        ("risk", format!("{risk}: {}", reasons.join("; "))),
    ];
    rows.iter()
        .map(|(k, v)| format!("  {k:<13} {v}\n"))
        .collect()
}
