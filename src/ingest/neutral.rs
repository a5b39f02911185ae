//! The neutral job-event format of DESIGN, as JSON lines or CSV with the
//! same header. Streams: one line in memory at a time.

use std::borrow::Cow;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::Rejection;
use crate::domain::event::{NewEvent, Operation, Status};
use crate::domain::time::parse_instant;

/// The longest input line accepted.
pub const MAX_LINE: usize = 1024 * 1024;

const FIELDS: &[&str] = &[
    "client",
    "job",
    "status",
    "started_at",
    "ended_at",
    "bytes",
    "files",
    "snapshot",
    "source",
    "id",
    "message",
    "operation",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Jsonl,
    Csv,
}

impl InputFormat {
    /// By file extension: `.csv` is CSV, anything else JSON lines.
    pub fn guess(name: &str) -> InputFormat {
        if name.to_ascii_lowercase().ends_with(".csv") {
            InputFormat::Csv
        } else {
            InputFormat::Jsonl
        }
    }
}

pub type Item = (usize, Result<NewEvent, Rejection>);

/// Read events from `input`; each item carries its 1-based line number.
pub fn read<'a, R: BufRead + 'a>(
    input: R,
    format: InputFormat,
) -> Box<dyn Iterator<Item = Item> + 'a> {
    match format {
        InputFormat::Jsonl => Box::new(JsonLines {
            input,
            line: 0,
            done: false,
        }),
        InputFormat::Csv => Box::new(csv_items(input)),
    }
}

struct JsonLines<R> {
    input: R,
    line: usize,
    done: bool,
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let mut buf = Vec::new();
        while !self.done {
            buf.clear();
            self.line += 1;
            let line = self.line;
            match <&mut R as std::io::Read>::take(&mut self.input, MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Err(e) => {
                    self.done = true;
                    return Some((
                        line,
                        Err(Rejection::new(line, "line", format!("cannot be read: {e}"))),
                    ));
                }
                Ok(0) => self.done = true,
                Ok(_) => {
                    if buf.len() > MAX_LINE && !buf.ends_with(b"\n") {
                        // Skip the rest of the over-long line.
                        let mut rest = Vec::new();
                        while let Ok(n) =
                            <&mut R as std::io::Read>::take(&mut self.input, MAX_LINE as u64)
                                .read_until(b'\n', &mut rest)
                        {
                            if n == 0 || rest.ends_with(b"\n") {
                                break;
                            }
                            rest.clear();
                        }
                        return Some((
                            line,
                            Err(Rejection::new(
                                line,
                                "line",
                                format!("is longer than {MAX_LINE} bytes"),
                            )),
                        ));
                    }
                    if buf.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    return Some((line, parse_json_line(line, &buf)));
                }
            }
        }
        None
    }
}

/// The fast path: a well-formed line straight into typed fields.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fast<'a> {
    #[serde(borrow)]
    client: Cow<'a, str>,
    #[serde(borrow)]
    job: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    started_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ended_at: Option<Cow<'a, str>>,
    #[serde(default)]
    bytes: Option<i64>,
    #[serde(default)]
    files: Option<i64>,
    #[serde(borrow, default)]
    snapshot: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    operation: Option<Cow<'a, str>>,
}

fn fast(line: usize, f: Fast<'_>) -> Result<NewEvent, Rejection> {
    let nonempty = |field: &str, v: Cow<'_, str>| {
        if v.is_empty() {
            Err(Rejection::new(line, field, "is required"))
        } else {
            Ok(v.into_owned())
        }
    };
    for (field, v) in [("bytes", f.bytes), ("files", f.files)] {
        if let Some(n) = v.filter(|n| *n < 0) {
            return Err(Rejection::new(
                line,
                field,
                format!("must not be negative, got {n}"),
            ));
        }
    }
    let started_at = f
        .started_at
        .map(|t| instant(line, "started_at", &t))
        .transpose()?;
    let operation = match f.operation {
        Some(o) => Some(
            Operation::parse(&o).map_err(|e| Rejection::new(line, "operation", e.to_string()))?,
        ),
        None => None,
    };
    let ended_at = f.ended_at.map(|t| nonempty("ended_at", t)).transpose()?;
    let (status, operation, ended_at) =
        status_and_end(line, &f.status, operation, started_at, ended_at.as_deref())?;
    let ev = NewEvent {
        level: None,
        client: nonempty("client", f.client)?,
        job: nonempty("job", f.job)?,
        status,
        operation,
        started_at,
        ended_at,
        bytes: f.bytes,
        files: f.files,
        snapshot: f.snapshot.map(Cow::into_owned),
        source: f
            .source
            .map_or_else(|| "import".to_string(), Cow::into_owned),
        external_id: f.id.map(Cow::into_owned),
        message: f.message.map(Cow::into_owned),
    };
    ev.validate()
        .map_err(|(field, msg)| Rejection::new(line, field, msg))?;
    Ok(ev)
}

