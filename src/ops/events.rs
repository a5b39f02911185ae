//! 05f.02 event management: job events in, idempotently; per-policy state,
//! daily rollups and corrective tickets follow in the same transaction.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;

use anyhow::{Context, Result};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;

use crate::domain::automation::{PolicyState, Step};
use crate::domain::event::{redelivery, NewEvent, Operation, Redelivery, RunKey, Status};
use crate::domain::time::{from_unix, rfc3339, DaySpan};
use crate::error::rejected;
use crate::ingest::neutral::{self, InputFormat};
use crate::ingest::{Rejection, ToolRun};
use crate::ops::correct::{self, Subject, TicketCounts};
use crate::ops::late::{self, LateRun};
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::{clients, policies, running, Store};

/// Events written per transaction in bulk imports (DESIGN: Storage).
pub const BATCH: usize = 10_000;

/// What an ingestion did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub read: usize,
    pub new: usize,
    pub duplicate: usize,
    pub unmatched: usize,
    pub rejected: usize,
    /// Runs dated past now + `ingest.max_future`: held as clock skew, not applied.
    pub held: usize,
    /// Known runs re-delivered with other facts: the stored run is kept.
    pub conflicting: usize,
    /// Runs on days `db prune` removed: their counts are in the rollups already.
    pub pruned: usize,
    /// Start records of runs still going (neutral `"status": "running"`).
    pub running: usize,
    /// History: windows of the span the file covers with no run, recorded
    /// as missed (not in `new`).
    pub missed: usize,
    #[serde(flatten)]
    pub tickets: TicketCounts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pending {
    /// Its policy (also in the subject beside it: here the sort reads it
    /// without a pointer chase).
    policy_id: i64,
    /// Its place among the batch's runs: equal times keep the input's order.
    seq: u32,
    at: i64,
    ended: i64,
    status: Status,
    check: bool,
    message: Option<Box<str>>,
}

impl Pending {
    /// What a ticket's work log says about this run (made only when needed).
    fn detail(&self) -> String {
        format!(
            "{} {} at {}{}",
            if self.check { "check" } else { "backup" },
            self.status.as_str(),
            rfc3339(self.at),
            self.message
                .as_deref()
                .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
                .unwrap_or_default()
        )
    }
}

/// An event checked and keyed, waiting in [`Ingestor::add_all`] for its insert.
struct Ready<'e> {
    ev: &'e NewEvent,
    tz: Tz,
    subject: Option<Rc<Subject>>,
    row: events::Insert<'e>,
}

impl Default for Ingestor {
    fn default() -> Self {
        Ingestor::new()
    }
}

