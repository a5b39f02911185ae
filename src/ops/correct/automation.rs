//! The automation at work inside one transaction: tickets held, decided on
//! by `domain::automation::tickets`, written once at the end.

use super::*;

/// The automation at work inside one transaction: what bmctl does to
/// tickets when events arrive and `check` finds problems.
///
/// Its writes wait in memory until [`Auto::finish`]: a ticket touched many
/// times in a batch (opened by a failure, resolved by the next good run) is
/// written once, in its final state, and the work-log lines, notifications
/// and audit rows are appended together. Within the batch every look-up
/// sees the waiting tickets, so the decisions are those of writing each
/// step at once.
pub struct Auto<'a> {
    conn: &'a Connection,
    ctx: &'a Ctx,
    pub counts: TicketCounts,
    work: Work,
    /// The title of the next ticket opened, instead of its class's.
    title: Option<String>,
    /// When the run behind the next `raise` or `recover` ended: the reopen
    /// window runs between run ends (#10 §1).
    run_end: Option<i64>,
}

/// What an [`Auto`] has decided and not yet written.
#[derive(Default)]
struct Work {
    /// Each ticket touched, as stored (`None`: new) and as it is now.
    tickets: Vec<(Option<Ticket>, Ticket)>,
    by_id: HashMap<i64, usize>,
    by_policy: HashMap<i64, Vec<usize>>,
    /// The policies whose open tickets were all read into `tickets`.
    open_read: HashSet<i64>,
    /// The number the next new ticket gets (read when the first is opened).
    next_id: Option<i64>,
    /// Work-log lines: ticket, kind, text (all by bmctl, at `now`).
    notes: Vec<(i64, &'static str, String)>,
    /// Notifications with their payloads as at each change.
    outbox: Vec<(Notice, i64, String)>,
    audit: Vec<audit::Entry>,
    /// CI hosts by id, for the payloads (a held ticket has only the id).
    ci_hosts: HashMap<i64, Option<String>>,
}

impl Work {
    /// Queue `event` for ticket `i` as it is now.
    fn notify(
        &mut self,
        conn: &Connection,
        event: Notice,
        i: usize,
        now: i64,
        reason: Option<&str>,
    ) -> Result<()> {
        let mut t = self.tickets[i].1.clone();
        if let (None, Some(ci)) = (&t.ci, t.ci_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = self.ci_hosts.entry(ci) {
                e.insert(crate::store::cis::host_of(conn, ci)?);
            }
            t.ci = self.ci_hosts[&ci].clone();
        }
        let id = t.id;
        let view = crate::ops::views::TicketView::new(t, now);
        self.outbox
            .push((event, id, crate::ops::hooks::payload(event, &view, reason)));
        Ok(())
    }
}

impl Work {
    /// Hold a ticket as read; one held already is newer than the stored one.
    fn hold(&mut self, t: Ticket) -> usize {
        match self.by_id.get(&t.id) {
            Some(&i) => i,
            None => self.push(Some(t.clone()), t),
        }
    }

    fn add_new(&mut self, t: Ticket) -> usize {
        self.push(None, t)
    }

    /// Hold `t`, stored as `stored` (`None`: not stored yet), found by id and policy.
    fn push(&mut self, stored: Option<Ticket>, t: Ticket) -> usize {
        let i = self.tickets.len();
        self.by_id.insert(t.id, i);
        if let Some(p) = t.policy_id {
            self.by_policy.entry(p).or_default().push(i);
        }
        self.tickets.push((stored, t));
        i
    }

    /// The tickets held of a policy.
    fn of_policy(&self, policy_id: i64) -> impl Iterator<Item = usize> + '_ {
        self.by_policy
            .get(&policy_id)
            .into_iter()
            .flatten()
            .copied()
    }

    /// The open corrective tickets and incidents of a policy, by id.
    fn open_of(&self, policy_id: i64) -> Vec<usize> {
        let mut open: Vec<usize> = self
            .of_policy(policy_id)
            .filter(|&i| {
                let t = &self.tickets[i].1;
                t.is_open() && matches!(t.kind, TicketKind::Corrective | TicketKind::Incident)
            })
            .collect();
        open.sort_by_key(|&i| self.tickets[i].1.id);
        open
    }
}

fn bmctl<'a>(ctx: &'a Ctx) -> Actor<'a> {
    Actor {
        at: ctx.ts(),
        actor: "bmctl",
        command: &ctx.command,
    }
}

