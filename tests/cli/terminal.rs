//! Tables for a person: on a terminal (a real pty, 100 columns) compact,
//! fitted and coloured; piped or with NO_COLOR, without escape codes.

use std::process::Command;

use crate::env::*;

/// The due queue of an environment with work in it.
fn busy() -> TestEnv {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.run_at("2026-12-03T09:30:00Z", &["tasks", "generate"])
        .ok();
    import_lines(
        &env,
        "2026-12-03T09:30:00Z",
        &[line(
            "fs01-nightly",
            "failed",
            "2026-12-02T22:00:00Z",
            r#","message":"repository is locked by another process that has been running for a long time""#,
        )],
    )
    .ok();
    env
}

/// bmctl on a pty of `cols` columns (util-linux `script`), its output as
/// the terminal got it.
fn on_pty(env: &TestEnv, cols: u16, extra_env: &[(&str, &str)], args: &[&str]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let line = format!(
        "stty cols {cols} rows 60; {} --db {} --now 2026-12-03T09:30:00Z {}",
        bin.display(),
        env.db.display(),
        args.join(" ")
    );
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env("BMCTL_ACTOR", "tester")
        .env("BMCTL_SERVICE_ACCOUNTS", test_login())
        .env_remove("SUDO_UID")
        .env("TZ", "UTC")
        .env("HOME", env.path(""));
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let out = c.output().expect("script (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\u{1b}') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

#[test]
fn on_a_terminal_tables_fit_and_colour_what_stands_out() {
    let env = busy();
    let out = on_pty(&env, 100, &[], &["due"]);
    assert!(out.contains("\u{1b}["), "no colour: {out}");
    let plain = strip(&out);
    for l in plain.lines() {
        assert!(l.chars().count() <= 100, "wider than 100: {l}");
    }
    // one rule, under the header
    assert_eq!(
        plain.lines().filter(|l| l.starts_with('─')).count(),
        1,
        "{plain}"
    );
    // what a technician types next is whole: every job and id as JSON has it
    let items = env.json_at("2026-12-03T09:30:00Z", &["due"]);
    for i in items.as_array().unwrap() {
        if let Some(o) = i["object"].as_str() {
            assert!(plain.contains(o), "{o} cut: {plain}");
        }
        if let Some(id) = i["id"].as_str() {
            assert!(plain.contains(&format!(" {id} ")), "{id} cut: {plain}");
        }
    }
    // free text shortened, with the sign of it
    assert!(plain.contains('…'), "{plain}");
}

#[test]
fn no_color_and_pipes_get_no_escape_codes() {
    let env = busy();
    let out = on_pty(&env, 100, &[("NO_COLOR", "1")], &["due"]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains('─'), "still laid out for a person: {out}");
    let out = on_pty(&env, 100, &[], &["--color", "never", "due"]);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let piped = env.run_at("2026-12-03T09:30:00Z", &["due"]).ok().stdout;
    assert!(!piped.contains('\u{1b}') && !piped.contains('─') && !piped.contains('…'));
    assert!(
        piped.contains("repository is locked") || piped.contains("Backup failed"),
        "{piped}"
    );
}

#[test]
fn a_ticket_list_fits_a_narrow_terminal_with_how_its_sla_stands() {
    let env = busy();
    // the P2 ticket opened at 09:30 is due in 8h
    let out = on_pty(&env, 90, &[], &["correct", "list"]);
    let plain = strip(&out);
    for l in plain.lines() {
        assert!(l.chars().count() <= 90, "wider than 90: {l}\n{plain}");
    }
    assert!(plain.contains("fs01-nightly"), "{plain}");
    // the relative column stays, the absolute time goes before the title
    assert!(plain.contains("in 8h 0m"), "{plain}");
    assert!(!plain.contains("17:30"), "{plain}");
    assert!(
        plain.contains("(seen, due left out to fit 90 columns") && plain.contains("Backup fa"),
        "{plain}"
    );
    // piped: every column, the absolute due time in the client's zone too
    let piped = env
        .run_at("2026-12-03T09:30:00Z", &["correct", "list"])
        .ok()
        .stdout;
    assert!(
        piped.contains(" flag ") && piped.contains(" due "),
        "{piped}"
    );
    assert!(piped.contains("in 8h 0m"), "{piped}");
}
