//! `audit verify --deep`: the business rows re-derived from their audit rows.
//! Every write bmctl makes to a ticket, change, pause, restore attempt,
//! client, CI or policy leaves an audit row holding the fields it changed (a
//! plan version holds the whole plan), so folding the rows in order gives
//! what each object must hold now; a row edited, added or removed outside
//! bmctl differs. Events are checked against the digests their import
//! batches recorded (see `store::digests`).

use std::collections::HashMap;

use crate::store::Db;
use anyhow::Result;
use serde_json::{Map, Value};

use crate::domain::ci::Lifecycle;
use crate::domain::plan::parse_plan;
use crate::store::{
    audit, changes, cis, clients, digests, pauses, plans, policies, recovery, tickets,
};

/// The kinds of object an audit row replays, with the fields compared (all
/// when empty).
const KINDS: &[(&str, &[&str])] = &[
    ("ticket", &[]),
    ("change", &[]),
    ("pause", &[]),
    ("recovery_attempt", &[]),
    (
        "client",
        &[
            "name",
            "timezone",
            "sla_tier",
            "required_retention",
            "require_offsite",
        ],
    ),
    (
        "ci",
        &["host", "kind", "tier", "os", "role", "excluded", "status"],
    ),
    ("policy", &[]),
];

/// At most this many differences are named per kind of object.
const NAMED: usize = 20;

/// What the business rows hold that their audit rows do not say, one line
/// per difference; empty when everything agrees.
pub fn verify(store: &crate::store::Store) -> Result<Vec<String>> {
    let conn = store.db();
    let mut problems = Vec::new();
    // tickets are most of the log: replayed on their own, then the rest
    // (memory: one group's replayed objects, the table's rows one at a time)
    let groups: [&[&str]; 2] = [
        &["ticket"],
        &[
            "change",
            "pause",
            "recovery_attempt",
            "client",
            "ci",
            "policy",
        ],
    ];
    for group in groups {
        let mut expected = replay(conn, group, &mut problems)?;
        for (kind, fields) in KINDS.iter().filter(|(k, _)| group.contains(k)) {
            let mut expected = expected.remove(*kind).unwrap_or_default();
            let mut found = Vec::new();
            actual(conn, kind, |id, row| {
                match expected.remove(&id) {
                    None => found.push(format!(
                        "{kind} {id} has no audit row: it was written outside bmctl"
                    )),
                    Some(None) => found.push(format!(
                        "{kind} {id} was deleted by its audit rows but is in the table"
                    )),
                    Some(Some(mut exp)) => {
                        let mut row = row;
                        if *kind == "ticket" {
                            // the row's entity id is the ticket's number (a
                            // generated task's row said 0 before schema 25),
                            // and rows written before it may not name the CI
                            // and job (they follow from the ticket's policy)
                            row.remove("id");
                            exp.remove("id");
                            for derived in ["ci", "job"] {
                                if !exp.contains_key(derived) {
                                    row.remove(derived);
                                }
                            }
                        }
                        if let Some(d) = difference(&row, &exp, fields) {
                            found.push(format!("{kind} {id}: {d}"));
                        }
                    }
                }
                Ok(())
            })?;
            // what the log has and the table does not
            for (id, exp) in expected {
                if exp.is_some() {
                    found.push(format!(
                        "{kind} {id} is in the audit log but not in the table: it was removed outside bmctl"
                    ));
                }
            }
            found.sort();
            let n = found.len();
            problems.extend(found.into_iter().take(NAMED));
            if n > NAMED {
                problems.push(format!("… and {} more differences in {kind}s", n - NAMED));
            }
        }
    }
    problems.extend(digests::verify(conn)?);
    Ok(problems)
}

type Objects = HashMap<String, Option<Map<String, Value>>>;

