//! `run` with the real backup tools (installed by .ci/run). They are
//! ignored by a plain `cargo test` (listed as ignored, with the tool they
//! need) and run with `-- --include-ignored`, as CI does.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::env::*;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A small tree to back up, readable by `nobody`.
fn tree(env: &TestEnv) -> std::path::PathBuf {
    let src = env.path("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), "hello\n").unwrap();
    std::fs::write(src.join("sub/b.txt"), "world\n").unwrap();
    chmod(env.dir.path(), 0o755);
    src
}

/// Each `run` a minute after the one before, so that "the last event" is
/// the last run.
fn run(env: &TestEnv, vars: &[(&str, &str)], job: &str, argv: &[&str]) -> Run {
    static MINUTE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let m = 7 * 60 + MINUTE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut c = env.cmd();
    for (k, v) in vars {
        c.env(k, v);
    }
    c.env(
        "BMCTL_NOW",
        format!("2026-11-30T{:02}:{:02}:00Z", m / 60, m % 60),
    );
    c.args(["run", "--job", job, "--"])
        .args(argv)
        .output()
        .unwrap()
        .into()
}

/// A client onboarded on the wall clock, for the tests that run the real
/// tools: restic and borg stamp their snapshots with the machine's clock, so
/// bmctl must use it too (these tests are `real_clock_*`).
fn onboarded_now() -> TestEnv {
    let env = TestEnv::new();
    let f = env.write("plan.toml", crate::env::PLAN);
    real_clock(&env, &[], &["plan", "import", f.to_str().unwrap()]).ok();
    env
}

/// bmctl on the wall clock, after the next whole second: each run ends in a
/// second of its own, so that "the last event" is the last run.
fn real_clock(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_nanos(
        1_000_000_000 - u64::from(since.subsec_nanos()),
    ));
    wall(env, vars, args)
}

/// bmctl on the wall clock.
fn wall(env: &TestEnv, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut c = env.cmd();
    c.env_remove("BMCTL_NOW").envs(vars.iter().copied());
    c.args(args).output().unwrap().into()
}

fn run_now(env: &TestEnv, vars: &[(&str, &str)], job: &str, argv: &[&str]) -> Run {
    let mut args = vec!["run", "--job", job, "--"];
    args.extend_from_slice(argv);
    real_clock(env, vars, &args)
}

fn last_event(env: &TestEnv, job: &str) -> serde_json::Value {
    let evs = wall(
        env,
        &[],
        &["--format", "json", "events", "list", "--job", job],
    )
    .ok()
    .json();
    evs.as_array().unwrap().last().unwrap().clone()
}

fn recursive_chmod(p: &Path) {
    for entry in std::fs::read_dir(p).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            chmod(&path, 0o777);
            recursive_chmod(&path);
        } else {
            chmod(&path, 0o666);
        }
    }
}

