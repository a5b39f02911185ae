//! Backup changes (MACD, 05f.03–05f.06) through the real binary.

use crate::env::*;

fn json(r: Run) -> serde_json::Value {
    r.ok().json()
}

fn history(env: &TestEnv) -> usize {
    env.json(&["plan", "history", "acme"])
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn add_change_move_delete_full_lifecycles() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let at = |now: &str, actor: &str, args: &[&str]| {
        env.run_at(
            now,
            &[&["--actor", actor, "--format", "json"], args].concat(),
        )
    };

    // add, onto a CI that is not in the CMDB yet
    let c = json(at(
        "2026-11-02T10:00:00Z",
        "alice",
        &[
            "macd",
            "add",
            "--client",
            "acme",
            "--ci",
            "fs02",
            "--new-ci",
            "--kind",
            "server",
            "--tier",
            "2",
            "--job",
            "fs02-nightly",
            "--tool",
            "restic",
            "--schedule",
            "0 21 * * *",
            "--rpo",
            "24h",
            "--grace",
            "2h",
            "--retention",
            "daily=7",
            "--target",
            "offsite",
            "--restore-test",
            "monthly",
            "--rto",
            "4h",
            "--reason",
            "new file server",
            "--ref",
            "CHG-1",
        ],
    ));
    for k in [
        "id",
        "type",
        "client",
        "job",
        "state",
        "risk",
        "requested_by",
        "approved_by",
        "ref",
    ] {
        assert!(c.get(k).is_some(), "key {k}");
    }
    assert_eq!(
        (c["type"].as_str(), c["risk"].as_str(), c["state"].as_str()),
        (Some("add"), Some("low"), Some("requested"))
    );
    let id = c["id"].to_string();
    at("2026-11-02T11:00:00Z", "bob", &["macd", "approve", &id]).ok();
    at("2026-11-02T12:00:00Z", "carol", &["macd", "implement", &id]).ok();
    import_lines(
        &env,
        "2026-11-02T22:00:00Z",
        &[line("fs02-nightly", "success", "2026-11-02T20:00:00Z", "")],
    )
    .ok();
    let done = json(at(
        "2026-11-03T08:00:00Z",
        "carol",
        &["macd", "complete", &id],
    ));
    assert_eq!(done["plan_version"], 2);
    assert_eq!(history(&env), 2);
    let diff = env.json(&["plan", "diff", "acme", "1", "2"]);
    let items: Vec<&str> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["ci fs02", "policy fs02-nightly"]);
    let ci = env.json(&["cmdb", "show", "acme/fs02"]);
    assert_eq!(
        (ci["backup_status"].as_str(), ci["last_change_ref"].as_str()),
        (Some("protected"), Some("CHG-1"))
    );

    // change: exactly the changed fields in the plan diff
    let c = json(at(
        "2026-11-04T10:00:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/fs01-nightly",
            "--set",
            "schedule=30 22 * * *",
            "--set",
            "rto=2h",
            "--reason",
            "later window",
        ],
    ));
    assert_eq!(c["risk"], "medium");
    let id = c["id"].to_string();
    at("2026-11-04T11:00:00Z", "bob", &["macd", "approve", &id]).ok();
    at("2026-11-04T12:00:00Z", "bob", &["macd", "implement", &id]).ok();
    json(at(
        "2026-11-05T08:00:00Z",
        "bob",
        &[
            "macd",
            "complete",
            &id,
            "--verified-by",
            "watched the 22:30 run in the console",
        ],
    ));
    let diff = env.json(&["plan", "diff", "acme", "2", "3"]);
    let fields: Vec<(&str, &str, &str)> = diff
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap(),
                d["old"].as_str().unwrap(),
                d["new"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("schedule", "0 22 * * *", "30 22 * * *"),
            ("rto", "4h", "2h")
        ]
    );

    // move to the new CI
    let c = json(at(
        "2026-11-06T10:00:00Z",
        "alice",
        &[
            "macd",
            "move",
            "acme/sql01-nightly",
            "--to-ci",
            "fs02",
            "--reason",
            "consolidation",
        ],
    ));
    assert_eq!(c["risk"], "medium", "{c:#}");
    let id = c["id"].to_string();
    at("2026-11-06T11:00:00Z", "bob", &["macd", "approve", &id]).ok();
    at("2026-11-06T12:00:00Z", "bob", &["macd", "implement", &id]).ok();
    json(at(
        "2026-11-06T13:00:00Z",
        "bob",
        &["macd", "complete", &id, "--verified-by", "manual run ok"],
    ));
    let diff = env.json(&["plan", "diff", "acme", "3", "4"]);
    assert_eq!(diff[0]["field"], "ci");
    assert_eq!(
        (diff[0]["old"].as_str(), diff[0]["new"].as_str()),
        (Some("sql01"), Some("fs02"))
    );
    let sql01 = env.json(&["cmdb", "show", "acme/sql01"]);
    assert_eq!(sql01["backup_status"], "unprotected");

    // delete fs02-nightly (fs02 keeps sql01-nightly), keeping the backups a year
    import_lines(
        &env,
        "2026-11-07T22:00:00Z",
        &[line("fs02-nightly", "success", "2026-11-07T20:00:00Z", "")],
    )
    .ok();
    let c = json(at(
        "2026-11-08T10:00:00Z",
        "alice",
        &[
            "macd",
            "delete",
            "acme/fs02-nightly",
            "--reason",
            "replaced",
            "--ref",
            "CHG-9",
        ],
    ));
    // fs02's other policy (sql01-nightly) copies only locally: this was its only offsite copy
    assert_eq!(c["risk"], "high");
    assert_eq!(
        c["risk_reasons"],
        serde_json::json!(["removes the only offsite/immutable copy"])
    );
    let id = c["id"].to_string();
    // show: what a delete takes away, and that its retention is still to decide
    let shown = env.run(&["macd", "show", &format!("CR-{id}")]).ok().stdout;
    assert!(
        shown.contains("deletes acme/fs02-nightly:")
            && shown.contains("target        offsite")
            && shown.contains("retention decision: at implementation"),
        "{shown}"
    );
    at(
        "2026-11-08T11:00:00Z",
        "bob",
        &["macd", "approve", &id, "--confirm-risk"],
    )
    .ok();
    let r = at(
        "2026-11-08T12:00:00Z",
        "bob",
        &[
            "macd",
            "implement",
            &id,
            "--retain-until",
            "2027-11-08",
            "--confirm",
            "acme/fs02-nightly",
        ],
    )
    .ok();
    assert_eq!(r.json()["state"], "implemented");
    // times in JSON are RFC 3339: the date as typed is midnight in Berlin
    assert_eq!(r.json()["retain_until"], "2027-11-07T23:00:00Z");
    assert_eq!(r.json()["implemented_at"], "2026-11-08T12:00:00Z");
    let tasks = env.json(&["tasks", "due", "--client", "acme"]);
    // the date as typed, midnight in acme's zone (Berlin), not its UTC day
    assert!(tasks.as_array().unwrap().iter().any(|t| t["title"]
        == "Verify disposal of the backups of acme/fs02-nightly (retained until 2027-11-08)"));
    json(at(
        "2026-11-08T13:00:00Z",
        "bob",
        &["macd", "complete", &id],
    ));
    assert_eq!(history(&env), 5);
    let plan = env.json(&["plan", "show", "acme"]);
    assert!(plan["policies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["job"] != "fs02-nightly"));
    assert_eq!(
        env.json(&["cmdb", "show", "acme/fs02"])["last_change_ref"],
        "CHG-9"
    );
    // restore-test tasks follow the live policies: none for the deleted job
    env.run_at("2026-11-28T12:00:00Z", &["tasks", "generate"])
        .ok();
    let due = json(env.run_at(
        "2026-11-28T12:00:00Z",
        &["--format", "json", "tasks", "due"],
    ));
    let titles: Vec<&str> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Test restore: acme/sql01-nightly"),
        "{titles:?}"
    );
    assert!(
        !titles
            .iter()
            .any(|t| t.starts_with("Test restore: acme/fs02-nightly")),
        "{titles:?}"
    );
    let audit = env.json(&["audit", "list", "--entity", "change"]);
    assert!(audit.as_array().unwrap().len() >= 16);
    let list = env.json(&["macd", "list"]);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["state"] == "completed"));
    let done = env.json(&["macd", "list", "--state", "completed"]);
    assert_eq!(done, list);
    let bogus = env.run(&["macd", "list", "--state", "bogus"]).code(2);
    assert!(
        bogus
            .stderr
            .contains("[possible values: requested, approved"),
        "{}",
        bogus.stderr
    );
    let show = env.json(&["macd", "show", "2"]);
    // the number as `macd list` prints it
    assert_eq!(env.json(&["macd", "show", "CR-2"]), show);
    env.run(&["macd", "show", "CHG-2"]).code(2);
    assert_eq!(show["diff"].as_array().unwrap().len(), 2);
    assert!(show["timeline"].as_array().unwrap().len() >= 4);
}

