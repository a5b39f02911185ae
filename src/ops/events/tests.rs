use super::*;

/// A database at `path` with the first demo client onboarded, and a
/// context at 2026-11-30T07:00Z.
fn onboarded(path: &Path) -> (Store, Ctx) {
    onboarded_days_ago(path, 0)
}

/// The demo's first plan imported `days` before the tests' now (the
/// returned context's): runs since are the policies' own, not history
/// before their creation.
fn onboarded_days_ago(path: &Path, days: i64) -> (Store, Ctx) {
    let mut store = Store::create(path, std::time::Duration::from_secs(5)).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T07:00:00Z")
        .unwrap()
        .to_utc();
    let ctx = |now| Ctx {
        now,
        actor: "test".into(),
        command: "test".into(),
        rules: correct::Rules::default(),
    };
    let (file, plan) = crate::ops::demo::PLANS[0];
    let then = ctx(now - chrono::Duration::days(days));
    crate::ops::plan::import(&mut store, &then, plan, file, false).unwrap();
    (store, ctx(now))
}

/// The first policy of the onboarded client: its id and job.
fn first_policy(store: &Store) -> (i64, String) {
    store
        .conn
        .query_row(
            "SELECT id, job FROM policies ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The jobs of the onboarded client's first `n` policies.
fn first_jobs(store: &Store, n: usize) -> Vec<String> {
    let mut stmt = store
        .conn
        .prepare("SELECT job FROM policies ORDER BY id LIMIT ?1")
        .unwrap();
    let rows = stmt.query_map([n as i64], |r| r.get(0)).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// A backup run of acme's `job` that ended at `ended_at`, from a test
/// source, with no id of its own.
fn acme_run(job: &str, status: Status, ended_at: i64) -> NewEvent {
    NewEvent {
        client: "acme".into(),
        job: job.to_string(),
        operation: Operation::Backup,
        status,
        started_at: None,
        ended_at,
        bytes: None,
        files: None,
        snapshot: None,
        source: "test".into(),
        external_id: None,
        message: None,
    }
}

/// Between two batches another process changes a policy's state: the
/// next batch starts from the stored state, not from its own copy.
#[test]
fn another_writer_between_batches_drops_the_cached_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bmctl.db");
    let (mut store, ctx) = onboarded(&path);
    let now = ctx.now;
    let (policy_id, job) = first_policy(&store);
    let failed = |hour: i64| acme_run(&job, Status::Failed, now.timestamp() - 86_400 + hour * 3600);
    let mut ing = Ingestor::new();
    let mut batch = |store: &mut Store, ev: &NewEvent| {
        let tx = store.write().unwrap();
        ing.begin(&tx).unwrap();
        ing.add(&tx, ev).unwrap();
        ing.flush(&tx, &ctx).unwrap();
        tx.commit().unwrap();
    };
    let failures = |store: &Store| {
        policies::state(&store.conn, policy_id)
            .unwrap()
            .consecutive_failures
    };
    batch(&mut store, &failed(1));
    assert_eq!(failures(&store), 1);
    batch(&mut store, &failed(2));
    assert_eq!(failures(&store), 2);
    let other = Store::open(&path, std::time::Duration::from_secs(5)).unwrap();
    other
        .conn
        .execute(
            "UPDATE policy_state SET consecutive_failures = 5 WHERE policy_id = ?1",
            [policy_id],
        )
        .unwrap();
    batch(&mut store, &failed(3));
    assert_eq!(failures(&store), 6);

    // a bulk import turns reference checks off while it writes, and on again
    let f = dir.path().join("more.jsonl");
    let line = format!(
        r#"{{"client":"acme","job":"{job}","status":"success","ended_at":"2026-11-30T05:00:00Z"}}"#
    );
    std::fs::write(&f, line + "\n").unwrap();
    let input = Input {
        path: &f,
        name: "more.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history: false,
        history_from: None,
    };
    let summary = import(&mut store, &ctx, &input, |_| {}).unwrap();
    assert_eq!(summary.new, 1);
    let fk: i64 = store
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    assert_eq!(failures(&store), 0);
}

/// The policies with open tickets are read once per import and kept
/// across its batches: a ticket a batch opens is recovered by the next
/// batch's success, and one another process opens between batches is
/// seen (its write drops the cache).
#[test]
fn open_tickets_known_across_batches_and_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bmctl.db");
    let (mut store, ctx) = onboarded(&path);
    let now = ctx.now.timestamp();
    let jobs = first_jobs(&store, 2);
    let mut ing = Ingestor::new();
    let mut batch = |store: &mut Store, ev: NewEvent| {
        let tx = store.write().unwrap();
        ing.begin(&tx).unwrap();
        ing.add(&tx, &ev).unwrap();
        ing.flush(&tx, &ctx).unwrap();
        tx.commit().unwrap();
    };
    let open = |store: &Store, job: &str| -> i64 {
        store
            .conn
            .query_row(
                "SELECT count(*) FROM tickets t JOIN policies p ON p.id = t.policy_id
                 WHERE p.job = ?1 AND t.status = 'open'",
                [job],
                |r| r.get(0),
            )
            .unwrap()
    };
    batch(&mut store, acme_run(&jobs[0], Status::Failed, now - 7200));
    assert_eq!(open(&store, &jobs[0]), 1);
    batch(&mut store, acme_run(&jobs[0], Status::Success, now - 3600));
    assert_eq!(open(&store, &jobs[0]), 0, "recovered in the next batch");

    // another process's failure of the second job, between two batches
    let mut other = Store::open(&path, std::time::Duration::from_secs(5)).unwrap();
    ingest(
        &mut other,
        &ctx,
        &[acme_run(&jobs[1], Status::Failed, now - 3000)],
    )
    .unwrap();
    assert_eq!(open(&store, &jobs[1]), 1);
    batch(&mut store, acme_run(&jobs[1], Status::Success, now - 600));
    assert_eq!(
        open(&store, &jobs[1]),
        0,
        "the other writer's ticket is seen"
    );
}

/// A window goes to the writer in the events table's key order: by the
/// day the run ended, then client, then time; rejected lines first.
#[test]
fn a_window_is_sorted_by_end_day_then_client() {
    let day = 20_000 * 86_400;
    let item = |line: usize, client: &str, ended_at: i64| -> neutral::Item {
        let ev = NewEvent {
            client: client.into(),
            ..acme_run("j", Status::Success, ended_at)
        };
        (line, Ok(ev))
    };
    let mut window = [
        item(1, "zeta", day + 3600),
        item(2, "acme", day + 86_400 + 60),
        item(3, "acme", day + 7200),
        item(4, "zeta", day + 60),
        (5, Err(unknown_client(5, "nobody"))),
    ];
    window.sort_unstable_by(|a, b| window_order(a).cmp(&window_order(b)));
    let lines: Vec<usize> = window.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [5, 3, 4, 1, 2]);
}

