//! borgmatic (1.7, Debian 12) as `bmctl run -- borgmatic create --json`
//! sees it. borgmatic exits 0 or 1 only; borg's own code shows in its
//! stderr (`… returned non-zero exit status N.`). With `--json` a borg
//! warning (1: a missing or unreadable source path, the archive made) makes
//! borgmatic exit 1 with nothing on stdout, and borg's JSON appears on
//! stderr as a Python bytes literal. See tests/fixtures/borgmatic/README.md.

use chrono_tz::Tz;

use super::{borg, ToolRun};
use crate::domain::event::Status;

/// What a finished borgmatic run means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// The first repository's archive (start, end, size, files, id).
    pub run: ToolRun,
    /// Why, when not a plain success.
    pub note: Option<String>,
}

/// Judge a run from its exit code, stdout and stderr lines; `json`: the
/// command line asked for `--json` (without it borgmatic hides warnings).
pub fn judge(code: i32, stdout: &str, stderr: &[String], json: bool, tz: Tz) -> Verdict {
    let borg_codes: Vec<i64> = stderr
        .iter()
        .filter_map(|l| l.trim().strip_suffix('.'))
        .filter_map(|l| l.rsplit_once("returned non-zero exit status "))
        .filter_map(|(_, n)| n.trim().parse().ok())
        .collect();
    let first = |runs: Vec<ToolRun>| runs.into_iter().next().unwrap_or_default();
    let from_stdout = || {
        // borgmatic prints a JSON array, one borg document per repository
        let value: serde_json::Value = serde_json::from_str(stdout.trim()).ok()?;
        let doc = value.as_array()?.first()?.to_string();
        borg::parse(&doc, tz).ok()
    };
    match code {
        0 => match from_stdout() {
            Some(runs) => Verdict {
                status: Status::Success,
                run: first(runs),
                note: None,
            },
            None if json => Verdict {
                status: Status::Warning,
                run: ToolRun::default(),
                note: Some("borgmatic exited 0 but printed no archive (a soft failure of a hook skips the backup)".into()),
            },
            None => Verdict {
                status: Status::Success,
                run: ToolRun::default(),
                note: None,
            },
        },
        1 if !borg_codes.is_empty() && borg_codes.iter().all(|c| *c == 1) => Verdict {
            status: Status::Warning,
            run: stderr
                .iter()
                .find_map(|l| bytes_literal(l))
                .and_then(|doc| borg::parse(&doc, tz).ok())
                .map(first)
                .unwrap_or_default(),
            note: Some("borg warned (exit 1): the archive was made; see the lines above".into()),
        },
        _ => Verdict {
            status: Status::Failed,
            run: ToolRun::default(),
            note: borg_codes
                .iter()
                .find(|c| **c != 1)
                .map(|c| format!("borg exited {c}")),
        },
    }
}

/// The text of a Python bytes literal line (`b'{\n "archive": …}\n'`).
fn bytes_literal(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix("b'")?.strip_suffix('\'')?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match chars.next()? {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = [chars.next()?, chars.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/borgmatic/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn lines(name: &str) -> Vec<String> {
        fixture(name).lines().map(str::to_string).collect()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn a_good_run_is_a_success_with_its_archive() {
        let v = judge(0, &fixture("create-ok.json"), &[], true, BERLIN);
        assert_eq!(v.status, Status::Success);
        assert!(v.run.bytes.is_some() && v.run.files == Some(2), "{v:?}");
        assert!(v.run.id.is_some());
        // two repositories: the first one's archive
        let two = judge(0, &fixture("create-two-ok.json"), &[], true, BERLIN);
        assert_eq!(two.status, Status::Success);
    }

    #[test]
    fn a_borg_warning_is_a_warning_with_the_archive_from_stderr() {
        for f in ["create-warn-missing.err", "create-warn-unreadable.err"] {
            let v = judge(1, "", &lines(f), true, BERLIN);
            assert_eq!(v.status, Status::Warning, "{f}");
        }
        let v = judge(1, "", &lines("create-warn-missing.err"), true, BERLIN);
        assert_eq!((v.run.bytes, v.run.files), (Some(611), Some(2)));
    }

    #[test]
    fn errors_fail() {
        for f in [
            "create-fail-password.err",
            "create-fail-norepo.err",
            "create-two-onefail.err",
            "create-badconfig.err",
            "create-noconfig.err",
        ] {
            let v = judge(1, "", &lines(f), true, BERLIN);
            assert_eq!(v.status, Status::Failed, "{f}");
        }
        let v = judge(1, "", &lines("create-fail-password.err"), true, BERLIN);
        assert_eq!(v.note.as_deref(), Some("borg exited 2"));
    }

    #[test]
    fn no_archive_after_exit_zero_is_a_warning_under_json() {
        assert_eq!(judge(0, "", &[], true, BERLIN).status, Status::Warning);
        assert_eq!(judge(0, "", &[], false, BERLIN).status, Status::Success);
    }

    #[test]
    fn bytes_literals_unescape() {
        assert_eq!(
            bytes_literal(r"b'{\n \x41\\ \'x\'}'").as_deref(),
            Some("{\n A\\ 'x'}")
        );
        assert_eq!(bytes_literal("no"), None);
    }
}
