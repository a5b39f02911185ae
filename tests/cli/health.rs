//! `bmctl health`.

use crate::env::*;

/// #10 §7: bmctl watches itself: `health` says when `check` and `tasks
/// generate` last ran and which daily client went silent, exit 1 when stale;
/// the morning view starts with it.
#[test]
fn health_flags_a_silent_client_and_a_check_that_stopped() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let r = env.run(&["health"]).code(1);
    assert!(
        r.stdout.contains("STALE  check last ran") && r.stdout.contains("never"),
        "{}",
        r.stdout
    );
    let lines: Vec<String> = ["fs01-nightly", "sql01-nightly"]
        .iter()
        .map(|j| line(j, "success", "2026-11-29T22:00:00Z", ""))
        .collect();
    import_lines(&env, "2026-11-30T06:00:00Z", &lines).ok();
    env.run(&["check"]).ok();
    env.run(&["tasks", "generate"]).ok();
    let h = env.json(&["health"]);
    assert_eq!(h["ok"], true, "{h}");
    // two days on, nothing has come in and cron stopped
    let later = "2026-12-02T07:00:00Z";
    let r = env.run_at(later, &["health"]).code(1);
    assert!(
        r.stdout.contains("STALE  newest run of client acme"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("STALE  check last ran"), "{}", r.stdout);
    let due = env.run_at(later, &["tasks", "due"]).ok();
    assert!(
        due.stderr.starts_with("bmctl health: STALE"),
        "{}",
        due.stderr
    );
    assert!(env.run(&["tasks", "due"]).ok().stderr.is_empty());
}
