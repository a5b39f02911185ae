//! Identities that cannot be claimed, on a real shared host (#15): OS users
//! alice, bob (technicians), carol (approver), dave (backup admin), the
//! service account bmctl, sudo's rule and the system config, as
//! `.ci/identity-setup.sh` makes them. Needs root and that setup: ignored
//! by a plain `cargo test`; `.ci/run` runs the setup, then this.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BMCTL: &str = "/usr/local/bin/bmctl";
const DB: &str = "/var/lib/bmctl/bmctl.db";

/// `user` runs bmctl through sudo as the service account, as README says.
fn via_sudo(user: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new("runuser");
    c.args(["-u", user, "--", "sudo", "-n", "-u", "bmctl", BMCTL])
        .args(args)
        .current_dir("/tmp")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("runuser and sudo");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// The service account itself, as cron runs it.
fn as_service(args: &[&str]) -> Output {
    Command::new("runuser")
        .args(["-u", "bmctl", "--", BMCTL])
        .args(args)
        .current_dir("/tmp")
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn expect(o: Output, want: i32, what: &str) -> Output {
    assert_eq!(
        code(&o),
        want,
        "{what}: stdout {} stderr {}",
        String::from_utf8_lossy(&o.stdout),
        err(&o)
    );
    o
}

#[test]
#[ignore = "needs root and the identity setup (.ci/identity-setup.sh)"]
fn real_clock_a_shared_host_takes_the_actor_from_the_os() {
    assert!(
        std::path::Path::new("/etc/sudoers.d/bmctl").exists(),
        "run .ci/identity-setup.sh target/debug/bmctl first (as root)"
    );
    // the backup admin onboards the client, the plan on stdin (files do
    // not cross the uid boundary)
    let plan = include_str!("../examples/plan.toml");
    expect(
        via_sudo("dave", &["plan", "import", "-"], Some(plan)),
        0,
        "dave imports the plan",
    );
    // a file of dave's own is not read for him; the spool folder is
    let csv = "client,host,kind,tier,os,role\nacme,print02,server,3,,\n";
    std::fs::write("/home/dave/cmdb.csv", csv).unwrap();
    let o = expect(
        via_sudo("dave", &["cmdb", "import", "/home/dave/cmdb.csv"], None),
        5,
        "a path outside the spool",
    );
    assert!(err(&o).contains("/var/spool/bmctl/incoming"), "{}", err(&o));
    let copied = Command::new("runuser")
        .args([
            "-u",
            "dave",
            "--",
            "cp",
            "/home/dave/cmdb.csv",
            "/var/spool/bmctl/incoming/",
        ])
        .status()
        .unwrap();
    assert!(copied.success());
    expect(
        via_sudo(
            "dave",
            &["cmdb", "import", "/var/spool/bmctl/incoming/cmdb.csv"],
            None,
        ),
        0,
        "a file in the spool",
    );
    // alice requests a change through sudo
    let change = [
        "macd",
        "change",
        "acme/fs01-nightly",
        "--set",
        "rto=2h",
        "--reason",
        "faster restores",
    ];
    expect(via_sudo("alice", &change, None), 0, "alice requests");
    // alice cannot approve it: not with her own name, not by naming carol,
    // not with roles of her own
    let approve = ["macd", "approve", "1"];
    let o = expect(via_sudo("alice", &approve, None), 5, "alice approves");
    assert!(err(&o).contains("approver"), "{}", err(&o));
    let o = expect(
        via_sudo(
            "alice",
            &[&["--actor", "carol"][..], &approve].concat(),
            None,
        ),
        5,
        "alice claims carol",
    );
    assert!(err(&o).contains("under sudo"), "{}", err(&o));
    // even to read
    expect(
        via_sudo("alice", &["--actor", "carol", "macd", "list"], None),
        5,
        "alice reads as carol",
    );
    std::fs::write(
        "/tmp/alice-roles.toml",
        "[team.alice]\nroles = [\"approver\"]\n",
    )
    .unwrap();
    let o = expect(
        via_sudo(
            "alice",
            &[&["--config", "/tmp/alice-roles.toml"][..], &approve].concat(),
            None,
        ),
        5,
        "alice brings her own config",
    );
    assert!(
        err(&o).contains("under sudo, bmctl uses /etc/bmctl/config.toml"),
        "{}",
        err(&o)
    );
    expect(
        via_sudo(
            "alice",
            &[&["--db", "/tmp/alice.db"][..], &approve].concat(),
            None,
        ),
        5,
        "alice brings her own database",
    );
    // dave holds both roles, and still may not approve his own request
    expect(
        via_sudo(
            "dave",
            &[
                "macd",
                "change",
                "acme/dc01-nightly",
                "--set",
                "rto=3h",
                "--reason",
                "tighter",
            ],
            None,
        ),
        0,
        "dave requests",
    );
    let o = expect(
        via_sudo("dave", &["macd", "approve", "2"], None),
        5,
        "dave approves his own",
    );
    assert!(err(&o).contains("segregation of duties"), "{}", err(&o));
    // bob is a technician too; carol approves
    expect(via_sudo("bob", &approve, None), 5, "bob approves");
    expect(via_sudo("carol", &approve, None), 0, "carol approves");
    // alice cannot open the database file herself
    let direct = Command::new("runuser")
        .args(["-u", "alice", "--", BMCTL, "--db", DB, "correct", "list"])
        .current_dir("/tmp")
        .output()
        .unwrap();
    assert_ne!(code(&direct), 0, "alice read the database directly");
    assert!(std::fs::File::open(DB).is_ok(), "root can");
    let cat = Command::new("runuser")
        .args(["-u", "alice", "--", "cat", DB])
        .output()
        .unwrap();
    assert!(!cat.status.success());
    // db check says who owns the file: the service account
    let o = expect(via_sudo("carol", &["db", "check"], None), 0, "db check");
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        shown
            .lines()
            .any(|l| l.contains("owner") && l.contains("bmctl")),
        "{shown}"
    );
    // the audit rows name alice and carol by login, with the wall clock
    let o = expect(
        via_sudo(
            "carol",
            &["--format", "json", "audit", "list", "--entity", "change"],
            None,
        ),
        0,
        "audit list",
    );
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let by = |actor: &str| rows.iter().find(|r| r["actor"] == actor).cloned();
    let requested = by("alice").expect("a row by alice");
    let approved = by("carol").expect("a row by carol");
    assert_eq!(
        requested["os_user"], "bmctl (sudo for alice)",
        "{requested}"
    );
    assert_eq!(approved["os_user"], "bmctl (sudo for carol)", "{approved}");
    let wall = |r: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(r["wall_at"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let now = chrono::Utc::now().timestamp();
    for r in [&requested, &approved] {
        assert!((now - wall(r)).abs() < 600, "wall clock: {r}");
    }
    // the review lands for the group: folders 2750, files 0640
    let now = chrono::Utc::now();
    use chrono::Datelike;
    let quarter = format!("{}-Q{}", now.year(), (now.month() - 1) / 3 + 1);
    expect(
        via_sudo(
            "carol",
            &[
                "plan",
                "review",
                "--client",
                "acme",
                "--quarter",
                &quarter,
                "--out",
                "/srv/bmctl-reviews",
                "--formats",
                "html",
            ],
            None,
        ),
        0,
        "carol writes the review",
    );
    let file = format!("/srv/bmctl-reviews/acme/qsr-{quarter}.html");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&file), 0o640, "{file}");
        assert_eq!(mode("/srv/bmctl-reviews/acme"), 0o2750);
    }
    let read = Command::new("runuser")
        .args(["-u", "alice", "--", "head", "-c", "15", &file])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&read.stdout), "<!DOCTYPE html>");
    // --now on a write: the service account replays, alice may not
    let earlier = chrono::Utc::now() - chrono::Duration::hours(1);
    let at = earlier.to_rfc3339();
    expect(
        as_service(&["--now", &at, "tasks", "generate"]),
        0,
        "the service account replays",
    );
    let o = expect(
        via_sudo(
            "alice",
            &[
                "--now",
                &at,
                "macd",
                "cancel",
                "1",
                "--reason",
                "back-dated",
            ],
            None,
        ),
        5,
        "alice back-dates",
    );
    assert!(err(&o).contains("time travel"), "{}", err(&o));
}
