//! bmctl: the backup-management service of an MSP over one SQLite file.
//!
//! Layers (STYLE.md): `cli` parses and renders, `ops` runs one verb in one
//! transaction, `domain` holds the rules, `report` the KPI and risk arithmetic, `store`
//! speaks SQL, `output` prints.

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod fault;
pub mod identity;
pub mod ingest;
pub mod input;
pub mod ops;
pub mod output;
pub mod process;
pub mod prompt;
pub mod report;
pub mod store;

#[cfg(test)]
mod properties;
