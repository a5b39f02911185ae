//! Settings: flag > environment > config file > default, and where each came from.
//!
//! The config file is TOML with sections (`[database] busy_timeout = "30s"`);
//! a key bmctl does not know is an error that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use crate::domain::time::parse_duration;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A command line: a TOML array of strings (or shell words in the environment).
    Argv,
    Count,
    Duration,
    Text,
    Bool,
    /// An IANA time zone, or empty: the machine's.
    Zone,
    /// `#rrggbb`.
    Colour,
    /// One of these words.
    Word(&'static [&'static str]),
}

struct Setting {
    key: &'static str,
    default: &'static str,
    kind: Kind,
    help: &'static str,
}

/// Every setting bmctl knows; the environment variable is `BMCTL_` and the
/// key after its section, upper-cased (`database.busy_timeout` → `BMCTL_BUSY_TIMEOUT`).
const SETTINGS: &[Setting] = &[
    Setting {
        key: "database.path",
        default: "",
        kind: Kind::Text,
        help: "database file (flag --db, env BMCTL_DB)",
    },
    Setting {
        key: "database.busy_timeout",
        default: "30s",
        kind: Kind::Duration,
        help: "how long a writer waits for another's lock",
    },
    Setting {
        key: "kpi.aged_after",
        default: "7d",
        kind: Kind::Duration,
        help: "open proactive tickets older than this are aged",
    },
    Setting {
        key: "check.batch_windows",
        default: "20000",
        kind: Kind::Count,
        help: "windows `check` closes per write transaction (others wait at most that long)",
    },
    Setting {
        key: "check.default_max_runtime",
        default: "12h",
        kind: Kind::Duration,
        help: "a run without an end after this long is hung (per policy: max_runtime)",
    },
    Setting {
        key: "tickets.escalate_after_failures",
        default: "3",
        kind: Kind::Count,
        help: "consecutive failed or missed runs that escalate a ticket to an incident",
    },
    Setting {
        key: "tickets.warnings_before_ticket",
        default: "3",
        kind: Kind::Count,
        help: "consecutive warnings before a warning ticket opens",
    },
    Setting {
        key: "tickets.auto_resolve",
        default: "true",
        kind: Kind::Bool,
        help: "a success resolves the policy's open corrective ticket (never an incident)",
    },
    Setting {
        key: "ingest.max_future",
        default: "1h",
        kind: Kind::Duration,
        help: "a run dated later than now plus this is held as clock skew, not applied",
    },
    Setting {
        key: "display.timezone",
        default: "",
        kind: Kind::Zone,
        help: "the zone of tables across clients and of dates given without a client (default: the machine's, TZ first)",
    },
    Setting {
        key: "audit.checkpoint_file",
        default: "",
        kind: Kind::Text,
        help: "where `audit checkpoint` appends (default: the state folder's bmctl/audit-checkpoints.jsonl)",
    },
    Setting {
        key: "audit.checkpoint_hook",
        default: "[]",
        kind: Kind::Argv,
        help: "a command handed each checkpoint on stdin, e.g. [\"logger\", \"-t\", \"bmctl-audit\"]",
    },
    Setting {
        key: "ingest.silence_after",
        default: "26h",
        kind: Kind::Duration,
        help: "a client whose jobs run daily and that sent nothing for this long is flagged by `health`",
    },
    Setting {
        key: "health.check_within",
        default: "1h",
        kind: Kind::Duration,
        help: "`health` flags `check` when it last ran longer ago than this (cron runs it every few minutes)",
    },
    Setting {
        key: "health.generate_within",
        default: "1d",
        kind: Kind::Duration,
        help: "`health` flags `tasks generate` when it last ran longer ago than this",
    },
    Setting {
        key: "ingest.same_run_skew",
        default: "1h",
        kind: Kind::Duration,
        help: "two records of one run id whose times are further apart are reported, not merged",
    },
    Setting {
        key: "tickets.reopen_within",
        default: "7d",
        kind: Kind::Duration,
        help: "a failure this soon after an auto-resolve reopens that ticket",
    },
    Setting {
        key: "hooks.on_open",
        default: "[]",
        kind: Kind::Argv,
        help: "command run when bmctl opens a ticket (ticket JSON on stdin)",
    },
    Setting {
        key: "hooks.on_escalate",
        default: "[]",
        kind: Kind::Argv,
        help: "command run when a ticket becomes an incident",
    },
    Setting {
        key: "hooks.on_reopen",
        default: "[]",
        kind: Kind::Argv,
        help: "command run when a ticket is reopened",
    },
    Setting {
        key: "hooks.on_resolve",
        default: "[]",
        kind: Kind::Argv,
        help: "command run when a ticket is resolved",
    },
    Setting {
        key: "hooks.on_task_overdue",
        default: "[]",
        kind: Kind::Argv,
        help: "command run once when a task passes its due time",
    },
    Setting {
        key: "hooks.on_change",
        default: "[]",
        kind: Kind::Argv,
        help: "command run on each state of a change request (the change as JSON on stdin)",
    },
    Setting {
        key: "hooks.timeout",
        default: "30s",
        kind: Kind::Duration,
        help: "a hook still running after this is killed and reported",
    },
    Setting {
        key: "sla.platinum_p1",
        default: "2h",
        kind: Kind::Duration,
        help: "due time of a P1 ticket for a platinum client",
    },
    Setting {
        key: "sla.platinum_p2",
        default: "4h",
        kind: Kind::Duration,
        help: "due time of a P2 ticket for a platinum client",
    },
    Setting {
        key: "sla.platinum_p3",
        default: "12h",
        kind: Kind::Duration,
        help: "due time of a P3 ticket for a platinum client",
    },
    Setting {
        key: "sla.platinum_p4",
        default: "2d",
        kind: Kind::Duration,
        help: "due time of a P4 ticket for a platinum client",
    },
    Setting {
        key: "sla.gold_p1",
        default: "4h",
        kind: Kind::Duration,
        help: "due time of a P1 ticket for a gold client",
    },
    Setting {
        key: "sla.gold_p2",
        default: "8h",
        kind: Kind::Duration,
        help: "due time of a P2 ticket for a gold client",
    },
    Setting {
        key: "sla.gold_p3",
        default: "1d",
        kind: Kind::Duration,
        help: "due time of a P3 ticket for a gold client",
    },
    Setting {
        key: "sla.gold_p4",
        default: "3d",
        kind: Kind::Duration,
        help: "due time of a P4 ticket for a gold client",
    },
    Setting {
        key: "sla.silver_p1",
        default: "8h",
        kind: Kind::Duration,
        help: "due time of a P1 ticket for a silver client",
    },
    Setting {
        key: "sla.silver_p2",
        default: "1d",
        kind: Kind::Duration,
        help: "due time of a P2 ticket for a silver client",
    },
    Setting {
        key: "sla.silver_p3",
        default: "2d",
        kind: Kind::Duration,
        help: "due time of a P3 ticket for a silver client",
    },
    Setting {
        key: "sla.silver_p4",
        default: "5d",
        kind: Kind::Duration,
        help: "due time of a P4 ticket for a silver client",
    },
    Setting {
        key: "sla.bronze_p1",
        default: "1d",
        kind: Kind::Duration,
        help: "due time of a P1 ticket for a bronze client",
    },
    Setting {
        key: "sla.bronze_p2",
        default: "2d",
        kind: Kind::Duration,
        help: "due time of a P2 ticket for a bronze client",
    },
    Setting {
        key: "sla.bronze_p3",
        default: "5d",
        kind: Kind::Duration,
        help: "due time of a P3 ticket for a bronze client",
    },
    Setting {
        key: "sla.bronze_p4",
        default: "10d",
        kind: Kind::Duration,
        help: "due time of a P4 ticket for a bronze client",
    },
    Setting {
        key: "risks.min_success_percent",
        default: "95",
        kind: Kind::Count,
        help: "a 30-day success rate below this is a chronic failure",
    },
    Setting {
        key: "risks.growth_percent",
        default: "25",
        kind: Kind::Count,
        help: "projected backup growth over a quarter above this is a risk",
    },
    Setting {
        key: "risks.change_open_days",
        default: "14",
        kind: Kind::Count,
        help: "a change open longer than this is a risk",
    },
    Setting {
        key: "targets.platinum_incident_rate",
        default: "1",
        kind: Kind::Count,
        help: "the review's target for a platinum client: Backup Incident Rate at most this %",
    },
    Setting {
        key: "targets.platinum_task_compliance",
        default: "98",
        kind: Kind::Count,
        help: "Proactive Task Compliance at least this % (platinum)",
    },
    Setting {
        key: "targets.platinum_recovery_success",
        default: "100",
        kind: Kind::Count,
        help: "Recovery Attempt Success Rate at least this % (platinum)",
    },
    Setting {
        key: "targets.platinum_sla_attainment",
        default: "98",
        kind: Kind::Count,
        help: "tickets resolved within their SLA at least this % (platinum)",
    },
    Setting {
        key: "targets.platinum_aged_backlog",
        default: "0",
        kind: Kind::Count,
        help: "Aged Proactive Service Ticket Backlog at most this many (platinum)",
    },
    Setting {
        key: "targets.gold_incident_rate",
        default: "2",
        kind: Kind::Count,
        help: "the review's target for a gold client: Backup Incident Rate at most this %",
    },
    Setting {
        key: "targets.gold_task_compliance",
        default: "95",
        kind: Kind::Count,
        help: "Proactive Task Compliance at least this % (gold)",
    },
    Setting {
        key: "targets.gold_recovery_success",
        default: "95",
        kind: Kind::Count,
        help: "Recovery Attempt Success Rate at least this % (gold)",
    },
    Setting {
        key: "targets.gold_sla_attainment",
        default: "95",
        kind: Kind::Count,
        help: "tickets resolved within their SLA at least this % (gold)",
    },
    Setting {
        key: "targets.gold_aged_backlog",
        default: "3",
        kind: Kind::Count,
        help: "Aged Proactive Service Ticket Backlog at most this many (gold)",
    },
    Setting {
        key: "targets.silver_incident_rate",
        default: "3",
        kind: Kind::Count,
        help: "the review's target for a silver client: Backup Incident Rate at most this %",
    },
    Setting {
        key: "targets.silver_task_compliance",
        default: "90",
        kind: Kind::Count,
        help: "Proactive Task Compliance at least this % (silver)",
    },
    Setting {
        key: "targets.silver_recovery_success",
        default: "90",
        kind: Kind::Count,
        help: "Recovery Attempt Success Rate at least this % (silver)",
    },
    Setting {
        key: "targets.silver_sla_attainment",
        default: "90",
        kind: Kind::Count,
        help: "tickets resolved within their SLA at least this % (silver)",
    },
    Setting {
        key: "targets.silver_aged_backlog",
        default: "5",
        kind: Kind::Count,
        help: "Aged Proactive Service Ticket Backlog at most this many (silver)",
    },
    Setting {
        key: "targets.bronze_incident_rate",
        default: "5",
        kind: Kind::Count,
        help: "the review's target for a bronze client: Backup Incident Rate at most this %",
    },
    Setting {
        key: "targets.bronze_task_compliance",
        default: "85",
        kind: Kind::Count,
        help: "Proactive Task Compliance at least this % (bronze)",
    },
    Setting {
        key: "targets.bronze_recovery_success",
        default: "90",
        kind: Kind::Count,
        help: "Recovery Attempt Success Rate at least this % (bronze)",
    },
    Setting {
        key: "targets.bronze_sla_attainment",
        default: "85",
        kind: Kind::Count,
        help: "tickets resolved within their SLA at least this % (bronze)",
    },
    Setting {
        key: "targets.bronze_aged_backlog",
        default: "10",
        kind: Kind::Count,
        help: "Aged Proactive Service Ticket Backlog at most this many (bronze)",
    },
    Setting {
        key: "risks.act_within_high",
        default: "14d",
        kind: Kind::Duration,
        help: "the review's target date for acting on a high risk: the review date plus this",
    },
    Setting {
        key: "risks.act_within_medium",
        default: "30d",
        kind: Kind::Duration,
        help: "… on a medium risk",
    },
    Setting {
        key: "risks.act_within_low",
        default: "90d",
        kind: Kind::Duration,
        help: "… on a low risk",
    },
    Setting {
        key: "branding.name",
        default: "",
        kind: Kind::Text,
        help: "the MSP's name at the head of a review",
    },
    Setting {
        key: "branding.logo",
        default: "",
        kind: Kind::Text,
        help: "a PNG, JPEG or SVG file embedded at the head of a review's HTML",
    },
    Setting {
        key: "branding.accent",
        default: "#1f4e79",
        kind: Kind::Colour,
        help: "the review's accent colour (#rrggbb)",
    },
    Setting {
        key: "branding.contact",
        default: "",
        kind: Kind::Text,
        help: "the contact line under a review's title (who to call, an e-mail)",
    },
    Setting {
        key: "approval.require_ref",
        default: "none",
        kind: Kind::Word(crate::domain::change::RequireRef::WORDS),
        help: "changes that need a change-management reference to be approved: none, high, medium (and high) or all",
    },
    Setting {
        key: "identity.service_accounts",
        default: "[\"bmctl\"]",
        kind: Kind::Argv,
        help: "logins of service accounts (cron's collectors): they pass the service gate, never a role's",
    },
    Setting {
        key: "approval.allow_self_approval",
        default: "false",
        kind: Kind::Bool,
        help: "let the requester approve their own change (one-person teams)",
    },
];

