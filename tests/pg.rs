//! #16 step 1 on a real PostgreSQL server: the schema of this version, the
//! same tables and columns as the SQLite store's, the same refusal of a
//! newer schema, and the invariants as the server's own constraints. The
//! server comes from `BMCTL_TEST_PG` (libpq `key=value` or a URL; `.ci/run`
//! starts one); these tests are ignored without it.

use bmctl::store::pg;

fn admin() -> postgres::Client {
    let params = std::env::var("BMCTL_TEST_PG").expect("BMCTL_TEST_PG names a PostgreSQL server");
    pg::connect(&params).expect("connect")
}

/// A fresh, empty database of its own, dropped at the end.
struct Fresh {
    name: String,
}

impl Fresh {
    fn new(tag: &str) -> Fresh {
        let name = format!("bmctl_test_{tag}_{}", std::process::id());
        let mut a = admin();
        // one statement each: neither may run in a transaction block
        a.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        a.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Fresh { name }
    }

    fn client(&self) -> postgres::Client {
        let params = std::env::var("BMCTL_TEST_PG").unwrap();
        let params = if pg::is_url(&params) {
            format!("{}/{}", params.trim_end_matches('/'), self.name)
        } else {
            format!("{params} dbname={}", self.name)
        };
        pg::connect(&params).unwrap()
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Tables and their columns in order, as SQLite's fresh schema has them.
fn sqlite_tables() -> Vec<(String, Vec<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ref.db");
    let store = bmctl::store::Store::create(&path, std::time::Duration::from_secs(5)).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|t| {
            let cols: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{t}') ORDER BY cid"
                ))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (t, cols)
        })
        .collect()
}

#[test]
#[ignore = "needs a PostgreSQL server (BMCTL_TEST_PG)"]
fn real_clock_pg_schema_has_the_sqlite_tables_and_columns() {
    let db = Fresh::new("schema");
    let mut c = db.client();
    assert_eq!(pg::version(&mut c).unwrap(), 0);
    pg::migrate(&mut c, &db.name).unwrap();
    assert_eq!(pg::version(&mut c).unwrap(), pg::VERSION);
    // again: nothing to do
    pg::migrate(&mut c, &db.name).unwrap();
    for (table, cols) in sqlite_tables() {
        let got: Vec<String> = c
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(got, cols, "table {table}");
    }
}

#[test]
#[ignore = "needs a PostgreSQL server (BMCTL_TEST_PG)"]
fn real_clock_pg_refuses_a_newer_schema_touching_nothing() {
    let db = Fresh::new("newer");
    let mut c = db.client();
    pg::migrate(&mut c, &db.name).unwrap();
    c.execute("UPDATE bmctl_schema SET version = 99", &[])
        .unwrap();
    let e = pg::migrate(&mut c, &db.name).unwrap_err().to_string();
    assert!(
        e.contains("schema version 99, but this bmctl knows only up to version 31"),
        "{e}"
    );
    assert_eq!(pg::version(&mut c).unwrap(), 99);
}

#[test]
#[ignore = "needs a PostgreSQL server (BMCTL_TEST_PG)"]
fn real_clock_pg_holds_the_invariants_as_constraints() {
    let db = Fresh::new("invariants");
    let mut c = db.client();
    pg::migrate(&mut c, &db.name).unwrap();
    c.batch_execute(
        "INSERT INTO clients (id, code, name, timezone, sla_tier, created_at, updated_at) VALUES (1, 'acme', 'Acme', 'UTC', 'gold', 0, 0);
         INSERT INTO cis (id, client_id, host, kind, tier, created_at, updated_at) VALUES (1, 1, 'fs01', 'server', 1, 0, 0);
         INSERT INTO policies (id, client_id, ci_id, job, tool, schedule, rpo_s, grace_s, retention, target, restore_test, rto_s, created_at)
             VALUES (1, 1, 1, 'fs01-nightly', 'restic', '0 22 * * *', 86400, 3600, 'daily=7', 'offsite', 'monthly', 3600, 0);",
    )
    .unwrap();
    // a policy's state row comes with it, as SQLite's trigger makes it
    let n: i64 = c
        .query_one("SELECT count(*) FROM policy_state WHERE policy_id = 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // one open ticket per policy and problem class
    let open = "INSERT INTO tickets (kind, class, client_id, policy_id, title, status, priority, opened_at, updated_at)
                VALUES ('corrective', 'failed', 1, 1, 'Backup failed', 'open', 2, 0, 0)";
    c.execute(open, &[]).unwrap();
    let e = c.execute(open, &[]).unwrap_err();
    assert!(format!("{e:?}").contains("tickets_open_problem"), "{e:?}");
    // the audit log is append-only
    c.batch_execute(
        "INSERT INTO audit_log (at, actor, command, entity_type, entity_id, hash) VALUES (0, 'a', 'c', 't', '1', 'h')",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = c
        .execute("UPDATE audit_log SET actor = 'mallory'", &[])
        .unwrap_err();
    assert!(format!("{e:?}").contains("append-only"), "{e:?}");
    let e = c.execute("DELETE FROM audit_log", &[]).unwrap_err();
    assert!(format!("{e:?}").contains("append-only"), "{e:?}");
}
