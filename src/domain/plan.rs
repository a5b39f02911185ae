//! Backup plans as code: the TOML file format of DESIGN, validated whole
//! before anything is written, rendered back canonically, and diffed.
//!
//! Errors name the file, the line and the key path (`policy[1].schedule`).

use std::collections::BTreeSet;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::automation::judge::Judgement;
use super::ci::{validate_kind, validate_tier};
use super::client::{validate_host, validate_slug, SlaTier};
use super::policy::{
    validate_choice, MatchRule, Retention, Schedule, RESTORE_TESTS, TARGETS, TOOLS,
};
use super::time::{format_duration, parse_duration, parse_tz};

/// A client's plan-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub sla_tier: SlaTier,
    pub required_retention: Option<Retention>,
    pub require_offsite: bool,
}

/// A configuration item as the plan declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiSpec {
    pub host: String,
    pub kind: String,
    pub tier: i64,
    pub os: Option<String>,
    pub role: Option<String>,
    pub excluded: Option<String>,
}

/// One backup policy (job) as the plan declares it; durations in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub job: String,
    pub ci: String,
    pub tool: String,
    pub schedule: String,
    pub rpo_s: i64,
    pub grace_s: i64,
    pub retention: Retention,
    pub target: String,
    pub restore_test: String,
    pub rto_s: i64,
    pub max_runtime_s: Option<i64>,
    /// (absent from proposals stored before matching rules existed)
    #[serde(default)]
    pub match_rule: MatchRule,
    /// (absent from proposals stored before #14)
    #[serde(default)]
    pub judgement: Judgement,
}

impl PolicySpec {
    /// Field name and printed value, in file order: the unit of `plan diff`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ci", self.ci.clone()),
            ("tool", self.tool.clone()),
            ("schedule", self.schedule.clone()),
            ("rpo", format_duration(self.rpo_s)),
            ("grace", format_duration(self.grace_s)),
            ("retention", self.retention.to_string()),
            ("target", self.target.clone()),
            ("restore_test", self.restore_test.clone()),
            ("rto", format_duration(self.rto_s)),
            (
                "max_runtime",
                self.max_runtime_s.map(format_duration).unwrap_or_default(),
            ),
            ("match", render_match(&self.match_rule)),
        ]
        .into_iter()
        .chain(self.judgement.fields())
        .collect()
    }
}

/// A whole backup plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub client: ClientSpec,
    pub cis: Vec<CiSpec>,
    pub policies: Vec<PolicySpec>,
}

/// A parsed plan with the line of each policy's `ci` key, so that a reference
/// to a CI that is neither in the file nor in the CMDB can be reported later.
#[derive(Debug)]
pub struct ParsedPlan {
    pub plan: Plan,
    pub policy_ci_lines: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    client: Spanned<String>,
    name: Spanned<String>,
    timezone: Spanned<String>,
    sla_tier: Option<Spanned<String>>,
    required_retention: Option<Spanned<Retention>>,
    require_offsite: Option<bool>,
    #[serde(default)]
    ci: Vec<RawCi>,
    #[serde(default)]
    policy: Vec<RawPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCi {
    host: Spanned<String>,
    kind: Spanned<String>,
    tier: Spanned<i64>,
    os: Option<String>,
    role: Option<String>,
    excluded: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    job: Spanned<String>,
    ci: Spanned<String>,
    tool: Spanned<String>,
    schedule: Spanned<String>,
    rpo: Spanned<String>,
    grace: Spanned<String>,
    retention: Spanned<Retention>,
    target: Spanned<String>,
    restore_test: Spanned<String>,
    rto: Spanned<String>,
    max_runtime: Option<Spanned<String>>,
    #[serde(rename = "match")]
    match_rule: Option<MatchRule>,
    failures_before_ticket: Option<Spanned<i64>>,
    warning_is_success: Option<bool>,
    small_backup: Option<Spanned<toml::Value>>,
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Builds `file:line: key: message` errors.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn at<T>(&self, spanned: &Spanned<T>, key: &str, msg: impl std::fmt::Display) -> anyhow::Error {
        self.line(line_of(self.text, spanned.span().start), key, msg)
    }

    fn line(&self, line: usize, key: &str, msg: impl std::fmt::Display) -> anyhow::Error {
        crate::error::rejected(format!("{}:{line}: {key}: {msg}", self.file))
    }
}

/// Errors of a file, each `file:line: key: message`, all reported at once
/// (up to [`MAX_ERRORS`]).
#[derive(Default)]
struct Found(Vec<String>);

/// Errors listed one by one; more are counted.
const MAX_ERRORS: usize = 50;

impl Found {
    fn add(&mut self, e: anyhow::Error) {
        self.0.push(e.to_string());
    }