/// A batch that fails after the states were changed in memory (here
/// its ticket insert) leaves nothing of itself in the ingestor: the next
/// batch starts from the stored states, and does not refer to the
/// source row the failed batch had created.
#[test]
fn a_failed_batch_leaves_nothing_in_the_ingestor() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
    let (policy_id, job) = first_policy(&store);
    let ev = acme_run(&job, Status::Failed, ctx.now.timestamp() - 3600);
    let mut ing = Ingestor::new();
    let mut batch = |store: &mut Store| {
        let tx = store.write().unwrap();
        ing.begin(&tx).unwrap();
        ing.add(&tx, &ev).unwrap();
        let flushed = ing.flush(&tx, &ctx);
        if flushed.is_ok() {
            tx.commit().unwrap();
        }
        flushed
    };
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER no_tickets BEFORE INSERT ON tickets
             BEGIN SELECT RAISE(ABORT, 'no tickets today'); END",
        )
        .unwrap();
    let err = batch(&mut store).unwrap_err();
    assert!(format!("{err:#}").contains("no tickets today"), "{err:#}");
    store.conn.execute_batch("DROP TRIGGER no_tickets").unwrap();
    batch(&mut store).unwrap();
    let st = policies::state(&store.conn, policy_id).unwrap();
    assert_eq!(
        st.consecutive_failures, 1,
        "the failed batch's count is gone"
    );
}