fn parse_json_line(line: usize, bytes: &[u8]) -> Result<NewEvent, Rejection> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Rejection::new(line, "line", format!("is not valid UTF-8 ({e})")))?;
    match serde_json::from_str::<Fast<'_>>(text) {
        Ok(f) => return fast(line, f),
        // a key given twice would otherwise be read as its last value
        Err(e) if e.to_string().starts_with("duplicate field") => {
            let field = e
                .to_string()
                .split('`')
                .nth(1)
                .unwrap_or("line")
                .to_string();
            return Err(Rejection::new(
                line,
                "line",
                format!("key '{field}' is given twice"),
            ));
        }
        Err(_) => {}
    }
    // The slow path names the field that is wrong.
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Rejection::new(line, "line", format!("is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(Rejection::new(line, "line", "must be a JSON object"));
    };
    from_map(line, &map)
}

fn csv_items<R: BufRead>(input: R) -> impl Iterator<Item = Item> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(crate::input::LineCapped::new(input));
    let headers = reader.headers().cloned();
    let mut header_error = match &headers {
        Err(e) => Some(Rejection::new(1, "header", format!("cannot be read: {e}"))),
        Ok(h)
            if h.iter()
                .enumerate()
                .any(|(i, k)| h.iter().take(i).any(|p| p == k)) =>
        {
            let dup = h
                .iter()
                .enumerate()
                .find(|(i, k)| h.iter().take(*i).any(|p| p == *k))
                .map(|(_, k)| k.to_string())
                .unwrap_or_default();
            Some(Rejection::new(
                1,
                "header",
                format!("column '{dup}' is named twice"),
            ))
        }
        Ok(h) => h.iter().find(|k| !FIELDS.contains(k)).map(|k| {
            Rejection::new(
                1,
                "header",
                format!(
                    "column '{k}' is not a field of the neutral format ({})",
                    FIELDS.join(", ")
                ),
            )
        }),
    };
    let headers = headers.unwrap_or_default();
    let mut records = reader.into_records();
    std::iter::from_fn(move || {
        if let Some(r) = header_error.take() {
            return Some((1, Err(r)));
        }
        let rec = records.next()?;
        Some(match rec {
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                (line, Err(Rejection::new(line, "line", e.to_string())))
            }
            Ok(rec) => {
                let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
                let map: Map<String, Value> = headers
                    .iter()
                    .zip(rec.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect();
                (line, from_map(line, &map))
            }
        })
    })
}

fn string(line: usize, map: &Map<String, Value>, field: &str) -> Result<Option<String>, Rejection> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Rejection::new(
            line,
            field,
            format!("must be a string, not {other}"),
        )),
    }
}

fn required(line: usize, map: &Map<String, Value>, field: &str) -> Result<String, Rejection> {
    string(line, map, field)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejection::new(line, field, "is required"))
}

fn count(line: usize, map: &Map<String, Value>, field: &str) -> Result<Option<i64>, Rejection> {
    let n = match map.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(v) if v < 0 => Err(Rejection::new(
            line,
            field,
            format!("must not be negative, got {v}"),
        )),
        Some(v) => Ok(Some(v)),
        None => Err(Rejection::new(
            line,
            field,
            format!("must be a whole number, got {}", map[field]),
        )),
    }
}

