//! A history import's end: the span it covers closed, the newest runs judged.

use super::*;

impl Ingestor {
    /// End a history import (call in its last transaction): each policy
    /// whose newest run is one this import wrote gets what that run does
    /// in a live import. A failed or missed run (escalated after
    /// `escalate_after` in a row), `warnings_before` warnings in a row or a
    /// failed integrity check raise their ticket, unless one of its class
    /// is open; a good run recovers the open tickets it clears. Problems a
    /// later run of the import cleared get no ticket.
    pub fn finish_history(&mut self, conn: &Db, ctx: &Ctx) -> Result<()> {
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
    pub(super) fn close_history_span(&mut self, conn: &Db, ctx: &Ctx) -> Result<()> {
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

    pub(super) fn judge_history(&mut self, conn: &Db, ctx: &Ctx) -> Result<()> {
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
                    let st = match self.writer.held_state(policy_id) {
                        Some(st) => *st,
                        None => policies::state(conn, policy_id)?,
                    };
                    // unless a newer run came another way: its tickets are live
                    (st.last_event_at == Some(r.at)).then(|| (Step::of_state(&st), r))
                }
                None => None,
            };
            let verdict = judge_history(
                backup.as_ref().map(|b| b.0),
                check.as_ref().map(|r| r.status),
                &ctx.rules.thresholds(&subject.judge),
            );
            // the run each class speaks of: integrity the check's, the rest the backup's
            let run_of = |class: ProblemClass| match class {
                ProblemClass::Integrity => check.as_deref(),
                _ => backup.as_ref().map(|b| &*b.1),
            };
            if open {
                // what the runs clear, as in a live import (a backfill's good
                // runs resolve what `check` raised while the runs were away)
                let (integrity, rest): (Vec<_>, Vec<_>) = verdict
                    .clears
                    .iter()
                    .partition(|c| **c == ProblemClass::Integrity);
                for classes in [rest, integrity] {
                    if let Some(r) = classes.first().and_then(|c| run_of(*c)) {
                        auto.recover(&subject, &classes, r.at, &r.detail())?;
                    }
                }
            }
            let problems = verdict
                .raises
                .into_iter()
                .filter_map(|raise| run_of(raise.class).map(|r| (described(raise, r), r)));
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