#[test]
fn illegal_steps_are_refused_and_change_nothing() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let at = |now: &str, actor: &str, args: &[&str]| {
        env.run_at(
            now,
            &[&["--actor", actor, "--format", "json"], args].concat(),
        )
    };
    let add = json(at(
        "2026-11-02T10:00:00Z",
        "alice",
        &add_fs01_hourly_with(&[
            ("--restore-test", "never"),
            ("--rto", "1h"),
            ("--reason", "more restore points"),
        ]),
    ));
    let id = add["id"].to_string();
    // show: an add's whole proposal
    let shown = env.run(&["macd", "show", &id]).ok().stdout;
    assert!(
        shown.contains("proposal: add acme/fs01-hourly:")
            && shown.contains("schedule      0 * * * *")
            && shown.contains("retention     hourly=24"),
        "{shown}"
    );
    // an add is judged by what it leaves unprotected: tier-1 fs01, never tested
    assert_eq!(add["risk"], "high");
    assert_eq!(
        add["risk_reasons"],
        serde_json::json!(["a tier-1 CI's backup that is never restore-tested"])
    );
    let before = env.count("audit_log");
    // implement before approval
    let r = at("2026-11-02T10:30:00Z", "bob", &["macd", "implement", &id]).code(5);
    assert!(
        r.stderr.contains("'requested'") && r.stderr.contains(&format!("bmctl macd approve {id}")),
        "{}",
        r.stderr
    );
    // approval by the requester
    let r = at("2026-11-02T11:00:00Z", "alice", &["macd", "approve", &id]).code(5);
    assert!(r.stderr.contains("segregation of duties"), "{}", r.stderr);
    assert_eq!(env.count("audit_log"), before, "nothing written");
    at("2026-11-02T11:00:00Z", "bob", &["macd", "approve", &id]).code(5);
    at(
        "2026-11-02T11:00:00Z",
        "bob",
        &["macd", "approve", &id, "--confirm-risk"],
    )
    .ok();
    at("2026-11-02T12:00:00Z", "bob", &["macd", "implement", &id]).ok();
    // complete an add before any successful backup; accepted after one
    let r = at("2026-11-02T13:00:00Z", "bob", &["macd", "complete", &id]).code(5);
    assert!(
        r.stderr.contains("no successful backup") && r.stderr.contains("--verified-by"),
        "{}",
        r.stderr
    );
    import_lines(
        &env,
        "2026-11-02T15:00:00Z",
        &[line("fs01-hourly", "success", "2026-11-02T14:00:00Z", "")],
    )
    .ok();
    at("2026-11-02T16:00:00Z", "bob", &["macd", "complete", &id]).ok();

    // a high-risk delete: the CI's last... fs01 is tier 1
    import_lines(
        &env,
        "2026-11-02T22:00:00Z",
        &[line("fs01-nightly", "success", "2026-11-02T21:00:00Z", "")],
    )
    .ok();
    let del = json(at(
        "2026-11-03T10:00:00Z",
        "alice",
        &["macd", "delete", "acme/fs01-nightly", "--reason", "retire"],
    ));
    assert_eq!(del["risk"], "high");
    let id = del["id"].to_string();
    let r = at("2026-11-03T11:00:00Z", "bob", &["macd", "approve", &id]).code(5);
    assert!(r.stderr.contains("--confirm-risk"), "{}", r.stderr);
    at(
        "2026-11-03T11:00:00Z",
        "bob",
        &["macd", "approve", &id, "--confirm-risk"],
    )
    .ok();
    let before = (env.count("audit_log"), env.count("tickets"));
    // no retention decision
    let r = at(
        "2026-11-03T12:00:00Z",
        "bob",
        &["macd", "implement", &id, "--confirm", "acme/fs01-nightly"],
    )
    .code(5);
    assert!(
        r.stderr.contains("--retain-until") && r.stderr.contains("--dispose"),
        "{}",
        r.stderr
    );
    // no confirmation, and --yes does not stand in for it
    let r = at(
        "2026-11-03T12:00:00Z",
        "bob",
        &["--yes", "macd", "implement", &id, "--dispose"],
    )
    .code(5);
    assert!(
        r.stderr.contains("--confirm acme/fs01-nightly"),
        "{}",
        r.stderr
    );
    at(
        "2026-11-03T12:00:00Z",
        "bob",
        &[
            "macd",
            "implement",
            &id,
            "--dispose",
            "--confirm",
            "acme/fs01",
        ],
    )
    .code(5);
    assert_eq!(
        (env.count("audit_log"), env.count("tickets")),
        before,
        "nothing written"
    );
    let plan = env.json(&["plan", "show", "acme"]);
    assert!(plan["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["job"] == "fs01-nightly"));
    // a last run that failed needs --force --reason
    import_lines(
        &env,
        "2026-11-03T22:00:00Z",
        &[line("fs01-nightly", "failed", "2026-11-03T21:00:00Z", "")],
    )
    .ok();
    let r = at(
        "2026-11-04T12:00:00Z",
        "bob",
        &[
            "macd",
            "implement",
            &id,
            "--dispose",
            "--confirm",
            "acme/fs01-nightly",
        ],
    )
    .code(5);
    assert!(r.stderr.contains("was not a success"), "{}", r.stderr);
    at(
        "2026-11-04T12:00:00Z",
        "bob",
        &[
            "macd",
            "implement",
            &id,
            "--dispose",
            "--confirm",
            "acme/fs01-nightly",
            "--force",
            "--reason",
            "server already gone",
        ],
    )
    .ok();

    // one open request per policy: a second is refused, naming the first
    let a = json(at(
        "2026-11-05T10:00:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "grace=3h",
            "--reason",
            "slow nights",
        ],
    ));
    let second = at(
        "2026-11-05T10:05:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "rto=2h",
            "--reason",
            "tighter RTO",
        ],
    )
    .code(5);
    let a_id = a["id"].to_string();
    assert!(
        second.stderr.contains(&format!(
            "CR-{a_id} (change acme/sql01-nightly) is open for it (requested)"
        )),
        "{}",
        second.stderr
    );
    at("2026-11-05T11:00:00Z", "bob", &["macd", "approve", &a_id]).ok();
    at("2026-11-05T12:00:00Z", "bob", &["macd", "implement", &a_id]).ok();
    at(
        "2026-11-05T12:30:00Z",
        "bob",
        &[
            "macd",
            "complete",
            &a_id,
            "--verified-by",
            "grace checked in the plan",
        ],
    )
    .ok();
    // implement on a policy changed since the request (a plan replaced meanwhile)
    let d = json(at(
        "2026-11-05T13:00:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "rto=2h",
            "--reason",
            "tighter RTO",
        ],
    ));
    let d_id = d["id"].to_string();
    let replaced = env.write(
        "replaced.toml",
        &PLAN.replace("grace = \"2h\"", "grace = \"90m\""),
    );
    at(
        "2026-11-05T13:10:00Z",
        "carol",
        &[
            "plan",
            "import",
            "--replace",
            "--reason",
            "test",
            replaced.to_str().unwrap(),
        ],
    )
    .ok();
    at("2026-11-05T13:20:00Z", "bob", &["macd", "approve", &d_id]).ok();
    let r = at("2026-11-05T13:30:00Z", "bob", &["macd", "implement", &d_id]).code(5);
    assert!(
        r.stderr.contains("changed since the request")
            && r.stderr.contains("re-create the request"),
        "{}",
        r.stderr
    );
    at(
        "2026-11-05T13:40:00Z",
        "bob",
        &[
            "macd",
            "cancel",
            &d_id,
            "--reason",
            "re-created against the new plan",
        ],
    )
    .ok();
    // rejected and cancelled changes
    let c = json(at(
        "2026-11-06T10:00:00Z",
        "alice",
        &[
            "macd",
            "change",
            "acme/sql01-nightly",
            "--set",
            "rpo=5d",
            "--reason",
            "cheaper",
        ],
    ));
    assert_eq!(c["risk"], "high");
    json(at(
        "2026-11-06T11:00:00Z",
        "bob",
        &[
            "macd",
            "reject",
            &c["id"].to_string(),
            "--reason",
            "the client needs 1 day",
        ],
    ));
    at(
        "2026-11-06T11:00:00Z",
        "bob",
        &["macd", "cancel", &c["id"].to_string(), "--reason", "x"],
    )
    .code(5);
    env.run(&["macd", "show", "99"]).code(4);
}

