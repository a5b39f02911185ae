//! #14 §6: per-policy judgement — failures before a ticket, warnings as
//! success, and the small-backup check.

use crate::env::*;

fn open_classes(env: &TestEnv) -> Vec<String> {
    tickets(env)
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "open" || t["status"] == "in_progress")
        .map(|t| t["class"].as_str().unwrap_or("").to_string())
        .collect()
}

fn with_keys(keys: &str) -> TestEnv {
    let env = TestEnv::new();
    let plan = PLAN.replace(
        "match = { host = \"fs01\", tags = [\"nightly\"] }",
        &format!("match = {{ host = \"fs01\", tags = [\"nightly\"] }}\n{keys}"),
    );
    let f = env.write("plan.toml", &plan);
    env.run_at(
        "2026-10-01T08:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    env
}

fn day(d: u32) -> String {
    format!("2026-10-{d:02}T20:00:00Z")
}

/// Ten nightly runs of 1 GB, one a day.
fn ten_good(env: &TestEnv) {
    let lines: Vec<String> = (2..12)
        .map(|d| line("fs01-nightly", "success", &day(d), r#","bytes":1000000000"#))
        .collect();
    import_lines(env, "2026-10-12T08:00:00Z", &lines).ok();
}

#[test]
fn a_run_at_ten_percent_of_the_median_opens_a_small_ticket_and_eighty_does_not() {
    let env = with_keys("");
    ten_good(&env);
    import_lines(
        &env,
        "2026-10-13T08:00:00Z",
        &[line(
            "fs01-nightly",
            "success",
            &day(12),
            r#","bytes":800000000"#,
        )],
    )
    .ok();
    assert!(open_classes(&env).is_empty(), "{:?}", open_classes(&env));
    import_lines(
        &env,
        "2026-10-14T08:00:00Z",
        &[line(
            "fs01-nightly",
            "success",
            &day(13),
            r#","bytes":100000000"#,
        )],
    )
    .ok();
    assert_eq!(open_classes(&env), ["small"]);
    let t = &tickets(&env)[0];
    assert!(
        t["title"]
            .as_str()
            .unwrap()
            .starts_with("Suspiciously small backup: acme/fs01-nightly"),
        "{t}"
    );
    let shown = env.json(&["correct", "show", &t["id"].to_string()]);
    assert!(
        shown
            .to_string()
            .contains("10 % of the median 1000000000 bytes"),
        "{shown}"
    );
    // the next run of the usual size clears it
    import_lines(
        &env,
        "2026-10-15T08:00:00Z",
        &[line(
            "fs01-nightly",
            "success",
            &day(14),
            r#","bytes":990000000"#,
        )],
    )
    .ok();
    assert!(open_classes(&env).is_empty());
    // the same facts in another order: the same ticket
    let again = with_keys("");
    let mut lines: Vec<String> = (2..12)
        .map(|d| line("fs01-nightly", "success", &day(d), r#","bytes":1000000000"#))
        .collect();
    lines.insert(
        0,
        line("fs01-nightly", "success", &day(13), r#","bytes":100000000"#),
    );
    import_lines(&again, "2026-10-14T08:00:00Z", &lines).ok();
    assert_eq!(open_classes(&again), ["small"]);
}

#[test]
fn the_small_backup_check_can_be_switched_off_per_policy() {
    let env = with_keys("small_backup = \"off\"");
    ten_good(&env);
    import_lines(
        &env,
        "2026-10-14T08:00:00Z",
        &[line(
            "fs01-nightly",
            "success",
            &day(13),
            r#","bytes":1000"#,
        )],
    )
    .ok();
    assert!(open_classes(&env).is_empty());
}

#[test]
fn failures_before_ticket_three_opens_on_the_third_failure() {
    let env = with_keys("failures_before_ticket = 3");
    for (d, want) in [(2, 0), (3, 0), (4, 1)] {
        import_lines(
            &env,
            &format!("2026-10-{:02}T08:00:00Z", d + 1),
            &[line("fs01-nightly", "failed", &day(d), "")],
        )
        .ok();
        assert_eq!(open_classes(&env).len(), want, "after day {d}");
    }
    assert_eq!(open_classes(&env), ["failed"]);
    // escalation counts from the opening: the third after it (5th in a row)
    import_lines(
        &env,
        "2026-10-07T08:00:00Z",
        &[
            line("fs01-nightly", "failed", &day(5), ""),
            line("fs01-nightly", "failed", &day(6), ""),
        ],
    )
    .ok();
    let t = &tickets(&env)[0];
    assert_eq!(t["kind"], "incident", "{t}");
}

#[test]
fn warning_is_success_opens_no_warning_ticket_and_clears_a_failure() {
    let env = with_keys("warning_is_success = true");
    let lines: Vec<String> = (2..6)
        .map(|d| line("fs01-nightly", "warning", &day(d), ""))
        .collect();
    import_lines(&env, "2026-10-07T08:00:00Z", &lines).ok();
    assert!(open_classes(&env).is_empty());
    import_lines(
        &env,
        "2026-10-08T08:00:00Z",
        &[line("fs01-nightly", "failed", &day(6), "")],
    )
    .ok();
    assert_eq!(open_classes(&env), ["failed"]);
    import_lines(
        &env,
        "2026-10-09T08:00:00Z",
        &[line("fs01-nightly", "warning", &day(7), "")],
    )
    .ok();
    assert!(open_classes(&env).is_empty());
    // without the key, four warnings in a row open a warning ticket
    let plain = with_keys("");
    import_lines(&plain, "2026-10-07T08:00:00Z", &lines).ok();
    assert_eq!(open_classes(&plain), ["warning"]);
}

#[test]
fn the_keys_round_trip_through_the_plan_and_macd_change() {
    let env = with_keys("failures_before_ticket = 3\nwarning_is_success = true\nsmall_backup = 30");
    let text = env.run(&["plan", "export", "acme"]).ok().stdout;
    for key in [
        "failures_before_ticket = 3",
        "warning_is_success = true",
        "small_backup = \"30%\"",
    ] {
        assert!(text.contains(key), "{key} in {text}");
    }
    // sql01-nightly keeps the defaults, which the export leaves out
    assert_eq!(text.matches("failures_before_ticket").count(), 1);
    // plan show names them too
    let shown = env.json(&["plan", "show", "acme"]);
    let fs01 = &shown["policies"][0];
    assert_eq!(
        (
            &fs01["failures_before_ticket"],
            &fs01["warning_is_success"],
            &fs01["small_backup_pct"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(true),
            &serde_json::json!(30)
        ),
        "{fs01}"
    );
    let c = env.json_at(
        "2026-10-02T08:00:00Z",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "failures_before_ticket=2",
            "--set",
            "small_backup=off",
            "--reason",
            "flaky link",
        ],
    );
    assert_eq!(c["state"], "requested", "{c}");
    // judging less strictly hides problems: a medium-risk change
    assert_eq!(c["risk"], "medium", "{c}");
    let bad = env.run_at(
        "2026-10-02T08:00:00Z",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "small_backup=150%",
            "--reason",
            "x",
        ],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("small_backup '150%'"), "{}", bad.stderr);
}

#[test]
fn a_bad_judgement_key_names_file_line_and_key() {
    let env = TestEnv::new();
    let plan = PLAN.replace(
        "match = { host = \"sql01\" }",
        "match = { host = \"sql01\" }\nfailures_before_ticket = 0\nsmall_backup = \"lots\"",
    );
    let f = env.write("plan.toml", &plan);
    let r = env
        .run_at(
            "2026-10-01T08:00:00Z",
            &["plan", "import", f.to_str().unwrap()],
        )
        .code(3);
    assert!(
        r.stderr
            .contains("plan.toml:41: policy[1].failures_before_ticket"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("policy[1].small_backup: small_backup 'lots'"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count("policies"), 0);
}
