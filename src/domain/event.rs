//! Job events: one run of a backup (or integrity check) as a tool reported it.
//!
//! Also the idempotency key: a tool's own id stored compactly as an integer
//! (restic's short id is 8 hex digits; borg's 64-hex archive id is kept as
//! its first 16), or, without one, a hash of source + job + time.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// 2000-01-01T00:00:00Z: no backup run bmctl records is older (an earlier
/// time is a clock reset to 1970 or a zeroed field).
pub const EARLIEST: i64 = 946_684_800;

/// The longest message kept with an event.
pub const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    // Ordered worst to best, so that `max` picks an occurrence's outcome.
    Missed,
    Failed,
    Warning,
    Success,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Warning => "warning",
            Status::Failed => "failed",
            Status::Missed => "missed",
        }
    }

    /// The one-letter code stored in the events table.
    pub fn code(self) -> &'static str {
        match self {
            Status::Success => "s",
            Status::Warning => "w",
            Status::Failed => "f",
            Status::Missed => "m",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "s" => Status::Success,
            "w" => Status::Warning,
            "f" => Status::Failed,
            "m" => Status::Missed,
            _ => return None,
        })
    }

    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "success" => Status::Success,
            "warning" => Status::Warning,
            "failed" => Status::Failed,
            "missed" => Status::Missed,
            other => bail!("status '{other}' is not one of success, warning, failed, missed"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    #[default]
    Backup,
    Check,
    /// A start record of a backup still going (neutral `"status": "running"`):
    /// held beside the runs, replaced by the run's terminal record.
    Start,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Backup => "backup",
            Operation::Check => "check",
            Operation::Start => "start",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "backup" => Operation::Backup,
            "check" => Operation::Check,
            other => bail!("operation '{other}' is not backup or check"),
        })
    }
}

/// An event on its way in, validated but not yet matched to a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    pub client: String,
    pub job: String,
    pub operation: Operation,
    pub status: Status,
    pub started_at: Option<i64>,
    pub ended_at: i64,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub snapshot: Option<String>,
    pub source: String,
    pub external_id: Option<String>,
    pub message: Option<String>,
    /// The backup's level where the tool has levels (Bacula): sizes are
    /// compared within one level. Not stored with the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::domain::automation::judge::Level>,
}

impl NewEvent {
    /// The start record of a backup still going (neutral `"status":
    /// "running"`); its status is a placeholder.
    pub fn start_record(client: &str, job: &str, started: i64, source: &str) -> NewEvent {
        NewEvent {
            level: None,
            client: client.to_string(),
            job: job.to_string(),
            operation: Operation::Start,
            status: Status::Failed,
            started_at: Some(started),
            ended_at: started,
            bytes: None,
            files: None,
            snapshot: None,
            source: source.to_string(),
            external_id: None,
            message: None,
        }
    }

    /// The `missed` event `check` records for a window with no run, closing at `at`.
    pub fn missed(client: &str, job: &str, at: i64, message: String) -> NewEvent {
        NewEvent {
            level: None,
            client: client.to_string(),
            job: job.to_string(),
            operation: Operation::Backup,
            status: Status::Missed,
            started_at: None,
            ended_at: at,
            bytes: None,
            files: None,
            snapshot: None,
            source: "check".into(),
            external_id: None,
            message: Some(message),
        }
    }

    /// How far this run's latest instant lies past `limit` (seconds), when
    /// it does: a clock ahead of the MSP's, held rather than applied.
    pub fn ahead_of(&self, limit: i64) -> Option<i64> {
        let latest = self.ended_at.max(self.started_at.unwrap_or(i64::MIN));
        (latest > limit).then_some(latest - limit)
    }

    /// The instant that places the run in an occurrence window: its start,
    /// or its end when the tool gives no start.
    pub fn at(&self) -> i64 {
        self.started_at.unwrap_or(self.ended_at)
    }