#[test]
fn non_interactive_runs_name_the_missing_flags() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let r: Run = env
        .cmd()
        .args(["macd", "add", "--client", "acme", "--ci", "fs01"])
        .write_stdin("")
        .output()
        .unwrap()
        .into();
    let r = r.code(2);
    for flag in [
        "--job",
        "--tool",
        "--schedule",
        "--rpo",
        "--retention",
        "--reason",
    ] {
        assert!(r.stderr.contains(flag), "{flag}: {}", r.stderr);
    }
    // bad values are named like in a plan file
    let bad = env.run(&[
        "macd",
        "add",
        "--client",
        "acme",
        "--ci",
        "fs01",
        "--job",
        "x",
        "--tool",
        "restic",
        "--schedule",
        "61 * * * *",
        "--rpo",
        "24h",
        "--grace",
        "2h",
        "--retention",
        "daily=7",
        "--target",
        "offsite",
        "--restore-test",
        "monthly",
        "--rto",
        "4h",
        "--reason",
        "r",
    ]);
    let bad = bad.code(3);
    assert!(bad.stderr.contains("--schedule"), "{}", bad.stderr);
    // --from-file: one [[policy]] table of the plan format
    let f = env.write(
        "p.toml",
        "[[policy]]\njob = \"fs01-weekly\"\nci = \"fs01\"\ntool = \"restic\"\nschedule = \"0 3 * * 6\"\nrpo = \"8d\"\ngrace = \"6h\"\nretention = { weekly = 8 }\ntarget = \"immutable\"\nrestore_test = \"quarterly\"\nrto = \"8h\"\n",
    );
    let c = env.json(&[
        "macd",
        "add",
        "--client",
        "acme",
        "--from-file",
        f.to_str().unwrap(),
        "--reason",
        "weekly immutable copy",
    ]);
    assert_eq!(c["job"], "fs01-weekly");
    let g = env.write("q.toml", "[[policy]]\njob = \"y\"\nci = \"fs01\"\ntool = \"restic\"\nschedule = \"0 3 * * 6\"\nrpo = \"soon\"\n");
    let r = env
        .run(&[
            "macd",
            "add",
            "--client",
            "acme",
            "--from-file",
            g.to_str().unwrap(),
            "--reason",
            "r",
        ])
        .code(3);
    assert!(r.stderr.contains("q.toml"), "{}", r.stderr);
}

