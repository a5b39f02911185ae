//! The demo database: realistic clients onboarded through the same
//! plan-import code a user runs, so the demo shows the real product.

use anyhow::{Context, Result};
use chrono::Duration;
use serde::Serialize;

use crate::domain::change::Change;
use crate::domain::event::{fnv64, NewEvent, Operation, Status};
use crate::domain::policy::Schedule;
use crate::domain::time::from_unix;
use crate::ops::{check, correct, events, macd, pause, plan, restore, tasks, Ctx};
use crate::store::{clients, meta, policies, tickets, Store};

/// The demo's plan files, as shipped in `examples/demo/`.
pub const PLANS: &[(&str, &str)] = &[
    (
        "examples/demo/acme.toml",
        include_str!("../../examples/demo/acme.toml"),
    ),
    (
        "examples/demo/globex.toml",
        include_str!("../../examples/demo/globex.toml"),
    ),
    (
        "examples/demo/wombat.toml",
        include_str!("../../examples/demo/wombat.toml"),
    ),
];

/// Days of history the demo covers before `now`.
pub const HISTORY_DAYS: i64 = 90;

/// Days of past runs each client brings to its onboarding, from the monitor
/// the MSP used before bmctl.
pub const PAST_DAYS: i64 = 30;

pub const MARK: &str = "demo";

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub clients: i64,
    pub cis: i64,
    pub policies: i64,
    pub unprotected: i64,
}

/// The demo's config file: default assignees per client and a hook that
/// appends every ticket notification to `notifications` (a JSON line each).
pub fn config_text(notifications: &std::path::Path) -> String {
    let hook = format!(
        "[\"sh\", \"-c\", \"cat >> '{}'\"]",
        notifications.display().to_string().replace('\'', "")
    );
    format!(
        "# bmctl demo configuration: use it with --config\n\
         [hooks]\non_open = {hook}\non_escalate = {hook}\non_reopen = {hook}\non_resolve = {hook}\n\n\
         [assignees]\nacme = \"alice\"\nglobex = \"bob\"\nwombat = \"carol\"\n"
    )
}

/// Whether the database is marked as a demo.
pub fn is_demo(store: &Store) -> Result<bool> {
    Ok(meta::get(&store.conn, MARK)?.as_deref() == Some("true"))
}

/// Build the demo into an empty database, as of `ctx.now`; the clients'
/// past runs are written to `past_runs` (JSON lines) and imported from
/// there with `--history`, as an operator onboarding them would. Returns
/// what that import did.
pub fn build(store: &mut Store, ctx: &Ctx, past_runs: &std::path::Path) -> Result<events::Summary> {
    {
        let tx = store.write()?;
        meta::set(&tx, MARK, "true")?;
        tx.commit()?;
    }
    let onboard = Ctx {
        now: ctx.now - chrono::Duration::days(HISTORY_DAYS),
        ..ctx.clone()
    };
    for (file, text) in PLANS {
        plan::import(store, &onboard, text, file, false)?;
    }
    let past = import_past_runs(store, &onboard, past_runs)?;
    history(store, ctx)?;
    people(store, ctx)?;
    Ok(past)
}

/// The [`PAST_DAYS`] of runs before onboarding, written to `file` and
/// loaded with `events import --history`: events, state and KPIs for the
/// whole period, and tickets only for what was still wrong at onboarding.
fn import_past_runs(
    store: &mut Store,
    onboard: &Ctx,
    file: &std::path::Path,
) -> Result<events::Summary> {
    let end = onboard.now.timestamp();
    let start = end - PAST_DAYS * 86_400;
    let mut lines = String::new();
    for c in clients::list(&store.conn)? {
        for p in policies::list(&store.conn, c.id, false)? {
            let s = &p.spec;
            let Ok(schedule) = Schedule::parse(&s.schedule) else {
                continue;
            };
            for t in schedule.occurrences(from_unix(start), from_unix(end), c.tz()) {
                let t = t.timestamp();
                let k = t / 60;
                let started = t + pick(&s.job, k, 600) as i64;
                let ended = started + 120 + pick(&s.job, k + 1, 5400) as i64;
                let Some((status, message)) = outcome(&s.job, k, t, end, (0, 0)) else {
                    continue;
                };
                if ended > end {
                    continue;
                }
                let ok = status != Status::Failed;
                let ev = NewEvent {
                    client: c.code.clone(),
                    job: s.job.clone(),
                    operation: Operation::Backup,
                    status,
                    started_at: Some(started),
                    ended_at: ended,
                    bytes: ok.then_some((1 + pick(&s.job, 0, 400)) as i64 * 1_000_000_000),
                    files: ok.then_some(20_000 + pick(&s.job, 1, 200_000) as i64),
                    snapshot: None,
                    source: "previous-monitor".into(),
                    external_id: None,
                    message: message.map(str::to_string),
                };
                lines.push_str(&crate::ingest::neutral::to_json_line(&ev));
                lines.push('\n');
            }
        }
    }
    std::fs::write(file, lines).with_context(|| format!("writing {}", file.display()))?;
    let name = file.display().to_string();
    let input = events::Input {
        path: file,
        name: &name,
        format: crate::ingest::neutral::InputFormat::Jsonl,
        skip_invalid: false,
        history: true,
        history_from: None,
    };
    let ctx = Ctx {
        command: "events import".into(),
        ..onboard.clone()
    };
    events::import(store, &ctx, &input, |_| {})
}