/// The ticket automation decides in memory and writes at the end of a
/// batch: a policy's whole story in one batch leaves the same tickets,
/// work log, notifications and audit chain, byte for byte, as the same
/// events one batch each. The story opens, updates, escalates,
/// recovers an incident, auto-resolves and reopens, on backups and on
/// repository checks.
#[test]
fn one_batch_writes_what_one_event_per_batch_writes() {
    use Status::{Failed as F, Missed as M, Success as S, Warning as W};
    let story = [
        (F, false),
        (F, false),
        (F, false), // the third in a row: escalated to an incident
        (S, false), // the incident recovers and waits for a person
        (F, false), // the incident again
        (W, false),
        (W, false),
        (W, false), // warnings in a row: a ticket
        (S, true),
        (F, true),  // a repository check fails
        (S, true),  // and passes: auto-resolved
        (F, true),  // reopened within the window
        (S, false), // clears the warning ticket
        (W, false),
        (W, false),
        (W, false), // the warning ticket reopens
        (M, false),
        (S, false),
        (S, true),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut stores = Vec::new();
    for name in ["one.db", "each.db"] {
        let (store, ctx) = onboarded(&dir.path().join(name));
        stores.push((store, ctx));
    }
    let (_, job) = first_policy(&stores[0].0);
    let base = stores[0].1.now.timestamp() - 30 * 86_400;
    let evs: Vec<NewEvent> = story
        .iter()
        .enumerate()
        .map(|(i, &(status, check))| NewEvent {
            operation: if check {
                Operation::Check
            } else {
                Operation::Backup
            },
            message: Some(format!("run {i}")),
            ..acme_run(&job, status, base + i as i64 * 3600)
        })
        .collect();
    let (one, each) = stores.split_at_mut(1);
    let (one, each) = (&mut one[0], &mut each[0]);
    let in_one = ingest(&mut one.0, &one.1, &evs).unwrap();
    let mut in_each = TicketCounts::default();
    for ev in &evs {
        in_each.add(
            ingest(&mut each.0, &each.1, std::slice::from_ref(ev))
                .unwrap()
                .tickets,
        );
    }
    assert_eq!(in_one.tickets, in_each);
    assert_eq!(in_one.tickets.tickets_opened, 4, "{in_one:?}");
    assert!(in_one.tickets.tickets_resolved >= 3, "{in_one:?}");
    let dump = |store: &Store| -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT * FROM tickets ORDER BY id",
            "SELECT * FROM ticket_notes ORDER BY id",
            "SELECT * FROM hook_outbox ORDER BY id",
            // (not the wall-clock write time, nor the hash over it, nor
            // the digest rows: one per batch)
            "SELECT at, actor, command, entity_type, entity_id, before, after FROM audit_log
             WHERE entity_type <> 'event_digest' ORDER BY id",
        ] {
            let mut stmt = store.conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cols: Vec<String> = (0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            v => format!("{v:?}"),
                        })
                        .collect();
                    Ok(cols.join("|"))
                })
                .unwrap();
            out.extend(rows.map(|r| format!("{sql}: {}", r.unwrap())));
        }
        out
    };
    let (a, b) = (dump(&one.0), dump(&each.0));
    assert!(a.iter().any(|r| r.contains("reopened")), "{a:#?}");
    assert!(a.iter().any(|r| r.contains("escalated to incident")));
    assert!(a.iter().any(|r| r.contains("an incident waits")));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
}

