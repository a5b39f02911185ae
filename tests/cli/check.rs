//! `bmctl check`: windows across DST and long gaps.

use crate::env::*;

#[test]
fn check_across_the_october_dst_change() {
    let env = onboarded("2026-10-22T12:00:00Z");
    let check = |now: &str| env.json_at(now, &["check"]);
    let missed = || -> Vec<String> {
        let evs = env.json(&[
            "events",
            "list",
            "--job",
            "acme/fs01-nightly",
            "--status",
            "missed",
        ]);
        evs.as_array()
            .unwrap()
            .iter()
            .map(|e| e["ended_at"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(check("2026-10-23T06:00:00Z")["missed"], 2); // fs01 and sql01 on Oct 22
    assert_eq!(check("2026-10-23T06:00:00Z")["missed"], 0); // re-running adds nothing
    check("2026-10-24T06:00:00Z");
    // good runs on Oct 24 and, late but inside the grace, on Oct 25 (23:30 CET)
    import_lines(
        &env,
        "2026-10-26T00:00:00Z",
        &[
            line("fs01-nightly", "success", "2026-10-24T20:30:00Z", ""),
            line("fs01-nightly", "success", "2026-10-25T22:30:00Z", ""),
        ],
    )
    .ok();
    check("2026-10-26T06:00:00Z");
    check("2026-10-27T06:00:00Z");
    check("2026-10-27T06:00:00Z");
    // 22:00 Berlin is 20:00Z in summer time and 21:00Z after the change; windows close 2h later.
    assert_eq!(
        missed(),
        [
            "2026-10-22T22:00:00Z",
            "2026-10-23T22:00:00Z",
            "2026-10-26T23:00:00Z"
        ]
    );
    let t = tickets(&env);
    let fs01: Vec<&serde_json::Value> = t
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["job"] == "fs01-nightly")
        .collect();
    assert_eq!(fs01.len(), 1, "{t:#}");
    assert_eq!(fs01[0]["status"], "open"); // auto-resolved on Oct 24, reopened by the Oct 26 miss
    assert_eq!(fs01[0]["occurrences"], 3);
}

/// #10 §2: `check` after a 16-day gap closes every window of it (the 7-day
/// look-back counted 14 of 32 and wrote no missed event for the rest).
#[test]
fn check_catches_up_a_long_gap_exactly() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let check = |now: &str| env.json_at(now, &["check"]);
    // the two nightly jobs' first windows close on Nov 1 23:00Z and Nov 2 00:00Z
    assert_eq!(check("2026-11-02T08:00:00Z")["occurrences_closed"], 2);
    let r = check("2026-11-18T08:00:00Z");
    assert_eq!(
        (r["occurrences_closed"].as_i64(), r["missed"].as_i64()),
        (Some(32), Some(32))
    );
    assert_eq!(check("2026-11-18T08:00:00Z")["occurrences_closed"], 0);
    // a config that still limits the look-back is refused, saying why
    let cfg = env.write("old.toml", "[check]\nlookback = \"7d\"\n");
    let r = env
        .run(&["--config", cfg.to_str().unwrap(), "check"])
        .code(3);
    assert!(r.stderr.contains("check.lookback is gone"), "{}", r.stderr);
}

/// cron: `-q` prints nothing when nothing is new and a stderr line per new
/// finding; `--fail-on-findings` is 1 for a run that raised something,
/// `--fail-on-open` while anything is open.
#[test]
fn quiet_cron_and_the_fail_flags() {
    let env = onboarded("2026-10-22T12:00:00Z");
    let first = env
        .run_at(
            "2026-10-23T06:00:00Z",
            &["-q", "check", "--fail-on-findings"],
        )
        .code(1);
    assert_eq!(first.stdout, "", "nothing on stdout under -q");
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", first.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("bmctl check: missed acme/fs01-nightly at 2026-10-22T20:00:00Z")),
        "{}",
        first.stderr
    );
    // the same findings again are not news: silent and 0, though still open
    let again = env
        .run_at(
            "2026-10-23T06:05:00Z",
            &["-q", "check", "--fail-on-findings"],
        )
        .ok();
    assert_eq!((again.stdout.as_str(), again.stderr.as_str()), ("", ""));
    env.run_at("2026-10-23T06:10:00Z", &["-q", "check", "--fail-on-open"])
        .code(1);
    // JSON asked for is printed even under -q
    let j = env
        .run_at("2026-10-23T06:15:00Z", &["-q", "--format", "json", "check"])
        .ok()
        .json();
    assert_eq!(j["missed"], 0);
    // nothing open: --fail-on-open is 0
    let open = tickets(&env);
    for t in open.as_array().unwrap() {
        env.run_at(
            "2026-10-23T07:00:00Z",
            &[
                "correct",
                "resolve",
                &t["id"].to_string(),
                "--cause",
                "configuration",
                "--fix",
                "schedule corrected",
            ],
        )
        .ok();
    }
    env.run_at("2026-10-23T07:05:00Z", &["-q", "check", "--fail-on-open"])
        .ok();
    // tasks generate under -q: silent
    let g = env
        .run_at("2026-10-23T07:10:00Z", &["-q", "tasks", "generate"])
        .ok();
    assert_eq!((g.stdout.as_str(), g.stderr.as_str()), ("", ""));
}
