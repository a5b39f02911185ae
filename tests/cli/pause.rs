//! `bmctl pause`: what a pause expects and raises.

use crate::env::*;

fn check(env: &TestEnv, now: &str) -> serde_json::Value {
    env.json_at(now, &["check"])
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
    let p = env.json_at(
        "2026-11-10T09:00:00Z",
        &[
            "pause",
            "--job",
            "acme/fs01-nightly",
            "--until",
            "2026-11-13T12:00:00Z",
            "--reason",
            "NAS migration, CHG-4711",
        ],
    );
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
    let listed = env.json_at("2026-11-12T00:00:00Z", &["pause", "list"]);
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
    let missed = env.json(&[
        "events",
        "list",
        "--job",
        "acme/fs01-nightly",
        "--status",
        "missed",
    ]);
    assert_eq!(
        missed.as_array().unwrap().len(),
        0,
        "no missed event for the paused nights: {missed:#}"
    );
    let evs = env.json(&["events", "list", "--job", "acme/fs01-nightly"]);
    assert_eq!(
        evs.as_array().unwrap().len(),
        12,
        "9 before, 1 during, 2 after"
    );
    let tickets = env.json(&["correct", "list", "--all"]);
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
    let paused =
        bmctl::store::events::rollup_sum(store.db(), Some(1), day("2026-11-10"), day("2026-11-13"))
            .unwrap();
    assert_eq!((paused.expected, paused.occ_missed), (3, 3));
    let before =
        bmctl::store::events::rollup_sum(store.db(), Some(1), day("2026-11-07"), day("2026-11-10"))
            .unwrap();
    assert_eq!(
        (before.expected, before.occ_success, before.occ_missed),
        (6, 3, 3)
    );
    // and `kpi` reads exactly that: the paused nights are not expected runs
    let k = env.json_at(
        "2026-11-15T12:00:00Z",
        &[
            "kpi",
            "--client",
            "acme",
            "--from",
            "2026-11-10",
            "--to",
            "2026-11-13",
        ],
    );
    assert_eq!(k["backup_incident_rate"]["expected"], 3);
    assert_eq!(k["backup_incident_rate"]["missed"], 3);
    assert_eq!(k["boundaries"], "Europe/Berlin");
    assert_eq!(k["from"], "2026-11-09T23:00:00Z");
    let month = env.json_at(
        "2026-11-15T12:00:00Z",
        &["kpi", "--client", "acme", "--month", "2026-11"],
    );
    // fs01: 14 nights (1..14) minus 3 paused; sql01: 14 nights; all windows closed by the 15th 06:00 check
    assert_eq!(month["backup_incident_rate"]["expected"], 11 + 14);
    // the end of the pause is in the audit
    let audit = env.json(&["audit", "list", "--entity", "pause"]);
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
    let p = env.json(&[
        "pause",
        "--client",
        "acme",
        "--until",
        "2026-12-30T00:00:00Z",
        "--reason",
        "office move",
    ]);
    let id = p["id"].to_string();
    env.run(&["pause", "end", &id]).ok();
    env.run(&["pause", "end", &id]).code(5);
    env.run(&["pause", "end", "99"]).code(4);
}
