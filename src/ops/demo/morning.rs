//! The demo's people at work: triage, tasks, changes, restore tests.

use super::*;

/// Each late morning a technician closes the incidents whose backups
/// recovered before the day began, with a root cause (incidents never close
/// by themselves), and finds the cause of the RPO breaches `check` raised.
pub(super) fn triage(store: &mut Store, morning: &Ctx) -> Result<()> {
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
        store.db(),
        &tickets::Filter {
            kind: Some(TicketKind::Incident),
            ..Default::default()
        },
    )? {
        if t.job.as_deref() == Some(CHRONIC) {
            continue;
        }
        if t.recovered_at.is_some_and(|r| now - r > 8 * 3_600) {
            let (cause, fix) = CAUSES[pick(&t.title, t.id, 4) as usize];
            correct::resolve(store, &ctx, t.id, cause, fix)?;
        }
    }
    // an RPO breach nobody saw live asks for its cause: found the same
    // morning (this morning's are left for the queue)
    for t in tickets::list(
        store.db(),
        &tickets::Filter {
            kind: Some(TicketKind::Corrective),
            ..Default::default()
        },
    )? {
        let breach = t.class == Some(crate::domain::ticket::ProblemClass::Finding)
            && t.title.starts_with("RPO breached");
        if breach && t.opened_at < now && t.job.as_deref() != Some(CHRONIC) {
            let (cause, fix) = CAUSES[pick(&t.title, t.id, 4) as usize];
            correct::resolve(store, &ctx, t.id, cause, fix)?;
        }
    }
    Ok(())
}

/// The technicians' proactive work: tasks that came due before this morning
/// are done on time (most), late, or skipped; restore-test tasks are done
/// by recording a restore test (one partial and one failure among them).
pub(super) fn work_tasks(store: &mut Store, morning: &Ctx, now: i64) -> Result<()> {
    let today = morning.now.timestamp();
    let open = tickets::list(
        store.db(),
        &tickets::Filter {
            kind: Some(TicketKind::Task),
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
                    ext_id: None,
                },
            )?;
            continue;
        }
        match roll {
            0..=84 => {
                tick_all(store, &at(due - 2400, "tasks check"), &t)?;
                tasks::done(
                    store,
                    &at(due - 1800, "tasks done"),
                    t.id,
                    false,
                    Some("reviewed; nothing new"),
                    None,
                )?;
            }
            85..=92 => {
                tick_all(store, &at(due + 5 * 3600, "tasks check"), &t)?;
                tasks::done(
                    store,
                    &at(due + 6 * 3600, "tasks done"),
                    t.id,
                    false,
                    Some("done late: busy with an incident"),
                    None,
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
pub(super) fn changes_in_history(store: &mut Store, morning: &Ctx, day: i64) -> Result<()> {
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
            macd::approve(
                store,
                &as_("bob", "macd approve", 2),
                c.id,
                &macd::Approval::default(),
                None,
                false,
            )?;
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
            macd::approve(
                store,
                &as_("bob", "macd approve", 2),
                c.id,
                &macd::Approval::default(),
                None,
                false,
            )?;
            macd::implement(
                store,
                &as_("bob", "macd implement", 3),
                c.id,
                &macd::DeleteTerms::default(),
            )?;
        }
        21 | 46 => {
            let open = crate::store::changes::list(
                store.db(),
                None,
                Some(crate::domain::change::ChangeState::Implemented),
                false,
            )?;
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
pub(super) fn people(store: &mut Store, ctx: &Ctx) -> Result<()> {
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
        store.db(),
        &tickets::Filter {
            kind: Some(TicketKind::Corrective),
            ..Default::default()
        },
    )?;
    if let Some(t) = open.iter().find(|t| t.job.as_deref() == Some(CHRONIC)) {
        correct::start(store, &at(0, "bob", "correct start"), t.id)?;
        correct::note(
            store,
            &at(0, "bob", "correct note"),
            correct::Desk::Correct,
            t.id,
            "VPN tunnel to the Globex backup repository drops at night; ISP ticket 88123 opened",
        )?;
    }
    // a ticket on hold: the client switched the host off for a rack move
    if let Some(t) = open
        .iter()
        .find(|t| t.is_open() && t.job.as_deref() == Some("wb-fs01-nightly"))
    {
        correct::wait(
            store,
            &at(0, "carol", "correct wait"),
            t.id,
            "Wombat switched wb-fs01 off for a rack move until Thursday",
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
            judgement: Default::default(),
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
    // approved at 06:30, implemented at 07:10: waiting for its first good backup
    let approve = Ctx {
        now: ctx.now - Duration::minutes(60),
        ..at(0, "bob", "macd approve")
    };
    macd::approve(
        store,
        &approve,
        c.id,
        &macd::Approval::default(),
        None,
        false,
    )?;
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
            correct::Desk::Correct,
            t.id,
            "locked.xlsx is held open by the ERP export; asked the client to close it at night",
        )?;
    }
    // the clients' people, and a risk Acme's CTO accepted for a dev box
    for (client, name, email, role) in [
        (
            "acme",
            "Martin Keller",
            "m.keller@acme.example",
            "decision-maker",
        ),
        ("acme", "Priya Shah", "it@acme.example", "technical"),
        (
            "globex",
            "Dana Whitfield",
            "dana.whitfield@globex.example",
            "decision-maker",
        ),
        (
            "wombat",
            "Liam O'Connor",
            "liam@wombat.example",
            "decision-maker",
        ),
    ] {
        crate::ops::people::add_contact(
            store,
            &at(30, "carol", "client contact add"),
            client,
            name,
            Some(email),
            role,
        )?;
    }
    crate::ops::people::accept(
        store,
        &at(10, "carol", "plan risks accept"),
        &crate::ops::people::Accept {
            client: Some("acme"),
            rule: "retention-below-requirement",
            subject: "dev01",
            by: "Martin Keller (CTO at Acme)",
            until: (ctx.now + Duration::days(180)).timestamp(),
            reference: "ACME-RISK-12",
            note: Some("a development box: four weekly copies are enough"),
        },
        7 * 86_400,
        &crate::report::risks::Limits::default(),
    )?;
    Ok(())
}

/// Tick every item of task `t`'s checklist, as the technician works it.
fn tick_all(store: &mut Store, ctx: &Ctx, t: &crate::domain::ticket::Ticket) -> Result<()> {
    for n in 1..=t.checklist.len() {
        tasks::check(store, ctx, t.id, &n.to_string(), true)?;
    }
    Ok(())
}