    /// The value, or `None` with its error noted.
    fn ok<T>(&mut self, r: Result<T>) -> Option<T> {
        r.map_err(|e| self.add(e)).ok()
    }

    fn into_result(self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(crate::error::rejected(self.0[0].clone())),
            n => {
                let mut text = format!("{n} errors:");
                for e in self.0.iter().take(MAX_ERRORS) {
                    text.push_str("\n  ");
                    text.push_str(e);
                }
                if n > MAX_ERRORS {
                    text.push_str(&format!("\n  … and {} more", n - MAX_ERRORS));
                }
                Err(crate::error::rejected(text))
            }
        }
    }
}

/// Check one `[[policy]]` table; errors name the line and key.
fn validate_policy(
    loc: &Locator<'_>,
    found: &mut Found,
    i: usize,
    p: &RawPolicy,
    tz: &str,
) -> Option<PolicySpec> {
    let key = |f: &str| format!("policy[{i}].{f}");
    let before = found.0.len();
    found
        .ok(validate_slug("job name", p.job.get_ref()).map_err(|e| loc.at(&p.job, &key("job"), e)));
    found.ok(validate_host(p.ci.get_ref()).map_err(|e| loc.at(&p.ci, &key("ci"), e)));
    found.ok(validate_choice("tool", p.tool.get_ref(), TOOLS)
        .map_err(|e| loc.at(&p.tool, &key("tool"), e)));
    found.ok(check_schedule(p.schedule.get_ref(), tz)
        .map_err(|e| loc.at(&p.schedule, &key("schedule"), e)));
    let mut dur = |s: &Spanned<String>, f: &str| {
        found.ok(parse_duration(s.get_ref()).map_err(|e| loc.at(s, &key(f), e)))
    };
    let rpo_s = dur(&p.rpo, "rpo");
    let grace_s = dur(&p.grace, "grace");
    let rto_s = dur(&p.rto, "rto");
    let max_runtime_s = p.max_runtime.as_ref().map(|m| dur(m, "max_runtime"));
    if p.retention.get_ref().keeps_nothing() {
        found.add(loc.at(&p.retention, &key("retention"), "must keep something"));
    }
    if let (Some(rpo), Some(grace)) = (rpo_s, grace_s) {
        if grace > rpo {
            found.add(loc.at(
                &p.grace,
                &key("grace"),
                format!(
                    "{} is longer than the rpo ({}): a breach would never be seen in time",
                    p.grace.get_ref(),
                    p.rpo.get_ref()
                ),
            ));
        }
    }
    found.ok(validate_choice("target", p.target.get_ref(), TARGETS)
        .map_err(|e| loc.at(&p.target, &key("target"), e)));
    found.ok(
        validate_choice("restore_test", p.restore_test.get_ref(), RESTORE_TESTS)
            .map_err(|e| loc.at(&p.restore_test, &key("restore_test"), e)),
    );
    let mut judgement = Judgement::default();
    if let Some(n) = &p.failures_before_ticket {
        match Judgement::parse_failures(&n.get_ref().to_string()) {
            Ok(n) => judgement.failures_before_ticket = n,
            Err(e) => found.add(loc.at(n, &key("failures_before_ticket"), e)),
        }
    }
    if let Some(w) = p.warning_is_success {
        judgement.warning_is_success = w;
    }
    if let Some(pct) = &p.small_backup {
        // "50%", "off" or a bare 50
        let text = match pct.get_ref() {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match Judgement::parse_small(&text) {
            Ok(n) => judgement.small_backup_pct = n,
            Err(e) => found.add(loc.at(pct, &key("small_backup"), e)),
        }
    }
    if found.0.len() > before {
        return None;
    }
    Some(PolicySpec {
        job: p.job.get_ref().clone(),
        ci: p.ci.get_ref().clone(),
        tool: p.tool.get_ref().clone(),
        schedule: normalize_schedule(p.schedule.get_ref()),
        rpo_s: rpo_s?,
        grace_s: grace_s?,
        retention: p.retention.get_ref().clone(),
        target: p.target.get_ref().clone(),
        restore_test: p.restore_test.get_ref().clone(),
        rto_s: rto_s?,
        max_runtime_s: max_runtime_s.flatten(),
        match_rule: p.match_rule.clone().unwrap_or_default(),
        judgement,
    })
}

fn normalize_schedule(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A cron expression that parses and runs at least once in `tz`.
pub fn check_schedule(text: &str, tz: &str) -> Result<()> {
    let s = Schedule::parse(text)?;
    let zone = parse_tz(tz)?;
    s.next_after(chrono::DateTime::UNIX_EPOCH, zone)
        .map(|_| ())
        .ok_or_else(|| anyhow!("never runs in {tz}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicyFile {
    policy: Vec<RawPolicy>,
}

/// Parse a file holding one `[[policy]]` table of the plan format (a MACD
/// proposal), validated exactly like a plan file.
pub fn parse_policy_file(text: &str, file: &str, tz: &str) -> Result<PolicySpec> {
    let loc = Locator { file, text };
    let raw: RawPolicyFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        crate::error::rejected(format!("{file}:{line}: {}", e.message().trim()))
    })?;
    match raw.policy.as_slice() {
        [p] => {
            let mut found = Found::default();
            let spec = validate_policy(&loc, &mut found, 0, p, tz);
            found.into_result()?;
            spec.ok_or_else(|| crate::error::rejected(format!("{file}: the policy is not valid")))
        }
        _ => Err(crate::error::rejected(format!(
            "{file}: must hold exactly one [[policy]] table, it has {}",
            raw.policy.len()
        ))),
    }
}

impl PolicySpec {
    /// Change one field from text (`macd change --set FIELD=VALUE`), validated
    /// like the plan file; `tz` is the client's zone.
    pub fn set(&mut self, field: &str, value: &str, tz: &str) -> Result<()> {
        let v = value.trim();
        match field {
            "tool" => {
                validate_choice("tool", v, TOOLS)?;
                self.tool = v.into();
            }
            "schedule" => {
                check_schedule(v, tz)?;
                self.schedule = normalize_schedule(v);
            }
            "rpo" => self.rpo_s = parse_duration(v)?,
            "grace" => self.grace_s = parse_duration(v)?,
            "rto" => self.rto_s = parse_duration(v)?,
            "max_runtime" => self.max_runtime_s = Some(parse_duration(v)?),
            "failures_before_ticket" => {
                self.judgement.failures_before_ticket =
                    Judgement::parse_failures(v).map_err(anyhow::Error::msg)?
            }
            "warning_is_success" => {
                self.judgement.warning_is_success =
                    Judgement::parse_bool(v).map_err(anyhow::Error::msg)?
            }
            "small_backup" => {
                self.judgement.small_backup_pct =
                    Judgement::parse_small(v).map_err(anyhow::Error::msg)?
            }
            "retention" => {
                let r = Retention::parse(v)?;
                if r.keeps_nothing() {
                    anyhow::bail!("retention '{v}' keeps nothing");
                }
                self.retention = r;
            }
            "target" => {
                validate_choice("target", v, TARGETS)?;
                self.target = v.into();
            }
            "restore_test" => {
                validate_choice("restore_test", v, RESTORE_TESTS)?;
                self.restore_test = v.into();
            }
            other => anyhow::bail!(
                "field '{other}' cannot be set (tool, schedule, rpo, grace, rto, max_runtime, retention, target, restore_test, failures_before_ticket, warning_is_success, small_backup)"
            ),
        }
        Ok(())
    }

    /// Rules between fields, after every `set`: a grace longer than the RPO
    /// would see a breach only after it.
    pub fn check(&self) -> Result<()> {
        if self.grace_s > self.rpo_s {
            anyhow::bail!(
                "grace {} is longer than the rpo {}",
                crate::domain::time::format_duration(self.grace_s),
                crate::domain::time::format_duration(self.rpo_s)
            );
        }
        Ok(())
    }
}

/// Parse and validate a plan file. Every check that needs no database is made
/// here; the error is a `Rejected` failure naming file, line and key.
pub fn parse_plan(text: &str, file: &str) -> Result<ParsedPlan> {
    let loc = Locator { file, text };
    let raw: RawPlan = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        crate::error::rejected(format!("{file}:{line}: {}", e.message().trim()))
    })?;
    let mut found = Found::default();

    found.ok(validate_slug("client code", raw.client.get_ref())
        .map_err(|e| loc.at(&raw.client, "client", e)));
    if raw.name.get_ref().trim().is_empty() {
        found.add(loc.at(&raw.name, "name", "must not be empty"));
    }
    found.ok(parse_tz(raw.timezone.get_ref()).map_err(|e| loc.at(&raw.timezone, "timezone", e)));
    let sla_tier = match &raw.sla_tier {
        Some(t) => found
            .ok(SlaTier::parse(t.get_ref()).map_err(|e| loc.at(t, "sla_tier", e)))
            .unwrap_or(SlaTier::Silver),
        None => SlaTier::Silver,
    };
    if let Some(r) = &raw.required_retention {
        if r.get_ref().keeps_nothing() {
            found.add(loc.at(r, "required_retention", "must keep something"));
        }
    }

    let mut cis = Vec::new();
    let mut hosts = BTreeSet::new();
    for (i, c) in raw.ci.iter().enumerate() {
        let key = |f: &str| format!("ci[{i}].{f}");
        found.ok(validate_host(c.host.get_ref()).map_err(|e| loc.at(&c.host, &key("host"), e)));
        if !hosts.insert(c.host.get_ref().clone()) {
            found.add(loc.at(
                &c.host,
                &key("host"),
                format!("host '{}' is listed twice", c.host.get_ref()),
            ));
        }
        found.ok(validate_kind(c.kind.get_ref()).map_err(|e| loc.at(&c.kind, &key("kind"), e)));
        found.ok(validate_tier(*c.tier.get_ref()).map_err(|e| loc.at(&c.tier, &key("tier"), e)));
        if let Some(x) = &c.excluded {
            if x.get_ref().trim().is_empty() {
                found.add(loc.at(x, &key("excluded"), "an exclusion needs a reason"));
            }
        }
        cis.push(CiSpec {
            host: c.host.get_ref().clone(),
            kind: c.kind.get_ref().clone(),
            tier: *c.tier.get_ref(),
            os: c.os.clone(),
            role: c.role.clone(),
            excluded: c.excluded.as_ref().map(|x| x.get_ref().clone()),
        });
    }

    // a bad zone still lets the schedules be checked (in UTC)
    let tz = raw.timezone.get_ref();
    let schedule_tz = if parse_tz(tz).is_ok() {
        tz.as_str()
    } else {
        "UTC"
    };
    let mut policies = Vec::new();
    let mut lines = Vec::new();
    let mut jobs = BTreeSet::new();
    for (i, p) in raw.policy.iter().enumerate() {
        if !jobs.insert(p.job.get_ref().clone()) {
            found.add(loc.at(
                &p.job,
                &format!("policy[{i}].job"),
                format!("job name '{}' is used twice", p.job.get_ref()),
            ));
        }
        if let Some(spec) = validate_policy(&loc, &mut found, i, p, schedule_tz) {
            policies.push(spec);
            lines.push(line_of(text, p.ci.span().start));
        }
    }
    found.into_result()?;

    Ok(ParsedPlan {
        plan: Plan {
            client: ClientSpec {
                code: raw.client.get_ref().clone(),
                name: raw.name.get_ref().clone(),
                timezone: tz.clone(),
                sla_tier,
                required_retention: raw.required_retention.map(|r| r.into_inner()),
                require_offsite: raw.require_offsite.unwrap_or(false),
            },
            cis,
            policies,
        },
        policy_ci_lines: lines,
    })
}

