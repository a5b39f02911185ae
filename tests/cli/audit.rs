//! `bmctl audit list`: who changed what, before and after.

use crate::env::*;

#[test]
fn audit_shows_actor_and_before_after_of_cmdb_edit() {
    let env = TestEnv::new();
    onboard_strict(&env);
    env.run(&[
        "--actor",
        "alice",
        "cmdb",
        "edit",
        "acme/fs01",
        "--os",
        "Debian 12",
        "--role",
        "files",
    ])
    .ok();
    let audit = env.json(&["audit", "list", "--entity", "ci:acme/fs01"]);
    let rows = audit.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor"], "alice");
    assert_eq!(rows[0]["command"], "cmdb edit");
    assert_eq!(rows[0]["before"]["os"], serde_json::Value::Null);
    assert_eq!(rows[0]["after"]["os"], "Debian 12");
    assert_eq!(rows[0]["at"], crate::env::NOW);
    // the login name is the fallback actor
    let all = env.json(&["audit", "list", "--entity", "plan"]);
    assert_eq!(all[0]["actor"], "tester");
}
