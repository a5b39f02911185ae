//! The commands' work: open the command's IMMEDIATE transaction, read what
//! the rules need, ask the rules (pure, in `domain`: `domain::automation`
//! for policy states and tickets), let the store write what they decided,
//! commit, return a value for `output` to render.

pub mod bacula;
pub mod check;
pub mod client;
pub mod cmdb;
pub mod correct;
pub mod db;
pub mod deep;
pub mod demo;
pub mod due;
pub mod events;
pub mod exclude;
pub mod health;
pub mod hooks;
pub mod kpi;
pub mod late;
pub mod macd;
pub mod mail;
pub mod occurrences;
pub mod pause;
pub mod people;
pub mod plan;
pub mod read;
pub mod restore;
pub mod review;
pub mod risks;
pub mod run;
pub mod tasks;
#[cfg(test)]
mod truth_tests;
pub mod views;

use chrono::{DateTime, Utc};

use crate::store::audit::Actor;

/// The invocation: when it runs, who runs it, and which command (for the audit).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    pub actor: String,
    pub command: String,
    /// The ticket rules in force (thresholds, SLA due times, default assignees).
    pub rules: correct::Rules,
}

impl Ctx {
    pub fn who(&self) -> Actor<'_> {
        Actor {
            at: self.now.timestamp(),
            actor: &self.actor,
            command: &self.command,
        }
    }

    pub fn ts(&self) -> i64 {
        self.now.timestamp()
    }
}
