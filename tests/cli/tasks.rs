//! Proactive tasks and recovery attempts (05f.01).

use std::process::Command;

use crate::env::*;

const DEFAULTS: [&str; 5] = [
    "daily-status-review",
    "weekly-warnings-capacity",
    "monthly-coverage-audit",
    "restore-test",
    "quarterly-plan-review",
];

fn only_custom(env: &TestEnv) {
    for t in DEFAULTS {
        env.run(&["tasks", "templates", "disable", t]).ok();
    }
}

fn generate(env: &TestEnv, now: &str) -> serde_json::Value {
    env.json_at(now, &["tasks", "generate"])
}

fn tasks_json(env: &TestEnv, now: &str) -> Vec<serde_json::Value> {
    env.json_at(now, &["tasks", "due"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn generate_twice_creates_nothing_the_second_time() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let first = generate(&env, "2026-11-30T07:30:00Z");
    assert!(first["created"].as_i64().unwrap() > 0);
    let second = generate(&env, "2026-11-30T07:30:00Z");
    assert_eq!(second["created"], 0);
    assert_eq!(second["already_present"], first["created"]);
    assert_eq!(env.count("tickets"), first["created"].as_i64().unwrap());
}

#[test]
fn after_a_ten_day_gap_latest_and_all_catch_up_as_told() {
    let env = onboarded("2026-11-01T00:00:00Z");
    only_custom(&env);
    for (name, catch_up) in [("gap-latest", "latest"), ("gap-all", "all")] {
        env.run_at(
            "2026-11-10T06:00:00Z",
            &[
                "tasks",
                "templates",
                "add",
                name,
                "--title",
                name,
                "--cadence",
                "0 8 * * *",
                "--scope",
                "client",
                "--catch-up",
                catch_up,
            ],
        )
        .ok();
    }
    assert_eq!(generate(&env, "2026-11-10T09:00:00Z")["created"], 2);
    assert_eq!(generate(&env, "2026-11-20T09:00:00Z")["created"], 11); // 1 (latest) + 10 (all)
    let all = env.json(&["tasks", "due", "--client", "acme"]);
    let titles: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles.iter().filter(|t| t.starts_with("gap-all")).count(),
        11
    );
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.starts_with("gap-latest"))
            .count(),
        2
    );
}