fn env_name(key: &str) -> String {
    if key == "database.path" {
        return "BMCTL_DB".into();
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    if key.starts_with("sla.") {
        return format!("BMCTL_SLA_{}", last.to_uppercase());
    }
    // sections whose keys would be ambiguous alone (`name`, `gold_…`)
    for section in ["targets", "branding"] {
        if key.starts_with(&format!("{section}.")) {
            return format!("BMCTL_{}_{}", section.to_uppercase(), last.to_uppercase());
        }
    }
    format!("BMCTL_{}", last.to_uppercase())
}

/// `[[json.source]]` tables, each checked (a preset known, a client, a job,
/// status words); errors name the file and the source.
fn read_json_sources(
    p: &Path,
    text: &str,
    value: &toml::Value,
) -> Result<Vec<crate::ingest::json_map::JsonSource>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        source: Vec<crate::ingest::json_map::JsonSource>,
    }
    let fail = |msg: String| {
        // the line of the first [[json.source]] table, for the reader
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[[json.source]]"))
            .map_or(1, |i| i + 1);
        crate::error::rejected(format!("config file {}:{line}: {msg}", p.display()))
    };
    let section: Section = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| fail(format!("json.source: {}", e.message())))?;
    let mut seen = std::collections::BTreeSet::new();
    for src in &section.source {
        if !seen.insert(src.name.clone()) {
            return Err(fail(format!("json.source '{}' is named twice", src.name)));
        }
        src.check().map_err(fail)?;
    }
    Ok(section.source)
}

