//! 05f.02 event management: job events in, idempotently; per-policy state,
//! daily rollups and corrective tickets follow in the same transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufReader, Seek};
use std::path::Path;

use anyhow::{Context, Result};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;

use crate::domain::event::{NewEvent, Operation, Status};
use crate::domain::time::{local_day, rfc3339};
use crate::error::rejected;
use crate::ingest::neutral::{self, InputFormat};
use crate::ingest::{Rejection, ToolRun};
use crate::ops::correct::{self, Rules, Subject, TicketCounts};
use crate::ops::Ctx;
use crate::store::events::{self, Rollup};
use crate::store::{clients, policies, Store};

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
    #[serde(flatten)]
    pub tickets: TicketCounts,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pending {
    at: i64,
    ended: i64,
    status: Status,
    check: bool,
    detail: String,
}

/// Streams events into the database; call [`Ingestor::flush`] before each
/// commit. Caches clients and policies across batches.
pub struct Ingestor {
    rules: Rules,
    clients: HashMap<String, Option<(i64, Tz)>>,
    policies: HashMap<(i64, String), Option<Subject>>,
    pending: BTreeMap<i64, (Subject, Vec<Pending>)>,
    rollups: HashMap<(i64, i64), Rollup>,
    pub summary: Summary,
}

impl Ingestor {
    pub fn new(rules: Rules) -> Ingestor {
        Ingestor {
            rules,
            clients: HashMap::new(),
            policies: HashMap::new(),
            pending: BTreeMap::new(),
            rollups: HashMap::new(),
            summary: Summary::default(),
        }
    }

    fn client(&mut self, conn: &Connection, code: &str) -> Result<Option<(i64, Tz)>> {
        if let Some(c) = self.clients.get(code) {
            return Ok(*c);
        }
        let c = clients::find(conn, code)?.map(|c| (c.id, c.tz()));
        self.clients.insert(code.to_string(), c);
        Ok(c)
    }

    fn policy(
        &mut self,
        conn: &Connection,
        client_id: i64,
        client: &str,
        job: &str,
    ) -> Result<Option<Subject>> {
        let key = (client_id, job.to_string());
        if let Some(p) = self.policies.get(&key) {
            return Ok(p.clone());
        }
        let p = policies::find(conn, client_id, job)?
            .filter(|p| p.status == "active")
            .map(|p| Subject {
                client_id,
                client: client.to_string(),
                policy_id: p.id,
                ci_id: p.ci_id,
                tier: p.tier,
                job: p.spec.job.clone(),
            });
        self.policies.insert(key, p.clone());
        Ok(p)
    }

    /// Record one event (a duplicate is counted and otherwise ignored).
    pub fn add(&mut self, conn: &Connection, ev: &NewEvent) -> Result<()> {
        self.summary.read += 1;
        let Some((client_id, tz)) = self.client(conn, &ev.client)? else {
            return Err(rejected(format!(
                "client: unknown client '{}'; onboard it with `bmctl plan import` first",
                ev.client
            )));
        };
        let subject = self.policy(conn, client_id, &ev.client, &ev.job)?;
        let unmatched_id = match subject {
            Some(_) => None,
            None => Some(events::unmatched_job(conn, client_id, &ev.job, ev.at())?),
        };
        let (xid, xkind) = ev.key();
        let snapshot = ev
            .snapshot
            .as_deref()
            .filter(|s| Some(*s) != ev.external_id.as_deref());
        let new = events::insert(
            conn,
            &events::Insert {
                client_id,
                policy_id: subject.as_ref().map(|s| s.policy_id),
                unmatched_id,
                check: ev.operation == Operation::Check,
                status: ev.status.as_str(),
                started_at: ev.started_at,
                ended_at: ev.ended_at,
                bytes: ev.bytes,
                files: ev.files,
                source: &ev.source,
                xid,
                xkind,
                ext_text: if xkind == -1 {
                    ev.external_id.as_deref()
                } else {
                    None
                },
                snapshot,
                message: ev.message.as_deref(),
            },
        )?;
        if !new {
            self.summary.duplicate += 1;
            return Ok(());
        }
        self.summary.new += 1;
        if ev.operation == Operation::Backup && ev.status != Status::Missed {
            let r = self
                .rollups
                .entry((client_id, local_day(ev.at(), tz)))
                .or_default();
            r.runs += 1;
            r.bytes += ev.bytes.unwrap_or(0);
            match ev.status {
                Status::Success => r.runs_success += 1,
                Status::Warning => r.runs_warning += 1,
                _ => r.runs_failed += 1,
            }
        }
        match subject {
            None => self.summary.unmatched += 1,
            Some(s) => {
                let detail = format!(
                    "{} {} at {}{}",
                    ev.operation.as_str(),
                    ev.status.as_str(),
                    rfc3339(ev.at()),
                    ev.message
                        .as_deref()
                        .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
                        .unwrap_or_default()
                );
                self.pending
                    .entry(s.policy_id)
                    .or_insert_with(|| (s, Vec::new()))
                    .1
                    .push(Pending {
                        at: ev.at(),
                        ended: ev.ended_at,
                        status: ev.status,
                        check: ev.operation == Operation::Check,
                        detail,
                    });
            }
        }
        Ok(())
    }

