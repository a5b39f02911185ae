//! `bmctl due`: the technician's queue.

use crate::env::*;

const MORNING: &str = "2026-12-03T09:30:00Z";

fn ids(items: &serde_json::Value, kind: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| i["id"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn the_queue_holds_tasks_tickets_changes_and_overdue_restore_tests() {
    let env = onboarded("2026-11-01T00:00:00Z");
    // the restore tests come from their overdue cadence here, not from tasks
    env.run(&["tasks", "templates", "disable", "restore-test"])
        .ok();
    env.run_at(MORNING, &["tasks", "generate"]).ok();
    import_lines(
        &env,
        MORNING,
        &[line(
            "fs01-nightly",
            "failed",
            "2026-12-02T22:00:00Z",
            r#","message":"repository is locked""#,
        )],
    )
    .ok();
    let add = env
        .run_at(
            "2026-12-03T08:00:00Z",
            &[&["--actor", "bob", "--format", "json"], ADD_FS01_HOURLY].concat(),
        )
        .ok()
        .json();
    let cr = format!("CR-{}", add["id"]);

    let all = env.json_at(MORNING, &["due"]);
    let items = all.as_array().unwrap();
    // every kind, each with why it is there
    for kind in ["task", "corrective", "change", "restore-test"] {
        assert!(items.iter().any(|i| i["kind"] == kind), "{kind}: {all:#}");
    }
    assert!(items.iter().all(|i| !i["why"].as_str().unwrap().is_empty()));
    let fail = items.iter().find(|i| i["kind"] == "corrective").unwrap();
    assert_eq!(fail["object"], "acme/fs01-nightly");
    assert_eq!(ids(&all, "change"), vec![cr.clone()]);
    let change = items.iter().find(|i| i["kind"] == "change").unwrap();
    assert_eq!(change["why"], "awaits approval by someone other than bob");
    // both policies' monthly restore tests: never tested since onboarding
    let restore: Vec<_> = items
        .iter()
        .filter(|i| i["kind"] == "restore-test")
        .map(|i| i["object"].as_str().unwrap())
        .collect();
    assert_eq!(restore, ["acme/fs01-nightly", "acme/sql01-nightly"]);
    // overdue first, then by due time
    let overdue: Vec<bool> = items
        .iter()
        .map(|i| i["overdue"].as_bool().unwrap())
        .collect();
    assert!(overdue.windows(2).all(|w| w[0] >= w[1]), "{overdue:?}");

    // a change waits for an approver other than its requester, then on the requester
    let mine = |who: &str| {
        env.run_at(
            MORNING,
            &["--actor", who, "--format", "json", "due", "--mine"],
        )
        .ok()
        .json()
    };
    assert_eq!(ids(&mine("alice"), "change"), vec![cr.clone()]);
    assert!(ids(&mine("bob"), "change").is_empty());
    assert!(ids(&mine("alice"), "restore-test").is_empty());
    env.run_at(
        "2026-12-03T09:00:00Z",
        &["--actor", "alice", "macd", "approve", &cr],
    )
    .ok();
    assert!(ids(&mine("alice"), "change").is_empty());
    assert_eq!(ids(&mine("bob"), "change"), vec![cr.clone()]);

    // assignment filters: a task assigned to carol is hers and no longer unassigned
    let task = ids(&all, "task")[0].clone();
    env.run_at(MORNING, &["tasks", "assign", &task, "carol"])
        .ok();
    let carol = env.json_at(MORNING, &["due", "--assignee", "carol"]);
    assert_eq!(ids(&carol, "task"), vec![task.clone()]);
    let unassigned = env.json_at(MORNING, &["due", "--unassigned"]);
    assert!(!ids(&unassigned, "task").contains(&task));
    assert!(ids(&unassigned, "change").is_empty());
    assert_eq!(ids(&unassigned, "restore-test").len(), 2);

    // --client and the table
    env.run_at(MORNING, &["due", "--client", "nosuch"]).code(4);
    let table = env.run_at(MORNING, &["due"]).ok().stdout;
    assert!(
        table.contains(&cr) && table.contains("acme/fs01-nightly"),
        "{table}"
    );
}

#[test]
fn an_overdue_restore_test_is_listed_once_as_its_task() {
    let env = onboarded("2026-11-01T00:00:00Z");
    env.run_at(MORNING, &["tasks", "generate"]).ok();
    let tasks = env.json_at(MORNING, &["tasks", "due"]);
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Test restore: acme/fs01-nightly")
        .expect("a restore-test task")
        .clone();
    let due = task["due_at"].as_str().unwrap().to_string();
    // the task is not due yet: the overdue test is listed, naming the task
    let all = env.json_at(MORNING, &["due"]);
    let row = all
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "restore-test" && i["object"] == "acme/fs01-nightly")
        .expect("the overdue restore test")
        .clone();
    assert!(
        row["why"]
            .as_str()
            .unwrap()
            .ends_with(&format!("task #{} is due {due}", task["id"])),
        "{row:#}"
    );
    // within a day of the task's due time the task is the one line
    let day_before = {
        let t = chrono::DateTime::parse_from_rfc3339(&due).unwrap() - chrono::Duration::hours(12);
        t.to_rfc3339()
    };
    let later = env.json_at(&day_before, &["due"]);
    let items = later.as_array().unwrap();
    let task_id = task["id"].to_string();
    assert!(items
        .iter()
        .any(|i| i["id"].as_str() == Some(task_id.as_str())));
    assert!(!items
        .iter()
        .any(|i| i["kind"] == "restore-test" && i["object"] == "acme/fs01-nightly"));
}
