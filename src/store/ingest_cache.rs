//! What an ingestor looks up per event, read once and kept across batches:
//! clients by code, event sources by name, each client's active policies by
//! job. Dropped when another connection commits (`PRAGMA data_version`), so
//! the ids an import writes are ones its transaction has seen.

use crate::store::Db;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::rc::Rc;

use anyhow::Result;
use chrono_tz::Tz;

use super::{bulk, clients, events, policies};
use crate::domain::automation::tickets::Subject;

/// The ingestor's maps are hashed per event: FNV-1a over a few bytes is
/// several times cheaper than std's DoS-resistant SipHash, and their keys
/// come from the operator's own plan and files.
pub type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
    fn write_i64(&mut self, v: i64) {
        // one multiply-xorshift per integer key
        let h = (self.0 ^ v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

/// A client's active policies by job.
type Jobs = FastMap<Rc<str>, Rc<Subject>>;

struct LastClient {
    code: String,
    client: Option<(i64, Tz)>,
    jobs: Option<Rc<Jobs>>,
}

/// The look-ups of an ingestor.
#[derive(Default)]
pub struct Lookups {
    clients: FastMap<String, Option<(i64, Tz)>>,
    sources: FastMap<String, i64>,
    /// Per client: its active policies by job.
    policies: FastMap<i64, Rc<Jobs>>,
    /// The previous event's client and its jobs: `events import` sorts each
    /// window by client, so most events repeat it (two map look-ups saved).
    last: Option<LastClient>,
    /// `PRAGMA data_version` when the look-ups were last known good.
    data_version: Option<i64>,
}

impl Lookups {
    /// At the start of a write transaction: whether another connection has
    /// committed since the last one (then the look-ups are forgotten, and
    /// what the caller holds should be too).
    pub fn stale(&mut self, conn: &Db) -> Result<bool> {
        let version = bulk::data_version(conn)?;
        if self.data_version == Some(version) {
            return Ok(false);
        }
        self.forget();
        self.data_version = Some(version);
        Ok(true)
    }

    /// Forget everything (a transaction that will not commit read it).
    pub fn forget(&mut self) {
        self.clients.clear();
        self.sources.clear();
        self.policies.clear();
        self.last = None;
        self.data_version = None;
    }

    pub fn client(&mut self, conn: &Db, code: &str) -> Result<Option<(i64, Tz)>> {
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

    pub fn policy(
        &mut self,
        conn: &Db,
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
                    .map(|(job, policy_id, ci_id, tier, grace_s, rpo_s, ci, judge)| {
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
                            judge,
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

    pub fn source(&mut self, conn: &Db, name: &str) -> Result<i64> {
        Ok(match self.sources.get(name) {
            Some(id) => *id,
            None => {
                let id = events::source_id(conn, name)?;
                self.sources.insert(name.to_string(), id);
                id
            }
        })
    }
}
