//! JSON printed by backup tools (`[[json.source]]` in the config): where a
//! document keeps its runs and which field is which, as data. Presets for
//! Proxmox Backup Server, Kopia and Veeam's REST API are plain mappings, so
//! a real capture can correct one without a code change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{Rejection, ToolRun};
use crate::domain::event::Status;
use crate::domain::time::parse_instant;

/// One JSON source: a preset's mapping, or one written out in full.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSource {
    pub name: String,
    /// `pbs`, `kopia` or `veeam`: the mapping below is the preset's; fields
    /// written beside it replace the preset's.
    #[serde(default)]
    pub preset: Option<String>,
    /// The client every run of the document belongs to (else `client_field`).
    #[serde(default)]
    pub client: Option<String>,
    #[serde(default)]
    pub client_field: Option<String>,
    /// Dotted path of the array of runs; empty: the document is the array.
    #[serde(default)]
    pub items: Option<String>,
    /// Keep an item only when each field equals its value (as text).
    #[serde(default)]
    pub only: BTreeMap<String, String>,
    #[serde(default)]
    pub id: Option<String>,
    /// The job name: a field, or a template of fields (`{source.host}:{source.path}`).
    #[serde(default)]
    pub job: Option<String>,
    /// The first rule that gives a status decides.
    #[serde(default)]
    pub status: Vec<StatusRule>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// `rfc3339` (default) or `epoch` (seconds).
    #[serde(default)]
    pub time_format: Option<String>,
    #[serde(default)]
    pub bytes: Option<String>,
    #[serde(default)]
    pub files: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// How one field gives a status: `absent` when the field is missing or
/// null, `map` from its text (`*` at the end matches a prefix, `*` alone
/// anything; the word `skip` drops the item), `nonzero` when it is a number
/// other than 0. Statuses: success, warning, failed, running, skip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRule {
    pub field: String,
    #[serde(default)]
    pub absent: Option<String>,
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    #[serde(default)]
    pub nonzero: Option<String>,
}

pub const PRESETS: &[&str] = &["pbs", "kopia", "veeam"];

fn rule(
    field: &str,
    absent: Option<&str>,
    map: &[(&str, &str)],
    nonzero: Option<&str>,
) -> StatusRule {
    StatusRule {
        field: field.into(),
        absent: absent.map(Into::into),
        map: map
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        nonzero: nonzero.map(Into::into),
    }
}

/// A preset's mapping (see tests/fixtures/json/README.md for the sources).
pub fn preset(name: &str) -> Option<JsonSource> {
    let s = |v: &str| Some(v.to_string());
    Some(match name {
        // proxmox-backup: pbs-api-types TaskListItem; TaskState's Display
        // is "OK", "WARNINGS: N", "unknown" or the error text
        "pbs" => JsonSource {
            only: [("worker_type".to_string(), "backup".to_string())].into(),
            id: s("upid"),
            job: s("worker_id"),
            status: vec![rule(
                "status",
                Some("running"),
                &[
                    ("OK", "success"),
                    ("WARNINGS:*", "warning"),
                    ("*", "failed"),
                ],
                None,
            )],
            start: s("starttime"),
            end: s("endtime"),
            time_format: s("epoch"),
            message: s("status"),
            ..JsonSource::default()
        },
        // kopia: snapshot.Manifest; `incomplete` is checkpoint, canceled or
        // limit reached; stats.errorCount counts files it could not read
        "kopia" => JsonSource {
            id: s("id"),
            job: s("{source.userName}@{source.host}:{source.path}"),
            status: vec![
                rule(
                    "incomplete",
                    None,
                    &[("checkpoint", "running"), ("*", "failed")],
                    None,
                ),
                rule("stats.errorCount", None, &[], Some("warning")),
                rule("id", None, &[("*", "success")], None),
            ],
            start: s("startTime"),
            end: s("endTime"),
            bytes: s("rootEntry.summ.size"),
            files: s("rootEntry.summ.files"),
            ..JsonSource::default()
        },
        // Veeam B&R REST v1 GET /api/v1/sessions: SessionModel, ESessionState,
        // ESessionResult (None, Success, Warning, Failed)
        "veeam" => JsonSource {
            items: s("data"),
            only: [("sessionType".to_string(), "BackupJob".to_string())].into(),
            id: s("id"),
            job: s("name"),
            status: vec![
                rule(
                    "state",
                    None,
                    &[("Stopped", "skip-rule"), ("*", "running")],
                    None,
                ),
                rule("result.isCanceled", None, &[("true", "failed")], None),
                rule(
                    "result.result",
                    None,
                    &[
                        ("Success", "success"),
                        ("Warning", "warning"),
                        ("*", "failed"),
                    ],
                    None,
                ),
            ],
            start: s("creationTime"),
            end: s("endTime"),
            message: s("result.message"),
            ..JsonSource::default()
        },
        _ => return None,
    })
}

