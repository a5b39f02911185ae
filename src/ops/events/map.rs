//! A backup tool's runs as events of their policies.

use super::*;
use crate::store::policies::PolicyRow;

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
    store: &Store,
    source: &str,
    target: &Target,
    runs: Vec<ToolRun>,
    ended_default: i64,
) -> Result<Vec<NewEvent>> {
    let conn = store.db();
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
        let r = ToolRun {
            status: Some(r.status.unwrap_or(Status::Success)),
            ended_at: Some(ended),
            ..r
        };
        out.push(event_of(&client, job, source, r)?);
    }
    Ok(out)
}

/// A tool's finished run as the event of `client`'s `job`, validated.
fn event_of(client: &str, job: String, source: &str, r: ToolRun) -> Result<NewEvent> {
    let ended = r.ended_at.or(r.started_at).unwrap_or_default();
    let ev = NewEvent {
        level: r.level,
        client: client.to_string(),
        job,
        operation: if r.check {
            Operation::Check
        } else {
            Operation::Backup
        },
        status: r.status.unwrap_or(Status::Failed),
        started_at: r.started_at.filter(|s| *s <= ended),
        ended_at: ended,
        bytes: r.bytes,
        files: r.files,
        snapshot: None,
        source: source.to_string(),
        external_id: r.id,
        // a tool's message is its own text: control characters dropped
        message: r.message.map(|m| {
            m.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .collect()
        }),
    };
    ev.validate()
        .map_err(|(field, msg)| rejected(format!("{field}: {msg}")))?;
    Ok(ev)
}

/// Runs that carry the tool's own job name (Bacula, a JSON source), each
/// with its client when the source knows it. A run matches the policy whose
/// `match` names it (`director` + `bacula_job` for Bacula, `name` for the
/// others), else the policy of the same job name; an unmatched run is an
/// unmatched event of its client (`fallback` when the run has none).
pub fn map_named_runs(
    store: &Store,
    source: &str,
    fallback: Option<&str>,
    runs: Vec<(Option<String>, ToolRun)>,
) -> Result<Vec<NewEvent>> {
    let (out, unplaced) = place_named_runs(store.db(), source, fallback, runs)?;
    if !unplaced.is_empty() {
        let mut nowhere: Vec<String> = unplaced.into_iter().filter_map(|r| r.job).collect();
        nowhere.sort();
        nowhere.dedup();
        return Err(rejected(format!(
            "no policy matches the {source} job(s) {}: map them in the plan (`match = {{ bacula_job = \"…\", director = \"…\" }}` or a job of the same name), or give --client CLIENT to keep them as unmatched events; nothing was written",
            nowhere.join(", ")
        )));
    }
    Ok(out)
}

/// Every active policy, with its client's code.
pub fn all_policies(conn: &crate::store::Db) -> Result<Vec<(String, PolicyRow)>> {
    let mut pols = Vec::new();
    for c in clients::list(conn)? {
        for p in policies::list(conn, c.id, false)? {
            pols.push((c.code.clone(), p));
        }
    }
    Ok(pols)
}

/// The policy of a tool's job name among `pols`: the one whose `match`
/// names it (`director` + `bacula_job` when a Director is given, else
/// `name`), else the policy of that job name (whatever else its `match`
/// names); within `client` when given.
fn find_named<'a>(
    pols: &'a [(String, PolicyRow)],
    director: Option<&str>,
    name: &str,
    client: Option<&str>,
) -> Option<&'a (String, PolicyRow)> {
    let mine = |code: &str| client.is_none_or(|c| c == code);
    let by_rule = pols.iter().find(|(code, p)| {
        let m = &p.spec.match_rule;
        mine(code)
            && match director {
                Some(d) => {
                    m.bacula_job.as_deref() == Some(name)
                        && m.director.as_deref().is_none_or(|md| md == d)
                }
                None => m.name.as_deref() == Some(name),
            }
    });
    by_rule.or_else(|| {
        pols.iter()
            .find(|(code, p)| mine(code) && p.spec.job == name)
    })
}

/// The plan's job (client, job) of a tool's job name, as [`find_named`] finds it.
pub fn named_policy(
    conn: &crate::store::Db,
    director: Option<&str>,
    name: &str,
    client: Option<&str>,
) -> Result<Option<(String, String)>> {
    let pols = all_policies(conn)?;
    Ok(find_named(&pols, director, name, client).map(|(c, p)| (c.clone(), p.spec.job.clone())))
}

/// [`map_named_runs`], with the runs no client takes handed back.
pub fn place_named_runs(
    conn: &crate::store::Db,
    source: &str,
    fallback: Option<&str>,
    runs: Vec<(Option<String>, ToolRun)>,
) -> Result<(Vec<NewEvent>, Vec<ToolRun>)> {
    let pols = all_policies(conn)?;
    let mut out = Vec::new();
    let mut nowhere = Vec::new();
    for (client, r) in runs {
        let name = r.job.clone().unwrap_or_else(|| "unknown".into());
        let found = find_named(&pols, r.director.as_deref(), &name, client.as_deref());
        let (client, job) = match found {
            Some((code, p)) => (code.clone(), p.spec.job.clone()),
            None => match client.as_deref().or(fallback) {
                Some(c) => (c.to_string(), name.clone()),
                None => {
                    nowhere.push(r);
                    continue;
                }
            },
        };
        let ev = if r.running {
            let start = r.started_at.or(r.ended_at).unwrap_or_default();
            let ev = NewEvent {
                external_id: r.id,
                ..NewEvent::start_record(&client, &job, start, source)
            };
            ev.validate()
                .map_err(|(field, msg)| rejected(format!("{field}: {msg}")))?;
            ev
        } else {
            event_of(&client, job, source, r)?
        };
        out.push(ev);
    }
    Ok((out, nowhere))
}