/// A history import stores, counts and moves the state exactly as a
/// live import of the same file, and leaves open only the problems the
/// policies' newest runs show; imported again it changes nothing.
#[test]
fn a_history_import_opens_only_what_the_newest_runs_leave_wrong() {
    use Status::{Failed as F, Success as S, Warning as W};
    let dir = tempfile::tempdir().unwrap();
    let (mut live, ctx) = onboarded_days_ago(&dir.path().join("live.db"), 41);
    let (mut past, _) = onboarded_days_ago(&dir.path().join("past.db"), 41);
    let jobs = first_jobs(&live, 4);
    // per job: its runs, oldest first (`true`: a repository check)
    let stories: [&[(Status, bool)]; 4] = [
        &[(F, false), (F, false), (F, false), (S, false)], // fixed long ago
        &[(S, false), (F, false), (F, false), (F, false)], // still failing
        &[(W, false), (W, false), (W, false), (F, true)],  // warnings, a bad check
        &[(F, true), (S, true), (F, false), (W, false)],   // all cleared by now
    ];
    let base = ctx.now.timestamp() - 40 * 86_400;
    let mut lines = String::new();
    for (job, story) in jobs.iter().zip(stories) {
        for (i, &(status, check)) in story.iter().enumerate() {
            lines.push_str(
                &serde_json::json!({
                    "client": "acme",
                    "job": job,
                    "operation": if check { "check" } else { "backup" },
                    "status": status.as_str(),
                    "ended_at": rfc3339(base + i as i64 * 86_400),
                    "message": format!("{job} run {i}"),
                    "source": "test",
                })
                .to_string(),
            );
            lines.push('\n');
        }
    }
    let file = dir.path().join("past.jsonl");
    std::fs::write(&file, lines).unwrap();
    let input = |history| Input {
        path: &file,
        name: "past.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history,
        history_from: None,
    };
    import(&mut live, &ctx, &input(false), |_| {}).unwrap();
    let first = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
    let dump = |store: &Store, sql: &str| -> Vec<String> {
        let mut stmt = store.conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| match r.get_ref(i).unwrap() {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        v => format!("{v:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    // the runs are the same; the history import also expects the
    // windows of its span before the policies existed (#10 §2)
    for sql in [
        "SELECT * FROM job_events WHERE status <> 'm' ORDER BY day, client_id, xid",
        "SELECT policy_id, last_success_at FROM policy_state ORDER BY policy_id",
        "SELECT client_id, day, runs, runs_success, runs_warning, runs_failed, bytes
         FROM daily_rollups ORDER BY 1, 2",
    ] {
        assert_eq!(dump(&live, sql), dump(&past, sql), "{sql}");
    }
    let tickets = "SELECT p.job, t.class, t.kind, t.status FROM tickets t
                   JOIN policies p ON p.id = t.policy_id ORDER BY t.id";
    let expected = [
        format!("{}|failed|incident|open", jobs[1]),
        format!("{}|warning|corrective|open", jobs[2]),
        format!("{}|integrity|corrective|open", jobs[2]),
    ];
    assert_eq!(dump(&past, tickets), expected);
    assert_eq!(first.tickets.tickets_opened, 3, "{first:?}");
    // the work log names the newest run, as a live import's would
    let notes = dump(&past, "SELECT text FROM ticket_notes ORDER BY id").join("\n");
    assert!(notes.contains(&format!("{} run 3", jobs[1])), "{notes}");
    assert!(
        notes.contains("3 consecutive failed or missed runs"),
        "{notes}"
    );
    assert!(notes.contains("3 warnings in a row"), "{notes}");
    // the live import raised many more, and resolved most of them
    let live_tickets = dump(&live, tickets);
    assert!(live_tickets.len() > 4, "{live_tickets:#?}");

    let before: Vec<Vec<String>> = ["tickets", "ticket_notes", "hook_outbox", "audit_log"]
        .iter()
        .map(|t| dump(&past, &format!("SELECT * FROM {t}")))
        .collect();
    let again = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
    assert_eq!((again.new, again.tickets), (0, TicketCounts::default()));
    let after: Vec<Vec<String>> = ["tickets", "ticket_notes", "hook_outbox", "audit_log"]
        .iter()
        .map(|t| dump(&past, &format!("SELECT * FROM {t}")))
        .collect();
    assert_eq!(before, after);
}

/// A backfill's good runs resolve what was raised while they were away,
/// as a live import's would; runs older than the policy's newest known
/// run change nothing.
#[test]
fn a_backfill_recovers_what_its_newer_runs_clear() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ctx) = onboarded_days_ago(&dir.path().join("b.db"), 21);
    let jobs = first_jobs(&store, 2);
    let day = 86_400;
    let base = ctx.now.timestamp() - 20 * day;
    let live = [
        acme_run(&jobs[0], Status::Failed, base),
        acme_run(&jobs[1], Status::Failed, base + 10 * day),
    ];
    let raised = ingest(&mut store, &ctx, &live).unwrap();
    assert_eq!(raised.tickets.tickets_opened, 2);
    let lines: String = [
        acme_run(&jobs[0], Status::Success, base + day),
        acme_run(&jobs[1], Status::Success, base + 2 * day), // older than its failure
        // the newest run of the file: the span it covers ends with it
        acme_run(&jobs[0], Status::Success, base + 5 * day),
    ]
    .iter()
    .map(|ev| crate::ingest::neutral::to_json_line(ev) + "\n")
    .collect();
    let file = dir.path().join("backfill.jsonl");
    std::fs::write(&file, lines).unwrap();
    let input = Input {
        path: &file,
        name: "backfill.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history: true,
        history_from: None,
    };
    let s = import(&mut store, &ctx, &input, |_| {}).unwrap();
    assert_eq!((s.new, s.tickets.tickets_resolved), (3, 1), "{s:?}");
    let status = |job: &str| -> String {
        store
            .conn
            .query_row(
                "SELECT t.status FROM tickets t JOIN policies p ON p.id = t.policy_id
                 WHERE p.job = ?1",
                [job],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(status(&jobs[0]), "resolved");
    assert_eq!(status(&jobs[1]), "open");
}

/// Events written many to a statement: a known key in a full buffer, a key
/// twice in one buffer and a run recorded again under the neighbouring
/// day's key (both records in one buffer) are each one duplicate, and
/// only new events count.
#[test]
fn buffered_inserts_find_every_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
    let (_, job) = first_policy(&store);
    let base = ctx.now.timestamp() - 20 * 86_400;
    let run = |i: i64| NewEvent {
        started_at: Some(base + i * 3_600),
        source: "restic".into(),
        external_id: Some(format!("{i:08x}")),
        ..acme_run(&job, Status::Success, base + i * 3_600 + 600)
    };
    let count = |store: &Store| -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))
            .unwrap()
    };
    // buffers of R events: two runs stored before
    let r = events::ROWS_PER_INSERT as i64;
    ingest(&mut store, &ctx, &[run(5), run(r + 4)]).unwrap();
    // 2R + 8 runs, those two among them (each in a full buffer), and one
    // twice in the second buffer
    let mut evs: Vec<NewEvent> = (0..2 * r + 8).map(run).collect();
    evs.insert(2 * r as usize - 1, run(2 * r - 2));
    // 23:30 to 00:10 across midnight, then the same snapshot by its start only
    let night = base - base.rem_euclid(86_400) + 10 * 86_400 - 1_800;
    let mut midnight = run(99);
    midnight.started_at = Some(night);
    midnight.ended_at = night + 2_400;
    let mut snapshot = midnight.clone();
    snapshot.ended_at = night;
    evs.push(midnight);
    evs.push(snapshot);
    let s = ingest(&mut store, &ctx, &evs).unwrap();
    let (read, new) = (2 * r as usize + 11, 2 * r as usize + 7);
    assert_eq!((s.read, s.new, s.duplicate), (read, new, 4));
    assert_eq!(count(&store), 2 * r + 9);
    // the rollups count new runs only
    let runs: i64 = store
        .conn
        .query_row("SELECT sum(runs) FROM daily_rollups", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 2 * r + 9);
    // everything again: all duplicates, nothing written
    let again = ingest(&mut store, &ctx, &evs).unwrap();
    assert_eq!((again.new, again.duplicate), (0, read));
    assert_eq!(count(&store), 2 * r + 9);
}

