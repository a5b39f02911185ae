//! What the events must be: a digest per client and week, and one for the
//! whole table that each import batch writes into its audit row. A digest is
//! the event count and a sum of the events' SHA-256 hashes (two lanes modulo
//! 2^61 − 1, so that SQLite adds them without overflow and no order matters);
//! `audit verify --deep` recomputes them from `job_events`. `superseded`,
//! which late data sets, is not covered.

use crate::store::Db;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::audit::{self, Actor};
use super::events::Insert;

/// The Monday-to-Sunday week (UTC) of a UTC day: a digest row per client
/// and week is written by a batch (a row per day cost a batch of 10,000
/// runs 1,000 upserts, most of its digests' cost).
pub fn week(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}

/// The week's first and last UTC day as dates.
fn week_span(week: i64) -> String {
    let date = |d: i64| {
        crate::domain::time::rfc3339(d * 86_400)
            .get(..10)
            .unwrap_or_default()
            .to_string()
    };
    format!("{} to {}", date(week * 7 - 3), date(week * 7 + 3))
}

/// 2^61 − 1: a lane's sum of two values stays below 2^62.
const P: u64 = (1 << 61) - 1;

/// An event count and its hash sum.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub events: i64,
    pub a: u64,
    pub b: u64,
}

impl Digest {
    pub fn add(&mut self, o: Digest) {
        self.events += o.events;
        self.a = (self.a + o.a) % P;
        self.b = (self.b + o.b) % P;
    }

    /// The digest less `o` (an event removed or rewritten).
    pub fn sub(&mut self, o: Digest) {
        self.events -= o.events;
        self.a = (self.a + P - o.a) % P;
        self.b = (self.b + P - o.b) % P;
    }

    pub fn hex(&self) -> String {
        format!("{:016x}{:016x}", self.a, self.b)
    }
}

/// An event row's fields, as hashed.
pub struct Fields<'a> {
    pub day: i64,
    pub client_id: i64,
    pub xid: i64,
    pub xh: i64,
    pub policy_id: Option<i64>,
    pub unmatched_id: Option<i64>,
    pub check: bool,
    pub status: &'a str,
    pub started_at: Option<i64>,
    pub ended_at: i64,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub source_id: i64,
    pub xkind: i64,
    pub ext_text: Option<&'a str>,
    pub snapshot: Option<&'a str>,
    pub message: Option<&'a str>,
}

impl<'a> Fields<'a> {
    pub fn of(e: &'a Insert<'a>) -> Self {
        Fields {
            day: e.xid >> 32,
            client_id: e.client_id,
            xid: e.xid,
            xh: e.xh,
            policy_id: e.policy_id,
            unmatched_id: e.unmatched_id,
            check: e.check,
            status: e.status,
            started_at: e.started_at,
            ended_at: e.ended_at,
            bytes: e.bytes,
            files: e.files,
            source_id: e.source_id,
            xkind: e.xkind,
            ext_text: e.ext_text,
            snapshot: e.snapshot,
            message: e.message,
        }
    }