    /// Checks that need nothing but the event itself; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.ended_at < EARLIEST {
            return Err((
                "ended_at",
                "is before 2000-01-01: not a real backup run".into(),
            ));
        }
        if self.started_at.is_some_and(|s| s < EARLIEST) {
            return Err((
                "started_at",
                "is before 2000-01-01: not a real backup run".into(),
            ));
        }
        if self.client.is_empty() {
            return Err(("client", "must not be empty".into()));
        }
        // names and ids are printed in tables and used as keys: no control
        // characters (a NUL, an escape sequence); a message may hold lines
        for (field, v) in [
            ("client", Some(self.client.as_str())),
            ("job", Some(self.job.as_str())),
            ("source", Some(self.source.as_str())),
            ("id", self.external_id.as_deref()),
            ("snapshot", self.snapshot.as_deref()),
        ] {
            if v.is_some_and(|v| v.chars().any(char::is_control)) {
                return Err((field, "must not hold control characters".into()));
            }
        }
        if self.message.as_deref().is_some_and(|m| {
            m.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        }) {
            return Err((
                "message",
                "must not hold control characters other than line breaks and tabs".into(),
            ));
        }
        if self.job.is_empty() || self.job.len() > 200 {
            return Err(("job", "must be 1-200 characters".into()));
        }
        if let Some(s) = self.started_at {
            if s > self.ended_at {
                return Err(("ended_at", "ends before it started".into()));
            }
        }
        for (field, v) in [("bytes", self.bytes), ("files", self.files)] {
            if v.is_some_and(|n| n < 0) {
                return Err((field, "must not be negative".into()));
            }
        }
        if self.message.as_ref().is_some_and(|m| m.len() > MAX_MESSAGE) {
            return Err(("message", format!("is longer than {MAX_MESSAGE} bytes")));
        }
        if self
            .external_id
            .as_ref()
            .is_some_and(|i| i.is_empty() || i.len() > 200)
        {
            return Err(("id", "must be 1-200 characters".into()));
        }
        if self.source.is_empty() || self.source.len() > 40 {
            return Err(("source", "must be 1-40 characters".into()));
        }
        Ok(())
    }

    /// The identity of this run: the UTC day it ended, a 32-bit part of its
    /// id in `xid` (kept from the legacy key, for display and locality) and
    /// 64 bits of a SHA-256 of its job, source and canonical id in `xh`.
    /// With the client beside it in the table's key, two runs of different
    /// jobs, sources or ids never share a key (96 hash bits within a client
    /// and day).
    pub fn key(&self) -> RunKey {
        let day = self.ended_at.div_euclid(86_400);
        let canonical = match &self.external_id {
            Some(id) => format!("id\0{id}"),
            // no id: the run's own facts; `run` always writes an id
            None => format!(
                "facts\0{}\0{}\0{}\0{}",
                self.operation.as_str(),
                self.started_at.map_or(String::new(), |s| s.to_string()),
                self.ended_at,
                self.status.as_str()
            ),
        };
        let (xid, xkind) = match &self.external_id {
            Some(id) => key_of(day, id),
            None => self.legacy_key(),
        };
        let xh = run_hash(&[
            self.job.as_bytes(),
            self.source.as_bytes(),
            canonical.as_bytes(),
        ]);
        RunKey { xid, xkind, xh }
    }

    /// The key this run had before run identity (schema 14): `(xid, xkind)`,
    /// with `xh` 0 in the table. An id of 8+ hex digits was keyed on its
    /// first 8, any other id hashed without the job, and a run without one
    /// by source + job + start second: so different runs could share it.
    pub fn legacy_key(&self) -> (i64, i64) {
        let day = self.ended_at.div_euclid(86_400);
        match &self.external_id {
            Some(id) => legacy_key_of(day, id),
            None => {
                let t = self.at();
                // A backup and an integrity check of a job at the same second are two runs.
                let op: &[u8] = if self.operation == Operation::Check {
                    b"\0check"
                } else {
                    b""
                };
                let h = fnv64(&[
                    self.source.as_bytes(),
                    b"\0",
                    self.job.as_bytes(),
                    b"\0",
                    &t.to_le_bytes(),
                    op,
                ]);
                ((day << 32) | (h as u64 & 0xffff_ffff) as i64, 0)
            }
        }
    }
}

/// What a re-delivered run (a key already stored) is to the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redelivery {
    /// The same run: merged silently (missing fields filled).
    Same,
    /// The same key with other facts: the stored run is kept and this is reported.
    Differs(String),
}

