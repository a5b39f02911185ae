//! The quarterly service review a service manager hands to the client
//! (#13): what the client's version holds and leaves out, the internal
//! version, the index, and the review rendered by a real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::*;

/// The rules of the risk register: the client's review names none.
const RULES: [&str; 12] = [
    "unprotected-ci",
    "restore-test-overdue",
    "chronic-failure",
    "rpo-breach",
    "rpo-unreachable",
    "no-offsite-copy",
    "retention-below-requirement",
    "growth",
    "aged-backlog",
    "sla-breach",
    "change-open-too-long",
    "unmatched-job",
];

/// The commands a client's review must not tell anyone to run.
const COMMANDS: [&str; 17] = [
    "client", "cmdb", "plan", "events", "run", "check", "pause", "tasks", "correct", "restore",
    "macd", "kpi", "audit", "db", "config", "init", "demo",
];

/// A demo (its config brands the reviews) and the folder of its reviews.
fn demo() -> (TestEnv, PathBuf) {
    let (env, _) = demo_env();
    let reviews = env.path("bmctl-demo-reviews");
    (env, reviews)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `bmctl WORD` where WORD is a command: the words after each "bmctl ".
fn commands_named(text: &str) -> Vec<String> {
    text.match_indices("bmctl ")
        .filter(|(i, _)| {
            // a word boundary before "bmctl"
            *i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric()
        })
        .filter_map(|(i, _)| {
            let word: String = text[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            COMMANDS
                .contains(&word.as_str())
                .then(|| format!("bmctl {word}"))
        })
        .collect()
}

/// The rows (`<tr>…</tr>`) of every table whose class starts with `class`.
fn rows_of(html: &str, class: &str) -> Vec<String> {
    let mut rows = Vec::new();
    for (start, _) in html.match_indices(&format!("<table class=\"{class}")) {
        let end = start + html[start..].find("</table>").unwrap();
        let table = &html[start..end];
        for (i, _) in table.match_indices("<tr>") {
            let j = i + table[i..].find("</tr>").unwrap();
            rows.push(table[i..j].to_string());
        }
    }
    rows
}

#[test]
fn the_demo_writes_a_client_and_an_internal_review_for_each_client_and_an_index() {
    let (env, reviews) = demo();
    for client in ["acme", "globex", "wombat"] {
        for f in ["qsr-2026-Q4.html", "qsr-2026-Q4-internal.html"] {
            assert!(reviews.join(client).join(f).is_file(), "{client}/{f}");
        }
    }
    let index = read(&reviews.join("index.html"));
    for client in ["acme", "globex", "wombat"] {
        assert!(
            index.contains(&format!("href=\"{client}/qsr-2026-Q4.html\"")),
            "{index}"
        );
    }
    assert!(
        index.contains("class=\"badge "),
        "a status per client: {index}"
    );
    assert!(reviews.join("index.md").is_file());
    drop(env);
}

#[test]
fn the_client_review_speaks_the_clients_language() {
    let (env, reviews) = demo();
    let html = read(&reviews.join("acme/qsr-2026-Q4.html"));
    // the executive summary comes before the KPI table, the MSP's name first
    let summary = html.find("id=\"summary\"").expect("a summary");
    let kpis = html.find("id=\"kpis\"").expect("a KPI table");
    assert!(summary < kpis);
    assert!(html.contains("Northwind Managed IT"), "the MSP's name");
    let status = ["GREEN", "AMBER", "RED"]
        .iter()
        .filter(|s| html[summary..kpis].contains(&format!(">{s}</span>")))
        .count();
    assert_eq!(status, 1, "one overall status");
    assert!(
        html.contains("2026-Q4 to date (60 of 92 days)"),
        "the period"
    );
    assert!(html.contains("Next review: 2027-04-15"));
    assert!(html.contains("<h2>Sign-off</h2>"), "room for both to sign");
    // no rule id, no command, no internal chores
    // (`growth` is a word too: the hyphenated ids and the internal mark)
    for rule in RULES.iter().filter(|r| r.contains('-')) {
        assert!(
            !html.contains(rule),
            "rule id {rule} in the client's review"
        );
    }
    assert!(!html.contains("(growth)"));
    assert_eq!(commands_named(&html), Vec::<String>::new());
    assert!(!html.contains("Our own service"));
    assert!(!html.contains("staffing"));
    // one row per risk and system
    let rows: Vec<String> = rows_of(&html, "risks")
        .into_iter()
        .filter(|r| !r.contains("<th>"))
        .collect();
    assert!(rows.len() > 3, "{rows:?}");
    let mut unique = rows.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rows.len(), "identical risk rows");
    // the grid: a row per job of the plan, a column per day of the quarter
    let shown = env
        .base()
        .args(["--db", env.path("bmctl-demo.db").to_str().unwrap()])
        .args(["--format", "json", "plan", "show", "acme"])
        .output()
        .unwrap();
    let jobs: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let grid = rows_of(&html, "grid");
    let body: Vec<&String> = grid
        .iter()
        .filter(|r| r.contains("class=\"job\""))
        .collect();
    assert_eq!(
        body.len(),
        jobs["policies"].as_array().unwrap().len(),
        "{jobs}"
    );
    for row in body {
        assert_eq!(row.matches("class=\"c c-").count(), 92, "{row}");
    }
    // the JSON carries what the HTML shows
    let json: serde_json::Value =
        serde_json::from_str(&read(&reviews.join("acme/qsr-2026-Q4.json"))).unwrap();
    assert_eq!(json["audience"], "client");
    assert_eq!(json["grid"]["days"].as_array().unwrap().len(), 92);
    for key in [
        "status",
        "summary",
        "scorecard",
        "risks",
        "capacity",
        "sla_attainment",
    ] {
        assert!(!json[key].is_null(), "{key}");
    }
    for csv in [
        "scorecard",
        "risks",
        "grid",
        "restores",
        "changes",
        "capacity",
    ] {
        assert!(
            reviews
                .join(format!("acme/qsr-2026-Q4-{csv}.csv"))
                .is_file(),
            "{csv}"
        );
    }
}

#[test]
fn the_internal_review_keeps_everything() {
    let (_env, reviews) = demo();
    let html = read(&reviews.join("globex/qsr-2026-Q4-internal.html"));
    assert!(html.contains("INTERNAL — not for the client"));
    assert!(html.contains("Our own service (internal)"));
    assert!(!html.contains("Sign-off"));
    assert!(RULES.iter().any(|r| html.contains(r)), "rule ids");
    // the SLA breaches are one row for the client, not one per ticket
    let sla = rows_of(&html, "risks")
        .into_iter()
        .filter(|r| r.contains("(sla-breach)"))
        .count();
    assert!(sla <= 1, "{sla}");
}

#[test]
fn targets_and_branding_come_from_the_config() {
    let env = onboarded("2026-10-01T00:00:00Z");
    let logo = env.write(
        "logo.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>",
    );
    let cfg = env.write(
        "config.toml",
        &format!(
            "[targets]\ngold_incident_rate = 50\n\n[branding]\nname = \"Acme's MSP\"\naccent = \"#aa3300\"\nlogo = \"{}\"\ncontact = \"noc@msp.example\"\n",
            logo.display()
        ),
    );
    let out = env.path("qsr");
    env.base()
        .args([
            "--db",
            env.db.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .args(["plan", "review", "--client", "acme", "--quarter", "2026-Q4"])
        .args(["--out", out.to_str().unwrap(), "--formats", "html,json"])
        .assert()
        .success();
    let html = read(&out.join("acme/qsr-2026-Q4.html"));
    assert!(
        html.contains("Acme&#39;s MSP") || html.contains("Acme's MSP"),
        "{html}"
    );
    assert!(html.contains("--accent:#aa3300"));
    // the logo embedded, so the file stays one file
    assert!(
        html.contains("<img src=\"data:image/svg+xml;base64,PHN2Zy"),
        "{html}"
    );
    assert!(html.contains("noc@msp.example"));
    let json: serde_json::Value =
        serde_json::from_str(&read(&out.join("acme/qsr-2026-Q4.json"))).unwrap();
    assert_eq!(json["targets"]["incident_rate"], 50.0);
    // a colour that is not one is a config error naming the setting
    let bad = env.write("bad.toml", "[branding]\naccent = \"blue\"\n");
    let r = env
        .base()
        .args([
            "--db",
            env.db.to_str().unwrap(),
            "--config",
            bad.to_str().unwrap(),
        ])
        .args(["plan", "review", "--client", "acme", "--quarter", "2026-Q4"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("branding.accent"));
}

/// The review in a real browser: headless Chromium prints the PDF bmctl
/// asks for and takes a 1280-px screenshot.
#[test]
fn real_clock_the_review_renders_in_headless_chromium() {
    let (env, _) = demo();
    let out = env.path("qsr");
    let r = env
        .base()
        .args(["--db", env.path("bmctl-demo.db").to_str().unwrap()])
        .args(["plan", "review", "--client", "acme", "--quarter", "2026-Q4"])
        .args(["--out", out.to_str().unwrap(), "--formats", "html,pdf"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let pdf = std::fs::read(out.join("acme/qsr-2026-Q4.pdf")).unwrap();
    assert!(
        pdf.starts_with(b"%PDF-") && pdf.len() > 10_000,
        "{}",
        pdf.len()
    );
    let shot = env.path("review.png");
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
        .expect("chromium (.ci/run installs it)");
    let profile = env.path("chromium-profile");
    let s = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!(
            "file://{}",
            out.join("acme/qsr-2026-Q4.html").display()
        ))
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    // a 1280-px wide image (the IHDR's width)
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1280);
    // a browser that is not there is said plainly, before anything is written
    let r = env
        .base()
        .args(["--db", env.path("bmctl-demo.db").to_str().unwrap()])
        .args(["plan", "review", "--client", "acme", "--quarter", "2026-Q4"])
        .args([
            "--out",
            env.path("none").to_str().unwrap(),
            "--formats",
            "pdf",
        ])
        .args(["--chromium", "/nonexistent/chromium"])
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("--chromium /nonexistent/chromium"));
    assert!(!env.path("none").exists());
}