/// Both ways of reading missing states give the stored ones and keep
/// the states already held.
#[test]
fn missing_states_are_read_by_seek_or_in_one_pass() {
    let store = Store::memory().unwrap();
    let c = &store.conn;
    c.execute_batch("PRAGMA foreign_keys = off").unwrap();
    for id in 1..=5 {
        c.execute(
            "INSERT INTO policy_state (policy_id, last_event_at) VALUES (?1, ?1 * 100)",
            [id],
        )
        .unwrap();
    }
    for one_pass in [usize::MAX, 1] {
        let mut held: FastMap<i64, PolicyState> = FastMap::default();
        held.insert(
            2,
            PolicyState {
                last_event_at: Some(7),
                ..Default::default()
            },
        );
        read_states(c, &[1, 3], one_pass, &mut held).unwrap();
        assert_eq!(
            held[&1].last_event_at,
            Some(100),
            "one pass from {one_pass}"
        );
        assert_eq!(held[&3].last_event_at, Some(300));
        assert_eq!(held[&2].last_event_at, Some(7), "held, not read again");
    }
}

/// A large file with bad lines: strict, the first is the error and
/// nothing lands even though the writer has worked through many batches
/// meanwhile; with `skip_invalid`, every bad line is reported with its true
/// line number and the rest land.
#[test]
fn a_large_file_with_bad_lines_is_all_or_nothing_unless_skipping() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
    let now = ctx.now;
    let (_, job) = first_policy(&store);
    let n = 60_000;
    let mut text = String::new();
    for i in 1..=n {
        let good = format!(
            r#"{{"client":"acme","job":"{job}","status":"success","ended_at":"{}","id":"{i:08x}"}}"#,
            rfc3339(now.timestamp() - 86_400 * 30 + i * 40)
        );
        match i {
            7 => text.push_str(&good.replace("success", "exploded")),
            40_001 => text.push_str(&good.replace("acme", "nobody")),
            59_999 => text.push_str("{broken"),
            _ => text.push_str(&good),
        }
        text.push('\n');
    }
    let path = dir.path().join("big.jsonl");
    std::fs::write(&path, &text).unwrap();
    let count = |store: &Store| -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))
            .unwrap()
    };
    let mut input = Input {
        path: &path,
        name: "big.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history: false,
        history_from: None,
    };
    let err = import(&mut store, &ctx, &input, |_| {}).unwrap_err();
    assert!(
        err.to_string().starts_with("big.jsonl:7: status: "),
        "{err}"
    );
    assert_eq!(count(&store), 0);

    // only the last lines are bad: the writer is many batches in when
    // the checker finds them, and still nothing lands
    let tail = path.with_file_name("tail.jsonl");
    let good_part: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("exploded") && !l.contains("nobody") && !l.starts_with("{broken"))
        .collect();
    std::fs::write(&tail, good_part.join("\n") + "\n{\"client\":\"nobody\"}\n").unwrap();
    input.path = &tail;
    input.name = "tail.jsonl";
    let err = import(&mut store, &ctx, &input, |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("tail.jsonl:{}: ", n - 2)),
        "{err}"
    );
    assert_eq!(count(&store), 0);
    // a file above the size limit is checked before anything is written
    let err = import_checked(&mut store, &ctx, &input, |_| {}, 0).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("tail.jsonl:{}: ", n - 2)),
        "{err}"
    );
    assert_eq!(count(&store), 0);
    // … and, when good, written whole
    let good = path.with_file_name("good.jsonl");
    std::fs::write(&good, good_part.join("\n") + "\n").unwrap();
    input.path = &good;
    input.name = "good.jsonl";
    let summary = import_checked(&mut store, &ctx, &input, |_| {}, 0).unwrap();
    assert_eq!((summary.new, count(&store)), (n as usize - 3, n - 3));
    // its six commits checkpointed by a second connection as it wrote:
    // the file is sound and the WAL all copied
    let check: String = store
        .conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (busy, frames, copied): (i64, i64, i64) = store
        .conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((busy, frames), (0, copied));

    input.path = &path;
    input.name = "big.jsonl";
    input.skip_invalid = true;
    let summary = import(&mut store, &ctx, &input, |_| {}).unwrap();
    let lines: Vec<&str> = summary
        .rejections
        .iter()
        .map(|r| r.split(": ").next().unwrap())
        .collect();
    assert_eq!(lines, ["big.jsonl:7", "big.jsonl:40001", "big.jsonl:59999"]);
    assert!(summary.rejections[1].contains("unknown client 'nobody'"));
    assert_eq!(summary.rejected, 3);
    assert_eq!(count(&store), n - 3);
}