impl<'a> Auto<'a> {
    pub fn new(conn: &'a Connection, ctx: &'a Ctx) -> Auto<'a> {
        Auto {
            conn,
            ctx,
            counts: TicketCounts::default(),
            work: Work::default(),
            title: None,
            run_end: None,
        }
    }

    /// The run behind the next `raise` or `recover` ended at `ended`.
    pub fn run_ended(&mut self, ended: i64) -> &mut Self {
        self.run_end = Some(ended);
        self
    }

    /// Open the next new ticket under this title (e.g. a real restore's).
    pub fn titled(&mut self, title: String) -> &mut Self {
        self.title = Some(title);
        self
    }

    /// Write what the automation decided: tickets, work-log lines,
    /// notifications and audit rows. Returns what it did.
    pub fn finish(mut self) -> Result<TicketCounts> {
        let work = std::mem::take(&mut self.work);
        let conn = self.conn;
        // Closing tickets first, then reopening, then opening: the unique
        // index of open problems never sees two open at once.
        let (stored, new): (Vec<_>, Vec<_>) = work.tickets.iter().partition(|(s, _)| s.is_some());
        let (closing, opening): (Vec<_>, Vec<_>) =
            stored.into_iter().partition(|(_, t)| !t.is_open());
        for (before, t) in closing.into_iter().chain(opening) {
            if let Some(before) = before {
                tickets::save(conn, before, t)?;
            }
        }
        let new: Vec<&Ticket> = new.into_iter().map(|(_, t)| t).collect();
        tickets::insert_numbered(conn, &new)?;
        let now = self.ctx.ts();
        tickets::add_notes(conn, now, "bmctl", &work.notes)?;
        crate::store::outbox::push_all(conn, &work.outbox, now)?;
        audit::append(conn, &bmctl(self.ctx), "ticket", work.audit)?;
        Ok(self.counts)
    }

    /// Read a policy's open tickets once per batch.
    fn read_open(&mut self, s: &Subject) -> Result<()> {
        if self.work.open_read.insert(s.policy_id) {
            let open = tickets::open_for_known_policy(
                self.conn,
                s.policy_id,
                &s.client,
                &s.job,
                &s.sla_tier,
            )?;
            for t in open {
                self.work.hold(t);
            }
        }
        Ok(())
    }

    /// The open corrective ticket or incident of a policy for a problem class.
    fn find_open(&mut self, s: &Subject, class: ProblemClass) -> Result<Option<usize>> {
        let policy_id = s.policy_id;
        self.read_open(s)?;
        let open = self.work.open_of(policy_id);
        Ok(open
            .into_iter()
            .find(|&i| self.work.tickets[i].1.class == Some(class)))
    }

    /// The newest ticket of a policy and class auto-resolved at or after `since`.
    fn find_auto_resolved_since(
        &mut self,
        policy_id: i64,
        class: ProblemClass,
        since: i64,
    ) -> Result<Option<usize>> {
        let work = &self.work;
        let held = work
            .of_policy(policy_id)
            .filter(|&i| {
                let t = &work.tickets[i].1;
                t.class == Some(class)
                    && t.status == TicketStatus::Resolved
                    && t.recovered_at.or(t.resolved_at).is_some_and(|r| r >= since)
                    && t.auto_resolved_at.is_some()
            })
            .max_by_key(|&i| {
                let t = &work.tickets[i].1;
                t.recovered_at.or(t.resolved_at)
            });
        let stored = tickets::find_auto_resolved_since(self.conn, policy_id, class, since, |id| {
            work.by_id.contains_key(&id)
        })?;
        let when = |t: &Ticket| t.recovered_at.or(t.resolved_at);
        Ok(match (held, stored) {
            (Some(i), Some(t)) if when(&t) <= when(&work.tickets[i].1) => Some(i),
            (_, Some(t)) => Some(self.work.hold(t)),
            (held, None) => held,
        })
    }

    /// Record a problem of `class` on a policy at instant `at`: append to the
    /// open ticket, reopen one auto-resolved within the reopen window, or open
    /// a new one. RPO breaches open as incidents. Returns the ticket id.
    pub fn raise(
        &mut self,
        s: &Subject,
        class: ProblemClass,
        at: i64,
        detail: &str,
    ) -> Result<i64> {
        self.raise_with(s, class, at, detail, true)
    }

    /// [`Auto::raise`] for a caller that knows whether the policy may have
    /// an open ticket: with `may_be_open` false there is none to look up.
    pub fn raise_with(
        &mut self,
        s: &Subject,
        class: ProblemClass,
        at: i64,
        detail: &str,
        may_be_open: bool,
    ) -> Result<i64> {
        let rules = &self.ctx.rules;
        let now = self.ctx.ts();
        let end = self.run_end.take().unwrap_or(at);
        let open = if may_be_open {
            self.find_open(s, class)?
        } else {
            None
        };
        let recovered = match open {
            Some(_) => None,
            None => self.find_auto_resolved_since(s.policy_id, class, rules.reopen_since(end))?,
        };
        let held = |i: Option<usize>| i.map(|i| &self.work.tickets[i].1);
        let o = Occasion {
            class: Some(class),
            at,
            end,
            detail,
            now,
            sla_tier: &s.sla_tier,
        };
        match rules.on_problem(held(open), held(recovered), end) {
            Some(e) => self.effect(open.or(recovered).expect("a ticket"), e, &o),
            None => {
                let t = rules.open(s, class, at, self.title.take(), now);
                self.opened(t, detail)
            }
        }
    }

    /// Apply `e` to held ticket `i`: change it, log it, notify, count it.
    fn effect(&mut self, i: usize, e: Effect, o: &Occasion<'_>) -> Result<i64> {
        let t = &mut self.work.tickets[i].1;
        let before = t.clone();
        let logged = e.apply(t, o, &self.ctx.rules)?;
        let id = t.id;
        self.logged(i, Some(&before), logged)?;
        Ok(id)
    }

    /// Record what an effect did to held ticket `i` (new: `before` is None).
    fn logged(&mut self, i: usize, before: Option<&Ticket>, l: Logged) -> Result<()> {
        let t = &self.work.tickets[i].1;
        let (b, a) = match before {
            Some(before) => tickets::audit_diff(before, t)?,
            None => audit::diff(None, Some(t))?,
        };
        self.work.notes.push((t.id, l.kind, l.note));
        self.work.audit.push(audit::Entry {
            entity_id: t.id.to_string(),
            before: b,
            after: a,
        });
        if let Some((event, reason)) = l.notify {
            self.work
                .notify(self.conn, event, i, self.ctx.ts(), reason)?;
        }
        match l.count {
            Count::Opened => self.counts.tickets_opened += 1,
            Count::Updated => self.counts.tickets_updated += 1,
            Count::Resolved => self.counts.tickets_resolved += 1,
        }
        Ok(())
    }

    /// Make sure a ticket for an ongoing condition (hung, RPO) is open; unlike
    /// [`raise`], a condition seen again by the next `check` adds nothing.
    pub fn ensure(
        &mut self,
        s: &Subject,
        class: ProblemClass,
        at: i64,
        detail: &str,
    ) -> Result<Option<i64>> {
        if self.find_open(s, class)?.is_some() {
            return Ok(None);
        }
        self.raise(s, class, at, detail).map(Some)
    }

    /// Escalate a corrective ticket to an incident (higher priority), e.g. after
    /// consecutive failures.
    pub fn escalate(&mut self, id: i64, why: &str) -> Result<()> {
        let i = match self.work.by_id.get(&id) {
            Some(&i) => i,
            None => {
                let t = tickets::get(self.conn, id)?;
                self.work.hold(t)
            }
        };
        if let Some(e) = auto::on_escalation(&self.work.tickets[i].1) {
            self.effect_now(i, e, why)?;
        }
        Ok(())
    }

    /// Apply `e`, which is not about a run, to held ticket `i`.
    fn effect_now(&mut self, i: usize, e: Effect, detail: &str) -> Result<i64> {
        let now = self.ctx.ts();
        let t = &self.work.tickets[i].1;
        let (class, sla_tier) = (t.class, t.sla_tier.clone());
        let o = Occasion {
            class,
            at: now,
            end: now,
            detail,
            now,
            sla_tier: &sla_tier,
        };
        self.effect(i, e, &o)
    }

    /// The id of the policy's open ticket of `class`, if any.
    pub fn open_id(&mut self, s: &Subject, class: ProblemClass) -> Result<Option<i64>> {
        Ok(self.find_open(s, class)?.map(|i| self.work.tickets[i].1.id))
    }

    /// An RPO breach nobody saw while it lasted (its runs came after the gap
    /// closed): a P3 corrective ticket asking for the cause, marked recovered
    /// from birth (the gap is over; it asks why, not for a fix).
    pub fn breach_found(&mut self, s: &Subject, from: i64, to: i64) -> Result<i64> {
        let (t, detail) = self.ctx.rules.breach_found(s, from, to, self.ctx.ts());
        self.opened(t, &detail)
    }

    /// Hold a new ticket, numbered, with its first work-log line, audit row
    /// and `open` notification.
    fn opened(&mut self, mut t: Ticket, detail: &str) -> Result<i64> {
        let id = match self.work.next_id {
            Some(id) => id,
            None => tickets::next_id(self.conn)?,
        };
        self.work.next_id = Some(id + 1);
        t.id = id;
        let i = self.work.add_new(t);
        self.logged(i, None, Logged::opened(detail))?;
        Ok(id)
    }

    /// Add a work-log line to the policy's open ticket of `class`, if any.
    pub fn note_open(&mut self, s: &Subject, class: ProblemClass, text: &str) -> Result<bool> {
        let Some(i) = self.find_open(s, class)? else {
            return Ok(false);
        };
        self.effect_now(i, Effect::Note, text)?;
        Ok(true)
    }

    /// Whether the policy has an open ticket of `class` not marked recovered.
    pub fn is_open(&mut self, s: &Subject, class: ProblemClass) -> Result<bool> {
        Ok(self
            .find_open(s, class)?
            .is_some_and(|i| self.work.tickets[i].1.recovered_at.is_none()))
    }

    /// Late data took away every cause of the policy's open ticket of
    /// `class` (DESIGN principle 3): untouched by a person, it closes as
    /// `superseded` (an incident: `withdrawn`); touched, it gets a note and
    /// stays with its person. Returns whether a ticket was withdrawn or noted.
    /// `gone` says, of the open ticket, whether its every cause is gone.
    pub fn withdraw_if(
        &mut self,
        s: &Subject,
        class: ProblemClass,
        detail: &str,
        gone: impl FnOnce(&Ticket) -> Result<bool>,
    ) -> Result<bool> {
        let Some(i) = self.find_open(s, class)? else {
            return Ok(false);
        };
        let t = &self.work.tickets[i].1;
        if !gone(t)? {
            return Ok(false);
        }
        let touched = t.linked_ticket_id.is_some() || self.touched(t)?;
        let e = auto::on_cause_gone(t, touched, false);
        self.effect_now(i, e, detail)?;
        Ok(true)
    }

    /// Whether a person has worked on `t`.
    fn touched(&self, t: &Ticket) -> Result<bool> {
        Ok(t.started_at.is_some()
            || t.psa_ref.is_some()
            || tickets::touched_by_a_person(self.conn, t.id)?)
    }

    /// The policy was retired: its open corrective tickets and incidents
    /// close as `decommissioned`; one a person has touched gets a note and
    /// stays with them.
    pub fn decommission(&mut self, s: &Subject, why: &str) -> Result<()> {
        self.read_open(s)?;
        for i in self.work.open_of(s.policy_id) {
            let t = &self.work.tickets[i].1;
            let e = auto::on_cause_gone(t, self.touched(t)?, true);
            self.effect_now(i, e, why)?;
        }
        Ok(())
    }

    /// A good run at `at` clears the policy's open problems of `classes`:
    /// corrective tickets are auto-resolved (when the rules allow), incidents get
    /// one "recovered" note and wait for a person.
    pub fn recover(
        &mut self,
        s: &Subject,
        classes: &[ProblemClass],
        at: i64,
        detail: &str,
    ) -> Result<()> {
        let end = self.run_end.take().unwrap_or(at);
        self.read_open(s)?;
        for i in self.work.open_of(s.policy_id) {
            let t = &self.work.tickets[i].1;
            let Some(&class) = classes.iter().find(|&&c| t.class == Some(c)) else {
                continue;
            };
            if let Some(e) = self.ctx.rules.on_recovery(t) {
                let o = Occasion {
                    class: Some(class),
                    at,
                    end,
                    detail,
                    now: self.ctx.ts(),
                    sla_tier: &s.sla_tier,
                };
                self.effect(i, e, &o)?;
            }
        }
        Ok(())
    }
}