/// `[[mail.rule]]` tables, compiled in their order; errors name the file,
/// the line of the rule's table and the rule.
fn read_mail_rules(
    p: &Path,
    text: &str,
    value: &toml::Value,
) -> Result<Vec<crate::ingest::mail::Recognizer>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        rule: Vec<crate::ingest::mail::MailRule>,
    }
    let tables: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[mail.rule]]"))
        .map(|(i, _)| i + 1)
        .collect();
    let fail = |n: usize, msg: String| {
        let line = tables.get(n).or(tables.first()).copied().unwrap_or(1);
        crate::error::rejected(format!("config file {}:{line}: {msg}", p.display()))
    };
    let section: Section = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| fail(0, format!("mail.rule: {}", e.message())))?;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (n, rule) in section.rule.iter().enumerate() {
        if !seen.insert(rule.name.clone()) {
            return Err(fail(n, format!("mail.rule '{}' is named twice", rule.name)));
        }
        out.push(rule.compile().map_err(|e| fail(n, e))?);
    }
    Ok(out)
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Serialize)]
pub struct Effective {
    pub key: String,
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, Effective>,
    pub file: Option<PathBuf>,
    /// `[assignees]`: default assignee per client code.
    pub assignees: BTreeMap<String, String>,
    /// `[team.LOGIN]`: the people tickets are assigned to, by login.
    pub team: BTreeMap<String, Member>,
    /// The settings, typed once at load: code reads fields, never keys.
    pub s: Settings,
    /// `[[json.source]]`: how tools' JSON maps to runs (#14).
    pub json_sources: Vec<crate::ingest::json_map::JsonSource>,
    /// `[[mail.rule]]`: report e-mails' recognizers, in order (#14).
    pub mail_rules: Vec<crate::ingest::mail::Recognizer>,
}

