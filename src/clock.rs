//! The one place that reads the wall clock. Everything else takes `now` as an
//! argument, so `--now` / `BMCTL_NOW` make every command deterministic.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::domain::time::parse_instant;

/// `now` for this invocation: the override when one is given, else the wall clock.
pub fn now(override_: Option<&str>) -> Result<DateTime<Utc>> {
    match override_ {
        Some(text) => parse_instant(text).context("reading --now / BMCTL_NOW"),
        None => Ok(Utc::now()),
    }
}

/// The wall clock in Unix seconds, whatever `--now` says: for leases and
/// the time a write really happened.
pub fn wall() -> i64 {
    Utc::now().timestamp()
}
