//! A small test environment: a temporary folder, a database path, a fixed
//! `--now`, and a clean environment (no BMCTL_* from the caller, an odd TZ so
//! that nothing can lean on the machine's zone).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub const NOW: &str = "2026-11-30T07:00:00Z";

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub tz: &'static str,
    /// At the end, the tables must re-derive from the audit log (see Drop).
    deep_verify: std::cell::Cell<bool>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "wrong exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        Self::with_tz("Pacific/Kiritimati")
    }

    /// An environment whose database exists and allows time travel (`--now`
    /// on writes), as every test that fixes the time needs.
    pub fn with_tz(tz: &'static str) -> TestEnv {
        let env = Self::empty(tz);
        env.run(&["init", "--allow-time-travel"]).ok();
        env
    }

    /// An environment with no database file yet.
    pub fn empty(tz: &'static str) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("bmctl.db");
        TestEnv {
            dir,
            db,
            tz,
            deep_verify: std::cell::Cell::new(true),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write fixture");
        p
    }

    /// A bmctl command on this environment's database at the fixed `NOW`.
    pub fn cmd(&self) -> Command {
        let mut c = self.base();
        c.arg("--db").arg(&self.db);
        c
    }

    /// A bmctl command in this environment with no `--db`.
    pub fn base(&self) -> Command {
        let mut c = Command::cargo_bin("bmctl").expect("binary");
        c.current_dir(self.dir.path())
            .env_remove("BMCTL_DB")
            .env_remove("BMCTL_CONFIG")
            .env_remove("NO_COLOR")
            .env("BMCTL_NOW", NOW)
            .env("BMCTL_ACTOR", "tester")
            // the test's login may name the actor, as a service account
            // replaying history does (README, "Running bmctl for a team")
            .env("BMCTL_SERVICE_ACCOUNTS", test_login())
            .env_remove("SUDO_UID")
            .env("TZ", self.tz)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd().args(args).output().expect("run bmctl").into()
    }

    /// A bmctl command in this environment on another database (a copy).
    pub fn run_on(&self, db: &Path, args: &[&str]) -> Run {
        self.base()
            .arg("--db")
            .arg(db)
            .args(args)
            .output()
            .expect("run bmctl")
            .into()
    }

    /// `--format json` and `args`, which must succeed: the JSON printed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        self.run(&all).ok().json()
    }

    /// [`TestEnv::json`] at `now`.
    #[track_caller]
    pub fn json_at(&self, now: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        self.run_at(now, &all).ok().json()
    }

    pub fn run_at(&self, now: &str, args: &[&str]) -> Run {
        self.cmd()
            .arg("--now")
            .arg(now)
            .args(args)
            .output()
            .expect("run bmctl")
            .into()
    }

    /// A test that edits the tables behind bmctl's back: skip the check at
    /// the end that they re-derive from the audit log.
    pub fn tampered(&self) {
        self.deep_verify.set(false);
    }

    /// Rows in a table, read straight from the database file.
    pub fn count(&self, table: &str) -> i64 {
        count_in(&self.db, table)
    }
}

/// Whatever a test did through bmctl, every ticket, change, pause, restore
/// attempt, client, CI, policy and event must be what its audit rows say.
impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() || !self.deep_verify.get() || !self.db.exists() {
            return;
        }
        let r = self.run(&["audit", "verify", "--deep"]);
        assert_eq!(
            r.code, 0,
            "the tables do not re-derive from the audit log\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
    }
}