impl JsonSource {
    /// The preset's mapping with this source's own fields over it.
    pub fn resolved(&self) -> Result<JsonSource, String> {
        let Some(p) = &self.preset else {
            return Ok(self.clone());
        };
        let base = preset(p).ok_or_else(|| {
            format!(
                "json.source '{}': preset '{p}' is not one of {}",
                self.name,
                PRESETS.join(", ")
            )
        })?;
        let or = |a: &Option<String>, b: Option<String>| a.clone().or(b);
        Ok(JsonSource {
            name: self.name.clone(),
            preset: self.preset.clone(),
            client: self.client.clone(),
            client_field: or(&self.client_field, base.client_field),
            items: or(&self.items, base.items),
            only: if self.only.is_empty() {
                base.only
            } else {
                self.only.clone()
            },
            id: or(&self.id, base.id),
            job: or(&self.job, base.job),
            status: if self.status.is_empty() {
                base.status
            } else {
                self.status.clone()
            },
            start: or(&self.start, base.start),
            end: or(&self.end, base.end),
            time_format: or(&self.time_format, base.time_format),
            bytes: or(&self.bytes, base.bytes),
            files: or(&self.files, base.files),
            message: or(&self.message, base.message),
        })
    }

    /// What a config must say: a client, a job, a status rule.
    pub fn check(&self) -> Result<(), String> {
        let r = self.resolved()?;
        let name = &self.name;
        if r.client.is_none() && r.client_field.is_none() {
            return Err(format!(
                "json.source '{name}': needs client or client_field"
            ));
        }
        if r.job.is_none() {
            return Err(format!(
                "json.source '{name}': needs job (a field or template)"
            ));
        }
        if r.status.is_empty() {
            return Err(format!(
                "json.source '{name}': needs at least one status rule"
            ));
        }
        if let Some(f) = r
            .time_format
            .as_deref()
            .filter(|f| !matches!(*f, "rfc3339" | "epoch"))
        {
            return Err(format!(
                "json.source '{name}': time_format '{f}' is not rfc3339 or epoch"
            ));
        }
        for rule in &r.status {
            for v in rule.map.values().chain(&rule.absent).chain(&rule.nonzero) {
                if !matches!(
                    v.as_str(),
                    "success" | "warning" | "failed" | "running" | "skip" | "skip-rule"
                ) {
                    return Err(format!(
                        "json.source '{name}': status '{v}' of {} is not success, warning, failed, running or skip",
                        rule.field
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The runs of a document, with the client each belongs to, and how many
/// items were skipped (other kinds of task).
#[derive(Debug, Default)]
pub struct Parsed {
    pub runs: Vec<(String, ToolRun)>,
    pub skipped: usize,
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// Parse a document by a resolved source's mapping.
pub fn parse(text_in: &str, src: &JsonSource) -> Result<Parsed, Rejection> {
    let line_at = |offset: usize| crate::domain::plan::line_of(text_in, offset);
    let doc: &RawValue = serde_json::from_str(text_in)
        .map_err(|e| Rejection::new(e.line(), "input", format!("is not JSON: {e}")))?;
    // walk to the array as raw text, so each item keeps its line
    let mut raw = doc;
    let path = src.items.as_deref().unwrap_or("");
    for key in path.split('.').filter(|k| !k.is_empty()) {
        let map: BTreeMap<&str, &RawValue> = serde_json::from_str(raw.get())
            .map_err(|_| Rejection::new(1, path, format!("'{key}' is not inside an object")))?;
        raw = map
            .get(key)
            .copied()
            .ok_or_else(|| Rejection::new(1, path, format!("has no '{key}'")))?;
    }
    let items: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
        Rejection::new(
            1,
            if path.is_empty() { "input" } else { path },
            "is not an array of runs",
        )
    })?;
    let mut out = Parsed::default();
    for (i, item) in items.into_iter().enumerate() {
        let line = line_at(item.get().as_ptr() as usize - text_in.as_ptr() as usize);
        let field = |f: &str| format!("items[{i}].{f}");
        let v: Value = serde_json::from_str(item.get())
            .map_err(|e| Rejection::new(line, &field(""), e.to_string()))?;
        if src
            .only
            .iter()
            .any(|(f, want)| at(&v, f).map(text).as_deref() != Some(want))
        {
            out.skipped += 1;
            continue;
        }
        let client = match (&src.client, &src.client_field) {
            (Some(c), _) => c.clone(),
            (None, Some(f)) => at(&v, f)
                .map(text)
                .ok_or_else(|| Rejection::new(line, &field(f), "is required (the client)"))?,
            (None, None) => {
                return Err(Rejection::new(line, "client", "the source names no client"))
            }
        };
        let job_spec = src.job.as_deref().unwrap_or("job");
        let job = if job_spec.contains('{') {
            let mut out = String::new();
            let mut rest = job_spec;
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
                    Rejection::new(
                        line,
                        "job",
                        format!("template '{job_spec}' has an open brace"),
                    )
                })?;
                let f = &rest[open + 1..close];
                out.push_str(&at(&v, f).map(text).ok_or_else(|| {
                    Rejection::new(line, &field(f), "is required (part of the job name)")
                })?);
                rest = &rest[close + 1..];
            }
            out.push_str(rest);
            out
        } else {
            at(&v, job_spec).map(text).ok_or_else(|| {
                Rejection::new(line, &field(job_spec), "is required (the job name)")
            })?
        };
        let mut status = None;
        for r in &src.status {
            let value = at(&v, &r.field);
            let word = match value {
                None => r.absent.clone(),
                Some(x) => {
                    let t = text(x);
                    let mapped = r
                        .map
                        .iter()
                        .filter(|(p, _)| *p != "*")
                        .find(|(p, _)| matches(p, &t))
                        .or_else(|| r.map.iter().find(|(p, _)| *p == "*"))
                        .map(|(_, s)| s.clone());
                    mapped.or_else(|| {
                        r.nonzero
                            .clone()
                            .filter(|_| x.as_f64().is_some_and(|n| n != 0.0))
                    })
                }
            };
            match word.as_deref() {
                None | Some("skip-rule") => continue,
                Some(w) => {
                    status = Some(w.to_string());
                    break;
                }
            }
        }
        let Some(status) = status else {
            let f = src
                .status
                .first()
                .map(|r| r.field.as_str())
                .unwrap_or("status");
            let shown = at(&v, f).map(text).unwrap_or_else(|| "nothing".into());
            return Err(Rejection::new(
                line,
                &field(f),
                format!(
                    "'{shown}' is in no status rule of json.source '{}'",
                    src.name
                ),
            ));
        };
        if status == "skip" {
            out.skipped += 1;
            continue;
        }
        let epoch = src.time_format.as_deref() == Some("epoch");
        let time = |f: &Option<String>| -> Result<Option<i64>, Rejection> {
            let Some(f) = f else { return Ok(None) };
            let Some(x) = at(&v, f) else { return Ok(None) };
            let t = if epoch {
                x.as_i64().ok_or_else(|| {
                    Rejection::new(line, &field(f), format!("'{x}' is not epoch seconds"))
                })?
            } else {
                parse_instant(&text(x))
                    .map_err(|e| Rejection::new(line, &field(f), e.to_string()))?
                    .timestamp()
            };
            Ok(Some(t))
        };
        let count = |f: &Option<String>| -> Result<Option<i64>, Rejection> {
            let Some(f) = f else { return Ok(None) };
            match at(&v, f) {
                None => Ok(None),
                Some(x) => x.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(|| {
                    Rejection::new(line, &field(f), format!("'{x}' is not a count"))
                }),
            }
        };
        let running = status == "running";
        let run = ToolRun {
            job: Some(job),
            id: src.id.as_deref().and_then(|f| at(&v, f)).map(text),
            started_at: time(&src.start)?,
            ended_at: if running { None } else { time(&src.end)? },
            status: match status.as_str() {
                "success" => Some(Status::Success),
                "warning" => Some(Status::Warning),
                "failed" => Some(Status::Failed),
                _ => None,
            },
            running,
            bytes: count(&src.bytes)?,
            files: count(&src.files)?,
            message: src
                .message
                .as_deref()
                .and_then(|f| at(&v, f))
                .map(text)
                .filter(|m| !m.is_empty() && status != "success"),
            ..ToolRun::default()
        };
        if run.started_at.is_none() && run.ended_at.is_none() {
            return Err(Rejection::new(
                line,
                &field(src.end.as_deref().unwrap_or("end")),
                "no start or end time",
            ));
        }
        out.runs.push((client, run));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/json/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn with(preset_name: &str) -> JsonSource {
        JsonSource {
            name: "t".into(),
            preset: Some(preset_name.into()),
            client: Some("acme".into()),
            ..JsonSource::default()
        }
        .resolved()
        .unwrap()
    }

    fn statuses(p: &Parsed) -> Vec<String> {
        p.runs
            .iter()
            .map(|(_, r)| match (r.running, r.status) {
                (true, _) => "running".to_string(),
                (false, Some(s)) => s.as_str().to_string(),
                (false, None) => "?".into(),
            })
            .collect()
    }

    #[test]
    fn the_pbs_preset_reads_backup_tasks_and_skips_the_rest() {
        let p = parse(&fixture("pbs-task-list.json"), &with("pbs")).unwrap();
        assert_eq!(
            statuses(&p),
            ["success", "warning", "failed", "failed", "running"]
        );
        assert_eq!(p.skipped, 3);
        let r = &p.runs[0].1;
        assert_eq!(r.job.as_deref(), Some("store1:vm/100"));
        assert_eq!(r.started_at, Some(1793667604));
        assert!(r.id.as_deref().unwrap().starts_with("UPID:pbs01"));
    }

    #[test]
    fn the_kopia_preset_reads_snapshots_with_sizes() {
        let p = parse(&fixture("kopia-snapshot-list.json"), &with("kopia")).unwrap();
        assert_eq!(p.runs.len(), 6);
        let anna = &p.runs[0].1;
        assert_eq!(anna.job.as_deref(), Some(r"anna@ws-anna:C:\Users\anna"));
        assert_eq!((anna.bytes, anna.files), (Some(38412266519), Some(61873)));
        let s = statuses(&p);
        assert_eq!(s[1], "warning", "{s:?}"); // errorCount 2
        assert!(s.contains(&"running".to_string()), "{s:?}"); // a checkpoint
    }

    #[test]
    fn the_veeam_preset_reads_backup_sessions() {
        let p = parse(&fixture("veeam-sessions.json"), &with("veeam")).unwrap();
        let s = statuses(&p);
        assert_eq!(&s[..2], ["success", "warning"], "{s:?}");
        assert!(
            s.contains(&"failed".to_string()) && s.contains(&"running".to_string()),
            "{s:?}"
        );
        assert!(p.skipped >= 1);
        // the server's offset is kept: 22:00:14+01:00 is 21:00:14Z
        assert_eq!(
            crate::domain::time::rfc3339(p.runs[0].1.started_at.unwrap()),
            "2026-11-03T21:00:14Z"
        );
    }

    #[test]
    fn a_value_no_rule_maps_names_its_line_and_field() {
        let src = JsonSource {
            name: "mine".into(),
            client: Some("acme".into()),
            job: Some("job".into()),
            status: vec![rule("state", None, &[("ok", "success")], None)],
            end: Some("end".into()),
            ..JsonSource::default()
        };
        let text = "[\n{\"job\":\"a\",\"state\":\"ok\",\"end\":\"2026-11-01T00:00:00Z\"},\n{\"job\":\"b\",\"state\":\"odd\",\"end\":\"2026-11-01T00:00:00Z\"}\n]";
        let e = parse(text, &src).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "items[1].state"));
        assert!(e.message.contains("'odd'"), "{}", e.message);
        assert!(parse("{", &src).is_err());
        assert!(parse("{\"a\":1}", &src).is_err());
    }

    #[test]
    fn a_config_is_checked() {
        let bad = JsonSource {
            name: "x".into(),
            preset: Some("nope".into()),
            client: Some("acme".into()),
            ..JsonSource::default()
        };
        assert!(bad.check().unwrap_err().contains("preset 'nope'"));
        let no_client = JsonSource {
            name: "x".into(),
            preset: Some("pbs".into()),
            ..JsonSource::default()
        };
        assert!(no_client.check().unwrap_err().contains("client"));
        assert!(with("kopia").check().is_ok());
    }
}