/// A run's status, operation and end. `"status": "running"` is a start
/// record of a backup still going: `started_at` and no `ended_at`.
fn status_and_end(
    line: usize,
    status: &str,
    operation: Option<Operation>,
    started_at: Option<i64>,
    ended_at: Option<&str>,
) -> Result<(Status, Operation, i64), Rejection> {
    if status == "running" {
        if operation == Some(Operation::Check) {
            return Err(Rejection::new(
                line,
                "status",
                "a check is recorded when it ends: running is for backups",
            ));
        }
        let Some(start) = started_at else {
            return Err(Rejection::new(
                line,
                "started_at",
                "is required for a running record (the run's start)",
            ));
        };
        if ended_at.is_some() {
            return Err(Rejection::new(
                line,
                "ended_at",
                "a running record has no end: give its terminal status with the end",
            ));
        }
        // the status is a placeholder: a start record is never a run
        return Ok((Status::Failed, Operation::Start, start));
    }
    let status = Status::parse(status).map_err(|e| {
        Rejection::new(
            line,
            "status",
            format!("{e} (or running, for a start record)"),
        )
    })?;
    let Some(end) = ended_at.filter(|e| !e.is_empty()) else {
        return Err(Rejection::new(line, "ended_at", "is required"));
    };
    Ok((
        status,
        operation.unwrap_or(Operation::Backup),
        instant(line, "ended_at", end)?,
    ))
}

fn instant(line: usize, field: &str, text: &str) -> Result<i64, Rejection> {
    parse_instant(text)
        .map(|t| t.timestamp())
        .map_err(|e| Rejection::new(line, field, e.to_string()))
}

/// Build an event from the fields of one JSON object or CSV row.
pub fn from_map(line: usize, map: &Map<String, Value>) -> Result<NewEvent, Rejection> {
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Rejection::new(
            line,
            k,
            format!(
                "is not a field of the neutral format ({})",
                FIELDS.join(", ")
            ),
        ));
    }
    let status = required(line, map, "status")?;
    let started_at = string(line, map, "started_at")?
        .map(|t| instant(line, "started_at", &t))
        .transpose()?;
    let operation = match string(line, map, "operation")? {
        Some(o) => Some(
            Operation::parse(&o).map_err(|e| Rejection::new(line, "operation", e.to_string()))?,
        ),
        None => None,
    };
    let ended_at = string(line, map, "ended_at")?;
    let (status, operation, ended_at) =
        status_and_end(line, &status, operation, started_at, ended_at.as_deref())?;
    let ev = NewEvent {
        level: None,
        client: required(line, map, "client")?,
        job: required(line, map, "job")?,
        status,
        operation,
        started_at,
        ended_at,
        bytes: count(line, map, "bytes")?,
        files: count(line, map, "files")?,
        snapshot: string(line, map, "snapshot")?,
        source: string(line, map, "source")?.unwrap_or_else(|| "import".into()),
        external_id: string(line, map, "id")?,
        message: string(line, map, "message")?,
    };
    ev.validate()
        .map_err(|(field, msg)| Rejection::new(line, field, msg))?;
    Ok(ev)
}

