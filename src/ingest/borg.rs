//! borg's own JSON: `borg create --json` (one archive with start, end and
//! stats) and `borg list --json` (archives). borg prints local times without
//! an offset; they are read in the zone the caller gives.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{Rejection, ToolRun};
use crate::domain::event::Status;

#[derive(Deserialize)]
struct Stats {
    original_size: Option<i64>,
    nfiles: Option<i64>,
}

#[derive(Deserialize)]
struct Archive {
    name: String,
    id: String,
    start: Option<String>,
    end: Option<String>,
    time: Option<String>,
    stats: Option<Stats>,
}

#[derive(Deserialize)]
struct Output {
    archive: Option<Archive>,
    archives: Option<Vec<Archive>>,
}

/// Read a borg local time (`2026-11-30T08:35:13.000000`) in `tz`.
pub fn local_time(text: &str, tz: Tz) -> Result<i64, String> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| format!("'{text}' is not a borg time: {e}"))?;
    // Inside a DST gap the wall time does not exist: take the hour after.
    let resolved = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .ok_or_else(|| format!("'{text}' does not exist in {tz}"))?;
    Ok(resolved.timestamp())
}

fn run_of(a: Archive, field: &str, tz: Tz) -> Result<ToolRun, Rejection> {
    let at = |t: &Option<String>, f: &str| {
        t.as_deref()
            .map(|s| local_time(s, tz).map_err(|m| Rejection::new(1, &format!("{field}.{f}"), m)))
            .transpose()
    };
    let start = at(&a.start, "start")?.or(at(&a.time, "time")?);
    let end = at(&a.end, "end")?.or(start);
    Ok(ToolRun {
        name: Some(a.name),
        started_at: start,
        ended_at: end,
        status: Some(Status::Success),
        bytes: a.stats.as_ref().and_then(|s| s.original_size),
        files: a.stats.as_ref().and_then(|s| s.nfiles),
        id: Some(a.id),
        ..ToolRun::default()
    })
}

/// Parse `borg create --json` or `borg list --json` output.
pub fn parse(text: &str, tz: Tz) -> Result<Vec<ToolRun>, Rejection> {
    let out: Output = serde_json::from_str(text).map_err(|e| {
        Rejection::new(
            e.line(),
            "input",
            format!("is not `borg create --json` or `borg list --json` output: {e}"),
        )
    })?;
    match (out.archive, out.archives) {
        (Some(a), _) => Ok(vec![run_of(a, "archive", tz)?]),
        (None, Some(list)) => list
            .into_iter()
            .enumerate()
            .map(|(i, a)| run_of(a, &format!("archives[{i}]"), tz))
            .collect(),
        (None, None) => Err(Rejection::new(
            1,
            "input",
            "has neither 'archive' (borg create --json) nor 'archives' (borg list --json)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/borg/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn create_output_in_the_given_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let r = &parse(&fixture("borg-create-ok.json"), berlin).unwrap()[0];
        assert_eq!(r.name.as_deref(), Some("sql01-2026-11-30"));
        // 08:35:13 in Berlin (CET) is 07:35:13Z
        assert_eq!(
            crate::domain::time::rfc3339(r.started_at.unwrap()),
            "2026-11-30T07:35:13Z"
        );
        assert_eq!((r.files, r.bytes), (Some(3), Some(528)));
        assert!(r.id.as_deref().unwrap().starts_with("c02bc3ff"));
        let utc = &parse(&fixture("borg-create-ok.json"), chrono_tz::UTC).unwrap()[0];
        assert_eq!(utc.started_at.unwrap() - r.started_at.unwrap(), 3600);
    }

    #[test]
    fn list_output_gives_one_run_per_archive() {
        let runs = parse(&fixture("borg-list.json"), chrono_tz::UTC).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].name.as_deref(), Some("sql01-warn"));
    }

    #[test]
    fn garbage_is_a_clean_error() {
        assert!(parse("", chrono_tz::UTC).is_err());
        assert!(parse("{}", chrono_tz::UTC).is_err());
        assert!(parse(
            r#"{"archive":{"name":"x","id":"ab","start":"yesterday"}}"#,
            chrono_tz::UTC
        )
        .is_err());
    }
}
