//! #14: Bacula reports and listings, JSON sources, borgmatic — the backup
//! products MSPs run, from captured (Bacula, borgmatic) and synthesized
//! (JSON) fixtures. The real Director runs in `real_clock_bacula_*`.

use crate::env::*;

const BACULA_PLAN: &str = r#"client = "acme"
name = "Acme Corp"
timezone = "Europe/Berlin"
sla_tier = "gold"

[[ci]]
host = "fs01"
kind = "server"
tier = 1

[[policy]]
job = "fs01-files"
ci = "fs01"
tool = "bacula"
schedule = "0 1 * * *"
rpo = "2d"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"

[[policy]]
job = "fs01-data"
ci = "fs01"
tool = "bacula"
schedule = "0 1 * * *"
rpo = "2d"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
match = { director = "bacula-dir-ci", bacula_job = "fs01-missing" }
"#;

const AFTER: &str = "2026-12-08T06:00:00Z";

fn bacula_env() -> TestEnv {
    let env = TestEnv::with_tz("UTC");
    let f = env.write("plan.toml", BACULA_PLAN);
    env.run_at(
        "2026-12-01T08:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    env
}

fn fixture(rel: &str) -> String {
    repo_file(&format!("tests/fixtures/{rel}"))
        .to_str()
        .unwrap()
        .to_string()
}

fn events(env: &TestEnv) -> Vec<(String, String, String)> {
    let list = env.json_at(
        AFTER,
        &[
            "events",
            "list",
            "--client",
            "acme",
            "--since",
            "2026-12-01T00:00:00Z",
        ],
    );
    let mut v: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["job"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
                e["operation"].as_str().unwrap_or("backup").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

const REPORTS: &[&str] = &[
    "1-fs01-files.txt",
    "2-fs01-files.txt",
    "3-fs01-missing.txt",
    "4-fs02-files.txt",
    "5-fs01-prescript.txt",
    "6-fs01-cancel.txt",
    "7-fs01-cancel-mount.txt",
    "8-fs01-verify.txt",
    "9-fs01-restore.txt",
];

#[test]
fn bacula_reports_and_the_listing_record_one_event_per_job() {
    let env = bacula_env();
    for r in REPORTS {
        env.run_at(
            AFTER,
            &[
                "events",
                "ingest",
                "bacula",
                "--tz",
                "Europe/Berlin",
                "--client",
                "acme",
                &fixture(&format!("bacula/reports/{r}")),
            ],
        )
        .ok();
    }
    let after_reports = events(&env);
    assert_eq!(after_reports.len(), 8, "{after_reports:?}");
    // the listing of the same Director adds nothing: one event per job
    let s = env.json_at(
        AFTER,
        &[
            "events",
            "ingest",
            "bacula",
            "--tz",
            "Europe/Berlin",
            "--director",
            "bacula-dir-ci",
            "--client",
            "acme",
            &fixture("bacula/api2-llist-jobs.txt"),
        ],
    );
    assert_eq!(
        (s["new"].as_i64(), s["duplicate"].as_i64()),
        (Some(0), Some(8)),
        "{s}"
    );
    assert_eq!(events(&env), after_reports);
    let count = |job: &str, status: &str| {
        after_reports
            .iter()
            .filter(|(j, s, _)| j == job && s == status)
            .count()
    };
    // the full and the incremental; the missing path is a warning of the mapped policy
    assert_eq!(count("fs01-files", "success"), 2);
    assert_eq!(count("fs01-data", "warning"), 1);
    for job in [
        "fs02-files",
        "fs01-prescript",
        "fs01-cancel",
        "fs01-cancel-mount",
    ] {
        assert_eq!(count(job, "failed"), 1, "{job}: {after_reports:?}");
    }
    assert!(after_reports
        .iter()
        .any(|(j, s, op)| j == "fs01-verify" && s == "success" && op == "check"));
}

#[test]
fn a_bacula_listing_with_an_unknown_status_letter_writes_nothing() {
    let env = bacula_env();
    let text = std::fs::read_to_string(fixture("bacula/llist-jobs.txt"))
        .unwrap()
        .replacen("JobStatus: E", "JobStatus: Q", 1);
    let f = env.write("llist.txt", &text);
    let r = env
        .run_at(
            AFTER,
            &[
                "events",
                "ingest",
                "bacula",
                "--director",
                "d",
                "--client",
                "acme",
                f.to_str().unwrap(),
            ],
        )
        .code(3);
    assert!(r.stderr.contains("llist.txt:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("JobStatus: 'Q' of JobId 5"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count("job_events"), 0);
    // a job no policy maps, without --client: refused, nothing written
    let r = env
        .run_at(
            AFTER,
            &[
                "events",
                "ingest",
                "bacula",
                &fixture("bacula/reports/4-fs02-files.txt"),
            ],
        )
        .code(3);
    assert!(r.stderr.contains("fs02-files"), "{}", r.stderr);
    assert_eq!(env.count("job_events"), 0);
}

const JSON_CONFIG: &str = r#"
[[json.source]]
name = "pbs01"
preset = "pbs"
client = "acme"

[[json.source]]
name = "kopia"
preset = "kopia"
client = "acme"

[[json.source]]
name = "vbr01"
preset = "veeam"
client = "acme"
"#;

#[test]
fn the_three_json_presets_ingest_their_fixtures() {
    let env = onboarded("2026-10-01T08:00:00Z");
    let cfg = env.write("config.toml", JSON_CONFIG);
    let cfg = cfg.to_str().unwrap();
    for (source, file, new) in [
        ("pbs01", "pbs-task-list.json", 4),
        ("kopia", "kopia-snapshot-list.json", 5),
        ("vbr01", "veeam-sessions.json", 0),
    ] {
        let s = env.json_at(
            "2026-11-30T08:00:00Z",
            &[
                "--config",
                cfg,
                "events",
                "ingest",
                "json",
                "--source",
                source,
                &fixture(&format!("json/{file}")),
            ],
        );
        let got = s["new"].as_i64().unwrap() + s["running"].as_i64().unwrap();
        assert!(got >= new.max(1), "{source}: {s}");
        // again: nothing new
        let again = env.json_at(
            "2026-11-30T08:00:00Z",
            &[
                "--config",
                cfg,
                "events",
                "ingest",
                "json",
                "--source",
                source,
                &fixture(&format!("json/{file}")),
            ],
        );
        assert_eq!(again["new"], 0, "{source} again: {again}");
    }
    // a job the plan maps by name: `match = { name = … }`
    let ev = env.json_at(
        "2026-11-30T08:00:00Z",
        &[
            "events",
            "list",
            "--client",
            "acme",
            "--since",
            "2026-10-01T00:00:00Z",
            "--unmatched",
        ],
    );
    assert!(ev.to_string().contains("store1:vm/100"), "{ev}");
}

#[test]
fn a_json_source_that_is_wrong_is_refused_loudly() {
    let env = onboarded("2026-10-01T08:00:00Z");
    let cfg = env.write(
        "config.toml",
        "[[json.source]]\nname = \"x\"\npreset = \"nope\"\nclient = \"acme\"\n",
    );
    let r = env
        .run(&["--config", cfg.to_str().unwrap(), "client", "list"])
        .code(3);
    assert!(
        r.stderr
            .contains("config.toml:1: json.source 'x': preset 'nope'"),
        "{}",
        r.stderr
    );
    let cfg = env.write("config.toml", JSON_CONFIG);
    let doc = env.write("tasks.json", "[\n{\"worker_type\":\"backup\",\"worker_id\":\"a\",\"upid\":\"u\",\"starttime\":\"soon\",\"endtime\":1,\"status\":\"OK\"}\n]");
    let ingest = |source: &str| {
        env.run_at(
            "2026-11-30T08:00:00Z",
            &[
                "--config",
                cfg.to_str().unwrap(),
                "events",
                "ingest",
                "json",
                "--source",
                source,
                doc.to_str().unwrap(),
            ],
        )
        .code(3)
    };
    let r = ingest("pbs01");
    assert!(
        r.stderr.contains("tasks.json:2: items[0].starttime"),
        "{}",
        r.stderr
    );
    let r = ingest("nope");
    assert!(
        r.stderr.contains("no [[json.source]] named 'nope'"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count("job_events"), 0);
}

/// bmctl on the wall clock (the real tools stamp their runs with it).
fn wall(env: &TestEnv, args: &[&str]) -> Run {
    let mut c = env.cmd();
    c.env_remove("BMCTL_NOW");
    c.args(args).output().unwrap().into()
}

/// A real Director, storage and file daemon on localhost run the six kinds
/// of job; each report reaches bmctl through the Director's mail command,
/// then `llist jobs` adds nothing: one event per job.
#[test]
#[ignore = "needs bacula-director, bacula-sd, bacula-fd, bacula-console (root)"]
fn real_clock_bacula_director_reports_then_listing_are_one_event_per_job() {
    let env = TestEnv::with_tz("UTC");
    let f = env.write("plan.toml", BACULA_PLAN);
    wall(&env, &["plan", "import", f.to_str().unwrap()]).ok();
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let out = env.path("bacula-out");
    let pipe = format!(
        "{} --db {} events ingest bacula --tz UTC --client acme -",
        bin.display(),
        env.db.display()
    );
    let mut c = env.base();
    c.env_remove("BMCTL_NOW")
        .env("TZ", "UTC")
        .env("BMCTL_REPORT_PIPE", &pipe)
        .arg("--version"); // replaced below: base() is for its environment
    let mut script = std::process::Command::new("bash");
    script
        .arg(repo_file(".ci/bacula/run.sh"))
        .arg(&out)
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env_remove("BMCTL_NOW");
    let status = script.status().expect("run .ci/bacula/run.sh");
    assert!(
        status.success(),
        "the Bacula run failed; the pipe's log:\n{}",
        std::fs::read_to_string(out.join("report-pipe.log")).unwrap_or_default()
    );
    let list = |env: &TestEnv| -> Vec<serde_json::Value> {
        wall(
            env,
            &["--format", "json", "events", "list", "--client", "acme"],
        )
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone()
    };
    let by_reports = list(&env);
    assert_eq!(by_reports.len(), 8, "{by_reports:?}");
    let llist = out.join("llist-jobs.txt");
    let s = wall(
        &env,
        &[
            "--format",
            "json",
            "events",
            "ingest",
            "bacula",
            "--tz",
            "UTC",
            "--director",
            "bacula-dir-ci",
            "--client",
            "acme",
            llist.to_str().unwrap(),
        ],
    )
    .ok()
    .json();
    assert_eq!(
        (s["new"].as_i64(), s["duplicate"].as_i64()),
        (Some(0), Some(8)),
        "{s}"
    );
    let restores = wall(
        &env,
        &["--format", "json", "restore", "list", "--client", "acme"],
    )
    .ok()
    .json();
    assert_eq!(restores.as_array().unwrap().len(), 1, "{restores}");
    let statuses: Vec<(String, String)> = list(&env)
        .iter()
        .map(|e| {
            (
                e["job"].as_str().unwrap().into(),
                e["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (job, status) in [
        ("fs01-files", "success"),
        ("fs01-data", "warning"),
        ("fs02-files", "failed"),
        ("fs01-prescript", "failed"),
        ("fs01-cancel", "failed"),
        ("fs01-verify", "success"),
    ] {
        assert!(
            statuses.iter().any(|(j, s)| j == job && s == status),
            "{job} {status}: {statuses:?}"
        );
    }
}

/// `bmctl run -- borgmatic … create --json` with the real borgmatic and borg.
#[test]
#[ignore = "needs borgmatic"]
fn real_clock_borgmatic_runs_record_success_warning_and_failure() {
    let env = TestEnv::new();
    let f = env.write("plan.toml", PLAN);
    wall(&env, &["plan", "import", f.to_str().unwrap()]).ok();
    let d = env.path("bm");
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(d.join("src/data.txt"), "ledger\n").unwrap();
    let config = |name: &str, sources: &[&str], pass: &str| {
        let srcs: Vec<String> = sources
            .iter()
            .map(|s| format!("        - {}", d.join(s).display()))
            .collect();
        let text = format!(
            "location:\n    source_directories:\n{}\n    repositories:\n        - {}\nstorage:\n    encryption_passphrase: \"{pass}\"\n    borg_base_directory: {}\n",
            srcs.join("\n"),
            d.join("repo").display(),
            d.join("home").display()
        );
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ok = config("ok.yaml", &["src"], "demo-pass");
    let warn = config("warn.yaml", &["src", "missing"], "demo-pass");
    let bad = config("bad.yaml", &["src"], "wrong");
    let init = std::process::Command::new("borgmatic")
        .args(["-c", &ok, "init", "--encryption", "repokey"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    for (cfg, want, code) in [
        (&ok, "success", 0),
        (&warn, "warning", 1),
        (&bad, "failed", 1),
    ] {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let r = wall(
            &env,
            &[
                "run",
                "--job",
                "acme/sql01-nightly",
                "--",
                "borgmatic",
                "-c",
                cfg,
                "create",
                "--json",
            ],
        );
        assert_eq!(r.code, code, "{cfg}: {}", r.stderr);
        let ev = wall(
            &env,
            &[
                "--format",
                "json",
                "events",
                "list",
                "--job",
                "acme/sql01-nightly",
            ],
        )
        .ok()
        .json();
        let last = ev.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["status"], want, "{cfg}: {last}");
        assert_eq!(last["source"], "borgmatic");
        if want != "failed" {
            assert!(last["bytes"].as_i64().unwrap_or(0) > 0, "{last}");
        } else {
            assert!(
                last["message"].as_str().unwrap().contains("borg exited 2"),
                "{last}"
            );
        }
    }
}