/// A person of `[team.LOGIN]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Member {
    pub name: Option<String>,
    pub email: Option<String>,
    /// What the person may do (`[team.LOGIN] roles`); see `domain::role`.
    #[serde(serialize_with = "role_words")]
    pub roles: Vec<crate::domain::role::Role>,
}

fn role_words<S: serde::Serializer>(
    roles: &[crate::domain::role::Role],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(roles.len()))?;
    for r in roles {
        seq.serialize_element(r.as_str())?;
    }
    seq.end()
}

/// Every setting as its type (durations in seconds); see [`SETTINGS`] for
/// what each means.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `database.path`; `None`: the platform data folder.
    pub database_path: Option<PathBuf>,
    pub busy_timeout_s: i64,
    pub kpi_aged_after_s: i64,
    pub check_batch_windows: i64,
    pub check_default_max_runtime_s: i64,
    pub tickets_escalate_after_failures: i64,
    pub tickets_warnings_before_ticket: i64,
    pub tickets_auto_resolve: bool,
    pub tickets_reopen_within_s: i64,
    pub ingest_max_future_s: i64,
    pub ingest_silence_after_s: i64,
    pub ingest_same_run_skew_s: i64,
    /// `audit.checkpoint_file`; `None`: the state folder's.
    pub audit_checkpoint_file: Option<PathBuf>,
    pub audit_checkpoint_hook: Vec<String>,
    pub health_check_within_s: i64,
    pub health_generate_within_s: i64,
    pub hooks: HookSettings,
    /// Seconds until due, by SLA tier (bronze, silver, gold, platinum) and priority 1..4.
    pub sla_s: [[i64; 4]; 4],
    pub risks_min_success_percent: i64,
    pub risks_growth_percent: i64,
    pub risks_change_open_days: i64,
    pub approval_allow_self_approval: bool,
    /// `identity.service_accounts`.
    pub service_accounts: Vec<String>,
    pub approval_require_ref: crate::domain::change::RequireRef,
    /// The review's targets by SLA tier (bronze, silver, gold, platinum).
    pub targets: [crate::report::review::Targets; 4],
    pub act_within: crate::report::review::ActWithin,
    pub branding: Branding,
    /// `display.timezone`: tables across clients, dates without a client.
    pub display_tz: chrono_tz::Tz,
}