    /// One event's digest: SHA-256 over the fields in a fixed layout — the
    /// numbers (absent ones flagged, `day` is in `xid`), the status letter
    /// (the column holds one), then each text with its length — so that a
    /// run without a message is two SHA-256 blocks, not four.
    pub fn digest(&self) -> Digest {
        use sha2::{Digest as _, Sha256};
        let mut buf = [0u8; 90];
        let fixed = [
            self.client_id,
            self.xid,
            self.xh,
            self.ended_at,
            self.source_id,
            self.xkind,
        ];
        for (i, v) in fixed.into_iter().enumerate() {
            buf[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        let optional = [
            self.policy_id,
            self.unmatched_id,
            self.started_at,
            self.bytes,
            self.files,
        ];
        let mut flags = u8::from(self.check) << 7;
        for (i, v) in optional.into_iter().enumerate() {
            if let Some(v) = v {
                flags |= 1 << i;
                buf[48 + i * 8..56 + i * 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        buf[88] = flags;
        buf[89] = self.status.bytes().next().unwrap_or(0);
        let mut h = Sha256::new();
        h.update(buf);
        for t in [self.ext_text, self.snapshot, self.message] {
            match t {
                Some(t) => {
                    h.update((t.len() as u32).to_le_bytes());
                    h.update(t.as_bytes());
                }
                None => h.update(u32::MAX.to_le_bytes()),
            }
        }
        let out = h.finalize();
        let lane = |i: usize| u64::from_le_bytes(out[i..i + 8].try_into().unwrap()) % P;
        Digest {
            events: 1,
            a: lane(0),
            b: lane(8),
        }
    }
}

/// What a batch changed: per (client, week).
#[derive(Debug, Default)]
pub struct Delta {
    days: HashMap<(i64, i64), Digest>,
    /// The (client, day) being added to: runs come in runs of one client
    /// and day, so most events skip the map.
    current: Option<((i64, i64), Digest)>,
    /// What the batch added, for its audit row.
    batch: Digest,
}

impl Delta {
    pub fn added(&mut self, f: &Fields<'_>) {
        let d = f.digest();
        let key = (f.client_id, week(f.day));
        match &mut self.current {
            Some((k, sum)) if *k == key => sum.add(d),
            current => {
                if let Some((k, sum)) = current.replace((key, d)) {
                    self.days.entry(k).or_default().add(sum);
                }
            }
        }
        self.batch.add(d);
    }

    fn settle(&mut self) {
        if let Some((k, sum)) = self.current.take() {
            self.days.entry(k).or_default().add(sum);
        }
    }

    /// An event rewritten in place (a re-delivery filled its missing fields).
    pub fn rewritten(&mut self, client_id: i64, day: i64, o: Digest, n: Digest) {
        self.settle();
        let sum = self.days.entry((client_id, week(day))).or_default();
        sum.sub(o);
        sum.add(n);
        self.batch.sub(o);
        self.batch.add(n);
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty() && self.current.is_none()
    }
}

/// The meta key of the whole table's digest.
const TOTAL: &str = "events_digest";

fn total(conn: &Db) -> Result<Digest> {
    Ok(match super::meta::get(conn, TOTAL)? {
        Some(t) => serde_json::from_str(&t)?,
        None => Digest::default(),
    })
}

/// The audit row of a batch: what it added and the table's digest after it.
#[derive(Debug, Serialize, Deserialize)]
struct BatchRow {
    events: i64,
    digest: String,
    total: Digest,
}

/// Write a batch's delta into the per-day digests and the total, and its
/// audit row.
pub fn commit(conn: &Db, who: &Actor<'_>, delta: &mut Delta) -> Result<()> {
    if delta.is_empty() {
        return Ok(());
    }
    delta.settle();
    let mut rows: Vec<_> = delta.days.drain().collect();
    rows.sort_unstable_by_key(|((client_id, week), _)| (*week, *client_id));
    let mut stmt = conn.0.prepare_cached(
        "INSERT INTO event_digests (client_id, week, events, a, b) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (week, client_id) DO UPDATE SET events = events + excluded.events,
            a = (a + excluded.a) % 2305843009213693951, b = (b + excluded.b) % 2305843009213693951",
    )?;
    let mut sum = Digest::default();
    for ((client_id, week), d) in &rows {
        stmt.execute(params![client_id, week, d.events, d.a as i64, d.b as i64])?;
        sum.add(*d);
    }
    let mut t = total(conn)?;
    t.add(sum);
    record_total(conn, who, "batch", std::mem::take(&mut delta.batch), t)
}

fn record_total(conn: &Db, who: &Actor<'_>, what: &str, batch: Digest, t: Digest) -> Result<()> {
    super::meta::set(conn, TOTAL, &serde_json::to_string(&t)?)?;
    let row = BatchRow {
        events: batch.events,
        digest: batch.hex(),
        total: t,
    };
    audit::append(
        conn,
        who,
        "event_digest",
        [audit::Entry {
            entity_id: what.into(),
            before: None,
            after: Some(serde_json::to_string(&row)?),
        }],
    )
}

/// Digest the events stored before digests existed (migration 25), with an
/// audit row when there are any.
pub fn baseline(conn: &Db, who: &Actor<'_>) -> Result<()> {
    let days = recompute(conn, None)?;
    let t = store_days(conn, &days)?;
    if t.events > 0 {
        record_total(conn, who, "baseline", t, t)?;
    }
    Ok(())
}

/// After `db prune` removed the events up to UTC day `last_day`: the days
/// before it are gone, that day is recomputed, and the total with them.
pub fn pruned(conn: &Db, who: &Actor<'_>, last_day: i64) -> Result<()> {
    conn.0.execute(
        "DELETE FROM event_digests WHERE week <= ?1",
        [week(last_day)],
    )?;
    let days = recompute(conn, Some(week(last_day)))?;
    store_days(conn, &days)?;
    let mut t = Digest::default();
    let mut stmt = conn.0.prepare("SELECT events, a, b FROM event_digests")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        t.add(Digest {
            events: r.get(0)?,
            a: r.get::<_, i64>(1)? as u64,
            b: r.get::<_, i64>(2)? as u64,
        });
    }
    let was = total(conn)?;
    let mut removed = was;
    removed.sub(t);
    record_total(conn, who, "prune", removed, t)
}

fn store_days(conn: &Db, days: &BTreeMap<(i64, i64), Digest>) -> Result<Digest> {
    let mut stmt = conn.0.prepare(
        "INSERT INTO event_digests (client_id, week, events, a, b) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut t = Digest::default();
    for ((week, client_id), d) in days {
        stmt.execute(params![client_id, week, d.events, d.a as i64, d.b as i64])?;
        t.add(*d);
    }
    Ok(t)
}

/// The columns [`row_digest`] reads, in its order.
const ROW: &str = "day, client_id, xid, xh, policy_id, unmatched_id, operation, status, started_at,
    ended_at, bytes, files, source_id, xkind, ext_text, snapshot, message";

/// A stored event's (week, client) and digest, from a row of [`ROW`].
fn row_digest(r: &rusqlite::Row<'_>) -> rusqlite::Result<((i64, i64), Digest)> {
    let (status, ext_text, snapshot, message): (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = (r.get(7)?, r.get(14)?, r.get(15)?, r.get(16)?);
    let f = Fields {
        day: r.get(0)?,
        client_id: r.get(1)?,
        xid: r.get(2)?,
        xh: r.get(3)?,
        policy_id: r.get(4)?,
        unmatched_id: r.get(5)?,
        check: r.get::<_, Option<String>>(6)?.is_some(),
        status: &status,
        started_at: r.get(8)?,
        ended_at: r.get(9)?,
        bytes: r.get(10)?,
        files: r.get(11)?,
        source_id: r.get(12)?,
        xkind: r.get(13)?,
        ext_text: ext_text.as_deref(),
        snapshot: snapshot.as_deref(),
        message: message.as_deref(),
    };
    Ok(((week(f.day), f.client_id), f.digest()))
}

/// Every (week, client)'s digest as the events now are (of one week only).
fn recompute(conn: &Db, only_week: Option<i64>) -> Result<BTreeMap<(i64, i64), Digest>> {
    let mut out: BTreeMap<(i64, i64), Digest> = BTreeMap::new();
    let mut stmt = conn.0.prepare(&format!(
        "SELECT {ROW} FROM job_events WHERE ?1 IS NULL OR day BETWEEN ?1 * 7 - 3 AND ?1 * 7 + 3"
    ))?;
    let mut rows = stmt.query([only_week])?;
    while let Some(r) = rows.next()? {
        let (key, d) = row_digest(r)?;
        out.entry(key).or_default().add(d);
    }
    Ok(out)
}

/// The fields of a stored event, read back by key (to rewrite its digest).
pub fn stored_digest(conn: &Db, client_id: i64, xid: i64, xh: i64) -> Result<Option<Digest>> {
    use rusqlite::OptionalExtension;
    let mut stmt = conn.0.prepare_cached(&format!(
        "SELECT {ROW} FROM job_events WHERE day = ?1 AND client_id = ?2 AND xid = ?3 AND xh = ?4"
    ))?;
    Ok(stmt
        .query_row(params![xid >> 32, client_id, xid, xh], |r| {
            row_digest(r).map(|(_, d)| d)
        })
        .optional()?)
}

/// Where the events differ from the digests: the audit log's newest total
/// against a recomputation, and the days whose stored digest differs.
pub fn verify(conn: &Db) -> Result<Vec<String>> {
    let mut audited = None;
    let mut stmt = conn.0.prepare(
        "SELECT id, after FROM audit_log WHERE entity_type = 'event_digest' ORDER BY id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query([])?;
    if let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let after: Option<String> = r.get(1)?;
        let row: BatchRow = serde_json::from_str(after.as_deref().unwrap_or("null"))
            .map_err(|e| anyhow::anyhow!("audit row {id} is damaged: {e}"))?;
        audited = Some((id, row.total));
    }
    let now = recompute(conn, None)?;
    let mut total = Digest::default();
    for d in now.values() {
        total.add(*d);
    }
    let Some((row_id, audited)) = audited else {
        return Ok(if total.events > 0 {
            vec![format!(
                "{} events and no digest in the audit log: they were written outside bmctl",
                total.events
            )]
        } else {
            vec![]
        });
    };
    if audited == total {
        return Ok(vec![]);
    }
    let mut problems = vec![format!(
        "the events ({} rows) differ from the digest audit row {row_id} recorded ({} rows): events were added, edited or removed outside bmctl",
        total.events, audited.events
    )];
    // which weeks: the per-week digests, unless they were edited to match
    let mut stored: BTreeMap<(i64, i64), Digest> = BTreeMap::new();
    let mut stmt = conn
        .0
        .prepare("SELECT week, client_id, events, a, b FROM event_digests")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        stored.insert(
            (r.get(0)?, r.get(1)?),
            Digest {
                events: r.get(2)?,
                a: r.get::<_, i64>(3)? as u64,
                b: r.get::<_, i64>(4)? as u64,
            },
        );
    }
    let codes: HashMap<i64, String> = super::clients::list(conn)?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let mut weeks: Vec<_> = now.keys().chain(stored.keys()).copied().collect();
    weeks.sort_unstable();
    weeks.dedup();
    let differing: Vec<String> = weeks
        .into_iter()
        .filter(|k| now.get(k) != stored.get(k))
        .map(|(week, client_id)| {
            let (n, s) = (now.get(&(week, client_id)), stored.get(&(week, client_id)));
            let (n, s) = (n.map_or(0, |d| d.events), s.map_or(0, |d| d.events));
            format!(
                "{}, {}: {}",
                codes
                    .get(&client_id)
                    .cloned()
                    .unwrap_or_else(|| format!("client #{client_id}")),
                week_span(week),
                if n == s {
                    format!("{n} events, changed since they were written")
                } else {
                    format!("{n} events where its batches wrote {s}")
                }
            )
        })
        .collect();
    if differing.is_empty() {
        problems.push("the per-week digests were edited to match: the week cannot be named".into());
    } else {
        let n = differing.len();
        problems.extend(
            differing
                .into_iter()
                .take(20)
                .map(|d| format!("the events of {d} (UTC)")),
        );
        if n > 20 {
            problems.push(format!("… and {} more weeks", n - 20));
        }
    }
    Ok(problems)
}
