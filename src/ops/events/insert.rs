//! Checking, keying and inserting events in batches.

use super::*;

impl Ingestor {
    /// Check an event and key it; `None` when it is known under a
    /// neighbouring day's key, in the table or among the events `ready` to
    /// be written before it, or is held, pruned or a start record.
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
        match self.writer.key(conn, ready, ev)? {
            Keyed::Ready(r) => return Ok(Some(r)),
            Keyed::Known => self.summary.duplicate += 1,
            Keyed::Pruned => self.summary.pruned += 1,
            // held apart from the runs; applied at the flush, after the
            // terminal records that may replace them
            Keyed::Start(Some((subject, source_id))) => {
                self.starts.push((subject, ev.at(), source_id))
            }
            Keyed::Start(None) => self.summary.unmatched += 1,
        }
        Ok(None)
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
        let all_new = self.writer.insert_all_new(conn, ready)?;
        for r in ready.drain(..) {
            if all_new || self.writer.insert(insert, &r)? {
                self.record(r);
            } else {
                self.redelivered(conn, &r)?;
            }
        }
        Ok(())
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
            (self.writer).count_run(client_id, tz, ev.at(), ev.status, ev.bytes.unwrap_or(0));
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
                        size: ev
                            .bytes
                            .filter(|_| {
                                !check && matches!(ev.status, Status::Success | Status::Warning)
                            })
                            .map(|b| (b, ev.level)),
                    },
                ));
            }
        }
    }
}
