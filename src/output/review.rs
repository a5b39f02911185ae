//! The quarterly service review as files: Markdown, self-contained HTML,
//! JSON and CSV. Same database and `--now` → the same bytes.
//!
//! The charts are hand-written SVG (three bars each): smaller than a
//! plotting crate for four tiny charts, and byte-stable.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::domain::time::{format_age, format_duration, rfc3339};
use crate::ops::kpi::Kpis;
use crate::ops::review::Review;
use crate::output::kpi::{figures, pct, NAMES};

/// The sentence a review carries when some windows were judged from the
/// runs because `check` had not closed them.
fn not_counted(r: &Review) -> String {
    let n = r.kpis.judged_from_runs;
    match r.kpis.counted_until {
        Some(c) => format!(
            "{n} backup window(s) that closed after bmctl's last check ({}) were judged from the recorded runs.",
            rfc3339(c.0)
        ),
        None => format!("bmctl's check has not run: {n} backup window(s) were judged from the recorded runs."),
    }
}

/// `2026-10` for a month's KPIs (the client's month).
fn month_label(k: &Kpis) -> String {
    k.period.clone()
}

/// One trend chart: a value per month.
struct Series {
    title: &'static str,
    points: Vec<(String, Option<f64>)>,
    higher_is_better: bool,
}

/// The four trend series of the review.
fn series(r: &Review) -> Vec<Series> {
    let month = month_label;
    let backup_success = |k: &Kpis| {
        let b = &k.backup_incident_rate;
        crate::report::percent(
            (b.expected - b.failed - b.missed).max(0) as usize,
            b.expected.max(0) as usize,
        )
    };
    let s = |title, f: &dyn Fn(&Kpis) -> Option<f64>, higher_is_better| Series {
        title,
        points: r.monthly.iter().map(|k| (month(k), f(k))).collect(),
        higher_is_better,
    };
    vec![
        s("Backup success", &backup_success, true),
        s(
            "Backup incident rate",
            &|k| k.backup_incident_rate.percent,
            false,
        ),
        s("Task compliance", &|k| k.task_compliance.percent, true),
        s(
            "Restore success",
            &|k| k.recovery_success_rate.percent,
            true,
        ),
    ]
}

