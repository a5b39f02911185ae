//! `bmctl config` and the config file: precedence and unknown keys.

use crate::env::*;

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

/// #16: a PostgreSQL URL is told from a file and its password never shown.
#[test]
fn a_postgresql_url_is_refused_for_now_and_its_password_never_printed() {
    let env = TestEnv::new();
    let url = "postgresql://alice:s3cret@db.msp/bmctl";
    let r = env
        .base()
        .args(["--db", url, "client", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "postgresql://alice:***@db.msp/bmctl: the team store on PostgreSQL is being built"
        ),
        "{err}"
    );
    let shown = env
        .base()
        .args(["--db", url, "config", "show"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(
        out.contains("postgresql://alice:***@db.msp/bmctl") && !out.contains("s3cret"),
        "{out}"
    );
}
