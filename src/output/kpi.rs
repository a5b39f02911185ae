//! The five KPIs for people: one renderer for `kpi` and the quarterly review.

use crate::domain::time::rfc3339;
use crate::ops::kpi::Kpis;

/// The KPIs' names, in DESIGN's order.
pub const NAMES: [&str; 5] = [
    "Recovery Issues",
    "Aged Proactive Service Ticket Backlog",
    "Backup Incident Rate",
    "Proactive Task Compliance",
    "Recovery Attempt Success Rate",
];

pub fn pct(p: Option<f64>) -> String {
    p.map(|v| format!("{v:.1} %"))
        .unwrap_or_else(|| "n/a".into())
}

/// Each KPI's figure with what it is made of, in the order of [`NAMES`]:
/// one cell per KPI in tables (a period per row) and in the review.
pub fn figures(k: &Kpis) -> [String; 5] {
    let r = &k.backup_incident_rate;
    let t = &k.task_compliance;
    let s = &k.recovery_success_rate;
    [
        k.recovery_issues.count.to_string(),
        format!("{} of {} open", k.aged_backlog.aged, k.aged_backlog.open),
        format!(
            "{} ({} failed + {} missed / {})",
            pct(r.percent),
            r.failed,
            r.missed,
            r.expected
        ),
        format!("{} ({}/{})", pct(t.percent), t.on_time, t.due),
        format!("{} ({}/{})", pct(s.percent), s.success, s.total),
    ]
}

/// The KPI table of one period, for people.
pub fn render(k: &Kpis) -> String {
    let b = &k.aged_backlog;
    let buckets: Vec<String> = crate::report::BUCKETS
        .iter()
        .zip(b.buckets.0)
        .map(|((n, _), c)| format!("{n} {c}"))
        .collect();
    let r = &k.backup_incident_rate;
    let t = &k.task_compliance;
    let s = &k.recovery_success_rate;
    let bounds = if k.client.is_some() {
        format!("midnights in {}", k.boundaries)
    } else if k.boundaries == "client-local days" {
        "each client's own local days, summed".into()
    } else {
        "exact instants, UTC".to_string()
    };
    let mut out = format!(
        "KPIs for {}, {} ({} to {}; {bounds})\n",
        k.client.as_deref().unwrap_or("all clients"),
        k.period,
        rfc3339(k.from.0),
        rfc3339(k.to.0),
    );
    let rows = [
        (
            NAMES[0],
            k.recovery_issues.count.to_string(),
            "failed or partial recovery attempts".to_string(),
        ),
        (
            NAMES[1],
            b.aged.to_string(),
            format!(
                "older than {}d of {} open: {}",
                b.aged_after_days,
                b.open,
                buckets.join(", ")
            ),
        ),
        (
            NAMES[2],
            pct(r.percent),
            format!(
                "({} failed + {} missed) / {} expected; {} corrective tickets opened",
                r.failed, r.missed, r.expected, r.corrective_opened
            ),
        ),
        (
            NAMES[3],
            pct(t.percent),
            format!(
                "{} of {} on time ({} late, {} skipped, {} open; {} not applicable)",
                t.on_time, t.due, t.late, t.skipped, t.open, t.not_applicable
            ),
        ),
        (
            NAMES[4],
            pct(s.percent),
            format!(
                "{} of {} (tests {}/{}, real {}/{})",
                s.success, s.total, s.tests.success, s.tests.total, s.real.success, s.real.total
            ),
        ),
    ];
    for (name, value, detail) in rows {
        out.push_str(&format!("  {name:<38} {value:>8}  {detail}\n"));
    }
    if k.judged_from_runs > 0 {
        let n = k.judged_from_runs;
        out.push_str(&match k.counted_until {
            Some(c) => format!(
                "  Judged from the runs: {n} window(s) that closed after the last `bmctl check` ({})\n",
                super::at(c.0)
            ),
            None => format!("  Judged from the runs: {n} window(s); `bmctl check` has never run\n"),
        });
    }
    for i in &k.recovery_issues.items {
        out.push_str(&format!(
            "    - {} {}/{} {}: {}\n",
            super::at(i.ended_at.0),
            i.client,
            i.job,
            i.outcome,
            i.issues.as_deref().unwrap_or("-")
        ));
    }
    out
}
