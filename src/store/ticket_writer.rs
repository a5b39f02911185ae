//! The ticket automation's write-behind: the tickets one batch touches,
//! held in memory with their work-log lines, notifications and audit rows,
//! and written once at the end (a ticket opened by a failure and resolved
//! by the next good run is one insert). Every look-up of the batch sees the
//! held tickets, so decisions are those of writing each step at once.

use crate::store::Db;
use std::collections::{HashMap, HashSet};

use anyhow::Result;

use super::audit::{self, Actor};
use super::tickets;
use crate::domain::automation::tickets::Subject;
use crate::domain::ticket::{Notice, ProblemClass, Ticket, TicketKind, TicketStatus};

/// What the automation has decided and not yet written.
#[derive(Default)]
pub struct TicketWriter {
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

impl TicketWriter {
    /// Held ticket `i` as it is now.
    pub fn ticket(&self, i: usize) -> &Ticket {
        &self.tickets[i].1
    }

    pub fn ticket_mut(&mut self, i: usize) -> &mut Ticket {
        &mut self.tickets[i].1
    }

    /// Ticket `id`, held (read once).
    pub fn get(&mut self, conn: &Db, id: i64) -> Result<usize> {
        match self.by_id.get(&id) {
            Some(&i) => Ok(i),
            None => Ok(self.hold(tickets::get(conn, id)?)),
        }
    }

    /// Hold a ticket as read; one held already is newer than the stored one.
    fn hold(&mut self, t: Ticket) -> usize {
        match self.by_id.get(&t.id) {
            Some(&i) => i,
            None => self.push(Some(t.clone()), t),
        }
    }

    /// Hold new ticket `t`, numbered; its index.
    pub fn add_new(&mut self, conn: &Db, mut t: Ticket) -> Result<usize> {
        let id = match self.next_id {
            Some(id) => id,
            None => tickets::next_id(conn)?,
        };
        self.next_id = Some(id + 1);
        t.id = id;
        Ok(self.push(None, t))
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

    /// The open corrective tickets and incidents of `s`'s policy, by id (read
    /// once per batch).
    pub fn open_of(&mut self, conn: &Db, s: &Subject) -> Result<Vec<usize>> {
        if self.open_read.insert(s.policy_id) {
            let open =
                tickets::open_for_known_policy(conn, s.policy_id, &s.client, &s.job, &s.sla_tier)?;
            for t in open {
                self.hold(t);
            }
        }
        let mut open: Vec<usize> = self
            .of_policy(s.policy_id)
            .filter(|&i| {
                let t = &self.tickets[i].1;
                t.is_open() && matches!(t.kind, TicketKind::Corrective | TicketKind::Incident)
            })
            .collect();
        open.sort_by_key(|&i| self.tickets[i].1.id);
        Ok(open)
    }

    /// The newest ticket of a policy and class auto-resolved at or after `since`.
    pub fn auto_resolved_since(
        &mut self,
        conn: &Db,
        policy_id: i64,
        class: ProblemClass,
        since: i64,
    ) -> Result<Option<usize>> {
        let when = |t: &Ticket| t.recovered_at.or(t.resolved_at);
        let held = self
            .of_policy(policy_id)
            .filter(|&i| {
                let t = &self.tickets[i].1;
                t.class == Some(class)
                    && t.status == TicketStatus::Resolved
                    && when(t).is_some_and(|r| r >= since)
                    && t.auto_resolved_at.is_some()
            })
            .max_by_key(|&i| when(&self.tickets[i].1));
        let stored = tickets::find_auto_resolved_since(conn, policy_id, class, since, |id| {
            self.by_id.contains_key(&id)
        })?;
        Ok(match (held, stored) {
            (Some(i), Some(t)) if when(&t) <= when(&self.tickets[i].1) => Some(i),
            (_, Some(t)) => Some(self.hold(t)),
            (held, None) => held,
        })
    }

    /// Record a change of held ticket `i` from `before` (`None`: it is new):
    /// a work-log line and an audit row.
    pub fn record(
        &mut self,
        i: usize,
        before: Option<&Ticket>,
        kind: &'static str,
        note: String,
    ) -> Result<()> {
        let t = &self.tickets[i].1;
        let (b, a) = match before {
            Some(before) => tickets::audit_diff(before, t)?,
            None => audit::diff(None, Some(t))?,
        };
        self.notes.push((t.id, kind, note));
        self.audit.push(audit::Entry {
            entity_id: t.id.to_string(),
            before: b,
            after: a,
        });
        Ok(())
    }

    /// Held ticket `i` with its CI's host, as a notification names it.
    pub fn with_host(&mut self, conn: &Db, i: usize) -> Result<Ticket> {
        let mut t = self.tickets[i].1.clone();
        if let (None, Some(ci)) = (&t.ci, t.ci_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = self.ci_hosts.entry(ci) {
                e.insert(super::cis::host_of(conn, ci)?);
            }
            t.ci = self.ci_hosts[&ci].clone();
        }
        Ok(t)
    }

    /// Queue notification `event` of ticket `id` with its payload.
    pub fn notify(&mut self, event: Notice, id: i64, payload: String) {
        self.outbox.push((event, id, payload));
    }

    /// Write what was decided: tickets, work-log lines, notifications and
    /// audit rows, by `who` at `now`.
    pub fn finish(self, conn: &Db, who: &Actor<'_>) -> Result<()> {
        // Closing tickets first, then reopening, then opening: the unique
        // index of open problems never sees two open at once.
        let (stored, new): (Vec<_>, Vec<_>) = self.tickets.iter().partition(|(s, _)| s.is_some());
        let (closing, opening): (Vec<_>, Vec<_>) =
            stored.into_iter().partition(|(_, t)| !t.is_open());
        for (before, t) in closing.into_iter().chain(opening) {
            if let Some(before) = before {
                tickets::save(conn, before, t)?;
            }
        }
        let new: Vec<&Ticket> = new.into_iter().map(|(_, t)| t).collect();
        tickets::insert_numbered(conn, &new)?;
        tickets::add_notes(conn, who.at, who.actor, &self.notes)?;
        super::outbox::push_all(conn, &self.outbox, who.at)?;
        audit::append(conn, who, "ticket", self.audit)
    }
}
