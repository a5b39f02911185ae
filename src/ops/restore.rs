//! Recovery attempts (05f.01 evidence, KPI input): restore tests and real
//! restores, recorded by hand or measured around a real restore command.

use std::ffi::OsString;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::domain::ticket::ProblemClass;
use crate::domain::time::format_duration;
use crate::error::rejected;
use crate::ops::correct::{Auto, Subject};
use crate::ops::Ctx;
use crate::store::recovery::{self, AttemptView, NewAttempt};
use crate::store::{audit, clients, policies, tickets, Store};

/// An attempt as the user reports it.
#[derive(Debug, Clone)]
pub struct Report {
    pub client: String,
    pub job: String,
    pub kind: String,
    pub outcome: String,
    pub started_at: i64,
    pub ended_at: i64,
    pub issues: Option<String>,
    pub command: Option<String>,
    pub verified: bool,
    /// The tool's key (a Bacula restore's `DIRECTOR:JobId`): recorded once.
    pub ext_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Recorded {
    #[serde(flatten)]
    pub attempt: AttemptView,
    pub task_completed: Option<i64>,
}

/// Record an attempt in one transaction: a restore test completes the open
/// restore-test task of its policy; a failed or partial attempt opens (or
/// adds to) a corrective ticket.
pub fn record(store: &mut Store, ctx: &Ctx, r: Report) -> Result<Recorded> {
    if !["test", "real"].contains(&r.kind.as_str()) {
        return Err(rejected(format!("--kind '{}' is not test or real", r.kind)));
    }
    if !["success", "partial", "failed"].contains(&r.outcome.as_str()) {
        return Err(rejected(format!(
            "--outcome '{}' is not success, partial or failed",
            r.outcome
        )));
    }
    if r.ended_at < r.started_at {
        return Err(rejected("--ended is before --started"));
    }
    if r.outcome != "success" && r.issues.as_deref().is_none_or(|i| i.trim().is_empty()) {
        return Err(rejected(
            "a partial or failed attempt needs --issues saying what went wrong",
        ));
    }
    let tx = store.write()?;
    let c = clients::get(&tx, &r.client)?;
    let p = policies::get(&tx, c.id, &r.client, &r.job)?;
    let took = format_duration((r.ended_at - r.started_at).max(1));
    let mut corrective = None;
    if r.outcome != "success" {
        let subject = Subject::of(&c, &p);
        let mut auto = Auto::new(&tx, ctx);
        let detail = format!(
            "{} restore {} after {took}: {}",
            r.kind,
            r.outcome,
            r.issues.clone().unwrap_or_default()
        );
        if r.kind == "real" {
            // a real restore that failed is not a test: say what it was
            auto.titled(format!("Real restore {}: {}/{}", r.outcome, c.code, r.job));
        }
        corrective = Some(auto.raise(&subject, ProblemClass::Restore, r.ended_at, &detail)?);
        auto.finish()?;
    }
    let task = if r.kind == "test" {
        tickets::open_task_of(&tx, p.id, "restore-test")?
    } else {
        None
    };
    let id = recovery::insert(
        &tx,
        &NewAttempt {
            client_id: c.id,
            policy_id: p.id,
            kind: r.kind.clone(),
            outcome: r.outcome.clone(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            rto_s: p.spec.rto_s,
            issues: r.issues.clone(),
            command: r.command.clone(),
            verified: r.verified,
            task_ticket_id: task.as_ref().map(|t| t.id),
            corrective_ticket_id: corrective,
            actor: ctx.actor.clone(),
            recorded_at: ctx.ts(),
            ext_id: r.ext_id.clone(),
        },
    )?;
    let attempt = recovery::list(&tx, None, Some(p.id))?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| anyhow::anyhow!("attempt vanished"))?;
    audit::record(
        &tx,
        &ctx.who(),
        "recovery_attempt",
        &id.to_string(),
        None,
        Some(&attempt),
    )?;
    if let Some(t) = &task {
        let mut done = t.clone();
        done.resolve(
            "done",
            &format!("restore test #{id}: {} in {took}", r.outcome),
            ctx.ts(),
        )?;
        done.cause = None;
        done.result = Some(
            if r.outcome == "success" {
                "ok"
            } else {
                "issues"
            }
            .into(),
        );
        done.linked_ticket_id = corrective.or(done.linked_ticket_id);
        for c in done.checklist.iter_mut() {
            c.done = true;
        }
        tickets::save(&tx, t, &done)?;
        tickets::add_note(
            &tx,
            t.id,
            ctx.ts(),
            &ctx.actor,
            "status",
            &format!("completed by restore test #{id} ({})", r.outcome),
        )?;
        audit::record(
            &tx,
            &ctx.who(),
            "ticket",
            &t.id.to_string(),
            Some(t),
            Some(&done),
        )?;
    }
    tx.commit()?;
    Ok(Recorded {
        attempt,
        task_completed: task.map(|t| t.id),
    })
}

/// What a measured restore test did.
pub struct TestRun {
    pub exit_code: i32,
    pub recorded: Option<Recorded>,
}

/// Run `argv` (a real restore, no shell), then `verify` if given (split by
/// shell-word rules, executed directly); time it, record it. Returns the
/// restore's exit code, or the verification's when that failed.
pub fn test(
    store: &mut Store,
    ctx: &Ctx,
    client: &str,
    job: &str,
    verify: Option<&str>,
    argv: &[OsString],
) -> Result<TestRun> {
    let verify_argv = match verify {
        Some(v) => {
            let words = shell_words::split(v).map_err(|e| rejected(format!("--verify: {e}")))?;
            if words.is_empty() {
                return Err(rejected("--verify is empty"));
            }
            Some(words)
        }
        None => None,
    };
    // Check the job exists before running anything.
    let c = clients::get(store.db(), client)?;
    policies::get(store.db(), c.id, client, job)?;
    let started = ctx.ts();
    let clock = Instant::now();
    let restore = run(argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect());
    let (mut code, mut outcome, mut issues, mut verified) = match &restore {
        Ok(0) => (0, "success", None, false),
        Ok(n) => (*n, "failed", Some(format!("restore exited {n}")), false),
        Err((n, why)) => (*n, "failed", Some(why.clone()), false),
    };
    if let (Some(v), "success") = (&verify_argv, outcome) {
        match run(v.clone()) {
            Ok(0) => verified = true,
            Ok(n) => {
                (code, outcome) = (n, "failed");
                issues = Some(format!(
                    "verification `{}` exited {n}",
                    verify.unwrap_or_default()
                ));
            }
            Err((n, why)) => {
                (code, outcome) = (n, "failed");
                issues = Some(format!("verification: {why}"));
            }
        }
    }
    let ended = started + clock.elapsed().as_secs() as i64;
    let recorded = record(
        store,
        ctx,
        Report {
            client: client.into(),
            job: job.into(),
            kind: "test".into(),
            outcome: outcome.into(),
            started_at: started,
            ended_at: ended,
            issues,
            command: Some(shell_words::join(
                argv.iter().map(|a| a.to_string_lossy().into_owned()),
            )),
            verified,
            ext_id: None,
        },
    )?;
    Ok(TestRun {
        exit_code: code,
        recorded: Some(recorded),
    })
}

/// Run a command: its exit code, or (127|126, why). Its output goes to
/// stderr: bmctl's stdout carries only the recorded attempt.
fn run(argv: Vec<String>) -> std::result::Result<i32, (i32, String)> {
    use std::os::fd::AsFd;
    let Some((cmd, args)) = argv.split_first() else {
        return Err((127, "no command".into()));
    };
    let mut command = Command::new(cmd);
    command.args(args);
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        command.stdout(std::process::Stdio::from(fd));
    }
    let mut child = command
        .spawn()
        .map_err(|e| crate::process::cannot_start(std::ffi::OsStr::new(cmd), &e))?;
    let forwarding = crate::process::Forwarding::to(child.id());
    let status = child.wait();
    if let Some(f) = forwarding {
        f.stop();
    }
    Ok(status.map(crate::process::exit_code).unwrap_or(1))
}

