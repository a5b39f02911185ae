//! `bmctl cmdb`.

use crate::env::*;

#[test]
fn cmdb_import_is_idempotent() {
    let env = TestEnv::new();
    onboard_strict(&env);
    let csv = repo_file("examples/cmdb.csv");
    let first = env.json(&["cmdb", "import", csv.to_str().unwrap()]);
    assert_eq!(
        first,
        serde_json::json!({"added": 3, "updated": 0, "unchanged": 0})
    );
    let second = env.json(&["cmdb", "import", csv.to_str().unwrap()]);
    assert_eq!(
        second,
        serde_json::json!({"added": 0, "updated": 0, "unchanged": 3})
    );
    let bad = env.write(
        "bad.csv",
        "client,host,kind,tier,os,role\nacme,ok1,vm,2,,\nacme,ok2,vm,9,,\n",
    );
    let r = env.run(&["cmdb", "import", bad.to_str().unwrap()]).code(3);
    assert!(r.stderr.contains("bad.csv:3: tier"), "{}", r.stderr);
    assert_eq!(env.count("cis"), 5);
    let unprotected = env.json(&["cmdb", "list", "--unprotected"]);
    assert_eq!(unprotected.as_array().unwrap().len(), 3);
}