/// Fold the audit log: for each object, its fields as the rows left them
/// (`None`: deleted). A plan version's text is read from `plan_versions` and
/// must match its row's digest; a version with no row is named.
fn replay(
    conn: &Db,
    kinds: &[&str],
    problems: &mut Vec<String>,
) -> Result<HashMap<String, Objects>> {
    // plan versions set clients, CIs and policies
    let plans = kinds.iter().any(|k| ["client", "ci", "policy"].contains(k));
    let mut versions = if plans {
        plan_versions(conn)?
    } else {
        HashMap::new()
    };
    let mut types: Vec<&str> = kinds.to_vec();
    if plans {
        types.push("plan");
    }
    let mut out: HashMap<String, Objects> = HashMap::new();
    audit::for_each_after(conn, &types, |row_id, kind, id, after| {
        let (kind, id) = (kind.to_string(), id.to_string());
        let after: Option<Value> = match after {
            Some(a) => Some(
                serde_json::from_str(a)
                    .map_err(|e| anyhow::anyhow!("audit row {row_id} is damaged: {e}"))?,
            ),
            None => None,
        };
        if kind == "plan" {
            let text = versions.remove(&id);
            let text = match (&after, text) {
                // before schema 25 the row held the text itself
                (Some(Value::String(t)), _) => Some(t.clone()),
                (Some(d), Some(text)) => {
                    // the row is a diff against the previous version's
                    // digest: `bytes` is left out when the length is the same
                    let actual = plans::text_digest(&text);
                    let sha = d.get("sha256").and_then(Value::as_str).ok_or_else(|| {
                        anyhow::anyhow!("audit row {row_id} is damaged: no sha256")
                    })?;
                    let bytes = d.get("bytes").and_then(Value::as_u64);
                    if sha == actual.sha256 && bytes.is_none_or(|b| b as usize == actual.bytes) {
                        Some(text)
                    } else {
                        problems.push(format!(
                            "plan {id}: its text differs from the digest audit row {row_id} recorded: edited outside bmctl"
                        ));
                        None
                    }
                }
                (Some(_), None) => {
                    problems.push(format!(
                        "plan {id} is in the audit log but not in plan_versions: removed outside bmctl"
                    ));
                    None
                }
                (None, _) => None,
            };
            if let Some(text) = text {
                plan_version(&mut out, &text)
                    .map_err(|e| anyhow::anyhow!("audit row {row_id}: its plan: {e}"))?;
            }
            return Ok(());
        }
        if !kinds.contains(&kind.as_str()) {
            return Ok(());
        }
        let objects = out.entry(kind).or_default();
        match after {
            None => {
                objects.insert(id, None);
            }
            Some(Value::Object(fields)) => {
                let obj = objects
                    .entry(id)
                    .or_insert(None)
                    .get_or_insert_with(Map::new);
                obj.extend(fields);
            }
            Some(_) => {}
        }
        Ok(())
    })?;
    let mut forged: Vec<String> = versions.into_keys().collect();
    forged.sort();
    problems.extend(
        forged
            .into_iter()
            .map(|id| format!("plan {id} has no audit row: it was written outside bmctl")),
    );
    Ok(out)
}

/// Every plan version's text, by its audit id (`CLIENT:vN`).
fn plan_versions(conn: &Db) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for c in clients::list(conn)? {
        for v in plans::list(conn, c.id)? {
            out.insert(format!("{}:v{}", c.code, v.version), v.content);
        }
    }
    Ok(out)
}

/// A plan version sets its client, its CIs and its policies; those of the
/// client it no longer lists are retired.
fn plan_version(out: &mut HashMap<String, Objects>, text: &str) -> Result<()> {
    let plan = parse_plan(text, "the plan")?.plan;
    let code = plan.client.code.clone();
    let c = &plan.client;
    let mut client = Map::new();
    client.insert("name".into(), c.name.clone().into());
    client.insert("timezone".into(), c.timezone.clone().into());
    client.insert("sla_tier".into(), c.sla_tier.as_str().into());
    client.insert(
        "required_retention".into(),
        c.required_retention
            .as_ref()
            .map(|r| Value::from(r.to_string()))
            .unwrap_or(Value::Null),
    );
    client.insert("require_offsite".into(), c.require_offsite.into());
    let clients = out.entry("client".into()).or_default();
    clients
        .entry(code.clone())
        .or_insert(None)
        .get_or_insert_with(Map::new)
        .extend(client);

    let prefix = format!("{code}/");
    let retire_unlisted = |objects: &mut Objects, listed: &[String]| {
        for (id, obj) in objects.iter_mut() {
            if let (Some(rest), Some(o)) = (id.strip_prefix(&prefix), obj.as_mut()) {
                if !listed.iter().any(|l| l == rest) && o.get("status") == Some(&"active".into()) {
                    o.insert("status".into(), "retired".into());
                }
            }
        }
    };
    let cis = out.entry("ci".into()).or_default();
    let hosts: Vec<String> = plan.cis.iter().map(|c| c.host.clone()).collect();
    retire_unlisted(cis, &hosts);
    for ci in &plan.cis {
        let mut m = Map::new();
        m.insert("host".into(), ci.host.clone().into());
        m.insert("kind".into(), ci.kind.clone().into());
        m.insert("tier".into(), ci.tier.into());
        m.insert("os".into(), ci.os.clone().into());
        m.insert("role".into(), ci.role.clone().into());
        m.insert("excluded".into(), ci.excluded.clone().into());
        m.insert("status".into(), "active".into());
        cis.entry(format!("{code}/{}", ci.host))
            .or_insert(None)
            .get_or_insert_with(Map::new)
            .extend(m);
    }
    let policies = out.entry("policy".into()).or_default();
    let jobs: Vec<String> = plan.policies.iter().map(|p| p.job.clone()).collect();
    retire_unlisted(policies, &jobs);
    for p in &plan.policies {
        let m = policy_fields(p, Lifecycle::Active)?;
        policies
            .entry(format!("{code}/{}", p.job))
            .or_insert(None)
            .get_or_insert_with(Map::new)
            .extend(m);
    }
    Ok(())
}

