//! Exit codes and the typed errors that carry them.
//!
//! Most failures are plain `anyhow` errors (exit 1). The few that scripts must
//! tell apart carry a [`Fail`] somewhere in their chain; `main` finds it and
//! maps it to DESIGN's exit codes.

use std::fmt;

/// What kind of failure this is, and so which exit code it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Input rejected by validation; nothing written (exit 3).
    Rejected,
    /// Nothing matched, e.g. an unknown id (exit 4).
    NotFound,
    /// Refused by a process rule (exit 5).
    Refused,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Rejected => 3,
            Kind::NotFound => 4,
            Kind::Refused => 5,
        }
    }
}

/// An error with an exit code attached.
#[derive(Debug)]
pub struct Fail {
    pub kind: Kind,
    pub message: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

pub fn rejected(message: impl Into<String>) -> anyhow::Error {
    Fail {
        kind: Kind::Rejected,
        message: message.into(),
    }
    .into()
}

pub fn not_found(message: impl Into<String>) -> anyhow::Error {
    Fail {
        kind: Kind::NotFound,
        message: message.into(),
    }
    .into()
}

pub fn refused(message: impl Into<String>) -> anyhow::Error {
    Fail {
        kind: Kind::Refused,
        message: message.into(),
    }
    .into()
}

/// The exit code for an error: the first [`Fail`] in its chain decides, else 1.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Fail>())
        .map(|f| f.kind.exit_code())
        .unwrap_or(1)
}