/// `[branding]`: who the review comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Branding {
    pub name: Option<String>,
    pub logo: Option<PathBuf>,
    pub accent: String,
    pub contact: Option<String>,
}

/// The index of a tier in [`Settings::sla_s`] and [`Settings::targets`].
pub fn tier_index(tier: &str) -> usize {
    match tier {
        "silver" => 1,
        "gold" => 2,
        "platinum" => 3,
        _ => 0,
    }
}

/// `[hooks]`: a command per ticket event, and how long one may run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HookSettings {
    pub on_open: Vec<String>,
    pub on_escalate: Vec<String>,
    pub on_reopen: Vec<String>,
    pub on_resolve: Vec<String>,
    pub on_task_overdue: Vec<String>,
    pub on_change: Vec<String>,
    pub timeout_s: i64,
}

impl Settings {
    /// The typed settings of validated values by key.
    fn of(values: &BTreeMap<&'static str, Effective>) -> Settings {
        let raw = |k: &str| values[k].value.as_str();
        let secs = |k: &str| parse_duration(raw(k)).unwrap_or(0);
        let count = |k: &str| raw(k).parse::<i64>().unwrap_or(0);
        let argv = |k: &str| serde_json::from_str(raw(k)).unwrap_or_default();
        let path = |k: &str| Some(raw(k)).filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut sla_s = [[0; 4]; 4];
        for (row, tier) in sla_s
            .iter_mut()
            .zip(["bronze", "silver", "gold", "platinum"])
        {
            for (p, due) in row.iter_mut().enumerate() {
                *due = secs(&format!("sla.{tier}_p{}", p + 1));
            }
        }
        let targets = ["bronze", "silver", "gold", "platinum"].map(|t| {
            let pc = |k: &str| count(&format!("targets.{t}_{k}")) as f64;
            crate::report::review::Targets {
                incident_rate: pc("incident_rate"),
                task_compliance: pc("task_compliance"),
                recovery_success: pc("recovery_success"),
                sla_attainment: pc("sla_attainment"),
                aged_backlog: count(&format!("targets.{t}_aged_backlog")),
            }
        });
        let text = |k: &str| Some(raw(k).to_string()).filter(|v| !v.is_empty());
        Settings {
            service_accounts: argv("identity.service_accounts"),
            approval_require_ref: crate::domain::change::RequireRef::parse(raw(
                "approval.require_ref",
            ))
            .unwrap_or_default(),
            targets,
            act_within: crate::report::review::ActWithin {
                high_s: secs("risks.act_within_high"),
                medium_s: secs("risks.act_within_medium"),
                low_s: secs("risks.act_within_low"),
            },
            branding: Branding {
                name: text("branding.name"),
                logo: path("branding.logo"),
                accent: raw("branding.accent").to_string(),
                contact: text("branding.contact"),
            },
            database_path: path("database.path"),
            busy_timeout_s: secs("database.busy_timeout"),
            kpi_aged_after_s: secs("kpi.aged_after"),
            check_batch_windows: count("check.batch_windows"),
            check_default_max_runtime_s: secs("check.default_max_runtime"),
            tickets_escalate_after_failures: count("tickets.escalate_after_failures"),
            tickets_warnings_before_ticket: count("tickets.warnings_before_ticket"),
            tickets_auto_resolve: raw("tickets.auto_resolve") == "true",
            tickets_reopen_within_s: secs("tickets.reopen_within"),
            ingest_max_future_s: secs("ingest.max_future"),
            ingest_silence_after_s: secs("ingest.silence_after"),
            ingest_same_run_skew_s: secs("ingest.same_run_skew"),
            audit_checkpoint_file: path("audit.checkpoint_file"),
            audit_checkpoint_hook: argv("audit.checkpoint_hook"),
            health_check_within_s: secs("health.check_within"),
            health_generate_within_s: secs("health.generate_within"),
            hooks: HookSettings {
                on_open: argv("hooks.on_open"),
                on_escalate: argv("hooks.on_escalate"),
                on_reopen: argv("hooks.on_reopen"),
                on_resolve: argv("hooks.on_resolve"),
                on_task_overdue: argv("hooks.on_task_overdue"),
                on_change: argv("hooks.on_change"),
                timeout_s: secs("hooks.timeout"),
            },
            sla_s,
            risks_min_success_percent: count("risks.min_success_percent"),
            risks_growth_percent: count("risks.growth_percent"),
            risks_change_open_days: count("risks.change_open_days"),
            approval_allow_self_approval: raw("approval.allow_self_approval") == "true",
            display_tz: match raw("display.timezone") {
                "" => machine_zone(),
                z => crate::domain::time::parse_tz(z).unwrap_or(chrono_tz::UTC),
            },
        }
    }
}

