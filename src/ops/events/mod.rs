//! 05f.02 event management: job events in, idempotently; per-policy state,
//! daily rollups and corrective tickets follow in the same transaction.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;

use crate::store::Db;
use anyhow::{Context, Result};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::automation::{judge_history, PolicyState, ProblemClass, Raise, Step};
use crate::domain::event::{redelivery, NewEvent, Operation, Redelivery, Status};
use crate::domain::time::{from_unix, rfc3339};
use crate::error::rejected;
use crate::ingest::neutral::{self, InputFormat};
use crate::ingest::{Rejection, ToolRun};
use crate::ops::correct::{self, Subject, TicketCounts};
use crate::ops::late::{self, LateRun};
use crate::ops::Ctx;
use crate::store::event_writer::{EventWriter, Keyed, Ready};
use crate::store::events::{self, Rollup};
use crate::store::ingest_cache::FastMap;
use crate::store::{bulk, clients, policies, running, Store};

/// Events written per transaction in bulk imports (DESIGN: Storage).
pub const BATCH: usize = 10_000;

/// What an ingestion did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub read: usize,
    pub new: usize,
    pub duplicate: usize,
    pub unmatched: usize,
    pub rejected: usize,
    /// Runs dated past now + `ingest.max_future`: held as clock skew, not applied.
    pub held: usize,
    /// Known runs re-delivered with other facts: the stored run is kept.
    pub conflicting: usize,
    /// Runs on days `db prune` removed: their counts are in the rollups already.
    pub pruned: usize,
    /// Start records of runs still going (neutral `"status": "running"`).
    pub running: usize,
    /// History: windows of the span the file covers with no run, recorded
    /// as missed (not in `new`).
    pub missed: usize,
    #[serde(flatten)]
    pub tickets: TicketCounts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pending {
    /// Its policy (also in the subject beside it: here the sort reads it
    /// without a pointer chase).
    policy_id: i64,
    /// Its place among the batch's runs: equal times keep the input's order.
    seq: u32,
    at: i64,
    ended: i64,
    status: Status,
    check: bool,
    message: Option<Box<str>>,
    /// A successful backup's source size and level, for the small-backup check.
    size: Option<(i64, Option<crate::domain::automation::judge::Level>)>,
}

impl Pending {
    /// What a ticket's work log says about this run (made only when needed).
    fn detail(&self) -> String {
        format!(
            "{} {} at {}{}",
            if self.check { "check" } else { "backup" },
            self.status.as_str(),
            rfc3339(self.at),
            self.message
                .as_deref()
                .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
                .unwrap_or_default()
        )
    }
}

impl Default for Ingestor {
    fn default() -> Self {
        Ingestor::new()
    }
}

/// Streams events into the database; call [`Ingestor::flush`] before each
/// commit. Caches clients and policies across batches.
pub struct Ingestor {
    /// Look-ups, keys, inserts, held states and rollups.
    writer: EventWriter,
    /// The runs added since the last flush (sorted by policy and time there).
    pending: Vec<(Rc<Subject>, Pending)>,
    /// A history import's newest new runs per policy: what
    /// [`Ingestor::finish_history`] judges. `None`: a live import, whose
    /// every run goes through the ticket automation.
    history: Option<FastMap<i64, Newest>>,
    /// The latest instant a run may carry to be applied (now + max_future).
    limit: i64,
    /// `ingest.max_future` (for messages).
    slack: i64,
    /// `ingest.same_run_skew`.
    skew: i64,
    /// Conflicting re-deliveries since the last flush, for the audit log.
    conflict_rows: Vec<crate::store::audit::Entry>,
    /// The policies that may have an open corrective ticket or incident
    /// (a superset), read once and kept while no other process writes.
    with_open: Option<std::collections::HashSet<i64>>,
    /// What the events written since the last flush did to the digests.
    digests: crate::store::digests::Delta,
    /// Start records of runs still going since the last flush: (policy,
    /// client, start, source).
    starts: Vec<(Rc<Subject>, i64, i64)>,
    /// A history import's span per client: (earliest start, newest end).
    spans: FastMap<i64, (i64, i64, Tz)>,
    /// `events import --history --from T`: where its span starts.
    history_from: Option<i64>,
    pub summary: Summary,
}

/// The newest backup run and check of a policy that a history import wrote.
struct Newest {
    subject: Rc<Subject>,
    // boxed: a large MSP's 50,000 entries stay a small table
    backup: Option<Box<Pending>>,
    check: Option<Box<Pending>>,
}

/// A neutral file to import: where it is, what to call it in messages, how to read it.
pub struct Input<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub format: InputFormat,
    pub skip_invalid: bool,
    /// Past runs (onboarding, a backfill): see [`Ingestor::for_history`].
    pub history: bool,
    /// Where a history import's span starts (`--from`), else at each
    /// client's earliest run.
    pub history_from: Option<i64>,
    /// Check and count what would change; commit nothing.
    pub dry_run: bool,
}

mod apply;
mod history;
mod import;
mod ingestor;
mod insert;
mod map;
#[cfg(test)]
mod tests;

use apply::*;
use import::*;
pub use import::{import, ingest, CHECK_WHILE_WRITING};
pub use map::{
    all_policies, map_named_runs, map_tool_runs, named_policy, place_named_runs, Target,
};