#[test]
#[ignore = "needs restic"]
fn real_clock_restic_exit_codes_through_run() {
    let env = onboarded_now();
    let src = tree(&env);
    let repo = env.path("repo");
    let pw = [("RESTIC_PASSWORD", "demo-pass")];
    let (r, s) = (repo.to_str().unwrap(), src.to_str().unwrap());
    let status = Command::new("restic")
        .args(["init", "-r", r])
        .env("RESTIC_PASSWORD", "demo-pass")
        .output()
        .unwrap();
    assert!(status.status.success());
    let job = "acme/fs01-nightly";
    // the job's own backup: its host and tag map a snapshot listing to it
    let backup = [
        "restic",
        "-r",
        r,
        "--no-cache",
        "backup",
        "--json",
        "--host",
        "fs01",
        "--tag",
        "nightly",
        s,
    ];

    // 0: success, keyed by the snapshot's short id
    let out = run_now(&env, &pw, job, &backup).code(0);
    assert!(
        out.stdout.contains("\"message_type\":\"summary\""),
        "the tool's output passes through"
    );
    let ev = last_event(&env, job);
    assert_eq!(
        (ev["status"].as_str(), ev["source"].as_str()),
        (Some("success"), Some("restic"))
    );
    let snap = ev["external_id"].as_str().unwrap().to_string();
    assert_eq!(snap.len(), 8);
    // the same run seen again through `restic snapshots --json` is not a second event
    let snaps = Command::new("restic")
        .args(["-r", r, "--no-cache", "snapshots", "--json"])
        .env("RESTIC_PASSWORD", "demo-pass")
        .output()
        .unwrap();
    let f = env.write("snaps.json", &String::from_utf8_lossy(&snaps.stdout));
    let ingest = [
        "--format",
        "json",
        "events",
        "ingest",
        "restic",
        "--client",
        "acme",
        f.to_str().unwrap(),
    ];
    let s2 = real_clock(&env, &[], &ingest).ok().json();
    assert_eq!(s2["duplicate"], 1);

    // 0 with a missing path: a warning
    run_now(
        &env,
        &pw,
        job,
        &[
            "restic",
            "-r",
            r,
            "--no-cache",
            "backup",
            "--json",
            s,
            "/nonexistent/path",
        ],
    )
    .code(0);
    assert_eq!(last_event(&env, job)["status"], "warning");

    // 3: an unreadable file (restic runs as nobody: root reads everything)
    std::fs::write(src.join("secret.txt"), "secret\n").unwrap();
    chmod(&src.join("secret.txt"), 0o000);
    recursive_chmod(&repo);
    chmod(&repo, 0o777);
    let nobody = [
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "restic",
        "-r",
        r,
        "--no-cache",
        "backup",
        "--json",
        s,
    ];
    run_now(&env, &pw, job, &nobody).code(3);
    let ev = last_event(&env, job);
    assert_eq!(ev["status"], "warning");
    assert!(ev["message"].as_str().unwrap().contains("exit 3"), "{ev}");

    // 1: wrong password
    run_now(
        &env,
        &[("RESTIC_PASSWORD", "wrong")],
        job,
        &["restic", "-r", r, "--no-cache", "backup", "--json", s],
    )
    .code(1);
    let ev = last_event(&env, job);
    assert_eq!(ev["status"], "failed");
    assert!(
        ev["message"].as_str().unwrap().contains("wrong password"),
        "{ev}"
    );
    let t = wall(&env, &[], &["--format", "json", "correct", "list"])
        .ok()
        .json();
    assert_eq!(t[0]["class"], "failed");

    // #17 §5: with --spool and no --tool the command says it is restic: the
    // spooled line has restic's status and snapshot id, so a later
    // `restic snapshots` ingest does not record the same backup twice
    let spool = env.path("spool.jsonl");
    let sp = spool.to_str().unwrap();
    let args = [&["run", "--job", job, "--spool", sp, "--"][..], &backup[..]].concat();
    real_clock(&env, &pw, &args).code(0);
    let text = std::fs::read_to_string(&spool).unwrap();
    // its start record first (#10 §4), then its end
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(r#""status":"running""#), "{text}");
    let line: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        (line["status"].as_str(), line["source"].as_str()),
        (Some("success"), Some("restic")),
        "{line}"
    );
    assert_eq!(line["id"].as_str().unwrap().len(), 8, "{line}");
    let imported = real_clock(&env, &[], &["--format", "json", "events", "import", sp])
        .ok()
        .json();
    assert_eq!(imported["new"], 1);
    let snaps = Command::new("restic")
        .args(["-r", r, "--no-cache", "snapshots", "--json"])
        .env("RESTIC_PASSWORD", "demo-pass")
        .output()
        .unwrap();
    let f = env.write("snaps2.json", &String::from_utf8_lossy(&snaps.stdout));
    let again = real_clock(
        &env,
        &[],
        &[
            "--format",
            "json",
            "events",
            "ingest",
            "restic",
            "--client",
            "acme",
            f.to_str().unwrap(),
        ],
    )
    .ok()
    .json();
    // the two runs with the machine's own host name match no policy: new,
    // unmatched; the two runs of the job are known
    assert_eq!(
        (again["duplicate"].as_i64(), again["new"].as_i64()),
        (Some(2), again["unmatched"].as_i64()),
        "{again}"
    );
}

