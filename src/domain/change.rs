//! Backup changes (MACD, 05f.03–05f.06): a request to add, change, move or
//! delete a backup, its risk, and the workflow
//! `requested → approved | rejected → implemented → completed`, or
//! `cancelled` before implementation. A refused step names the change, its
//! state and the command that helps.

use anyhow::Result;
use serde::Serialize;

use super::plan::{CiSpec, PolicySpec};
use super::policy::{is_offsite, Retention};
use crate::error::refused;

/// Where a change is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    Requested,
    Approved,
    Rejected,
    Cancelled,
    Implemented,
    Completed,
}

words!(ChangeState { Requested = "requested", Approved = "approved", Rejected = "rejected", Cancelled = "cancelled", Implemented = "implemented", Completed = "completed" });

/// What a change does to a backup (DESIGN: move, add, change, delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Add,
    Change,
    Move,
    Delete,
}

words!(ChangeKind { Add = "add", Change = "change", Move = "move", Delete = "delete" });

/// A change's assessed risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeRisk {
    Low,
    Medium,
    High,
}

words!(ChangeRisk { Low = "low", Medium = "medium", High = "high" });

/// Which changes need an external change reference to be approved
/// (`approval.require_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequireRef {
    #[default]
    None,
    High,
    Medium,
    All,
}

words!(RequireRef { None = "none", High = "high", Medium = "medium", All = "all" });

impl RequireRef {
    /// Whether a change of `risk` needs a reference under this rule.
    pub fn applies(self, risk: ChangeRisk) -> bool {
        match self {
            RequireRef::None => false,
            RequireRef::High => risk == ChangeRisk::High,
            RequireRef::Medium => risk != ChangeRisk::Low,
            RequireRef::All => true,
        }
    }
}

/// A change's number as people write it: `CR-12` (or `12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangeId(pub i64);

impl std::str::FromStr for ChangeId {
    type Err = String;

    fn from_str(s: &str) -> Result<ChangeId, String> {
        let digits = s
            .strip_prefix("CR-")
            .or_else(|| s.strip_prefix("cr-"))
            .unwrap_or(s);
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Ok(ChangeId(n)),
            _ => Err(format!("'{s}' is not a change number (CR-12 or 12)")),
        }
    }
}

impl std::fmt::Display for ChangeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CR-{}", self.0)
    }
}

/// A change as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    #[serde(skip)]
    pub client_id: i64,
    pub client: String,
    pub job: String,
    #[serde(skip)]
    pub policy_id: Option<i64>,
    pub ci_host: Option<String>,
    /// The policy as it was when requested (change, move, delete).
    pub current: Option<PolicySpec>,
    /// The policy as it would be (add, change, move).
    pub proposal: Option<PolicySpec>,
    /// An add's CI that is not in the CMDB yet (`--new-ci`).
    #[serde(skip)]
    pub new_ci: Option<CiSpec>,
    /// The policy revision the request was made against.
    pub based_on: Option<i64>,
    pub state: ChangeState,
    pub risk: ChangeRisk,
    pub risk_reasons: Vec<String>,
    pub reason: String,
    #[serde(rename = "ref")]
    pub ref_: Option<String>,
    pub requested_by: String,
    pub requested_at: i64,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
    pub decision: Option<String>,
    pub implemented_by: Option<String>,
    pub implemented_at: Option<i64>,
    pub retain_until: Option<i64>,
    pub dispose: bool,
    pub forced: Option<String>,
    pub completed_by: Option<String>,
    pub completed_at: Option<i64>,
    pub verified_by: Option<String>,
    pub plan_version: Option<i64>,
    pub updated_at: i64,
}

impl Change {
    pub fn name(&self) -> String {
        format!("change CR-{}", self.id)
    }

