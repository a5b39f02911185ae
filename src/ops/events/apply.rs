//! What a batch's runs mean: rollups, policy states and tickets, in event-time order per policy.

use super::*;
use crate::domain::automation::judge::{Judgement, SizeWindow};

impl Ingestor {
    /// Apply what the added events mean: rollups, per-policy state, tickets.
    pub fn flush(&mut self, conn: &Db, ctx: &Ctx) -> Result<()> {
        let applied = self.apply(conn, ctx);
        self.or_forget(applied)
    }

    pub(super) fn apply(&mut self, conn: &Db, ctx: &Ctx) -> Result<()> {
        self.writer.new_transaction();
        if !self.conflict_rows.is_empty() {
            let rows = std::mem::take(&mut self.conflict_rows);
            crate::store::audit::append(conn, &ctx.who(), "run", rows)?;
        }
        crate::store::digests::commit(conn, &ctx.who(), &mut self.digests)?;
        self.writer.write_rollups(conn)?;
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
        (self.writer).hold_states(conn, by_policy().map(|runs| runs[0].1.policy_id))?;
        let mut late_rollups = Vec::new();
        let mut sizes = Sizes::default();
        // runs still going: a terminal record of this batch replaces its start
        let going = running::keys(conn)?;
        let mut touched_running = Vec::new();
        for runs in by_policy() {
            let subject = &runs[0].0;
            let policy_id = subject.policy_id;
            let st = self.writer.state(conn, policy_id)?;
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
                    let step = st.apply_run(r.at, subject.judge.judged(r.status));
                    note_late(st, r, step, ended);
                    if let Some(gap) =
                        late::breach(subject, restore_point, r.at, step.is_restore_point())
                    {
                        late::gap_closed(conn, ctx, subject, gap, None)?;
                    }
                    if let Some((bytes, level)) = r.size {
                        // a history import keeps the sizes; it judges none
                        sizes
                            .window(conn, policy_id)?
                            .judge_and_keep(level, r.at, bytes, 0);
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
                            auto.raise_with(
                                subject,
                                ProblemClass::Integrity,
                                r.at,
                                &r.detail(),
                                has_open,
                            )?;
                            has_open = true;
                        }
                        _ if has_open => {
                            auto.recover(subject, &[ProblemClass::Integrity], r.at, &r.detail())?
                        }
                        _ => {}
                    }
                    continue;
                }
                let ended = ended_start(r)?;
                let restore_point = st.last_success_at;
                let step = st.apply_run(r.at, subject.judge.judged(r.status));
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
                        let classes: Vec<ProblemClass> = classes
                            .iter()
                            .copied()
                            .filter(|c| ended.is_none() || *c != ProblemClass::Hung)
                            .collect();
                        auto.run_ended(r.ended)
                            .recover(subject, &classes, r.at, &r.detail())?;
                    }
                }
                if let Some(p) = problem(step, r, rules, &subject.judge) {
                    let id = auto
                        .run_ended(r.ended)
                        .raise_with(subject, p.class, r.at, &p.detail, has_open)?;
                    has_open = true;
                    if let Some(why) = p.escalate {
                        auto.escalate(id, &why)?;
                    }
                }
                if let Some((bytes, level)) = r.size {
                    let pct = subject.judge.small_backup_pct;
                    let small = sizes
                        .window(conn, policy_id)?
                        .judge_and_keep(level, r.at, bytes, pct);
                    match small {
                        // an older run's size is history: the newer ones spoke
                        Some(_) if matches!(step, Step::Late) => {}
                        Some(small) => {
                            let detail = format!("{}; {}", small.describe(), r.detail());
                            (auto.run_ended(r.ended)).raise_with(
                                subject,
                                ProblemClass::Small,
                                r.at,
                                &detail,
                                has_open,
                            )?;
                            has_open = true;
                        }
                        None if has_open && !matches!(step, Step::Late) => {
                            (auto.run_ended(r.ended)).recover(
                                subject,
                                &[ProblemClass::Small],
                                r.at,
                                &r.detail(),
                            )?;
                        }
                        None => {}
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
            let st = self.writer.state(conn, policy_id)?;
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
            let st = self.writer.state(conn, policy_id)?;
            st.running_since = running::earliest(conn, policy_id)?;
            match written.iter_mut().find(|(id, _)| *id == policy_id) {
                Some(w) => w.1 = *st,
                None => written.push((policy_id, *st)),
            }
        }
        // Nothing above reads a policy's state back: all are written at once.
        policies::set_states(conn, &written)?;
        sizes.write(conn)?;
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
}

/// Hold a copy of `run` in `slot`, in the box already there if any.
pub(super) fn keep(slot: &mut Option<Box<Pending>>, run: &Pending) {
    match slot {
        Some(held) => (**held).clone_from(run),
        None => *slot = Some(Box::new(run.clone())),
    }
}

/// A problem a run raises, as the automation acts on it: its ticket class,
/// the work-log line, and why to escalate the ticket, if it is to be.
pub(super) struct Problem {
    pub(super) class: ProblemClass,
    pub(super) detail: String,
    pub(super) escalate: Option<String>,
}

/// The problem `step`, reached by run `r`, raises under `rules`.
pub(super) fn problem(
    step: Step,
    r: &Pending,
    rules: &correct::Rules,
    judge: &Judgement,
) -> Option<Problem> {
    Some(described(step.problem(&rules.thresholds(judge))?, r))
}

/// The size windows of the batch's policies, read when a run needs one and
/// written back once.
#[derive(Default)]
struct Sizes(FastMap<i64, SizeWindow>);

impl Sizes {
    fn window(&mut self, conn: &Db, policy_id: i64) -> Result<&mut SizeWindow> {
        Ok(match self.0.entry(policy_id) {
            std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
                policies::sizes(conn, policy_id)?
                    .map(|t| SizeWindow::decode(&t))
                    .unwrap_or_default(),
            ),
        })
    }

    fn write(self, conn: &Db) -> Result<()> {
        for (policy_id, w) in self.0 {
            policies::set_sizes(conn, policy_id, &w.encode())?;
        }
        Ok(())
    }
}

/// Problem `raise`, seen in run `r`, as the work log and escalation say it.
pub(super) fn described(raise: Raise, r: &Pending) -> Problem {
    Problem {
        class: raise.class,
        detail: match raise.warnings_in_a_row {
            Some(n) => format!("{n} warnings in a row; last: {}", r.detail()),
            None => r.detail(),
        },
        escalate: raise
            .escalate_after
            .map(|n| format!("{n} consecutive failed or missed runs")),
    }
}

/// The names of the problem classes a step clears (none: nothing to recover).
pub(super) fn cleared(step: Step) -> Option<&'static [ProblemClass]> {
    Some(step.clears()).filter(|c| !c.is_empty())
}
