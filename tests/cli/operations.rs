//! Day-to-day operations: pauses, hooks, assignment, SLA due times, PSA hand-off.

use crate::env::TestEnv;
use crate::events::{import_lines, line, onboarded, PLAN};

fn check(env: &TestEnv, now: &str) -> serde_json::Value {
    env.run_at(now, &["--format", "json", "check"]).ok().json()
}

#[test]
fn a_pause_over_three_nights_raises_nothing_and_expects_nothing() {
    let env = onboarded("2026-11-01T00:00:00Z");
    for d in 1..=9 {
        import_lines(
            &env,
            &format!("2026-11-{:02}T23:00:00Z", d),
            &[line(
                "fs01-nightly",
                "success",
                &format!("2026-11-{d:02}T21:05:00Z"),
                "",
            )],
        )
        .ok();
        check(&env, &format!("2026-11-{:02}T06:00:00Z", d + 1));
    }
    let p = env
        .run_at(
            "2026-11-10T09:00:00Z",
            &[
                "--format",
                "json",
                "pause",
                "--job",
                "acme/fs01-nightly",
                "--until",
                "2026-11-13T12:00:00Z",
                "--reason",
                "NAS migration, CHG-4711",
            ],
        )
        .ok()
        .json();
    assert_eq!(p["ends_at"], "2026-11-13T12:00:00Z");
    // a run that arrives during the pause is still recorded
    import_lines(
        &env,
        "2026-11-11T23:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-11T21:05:00Z", "")],
    )
    .ok();
    for d in 11..=13 {
        check(&env, &format!("2026-11-{d}T06:00:00Z"));
    }
    let listed = env
        .run_at(
            "2026-11-12T00:00:00Z",
            &["--format", "json", "pause", "list"],
        )
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    for d in 13..=14 {
        import_lines(
            &env,
            &format!("2026-11-{d}T23:00:00Z"),
            &[line(
                "fs01-nightly",
                "success",
                &format!("2026-11-{d}T21:05:00Z"),
                "",
            )],
        )
        .ok();
        check(&env, &format!("2026-11-{}T06:00:00Z", d + 1));
    }
    let missed = env
        .run(&[
            "--format",
            "json",
            "events",
            "list",
            "--job",
            "acme/fs01-nightly",
            "--status",
            "missed",
        ])
        .ok()
        .json();
    assert_eq!(
        missed.as_array().unwrap().len(),
        0,
        "no missed event for the paused nights: {missed:#}"
    );
    let evs = env
        .run(&[
            "--format",
            "json",
            "events",
            "list",
            "--job",
            "acme/fs01-nightly",
        ])
        .ok()
        .json();
    assert_eq!(
        evs.as_array().unwrap().len(),
        12,
        "9 before, 1 during, 2 after"
    );
    let tickets = env
        .run(&["--format", "json", "correct", "list", "--all"])
        .ok()
        .json();
    assert!(
        tickets
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["job"] != "fs01-nightly"),
        "{tickets:#}"
    );
    // expected runs: on the paused nights only sql01-nightly was expected (and missed)
    let store = bmctl::store::Store::open(&env.db, std::time::Duration::from_secs(5)).unwrap();
    let day = |s: &str| {
        (chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap() - chrono::NaiveDate::default())
            .num_days()
    };
    let paused = bmctl::store::events::rollup_sum(
        &store.conn,
        Some(1),
        day("2026-11-10"),
        day("2026-11-13"),
    )
    .unwrap();
    assert_eq!((paused.expected, paused.occ_missed), (3, 3));
    let before = bmctl::store::events::rollup_sum(
        &store.conn,
        Some(1),
        day("2026-11-07"),
        day("2026-11-10"),
    )
    .unwrap();
    assert_eq!(
        (before.expected, before.occ_success, before.occ_missed),
        (6, 3, 3)
    );
    // and `kpi` reads exactly that: the paused nights are not expected runs
    let k = env
        .run_at(
            "2026-11-15T12:00:00Z",
            &[
                "--format",
                "json",
                "kpi",
                "--client",
                "acme",
                "--from",
                "2026-11-10",
                "--to",
                "2026-11-13",
            ],
        )
        .ok()
        .json();
    assert_eq!(k["backup_incident_rate"]["expected"], 3);
    assert_eq!(k["backup_incident_rate"]["missed"], 3);
    assert_eq!(k["boundaries"], "Europe/Berlin");
    assert_eq!(k["from"], "2026-11-09T23:00:00Z");
    let month = env
        .run_at(
            "2026-11-15T12:00:00Z",
            &[
                "--format", "json", "kpi", "--client", "acme", "--month", "2026-11",
            ],
        )
        .ok()
        .json();
    // fs01: 14 nights (1..14) minus 3 paused; sql01: 14 nights; all windows closed by the 15th 06:00 check
    assert_eq!(month["backup_incident_rate"]["expected"], 11 + 14);
    // the end of the pause is in the audit
    let audit = env
        .run(&["--format", "json", "audit", "list", "--entity", "pause"])
        .ok()
        .json();
    let actors: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["tester", "bmctl"]);
    assert_eq!(audit[1]["after"]["closed_at"], "2026-11-13T12:00:00Z");
}