/// A deterministic "random" number in `0..n` for a name and a number.
fn pick(name: &str, k: i64, n: u64) -> u64 {
    (fnv64(&[name.as_bytes(), &k.to_le_bytes()]) as u64) % n
}

/// The special cases the demo shows, by job.
const CHRONIC: &str = "gx-crm-nightly";
const WEEKEND_GAP: &str = "web01-nightly";
const WARNINGS: &str = "wb-fs01-nightly";
const HUNG: &str = "gx-hv01-vms";
/// Its run of one night arrives late (a collector was offline): `check`
/// calls the night missed, the late run supersedes it.
const LATE: (&str, i64) = ("gx-dc01-nightly", HISTORY_DAYS - 6);
/// One night's failure was a planned ERP upgrade: excused, with a reference.
const EXCUSED: (&str, i64) = ("erp01-nightly", HISTORY_DAYS - 12);

/// What one scheduled run of the demo did, or `None` for no run at all.
fn outcome(
    job: &str,
    k: i64,
    t: i64,
    now: i64,
    last_weekend: (i64, i64),
) -> Option<(Status, Option<&'static str>)> {
    let recent = now - t < 4 * 86_400;
    match job {
        CHRONIC if recent || pick(job, k, 10) < 4 => Some((
            Status::Failed,
            Some("Fatal: unable to open repository: dial tcp 10.20.0.5:8000: i/o timeout"),
        )),
        WEEKEND_GAP if t >= last_weekend.0 && t < last_weekend.1 => None,
        WARNINGS if recent || pick(job, k, 8) == 0 => Some((
            Status::Warning,
            Some("error: open /srv/share/Finance/locked.xlsx: permission denied"),
        )),
        _ => match pick(job, k, 100) {
            0..=1 => Some((
                Status::Failed,
                Some("Fatal: repository is already locked by PID 4411"),
            )),
            2..=4 => Some((
                Status::Warning,
                Some("error: lstat /home/user/.cache/tmp123: no such file or directory"),
            )),
            5 => None,
            _ => Some((Status::Success, None)),
        },
    }
}

