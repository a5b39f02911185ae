//! The foundation: store, config, clients, CMDB, plans, audit, db, demo.

use std::os::unix::fs::PermissionsExt;

use crate::env::{count_in, repo_file, Run, TestEnv};

const PLAN: &str = r#"client = "acme"
name = "Acme Corp"
timezone = "Europe/Berlin"
sla_tier = "gold"
required_retention = { daily = 7, weekly = 4, monthly = 12 }
require_offsite = true

[[ci]]
host = "fs01"
kind = "server"
tier = 1

[[ci]]
host = "kiosk-03"
kind = "workstation"
tier = 3
excluded = "re-imaged from a golden image; no user data"

[[policy]]
job = "fs01-nightly"
ci = "fs01"
tool = "restic"
schedule = "0 22 * * *"
rpo = "24h"
grace = "2h"
retention = { daily = 7, weekly = 4, monthly = 12 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
max_runtime = "6h"
match = { host = "fs01", tags = ["nightly"] }
"#;

fn onboard(env: &TestEnv) {
    let f = env.write("acme.toml", PLAN);
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
}

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
    let show_a = without_ids(
        a.run(&["--format", "json", "plan", "show", "acme"])
            .ok()
            .json(),
    );
    let show_b = without_ids(
        b.run(&["--format", "json", "plan", "show", "acme"])
            .ok()
            .json(),
    );
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
            PLAN.replace("0 22 * * *", "61 * * * *"),
            "cron.toml:23: policy[0].schedule",
        ),
        (
            "tz.toml",
            PLAN.replace("Europe/Berlin", "Mars/Olympus"),
            "tz.toml:3: timezone",
        ),
        (
            "key.toml",
            PLAN.replace("tier = 1\n", "tier = 1\ncolour = \"red\"\n"),
            "key.toml:12",
        ),
        (
            "dup.toml",
            format!(
                "{PLAN}\n[[policy]]{}",
                PLAN.split("[[policy]]").nth(1).unwrap()
            ),
            "policy[1].job: job name 'fs01-nightly' is used twice",
        ),
        (
            "ci.toml",
            PLAN.replace("ci = \"fs01\"", "ci = \"fs99\""),
            "ci.toml:21: policy[0].ci",
        ),
        (
            "rpo.toml",
            PLAN.replace("rpo = \"24h\"", "rpo = \"soon\""),
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
    env.run(&[
        "cmdb", "add", "--client", "acme", "fs99", "--kind", "vm", "--tier", "2",
    ])
    .ok();
    let f = env.write("p.toml", &PLAN.replace("ci = \"fs01\"", "ci = \"fs99\""));
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
    let ci = env
        .run(&["--format", "json", "cmdb", "show", "acme/fs99"])
        .ok()
        .json();
    assert_eq!(ci["backup_status"], "protected");
}

#[test]
fn importing_over_a_plan_is_refused_unless_replace() {
    let env = TestEnv::new();
    onboard(&env);
    let f = env.write("p2.toml", &PLAN.replace("rpo = \"24h\"", "rpo = \"12h\""));
    let r = env.run(&["plan", "import", f.to_str().unwrap()]).code(5);
    assert!(r.stderr.contains("bmctl macd"), "{}", r.stderr);
    env.run(&["plan", "import", "--replace", f.to_str().unwrap()])
        .ok();
    let hist = env
        .run(&["--format", "json", "plan", "history", "acme"])
        .ok()
        .json();
    assert_eq!(hist.as_array().unwrap().len(), 2);
    let diff = env
        .run(&["--format", "json", "plan", "diff", "acme", "1", "2"])
        .ok()
        .json();
    assert_eq!(
        diff,
        serde_json::json!([{"change": "changed", "item": "policy fs01-nightly", "field": "rpo", "old": "1d", "new": "12h"}])
    );
    env.run(&["plan", "diff", "acme", "1", "7"]).code(4);
}

