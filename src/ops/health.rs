//! `bmctl health`: bmctl watching itself. When `check` and `tasks generate`
//! last ran, the newest data per source and per client (a client whose jobs
//! run daily and that has been silent longer than `ingest.silence_after` is
//! flagged), and the notifications waiting. Anything stale makes the exit
//! code 1, so an outside monitor can page about bmctl itself: for a
//! monitoring tool, silence is the worst failure.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use crate::domain::policy::Schedule;
use crate::domain::time::{format_age, from_unix, rfc3339};
use crate::store::{health, meta, Store};

/// The meta key of the last `check` (its `now`).
pub const LAST_CHECK: &str = "last_check_at";
/// The meta key of the last `tasks generate` (its `now`).
pub const LAST_GENERATE: &str = "last_generate_at";

/// What counts as stale.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub check_within_s: i64,
    pub generate_within_s: i64,
    pub silence_after_s: i64,
}

/// One line of the health report.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub item: String,
    pub value: String,
    pub stale: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Health {
    pub ok: bool,
    pub items: Vec<Item>,
}

impl Health {
    /// One line for the top of the morning view, when something is stale.
    pub fn summary(&self) -> Option<String> {
        let stale: Vec<String> = self
            .items
            .iter()
            .filter(|i| i.stale)
            .map(|i| format!("{}: {}", i.item, i.value))
            .collect();
        (!stale.is_empty()).then(|| {
            format!(
                "bmctl health: STALE — {} (see `bmctl health`)",
                stale.join("; ")
            )
        })
    }
}

fn ago(now: i64, t: Option<i64>) -> String {
    match t {
        Some(t) => format!("{} ({} ago)", rfc3339(t), format_age(now - t)),
        None => "never".into(),
    }
}

/// Whether a schedule fires at least once a day: no gap over a day in the
/// next two weeks (a weekday job is not expected on a Sunday).
fn daily(schedule: &str, tz: &str, now: i64) -> bool {
    let (Ok(s), Ok(tz)) = (Schedule::parse(schedule), tz.parse::<chrono_tz::Tz>()) else {
        return false;
    };
    let times = s.occurrences_at_most(from_unix(now), from_unix(now + 14 * 86_400), tz, 2_000);
    times.len() >= 14
        && times
            .windows(2)
            .all(|w| (w[1] - w[0]).num_seconds() <= 86_400)
}

pub fn report(store: &Store, now: i64, limits: &Limits) -> Result<Health> {
    report_of(store, now, limits, Scope::Full)
}

/// What `tasks due` shows first: the stamps of `check` and `tasks generate`
/// and the waiting notifications (two seeks and a small count: `tasks due`
/// stays within its 10 ms at 50,000 policies; the whole report, with each
/// client's silence, reads every policy).
pub fn quick(store: &Store, now: i64, limits: &Limits) -> Result<Health> {
    report_of(store, now, limits, Scope::Quick)
}

enum Scope {
    Full,
    Quick,
}

fn report_of(store: &Store, now: i64, limits: &Limits, scope: Scope) -> Result<Health> {
    let conn = store.db();
    let mut items = Vec::new();
    let stamp = |key: &str| meta::get_i64(conn, key);
    for (what, key, within) in [
        ("check last ran", LAST_CHECK, limits.check_within_s),
        (
            "tasks generate last ran",
            LAST_GENERATE,
            limits.generate_within_s,
        ),
    ] {
        let t = stamp(key)?;
        items.push(Item {
            item: what.into(),
            value: ago(now, t),
            stale: t.is_none_or(|t| now - t > within),
        });
    }
    if let Scope::Full = scope {
        let found = store.verify_pages(false)?;
        let ok = found == ["ok"];
        items.push(Item {
            item: "database pages (quick_check)".into(),
            value: if ok {
                "ok".into()
            } else {
                format!(
                    "DAMAGED: {}; writes are refused until it is restored",
                    found.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                )
            },
            stale: !ok,
        });
        if !ok {
            // nothing more is read from a damaged file
            return Ok(Health { ok: false, items });
        }
    }
    // per client: the newest run of any of its policies
    let rows = match scope {
        Scope::Quick => Vec::new(), // every policy is read only by the full report
        Scope::Full => health::policy_clocks(conn)?,
    };
    // (newest run, whether a job runs daily, the oldest policy's creation)
    let mut clients: Vec<(String, Option<i64>, bool, i64)> = Vec::new();
    let mut daily_of: HashMap<(String, String), bool> = HashMap::new();
    for health::PolicyClock {
        client: code,
        timezone: tz,
        schedule,
        created_at: created,
        last_event_at: last,
    } in rows
    {
        let is_daily = *daily_of
            .entry((schedule.clone(), tz.clone()))
            .or_insert_with(|| daily(&schedule, &tz, now));
        match clients.last_mut().filter(|c| c.0 == code) {
            Some(c) => {
                c.1 = c.1.max(last);
                c.2 |= is_daily;
                c.3 = c.3.min(created);
            }
            None => clients.push((code, last, is_daily, created)),
        }
    }
    for (code, last, is_daily, created) in clients {
        let silent_since = last.unwrap_or(created);
        items.push(Item {
            item: format!("newest run of client {code}"),
            value: ago(now, last),
            stale: is_daily && now - silent_since > limits.silence_after_s,
        });
    }
    // per source: the newest run of the last week of data (one key range)
    if let Scope::Full = scope {
        for (source, t) in health::newest_by_source(conn)? {
            items.push(Item {
                item: format!("newest run from source {source}"),
                value: ago(now, Some(t)),
                stale: false,
            });
        }
    }
    // the oldest row is the first by id: one seek; the count only in full
    let oldest = health::outbox_oldest(conn)?;
    let waiting = match (&scope, oldest) {
        (Scope::Full, Some(_)) => health::outbox_count(conn)?.to_string(),
        _ => "some".to_string(),
    };
    items.push(Item {
        item: "notifications waiting".into(),
        value: match oldest {
            Some(t) => format!("{waiting}, the oldest from {}", ago(now, Some(t))),
            None => "0".into(),
        },
        stale: oldest.is_some_and(|t| now - t > limits.check_within_s),
    });
    let ok = items.iter().all(|i| !i.stale);
    Ok(Health { ok, items })
}
