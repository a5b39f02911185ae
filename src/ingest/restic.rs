//! restic's own JSON: the `restic backup --json` message stream (status,
//! summary and error lines; error lines go to stderr) and `restic snapshots
//! --json`. restic 0.14's summary carries no time: the caller supplies it.

use serde::Deserialize;
use serde_json::Value;

use super::{clip, Rejection, ToolRun};
use crate::domain::event::Status;
use crate::domain::time::parse_instant;

/// What restic prints on stderr when a backup path is missing (exit 0).
const MISSING_PATH: &str = "does not exist, skipping";

/// Accumulates a `restic backup --json` run, line by line (stdout and stderr).
#[derive(Debug, Default)]
pub struct Stream {
    summary: Option<Value>,
    errors: Vec<String>,
    texts: Vec<String>,
    missing_path: bool,
    saw_anything: bool,
    /// A line only restic prints was seen (a message of its JSON stream,
    /// "snapshot … saved", a `Fatal:` or a repository error).
    restic: bool,
}

/// Starts of restic's own error lines, for a file that has no JSON message.
const RESTIC_LINES: [&str; 5] = [
    "Fatal: ",
    "unable to create lock in backend",
    "repository is already locked",
    "Is there a repository at",
    "error: ",
];

impl Stream {
    /// Feed one line; a line that starts like JSON but is not is an error.
    pub fn feed(&mut self, line: &str) -> Result<(), String> {
        let t = line.trim();
        if t.is_empty() {
            return Ok(());
        }
        self.saw_anything = true;
        if t.contains(MISSING_PATH) {
            self.missing_path = true;
        }
        if t.starts_with('{') {
            let v: Value =
                serde_json::from_str(t).map_err(|e| format!("is not valid JSON: {e}"))?;
            let kind = v.get("message_type").and_then(Value::as_str);
            self.restic |= kind.is_some();
            match kind {
                Some("summary") => self.summary = Some(v),
                Some("error") => self.errors.push(describe_error(&v)),
                _ => {}
            }
        } else if let Some(id) = t
            .strip_prefix("snapshot ")
            .and_then(|r| r.strip_suffix(" saved"))
        {
            // plain (non-JSON) output: "snapshot 1a2b3c4d saved"
            self.restic = true;
            self.summary
                .get_or_insert_with(|| serde_json::json!({ "snapshot_id": id }));
        } else {
            self.restic |=
                t.contains(MISSING_PATH) || RESTIC_LINES.iter().any(|s| t.starts_with(s));
            if self.texts.len() < 20 {
                self.texts.push(t.to_string());
            }
        }
        Ok(())
    }

    pub fn missing_path(&self) -> bool {
        self.missing_path
    }

