//! The ingestor's set-up, its caches' life (dropped when another connection
//! writes or a batch fails) and the entry points that add events.

use super::*;

impl Ingestor {
    pub fn new() -> Ingestor {
        Ingestor {
            writer: EventWriter::default(),
            pending: Vec::new(),
            history: None,
            limit: i64::MAX,
            slack: 0,
            skew: 3600,
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
    pub fn begin(&mut self, conn: &Db) -> Result<()> {
        if self.writer.stale(conn)? {
            self.forget_own();
        }
        Ok(())
    }

    pub(super) fn forget(&mut self) {
        self.writer.forget();
        self.forget_own();
    }

    /// Forget what this ingestor holds beside the look-ups.
    fn forget_own(&mut self) {
        self.writer.forget_held();
        self.digests = Default::default();
        self.with_open = None;
    }

    /// `done`, and on an error the caches forgotten (see [`Ingestor::begin`]).
    pub(super) fn or_forget<T>(&mut self, done: Result<T>) -> Result<T> {
        if done.is_err() {
            self.forget();
        }
        done
    }

    /// Record one event (a duplicate is counted and otherwise ignored).
    pub fn add(&mut self, conn: &Db, ev: &NewEvent) -> Result<()> {
        self.add_all(conn, &mut bulk::event_insert(conn)?, std::iter::once(ev))
    }

    /// Record events in the order given (a duplicate is counted and
    /// otherwise ignored), with the one-row insert prepared by the caller
    /// (once per batch, on the hot path of bulk imports). Events are written
    /// [`events::ROWS_PER_INSERT`] to a statement; a statement that meets a
    /// known key is undone and its rows are written one by one.
    pub fn add_all<'e>(
        &mut self,
        conn: &Db,
        insert: &mut bulk::EventInsert<'_>,
        evs: impl IntoIterator<Item = &'e NewEvent>,
    ) -> Result<()> {
        let added = self.add_each(conn, insert, evs);
        self.or_forget(added)
    }

    /// Count a run from the future and say why it was not applied.
    pub(super) fn hold(&mut self, ev: &NewEvent, ahead: i64) {
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

    pub(super) fn add_each<'e>(
        &mut self,
        conn: &Db,
        insert: &mut bulk::EventInsert<'_>,
        evs: impl IntoIterator<Item = &'e NewEvent>,
    ) -> Result<()> {
        let mut ready: Vec<Ready<'e>> = Vec::with_capacity(events::ROWS_PER_INSERT);
        for ev in evs {
            if let Some(r) = self.key(conn, &ready, ev)? {
                ready.push(r);
                if ready.len() == events::ROWS_PER_INSERT {
                    self.insert_ready(conn, insert, &mut ready)?;
                }
            }
        }
        self.insert_ready(conn, insert, &mut ready)
    }
}