/// The ingestor's maps are hashed per event: FNV-1a over a few bytes is
/// several times cheaper than std's DoS-resistant SipHash, and their keys
/// come from the operator's own plan and files.
type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn write_i64(&mut self, v: i64) {
        // one multiply-xorshift per integer key
        let h = (self.0 ^ v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

/// Streams events into the database; call [`Ingestor::flush`] before each
/// commit. Caches clients and policies across batches.
pub struct Ingestor {
    clients: FastMap<String, Option<(i64, Tz)>>,
    sources: FastMap<String, i64>,
    /// Per client: its active policies by job.
    policies: FastMap<i64, Rc<Jobs>>,
    /// The previous event's client and its jobs: `events import` sorts each
    /// window by client, so most events repeat it (two map look-ups saved).
    last: Option<LastClient>,
    /// The runs added since the last flush (sorted by policy and time there).
    pending: Vec<(Rc<Subject>, Pending)>,
    /// The newest day of any event, read once per transaction when a
    /// neighbouring-day look-up is first due (a writer between two batches
    /// may add events), then raised by each insert.
    newest_day: Option<i64>,
    /// Per policy: its state as this ingestor last wrote it.
    states: FastMap<i64, PolicyState>,
    /// `PRAGMA data_version` when the caches were last known good: another
    /// connection's commit changes it, and then every cache is read again.
    data_version: Option<i64>,
    rollups: FastMap<(i64, i64), Rollup>,
    /// Per client: the local day of its last event (its rollup key).
    days: FastMap<i64, DaySpan>,
    /// A history import's newest new runs per policy: what
    /// [`Ingestor::finish_history`] judges. `None`: a live import, whose
    /// every run goes through the ticket automation.
    history: Option<FastMap<i64, Newest>>,
    /// The latest instant a run may carry to be applied (now + max_future).
    limit: i64,
    /// `ingest.max_future` (for messages).
    slack: i64,
    /// `ingest.same_run_skew`.
    skew: i64,
    /// The newest end among events stored with legacy keys (schema < 14),
    /// read once: a run that ended by then may be stored under its legacy key.
    legacy_until: Option<Option<i64>>,
    /// The newest `db prune` bound, read once.
    pruned_before: Option<Option<i64>>,
    /// Conflicting re-deliveries since the last flush, for the audit log.
    conflict_rows: Vec<crate::store::audit::Entry>,
    /// The policies that may have an open corrective ticket or incident
    /// (a superset), read once and kept while no other process writes.
    with_open: Option<std::collections::HashSet<i64>>,
    /// What the events written since the last flush did to the digests.
    digests: crate::store::digests::Delta,
    /// Start records of runs still going since the last flush: (policy,
    /// client, start, source).
    starts: Vec<(Rc<Subject>, i64, i64)>,
    /// A history import's span per client: (earliest start, newest end).
    spans: FastMap<i64, (i64, i64, Tz)>,
    /// `events import --history --from T`: where its span starts.
    history_from: Option<i64>,
    pub summary: Summary,
}

/// The newest backup run and check of a policy that a history import wrote.
struct Newest {
    subject: Rc<Subject>,
    // boxed: a large MSP's 50,000 entries stay a small table
    backup: Option<Box<Pending>>,
    check: Option<Box<Pending>>,
}

/// A client's active policies by job.
type Jobs = FastMap<Rc<str>, Rc<Subject>>;

struct LastClient {
    code: String,
    client: Option<(i64, Tz)>,
    jobs: Option<Rc<Jobs>>,
}

impl Ingestor {
    pub fn new() -> Ingestor {
        Ingestor {
            clients: FastMap::default(),
            sources: FastMap::default(),
            policies: FastMap::default(),
            last: None,
            pending: Vec::new(),
            newest_day: None,
            states: FastMap::default(),
            data_version: None,
            rollups: FastMap::default(),
            days: FastMap::default(),
            history: None,
            limit: i64::MAX,
            slack: 0,
            skew: 3600,
            legacy_until: None,
            pruned_before: None,
            conflict_rows: Vec::new(),
            digests: Default::default(),
            with_open: None,
            starts: Vec::new(),
            spans: FastMap::default(),
            history_from: None,
            summary: Summary::default(),
        }
    }

    /// Hold runs dated later than `ctx`'s now plus `ingest.max_future`: a
    /// clock ahead of the MSP's must not move a policy's state past now (its
    /// every real run after would be "late", and nothing would open again).
    pub fn holding_future(mut self, ctx: &Ctx) -> Ingestor {
        self.limit = ctx.now.timestamp().saturating_add(ctx.rules.max_future_s);
        self.slack = ctx.rules.max_future_s;
        self.skew = ctx.rules.same_run_skew_s;
        self
    }

    /// An ingestor of past runs (`events import --history`): each new run
    /// is stored, counted in the rollups and moves its policy's state, and
    /// no ticket is touched until [`Ingestor::finish_history`].
    pub fn for_history() -> Ingestor {
        Ingestor {
            history: Some(FastMap::default()),
            ..Ingestor::new()
        }
    }

    /// A history import whose span starts at `from` (not at each client's
    /// earliest run).
    pub fn from(mut self, from: Option<i64>) -> Ingestor {
        self.history_from = from;
        self
    }

    /// Call at the start of each write transaction: when another connection
    /// has committed since the last one (a `check`, a `run`, a person), the
    /// cached clients, policies, sources and states are dropped and read
    /// again. So the ids the ingestor inserts are ones this transaction has
    /// seen, and the state it writes back starts from the stored one.
    /// After an error of [`Ingestor::add`], [`Ingestor::add_all`] or
    /// [`Ingestor::flush`] the caches are dropped too: their transaction
    /// will not commit, and what it created or changed goes with it.
    pub fn begin(&mut self, conn: &Connection) -> Result<()> {
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if self.data_version != Some(version) {
            self.forget();
            self.data_version = Some(version);
        }
        Ok(())
    }

    fn forget(&mut self) {
        self.clients.clear();
        self.sources.clear();
        self.policies.clear();
        self.last = None;
        self.states.clear();
        self.days.clear();
        self.digests = Default::default();
        self.with_open = None;
        self.data_version = None;
    }

    /// `done`, and on an error the caches forgotten (see [`Ingestor::begin`]).
    fn or_forget<T>(&mut self, done: Result<T>) -> Result<T> {
        if done.is_err() {
            self.forget();
        }
        done
    }

    fn client(&mut self, conn: &Connection, code: &str) -> Result<Option<(i64, Tz)>> {
        if let Some(last) = self.last.as_ref().filter(|l| l.code == code) {
            return Ok(last.client);
        }
        let c = match self.clients.get(code) {
            Some(c) => *c,
            None => {
                let c = clients::find(conn, code)?.map(|c| (c.id, c.tz()));
                self.clients.insert(code.to_string(), c);
                c
            }
        };
        self.last = Some(LastClient {
            code: code.to_string(),
            client: c,
            jobs: None,
        });
        Ok(c)
    }

    fn policy(
        &mut self,
        conn: &Connection,
        client_id: i64,
        client: &str,
        job: &str,
    ) -> Result<Option<Rc<Subject>>> {
        let last = self
            .last
            .as_mut()
            .filter(|l| l.client.is_some_and(|(id, _)| id == client_id));
        if let Some(jobs) = last.as_ref().and_then(|l| l.jobs.as_ref()) {
            return Ok(jobs.get(job).cloned());
        }
        let jobs = match self.policies.entry(client_id) {
            Entry::Occupied(known) => known.into_mut(),
            // The first event of a client reads all its active policies at once.
            Entry::Vacant(slot) => {
                let sla_tier: Rc<str> = clients::get_by_id(conn, client_id)?.sla_tier.into();
                let client: Rc<str> = client.into();
                let jobs = policies::active_keys(conn, client_id)?
                    .into_iter()
                    .map(|(job, policy_id, ci_id, tier, grace_s, rpo_s, ci)| {
                        let job: Rc<str> = job.into();
                        let subject = Subject {
                            client_id,
                            client: client.clone(),
                            sla_tier: sla_tier.clone(),
                            policy_id,
                            ci_id,
                            ci: ci.into(),
                            tier,
                            job: job.clone(),
                            grace_s,
                            rpo_s,
                        };
                        (job, Rc::new(subject))
                    })
                    .collect();
                slot.insert(Rc::new(jobs))
            }
        };
        let found = jobs.get(job).cloned();
        if let Some(last) = last {
            last.jobs = Some(jobs.clone());
        }
        Ok(found)
    }

    /// Record one event (a duplicate is counted and otherwise ignored).
    pub fn add(&mut self, conn: &Connection, ev: &NewEvent) -> Result<()> {
        self.add_all(
            conn,
            &mut *conn.prepare_cached(events::INSERT)?,
            std::iter::once(ev),
        )
    }

    /// Record events in the order given (a duplicate is counted and
    /// otherwise ignored), with the one-row insert prepared by the caller
    /// (once per batch, on the hot path of bulk imports). Events are written
    /// [`events::ROWS_PER_INSERT`] to a statement; a statement that meets a
    /// known key is undone and its rows are written one by one.
    pub fn add_all<'e>(
        &mut self,
        conn: &Connection,
        insert: &mut rusqlite::Statement<'_>,
        evs: impl IntoIterator<Item = &'e NewEvent>,
    ) -> Result<()> {
        let added = self.add_each(conn, insert, evs);
        self.or_forget(added)
    }

    /// Count a run from the future and say why it was not applied.
    fn hold(&mut self, ev: &NewEvent, ahead: i64) {
        self.summary.held += 1;
        if self.summary.holds.len() < MAX_REPORTED {
            let at = crate::domain::time::rfc3339(ev.ended_at);
            self.summary.holds.push(format!(
                "clock skew: {}/{} (source {}) ended {at}, {} ahead of this host's clock (ingest.max_future is {}); held, not applied: fix the sending host's clock, then import again",
                ev.client,
                ev.job,
                ev.source,
                crate::domain::time::format_age(ahead + self.slack),
                crate::domain::time::format_duration(self.slack),
            ));
        }
    }

    fn add_each<'e>(
        &mut self,
        conn: &Connection,
        insert: &mut rusqlite::Statement<'_>,
        evs: impl IntoIterator<Item = &'e NewEvent>,
    ) -> Result<()> {
        let mut ready: Vec<Ready<'e>> = Vec::with_capacity(events::ROWS_PER_INSERT);
        for ev in evs {
            if let Some(r) = self.prepare(conn, &ready, ev)? {
                ready.push(r);
                if ready.len() == events::ROWS_PER_INSERT {
                    self.insert_ready(conn, insert, &mut ready)?;
                }
            }
        }
        self.insert_ready(conn, insert, &mut ready)
    }

    /// Check an event and key it; `None` when it is known under a
    /// neighbouring day's key, in the table or among the events `ready` to
    /// be written before it.
    fn prepare<'e>(
        &mut self,
        conn: &Connection,
        ready: &[Ready<'e>],
        ev: &'e NewEvent,
    ) -> Result<Option<Ready<'e>>> {
        self.summary.read += 1;
        if let Some(ahead) = ev.ahead_of(self.limit) {
            self.hold(ev, ahead);
            return Ok(None);
        }
        let Some((client_id, tz)) = self.client(conn, &ev.client)? else {
            return Err(rejected(format!(
                "client: unknown client '{}'; onboard it with `bmctl plan import` first",
                ev.client
            )));
        };
        if self.pruned_before(conn)?.is_some_and(|b| ev.ended_at < b)
            && events::pruned_day(conn, client_id, ev.ended_at.div_euclid(86_400))?
        {
            self.summary.pruned += 1;
            return Ok(None);
        }
        let subject = self.policy(conn, client_id, &ev.client, &ev.job)?;
        if ev.operation == Operation::Start {
            // held apart from the runs; applied at the flush, after the
            // terminal records that may replace them
            match &subject {
                Some(s) => {
                    let source_id = self.source(conn, &ev.source)?;
                    self.starts.push((Rc::clone(s), ev.at(), source_id));
                }
                None => self.summary.unmatched += 1,
            }
            return Ok(None);
        }
        let unmatched_id = match subject {
            Some(_) => None,
            None => Some(events::unmatched_job(conn, client_id, &ev.job, ev.at())?),
        };
        let RunKey { xid, xkind, xh } = ev.key();
        // A tool's id may have been seen under the neighbouring day (a run's
        // start and end, or two clocks, on either side of midnight).
        // A key of a day after the newest cannot be there: in time-ordered
        // input the next day's key never is, and needs no look-up.
        let mut neighbours: Vec<(i64, i64)> = if xkind == 0 {
            Vec::new()
        } else {
            ev.neighbour_keys(xid)
                .into_iter()
                .map(|k| (k, xh))
                .collect()
        };
        // A run that ended before the upgrade may be stored under its legacy key.
        if self
            .legacy_until(conn)?
            .is_some_and(|until| ev.at() <= until)
        {
            let (lxid, lkind) = ev.legacy_key();
            let mut legacy = vec![lxid];
            if lkind != 0 {
                legacy.extend(ev.neighbour_keys(lxid));
            }
            let policy_id = subject.as_ref().map(|s| s.policy_id);
            if events::legacy_key_exists(conn, client_id, &legacy, policy_id, unmatched_id)? {
                self.summary.duplicate += 1;
                return Ok(None);
            }
        }
        if !neighbours.is_empty() {
            let stored = match self.newest_day {
                Some(day) => day,
                None => *self.newest_day.insert(events::newest_day(conn)?),
            };
            let waiting = ready.iter().map(|r| r.row.xid >> 32).max();
            let newest = waiting.map_or(stored, |day| day.max(stored));
            neighbours.retain(|&(k, _)| k >> 32 <= newest);
        }
        // the events not yet written are looked at where they wait
        let known = !neighbours.is_empty()
            && (ready.iter().any(|r| {
                r.row.client_id == client_id && neighbours.contains(&(r.row.xid, r.row.xh))
            }) || events::any_key_exists(conn, client_id, &neighbours)?);
        if known {
            self.summary.duplicate += 1;
            return Ok(None);
        }
        let source_id = self.source(conn, &ev.source)?;
        let snapshot = ev
            .snapshot
            .as_deref()
            .filter(|s| Some(*s) != ev.external_id.as_deref());
        let row = events::Insert {
            client_id,
            policy_id: subject.as_ref().map(|s| s.policy_id),
            unmatched_id,
            check: ev.operation == Operation::Check,
            status: ev.status.code(),
            started_at: ev.started_at,
            ended_at: ev.ended_at,
            bytes: ev.bytes,
            files: ev.files,
            source_id,
            xid,
            xh,
            xkind,
            ext_text: if xkind == -1 {
                ev.external_id.as_deref()
            } else {
                None
            },
            snapshot,
            message: ev.message.as_deref(),
        };
        Ok(Some(Ready {
            ev,
            tz,
            subject,
            row,
        }))
    }

    fn source(&mut self, conn: &Connection, name: &str) -> Result<i64> {
        Ok(match self.sources.get(name) {
            Some(id) => *id,
            None => {
                let id = events::source_id(conn, name)?;
                self.sources.insert(name.to_string(), id);
                id
            }
        })
    }

    /// Write the events in `ready` (a full buffer in one statement when none
    /// of its keys is known) and apply what each new one means.
    fn insert_ready(
        &mut self,
        conn: &Connection,
        insert: &mut rusqlite::Statement<'_>,
        ready: &mut Vec<Ready<'_>>,
    ) -> Result<()> {
        if ready.is_empty() {
            return Ok(());
        }
        let all_new = ready.len() == events::ROWS_PER_INSERT
            && events::insert_all_new(conn, ready.iter().map(|r| &r.row))?;
        for r in ready.drain(..) {
            let new = all_new || events::insert_with(insert, &r.row)?;
            if new {
                self.record(r);
            } else {
                self.redelivered(conn, &r)?;
            }
        }
        Ok(())
    }

    /// The newest `db prune` bound (read once).
    fn pruned_before(&mut self, conn: &Connection) -> Result<Option<i64>> {
        if let Some(b) = self.pruned_before {
            return Ok(b);
        }
        let b = crate::store::meta::get_i64(conn, events::PRUNED_BEFORE)?;
        self.pruned_before = Some(b);
        Ok(b)
    }

    /// The newest end among legacy-keyed events (read once).
    fn legacy_until(&mut self, conn: &Connection) -> Result<Option<i64>> {
        if let Some(until) = self.legacy_until {
            return Ok(until);
        }
        let until = crate::store::meta::get_i64(conn, "legacy_keys_until")?
            // a run's legacy key may be a neighbouring day's
            .map(|t| t + 2 * 86_400);
        self.legacy_until = Some(until);
        Ok(until)
    }

    /// A known key again: the same run merged (missing fields filled), or
    /// other facts reported and the stored run kept.
    fn redelivered(&mut self, conn: &Connection, r: &Ready<'_>) -> Result<()> {
        let row = &r.row;
        let Some(stored) = events::stored_run(conn, row.client_id, row.xid, row.xh)? else {
            self.summary.duplicate += 1;
            return Ok(());
        };
        match redelivery(
            (stored.status, stored.started_at, stored.ended_at),
            r.ev,
            self.skew,
        ) {
            Redelivery::Same => {
                self.summary.duplicate += 1;
                if stored.lacks_any_of(row) {
                    use crate::store::digests::stored_digest;
                    let old = stored_digest(conn, row.client_id, row.xid, row.xh)?;
                    events::fill_missing(conn, row.client_id, row.xid, row.xh, row)?;
                    let new = stored_digest(conn, row.client_id, row.xid, row.xh)?;
                    if let (Some(o), Some(n)) = (old, new) {
                        self.digests.rewritten(row.client_id, row.xid >> 32, o, n);
                    }
                }
            }
            Redelivery::Differs(why) => {
                self.summary.conflicting += 1;
                let what = format!(
                    "{}/{} run {} (source {}): {why}; the stored run was kept",
                    r.ev.client,
                    r.ev.job,
                    r.ev.external_id.as_deref().unwrap_or("without an id"),
                    r.ev.source
                );
                self.conflict_rows.push(crate::store::audit::Entry {
                    entity_id: format!("{}/{}", r.ev.client, r.ev.job),
                    before: None,
                    after: Some(serde_json::json!({ "conflict": what }).to_string()),
                });
                if self.summary.conflicts.len() < MAX_REPORTED {
                    self.summary.conflicts.push(what);
                }
            }
        }
        Ok(())
    }

    /// Count a new event, add it to the rollups and the runs that the next
    /// flush applies.
    fn record(&mut self, r: Ready<'_>) {
        let Ready {
            ev,
            tz,
            subject,
            row,
        } = r;
        let client_id = row.client_id;
        self.summary.new += 1;
        self.digests.added(&crate::store::digests::Fields::of(&row));
        if let Some(newest) = self.newest_day.as_mut() {
            *newest = (*newest).max(row.xid >> 32);
        }
        if self.history.is_some()
            && ev.operation == Operation::Backup
            && ev.status != Status::Missed
        {
            let span = self
                .spans
                .entry(client_id)
                .or_insert((ev.at(), ev.ended_at, tz));
            span.0 = span.0.min(ev.at());
            span.1 = span.1.max(ev.ended_at);
        }
        if ev.operation == Operation::Backup && ev.status != Status::Missed {
            let at = ev.at();
            let day = self
                .days
                .entry(client_id)
                .or_insert_with(|| DaySpan::of(at, tz))
                .local_day(at, tz);
            let r = self.rollups.entry((client_id, day)).or_default();
            r.runs += 1;
            r.bytes += ev.bytes.unwrap_or(0);
            match ev.status {
                Status::Success => r.runs_success += 1,
                Status::Warning => r.runs_warning += 1,
                _ => r.runs_failed += 1,
            }
        }
        match subject {
            None => self.summary.unmatched += 1,
            Some(s) => {
                let check = ev.operation == Operation::Check;
                let policy_id = s.policy_id;
                self.pending.push((
                    s,
                    Pending {
                        policy_id,
                        seq: self.pending.len() as u32,
                        at: ev.at(),
                        ended: ev.ended_at,
                        status: ev.status,
                        check,
                        message: if ev.status == Status::Success {
                            None
                        } else {
                            ev.message.as_deref().map(Box::from)
                        },
                    },
                ));
            }
        }
    }

    /// Apply what the added events mean: rollups, per-policy state, tickets.
    pub fn flush(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        let applied = self.apply(conn, ctx);
        self.or_forget(applied)
    }

    fn apply(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        self.newest_day = None;
        if !self.conflict_rows.is_empty() {
            let rows = std::mem::take(&mut self.conflict_rows);
            crate::store::audit::append(conn, &ctx.who(), "run", rows)?;
        }
        crate::store::digests::commit(conn, &ctx.who(), &mut self.digests)?;
        let mut rollups: Vec<_> = self.rollups.drain().collect();
        events::rollups_add(conn, &mut rollups)?;
        let rules = &ctx.rules;
        // A history import touches no ticket until its end.
        let mut auto = None;
        // read once per import, not per batch
        let mut with_open = match (self.history.is_some(), self.with_open.take()) {
            (true, _) => None,
            (false, Some(known)) => Some(known),
            (false, None) => Some(crate::store::tickets::policies_with_open(conn)?),
        };
        let mut maybe_open = Vec::new();
        // Each policy's runs in time order, sorted in place (no scratch copy).
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by_key(|(_, r)| (r.policy_id, r.at, r.ended, r.seq));
        let by_policy = || pending.chunk_by(|a, b| a.1.policy_id == b.1.policy_id);
        let mut written = Vec::with_capacity(by_policy().count());
        // The states this ingestor does not hold yet, read 100 at a time;
        // when they are many (a fresh process's first batch), the whole
        // table in one pass is cheaper than a seek each.
        let missing: Vec<i64> = by_policy()
            .map(|runs| runs[0].1.policy_id)
            .filter(|id| !self.states.contains_key(id))
            .collect();
        read_states(conn, &missing, STATES_IN_ONE_PASS, &mut self.states)?;
        let mut late_rollups = Vec::new();
        // runs still going: a terminal record of this batch replaces its start
        let going = running::keys(conn)?;
        let mut touched_running = Vec::new();
        for runs in by_policy() {
            let subject = &runs[0].0;
            let policy_id = subject.policy_id;
            let st = match self.states.entry(policy_id) {
                Entry::Occupied(held) => held.into_mut(),
                Entry::Vacant(slot) => slot.insert(policies::state(conn, policy_id)?),
            };
            // runs older than the newest, or in a window `check` closed
            let mut late = Vec::new();
            // `Some((hung, pending))`: the run replaced its start record, whose
            // window `check` had counted as hung, or passed by uncounted
            let mut ended_start = |r: &Pending| -> Result<Option<(bool, bool)>> {
                if r.check || r.status == Status::Missed || !going.contains(&(policy_id, r.at)) {
                    return Ok(None);
                }
                touched_running.push(policy_id);
                Ok(running::end(conn, policy_id, r.at)?
                    .map(|(hung, pending)| (hung.is_some(), pending.is_some())))
            };
            let mut note_late =
                |st: &PolicyState, r: &Pending, step: Step, ended: Option<(bool, bool)>| {
                    let hung = ended.is_some_and(|e| e.0);
                    let pending = ended.is_some_and(|e| e.1);
                    let older = matches!(step, Step::Late);
                    // (`check`'s own missed events close windows, they do not re-judge them)
                    if r.status == Status::Missed && !older {
                        return;
                    }
                    if older
                        || ended.is_some()
                        || st
                            .checked_until
                            .is_some_and(|c| r.at <= c + subject.grace_s)
                    {
                        late.push(LateRun {
                            at: r.at,
                            ended: r.ended,
                            status: r.status,
                            hung,
                            pending,
                            replaced_start: ended.is_some(),
                            start: false,
                        });
                    }
                };
            if let Some(newest) = self.history.as_mut() {
                // History: the state moves, tickets wait for the end (see
                // `Ingestor::finish_history`).
                let (mut backup, mut check) = (None, None);
                for (_, r) in runs {
                    if r.check {
                        check = Some(r);
                        continue;
                    }
                    let ended = ended_start(r)?;
                    let restore_point = st.last_success_at;
                    let step = st.apply_run(r.at, r.status);
                    note_late(st, r, step, ended);
                    if let Some(gap) =
                        late::breach(subject, restore_point, r.at, step.is_restore_point())
                    {
                        late::gap_closed(conn, ctx, subject, gap, None)?;
                    }
                    if !matches!(step, Step::Late) {
                        backup = Some(r);
                    }
                }
                if !late.is_empty() {
                    late::rejudge(conn, ctx, subject, &late, st, None, &mut late_rollups)?;
                }
                if backup.is_some() || check.is_some() {
                    let held = newest.entry(policy_id).or_insert_with(|| Newest {
                        subject: Rc::clone(subject),
                        backup: None,
                        check: None,
                    });
                    if let Some(r) = backup {
                        keep(&mut held.backup, r);
                    }
                    // a window's checks may be older than an earlier window's
                    if let Some(r) =
                        check.filter(|r| held.check.as_ref().is_none_or(|c| r.at >= c.at))
                    {
                        keep(&mut held.check, r);
                    }
                }
                written.push((policy_id, *st));
                continue;
            }
            let auto = auto.get_or_insert_with(|| correct::Auto::new(conn, ctx));
            // Most policies have no open ticket: then good news needs no ticket query.
            let mut has_open = with_open.as_ref().is_some_and(|w| w.contains(&policy_id));
            for (_, r) in runs {
                if r.check {
                    match r.status {
                        Status::Failed | Status::Missed => {
                            auto.raise_with(subject, "integrity", r.at, &r.detail(), has_open)?;
                            has_open = true;
                        }
                        _ if has_open => {
                            auto.recover(subject, &["integrity"], r.at, &r.detail())?
                        }
                        _ => {}
                    }
                    continue;
                }
                let ended = ended_start(r)?;
                let restore_point = st.last_success_at;
                let step = st.apply_run(r.at, r.status);
                note_late(st, r, step, ended);
                if let Some(gap) =
                    late::breach(subject, restore_point, r.at, step.is_restore_point())
                {
                    late::gap_closed(conn, ctx, subject, gap, Some(&mut *auto))?;
                    has_open = true;
                }
                if has_open {
                    if let Some(classes) = cleared(step) {
                        // a hang's end is re-judged as late data (principle 3)
                        let classes: Vec<&str> = classes
                            .into_iter()
                            .filter(|c| ended.is_none() || *c != "hung")
                            .collect();
                        auto.run_ended(r.ended)
                            .recover(subject, &classes, r.at, &r.detail())?;
                    }
                }
                if let Some(p) = problem(step, r, rules) {
                    let id = auto
                        .run_ended(r.ended)
                        .raise_with(subject, p.class, r.at, &p.detail, has_open)?;
                    has_open = true;
                    if let Some(why) = p.escalate {
                        auto.escalate(id, &why)?;
                    }
                }
            }
            if !late.is_empty() {
                late::rejudge(conn, ctx, subject, &late, st, Some(auto), &mut late_rollups)?;
                has_open = true;
            }
            if has_open {
                maybe_open.push(policy_id);
            }
            written.push((policy_id, *st));
        }
        pending.clear();
        // its room is reused by the next batch
        self.pending = pending;
        for (subject, start, source_id) in std::mem::take(&mut self.starts) {
            let (policy_id, client_id) = (subject.policy_id, subject.client_id);
            // a start record after its run's end (a spool replayed out of order) is history
            if events::run_started_at(conn, client_id, policy_id, start)? {
                continue;
            }
            touched_running.push(policy_id);
            if !running::insert(conn, policy_id, client_id, start, source_id)? {
                continue;
            }
            self.summary.running += 1;
            let st = match self.states.entry(policy_id) {
                Entry::Occupied(held) => held.into_mut(),
                Entry::Vacant(slot) => slot.insert(policies::state(conn, policy_id)?),
            };
            // learned of after `check` closed its window
            if st
                .checked_until
                .is_some_and(|c| start <= c + subject.grace_s)
            {
                let late = [LateRun {
                    at: start,
                    ended: start,
                    status: Status::Failed,
                    hung: false,
                    pending: false,
                    replaced_start: false,
                    start: true,
                }];
                let auto = match self.history {
                    Some(_) => None,
                    None => Some(auto.get_or_insert_with(|| correct::Auto::new(conn, ctx))),
                };
                late::rejudge(conn, ctx, &subject, &late, st, auto, &mut late_rollups)?;
                maybe_open.push(policy_id);
            }
        }
        touched_running.sort_unstable();
        touched_running.dedup();
        for policy_id in touched_running {
            let st = match self.states.entry(policy_id) {
                Entry::Occupied(held) => held.into_mut(),
                Entry::Vacant(slot) => slot.insert(policies::state(conn, policy_id)?),
            };
            st.running_since = running::earliest(conn, policy_id)?;
            match written.iter_mut().find(|(id, _)| *id == policy_id) {
                Some(w) => w.1 = *st,
                None => written.push((policy_id, *st)),
            }
        }
        // Nothing above reads a policy's state back: all are written at once.
        policies::set_states(conn, &written)?;
        if !late_rollups.is_empty() {
            events::rollups_add(conn, &mut late_rollups)?;
        }
        if let Some(auto) = auto {
            self.summary.tickets.add(auto.finish()?);
        }
        if let Some(w) = with_open.as_mut() {
            w.extend(maybe_open);
        }
        self.with_open = with_open;
        Ok(())
    }

    /// End a history import (call in its last transaction): each policy
    /// whose newest run is one this import wrote gets what that run does
    /// in a live import. A failed or missed run (escalated after
    /// `escalate_after` in a row), `warnings_before` warnings in a row or a
    /// failed integrity check raise their ticket, unless one of its class
    /// is open; a good run recovers the open tickets it clears. Problems a
    /// later run of the import cleared get no ticket.
    pub fn finish_history(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        let done = self
            .close_history_span(conn, ctx)
            .and_then(|_| self.judge_history(conn, ctx));
        self.or_forget(done)
    }

    /// Close the windows of the span a history import covers that no
    /// `check` can: per client, from `--from` (else the local midnight of its
    /// earliest run) to each policy's creation (`check` closes the windows
    /// after it). A window with no run is a missed event, counted.
    /// Each policy remembers how far back it is closed (`expected_from`): the
    /// same file again closes nothing twice.
    fn close_history_span(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        let spans: Vec<_> = self.spans.drain().collect();
        let now = ctx.ts();
        let mut rollups: Vec<((i64, i64), Rollup)> = Vec::new();
        let mut missed = Vec::new();
        let in_force = crate::store::pauses::list(conn, i64::MIN / 4, now + 1, false)?;
        let excluded = crate::store::exclusions::keys(conn)?;
        let mut runs = events::ClientRuns::default();
        for (client_id, (earliest, _newest_end, tz)) in spans {
            let from = match self.history_from {
                Some(f) => f,
                None => crate::domain::time::local_midnight(
                    crate::domain::time::day_date(crate::domain::time::local_day(earliest, tz)),
                    tz,
                )?
                .timestamp(),
            };
            let code = clients::get_by_id(conn, client_id)?.code;
            let policies = policies::occurring(conn, Some(client_id))?;
            // the client's runs of the whole span, read once
            if let Some(upper) = policies.iter().map(|p| p.created_at).max() {
                // (a weekly window reaches a week back, a long runtime ahead)
                runs.preload(conn, client_id, from - 8 * 86_400, upper + 8 * 86_400)?;
            }
            for p in policies {
                let Ok(schedule) = crate::domain::policy::Schedule::parse_cached(&p.schedule)
                else {
                    continue;
                };
                if !p.active {
                    continue;
                }
                // up to the creation: `check` closes what follows, and a
                // window of neither would be counted by no one
                let upper = p.created_at;
                let stop = p.expected_from.map_or(upper, |e| upper.min(e - 1));
                if from > stop {
                    continue;
                }
                let max_runtime = p.max_runtime_s.unwrap_or(ctx.rules.default_max_runtime_s);
                let occ = schedule.occurrences(from_unix(from - 1), from_unix(stop), tz);
                let mut prev = occ
                    .first()
                    .and_then(|t| schedule.prev_before(*t, tz))
                    .map(|t| t.timestamp());
                for tk in occ.iter().map(|t| t.timestamp()) {
                    let lo = prev.map_or(i64::MIN / 2, |t| t + p.grace_s);
                    let hi = tk + p.grace_s;
                    prev = Some(tk);
                    let paused = in_force
                        .iter()
                        .any(|pa| pa.applies_to(p.client_id, p.ci_id, p.id) && pa.covers(tk));
                    if paused || excluded.contains(&(p.id, tk)) {
                        continue;
                    }
                    let best = runs
                        .best_in_window(conn, client_id, p.id, lo, hi, max_runtime.max(86_400))?
                        .filter(|s| *s != Status::Missed);
                    let outcome = best.unwrap_or(Status::Missed);
                    if outcome == Status::Missed {
                        missed.push(NewEvent::missed(
                            &code,
                            &policies::job_of(conn, p.id)?,
                            hi,
                            format!(
                                "no run between {} and {} (history)",
                                rfc3339(lo),
                                rfc3339(hi)
                            ),
                        ));
                    }
                    let mut r = Rollup {
                        expected: 1,
                        ..Rollup::default()
                    };
                    r.outcome(outcome, 1);
                    rollups.push(((client_id, crate::domain::time::local_day(tk, tz)), r));
                }
                policies::set_expected_from(conn, p.id, from)?;
            }
        }
        let new = self.summary.new;
        let read = self.summary.read;
        for ev in &missed {
            self.add(conn, ev)?;
        }
        self.summary.missed += self.summary.new - new;
        (self.summary.new, self.summary.read) = (new, read);
        self.apply(conn, ctx)?;
        events::rollups_add(conn, &mut rollups)?;
        Ok(())
    }

    fn judge_history(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        let Some(newest) = self.history.as_mut() else {
            return Ok(());
        };
        let mut newest: Vec<_> = newest.drain().collect();
        newest.sort_unstable_by_key(|(id, _)| *id);
        let with_open = crate::store::tickets::policies_with_open(conn)?;
        let mut auto = correct::Auto::new(conn, ctx);
        for (
            policy_id,
            Newest {
                subject,
                backup,
                check,
            },
        ) in newest
        {
            let mut open = with_open.contains(&policy_id);
            let backup = match backup {
                Some(r) => {
                    let st = match self.states.get(&policy_id) {
                        Some(st) => *st,
                        None => policies::state(conn, policy_id)?,
                    };
                    // unless a newer run came another way: its tickets are live
                    (st.last_event_at == Some(r.at)).then(|| (Step::of_state(&st), r))
                }
                None => None,
            };
            let mut problems = Vec::new();
            if let Some((step, r)) = backup {
                // what it clears, as in a live import (a backfill's good runs
                // resolve what `check` raised while the runs were away)
                if let Some(classes) = cleared(step).filter(|_| open) {
                    auto.recover(&subject, &classes, r.at, &r.detail())?;
                }
                problems.extend(problem(step, &r, &ctx.rules).map(|p| (p, r)));
            }
            if let Some(r) = check {
                if matches!(r.status, Status::Failed | Status::Missed) {
                    let detail = r.detail();
                    problems.push((
                        Problem {
                            class: "integrity",
                            detail,
                            escalate: None,
                        },
                        r,
                    ));
                } else if open {
                    auto.recover(&subject, &["integrity"], r.at, &r.detail())?;
                }
            }
            for (p, r) in problems {
                let id = if open {
                    auto.ensure(&subject, p.class, r.at, &p.detail)?
                } else {
                    Some(auto.raise_with(&subject, p.class, r.at, &p.detail, false)?)
                };
                open = true;
                if let (Some(id), Some(why)) = (id, p.escalate) {
                    auto.escalate(id, &why)?;
                }
            }
        }
        self.summary.tickets.add(auto.finish()?);
        Ok(())
    }
}