pub fn count_in(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// An environment holding the demo (`bmctl-demo.db`, its reviews beside
/// it in `bmctl-demo-reviews/`); the database's path.
pub fn demo_env() -> (TestEnv, String) {
    let env = TestEnv::new();
    let db = env.path("bmctl-demo.db");
    let r = env
        .base()
        .args(["--db", db.to_str().unwrap(), "demo"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    (env, db.display().to_string())
}

/// A CI of acme with no backup: the register's `unprotected-ci`.
pub const ADD_PRINT01: &[&str] = &[
    "cmdb",
    "add",
    "acme/print01",
    "--kind",
    "server",
    "--tier",
    "3",
];

/// `plan review` of acme's 2026-Q4 at `now`, one format; the file's text.
pub fn review_file(env: &TestEnv, now: &str, format: &str) -> String {
    let out = env.path(&format!("qsr-{}-{format}", now.replace(':', "")));
    let o = out.to_str().unwrap();
    env.run_at(
        now,
        &[
            "plan",
            "review",
            "--client",
            "acme",
            "--quarter",
            "2026-Q4",
            "--out",
            o,
            "--formats",
            format,
        ],
    )
    .ok();
    std::fs::read_to_string(out.join(format!("acme/qsr-2026-Q4.{format}"))).unwrap()
}

/// The login the tests run as (`id -un`).
pub fn test_login() -> String {
    static LOGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOGIN
        .get_or_init(|| {
            let o = std::process::Command::new("id")
                .arg("-un")
                .output()
                .expect("id -un");
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .clone()
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub const PLAN: &str = r#"client = "acme"
name = "Acme Corp"
timezone = "Europe/Berlin"
sla_tier = "gold"

[[ci]]
host = "fs01"
kind = "server"
tier = 1

[[ci]]
host = "sql01"
kind = "database"
tier = 2

[[policy]]
job = "fs01-nightly"
ci = "fs01"
tool = "restic"
schedule = "0 22 * * *"
rpo = "3d"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
match = { host = "fs01", tags = ["nightly"] }

[[policy]]
job = "sql01-nightly"
ci = "sql01"
tool = "borg"
schedule = "0 23 * * *"
rpo = "3d"
grace = "2h"
retention = { daily = 7 }
target = "local"
restore_test = "monthly"
rto = "4h"
match = { host = "sql01" }
"#;

/// A test environment with the plan imported at `at`.
pub fn onboarded(at: &str) -> TestEnv {
    let env = TestEnv::new();
    let f = env.write("plan.toml", PLAN);
    env.run_at(at, &["plan", "import", f.to_str().unwrap()])
        .ok();
    env
}

pub fn line(job: &str, status: &str, started: &str, extra: &str) -> String {
    format!(
        r#"{{"client":"acme","job":"{job}","status":"{status}","started_at":"{started}","ended_at":"{started}","source":"test"{extra}}}"#
    )
}

pub fn import_lines(env: &TestEnv, now: &str, lines: &[String]) -> Run {
    let f = env.write("batch.jsonl", &(lines.join("\n") + "\n"));
    env.run_at(
        now,
        &["--format", "json", "events", "import", f.to_str().unwrap()],
    )
}

pub const STRICT_PLAN: &str = r#"client = "acme"
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

pub fn onboard_strict(env: &TestEnv) {
    let f = env.write("acme.toml", STRICT_PLAN);
    env.run(&["plan", "import", f.to_str().unwrap()]).ok();
}

pub const SILVER: &str = r#"client = "bravo"
name = "Bravo Ltd"
timezone = "UTC"
sla_tier = "silver"

[[ci]]
host = "app02"
kind = "vm"
tier = 2

[[policy]]
job = "app02-nightly"
ci = "app02"
tool = "restic"
schedule = "0 1 * * *"
rpo = "2d"
grace = "2h"
retention = { daily = 7 }
target = "local"
restore_test = "never"
rto = "8h"
"#;

pub fn tickets(env: &TestEnv) -> serde_json::Value {
    env.json(&["correct", "list", "--all"])
}

/// The KPI fixture: acme (Europe/Berlin, fs01-nightly 22:00 and sql01-nightly
/// 23:00, grace 2h), only one custom task template, events, checks, tasks
/// and restore attempts at known instants. See `kpis_worked_out_by_hand`.
pub fn kpi_fixture() -> TestEnv {
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
        let all = env.json(&["tasks", "due"]);
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
    let f = env.write("bravo.toml", SILVER);
    env.run_at(
        "2026-11-10T00:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    env
}

/// `macd add` of an hourly fs01 policy on the acme plan ([`PLAN`]): the
/// request the tests of the queue, exit codes and MACD make.
pub const ADD_FS01_HOURLY: &[&str] = &[
    "macd",
    "add",
    "--client",
    "acme",
    "--ci",
    "fs01",
    "--job",
    "fs01-hourly",
    "--tool",
    "restic",
    "--schedule",
    "0 * * * *",
    "--rpo",
    "2h",
    "--grace",
    "30m",
    "--retention",
    "hourly=24",
    "--target",
    "local",
    "--restore-test",
    "monthly",
    "--rto",
    "4h",
    "--reason",
    "hourly snapshots",
];

/// [`ADD_FS01_HOURLY`] with flags' values replaced.
pub fn add_fs01_hourly_with(values: &[(&str, &'static str)]) -> Vec<&'static str> {
    let mut args = ADD_FS01_HOURLY.to_vec();
    for (flag, value) in values {
        let i = args
            .iter()
            .position(|a| a == flag)
            .expect("a flag of the add")
            + 1;
        args[i] = value;
    }
    args
}