impl ParsedPlan {
    /// Check that every policy names a CI of the file or of `known_hosts`
    /// (the client's CMDB).
    pub fn check_ci_refs(&self, file: &str, known_hosts: &BTreeSet<String>) -> Result<()> {
        for (i, p) in self.plan.policies.iter().enumerate() {
            let in_file = self.plan.cis.iter().any(|c| c.host == p.ci);
            if !in_file && !known_hosts.contains(&p.ci) {
                return Err(crate::error::rejected(format!(
                    "{file}:{}: policy[{i}].ci: policy '{}' names CI '{}', which is neither in this file nor in the CMDB of client '{}'",
                    self.policy_ci_lines[i], p.job, p.ci, self.plan.client.code
                )));
            }
        }
        Ok(())
    }
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn render_retention(r: &Retention) -> String {
    let parts: Vec<String> = r
        .to_string()
        .split(',')
        .map(|kv| kv.replacen('=', " = ", 1))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

fn render_match(m: &MatchRule) -> String {
    if m.is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    if let Some(h) = &m.host {
        parts.push(format!("host = {}", q(h)));
    }
    if !m.tags.is_empty() {
        let tags: Vec<String> = m.tags.iter().map(|t| q(t)).collect();
        parts.push(format!("tags = [{}]", tags.join(", ")));
    }
    for (k, v) in [
        ("director", &m.director),
        ("bacula_job", &m.bacula_job),
        ("name", &m.name),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k} = {}", q(v)));
        }
    }
    format!("{{ {} }}", parts.join(", "))
}