#[test]
#[ignore = "needs restic"]
fn real_clock_restic_check_read_data_catches_a_corrupted_repository() {
    let env = onboarded_now();
    let src = tree(&env);
    let repo = env.path("repo");
    let r = repo.to_str().unwrap();
    let pw = [("RESTIC_PASSWORD", "demo-pass")];
    Command::new("restic")
        .args(["init", "-r", r])
        .env("RESTIC_PASSWORD", "demo-pass")
        .output()
        .unwrap();
    run_now(
        &env,
        &pw,
        "acme/fs01-nightly",
        &[
            "restic",
            "-r",
            r,
            "--no-cache",
            "backup",
            src.to_str().unwrap(),
        ],
    )
    .code(0);
    let check = [
        "run",
        "--job",
        "acme/fs01-nightly",
        "--operation",
        "check",
        "--",
        "restic",
        "-r",
        r,
        "--no-cache",
        "check",
        "--read-data",
    ];
    real_clock(&env, &pw, &check).ok();
    // corrupt every data pack
    for dir in std::fs::read_dir(repo.join("data")).unwrap() {
        for pack in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let p = pack.unwrap().path();
            chmod(&p, 0o644);
            let mut bytes = std::fs::read(&p).unwrap();
            for b in bytes.iter_mut().take(64) {
                *b ^= 0xff;
            }
            std::fs::write(&p, bytes).unwrap();
        }
    }
    real_clock(&env, &pw, &check).code(1);
    let t = wall(&env, &[], &["--format", "json", "correct", "list"])
        .ok()
        .json();
    assert_eq!(
        (t[0]["class"].as_str(), t[0]["title"].as_str()),
        (
            Some("integrity"),
            Some("Repository integrity check failed: acme/fs01-nightly")
        )
    );
}

#[test]
#[ignore = "needs borg"]
fn real_clock_borg_exit_codes_through_run() {
    let env = onboarded_now();
    let src = tree(&env);
    let repo = env.path("borgrepo");
    let r = repo.to_str().unwrap();
    let vars = [
        ("BORG_PASSPHRASE", "demo-pass"),
        ("BORG_BASE_DIR", env.dir.path().to_str().unwrap()),
    ];
    let init = Command::new("borg")
        .args(["init", "-e", "repokey", r])
        .envs(vars)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let job = "acme/sql01-nightly";
    let s = src.to_str().unwrap();
    run_now(
        &env,
        &vars,
        job,
        &["borg", "create", "--json", &format!("{r}::sql01-one"), s],
    )
    .code(0);
    let ev = last_event(&env, job);
    assert_eq!(
        (ev["status"].as_str(), ev["source"].as_str()),
        (Some("success"), Some("borg"))
    );
    assert_eq!(ev["external_id"].as_str().unwrap().len(), 8);
    run_now(
        &env,
        &vars,
        job,
        &[
            "borg",
            "create",
            "--json",
            &format!("{r}::sql01-two"),
            s,
            "/nonexistent",
        ],
    )
    .code(1);
    assert_eq!(last_event(&env, job)["status"], "warning");
    let wrong = [("BORG_PASSPHRASE", "wrong"), vars[1]];
    run_now(
        &env,
        &wrong,
        job,
        &["borg", "create", "--json", &format!("{r}::sql01-three"), s],
    )
    .code(2);
    let ev = last_event(&env, job);
    assert_eq!(ev["status"], "failed");
    assert!(
        ev["message"].as_str().unwrap().contains("passphrase"),
        "{ev}"
    );
}