/// 90 days of job history for every demo policy, fed through the same
/// ingest code a user's imports take, with `check` run each morning as
/// cron would: failures, warnings, missed runs, a hung run and the tickets
/// they raise.
fn history(store: &mut Store, ctx: &Ctx) -> Result<()> {
    let now = ctx.now.timestamp();
    let start = now - HISTORY_DAYS * 86_400;
    let settings = check::Settings {
        default_max_runtime_s: 12 * 3600,
        batch_windows: crate::ops::check::BATCH_OCCURRENCES,
    };
    // the last full weekend (Saturday and Sunday, UTC) more than a day ago
    let mut sat = now - 2 * 86_400;
    while from_unix(sat).format("%u").to_string() != "6" {
        sat -= 86_400;
    }
    let sat = sat - sat.rem_euclid(86_400);
    let last_weekend = (sat, sat + 2 * 86_400);

    let mut jobs = Vec::new();
    for c in clients::list(&store.conn)? {
        for p in policies::list(&store.conn, c.id, false)? {
            jobs.push((c.code.clone(), c.tz(), p));
        }
    }
    // A past maintenance window: Wombat's site was paused for three days (a
    // move of the server room); no runs, no tickets, no expected runs then.
    let window = (start + 55 * 86_400, start + 58 * 86_400);
    let mut held = Vec::new();
    let mut excuse = None;
    let mut day_start = start;
    while day_start < now {
        let day_end = (day_start + 86_400).min(now);

        if day_start == window.0 - 86_400 {
            let owner = Ctx {
                actor: "carol".into(),
                command: "pause".into(),
                now: from_unix(day_start),
                ..ctx.clone()
            };
            let wombat = pause::Target::Client("wombat".into());
            pause::create(
                store,
                &owner,
                &wombat,
                Some(window.0),
                window.1,
                "server room move at the Wombat depot, CHG-2291",
            )?;
        }
        let mut batch = Vec::new();
        for (client, tz, p) in &jobs {
            let s = &p.spec;
            let Ok(schedule) = Schedule::parse(&s.schedule) else {
                continue;
            };
            for t in schedule.occurrences(from_unix(day_start), from_unix(day_end), *tz) {
                let t = t.timestamp();
                let k = t / 60;
                let started = t + pick(&s.job, k, 600) as i64;
                let duration = 120 + pick(&s.job, k + 1, 5400) as i64;
                if s.job == HUNG && now - t < 2 * 86_400 && now - t > 86_400 / 2 {
                    // started, never ended: `check` calls it hung once past its max runtime
                    batch.push(NewEvent::start_record(client, &s.job, started, "run"));
                    continue;
                }
                if s.job == HUNG && now - t <= 86_400 / 2 {
                    continue; // still blocked by the hung run
                }
                if started + duration > now {
                    continue;
                }
                if client == "wombat" && t >= window.0 && t < window.1 {
                    continue; // servers switched off for the move
                }
                let day = (t - start) / 86_400;
                let excused = s.job == EXCUSED.0 && day == EXCUSED.1;
                let Some((status, message)) = (if excused {
                    excuse = Some(t);
                    Some((
                        Status::Failed,
                        Some("ERROR: could not connect to the ERP database: service stopped"),
                    ))
                } else {
                    outcome(&s.job, k, t, now, last_weekend)
                }) else {
                    continue;
                };
                let days = (t - start) / 86_400;
                let base = (1 + pick(&s.job, 0, 400)) as i64 * 1_000_000_000;
                let source = match s.tool.as_str() {
                    "restic" | "borg" => s.tool.clone(),
                    _ => "import".to_string(),
                };
                let external_id = match s.tool.as_str() {
                    "restic" if status != Status::Failed => {
                        Some(format!("{:08x}", pick(&s.job, k, u32::MAX as u64)))
                    }
                    "borg" if status != Status::Failed => {
                        Some(format!("{:016x}", pick(&s.job, k, u64::MAX)))
                    }
                    _ => None,
                };
                let late = s.job == LATE.0 && day == LATE.1 && status != Status::Failed;
                let to = if late { &mut held } else { &mut batch };
                to.push(NewEvent {
                    client: client.clone(),
                    job: s.job.clone(),
                    operation: Operation::Backup,
                    status,
                    started_at: Some(started),
                    ended_at: started + duration,
                    bytes: (status != Status::Failed).then_some(base + base * days / 500),
                    files: (status != Status::Failed)
                        .then_some(20_000 + pick(&s.job, 1, 200_000) as i64),
                    snapshot: None,
                    source,
                    external_id,
                    message: message.map(str::to_string),
                });
            }
        }
        // a job the plan does not know: a finding for the risk register
        if from_unix(day_start).format("%u").to_string() == "3" {
            batch.push(NewEvent {
                client: "acme".into(),
                job: "old-nas-sync".into(),
                operation: Operation::Backup,
                status: Status::Success,
                started_at: Some(day_start + 3 * 3600),
                ended_at: day_start + 4 * 3600,
                bytes: Some(80_000_000_000),
                files: None,
                snapshot: None,
                source: "import".into(),
                external_id: None,
                message: None,
            });
        }
        let morning = Ctx {
            now: from_unix(day_end),
            ..ctx.clone()
        };
        let ingest_ctx = Ctx {
            command: "events import".into(),
            ..morning.clone()
        };
        events::ingest(store, &ingest_ctx, &batch)?;
        let check_ctx = Ctx {
            command: "check".into(),
            ..morning.clone()
        };
        check::run(store, &check_ctx, &settings)?;
        if !held.is_empty() && (day_start - start) / 86_400 == LATE.1 {
            // the offline collector is back right after `check` called its
            // night missed: the run arrives late and supersedes the miss
            events::ingest(store, &ingest_ctx, &std::mem::take(&mut held))?;
        }
        if let Some(t) = excuse.filter(|_| (day_start - start) / 86_400 == EXCUSED.1 + 1) {
            let alice = Ctx {
                actor: "alice".into(),
                command: "events exclude".into(),
                ..morning.clone()
            };
            crate::ops::exclude::exclude(
                store,
                &alice,
                "acme",
                EXCUSED.0,
                t,
                "planned ERP upgrade: the vendor stopped the database for the night",
                Some("CHG-3107"),
            )?;
        }
        let gen_ctx = Ctx {
            command: "tasks generate".into(),
            ..morning.clone()
        };
        // cron runs `tasks generate` all day long: create the day ahead at once
        tasks::generate(store, &gen_ctx, day_end + 86_400)?;
        if day_end < now {
            triage(store, &morning)?;
        }
        work_tasks(store, &morning, now)?;
        changes_in_history(store, &morning, (day_end - start) / 86_400)?;
        day_start = day_end;
    }
    Ok(())
}