#[test]
fn a_pause_needs_its_end() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let r = env
        .run(&[
            "pause",
            "--job",
            "acme/fs01-nightly",
            "--reason",
            "migration",
        ])
        .code(2);
    assert!(r.stderr.contains("--until"), "{}", r.stderr);
    env.run(&[
        "pause",
        "--job",
        "acme/fs01-nightly",
        "--until",
        "2026-11-01T00:00:00Z",
        "--reason",
        "x",
    ])
    .code(3);
    env.run(&["pause", "--until", "2026-12-30T00:00:00Z", "--reason", "x"])
        .code(2);
    let p = env
        .run(&[
            "--format",
            "json",
            "pause",
            "--client",
            "acme",
            "--until",
            "2026-12-30T00:00:00Z",
            "--reason",
            "office move",
        ])
        .ok()
        .json();
    let id = p["id"].to_string();
    env.run(&["pause", "end", &id]).ok();
    env.run(&["pause", "end", &id]).code(5);
    env.run(&["pause", "end", "99"]).code(4);
}

/// `events import FILE` with the config file `cfg`.
fn import_with(env: &TestEnv, cfg: &std::path::Path, f: &std::path::Path) -> std::process::Output {
    env.cmd()
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "events",
            "import",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

fn hook_config(env: &TestEnv, extra: &str) -> std::path::PathBuf {
    let out = env.path("hooks.jsonl");
    let sh = |_: &str| format!(r#"["sh", "-c", "cat >> {}"]"#, out.display());
    env.write(
        "bmctl.toml",
        &format!(
            "[hooks]\non_open = {}\non_escalate = {}\non_reopen = {}\non_resolve = {}\n{extra}",
            sh("open"),
            sh("escalate"),
            sh("reopen"),
            sh("resolve")
        ),
    )
}

#[test]
fn hooks_get_the_ticket_on_open_escalate_reopen_and_resolve() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let cfg = hook_config(&env, "");
    let import = |now: &str, status: &str, started: &str| {
        let f = env.write("e.jsonl", &line("fs01-nightly", status, started, ""));
        env.cmd()
            .args([
                "--config",
                cfg.to_str().unwrap(),
                "--now",
                now,
                "events",
                "import",
                f.to_str().unwrap(),
            ])
            .assert()
            .success();
    };
    import("2026-11-02T22:00:00Z", "failed", "2026-11-02T21:00:00Z");
    import("2026-11-03T22:00:00Z", "success", "2026-11-03T21:00:00Z");
    import("2026-11-04T22:00:00Z", "failed", "2026-11-04T21:00:00Z");
    import("2026-11-05T22:00:00Z", "failed", "2026-11-05T21:00:00Z");
    import("2026-11-06T22:00:00Z", "failed", "2026-11-06T21:00:00Z");
    env.cmd()
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "correct",
            "resolve",
            "1",
            "--cause",
            "media",
            "--fix",
            "new disk",
        ])
        .assert()
        .success();
    let got = std::fs::read_to_string(env.path("hooks.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["open", "resolve", "reopen", "escalate", "resolve"]);
    assert!(events
        .iter()
        .all(|e| e["ticket"]["id"] == 1 && e["ticket"]["job"] == "fs01-nightly"));
    assert_eq!(events[3]["ticket"]["kind"], "incident");
    assert_eq!(env.count("hook_outbox"), 0);
}

#[test]
fn a_failing_or_hanging_hook_is_reported_and_the_ticket_kept() {
    for (hook, want) in [
        (r#"["sh", "-c", "exit 1"]"#, "exited with"),
        (r#"["sleep", "30"]"#, "killed"),
    ] {
        let env = onboarded("2026-11-01T00:00:00Z");
        let cfg = env.write(
            "bmctl.toml",
            &format!("[hooks]\non_open = {hook}\ntimeout = \"1s\"\n"),
        );
        let f = env.write(
            "e.jsonl",
            &line("fs01-nightly", "failed", "2026-11-02T21:00:00Z", ""),
        );
        let started = std::time::Instant::now();
        let out = import_with(&env, &cfg, &f);
        assert!(out.status.success());
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("hook on_open") && stderr.contains(want),
            "{stderr}"
        );
        assert_eq!(env.count("tickets"), 1, "the ticket is saved");
        let audit = env
            .run(&["--format", "json", "audit", "list", "--entity", "hook"])
            .ok()
            .json();
        assert_eq!(audit.as_array().unwrap().len(), 1);
    }
}

pub const SILVER: &str = r#"client = "bravo"
name = "Bravo Ltd"
timezone = "UTC"
sla_tier = "silver"

[[ci]]
host = "app02"
kind = "vm"
tier = 2

[[policy]]
job = "app02-nightly"
ci = "app02"
tool = "restic"
schedule = "0 1 * * *"
rpo = "2d"
grace = "2h"
retention = { daily = 7 }
target = "local"
restore_test = "never"
rto = "8h"
"#;

#[test]
fn sla_due_times_follow_tier_and_priority() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let f = env.write("bravo.toml", SILVER);
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
    let open = |job: &str| {
        let t = env
            .run_at(
                "2026-11-10T10:00:00Z",
                &[
                    "--format", "json", "correct", "open", "--job", job, "--title", "finding",
                ],
            )
            .ok()
            .json();
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
    let esc = |id: &str| {
        env.run_at(
            "2026-11-10T12:00:00Z",
            &["--format", "json", "correct", "escalate", id],
        )
        .ok()
        .json()
    };
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
    let list = env
        .run_at(
            "2026-11-10T17:00:00Z",
            &["--format", "json", "correct", "list"],
        )
        .ok()
        .json();
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
    let bogus = env.run(&["correct", "list", "--status", "bogus"]).code(3);
    assert!(
        bogus
            .stderr
            .contains("--status 'bogus' is not one of open, in_progress, resolved, skipped"),
        "{}",
        bogus.stderr
    );
    env.run(&["correct", "list", "--kind", "task"]).code(3);
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
            "--job",
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
    let t = env
        .run(&["--format", "json", "correct", "show", "1"])
        .ok()
        .json();
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
    let show = env
        .run(&["--format", "json", "correct", "show", "1"])
        .ok()
        .json();
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
        env.run(&["--format", "json", "correct", "list", "--since", t])
            .ok()
            .json()
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

/// More notifications than one delivery batch (1,024): each failed hook is
/// audited once, not again with every later batch.
#[test]
fn each_failed_hook_is_audited_once_across_delivery_batches() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let hook = r#"["sh", "-c", "exit 1"]"#;
    let cfg = env.write(
        "bmctl.toml",
        &format!("[hooks]\non_open = {hook}\non_reopen = {hook}\non_resolve = {hook}\n"),
    );
    // 550 failures, each followed by a success: an open (or reopen) and a resolve each
    let mut lines = Vec::new();
    for i in 0..550 {
        let day = chrono::DateTime::from_timestamp(1_762_000_000 + i * 86_400, 0).unwrap();
        let at = |h: u32| {
            day.date_naive()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        };
        lines.push(line("fs01-nightly", "failed", &at(1), ""));
        lines.push(line("fs01-nightly", "success", &at(3), ""));
    }
    let f = env.write("e.jsonl", &(lines.join("\n") + "\n"));
    let out = env
        .cmd()
        .args([
            "--now",
            "2027-06-01T00:00:00Z",
            "--config",
            cfg.to_str().unwrap(),
            "events",
            "import",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(env.count("hook_outbox"), 0);
    let audit = env
        .run(&["--format", "json", "audit", "list", "--entity", "hook"])
        .ok()
        .json();
    assert_eq!(audit.as_array().unwrap().len(), 1_100);
}

/// #17 §8: a hook that ignores its stdin (a payload over a pipe's 64 KiB)
/// and leaves children behind is stopped at its timeout, counted from the
/// spawn, and its whole process group is killed.
#[test]
fn a_timed_out_hook_and_its_children_are_killed_at_the_timeout() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // a marker in the children's command lines, to find them afterwards
    let marker = format!("{}", 300 + std::process::id() % 97);
    let hook = format!(r#"["sh", "-c", "sleep {marker}.5 & sleep {marker}.25; :"]"#);
    let cfg = env.write(
        "bmctl.toml",
        &format!("[hooks]\non_open = {hook}\ntimeout = \"1s\"\n"),
    );
    let big = "x".repeat(60 * 1024);
    let f = env.write(
        "e.jsonl",
        &line(
            "fs01-nightly",
            "failed",
            "2026-11-02T21:00:00Z",
            &format!(r#","message":"{big}""#),
        ),
    );
    let started = std::time::Instant::now();
    let out = import_with(&env, &cfg, &f);
    let took = started.elapsed();
    assert!(out.status.success());
    assert!(
        took < std::time::Duration::from_secs(5),
        "held for {took:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("killed"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}\\.")])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the hook's children outlived it: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

/// #10 §7: bmctl watches itself: `health` says when `check` and `tasks
/// generate` last ran and which daily client went silent, exit 1 when stale;
/// the morning view starts with it.
#[test]
fn health_flags_a_silent_client_and_a_check_that_stopped() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let r = env.run(&["health"]).code(1);
    assert!(
        r.stdout.contains("STALE  check last ran") && r.stdout.contains("never"),
        "{}",
        r.stdout
    );
    let lines: Vec<String> = ["fs01-nightly", "sql01-nightly"]
        .iter()
        .map(|j| line(j, "success", "2026-11-29T22:00:00Z", ""))
        .collect();
    import_lines(&env, "2026-11-30T06:00:00Z", &lines).ok();
    env.run(&["check"]).ok();
    env.run(&["tasks", "generate"]).ok();
    let h = env.run(&["--format", "json", "health"]).ok().json();
    assert_eq!(h["ok"], true, "{h}");
    // two days on, nothing has come in and cron stopped
    let later = "2026-12-02T07:00:00Z";
    let r = env.run_at(later, &["health"]).code(1);
    assert!(
        r.stdout.contains("STALE  newest run of client acme"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("STALE  check last ran"), "{}", r.stdout);
    let due = env.run_at(later, &["tasks", "due"]).ok();
    assert!(
        due.stderr.starts_with("bmctl health: STALE"),
        "{}",
        due.stderr
    );
    assert!(env.run(&["tasks", "due"]).ok().stderr.is_empty());
}

/// #10 §12: a fail-then-success import notifies `open` then `resolve`, in
/// that order even when `open`'s hook is slower, each with the ticket as it
/// was at that change (the open payload once said "resolved").
#[test]
fn hooks_run_in_order_with_the_state_of_their_moment() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let out = env.path("hooks.jsonl");
    let slow = format!(r#"["sh", "-c", "sleep 0.4; cat >> {}"]"#, out.display());
    let fast = format!(r#"["sh", "-c", "cat >> {}"]"#, out.display());
    let cfg = env.write(
        "bmctl.toml",
        &format!("[hooks]\non_open = {slow}\non_resolve = {fast}\n"),
    );
    let lines = [
        line("fs01-nightly", "failed", "2026-11-28T21:00:00Z", ""),
        line("fs01-nightly", "success", "2026-11-29T21:00:00Z", ""),
    ];
    let f = env.write("e.jsonl", &(lines.join("\n") + "\n"));
    assert!(import_with(&env, &cfg, &f).status.success());
    let got: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["ticket"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("open", "open"), ("resolve", "resolved")]);
    assert_eq!(got[1]["reason"], "auto-recovered");
    assert_eq!(got[0]["ticket"]["ci"], "fs01");
    assert_eq!(env.count("hook_outbox"), 0);
}

/// #10 §5: the backlog of a past period counts each ticket as it was then:
/// one resolved on Nov 5 and reopened on Nov 20 was not open on Nov 10.
#[test]
fn the_backlog_of_a_past_period_counts_what_was_open_then() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let l = line("fs01-nightly", "failed", "2026-11-02T21:00:00Z", "");
    import_lines(&env, "2026-11-02T22:00:00Z", &[l]).ok();
    let resolve = [
        "correct", "resolve", "1", "--cause", "media", "--fix", "new disk",
    ];
    env.run_at("2026-11-05T09:00:00Z", &resolve).ok();
    env.run_at("2026-11-20T09:00:00Z", &["correct", "reopen", "1"])
        .ok();
    let open_at_end = |to: &str| {
        let args = [
            "--format",
            "json",
            "kpi",
            "--client",
            "acme",
            "--from",
            "2026-11-01",
            "--to",
            to,
        ];
        env.run_at("2026-11-30T07:00:00Z", &args).ok().json()["aged_backlog"]["open"].clone()
    };
    assert_eq!(open_at_end("2026-11-04"), 1);
    assert_eq!(open_at_end("2026-11-10"), 0);
    assert_eq!(open_at_end("2026-11-25"), 1);
}

/// #10 §7: KPIs count the windows that closed after the last `check`
/// themselves, from the runs (asked on Dec 1 about November after a check
/// on Nov 30 22:59Z), and say how many; the figures equal those after
/// `check` has run.
#[test]
fn kpis_count_what_check_has_not_closed_yet() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let kpi = |now: &str| {
        env.run_at(
            now,
            &[
                "--format", "json", "kpi", "--client", "acme", "--month", "2026-11",
            ],
        )
        .ok()
        .json()
    };
    // never checked: every window of November so far, judged from the runs
    let before = kpi("2026-11-30T07:00:00Z");
    assert_eq!(before["backup_incident_rate"]["expected"], 58);
    assert_eq!(before["judged_from_runs"], 58);
    env.run_at("2026-11-30T22:59:00Z", &["check"]).ok();
    let later = kpi("2026-12-01T08:00:00Z");
    assert_eq!(later["judged_from_runs"], 2, "{later}");
    assert_eq!(later["backup_incident_rate"]["expected"], 60);
    let text = env
        .run_at(
            "2026-12-01T08:00:00Z",
            &["kpi", "--client", "acme", "--month", "2026-11"],
        )
        .ok()
        .stdout;
    assert!(
        text.contains("Judged from the runs: 2 window(s) that closed after the last `bmctl check` (2026-11-30T22:59:00Z)"),
        "{text}"
    );
    env.run_at("2026-12-01T08:00:00Z", &["check"]).ok();
    let after = kpi("2026-12-01T08:05:00Z");
    assert_eq!(after["judged_from_runs"], 0);
    assert_eq!(after["counted_until"], "2026-12-01T08:00:00Z");
    assert_eq!(after["backup_incident_rate"], later["backup_incident_rate"]);
}

/// #10 §2: `check` after a 16-day gap closes every window of it (the 7-day
/// look-back counted 14 of 32 and wrote no missed event for the rest).
#[test]
fn check_catches_up_a_long_gap_exactly() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let check = |now: &str| env.run_at(now, &["--format", "json", "check"]).ok().json();
    // the two nightly jobs' first windows close on Nov 1 23:00Z and Nov 2 00:00Z
    assert_eq!(check("2026-11-02T08:00:00Z")["occurrences_closed"], 2);
    let r = check("2026-11-18T08:00:00Z");
    assert_eq!(
        (r["occurrences_closed"].as_i64(), r["missed"].as_i64()),
        (Some(32), Some(32))
    );
    assert_eq!(check("2026-11-18T08:00:00Z")["occurrences_closed"], 0);
    // a config that still limits the look-back is refused, saying why
    let cfg = env.write("old.toml", "[check]\nlookback = \"7d\"\n");
    let r = env
        .run(&["--config", cfg.to_str().unwrap(), "check"])
        .code(3);
    assert!(r.stderr.contains("check.lookback is gone"), "{}", r.stderr);
}