    /// The run as far as the output tells: with a summary a success (or a
    /// warning when files were unreadable or a path was missing), else failed.
    pub fn finish(self) -> ToolRun {
        let mut messages = self.errors.clone();
        messages.extend(self.texts.iter().cloned());
        let status = match &self.summary {
            Some(_) if self.errors.is_empty() && !self.missing_path => Status::Success,
            Some(_) => Status::Warning,
            None => Status::Failed,
        };
        let s = self.summary.unwrap_or(Value::Null);
        ToolRun {
            status: Some(status),
            bytes: s.get("total_bytes_processed").and_then(Value::as_i64),
            files: s.get("total_files_processed").and_then(Value::as_i64),
            id: s
                .get("snapshot_id")
                .and_then(Value::as_str)
                .map(|id| id.chars().take(8).collect()),
            message: clip(&messages),
            ..ToolRun::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.saw_anything
    }
}

fn describe_error(v: &Value) -> String {
    let item = v.get("item").and_then(Value::as_str).unwrap_or("");
    let err = &v["error"];
    let what = err
        .get("Err")
        .map(|e| match e.as_i64() {
            Some(13) => "permission denied".to_string(),
            Some(2) => "no such file or directory".to_string(),
            _ => e.to_string(),
        })
        .or_else(|| err.as_str().map(str::to_string))
        .unwrap_or_else(|| err.to_string());
    format!(
        "{} {item}: {what}",
        v.get("during").and_then(Value::as_str).unwrap_or("error")
    )
}

#[derive(Deserialize)]
struct Snapshot {
    time: String,
    hostname: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    id: String,
    short_id: Option<String>,
}

/// Parse a whole restic output: a snapshots list, or a backup stream.
pub fn parse(text: &str) -> Result<Vec<ToolRun>, Rejection> {
    if text.trim_start().starts_with('[') {
        let snaps: Vec<Snapshot> = serde_json::from_str(text).map_err(|e| {
            Rejection::new(
                e.line(),
                "snapshots",
                format!("is not `restic snapshots --json` output: {e}"),
            )
        })?;
        return snaps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let t = parse_instant(&s.time)
                    .map_err(|e| Rejection::new(1, &format!("snapshots[{i}].time"), e.to_string()))?
                    .timestamp();
                Ok(ToolRun {
                    host: s.hostname,
                    tags: s.tags,
                    started_at: Some(t),
                    ended_at: Some(t),
                    status: Some(Status::Success),
                    id: Some(s.short_id.unwrap_or_else(|| s.id.chars().take(8).collect())),
                    ..ToolRun::default()
                })
            })
            .collect();
    }
    let mut stream = Stream::default();
    for (i, line) in text.lines().enumerate() {
        stream
            .feed(line)
            .map_err(|m| Rejection::new(i + 1, "line", m))?;
    }
    if stream.is_empty() {
        return Err(Rejection::new(
            1,
            "input",
            "is empty (expected `restic backup --json` output or `restic snapshots --json`)",
        ));
    }
    // a text file that is not restic's must not become a failed backup
    if !stream.restic {
        return Err(Rejection::new(
            1,
            "input",
            "is not restic output: no message of `restic backup --json`, no \"snapshot … saved\" and no restic error line (`Fatal: …`)",
        ));
    }
    Ok(vec![stream.finish()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/restic/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn text_that_is_not_restic_output_is_refused() {
        for text in ["hello\nworld\n", "Backup report for acme\nAll OK\n"] {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains("is not restic output"), "{}", e.message);
        }
        for f in [
            "backup-fail-locked.err",
            "backup-fail-norepo.err",
            "backup-fail-password.err",
        ] {
            let r = &parse(&fixture(f)).unwrap()[0];
            assert_eq!(r.status, Some(Status::Failed), "{f}");
        }
    }

    #[test]
    fn backup_summary_is_a_success_with_the_short_id() {
        let r = &parse(&fixture("backup-ok.json")).unwrap()[0];
        assert_eq!(r.status, Some(Status::Success));
        assert_eq!(r.id.as_deref(), Some("ed12ae91"));
        assert_eq!((r.files, r.bytes), (Some(2), Some(12)));
        assert_eq!(r.ended_at, None);
    }

    #[test]
    fn unreadable_file_and_missing_path_are_warnings() {
        let both = format!(
            "{}\n{}",
            fixture("backup-warn-unreadable.json"),
            fixture("backup-warn-unreadable.err")
        );
        let r = &parse(&both).unwrap()[0];
        assert_eq!(r.status, Some(Status::Warning));
        assert!(
            r.message.as_deref().unwrap().contains("permission denied"),
            "{:?}",
            r.message
        );
        let both = format!(
            "{}\n{}",
            fixture("backup-warn-missing.json"),
            fixture("backup-warn-missing.err")
        );
        assert_eq!(parse(&both).unwrap()[0].status, Some(Status::Warning));
    }

    #[test]
    fn fatal_errors_are_failures() {
        for f in [
            "backup-fail-password.err",
            "backup-fail-norepo.err",
            "backup-fail-locked.err",
        ] {
            let r = &parse(&fixture(f)).unwrap()[0];
            assert_eq!(r.status, Some(Status::Failed), "{f}");
            assert!(r.message.is_some());
        }
    }

    #[test]
    fn snapshots_carry_host_tags_and_time() {
        let runs = parse(&fixture("snapshots.json")).unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0].host.as_deref(), Some("fs01"));
        assert_eq!(runs[0].tags, vec!["nightly"]);
        assert_eq!(runs[0].id.as_deref(), Some("ed12ae91"));
        assert!(runs[0].started_at.is_some());
    }

    #[test]
    fn garbage_is_a_clean_error() {
        assert!(parse("").is_err());
        assert!(parse("[1,2").is_err());
        assert_eq!(parse("ok\n{not json").unwrap_err().line, 2);
    }
}
