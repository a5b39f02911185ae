//! The ingestor's side of the store: the look-ups it caches, the events it
//! keys and inserts in batches, the policy states it holds until a flush
//! writes them back, and the daily rollups it sums until then.

use std::collections::hash_map::Entry;
use std::rc::Rc;

use anyhow::Result;
use chrono_tz::Tz;

use super::events::{self, Insert, Rollup};
use super::ingest_cache::{FastMap, Lookups};
use super::{bulk, meta, policies, Db};
use crate::domain::automation::tickets::Subject;
use crate::domain::automation::PolicyState;
use crate::domain::event::{NewEvent, Operation, RunKey, Status};
use crate::domain::time::DaySpan;
use crate::error::rejected;

/// An event checked and keyed, waiting for its insert.
pub struct Ready<'e> {
    pub ev: &'e NewEvent,
    pub tz: Tz,
    pub subject: Option<Rc<Subject>>,
    pub row: Insert<'e>,
}

/// What keying an event found.
// matched as soon as it is returned, never stored: a box would cost an
// allocation per event
#[allow(clippy::large_enum_variant)]
pub enum Keyed<'e> {
    /// New as far as the keys tell: insert it.
    Ready(Ready<'e>),
    /// Known under a neighbouring day's or a legacy key.
    Known,
    /// On a day `db prune` removed: its counts are in the rollups already.
    Pruned,
    /// A start record: held apart from the runs (`None`: no policy).
    Start(Option<(Rc<Subject>, i64)>),
}

/// Missing policy states from which a batch reads the whole state table.
const STATES_IN_ONE_PASS: usize = 2_000;

/// See the module doc. Its caches are dropped by [`EventWriter::forget`].
#[derive(Default)]
pub struct EventWriter {
    lookups: Lookups,
    /// The newest day of any event, read once per transaction when a
    /// neighbouring-day look-up is first due (a writer between two batches
    /// may add events), then raised by each insert.
    newest_day: Option<i64>,
    /// The newest end among events stored with legacy keys (schema < 14),
    /// read once: a run that ended by then may be stored under its legacy key.
    legacy_until: Option<Option<i64>>,
    /// The newest `db prune` bound, read once.
    pruned_before: Option<Option<i64>>,
    /// Per policy: its state as the ingestor last wrote it.
    states: FastMap<i64, PolicyState>,
    rollups: FastMap<(i64, i64), Rollup>,
    /// Per client: the local day of its last event (its rollup key).
    days: FastMap<i64, DaySpan>,
}

impl EventWriter {
    /// Whether another connection committed since the look-ups were read
    /// (then they are dropped).
    pub fn stale(&mut self, conn: &Db) -> Result<bool> {
        self.lookups.stale(conn)
    }

    /// Drop the look-ups and everything held.
    pub fn forget(&mut self) {
        self.lookups.forget();
        self.forget_held();
    }

    /// Drop the states and days held (the look-ups stay).
    pub fn forget_held(&mut self) {
        self.states.clear();
        self.days.clear();
    }

    /// A new transaction's first neighbouring-day look-up reads the newest day again.
    pub fn new_transaction(&mut self) {
        self.newest_day = None;
    }

    /// Check an event and key it: its client must be known; `ready` are
    /// the events keyed before it and not yet written, where a key is
    /// looked for too.
    pub fn key<'e>(
        &mut self,
        conn: &Db,
        ready: &[Ready<'e>],
        ev: &'e NewEvent,
    ) -> Result<Keyed<'e>> {
        let Some((client_id, tz)) = self.lookups.client(conn, &ev.client)? else {
            return Err(rejected(format!(
                "client: unknown client '{}'; onboard it with `bmctl plan import` first",
                ev.client
            )));
        };
        if self.pruned_before(conn)?.is_some_and(|b| ev.ended_at < b)
            && events::pruned_day(conn, client_id, ev.ended_at.div_euclid(86_400))?
        {
            return Ok(Keyed::Pruned);
        }
        let subject = self.lookups.policy(conn, client_id, &ev.client, &ev.job)?;
        if ev.operation == Operation::Start {
            let start = match subject {
                Some(s) => Some((s, self.lookups.source(conn, &ev.source)?)),
                None => None,
            };
            return Ok(Keyed::Start(start));
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
                return Ok(Keyed::Known);
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
            return Ok(Keyed::Known);
        }
        let source_id = self.lookups.source(conn, &ev.source)?;
        let snapshot = ev
            .snapshot
            .as_deref()
            .filter(|s| Some(*s) != ev.external_id.as_deref());
        let row = Insert {
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
        Ok(Keyed::Ready(Ready {
            ev,
            tz,
            subject,
            row,
        }))
    }

