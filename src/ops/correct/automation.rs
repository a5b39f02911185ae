//! The automation at work inside one transaction: tickets found, decided on
//! by `domain::automation::tickets`, their effects held by the store's
//! `TicketWriter` and written once at the end.

use super::*;
use crate::store::ticket_writer::TicketWriter;

/// The automation at work inside one transaction: what bmctl does to
/// tickets when events arrive and `check` finds problems.
///
/// Its writes wait in a [`TicketWriter`] until [`Auto::finish`].
pub struct Auto<'a> {
    conn: &'a Db,
    ctx: &'a Ctx,
    pub counts: TicketCounts,
    work: TicketWriter,
    /// The title of the next ticket opened, instead of its class's.
    title: Option<String>,
    /// When the run behind the next `raise` or `recover` ended: the reopen
    /// window runs between run ends (#10 §1).
    run_end: Option<i64>,
}

fn bmctl<'a>(ctx: &'a Ctx) -> Actor<'a> {
    Actor {
        at: ctx.ts(),
        actor: "bmctl",
        command: &ctx.command,
    }
}

impl<'a> Auto<'a> {
    pub fn new(conn: &'a Db, ctx: &'a Ctx) -> Auto<'a> {
        Auto {
            conn,
            ctx,
            counts: TicketCounts::default(),
            work: TicketWriter::default(),
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
    pub fn finish(self) -> Result<TicketCounts> {
        self.work.finish(self.conn, &bmctl(self.ctx))?;
        Ok(self.counts)
    }

    /// The open corrective ticket or incident of a policy for a problem class.
    fn find_open(&mut self, s: &Subject, class: ProblemClass) -> Result<Option<usize>> {
        let open = self.work.open_of(self.conn, s)?;
        Ok(open
            .into_iter()
            .find(|&i| self.work.ticket(i).class == Some(class)))
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
            None => {
                let since = rules.reopen_since(end);
                (self.work).auto_resolved_since(self.conn, s.policy_id, class, since)?
            }
        };
        let held = |i: Option<usize>| i.map(|i| self.work.ticket(i));
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
        let t = self.work.ticket_mut(i);
        let before = t.clone();
        let logged = e.apply(t, o, &self.ctx.rules)?;
        let id = t.id;
        self.logged(i, Some(&before), logged)?;
        Ok(id)
    }

    /// Record what an effect did to held ticket `i` (new: `before` is None).
    fn logged(&mut self, i: usize, before: Option<&Ticket>, l: Logged) -> Result<()> {
        self.work.record(i, before, l.kind, l.note)?;
        if let Some((event, reason)) = l.notify {
            let t = self.work.with_host(self.conn, i)?;
            let id = t.id;
            let view = crate::ops::views::TicketView::new(t, self.ctx.ts());
            let payload = crate::ops::hooks::payload(event, &view, reason);
            self.work.notify(event, id, payload);
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
        let i = self.work.get(self.conn, id)?;
        if let Some(e) = auto::on_escalation(self.work.ticket(i)) {
            self.effect_now(i, e, why)?;
        }
        Ok(())
    }

    /// Apply `e`, which is not about a run, to held ticket `i`.
    fn effect_now(&mut self, i: usize, e: Effect, detail: &str) -> Result<i64> {
        let now = self.ctx.ts();
        let t = self.work.ticket(i);
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
        Ok(self.find_open(s, class)?.map(|i| self.work.ticket(i).id))
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
    fn opened(&mut self, t: Ticket, detail: &str) -> Result<i64> {
        let i = self.work.add_new(self.conn, t)?;
        self.logged(i, None, Logged::opened(detail))?;
        Ok(self.work.ticket(i).id)
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
            .is_some_and(|i| self.work.ticket(i).recovered_at.is_none()))
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
        let t = self.work.ticket(i);
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
        for i in self.work.open_of(self.conn, s)? {
            let t = self.work.ticket(i);
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
        for i in self.work.open_of(self.conn, s)? {
            let t = self.work.ticket(i);
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
