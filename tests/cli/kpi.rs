//! `bmctl kpi`: the five KPIs worked out by hand, by month and quarter, and over periods `check` has not closed.

use crate::env::*;

#[test]
fn kpis_worked_out_by_hand() {
    let env = kpi_fixture();
    let kpi = |args: &[&str]| {
        env.run_at(
            "2026-11-10T12:00:00Z",
            &[&["--format", "json", "kpi"], args].concat(),
        )
        .ok()
        .json()
    };

    // acme, 2026-11-02 .. 2026-11-05 at midnight in Berlin: [Nov 1 23:00Z, Nov 4 23:00Z)
    let k = kpi(&[
        "--client",
        "acme",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-05",
    ]);
    assert_eq!(
        (k["from"].as_str(), k["to"].as_str()),
        (Some("2026-11-01T23:00:00Z"), Some("2026-11-04T23:00:00Z"))
    );
    // Recovery Issues: the failed sql01 test (Nov 4); the partial real restore is after P
    assert_eq!(k["recovery_issues"]["count"], 1);
    // Backlog at the end of P: sql01's missed ticket (reopened Nov 4 06:00, opened Nov 2 06:00: 2d17h),
    // fs01's failed ticket (opened Nov 3 23:30, resolved only at Nov 4 23:30: 23h30m),
    // the restore ticket (Nov 4 10:00: 13h). No task is open. Nothing is 7 days old.
    assert_eq!(k["aged_backlog"]["aged"], 0);
    assert_eq!(k["aged_backlog"]["open"], 3);
    assert_eq!(
        k["aged_backlog"]["buckets"],
        serde_json::json!({"<1d": 2, "1-3d": 1, "3-7d": 0, "7-14d": 0, "14-30d": 0, ">30d": 0})
    );
    // Incident rate: 3 days x 2 jobs = 6 expected; fs01 Nov 3 failed (twice: one occurrence),
    // sql01 Nov 3 missed → 2/6. Corrective tickets opened in P: two on Nov 2, fs01 failed, restore.
    assert_eq!(
        k["backup_incident_rate"],
        serde_json::json!({"percent": 33.3, "failed": 1, "missed": 1, "expected": 6, "corrective_opened": 4})
    );
    // Compliance: Nov 2 on time, Nov 3 late, Nov 4 not applicable (left out): 1/2
    assert_eq!(k["task_compliance"]["percent"], 50.0);
    assert_eq!(
        (
            k["task_compliance"]["on_time"].as_i64(),
            k["task_compliance"]["due"].as_i64()
        ),
        (Some(1), Some(2))
    );
    // Recovery success: 1 of 2 tests; no real restore in P → n/a
    assert_eq!(k["recovery_success_rate"]["percent"], 50.0);
    assert_eq!(
        k["recovery_success_rate"]["real"]["percent"],
        serde_json::Value::Null
    );

    // all clients, UTC midnights: [Nov 2 00:00Z, Nov 5 00:00Z)
    let all = kpi(&["--from", "2026-11-02", "--to", "2026-11-05"]);
    assert_eq!(all["boundaries"], "client-local days");
    assert_eq!(all["client"], serde_json::Value::Null);
    assert_eq!(all["backup_incident_rate"]["expected"], 6);
    assert_eq!(all["backup_incident_rate"]["corrective_opened"], 4);
    // fs01's failed ticket was resolved at Nov 4 23:30Z, before this end
    assert_eq!(all["aged_backlog"]["open"], 2);
    assert_eq!(all["task_compliance"]["percent"], 50.0);

    // bravo: nothing to measure in P → n/a, never 0 % or 100 %
    let b = kpi(&[
        "--client",
        "bravo",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-05",
    ]);
    for key in [
        "backup_incident_rate",
        "task_compliance",
        "recovery_success_rate",
    ] {
        assert_eq!(b[key]["percent"], serde_json::Value::Null, "{key}");
    }
    let table = env
        .run_at(
            "2026-11-10T12:00:00Z",
            &[
                "kpi",
                "--client",
                "bravo",
                "--from",
                "2026-11-02",
                "--to",
                "2026-11-05",
            ],
        )
        .ok()
        .stdout;
    assert!(table.contains("n/a"), "{table}");
}

#[test]
fn months_add_up_to_the_quarter() {
    let env = TestEnv::new();
    let demo = env.path("demo.db");
    env.base()
        .args(["--db", demo.to_str().unwrap(), "demo"])
        .assert()
        .success();
    let run = |args: &[&str]| -> serde_json::Value {
        let out = env
            .base()
            .args([
                "--db",
                demo.to_str().unwrap(),
                "--format",
                "json",
                "kpi",
                "--client",
                "acme",
            ])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let quarter = run(&["--from", "2026-09-01", "--to", "2026-12-01"]);
    let months = run(&[
        "--from",
        "2026-09-01",
        "--to",
        "2026-12-01",
        "--by",
        "month",
    ]);
    let months = months.as_array().unwrap();
    assert_eq!(months.len(), 3);
    for (kpi, field) in [
        ("recovery_issues", "count"),
        ("backup_incident_rate", "expected"),
        ("backup_incident_rate", "failed"),
        ("backup_incident_rate", "missed"),
        ("backup_incident_rate", "corrective_opened"),
        ("task_compliance", "on_time"),
        ("task_compliance", "due"),
        ("recovery_success_rate", "success"),
        ("recovery_success_rate", "total"),
    ] {
        let sum: i64 = months.iter().map(|m| m[kpi][field].as_i64().unwrap()).sum();
        assert_eq!(sum, quarter[kpi][field].as_i64().unwrap(), "{kpi}.{field}");
    }
    assert!(
        quarter["backup_incident_rate"]["expected"]
            .as_i64()
            .unwrap()
            > 0
    );
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
    let kpi = |now: &str| env.json_at(now, &["kpi", "--client", "acme", "--month", "2026-11"]);
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
        text.contains("Judged from the runs: 2 window(s) that closed after the last `bmctl check` (2026-11-30 23:59 CET)"),
        "{text}"
    );
    env.run_at("2026-12-01T08:00:00Z", &["check"]).ok();
    let after = kpi("2026-12-01T08:05:00Z");
    assert_eq!(after["judged_from_runs"], 0);
    assert_eq!(after["counted_until"], "2026-12-01T08:00:00Z");
    assert_eq!(after["backup_incident_rate"], later["backup_incident_rate"]);
}