/// The neutral JSON line of an event (what `run --spool` appends).
pub fn to_json_line(ev: &NewEvent) -> String {
    let mut m = Map::new();
    let ts = |t: i64| Value::String(crate::domain::time::rfc3339(t));
    m.insert("client".into(), Value::String(ev.client.clone()));
    m.insert("job".into(), Value::String(ev.job.clone()));
    let status = match ev.operation {
        Operation::Start => "running",
        _ => ev.status.as_str(),
    };
    m.insert("status".into(), Value::String(status.into()));
    if !matches!(ev.operation, Operation::Backup | Operation::Start) {
        m.insert(
            "operation".into(),
            Value::String(ev.operation.as_str().into()),
        );
    }
    if let Some(s) = ev.started_at {
        m.insert("started_at".into(), ts(s));
    }
    if ev.operation != Operation::Start {
        m.insert("ended_at".into(), ts(ev.ended_at));
    }
    for (k, v) in [("bytes", ev.bytes), ("files", ev.files)] {
        if let Some(v) = v {
            m.insert(k.into(), Value::from(v));
        }
    }
    for (k, v) in [
        ("snapshot", &ev.snapshot),
        ("id", &ev.external_id),
        ("message", &ev.message),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(v.clone()));
        }
    }
    m.insert("source".into(), Value::String(ev.source.clone()));
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"client":"acme","job":"fs01-nightly","status":"failed","started_at":"2026-11-29T22:00:00+01:00","ended_at":"2026-11-29T22:05:13+01:00","bytes":1048576,"files":1200,"snapshot":"4f1c2a9e","source":"restic","id":"4f1c2a9e","message":"repository is locked"}"#;

    fn items(text: &str, f: InputFormat) -> Vec<Item> {
        read(std::io::Cursor::new(text.as_bytes().to_vec()), f).collect()
    }

    #[test]
    fn the_design_example_parses() {
        let got = items(GOOD, InputFormat::Jsonl);
        let ev = got[0].1.clone().unwrap();
        assert_eq!(ev.ended_at - ev.started_at.unwrap(), 313);
        assert_eq!(ev.status, Status::Failed);
        assert_eq!(ev.external_id.as_deref(), Some("4f1c2a9e"));
        // and round-trips through the spool form
        let back = items(&to_json_line(&ev), InputFormat::Jsonl)[0]
            .1
            .clone()
            .unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn errors_name_line_and_field() {
        let bad = [
            (GOOD.replace("+01:00\",\"ended", "\",\"ended"), "started_at"),
            (GOOD.replace("\"failed\"", "\"exploded\""), "status"),
            (GOOD.replace("1048576", "-5"), "bytes"),
            (GOOD.replace("\"client\":\"acme\",", ""), "client"),
            (
                GOOD.replace("2026-11-29T22:05:13+01:00", "10000-01-01T00:00:00Z"),
                "ended_at",
            ),
            (GOOD.replace("22:05:13", "21:05:13"), "ended_at"),
            (GOOD.replace("\"files\"", "\"filez\""), "filez"),
            (GOOD[..40].to_string(), "line"),
        ];
        for (text, field) in bad {
            let input = format!("{GOOD}\n\n{text}\n");
            let got = items(&input, InputFormat::Jsonl);
            assert!(got[0].1.is_ok());
            let (line, r) = &got[1];
            assert_eq!(*line, 3);
            assert_eq!(r.as_ref().unwrap_err().field, field, "{text}");
        }
    }

    #[test]
    fn bytes_that_are_not_text_are_rejected() {
        let mut input = GOOD.as_bytes().to_vec();
        input.extend_from_slice(b"\n{\"client\":\"\xff\"}\n{\"a\0\":1}\n");
        let got: Vec<Item> = read(std::io::Cursor::new(input), InputFormat::Jsonl).collect();
        assert_eq!(got.len(), 3);
        assert!(got[1].1.as_ref().unwrap_err().message.contains("UTF-8"));
        assert_eq!(got[2].1.as_ref().unwrap_err().field, "line");
    }

    #[test]
    fn an_overlong_line_is_rejected_and_reading_goes_on() {
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(MAX_LINE + 10));
        let input = format!("{long}\n{GOOD}\n");
        let got = items(&input, InputFormat::Jsonl);
        assert_eq!(got.len(), 2);
        assert!(got[0].1.as_ref().unwrap_err().message.contains("longer"));
        assert_eq!(got[1].0, 2);
        assert!(got[1].1.is_ok());
    }

    #[test]
    fn csv_with_the_same_header() {
        let csv = "client,job,status,ended_at,bytes\nacme,fs01,success,2026-11-29T21:00:00Z,12\nacme,fs01,success,2026-11-29T21:00:00Z,x\n";
        let got = items(csv, InputFormat::Csv);
        assert_eq!(got[0].1.as_ref().unwrap().bytes, Some(12));
        assert_eq!(
            (got[1].0, got[1].1.as_ref().unwrap_err().field.as_str()),
            (3, "bytes")
        );
        let bad = items("client,job,colour\n", InputFormat::Csv);
        assert_eq!(bad[0].1.as_ref().unwrap_err().field, "header");
    }
}