/// Hold a copy of `run` in `slot`, in the box already there if any.
fn keep(slot: &mut Option<Box<Pending>>, run: &Pending) {
    match slot {
        Some(held) => (**held).clone_from(run),
        None => *slot = Some(Box::new(run.clone())),
    }
}

/// A problem a run raises, as the automation acts on it: its ticket class,
/// the work-log line, and why to escalate the ticket, if it is to be.
struct Problem {
    class: &'static str,
    detail: String,
    escalate: Option<String>,
}

/// The problem `step`, reached by run `r`, raises under `rules`.
fn problem(step: Step, r: &Pending, rules: &correct::Rules) -> Option<Problem> {
    let raise = step.problem(&rules.thresholds())?;
    Some(Problem {
        class: raise.class.as_str(),
        detail: match raise.warnings_in_a_row {
            Some(n) => format!("{n} warnings in a row; last: {}", r.detail()),
            None => r.detail(),
        },
        escalate: raise
            .escalate_after
            .map(|n| format!("{n} consecutive failed or missed runs")),
    })
}

/// The names of the problem classes a step clears (none: nothing to recover).
fn cleared(step: Step) -> Option<Vec<&'static str>> {
    let classes = step.clears();
    (!classes.is_empty()).then(|| classes.iter().map(|c| c.as_str()).collect())
}

