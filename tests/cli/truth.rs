//! #10: run-derived figures are a function of the recorded facts, never of
//! arrival order or of when `check` ran.

use crate::env::*;

fn incident_rate(env: &TestEnv, now: &str, from: &str, to: &str) -> serde_json::Value {
    let k = env.json_at(
        now,
        &["kpi", "--client", "acme", "--from", from, "--to", to],
    );
    k["backup_incident_rate"].clone()
}

fn ticket_of(env: &TestEnv, job: &str, class: &str) -> Option<serde_json::Value> {
    let all = env.json(&["correct", "list", "--all"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|t| t["job"] == job && t["class"] == class)
        .cloned()
}

/// #10 §1: a run delivered after `check` closed its window as missed
/// replaces the missed outcome; the missed ticket is superseded; a late
/// failure moves the problem to the `failed` ticket.
#[test]
fn a_late_run_supersedes_the_missed_window() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // Nov 1: fs01's window closes 23:00Z, sql01's at 00:00Z
    let r = env.json_at("2026-11-02T08:00:00Z", &["check"]);
    assert_eq!(r["missed"], 2);
    let rate = incident_rate(&env, "2026-11-02T08:00:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (rate["expected"].as_i64(), rate["missed"].as_i64()),
        (Some(2), Some(2))
    );

    // the spool delivers last night's success an hour later
    import_lines(
        &env,
        "2026-11-02T09:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-01T21:10:00Z", "")],
    )
    .ok();
    let rate = incident_rate(&env, "2026-11-02T09:00:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (
            rate["expected"].as_i64(),
            rate["missed"].as_i64(),
            rate["failed"].as_i64()
        ),
        (Some(2), Some(1), Some(0))
    );
    let t = ticket_of(&env, "fs01-nightly", "missed").unwrap();
    assert_eq!(t["status"], "resolved", "{t}");
    assert_eq!(t["cause"], "superseded", "{t}");
    // the missed event is kept, marked, and not counted
    let sup: i64 = rusqlite::Connection::open(env.path("bmctl.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM job_events WHERE status = 'm' AND superseded IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sup, 1);

    // a late failure turns sql01's missed night into a failed one
    import_lines(
        &env,
        "2026-11-02T09:30:00Z",
        &[line("sql01-nightly", "failed", "2026-11-01T22:10:00Z", "")],
    )
    .ok();
    let rate = incident_rate(&env, "2026-11-02T09:30:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (
            rate["expected"].as_i64(),
            rate["missed"].as_i64(),
            rate["failed"].as_i64()
        ),
        (Some(2), Some(0), Some(1))
    );
    assert_eq!(
        ticket_of(&env, "sql01-nightly", "missed").unwrap()["status"],
        "resolved"
    );
    assert_eq!(
        ticket_of(&env, "sql01-nightly", "failed").unwrap()["status"],
        "open"
    );
    // the same file again changes nothing
    import_lines(
        &env,
        "2026-11-02T09:40:00Z",
        &[line("sql01-nightly", "failed", "2026-11-01T22:10:00Z", "")],
    )
    .ok();
    let again = incident_rate(&env, "2026-11-02T09:40:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(again, rate);
}

/// #10 §1: a late success in a window closed as failed makes it a success
/// (a retry delivered after `check`), and a person's ticket is not closed
/// under them: it gets a note.
#[test]
fn a_late_retry_corrects_a_failed_window() {
    let env = onboarded("2026-11-01T00:00:00Z");
    import_lines(
        &env,
        "2026-11-01T21:30:00Z",
        &[line("fs01-nightly", "failed", "2026-11-01T21:05:00Z", "")],
    )
    .ok();
    env.run_at("2026-11-02T08:00:00Z", &["check"]).ok();
    let rate = incident_rate(&env, "2026-11-02T08:00:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (rate["failed"].as_i64(), rate["missed"].as_i64()),
        (Some(1), Some(1))
    );
    // a person starts on sql01's missed ticket
    let t = ticket_of(&env, "sql01-nightly", "missed").unwrap();
    let id = t["id"].as_i64().unwrap().to_string();
    env.run_at("2026-11-02T08:10:00Z", &["correct", "start", &id])
        .ok();
    import_lines(
        &env,
        "2026-11-02T09:00:00Z",
        &[
            line("fs01-nightly", "success", "2026-11-01T21:40:00Z", ""),
            line("sql01-nightly", "success", "2026-11-01T22:10:00Z", ""),
        ],
    )
    .ok();
    let rate = incident_rate(&env, "2026-11-02T09:00:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (
            rate["expected"].as_i64(),
            rate["failed"].as_i64(),
            rate["missed"].as_i64()
        ),
        (Some(2), Some(0), Some(0))
    );
    assert_eq!(
        ticket_of(&env, "fs01-nightly", "failed").unwrap()["status"],
        "resolved"
    );
    let t = ticket_of(&env, "sql01-nightly", "missed").unwrap();
    assert_eq!(t["status"], "in_progress", "{t}");
    let shown = env.run(&["correct", "show", &id]).ok().stdout;
    assert!(shown.contains("its cause is gone"), "{shown}");
}

