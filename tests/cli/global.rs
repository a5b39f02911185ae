//! What every command shares: JSON and CSV keys, exit codes, the machine's zone, completions, man pages and the version.

use crate::env::*;

#[test]
fn json_lists_carry_the_design_keys_and_csv_has_a_header() {
    let env = TestEnv::new();
    onboard_strict(&env);
    let clients = env.json(&["client", "list"]);
    for k in ["id", "code", "name", "timezone", "sla_tier"] {
        assert!(clients[0].get(k).is_some(), "client key {k}");
    }
    let cis = env.json(&["cmdb", "list"]);
    for k in [
        "id",
        "client",
        "host",
        "kind",
        "tier",
        "os",
        "role",
        "status",
        "backup_status",
    ] {
        assert!(cis[0].get(k).is_some(), "ci key {k}");
    }
    assert_eq!(cis[1]["host"], "kiosk-03");
    assert_eq!(cis[1]["backup_status"], "excluded");
    let plan = env.json(&["plan", "show", "acme"]);
    assert_eq!(plan["client"], "acme");
    assert_eq!(plan["version"], 1);
    for k in [
        "job",
        "ci",
        "tool",
        "schedule",
        "rpo",
        "grace",
        "retention",
        "target",
        "restore_test",
        "rto",
        "status",
        "next_run",
        "last_success_at",
        "last_status",
    ] {
        assert!(plan["policies"][0].get(k).is_some(), "policy key {k}");
    }
    let csv = env.run(&["--format", "csv", "cmdb", "list"]).ok().stdout;
    assert!(
        csv.starts_with("id,client,host,kind,tier,os,role,status,backup_status"),
        "{csv}"
    );
    let empty = env
        .run(&["--format", "csv", "cmdb", "list", "--unprotected"])
        .ok()
        .stdout;
    assert_eq!(empty.lines().count(), 1, "header only: {empty}");
}

#[test]
fn exit_codes_follow_design() {
    let env = TestEnv::new();
    env.run(&["client", "show", "nobody"]).code(4);
    env.run(&["cmdb", "show", "nobody/fs01"]).code(4);
    env.run(&["client", "add", "Bad Code", "--name", "x", "--tz", "UTC"])
        .code(3);
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "Mars/Olympus"])
        .code(3);
    env.run(&[
        "client",
        "add",
        "ok",
        "--name",
        "x",
        "--tz",
        "UTC",
        "--sla-tier",
        "diamond",
    ])
    .code(2);
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "UTC"])
        .ok();
    env.run(&["client", "add", "ok", "--name", "x", "--tz", "UTC"])
        .code(5);
    env.run(&["cmdb", "add", "ok/h1", "--kind", "toaster", "--tier", "1"])
        .code(2);
    env.run(&["cmdb", "add", "ok/h1"]).code(2);
    // a --now that is not RFC 3339 with an offset is a usage error
    env.run(&["--now", "2026-11-30T07:00:00", "plan", "show", "ok"])
        .code(2);
}

#[test]
fn output_does_not_depend_on_the_machines_zone() {
    let runs: Vec<String> = ["UTC", "America/Los_Angeles", "Asia/Kolkata"]
        .iter()
        .map(|tz| {
            let env = TestEnv::with_tz(tz);
            onboard_strict(&env);
            env.run(&["plan", "show", "acme"]).ok().stdout
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
    assert!(runs[0].contains("2026-11-30 22:00 CET"), "{}", runs[0]);
}

#[test]
fn completions_man_and_version() {
    let env = TestEnv::new();
    assert!(env
        .run(&["completions", "bash"])
        .ok()
        .stdout
        .contains("bmctl"));
    assert!(env.run(&["man"]).ok().stdout.contains(".TH bmctl"));
    assert!(env.run(&["--version"]).ok().stdout.starts_with("bmctl "));
}

/// `man --out DIR`: a page for every command, and every page another page
/// refers to exists.
#[test]
fn man_pages_for_every_command() {
    let env = TestEnv::new();
    let dir = env.path("man");
    env.run(&["man", "--out", dir.to_str().unwrap()]).ok();
    for page in [
        "bmctl.1",
        "bmctl-due.1",
        "bmctl-correct.1",
        "bmctl-correct-resolve.1",
        "bmctl-plan-review.1",
        "bmctl-db-prune.1",
    ] {
        assert!(dir.join(page).is_file(), "{page}");
    }
    let mut refs = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("bmctl\\-") {
            let tail = &rest[i..];
            let end = tail.find("(1)").unwrap_or(0);
            if end > 0 && !tail[..end].contains(char::is_whitespace) {
                let page = format!("{}.1", tail[..end].replace("\\-", "-"));
                assert!(dir.join(&page).is_file(), "referred to, missing: {page}");
                refs += 1;
            }
            rest = &tail[6..];
        }
    }
    assert!(refs > 50, "{refs}");
}

/// One time convention: across clients, tables show one zone
/// (`display.timezone`); one client's tables its own; time flags take a
/// date, an RFC 3339 time or a span.
#[test]
fn one_zone_across_clients_and_times_as_people_write_them() {
    let env = onboarded("2026-11-01T00:00:00Z");
    import_lines(
        &env,
        "2026-11-30T07:00:00Z",
        &[line("fs01-nightly", "failed", "2026-11-29T21:00:00Z", "")],
    )
    .ok();
    let tokyo = env.write("tokyo.toml", "[display]\ntimezone = \"Asia/Tokyo\"\n");
    let tokyo = tokyo.to_str().unwrap();
    let all = env.run(&["--config", tokyo, "correct", "list"]).ok().stdout;
    assert!(all.contains(" JST") && !all.contains(" CET"), "{all}");
    let one = env
        .run(&["--config", tokyo, "correct", "list", "--client", "acme"])
        .ok()
        .stdout;
    assert!(one.contains(" CET") && !one.contains(" JST"), "{one}");
    // events: one client's in its zone, across clients in display.timezone
    let ev = env
        .run(&["--config", tokyo, "events", "list", "--client", "acme"])
        .ok()
        .stdout;
    assert!(ev.contains(" CET") && !ev.contains(" JST"), "{ev}");
    let ev = env.run(&["--config", tokyo, "events", "list"]).ok().stdout;
    assert!(ev.contains(" JST"), "{ev}");
    let bad = env.write("bad.toml", "[display]\ntimezone = \"Mars/Olympus\"\n");
    env.run(&["--config", bad.to_str().unwrap(), "correct", "list"])
        .code(3);
    // --since: a span, a date or a time; anything else is named
    let n = |since: &str| {
        env.json(&["events", "list", "--client", "acme", "--since", since])
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(n("24h"), 1);
    assert_eq!(n("2026-11-29"), 1);
    assert_eq!(n("2026-11-30T00:00:00+01:00"), 0);
    let r = env.run(&["events", "list", "--since", "yesterday"]).code(3);
    assert!(
        r.stderr.contains("--since: 'yesterday' is not a date"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_usage_error_does_not_show_the_environments_globals_as_required() {
    // the test environment sets BMCTL_NOW and BMCTL_ACTOR, as a crontab may
    let env = TestEnv::new();
    let r = env.run(&["correct", "open"]).code(2);
    assert!(
        r.stderr
            .contains("Usage: bmctl correct open --title <TITLE> <CLIENT/JOB>"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("--now") && !r.stderr.contains("--actor"),
        "{}",
        r.stderr
    );
}