/// Compare a stored run (status, start, end) with another record of its key.
/// A snapshot listing (start and end the same instant: the snapshot's time)
/// carries no status of its own; otherwise the status must match, and the
/// two records' spans, widened by `skew`, must meet.
pub fn redelivery(
    stored: (Status, Option<i64>, i64),
    incoming: &NewEvent,
    skew: i64,
) -> Redelivery {
    let (status, started, ended) = stored;
    let listing = |s: Option<i64>, e: i64| s == Some(e);
    let span = |s: Option<i64>, e: i64| (s.unwrap_or(e).min(e) - skew, e + skew);
    let (a0, a1) = span(started, ended);
    let (b0, b1) = span(incoming.started_at, incoming.ended_at);
    let fmt = crate::domain::time::rfc3339;
    if a0 > b1 || b0 > a1 {
        return Redelivery::Differs(format!(
            "ended {}, but the stored run ended {} (more than ingest.same_run_skew apart)",
            fmt(incoming.ended_at),
            fmt(ended)
        ));
    }
    let either_listing = listing(started, ended) || listing(incoming.started_at, incoming.ended_at);
    if status != incoming.status && !either_listing {
        return Redelivery::Differs(format!(
            "status {}, but the stored run is {}",
            incoming.status.as_str(),
            status.as_str()
        ));
    }
    Redelivery::Same
}

/// A run's key in the events table (with its client): see [`NewEvent::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunKey {
    pub xid: i64,
    pub xkind: i64,
    pub xh: i64,
}

/// 64 bits of SHA-256 over length-prefixed parts, never 0 (0 marks a
/// legacy key).
pub fn run_hash(parts: &[&[u8]]) -> i64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let v = i64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
    if v == 0 {
        1
    } else {
        v
    }
}