#[test]
fn weekday_mornings_keep_their_local_time_across_dst() {
    let env = onboarded("2026-03-20T00:00:00Z");
    only_custom(&env);
    env.run_at(
        "2026-03-20T00:00:00Z",
        &[
            "tasks",
            "templates",
            "add",
            "morning",
            "--title",
            "Morning",
            "--cadence",
            "0 8 * * 1-5",
            "--catch-up",
            "all",
        ],
    )
    .ok();
    env.run_at(
        "2026-10-20T00:00:00Z",
        &[
            "tasks",
            "templates",
            "add",
            "morning-autumn",
            "--title",
            "Autumn",
            "--cadence",
            "0 8 * * 1-5",
            "--catch-up",
            "all",
        ],
    )
    .ok();
    generate(&env, "2026-04-01T12:00:00Z");
    let due: Vec<String> = tasks_json(&env, "2026-04-01T12:00:00Z")
        .iter()
        .map(|t| t["due_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        due,
        [
            "2026-03-20T07:00:00Z",
            "2026-03-23T07:00:00Z",
            "2026-03-24T07:00:00Z",
            "2026-03-25T07:00:00Z",
            "2026-03-26T07:00:00Z",
            "2026-03-27T07:00:00Z",
            "2026-03-30T06:00:00Z",
            "2026-03-31T06:00:00Z",
            "2026-04-01T06:00:00Z"
        ]
    );
    // mark those done, then the autumn change
    for t in tasks_json(&env, "2026-04-01T12:00:00Z") {
        env.run_at(
            "2026-04-01T12:00:00Z",
            &[
                "tasks",
                "skip",
                &t["id"].to_string(),
                "--reason",
                "test",
                "--not-applicable",
            ],
        )
        .ok();
    }
    generate(&env, "2026-10-28T12:00:00Z");
    let due: Vec<String> = tasks_json(&env, "2026-10-28T12:00:00Z")
        .iter()
        .filter(|t| t["title"].as_str().unwrap().starts_with("Autumn"))
        .map(|t| t["due_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        due,
        [
            "2026-10-20T06:00:00Z",
            "2026-10-21T06:00:00Z",
            "2026-10-22T06:00:00Z",
            "2026-10-23T06:00:00Z",
            "2026-10-26T07:00:00Z",
            "2026-10-27T07:00:00Z",
            "2026-10-28T07:00:00Z"
        ]
    );
}

#[test]
fn tasks_due_lists_in_order_with_flags_and_design_keys() {
    let env = onboarded("2026-11-01T00:00:00Z");
    generate(&env, "2026-11-30T07:30:00Z");
    generate(&env, "2026-11-30T09:30:00Z");
    let due = tasks_json(&env, "2026-11-30T09:30:00Z");
    let times: Vec<&str> = due.iter().map(|t| t["due_at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "by due time");
    for k in [
        "id",
        "kind",
        "client",
        "ci",
        "job",
        "title",
        "status",
        "priority",
        "assignee",
        "opened_at",
        "updated_at",
        "due_at",
        "resolved_at",
        "overdue",
    ] {
        assert!(due[0].get(k).is_some(), "key {k}");
    }
    let overdue: Vec<&str> = due
        .iter()
        .filter(|t| t["overdue"] == true)
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        overdue,
        [
            "Monthly CMDB coverage audit: acme",
            "Weekly warnings and capacity review: acme"
        ]
    );
    // one client's list: its zone and its day (across clients, the day of
    // display.timezone, here the test's machine zone)
    let table = env
        .run_at(
            "2026-11-30T09:30:00Z",
            &["tasks", "due", "--client", "acme"],
        )
        .ok()
        .stdout;
    assert!(
        table.contains("OVERDUE 24d") && table.contains("DUE TODAY in 1h 30m"),
        "{table}"
    );
    let within = env.json_at("2026-11-30T09:30:00Z", &["tasks", "due", "--within", "8h"]);
    assert_eq!(within.as_array().unwrap().len(), 4); // two overdue, today's review and this week's
    let only_overdue = env.json_at("2026-11-30T09:30:00Z", &["tasks", "due", "--overdue"]);
    assert_eq!(only_overdue.as_array().unwrap().len(), 2);
    // working one: assign, start, tick, done on time
    let id = due
        .iter()
        .find(|t| t["title"] == "Daily backup status review: acme")
        .unwrap()["id"]
        .to_string();
    env.run(&["tasks", "assign", &id, "carol"]).ok();
    let mine = env
        .run_at(
            "2026-11-30T09:30:00Z",
            &[
                "--actor", "carol", "--format", "json", "tasks", "due", "--mine",
            ],
        )
        .ok()
        .json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    env.run(&["tasks", "start", &id]).ok();
    env.run(&["tasks", "check", &id, "1"]).ok();
    env.run(&["tasks", "check", &id, "review warn"]).ok();
    env.run(&["tasks", "check", &id, "nonsense"]).code(3);
    // an ambiguous start ticks nothing and lists what it matches
    let amb = env.run(&["tasks", "check", &id, "review"]).code(3);
    assert!(
        amb.stderr
            .contains("1 'Review failed and missed jobs', 2 'Review warnings'")
            && amb.stderr.contains("give its number"),
        "{}",
        amb.stderr
    );
    let ticked = |env: &TestEnv| -> Vec<bool> {
        env.json(&["tasks", "show", &id])["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["done"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(ticked(&env), [true, true, false, false]);
    // what happened, not the task's state
    let said = env.run(&["tasks", "check", &id, "3"]).ok();
    assert!(
        said.stderr
            .contains("ticked item 3 'Check long-running and hung jobs' of task"),
        "{}",
        said.stderr
    );
    assert!(said.stderr.contains("(3 of 4 ticked)"), "{}", said.stderr);
    let said = env.run(&["tasks", "uncheck", &id, "check long"]).ok();
    assert!(said.stderr.contains("unticked item 3"), "{}", said.stderr);
    env.run(&["tasks", "uncheck", &id, "3"]).ok();
    assert_eq!(ticked(&env), [true, true, false, false]);
    // done with items unticked: refused off a terminal, naming them
    let refused = env
        .run_at(
            "2026-11-30T10:00:00Z",
            &["tasks", "done", &id, "--note", "all green"],
        )
        .code(5);
    assert!(
        refused.stderr.contains("2 of 4 checklist items not ticked")
            && refused
                .stderr
                .contains("3 'Check long-running and hung jobs'")
            && refused.stderr.contains("--incomplete"),
        "{}",
        refused.stderr
    );
    env.run_at(
        "2026-11-30T10:00:00Z",
        &[
            "tasks",
            "done",
            &id,
            "--note",
            "all green",
            "--incomplete",
            "monitor was down; checked the rest",
        ],
    )
    .ok();
    let notes = env.json(&["tasks", "show", &id])["timeline"].to_string();
    assert!(
        notes.contains(
            "left unticked: 3 'Check long-running and hung jobs', 4 'Open corrective tickets for new problems' (monitor was down; checked the rest)"
        ),
        "{notes}"
    );
    // the task's page says it was completed short, not only "ok"
    let shown = env.run(&["tasks", "show", &id]).ok().stdout;
    assert!(
        shown.contains("result: ok, completed with 2 of 4 items not ticked"),
        "{shown}"
    );
    env.run(&["tasks", "done", &id]).code(5);
    env.run(&["tasks", "uncheck", &id, "1"]).code(5);
}

#[test]
fn done_with_issues_opens_a_linked_corrective_ticket() {
    let env = onboarded("2026-11-01T00:00:00Z");
    generate(&env, "2026-11-30T09:30:00Z");
    let due = tasks_json(&env, "2026-11-30T09:30:00Z");
    let task = due.iter().find(|t| t["job"] == "fs01-nightly").unwrap();
    let id = task["id"].to_string();
    env.run(&["tasks", "done", &id, "--result", "issues"])
        .code(2);
    env.run(&["tasks", "done", &id, "--result", "issues", "--note", " "])
        .code(3);
    let r = env
        .run(&[
            "tasks",
            "done",
            &id,
            "--result",
            "issues",
            "--note",
            "restore of /srv/share/Finance came back empty",
            "--incomplete",
            "stopped at the empty restore",
        ])
        .ok();
    assert!(
        r.stderr.contains("opened corrective ticket"),
        "{}",
        r.stderr
    );
    let open = env.json(&["correct", "list"]);
    assert_eq!(open.as_array().unwrap().len(), 1);
    let c = &open[0];
    assert_eq!(
        (c["kind"].as_str(), c["class"].as_str(), c["job"].as_str()),
        (Some("corrective"), Some("finding"), Some("fs01-nightly"))
    );
    assert_eq!(c["linked_ticket_id"].as_i64(), task["id"].as_i64());
    let t = env.json(&["tasks", "show", &id]);
    assert_eq!(
        (t["status"].as_str(), t["result"].as_str()),
        (Some("resolved"), Some("issues"))
    );
    assert_eq!(t["linked_ticket_id"], c["id"]);
    // each command its own kind, naming the other
    let cid = c["id"].to_string();
    for args in [
        vec!["correct", "show", &id],
        vec![
            "correct", "resolve", &id, "--cause", "unknown", "--fix", "x",
        ],
        vec!["correct", "note", &id, "x"],
        vec!["correct", "assign", &id, "bob"],
    ] {
        let r = env.run(&args).code(5);
        assert!(
            r.stderr.contains(&format!("#{id} is a task"))
                && r.stderr.contains(&format!("`bmctl tasks show {id}`")),
            "{args:?}: {}",
            r.stderr
        );
    }
    for args in [
        vec!["tasks", "show", &cid],
        vec!["tasks", "start", &cid],
        vec!["tasks", "note", &cid, "x"],
        vec!["tasks", "assign", &cid, "bob"],
    ] {
        let r = env.run(&args).code(5);
        assert!(
            r.stderr.contains("is a corrective ticket, not a task")
                && r.stderr.contains(&format!("`bmctl correct show {cid}`")),
            "{args:?}: {}",
            r.stderr
        );
    }
    let said = env.run(&["tasks", "note", &id, "sample was Finance"]).ok();
    assert!(
        said.stderr.contains(&format!("added a note to task #{id}")),
        "{}",
        said.stderr
    );
    let said = env.run(&["correct", "start", &cid]).ok();
    assert!(
        said.stderr.contains(&format!("started corrective #{cid}")),
        "{}",
        said.stderr
    );
}

#[test]
fn compliance_inputs_from_known_tasks() {
    let env = onboarded("2026-11-01T00:00:00Z");
    only_custom(&env);
    env.run_at(
        "2026-11-01T00:00:00Z",
        &[
            "tasks",
            "templates",
            "add",
            "daily",
            "--title",
            "Daily",
            "--cadence",
            "0 8 * * *",
            "--due-offset",
            "4h",
            "--catch-up",
            "all",
        ],
    )
    .ok();
    generate(&env, "2026-11-07T09:00:00Z"); // Nov 1..7, due 12:00 CET = 11:00Z
    let tasks = tasks_json(&env, "2026-11-07T09:00:00Z");
    assert_eq!(tasks.len(), 7);
    let id = |i: usize| tasks[i]["id"].to_string();
    env.run_at("2026-11-01T10:00:00Z", &["tasks", "done", &id(0)])
        .ok(); // on time
    env.run_at("2026-11-02T11:00:00Z", &["tasks", "done", &id(1)])
        .ok(); // on time, at the due time
    env.run_at("2026-11-03T15:00:00Z", &["tasks", "done", &id(2)])
        .ok(); // late
    env.run_at(
        "2026-11-04T10:00:00Z",
        &["tasks", "skip", &id(3), "--reason", "client office closed"],
    )
    .ok(); // skipped: missed
    env.run_at(
        "2026-11-05T10:00:00Z",
        &[
            "tasks",
            "skip",
            &id(4),
            "--reason",
            "no backups on holidays",
            "--not-applicable",
        ],
    )
    .ok();
    // id(5) stays open past due; id(6) is due 2026-11-07T11:00Z, after `now`
    let store = bmctl::store::Store::open(&env.db, std::time::Duration::from_secs(5)).unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    let c = bmctl::ops::tasks::compliance(
        &store,
        Some("acme"),
        at("2026-11-01T00:00:00Z"),
        at("2026-12-01T00:00:00Z"),
        at("2026-11-07T09:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        (
            c.on_time,
            c.due,
            c.late,
            c.skipped,
            c.open,
            c.not_applicable
        ),
        (2, 5, 1, 1, 1, 1)
    );
    assert_eq!(c.percent, Some(40.0));
}

#[test]
#[ignore = "needs restic"]
fn restore_test_with_the_real_restic_closes_the_task_or_opens_a_ticket() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let _ = PLAN;
    let src = env.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "hello\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "world\n").unwrap();
    let repo = env.path("repo");
    let restic = |args: &[&str]| {
        let o = Command::new("restic")
            .args(["-r", repo.to_str().unwrap(), "--no-cache"])
            .args(args)
            .env("RESTIC_PASSWORD", "pw")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    restic(&["init"]);
    restic(&["backup", src.to_str().unwrap()]);
    generate(&env, "2026-11-29T09:30:00Z");
    let target = env.path("restored");
    let restored = target.join(src.strip_prefix("/").unwrap());
    let verify = format!("diff -r {} {}", src.display(), restored.display());
    let run = |verify: &str, target: &std::path::Path| -> Run {
        env.cmd()
            .env("RESTIC_PASSWORD", "pw")
            .args([
                "--format",
                "json",
                "restore",
                "test",
                "--job",
                "acme/fs01-nightly",
                "--verify",
                verify,
                "--",
            ])
            .args([
                "restic",
                "-r",
                repo.to_str().unwrap(),
                "--no-cache",
                "restore",
                "latest",
                "--target",
                target.to_str().unwrap(),
            ])
            .output()
            .unwrap()
            .into()
    };
    let r = run(&verify, &target).ok().json();
    assert_eq!(
        (
            r["outcome"].as_str(),
            r["kind"].as_str(),
            r["verified"].as_bool()
        ),
        (Some("success"), Some("test"), Some(true))
    );
    assert!(r["duration_s"].as_i64().unwrap() >= 0);
    assert_eq!(r["rto_met"], true);
    let task = r["task_completed"]
        .as_i64()
        .expect("the restore-test task was completed");
    let t = env.json(&["tasks", "show", &task.to_string()]);
    assert_eq!(
        (t["status"].as_str(), t["result"].as_str()),
        (Some("resolved"), Some("ok"))
    );
    // a corrupted repository: the restore fails, a corrective ticket opens
    for dir in std::fs::read_dir(repo.join("data")).unwrap() {
        for pack in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let p = pack.unwrap().path();
            let mut bytes = std::fs::read(&p).unwrap();
            for b in bytes.iter_mut().skip(1).take(64) {
                *b ^= 0xff;
            }
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644))
                .unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let target2 = env.path("restored2");
    let restored2 = target2.join(src.strip_prefix("/").unwrap());
    let r = run(
        &format!("diff -r {} {}", src.display(), restored2.display()),
        &target2,
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    let list = env.json(&["restore", "list", "--job", "acme/fs01-nightly"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["outcome"], "failed");
    let open = env.json(&["correct", "list"]);
    assert_eq!(open[0]["class"], "restore");
    assert_eq!(open[0]["title"], "Restore test failed: acme/fs01-nightly");
    let latest = env.json(&["restore", "list", "--latest", "--client", "acme"]);
    let fs01 = latest
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["job"] == "fs01-nightly")
        .unwrap();
    assert_eq!(fs01["rto_met"], true);
}

#[test]
fn restore_record_validates_and_counts() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.run(&[
        "restore",
        "record",
        "acme/fs01-nightly",
        "--kind",
        "test",
        "--outcome",
        "partial",
    ])
    .code(3);
    env.run(&[
        "restore",
        "record",
        "acme/fs01-nightly",
        "--kind",
        "test",
        "--outcome",
        "success",
        "--started",
        "2026-11-10T10:00:00Z",
        "--ended",
        "2026-11-10T09:00:00Z",
    ])
    .code(3);
    let r = env.json(&[
        "restore",
        "record",
        "acme/sql01-nightly",
        "--kind",
        "real",
        "--outcome",
        "success",
        "--started",
        "2026-11-10T10:00:00Z",
        "--ended",
        "2026-11-10T15:00:00Z",
    ]);
    assert_eq!(
        (r["duration_s"].as_i64(), r["rto_met"].as_bool()),
        (Some(5 * 3600), Some(false))
    );
    env.run(&[
        "restore",
        "record",
        "acme/nope",
        "--kind",
        "test",
        "--outcome",
        "success",
    ])
    .code(4);
}

#[test]
fn templates_import_and_every_n_days_after_completion() {
    let env = onboarded("2026-11-01T00:00:00Z");
    only_custom(&env);
    let f = crate::env::repo_file("examples/templates.toml");
    env.run_at(
        "2026-11-01T00:00:00Z",
        &["tasks", "templates", "import", f.to_str().unwrap()],
    )
    .ok();
    let bad = env.write("bad.toml", "[[template]]\nname = \"x\"\ntitle = \"X\"\ncadence = \"61 * * * *\"\n\n[[template]]\nname = \"y\"\ntitle = \"Y\"\ncolour = \"red\"\n");
    let r = env
        .run(&["tasks", "templates", "import", bad.to_str().unwrap()])
        .code(3);
    assert!(r.stderr.contains("bad.toml:9"), "{}", r.stderr);
    env.run(&["tasks", "templates", "disable", "offsite-sync-check"])
        .ok();
    // every 30 days after the last completion, per tier-1 VM (acme has none: add one)
    env.run_at(
        "2026-11-01T00:00:00Z",
        &["cmdb", "add", "acme/vm07", "--kind", "vm", "--tier", "1"],
    )
    .ok();
    assert_eq!(generate(&env, "2026-11-29T00:00:00Z")["created"], 1); // due Dec 1, created 2 days ahead
    assert_eq!(generate(&env, "2026-12-30T00:00:00Z")["created"], 0); // one open at a time
    let t = tasks_json(&env, "2026-12-30T00:00:00Z");
    env.run_at(
        "2026-12-05T10:00:00Z",
        &["tasks", "done", &t[0]["id"].to_string()],
    )
    .ok();
    assert_eq!(generate(&env, "2027-01-01T00:00:00Z")["created"], 0);
    assert_eq!(generate(&env, "2027-01-02T12:00:00Z")["created"], 1); // Dec 5 + 30d = Jan 4, 2 days ahead
    let t = tasks_json(&env, "2027-01-02T12:00:00Z");
    assert_eq!(t[0]["due_at"], "2027-01-09T10:00:00Z");
}
