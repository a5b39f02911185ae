//! Configuration items (CMDB): systems of a client, with or without backups.

use anyhow::{bail, Result};
use serde::Serialize;

/// Kinds of systems a CMDB holds.
pub const CI_KINDS: &[&str] = &[
    "server",
    "vm",
    "workstation",
    "laptop",
    "database",
    "saas",
    "nas",
    "network",
    "other",
];

pub fn validate_kind(kind: &str) -> Result<()> {
    if !CI_KINDS.contains(&kind) {
        bail!("kind '{kind}' is not one of {}", CI_KINDS.join(", "));
    }
    Ok(())
}

/// Criticality tier: 1 = critical, 3 = least critical.
pub fn validate_tier(tier: i64) -> Result<()> {
    if !(1..=3).contains(&tier) {
        bail!("tier {tier} must be 1 (critical), 2 or 3");
    }
    Ok(())
}

/// Whether a CI or a policy is in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Active,
    Retired,
}

words!(Lifecycle { Active = "active", Retired = "retired" });

/// Whether a CI's data is protected, derived from its state and policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Protected,
    #[default]
    Unprotected,
    Excluded,
    Decommissioned,
}

impl BackupStatus {
    /// Retired CIs are decommissioned; a recorded exclusion is not a gap;
    /// otherwise a CI is protected exactly when an active policy covers it.
    pub fn derive(retired: bool, excluded: bool, active_policies: i64) -> Self {
        if retired {
            BackupStatus::Decommissioned
        } else if active_policies > 0 {
            BackupStatus::Protected
        } else if excluded {
            BackupStatus::Excluded
        } else {
            BackupStatus::Unprotected
        }
    }
}

words!(BackupStatus { Protected = "protected", Unprotected = "unprotected", Excluded = "excluded", Decommissioned = "decommissioned" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_status_follows_policies() {
        assert_eq!(
            BackupStatus::derive(false, false, 1),
            BackupStatus::Protected
        );
        assert_eq!(
            BackupStatus::derive(false, false, 0),
            BackupStatus::Unprotected
        );
        assert_eq!(BackupStatus::derive(false, true, 0), BackupStatus::Excluded);
        assert_eq!(
            BackupStatus::derive(true, false, 2),
            BackupStatus::Decommissioned
        );
        assert!(validate_kind("toaster").is_err());
        assert!(validate_tier(4).is_err());
    }
}
