//! Exit codes as documented (README, DESIGN): 0 done, 2 usage, 3 input
//! rejected, 4 nothing matched, 5 refused by a process rule — one case of
//! each that applies, per command family.

use crate::env::*;

#[test]
fn each_command_family_exits_as_documented() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let now = "2026-12-03T09:30:00Z";
    env.run_at(now, &["tasks", "generate"]).ok();
    import_lines(
        &env,
        now,
        &[line("fs01-nightly", "failed", "2026-12-02T22:00:00Z", "")],
    )
    .ok();
    let tickets = env.json_at(now, &["correct", "list"]);
    let ticket = tickets[0]["id"].to_string();
    let tasks = env.json_at(now, &["tasks", "due"]);
    let task = tasks[0]["id"].to_string();
    let add = env
        .run_at(
            now,
            &[&["--actor", "bob", "--format", "json"], ADD_FS01_HOURLY].concat(),
        )
        .ok()
        .json();
    let cr = format!("CR-{}", add["id"]);
    let bad_plan = env.write("bad.toml", "client = \"acme\"\nname = 5\n");
    let bad_events = env.write("bad.jsonl", "{\"client\":\"acme\"}\n");
    let (bad_plan, bad_events) = (bad_plan.to_str().unwrap(), bad_events.to_str().unwrap());
    let cases: Vec<(Vec<&str>, i32)> = vec![
        // global
        (vec!["--now", "yesterday", "due"], 2),
        (vec!["nosuch"], 2),
        // plan
        (vec!["plan", "show", "acme"], 0),
        (vec!["plan", "show"], 2),
        (vec!["plan", "import", bad_plan], 3),
        (vec!["plan", "show", "nosuch"], 4),
        // events
        (vec!["events", "list"], 0),
        (vec!["events", "import"], 2),
        (vec!["events", "import", bad_events], 3),
        // correct
        (vec!["correct", "list"], 0),
        (vec!["correct", "show"], 2),
        (
            vec![
                "correct", "resolve", &ticket, "--cause", "gremlins", "--fix", "x",
            ],
            2,
        ),
        (
            vec![
                "correct", "resolve", &ticket, "--cause", "unknown", "--fix", " ",
            ],
            3,
        ),
        (vec!["audit", "list", "--entity", "bogus"], 2),
        (vec!["macd", "list", "--state", "bogus"], 2),
        (vec!["correct", "show", "99999"], 4),
        (vec!["correct", "show", &task], 5),
        // tasks
        (vec!["tasks", "due"], 0),
        (vec!["tasks", "done", &task, "--result", "issues"], 2),
        (vec!["tasks", "check", &task, "nonsense"], 3),
        (vec!["tasks", "show", "99999"], 4),
        (vec!["tasks", "show", &ticket], 5),
        // macd
        (vec!["macd", "list"], 0),
        (vec!["macd", "show"], 2),
        (add_fs01_hourly_with(&[("--schedule", "61 * * * *")]), 3),
        (vec!["macd", "show", "CR-999"], 4),
        (vec!["--actor", "bob", "macd", "approve", &cr], 5),
        // kpi
        (vec!["kpi", "--client", "acme"], 0),
        (vec!["kpi", "--quarter", "2026-Q9"], 3),
        (vec!["kpi", "--client", "nosuch"], 4),
        // due
        (vec!["due"], 0),
        (vec!["due", "--mine", "--unassigned"], 2),
        (vec!["due", "--client", "nosuch"], 4),
        // check
        (vec!["check"], 0),
        (vec!["check", "--bogus"], 2),
        // audit and db
        (vec!["audit", "verify"], 0),
        (vec!["db", "check"], 0),
        (vec!["db", "backup"], 2),
    ];
    let mut wrong = Vec::new();
    for (args, want) in &cases {
        let r = env.run_at(now, args);
        if r.code != *want {
            wrong.push(format!(
                "{args:?}: {} (want {want}): {}",
                r.code,
                r.stderr.trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