/// A neutral file to import: where it is, what to call it in messages, how to read it.
pub struct Input<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub format: InputFormat,
    pub skip_invalid: bool,
    /// Past runs (onboarding, a backfill): see [`Ingestor::for_history`].
    pub history: bool,
    /// Where a history import's span starts (`--from`), else at each
    /// client's earliest run.
    pub history_from: Option<i64>,
}

/// Import a neutral file (JSON lines or CSV) in batches. By default one bad
/// line rejects the file and nothing is written: up to
/// [`CHECK_WHILE_WRITING`] bytes a checker thread reads the whole file while
/// the writer works, and the writer commits nothing until the checker has
/// passed it (the first transaction stays open till then, under a second at
/// that size); a larger file is checked before anything is written, so that
/// no transaction holds the write lock for long. With `skip_invalid` the
/// valid lines land and each rejected one is reported.
pub fn import(
    store: &mut Store,
    ctx: &Ctx,
    input_file: &Input<'_>,
    progress: impl FnMut(usize),
) -> Result<Summary> {
    import_checked(store, ctx, input_file, progress, CHECK_WHILE_WRITING)
}

/// [`import`], checking files of up to `check_while_writing` bytes while
/// they are written.
fn import_checked(
    store: &mut Store,
    ctx: &Ctx,
    input_file: &Input<'_>,
    mut progress: impl FnMut(usize),
    check_while_writing: u64,
) -> Result<Summary> {
    let Input {
        path: file,
        name,
        format,
        skip_invalid,
        history,
        history_from,
    } = *input_file;
    let known: HashSet<String> = clients::list(&store.conn)?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let size = std::fs::File::open(file)
        .and_then(|f| f.metadata())
        .with_context(|| format!("opening {name}"))?
        .len();
    let check_while_writing = !skip_invalid && size <= check_while_writing;
    let db_path = store.path.clone();
    let db_file = db_path.as_path();
    if !skip_invalid && !check_while_writing {
        if let Some(r) = first_problem(file, format, &known, &AtomicBool::new(false))? {
            return Err(refusal(&r, name));
        }
    }

    // The writer checkpoints rarely during a bulk import (its commits would
    // otherwise copy the same hot index pages again and again); a second
    // connection checkpoints after each commit on the other core
    // (`checkpoint_on_commit`), so the copy and its fsyncs leave the
    // writer's path.
    store
        .conn
        .pragma_update(None, "wal_autocheckpoint", 40_000)?;
    // A smaller page cache keeps the import's peak memory flat whatever the
    // input (the target is in BENCHMARKS.md).
    store
        .conn
        .pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    // The event rows refer to clients, policies, unmatched jobs and sources
    // by ids this import read or created inside its own transactions (see
    // `Ingestor::begin`), and no command deletes those rows: checking each
    // reference again costs three B-tree seeks per event. Off for the bulk
    // import only, on again below whatever happens.
    store.conn.pragma_update(None, "foreign_keys", "off")?;
    let mut ing = if history {
        Ingestor::for_history().from(history_from)
    } else {
        Ingestor::new()
    }
    .holding_future(ctx);
    let stop = AtomicBool::new(false);
    let outcome =
        std::thread::scope(|scope| -> Result<Rejected> {
            // Each commit's pages are copied into the database by a second
            // connection on the other core while the writer goes on; the
            // import's own last checkpoint has only the last batch left.
            let (committed, commits) = std::sync::mpsc::channel::<()>();
            if db_file.is_file() {
                scope.spawn(move || checkpoint_on_commit(db_file, commits));
            }
            // Strict (the default): a checker reads the whole file ahead of the
            // writer, and nothing is committed until it has passed. The writer
            // starts at once and keeps its first transaction open meanwhile.
            let checker = check_while_writing
                .then(|| scope.spawn(|| first_problem(file, format, &known, &stop)));
            let (send, receive) = std::sync::mpsc::sync_channel::<Vec<neutral::Item>>(2);
            // Used chunks go back to the reader, which frees them: freeing in the
            // thread that allocated keeps the writer off the allocator's locks.
            let (recycle, used) = std::sync::mpsc::channel::<Vec<neutral::Item>>();
            let known = &known;
            let reader = scope.spawn(move || -> Result<Rejected> {
                let input = std::fs::File::open(file)?;
                let mut lines = neutral::read(BufReader::with_capacity(1 << 20, input), format);
                let mut rejected = Rejected {
                    name: name.to_string(),
                    ..Rejected::default()
                };
                let mut window: Vec<neutral::Item> = Vec::with_capacity(WINDOW);
                loop {
                    for (line, mut item) in lines.by_ref().take(WINDOW) {
                        if let Ok(ev) = &item {
                            if !known.contains(&ev.client) {
                                item = Err(unknown_client(line, &ev.client));
                            }
                        }
                        if let Err(r) = &item {
                            rejected.note(r);
                        }
                        window.push((line, item));
                    }
                    if window.is_empty() {
                        break;
                    }
                    let last = window.len() < WINDOW;
                    // In place (no scratch copy); the line number keeps lines of
                    // one client at the same instant in file order.
                    window.sort_unstable_by(|a, b| window_order(a).cmp(&window_order(b)));
                    let mut sorted = window.drain(..);
                    loop {
                        let mut chunk = used
                            .try_recv()
                            .map(|mut v| {
                                v.clear();
                                v
                            })
                            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
                        chunk.extend(sorted.by_ref().take(CHUNK));
                        if chunk.is_empty() {
                            break;
                        }
                        if send.send(chunk).is_err() {
                            return Ok(rejected);
                        }
                    }
                    drop(sorted);
                    if last {
                        break;
                    }
                }
                drop(send);
                while used.recv().is_ok() {}
                Ok(rejected)
            });
            let mut checker = checker;
            // The strict check's verdict: its first problem, if any, is the error.
            let settle = |checker: &mut Option<ScopedJoinHandle<'_, Result<Option<Rejection>>>>| {
                match checker.take().map(|c| c.join()) {
                    None => Ok(()),
                    Some(Err(_)) => Err(anyhow::anyhow!("the checking thread failed")),
                    Some(Ok(found)) => match found? {
                        None => Ok(()),
                        Some(r) => Err(refusal(&r, name)),
                    },
                }
            };
            let written = (|| -> Result<()> {
                let mut chunks = receive.into_iter();
                let mut tx = store.write()?;
                ing.begin(&tx)?;
                loop {
                    // One batch: whole chunks up to about BATCH events, the
                    // insert prepared once, each chunk handed back when done.
                    let mut n = 0;
                    {
                        let mut insert = tx.prepare_cached(events::INSERT)?;
                        while n < BATCH {
                            let Some(chunk) = chunks.next() else { break };
                            n += chunk.len();
                            // rejected lines: reported by the checker or the reader
                            let valid = chunk.iter().filter_map(|(_, item)| item.as_ref().ok());
                            ing.add_all(&tx, &mut insert, valid)?;
                            let _ = recycle.send(chunk);
                        }
                    }
                    if n == 0 {
                        break;
                    }
                    ing.flush(&tx, ctx)?;
                    if checker.as_ref().is_some_and(|c| !c.is_finished()) {
                        continue; // not known good yet: nothing is committed
                    }
                    settle(&mut checker)?;
                    tx.commit()?;
                    let _ = committed.send(()); // a checkpointer gone: the last one does it all
                    progress(ing.summary.read);
                    tx = store.write()?;
                    ing.begin(&tx)?;
                }
                ing.finish_history(&tx, ctx)?;
                settle(&mut checker)?;
                tx.commit()?;
                Ok(())
            })();
            drop(recycle);
            drop(committed);
            if let Err(e) = written {
                // Not a bad line (the writer skips those): stop the checker, but
                // a bad line it has found already is the error to report.
                stop.store(true, Ordering::Relaxed);
                settle(&mut checker)?;
                return Err(e);
            }
            reader
                .join()
                .map_err(|_| anyhow::anyhow!("the reader thread failed"))?
        });
    store.conn.pragma_update(None, "foreign_keys", "on")?;
    store.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
    store
        .conn
        .pragma_update(None, "cache_size", crate::store::CACHE_KIB)?;
    let rejected = outcome?;
    store
        .conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    progress(ing.summary.read);
    let mut summary = ing.summary;
    summary.rejected = rejected.count;
    summary.rejections = rejected.reported;
    if rejected.count > MAX_REPORTED {
        summary.rejections.push(format!(
            "… and {} more rejected lines",
            rejected.count - MAX_REPORTED
        ));
    }
    Ok(summary)
}

