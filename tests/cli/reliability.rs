//! Reliability and security: concurrency, crashes, bad input, storage faults,
//! the tamper-evident audit log, permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::*;

/// `n` distinct events (restic-style ids unique across files by `base`).
fn events_file(
    env: &TestEnv,
    name: &str,
    job_prefix: &str,
    n: usize,
    base: usize,
) -> std::path::PathBuf {
    let mut text = String::with_capacity(n * 160);
    for i in 0..n {
        let t = 1_762_000_000 + (i as i64) * 60;
        let ts = chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ");
        text.push_str(&format!(
            r#"{{"client":"acme","job":"{job_prefix}-{}","status":"success","started_at":"{ts}","ended_at":"{ts}","id":"{:08x}"}}"#,
            i % 10,
            ((base + i) as u32).wrapping_mul(2_654_435_761)
        ));
        text.push('\n');
    }
    env.write(name, &text)
}

#[test]
fn concurrent_writers_lose_nothing_and_double_nothing() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let files: Vec<_> = (0..4)
        .map(|k| {
            events_file(
                &env,
                &format!("e{k}.jsonl"),
                &format!("w{k}"),
                25_000,
                k * 25_000,
            )
        })
        .collect();
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let spawn = |args: &[&str]| {
        Command::new(&bin)
            .args([
                "--db",
                env.db.to_str().unwrap(),
                "--now",
                "2026-11-30T07:00:00Z",
            ])
            .args(args)
            .env("HOME", env.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut importers: Vec<_> = files
        .iter()
        .map(|f| spawn(&["events", "import", f.to_str().unwrap()]))
        .collect();
    let mut loops = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while importers
        .iter_mut()
        .any(|c| c.try_wait().unwrap().is_none())
        && Instant::now() < deadline
    {
        // the generate loop and the check loop run at the same time as each other too
        let (g, c) = (spawn(&["tasks", "generate"]), spawn(&["check"]));
        loops.push(g.wait_with_output().unwrap());
        loops.push(c.wait_with_output().unwrap());
    }
    for c in importers {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    assert!(loops.len() >= 2);
    for out in &loops {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    // the imported runs, exactly (`check` adds its own `missed` events for the plan's jobs)
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let imported: i64 = conn
        .query_row(
            "SELECT count(*) FROM job_events WHERE status <> 'm'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(imported, 100_000);
    drop(conn);
    // every task once; at most one open ticket per policy and class
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let doubled: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT template_id, client_id, ci_id, policy_id, occurrence_at FROM tickets WHERE kind = 'task'
             GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(doubled, 0);
    let open_twice: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT policy_id, class FROM tickets WHERE status IN ('open', 'in_progress')
             AND kind IN ('corrective', 'incident') AND class <> 'finding' GROUP BY 1, 2 HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open_twice, 0);
}

#[test]
fn an_import_killed_mid_write_leaves_a_consistent_file_and_completes_on_rerun() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let file = events_file(&env, "big.jsonl", "job", 120_000, 0);
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let wal = std::path::PathBuf::from(format!("{}-wal", env.db.display()));
    let mut survived = 0;
    for threshold in [64 * 1024, 2 * 1024 * 1024, 6 * 1024 * 1024] {
        let mut child = Command::new(&bin)
            .args([
                "--db",
                env.db.to_str().unwrap(),
                "events",
                "import",
                file.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // kill when the WAL has grown past the threshold: mid-write, however fast the import
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut killed = false;
        while Instant::now() < deadline {
            if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) >= threshold {
                child.kill().unwrap(); // SIGKILL
                killed = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.wait();
        if killed {
            survived += 1;
        }
        env.run(&["db", "check"]).ok();
        let n = env.count("job_events");
        assert!(n % 10_000 == 0 || n == 120_000, "whole batches only: {n}");
    }
    assert!(survived >= 1, "no kill landed mid-write");
    env.run(&["events", "import", file.to_str().unwrap()]).ok();
    assert_eq!(env.count("job_events"), 120_000);
    env.run(&["events", "import", file.to_str().unwrap()]).ok();
    assert_eq!(env.count("job_events"), 120_000);
    // tasks generate: a test-only switch aborts the process (no rollback, no
    // close) after its third task is written, inside the transaction
    let reference = onboarded("2026-11-01T00:00:00Z");
    let expected = reference.json_at("2026-11-30T07:00:00Z", &["tasks", "generate"])["created"]
        .as_i64()
        .unwrap();
    assert!(
        expected > 3,
        "the crash must land mid-write: {expected} tasks"
    );
    let before = env.count("tickets");
    let status = Command::new(&bin)
        .args([
            "--db",
            env.db.to_str().unwrap(),
            "--now",
            "2026-11-30T07:00:00Z",
            "tasks",
            "generate",
        ])
        .env("BMCTL_FAULT_ABORT_AFTER", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the fault switch did not fire");
    env.run(&["db", "check"]).ok();
    assert_eq!(
        env.count("tickets"),
        before,
        "a crashed generate wrote nothing"
    );
    let first = env.json_at("2026-11-30T07:00:00Z", &["tasks", "generate"]);
    assert_eq!(first["created"], expected);
    let second = env.json_at("2026-11-30T07:00:00Z", &["tasks", "generate"]);
    assert_eq!(second["created"], 0);
    assert_eq!(env.count("tickets"), before + expected);
}

#[test]
fn the_bad_input_corpus_is_refused_naming_file_and_line() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let good = line("fs01-nightly", "success", "2026-11-02T21:00:00Z", "");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.jsonl",
            format!("{good}\n{{\"client\":\"acme\",\"job\":").into_bytes(),
            ":2: line",
        ),
        (
            "utf8.jsonl",
            [good.as_bytes(), b"\n{\"client\":\"\xff\xfe\"}\n"].concat(),
            ":2: line: is not valid UTF-8",
        ),
        (
            "nul.jsonl",
            [good.as_bytes(), b"\n{\"client\":\"ac\0me\"}\n"].concat(),
            ":2: line",
        ),
        (
            "long.jsonl",
            format!(
                "{good}\n{{\"message\":\"{}\"}}\n",
                "x".repeat(10 * 1024 * 1024)
            )
            .into_bytes(),
            ":2: line: is longer than",
        ),
        (
            "offset.jsonl",
            format!(
                "{good}\n{}\n",
                good.replace("2026-11-02T21:00:00Z", "2026-11-03T21:00:00")
            )
            .into_bytes(),
            ":2: started_at",
        ),
        (
            "year.jsonl",
            format!(
                "{good}\n{}\n",
                good.replace("2026-11-02T21:00:00Z", "10000-01-01T00:00:00Z")
            )
            .into_bytes(),
            ":2: started_at",
        ),
        (
            "bytes.jsonl",
            format!(
                "{good}\n{}\n",
                line(
                    "fs01-nightly",
                    "success",
                    "2026-11-03T21:00:00Z",
                    r#","bytes":-1"#
                )
            )
            .into_bytes(),
            ":2: bytes",
        ),
        (
            "status.jsonl",
            format!(
                "{good}\n{}\n",
                line("fs01-nightly", "fine", "2026-11-03T21:00:00Z", "")
            )
            .into_bytes(),
            ":2: status",
        ),
        (
            "client.jsonl",
            format!(
                "{good}\n{}\n",
                line("fs01-nightly", "success", "2026-11-03T21:00:00Z", "")
                    .replace("acme", "umbrella")
            )
            .into_bytes(),
            ":2: client",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = env.path(name);
        std::fs::write(&p, bytes).unwrap();
        let r = env.run(&["events", "import", p.to_str().unwrap()]).code(3);
        assert!(
            r.stderr.contains(name) && r.stderr.contains(want),
            "{name}: {}",
            &r.stderr[..r.stderr.len().min(300)]
        );
        assert_eq!(env.count("job_events"), 0, "{name} wrote");
    }
    // SQL metacharacters are stored verbatim and are harmless
    let evil = "x'); DROP TABLE job_events; --";
    let f = env.write(
        "evil.jsonl",
        &line(evil, "success", "2026-11-02T21:00:00Z", ""),
    );
    env.run(&["events", "import", f.to_str().unwrap()]).ok();
    let listed = env.json(&["events", "list", "--unmatched"]);
    assert_eq!(listed[0]["job"], evil);
    env.run(&[
        "cmdb",
        "add",
        "--client",
        "acme",
        "fs01x",
        "--kind",
        "vm",
        "--tier",
        "2",
        "--role",
        "'; DELETE FROM cis; --",
    ])
    .ok();
    assert_eq!(env.count("cis"), 3);
}

/// A file imported before run identity (schema 13), imported again after
/// the upgrade, adds nothing: its runs are found under their legacy keys.
#[test]
fn a_pre_upgrade_file_imported_again_adds_nothing() {
    let env = TestEnv::empty("UTC");
    std::fs::copy(repo_file("tests/fixtures/schema-v13.db"), &env.db).unwrap();
    let file = repo_file("tests/fixtures/schema-v13-events.jsonl");
    let r = env
        .run(&[
            "--format",
            "json",
            "events",
            "import",
            file.to_str().unwrap(),
        ])
        .ok();
    assert!(r.stderr.contains("from schema version 13"), "{}", r.stderr);
    // one run the old key had merged into another job's (the same `date +%s`
    // id on two jobs) is recovered; every other run is found
    let s = r.json();
    assert_eq!(
        (s["new"].as_i64(), s["duplicate"].as_i64()),
        (Some(1), Some(5))
    );
    assert_eq!(env.count("job_events"), 6);
    // the old file is kept beside it, untouched
    let bak = env.path("bmctl.db.schema-13.bak");
    assert_eq!(count_in(&bak, "job_events"), 5);
    let v: i64 = rusqlite::Connection::open(&bak)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 13);
    // a run of an id seen before the upgrade on another job is its own run
    let new = env.write(
        "new.jsonl",
        r#"{"client":"acme","job":"fs01-nightly","status":"success","started_at":"2026-11-29T23:00:00Z","ended_at":"2026-11-29T23:10:00Z","source":"borg","id":"c02bc3ff6f1f6b4bdeff82aeee3e1d6899d076bd91219934c902acda94cf2653"}"#,
    );
    let s = env.json(&["events", "import", new.to_str().unwrap()]);
    assert_eq!(s["new"], 1);
}

#[test]
fn storage_faults_give_clear_errors() {
    // the first schema version upgrades with its data intact
    let env = TestEnv::new();
    env.tampered(); // a hand-made fixture: its audit rows are not real ones
    std::fs::copy(repo_file("tests/fixtures/schema-v1.db"), &env.db).unwrap();
    let plan = env.json(&["plan", "show", "acme"]);
    assert_eq!(plan["policies"][0]["job"], "fs01-nightly");
    let ev = env.json(&["events", "list", "--client", "acme"]);
    assert_eq!(ev[0]["external_id"], "ed12ae91");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v > 1);
    // its key moved to the day it ended (version 11), so a time range finds it
    let (key_day, end_day): (i64, i64) = conn
        .query_row(
            "SELECT xid >> 32, ended_at / 86400 FROM job_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(key_day, end_day);
    let since = env.json(&["events", "list", "--since", "2025-11-01T21:05:00Z"]);
    assert_eq!(since.as_array().unwrap().len(), 1, "{since}");
    env.run(&["audit", "verify"]).ok(); // the old rows were chained on upgrade
    let audit = env.json(&["audit", "list", "--entity", "ci"]);
    assert_eq!(audit[0]["actor"], "bob");

    // random bytes and a truncated database: a clear error, no panic
    let junk = TestEnv::new();
    junk.tampered();
    std::fs::write(
        &junk.db,
        (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let r = junk.run(&["client", "list"]).code(1);
    assert!(
        r.stderr.contains("not a bmctl database") || r.stderr.contains("not a database"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
    let cut = TestEnv::new();
    cut.tampered();
    let full = std::fs::read(&env.db).unwrap();
    std::fs::write(&cut.db, &full[..full.len() / 3]).unwrap();
    let r: Run = cut.run(&["plan", "show", "acme"]);
    assert_ne!(r.code, 0);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stderr.starts_with("bmctl: "), "{}", r.stderr);

    // a full disk: a clear error, the file stays consistent, nothing half written
    let env = onboarded("2026-11-01T00:00:00Z");
    let file = events_file(&env, "e.jsonl", "job", 30_000, 0);
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "journal_mode", "delete").unwrap();
        // max_page_count lasts for one connection: drive the library with it
        drop(conn);
        let mut store = bmctl::store::Store::open(&env.db, Duration::from_secs(5)).unwrap();
        store.limit_pages(pages + 40).unwrap();
        let ctx = bmctl::ops::Ctx {
            now: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap(),
            actor: "test".into(),
            command: "events import".into(),
            rules: Default::default(),
        };
        let input = bmctl::ops::events::Input {
            path: &file,
            name: "e.jsonl",
            format: bmctl::ingest::neutral::InputFormat::Jsonl,
            skip_invalid: false,
            history: false,
            history_from: None,
            dry_run: false,
        };
        let err = bmctl::ops::events::import(&mut store, &ctx, &input, |_| {}).unwrap_err();
        assert!(format!("{err:#}").contains("full"), "{err:#}");
    }
    env.run(&["db", "check"]).ok();
    let n = env.count("job_events");
    assert_eq!(n % 10_000, 0, "whole batches only: {n}");
}

#[test]
fn the_audit_chain_shows_edits_deletions_and_insertions() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.tampered();
    for ci in ["acme/a1", "acme/a2", "acme/a3", "acme/a4"] {
        env.run(&["cmdb", "add", ci, "--kind", "vm", "--tier", "3"])
            .ok();
    }
    let v = env.json(&["audit", "verify"]);
    assert_eq!(
        (v["ok"].as_bool(), v["rows"].as_i64()),
        (Some(true), Some(5))
    );
    let sql = |s: &str| {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute_batch("DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;").unwrap();
        conn.execute_batch(s).unwrap();
    };
    // bmctl itself cannot change the log
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    assert!(conn
        .execute("UPDATE audit_log SET actor = 'mallory' WHERE id = 3", [])
        .is_err());
    drop(conn);
    // an edit
    let copy = env.path("orig.db");
    std::fs::copy(&env.db, &copy).unwrap();
    sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 3");
    let r = env.run(&["audit", "verify"]).code(1);
    assert!(r.stderr.contains("row 3"), "{}", r.stderr);
    // a deletion
    std::fs::copy(&copy, &env.db).unwrap();
    let _ = std::fs::remove_file(format!("{}-wal", env.db.display()));
    sql("DELETE FROM audit_log WHERE id = 2");
    let r = env.run(&["--format", "json", "audit", "verify"]).code(1);
    assert_eq!(r.json()["first_broken_id"], 3);
    // an insertion at the end
    std::fs::copy(&copy, &env.db).unwrap();
    sql("INSERT INTO audit_log (id, at, actor, command, entity_type, entity_id, hash) VALUES (6, 1, 'mallory', 'x', 'ci', 'acme/a1', 'deadbeef')");
    let r = env.run(&["--format", "json", "audit", "verify"]).code(1);
    assert_eq!(r.json()["first_broken_id"], 6);
}

#[test]
fn files_bmctl_creates_are_private() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // a write keeps the WAL open long enough to see its files
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        .unwrap();
    env.run(&["cmdb", "add", "acme/x1", "--kind", "vm", "--tier", "3"])
        .ok();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", env.db.display());
        if let Ok(m) = std::fs::metadata(&p) {
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{p}");
        }
    }
    drop(conn);
    let out = env.path("qsr");
    env.run(&[
        "plan",
        "review",
        "--client",
        "acme",
        "--quarter",
        "2026-Q4",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        std::fs::metadata(out.join("acme"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(
        std::fs::metadata(out.join("acme/qsr-2026-Q4.html"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let _ = count_in;
}

#[test]
fn a_read_only_database_serves_reads_and_refuses_writes() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // root reads and writes everything: run bmctl as nobody on a file it may only read
    let as_nobody = |args: &[&str]| -> Option<Run> {
        let out = Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("bmctl"))
            .args(["--db", env.db.to_str().unwrap()])
            .args(args)
            .env("HOME", "/tmp")
            .output()
            .ok()?;
        Some(out.into())
    };
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Some(read) = as_nobody(&["--format", "json", "client", "list"]) else {
        eprintln!("SKIPPED: setpriv is not available");
        return;
    };
    if read.stderr.contains("setpriv") {
        eprintln!("SKIPPED: not root: {}", read.stderr);
        return;
    }
    assert_eq!(read.ok().json()[0]["code"], "acme");
    let write = as_nobody(&["client", "add", "zz", "--name", "Z", "--tz", "UTC"])
        .unwrap()
        .code(1);
    assert!(
        write.stderr.contains("read-only") && !write.stderr.contains("panicked"),
        "{}",
        write.stderr
    );
    assert_eq!(env.count("clients"), 1);

    // #17 13: a writable file in a folder nobody may write is read-only
    // there, said as such (it was "is not a bmctl database")
    let folder = env.path("nobody-db");
    std::fs::create_dir(&folder).unwrap();
    let own = folder.join("own.db");
    std::fs::copy(&env.db, &own).unwrap();
    let nobody_owns = |p: &Path| {
        assert!(Command::new("chown")
            .arg("nobody")
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    nobody_owns(&folder);
    nobody_owns(&own);
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    let in_folder = |args: &[&str]| -> Run {
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("bmctl"))
            .args(["--db", own.to_str().unwrap()])
            .args(args)
            .env("HOME", "/tmp")
            .output()
            .unwrap()
            .into()
    };
    let read = in_folder(&["--format", "json", "client", "list"]).ok();
    assert!(read.stderr.contains("is not writable"), "{}", read.stderr);
    assert!(
        !read.stderr.contains("not a bmctl database"),
        "{}",
        read.stderr
    );
    let write = in_folder(&["client", "add", "zz", "--name", "Z", "--tz", "UTC"]).code(1);
    assert!(write.stderr.contains("read-only"), "{}", write.stderr);
}

/// #17 13: an existing 0644 database is warned about, and `db check` says
/// how to fix it; a plan with invalid UTF-8 names its line.
#[test]
fn an_open_database_file_and_bad_text_are_said_plainly() {
    let env = onboarded("2026-11-01T00:00:00Z");
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = env.run(&["client", "list"]).ok();
    assert!(
        r.stderr
            .contains("has mode 0644: others may read it; fix with `chmod 600"),
        "{}",
        r.stderr
    );
    let r = env.run(&["db", "check"]).code(1);
    assert!(r.stdout.contains("chmod 600"), "{}", r.stdout);
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(env.run(&["client", "list"]).ok().stderr.is_empty());
    let mut bytes = crate::env::PLAN.as_bytes().to_vec();
    bytes.splice(40..40, [0xff, 0xfe]);
    let f = env.path("latin1.toml");
    std::fs::write(&f, bytes).unwrap();
    let r = env.run(&["plan", "import", f.to_str().unwrap()]).code(3);
    assert!(
        r.stderr.contains("latin1.toml:3: is not valid UTF-8"),
        "{}",
        r.stderr
    );
    // a plan cut short says what is wrong, never an empty message
    for n in [10, 120, 300, 420, 560] {
        let f = env.write("cut.toml", &crate::env::PLAN[..n]);
        let r = env.run(&[
            "plan",
            "import",
            "--replace",
            "--reason",
            "test",
            f.to_str().unwrap(),
        ]);
        if r.code != 0 {
            let msg = r.stderr.trim_start_matches("bmctl: ").trim();
            assert!(msg.len() > "cut.toml:1:".len() + 3, "{n}: {:?}", r.stderr);
        }
    }
}

/// Run bmctl under `sh -c 'ulimit -v 1 GiB'` with a 10 s deadline: the
/// exit code and stderr, or a panic naming the hang.
fn bounded(env: &TestEnv, args: &[&str], stdin: Option<&Path>) -> Run {
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" \"$@\"")
        .arg(&bin)
        .arg("--db")
        .arg(&env.db)
        .args(args)
        .current_dir(env.dir.path())
        .env("BMCTL_NOW", crate::env::NOW)
        .env("MALLOC_ARENA_MAX", "2")
        .env_remove("BMCTL_DB")
        .env_remove("BMCTL_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Some(p) => c.stdin(std::fs::File::open(p).unwrap()),
        None => c.stdin(Stdio::null()),
    };
    let child = c.spawn().unwrap();
    let start = Instant::now();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match wait.recv_timeout(Duration::from_secs(10)) {
        Ok(out) => {
            let r: Run = out.unwrap().into();
            eprintln!("{args:?}: exit {} in {:?}", r.code, start.elapsed());
            r
        }
        Err(_) => panic!("{args:?} did not finish within 10 s"),
    }
}

/// #17 §3: every reader takes a FIFO, process substitution and stdin once,
/// and `/dev/zero` ends in exit 3 naming the limit, within 10 s and 1 GiB.
#[test]
fn every_reader_takes_pipes_once_and_endless_input_within_its_limit() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let plan = env.write("plan.toml", crate::env::PLAN);
    let zero = "/dev/zero";
    let cases: [(&[&str], &str); 8] = [
        (&["events", "import", zero], "1048576-byte limit of a line"),
        (
            &["events", "import", "--input-format", "csv", zero],
            "1048576-byte limit of a line",
        ),
        (
            &[
                "events",
                "ingest",
                "restic",
                "--job",
                "acme/fs01-nightly",
                zero,
            ],
            "256 MiB limit of a tool's JSON output",
        ),
        (
            &[
                "events",
                "ingest",
                "borg",
                "--job",
                "acme/sql01-nightly",
                zero,
            ],
            "256 MiB limit of a tool's JSON output",
        ),
        (&["plan", "import", zero], "256 MiB limit of a plan"),
        (&["cmdb", "import", zero], "256 MiB limit of a CMDB CSV"),
        (
            &["tasks", "templates", "import", zero],
            "256 MiB limit of a template file",
        ),
        (&["events", "import", "-"], "1048576-byte limit of a line"),
    ];
    for (args, limit) in cases {
        let stdin = (args.last() == Some(&"-")).then_some(Path::new(zero));
        let r = bounded(&env, args, stdin).code(3);
        assert!(r.stderr.contains(limit), "{args:?}: {}", r.stderr);
    }
    // a regular CSV file with one 300 MB field: refused, not held in memory
    let big = env.path("big.csv");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        writeln!(f, "client,job,status,ended_at,message").unwrap();
        write!(f, "acme,fs01-nightly,failed,2026-11-29T22:00:00Z,").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..300 {
            f.write_all(&chunk).unwrap();
        }
        writeln!(f).unwrap();
    }
    let r = bounded(&env, &["events", "import", big.to_str().unwrap()], None).code(3);
    assert!(r.stderr.contains("1048576-byte limit"), "{}", r.stderr);
    std::fs::remove_file(&big).unwrap();
    assert_eq!(env.count("job_events"), 0);

    // a FIFO is opened once and read whole
    let lines = format!(
        "{}\n{}\n",
        line("fs01-nightly", "failed", "2026-11-28T22:00:00Z", ""),
        line("fs01-nightly", "success", "2026-11-29T22:00:00Z", "")
    );
    let fifo = env.path("events.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let (fifo, lines) = (fifo.clone(), lines.clone());
        std::thread::spawn(move || std::fs::write(fifo, lines).unwrap())
    };
    let r = bounded(
        &env,
        &[
            "--format",
            "json",
            "events",
            "import",
            fifo.to_str().unwrap(),
        ],
        None,
    )
    .ok();
    writer.join().unwrap();
    assert_eq!(r.json()["new"], 2);
    // process substitution (a /dev/fd path) and stdin, each once
    let valid = env.write("valid.jsonl", &lines.replace("2026-11-2", "2026-11-1"));
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec '{}' --db '{}' --format json events import <(cat '{}')",
            bin.display(),
            env.db.display(),
            valid.display()
        ))
        .env("BMCTL_NOW", crate::env::NOW)
        .env_remove("BMCTL_DB")
        .output()
        .unwrap();
    let r = Run::from(out).ok();
    assert_eq!(r.json()["new"], 2);
    let r = bounded(
        &env,
        &["--format", "json", "plan", "import", "-"],
        Some(&plan),
    )
    .ok();
    assert!(r.stderr.contains("unchanged"), "{}", r.stderr);
    assert_eq!(env.count("job_events"), 4);
}

/// #17 §4: a `check` catching up 20 every-minute policies over 7 days
/// commits in steps (here of 10,000 windows), so an import beside it (5 s
/// busy timeout) gets in; the check as one transaction keeps it out.
#[test]
fn a_catch_up_check_keeps_no_writer_waiting() {
    let env = TestEnv::new();
    let mut plan = String::from(
        "client = \"acme\"\nname = \"Acme\"\ntimezone = \"UTC\"\n\n[[ci]]\nhost = \"fs01\"\nkind = \"server\"\ntier = 1\n",
    );
    for i in 0..20 {
        plan.push_str(&format!(
            "\n[[policy]]\njob = \"minutely-{i:02}\"\nci = \"fs01\"\ntool = \"other\"\nschedule = \"* * * * *\"\nrpo = \"1h\"\ngrace = \"30s\"\nretention = {{ daily = 7 }}\ntarget = \"local\"\nrestore_test = \"never\"\nrto = \"4h\"\n"
        ));
    }
    let f = env.write("plan.toml", &plan);
    env.run_at(
        "2026-11-20T00:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let cmd = |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.arg("--db")
            .arg(&env.db)
            .args(args)
            .env("BMCTL_NOW", crate::env::NOW)
            .env("BMCTL_BUSY_TIMEOUT", "5s")
            .env("BMCTL_BATCH_WINDOWS", "10000")
            .env_remove("BMCTL_DB")
            .env_remove("BMCTL_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let check = cmd(&["--format", "json", "check"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let lines: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"client":"acme","job":"minutely-{i:02}","status":"success","ended_at":"2026-11-30T06:58:10Z","source":"test"}}"#
            )
        })
        .collect();
    let events = env.write("beside.jsonl", &(lines.join("\n") + "\n"));
    let t = Instant::now();
    let import: Run = cmd(&[
        "--format",
        "json",
        "events",
        "import",
        events.to_str().unwrap(),
    ])
    .output()
    .unwrap()
    .into();
    let waited = t.elapsed();
    let check: Run = check.wait_with_output().unwrap().into();
    let import = import.ok();
    assert_eq!(import.json()["new"], 20, "waited {waited:?}");
    let report = check.ok().json();
    assert!(
        report["transactions"].as_i64().unwrap() >= 10,
        "{}",
        report["transactions"]
    );
    // every window of the 7 days closed once, in however many steps
    let closed = report["occurrences_closed"].as_i64().unwrap();
    assert!(closed >= 20 * 7 * 1440 - 40, "{closed}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 1_000);
    assert!(report["findings_omitted"].as_i64().unwrap() > 0);
    let again = env.json(&["check"]);
    assert_eq!(again["occurrences_closed"], 0);
}

/// #17 §6 (in part): a checkpoint kept outside the file catches what the
/// chain alone cannot: truncation, a re-hashed chain, a row inserted before
/// the checkpoint's head, a back-dated row appended after it; a damaged row
/// is named.
#[test]
fn audit_checkpoints_catch_truncation_rehashing_and_back_dating() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.tampered();
    env.run(&["client", "edit", "acme", "--name", "Acme Corporation"])
        .ok();
    let cp = env.path("elsewhere/checkpoints.jsonl");
    let r = env
        .run(&["audit", "checkpoint", "--to", cp.to_str().unwrap()])
        .ok();
    assert!(r.stdout.contains("\"last_id\""), "{}", r.stdout);
    env.run(&["audit", "verify", "--since", cp.to_str().unwrap()])
        .ok();
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let line = std::fs::read_to_string(&cp).unwrap();
    let canonical = std::fs::canonicalize(&env.db).unwrap();
    let wall: i64 = serde_json::from_str::<serde_json::Value>(line.trim()).unwrap()["wall_at"]
        .as_i64()
        .unwrap();
    let cases = [
        ("truncated", "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log);", false, "truncated"),
        ("rehashed", "UPDATE audit_log SET actor = 'mallory' WHERE id = 1;", true, "rewritten"),
        (
            "inserted",
            "UPDATE audit_log SET id = id + 1000 WHERE id >= 2; UPDATE audit_log SET id = id - 999 WHERE id >= 1000;
             INSERT INTO audit_log (id, at, actor, command, entity_type, entity_id, after)
             VALUES (2, 1, 'mallory', 'macd approve', 'change', '1', '{\"state\":\"approved\"}');",
            true,
            "rewritten",
        ),
        (
            "backdated",
            &format!("INSERT INTO audit_log (id, at, actor, command, entity_type, entity_id, after, wall_at)
             SELECT max(id) + 1, 1, 'mallory', 'macd approve', 'change', '1', '{{\"state\":\"approved\"}}', {}
             FROM audit_log;", wall - 3600),
            true,
            "back-dated",
        ),
    ];
    for (name, sql, rehash, want) in cases {
        let db = env.path(&format!("{name}.db"));
        std::fs::copy(&env.db, &db).unwrap();
        {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch(&format!(
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; {sql}"
            ))
            .unwrap();
            if rehash {
                // what an attacker with the file and 20 lines of code does
                bmctl::store::audit::backfill_chain(&bmctl::store::Db::wrap(conn)).unwrap();
            }
        }
        let own = env.write(
            &format!("{name}.jsonl"),
            &line.replace(
                canonical.to_str().unwrap(),
                std::fs::canonicalize(&db).unwrap().to_str().unwrap(),
            ),
        );
        let run = |args: &[&str]| env.run_on(&db, args);
        // the chain alone does not see it
        run(&["audit", "verify"]).ok();
        let r = run(&["audit", "verify", "--since", own.to_str().unwrap()]).code(1);
        assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
    }
    // a damaged row is named
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = CAST(x'fffe' AS TEXT) WHERE id = 2;",
    )
    .unwrap();
    drop(conn);
    let r = env.run(&["audit", "verify"]).code(1);
    assert!(r.stderr.contains("audit row 2 is damaged"), "{}", r.stderr);
}

/// #17 §6: `audit verify --deep` re-derives the business rows from their
/// audit rows and the events from their batches' digests, so a direct edit
/// the hash chain cannot see is named; bmctl's own writes (late data, a
/// re-delivery that fills fields, a prune) keep it whole.
#[test]
fn deep_verify_names_direct_edits_of_tickets_policies_and_events() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.tampered();
    crate::env::import_lines(
        &env,
        "2026-11-04T08:00:00Z",
        &[
            line(
                "fs01-nightly",
                "success",
                "2026-11-01T21:00:00Z",
                r#","id":"r1""#,
            ),
            line(
                "fs01-nightly",
                "failed",
                "2026-11-02T21:00:00Z",
                r#","id":"r2""#,
            ),
            line(
                "sql01-nightly",
                "success",
                "2026-11-02T22:00:00Z",
                r#","id":"s2""#,
            ),
        ],
    )
    .ok();
    // the same run again with its size: merged, its fields filled
    crate::env::import_lines(
        &env,
        "2026-11-04T09:00:00Z",
        &[line(
            "fs01-nightly",
            "success",
            "2026-11-01T21:00:00Z",
            r#","id":"r1","bytes":4096"#,
        )],
    )
    .ok();
    env.run_at("2026-11-04T10:00:00Z", &["check"]).ok();
    // the review's quarters are kept: a prune of November runs in April
    env.run_at(
        "2027-04-04T10:00:00Z",
        &["db", "prune", "--before", "2026-11-02", "--yes"],
    )
    .ok();
    env.run(&["audit", "verify", "--deep"]).ok();
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let cases = [
        (
            "ticket",
            "UPDATE tickets SET status = 'resolved', resolution = 'fixed' WHERE status = 'open'",
            "status is \"resolved\" in the table, \"open\" by the audit log",
        ),
        (
            "ticket-added",
            "INSERT INTO tickets (kind, client_id, title, status, priority, opened_at, updated_at, occurrences)
             VALUES ('corrective', 1, 'forged', 'open', 3, 0, 0, 1)",
            "has no audit row",
        ),
        (
            "policy",
            "UPDATE policies SET rpo_s = 864000 WHERE job = 'fs01-nightly'",
            "policy acme/fs01-nightly: rpo_s is 864000 in the table, 259200 by the audit log",
        ),
        (
            "plan-text",
            "UPDATE plan_versions SET content = replace(content, 'rpo = \"3d\"', 'rpo = \"30d\"')",
            "plan acme:v1: its text differs from the digest",
        ),
        (
            "event",
            "UPDATE job_events SET status = 's' WHERE status = 'f'",
            "the events of acme, 2026-11-02 to 2026-11-08: 5 events, changed since they were written",
        ),
        (
            "event-removed",
            "DELETE FROM job_events WHERE status = 'f'",
            "the events of acme, 2026-11-02 to 2026-11-08: 4 events where its batches wrote 5",
        ),
        (
            "event-and-digest",
            // the client's runs of a week gone, and the week's digest row
            "DELETE FROM job_events WHERE client_id = 1;
             DELETE FROM event_digests WHERE client_id = 1",
            "the per-week digests were edited to match",
        ),
    ];
    for (name, sql, want) in cases {
        let db = env.path(&format!("{name}.db"));
        std::fs::copy(&env.db, &db).unwrap();
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let run = |args: &[&str]| env.run_on(&db, args);
        // the hash chain alone does not see it
        run(&["audit", "verify"]).ok();
        let r = run(&["audit", "verify", "--deep"]).code(1);
        assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
        // the chain itself is sound: it is the tables that differ
        assert!(
            r.stdout.contains("intact") && r.stdout.contains("DIFFER from the audit log"),
            "{name}: {}",
            r.stdout
        );
    }
}