/// A generated run: its job (index), id, status and start minute.
#[derive(Debug, Clone)]
struct GenRun {
    job: usize,
    id: Option<String>,
    status: Status,
    minute: i64,
}

/// Ids of the shapes that once merged different runs: epoch seconds and
/// date-like numbers (shared across jobs), hex ids with a shared 8-digit
/// prefix, the same text on every job; or none at all.
fn gen_id() -> impl proptest::strategy::Strategy<Value = Option<String>> {
    use proptest::prelude::*;
    prop_oneof![
        (1_764_400_000i64..1_764_400_010).prop_map(|t| Some(t.to_string())),
        (0u32..20).prop_map(|h| Some(format!("2026112922{h:02}"))),
        (0u32..16).prop_map(|n| Some(format!("deadbeef{n:x}"))),
        (1u32..4).prop_map(|n| Some(format!("run-{n}"))),
        Just(None),
    ]
}

fn gen_run() -> impl proptest::strategy::Strategy<Value = GenRun> {
    use proptest::prelude::*;
    (
        0usize..3,
        gen_id(),
        prop_oneof![
            Just(Status::Success),
            Just(Status::Warning),
            Just(Status::Failed)
        ],
        0i64..3,
    )
        .prop_map(|(job, id, status, minute)| GenRun {
            job,
            id,
            status,
            minute,
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// #17 §1–2: N distinct runs are N events, whatever their ids look
    /// like (same-second retries without ids included), and importing
    /// the same file again adds none.
    #[test]
    fn distinct_runs_are_distinct_events(runs in proptest::collection::vec(gen_run(), 1..30)) {
        // distinct runs: one per (job, id), or per (job, start, status) without an id
        let mut seen = HashSet::new();
        let runs: Vec<GenRun> = runs
            .into_iter()
            .filter(|r| match &r.id {
                Some(id) => seen.insert((r.job, id.clone(), 0, Status::Success)),
                None => seen.insert((r.job, String::new(), r.minute, r.status)),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
        let jobs = first_jobs(&store, 3);
        let client: String = store.conn.query_row("SELECT code FROM clients", [], |r| r.get(0)).unwrap();
        let base = 1_764_453_600; // 2026-11-29T22:00:00Z
        let lines: Vec<String> = runs
            .iter()
            .map(|r| {
                // a retry starts in the same second and ends a little later
                let start = base + r.minute * 60;
                let end = start + 30 + r.status as i64;
                let mut v = serde_json::json!({
                    "client": client, "job": jobs[r.job], "status": r.status.as_str(),
                    "started_at": rfc3339(start), "ended_at": rfc3339(end), "source": "script",
                });
                if let Some(id) = &r.id {
                    v["id"] = serde_json::json!(id);
                }
                v.to_string()
            })
            .collect();
        let file = dir.path().join("runs.jsonl");
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        let input = Input { path: &file, name: "runs.jsonl", format: InputFormat::Jsonl, skip_invalid: false, history: false, history_from: None };
        let first = import(&mut store, &ctx, &input, |_| {}).unwrap();
        proptest::prop_assert_eq!((first.new, first.duplicate, first.conflicting), (runs.len(), 0, 0));
        let events: i64 = store.conn.query_row("SELECT count(*) FROM job_events", [], |r| r.get(0)).unwrap();
        proptest::prop_assert_eq!(events as usize, runs.len());
        let again = import(&mut store, &ctx, &input, |_| {}).unwrap();
        proptest::prop_assert_eq!((again.new, again.duplicate, again.conflicting), (0, runs.len(), 0));
    }
}