/// Run a passive checkpoint on a connection of its own after each commit
/// signalled on `commits` (several waiting: one), until the sender is gone.
/// Best effort: a checkpoint that fails or finds the checkpoint lock taken
/// leaves its pages for the next one, and the import ends with its own.
fn checkpoint_on_commit(db_file: &Path, commits: std::sync::mpsc::Receiver<()>) {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(db_file, flags) else {
        return;
    };
    // as the writer's: a checkpoint syncs the database file once it is copied
    if conn.pragma_update(None, "synchronous", "normal").is_err() {
        return;
    }
    while commits.recv().is_ok() {
        while commits.try_recv().is_ok() {}
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// The largest file checked while it is written (about 1M events; the check
/// ends within a second of the start). A larger file is checked first: the
/// first transaction would hold the write lock while the check runs.
pub const CHECK_WHILE_WRITING: u64 = 256 << 20;

/// The error of a strict import that found a bad line.
fn refusal(r: &Rejection, name: &str) -> anyhow::Error {
    rejected(format!(
        "{} (nothing was written; --skip-invalid writes the valid lines)",
        r.describe(name)
    ))
}

/// Missing policy states from which a batch reads the whole state table.
const STATES_IN_ONE_PASS: usize = 2_000;

/// Add the stored states of `missing` policies to `states`: 100 to a
/// statement, or from `one_pass` on the whole table at once (the states
/// already held are kept).
fn read_states(
    conn: &Connection,
    missing: &[i64],
    one_pass: usize,
    states: &mut FastMap<i64, PolicyState>,
) -> Result<()> {
    if missing.len() >= one_pass {
        for (id, st) in policies::all_states(conn)? {
            states.entry(id).or_insert(st);
        }
    } else {
        states.extend(policies::states(conn, missing)?);
    }
    Ok(())
}

/// Rejected lines reported one by one; the rest are counted.
const MAX_REPORTED: usize = 1000;
/// Page cache of a bulk import, as SQLite's negative KiB.
const IMPORT_CACHE_KIB: i64 = -32_768;
/// Lines the reader sorts at a time, by the day the run ended, client and
/// time (the order of the events table's key), before they go to the writer
/// (a multiple of `BATCH`). In file order (typically a day of all clients)
/// every 10,000-event batch adds to the pages of every client, and each
/// batch writes all of those pages to the WAL again; sorted, a batch covers
/// a few hundred clients of a day, appended at the end of that day's range.
/// (By client first, a window of a small MSP's long history — 30 days of
/// 1,000 runs — spread each batch over 30 days' ranges.) Each policy's runs
/// still reach the writer in time order, but for runs across midnight.
const WINDOW: usize = 30_000;

/// Where a line goes in its window: rejected lines first (skipped), then by
/// the UTC day the run ended, client and the run's instant, then by line.
fn window_order(item: &neutral::Item) -> (Option<(i64, &str, i64)>, usize) {
    (
        item.1
            .as_ref()
            .ok()
            .map(|ev| (ev.ended_at.div_euclid(86_400), ev.client.as_str(), ev.at())),
        item.0,
    )
}

/// Lines handed from the reader thread to the writer at a time; a batch is
/// `BATCH / CHUNK` whole chunks (10,000 lines).
const CHUNK: usize = 1000;

/// The rejected lines of an import with `--skip-invalid`: how many, and the
/// first [`MAX_REPORTED`] described (so a file of bad lines uses no more memory).
#[derive(Default)]
struct Rejected {
    count: usize,
    reported: Vec<String>,
    name: String,
}

impl Rejected {
    fn note(&mut self, r: &Rejection) {
        self.count += 1;
        if self.reported.len() < MAX_REPORTED {
            self.reported.push(r.describe(&self.name));
        }
    }
}

fn unknown_client(line: usize, client: &str) -> Rejection {
    Rejection::new(
        line,
        "client",
        format!("unknown client '{client}'; onboard it with `bmctl plan import` first"),
    )
}

/// The first problem of a neutral file (a line that does not parse or
/// names an unknown client), read start to end; stops early when `stop` is set.
fn first_problem(
    file: &Path,
    format: InputFormat,
    known: &HashSet<String>,
    stop: &AtomicBool,
) -> Result<Option<Rejection>> {
    let input = BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    for (line, item) in neutral::read(input, format) {
        match item {
            Err(r) => return Ok(Some(r)),
            Ok(ev) if !known.contains(&ev.client) => {
                return Ok(Some(unknown_client(line, &ev.client)))
            }
            Ok(_) if line % 4096 == 0 && stop.load(Ordering::Relaxed) => return Ok(None),
            Ok(_) => {}
        }
    }
    Ok(None)
}

/// Ingest events already in memory (tool output, `run`) in one transaction.
pub fn ingest(store: &mut Store, ctx: &Ctx, evs: &[NewEvent]) -> Result<Summary> {
    let mut ing = Ingestor::new().holding_future(ctx);
    let tx = store.write()?;
    ing.begin(&tx)?;
    ing.add_all(&tx, &mut *tx.prepare_cached(events::INSERT)?, evs)?;
    ing.flush(&tx, ctx)?;
    tx.commit()?;
    Ok(ing.summary)
}

/// How a tool's runs find their policy.
pub enum Target {
    /// Every run belongs to this client's job.
    Job { client: String, job: String },
    /// Runs are matched by the client's policies' `match` rules (host, tags;
    /// for borg, an archive name starting with the host or the job name).
    Client(String),
}

/// Turn a tool's runs into events of `source`, mapped to policies.
pub fn map_tool_runs(
    conn: &Connection,
    source: &str,
    target: &Target,
    runs: Vec<ToolRun>,
    ended_default: i64,
) -> Result<Vec<NewEvent>> {
    let (client, fixed_job) = match target {
        Target::Job { client, job } => (client.clone(), Some(job.clone())),
        Target::Client(c) => (c.clone(), None),
    };
    let c = clients::get(conn, &client)?;
    let pols = policies::list(conn, c.id, false)?;
    let mut out = Vec::new();
    for r in runs {
        let job = match &fixed_job {
            Some(j) => j.clone(),
            None => {
                let found = pols.iter().find(|p| {
                    let m = &p.spec.match_rule;
                    if source == "borg" {
                        let name = r.name.as_deref().unwrap_or("");
                        let prefix = m.host.as_deref().unwrap_or(&p.spec.job);
                        p.spec.tool == "borg" && name.starts_with(prefix)
                    } else {
                        !m.is_empty()
                            && p.spec.tool == source
                            && m.host
                                .as_deref()
                                .is_none_or(|h| r.host.as_deref() == Some(h))
                            && m.tags.iter().all(|t| r.tags.contains(t))
                    }
                });
                match found {
                    Some(p) => p.spec.job.clone(),
                    // A run the plan does not know: kept as unmatched, named by what the tool said.
                    None => match (&r.name, &r.host) {
                        (Some(n), _) => n.clone(),
                        (None, Some(h)) if r.tags.is_empty() => h.clone(),
                        (None, Some(h)) => format!("{h}:{}", r.tags.join(",")),
                        (None, None) => "unknown".into(),
                    },
                }
            }
        };
        let ended = r.ended_at.or(r.started_at).unwrap_or(ended_default);
        let ev = NewEvent {
            client: client.clone(),
            job,
            operation: Operation::Backup,
            status: r.status.unwrap_or(Status::Success),
            started_at: r.started_at.filter(|s| *s <= ended),
            ended_at: ended,
            bytes: r.bytes,
            files: r.files,
            snapshot: None,
            source: source.to_string(),
            external_id: r.id,
            // a tool's message is its own text: control characters dropped
            message: r.message.map(|m| {
                m.chars()
                    .filter(|c| !c.is_control() || *c == '\n')
                    .collect()
            }),
        };
        ev.validate()
            .map_err(|(field, msg)| rejected(format!("{field}: {msg}")))?;
        out.push(ev);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at `path` with the first demo client onboarded, and a
    /// context at 2026-11-30T07:00Z.
    fn onboarded(path: &Path) -> (Store, Ctx) {
        onboarded_days_ago(path, 0)
    }

    /// The demo's first plan imported `days` before the tests' now (the
    /// returned context's): runs since are the policies' own, not history
    /// before their creation.
    fn onboarded_days_ago(path: &Path, days: i64) -> (Store, Ctx) {
        let mut store = Store::create(path, std::time::Duration::from_secs(5)).unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T07:00:00Z")
            .unwrap()
            .to_utc();
        let ctx = |now| Ctx {
            now,
            actor: "test".into(),
            command: "test".into(),
            rules: correct::Rules::default(),
        };
        let (file, plan) = crate::ops::demo::PLANS[0];
        let then = ctx(now - chrono::Duration::days(days));
        crate::ops::plan::import(&mut store, &then, plan, file, false).unwrap();
        (store, ctx(now))
    }

    /// The first policy of the onboarded client: its id and job.
    fn first_policy(store: &Store) -> (i64, String) {
        store
            .conn
            .query_row(
                "SELECT id, job FROM policies ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    /// The jobs of the onboarded client's first `n` policies.
    fn first_jobs(store: &Store, n: usize) -> Vec<String> {
        let mut stmt = store
            .conn
            .prepare("SELECT job FROM policies ORDER BY id LIMIT ?1")
            .unwrap();
        let rows = stmt.query_map([n as i64], |r| r.get(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    /// A backup run of acme's `job` that ended at `ended_at`, from a test
    /// source, with no id of its own.
    fn acme_run(job: &str, status: Status, ended_at: i64) -> NewEvent {
        NewEvent {
            client: "acme".into(),
            job: job.to_string(),
            operation: Operation::Backup,
            status,
            started_at: None,
            ended_at,
            bytes: None,
            files: None,
            snapshot: None,
            source: "test".into(),
            external_id: None,
            message: None,
        }
    }

    /// Between two batches another process changes a policy's state: the
    /// next batch starts from the stored state, not from its own copy.
    #[test]
    fn another_writer_between_batches_drops_the_cached_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bmctl.db");
        let (mut store, ctx) = onboarded(&path);
        let now = ctx.now;
        let (policy_id, job) = first_policy(&store);
        let failed =
            |hour: i64| acme_run(&job, Status::Failed, now.timestamp() - 86_400 + hour * 3600);
        let mut ing = Ingestor::new();
        let mut batch = |store: &mut Store, ev: &NewEvent| {
            let tx = store.write().unwrap();
            ing.begin(&tx).unwrap();
            ing.add(&tx, ev).unwrap();
            ing.flush(&tx, &ctx).unwrap();
            tx.commit().unwrap();
        };
        let failures = |store: &Store| {
            policies::state(&store.conn, policy_id)
                .unwrap()
                .consecutive_failures
        };
        batch(&mut store, &failed(1));
        assert_eq!(failures(&store), 1);
        batch(&mut store, &failed(2));
        assert_eq!(failures(&store), 2);
        let other = Store::open(&path, std::time::Duration::from_secs(5)).unwrap();
        other
            .conn
            .execute(
                "UPDATE policy_state SET consecutive_failures = 5 WHERE policy_id = ?1",
                [policy_id],
            )
            .unwrap();
        batch(&mut store, &failed(3));
        assert_eq!(failures(&store), 6);

        // a bulk import turns reference checks off while it writes, and on again
        let f = dir.path().join("more.jsonl");
        let line = format!(
            r#"{{"client":"acme","job":"{job}","status":"success","ended_at":"2026-11-30T05:00:00Z"}}"#
        );
        std::fs::write(&f, line + "\n").unwrap();
        let input = Input {
            path: &f,
            name: "more.jsonl",
            format: InputFormat::Jsonl,
            skip_invalid: false,
            history: false,
            history_from: None,
        };
        let summary = import(&mut store, &ctx, &input, |_| {}).unwrap();
        assert_eq!(summary.new, 1);
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(failures(&store), 0);
    }

    /// The policies with open tickets are read once per import and kept
    /// across its batches: a ticket a batch opens is recovered by the next
    /// batch's success, and one another process opens between batches is
    /// seen (its write drops the cache).
    #[test]
    fn open_tickets_known_across_batches_and_other_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bmctl.db");
        let (mut store, ctx) = onboarded(&path);
        let now = ctx.now.timestamp();
        let jobs = first_jobs(&store, 2);
        let mut ing = Ingestor::new();
        let mut batch = |store: &mut Store, ev: NewEvent| {
            let tx = store.write().unwrap();
            ing.begin(&tx).unwrap();
            ing.add(&tx, &ev).unwrap();
            ing.flush(&tx, &ctx).unwrap();
            tx.commit().unwrap();
        };
        let open = |store: &Store, job: &str| -> i64 {
            store
                .conn
                .query_row(
                    "SELECT count(*) FROM tickets t JOIN policies p ON p.id = t.policy_id
                     WHERE p.job = ?1 AND t.status = 'open'",
                    [job],
                    |r| r.get(0),
                )
                .unwrap()
        };
        batch(&mut store, acme_run(&jobs[0], Status::Failed, now - 7200));
        assert_eq!(open(&store, &jobs[0]), 1);
        batch(&mut store, acme_run(&jobs[0], Status::Success, now - 3600));
        assert_eq!(open(&store, &jobs[0]), 0, "recovered in the next batch");

        // another process's failure of the second job, between two batches
        let mut other = Store::open(&path, std::time::Duration::from_secs(5)).unwrap();
        ingest(
            &mut other,
            &ctx,
            &[acme_run(&jobs[1], Status::Failed, now - 3000)],
        )
        .unwrap();
        assert_eq!(open(&store, &jobs[1]), 1);
        batch(&mut store, acme_run(&jobs[1], Status::Success, now - 600));
        assert_eq!(
            open(&store, &jobs[1]),
            0,
            "the other writer's ticket is seen"
        );
    }

    /// A window goes to the writer in the events table's key order: by the
    /// day the run ended, then client, then time; rejected lines first.
    #[test]
    fn a_window_is_sorted_by_end_day_then_client() {
        let day = 20_000 * 86_400;
        let item = |line: usize, client: &str, ended_at: i64| -> neutral::Item {
            let ev = NewEvent {
                client: client.into(),
                ..acme_run("j", Status::Success, ended_at)
            };
            (line, Ok(ev))
        };
        let mut window = [
            item(1, "zeta", day + 3600),
            item(2, "acme", day + 86_400 + 60),
            item(3, "acme", day + 7200),
            item(4, "zeta", day + 60),
            (5, Err(unknown_client(5, "nobody"))),
        ];
        window.sort_unstable_by(|a, b| window_order(a).cmp(&window_order(b)));
        let lines: Vec<usize> = window.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [5, 3, 4, 1, 2]);
    }

    /// A batch that fails after the states were changed in memory (here
    /// its ticket insert) leaves nothing of itself in the ingestor: the next
    /// batch starts from the stored states, and does not refer to the
    /// source row the failed batch had created.
    #[test]
    fn a_failed_batch_leaves_nothing_in_the_ingestor() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
        let (policy_id, job) = first_policy(&store);
        let ev = acme_run(&job, Status::Failed, ctx.now.timestamp() - 3600);
        let mut ing = Ingestor::new();
        let mut batch = |store: &mut Store| {
            let tx = store.write().unwrap();
            ing.begin(&tx).unwrap();
            ing.add(&tx, &ev).unwrap();
            let flushed = ing.flush(&tx, &ctx);
            if flushed.is_ok() {
                tx.commit().unwrap();
            }
            flushed
        };
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER no_tickets BEFORE INSERT ON tickets
                 BEGIN SELECT RAISE(ABORT, 'no tickets today'); END",
            )
            .unwrap();
        let err = batch(&mut store).unwrap_err();
        assert!(format!("{err:#}").contains("no tickets today"), "{err:#}");
        store.conn.execute_batch("DROP TRIGGER no_tickets").unwrap();
        batch(&mut store).unwrap();
        let st = policies::state(&store.conn, policy_id).unwrap();
        assert_eq!(
            st.consecutive_failures, 1,
            "the failed batch's count is gone"
        );
    }

    /// The ticket automation decides in memory and writes at the end of a
    /// batch: a policy's whole story in one batch leaves the same tickets,
    /// work log, notifications and audit chain, byte for byte, as the same
    /// events one batch each. The story opens, updates, escalates,
    /// recovers an incident, auto-resolves and reopens, on backups and on
    /// repository checks.
    #[test]
    fn one_batch_writes_what_one_event_per_batch_writes() {
        use Status::{Failed as F, Missed as M, Success as S, Warning as W};
        let story = [
            (F, false),
            (F, false),
            (F, false), // the third in a row: escalated to an incident
            (S, false), // the incident recovers and waits for a person
            (F, false), // the incident again
            (W, false),
            (W, false),
            (W, false), // warnings in a row: a ticket
            (S, true),
            (F, true),  // a repository check fails
            (S, true),  // and passes: auto-resolved
            (F, true),  // reopened within the window
            (S, false), // clears the warning ticket
            (W, false),
            (W, false),
            (W, false), // the warning ticket reopens
            (M, false),
            (S, false),
            (S, true),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut stores = Vec::new();
        for name in ["one.db", "each.db"] {
            let (store, ctx) = onboarded(&dir.path().join(name));
            stores.push((store, ctx));
        }
        let (_, job) = first_policy(&stores[0].0);
        let base = stores[0].1.now.timestamp() - 30 * 86_400;
        let evs: Vec<NewEvent> = story
            .iter()
            .enumerate()
            .map(|(i, &(status, check))| NewEvent {
                operation: if check {
                    Operation::Check
                } else {
                    Operation::Backup
                },
                message: Some(format!("run {i}")),
                ..acme_run(&job, status, base + i as i64 * 3600)
            })
            .collect();
        let (one, each) = stores.split_at_mut(1);
        let (one, each) = (&mut one[0], &mut each[0]);
        let in_one = ingest(&mut one.0, &one.1, &evs).unwrap();
        let mut in_each = TicketCounts::default();
        for ev in &evs {
            in_each.add(
                ingest(&mut each.0, &each.1, std::slice::from_ref(ev))
                    .unwrap()
                    .tickets,
            );
        }
        assert_eq!(in_one.tickets, in_each);
        assert_eq!(in_one.tickets.tickets_opened, 4, "{in_one:?}");
        assert!(in_one.tickets.tickets_resolved >= 3, "{in_one:?}");
        let dump = |store: &Store| -> Vec<String> {
            let mut out = Vec::new();
            for sql in [
                "SELECT * FROM tickets ORDER BY id",
                "SELECT * FROM ticket_notes ORDER BY id",
                "SELECT * FROM hook_outbox ORDER BY id",
                // (not the wall-clock write time, nor the hash over it, nor
                // the digest rows: one per batch)
                "SELECT at, actor, command, entity_type, entity_id, before, after FROM audit_log
                 WHERE entity_type <> 'event_digest' ORDER BY id",
            ] {
                let mut stmt = store.conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        let cols: Vec<String> = (0..n)
                            .map(|i| match r.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                v => format!("{v:?}"),
                            })
                            .collect();
                        Ok(cols.join("|"))
                    })
                    .unwrap();
                out.extend(rows.map(|r| format!("{sql}: {}", r.unwrap())));
            }
            out
        };
        let (a, b) = (dump(&one.0), dump(&each.0));
        assert!(a.iter().any(|r| r.contains("reopened")), "{a:#?}");
        assert!(a.iter().any(|r| r.contains("escalated to incident")));
        assert!(a.iter().any(|r| r.contains("an incident waits")));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
        assert_eq!(a.len(), b.len());
    }

    /// A history import stores, counts and moves the state exactly as a
    /// live import of the same file, and leaves open only the problems the
    /// policies' newest runs show; imported again it changes nothing.
    #[test]
    fn a_history_import_opens_only_what_the_newest_runs_leave_wrong() {
        use Status::{Failed as F, Success as S, Warning as W};
        let dir = tempfile::tempdir().unwrap();
        let (mut live, ctx) = onboarded_days_ago(&dir.path().join("live.db"), 41);
        let (mut past, _) = onboarded_days_ago(&dir.path().join("past.db"), 41);
        let jobs = first_jobs(&live, 4);
        // per job: its runs, oldest first (`true`: a repository check)
        let stories: [&[(Status, bool)]; 4] = [
            &[(F, false), (F, false), (F, false), (S, false)], // fixed long ago
            &[(S, false), (F, false), (F, false), (F, false)], // still failing
            &[(W, false), (W, false), (W, false), (F, true)],  // warnings, a bad check
            &[(F, true), (S, true), (F, false), (W, false)],   // all cleared by now
        ];
        let base = ctx.now.timestamp() - 40 * 86_400;
        let mut lines = String::new();
        for (job, story) in jobs.iter().zip(stories) {
            for (i, &(status, check)) in story.iter().enumerate() {
                lines.push_str(
                    &serde_json::json!({
                        "client": "acme",
                        "job": job,
                        "operation": if check { "check" } else { "backup" },
                        "status": status.as_str(),
                        "ended_at": rfc3339(base + i as i64 * 86_400),
                        "message": format!("{job} run {i}"),
                        "source": "test",
                    })
                    .to_string(),
                );
                lines.push('\n');
            }
        }
        let file = dir.path().join("past.jsonl");
        std::fs::write(&file, lines).unwrap();
        let input = |history| Input {
            path: &file,
            name: "past.jsonl",
            format: InputFormat::Jsonl,
            skip_invalid: false,
            history,
            history_from: None,
        };
        import(&mut live, &ctx, &input(false), |_| {}).unwrap();
        let first = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
        let dump = |store: &Store, sql: &str| -> Vec<String> {
            let mut stmt = store.conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    Ok((0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            v => format!("{v:?}"),
                        })
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        // the runs are the same; the history import also expects the
        // windows of its span before the policies existed (#10 §2)
        for sql in [
            "SELECT * FROM job_events WHERE status <> 'm' ORDER BY day, client_id, xid",
            "SELECT policy_id, last_success_at FROM policy_state ORDER BY policy_id",
            "SELECT client_id, day, runs, runs_success, runs_warning, runs_failed, bytes
             FROM daily_rollups ORDER BY 1, 2",
        ] {
            assert_eq!(dump(&live, sql), dump(&past, sql), "{sql}");
        }
        let tickets = "SELECT p.job, t.class, t.kind, t.status FROM tickets t
                       JOIN policies p ON p.id = t.policy_id ORDER BY t.id";
        let expected = [
            format!("{}|failed|incident|open", jobs[1]),
            format!("{}|warning|corrective|open", jobs[2]),
            format!("{}|integrity|corrective|open", jobs[2]),
        ];
        assert_eq!(dump(&past, tickets), expected);
        assert_eq!(first.tickets.tickets_opened, 3, "{first:?}");
        // the work log names the newest run, as a live import's would
        let notes = dump(&past, "SELECT text FROM ticket_notes ORDER BY id").join("\n");
        assert!(notes.contains(&format!("{} run 3", jobs[1])), "{notes}");
        assert!(
            notes.contains("3 consecutive failed or missed runs"),
            "{notes}"
        );
        assert!(notes.contains("3 warnings in a row"), "{notes}");
        // the live import raised many more, and resolved most of them
        let live_tickets = dump(&live, tickets);
        assert!(live_tickets.len() > 4, "{live_tickets:#?}");

        let before: Vec<Vec<String>> = ["tickets", "ticket_notes", "hook_outbox", "audit_log"]
            .iter()
            .map(|t| dump(&past, &format!("SELECT * FROM {t}")))
            .collect();
        let again = import(&mut past, &ctx, &input(true), |_| {}).unwrap();
        assert_eq!((again.new, again.tickets), (0, TicketCounts::default()));
        let after: Vec<Vec<String>> = ["tickets", "ticket_notes", "hook_outbox", "audit_log"]
            .iter()
            .map(|t| dump(&past, &format!("SELECT * FROM {t}")))
            .collect();
        assert_eq!(before, after);
    }

    /// A backfill's good runs resolve what was raised while they were away,
    /// as a live import's would; runs older than the policy's newest known
    /// run change nothing.
    #[test]
    fn a_backfill_recovers_what_its_newer_runs_clear() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, ctx) = onboarded_days_ago(&dir.path().join("b.db"), 21);
        let jobs = first_jobs(&store, 2);
        let day = 86_400;
        let base = ctx.now.timestamp() - 20 * day;
        let live = [
            acme_run(&jobs[0], Status::Failed, base),
            acme_run(&jobs[1], Status::Failed, base + 10 * day),
        ];
        let raised = ingest(&mut store, &ctx, &live).unwrap();
        assert_eq!(raised.tickets.tickets_opened, 2);
        let lines: String = [
            acme_run(&jobs[0], Status::Success, base + day),
            acme_run(&jobs[1], Status::Success, base + 2 * day), // older than its failure
            // the newest run of the file: the span it covers ends with it
            acme_run(&jobs[0], Status::Success, base + 5 * day),
        ]
        .iter()
        .map(|ev| crate::ingest::neutral::to_json_line(ev) + "\n")
        .collect();
        let file = dir.path().join("backfill.jsonl");
        std::fs::write(&file, lines).unwrap();
        let input = Input {
            path: &file,
            name: "backfill.jsonl",
            format: InputFormat::Jsonl,
            skip_invalid: false,
            history: true,
            history_from: None,
        };
        let s = import(&mut store, &ctx, &input, |_| {}).unwrap();
        assert_eq!((s.new, s.tickets.tickets_resolved), (3, 1), "{s:?}");
        let status = |job: &str| -> String {
            store
                .conn
                .query_row(
                    "SELECT t.status FROM tickets t JOIN policies p ON p.id = t.policy_id
                     WHERE p.job = ?1",
                    [job],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(status(&jobs[0]), "resolved");
        assert_eq!(status(&jobs[1]), "open");
    }

    /// Events written many to a statement: a known key in a full buffer, a key
    /// twice in one buffer and a run recorded again under the neighbouring
    /// day's key (both records in one buffer) are each one duplicate, and
    /// only new events count.
    #[test]
    fn buffered_inserts_find_every_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
        let (_, job) = first_policy(&store);
        let base = ctx.now.timestamp() - 20 * 86_400;
        let run = |i: i64| NewEvent {
            started_at: Some(base + i * 3_600),
            source: "restic".into(),
            external_id: Some(format!("{i:08x}")),
            ..acme_run(&job, Status::Success, base + i * 3_600 + 600)
        };
        let count = |store: &Store| -> i64 {
            store
                .conn
                .query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))
                .unwrap()
        };
        // buffers of R events: two runs stored before
        let r = events::ROWS_PER_INSERT as i64;
        ingest(&mut store, &ctx, &[run(5), run(r + 4)]).unwrap();
        // 2R + 8 runs, those two among them (each in a full buffer), and one
        // twice in the second buffer
        let mut evs: Vec<NewEvent> = (0..2 * r + 8).map(run).collect();
        evs.insert(2 * r as usize - 1, run(2 * r - 2));
        // 23:30 to 00:10 across midnight, then the same snapshot by its start only
        let night = base - base.rem_euclid(86_400) + 10 * 86_400 - 1_800;
        let mut midnight = run(99);
        midnight.started_at = Some(night);
        midnight.ended_at = night + 2_400;
        let mut snapshot = midnight.clone();
        snapshot.ended_at = night;
        evs.push(midnight);
        evs.push(snapshot);
        let s = ingest(&mut store, &ctx, &evs).unwrap();
        let (read, new) = (2 * r as usize + 11, 2 * r as usize + 7);
        assert_eq!((s.read, s.new, s.duplicate), (read, new, 4));
        assert_eq!(count(&store), 2 * r + 9);
        // the rollups count new runs only
        let runs: i64 = store
            .conn
            .query_row("SELECT sum(runs) FROM daily_rollups", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 2 * r + 9);
        // everything again: all duplicates, nothing written
        let again = ingest(&mut store, &ctx, &evs).unwrap();
        assert_eq!((again.new, again.duplicate), (0, read));
        assert_eq!(count(&store), 2 * r + 9);
    }

    /// Both ways of reading missing states give the stored ones and keep
    /// the states already held.
    #[test]
    fn missing_states_are_read_by_seek_or_in_one_pass() {
        let store = Store::memory().unwrap();
        let c = &store.conn;
        c.execute_batch("PRAGMA foreign_keys = off").unwrap();
        for id in 1..=5 {
            c.execute(
                "INSERT INTO policy_state (policy_id, last_event_at) VALUES (?1, ?1 * 100)",
                [id],
            )
            .unwrap();
        }
        for one_pass in [usize::MAX, 1] {
            let mut held: FastMap<i64, PolicyState> = FastMap::default();
            held.insert(
                2,
                PolicyState {
                    last_event_at: Some(7),
                    ..Default::default()
                },
            );
            read_states(c, &[1, 3], one_pass, &mut held).unwrap();
            assert_eq!(
                held[&1].last_event_at,
                Some(100),
                "one pass from {one_pass}"
            );
            assert_eq!(held[&3].last_event_at, Some(300));
            assert_eq!(held[&2].last_event_at, Some(7), "held, not read again");
        }
    }

    /// A large file with bad lines: strict, the first is the error and
    /// nothing lands even though the writer has worked through many batches
    /// meanwhile; with `skip_invalid`, every bad line is reported with its true
    /// line number and the rest land.
    #[test]
    fn a_large_file_with_bad_lines_is_all_or_nothing_unless_skipping() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
        let now = ctx.now;
        let (_, job) = first_policy(&store);
        let n = 60_000;
        let mut text = String::new();
        for i in 1..=n {
            let good = format!(
                r#"{{"client":"acme","job":"{job}","status":"success","ended_at":"{}","id":"{i:08x}"}}"#,
                rfc3339(now.timestamp() - 86_400 * 30 + i * 40)
            );
            match i {
                7 => text.push_str(&good.replace("success", "exploded")),
                40_001 => text.push_str(&good.replace("acme", "nobody")),
                59_999 => text.push_str("{broken"),
                _ => text.push_str(&good),
            }
            text.push('\n');
        }
        let path = dir.path().join("big.jsonl");
        std::fs::write(&path, &text).unwrap();
        let count = |store: &Store| -> i64 {
            store
                .conn
                .query_row("SELECT count(*) FROM job_events", [], |r| r.get(0))
                .unwrap()
        };
        let mut input = Input {
            path: &path,
            name: "big.jsonl",
            format: InputFormat::Jsonl,
            skip_invalid: false,
            history: false,
            history_from: None,
        };
        let err = import(&mut store, &ctx, &input, |_| {}).unwrap_err();
        assert!(
            err.to_string().starts_with("big.jsonl:7: status: "),
            "{err}"
        );
        assert_eq!(count(&store), 0);

        // only the last lines are bad: the writer is many batches in when
        // the checker finds them, and still nothing lands
        let tail = path.with_file_name("tail.jsonl");
        let good_part: Vec<&str> = text
            .lines()
            .filter(|l| {
                !l.contains("exploded") && !l.contains("nobody") && !l.starts_with("{broken")
            })
            .collect();
        std::fs::write(&tail, good_part.join("\n") + "\n{\"client\":\"nobody\"}\n").unwrap();
        input.path = &tail;
        input.name = "tail.jsonl";
        let err = import(&mut store, &ctx, &input, |_| {}).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("tail.jsonl:{}: ", n - 2)),
            "{err}"
        );
        assert_eq!(count(&store), 0);
        // a file above the size limit is checked before anything is written
        let err = import_checked(&mut store, &ctx, &input, |_| {}, 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("tail.jsonl:{}: ", n - 2)),
            "{err}"
        );
        assert_eq!(count(&store), 0);
        // … and, when good, written whole
        let good = path.with_file_name("good.jsonl");
        std::fs::write(&good, good_part.join("\n") + "\n").unwrap();
        input.path = &good;
        input.name = "good.jsonl";
        let summary = import_checked(&mut store, &ctx, &input, |_| {}, 0).unwrap();
        assert_eq!((summary.new, count(&store)), (n as usize - 3, n - 3));
        // its six commits checkpointed by a second connection as it wrote:
        // the file is sound and the WAL all copied
        let check: String = store
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let (busy, frames, copied): (i64, i64, i64) = store
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((busy, frames), (0, copied));

        input.path = &path;
        input.name = "big.jsonl";
        input.skip_invalid = true;
        let summary = import(&mut store, &ctx, &input, |_| {}).unwrap();
        let lines: Vec<&str> = summary
            .rejections
            .iter()
            .map(|r| r.split(": ").next().unwrap())
            .collect();
        assert_eq!(lines, ["big.jsonl:7", "big.jsonl:40001", "big.jsonl:59999"]);
        assert!(summary.rejections[1].contains("unknown client 'nobody'"));
        assert_eq!(summary.rejected, 3);
        assert_eq!(count(&store), n - 3);
    }

    /// A generated run: its job (index), id, status and start minute.
    #[derive(Debug, Clone)]
    struct GenRun {
        job: usize,
        id: Option<String>,
        status: Status,
        minute: i64,
    }

    /// Ids of the shapes that once merged different runs: epoch seconds and
    /// date-like numbers (shared across jobs), hex ids with a shared 8-digit
    /// prefix, the same text on every job; or none at all.
    fn gen_id() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        prop_oneof![
            (1_764_400_000i64..1_764_400_010).prop_map(|t| Some(t.to_string())),
            (0u32..20).prop_map(|h| Some(format!("2026112922{h:02}"))),
            (0u32..16).prop_map(|n| Some(format!("deadbeef{n:x}"))),
            (1u32..4).prop_map(|n| Some(format!("run-{n}"))),
            Just(None),
        ]
    }

    fn gen_run() -> impl proptest::strategy::Strategy<Value = GenRun> {
        use proptest::prelude::*;
        (
            0usize..3,
            gen_id(),
            prop_oneof![
                Just(Status::Success),
                Just(Status::Warning),
                Just(Status::Failed)
            ],
            0i64..3,
        )
            .prop_map(|(job, id, status, minute)| GenRun {
                job,
                id,
                status,
                minute,
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// #17 §1–2: N distinct runs are N events, whatever their ids look
        /// like (same-second retries without ids included), and importing
        /// the same file again adds none.
        #[test]
        fn distinct_runs_are_distinct_events(runs in proptest::collection::vec(gen_run(), 1..30)) {
            // distinct runs: one per (job, id), or per (job, start, status) without an id
            let mut seen = HashSet::new();
            let runs: Vec<GenRun> = runs
                .into_iter()
                .filter(|r| match &r.id {
                    Some(id) => seen.insert((r.job, id.clone(), 0, Status::Success)),
                    None => seen.insert((r.job, String::new(), r.minute, r.status)),
                })
                .collect();
            let dir = tempfile::tempdir().unwrap();
            let (mut store, ctx) = onboarded(&dir.path().join("bmctl.db"));
            let jobs = first_jobs(&store, 3);
            let client: String = store.conn.query_row("SELECT code FROM clients", [], |r| r.get(0)).unwrap();
            let base = 1_764_453_600; // 2026-11-29T22:00:00Z
            let lines: Vec<String> = runs
                .iter()
                .map(|r| {
                    // a retry starts in the same second and ends a little later
                    let start = base + r.minute * 60;
                    let end = start + 30 + r.status as i64;
                    let mut v = serde_json::json!({
                        "client": client, "job": jobs[r.job], "status": r.status.as_str(),
                        "started_at": rfc3339(start), "ended_at": rfc3339(end), "source": "script",
                    });
                    if let Some(id) = &r.id {
                        v["id"] = serde_json::json!(id);
                    }
                    v.to_string()
                })
                .collect();
            let file = dir.path().join("runs.jsonl");
            std::fs::write(&file, lines.join("\n") + "\n").unwrap();
            let input = Input { path: &file, name: "runs.jsonl", format: InputFormat::Jsonl, skip_invalid: false, history: false, history_from: None };
            let first = import(&mut store, &ctx, &input, |_| {}).unwrap();
            proptest::prop_assert_eq!((first.new, first.duplicate, first.conflicting), (runs.len(), 0, 0));
            let events: i64 = store.conn.query_row("SELECT count(*) FROM job_events", [], |r| r.get(0)).unwrap();
            proptest::prop_assert_eq!(events as usize, runs.len());
            let again = import(&mut store, &ctx, &input, |_| {}).unwrap();
            proptest::prop_assert_eq!((again.new, again.duplicate, again.conflicting), (0, runs.len(), 0));
        }
    }
}
