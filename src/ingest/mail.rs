//! Report e-mails: one message parsed (MIME by `mail-parser`, an HTML body
//! reduced to text), a mailbox split into messages (Maildir, mbox, one
//! `.eml`), and `[[mail.rule]]` recognizers — CheckCentral's model: regexes
//! on sender, subject and body with named groups, a status map, times —
//! with presets for the subject lines of Veeam, Synology Hyper Backup and
//! Windows Server Backup. Built-in recognizers (Bacula reports, restic and
//! borg cron mails) are tried before the rules, in `ops::mail`.

use std::collections::BTreeMap;

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::event::Status;

/// One message as the recognizers see it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// Message-ID, else `sha256:` of the raw message: its identity.
    pub key: String,
    pub from: String,
    pub subject: String,
    /// `Date:` as an instant, with its offset (the sender's zone then).
    pub date: Option<(i64, i32)>,
    pub body: String,
}

/// Parse one raw message; `None` when it is not a message at all.
pub fn parse(raw: &[u8]) -> Option<Mail> {
    let m = mail_parser::MessageParser::default().parse(raw)?;
    if m.subject().is_none() && m.from().is_none() && m.date().is_none() {
        return None;
    }
    let key = match m.message_id() {
        Some(id) if !id.trim().is_empty() => format!("<{}>", id.trim()),
        _ => format!("sha256:{:x}", Sha256::digest(raw)),
    };
    let from = m
        .from()
        .and_then(|a| a.first())
        .map(|a| a.address().unwrap_or_default().to_string())
        .unwrap_or_default();
    let date = m.date().map(|d| {
        let sign = if d.tz_before_gmt { -1 } else { 1 };
        (
            d.to_timestamp(),
            sign * (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60),
        )
    });
    let body = (0..4)
        .find_map(|i| m.body_text(i))
        .map(|b| b.replace("\r\n", "\n"))
        .unwrap_or_default();
    Some(Mail {
        key,
        from,
        subject: m
            .subject()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        date,
        body,
    })
}

/// The messages of an mbox: split at `From ` lines that follow a blank
/// line (or open the file), `>From ` unquoted; each with its first line.
pub fn split_mbox(text: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut blank_before = true;
    for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        if blank_before && line.starts_with(b"From ") {
            out.push((i + 2, Vec::new()));
            blank_before = false;
            continue;
        }
        blank_before = line == b"\n" || line == b"\r\n";
        if let Some((_, msg)) = out.last_mut() {
            let unquoted = if line.starts_with(b">From ") {
                &line[1..]
            } else {
                line
            };
            msg.extend_from_slice(unquoted);
        }
    }
    out
}

/// A `[[mail.rule]]` of the config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailRule {
    pub name: String,
    /// `veeam`, `synology` or `wsb`: the subject and body patterns and the
    /// status map are the preset's; fields given here replace them.
    #[serde(default)]
    pub preset: Option<String>,
    /// Regexes (Rust `regex` syntax) on the sender's address, the subject,
    /// the body text; each given one must match.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The client every message of the rule belongs to (else a `client` group).
    #[serde(default)]
    pub client: Option<String>,
    /// The tool's job name: a template of groups (`{host}`); default `{job}`.
    #[serde(default)]
    pub job: Option<String>,
    /// The `status` group's text → success, warning, failed or skip.
    #[serde(default)]
    pub status_map: BTreeMap<String, String>,
    /// chrono format of the `start` and `end` groups (default RFC 3339).
    #[serde(default)]
    pub time_format: Option<String>,
    /// Zone of those times [default: the client's zone].
    #[serde(default)]
    pub tz: Option<String>,
}

pub const PRESETS: &[&str] = &["veeam", "synology", "wsb"];

/// A preset's patterns: subject regexes tried in order, an optional body
/// regex for groups the subject lacks, the job template, the status map.
struct Preset {
    subjects: &'static [&'static str],
    body: Option<&'static str>,
    job: &'static str,
    status: &'static [(&'static str, &'static str)],
}

