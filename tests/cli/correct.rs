//! `bmctl correct`: corrective tickets through their life, SLA due times, assignment and PSA links.

use crate::env::*;

#[test]
fn one_ticket_through_fail_recover_reopen_escalate_recover() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let step = |now: &str, status: &str, started: &str| {
        import_lines(&env, now, &[line("fs01-nightly", status, started, "")]).ok();
        // (four days without a restore point also record an RPO breach, #10 §1)
        let t: Vec<serde_json::Value> = tickets(&env)
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["class"] != "finding")
            .cloned()
            .collect();
        assert_eq!(t.len(), 1, "one ticket throughout: {t:#?}");
        t[0].clone()
    };
    let t = step("2026-11-02T22:00:00Z", "failed", "2026-11-02T21:00:00Z");
    assert_eq!(
        (
            t["kind"].as_str(),
            t["status"].as_str(),
            t["priority"].as_i64()
        ),
        (Some("corrective"), Some("open"), Some(2))
    );
    let t = step("2026-11-03T22:00:00Z", "success", "2026-11-03T21:00:00Z");
    assert_eq!(t["status"], "resolved");
    let t = step("2026-11-04T22:00:00Z", "failed", "2026-11-04T21:00:00Z");
    assert_eq!(t["status"], "open");
    let t = step("2026-11-05T22:00:00Z", "failed", "2026-11-05T21:00:00Z");
    assert_eq!(t["kind"], "corrective");
    let t = step("2026-11-06T22:00:00Z", "failed", "2026-11-06T21:00:00Z");
    assert_eq!(
        (t["kind"].as_str(), t["priority"].as_i64()),
        (Some("incident"), Some(1))
    );
    let t = step("2026-11-07T22:00:00Z", "success", "2026-11-07T21:00:00Z");
    assert_eq!(
        (t["kind"].as_str(), t["status"].as_str()),
        (Some("incident"), Some("open"))
    );
    let id = t["id"].as_i64().unwrap().to_string();
    let show = env.json(&["correct", "show", &id]);
    let texts: Vec<&str> = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("recovered at 2026-11-07T21:00:00Z")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("reopened")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("escalated to incident")),
        "{texts:#?}"
    );
    // automatic actions are audited as bmctl
    let audit = env.json(&["audit", "list", "--entity", &format!("ticket:{id}")]);
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["actor"] == "bmctl"));
    // a person resolves the incident with a cause
    env.run(&[
        "correct",
        "resolve",
        &id,
        "--cause",
        "media",
        "--fix",
        "replaced the USB disk",
    ])
    .ok();
    env.run(&[
        "correct", "resolve", &id, "--cause", "media", "--fix", "again",
    ])
    .code(5);
    env.run(&[
        "correct", "resolve", &id, "--cause", "gremlins", "--fix", "x",
    ])
    .code(2);
    env.run(&["correct", "start", "999"]).code(4);
}

#[test]
fn warnings_open_a_ticket_only_after_three_in_a_row() {
    let env = onboarded("2026-11-01T00:00:00Z");
    for d in 2..=3 {
        import_lines(
            &env,
            "2026-11-10T00:00:00Z",
            &[line(
                "fs01-nightly",
                "warning",
                &format!("2026-11-0{d}T21:00:00Z"),
                "",
            )],
        )
        .ok();
    }
    assert_eq!(env.count("tickets"), 0);
    import_lines(
        &env,
        "2026-11-10T00:00:00Z",
        &[line("fs01-nightly", "warning", "2026-11-04T21:00:00Z", "")],
    )
    .ok();
    let t = tickets(&env);
    assert_eq!(t[0]["class"], "warning");
}

#[test]
fn people_work_tickets_with_illegal_steps_refused() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let r = env.json(&[
        "correct",
        "open",
        "acme/sql01-nightly",
        "--title",
        "Restore test found missing folder",
    ]);
    let id = r["id"].as_i64().unwrap().to_string();
    assert_eq!(
        (r["kind"].as_str(), r["priority"].as_i64()),
        (Some("corrective"), Some(3))
    );
    env.run(&["--actor", "bob", "correct", "start", &id]).ok();
    let r = env.run(&["correct", "start", &id]).code(5);
    assert!(
        r.stderr.contains("'in_progress'")
            && r.stderr.contains(&format!("bmctl correct resolve {id}")),
        "{}",
        r.stderr
    );
    env.run(&["correct", "note", &id, "folder excluded by a pattern"])
        .ok();
    env.run(&[
        "correct",
        "escalate",
        &id,
        "--reason",
        "client data at risk",
    ])
    .ok();
    env.run(&[
        "correct",
        "resolve",
        &id,
        "--cause",
        "configuration",
        "--fix",
        "fixed the exclude pattern",
    ])
    .ok();
    let r = env.run(&["correct", "escalate", &id]).code(5);
    assert!(
        r.stderr.contains("'resolved'") && r.stderr.contains("correct reopen"),
        "{}",
        r.stderr
    );
    env.run(&["correct", "reopen", &id]).ok();
    let show = env.json(&["correct", "show", &id]);
    assert_eq!(
        (
            show["status"].as_str(),
            show["kind"].as_str(),
            show["assignee"].as_str()
        ),
        (Some("open"), Some("incident"), Some("bob"))
    );
    assert_eq!(show["timeline"].as_array().unwrap().len(), 6);
    // list --since: only tickets changed after T
    let all = env.json(&["correct", "list", "--since", "2026-11-29T00:00:00Z"]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    let none = env.json(&["correct", "list", "--since", "2026-11-30T07:00:00Z"]);
    assert_eq!(none.as_array().unwrap().len(), 0);
}