/// A plan version holds completed changes only: another request implemented
/// but not completed yet is not in it.
#[test]
fn a_plan_version_holds_only_completed_changes() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let at = |now: &str, actor: &str, args: &[&str]| {
        env.run_at(
            now,
            &[&["--actor", actor, "--format", "json"], args].concat(),
        )
        .ok()
        .json()
    };
    let mut ids = Vec::new();
    for (job, set) in [
        ("acme/fs01-nightly", "grace=3h"),
        ("acme/sql01-nightly", "rto=2h"),
    ] {
        let c = at(
            "2026-11-02T10:00:00Z",
            "alice",
            &["macd", "change", job, "--set", set, "--reason", "tuning"],
        );
        let id = c["id"].to_string();
        at("2026-11-02T11:00:00Z", "bob", &["macd", "approve", &id]);
        at("2026-11-02T12:00:00Z", "bob", &["macd", "implement", &id]);
        ids.push(id);
    }
    at(
        "2026-11-02T13:00:00Z",
        "bob",
        &["macd", "complete", &ids[0], "--verified-by", "checked"],
    );
    let diff = |v1: &str, v2: &str| env.json(&["plan", "diff", "acme", v1, v2]).to_string();
    let first = diff("1", "2");
    assert!(
        first.contains("fs01-nightly") && first.contains("3h"),
        "{first}"
    );
    assert!(
        !first.contains("sql01-nightly"),
        "not completed yet: {first}"
    );
    at(
        "2026-11-02T14:00:00Z",
        "bob",
        &["macd", "complete", &ids[1], "--verified-by", "checked"],
    );
    let second = diff("2", "3");
    assert!(
        second.contains("sql01-nightly") && second.contains("2h"),
        "{second}"
    );
    assert!(!second.contains("fs01-nightly"), "{second}");
}

