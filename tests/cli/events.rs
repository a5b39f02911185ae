//! `bmctl events import|ingest|list` (05f.02): idempotent ingestion.

use crate::env::*;

#[test]
fn the_same_file_twice_is_one_set_of_events_and_one_ticket() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let lines = [
        line(
            "fs01-nightly",
            "failed",
            "2026-11-20T21:00:00Z",
            r#","message":"repository is locked""#,
        ),
        line(
            "fs01-nightly",
            "success",
            "2026-11-21T21:00:00Z",
            r#","id":"4f1c2a9e""#,
        ),
        line("ghost", "success", "2026-11-21T21:00:00Z", ""),
    ];
    let first = import_lines(&env, "2026-11-22T00:00:00Z", &lines)
        .ok()
        .json();
    assert_eq!(
        (
            first["new"].as_i64(),
            first["unmatched"].as_i64(),
            first["tickets_opened"].as_i64()
        ),
        (Some(3), Some(1), Some(1))
    );
    let second = import_lines(&env, "2026-11-22T00:00:00Z", &lines)
        .ok()
        .json();
    assert_eq!(
        (
            second["new"].as_i64(),
            second["duplicate"].as_i64(),
            second["tickets_opened"].as_i64()
        ),
        (Some(0), Some(3), Some(0))
    );
    assert_eq!(env.count("job_events"), 3);
    assert_eq!(env.count("tickets"), 1);
    let unmatched = env.json(&["events", "list", "--unmatched"]);
    assert_eq!(unmatched[0]["job"], "ghost");
    assert_eq!(unmatched[0]["matched"], false);
}

/// Onboarding a client's past runs with `--history`: one ticket, for the
/// job whose newest run failed; none for the failure fixed long ago. The
/// ticket then lives as any other: the next good run resolves it.
#[test]
fn a_history_import_raises_only_what_is_still_wrong() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let mut lines = Vec::new();
    for day in 2..=20 {
        let at = format!("2026-11-{day:02}T21:00:00Z");
        let fs01 = if day == 5 || day == 20 {
            "failed"
        } else {
            "success"
        };
        let sql01 = if day == 9 { "failed" } else { "success" };
        lines.push(line("fs01-nightly", fs01, &at, r#","message":"disk full""#));
        lines.push(line("sql01-nightly", sql01, &at, ""));
    }
    let f = env.write("past.jsonl", &(lines.join("\n") + "\n"));
    let import_history = |now: &str| {
        let args = ["--format", "json", "events", "import", "--history"];
        let file = f.to_str().unwrap();
        env.run_at(now, &[&args[..], &[file]].concat()).ok().json()
    };
    let past = import_history("2026-11-21T08:00:00Z");
    assert_eq!(
        (past["new"].as_i64(), past["tickets_opened"].as_i64()),
        (Some(38), Some(1))
    );
    let all = tickets(&env);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all:#}");
    assert_eq!(
        (&all[0]["job"], &all[0]["class"], &all[0]["status"]),
        (&"fs01-nightly".into(), &"failed".into(), &"open".into())
    );
    let shown = env
        .run(&["correct", "show", &all[0]["id"].to_string()])
        .ok()
        .stdout;
    // the timeline speaks the client's zone, the message's instant too
    assert!(
        shown.contains("backup failed at 2026-11-20 22:00 CET: disk full"),
        "{shown}"
    );
    // the same file again: nothing new, no second ticket
    let again = import_history("2026-11-21T09:00:00Z");
    assert_eq!(
        (
            again["duplicate"].as_i64(),
            again["tickets_opened"].as_i64()
        ),
        (Some(38), Some(0))
    );
    let next = [line("fs01-nightly", "success", "2026-11-21T21:00:00Z", "")];
    let live = import_lines(&env, "2026-11-22T00:00:00Z", &next)
        .ok()
        .json();
    assert_eq!(live["tickets_resolved"].as_i64(), Some(1));
}

#[test]
fn a_broken_line_rejects_the_file_unless_skip_invalid() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let mut lines: Vec<String> = (1..=10)
        .map(|d| {
            line(
                "fs01-nightly",
                "success",
                &format!("2026-11-{d:02}T21:00:00Z"),
                "",
            )
        })
        .collect();
    lines[6] = lines[6].replace("\"success\"", "\"exploded\"");
    let f = env.write("events.jsonl", &(lines.join("\n") + "\n"));
    let r = env.run(&["events", "import", f.to_str().unwrap()]).code(3);
    assert!(r.stderr.contains("events.jsonl:7: status:"), "{}", r.stderr);
    assert_eq!(env.count("job_events"), 0);
    let r = env
        .run(&[
            "--format",
            "json",
            "events",
            "import",
            "--skip-invalid",
            f.to_str().unwrap(),
        ])
        .ok();
    let s = r.json();
    assert_eq!(
        (s["new"].as_i64(), s["rejected"].as_i64()),
        (Some(9), Some(1))
    );
    assert!(r.stderr.contains("events.jsonl:7: status"), "{}", r.stderr);
    assert_eq!(env.count("job_events"), 9);
    // an unknown client is bad input too
    let f = env.write(
        "other.jsonl",
        &line("fs01-nightly", "success", "2026-11-12T21:00:00Z", "").replace("acme", "nobody"),
    );
    let r = env.run(&["events", "import", f.to_str().unwrap()]).code(3);
    assert!(
        r.stderr
            .contains("other.jsonl:1: client: unknown client 'nobody'"),
        "{}",
        r.stderr
    );
}

