//! The README's commands run: its short session, line by line, on a
//! scratch database (a failing line fails the test).

use std::process::Command;

use crate::env::*;

/// The shell block of a README section.
fn block(readme: &str, heading: &str) -> String {
    let section = readme
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README has no section '{heading}'"));
    let start = section.find("```sh\n").expect("a sh block") + 6;
    let len = section[start..].find("```").expect("the block's end");
    section[start..start + len].to_string()
}

#[test]
fn the_readme_short_session_runs() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let script = block(&readme, "A short session");
    assert!(script.contains("bmctl init"), "{script}");
    let env = TestEnv::new();
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = env.path("home");
    // the repository's examples in a folder of its own: the session writes files
    let work = env.path("work");
    std::fs::create_dir_all(work.join("examples")).unwrap();
    for f in std::fs::read_dir(repo_file("examples")).unwrap() {
        let f = f.unwrap();
        if f.path().is_file() {
            std::fs::copy(f.path(), work.join("examples").join(f.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new("bash")
        .args(["-e", "-x", "-c", &script])
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the session stopped:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // what the session says it shows
    assert!(
        stdout.contains("Backup failed: acme/erp01-nightly"),
        "{stdout}"
    );
    assert!(stdout.contains("kiosk-03"), "{stdout}");
    assert!(home.join("msp/bmctl.db").is_file());
    assert!(work.join("acme.toml").is_file(), "the exported plan");
}