/// `macd add --job` takes CLIENT/JOB like every other command (or a bare
/// job name with --client).
#[test]
fn add_takes_the_job_as_client_slash_job() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let mut args: Vec<&str> = ADD_FS01_HOURLY
        .iter()
        .copied()
        .filter(|a| *a != "--client" && *a != "acme")
        .collect();
    let i = args.iter().position(|a| *a == "--job").unwrap() + 1;
    args[i] = "acme/fs01-hourly";
    let c = env
        .run_at(
            "2026-11-02T10:00:00Z",
            &[&["--format", "json"], &args[..]].concat(),
        )
        .ok()
        .json();
    assert_eq!(
        (c["client"].as_str(), c["job"].as_str()),
        (Some("acme"), Some("fs01-hourly"))
    );
    let r = env
        .run(&[&args[..], &["--client", "globex"]].concat())
        .code(3);
    assert!(
        r.stderr.contains("names client 'acme', --client 'globex'"),
        "{}",
        r.stderr
    );
    // and events list takes a bare job with --client
    env.run(&[
        "events",
        "list",
        "--client",
        "acme",
        "--job",
        "fs01-nightly",
    ])
    .ok();
}

/// #14 §5: a job seen in the runs but in no plan becomes an add request in
/// one command, its tool, schedule, CI and RPO guessed from the runs.
#[test]
fn a_job_seen_in_the_runs_becomes_an_add_request() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // five nights of an unknown job at 23:10 Berlin (22:10 UTC), restic's
    let lines: Vec<String> = (2..7)
        .map(|d| {
            format!(
                r#"{{"client":"acme","job":"fs01-archive","status":"success","started_at":"2026-11-0{d}T22:10:00Z","ended_at":"2026-11-0{d}T22:40:00Z","source":"restic"}}"#
            )
        })
        .collect();
    import_lines(&env, "2026-11-07T08:00:00Z", &lines).ok();
    let r = env
        .run_at(
            "2026-11-07T09:00:00Z",
            &[
                "--format",
                "json",
                "macd",
                "add",
                "--from-unmatched",
                "acme/fs01-archive",
            ],
        )
        .ok();
    let c = r.json();
    let p = &c["proposal"];
    assert_eq!(
        (&p["job"], &p["ci"], &p["tool"], &p["schedule"], &p["rpo_s"]),
        (
            &"fs01-archive".into(),
            &"fs01".into(),
            &"restic".into(),
            &"10 23 * * *".into(),
            &86_400.into()
        ),
        "{c:#}"
    );
    assert!(c["reason"].as_str().unwrap().contains("5 runs"), "{c:#}");
    // the flags given win over the guesses
    env.run_at(
        "2026-11-07T09:00:00Z",
        &["macd", "cancel", "1", "--reason", "again"],
    )
    .ok();
    let c = env
        .run_at(
            "2026-11-07T09:00:00Z",
            &[
                "--format",
                "json",
                "macd",
                "add",
                "--from-unmatched",
                "acme/fs01-archive",
                "--schedule",
                "0 22 * * *",
            ],
        )
        .ok()
        .json();
    assert_eq!(c["proposal"]["schedule"], "0 22 * * *", "{c:#}");
    // a job with no runs is not found; one whose CI cannot be told is named
    env.run(&["macd", "add", "--from-unmatched", "acme/nosuch"])
        .code(4);
}
