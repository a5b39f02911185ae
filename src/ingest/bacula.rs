//! Bacula: a Director's job report (the text its Messages resource mails,
//! or pipes to `mailcommand`) and `bconsole` listings (`llist jobs`, also
//! after `.api 2`). Times are the Director's local times without a zone.
//! A job's key is `DIRECTOR:JobId`, so its report and its listing are one
//! run. Captured from Bacula 9.6.7: tests/fixtures/bacula/README.md.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::{Rejection, ToolRun};
use crate::domain::automation::judge::Level;
use crate::domain::event::Status;

/// What Bacula jobs a document held.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Backup (Type B) and verify (Type V, `check: true`) runs.
    pub runs: Vec<ToolRun>,
    /// Restore jobs (Type R): recovery attempts, with the JobIds they restored from.
    pub restores: Vec<(ToolRun, Vec<String>)>,
    /// Other job types (admin, copy, migration …).
    pub skipped: usize,
}

fn local(text: &str, formats: &[&str], tz: Tz) -> Option<i64> {
    let naive = formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())?;
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp())
}

/// A job's name from its unique name (`fs01-files.2026-12-08_01.50.39_04`).
fn job_name(unique: &str) -> &str {
    match unique.rfind(".20") {
        Some(i) if unique[i + 1..].len() >= 19 => &unique[..i],
        _ => unique,
    }
}

fn count(text: &str) -> Option<i64> {
    // `108,950 (108.9 KB)`
    let digits: String = text
        .split_whitespace()
        .next()?
        .chars()
        .filter(|c| *c != ',')
        .collect();
    digits.parse().ok()
}

/// Parse a report or a listing; `director` names the Director of a
/// listing (a report names its own), `tz` its zone.
pub fn parse(text: &str, tz: Tz, director: Option<&str>) -> Result<Parsed, Rejection> {
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("Termination:"))
    {
        return report(text, tz, director);
    }
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("JobStatus:"))
    {
        let director = director.ok_or_else(|| {
            Rejection::new(
                1,
                "--director",
                "a bconsole listing does not name its Director: give --director NAME",
            )
        })?;
        return listing(text, tz, director);
    }
    Err(Rejection::new(
        1,
        "input",
        "is neither a Bacula job report (no 'Termination:' line) nor a bconsole `llist jobs` listing (no 'JobStatus:')",
    ))
}

