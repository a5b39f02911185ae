//! Clients: the MSP's customers, identified by a short slug code.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Check a client code (or a job or host name used in paths): a slug of
/// lowercase letters, digits, `-` and `_`, starting with a letter or digit.
pub fn validate_slug(what: &str, text: &str) -> Result<()> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        bail!("{what} '{text}' must be 1-64 lowercase letters, digits, '-' or '_' (e.g. acme)");
    }
    Ok(())
}

/// Check a host name: letters, digits, `-`, `_` and `.`, as a CMDB would hold it.
pub fn validate_host(text: &str) -> Result<()> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        bail!("host '{text}' must be letters, digits, '-', '_' or '.' (e.g. fs01)");
    }
    Ok(())
}

/// The SLA tier a client bought; it sets due times of corrective tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum SlaTier {
    Bronze,
    Silver,
    Gold,
    Platinum,
}

/// The SLA tiers' words, for the command line's choices.
pub const SLA_TIER_WORDS: &[&str] = &["bronze", "silver", "gold", "platinum"];

impl SlaTier {
    pub const ALL: [SlaTier; 4] = [
        SlaTier::Bronze,
        SlaTier::Silver,
        SlaTier::Gold,
        SlaTier::Platinum,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaTier::Bronze => "bronze",
            SlaTier::Silver => "silver",
            SlaTier::Gold => "gold",
            SlaTier::Platinum => "platinum",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match SlaTier::ALL.iter().find(|t| t.as_str() == text) {
            Some(t) => Ok(*t),
            None => bail!("SLA tier '{text}' is not one of bronze, silver, gold, platinum"),
        }
    }
}

impl std::fmt::Display for SlaTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("client", "acme").is_ok());
        assert!(validate_slug("client", "acme-2_b").is_ok());
        for bad in ["", "Acme", "../x", "a b", "-x", "x;drop"] {
            assert!(validate_slug("client", bad).is_err(), "{bad}");
        }
        assert!(validate_host("fs01.acme.local").is_ok());
        assert!(validate_host("../etc").is_err());
    }

    #[test]
    fn tiers() {
        assert_eq!(SlaTier::parse("gold").unwrap(), SlaTier::Gold);
        assert!(SlaTier::parse("diamond").is_err());
    }
}
