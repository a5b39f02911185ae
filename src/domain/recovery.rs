//! Recovery attempts (restore tests and real restores) as the KPIs read them.

use serde::Serialize;

/// A recovery attempt as the KPIs need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub id: i64,
    pub client: String,
    pub job: String,
    pub kind: String,
    pub outcome: String,
    pub ended_at: crate::domain::time::Ts,
    pub issues: Option<String>,
}