/// A policy as its audit rows hold it: the plan's fields and its status.
pub fn policy_fields(
    p: &crate::domain::plan::PolicySpec,
    status: Lifecycle,
) -> Result<Map<String, Value>> {
    let Value::Object(mut m) = serde_json::to_value(p)? else {
        anyhow::bail!("a policy is not a JSON object");
    };
    m.insert("status".into(), status.as_str().into());
    Ok(m)
}

/// The objects of one kind as the tables hold them, one at a time, with
/// their audit ids.
fn actual(
    conn: &Db,
    kind: &str,
    mut f: impl FnMut(String, Map<String, Value>) -> Result<()>,
) -> Result<()> {
    let mut put = |id: String, v: Value| match v {
        Value::Object(m) => f(id, m),
        _ => Ok(()),
    };
    match kind {
        "ticket" => {
            let all = tickets::Filter {
                all: true,
                ..Default::default()
            };
            for t in tickets::list(conn, &all)? {
                put(t.id.to_string(), serde_json::to_value(&t)?)?;
            }
        }
        "change" => {
            for c in changes::list(conn, None, None, false)? {
                put(format!("CR-{}", c.id), serde_json::to_value(&c)?)?;
            }
        }
        "pause" => {
            for p in pauses::list(conn, i64::MIN, i64::MAX, true)? {
                put(p.id.to_string(), serde_json::to_value(&p)?)?;
            }
        }
        "recovery_attempt" => {
            for a in recovery::list(conn, None, None)? {
                put(a.id.to_string(), serde_json::to_value(&a)?)?;
            }
        }
        "client" => {
            for c in clients::list(conn)? {
                put(c.code.clone(), serde_json::to_value(&c)?)?;
            }
        }
        "ci" => {
            for c in cis::list(conn, None)? {
                put(
                    format!("{}/{}", c.client, c.host),
                    serde_json::to_value(&c)?,
                )?;
            }
        }
        "policy" => {
            for c in clients::list(conn)? {
                for p in policies::list(conn, c.id, true)? {
                    put(
                        format!("{}/{}", c.code, p.spec.job),
                        Value::Object(policy_fields(&p.spec, p.status)?),
                    )?;
                }
            }
        }
        other => anyhow::bail!("no table for {other}"),
    }
    Ok(())
}

/// The fields where the table and the audit log differ (null, false, empty
/// and absent are the same).
fn difference(
    row: &Map<String, Value>,
    exp: &Map<String, Value>,
    fields: &[&str],
) -> Option<String> {
    let keys: Vec<&str> = if fields.is_empty() {
        let mut k: Vec<&str> = row.keys().chain(exp.keys()).map(String::as_str).collect();
        k.sort_unstable();
        k.dedup();
        k
    } else {
        fields.to_vec()
    };
    let null = Value::Null;
    let diffs: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (a, e) = (row.get(k).unwrap_or(&null), exp.get(k).unwrap_or(&null));
            // a creation's audit row leaves empty fields out
            let same = a == e || (audit::is_empty(a) && audit::is_empty(e));
            (!same).then(|| format!("{k} is {a} in the table, {e} by the audit log"))
        })
        .collect();
    (!diffs.is_empty()).then(|| diffs.join("; "))
}
