//! Checking, keying and inserting events in batches.

use super::*;

impl Ingestor {
    /// Check an event and key it; `None` when it is known under a
    /// neighbouring day's key, in the table or among the events `ready` to
    /// be written before it.
    pub(super) fn key<'e>(
        &mut self,
        conn: &Db,
        ready: &[Ready<'e>],
        ev: &'e NewEvent,
    ) -> Result<Option<Ready<'e>>> {
        self.summary.read += 1;
        if let Some(ahead) = ev.ahead_of(self.limit) {
            self.hold(ev, ahead);
            return Ok(None);
        }
        let Some((client_id, tz)) = self.lookups.client(conn, &ev.client)? else {
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
        let subject = self.lookups.policy(conn, client_id, &ev.client, &ev.job)?;
        if ev.operation == Operation::Start {
            // held apart from the runs; applied at the flush, after the
            // terminal records that may replace them
            match &subject {
                Some(s) => {
                    let source_id = self.lookups.source(conn, &ev.source)?;
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
        let source_id = self.lookups.source(conn, &ev.source)?;
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

    /// Write the events in `ready` (a full buffer in one statement when none
    /// of its keys is known) and apply what each new one means.
    pub(super) fn insert_ready(
        &mut self,
        conn: &Db,
        insert: &mut bulk::EventInsert<'_>,
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
    pub(super) fn pruned_before(&mut self, conn: &Db) -> Result<Option<i64>> {
        if let Some(b) = self.pruned_before {
            return Ok(b);
        }
        let b = crate::store::meta::get_i64(conn, events::PRUNED_BEFORE)?;
        self.pruned_before = Some(b);
        Ok(b)
    }

    /// The newest end among legacy-keyed events (read once).
    pub(super) fn legacy_until(&mut self, conn: &Db) -> Result<Option<i64>> {
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
    pub(super) fn redelivered(&mut self, conn: &Db, r: &Ready<'_>) -> Result<()> {
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
    pub(super) fn record(&mut self, r: Ready<'_>) {
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
}

/// Missing policy states from which a batch reads the whole state table.
pub(super) const STATES_IN_ONE_PASS: usize = 2_000;

/// Add the stored states of `missing` policies to `states`: 100 to a
/// statement, or from `one_pass` on the whole table at once (the states
/// already held are kept).
pub(super) fn read_states(
    conn: &Db,
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
