//! Proactive planning (05f.07): KPIs worked out by hand, the monthly trend,
//! the risk register and the quarterly service review export.

use crate::env::TestEnv;
use crate::events::{import_lines, line, onboarded};

/// The fixture: acme (Europe/Berlin, fs01-nightly 22:00 and sql01-nightly
/// 23:00, grace 2h), only one custom task template, events, checks, tasks
/// and restore attempts at known instants. See `kpis_worked_out_by_hand`.
fn fixture() -> TestEnv {
    let env = onboarded("2026-11-01T00:00:00Z");
    for t in [
        "daily-status-review",
        "weekly-warnings-capacity",
        "monthly-coverage-audit",
        "restore-test",
        "quarterly-plan-review",
    ] {
        env.run(&["tasks", "templates", "disable", t]).ok();
    }
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
    let check = |now: &str| env.run_at(now, &["check"]).ok();
    let gen = |now: &str| env.run_at(now, &["tasks", "generate"]).ok();
    let task_id = |title_day: &str| -> String {
        let all = env.run(&["--format", "json", "tasks", "due"]).ok().json();
        all.as_array()
            .unwrap()
            .iter()
            .find(|t| t["due_at"].as_str().unwrap().starts_with(title_day))
            .unwrap()["id"]
            .to_string()
    };
    check("2026-11-02T06:00:00Z"); // Nov 1: both missed → two tickets
    gen("2026-11-02T08:00:00Z"); // tasks for Nov 1 and Nov 2 (due 11:00Z)
    env.run_at(
        "2026-11-02T08:30:00Z",
        &[
            "tasks",
            "skip",
            &task_id("2026-11-01"),
            "--reason",
            "before go-live",
            "--not-applicable",
        ],
    )
    .ok();
    env.run_at(
        "2026-11-02T10:00:00Z",
        &["tasks", "done", &task_id("2026-11-02")],
    )
    .ok(); // on time
    import_lines(
        &env,
        "2026-11-02T23:30:00Z",
        &[
            line("fs01-nightly", "success", "2026-11-02T21:05:00Z", ""),
            line("sql01-nightly", "success", "2026-11-02T22:05:00Z", ""),
        ],
    )
    .ok();
    check("2026-11-03T06:00:00Z");
    gen("2026-11-03T08:00:00Z");
    env.run_at(
        "2026-11-03T10:00:00Z",
        &[
            "restore",
            "record",
            "--job",
            "acme/fs01-nightly",
            "--kind",
            "test",
            "--outcome",
            "success",
            "--started",
            "2026-11-03T09:00:00Z",
        ],
    )
    .ok();
    env.run_at(
        "2026-11-03T12:00:00Z",
        &["tasks", "done", &task_id("2026-11-03")],
    )
    .ok(); // late
    import_lines(
        &env,
        "2026-11-03T23:30:00Z",
        &[
            line("fs01-nightly", "failed", "2026-11-03T21:05:00Z", ""),
            line(
                "fs01-nightly",
                "failed",
                "2026-11-03T21:40:00Z",
                r#","message":"retry""#,
            ),
        ],
    )
    .ok();
    check("2026-11-04T06:00:00Z"); // sql01 Nov 3 missed
    gen("2026-11-04T08:00:00Z");
    env.run_at(
        "2026-11-04T09:00:00Z",
        &[
            "tasks",
            "skip",
            &task_id("2026-11-04"),
            "--reason",
            "public holiday",
            "--not-applicable",
        ],
    )
    .ok();
    env.run_at(
        "2026-11-04T10:00:00Z",
        &[
            "restore",
            "record",
            "--job",
            "acme/sql01-nightly",
            "--kind",
            "test",
            "--outcome",
            "failed",
            "--started",
            "2026-11-04T09:00:00Z",
            "--issues",
            "dump unreadable",
        ],
    )
    .ok();
    import_lines(
        &env,
        "2026-11-04T23:30:00Z",
        &[
            line("fs01-nightly", "success", "2026-11-04T21:05:00Z", ""),
            line("sql01-nightly", "warning", "2026-11-04T22:05:00Z", ""),
        ],
    )
    .ok();
    check("2026-11-05T06:00:00Z");
    // outside the period: a partial real restore on Nov 6
    env.run_at(
        "2026-11-06T10:00:00Z",
        &[
            "restore",
            "record",
            "--job",
            "acme/fs01-nightly",
            "--kind",
            "real",
            "--outcome",
            "partial",
            "--started",
            "2026-11-06T08:00:00Z",
            "--issues",
            "2 files",
        ],
    )
    .ok();
    // a client onboarded after the period: everything n/a for it
    let f = env.write("bravo.toml", &crate::operations_silver());
    env.run_at(
        "2026-11-10T00:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    env
}

#[test]
fn kpis_worked_out_by_hand() {
    let env = fixture();
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

#[test]
fn risks_read_the_database() {
    let env = fixture();
    let rules = |now: &str| -> Vec<(String, String)> {
        let r = env
            .run_at(
                now,
                &["--format", "json", "plan", "risks", "--client", "acme"],
            )
            .ok()
            .json();
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["rule"].as_str().unwrap().to_string(),
                    x["subject"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // nine days after onboarding no monthly restore test is overdue yet
    let early = rules("2026-11-10T12:00:00Z");
    assert!(
        !early.iter().any(|(r, _)| r == "restore-test-overdue"),
        "{early:?}"
    );
    assert!(early.iter().any(|(r, _)| r == "aged-backlog"), "{early:?}");
    assert!(
        !early.iter().any(|(r, _)| r == "unprotected-ci"),
        "{early:?}"
    );
    // a month on: sql01 was never restored successfully, fs01 last on Nov 3
    let later = rules("2026-12-10T12:00:00Z");
    for job in ["sql01-nightly", "fs01-nightly"] {
        assert!(
            later.contains(&("restore-test-overdue".to_string(), job.to_string())),
            "{later:?}"
        );
    }
    let high = env
        .run_at(
            "2026-11-10T12:00:00Z",
            &[
                "--format",
                "json",
                "plan",
                "risks",
                "--min-severity",
                "high",
            ],
        )
        .ok()
        .json();
    assert!(high
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["severity"] == "high"));
    env.run(&[
        "cmdb", "add", "--client", "acme", "print01", "--kind", "server", "--tier", "3",
    ])
    .ok();
    let r = env
        .run_at(
            "2026-11-10T12:00:00Z",
            &["--format", "json", "plan", "risks", "--client", "acme"],
        )
        .ok()
        .json();
    let p = r
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "unprotected-ci")
        .unwrap();
    assert_eq!(
        (p["subject"].as_str(), p["severity"].as_str()),
        (Some("print01"), Some("low"))
    );
}

#[test]
fn the_quarterly_review_export() {
    let env = TestEnv::new();
    let demo = env.path("demo.db");
    let bmctl = |args: &[&str]| {
        env.base()
            .args(["--db", demo.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(bmctl(&["demo"]).status.success());
    let out = env.path("qsr");
    let o = out.to_str().unwrap();
    assert!(bmctl(&[
        "plan",
        "review",
        "--client",
        "acme",
        "--quarter",
        "2026-Q4",
        "--out",
        o
    ])
    .status
    .success());
    let read = |f: &str| std::fs::read(out.join("acme").join(f)).unwrap();
    let html = String::from_utf8(read("qsr-2026-Q4.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 4, "four trend charts");
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert_eq!(
        html.matches("<table").count(),
        html.matches("</table>").count()
    );
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("http://www.w3.org/2000/svg").count(),
        "no external assets"
    );
    let md = String::from_utf8(read("qsr-2026-Q4.md")).unwrap();
    assert!(md.contains("| Backup Incident Rate |") && md.contains("## Risks and recommendations"));
    let json: serde_json::Value = serde_json::from_slice(&read("qsr-2026-Q4.json")).unwrap();
    assert_eq!(json["quarter"], "2026-Q4");
    assert_eq!(json["monthly"].as_array().unwrap().len(), 3);
    let csv = String::from_utf8(read("qsr-2026-Q4.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 + 3);
    // same database, same --now: the same bytes
    let before: Vec<Vec<u8>> = ["md", "html", "json", "csv"]
        .iter()
        .map(|e| read(&format!("qsr-2026-Q4.{e}")))
        .collect();
    assert!(bmctl(&[
        "plan",
        "review",
        "--client",
        "acme",
        "--quarter",
        "2026-Q4",
        "--out",
        o
    ])
    .status
    .success());
    let after: Vec<Vec<u8>> = ["md", "html", "json", "csv"]
        .iter()
        .map(|e| read(&format!("qsr-2026-Q4.{e}")))
        .collect();
    assert_eq!(before, after);
    // every client, one folder each
    assert!(bmctl(&[
        "plan",
        "review",
        "--all-clients",
        "--quarter",
        "2026-Q4",
        "--out",
        o,
        "--formats",
        "md,json"
    ])
    .status
    .success());
    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(folders, ["acme", "globex", "wombat"]);
    // nothing escapes --out
    let r = bmctl(&[
        "plan",
        "review",
        "--client",
        "../x",
        "--quarter",
        "2026-Q4",
        "--out",
        o,
    ]);
    assert_eq!(r.status.code(), Some(4));
    assert!(!env.path("x").exists());
    assert_eq!(
        bmctl(&[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            "2026-Q5",
            "--out",
            o
        ])
        .status
        .code(),
        Some(3)
    );
}

#[test]
fn pruning_old_events_keeps_the_kpis_and_shrinks_the_file() {
    let env = TestEnv::new();
    let demo = env.path("demo.db");
    let bmctl = |args: &[&str]| -> serde_json::Value {
        let out = env
            .base()
            .args(["--db", demo.to_str().unwrap(), "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    bmctl(&["demo"]);
    let period = ["kpi", "--from", "2026-09-01", "--to", "2026-11-01"];
    let before = bmctl(&period);
    let events_before = crate::env::count_in(&demo, "job_events");
    let r = bmctl(&["db", "prune", "--before", "2026-11-01"]);
    assert!(r["events_deleted"].as_i64().unwrap() > 1000);
    assert!(r["bytes_after"].as_u64().unwrap() < r["bytes_before"].as_u64().unwrap());
    assert!(crate::env::count_in(&demo, "job_events") < events_before);
    let after = bmctl(&period);
    assert_eq!(before, after, "the KPIs of the pruned period are unchanged");
    bmctl(&["db", "check"]);
}

/// #10 §11: a review holds only its quarter: open items as of its end, a
/// quarter under way said as such, the previous quarter by its own name, a
/// quarter not yet begun refused.
#[test]
fn a_review_belongs_to_its_quarter() {
    let env = crate::events::onboarded("2026-06-01T00:00:00Z");
    let l = crate::events::line("fs01-nightly", "failed", "2026-11-29T21:00:00Z", "");
    crate::events::import_lines(&env, "2026-11-30T06:00:00Z", &[l]).ok();
    let out = env.path("qsr");
    let review = |q: &str| {
        env.run(&[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            q,
            "--out",
            out.to_str().unwrap(),
            "--formats",
            "json,csv",
        ])
    };
    review("2026-Q4").ok();
    let q4: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acme/qsr-2026-Q4.json")).unwrap())
            .unwrap();
    assert_eq!(q4["quarter_label"], "2026-Q4 to date (60 of 92 days)");
    assert_eq!(q4["open_items"].as_array().unwrap().len(), 1);
    let csv = std::fs::read_to_string(out.join("acme/qsr-2026-Q4.csv")).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("acme,2026-Q3,")), "{csv}");
    assert!(!csv.contains("previous"), "{csv}");
    // Q3 ended before the failure: its review lists no item opened after it
    review("2026-Q3").ok();
    let q3: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acme/qsr-2026-Q3.json")).unwrap())
            .unwrap();
    assert_eq!(q3["quarter_label"], "2026-Q3");
    assert_eq!(
        q3["open_items"].as_array().unwrap().len(),
        0,
        "{}",
        q3["open_items"]
    );
    let r = review("2027-Q1").code(3);
    assert!(
        r.stderr.contains("2027-Q1 has not started for acme"),
        "{}",
        r.stderr
    );
}