/// #10 §4: a run still going is not missed; past its max runtime it is
/// hung — a failed occurrence and one `hung` ticket, no missed one — and
/// when its end arrives the occurrence takes its outcome.
#[test]
fn a_hung_run_is_not_missed_and_its_end_re_judges_it() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let start = r#"{"client":"acme","job":"fs01-nightly","status":"running","started_at":"2026-11-01T21:05:00Z","source":"run"}"#;
    let r = import_lines(&env, "2026-11-01T21:05:00Z", &[start.to_string()])
        .ok()
        .json();
    assert_eq!(r["running"], 1);
    // the window closed at 23:00Z, the run is 4 hours old: not missed
    let r = env.json_at("2026-11-02T01:00:00Z", &["check"]);
    assert_eq!(
        (r["missed"].as_i64(), r["occurrences_closed"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(ticket_of(&env, "fs01-nightly", "missed").is_none());
    // 13 hours after its start (max runtime 12h): hung, counted failed
    let r = env.json_at("2026-11-02T10:00:00Z", &["check"]);
    assert_eq!(
        (r["missed"].as_i64(), r["hung"].as_i64()),
        (Some(0), Some(1))
    );
    // said in hours and minutes, not seconds
    let said = r.to_string();
    assert!(
        said.contains("still running after 12h 55m (max runtime 12h)"),
        "{said}"
    );
    let rate = incident_rate(&env, "2026-11-02T10:00:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (
            rate["expected"].as_i64(),
            rate["failed"].as_i64(),
            rate["missed"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert!(ticket_of(&env, "fs01-nightly", "missed").is_none());
    assert_eq!(
        ticket_of(&env, "fs01-nightly", "hung").unwrap()["status"],
        "open"
    );
    // its end: a success after 13.5 hours
    import_lines(
        &env,
        "2026-11-02T10:40:00Z",
        &[
            line("fs01-nightly", "success", "2026-11-01T21:05:00Z", "").replace(
                r#""ended_at":"2026-11-01T21:05:00Z""#,
                r#""ended_at":"2026-11-02T10:35:00Z""#,
            ),
        ],
    )
    .ok();
    let rate = incident_rate(&env, "2026-11-02T10:40:00Z", "2026-11-01", "2026-11-02");
    assert_eq!(
        (
            rate["expected"].as_i64(),
            rate["failed"].as_i64(),
            rate["missed"].as_i64()
        ),
        (Some(2), Some(0), Some(1))
    );
    let hung = ticket_of(&env, "fs01-nightly", "hung").unwrap();
    assert_eq!(
        (hung["status"].as_str(), hung["cause"].as_str()),
        (Some("resolved"), Some("superseded"))
    );
    assert_eq!(env.count("running_runs"), 0);
    // a later check adds nothing for that night
    let r = env.json_at("2026-11-02T11:00:00Z", &["check"]);
    assert_eq!(r["hung"], 0);
    // a start record with an end is refused, naming the field
    let bad = start.replace(
        r#""source""#,
        r#""ended_at":"2026-11-01T22:00:00Z","source""#,
    );
    let r = import_lines(&env, "2026-11-02T11:00:00Z", &[bad]).code(3);
    assert!(r.stderr.contains("ended_at"), "{}", r.stderr);
}

/// #10, through the binary: a week of runs imported at once, or each night
/// two days late between daily checks, gives the same figures and the same
/// open problems.
#[test]
fn the_same_runs_in_another_order_give_the_same_figures() {
    // (night, job, status); a night left out is missed
    let mut runs = Vec::new();
    for d in 1..=7 {
        let fs = [
            "success", "failed", "warning", "", "success", "failed", "failed",
        ][d - 1];
        let sql = ["failed", "", "success", "warning", "", "success", "failed"][d - 1];
        for (job, hour, status) in [("fs01-nightly", 21, fs), ("sql01-nightly", 22, sql)] {
            if !status.is_empty() {
                let start = format!("2026-11-{d:02}T{hour}:10:00Z");
                runs.push((
                    d,
                    line(job, status, &start, &format!(r#","id":"{job}-{d}""#)),
                ));
            }
        }
    }
    let figures = |env: &TestEnv| {
        let mut rate = incident_rate(env, "2026-11-08T09:00:00Z", "2026-11-01", "2026-11-08");
        let all = env.json(&["correct", "list", "--all"]);
        let mut open: Vec<String> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "open" || t["status"] == "in_progress")
            .filter(|t| t["recovered_at"].is_null())
            .map(|t| format!("{}/{}", t["job"], t["class"]))
            .collect();
        open.sort();
        // which episodes made a ticket is a fact of when bmctl learned of them
        rate.as_object_mut().unwrap().remove("corrective_opened");
        (rate, open)
    };
    let at_once = onboarded("2026-11-01T00:00:00Z");
    let all: Vec<String> = runs.iter().map(|(_, l)| l.clone()).collect();
    import_lines(&at_once, "2026-11-08T08:00:00Z", &all).ok();
    at_once.run_at("2026-11-08T08:00:00Z", &["check"]).ok();

    let late = onboarded("2026-11-01T00:00:00Z");
    for day in 2..=8 {
        let now = format!("2026-11-{day:02}T08:00:00Z");
        let night: Vec<String> = runs
            .iter()
            .filter(|(d, _)| d + 2 == day || (day == 8 && *d >= 6))
            .map(|(_, l)| l.clone())
            .collect();
        if !night.is_empty() {
            import_lines(&late, &now, &night).ok();
        }
        late.run_at(&now, &["check"]).ok();
    }
    let (a, b) = (figures(&at_once), figures(&late));
    assert_eq!(a, b);
    assert_eq!(
        (
            a.0["expected"].as_i64(),
            a.0["failed"].as_i64(),
            a.0["missed"].as_i64()
        ),
        (Some(14), Some(5), Some(3))
    );
}

/// #10 §6: over all clients, the default "last 30 days" and RFC 3339
/// bounds are exact instants (at 08:00 last night's 02:00 run is in), dates
/// are each client's own midnights.
#[test]
fn periods_over_all_clients_are_exact_instants_or_client_local_days() {
    let env = TestEnv::new();
    let plan = crate::env::PLAN
        .replace("schedule = \"0 22 * * *\"", "schedule = \"0 2 * * *\"")
        .replace("grace = \"2h\"", "grace = \"1h\"");
    let f = env.write("plan.toml", &plan);
    env.run_at(
        "2026-11-01T00:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    env.run_at("2026-11-10T08:00:00Z", &["check"]).ok();
    let overall = |args: &[&str]| {
        let mut all = vec!["--format", "json", "kpi"];
        all.extend_from_slice(args);
        env.run_at("2026-11-10T08:00:00Z", &all).ok().json()
    };
    // fs01 at 02:00 Berlin (01:00Z) Nov 1..10; sql01 at 23:00 Berlin Nov 1..9
    let last_30 = overall(&[]);
    assert_eq!(last_30["boundaries"], "exact instants, UTC");
    assert_eq!(last_30["backup_incident_rate"]["expected"], 10 + 9);
    let dates = overall(&["--from", "2026-10-11", "--to", "2026-11-10"]);
    assert_eq!(dates["boundaries"], "client-local days");
    assert_eq!(dates["backup_incident_rate"]["expected"], 9 + 9);
    let instants = overall(&[
        "--from",
        "2026-11-03T12:00:00Z",
        "--to",
        "2026-11-05T12:00:00Z",
    ]);
    assert_eq!(instants["backup_incident_rate"]["expected"], 2 + 2);
    let text = env.run_at("2026-11-10T08:00:00Z", &["kpi"]).ok().stdout;
    assert!(text.contains("exact instants, UTC"), "{text}");
}

/// #10 §3: retiring a policy first closes the windows that were due (9 of
/// 9 counted, never 7), its untouched tickets close as decommissioned, its
/// pauses end; a pause may not start before a window `check` has closed.
#[test]
fn retirement_and_pauses_close_what_was_due_first() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let at = |now: &str, actor: &str, args: &[&str]| {
        env.run_at(
            now,
            &[&["--actor", actor, "--format", "json"], args].concat(),
        )
    };
    import_lines(
        &env,
        "2026-11-01T21:30:00Z",
        &[line("fs01-nightly", "failed", "2026-11-01T21:05:00Z", "")],
    )
    .ok();
    env.run_at("2026-11-02T08:00:00Z", &["check"]).ok();
    // a pause cannot reach back over a closed window
    let r = at(
        "2026-11-02T09:00:00Z",
        "alice",
        &[
            "pause",
            "--job",
            "acme/fs01-nightly",
            "--from",
            "2026-11-01T12:00:00Z",
            "--until",
            "2026-11-20T00:00:00Z",
            "--reason",
            "NAS move",
        ],
    )
    .code(5);
    assert!(r.stderr.contains("is closed already"), "{}", r.stderr);
    at(
        "2026-11-02T09:00:00Z",
        "alice",
        &[
            "pause",
            "--job",
            "acme/fs01-nightly",
            "--from",
            "2026-11-15T00:00:00Z",
            "--until",
            "2026-11-20T00:00:00Z",
            "--reason",
            "NAS move",
        ],
    )
    .ok();
    // no check for nine days, then the job is retired
    let del = at(
        "2026-11-10T10:00:00Z",
        "alice",
        &[
            "macd",
            "delete",
            "acme/fs01-nightly",
            "--reason",
            "server gone",
        ],
    )
    .ok()
    .json();
    let id = del["id"].to_string();
    at(
        "2026-11-10T11:00:00Z",
        "bob",
        &["macd", "approve", &id, "--confirm-risk"],
    )
    .ok();
    at(
        "2026-11-10T12:00:00Z",
        "bob",
        &[
            "macd",
            "implement",
            &id,
            "--dispose",
            "--confirm",
            "acme/fs01-nightly",
            "--force",
            "--reason",
            "server gone",
        ],
    )
    .ok();
    let k = env.json_at(
        "2026-11-10T12:00:00Z",
        &[
            "kpi",
            "--client",
            "acme",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-10",
        ],
    );
    // fs01's nine nights (Nov 1..9) and sql01's nine
    assert_eq!(k["backup_incident_rate"]["expected"], 18, "{k}");
    let failed = ticket_of(&env, "fs01-nightly", "failed").unwrap();
    assert_eq!(
        (failed["status"].as_str(), failed["cause"].as_str()),
        (Some("resolved"), Some("decommissioned"))
    );
    let missed = ticket_of(&env, "fs01-nightly", "missed").unwrap();
    assert_eq!(missed["cause"], "decommissioned");
    let pauses = env.json(&["pause", "list", "--all"]);
    assert_eq!(pauses[0]["ends_at"], "2026-11-20T00:00:00Z");
    assert!(pauses[0]["closed_at"].is_string(), "{pauses}");
}

/// #10 §3: a past result is excused only by an audited exclusion: it leaves
/// the incident rate, its ticket is withdrawn when it was the only cause, it
/// is listed in the review; an open window or a second exclusion is refused.
#[test]
fn an_exclusion_takes_one_occurrence_out_of_the_incident_rate() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.run_at("2026-11-02T08:00:00Z", &["check"]).ok();
    import_lines(
        &env,
        "2026-11-03T08:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-02T21:05:00Z", "")],
    )
    .ok();
    env.run_at("2026-11-04T08:00:00Z", &["check"]).ok();
    let rate = |now: &str| incident_rate(&env, now, "2026-11-01", "2026-11-04");
    let before = rate("2026-11-04T09:00:00Z");
    assert_eq!(
        (before["expected"].as_i64(), before["missed"].as_i64()),
        (Some(6), Some(5))
    );
    let exclude = |now: &str, job: &str, window: &str| {
        env.run_at(
            now,
            &[
                "--actor",
                "carol",
                "events",
                "exclude",
                job,
                "--window",
                window,
                "--reason",
                "client switched the server off",
                "--ref",
                "CHG-77",
            ],
        )
    };
    // fs01's missed Nov 1 was the only cause of its ticket (Nov 2 succeeded)
    let r = exclude(
        "2026-11-04T09:00:00Z",
        "acme/fs01-nightly",
        "2026-11-01T21:00:00Z",
    )
    .ok();
    assert!(
        r.stderr
            .contains("excluded acme/fs01-nightly 2026-11-01 22:00 CET (missed)"),
        "{}",
        r.stderr
    );
    let after = rate("2026-11-04T09:00:00Z");
    assert_eq!(
        (after["expected"].as_i64(), after["missed"].as_i64()),
        (Some(5), Some(4))
    );
    // sql01's window of Nov 1 (23:00 Berlin), named by a time inside it
    exclude(
        "2026-11-04T09:00:00Z",
        "acme/sql01-nightly",
        "2026-11-01T22:30:00Z",
    )
    .ok();
    let t = ticket_of(&env, "sql01-nightly", "missed").unwrap();
    assert_eq!(t["status"], "open", "Nov 2 and 3 still missed: {t}");
    let r = exclude(
        "2026-11-04T09:10:00Z",
        "acme/fs01-nightly",
        "2026-11-01T21:00:00Z",
    )
    .code(5);
    assert!(r.stderr.contains("excluded already"), "{}", r.stderr);
    let r = exclude(
        "2026-11-04T09:10:00Z",
        "acme/fs01-nightly",
        "2026-11-04T21:00:00Z",
    )
    .code(5);
    assert!(r.stderr.contains("has not closed yet"), "{}", r.stderr);
    assert_eq!(env.count("exclusions"), 2);
    let audit = env.json(&["audit", "list", "--entity", "exclusion"]);
    assert_eq!(audit.as_array().unwrap().len(), 2, "{audit}");
    // in the review of the quarter
    let out = env.path("qsr");
    env.run_at(
        "2026-11-04T10:00:00Z",
        &[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            "2026-Q4",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let md = std::fs::read_to_string(out.join("acme").join("qsr-2026-Q4.md")).unwrap();
    assert!(md.contains("## Excluded from the incident rate"), "{md}");
    assert!(
        md.contains("client switched the server off (CHG-77)"),
        "{md}"
    );
    // the rollups still agree with the runs, exclusions and all
    env.run(&["db", "check"]).ok();
}

/// #10 §2: a history import expects its policies' runs over the span it
/// covers — from each client's earliest run (or `--from`) — even before the
/// policies existed: windows there with no run are missed, counted once
/// however often the file is imported.
#[test]
fn a_history_import_closes_the_windows_of_its_span() {
    let lines = || {
        let mut l = Vec::new();
        for d in 1..=12 {
            if d != 3 && d != 5 {
                l.push(line(
                    "fs01-nightly",
                    "success",
                    &format!("2026-11-{d:02}T21:05:00Z"),
                    "",
                ));
            }
            if d != 4 {
                l.push(line(
                    "sql01-nightly",
                    "success",
                    &format!("2026-11-{d:02}T22:05:00Z"),
                    "",
                ));
            }
        }
        l
    };
    let history = |env: &TestEnv, extra: &[&str]| {
        let f = env.write("past.jsonl", &(lines().join("\n") + "\n"));
        let mut args = vec!["events", "import", "--history", f.to_str().unwrap()];
        args.extend_from_slice(extra);
        env.run_at("2026-11-13T07:00:00Z", &args).ok();
    };
    let env = onboarded("2026-11-10T00:00:00Z");
    history(&env, &[]);
    env.run_at("2026-11-13T08:00:00Z", &["check"]).ok();
    let rate =
        |env: &TestEnv| incident_rate(env, "2026-11-13T09:00:00Z", "2026-11-01", "2026-11-13");
    let r = rate(&env);
    assert_eq!(
        (r["expected"].as_i64(), r["missed"].as_i64()),
        (Some(24), Some(3)),
        "{r}"
    );
    // the same file again: nothing twice
    history(&env, &[]);
    assert_eq!(rate(&env), r);
    env.run(&["db", "check"]).ok();
    // with --from, the two nights before the first run are expected too
    let from = onboarded("2026-11-10T00:00:00Z");
    history(&from, &["--from", "2026-10-30"]);
    from.run_at("2026-11-13T08:00:00Z", &["check"]).ok();
    let r = incident_rate(&from, "2026-11-13T09:00:00Z", "2026-10-30", "2026-11-13");
    assert_eq!(
        (r["expected"].as_i64(), r["missed"].as_i64()),
        (Some(28), Some(7)),
        "{r}"
    );
    from.run(&["db", "check"]).ok();
}

/// #10 §2: each window is judged by the policy version in force at its
/// occurrence: a new schedule does not re-judge the past, `kpi` before and
/// after `check` and `db check` agree.
#[test]
fn a_new_schedule_does_not_rejudge_the_past() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let plan = crate::env::PLAN.replace("schedule = \"0 22 * * *\"", "schedule = \"0 3 * * *\"");
    let f = env.write("plan-v2.toml", &plan);
    env.run_at(
        "2026-11-05T12:00:00Z",
        &[
            "plan",
            "import",
            "--replace",
            "--reason",
            "test",
            f.to_str().unwrap(),
        ],
    )
    .ok();
    // fs01: 22:00 Berlin Nov 1..4, then 03:00 Berlin Nov 6..8; sql01 Nov 1..7
    let before = incident_rate(&env, "2026-11-08T08:00:00Z", "2026-11-01", "2026-11-09");
    assert_eq!(before["expected"], 14, "{before}");
    env.run_at("2026-11-08T08:00:00Z", &["check"]).ok();
    let after = incident_rate(&env, "2026-11-08T08:00:00Z", "2026-11-01", "2026-11-09");
    assert_eq!(after, before);
    env.run(&["db", "check"]).ok();
}

/// #10 §1: RPO breaches are facts of the runs: a gap nobody saw live is
/// recorded with a P3 "find the cause" ticket (recovered from birth); a gap
/// `check` saw keeps its incident; a late restore point inside a gap
/// disproves it — the record goes and the ticket is withdrawn.
#[test]
fn rpo_breaches_are_facts_of_the_runs() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let ok = |job: &str, start: &str| line(job, "success", start, "");
    import_lines(
        &env,
        "2026-11-01T23:30:00Z",
        &[
            ok("fs01-nightly", "2026-11-01T21:05:00Z"),
            ok("sql01-nightly", "2026-11-01T22:05:00Z"),
        ],
    )
    .ok();
    // fs01's gap closes before cron's check ever saw it open
    import_lines(
        &env,
        "2026-11-05T01:00:00Z",
        &[ok("fs01-nightly", "2026-11-05T00:00:00Z")],
    )
    .ok();
    // sql01's gap is seen by check while it lasts: an incident
    env.run_at("2026-11-05T08:00:00Z", &["check"]).ok();
    let incident = ticket_of(&env, "sql01-nightly", "rpo").unwrap();
    assert_eq!(incident["kind"], "incident");
    assert!(ticket_of(&env, "fs01-nightly", "rpo").is_none());
    import_lines(
        &env,
        "2026-11-06T23:30:00Z",
        &[ok("sql01-nightly", "2026-11-05T22:05:00Z")],
    )
    .ok();
    assert_eq!(env.count("rpo_breaches"), 2);
    let found = ticket_of(&env, "fs01-nightly", "finding").unwrap();
    assert!(
        found["title"]
            .as_str()
            .unwrap()
            .starts_with("RPO breached 2026-11-01–2026-11-05 — find the cause"),
        "{found}"
    );
    assert_eq!(
        (found["priority"].as_i64(), found["status"].as_str()),
        (Some(3), Some("open"))
    );
    assert!(found["recovered_at"].is_string(), "{found}");
    assert!(ticket_of(&env, "sql01-nightly", "rpo").unwrap()["recovered_at"].is_string());
    let out = env.path("qsr");
    env.run_at(
        "2026-11-07T08:00:00Z",
        &[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            "2026-Q4",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let md = std::fs::read_to_string(out.join("acme").join("qsr-2026-Q4.md")).unwrap();
    assert!(
        md.contains("## Restore points missing longer than agreed"),
        "{md}"
    );
    // and in the risk register, though no incident stood for fs01's
    let risks = env.json_at(
        "2026-11-07T08:00:00Z",
        &["plan", "risks", "--client", "acme"],
    );
    assert!(
        risks.as_array().unwrap().iter().any(|r| r["subject"]
            .as_str()
            .unwrap_or("")
            .contains("fs01-nightly")
            && r["evidence"].as_str().unwrap_or("").contains("RPO breach")),
        "{risks:#}"
    );
    // late restore points inside both gaps: neither was longer than RPO + grace
    import_lines(
        &env,
        "2026-11-07T09:00:00Z",
        &[
            ok("fs01-nightly", "2026-11-03T21:05:00Z"),
            ok("sql01-nightly", "2026-11-03T22:05:00Z"),
        ],
    )
    .ok();
    assert_eq!(env.count("rpo_breaches"), 0);
    let found = ticket_of(&env, "fs01-nightly", "finding").unwrap();
    assert_eq!(
        (found["status"].as_str(), found["cause"].as_str()),
        (Some("resolved"), Some("superseded"))
    );
    let incident = ticket_of(&env, "sql01-nightly", "rpo").unwrap();
    assert_eq!(
        (incident["status"].as_str(), incident["cause"].as_str()),
        (Some("resolved"), Some("withdrawn")),
        "{incident}"
    );
}

/// #10 §1: late data never de-escalates: an incident escalated after three
/// failed nights stays an incident when a late success breaks the streak,
/// with a note saying so.
#[test]
fn late_data_never_de_escalates_it_notes() {
    let env = onboarded("2026-11-01T00:00:00Z");
    for d in 1..=3 {
        import_lines(
            &env,
            &format!("2026-11-{d:02}T23:00:00Z"),
            &[line(
                "fs01-nightly",
                "failed",
                &format!("2026-11-{d:02}T21:05:00Z"),
                "",
            )],
        )
        .ok();
    }
    assert_eq!(
        ticket_of(&env, "fs01-nightly", "failed").unwrap()["kind"],
        "incident"
    );
    // Nov 2's retry succeeded; its line arrives late
    import_lines(
        &env,
        "2026-11-04T08:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-02T21:50:00Z", "")],
    )
    .ok();
    let t = ticket_of(&env, "fs01-nightly", "failed").unwrap();
    assert_eq!(
        (t["kind"].as_str(), t["status"].as_str()),
        (Some("incident"), Some("open"))
    );
    let id = t["id"].as_i64().unwrap().to_string();
    let shown = env.run(&["correct", "show", &id]).ok().stdout;
    assert!(
        shown.contains("streak broken by a late success run on 2026-11-02"),
        "{shown}"
    );
}

/// #10 §4: a run still going holds only its own window: `check` passes it
/// by and closes the later ones; the run's end counts it.
#[test]
fn a_running_run_holds_only_its_own_window() {
    let env = TestEnv::new();
    let plan = crate::env::PLAN
        .replace("timezone = \"Europe/Berlin\"", "timezone = \"UTC\"")
        .replace("schedule = \"0 22 * * *\"", "schedule = \"0 */4 * * *\"")
        .replace("grace = \"2h\"", "grace = \"1h\"");
    let f = env.write("plan.toml", &plan);
    env.run_at(
        "2026-11-01T12:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    let start = r#"{"client":"acme","job":"fs01-nightly","status":"running","started_at":"2026-11-01T21:05:00Z","source":"run"}"#;
    import_lines(&env, "2026-11-01T21:05:00Z", &[start.to_string()]).ok();
    // fs01's windows: 16:00, 20:00 closed missed; the run holds 00:00 (21:00, 01:00];
    // 04:00 closes at 05:00 with no run of its own
    let r = env.json_at("2026-11-02T06:00:00Z", &["check"]);
    let fs01_missed = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["job"] == "fs01-nightly" && f["kind"] == "missed")
        .count();
    assert_eq!(fs01_missed, 3, "{r}");
    let k = |now: &str| {
        env.json_at(
            now,
            &[
                "kpi",
                "--client",
                "acme",
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-03",
            ],
        )["backup_incident_rate"]
            .clone()
    };
    let before_end = k("2026-11-02T06:00:00Z");
    // the run ends: its window counts as a success
    import_lines(
        &env,
        "2026-11-02T07:00:00Z",
        &[
            line("fs01-nightly", "success", "2026-11-01T21:05:00Z", "").replace(
                r#""ended_at":"2026-11-01T21:05:00Z""#,
                r#""ended_at":"2026-11-02T07:00:00Z""#,
            ),
        ],
    )
    .ok();
    let after_end = k("2026-11-02T07:00:00Z");
    assert_eq!(
        after_end["expected"].as_i64(),
        before_end["expected"].as_i64().map(|e| e + 1),
        "{before_end} {after_end}"
    );
    assert_eq!(after_end["missed"], before_end["missed"]);
    env.run(&["db", "check"]).ok();
}

/// #10 §1: the reopen window (7 days) runs from the recovering run's end to
/// the new problem's run end, never between processing times: a success
/// delivered three days late does not stretch it.
#[test]
fn the_reopen_window_runs_between_run_ends() {
    let env = onboarded("2026-11-01T00:00:00Z");
    import_lines(
        &env,
        "2026-11-01T22:00:00Z",
        &[line("fs01-nightly", "failed", "2026-11-01T21:05:00Z", "")],
    )
    .ok();
    import_lines(
        &env,
        "2026-11-05T00:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-02T21:05:00Z", "")],
    )
    .ok();
    assert_eq!(
        ticket_of(&env, "fs01-nightly", "failed").unwrap()["status"],
        "resolved"
    );
    // 8 days after the success ran, 6 after bmctl learned of it
    import_lines(
        &env,
        "2026-11-10T22:00:00Z",
        &[line("fs01-nightly", "failed", "2026-11-10T21:05:00Z", "")],
    )
    .ok();
    let all = env.json(&["correct", "list", "--all"]);
    let failed: Vec<&serde_json::Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job"] == "fs01-nightly" && t["class"] == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "a new ticket, not a reopen: {all:#}");
}

/// #10 §12: `task_overdue` carries the task as it was when it fell due.
#[test]
fn an_overdue_task_is_announced_with_its_state_then() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let out = env.path("overdue.jsonl");
    let cfg = env.write(
        "bmctl.toml",
        &format!(
            "[hooks]\non_task_overdue = [\"sh\", \"-c\", \"cat >> {}\"]\n",
            out.display()
        ),
    );
    let c = cfg.to_str().unwrap();
    env.run_at(
        "2026-11-01T00:00:00Z",
        &["--config", c, "tasks", "generate"],
    )
    .ok();
    env.run_at("2026-12-20T00:00:00Z", &["--config", c, "check"])
        .ok();
    let got: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!got.is_empty());
    for n in &got {
        assert_eq!(n["event"], "task_overdue", "{n}");
        assert_eq!(n["ticket"]["kind"], "task", "{n}");
        assert_eq!(n["ticket"]["overdue"], true, "{n}");
    }
    // a second check announces nothing again
    env.run_at("2026-12-20T01:00:00Z", &["--config", c, "check"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().count(),
        got.len()
    );
}