/// Each morning a technician closes the incidents whose backups recovered
/// more than a day ago, with a root cause (incidents never close by themselves).
fn triage(store: &mut Store, morning: &Ctx) -> Result<()> {
    const CAUSES: [(&str, &str); 4] = [
        (
            "network",
            "site VPN flapped overnight; tunnel rekey fixed, next run succeeded",
        ),
        (
            "capacity",
            "repository volume was full; pruned per retention and extended by 500 GB",
        ),
        (
            "software",
            "backup agent hung after an OS update; restarted the agent",
        ),
        (
            "credentials",
            "repository password rotated without updating the job; updated the secret",
        ),
    ];
    let now = morning.now.timestamp();
    let ctx = Ctx {
        actor: "alice".into(),
        command: "correct resolve".into(),
        ..morning.clone()
    };
    for t in tickets::list(
        &store.conn,
        &tickets::Filter {
            kind: Some("incident".into()),
            ..Default::default()
        },
    )? {
        if t.job.as_deref() == Some(CHRONIC) {
            continue;
        }
        if t.recovered_at.is_some_and(|r| now - r > 86_400) {
            let (cause, fix) = CAUSES[pick(&t.title, t.id, 4) as usize];
            correct::resolve(store, &ctx, t.id, cause, fix)?;
        }
    }
    // an RPO breach nobody saw live asks for its cause: found the next day
    // (the most recent ones are left for the morning's queue)
    for t in tickets::list(
        &store.conn,
        &tickets::Filter {
            kind: Some("corrective".into()),
            ..Default::default()
        },
    )? {
        let breach = t.class.as_deref() == Some("finding") && t.title.starts_with("RPO breached");
        if breach && now - t.opened_at > 86_400 && t.job.as_deref() != Some(CHRONIC) {
            let (cause, fix) = CAUSES[pick(&t.title, t.id, 4) as usize];
            correct::resolve(store, &ctx, t.id, cause, fix)?;
        }
    }
    Ok(())
}