impl Plan {
    /// The canonical TOML form: imports back to the same plan.
    pub fn to_toml(&self) -> String {
        let c = &self.client;
        let mut out = String::new();
        out.push_str(&format!("client = {}\n", q(&c.code)));
        out.push_str(&format!("name = {}\n", q(&c.name)));
        out.push_str(&format!("timezone = {}\n", q(&c.timezone)));
        out.push_str(&format!("sla_tier = {}\n", q(c.sla_tier.as_str())));
        if let Some(r) = &c.required_retention {
            out.push_str(&format!("required_retention = {}\n", render_retention(r)));
        }
        out.push_str(&format!("require_offsite = {}\n", c.require_offsite));
        for ci in &self.cis {
            out.push_str("\n[[ci]]\n");
            out.push_str(&format!(
                "host = {}\nkind = {}\ntier = {}\n",
                q(&ci.host),
                q(&ci.kind),
                ci.tier
            ));
            for (k, v) in [
                ("os", &ci.os),
                ("role", &ci.role),
                ("excluded", &ci.excluded),
            ] {
                if let Some(v) = v {
                    out.push_str(&format!("{k} = {}\n", q(v)));
                }
            }
        }
        for p in &self.policies {
            out.push_str("\n[[policy]]\n");
            out.push_str(&format!("job = {}\n", q(&p.job)));
            for (k, v) in p.fields() {
                match k {
                    "retention" => {
                        out.push_str(&format!("retention = {}\n", render_retention(&p.retention)))
                    }
                    "match" if !v.is_empty() => out.push_str(&format!("match = {v}\n")),
                    "failures_before_ticket" if !v.is_empty() => {
                        out.push_str(&format!("{k} = {v}\n"))
                    }
                    "warning_is_success" if !v.is_empty() => out.push_str(&format!("{k} = {v}\n")),
                    "max_runtime"
                    | "match"
                    | "failures_before_ticket"
                    | "warning_is_success"
                    | "small_backup"
                        if v.is_empty() => {}
                    _ => out.push_str(&format!("{k} = {}\n", q(&v))),
                }
            }
        }
        out
    }
}