#[test]
fn sla_due_times_follow_tier_and_priority() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let f = env.write("bravo.toml", SILVER);
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
    let open = |job: &str| {
        let t = env.json_at(
            "2026-11-10T10:00:00Z",
            &["correct", "open", job, "--title", "finding"],
        );
        (
            t["id"].to_string(),
            t["priority"].as_i64().unwrap(),
            t["due_at"].as_str().unwrap().to_string(),
        )
    };
    // gold, tier-1 CI → P2: 8h; silver, tier-2 CI → P3: 2 days
    let (gold, p, due) = open("acme/fs01-nightly");
    assert_eq!((p, due.as_str()), (2, "2026-11-10T18:00:00Z"));
    let (silver, p, due) = open("bravo/app02-nightly");
    assert_eq!((p, due.as_str()), (3, "2026-11-12T10:00:00Z"));
    // escalated: gold P1 → 4h, silver P2 → 1 day, from the escalation
    let esc = |id: &str| env.json_at("2026-11-10T12:00:00Z", &["correct", "escalate", id]);
    let g = esc(&gold);
    assert_eq!(
        (g["priority"].as_i64(), g["due_at"].as_str()),
        (Some(1), Some("2026-11-10T16:00:00Z"))
    );
    let s = esc(&silver);
    assert_eq!(
        (s["priority"].as_i64(), s["due_at"].as_str()),
        (Some(2), Some("2026-11-11T12:00:00Z"))
    );
    // breached: past due and still open
    let list = env.json_at("2026-11-10T17:00:00Z", &["correct", "list"]);
    let breached: Vec<bool> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["sla_breached"].as_bool().unwrap())
        .collect();
    assert_eq!(breached, [true, false]);
    let table = env
        .run_at("2026-11-10T17:00:00Z", &["correct", "list"])
        .ok()
        .stdout;
    assert_eq!(table.matches("BREACHED").count(), 1, "{table}");
    // a filter word bmctl does not know is refused, not an empty list
    // (a usage error, exit 2, listing the choices)
    let bogus = env.run(&["correct", "list", "--status", "bogus"]).code(2);
    assert!(
        bogus
            .stderr
            .contains("[possible values: open, in_progress, resolved, skipped, waiting]"),
        "{}",
        bogus.stderr
    );
    env.run(&["correct", "list", "--kind", "task"]).code(2);
    // the table is configurable
    let cfg = env.write("c.toml", "[sla]\ngold_p2 = \"2h\"\n");
    let t = env
        .cmd()
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--now",
            "2026-11-10T10:00:00Z",
            "--format",
            "json",
            "correct",
            "open",
            "acme/fs01-nightly",
            "--title",
            "x",
        ])
        .output()
        .unwrap();
    let t: serde_json::Value = serde_json::from_slice(&t.stdout).unwrap();
    assert_eq!(t["due_at"], "2026-11-10T12:00:00Z");
}