#[test]
fn new_database_is_private_and_in_wal_mode() {
    let env = TestEnv::new();
    env.run(&["init"]).ok();
    let mode = std::fs::metadata(&env.db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let jm: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jm, "wal");
    // init is idempotent
    env.run(&["init"]).ok();
    // the platform's data folder is made for its database (0700)
    env.base().arg("init").assert().success();
    let default = env.path("xdg-data/bmctl/bmctl.db");
    assert!(default.exists());
    let folder = std::fs::metadata(default.parent().unwrap()).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);
}

#[test]
fn a_mistyped_db_is_an_error_never_a_new_database() {
    let env = TestEnv::empty("UTC");
    let typo = env.path("nonexistent/dir/x.db");
    let db = typo.to_str().unwrap();
    for args in [
        &["client", "list"][..],
        &["check"],
        &["kpi"],
        &["events", "list"],
    ] {
        let r: Run = env
            .base()
            .arg("--db")
            .arg(db)
            .args(args)
            .output()
            .unwrap()
            .into();
        let r = r.code(1);
        assert!(
            r.stderr.contains(&format!(
                "no bmctl database at {db}; create one with `bmctl init`"
            )),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!env.path("nonexistent").exists(), "no folder was made");
    // init with an explicit path makes no folders either
    let r: Run = env
        .base()
        .args(["--db", db, "init"])
        .output()
        .unwrap()
        .into();
    assert!(r.code(1).stderr.contains("folder"));
    assert!(!env.path("nonexistent").exists());
    // an empty file (a `touch`ed path) is not a database either
    let empty = env.write("empty.db", "");
    let r: Run = env
        .base()
        .args(["--db", empty.to_str().unwrap(), "client", "list"])
        .output()
        .unwrap()
        .into();
    assert!(r.code(1).stderr.contains("no bmctl database at"));
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    // `run` still runs the backup and keeps its exit code, and says so loudly
    let spool_home = env.path("state");
    for _ in 0..2 {
        let r: Run = env
            .base()
            .env("XDG_STATE_HOME", &spool_home)
            .args(["--db", db, "run", "--job", "acme/fs01-nightly", "--"])
            .args(["sh", "-c", "echo backing up; exit 3"])
            .output()
            .unwrap()
            .into();
        let r = r.code(3);
        assert!(r.stdout.contains("backing up"));
        let loud: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.contains("no bmctl database"))
            .collect();
        assert_eq!(loud.len(), 1, "{}", r.stderr);
        assert!(loud[0].contains("spool"), "{}", r.stderr);
    }
    assert!(!env.path("nonexistent").exists());
    let spooled = std::fs::read_to_string(spool_home.join("bmctl/spool.jsonl")).unwrap();
    // each run's start record (#10 §4) and its end
    assert_eq!(spooled.lines().count(), 4);
    assert_eq!(spooled.matches(r#""status":"running""#).count(), 2);
}

#[test]
fn writes_refuse_now_unless_the_database_allows_time_travel() {
    let env = TestEnv::empty("UTC");
    // with the test's fixed BMCTL_NOW, or on the wall clock
    let at = |fixed: bool, args: &[&str]| -> Run {
        let mut c = env.base();
        if !fixed {
            c.env_remove("BMCTL_NOW");
        }
        c.arg("--db")
            .arg(&env.db)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let plain = |args: &[&str]| at(true, args);
    let wall = |args: &[&str]| at(false, args);
    wall(&["init"]).ok();
    let add = ["client", "add", "acme", "--name", "Acme", "--tz", "UTC"];
    let r = plain(&add).code(5);
    assert!(
        r.stderr
            .contains("this database does not allow time travel")
            && r.stderr.contains("bmctl init --allow-time-travel"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count("clients"), 0);
    wall(&add).ok();
    // reads honour --now
    plain(&["client", "list"]).ok();
    plain(&["kpi"]).ok();
    let travel = |show: serde_json::Value| {
        let rows = show.as_array().unwrap().clone();
        rows.into_iter()
            .find(|r| r["key"] == "time_travel")
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(
        travel(plain(&["--format", "json", "config", "show"]).ok().json()),
        "refused"
    );
    // a database with data never learns to travel in time
    assert!(wall(&["init", "--allow-time-travel"])
        .code(5)
        .stderr
        .contains("already holds data"));
    // a test database does
    let t = TestEnv::new();
    t.run(&add).ok();
    assert_eq!(
        travel(t.run(&["--format", "json", "config", "show"]).ok().json()),
        "allowed"
    );
}

#[test]
fn a_newer_database_is_refused_untouched() {
    let env = TestEnv::new();
    env.tampered();
    env.run(&["init"]).ok();
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.pragma_update(None, "journal_mode", "delete").unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let before = std::fs::read(&env.db).unwrap();
    let r = env.run(&["client", "list"]).code(1);
    assert!(
        r.stderr.contains("version 999") && r.stderr.contains("knows only up to version"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&env.db).unwrap(), before);
}

#[test]
fn json_lists_carry_the_design_keys_and_csv_has_a_header() {
    let env = TestEnv::new();
    onboard(&env);
    let clients = env.run(&["--format", "json", "client", "list"]).ok().json();
    for k in ["id", "code", "name", "timezone", "sla_tier"] {
        assert!(clients[0].get(k).is_some(), "client key {k}");
    }
    let cis = env.run(&["--format", "json", "cmdb", "list"]).ok().json();
    for k in [
        "id",
        "client",
        "host",
        "kind",
        "tier",
        "os",
        "role",
        "status",
        "backup_status",
    ] {
        assert!(cis[0].get(k).is_some(), "ci key {k}");
    }
    assert_eq!(cis[1]["host"], "kiosk-03");
    assert_eq!(cis[1]["backup_status"], "excluded");
    let plan = env
        .run(&["--format", "json", "plan", "show", "acme"])
        .ok()
        .json();
    assert_eq!(plan["client"], "acme");
    assert_eq!(plan["version"], 1);
    for k in [
        "job",
        "ci",
        "tool",
        "schedule",
        "rpo",
        "grace",
        "retention",
        "target",
        "restore_test",
        "rto",
        "status",
        "next_run",
        "last_success_at",
        "last_status",
    ] {
        assert!(plan["policies"][0].get(k).is_some(), "policy key {k}");
    }
    let csv = env.run(&["--format", "csv", "cmdb", "list"]).ok().stdout;
    assert!(
        csv.starts_with("id,client,host,kind,tier,os,role,status,backup_status"),
        "{csv}"
    );
    let empty = env
        .run(&["--format", "csv", "cmdb", "list", "--unprotected"])
        .ok()
        .stdout;
    assert_eq!(empty.lines().count(), 1, "header only: {empty}");
}

#[test]
fn next_run_is_in_the_clients_zone_across_dst() {
    let env = TestEnv::new();
    onboard(&env);
    // 22:00 Berlin is 20:00Z in summer time and 21:00Z in winter time.
    for (now, want) in [
        ("2026-10-24T12:00:00Z", "2026-10-24T20:00:00Z"),
        ("2026-10-25T12:00:00Z", "2026-10-25T21:00:00Z"),
        ("2026-03-28T21:30:00Z", "2026-03-29T20:00:00Z"),
        ("2026-03-28T12:00:00Z", "2026-03-28T21:00:00Z"),
    ] {
        let plan = env
            .run_at(now, &["--format", "json", "plan", "show", "acme"])
            .ok()
            .json();
        assert_eq!(plan["policies"][0]["next_run"], want, "at {now}");
    }
}

#[test]
fn exit_codes_follow_design() {
    let env = TestEnv::new();
    env.run(&["client", "show", "nobody"]).code(4);
    env.run(&["cmdb", "show", "nobody/fs01"]).code(4);
    env.run(&["client", "add", "Bad Code", "--name", "x", "--tz", "UTC"])
        .code(3);
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "Mars/Olympus"])
        .code(3);
    env.run(&[
        "client",
        "add",
        "ok",
        "--name",
        "x",
        "--tz",
        "UTC",
        "--sla-tier",
        "diamond",
    ])
    .code(3);
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "UTC"])
        .ok();
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "UTC"])
        .code(5);
    env.run(&[
        "cmdb", "add", "--client", "ok", "h1", "--kind", "toaster", "--tier", "1",
    ])
    .code(3);
    env.run(&["cmdb", "add", "--client", "ok", "h1"]).code(2);
    env.run(&["--now", "2026-11-30T07:00:00", "plan", "show", "ok"])
        .code(1);
}

