//! History imports, buffered inserts and large files.

use super::*;

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
        dry_run: false,
    };
    import(&mut live, &ctx, &input(false), |_| {}).unwrap();
    let first = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
    for ((what, live), (_, past)) in probe::run_facts(live.db())
        .into_iter()
        .zip(probe::run_facts(past.db()))
    {
        assert_eq!(live, past, "{what}");
    }
    let expected = [
        format!("{}|failed|incident|open", jobs[1]),
        format!("{}|warning|corrective|open", jobs[2]),
        format!("{}|integrity|corrective|open", jobs[2]),
    ];
    assert_eq!(probe::ticket_lines(past.db()), expected);
    assert_eq!(first.tickets.tickets_opened, 3, "{first:?}");
    // the work log names the newest run, as a live import's would
    let notes = probe::note_texts(past.db()).join("\n");
    assert!(notes.contains(&format!("{} run 3", jobs[1])), "{notes}");
    assert!(
        notes.contains("3 consecutive failed or missed runs"),
        "{notes}"
    );
    assert!(notes.contains("3 warnings in a row"), "{notes}");
    // the live import raised many more, and resolved most of them
    let live_tickets = probe::ticket_lines(live.db());
    assert!(live_tickets.len() > 4, "{live_tickets:#?}");

    let before = probe::ticket_tables(past.db());
    let again = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
    assert_eq!((again.new, again.tickets), (0, TicketCounts::default()));
    let after = probe::ticket_tables(past.db());
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
        dry_run: false,
    };
    let s = import(&mut store, &ctx, &input, |_| {}).unwrap();
    assert_eq!((s.new, s.tickets.tickets_resolved), (3, 1), "{s:?}");
    let status = |job: &str| -> String { probe::ticket_status_of(store.db(), job) };
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
        level: None,
        started_at: Some(base + i * 3_600),
        source: "restic".into(),
        external_id: Some(format!("{i:08x}")),
        ..acme_run(&job, Status::Success, base + i * 3_600 + 600)
    };
    let count = |store: &Store| -> i64 { probe::event_count(store.db()) };
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
    let runs = probe::rollup_runs(store.db());
    assert_eq!(runs, 2 * r + 9);
    // everything again: all duplicates, nothing written
    let again = ingest(&mut store, &ctx, &evs).unwrap();
    assert_eq!((again.new, again.duplicate), (0, read));
    assert_eq!(count(&store), 2 * r + 9);
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
    let count = |store: &Store| -> i64 { probe::event_count(store.db()) };
    let mut input = Input {
        path: &path,
        name: "big.jsonl",
        format: InputFormat::Jsonl,
        skip_invalid: false,
        history: false,
        history_from: None,
        dry_run: false,
    };
    let err = import(&mut store, &ctx, &input, |_| {}).unwrap_err();
    // every bad line, in file order
    let text_of = err.to_string();
    assert!(
        text_of.starts_with("3 bad lines (nothing was written"),
        "{err}"
    );
    let lines: Vec<&str> = text_of.lines().skip(1).map(str::trim).collect();
    assert!(lines[0].starts_with("big.jsonl:7: status: "), "{err}");
    assert!(lines[1].starts_with("big.jsonl:40001: client: "), "{err}");
    assert_eq!(lines.len(), 3, "{err}");
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
    let check = probe::integrity(store.db());
    assert_eq!(check, "ok");
    let (busy, frames, copied) = probe::checkpoint(store.db());
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
        let client = probe::client_code(store.db());
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
        let input = Input { path: &file, name: "runs.jsonl", format: InputFormat::Jsonl, skip_invalid: false, history: false, history_from: None, dry_run: false };
        let first = import(&mut store, &ctx, &input, |_| {}).unwrap();
        proptest::prop_assert_eq!((first.new, first.duplicate, first.conflicting), (runs.len(), 0, 0));
        let events: i64 = probe::event_count(store.db());
        proptest::prop_assert_eq!(events as usize, runs.len());
        let again = import(&mut store, &ctx, &input, |_| {}).unwrap();
        proptest::prop_assert_eq!((again.new, again.duplicate, again.conflicting), (0, runs.len(), 0));
    }
}