/// The technicians' proactive work: tasks that came due before this morning
/// are done on time (most), late, or skipped; restore-test tasks are done
/// by recording a restore test (one partial and one failure among them).
fn work_tasks(store: &mut Store, morning: &Ctx, now: i64) -> Result<()> {
    let today = morning.now.timestamp();
    let open = tickets::list(
        &store.conn,
        &tickets::Filter {
            kind: Some("task".into()),
            due_before: Some(today.min(now - 86_400)),
            ..Default::default()
        },
    )?;
    for t in open {
        let due = t.due_at.unwrap_or(today);
        let who = if pick(&t.title, t.id, 2) == 0 {
            "alice"
        } else {
            "bob"
        };
        let roll = pick(&t.title, t.id + 7, 100);
        let at = |when: i64, command: &str| Ctx {
            now: from_unix(when.max(t.opened_at).min(today)),
            actor: who.into(),
            command: command.into(),
            rules: morning.rules.clone(),
        };
        if let (Some(job), Some(policy_id)) = (&t.job, t.policy_id) {
            // a restore test: record it, which completes the task
            let outcome = match (job.as_str(), policy_id % 17, roll) {
                ("sql01-nightly", _, _)
                    if t.occurrence_at.is_some_and(|o| now - o < 40 * 86_400) =>
                {
                    "failed"
                }
                (_, 3, _) if roll < 50 => "partial",
                _ => "success",
            };
            let issues = match outcome {
                "failed" => Some(
                    "pg_restore: error: could not read from input file: end of file".to_string(),
                ),
                "partial" => Some("3 of 1,200 files failed checksum verification".to_string()),
                _ => None,
            };
            let ended = if roll < 90 {
                due - 3600
            } else {
                due + 5 * 3600
            };
            let took = 900 + pick(job, t.id, 7200) as i64;
            let ctx = at(ended, "restore record");
            let ended = ctx.now.timestamp();
            restore::record(
                store,
                &ctx,
                restore::Report {
                    client: t.client.clone(),
                    job: job.clone(),
                    kind: "test".into(),
                    outcome: outcome.into(),
                    started_at: ended - took,
                    ended_at: ended,
                    issues,
                    command: Some(format!("restic restore latest --target /scratch/{job}")),
                    verified: outcome == "success",
                },
            )?;
            continue;
        }
        match roll {
            0..=84 => {
                tasks::done(
                    store,
                    &at(due - 1800, "tasks done"),
                    t.id,
                    false,
                    Some("reviewed; nothing new"),
                )?;
            }
            85..=92 => {
                tasks::done(
                    store,
                    &at(due + 6 * 3600, "tasks done"),
                    t.id,
                    false,
                    Some("done late: busy with an incident"),
                )?;
            }
            93..=95 => {
                tasks::skip(
                    store,
                    &at(due - 3600, "tasks skip"),
                    t.id,
                    "public holiday at the client",
                    true,
                )?;
            }
            96..=97 => {
                tasks::skip(
                    store,
                    &at(due + 3600, "tasks skip"),
                    t.id,
                    "no technician available",
                    false,
                )?;
            }
            _ => {} // left open: overdue in the morning view
        }
    }
    Ok(())
}

