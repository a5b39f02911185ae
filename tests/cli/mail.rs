//! #14 §2: report e-mails — a Maildir of real Bacula report mails (from the
//! Director in `.ci/bacula`), a cron mail of a restic run, Veeam's subject
//! by the preset, an unknown mail; the intake queue; read twice, nothing new.

use std::path::Path;

use crate::env::*;

const MAIL_PLAN: &str = r#"client = "acme"
name = "Acme Corp"
timezone = "Europe/Berlin"
sla_tier = "gold"

[[ci]]
host = "fs01"
kind = "server"
tier = 1

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
job = "fs01-pre"
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
job = "vbr-daily"
ci = "fs01"
tool = "veeam"
schedule = "0 22 * * *"
rpo = "2d"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
match = { name = "Daily VM Backup" }

[[policy]]
job = "fs09-nightly"
ci = "fs01"
tool = "restic"
schedule = "0 22 * * *"
rpo = "3d"
grace = "2h"
retention = { daily = 7 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
"#;

const RULES: &str = r#"
[[mail.rule]]
name = "veeam-acme"
preset = "veeam"
from = "@weber-steuer\\.local$|veeam"
client = "acme"
"#;

const AT: &str = "2026-12-08T06:00:00Z";

fn mail_env() -> (TestEnv, String) {
    let env = TestEnv::with_tz("UTC");
    let f = env.write("plan.toml", MAIL_PLAN);
    env.run_at(
        "2026-10-01T08:00:00Z",
        &["plan", "import", f.to_str().unwrap()],
    )
    .ok();
    let cfg = env.write("config.toml", RULES);
    (env, cfg.to_str().unwrap().to_string())
}

fn maildir(env: &TestEnv, files: &[&str]) -> std::path::PathBuf {
    let md = env.path("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    for (i, f) in files.iter().enumerate() {
        let from = repo_file(&format!("tests/fixtures/{f}"));
        std::fs::copy(&from, md.join("new").join(format!("{i:03}.msg"))).unwrap();
    }
    md
}

fn bacula_mails() -> Vec<String> {
    let dir = repo_file("tests/fixtures/bacula/Maildir/new");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            format!(
                "bacula/Maildir/new/{}",
                e.unwrap().file_name().to_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn ingest(env: &TestEnv, cfg: &str, path: &str) -> serde_json::Value {
    env.json_at(AT, &["--config", cfg, "events", "ingest", "mail", path])
}

#[test]
fn a_maildir_of_reports_becomes_runs_and_intake_and_reading_it_twice_changes_nothing() {
    let (env, cfg) = mail_env();
    let mut files: Vec<String> = bacula_mails();
    files.extend(
        [
            "mail/restic-cron.eml",
            "mail/veeam-success.eml",
            "mail/veeam-failed.eml",
            "mail/unknown.eml",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let md = maildir(&env, &refs);
    let s = ingest(&env, &cfg, md.to_str().unwrap());
    assert_eq!(s["messages"], 14, "{s}");
    // Bacula: fs01-files (full, incremental) by its name, and the restore of
    // its JobId 1 a real recovery attempt; the other jobs and the operator's
    // request wait in the intake; the cron mail is fs01-nightly's run; both
    // Veeam mails are read by the preset
    assert_eq!(s["recorded"], 6, "{s}");
    assert_eq!(s["skipped"], 0, "{s}");
    assert_eq!(s["intake"], 8, "{s}");
    let restores = env.json_at(AT, &["restore", "list", "--client", "acme"]);
    let r = &restores.as_array().unwrap()[0];
    assert_eq!(
        (r["job"].as_str(), r["kind"].as_str(), r["outcome"].as_str()),
        (Some("fs01-files"), Some("real"), Some("success")),
        "{restores}"
    );
    let events_after = env.count("job_events");
    let intake_after = env.count("intake");
    assert_eq!(intake_after, 8);
    // read: moved to cur/ with the seen flag, never deleted
    assert!(files_in(&md.join("new")).is_empty());
    let cur = files_in(&md.join("cur"));
    assert_eq!(cur.len(), 14);
    assert!(cur.iter().all(|f| f.ends_with(":2,S")), "{cur:?}");
    // again: nothing new (also after putting them back as unread)
    for f in &cur {
        std::fs::rename(
            md.join("cur").join(f),
            md.join("new").join(f.trim_end_matches(":2,S")),
        )
        .unwrap();
    }
    let again = ingest(&env, &cfg, md.to_str().unwrap());
    assert_eq!(
        (again["seen_before"].as_i64(), again["intake"].as_i64()),
        (Some(14), Some(0)),
        "{again}"
    );
    assert_eq!(env.count("job_events"), events_after);
    assert_eq!(env.count("intake"), intake_after);
    assert_eq!(env.count("recovery_attempts"), 1);

    let ev = env.json_at(
        AT,
        &[
            "events",
            "list",
            "--client",
            "acme",
            "--since",
            "2026-10-01T00:00:00Z",
        ],
    );
    let jobs: Vec<(String, String)> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["job"].as_str().unwrap().into(),
                e["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("fs01-files", "success"),
        ("fs01-nightly", "success"),
        ("vbr-daily", "success"),
        ("SQL Backup", "failed"),
    ] {
        assert!(
            jobs.iter().any(|(j, s)| j == want.0 && s == want.1),
            "{want:?} in {jobs:?}"
        );
    }
    // the intake lists the messages and the job seen only in runs
    let list = env.json_at(AT, &["intake", "list"]);
    let rows = list.as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["kind"] == "job" && r["job"] == "SQL Backup"),
        "{list}"
    );
    let pre = rows
        .iter()
        .find(|r| r["job"] == "fs01-prescript")
        .unwrap_or_else(|| panic!("{list}"));
    let unknown = rows
        .iter()
        .find(|r| r["why"].as_str().unwrap().contains("November-Aktion"))
        .unwrap();
    // map: the plan learns the Bacula job, and the message is read again
    let id = pre["id"].to_string();
    let shown = env.json_at(AT, &["intake", "show", &id]);
    assert!(
        shown["text"]
            .as_str()
            .unwrap()
            .contains("BeforeJob returned non-zero"),
        "{shown}"
    );
    env.run_at(
        AT,
        &[
            "--config",
            &cfg,
            "intake",
            "map",
            &id,
            "--job",
            "acme/fs01-pre",
        ],
    )
    .ok();
    assert!(env
        .json_at(AT, &["events", "list", "--job", "acme/fs01-pre"])
        .to_string()
        .contains("failed"));
    let plan = env.run(&["plan", "export", "acme"]).ok().stdout;
    assert!(plan.contains(r#"bacula_job = "fs01-prescript""#), "{plan}");
    assert_eq!(
        env.json(&["plan", "history", "acme"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // a mapped message cannot be mapped again; an unknown one is set aside
    env.run_at(AT, &["intake", "map", &id, "--job", "acme/fs01-pre"])
        .code(3);
    let uid = unknown["id"].to_string();
    env.run_at(AT, &["intake", "map", &uid, "--job", "acme/fs01-pre"])
        .code(3);
    env.run_at(AT, &["intake", "ignore", &uid, "--reason", "newsletter"])
        .ok();
    let open = env.json_at(AT, &["intake", "list"]);
    assert!(!open.to_string().contains("November-Aktion"), "{open}");
}

#[test]
fn one_message_from_an_mta_pipe_and_an_mbox_left_as_it_was() {
    let (env, cfg) = mail_env();
    let raw = std::fs::read(repo_file("tests/fixtures/mail/restic-cron.eml")).unwrap();
    let out = env
        .cmd()
        .env("BMCTL_NOW", AT)
        .args([
            "--config", &cfg, "--format", "json", "events", "ingest", "mail", "-",
        ])
        .write_stdin(raw)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.count("job_events"), 1);
    // an mbox: two messages, the first again (by Message-ID) adds nothing
    let mut mbox = Vec::new();
    for f in ["restic-cron.eml", "veeam-warning.eml"] {
        mbox.extend_from_slice(b"From someone@example Wed Nov  4 01:19:47 2026\n");
        mbox.extend(std::fs::read(repo_file(&format!("tests/fixtures/mail/{f}"))).unwrap());
        mbox.extend_from_slice(b"\n");
    }
    let path = env.path("inbox.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let s = ingest(&env, &cfg, path.to_str().unwrap());
    assert_eq!(
        (s["messages"].as_i64(), s["seen_before"].as_i64()),
        (Some(2), Some(1)),
        "{s}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), mbox);
    assert_eq!(env.count("job_events"), 2);
}

#[test]
fn bad_mail_input_is_refused_naming_the_file_and_writes_nothing() {
    let (env, cfg) = mail_env();
    let md = maildir(&env, &["mail/restic-cron.eml"]);
    std::fs::write(md.join("new/zzz-garbage"), b"\x00\x01 not a message").unwrap();
    let r = env
        .run_at(
            AT,
            &[
                "--config",
                &cfg,
                "events",
                "ingest",
                "mail",
                md.to_str().unwrap(),
            ],
        )
        .code(3);
    assert!(
        r.stderr.contains("zzz-garbage: is not a mail message"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count("job_events"), 0);
    assert_eq!(files_in(&md.join("new")).len(), 2, "nothing moved");
    // a folder that is no Maildir
    let r = env
        .run_at(
            AT,
            &[
                "--config",
                &cfg,
                "events",
                "ingest",
                "mail",
                env.path("").to_str().unwrap(),
            ],
        )
        .code(3);
    assert!(r.stderr.contains("must be a Maildir"), "{}", r.stderr);
    // a rule that is no regex: the config names the line and the rule
    let bad = env.write(
        "bad.toml",
        "[tickets]\nauto_resolve = true\n\n[[mail.rule]]\nname = \"broken\"\nsubject = \"(\"\n",
    );
    let r = env
        .run(&["--config", bad.to_str().unwrap(), "client", "list"])
        .code(3);
    assert!(
        r.stderr
            .contains("bad.toml:4: mail.rule 'broken': subject is not a regex"),
        "{}",
        r.stderr
    );
}

fn id_of(env: &TestEnv, needle: &str) -> String {
    let list = env.json_at(AT, &["intake", "list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["why"].as_str().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("{needle} in {list}"))["id"]
        .to_string()
}

#[test]
fn intake_map_places_the_message_or_refuses_and_retry_reads_it_again() {
    let (env, cfg) = mail_env();
    let bacula = repo_file("tests/fixtures/bacula/Maildir/new");
    let mail_of = |job: &str| {
        let mut v: Vec<_> = std::fs::read_dir(&bacula)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v.into_iter()
            .find(|p| {
                std::fs::read_to_string(p).unwrap().lines().any(|l| {
                    l.trim_start()
                        .strip_prefix("Job:")
                        .is_some_and(|v| v.trim_start().starts_with(job))
                })
            })
            .unwrap()
    };
    // the restore's report before its backup's: it waits
    let md = maildir(&env, &[]);
    std::fs::copy(mail_of("fs01-restore"), md.join("new/1.restore")).unwrap();
    let cron = std::fs::read_to_string(repo_file("tests/fixtures/mail/restic-cron.eml"))
        .unwrap()
        .replace("Cron <root@fs01>", "Cron <root@fs09>")
        .replace("Message-ID: <", "Message-ID: <fs09-");
    std::fs::write(md.join("new/2.cron"), cron).unwrap();
    std::fs::copy(mail_of("fs02-files"), md.join("new/3.fs02")).unwrap();
    let s = ingest(&env, &cfg, md.to_str().unwrap());
    assert_eq!(s["intake"], 3, "{s}");
    let restore = id_of(&env, "restore bacula-dir-ci:9");
    let r = env
        .run_at(AT, &["intake", "map", &restore, "--job", "acme/fs01-files"])
        .code(3);
    assert!(
        r.stderr.contains(&format!("bmctl intake retry {restore}")),
        "{}",
        r.stderr
    );
    // a cron mail of a host no policy names: its host becomes the match
    let fs09 = id_of(&env, "host fs09");
    let r = env
        .run_at(AT, &["intake", "map", &fs09, "--job", "acme/vbr-daily"])
        .code(3);
    assert!(
        r.stderr
            .contains("a restic run cannot be acme/vbr-daily, a veeam policy"),
        "{}",
        r.stderr
    );
    env.run_at(AT, &["intake", "map", &fs09, "--job", "acme/fs09-nightly"])
        .ok();
    assert_eq!(
        env.json_at(AT, &["events", "list", "--job", "acme/fs09-nightly"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // a Bacula job onto a policy that matches another already: refused
    let fs02 = id_of(&env, "fs02-files");
    env.run_at(AT, &["intake", "map", &fs02, "--job", "acme/fs01-pre"])
        .ok();
    let plan = env.run(&["plan", "export", "acme"]).ok().stdout;
    assert!(plan.contains(r#"bacula_job = "fs02-files""#), "{plan}");
    // the backup's report comes: the restore is read again and placed
    std::fs::copy(
        mail_of("fs01-files.2026-12-08_01.50.39"),
        md.join("new/4.full"),
    )
    .unwrap();
    ingest(&env, &cfg, md.to_str().unwrap());
    env.run_at(AT, &["intake", "retry", &restore]).ok();
    let restores = env.json_at(AT, &["restore", "list", "--client", "acme"]);
    assert_eq!(restores.as_array().unwrap().len(), 1, "{restores}");
    assert_eq!(
        env.json_at(AT, &["intake", "list"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // the plan's own job name still maps, beside what its match names
    let text = std::fs::read_to_string(repo_file(
        "tests/fixtures/bacula/reports/5-fs01-prescript.txt",
    ))
    .unwrap()
    .replace("fs01-prescript", "fs01-pre")
    .replace("JobId 5", "JobId 55")
    .replace("JobId:                  5", "JobId:                  55");
    let f = env.write("pre.txt", &text);
    env.run_at(
        AT,
        &[
            "events",
            "ingest",
            "bacula",
            "--tz",
            "Europe/Berlin",
            f.to_str().unwrap(),
        ],
    )
    .ok();
    // a read message whose name is taken in cur/ is kept beside it
    let cur = files_in(&md.join("cur"));
    std::fs::copy(
        repo_file("tests/fixtures/mail/unknown.eml"),
        md.join("new").join(cur[0].trim_end_matches(":2,S")),
    )
    .unwrap();
    ingest(&env, &cfg, md.to_str().unwrap());
    assert_eq!(files_in(&md.join("cur")).len(), cur.len() + 1);
}