fn preset(name: &str) -> Option<Preset> {
    Some(match name {
        // Veeam B&R's default job notification subject
        // `[%JobResult%] %JobName% (%ObjectCount% objects) %Issues%`
        // (helpcenter.veeam.com, vbr/userguide/general_email_notifications.html
        // and powershell/get-vbrmailnotificationconfiguration.html; older
        // builds say "(3 VMs)")
        "veeam" => Preset {
            subjects: &[
                r"^\[(?P<status>Success|Warning|Failed)\] (?P<job>.+?) \((?P<objects>\d+) (?:objects?|VMs?|machines?|instances?|file shares?)\)(?: (?P<issues>.+))?$",
            ],
            body: None,
            job: "{job}",
            status: &[
                ("Success", "success"),
                ("Warning", "warning"),
                ("Failed", "failed"),
            ],
        },
        // Synology DSM notification for Hyper Backup: `[HOST] Data backup
        // task on HOST completed|partially completed|failed` (wording from a
        // captured DSM notification text and the synobackup.log states
        // parsed by WAdama/nas_hb_status; tests/fixtures/mail/PRESETS.md)
        "synology" => Preset {
            subjects: &[
                r"^(?:\[(?P<nas>[^\]]+)\] )?Data backup task (?:\[(?P<task>[^\]]+)\] )?on (?P<host>\S+) (?P<status>completed|has completed|partially completed|failed|has failed|was cancell?ed)\.?$",
            ],
            body: Some(r"backup task \[(?P<job>[^\]]+)\]"),
            job: "{host}:{job}",
            status: &[
                ("completed", "success"),
                ("has completed", "success"),
                ("partially completed", "warning"),
                ("failed", "failed"),
                ("has failed", "failed"),
                ("was canceled", "failed"),
                ("was cancelled", "failed"),
            ],
        },
        // Windows Server Backup sends no mail: the two common shapes, the
        // jocha.se report script ("Successful Backup on HOST") and an
        // event-triggered task ("Windows Server Backup on HOST: Failure
        // (Event ID 517)"; BlbEvents.dll ids, libyal/winevt-kb)
        "wsb" => Preset {
            subjects: &[
                r"^(?P<status>Successful|Failed) Backup on (?P<host>[A-Za-z0-9._-]+)$",
                r"^Windows Server Backup on (?P<host>[A-Za-z0-9._-]+): (?P<status>Success|Warning|Failure) \(Event ID (?P<event>\d+)\)$",
            ],
            body: None,
            job: "{host}",
            status: &[
                ("Successful", "success"),
                ("Success", "success"),
                ("Warning", "warning"),
                ("Failed", "failed"),
                ("Failure", "failed"),
            ],
        },
        _ => return None,
    })
}

/// A rule ready to match.
#[derive(Debug, Clone)]
pub struct Recognizer {
    pub name: String,
    from: Option<Regex>,
    subjects: Vec<Regex>,
    body: Option<Regex>,
    /// A body regex of a preset: groups it adds, not a condition.
    body_groups: Option<Regex>,
    pub client: Option<String>,
    job: String,
    status_map: BTreeMap<String, String>,
    time_format: Option<String>,
    pub tz: Option<String>,
}

