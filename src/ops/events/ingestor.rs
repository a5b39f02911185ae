//! The ingestor's caches: clients, sources, policies and states, read once and dropped when another connection writes.

use super::*;

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
        let version = bulk::data_version(conn)?;
        if self.data_version != Some(version) {
            self.forget();
            self.data_version = Some(version);
        }
        Ok(())
    }

    pub(super) fn forget(&mut self) {
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
    pub(super) fn or_forget<T>(&mut self, done: Result<T>) -> Result<T> {
        if done.is_err() {
            self.forget();
        }
        done
    }

    pub(super) fn client(&mut self, conn: &Connection, code: &str) -> Result<Option<(i64, Tz)>> {
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

    pub(super) fn policy(
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
        self.add_all(conn, &mut *bulk::event_insert(conn)?, std::iter::once(ev))
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
        conn: &Connection,
        insert: &mut rusqlite::Statement<'_>,
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