/// One line of a plan diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// `plan`, `ci HOST` or `policy JOB`.
    pub item: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

fn client_fields(c: &ClientSpec) -> Vec<(&'static str, String)> {
    vec![
        ("name", c.name.clone()),
        ("timezone", c.timezone.clone()),
        ("sla_tier", c.sla_tier.to_string()),
        (
            "required_retention",
            c.required_retention
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
        ),
        ("require_offsite", c.require_offsite.to_string()),
    ]
}

fn ci_fields(c: &CiSpec) -> Vec<(&'static str, String)> {
    vec![
        ("kind", c.kind.clone()),
        ("tier", c.tier.to_string()),
        ("os", c.os.clone().unwrap_or_default()),
        ("role", c.role.clone().unwrap_or_default()),
        ("excluded", c.excluded.clone().unwrap_or_default()),
    ]
}

fn diff_fields(
    out: &mut Vec<DiffLine>,
    item: &str,
    old: &[(&'static str, String)],
    new: &[(&'static str, String)],
) {
    for ((field, a), (_, b)) in old.iter().zip(new) {
        if a != b {
            out.push(DiffLine {
                change: "changed",
                item: item.to_string(),
                field: field.to_string(),
                old: a.clone(),
                new: b.clone(),
            });
        }
    }
}

fn diff_keyed<T>(
    out: &mut Vec<DiffLine>,
    kind: &str,
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> &str,
    fields: impl Fn(&T) -> Vec<(&'static str, String)>,
) {
    for a in old {
        let item = format!("{kind} {}", key(a));
        match new.iter().find(|b| key(b) == key(a)) {
            Some(b) => diff_fields(out, &item, &fields(a), &fields(b)),
            None => out.push(DiffLine {
                change: "removed",
                item,
                field: String::new(),
                old: String::new(),
                new: String::new(),
            }),
        }
    }
    for b in new.iter().filter(|b| !old.iter().any(|a| key(a) == key(b))) {
        out.push(DiffLine {
            change: "added",
            item: format!("{kind} {}", key(b)),
            field: String::new(),
            old: String::new(),
            new: String::new(),
        });
    }
}

/// Field-by-field differences between two versions of a plan.
pub fn diff(old: &Plan, new: &Plan) -> Vec<DiffLine> {
    let mut out = Vec::new();
    diff_fields(
        &mut out,
        "plan",
        &client_fields(&old.client),
        &client_fields(&new.client),
    );
    diff_keyed(&mut out, "ci", &old.cis, &new.cis, |c| &c.host, ci_fields);
    diff_keyed(
        &mut out,
        "policy",
        &old.policies,
        &new.policies,
        |p| &p.job,
        |p| p.fields(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
client = "acme"
name = "Acme Corp"
timezone = "Europe/Berlin"
sla_tier = "gold"
required_retention = { daily = 7, weekly = 4, monthly = 12 }
require_offsite = true

[[ci]]
host = "fs01"
kind = "server"
tier = 1

[[policy]]
job = "fs01-nightly"
ci = "fs01"
tool = "restic"
schedule = "0 22 * * *"
rpo = "24h"
grace = "2h"
retention = { daily = 7, weekly = 4, monthly = 12 }
target = "offsite"
restore_test = "monthly"
rto = "4h"
max_runtime = "6h"
match = { host = "fs01", tags = ["nightly"] }
"#;

    fn err_of(text: &str) -> String {
        format!("{:#}", parse_plan(text, "p.toml").unwrap_err())
    }

    #[test]
    fn good_plan_round_trips() {
        let p = parse_plan(GOOD, "p.toml").unwrap().plan;
        assert_eq!(p.policies[0].rpo_s, 86_400);
        let again = parse_plan(&p.to_toml(), "x.toml").unwrap().plan;
        assert_eq!(p, again);
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = err_of(&GOOD.replace("0 22 * * *", "61 * * * *"));
        assert!(e.starts_with("p.toml:18: policy[0].schedule:"), "{e}");
        let e = err_of(&GOOD.replace("Europe/Berlin", "Mars/Olympus"));
        assert!(e.starts_with("p.toml:4: timezone:"), "{e}");
        let e = err_of(&GOOD.replace("rpo = \"24h\"", "rpo = \"soon\""));
        assert!(e.starts_with("p.toml:19: policy[0].rpo:"), "{e}");
        let e = err_of(&GOOD.replace("tier = 1", "tier = 1\ncolour = \"red\""));
        assert!(e.contains("p.toml:13") && e.contains("colour"), "{e}");
    }

    #[test]
    fn every_error_of_a_file_is_reported_at_once() {
        let bad = GOOD
            .replace("0 22 * * *", "61 * * * *")
            .replace("rpo = \"24h\"", "rpo = \"soon\"")
            .replace("Europe/Berlin", "Mars/Olympus");
        let e = err_of(&bad);
        assert!(e.starts_with("3 errors:"), "{e}");
        for want in [
            "p.toml:4: timezone:",
            "p.toml:18: policy[0].schedule:",
            "p.toml:19: policy[0].rpo:",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn duplicate_job_is_rejected() {
        let dup = format!(
            "{GOOD}\n[[policy]]\n{}",
            GOOD.split("[[policy]]").nth(1).unwrap()
        );
        let e = err_of(&dup);
        assert!(
            e.contains("policy[1].job") && e.contains("used twice"),
            "{e}"
        );
    }

    #[test]
    fn diff_names_changed_fields() {
        let a = parse_plan(GOOD, "a").unwrap().plan;
        let b = parse_plan(&GOOD.replace("rpo = \"24h\"", "rpo = \"12h\""), "b")
            .unwrap()
            .plan;
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].field.as_str(), d[0].old.as_str(), d[0].new.as_str()),
            ("rpo", "1d", "12h")
        );
    }
}
