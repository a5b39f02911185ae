//! One vocabulary: a list's table header names the JSON keys of its rows
//! (or a short form README documents).

use crate::env::*;

/// Table headers that stand for a JSON key of another name (README,
/// "Output": the short forms).
const SHORT: &[(&str, &str)] = &[
    ("due", "due_at"),
    ("due", "due_offset_s"),
    ("lead", "lead_time_s"),
    ("started", "started_at"),
    ("ended", "ended_at"),
    ("took", "duration_s"),
    ("rto", "rto_s"),
    ("age", "age_days"),
    ("op", "operation"),
    ("id", "external_id"),
    ("prio", "priority"),
    ("psa", "psa_ref"),
    ("seen", "occurrences"),
    ("requested", "requested_at"),
    ("occurrence", "occurrence_at"),
    ("by", "actor"),
    ("entity", "entity_id"),
    ("what", "client"),
    ("flag", "overdue"),
    ("checklist", "checklist_done"),
];

#[test]
fn every_list_header_is_a_json_key() {
    let (env, db) = demo_env();
    let lists: &[&[&str]] = &[
        &["client", "list"],
        &["cmdb", "list"],
        &["plan", "show", "acme"],
        &["plan", "history", "acme"],
        &["plan", "risks", "--client", "acme"],
        &["events", "list", "--client", "acme", "--limit", "50"],
        &["events", "exclusions"],
        &["pause", "list", "--all"],
        &["correct", "list"],
        &["tasks", "due"],
        &["tasks", "templates", "list"],
        &["restore", "list"],
        &["restore", "list", "--latest"],
        &["macd", "list"],
        &["audit", "list", "--entity", "plan"],
        &["due"],
        &["config", "show"],
        // last: it writes (the windows closed since the demo was built)
        &["--now", "2026-12-20T00:00:00Z", "check"],
    ];
    let mut wrong = Vec::new();
    for args in lists {
        let run = |json: bool| {
            let mut c = env.base();
            c.args(["--db", &db]);
            if json {
                c.args(["--format", "json"]);
            }
            let out = c.args(*args).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        let json: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
        let rows = match &json {
            serde_json::Value::Array(a) => a.clone(),
            serde_json::Value::Object(o) => o
                .values()
                .find_map(|v| v.as_array().cloned())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let Some(first) = rows.first().and_then(|r| r.as_object()) else {
            wrong.push(format!("{args:?}: no rows to compare"));
            continue;
        };
        let table = run(false);
        // the header: the first line whose first word is a key (a caption may come before)
        let header = table
            .lines()
            .find(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| first.contains_key(w))
            })
            .unwrap_or("");
        for h in header.split_whitespace() {
            let known = first.contains_key(h)
                || SHORT.iter().any(|(s, k)| *s == h && first.contains_key(*k));
            if !known {
                wrong.push(format!("{args:?}: header '{h}' is not a JSON key"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The object a command acts on is positional; the old flag works for one
/// minor version, saying what replaces it.
#[test]
fn old_forms_still_work_and_say_what_replaces_them() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "cmdb", "add", "--client", "acme", "fs77", "--kind", "vm", "--tier", "3",
            ],
            "write `bmctl cmdb add acme/fs77`",
        ),
        (
            &[
                "macd",
                "change",
                "--job",
                "acme/fs01-nightly",
                "--set",
                "rto=2h",
                "--reason",
                "faster",
            ],
            "write `bmctl macd change acme/fs01-nightly`",
        ),
        (
            &[
                "restore",
                "record",
                "--job",
                "acme/fs01-nightly",
                "--kind",
                "test",
                "--outcome",
                "success",
            ],
            "write `bmctl restore record acme/fs01-nightly`",
        ),
        (
            &[
                "correct",
                "open",
                "--job",
                "acme/fs01-nightly",
                "--title",
                "slow",
            ],
            "write `bmctl correct open acme/fs01-nightly`",
        ),
    ];
    for (args, hint) in cases {
        let r = env.run(args).ok();
        assert!(
            r.stderr.contains("is deprecated") && r.stderr.contains(hint),
            "{args:?}: {}",
            r.stderr
        );
    }
    // the new forms say nothing of the kind
    let cases: [&[&str]; 3] = [
        &["cmdb", "add", "acme/fs78", "--kind", "vm", "--tier", "3"],
        &["macd", "delete", "acme/sql01-nightly", "--reason", "gone"],
        &["correct", "open", "acme/sql01-nightly", "--title", "slow"],
    ];
    for args in cases {
        let r = env.run(args).ok();
        assert!(!r.stderr.contains("deprecated"), "{args:?}: {}", r.stderr);
    }
    // a CI without its client is refused, naming the form
    let r = env
        .run(&["cmdb", "add", "fs79", "--kind", "vm", "--tier", "3"])
        .code(3);
    assert!(r.stderr.contains("CLIENT/HOST"), "{}", r.stderr);
}