#[test]
fn csv_and_stdin_import() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let csv = "client,job,status,started_at,ended_at,bytes\nacme,fs01-nightly,success,2026-11-02T21:00:00Z,2026-11-02T21:10:00Z,100\n";
    let f = env.write("e.csv", csv);
    env.run(&["events", "import", f.to_str().unwrap()]).ok();
    let r: Run = env
        .cmd()
        .args([
            "--format",
            "json",
            "events",
            "import",
            "--input-format",
            "csv",
            "-",
        ])
        .write_stdin(csv)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.ok().json()["duplicate"], 1);
    assert_eq!(env.count("job_events"), 1);
}

#[test]
fn restic_and_borg_fixtures_ingest_idempotently() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let fx = |p: &str| {
        repo_file(&format!("tests/fixtures/{p}"))
            .display()
            .to_string()
    };
    let r = env.json(&[
        "events",
        "ingest",
        "restic",
        "--job",
        "acme/fs01-nightly",
        "--ended",
        "2026-11-30T07:35:00Z",
        &fx("restic/backup-ok.json"),
    ]);
    assert_eq!(r["new"], 1);
    // the snapshots list of the same repository: the backup above is the same run (ed12ae91)
    let r = env.json(&[
        "events",
        "ingest",
        "restic",
        "--client",
        "acme",
        &fx("restic/snapshots.json"),
    ]);
    // the third snapshot was taken without the `nightly` tag: a run the plan does not know
    assert_eq!(
        (
            r["new"].as_i64(),
            r["duplicate"].as_i64(),
            r["unmatched"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let evs = env.json(&["events", "list", "--job", "acme/fs01-nightly"]);
    let ids: Vec<&str> = evs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ed12ae91", "6a29ba0e"]);
    let unmatched = env.json(&["events", "list", "--unmatched"]);
    assert_eq!(
        (
            unmatched[0]["job"].as_str(),
            unmatched[0]["external_id"].as_str()
        ),
        (Some("fs01"), Some("5da40c61"))
    );
    // borg: local times in the client's zone (Europe/Berlin)
    let r = env.json(&[
        "events",
        "ingest",
        "borg",
        "--client",
        "acme",
        &fx("borg/borg-list.json"),
    ]);
    assert_eq!(
        (r["new"].as_i64(), r["unmatched"].as_i64()),
        (Some(2), Some(0))
    );
    let r = env.json(&[
        "events",
        "ingest",
        "borg",
        "--job",
        "acme/sql01-nightly",
        &fx("borg/borg-create-ok.json"),
    ]);
    assert_eq!(r["duplicate"], 1);
    let evs = env.json(&["events", "list", "--job", "acme/sql01-nightly"]);
    assert_eq!(evs[0]["started_at"], "2026-11-30T07:35:13Z");
    assert_eq!(evs[0]["external_id"], "c02bc3ff");
    assert_eq!(env.count("job_events"), 5);
    // the failures: nothing on stdout but the error on stderr
    let r = env.json(&[
        "events",
        "ingest",
        "restic",
        "--job",
        "acme/fs01-nightly",
        "--ended",
        "2026-11-30T08:00:00Z",
        &fx("restic/backup-fail-locked.err"),
    ]);
    assert_eq!(r["tickets_opened"], 1);
    env.run(&["events", "ingest", "restic", &fx("restic/backup-ok.json")])
        .code(3);
    let bad = env.write("bad.json", "[{\"time\": 5}]");
    let r = env
        .run(&[
            "events",
            "ingest",
            "restic",
            "--client",
            "acme",
            bad.to_str().unwrap(),
        ])
        .code(3);
    assert!(r.stderr.contains("bad.json:1"), "{}", r.stderr);
    // a text file that is not restic's is refused, not recorded as a failure
    let notes = env.write("notes.txt", "called the client\nall fine\n");
    let before = env.json(&["correct", "list"]).as_array().unwrap().len();
    let r = env
        .run(&[
            "events",
            "ingest",
            "restic",
            "--job",
            "acme/fs01-nightly",
            "--ended",
            "2026-11-30T09:00:00Z",
            notes.to_str().unwrap(),
        ])
        .code(3);
    assert!(
        r.stderr.contains("notes.txt:1") && r.stderr.contains("is not restic output"),
        "{}",
        r.stderr
    );
    assert_eq!(
        env.json(&["correct", "list"]).as_array().unwrap().len(),
        before
    );
}

#[test]
fn a_run_seen_on_both_sides_of_midnight_is_one_event() {
    // the runs end at 00:30 UTC: the commands run after that
    const AFTER_MIDNIGHT: &str = "2026-12-01T07:00:00Z";
    let fx = |p: &str| {
        repo_file(&format!("tests/fixtures/{p}"))
            .display()
            .to_string()
    };
    let summary = |env: &TestEnv| {
        // the summary carries no time: this run ended after midnight UTC
        let args = [
            "--format",
            "json",
            "events",
            "ingest",
            "restic",
            "--job",
            "acme/fs01-nightly",
            "--ended",
            "2026-12-01T00:30:00Z",
        ];
        env.run_at(
            AFTER_MIDNIGHT,
            &[&args[..], &[fx("restic/backup-ok.json").as_str()]].concat(),
        )
        .ok()
        .json()
    };
    // the summary first, then a snapshot list that says the run started at 22:10 the day before
    let env = onboarded("2026-11-01T00:00:00Z");
    assert_eq!(summary(&env)["new"], 1);
    let snaps = std::fs::read_to_string(fx("restic/snapshots.json"))
        .unwrap()
        .replace("2026-11-30T07:34:59.159650953Z", "2026-11-30T22:10:00Z");
    let snapshots = |env: &TestEnv| {
        let f = env.write("snaps.json", &snaps);
        let args = [
            "--format", "json", "events", "ingest", "restic", "--client", "acme",
        ];
        env.run_at(
            AFTER_MIDNIGHT,
            &[&args[..], &[f.to_str().unwrap()]].concat(),
        )
        .ok()
        .json()
    };
    let r = snapshots(&env);
    assert_eq!(
        (r["new"].as_i64(), r["duplicate"].as_i64()),
        (Some(2), Some(1))
    );
    // the snapshot list first, then the summary
    let env = onboarded("2026-11-01T00:00:00Z");
    env.run_at(
        AFTER_MIDNIGHT,
        &[
            "events",
            "ingest",
            "restic",
            "--client",
            "acme",
            &fx("restic/snapshots.json"),
        ],
    )
    .ok();
    assert_eq!(summary(&env)["duplicate"], 1);
    assert_eq!(env.count("job_events"), 3);
    // a record with both times (keyed by its end, after midnight), then the
    // snapshot list that gives only its start (before midnight)
    let env = onboarded("2026-11-01T00:00:00Z");
    let line = r#"{"client":"acme","job":"fs01-nightly","status":"success","started_at":"2026-11-30T22:10:00Z","ended_at":"2026-12-01T00:30:00Z","source":"restic","id":"ed12ae91"}"#;
    let f = env.write("run.jsonl", &format!("{line}\n"));
    env.run_at(AFTER_MIDNIGHT, &["events", "import", f.to_str().unwrap()])
        .ok();
    let r = snapshots(&env);
    assert_eq!(r["duplicate"], 1, "{r}");
    assert_eq!(env.count("job_events"), 3);
}

/// A policy's runs in a file of more than one batch (10,000 lines): written
/// in reverse, the failure would land in a later batch than the success that
/// followed it and count as a late run (no ticket). Each window of the file
/// is sorted by client and time first, so the outcome does not depend on the
/// order of the lines.
#[test]
fn line_order_within_a_window_does_not_change_the_outcome() {
    let filler = |i: usize| {
        let t = chrono::DateTime::from_timestamp(1_762_100_000 + i as i64, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        line(
            "ad-hoc-copy",
            "success",
            &t,
            &format!(r#","id":"{:08x}""#, (i as u32).wrapping_mul(2_654_435_761)),
        )
    };
    let fail = line("fs01-nightly", "failed", "2025-11-02T21:00:00Z", "");
    let good = line("fs01-nightly", "success", "2025-11-04T21:00:00Z", "");
    let mut outcomes = Vec::new();
    for reversed in [false, true] {
        let env = onboarded("2025-11-01T00:00:00Z");
        let mut lines: Vec<String> = (0..11_000).map(filler).collect();
        if reversed {
            lines.insert(0, good.clone());
            lines.push(fail.clone());
        } else {
            lines.insert(0, fail.clone());
            lines.push(good.clone());
        }
        let out = import_lines(&env, "2025-11-05T00:00:00Z", &lines)
            .ok()
            .json();
        assert_eq!(out["new"], 11_002);
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let tickets: Vec<(String, String, i64)> = conn
            .prepare("SELECT class, status, occurrences FROM tickets ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let state: (String, i64, i64) = conn
            .query_row(
                "SELECT s.last_status, s.last_event_at, s.consecutive_failures
                 FROM policy_state s JOIN policies p ON p.id = s.policy_id WHERE p.job = 'fs01-nightly'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        outcomes.push((tickets, state));
    }
    assert_eq!(
        outcomes[0].0,
        vec![("failed".to_string(), "resolved".to_string(), 1)],
        "the failure opened a ticket that the later success auto-resolved"
    );
    assert_eq!(outcomes[0], outcomes[1]);
}

#[test]
fn a_dry_run_import_counts_and_writes_nothing() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let f = env.write(
        "runs.jsonl",
        &[
            line("fs01-nightly", "failed", "2026-11-29T21:00:00Z", ""),
            line("sql01-nightly", "success", "2026-11-29T22:00:00Z", ""),
        ]
        .join("\n"),
    );
    let audit = env.count("audit_log");
    let s = env
        .run(&[
            "--format",
            "json",
            "events",
            "import",
            "--dry-run",
            f.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(
        (s["new"].as_i64(), s["tickets_opened"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(env.count("job_events"), 0);
    assert_eq!(env.count("tickets"), 0);
    assert_eq!(env.count("audit_log"), audit);
    // and every bad line of a strict import at once
    let bad = env.write(
        "bad.jsonl",
        "{\"client\":\"acme\"}\n{\"client\":\"nobody\",\"job\":\"x\",\"status\":\"failed\",\"ended_at\":\"2026-11-29T21:00:00Z\"}\n",
    );
    let r = env
        .run(&["events", "import", bad.to_str().unwrap()])
        .code(3);
    assert!(
        r.stderr.contains("2 bad lines")
            && r.stderr.contains("bad.jsonl:1:")
            && r.stderr.contains("bad.jsonl:2:"),
        "{}",
        r.stderr
    );
}