fn check_value(key: &str, kind: Kind, value: &str) -> Result<()> {
    match kind {
        Kind::Duration => parse_duration(value).map(|_| ()),
        Kind::Count => value
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| anyhow!("'{value}' must be a whole number")),
        Kind::Bool => match value {
            "true" | "false" => Ok(()),
            _ => Err(anyhow!("'{value}' must be true or false")),
        },
        Kind::Text => Ok(()),
        Kind::Word(words) => {
            if words.contains(&value) {
                Ok(())
            } else {
                Err(anyhow!("'{value}' is not one of {}", words.join(", ")))
            }
        }
        Kind::Colour => {
            let hex = value.strip_prefix('#').unwrap_or("");
            if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(())
            } else {
                Err(anyhow!("'{value}' must be a colour as #rrggbb"))
            }
        }
        Kind::Zone if value.is_empty() => Ok(()),
        Kind::Zone => crate::domain::time::parse_tz(value).map(|_| ()),
        Kind::Argv => serde_json::from_str::<Vec<String>>(value)
            .map(|_| ())
            .map_err(|_| {
                anyhow!("must be a list of strings, e.g. [\"/usr/local/bin/notify\", \"--psa\"]")
            }),
    }
    .with_context(|| format!("setting {key}"))
}

impl Config {
    /// Load settings. `file` is `--config` or `BMCTL_CONFIG` when given (then it
    /// must exist); otherwise the platform config file is read if present.
    /// `flags` are settings given as command-line flags (e.g. `--db`).
    pub fn load(file: Option<&Path>, flags: &[(&str, &str, &str)]) -> Result<Config> {
        Self::load_with(file, flags, true)
    }

    /// The system config of a shared host (`/etc/bmctl/config.toml`), as
    /// sudo and the service account read it: the environment has no say.
    pub fn load_system(file: &Path) -> Result<Config> {
        Self::load_with(Some(file), &[], false)
    }