#[test]
fn assignment_psa_link_and_changes_since() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let _ = PLAN;
    let cfg = env.write("c.toml", "[assignees]\nacme = \"alice\"\n");
    let f = env.write(
        "e.jsonl",
        &line("fs01-nightly", "failed", "2026-11-02T21:00:00Z", ""),
    );
    env.cmd()
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--now",
            "2026-11-03T00:00:00Z",
            "events",
            "import",
            f.to_str().unwrap(),
        ])
        .assert()
        .success();
    let t = env.json(&["correct", "show", "1"]);
    assert_eq!(t["assignee"], "alice", "the client's default assignee");
    env.run_at("2026-11-04T00:00:00Z", &["correct", "assign", "1", "bob"])
        .ok();
    let mine = env
        .run(&[
            "--actor", "bob", "--format", "json", "correct", "list", "--mine",
        ])
        .ok()
        .json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    env.run(&[
        "--actor", "alice", "--format", "json", "correct", "list", "--mine",
    ])
    .ok();
    env.run_at(
        "2026-11-05T00:00:00Z",
        &["correct", "link", "1", "--psa", "CW-88123"],
    )
    .ok();
    let list = env.run(&["correct", "list"]).ok().stdout;
    assert!(list.contains("CW-88123"), "{list}");
    let show = env.json(&["correct", "show", "1"]);
    assert_eq!(show["psa_ref"], "CW-88123");
    assert!(show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"] == "linked to PSA ticket CW-88123"));
    // only tickets changed after T
    let f = env.write(
        "e2.jsonl",
        &line("sql01-nightly", "failed", "2026-11-05T22:00:00Z", ""),
    );
    env.run_at(
        "2026-11-06T00:00:00Z",
        &["events", "import", f.to_str().unwrap()],
    )
    .ok();
    let since = |t: &str| -> Vec<i64> {
        env.json(&["correct", "list", "--since", t])
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(since("2026-11-04T12:00:00Z"), [1, 2]);
    assert_eq!(since("2026-11-05T12:00:00Z"), [2]);
    assert_eq!(since("2026-11-06T00:00:00Z"), Vec::<i64>::new());
}

/// Waiting on the client stops a ticket's SLA clock; resuming moves its due
/// time on by the wait; the timeline, the queue and the review say so.
#[test]
fn a_ticket_waiting_on_the_client_does_not_breach() {
    let env = onboarded("2026-11-01T00:00:00Z");
    import_lines(
        &env,
        "2026-11-30T07:00:00Z",
        &[line("fs01-nightly", "failed", "2026-11-29T21:00:00Z", "")],
    )
    .ok();
    let t = &tickets(&env)[0];
    let id = t["id"].to_string();
    let due = chrono::DateTime::parse_from_rfc3339(t["due_at"].as_str().unwrap()).unwrap();
    let at = |d: chrono::Duration| (due + d).to_rfc3339();
    // an hour before it is due, the client switches the server off
    env.run_at(
        &at(-chrono::Duration::hours(1)),
        &[
            "correct",
            "wait",
            &id,
            "--reason",
            "fs01 powered off by the client for a move",
        ],
    )
    .ok();
    env.run_at(
        &at(-chrono::Duration::hours(1)),
        &["correct", "wait", &id, "--reason", "again"],
    )
    .code(5);
    // two days later: not breached, not overdue, and the queue says why
    let later = at(chrono::Duration::days(2));
    let shown = env.json_at(&later, &["correct", "show", &id]);
    assert_eq!(
        (shown["sla_breached"].as_bool(), shown["overdue"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        shown["waiting_reason"],
        "fs01 powered off by the client for a move"
    );
    let queue = env.json_at(&later, &["due"]);
    let item = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert!(
        item["why"]
            .as_str()
            .unwrap()
            .starts_with("waiting on the client since"),
        "{item}"
    );
    assert!(env
        .run_at(&later, &["correct", "list"])
        .ok()
        .stdout
        .contains("waiting"));
    let waiting = env.json_at(&later, &["correct", "list", "--status", "waiting"]);
    assert_eq!(waiting.as_array().unwrap().len(), 1);
    let dir = env.path("qsr");
    env.run_at(
        &later,
        &[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            "2026-Q4",
            "--out",
            dir.to_str().unwrap(),
        ],
    )
    .ok();
    let review: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("acme/qsr-2026-Q4.json")).unwrap())
            .unwrap();
    // not an SLA breach in the review's risks while it waits
    let risks = review["risks"].to_string();
    assert!(!risks.contains(&format!("#{id}")), "{risks}");
    let open = review["open_items"].as_array().unwrap();
    assert!(
        open.iter()
            .any(|o| o["waiting_on_client"] == "fs01 powered off by the client for a move"),
        "{open:?}"
    );
    // resumed: the due time moves on by the 49 hours waited
    let r = env.run_at(&later, &["correct", "resume", &id]).ok();
    assert!(r.stderr.contains("waited 2d 1h"), "{}", r.stderr);
    let after = env.json_at(&later, &["correct", "show", &id]);
    assert_eq!(
        after["due_at"].as_str().unwrap(),
        at(chrono::Duration::hours(49)).replace("+00:00", "Z")
    );
    assert_eq!(after["waited_s"], 49 * 3600);
    assert_eq!(after["sla_breached"], false);
    let notes = after["timeline"].to_string();
    assert!(
        notes.contains("waiting on the client: fs01 powered off")
            && notes.contains("resumed after waiting 2d 1h"),
        "{notes}"
    );
    env.run_at(&later, &["correct", "resume", &id]).code(5);
}