    /// Apply what the added events mean: rollups, per-policy state, tickets.
    pub fn flush(&mut self, conn: &Connection, ctx: &Ctx) -> Result<()> {
        for ((client_id, day), r) in self.rollups.drain() {
            events::rollup_add(conn, client_id, day, &r)?;
        }
        let mut auto = correct::Auto {
            conn,
            ctx,
            rules: self.rules,
            counts: TicketCounts::default(),
        };
        let rules = self.rules;
        for (policy_id, (subject, mut runs)) in std::mem::take(&mut self.pending) {
            runs.sort_by_key(|r| (r.at, r.ended));
            let mut st = policies::state(conn, policy_id)?;
            for r in runs {
                if r.check {
                    match r.status {
                        Status::Failed | Status::Missed => {
                            auto.raise(&subject, "integrity", r.at, &r.detail)?;
                        }
                        _ => auto.recover(policy_id, &["integrity"], r.at, &r.detail)?,
                    }
                    continue;
                }
                if st.running_since.is_some_and(|s| r.at >= s) {
                    st.running_since = None;
                }
                if st.last_event_at.is_some_and(|last| r.at < last) {
                    continue; // an older run arriving late: history, not news
                }
                st.last_event_at = Some(r.at);
                st.last_status = Some(r.status.as_str().to_string());
                match r.status {
                    Status::Success => {
                        st.last_success_at =
                            Some(st.last_success_at.unwrap_or(r.ended).max(r.ended));
                        st.consecutive_failures = 0;
                        st.consecutive_warnings = 0;
                        auto.recover(
                            policy_id,
                            &["failed", "missed", "hung", "warning", "rpo"],
                            r.at,
                            &r.detail,
                        )?;
                    }
                    Status::Warning => {
                        // A snapshot was made: a restore point for the RPO.
                        st.last_success_at =
                            Some(st.last_success_at.unwrap_or(r.ended).max(r.ended));
                        st.consecutive_failures = 0;
                        st.consecutive_warnings += 1;
                        auto.recover(policy_id, &["hung", "rpo"], r.at, &r.detail)?;
                        if st.consecutive_warnings >= rules.warnings_before {
                            let detail = format!(
                                "{} warnings in a row; last: {}",
                                st.consecutive_warnings, r.detail
                            );
                            auto.raise(&subject, "warning", r.at, &detail)?;
                        }
                    }
                    Status::Failed | Status::Missed => {
                        st.consecutive_failures += 1;
                        st.consecutive_warnings = 0;
                        let class = if r.status == Status::Failed {
                            "failed"
                        } else {
                            "missed"
                        };
                        let id = auto.raise(&subject, class, r.at, &r.detail)?;
                        if st.consecutive_failures >= rules.escalate_after {
                            let why = format!(
                                "{} consecutive failed or missed runs",
                                st.consecutive_failures
                            );
                            auto.escalate(id, &why)?;
                        }
                    }
                }
            }
            policies::set_state(conn, policy_id, &st)?;
        }
        self.summary.tickets.add(auto.counts);
        Ok(())
    }
}

/// Import a neutral file (JSON lines or CSV): validate it whole, then write
/// in batches. By default one bad line rejects the file (nothing written);
/// with `skip_invalid` the valid lines land and each rejected one is reported.
/// A neutral file to import: where it is, what to call it in messages, how to read it.
pub struct Input<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub format: InputFormat,
    pub skip_invalid: bool,
}

