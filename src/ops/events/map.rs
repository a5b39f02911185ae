//! A backup tool's runs as events of their policies.

use super::*;

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
        let ev = NewEvent {
            level: None,
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
            // a tool's message is its own text: control characters dropped
            message: r.message.map(|m| {
                m.chars()
                    .filter(|c| !c.is_control() || *c == '\n')
                    .collect()
            }),
        };
        ev.validate()
            .map_err(|(field, msg)| rejected(format!("{field}: {msg}")))?;
        out.push(ev);
    }
    Ok(out)
}