/// Whether an id is shown abbreviated to its first 8 hex digits (a tool's
/// short id, or a digest of 32+ hex digits such as borg's archive id); any
/// other id is kept whole.
fn abbreviated(id: &str) -> bool {
    (id.len() == 8 || id.len() >= 32)
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The key of a run with a tool's id that ended on UTC day `day`: the day in
/// the high 32 bits, so that keys grow with time and a client's runs of a
/// period are one key range; in the low 32 the first 8 hex digits of an
/// abbreviated id (`xkind` 8: restic's short id exactly), else a hash of the
/// text (`xkind` -1, the text kept beside it).
pub fn key_of(day: i64, id: &str) -> (i64, i64) {
    if abbreviated(id) {
        if let Ok(v) = u32::from_str_radix(&id[..8], 16) {
            return ((day << 32) | v as i64, 8);
        }
    }
    (
        (day << 32) | (fnv64(&[b"id\0", id.as_bytes()]) & 0xffff_ffff),
        -1,
    )
}

/// The legacy key of a run with a tool's id (before schema 14): the first 8
/// hex digits of any id of 8+ hex digits, else a hash of the text.
pub fn legacy_key_of(day: i64, id: &str) -> (i64, i64) {
    let hex = id.len() >= 8
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let (low, kind) = match hex
        .then(|| u32::from_str_radix(&id[..8], 16).ok())
        .flatten()
    {
        Some(v) => (v as i64, 8),
        None => (fnv64(&[b"id\0", id.as_bytes()]) & 0xffff_ffff, -1),
    };
    ((day << 32) | low, kind)
}

/// How far apart two clocks that record the same run may be (`run` and
/// restic's snapshot time).
const SKEW: i64 = 3600;
/// How long a run may take when a record gives only one of its instants.
const LONG_RUN: i64 = 12 * 3600;
/// The farthest a neighbouring day's key is looked for, in days.
const MAX_DAYS_APART: i64 = 2;

/// The UTC day of an instant, as days since 1970-01-01: the `day` of the
/// events that ended then and the high 32 bits of their keys.
pub fn end_day(t: i64) -> i64 {
    t.div_euclid(86_400)
}

impl NewEvent {
    /// The keys under which the same run may already be recorded on a
    /// neighbouring day: another record of it may carry another end time
    /// (a snapshot list gives only the start; a summary only the end; two
    /// clocks differ a little). None for most runs, so that ingest stays one
    /// seek.
    pub fn neighbour_keys(&self, xid: i64) -> Vec<i64> {
        // the instants at which another record of this run may say it ended
        let (lo, hi) = match self.started_at {
            // a start-only record (a snapshot's time): the run may have ended hours later
            Some(start) if start == self.ended_at => (start - SKEW, start + LONG_RUN + SKEW),
            // start and end known: another record ended at one of them
            Some(start) => (start - SKEW, self.ended_at + SKEW),
            // end only: another record may give the start, hours earlier
            None => (self.ended_at - LONG_RUN - SKEW, self.ended_at + SKEW),
        };
        let own = xid >> 32;
        let low = xid & 0xffff_ffff;
        let first = lo.div_euclid(86_400).max(own - MAX_DAYS_APART);
        let last = hi.div_euclid(86_400).min(own + MAX_DAYS_APART);
        (first..=last)
            .filter(|&day| day != own)
            .map(|day| (day << 32) | low)
            .collect()
    }
}

/// Print a stored id back.
pub fn external_id(xid: i64, xkind: i64, text: Option<String>) -> Option<String> {
    match xkind {
        0 => None,
        -1 => text,
        _ => Some(format!("{:08x}", xid & 0xffff_ffff)),
    }
}

/// FNV-1a, 64 bits: stable across versions and platforms (unlike std's hasher).
pub fn fnv64(parts: &[&[u8]]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stored_compactly_and_print_back() {
        let day = 20_787; // 2026-11-30
        let (x, k) = key_of(day, "ed12ae91");
        assert_eq!((x >> 32, x & 0xffff_ffff, k), (day, 0xed12ae91, 8));
        assert_eq!(external_id(x, k, None).as_deref(), Some("ed12ae91"));
        assert_eq!(
            external_id(key_of(day, "00000001").0, 8, None).as_deref(),
            Some("00000001")
        );
        let borg = "c02bc3ff6f1f6b4bdeff82aeee3e1d6899d076bd91219934c902acda94cf2653";
        let (x, k) = key_of(day, borg);
        assert_eq!(external_id(x, k, None).as_deref(), Some("c02bc3ff"));
        assert_eq!(key_of(day, "JOB-42").1, -1);
        assert!(
            key_of(day + 1, "00000000").0 > key_of(day, "ffffffff").0,
            "keys grow with the day"
        );
        let mut ev = NewEvent {
            level: None,
            client: "acme".into(),
            job: "fs01".into(),
            operation: Operation::Backup,
            status: Status::Success,
            started_at: Some(day * 86_400 + 22 * 3600),
            ended_at: day * 86_400 + 23 * 3600,
            bytes: None,
            files: None,
            snapshot: None,
            source: "restic".into(),
            external_id: Some("ed12ae91".into()),
            message: None,
        };
        let key = |d: i64| key_of(d, "ed12ae91").0;
        let x = ev.key().xid;
        assert_eq!(x, key(day), "keyed by the day it ended");
        // 22:00-23:00, both known: only another clock an hour off reaches midnight
        assert_eq!(ev.neighbour_keys(x), vec![key(day + 1)]);
        ev.started_at = Some(day * 86_400 + 9 * 3600);
        ev.ended_at = day * 86_400 + 10 * 3600;
        assert!(ev.neighbour_keys(ev.key().xid).is_empty());
        // 22:00 until 01:00: keyed by its end; a snapshot list keys it by its start
        ev.started_at = Some(day * 86_400 + 22 * 3600);
        ev.ended_at = (day + 1) * 86_400 + 3600;
        assert_eq!(ev.key().xid, key(day + 1));
        assert_eq!(ev.neighbour_keys(ev.key().xid), vec![key(day)]);
        // a snapshot's time at 22:00 (start only): it may have ended after midnight
        ev.ended_at = day * 86_400 + 22 * 3600;
        assert_eq!(ev.neighbour_keys(ev.key().xid), vec![key(day + 1)]);
        // end-only at 01:00: it may have started the day before
        ev.started_at = None;
        ev.ended_at = (day + 1) * 86_400 + 3600;
        assert_eq!(ev.neighbour_keys(ev.key().xid), vec![key(day)]);
        // a start in another age: at most two days back are looked at
        ev.started_at = Some(0);
        assert_eq!(
            ev.neighbour_keys(ev.key().xid),
            vec![key(day - 1), key(day)]
        );
    }

    #[test]
    fn statuses_order_worst_to_best() {
        assert!(Status::Success > Status::Warning && Status::Warning > Status::Failed);
        assert!(Status::Failed > Status::Missed);
        assert!(Status::parse("ok").is_err());
    }

    #[test]
    fn natural_keys_differ_by_time() {
        let mut e = NewEvent {
            level: None,
            client: "acme".into(),
            job: "fs01".into(),
            operation: Operation::Backup,
            status: Status::Success,
            started_at: Some(100),
            ended_at: 200,
            bytes: None,
            files: None,
            snapshot: None,
            source: "import".into(),
            external_id: None,
            message: None,
        };
        let a = e.key();
        e.started_at = Some(101);
        assert_ne!(a, e.key());
        assert_eq!(a.xkind, 0);
        e.ended_at = 50;
        assert_eq!(e.validate().unwrap_err().0, "ended_at");
    }

    fn run(job: &str, id: Option<&str>, status: Status, started: i64) -> NewEvent {
        NewEvent {
            level: None,
            client: "acme".into(),
            job: job.into(),
            operation: Operation::Backup,
            status,
            started_at: Some(started),
            ended_at: started + 60,
            bytes: None,
            files: None,
            snapshot: None,
            source: "neutral".into(),
            external_id: id.map(str::to_string),
            message: None,
        }
    }

    /// #17 1–2: ids that shared a legacy key are different runs now.
    #[test]
    fn different_runs_never_share_a_key() {
        let t = 1_764_486_000;
        let distinct = |runs: &[NewEvent]| {
            let keys: std::collections::HashSet<RunKey> = runs.iter().map(|r| r.key()).collect();
            keys.len()
        };
        // `date +%s` as the id, five jobs in one cron minute
        let epoch: Vec<NewEvent> = (0..5)
            .map(|i| run(&format!("job{i}"), Some("1764486000"), Status::Success, t))
            .collect();
        assert_eq!(distinct(&epoch), 5);
        assert_eq!(
            epoch
                .iter()
                .map(|r| r.legacy_key())
                .collect::<std::collections::HashSet<_>>()
                .len(),
            1,
            "the legacy key merged them"
        );
        // date-like ids, and ids with a shared hex prefix, on one job
        let ids = [
            "20261130",
            "202611300100",
            "202611300200",
            "deadbeef01",
            "deadbeef02",
            "DEADBEEF",
        ];
        let runs: Vec<NewEvent> = ids
            .iter()
            .map(|id| run("fs01", Some(id), Status::Success, t))
            .collect();
        assert_eq!(distinct(&runs), ids.len());
        // the same text on two jobs
        assert_ne!(
            run("a", Some("run-1"), Status::Success, t).key(),
            run("b", Some("run-1"), Status::Success, t).key()
        );
        // a failure and its retry in the same second, without ids
        let fail = run("fs01", None, Status::Failed, t);
        let retry = NewEvent {
            level: None,
            ended_at: t + 61,
            ..run("fs01", None, Status::Success, t)
        };
        assert_ne!(fail.key(), retry.key());
        // the same line again is the same run
        assert_eq!(fail.key(), run("fs01", None, Status::Failed, t).key());
        // whole ids are shown whole; a tool's short id and a digest abbreviated
        assert_eq!(key_of(0, "deadbeef01").1, -1);
        assert_eq!(key_of(0, "ed12ae91").1, 8);
        assert_eq!(
            legacy_key_of(0, "deadbeef01"),
            legacy_key_of(0, "deadbeef02")
        );
        assert!(epoch.iter().all(|r| r.key().xh != 0));
    }

    #[test]
    fn a_redelivery_is_the_same_run_or_a_reported_difference() {
        let t = 1_764_486_000;
        let summary = run("fs01", Some("ed12ae91"), Status::Success, t);
        let stored = (Status::Success, Some(t), t + 60);
        assert_eq!(redelivery(stored, &summary, 3600), Redelivery::Same);
        // another status for the same run: kept, reported
        let failed = run("fs01", Some("ed12ae91"), Status::Failed, t);
        assert!(
            matches!(redelivery(stored, &failed, 3600), Redelivery::Differs(m) if m.contains("status failed"))
        );
        // a snapshot listing carries no status of its own
        let listing = NewEvent {
            level: None,
            started_at: Some(t),
            ended_at: t,
            ..failed.clone()
        };
        assert_eq!(
            redelivery((Status::Warning, Some(t), t + 60), &listing, 3600),
            Redelivery::Same
        );
        // a day apart is not the same run
        let later = NewEvent {
            level: None,
            started_at: Some(t + 86_400),
            ended_at: t + 86_460,
            ..summary.clone()
        };
        assert!(
            matches!(redelivery(stored, &later, 3600), Redelivery::Differs(m) if m.contains("same_run_skew"))
        );
    }
}
