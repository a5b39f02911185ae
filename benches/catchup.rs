//! `check` catching up: N every-minute policies (default 160) over 7 days,
//! through the release binary, beside an import that waits at most 5 s for
//! the lock. Prints the check's time, its write transactions, its peak
//! resident memory and how long the import waited (BENCHMARKS.md, #17 §4).
//!
//! `cargo bench --bench catchup` (BMCTL_CATCHUP_POLICIES=20 for a quick run).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-30T07:00:00Z";

fn bmctl(bin: &Path, db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--db")
        .arg(db)
        .args(args)
        .env("BMCTL_NOW", NOW)
        .env("BMCTL_BUSY_TIMEOUT", "5s")
        .env_remove("BMCTL_DB")
        .env_remove("BMCTL_CONFIG");
    c
}

/// Peak resident memory (KiB) of a running child, polled from /proc.
fn peak_of(child: &mut std::process::Child) -> (std::process::ExitStatus, u64) {
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            for l in s.lines().filter(|l| l.starts_with("VmHWM:")) {
                let kib = l.split_whitespace().nth(1).and_then(|v| v.parse().ok());
                peak = peak.max(kib.unwrap_or(0));
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            return (st, peak);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let n: usize = std::env::var("BMCTL_CATCHUP_POLICIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(160);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_bmctl"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catchup.db");
    let mut plan = String::from(
        "client = \"acme\"\nname = \"Acme\"\ntimezone = \"UTC\"\n\n[[ci]]\nhost = \"fs01\"\nkind = \"server\"\ntier = 1\n",
    );
    for i in 0..n {
        plan.push_str(&format!(
            "\n[[policy]]\njob = \"minutely-{i:03}\"\nci = \"fs01\"\ntool = \"other\"\nschedule = \"* * * * *\"\nrpo = \"1h\"\ngrace = \"30s\"\nretention = {{ daily = 7 }}\ntarget = \"local\"\nrestore_test = \"never\"\nrto = \"4h\"\n"
        ));
    }
    let plan_file = dir.path().join("plan.toml");
    std::fs::write(&plan_file, plan).unwrap();
    assert!(bmctl(&bin, &db, &["init", "--allow-time-travel"])
        .status()
        .unwrap()
        .success());
    let onboard = bmctl(
        &bin,
        &db,
        &["--now", "2026-11-20T00:00:00Z", "plan", "import"],
    )
    .arg(&plan_file)
    .status()
    .unwrap();
    assert!(onboard.success());
    let lines: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"client":"acme","job":"minutely-{i:03}","status":"success","ended_at":"2026-11-30T06:58:10Z","source":"bench"}}"#))
        .collect();
    let events = dir.path().join("beside.jsonl");
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();

    let t = Instant::now();
    let mut check = bmctl(&bin, &db, &["--format", "json", "check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = check.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { out }, &mut s).unwrap();
        s
    });
    std::thread::sleep(Duration::from_millis(500));
    let i = Instant::now();
    let import = bmctl(&bin, &db, &["events", "import"])
        .arg(&events)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let waited = i.elapsed();
    let (status, peak) = peak_of(&mut check);
    let took = t.elapsed();
    let report: serde_json::Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert!(status.success(), "check failed");
    println!("bmctl catch-up benchmark: {n} every-minute policies, 7 days");
    println!(
        "{:<48}{:>12}",
        "check: windows closed", report["occurrences_closed"]
    );
    println!(
        "{:<48}{:>12}",
        "check: write transactions", report["transactions"]
    );
    println!("{:<48}{:>12.1}", "check: time (s)", took.as_secs_f64());
    println!(
        "{:<48}{:>12.1}",
        "check: peak resident memory (MiB)",
        peak as f64 / 1024.0
    );
    println!(
        "{:<48}{:>12}",
        "import beside it (busy timeout 5 s)",
        if import.success() {
            format!("ok, {:.2} s", waited.as_secs_f64())
        } else {
            "FAILED".into()
        }
    );
    assert!(
        import.success(),
        "the import beside the check was kept waiting"
    );
}