/// What a rule read from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub rule: String,
    pub client: Option<String>,
    pub job: String,
    /// `None`: the rule said skip (a notice that is no run).
    pub status: Option<Status>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl MailRule {
    /// Compile the rule (its preset's patterns under its own); errors name the rule.
    pub fn compile(&self) -> Result<Recognizer, String> {
        let name = &self.name;
        let re = |what: &str, p: &str| {
            Regex::new(p).map_err(|e| format!("mail.rule '{name}': {what} is not a regex: {e}"))
        };
        let base = match &self.preset {
            Some(p) => Some(preset(p).ok_or_else(|| {
                format!(
                    "mail.rule '{name}': preset '{p}' is not one of {}",
                    PRESETS.join(", ")
                )
            })?),
            None => None,
        };
        let subjects = match (&self.subject, &base) {
            (Some(s), _) => vec![re("subject", s)?],
            (None, Some(b)) => b
                .subjects
                .iter()
                .map(|s| re("subject", s))
                .collect::<Result<_, _>>()?,
            (None, None) => Vec::new(),
        };
        let body = self.body.as_deref().map(|b| re("body", b)).transpose()?;
        let body_groups = match (&body, base.as_ref().and_then(|b| b.body)) {
            (None, Some(b)) => Some(re("body", b)?),
            _ => None,
        };
        let mut status_map: BTreeMap<String, String> = base
            .as_ref()
            .map(|b| {
                b.status
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        status_map.extend(self.status_map.clone());
        for (k, v) in &status_map {
            if !matches!(v.as_str(), "success" | "warning" | "failed" | "skip") {
                return Err(format!(
                    "mail.rule '{name}': status_map.{k} = '{v}' is not success, warning, failed or skip"
                ));
            }
        }
        if self.from.is_none() && subjects.is_empty() && body.is_none() {
            return Err(format!(
                "mail.rule '{name}': needs from, subject or body (or a preset)"
            ));
        }
        if let Some(tz) = &self.tz {
            crate::domain::time::parse_tz(tz)
                .map_err(|e| format!("mail.rule '{name}': tz: {e}"))?;
        }
        Ok(Recognizer {
            name: name.clone(),
            from: self.from.as_deref().map(|f| re("from", f)).transpose()?,
            subjects,
            body,
            body_groups,
            client: self.client.clone(),
            job: self
                .job
                .clone()
                .or_else(|| base.as_ref().map(|b| b.job.to_string()))
                .unwrap_or_else(|| "{job}".into()),
            status_map,
            time_format: self.time_format.clone(),
            tz: self.tz.clone(),
        })
    }
}

impl Recognizer {
    /// Whether this rule claims `m`, and what it read; `tz` is the zone of
    /// times without one (the rule's, else the client's). An error: the
    /// rule claimed the message but a value is bad (names group and value).
    pub fn claim(
        &self,
        m: &Mail,
        tz_of: impl Fn(&str) -> Option<chrono_tz::Tz>,
    ) -> Option<Result<Claim, String>> {
        if let Some(f) = &self.from {
            if !f.is_match(&m.from) {
                return None;
            }
        }
        let mut groups: BTreeMap<String, String> = BTreeMap::new();
        let mut take = |re: &Regex, text: &str| -> bool {
            let Some(c) = re.captures(text) else {
                return false;
            };
            for name in re.capture_names().flatten() {
                if let Some(v) = c.name(name) {
                    groups
                        .entry(name.to_string())
                        .or_insert_with(|| v.as_str().trim().to_string());
                }
            }
            true
        };
        if !self.subjects.is_empty() && !self.subjects.iter().any(|s| take(s, &m.subject)) {
            return None;
        }
        if let Some(b) = &self.body {
            if !take(b, &m.body) {
                return None;
            }
        }
        if let Some(b) = &self.body_groups {
            take(b, &m.body);
        }
        Some(self.read(m, &groups, tz_of))
    }

    fn read(
        &self,
        m: &Mail,
        groups: &BTreeMap<String, String>,
        tz_of: impl Fn(&str) -> Option<chrono_tz::Tz>,
    ) -> Result<Claim, String> {
        let name = &self.name;
        let client = self
            .client
            .clone()
            .or_else(|| groups.get("client").cloned());
        let mut job = String::new();
        let mut rest = self.job.as_str();
        while let Some(open) = rest.find('{') {
            job.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .unwrap_or(rest.len() - 1);
            let g = &rest[open + 1..close];
            job.push_str(groups.get(g).map(String::as_str).unwrap_or(""));
            rest = &rest[(close + 1).min(rest.len())..];
        }
        job.push_str(rest);
        let job = job
            .trim_matches(|c: char| c == ':' || c.is_whitespace())
            .to_string();
        if job.is_empty() {
            return Err(format!(
                "mail.rule '{name}': the message gives no job name ({})",
                self.job
            ));
        }
        let said = groups.get("status").cloned().unwrap_or_default();
        let status = match self
            .status_map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&said))
            .map(|(_, v)| v.as_str())
        {
            Some("success") => Some(Status::Success),
            Some("warning") => Some(Status::Warning),
            Some("failed") => Some(Status::Failed),
            Some(_) => None,
            None if said.is_empty() && self.status_map.is_empty() => Some(Status::Success),
            None => {
                return Err(format!(
                    "mail.rule '{name}': status '{said}' is not in its status_map ({})",
                    self.status_map
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        };
        let zone = self
            .tz
            .as_deref()
            .and_then(|t| t.parse().ok())
            .or_else(|| client.as_deref().and_then(&tz_of))
            .unwrap_or(chrono_tz::UTC);
        let time = |g: &str| -> Result<Option<i64>, String> {
            let Some(v) = groups.get(g) else {
                return Ok(None);
            };
            let t = match &self.time_format {
                None => crate::domain::time::parse_instant(v)
                    .map(|t| t.timestamp())
                    .map_err(|e| e.to_string()),
                Some(f) => NaiveDateTime::parse_from_str(v, f)
                    .map_err(|e| e.to_string())
                    .and_then(|n| {
                        zone.from_local_datetime(&n)
                            .earliest()
                            .map(|t| t.timestamp())
                            .ok_or_else(|| format!("does not exist in {zone}"))
                    }),
            };
            t.map(Some)
                .map_err(|e| format!("mail.rule '{name}': group {g} '{v}': {e}"))
        };
        let started_at = time("start")?;
        let ended_at = time("end")?.or(m.date.map(|d| d.0));
        Ok(Claim {
            rule: name.clone(),
            client,
            job,
            status,
            started_at,
            ended_at,
        })
    }
}

/// The zone a message's `Date:` was written in (a fixed offset).
pub fn sender_zone(m: &Mail) -> Option<FixedOffset> {
    m.date.and_then(|(_, off)| FixedOffset::east_opt(off))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(name: &str) -> Mail {
        let raw = std::fs::read(format!(
            "{}/tests/fixtures/mail/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        parse(&raw).unwrap()
    }

    fn rule(preset_name: &str) -> Recognizer {
        MailRule {
            name: preset_name.into(),
            preset: Some(preset_name.into()),
            client: Some("acme".into()),
            ..MailRule::default()
        }
        .compile()
        .unwrap()
    }

    fn claim(r: &Recognizer, file: &str) -> Option<Claim> {
        r.claim(&mail(file), |_| Some(chrono_tz::Europe::Berlin))
            .map(|c| c.unwrap())
    }

    #[test]
    fn messages_parse_with_identity_date_and_text() {
        let m = mail("veeam-warning.eml");
        assert!(m.key.starts_with('<'), "{}", m.key);
        assert_eq!(
            m.subject,
            "[Warning] File Server Backup (2 objects) 1 warning"
        );
        assert!(m.date.is_some());
        // an HTML body reduced to text
        assert!(
            !m.body.contains("<td"),
            "{}",
            &m.body[..m.body.len().min(300)]
        );
        let b = mail("wsb-success.eml"); // base64
        assert!(!b.body.is_empty());
    }

    #[test]
    fn the_presets_read_their_subjects() {
        let table: &[(&str, &str, &str, Option<Status>)] = &[
            (
                "veeam",
                "veeam-success.eml",
                "Daily VM Backup",
                Some(Status::Success),
            ),
            (
                "veeam",
                "veeam-warning.eml",
                "File Server Backup",
                Some(Status::Warning),
            ),
            (
                "veeam",
                "veeam-failed.eml",
                "SQL Backup",
                Some(Status::Failed),
            ),
            (
                "synology",
                "synology-hyperbackup-failed.eml",
                "NAS01:",
                Some(Status::Failed),
            ),
            (
                "synology",
                "synology-hyperbackup-ok.eml",
                "NAS01:",
                Some(Status::Success),
            ),
            ("wsb", "wsb-success.eml", "DC01", Some(Status::Success)),
            ("wsb", "wsb-failed.eml", "DC02", Some(Status::Failed)),
        ];
        for (p, file, job, status) in table {
            let c = claim(&rule(p), file).unwrap_or_else(|| panic!("{p} claims {file}"));
            assert!(c.job.starts_with(job), "{file}: {}", c.job);
            assert_eq!(c.status, *status, "{file}");
            assert_eq!(c.client.as_deref(), Some("acme"));
            assert!(c.ended_at.is_some(), "{file}: the Date: header is the end");
        }
        for p in PRESETS {
            assert_eq!(claim(&rule(p), "unknown.eml"), None, "{p}");
            assert_eq!(claim(&rule(p), "restic-cron.eml"), None, "{p}");
        }
    }

    #[test]
    fn a_rule_with_groups_and_times() {
        let r = MailRule {
            name: "nas".into(),
            from: Some("weber-steuer".into()),
            subject: Some(r"^Cron <\w+@(?P<host>[^>]+)>".into()),
            job: Some("{host}-cron".into()),
            client: Some("acme".into()),
            ..MailRule::default()
        }
        .compile()
        .unwrap();
        let c = claim(&r, "restic-cron.eml").unwrap();
        assert_eq!(
            (c.job.as_str(), c.status),
            ("fs01-cron", Some(Status::Success))
        );
        // a status the map lacks is an error naming the rule and the value
        let strict = MailRule {
            name: "strict".into(),
            subject: Some(r"^\[(?P<status>\w+)\] (?P<job>.+?) \(".into()),
            status_map: [("Success".to_string(), "success".to_string())].into(),
            ..MailRule::default()
        }
        .compile()
        .unwrap();
        let e = strict
            .claim(&mail("veeam-failed.eml"), |_| None)
            .unwrap()
            .unwrap_err();
        assert!(e.contains("status 'Failed'"), "{e}");
    }

    #[test]
    fn bad_rules_are_refused_by_name() {
        let bad = |r: MailRule| r.compile().unwrap_err();
        assert!(bad(MailRule {
            name: "x".into(),
            subject: Some("(".into()),
            ..MailRule::default()
        })
        .contains("mail.rule 'x': subject"));
        assert!(bad(MailRule {
            name: "y".into(),
            preset: Some("nope".into()),
            ..MailRule::default()
        })
        .contains("preset 'nope'"));
        assert!(bad(MailRule {
            name: "z".into(),
            ..MailRule::default()
        })
        .contains("needs"));
    }

    #[test]
    fn an_mbox_splits_at_from_lines() {
        let text = b"From a@b Mon Jan  1 00:00:00 2026\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan  1 00:00:01 2026\nSubject: two\n\nbody\n";
        let msgs = split_mbox(text);
        assert_eq!(msgs.len(), 2);
        assert!(String::from_utf8_lossy(&msgs[0].1).contains("\nFrom here"));
        assert_eq!(msgs[1].0, 7);
    }
}
