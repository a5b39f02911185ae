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
            .env_remove("BMCTL_ACTOR")
            .env_remove("NO_COLOR")
            .env("BMCTL_NOW", NOW)
            .env("USER", "tester")
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

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}