#[test]
fn commands_that_cannot_start_exit_127_or_126() {
    let env = onboarded("2026-11-01T00:00:00Z");
    run(&env, &[], "acme/fs01-nightly", &["no-such-backup-tool"]).code(127);
    let ev = last_event(&env, "acme/fs01-nightly");
    assert_eq!(ev["status"], "failed");
    assert!(ev["message"].as_str().unwrap().contains("cannot start"));
    let f = env.write("not-exec.sh", "#!/bin/sh\n");
    run(&env, &[], "acme/fs01-nightly", &[f.to_str().unwrap()]).code(126);
    run(&env, &[], "acme/fs01-nightly", &[]).code(2);
}

#[test]
fn run_passes_megabytes_through_without_blocking() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let out = run(
        &env,
        &[],
        "acme/fs01-nightly",
        &[
            "sh",
            "-c",
            "head -c 20000000 /dev/zero | tr '\\0' x; echo; echo done >&2",
        ],
    )
    .code(0);
    assert_eq!(out.stdout.len(), 20_000_001);
    assert!(out.stderr.contains("done"));
    assert_eq!(last_event(&env, "acme/fs01-nightly")["status"], "success");
}

#[test]
fn run_fails_open_to_a_spool_file() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let blocker = env.write("not-a-folder", "x");
    let broken_db = blocker.join("bmctl.db");
    let state = env.path("state");
    let out: Run = env
        .base()
        .env("XDG_STATE_HOME", &state)
        .args([
            "--db",
            broken_db.to_str().unwrap(),
            "run",
            "--job",
            "acme/fs01-nightly",
            "--tool",
            "generic",
            "--",
            "sh",
            "-c",
            "echo backing up; exit 7",
        ])
        .output()
        .unwrap()
        .into();
    let out = out.code(7);
    assert!(out.stdout.contains("backing up"), "the backup ran");
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("spool"),
        "{}",
        out.stderr
    );
    let spool = state.join("bmctl/spool.jsonl");
    assert_eq!(
        std::fs::metadata(&spool).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // and with --spool on a host without the database
    let explicit = env.path("out/spool.jsonl");
    let args = [
        "run",
        "--job",
        "acme/fs01-nightly",
        "--tool",
        "generic",
        "--spool",
        explicit.to_str().unwrap(),
        "--",
        "true",
    ];
    env.run_at("2026-11-30T08:00:00Z", &args).ok();
    assert_eq!(env.count("job_events"), 0);
    for _ in 0..2 {
        for f in [&spool, &explicit] {
            env.run(&["events", "import", f.to_str().unwrap()]).ok();
        }
    }
    assert_eq!(env.count("job_events"), 2);
    let evs = env.json(&["events", "list"]);
    assert_eq!(
        (evs[0]["status"].as_str(), evs[1]["status"].as_str()),
        (Some("failed"), Some("success"))
    );
    assert!(evs[0]["message"].as_str().unwrap().starts_with("exit 7"));
}

/// #17 §5: SIGTERM to `run` reaches the backup; the run is recorded as
/// failed, naming the signal, with the shell's exit code, and no orphan is
/// left running.
#[test]
fn a_stopped_run_stops_its_backup_and_is_recorded() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let marker = format!("{}.{}", 400 + std::process::id() % 97, 7);
    let child = Command::new(assert_cmd::cargo::cargo_bin("bmctl"))
        .arg("--db")
        .arg(&env.db)
        .args([
            "run",
            "--job",
            "acme/fs01-nightly",
            "--tool",
            "generic",
            "--",
        ])
        .args(["sleep", &marker])
        .env("BMCTL_NOW", crate::env::NOW)
        .env_remove("BMCTL_DB")
        .env_remove("BMCTL_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(128 + 15),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = last_event(&env, "acme/fs01-nightly");
    assert_eq!(ev["status"], "failed");
    assert!(ev["message"].as_str().unwrap().contains("SIGTERM"), "{ev}");
    let left = Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}")])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "the backup outlived bmctl");
}
