//! `bmctl plan import|export|show|risks|review`: plans as files, the risk register and the quarterly review.

use crate::env::*;

#[test]
fn import_export_import_gives_the_same_plan() {
    let a = TestEnv::new();
    let f = a.write(
        "acme.toml",
        &std::fs::read_to_string(repo_file("examples/plan.toml")).unwrap(),
    );
    a.run(&["plan", "import", f.to_str().unwrap()]).ok();
    let exported = a.run(&["plan", "export", "acme"]).ok().stdout;

    let b = TestEnv::new();
    let g = b.write("export.toml", &exported);
    b.run(&["plan", "import", g.to_str().unwrap()]).ok();
    let without_ids = |mut v: serde_json::Value| {
        for p in v["policies"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("id");
        }
        v
    };
    let show_a = without_ids(a.json(&["plan", "show", "acme"]));
    let show_b = without_ids(b.json(&["plan", "show", "acme"]));
    assert_eq!(show_a, show_b);
    assert_eq!(show_a["policies"].as_array().unwrap().len(), 13);
    assert_eq!(b.run(&["plan", "export", "acme"]).ok().stdout, exported);

    // Re-importing the same file changes nothing and publishes no version.
    let again = a.run(&["plan", "import", f.to_str().unwrap()]).ok();
    assert!(again.stderr.contains("unchanged"), "{}", again.stderr);
    assert_eq!(a.count("plan_versions"), 1);
}

#[test]
fn bad_plan_files_are_rejected_with_file_line_and_key() {
    let env = TestEnv::new();
    env.run(&["init"]).ok();
    let cases: [(&str, String, &str); 6] = [
        (
            "cron.toml",
            STRICT_PLAN.replace("0 22 * * *", "61 * * * *"),
            "cron.toml:23: policy[0].schedule",
        ),
        (
            "tz.toml",
            STRICT_PLAN.replace("Europe/Berlin", "Mars/Olympus"),
            "tz.toml:3: timezone",
        ),
        (
            "key.toml",
            STRICT_PLAN.replace("tier = 1\n", "tier = 1\ncolour = \"red\"\n"),
            "key.toml:12",
        ),
        (
            "dup.toml",
            format!(
                "{STRICT_PLAN}\n[[policy]]{}",
                STRICT_PLAN.split("[[policy]]").nth(1).unwrap()
            ),
            "policy[1].job: job name 'fs01-nightly' is used twice",
        ),
        (
            "ci.toml",
            STRICT_PLAN.replace("ci = \"fs01\"", "ci = \"fs99\""),
            "ci.toml:21: policy[0].ci",
        ),
        (
            "rpo.toml",
            STRICT_PLAN.replace("rpo = \"24h\"", "rpo = \"soon\""),
            "rpo.toml:24: policy[0].rpo",
        ),
    ];
    for (name, text, want) in cases {
        let f = env.write(name, &text);
        let r = env.run(&["plan", "import", f.to_str().unwrap()]).code(3);
        assert!(
            r.stderr.contains(want),
            "{name}: wanted '{want}' in: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(name),
            "{name}: file not named: {}",
            r.stderr
        );
        for table in ["clients", "cis", "policies", "plan_versions", "audit_log"] {
            assert_eq!(env.count(table), 0, "{name} wrote to {table}");
        }
    }
    let unknown = env.run(&["plan", "import", "nope.toml"]).code(1);
    assert!(unknown.stderr.contains("nope.toml"));
}

#[test]
fn a_policy_may_name_a_ci_already_in_the_cmdb() {
    let env = TestEnv::new();
    env.run(&[
        "client",
        "add",
        "acme",
        "--name",
        "Acme",
        "--tz",
        "Europe/Berlin",
    ])
    .ok();
    env.run(&["cmdb", "add", "acme/fs99", "--kind", "vm", "--tier", "2"])
        .ok();
    let f = env.write(
        "p.toml",
        &STRICT_PLAN.replace("ci = \"fs01\"", "ci = \"fs99\""),
    );
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
    let ci = env.json(&["cmdb", "show", "acme/fs99"]);
    assert_eq!(ci["backup_status"], "protected");
}

#[test]
fn importing_over_a_plan_is_refused_unless_replace() {
    let env = TestEnv::new();
    onboard_strict(&env);
    let f = env.write(
        "p2.toml",
        &STRICT_PLAN.replace("rpo = \"24h\"", "rpo = \"12h\""),
    );
    let r = env.run(&["plan", "import", f.to_str().unwrap()]).code(5);
    assert!(r.stderr.contains("bmctl macd"), "{}", r.stderr);
    env.run(&[
        "plan",
        "import",
        "--replace",
        "--reason",
        "test",
        f.to_str().unwrap(),
    ])
    .ok();
    let hist = env.json(&["plan", "history", "acme"]);
    assert_eq!(hist.as_array().unwrap().len(), 2);
    let diff = env.json(&["plan", "diff", "acme", "1", "2"]);
    assert_eq!(
        diff,
        serde_json::json!([{"change": "changed", "item": "policy fs01-nightly", "field": "rpo", "old": "1d", "new": "12h"}])
    );
    env.run(&["plan", "diff", "acme", "1", "7"]).code(4);
}

