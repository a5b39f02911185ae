//! Who may do what (#15): roles in the team table gate the process; names
//! people type are logins exactly; references required by risk; the
//! client's contacts; risks the client accepted.

use crate::env::*;

const TEAM: &str = r#"
[team.alice]
name = "Alice Moreau"
roles = ["technician"]

[team.bob]
roles = ["technician"]

[team.carol]
roles = ["approver"]

[team.dave]
roles = ["backup-admin"]
"#;

/// The change alice requests.
const CHANGE: &[&str] = &[
    "macd",
    "change",
    "acme/fs01-nightly",
    "--set",
    "rto=2h",
    "--reason",
    "faster",
];

/// An onboarded environment whose config has the team above.
fn team_env(extra: &str) -> (TestEnv, String) {
    let env = onboarded("2026-11-01T00:00:00Z");
    let cfg = env.write("team.toml", &format!("{TEAM}{extra}"));
    (env, cfg.to_str().unwrap().to_string())
}

/// A command as `actor` (the test's login is a service account, which may
/// name the actor; `svc` is one too).
fn as_(env: &TestEnv, cfg: &str, actor: &str, args: &[&str]) -> Run {
    env.base()
        .env("BMCTL_SERVICE_ACCOUNTS", format!("{} svc", test_login()))
        .arg("--db")
        .arg(&env.db)
        .args(["--config", cfg, "--actor", actor])
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn roles_gate_each_step_and_name_who_can() {
    let (env, cfg) = team_env("");
    as_(&env, &cfg, "alice", CHANGE).ok();
    // alice requested it; as a technician she may not approve any change
    let r = as_(&env, &cfg, "alice", &["macd", "approve", "1"]).code(5);
    assert!(
        r.stderr
            .contains("`bmctl macd approve` needs the approver role")
            && r.stderr.contains("'alice' holds technician")
            && r.stderr.contains("ask carol"),
        "{}",
        r.stderr
    );
    as_(&env, &cfg, "bob", &["macd", "approve", "1"]).code(5);
    // the approver may not implement: that is the backup admin's
    as_(&env, &cfg, "carol", &["macd", "approve", "1"]).ok();
    as_(&env, &cfg, "carol", &["macd", "implement", "1"]).code(5);
    as_(&env, &cfg, "dave", &["macd", "implement", "1"]).ok();
    // reads: anyone in the team; someone outside it, nothing
    as_(&env, &cfg, "bob", &["correct", "list"]).ok();
    let r = as_(&env, &cfg, "mallory", &["correct", "list"]).code(5);
    assert!(
        r.stderr.contains("'mallory' is not in [team]"),
        "{}",
        r.stderr
    );
    // the collectors: the service account and a backup admin
    as_(&env, &cfg, "svc", &["check"]).ok();
    as_(&env, &cfg, "dave", &["check"]).ok();
    as_(&env, &cfg, "alice", &["check"]).code(5);
    // a service account passes no role's gate: it cannot approve
    as_(&env, &cfg, "svc", &["macd", "approve", "1"]).code(5);
    // config show says where roles come from
    let shown = env.run(&["--config", &cfg, "config", "show"]).ok().stdout;
    assert!(shown.contains("from [team.LOGIN] roles"), "{shown}");
    let plain = env.run(&["config", "show"]).ok().stdout;
    assert!(
        plain.contains("every command is allowed to everyone"),
        "{plain}"
    );
}

#[test]
fn a_name_is_a_login_exactly() {
    let (env, cfg) = team_env("");
    // padding is trimmed; a look-alike or bmctl's own name is refused
    as_(&env, &cfg, " alice ", &["correct", "list"]).ok();
    for bad in ["\u{430}lice", "bmctl", "ali ce"] {
        let r = as_(&env, &cfg, bad, &["correct", "list"]).code(5);
        assert!(r.stderr.contains("--actor"), "{bad}: {}", r.stderr);
    }
    // a team login with a look-alike is a config error
    let bad = env.write(
        "bad.toml",
        "[team.\"\u{430}lice\"]\nroles = [\"approver\"]\n",
    );
    let r = env
        .run(&["--config", bad.to_str().unwrap(), "correct", "list"])
        .code(3);
    assert!(r.stderr.contains("U+0430"), "{}", r.stderr);
    let bad = env.write("bad2.toml", "[team.alice]\nroles = [\"boss\"]\n");
    let r = env
        .run(&["--config", bad.to_str().unwrap(), "correct", "list"])
        .code(3);
    assert!(
        r.stderr.contains("'boss' is not one of technician"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_reference_is_required_by_risk_and_a_replace_by_its_reason() {
    let (env, cfg) = team_env("\n[approval]\nrequire_ref = \"all\"\n");
    as_(&env, &cfg, "alice", CHANGE).ok();
    let r = as_(&env, &cfg, "carol", &["macd", "approve", "1"]).code(5);
    assert!(r.stderr.contains("approve it with --ref"), "{}", r.stderr);
    as_(
        &env,
        &cfg,
        "carol",
        &["macd", "approve", "1", "--ref", "CHG-77"],
    )
    .ok();
    let shown = env.json(&["macd", "show", "1"]);
    assert_eq!(shown["ref"], "CHG-77", "{shown}");
    // a bad word is a config error naming the setting
    let bad = env.write("ref.toml", "[approval]\nrequire_ref = \"sometimes\"\n");
    let r = env
        .run(&["--config", bad.to_str().unwrap(), "macd", "list"])
        .code(3);
    assert!(r.stderr.contains("approval.require_ref"), "{}", r.stderr);
    // a plan replaced outside a change request says why, in its history
    let f = env.write("plan.toml", &PLAN.replace("rto = \"4h\"", "rto = \"3h\""));
    let file = f.to_str().unwrap();
    env.run(&["plan", "import", "--replace", file]).code(2);
    as_(
        &env,
        &cfg,
        "dave",
        &[
            "plan",
            "import",
            "--replace",
            "--reason",
            "restore SLA renegotiated",
            file,
        ],
    )
    .ok();
    let history = env.json(&["plan", "history", "acme"]);
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("emergency change (plan import"),
        "{last}"
    );
}

#[test]
fn contacts_are_named_beside_the_decisions() {
    let env = onboarded("2026-10-01T00:00:00Z");
    env.run(&[
        "client",
        "contact",
        "add",
        "acme",
        "--name",
        "Jane Roe",
        "--email",
        "jane@acme.example",
        "--role",
        "decision-maker",
    ])
    .ok();
    env.run(&[
        "client",
        "contact",
        "add",
        "acme",
        "--name",
        "Jane Roe",
        "--role",
        "technical",
    ])
    .code(5);
    env.run(&[
        "client",
        "contact",
        "add",
        "acme",
        "--name",
        "J\u{43e}hn",
        "--role",
        "technical",
    ])
    .code(3);
    let list = env.json(&["client", "contact", "list", "acme"]);
    assert_eq!(list[0]["role"], "decision-maker", "{list}");
    env.run(ADD_PRINT01).ok();
    let html = review_file(&env, NOW, "html");
    assert!(
        html.contains("For Jane Roe &lt;jane@acme.example&gt; to decide."),
        "{html}"
    );
    env.run(&["client", "contact", "remove", "acme", "--name", "Jane Roe"])
        .ok();
    assert_eq!(
        env.json(&["client", "contact", "list", "acme"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_risk_accepted_until_a_date_is_accepted_until_then() {
    let env = onboarded("2026-10-01T00:00:00Z");
    env.run_at("2026-10-01T00:00:00Z", ADD_PRINT01).ok();
    let accept = [
        "plan",
        "risks",
        "accept",
        "unprotected-ci",
        "print01",
        "--client",
        "acme",
        "--by",
        "Jane Roe (CFO at Acme)",
        "--until",
        "2026-12-15",
        "--ref",
        "CHG-4790",
    ];
    // nothing to accept that the register does not hold
    env.run_at(
        "2026-11-01T00:00:00Z",
        &[
            "plan",
            "risks",
            "accept",
            "unprotected-ci",
            "fs01",
            "--client",
            "acme",
            "--by",
            "Jane",
            "--until",
            "2026-12-15",
            "--ref",
            "X",
        ],
    )
    .code(4);
    env.run_at("2026-11-01T00:00:00Z", &accept).ok();
    let risk = |at: &str| {
        env.json_at(at, &["plan", "risks", "--client", "acme"])
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "unprotected-ci")
            .cloned()
            .unwrap()
    };
    let before = risk("2026-12-10T00:00:00Z");
    assert_eq!(
        before["accepted"]["by"], "Jane Roe (CFO at Acme)",
        "{before}"
    );
    // a date holds through that day, in the client's zone (21:00 in Berlin)
    let last_day = risk("2026-12-15T20:00:00Z");
    assert_eq!(last_day["accepted"]["through"], "2026-12-15", "{last_day}");
    let after = risk("2026-12-20T00:00:00Z");
    assert!(after["accepted"].is_null(), "{after}");
    assert!(
        after["evidence"].as_str().unwrap().contains("expired"),
        "{after}"
    );
    // the review: accepted before the date, a decision again after it
    let review = |at: &str| {
        let json: serde_json::Value = serde_json::from_str(&review_file(&env, at, "json")).unwrap();
        json["risks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "unprotected-ci")
            .cloned()
            .unwrap()
    };
    assert_eq!(review("2026-12-10T00:00:00Z")["kind"], "accepted");
    assert_eq!(review("2026-12-20T00:00:00Z")["kind"], "decision");
    // listed, and audited
    let list = env.json_at("2026-12-10T00:00:00Z", &["plan", "risks", "accepted"]);
    assert_eq!(list[0]["ref"], "CHG-4790", "{list}");
    let audit = env.json(&["audit", "list", "--entity", "risk_acceptance"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    // withdrawn: open again before its date, audited, not withdrawn twice
    let id = list[0]["id"].to_string();
    env.run_at(
        "2026-12-11T00:00:00Z",
        &[
            "plan",
            "risks",
            "withdraw",
            &id,
            "--reason",
            "the client wants it protected",
        ],
    )
    .ok();
    assert!(risk("2026-12-12T00:00:00Z")["accepted"].is_null());
    env.run_at(
        "2026-12-11T00:00:00Z",
        &["plan", "risks", "withdraw", &id, "--reason", "again"],
    )
    .code(4);
    let audit = env.json(&["audit", "list", "--entity", "risk_acceptance"]);
    assert_eq!(audit.as_array().unwrap().len(), 2, "{audit}");
}

/// Personal use: the actor is the login; only a service account names
/// another, and only it replays with `--now` on a database that does not
/// allow time travel. Every audit row says which OS user and host wrote it.
#[test]
fn the_os_says_who_acts() {
    let env = TestEnv::empty("UTC");
    let personal = |args: &[&str]| -> Run {
        env.base()
            .env_remove("BMCTL_ACTOR")
            .env("BMCTL_SERVICE_ACCOUNTS", "bmctl")
            .arg("--db")
            .arg(&env.db)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let service = |args: &[&str]| -> Run {
        env.base()
            .env_remove("BMCTL_ACTOR")
            .arg("--db")
            .arg(&env.db)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    personal(&["init"]).ok(); // no time travel: --now only reads

    let add = ["client", "add", "acme", "--name", "Acme", "--tz", "UTC"];
    // a technician's own bmctl: neither another name nor --now on a write
    let r = personal(&[&["--actor", "carol"][..], &add].concat()).code(5);
    assert!(r.stderr.contains("only a service account"), "{}", r.stderr);
    personal(&add).code(5);
    // not even to read
    personal(&["--actor", "carol", "client", "list"]).code(5);
    // the service account replays history: --now and the actor it names
    service(&[&["--actor", "carol"][..], &add].concat()).ok();
    let audit = service(&["--format", "json", "audit", "list", "--entity", "client"])
        .ok()
        .json();
    let row = &audit[0];
    assert_eq!(row["actor"], "carol");
    assert_eq!(row["os_user"], test_login().as_str(), "{row}");
    assert!(row["host"].as_str().is_some_and(|h| !h.is_empty()), "{row}");
    assert!(row["wall_at"].is_string(), "{row}");
    assert_ne!(row["wall_at"], row["at"], "the wall clock beside --now");
}
