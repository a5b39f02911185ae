//! The demo's 90 days of runs: each policy's story, and the past runs file.

use super::*;

/// The [`PAST_DAYS`] of runs before onboarding, written to `file` and
/// loaded with `events import --history`: events, state and KPIs for the
/// whole period, and tickets only for what was still wrong at onboarding.
pub(super) fn import_past_runs(
    store: &mut Store,
    onboard: &Ctx,
    file: &std::path::Path,
) -> Result<events::Summary> {
    let end = onboard.now.timestamp();
    let start = end - PAST_DAYS * 86_400;
    let mut lines = String::new();
    for c in clients::list(store.db())? {
        for p in policies::list(store.db(), c.id, false)? {
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
                    level: None,
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
        dry_run: false,
    };
    let ctx = Ctx {
        command: "events import".into(),
        ..onboard.clone()
    };
    events::import(store, &ctx, &input, |_| {})
}

/// A deterministic "random" number in `0..n` for a name and a number.
pub(super) fn pick(name: &str, k: i64, n: u64) -> u64 {
    (fnv64(&[name.as_bytes(), &k.to_le_bytes()]) as u64) % n
}

/// The special cases the demo shows, by job.
pub(super) const CHRONIC: &str = "gx-crm-nightly";
pub(super) const WEEKEND_GAP: &str = "web01-nightly";
pub(super) const WARNINGS: &str = "wb-fs01-nightly";
pub(super) const HUNG: &str = "gx-hv01-vms";
/// Its run of one night arrives late (a collector was offline): `check`
/// calls the night missed, the late run supersedes it.
pub(super) const LATE: (&str, i64) = ("gx-dc01-nightly", HISTORY_DAYS - 6);
/// One night's failure was a planned ERP upgrade: excused, with a reference.
pub(super) const EXCUSED: (&str, i64) = ("erp01-nightly", HISTORY_DAYS - 12);

/// What one scheduled run of the demo did, or `None` for no run at all.
pub(super) fn outcome(
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
pub(super) fn history(store: &mut Store, ctx: &Ctx) -> Result<()> {
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
    for c in clients::list(store.db())? {
        for p in policies::list(store.db(), c.id, false)? {
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
                    level: None,
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
                level: None,
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
        work_tasks(store, &morning, now)?;
        changes_in_history(store, &morning, (day_end - start) / 86_400)?;
        if day_end < now {
            // late morning: the night's findings triaged, within their SLA
            let midday = Ctx {
                now: morning.now + chrono::Duration::hours(4),
                ..morning.clone()
            };
            triage(store, &midday)?;
        }
        day_start = day_end;
    }
    Ok(())
}