    fn load_with(
        file: Option<&Path>,
        flags: &[(&str, &str, &str)],
        use_env: bool,
    ) -> Result<Config> {
        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => dirs::config_dir()
                .map(|d| d.join("bmctl").join("config.toml"))
                .filter(|p| p.exists()),
        };
        let mut from_file = BTreeMap::new();
        let mut assignees = BTreeMap::new();
        let mut team = BTreeMap::new();
        let mut json_sources = Vec::new();
        let mut mail_rules = Vec::new();
        if let Some(p) = &path {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config file {}", p.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| anyhow!("config file {}: {}", p.display(), e.message()))?;
            for (section, value) in &table {
                if section == "team" {
                    team = read_team(p, value)?;
                    continue;
                }
                if section == "json" {
                    json_sources = read_json_sources(p, &text, value)?;
                    continue;
                }
                if section == "mail" {
                    mail_rules = read_mail_rules(p, &text, value)?;
                    continue;
                }
                if section == "assignees" {
                    // [assignees] CLIENT = "user": the default assignee of a client's tickets
                    let inner = value.as_table().into_iter().flatten();
                    for (client, user) in inner {
                        let user = user.as_str().ok_or_else(|| {
                            crate::error::rejected(format!(
                                "config file {}: assignees.{client} must be a user name",
                                p.display()
                            ))
                        })?;
                        assignees.insert(client.clone(), user.to_string());
                    }
                    continue;
                }
                let inner = value.as_table().ok_or_else(|| {
                    crate::error::rejected(format!(
                        "config file {}: '{section}' must be a [section]",
                        p.display()
                    ))
                })?;
                for (name, v) in inner {
                    let key = format!("{section}.{name}");
                    if key == "check.lookback" {
                        return Err(crate::error::rejected(format!(
                            "config file {}: check.lookback is gone: `check` now closes every window since each policy's last closed one (or its creation), however long the gap; remove the key",
                            p.display()
                        )));
                    }
                    let Some(setting) = SETTINGS.iter().find(|s| s.key == key) else {
                        return Err(crate::error::rejected(format!(
                            "config file {}: unknown key '{key}' (known: {})",
                            p.display(),
                            SETTINGS
                                .iter()
                                .map(|s| s.key)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    };
                    let text = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Array(items) => serde_json::to_string(
                            &items
                                .iter()
                                .map(|i| {
                                    i.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| i.to_string())
                                })
                                .collect::<Vec<_>>(),
                        )?,
                        other => other.to_string(),
                    };
                    check_value(&key, setting.kind, &text)
                        .with_context(|| format!("config file {}", p.display()))
                        .map_err(|e| crate::error::rejected(format!("{e:#}")))?;
                    from_file.insert(setting.key, text);
                }
            }
        }
        let mut values = BTreeMap::new();
        for s in SETTINGS {
            let env = env_name(s.key);
            let flag = flags.iter().find(|(k, _, _)| *k == s.key);
            let (value, source) = if let Some((_, flag_name, v)) = flag {
                (v.to_string(), format!("flag {flag_name}"))
            } else if let Some(v) = use_env.then(|| std::env::var(&env).ok()).flatten() {
                let v = if s.kind == Kind::Argv {
                    serde_json::to_string(
                        &shell_words::split(&v).map_err(|e| anyhow!("{env}: {e}"))?,
                    )?
                } else {
                    v
                };
                (v, format!("env {env}"))
            } else if let Some(v) = from_file.get(s.key) {
                (
                    v.clone(),
                    format!(
                        "file {}",
                        path.as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                )
            } else {
                (s.default.to_string(), "default".to_string())
            };
            check_value(s.key, s.kind, &value).with_context(|| format!("from {source}"))?;
            values.insert(
                s.key,
                Effective {
                    key: s.key.to_string(),
                    value,
                    source,
                },
            );
        }
        if !team.is_empty() {
            for (client, user) in &assignees {
                if !team.contains_key(user) {
                    return Err(crate::error::rejected(format!(
                        "config file {}: assignees.{client} = \"{user}\" is not in [team] ({})",
                        path.as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        team.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        Ok(Config {
            s: Settings::of(&values),
            values,
            file: path,
            assignees,
            team,
            json_sources,
            mail_rules,
        })
    }

    /// Settings as they would be with no file, environment or flags.
    pub fn defaults() -> Config {
        let values = SETTINGS
            .iter()
            .map(|s| {
                (
                    s.key,
                    Effective {
                        key: s.key.to_string(),
                        value: s.default.to_string(),
                        source: "default".into(),
                    },
                )
            })
            .collect();
        Config {
            s: Settings::of(&values),
            values,
            file: None,
            assignees: BTreeMap::new(),
            team: BTreeMap::new(),
            json_sources: Vec::new(),
            mail_rules: Vec::new(),
        }
    }

    /// The database path: flag, env, config file, else the platform data folder.
    /// Whether the database path is the platform default (nobody named one).
    pub fn db_path_is_default(&self) -> bool {
        self.s.database_path.is_none()
    }

    pub fn db_path(&self) -> Result<PathBuf> {
        if let Some(set) = &self.s.database_path {
            let text = set.to_string_lossy();
            if crate::store::pg::is_url(&text) {
                return Err(anyhow!(
                    "{}: the team store on PostgreSQL is being built (#16) and runs no command yet; give a SQLite file",
                    crate::store::pg::redacted(&text)
                ));
            }
            return Ok(set.clone());
        }
        let dir = dirs::data_dir()
            .ok_or_else(|| anyhow!("no data folder on this platform; give --db"))?;
        Ok(dir.join("bmctl").join("bmctl.db"))
    }

    /// All settings with value, source and meaning, for `config show`.
    pub fn effective(&self) -> Vec<(Effective, &'static str)> {
        SETTINGS
            .iter()
            .filter_map(|s| self.values.get(s.key).map(|e| (e.clone(), s.help)))
            .map(|(mut e, help)| {
                // a database URL's password is never printed
                if e.key == "database.path" {
                    e.value = crate::store::pg::redacted(&e.value);
                }
                (e, help)
            })
            .collect()
    }
}

/// The machine's zone: `TZ` when it names one, else the system's, else UTC.
fn machine_zone() -> chrono_tz::Tz {
    std::env::var("TZ")
        .ok()
        .map(|z| z.trim_start_matches(':').to_string())
        .or_else(|| iana_time_zone::get_timezone().ok())
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// `[team.LOGIN]` tables: `name` and `email`, nothing else.
fn read_team(file: &Path, value: &toml::Value) -> Result<BTreeMap<String, Member>> {
    let bad =
        |what: String| crate::error::rejected(format!("config file {}: {what}", file.display()));
    let table = value
        .as_table()
        .ok_or_else(|| bad("[team] must hold a [team.LOGIN] table per person".into()))?;
    let mut team = BTreeMap::new();
    for (login, person) in table {
        let fields = person
            .as_table()
            .ok_or_else(|| bad(format!("team.{login} must be a [team.{login}] table")))?;
        // a login names one person exactly: no look-alike, no padding
        let checked = crate::domain::role::check_login(login)
            .map_err(|e| bad(format!("[team.{}]: {e}", login.escape_debug())))?;
        if checked != login {
            return Err(bad(format!(
                "[team.\"{}\"]: a login has no spaces around it",
                login.escape_debug()
            )));
        }
        let mut m = Member::default();
        for (k, v) in fields {
            if k == "roles" {
                let list = v
                    .as_array()
                    .ok_or_else(|| bad(format!("team.{login}.roles must be a list")))?;
                for r in list {
                    let word = r.as_str().unwrap_or_default();
                    let role = crate::domain::role::Role::parse(word).ok_or_else(|| {
                        bad(format!(
                            "team.{login}.roles: '{word}' is not one of {}",
                            crate::domain::role::Role::WORDS.join(", ")
                        ))
                    })?;
                    m.roles.push(role);
                }
                continue;
            }
            let text = v
                .as_str()
                .ok_or_else(|| bad(format!("team.{login}.{k} must be text")))?
                .to_string();
            match k.as_str() {
                "name" => m.name = Some(text),
                "email" => m.email = Some(text),
                other => {
                    return Err(bad(format!(
                        "unknown key team.{login}.{other} (known: name, email, roles)"
                    )))
                }
            }
        }
        team.insert(login.clone(), m);
    }
    Ok(team)
}

impl Config {
    /// Whether any member of the team holds a role: without, every command
    /// is allowed to everyone.
    pub fn roles_configured(&self) -> bool {
        self.team.values().any(|m| !m.roles.is_empty())
    }

    /// May `actor` run `command` (its audit name, `macd approve`)? A refusal
    /// names the role needed and who holds it.
    pub fn authorize(&self, actor: &str, command: &str) -> Result<()> {
        self.pass(actor, command, crate::domain::role::gate(command))
    }

    /// Like [`Config::authorize`], for a part of a command gated on its own
    /// (`tasks skip --not-applicable` needs a backup admin).
    pub fn authorize_role(
        &self,
        actor: &str,
        what: &str,
        role: crate::domain::role::Role,
    ) -> Result<()> {
        self.pass(actor, what, crate::domain::role::Gate::Role(role))
    }

    fn pass(&self, actor: &str, what: &str, g: crate::domain::role::Gate) -> Result<()> {
        let member = self.team.get(actor).map(|m| m.roles.as_slice());
        let service = self.s.service_accounts.iter().any(|s| s == actor);
        if crate::domain::role::allows(g, self.roles_configured(), member, service) {
            return Ok(());
        }
        self.refuse(actor, what, g)
    }

    fn refuse(&self, actor: &str, command: &str, g: crate::domain::role::Gate) -> Result<()> {
        use crate::domain::role::{Gate, Role};
        let holders = |r: Role| -> Vec<String> {
            self.team
                .iter()
                .filter(|(_, m)| m.roles.contains(&r))
                .map(|(l, _)| l.clone())
                .collect()
        };
        let (needed, who) = match g {
            Gate::Anyone => (
                "a login in [team]".to_string(),
                self.team.keys().cloned().collect::<Vec<_>>(),
            ),
            Gate::Service => (
                format!(
                    "the service account ({}) or the backup-admin role",
                    self.s.service_accounts.join(", ")
                ),
                holders(Role::BackupAdmin),
            ),
            Gate::Role(r) => (format!("the {r} role"), holders(r)),
        };
        Err(crate::error::refused(format!(
            "`bmctl {command}` needs {needed}; '{actor}' {}; {}",
            match self.team.get(actor) {
                Some(m) if m.roles.is_empty() => "holds no role".to_string(),
                Some(m) => format!(
                    "holds {}",
                    m.roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "is not in [team]".to_string(),
            },
            if who.is_empty() {
                "nobody holds it: add it to a [team.LOGIN] roles list".to_string()
            } else {
                format!("ask {}", who.join(" or "))
            }
        )))
    }

    /// A name to assign work to: with a team, one of its logins (exactly);
    /// without one, any name but `-` or blank.
    pub fn check_assignee(&self, user: &str) -> Result<()> {
        let user = user.trim();
        if user.is_empty() || user == "-" {
            return Err(crate::error::rejected(
                "give a person to assign, or --unassign to clear the assignee",
            ));
        }
        crate::domain::role::check_login(user).map_err(crate::error::rejected)?;
        if self.team.is_empty() || self.team.contains_key(user) {
            return Ok(());
        }
        let like = self
            .team
            .keys()
            .find(|l| l.eq_ignore_ascii_case(user))
            .map(|l| format!("; did you mean {l}?"))
            .unwrap_or_default();
        Err(crate::error::rejected(format!(
            "'{user}' is not in the team ({}){like}",
            self.team.keys().cloned().collect::<Vec<_>>().join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every setting has a valid default, and the typed settings read them.
    #[test]
    fn defaults_are_valid_and_typed() {
        for st in SETTINGS {
            check_value(st.key, st.kind, st.default).unwrap();
        }
        let s = Config::defaults().s;
        assert_eq!(s.database_path, None);
        assert_eq!((s.busy_timeout_s, s.kpi_aged_after_s), (30, 7 * 86_400));
        assert_eq!(
            (s.tickets_escalate_after_failures, s.tickets_auto_resolve),
            (3, true)
        );
        assert_eq!(s.sla_s[3][0], 2 * 3_600, "platinum P1");
        assert_eq!(s.hooks.timeout_s, 30);
        assert!(s.hooks.on_open.is_empty());
    }
}
