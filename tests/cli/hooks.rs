//! Notifications: the `[hooks]` commands bmctl runs on ticket events.

use crate::env::*;

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
        let audit = env.json(&["audit", "list", "--entity", "hook"]);
        assert_eq!(audit.as_array().unwrap().len(), 1);
    }
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
    let audit = env.json(&["audit", "list", "--entity", "hook"]);
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

/// `hooks.on_change`: each state of a change request, the change as JSON on
/// stdin, delivered after the command committed.
#[test]
fn on_change_follows_a_change_through_its_states() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let out = env.path("changes.jsonl");
    let cfg = env.write(
        "hooks.toml",
        &format!(
            "[hooks]\non_change = [\"sh\", \"-c\", \"cat >> {}\"]\n",
            out.display()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let run = |now: &str, actor: &str, args: &[&str]| {
        env.run_at(
            now,
            &[
                &["--config", cfg, "--actor", actor, "--format", "json"],
                args,
            ]
            .concat(),
        )
        .ok()
        .json()
    };
    let c = run(
        "2026-11-02T10:00:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/fs01-nightly",
            "--set",
            "grace=3h",
            "--reason",
            "slow nights",
        ],
    );
    let id = c["id"].to_string();
    run("2026-11-02T11:00:00Z", "bob", &["macd", "approve", &id]);
    run(
        "2026-11-02T12:00:00Z",
        "bob",
        &["macd", "cancel", &id, "--reason", "not needed"],
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let states: Vec<&str> = lines.iter().map(|l| l["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["requested", "approved", "cancelled"]);
    assert!(lines
        .iter()
        .all(|l| l["event"] == "change" && l["change"]["id"] == c["id"]));
    assert_eq!(lines[0]["change"]["requested_at"], "2026-11-02T10:00:00Z");
    assert_eq!(lines[1]["change"]["approved_by"], "bob");
}