    /// Write a full buffer of `ready` events in one statement when none
    /// of their keys is known; true when it did (then each is new).
    pub fn insert_all_new(&mut self, conn: &Db, ready: &[Ready<'_>]) -> Result<bool> {
        let all = ready.len() == events::ROWS_PER_INSERT
            && events::insert_all_new(conn, ready.iter().map(|r| &r.row))?;
        if all {
            for r in ready {
                self.inserted(&r.row);
            }
        }
        Ok(all)
    }

    /// Write one event unless its key is known; true when it was new.
    pub fn insert(&mut self, insert: &mut bulk::EventInsert<'_>, r: &Ready<'_>) -> Result<bool> {
        let new = events::insert_with(insert, &r.row)?;
        if new {
            self.inserted(&r.row);
        }
        Ok(new)
    }

    fn inserted(&mut self, row: &Insert<'_>) {
        if let Some(newest) = self.newest_day.as_mut() {
            *newest = (*newest).max(row.xid >> 32);
        }
    }

    /// Count a new backup run in its client's local day.
    pub fn count_run(&mut self, client_id: i64, tz: Tz, at: i64, status: Status, bytes: i64) {
        let day = self
            .days
            .entry(client_id)
            .or_insert_with(|| DaySpan::of(at, tz))
            .local_day(at, tz);
        let r = self.rollups.entry((client_id, day)).or_default();
        r.runs += 1;
        r.bytes += bytes;
        match status {
            Status::Success => r.runs_success += 1,
            Status::Warning => r.runs_warning += 1,
            _ => r.runs_failed += 1,
        }
    }

    /// Add the runs counted since the last call to the stored rollups.
    pub fn write_rollups(&mut self, conn: &Db) -> Result<()> {
        let mut rollups: Vec<_> = self.rollups.drain().collect();
        events::rollups_add(conn, &mut rollups)
    }

    /// Hold the stored states of the `policies` not held yet: 100 to a
    /// statement, or the whole table at once when they are many (a fresh
    /// process's first batch).
    pub fn hold_states(&mut self, conn: &Db, policies: impl Iterator<Item = i64>) -> Result<()> {
        self.hold_states_from(conn, policies, STATES_IN_ONE_PASS)
    }

    fn hold_states_from(
        &mut self,
        conn: &Db,
        policies: impl Iterator<Item = i64>,
        one_pass: usize,
    ) -> Result<()> {
        let missing: Vec<i64> = policies
            .filter(|id| !self.states.contains_key(id))
            .collect();
        if missing.len() >= one_pass {
            for (id, st) in policies::all_states(conn)? {
                self.states.entry(id).or_insert(st);
            }
        } else {
            self.states.extend(policies::states(conn, &missing)?);
        }
        Ok(())
    }

    /// A policy's state as held (read when it is not).
    pub fn state(&mut self, conn: &Db, policy_id: i64) -> Result<&mut PolicyState> {
        Ok(match self.states.entry(policy_id) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(slot) => slot.insert(policies::state(conn, policy_id)?),
        })
    }

    /// A policy's state if it is held.
    pub fn held_state(&self, policy_id: i64) -> Option<&PolicyState> {
        self.states.get(&policy_id)
    }

    /// The newest `db prune` bound (read once).
    fn pruned_before(&mut self, conn: &Db) -> Result<Option<i64>> {
        if let Some(b) = self.pruned_before {
            return Ok(b);
        }
        let b = meta::get_i64(conn, events::PRUNED_BEFORE)?;
        self.pruned_before = Some(b);
        Ok(b)
    }

    /// The newest end among legacy-keyed events (read once).
    fn legacy_until(&mut self, conn: &Db) -> Result<Option<i64>> {
        if let Some(until) = self.legacy_until {
            return Ok(until);
        }
        let until = meta::get_i64(conn, "legacy_keys_until")?
            // a run's legacy key may be a neighbouring day's
            .map(|t| t + 2 * 86_400);
        self.legacy_until = Some(until);
        Ok(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{probe, Store};

    /// Both ways of reading missing states give the stored ones and keep
    /// the states already held.
    #[test]
    fn missing_states_are_read_by_seek_or_in_one_pass() {
        let store = Store::memory().unwrap();
        let c = store.db();
        probe::bare_states(c, 5);
        for one_pass in [usize::MAX, 1] {
            let mut w = EventWriter::default();
            let seven = PolicyState {
                last_event_at: Some(7),
                ..Default::default()
            };
            w.states.insert(2, seven);
            w.hold_states_from(c, [1, 2, 3].into_iter(), one_pass)
                .unwrap();
            let held = |id| w.held_state(id).unwrap().last_event_at;
            assert_eq!(held(1), Some(100), "one pass from {one_pass}");
            assert_eq!(held(3), Some(300));
            assert_eq!(held(2), Some(7), "held, not read again");
        }
    }
}