    fn refuse(&self, doing: &str, help: &str) -> anyhow::Error {
        refused(format!(
            "cannot {doing} {}: it is '{}'; {help}",
            self.name(),
            self.state
        ))
    }

    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            ChangeState::Requested | ChangeState::Approved | ChangeState::Implemented
        )
    }

    /// Approve: not by the requester (unless allowed), with its reference
    /// when `require_ref` asks for one, high risk confirmed.
    pub fn approve(
        &mut self,
        by: &str,
        allow_self: bool,
        require_ref: RequireRef,
        confirm_risk: bool,
        now: i64,
    ) -> Result<()> {
        if self.state != ChangeState::Requested {
            let help = match self.state {
                ChangeState::Approved => {
                    format!("implement it with `bmctl macd implement {}`", self.id)
                }
                _ => "only a requested change can be approved".into(),
            };
            return Err(self.refuse("approve", &help));
        }
        if by == self.requested_by && !allow_self {
            return Err(refused(format!(
                "cannot approve {}: '{by}' requested it, and the requester may not approve their own change (segregation of duties); ask another approver, or set approval.allow_self_approval for a one-person team",
                self.name()
            )));
        }
        if require_ref.applies(self.risk)
            && self.ref_.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return Err(refused(format!(
                "cannot approve {}: a {} risk change needs its change-management reference (approval.require_ref = {}); approve it with --ref CHG-…",
                self.name(),
                self.risk.as_str(),
                require_ref.as_str()
            )));
        }
        if self.risk == ChangeRisk::High && !confirm_risk {
            return Err(refused(format!(
                "cannot approve {}: its risk is high ({}); re-run with --confirm-risk once you have weighed it",
                self.name(),
                self.risk_reasons.join("; ")
            )));
        }
        self.state = ChangeState::Approved;
        self.approved_by = Some(by.into());
        self.approved_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    pub fn reject(&mut self, by: &str, reason: &str, now: i64) -> Result<()> {
        if self.state != ChangeState::Requested {
            return Err(self.refuse("reject", "only a requested change can be rejected"));
        }
        self.state = ChangeState::Rejected;
        self.approved_by = Some(by.into());
        self.decision = Some(reason.into());
        self.updated_at = now;
        Ok(())
    }

    pub fn cancel(&mut self, reason: &str, now: i64) -> Result<()> {
        if !matches!(self.state, ChangeState::Requested | ChangeState::Approved) {
            return Err(self.refuse(
                "cancel",
                "a change can be cancelled only before it is implemented",
            ));
        }
        self.state = ChangeState::Cancelled;
        self.decision = Some(reason.into());
        self.updated_at = now;
        Ok(())
    }

    pub fn check_implementable(&self) -> Result<()> {
        match self.state {
            ChangeState::Approved => Ok(()),
            ChangeState::Requested => Err(self.refuse(
                "implement",
                &format!("approve it first with `bmctl macd approve {}`", self.id),
            )),
            ChangeState::Implemented => Err(self.refuse(
                "implement",
                &format!("complete it with `bmctl macd complete {}`", self.id),
            )),
            _ => Err(self.refuse("implement", "it is closed")),
        }
    }

    pub fn check_completable(&self) -> Result<()> {
        match self.state {
            ChangeState::Implemented => Ok(()),
            ChangeState::Approved => Err(self.refuse(
                "complete",
                &format!("implement it first with `bmctl macd implement {}`", self.id),
            )),
            ChangeState::Requested => Err(self.refuse(
                "complete",
                &format!("approve it first with `bmctl macd approve {}`", self.id),
            )),
            _ => Err(self.refuse("complete", "it is closed")),
        }
    }
}

/// What the risk assessment knows around a change.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub ci_tier: i64,
    /// Active policies of the CI, this one included.
    pub ci_policies: usize,
    /// Active policies of the CI (this one excluded) that copy off site.
    pub other_offsite: usize,
    /// The retention of the CI's other active policies.
    pub other_retentions: Vec<Retention>,
    /// The longest gap between two runs of the proposed schedule.
    pub proposed_gap_s: Option<i64>,
    pub required_retention: Option<Retention>,
}