/// #17 §11: a database `PRAGMA quick_check` finds damaged is marked, and
/// every write refuses it until a sound file is back (`db check` clears
/// the mark); reads still work; `health` says so (exit 1).
#[test]
fn writes_refuse_a_damaged_database() {
    let env = crate::env::onboarded("2026-11-01T00:00:00Z");
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            crate::env::line(
                "fs01-nightly",
                "success",
                &format!(
                    "2026-11-{:02}T{:02}:{:02}:00Z",
                    1 + i / 1440 % 28,
                    i / 60 % 24,
                    i % 60
                ),
                &format!(r#","id":"r{i}","message":"{}""#, "x".repeat(200)),
            )
        })
        .collect();
    crate::env::import_lines(&env, "2026-11-30T07:00:00Z", &lines).ok();
    let db = env.path("bmctl.db");
    let sound = std::fs::read(&db).unwrap();
    let mut bytes = sound.clone();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(pages > 20, "{pages} pages");
    // scribble over the middle of a page in the events
    let at = page * (pages / 2) + 100;
    for b in &mut bytes[at..at + 2000] {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let r = env.run(&["db", "check"]).code(1);
    assert!(!r.stdout.contains("integrity       ok"), "{}", r.stdout);
    let mark = env.path("bmctl.db.damaged");
    assert!(mark.exists());
    let r = crate::env::import_lines(
        &env,
        "2026-11-30T07:00:00Z",
        &[crate::env::line(
            "sql01-nightly",
            "success",
            "2026-11-29T22:00:00Z",
            "",
        )],
    )
    .code(1);
    assert!(r.stderr.contains("is damaged"), "{}", r.stderr);
    assert!(
        r.stderr.contains("restore it from a backup"),
        "{}",
        r.stderr
    );
    // the health report says so
    let h = env.run(&["health"]).code(1);
    assert!(h.stdout.contains("DAMAGED"), "{}", h.stdout);
    // a sound file back, `db check` clears the mark and writes work again
    std::fs::write(&db, &sound).unwrap();
    env.run(&["db", "check"]).ok();
    assert!(!mark.exists());
    crate::env::import_lines(
        &env,
        "2026-11-30T07:00:00Z",
        &[crate::env::line(
            "sql01-nightly",
            "success",
            "2026-11-29T22:00:00Z",
            "",
        )],
    )
    .ok();
}