/// Two controlled changes along the way, completed: plan versions 2 and 3 of acme.
fn changes_in_history(store: &mut Store, morning: &Ctx, day: i64) -> Result<()> {
    let as_ = |actor: &str, command: &str, hours: i64| Ctx {
        now: morning.now + Duration::hours(hours),
        actor: actor.into(),
        command: command.into(),
        rules: morning.rules.clone(),
    };
    let why = |reason: &str, r: &str| macd::Why {
        reason: reason.into(),
        ref_: Some(r.into()),
    };
    let first = |reqs: Vec<Change>| reqs.into_iter().next().map(|c| c.id);
    match day {
        20 => {
            let req = macd::Request::Change {
                job: "dc01-nightly".into(),
                sets: vec![("retention".into(), "daily=14,weekly=4,monthly=12".into())],
            };
            let c = macd::request(
                store,
                &as_("alice", "macd change", 1),
                "acme",
                req,
                why(
                    "keep a year of monthly restore points (audit finding)",
                    "CHG-3101",
                ),
            )?;
            macd::approve(store, &as_("bob", "macd approve", 2), c.id, false, false)?;
            macd::implement(
                store,
                &as_("bob", "macd implement", 3),
                c.id,
                &macd::DeleteTerms::default(),
            )?;
        }
        45 => {
            let req = macd::Request::Move {
                job: "web01-nightly".into(),
                to_ci: None,
                target: Some("offsite".into()),
            };
            let c = macd::request(
                store,
                &as_("alice", "macd move", 1),
                "acme",
                req,
                why(
                    "cloud bucket retired; move to the offsite repository",
                    "CHG-3177",
                ),
            )?;
            macd::approve(store, &as_("bob", "macd approve", 2), c.id, false, false)?;
            macd::implement(
                store,
                &as_("bob", "macd implement", 3),
                c.id,
                &macd::DeleteTerms::default(),
            )?;
        }
        21 | 46 => {
            let open = crate::store::changes::list(&store.conn, None, Some("implemented"), false)?;
            if let Some(id) = first(open) {
                let ctx = as_("bob", "macd complete", 1);
                if macd::complete(store, &ctx, id, None).is_err() {
                    macd::complete(
                        store,
                        &ctx,
                        id,
                        Some("checked the first run in the backup console"),
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// What the technicians did: tickets worked, a finding raised and resolved.
fn people(store: &mut Store, ctx: &Ctx) -> Result<()> {
    let at = |days: i64, actor: &str, command: &str| Ctx {
        now: ctx.now - Duration::days(days),
        actor: actor.into(),
        command: command.into(),
        rules: ctx.rules.clone(),
    };
    let finding = correct::open(
        store,
        &at(20, "alice", "correct open"),
        "acme",
        "fs01-nightly",
        "Test restore: the Finance share was not in the snapshot",
        Some("found during the monthly test restore"),
    )?;
    correct::start(store, &at(19, "alice", "correct start"), finding.id)?;
    correct::resolve(
        store,
        &at(18, "alice", "correct resolve"),
        finding.id,
        "configuration",
        "the exclude file listed /srv/share/Finance; removed it and re-ran the backup",
    )?;
    let open = tickets::list(
        &store.conn,
        &tickets::Filter {
            kind: Some("corrective".into()),
            ..Default::default()
        },
    )?;
    if let Some(t) = open.iter().find(|t| t.job.as_deref() == Some(CHRONIC)) {
        correct::start(store, &at(0, "bob", "correct start"), t.id)?;
        correct::note(
            store,
            &at(0, "bob", "correct note"),
            t.id,
            "VPN tunnel to the Globex backup repository drops at night; ISP ticket 88123 opened",
        )?;
    }
    // changes in every state: one awaiting approval, one implemented and
    // waiting for its first good backup, one rejected (two completed above)
    let why = |reason: &str, r: &str| macd::Why {
        reason: reason.into(),
        ref_: Some(r.into()),
    };
    let add = macd::Request::Add {
        proposal: Box::new(crate::domain::plan::PolicySpec {
            job: "sql01-dump-hourly".into(),
            ci: "sql01".into(),
            tool: "restic".into(),
            schedule: "30 * * * *".into(),
            rpo_s: 2 * 3600,
            grace_s: 45 * 60,
            retention: crate::domain::policy::Retention::parse("hourly=48,daily=7")?,
            target: "offsite".into(),
            restore_test: "monthly".into(),
            rto_s: 3600,
            max_runtime_s: None,
            match_rule: Default::default(),
        }),
        new_ci: None,
    };
    let c = macd::request(
        store,
        &at(1, "alice", "macd add"),
        "acme",
        add,
        why("hourly dumps offsite for the ERP database", "CHG-3240"),
    )?;
    macd::approve(store, &at(0, "bob", "macd approve"), c.id, false, false)?;
    let implement = Ctx {
        now: ctx.now - Duration::minutes(20),
        ..at(0, "bob", "macd implement")
    };
    macd::implement(store, &implement, c.id, &macd::DeleteTerms::default())?;
    let del = macd::Request::Delete {
        job: Some("dev01-weekly".into()),
        ci: None,
    };
    macd::request(
        store,
        &at(1, "alice", "macd delete"),
        "acme",
        del,
        why("build server decommissioned", "CHG-3251"),
    )?;
    let rpo = macd::Request::Change {
        job: "wb-web-nightly".into(),
        sets: vec![("rpo".into(), "3d".into())],
    };
    let c = macd::request(
        store,
        &at(3, "carol", "macd change"),
        "wombat",
        rpo,
        why("fewer tickets on weekends", "CHG-3199"),
    )?;
    macd::reject(
        store,
        &at(2, "bob", "macd reject"),
        c.id,
        "the client's contract says 24h",
    )?;
    if let Some(t) = open.iter().find(|t| t.job.as_deref() == Some(WARNINGS)) {
        correct::note(
            store,
            &at(0, "alice", "correct note"),
            t.id,
            "locked.xlsx is held open by the ERP export; asked the client to close it at night",
        )?;
    }
    Ok(())
}

pub fn summary(store: &Store) -> Result<DemoSummary> {
    let c = crate::store::cis::coverage(&store.conn)?;
    Ok(DemoSummary {
        clients: c.clients,
        cis: c.cis,
        policies: c.policies,
        unprotected: c.unprotected,
    })
}
