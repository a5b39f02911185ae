use super::*;
use crate::store::probe;

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
    crate::ops::plan::import(&mut store, &then, plan, file, None, false).unwrap();
    (store, ctx(now))
}

/// The first policy of the onboarded client: its id and job.
fn first_policy(store: &Store) -> (i64, String) {
    probe::first_policy(store.db())
}

/// The jobs of the onboarded client's first `n` policies.
fn first_jobs(store: &Store, n: usize) -> Vec<String> {
    probe::first_jobs(store.db(), n)
}

/// A backup run of acme's `job` that ended at `ended_at`, from a test
/// source, with no id of its own.
fn acme_run(job: &str, status: Status, ended_at: i64) -> NewEvent {
    NewEvent {
        level: None,
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
        policies::state(store.db(), policy_id)
            .unwrap()
            .consecutive_failures
    };
    batch(&mut store, &failed(1));
    assert_eq!(failures(&store), 1);
    batch(&mut store, &failed(2));
    assert_eq!(failures(&store), 2);
    let other = Store::open(&path, std::time::Duration::from_secs(5)).unwrap();
    probe::set_failures(other.db(), policy_id, 5);
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
        dry_run: false,
    };
    let summary = import(&mut store, &ctx, &input, |_| {}).unwrap();
    assert_eq!(summary.new, 1);
    assert!(probe::foreign_keys_on(store.db()));
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
    let open = |store: &Store, job: &str| probe::open_tickets_of(store.db(), job);
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
            level: None,
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
    probe::refuse_tickets(store.db(), true);
    let err = batch(&mut store).unwrap_err();
    assert!(format!("{err:#}").contains("no tickets today"), "{err:#}");
    probe::refuse_tickets(store.db(), false);
    batch(&mut store).unwrap();
    let st = policies::state(store.db(), policy_id).unwrap();
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
            level: None,
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
        let tables = probe::automation_rows(store.db()).into_iter().enumerate();
        tables
            .flat_map(|(i, rows)| rows.into_iter().map(move |r| format!("{i}: {r}")))
            .collect()
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

mod import;