/// User text inside Markdown: HTML is escaped (a renderer would run a
/// client name's `<script>`), and so are table pipes and line breaks.
fn md(s: &str) -> String {
    esc(s).replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small bar chart of monthly percentages as inline SVG.
pub fn svg_chart(title: &str, values: &[(String, Option<f64>)], higher_is_better: bool) -> String {
    let (w, h, top, base) = (260, 150, 24, 120);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">\
<text x=\"4\" y=\"15\" font-size=\"12\" font-family=\"sans-serif\">{}</text>\
<line x1=\"20\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#888\"/>",
        esc(title),
        esc(title),
        w - 10
    );
    let slot = (w - 40) / values.len().max(1) as i32;
    for (i, (label, v)) in values.iter().enumerate() {
        let x = 30 + i as i32 * slot;
        if let Some(v) = v {
            let bar = ((v.clamp(0.0, 100.0) / 100.0) * (base - top) as f64).round() as i32;
            let good = if higher_is_better {
                *v >= 95.0
            } else {
                *v <= 5.0
            };
            let colour = if good { "#2e7d32" } else { "#c62828" };
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"{colour}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"middle\">{v:.1}</text>",
                base - bar,
                slot - 16,
                x + (slot - 16) / 2,
                base - bar - 3
            ));
        } else {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"middle\">n/a</text>",
                x + (slot - 16) / 2,
                base - 3
            ));
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" font-family=\"sans-serif\" text-anchor=\"middle\">{}</text>",
            x + (slot - 16) / 2,
            base + 14,
            esc(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// The KPI table rows: (KPI, this quarter, previous quarter).
fn kpi_rows(r: &Review) -> Vec<(&'static str, String, String)> {
    let (a, b) = (figures(&r.kpis), figures(&r.previous));
    NAMES
        .iter()
        .zip(a)
        .zip(b)
        .map(|((n, a), b)| (*n, a, b))
        .collect()
}

pub fn markdown(r: &Review) -> String {
    let mut m = format!(
        "# Quarterly service review {} — {} ({})\n\nTechnical input prepared by bmctl on {} (SLA tier {}).\n\n## KPIs\n\n| KPI | {} | {} |\n|---|---|---|\n",
        r.quarter_label,
        md(&r.name),
        md(&r.client),
        rfc3339(r.generated_at.0),
        md(&r.sla_tier),
        r.quarter_label,
        r.previous_quarter
    );
    if r.kpis.judged_from_runs > 0 {
        m.push_str(&format!("{}\n\n", not_counted(r)));
    }
    for (n, a, b) in kpi_rows(r) {
        m.push_str(&format!("| {n} | {a} | {b} |\n"));
    }
    m.push_str("\n## Monthly trend\n\n| month | backup success | incident rate | task compliance | restore success |\n|---|---|---|---|---|\n");
    let s = series(r);
    for i in 0..r.monthly.len() {
        let v = |j: usize| pct(s[j].points[i].1);
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} |
",
            s[0].points[i].0,
            v(0),
            v(1),
            v(2),
            v(3)
        ));
    }
    m.push_str("\n## Risks and recommendations\n\n");
    if r.risks.is_empty() {
        m.push_str("No risks found.\n");
    }
    for k in &r.risks {
        m.push_str(&format!(
            "- **{}** `{}` {}: {} — *{}*\n",
            k.severity.as_str().to_uppercase(),
            k.rule,
            md(&k.subject),
            md(&k.evidence),
            md(&k.recommendation)
        ));
    }
    m.push_str("\n## Changes to the backup plan\n\n");
    if r.plan_changes.is_empty() {
        m.push_str("No plan changes this quarter.\n");
    }
    for c in &r.plan_changes {
        m.push_str(&format!(
            "- version {} on {} by {}: {}\n",
            c.version,
            rfc3339(c.created_at.0),
            md(&c.actor),
            md(&c.reason)
        ));
        for d in &c.diff {
            m.push_str(&format!(
                "  - {} {} {} {} → {}\n",
                d.change,
                md(&d.item),
                d.field,
                md(&d.old),
                md(&d.new)
            ));
        }
    }
    m.push_str("\n## Restore tests\n\n| ended | job | kind | outcome | took | RTO target | met |\n|---|---|---|---|---|---|---|\n");
    for a in &r.restore_tests {
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            rfc3339(a.ended_at.0),
            md(&a.job),
            a.kind,
            a.outcome,
            format_age(a.duration_s),
            format_duration(a.rto_s),
            match a.rto_met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            }
        ));
    }
    if !r.rpo_breaches.is_empty() {
        m.push_str("\n## RPO breaches\n\n| job | no restore point from | until | ticket |\n|---|---|---|---|\n");
        for b in &r.rpo_breaches {
            m.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md(&b.job),
                rfc3339(b.gap_from.0),
                rfc3339(b.gap_to.0),
                b.ticket_id
                    .map(|t| format!("#{t}"))
                    .unwrap_or_else(|| "—".into())
            ));
        }
    }
    if !r.exclusions.is_empty() {
        m.push_str("\n## Excluded from the incident rate\n\n| occurrence | job | was | reason | by |\n|---|---|---|---|---|\n");
        for x in &r.exclusions {
            m.push_str(&format!(
                "| {} | {} | {} | {}{} | {} |\n",
                rfc3339(x.occurrence_at.0),
                md(&x.job),
                x.outcome,
                md(&x.reason),
                x.reference
                    .as_deref()
                    .map(|r| format!(" ({})", md(r)))
                    .unwrap_or_default(),
                md(&x.actor)
            ));
        }
    }
    m.push_str("\n## Open items\n\n");
    if r.open_items.is_empty() {
        m.push_str("None.\n");
    }
    for o in &r.open_items {
        m.push_str(&format!(
            "- #{} {} {}{}{}\n",
            o.id,
            o.kind,
            md(&o.title),
            if o.overdue { " (overdue)" } else { "" },
            o.waiting_on_client
                .as_ref()
                .map(|w| format!(" — waiting on you: {}", md(w)))
                .unwrap_or_default()
        ));
    }
    m
}

