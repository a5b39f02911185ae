//! `bmctl demo`.

use crate::env::*;

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
        out.contains("4 clients, 40 CIs, 41 backup policies, 3 CIs unprotected"),
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
    assert_eq!(count_in(&demo_db, "clients"), 4);
    // it shows a late run superseding a missed night and a failure excused
    // as a planned upgrade
    let conn = rusqlite::Connection::open(&demo_db).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    // #14: initech's Bacula, mail and PBS runs; the small backup's ticket; the
    // catalog's two failures in a row open none (failures_before_ticket = 3);
    // a Bacula restore is a real recovery attempt; two messages in the intake
    let initech = "(SELECT id FROM clients WHERE code = 'initech')";
    assert_eq!(one(&format!("SELECT count(*) FROM tickets WHERE client_id = {initech} AND class = 'small' AND status = 'open'")), 1);
    assert_eq!(
        one(&format!(
            "SELECT count(*) FROM tickets WHERE client_id = {initech} AND class = 'failed'"
        )),
        0
    );
    assert_eq!(
        one(&format!(
            "SELECT count(*) FROM recovery_attempts WHERE client_id = {initech} AND kind = 'real'"
        )),
        1
    );
    assert_eq!(one("SELECT count(*) FROM intake WHERE state = 'open'"), 2);
    assert!(
        one(&format!(
            "SELECT count(*) FROM job_events WHERE client_id = {initech}"
        )) >= 14 * 4
    );
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