#[test]
fn next_run_is_in_the_clients_zone_across_dst() {
    let env = TestEnv::new();
    onboard_strict(&env);
    // 22:00 Berlin is 20:00Z in summer time and 21:00Z in winter time.
    for (now, want) in [
        ("2026-10-24T12:00:00Z", "2026-10-24T20:00:00Z"),
        ("2026-10-25T12:00:00Z", "2026-10-25T21:00:00Z"),
        ("2026-03-28T21:30:00Z", "2026-03-29T20:00:00Z"),
        ("2026-03-28T12:00:00Z", "2026-03-28T21:00:00Z"),
    ] {
        let plan = env.json_at(now, &["plan", "show", "acme"]);
        assert_eq!(plan["policies"][0]["next_run"], want, "at {now}");
    }
}

#[test]
fn risks_read_the_database() {
    let env = kpi_fixture();
    let rules = |now: &str| -> Vec<(String, String)> {
        let r = env.json_at(now, &["plan", "risks", "--client", "acme"]);
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
    let high = env.json_at(
        "2026-11-10T12:00:00Z",
        &["plan", "risks", "--min-severity", "high"],
    );
    assert!(high
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["severity"] == "high"));
    env.run(ADD_PRINT01).ok();
    let r = env.json_at(
        "2026-11-10T12:00:00Z",
        &["plan", "risks", "--client", "acme"],
    );
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
    assert!(md.contains("| Backup Incident Rate |") && md.contains("## Decisions needed from you"));
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
    assert_eq!(
        folders,
        [
            "acme",
            "globex",
            "index.html",
            "index.md",
            "initech",
            "wombat"
        ]
    );
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

/// #10 §11: a review holds only its quarter: open items as of its end, a
/// quarter under way said as such, the previous quarter by its own name, a
/// quarter not yet begun refused.
#[test]
fn a_review_belongs_to_its_quarter() {
    let env = crate::env::onboarded("2026-06-01T00:00:00Z");
    let l = crate::env::line("fs01-nightly", "failed", "2026-11-29T21:00:00Z", "");
    crate::env::import_lines(&env, "2026-11-30T06:00:00Z", &[l]).ok();
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

#[test]
fn a_dry_run_import_shows_what_would_change_and_writes_nothing() {
    let env = TestEnv::new();
    let f = env.write("plan.toml", PLAN);
    let before = env.count("audit_log");
    let r = env
        .run(&[
            "--format",
            "json",
            "plan",
            "import",
            "--dry-run",
            f.to_str().unwrap(),
        ])
        .ok();
    assert!(
        r.stderr
            .contains("dry run: the plan of acme would be created"),
        "{}",
        r.stderr
    );
    let changes = r.json();
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.to_string().contains("fs01-nightly")),
        "{changes:#}"
    );
    assert_eq!(env.count("clients"), 0);
    assert_eq!(env.count("audit_log"), before);
    // every error of a file at once
    let bad = env.write(
        "bad.toml",
        &PLAN
            .replace("0 22 * * *", "61 * * * *")
            .replace("Europe/Berlin", "Mars/Olympus"),
    );
    let r = env
        .run(&["plan", "import", "--dry-run", bad.to_str().unwrap()])
        .code(3);
    assert!(
        r.stderr.contains("2 errors:")
            && r.stderr.contains("timezone:")
            && r.stderr.contains("policy[0].schedule:"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_plan_whose_schedule_cannot_meet_its_rpo_is_imported_with_a_warning() {
    let env = TestEnv::new();
    let f = env.write(
        "weekly.toml",
        r#"client = "wk"
name = "Weekly Co"
timezone = "Europe/Berlin"
sla_tier = "silver"

[[ci]]
host = "fs01"
kind = "server"
tier = 1

[[policy]]
ci = "fs01"
job = "fs01-weekly"
tool = "restic"
schedule = "0 22 * * 0"
rpo = "24h"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
"#,
    );
    let file = f.to_str().unwrap();
    let r = env.run(&["plan", "import", "--dry-run", file]).ok();
    assert!(
        r.stderr
            .contains("warning: wk/fs01-weekly: the schedule '0 22 * * 0' leaves gaps of up to 7d"),
        "{}",
        r.stderr
    );
    let r = env.run(&["--format", "json", "plan", "import", file]).ok();
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["result"], "created");
    assert_eq!(out["warnings"].as_array().unwrap().len(), 1, "{out:#}");
}