pub fn html(r: &Review) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>QSR {q} {name}</title>\n<style>\
body{{font-family:sans-serif;max-width:180mm;margin:auto;color:#222}}table{{border-collapse:collapse;width:100%;margin:8px 0}}\
th,td{{border:1px solid #bbb;padding:3px 6px;font-size:10pt;text-align:left;vertical-align:top}}th{{background:#eee}}\
.charts svg{{margin:4px}}.high{{color:#c62828}}.medium{{color:#ef6c00}}.low{{color:#555}}\
@page{{margin:15mm}}@media print{{body{{max-width:none}}h2{{break-after:avoid}}table,svg{{break-inside:avoid}}}}\
</style></head><body>\n<h1>Quarterly service review {q} — {name} ({code})</h1>\n<p>Technical input prepared by bmctl on {at} (SLA tier {tier}).</p>\n",
        q = esc(&r.quarter_label),
        name = esc(&r.name),
        code = esc(&r.client),
        at = rfc3339(r.generated_at.0),
        tier = esc(&r.sla_tier)
    );
    if r.kpis.judged_from_runs > 0 {
        h.push_str(&format!(
            "<p><strong>{}</strong></p>\n",
            esc(&not_counted(r))
        ));
    }
    h.push_str(&format!(
        "<h2>KPIs</h2>\n<table><tr><th>KPI</th><th>{}</th><th>{}</th></tr>\n",
        esc(&r.quarter_label),
        esc(&r.previous_quarter)
    ));
    for (n, a, b) in kpi_rows(r) {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(n),
            esc(&a),
            esc(&b)
        ));
    }
    h.push_str("</table>\n<h2>Monthly trend</h2>\n<div class=\"charts\">");
    for c in series(r) {
        h.push_str(&svg_chart(c.title, &c.points, c.higher_is_better));
    }
    h.push_str("</div>\n<h2>Risks and recommendations</h2>\n<table><tr><th>severity</th><th>risk</th><th>subject</th><th>evidence</th><th>recommendation</th></tr>\n");
    for k in &r.risks {
        h.push_str(&format!(
            "<tr><td class=\"{s}\">{s}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(k.rule),
            esc(&k.subject),
            esc(&k.evidence),
            esc(&k.recommendation),
            s = k.severity.as_str()
        ));
    }
    h.push_str("</table>\n<h2>Changes to the backup plan</h2>\n<ul>\n");
    for c in &r.plan_changes {
        h.push_str(&format!(
            "<li>version {} on {} by {}: {}<ul>",
            c.version,
            rfc3339(c.created_at.0),
            esc(&c.actor),
            esc(&c.reason)
        ));
        for d in &c.diff {
            h.push_str(&format!(
                "<li>{} {} {} {} → {}</li>",
                d.change,
                esc(&d.item),
                esc(&d.field),
                esc(&d.old),
                esc(&d.new)
            ));
        }
        h.push_str("</ul></li>\n");
    }
    if r.plan_changes.is_empty() {
        h.push_str("<li>No plan changes this quarter.</li>\n");
    }
    h.push_str("</ul>\n<h2>Restore tests</h2>\n<table><tr><th>ended</th><th>job</th><th>kind</th><th>outcome</th><th>took</th><th>RTO target</th><th>met</th></tr>\n");
    for a in &r.restore_tests {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            rfc3339(a.ended_at.0),
            esc(&a.job),
            esc(&a.kind),
            esc(&a.outcome),
            format_age(a.duration_s),
            format_duration(a.rto_s),
            match a.rto_met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            }
        ));
    }
    h.push_str("</table>\n");
    if !r.rpo_breaches.is_empty() {
        h.push_str("<h2>RPO breaches</h2>\n<table><tr><th>job</th><th>no restore point from</th><th>until</th><th>ticket</th></tr>\n");
        for b in &r.rpo_breaches {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&b.job),
                rfc3339(b.gap_from.0),
                rfc3339(b.gap_to.0),
                b.ticket_id
                    .map(|t| format!("#{t}"))
                    .unwrap_or_else(|| "—".into())
            ));
        }
        h.push_str("</table>\n");
    }
    if !r.exclusions.is_empty() {
        h.push_str("<h2>Excluded from the incident rate</h2>\n<table><tr><th>occurrence</th><th>job</th><th>was</th><th>reason</th><th>by</th></tr>\n");
        for x in &r.exclusions {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>\n",
                rfc3339(x.occurrence_at.0),
                esc(&x.job),
                esc(&x.outcome),
                esc(&x.reason),
                x.reference
                    .as_deref()
                    .map(|r| format!(" ({})", esc(r)))
                    .unwrap_or_default(),
                esc(&x.actor)
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Open items</h2>\n<ul>\n");
    for o in &r.open_items {
        h.push_str(&format!(
            "<li>#{} {} {}{}{}</li>\n",
            o.id,
            esc(&o.kind),
            esc(&o.title),
            if o.overdue { " (overdue)" } else { "" },
            o.waiting_on_client
                .as_ref()
                .map(|w| format!(" — waiting on you: {}", esc(w)))
                .unwrap_or_default()
        ));
    }
    if r.open_items.is_empty() {
        h.push_str("<li>None.</li>\n");
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}

/// The KPI rows as CSV: the quarter, the previous quarter and each month.
pub fn csv(r: &Review) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "client",
        "period",
        "from",
        "to",
        "recovery_issues",
        "aged_backlog",
        "open_backlog",
        "incident_rate_percent",
        "failed",
        "missed",
        "expected",
        "corrective_opened",
        "task_compliance_percent",
        "tasks_on_time",
        "tasks_due",
        "recovery_success_percent",
        "recoveries_succeeded",
        "recoveries",
    ])?;
    let opt = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_default();
    let mut rows: Vec<(String, &Kpis)> = vec![
        (r.quarter.clone(), &r.kpis),
        (r.previous_quarter.clone(), &r.previous),
    ];
    rows.extend(r.monthly.iter().map(|k| (month_label(k), k)));
    for (period, k) in rows {
        w.write_record([
            r.client.clone(),
            period,
            rfc3339(k.from.0),
            rfc3339(k.to.0),
            k.recovery_issues.count.to_string(),
            k.aged_backlog.aged.to_string(),
            k.aged_backlog.open.to_string(),
            opt(k.backup_incident_rate.percent),
            k.backup_incident_rate.failed.to_string(),
            k.backup_incident_rate.missed.to_string(),
            k.backup_incident_rate.expected.to_string(),
            k.backup_incident_rate.corrective_opened.to_string(),
            opt(k.task_compliance.percent),
            k.task_compliance.on_time.to_string(),
            k.task_compliance.due.to_string(),
            opt(k.recovery_success_rate.percent),
            k.recovery_success_rate.success.to_string(),
            k.recovery_success_rate.total.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// `out/client` — refusing anything that would leave `out`.
pub fn folder(out: &Path, client: &str) -> Result<PathBuf> {
    crate::domain::client::validate_slug("client code", client)?;
    let p = Path::new(client);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!(
            "client code '{client}' cannot name a folder inside {}",
            out.display()
        );
    }
    Ok(out.join(p))
}

/// Write the review's files; returns their paths. Existing files are replaced.
pub fn write(r: &Review, out: &Path, formats: &[&str]) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = folder(out, &r.client)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    // a client's folder planted as a symlink would take the files elsewhere
    if std::fs::symlink_metadata(&dir)?.file_type().is_symlink() {
        bail!(
            "{} is a symbolic link: refusing to write the review through it",
            dir.display()
        );
    }
    let mut written = Vec::new();
    for f in formats {
        let (name, body) = match *f {
            "md" => (format!("qsr-{}.md", r.quarter), markdown(r)),
            "html" => (format!("qsr-{}.html", r.quarter), html(r)),
            "json" => (
                format!("qsr-{}.json", r.quarter),
                format!("{}\n", serde_json::to_string_pretty(r)?),
            ),
            "csv" => (format!("qsr-{}.csv", r.quarter), csv(r)?),
            other => bail!("format '{other}' is not one of md, html, json, csv"),
        };
        let path = dir.join(name);
        write_private(&path, body.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Replace a file atomically, mode 0600. The temporary file is created new
/// (`O_EXCL`: never through a planted symlink) and renamed over the path,
/// which replaces a symlink there rather than following it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_stay_inside_out() {
        let out = Path::new("/tmp/qsr");
        assert_eq!(folder(out, "acme").unwrap(), Path::new("/tmp/qsr/acme"));
        for bad in ["../etc", "..", "a/b", "/abs", ""] {
            assert!(folder(out, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn charts_are_svg_with_a_bar_per_month() {
        let svg = svg_chart(
            "Task compliance",
            &[
                ("2026-10".into(), Some(90.0)),
                ("2026-11".into(), None),
                ("2026-12".into(), Some(100.0)),
            ],
            true,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("n/a"));
    }
}