#[test]
fn audit_shows_actor_and_before_after_of_cmdb_edit() {
    let env = TestEnv::new();
    onboard(&env);
    env.run(&[
        "--actor",
        "alice",
        "cmdb",
        "edit",
        "acme/fs01",
        "--os",
        "Debian 12",
        "--role",
        "files",
    ])
    .ok();
    let audit = env
        .run(&[
            "--format",
            "json",
            "audit",
            "list",
            "--entity",
            "ci:acme/fs01",
        ])
        .ok()
        .json();
    let rows = audit.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor"], "alice");
    assert_eq!(rows[0]["command"], "cmdb edit");
    assert_eq!(rows[0]["before"]["os"], serde_json::Value::Null);
    assert_eq!(rows[0]["after"]["os"], "Debian 12");
    assert_eq!(rows[0]["at"], crate::env::NOW);
    // the login name is the fallback actor
    let all = env
        .run(&["--format", "json", "audit", "list", "--entity", "plan"])
        .ok()
        .json();
    assert_eq!(all[0]["actor"], "tester");
}

#[test]
fn db_backup_copy_checks_clean_and_is_private() {
    let env = TestEnv::new();
    onboard(&env);
    let copy = env.path("copy.db");
    env.run(&["db", "backup", copy.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    env.base()
        .arg("--db")
        .arg(&copy)
        .args(["db", "check"])
        .assert()
        .success();
    assert_eq!(count_in(&copy, "policies"), 1);
    env.run(&["db", "backup", copy.to_str().unwrap()]).code(5);
    env.run(&["db", "backup", "--force", copy.to_str().unwrap()])
        .ok();
    let report = env.run(&["--format", "json", "db", "check"]).ok().json();
    assert_eq!(report["ok"], true);
}

#[test]
fn cmdb_import_is_idempotent() {
    let env = TestEnv::new();
    onboard(&env);
    let csv = repo_file("examples/cmdb.csv");
    let first = env
        .run(&["--format", "json", "cmdb", "import", csv.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(
        first,
        serde_json::json!({"added": 3, "updated": 0, "unchanged": 0})
    );
    let second = env
        .run(&["--format", "json", "cmdb", "import", csv.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(
        second,
        serde_json::json!({"added": 0, "updated": 0, "unchanged": 3})
    );
    let bad = env.write(
        "bad.csv",
        "client,host,kind,tier,os,role\nacme,ok1,vm,2,,\nacme,ok2,vm,9,,\n",
    );
    let r = env.run(&["cmdb", "import", bad.to_str().unwrap()]).code(3);
    assert!(r.stderr.contains("bad.csv:3: tier"), "{}", r.stderr);
    assert_eq!(env.count("cis"), 5);
    let unprotected = env
        .run(&["--format", "json", "cmdb", "list", "--unprotected"])
        .ok()
        .json();
    assert_eq!(unprotected.as_array().unwrap().len(), 3);
}

#[test]
fn output_does_not_depend_on_the_machines_zone() {
    let runs: Vec<String> = ["UTC", "America/Los_Angeles", "Asia/Kolkata"]
        .iter()
        .map(|tz| {
            let env = TestEnv::with_tz(tz);
            onboard(&env);
            env.run(&["plan", "show", "acme"]).ok().stdout
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
    assert!(runs[0].contains("2026-11-30 22:00 CET"), "{}", runs[0]);
}

#[test]
fn config_file_precedence_and_unknown_keys() {
    let env = TestEnv::new();
    let cfg = env.write(
        "c.toml",
        "[database]\nbusy_timeout = \"5s\"\n[kpi]\naged_after = \"3d\"\n",
    );
    let rows = env
        .cmd()
        .env("BMCTL_AGED_AFTER", "10d")
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "json",
            "config",
            "show",
        ])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&rows.stdout).unwrap();
    let get = |k: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(get("database.busy_timeout")["value"], "5s");
    assert!(get("database.busy_timeout")["source"]
        .as_str()
        .unwrap()
        .starts_with("file "));
    assert_eq!(get("kpi.aged_after")["value"], "10d");
    assert_eq!(get("kpi.aged_after")["source"], "env BMCTL_AGED_AFTER");
    assert_eq!(get("database.path")["source"], "flag --db");
    assert_eq!(get("check.default_max_runtime")["source"], "default");
    let bad = env.write("bad.toml", "[database]\nbusy_tmeout = \"5s\"\n");
    let r = env
        .run(&["--config", bad.to_str().unwrap(), "client", "list"])
        .code(3);
    assert!(r.stderr.contains("busy_tmeout"), "{}", r.stderr);
}

#[test]
fn demo_builds_and_refuses_foreign_files() {
    let env = TestEnv::new();
    let demo_db = env.path("bmctl-demo.db");
    let r = env
        .base()
        .env("BMCTL_DB", env.path("real.db"))
        .args(["--db", demo_db.to_str().unwrap(), "demo"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{out}");
    assert!(
        out.contains("3 clients, 37 CIs, 37 backup policies, 3 CIs unprotected"),
        "{out}"
    );
    assert!(!env.path("real.db").exists(), "demo must ignore BMCTL_DB");
    // run again: reuses; --reset rebuilds
    env.base()
        .args(["--db", demo_db.to_str().unwrap(), "demo"])
        .assert()
        .success();
    env.base()
        .args(["--db", demo_db.to_str().unwrap(), "demo", "--reset"])
        .assert()
        .success();
    assert_eq!(count_in(&demo_db, "clients"), 3);
    // it shows a late run superseding a missed night and a failure excused
    // as a planned upgrade
    let conn = rusqlite::Connection::open(&demo_db).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        one(
            "SELECT count(*) FROM job_events e JOIN policies p ON p.id = e.policy_id
             WHERE p.job = 'gx-dc01-nightly' AND e.status = 'm' AND e.superseded IS NOT NULL"
        ),
        1
    );
    // (its ticket is withdrawn, or resolved when an earlier miss also stood)
    assert!(
        one(
            "SELECT count(*) FROM tickets t JOIN policies p ON p.id = t.policy_id
             WHERE p.job = 'gx-dc01-nightly' AND t.class = 'missed'
               AND t.resolution LIKE '%a late run (success) arrived%'"
        ) >= 1
    );
    let excused = env
        .base()
        .args(["--db", demo_db.to_str().unwrap(), "events", "exclusions"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&excused.stdout).contains("CHG-3107"));
    // across clients, `events list --limit N` is the last N of all events by
    // end time (it reads the newest days first and widens only as needed)
    let list = |limit: &str| {
        let out = env
            .base()
            .args(["--db", demo_db.to_str().unwrap(), "--format", "json"])
            .args(["events", "list", "--limit", limit])
            .output()
            .unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap().clone()
    };
    let all = list("0");
    assert_eq!(all.len() as i64, count_in(&demo_db, "job_events"));
    let ends: Vec<&str> = all
        .iter()
        .map(|e| e["ended_at"].as_str().unwrap())
        .collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    for n in [1, 7, 300, 5000] {
        let some = list(&n.to_string());
        assert_eq!(some[..], all[all.len().saturating_sub(n)..], "--limit {n}");
    }
    // a real database is never replaced
    env.run(&["init"]).ok();
    let r = env
        .base()
        .args(["--db", env.db.to_str().unwrap(), "demo", "--reset"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(5));
    assert_eq!(count_in(&env.db, "clients"), 0);
    // the default file is ./bmctl-demo.db
    let fresh = TestEnv::new();
    let mut c = assert_cmd::Command::cargo_bin("bmctl").unwrap();
    c.current_dir(fresh.dir.path())
        .env_remove("BMCTL_DB")
        .env("BMCTL_NOW", crate::env::NOW)
        .arg("demo");
    c.assert().success();
    assert!(fresh.path("bmctl-demo.db").exists());
}

#[test]
fn completions_man_and_version() {
    let env = TestEnv::new();
    assert!(env
        .run(&["completions", "bash"])
        .ok()
        .stdout
        .contains("bmctl"));
    assert!(env.run(&["man"]).ok().stdout.contains(".TH bmctl"));
    assert!(env.run(&["--version"]).ok().stdout.starts_with("bmctl "));
}