/// The risk of a change and why: high for deleting a tier-1 CI's backup or
/// a CI's only policy, lowering retention below the requirement, raising the
/// RPO, or removing the only offsite/immutable copy; medium for moves and
/// schedule changes. An add is judged by what it leaves unprotected, as the
/// risk register does: retention below the requirement, a tier-1 CI with no
/// offsite/immutable copy or never restore-tested (high; medium below tier 1).
pub fn assess(
    kind: ChangeKind,
    current: Option<&PolicySpec>,
    proposed: Option<&PolicySpec>,
    ctx: &Context,
) -> (ChangeRisk, Vec<String>) {
    let mut high = Vec::new();
    let mut medium = Vec::new();
    // a schedule that cannot meet its own RPO breaches it on every long gap
    if let (Some(p), Some(gap)) = (proposed, ctx.proposed_gap_s) {
        if kind != ChangeKind::Delete && gap > p.rpo_s + p.grace_s {
            high.push(format!(
                "its schedule leaves gaps of {}, longer than its RPO ({}) and grace ({}): every such gap breaches the RPO",
                crate::domain::time::format_age(gap),
                crate::domain::time::format_duration(p.rpo_s),
                crate::domain::time::format_duration(p.grace_s)
            ));
        }
    }
    let was_only_offsite = current.is_some_and(|c| is_offsite(&c.target)) && ctx.other_offsite == 0;
    match kind {
        ChangeKind::Delete => {
            if ctx.ci_tier == 1 {
                high.push("deletes the backup of a tier-1 CI".to_string());
            }
            if ctx.ci_policies <= 1 {
                high.push("deletes the CI's only backup policy".to_string());
            }
            if was_only_offsite {
                high.push("removes the only offsite/immutable copy".to_string());
            }
            if high.is_empty() {
                medium.push("deletes a backup policy".to_string());
            }
        }
        ChangeKind::Add => {
            if let Some(p) = proposed {
                let mut by_tier = Vec::new();
                // unless another policy of the CI keeps what is required
                if let Some(req) = &ctx.required_retention {
                    let short = p.retention.shortfalls(req);
                    let covered = ctx
                        .other_retentions
                        .iter()
                        .any(|r| r.shortfalls(req).is_empty());
                    if !short.is_empty() && !covered {
                        high.push(format!(
                            "keeps less than the client's required retention ({})",
                            short.join(", ")
                        ));
                    }
                }
                if !is_offsite(&p.target) && ctx.other_offsite == 0 {
                    by_tier.push(format!(
                        "leaves a tier-{} CI without an offsite/immutable copy",
                        ctx.ci_tier
                    ));
                }
                if p.restore_test == "never" {
                    by_tier.push(format!(
                        "a tier-{} CI's backup that is never restore-tested",
                        ctx.ci_tier
                    ));
                }
                // what a tier-1 CI lacks is high; below tier 1, medium
                if ctx.ci_tier == 1 {
                    high.extend(by_tier);
                } else {
                    medium.extend(by_tier);
                }
            }
        }
        _ => {
            if let (Some(c), Some(p)) = (current, proposed) {
                if let Some(req) = &ctx.required_retention {
                    let short = p.retention.shortfalls(req);
                    if !short.is_empty() && c.retention != p.retention {
                        high.push(format!(
                            "lowers retention below the client's requirement ({})",
                            short.join(", ")
                        ));
                    }
                }
                if p.rpo_s > c.rpo_s {
                    high.push("raises the RPO".to_string());
                }
                if was_only_offsite && !is_offsite(&p.target) {
                    high.push("removes the only offsite/immutable copy".to_string());
                }
                if p.schedule != c.schedule {
                    medium.push("changes the schedule".to_string());
                }
                if p.ci != c.ci || kind == ChangeKind::Move {
                    medium.push("moves the backup".to_string());
                }
                // judging less strictly hides problems: a person signs it off
                let (pj, cj) = (&p.judgement, &c.judgement);
                if pj.failures_before_ticket > cj.failures_before_ticket {
                    medium.push("waits for more failures before a ticket".to_string());
                }
                if pj.warning_is_success && !cj.warning_is_success {
                    medium.push("takes warnings as success".to_string());
                }
                if pj.small_backup_pct < cj.small_backup_pct {
                    medium.push(if pj.small_backup_pct == 0 {
                        "turns the small-backup check off".to_string()
                    } else {
                        "lowers the small-backup threshold".to_string()
                    });
                }
            }
        }
    }
    if !high.is_empty() {
        (ChangeRisk::High, high)
    } else if !medium.is_empty() {
        (ChangeRisk::Medium, medium)
    } else {
        (
            ChangeRisk::Low,
            vec![format!("{kind} without effect on existing protection")],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_numbers_parse_as_people_write_them() {
        for ok in ["CR-12", "cr-12", "12"] {
            assert_eq!(ok.parse::<ChangeId>(), Ok(ChangeId(12)), "{ok}");
        }
        for bad in ["CR-", "CR-0", "CR-x", "-3", "CHG-12", ""] {
            assert!(bad.parse::<ChangeId>().is_err(), "{bad}");
        }
        assert_eq!(ChangeId(7).to_string(), "CR-7");
    }

    fn spec() -> PolicySpec {
        PolicySpec {
            job: "fs01-nightly".into(),
            ci: "fs01".into(),
            tool: "restic".into(),
            schedule: "0 22 * * *".into(),
            rpo_s: 86_400,
            grace_s: 7200,
            retention: Retention::parse("daily=7,weekly=4,monthly=12").unwrap(),
            target: "offsite".into(),
            restore_test: "monthly".into(),
            rto_s: 14_400,
            max_runtime_s: None,
            match_rule: Default::default(),
            judgement: Default::default(),
        }
    }

    fn change() -> Change {
        Change {
            id: 12,
            kind: ChangeKind::Add,
            client_id: 1,
            client: "acme".into(),
            job: "x".into(),
            policy_id: None,
            ci_host: None,
            current: None,
            proposal: None,
            new_ci: None,
            based_on: None,
            state: ChangeState::Requested,
            risk: ChangeRisk::Low,
            risk_reasons: vec![],
            reason: "r".into(),
            ref_: None,
            requested_by: "alice".into(),
            requested_at: 0,
            approved_by: None,
            approved_at: None,
            decision: None,
            implemented_by: None,
            implemented_at: None,
            retain_until: None,
            dispose: false,
            forced: None,
            completed_by: None,
            completed_at: None,
            verified_by: None,
            plan_version: None,
            updated_at: 0,
        }
    }

    /// An add is judged by what it leaves unprotected.
    #[test]
    fn the_risk_of_an_add() {
        let req = Retention::parse("daily=7,weekly=4,monthly=12").ok();
        let ctx = |tier, other_offsite| Context {
            ci_tier: tier,
            ci_policies: 1,
            other_offsite,
            required_retention: req.clone(),
            other_retentions: Vec::new(),
            proposed_gap_s: None,
        };
        let with = |f: &dyn Fn(&mut PolicySpec)| {
            let mut p = spec();
            f(&mut p);
            p
        };
        let local = with(&|p| p.target = "local".into());
        let untested = with(&|p| p.restore_test = "never".into());
        let short = with(&|p| p.retention = Retention::parse("daily=3").unwrap());
        let cases: Vec<(&str, PolicySpec, Context, ChangeRisk, &str)> = vec![
            (
                "offsite, tested, enough",
                spec(),
                ctx(1, 0),
                ChangeRisk::Low,
                "add without effect",
            ),
            (
                "tier 1 local only",
                local.clone(),
                ctx(1, 0),
                ChangeRisk::High,
                "tier-1 CI without an offsite",
            ),
            (
                "tier 2 local only",
                local.clone(),
                ctx(2, 0),
                ChangeRisk::Medium,
                "tier-2 CI without an offsite",
            ),
            (
                "local, another policy offsite",
                local,
                ctx(1, 1),
                ChangeRisk::Low,
                "add without effect",
            ),
            (
                "tier 1 never tested",
                untested.clone(),
                ctx(1, 0),
                ChangeRisk::High,
                "never restore-tested",
            ),
            (
                "tier 3 never tested",
                untested,
                ctx(3, 0),
                ChangeRisk::Medium,
                "never restore-tested",
            ),
            (
                "below the requirement",
                short.clone(),
                ctx(3, 0),
                ChangeRisk::High,
                "required retention (daily 3 < 7",
            ),
            (
                "another policy keeps it",
                short,
                Context {
                    other_retentions: req.clone().into_iter().collect(),
                    ..ctx(3, 1)
                },
                ChangeRisk::Low,
                "add without effect",
            ),
        ];
        for (what, p, c, risk, why) in cases {
            let (got, reasons) = assess(ChangeKind::Add, None, Some(&p), &c);
            assert_eq!(got, risk, "{what}: {reasons:?}");
            assert!(
                reasons.iter().any(|r| r.contains(why)),
                "{what}: {reasons:?}"
            );
        }
    }

    #[test]
    fn risk_rules() {
        let ctx = Context {
            ci_tier: 2,
            ci_policies: 2,
            other_offsite: 1,
            required_retention: Retention::parse("daily=7").ok(),
            other_retentions: Vec::new(),
            proposed_gap_s: None,
        };
        assert_eq!(
            assess(ChangeKind::Add, None, Some(&spec()), &ctx).0,
            ChangeRisk::Low
        );
        let mut p = spec();
        p.rpo_s = 2 * 86_400;
        assert_eq!(
            assess(ChangeKind::Change, Some(&spec()), Some(&p), &ctx),
            (ChangeRisk::High, vec!["raises the RPO".to_string()])
        );
        // judging less strictly is medium; more strictly, low
        for (key, value, why) in [
            ("small_backup", "off", "turns the small-backup check off"),
            ("failures_before_ticket", "3", "waits for more failures"),
            ("warning_is_success", "true", "takes warnings as success"),
        ] {
            let mut p = spec();
            p.set(key, value, "UTC").unwrap();
            let (risk, reasons) = assess(ChangeKind::Change, Some(&spec()), Some(&p), &ctx);
            assert_eq!(risk, ChangeRisk::Medium, "{key}");
            assert!(reasons[0].starts_with(why), "{reasons:?}");
            assert_eq!(
                assess(ChangeKind::Change, Some(&p), Some(&spec()), &ctx).0,
                ChangeRisk::Low,
                "{key} back"
            );
        }
        let mut p = spec();
        p.schedule = "0 23 * * *".into();
        assert_eq!(
            assess(ChangeKind::Change, Some(&spec()), Some(&p), &ctx).0,
            ChangeRisk::Medium
        );
        let mut p = spec();
        p.retention = Retention::parse("daily=3").unwrap();
        assert_eq!(
            assess(ChangeKind::Change, Some(&spec()), Some(&p), &ctx).0,
            ChangeRisk::High
        );
        let mut p = spec();
        p.target = "local".into();
        assert_eq!(
            assess(ChangeKind::Move, Some(&spec()), Some(&p), &ctx).0,
            ChangeRisk::Medium
        ); // another offsite copy exists
        let only = Context {
            other_offsite: 0,
            ..ctx.clone()
        };
        assert_eq!(
            assess(ChangeKind::Move, Some(&spec()), Some(&p), &only).0,
            ChangeRisk::High
        );
        assert_eq!(
            assess(ChangeKind::Delete, Some(&spec()), None, &ctx).0,
            ChangeRisk::Medium
        );
        assert_eq!(
            assess(
                ChangeKind::Delete,
                Some(&spec()),
                None,
                &Context {
                    ci_tier: 1,
                    ..ctx.clone()
                }
            )
            .0,
            ChangeRisk::High
        );
        assert_eq!(
            assess(
                ChangeKind::Delete,
                Some(&spec()),
                None,
                &Context {
                    ci_policies: 1,
                    ..ctx
                }
            )
            .0,
            ChangeRisk::High
        );
    }

    #[test]
    fn a_reference_is_required_by_risk() {
        use ChangeRisk::*;
        let cases = [
            (RequireRef::None, High, false),
            (RequireRef::High, High, true),
            (RequireRef::High, Medium, false),
            (RequireRef::Medium, Medium, true),
            (RequireRef::Medium, Low, false),
            (RequireRef::All, Low, true),
        ];
        for (rule, risk, want) in cases {
            assert_eq!(rule.applies(risk), want, "{rule:?} {risk:?}");
        }
        let mut h = change();
        h.risk = High;
        h.ref_ = None;
        let e = format!(
            "{}",
            h.approve("bob", false, RequireRef::High, true, 1)
                .unwrap_err()
        );
        assert!(
            e.contains("--ref") && e.contains("require_ref = high"),
            "{e}"
        );
        h.ref_ = Some("CHG-1".into());
        h.approve("bob", false, RequireRef::High, true, 1).unwrap();
    }

    #[test]
    fn the_workflow_refuses_out_of_order_steps() {
        let mut c = change();
        let e = format!("{}", c.check_implementable().unwrap_err());
        assert!(
            e.contains("'requested'") && e.contains("bmctl macd approve 12"),
            "{e}"
        );
        let none = RequireRef::None;
        let e = format!("{}", c.approve("alice", false, none, false, 1).unwrap_err());
        assert!(e.contains("segregation of duties"), "{e}");
        c.approve("alice", true, none, false, 1).unwrap();
        assert_eq!(c.state, ChangeState::Approved);
        let mut h = change();
        h.risk = ChangeRisk::High;
        assert!(h.approve("bob", false, none, false, 1).is_err());
        h.approve("bob", false, none, true, 1).unwrap();
        assert!(c.check_completable().is_err());
        c.cancel("no longer needed", 2).unwrap();
        assert!(c.cancel("again", 3).is_err());
    }
}