fn report(text: &str, tz: Tz, director: Option<&str>) -> Result<Parsed, Rejection> {
    let mut out = Parsed::default();
    let lines: Vec<&str> = text.lines().collect();
    // each summary block starts at the Director's `Bacula NAME VERSION` line
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.contains(" JobId ") && l.contains(": Bacula ")
                || l.contains(": Error: Bacula ")
                || l.contains(": Fatal error: Bacula ")
        })
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return Err(Rejection::new(
            1,
            "input",
            "has a 'Termination:' line but no Director summary ('… JobId N: Bacula NAME VERSION')",
        ));
    }
    for (n, &at) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let head = lines[at];
        let dir = head
            .split(": Bacula ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_string)
            .or_else(|| director.map(str::to_string))
            .ok_or_else(|| Rejection::new(at + 1, "director", "the summary names no Director"))?;
        let field = |key: &str| -> Option<(usize, &str)> {
            lines[at..end].iter().enumerate().find_map(|(i, l)| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == key).then_some((at + i + 1, v.trim()))
            })
        };
        let need = |key: &str| {
            field(key).ok_or_else(|| Rejection::new(at + 1, key, "is missing from the job report"))
        };
        let (_, job_id) = need("JobId")?;
        let (_, unique) = need("Job")?;
        let (tline, termination) = need("Termination")?;
        let t = termination.trim_matches(|c| c == '*' || c == ' ');
        let (kind, verdict) = t.split_once(' ').unwrap_or((t, ""));
        let verdict = verdict.trim();
        let status = match verdict {
            "OK" => Status::Success,
            "OK -- with warnings" => Status::Warning,
            "Error" | "Fatal Error" | "Canceled" | "Differences" | "Incomplete" => Status::Failed,
            other => {
                return Err(Rejection::new(
                    tline,
                    "Termination",
                    format!("'{other}' of a {kind} job is not a known Bacula termination"),
                ))
            }
        };
        let time = |key: &str| -> Result<Option<i64>, Rejection> {
            match field(key) {
                None => Ok(None),
                Some((line, v)) => {
                    local(v, &["%d-%b-%Y %H:%M:%S"], tz)
                        .map(Some)
                        .ok_or_else(|| {
                            Rejection::new(
                                line,
                                key,
                                format!("'{v}' is not a Bacula time (08-Dec-2026 01:50:41)"),
                            )
                        })
                }
            }
        };
        let level = field("Backup Level").and_then(|(_, v)| match v.split(',').next()?.trim() {
            "Full" => Some(Level::Full),
            "Incremental" => Some(Level::Incremental),
            "Differential" => Some(Level::Differential),
            _ => None,
        });
        let errors: Vec<String> = lines[..at]
            .iter()
            .filter(|l| {
                l.contains(" Error: ") || l.contains(" Fatal error: ") || l.contains("Warning: ")
            })
            .map(|l| l.split_once(": ").map_or(*l, |(_, r)| r).trim().to_string())
            .collect();
        let run = ToolRun {
            id: Some(format!("{dir}:{job_id}")),
            job: Some(job_name(unique).to_string()),
            director: Some(dir.clone()),
            level,
            started_at: time("Start time")?,
            ended_at: time("End time")?,
            status: Some(status),
            // the FD's figures are the catalog's JobBytes and JobFiles: a
            // report and a listing of one job say the same size
            bytes: field("FD Bytes Written")
                .or(field("SD Bytes Written"))
                .or(field("Bytes Restored"))
                .and_then(|(_, v)| count(v)),
            files: field("FD Files Written")
                .or(field("SD Files Written"))
                .or(field("Files Restored"))
                .and_then(|(_, v)| count(v)),
            message: (status != Status::Success).then(|| {
                let mut m = vec![termination.to_string()];
                m.extend(errors.iter().take(5).cloned());
                m.join("; ")
            }),
            check: kind == "Verify",
            ..ToolRun::default()
        };
        match kind {
            "Backup" | "Verify" => out.runs.push(run),
            "Restore" => {
                let from = lines[..end]
                    .iter()
                    .find_map(|l| l.split("Restoring files from JobId(s) ").nth(1))
                    .map(|ids| {
                        ids.split(',')
                            .map(|s| format!("{dir}:{}", s.trim()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.restores.push((run, from));
            }
            _ => out.skipped += 1,
        }
    }
    Ok(out)
}

fn listing(text: &str, tz: Tz, director: &str) -> Result<Parsed, Rejection> {
    let mut out = Parsed::default();
    let mut record: Vec<(usize, &str, &str)> = Vec::new();
    let mut records = Vec::new();
    for (i, l) in text.lines().enumerate() {
        match l.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() && !k.trim().contains(' ') => {
                let k = k.trim();
                if k == "JobId" && !record.is_empty() {
                    records.push(std::mem::take(&mut record));
                }
                record.push((i + 1, k, v.trim()));
            }
            _ => {}
        }
    }
    if !record.is_empty() {
        records.push(record);
    }
    for r in records {
        let get = |k: &str| {
            r.iter()
                .find(|(_, key, _)| *key == k)
                .map(|(l, _, v)| (*l, *v))
        };
        let Some((first, job_id)) = get("JobId") else {
            continue;
        };
        let need = |k: &str| {
            get(k).ok_or_else(|| {
                Rejection::new(
                    first,
                    k,
                    format!("is missing from the record of JobId {job_id}"),
                )
            })
        };
        let (_, name) = need("Name")?;
        let (_, kind) = need("Type")?;
        let (sline, letter) = need("JobStatus")?;
        let errors = get("JobErrors")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(0);
        let (status, running, note) = match letter {
            "T" if errors > 0 => (Some(Status::Warning), false, Some("OK -- with warnings")),
            "T" => (Some(Status::Success), false, None),
            "W" => (Some(Status::Warning), false, Some("OK -- with warnings")),
            "E" | "e" | "f" => (Some(Status::Failed), false, Some("error")),
            "A" => (Some(Status::Failed), false, Some("canceled")),
            "I" => (Some(Status::Failed), false, Some("incomplete")),
            "D" => (Some(Status::Failed), false, Some("verify differences")),
            // running, or waiting (on a client, storage, media, a mount, priority, a start time)
            "R" | "C" | "F" | "S" | "m" | "M" | "s" | "j" | "c" | "d" | "t" | "p" | "a" | "i"
            | "B" | "L" => (None, true, None),
            other => {
                return Err(Rejection::new(
                    sline,
                    "JobStatus",
                    format!("'{other}' of JobId {job_id} is not a Bacula job status letter"),
                ))
            }
        };
        let time = |k: &str| -> Result<Option<i64>, Rejection> {
            match get(k) {
                None => Ok(None),
                Some((_, v)) if v.is_empty() || v.starts_with("0000") => Ok(None),
                Some((line, v)) => {
                    local(v, &["%Y-%m-%d %H:%M:%S"], tz)
                        .map(Some)
                        .ok_or_else(|| {
                            Rejection::new(
                                line,
                                k,
                                format!("'{v}' is not a Bacula time (2026-12-08 01:50:41)"),
                            )
                        })
                }
            }
        };
        let level = match get("Level").map(|(_, v)| v) {
            Some("F") => Some(Level::Full),
            Some("I") => Some(Level::Incremental),
            Some("D") => Some(Level::Differential),
            _ => None,
        };
        let num = |k: &str| get(k).and_then(|(_, v)| v.parse::<i64>().ok());
        let run = ToolRun {
            id: Some(format!("{director}:{job_id}")),
            job: Some(name.to_string()),
            director: Some(director.to_string()),
            level: level.filter(|_| kind == "B"),
            started_at: time("StartTime")?.or(time("SchedTime")?),
            ended_at: if running { None } else { time("EndTime")? },
            status,
            running,
            bytes: num("JobBytes"),
            files: num("JobFiles"),
            message: note.map(|n| format!("JobStatus {letter} ({n}), JobErrors {errors}")),
            check: kind == "V",
            ..ToolRun::default()
        };
        match kind {
            "B" | "V" => out.runs.push(run),
            "R" => out.restores.push((run, Vec::new())),
            _ => out.skipped += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/bacula/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn word(r: &ToolRun) -> &'static str {
        match (r.running, r.status) {
            (true, _) => "running",
            (_, Some(s)) => s.as_str(),
            _ => "?",
        }
    }

    /// The captured jobs: (report file, status, level).
    const JOBS: &[(&str, &str, Option<Level>)] = &[
        ("1-fs01-files.txt", "success", Some(Level::Full)),
        ("2-fs01-files.txt", "success", Some(Level::Incremental)),
        ("3-fs01-missing.txt", "warning", Some(Level::Full)),
        ("4-fs02-files.txt", "failed", Some(Level::Full)),
        ("5-fs01-prescript.txt", "failed", Some(Level::Full)),
        ("6-fs01-cancel.txt", "failed", Some(Level::Full)),
        ("7-fs01-cancel-mount.txt", "failed", Some(Level::Full)),
        ("8-fs01-verify.txt", "success", None),
    ];

    #[test]
    fn each_report_gives_its_job_status_and_key() {
        for (file, want, level) in JOBS {
            let p = parse(&fixture(&format!("reports/{file}")), BERLIN, None).unwrap();
            assert_eq!(p.runs.len(), 1, "{file}");
            let r = &p.runs[0];
            assert_eq!(word(r), *want, "{file}");
            assert_eq!(r.level, *level, "{file}");
            let id = file.split('-').next().unwrap();
            assert_eq!(
                r.id.as_deref(),
                Some(format!("bacula-dir-ci:{id}").as_str())
            );
        }
        let full = &parse(&fixture("reports/1-fs01-files.txt"), BERLIN, None)
            .unwrap()
            .runs[0];
        assert_eq!(full.job.as_deref(), Some("fs01-files"));
        assert!(full.bytes.unwrap() > 108_000);
        // 01:50:41 in Berlin (CET) is 00:50:41Z
        assert_eq!(
            crate::domain::time::rfc3339(full.started_at.unwrap()),
            "2026-12-08T00:50:41Z"
        );
        let verify = &parse(&fixture("reports/8-fs01-verify.txt"), BERLIN, None)
            .unwrap()
            .runs[0];
        assert!(verify.check);
        let restore = parse(&fixture("reports/9-fs01-restore.txt"), BERLIN, None).unwrap();
        assert_eq!(restore.restores.len(), 1);
        assert_eq!(restore.restores[0].1, ["bacula-dir-ci:1"]);
        let cancel = &parse(&fixture("reports/6-fs01-cancel.txt"), BERLIN, None)
            .unwrap()
            .runs[0];
        assert!(
            cancel.message.as_deref().unwrap().contains("Canceled"),
            "{cancel:?}"
        );
    }

    #[test]
    fn the_listing_gives_the_same_jobs_under_the_same_keys() {
        for file in ["llist-jobs.txt", "api2-llist-jobs.txt"] {
            let p = parse(&fixture(file), BERLIN, Some("bacula-dir-ci")).unwrap();
            let words: Vec<&str> = p.runs.iter().map(word).collect();
            assert_eq!(
                words,
                [
                    "success", "success", "warning", "failed", "failed", "failed", "failed",
                    "success"
                ],
                "{file}"
            );
            assert_eq!(p.restores.len(), 1);
            for (n, (report, _, _)) in JOBS.iter().enumerate() {
                let r = &parse(&fixture(&format!("reports/{report}")), BERLIN, None)
                    .unwrap()
                    .runs[0];
                let l = &p.runs[n];
                assert_eq!(
                    (&l.id, &l.job, l.started_at, l.ended_at),
                    (&r.id, &r.job, r.started_at, r.ended_at),
                    "{report}"
                );
            }
        }
    }

    #[test]
    fn bad_input_names_line_and_field() {
        let listing = fixture("llist-jobs.txt").replacen("JobStatus: T", "JobStatus: Z", 1);
        let e = parse(&listing, BERLIN, Some("d")).unwrap_err();
        assert_eq!(e.field, "JobStatus");
        assert!(e.message.contains("'Z'"), "{}", e.message);
        assert!(e.line > 3);
        assert!(
            parse(&fixture("llist-jobs.txt"), BERLIN, None)
                .unwrap_err()
                .field
                == "--director"
        );
        let report = fixture("reports/1-fs01-files.txt").replace("Backup OK", "Backup Perhaps");
        assert_eq!(
            parse(&report, BERLIN, None).unwrap_err().field,
            "Termination"
        );
        assert!(parse("hello", BERLIN, None).is_err());
    }
}
