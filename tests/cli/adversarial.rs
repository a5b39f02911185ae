//! The adversarial corpus (`tests/adversarial/*/case.toml`): hostile inputs,
//! each with its command, exit code, messages and the rows left behind.

use std::path::Path;

use serde::Deserialize;

use crate::env::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    finding: String,
    onboard: Option<String>,
    #[serde(default)]
    step: Vec<Step>,
    #[serde(default)]
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    now: Option<String>,
    args: Vec<String>,
    exit: i32,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    mtime: std::collections::BTreeMap<String, String>,
    /// SQL run on the database file before the step (tampering by hand).
    sql: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    sql: String,
    value: i64,
}

fn set_mtime(path: &Path, rfc3339: &str) {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("mtime is RFC 3339");
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.timestamp() as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .unwrap_or_else(|e| panic!("setting the mtime of {}: {e}", path.display()));
}

fn run_case(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("case.toml: {e}"))?;
    steps(dir, &case).map_err(|e| format!("[{}]\n{e}", case.finding))
}

fn steps(dir: &Path, case: &Case) -> Result<(), String> {
    let env = TestEnv::new();
    // the case's files are copied, so that mtimes and modes can be set
    let work = env.path("case");
    std::fs::create_dir(&work).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, work.join(p.file_name().unwrap())).unwrap();
    }
    if let Some(at) = &case.onboard {
        let plan = env.write("plan.toml", PLAN);
        env.run_at(at, &["plan", "import", plan.to_str().unwrap()])
            .ok();
    }
    let place = |a: &String| a.replace("{case}", work.to_str().unwrap());
    for (i, step) in case.step.iter().enumerate() {
        for (file, at) in &step.mtime {
            set_mtime(&work.join(file), at);
        }
        if let Some(sql) = &step.sql {
            let conn = rusqlite::Connection::open(&env.db).unwrap();
            conn.execute_batch(sql).map_err(|e| format!("{sql}: {e}"))?;
        }
        let args: Vec<String> = step.args.iter().map(place).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = match &step.now {
            Some(now) => env.run_at(now, &args),
            None => env.run(&args),
        };
        let what = format!(
            "step {} ({:?}): exit {}\nstdout: {}\nstderr: {}",
            i + 1,
            step.args,
            r.code,
            r.stdout,
            r.stderr
        );
        if r.code != step.exit {
            return Err(format!("wanted exit {}; {what}", step.exit));
        }
        for want in &step.stdout {
            if !r.stdout.contains(want.as_str()) {
                return Err(format!("stdout lacks {want:?}; {what}"));
            }
        }
        for want in &step.stderr {
            if !r.stderr.contains(want.as_str()) {
                return Err(format!("stderr lacks {want:?}; {what}"));
            }
        }
    }
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    for e in &case.expect {
        let got: i64 = conn
            .query_row(&e.sql, [], |r| r.get(0))
            .map_err(|err| format!("{}: {err}", e.sql))?;
        if got != e.value {
            return Err(format!("{} = {got}, wanted {}", e.sql, e.value));
        }
    }
    Ok(())
}

#[test]
fn every_case_of_the_adversarial_corpus_holds() {
    let root = repo_file("tests/adversarial");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases in {}", root.display());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            run_case(d)
                .err()
                .map(|e| format!("{}: {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
