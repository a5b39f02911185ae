//! Settings: flag > environment > config file > default, and where each came from.
//!
//! The config file is TOML with sections (`[database] busy_timeout = "30s"`);
//! a key bmctl does not know is an error that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
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
    format!("BMCTL_{}", last.to_uppercase())
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
            _ => bail!("'{value}' must be true or false"),
        },
        Kind::Text => Ok(()),
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
        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => dirs::config_dir()
                .map(|d| d.join("bmctl").join("config.toml"))
                .filter(|p| p.exists()),
        };
        let mut from_file = BTreeMap::new();
        let mut assignees = BTreeMap::new();
        if let Some(p) = &path {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config file {}", p.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| anyhow!("config file {}: {}", p.display(), e.message()))?;
            for (section, value) in &table {
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
            } else if let Ok(v) = std::env::var(&env) {
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
        Ok(Config {
            values,
            file: path,
            assignees,
        })
    }

    /// A setting's value as text.
    pub fn raw_value(&self, key: &str) -> &str {
        self.raw(key)
    }

    fn raw(&self, key: &str) -> &str {
        // every known key has a value (its default at least): an unknown
        // one is a misspelling in bmctl's own code, never a silent 0
        match self.values.get(key) {
            Some(e) => e.value.as_str(),
            None => panic!("bmctl reads an unknown setting `{key}` (a bug: see SETTINGS)"),
        }
    }

    /// A duration setting in seconds (validated at load).
    pub fn secs(&self, key: &str) -> i64 {
        parse_duration(self.raw(key)).unwrap_or(0)
    }

    /// A command-line setting (validated at load); empty when unset.
    pub fn argv(&self, key: &str) -> Vec<String> {
        serde_json::from_str(self.raw(key)).unwrap_or_default()
    }

    /// Settings as they would be with no file, environment or flags.
    /// (Also the fallback for thresholds read by name.)
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
            values,
            file: None,
            assignees: BTreeMap::new(),
        }
    }

    /// A count setting (validated at load).
    pub fn count(&self, key: &str) -> i64 {
        self.raw(key).parse().unwrap_or(0)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.raw(key) == "true"
    }

    /// The database path: flag, env, config file, else the platform data folder.
    /// Whether the database path is the platform default (nobody named one).
    pub fn db_path_is_default(&self) -> bool {
        self.raw("database.path").is_empty()
    }

    pub fn db_path(&self) -> Result<PathBuf> {
        let set = self.raw("database.path");
        if !set.is_empty() {
            return Ok(PathBuf::from(set));
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
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::SETTINGS;

    /// Every setting bmctl's code reads by name is one it knows: a
    /// misspelt key fails here, not as a silent default at run time.
    #[test]
    fn every_key_read_in_the_code_is_a_known_setting() {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for reader in [
                        ".secs(\"",
                        ".count(\"",
                        ".flag(\"",
                        ".argv(\"",
                        ".raw_value(\"",
                    ] {
                        for (i, _) in text.match_indices(reader) {
                            let rest = &text[i + reader.len()..];
                            let key = &rest[..rest.find('"').unwrap()];
                            out.push((p.display().to_string(), key.to_string()));
                        }
                    }
                }
            }
        }
        let mut read = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut read,
        );
        assert!(read.len() > 20, "the scan finds the readers: {read:?}");
        for (file, key) in read {
            assert!(
                SETTINGS.iter().any(|s| s.key == key),
                "{file} reads `{key}`, which is not a setting"
            );
        }
    }
}
