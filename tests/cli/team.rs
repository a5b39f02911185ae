//! `[team.LOGIN]`: who work is assigned to, checked; `due` is yours by default.

use crate::env::*;

const TEAM: &str = r#"
[team.alice]
name = "Alice Moreau"
email = "alice@msp.example"

[team.bob]
name = "Bob Lindqvist"

[assignees]
acme = "alice"
"#;

#[test]
fn assignees_are_people_of_the_team() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let cfg = env.write("config.toml", TEAM);
    let cfg = cfg.to_str().unwrap();
    let now = "2026-12-03T09:30:00Z";
    env.run_at(now, &["--config", cfg, "tasks", "generate"])
        .ok();
    let tasks = env.json_at(now, &["--config", cfg, "due", "--all"]);
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "task")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // the default assignee of the client's tasks
    assert_eq!(
        env.json_at(now, &["--config", cfg, "tasks", "show", &task])["assignee"],
        "alice"
    );
    // not a login of the team: refused with the team and the likely one
    let r = env
        .run_at(now, &["--config", cfg, "tasks", "assign", &task, "Bob"])
        .code(3);
    assert!(
        r.stderr
            .contains("'Bob' is not in the team (alice, bob); did you mean bob?"),
        "{}",
        r.stderr
    );
    env.run_at(now, &["--config", cfg, "tasks", "assign", &task, "-"])
        .code(3);
    let said = env
        .run_at(now, &["--config", cfg, "tasks", "assign", &task, "bob"])
        .ok();
    assert!(
        said.stderr
            .contains(&format!("assigned task #{task} to bob")),
        "{}",
        said.stderr
    );
    // with a team, `due` is the actor's own queue; --all is everyone's
    let mine = env.json_at(now, &["--config", cfg, "--actor", "bob", "due"]);
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|i| i["assignee"] == "bob"),
        "{mine:#}"
    );
    assert!(mine
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == task.as_str()));
    let all = env.json_at(now, &["--config", cfg, "--actor", "bob", "due", "--all"]);
    assert!(all.as_array().unwrap().len() > mine.as_array().unwrap().len());
    // --unassign clears
    let said = env
        .run_at(
            now,
            &["--config", cfg, "tasks", "assign", &task, "--unassign"],
        )
        .ok();
    assert!(
        said.stderr.contains(&format!("unassigned task #{task}")),
        "{}",
        said.stderr
    );
    assert!(env.json_at(now, &["--config", cfg, "tasks", "show", &task])["assignee"].is_null());
    env.run_at(now, &["--config", cfg, "tasks", "assign", &task])
        .code(2);
}

#[test]
fn a_team_config_is_checked() {
    let env = TestEnv::new();
    for (text, want) in [
        (
            "[team.alice]\nname = \"A\"\n[assignees]\nacme = \"nosuch\"\n",
            "assignees.acme = \"nosuch\" is not in [team] (alice)",
        ),
        (
            "[team.alice]\nphone = \"123\"\n",
            "unknown key team.alice.phone (known: name, email, roles)",
        ),
        (
            "[team]\nalice = \"A\"\n",
            "team.alice must be a [team.alice] table",
        ),
    ] {
        let cfg = env.write("bad.toml", text);
        let r = env
            .run(&["--config", cfg.to_str().unwrap(), "config", "show"])
            .code(3);
        assert!(r.stderr.contains(want), "{text}: {}", r.stderr);
    }
    let cfg = env.write("ok.toml", TEAM);
    let shown = env.json(&["--config", cfg.to_str().unwrap(), "config", "show"]);
    let alice = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "team.alice")
        .expect("team.alice shown");
    assert_eq!(alice["value"], "Alice Moreau <alice@msp.example>");
}