pub fn import(
    store: &mut Store,
    ctx: &Ctx,
    rules: Rules,
    input_file: &Input<'_>,
    mut progress: impl FnMut(usize),
) -> Result<Summary> {
    let Input {
        path: file,
        name,
        format,
        skip_invalid,
    } = *input_file;
    let known: HashSet<String> = clients::list(&store.conn)?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let mut input = std::fs::File::open(file).with_context(|| format!("opening {name}"))?;
    let mut bad: HashSet<usize> = HashSet::new();
    let mut rejections = Vec::new();
    for (line, item) in neutral::read(BufReader::new(&input), format) {
        let problem = match item {
            Err(r) => Some(r),
            Ok(ev) if !known.contains(&ev.client) => Some(Rejection::new(
                line,
                "client",
                format!(
                    "unknown client '{}'; onboard it with `bmctl plan import` first",
                    ev.client
                ),
            )),
            Ok(_) => None,
        };
        if let Some(r) = problem {
            if !skip_invalid {
                return Err(rejected(format!(
                    "{} (nothing was written; --skip-invalid writes the valid lines)",
                    r.describe(name)
                )));
            }
            bad.insert(line);
            rejections.push(r.describe(name));
        }
    }
    input.rewind()?;
    let mut ing = Ingestor::new(rules);
    let mut tx = store.write()?;
    let mut in_batch = 0;
    for (line, item) in neutral::read(BufReader::new(&input), format) {
        if bad.contains(&line) {
            continue;
        }
        let Ok(ev) = item else { continue };
        ing.add(&tx, &ev)?;
        in_batch += 1;
        if in_batch == BATCH {
            ing.flush(&tx, ctx)?;
            tx.commit()?;
            progress(ing.summary.read);
            tx = store.write()?;
            in_batch = 0;
        }
    }
    ing.flush(&tx, ctx)?;
    tx.commit()?;
    progress(ing.summary.read);
    let mut summary = ing.summary;
    summary.rejected = rejections.len();
    summary.rejections = rejections;
    Ok(summary)
}

/// Ingest events already in memory (tool output, `run`) in one transaction.
pub fn ingest(store: &mut Store, ctx: &Ctx, rules: Rules, evs: &[NewEvent]) -> Result<Summary> {
    let mut ing = Ingestor::new(rules);
    let tx = store.write()?;
    for ev in evs {
        ing.add(&tx, ev)?;
    }
    ing.flush(&tx, ctx)?;
    tx.commit()?;
    Ok(ing.summary)
}

/// How a tool's runs find their policy.
pub enum Target {
    /// Every run belongs to this client's job.
    Job { client: String, job: String },
    /// Runs are matched by the client's policies' `match` rules (host, tags;
    /// for borg, an archive name starting with the host or the job name).
    Client(String),
}

/// Turn a tool's runs into events of `source`, mapped to policies.
pub fn map_tool_runs(
    conn: &Connection,
    source: &str,
    target: &Target,
    runs: Vec<ToolRun>,
    ended_default: i64,
) -> Result<Vec<NewEvent>> {
    let (client, fixed_job) = match target {
        Target::Job { client, job } => (client.clone(), Some(job.clone())),
        Target::Client(c) => (c.clone(), None),
    };
    let c = clients::get(conn, &client)?;
    let pols = policies::list(conn, c.id, false)?;
    let mut out = Vec::new();
    for r in runs {
        let job = match &fixed_job {
            Some(j) => j.clone(),
            None => {
                let found = pols.iter().find(|p| {
                    let m = &p.spec.match_rule;
                    if source == "borg" {
                        let name = r.name.as_deref().unwrap_or("");
                        let prefix = m.host.as_deref().unwrap_or(&p.spec.job);
                        p.spec.tool == "borg" && name.starts_with(prefix)
                    } else {
                        !m.is_empty()
                            && p.spec.tool == source
                            && m.host
                                .as_deref()
                                .is_none_or(|h| r.host.as_deref() == Some(h))
                            && m.tags.iter().all(|t| r.tags.contains(t))
                    }
                });
                match found {
                    Some(p) => p.spec.job.clone(),
                    // A run the plan does not know: kept as unmatched, named by what the tool said.
                    None => match (&r.name, &r.host) {
                        (Some(n), _) => n.clone(),
                        (None, Some(h)) if r.tags.is_empty() => h.clone(),
                        (None, Some(h)) => format!("{h}:{}", r.tags.join(",")),
                        (None, None) => "unknown".into(),
                    },
                }
            }
        };
        let ended = r.ended_at.or(r.started_at).unwrap_or(ended_default);
        let ev = NewEvent {
            client: client.clone(),
            job,
            operation: Operation::Backup,
            status: r.status.unwrap_or(Status::Success),
            started_at: r.started_at.filter(|s| *s <= ended),
            ended_at: ended,
            bytes: r.bytes,
            files: r.files,
            snapshot: None,
            source: source.to_string(),
            external_id: r.id,
            message: r.message,
        };
        ev.validate()
            .map_err(|(field, msg)| rejected(format!("{field}: {msg}")))?;
        out.push(ev);
    }
    Ok(out)
}
