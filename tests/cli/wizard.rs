//! The `macd add` wizard on a real pty (util-linux `script`): an invalid
//! answer is re-asked with its reason, a new CI gets its kind and tier, the
//! summary shows every field and the risk, and the request is saved.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::env::*;

/// A program on a pty, driven like a person: wait for text, then type.
struct Pty {
    child: Child,
    seen: Arc<Mutex<String>>,
    from: usize,
}

impl Pty {
    fn spawn(line: &str) -> Pty {
        let mut child = Command::new("script")
            .args(["-qec", line, "/dev/null"])
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .env("BMCTL_SERVICE_ACCOUNTS", crate::env::test_login())
            .env_remove("SUDO_UID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        let mut out = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty {
            child,
            seen,
            from: 0,
        }
    }

    /// The screen's text so far, escape sequences left out.
    fn text(&self) -> String {
        let raw = self.seen.lock().unwrap().clone();
        let mut out = String::new();
        let mut esc = false;
        for c in raw.chars() {
            match (esc, c) {
                (false, '\u{1b}') => esc = true,
                (true, c) if c.is_ascii_alphabetic() => esc = false,
                (true, _) => {}
                (false, '\r') => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    /// Wait until `what` appears after what was seen before.
    fn expect(&mut self, what: &str) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if let Some(i) = text[self.from.min(text.len())..].find(what) {
                self.from += i + what.len();
                return;
            }
            assert!(
                Instant::now() < until,
                "waited for {what:?}; the screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
}

#[test]
fn the_add_wizard_checks_each_answer_and_adds_a_new_ci() {
    let env = onboarded("2026-11-01T00:00:00Z");
    let bin = assert_cmd::cargo::cargo_bin("bmctl");
    let mut pty = Pty::spawn(&format!(
        "{} --db {} --now 2026-11-30T09:00:00Z --actor alice macd add",
        bin.display(),
        env.db.display()
    ));
    pty.expect("client (acme)");
    pty.send("acmee");
    pty.expect("no client 'acmee'; the clients are acme");
    pty.send("acme");
    pty.expect("CI of acme (fs01, sql01; or a new host)");
    pty.send("fs02");
    pty.expect("fs02 is not in acme's CMDB: add it as a new CI?");
    pty.send("y");
    pty.expect("kind of fs02");
    pty.send("toaster");
    pty.expect("'toaster'");
    pty.send("server");
    pty.expect("tier of fs02");
    pty.send("1");
    pty.expect("job name");
    pty.send(""); // the default: fs02-nightly
    pty.expect("tool (");
    pty.send("");
    pty.expect("schedule (cron, in Europe/Berlin)");
    pty.send("61 * * * *");
    pty.expect("61");
    pty.expect("schedule (cron, in Europe/Berlin)");
    pty.send("0 21 * * *");
    pty.expect("rpo");
    pty.send("");
    pty.expect("grace");
    pty.send("");
    pty.expect("retention");
    pty.send("yearly=x");
    pty.expect("must be a whole number");
    pty.send("daily=7,weekly=4,monthly=12");
    pty.expect("target (");
    pty.send("");
    pty.expect("restore test (");
    pty.send("");
    pty.expect("rto");
    pty.send("");
    pty.expect("reason");
    pty.send("new file server");
    pty.expect("change reference");
    pty.send("CHG-4711");
    pty.expect("Request this change?");
    let screen = pty.text();
    for field in [
        "add           acme/fs02-nightly",
        "on            fs02 (new CI: server, tier 1)",
        "schedule      0 21 * * *",
        "retention     daily=7,weekly=4,monthly=12",
        "target        offsite",
        "ref           CHG-4711",
        "risk          low",
    ] {
        assert!(screen.contains(field), "{field}: {screen}");
    }
    assert!(
        env.json(&["macd", "list"]).as_array().unwrap().is_empty(),
        "nothing written before the answer"
    );
    pty.send("y");
    let status = pty.child.wait().unwrap();
    assert!(status.success(), "{}", pty.text());
    let list = env.json(&["macd", "list"]);
    let cr = &list[0];
    assert_eq!(
        (cr["type"].as_str(), cr["job"].as_str(), cr["ref"].as_str()),
        (Some("add"), Some("fs02-nightly"), Some("CHG-4711"))
    );
    assert_eq!(cr["requested_by"], "alice");
    assert_eq!(cr["proposal"]["schedule"], "0 21 * * *");
    // the new CI comes with the change: in the CMDB once it is implemented
    let id = cr["id"].to_string();
    env.run_at(
        "2026-11-30T10:00:00Z",
        &["--actor", "bob", "macd", "approve", &id],
    )
    .ok();
    env.run_at(
        "2026-11-30T11:00:00Z",
        &["--actor", "bob", "macd", "implement", &id],
    )
    .ok();
    let ci = env.json(&["cmdb", "show", "acme/fs02"]);
    assert_eq!(
        (ci["kind"].as_str(), ci["tier"].as_i64()),
        (Some("server"), Some(1))
    );
}
