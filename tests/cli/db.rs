//! `bmctl db` and `--db`: the database file, its schema, time travel, backups and pruning.

use crate::env::*;
use std::os::unix::fs::PermissionsExt;

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
fn db_path_prints_the_path_or_an_object() {
    let env = TestEnv::new();
    let plain = env.run(&["db", "path"]).ok();
    assert_eq!(plain.stdout.trim(), env.db.display().to_string());
    let j = env.json(&["db", "path"]);
    assert_eq!(j["path"], env.db.display().to_string());
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
    // a technician's own login: only the service account replays with --now
    let at = |fixed: bool, args: &[&str]| -> Run {
        let mut c = env.base();
        c.env_remove("BMCTL_ACTOR")
            .env("BMCTL_SERVICE_ACCOUNTS", "bmctl");
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
    assert_eq!(travel(t.json(&["config", "show"])), "allowed");
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
fn db_backup_copy_checks_clean_and_is_private() {
    let env = TestEnv::new();
    onboard_strict(&env);
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
    let report = env.json(&["db", "check"]);
    assert_eq!(report["ok"], true);
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
    let prune = |now: &str, before: &str, yes: bool| {
        let mut c = env.base();
        c.args([
            "--db",
            demo.to_str().unwrap(),
            "--format",
            "json",
            "--now",
            now,
        ]);
        c.args(["db", "prune", "--before", before]);
        if yes {
            c.arg("--yes");
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // the quarter before this one is the review's: refused, and a future date too
    for before in ["2026-11-01", "2027-12-01", "2026-07-01T00:00:01Z"] {
        let (code, _, err) = prune("2026-11-30T07:00:00Z", before, true);
        assert_eq!(code, Some(5), "{before}: {err}");
        assert!(err.contains("start of the previous full quarter"), "{err}");
    }
    // off a terminal, --yes or nothing
    let (code, _, err) = prune("2027-04-15T07:00:00Z", "2026-11-01", false);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(crate::env::count_in(&demo, "job_events"), events_before);
    let (code, out, err) = prune("2027-04-15T07:00:00Z", "2026-11-01", true);
    assert_eq!(code, Some(0), "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(r["events_deleted"].as_i64().unwrap() > 1000);
    assert!(r["bytes_after"].as_u64().unwrap() < r["bytes_before"].as_u64().unwrap());
    assert!(crate::env::count_in(&demo, "job_events") < events_before);
    let after = bmctl(&period);
    assert_eq!(before, after, "the KPIs of the pruned period are unchanged");
    bmctl(&["db", "check"]);
}