/// One row per policy: the last verified restore, measured RTO against target.
#[derive(Debug, Serialize)]
pub struct Latest {
    pub client: String,
    pub job: String,
    pub restore_test: String,
    pub last_success_at: Option<crate::domain::time::Ts>,
    pub duration_s: Option<i64>,
    pub rto_s: i64,
    pub rto_met: Option<bool>,
    pub age_days: Option<i64>,
}

pub fn latest(store: &Store, client: Option<&str>, now: i64) -> Result<Vec<Latest>> {
    let mut out = Vec::new();
    for c in clients::list(store.db())?
        .into_iter()
        .filter(|c| client.is_none_or(|x| x == c.code))
    {
        for p in policies::list(store.db(), c.id, false)? {
            let last = recovery::last_success(store.db(), p.id)?;
            out.push(Latest {
                client: c.code.clone(),
                job: p.spec.job.clone(),
                restore_test: p.spec.restore_test.clone(),
                last_success_at: last.as_ref().map(|a| a.ended_at),
                duration_s: last.as_ref().map(|a| a.duration_s),
                rto_s: p.spec.rto_s,
                rto_met: last.as_ref().and_then(|a| a.rto_met),
                age_days: last.as_ref().map(|a| (now - a.ended_at.0) / 86_400),
            });
        }
    }
    Ok(out)
}
