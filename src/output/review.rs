//! The quarterly service review as files: Markdown, self-contained HTML,
//! JSON and CSV (and PDF, printed by headless Chromium). Same database and
//! `--now` → the same bytes (the PDF aside).
//!
//! The charts and the daily grid are hand-written SVG and HTML: smaller than
//! a plotting crate for a few small charts, and byte-stable.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::domain::time::{format_age, format_duration, local_display, parse_tz, rfc3339};
use crate::ops::kpi::Kpis;
use crate::ops::review::{KpiLine, Review};
use crate::output::kpi::pct;
use crate::report::review::{bytes, Audience, Cell, Kind, RiskItem, Status};

/// How a review looks: the MSP's colour and logo (`[branding]`).
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// `#rrggbb`.
    pub accent: String,
    /// The logo as a `data:` URI, embedded so the HTML stays one file.
    pub logo: Option<String>,
}

impl Look {
    /// The look of `[branding]`: the logo file read and embedded.
    pub fn of(b: &crate::config::Branding) -> Result<Look> {
        let logo = match &b.logo {
            None => None,
            Some(path) => {
                let data = std::fs::read(path)
                    .with_context(|| format!("branding.logo: reading {}", path.display()))?;
                let mime = match path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_lowercase)
                    .as_deref()
                {
                    Some("png") => "image/png",
                    Some("jpg" | "jpeg") => "image/jpeg",
                    Some("svg") => "image/svg+xml",
                    _ => bail!(
                        "branding.logo: {} must be a .png, .jpg or .svg file",
                        path.display()
                    ),
                };
                Some(format!("data:{mime};base64,{}", base64(&data)))
            }
        };
        Ok(Look {
            accent: b.accent.clone(),
            logo,
        })
    }
}

/// Standard base64 (RFC 4648), for the embedded logo.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn tz(r: &Review) -> chrono_tz::Tz {
    parse_tz(&r.timezone).unwrap_or(chrono_tz::UTC)
}

/// An instant in the client's zone, as the review prints it.
fn at(r: &Review, secs: i64) -> String {
    local_display(secs, tz(r))
}

fn date(r: &Review, secs: i64) -> String {
    crate::domain::time::local_date(secs, tz(r))
}

/// The sentence a review carries when some windows were judged from the
/// runs because `check` had not closed them.
fn not_counted(r: &Review) -> String {
    let n = r.kpis.judged_from_runs;
    match r.kpis.counted_until {
        Some(c) => format!(
            "{n} backup window(s) that closed after the last automatic check ({}) were judged from the recorded runs.",
            at(r, c.0)
        ),
        None => format!("The automatic check has not run: {n} backup window(s) were judged from the recorded runs."),
    }
}

/// One trend chart: a value per month against its target.
struct Series {
    title: &'static str,
    points: Vec<(String, Option<f64>)>,
    target: f64,
    higher_is_better: bool,
}

/// The trend series of the review.
fn series(r: &Review) -> Vec<Series> {
    let backup_success = |k: &Kpis| {
        let b = &k.backup_incident_rate;
        crate::report::percent(
            (b.expected - b.failed - b.missed).max(0) as usize,
            b.expected.max(0) as usize,
        )
    };
    let s = |title, f: &dyn Fn(&Kpis) -> Option<f64>, target, higher_is_better| Series {
        title,
        points: r.monthly.iter().map(|k| (k.period.clone(), f(k))).collect(),
        target,
        higher_is_better,
    };
    vec![
        s(
            "Backup success (%)",
            &backup_success,
            100.0 - r.targets.incident_rate,
            true,
        ),
        s(
            "Backup incident rate (%)",
            &|k| k.backup_incident_rate.percent,
            r.targets.incident_rate,
            false,
        ),
        s(
            "Task compliance (%)",
            &|k| k.task_compliance.percent,
            r.targets.task_compliance,
            true,
        ),
        s(
            "Restore success (%)",
            &|k| k.recovery_success_rate.percent,
            r.targets.recovery_success,
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

const GOOD: &str = "#2e7d32";
const BAD: &str = "#c62828";

/// The y-axis of a chart: from `lo` to `hi` with a tick every `step`; a
/// scale that fits the values and the target (the incident rate on its own
/// scale, success rates zoomed to where they are).
fn axis(values: &[f64], target: f64, higher_is_better: bool) -> (f64, f64, f64) {
    let all: Vec<f64> = values.iter().copied().chain([target]).collect();
    let max = all.iter().copied().fold(f64::MIN, f64::max);
    let min = all.iter().copied().fold(f64::MAX, f64::min);
    if higher_is_better {
        // percentages near 100: from a round floor below the lowest, the
        // ticks on multiples of the step
        let floor = ((min - 5.0) / 10.0).floor() * 10.0;
        let lo = floor.clamp(0.0, 90.0);
        let step = match 100.0 - lo {
            r if r <= 20.0 => 5.0,
            r if r <= 50.0 => 10.0,
            _ => 20.0,
        };
        ((lo / step).floor() * step, 100.0, step)
    } else {
        let top = (max * 1.25).max(1.0);
        let step = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0]
            .into_iter()
            .find(|s| top / s <= 5.0)
            .unwrap_or(25.0);
        (0.0, (top / step).ceil() * step, step)
    }
}

/// A bar chart of monthly percentages as inline SVG: a y-axis with its
/// unit, a dashed target line, bars green where the target was met and red
/// where not, a legend.
pub fn svg_chart(
    title: &str,
    values: &[(String, Option<f64>)],
    target: f64,
    higher_is_better: bool,
) -> String {
    let (w, h) = (300, 190);
    let (left, right, top, base) = (40, 290, 34, 150);
    let vals: Vec<f64> = values.iter().filter_map(|(_, v)| *v).collect();
    let (lo, hi, step) = axis(&vals, target, higher_is_better);
    let y = |v: f64| base as f64 - (v.clamp(lo, hi) - lo) / (hi - lo) * (base - top) as f64;
    let font = "font-family=\"sans-serif\"";
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\">\
<text x=\"4\" y=\"14\" font-size=\"12\" font-weight=\"bold\" {font}>{t}</text>",
        t = esc(title)
    );
    // axis and grid lines with their values
    let mut v = lo;
    while v <= hi + 1e-9 {
        let yy = y(v);
        out.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{right}\" y2=\"{yy:.1}\" stroke=\"#e0e0e0\"/>\
<text x=\"{}\" y=\"{:.1}\" font-size=\"9\" {font} text-anchor=\"end\">{}</text>",
            left - 4,
            yy + 3.0,
            trim_num(v)
        ));
        v += step;
    }
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#888\"/>\
<line x1=\"{left}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"#888\"/>"
    ));
    let slot = (right - left) / values.len().max(1) as i32;
    let bar_w = (slot - 18).max(6);
    for (i, (label, v)) in values.iter().enumerate() {
        let x = left + i as i32 * slot + (slot - bar_w) / 2;
        let cx = x + bar_w / 2;
        if let Some(v) = v {
            let met = if higher_is_better {
                *v >= target
            } else {
                *v <= target
            };
            let yy = y(*v);
            // the value inside a tall bar (clear of the target line), else above it
            let inside = base as f64 - yy > 16.0;
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{yy:.1}\" width=\"{bar_w}\" height=\"{:.1}\" fill=\"{}\"/>\
<text x=\"{cx}\" y=\"{:.1}\" font-size=\"9\" {font} text-anchor=\"middle\" fill=\"{}\">{v:.1}</text>",
                base as f64 - yy,
                if met { GOOD } else { BAD },
                if inside { yy + 11.0 } else { yy - 3.0 },
                if inside { "#fff" } else { "#222" }
            ));
        } else {
            out.push_str(&format!(
                "<text x=\"{cx}\" y=\"{}\" font-size=\"9\" {font} text-anchor=\"middle\">n/a</text>",
                base - 3
            ));
        }
        out.push_str(&format!(
            "<text x=\"{cx}\" y=\"{}\" font-size=\"9\" {font} text-anchor=\"middle\">{}</text>",
            base + 12,
            esc(label)
        ));
    }
    let ty = y(target);
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{ty:.1}\" x2=\"{right}\" y2=\"{ty:.1}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"
    ));
    // the legend, under the months
    let ly = base + 30;
    out.push_str(&format!(
        "<rect x=\"{left}\" y=\"{}\" width=\"9\" height=\"9\" fill=\"{GOOD}\"/>\
<text x=\"{}\" y=\"{ly}\" font-size=\"9\" {font}>target met</text>\
<rect x=\"{}\" y=\"{}\" width=\"9\" height=\"9\" fill=\"{BAD}\"/>\
<text x=\"{}\" y=\"{ly}\" font-size=\"9\" {font}>missed</text>\
<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>\
<text x=\"{}\" y=\"{ly}\" font-size=\"9\" {font}>target {} {} %</text>",
        ly - 8,
        left + 12,
        left + 78,
        ly - 8,
        left + 90,
        left + 135,
        ly - 4,
        left + 155,
        ly - 4,
        left + 159,
        if higher_is_better { "≥" } else { "≤" },
        trim_num(target)
    ));
    out.push_str("</svg>");
    out
}

/// `95` for 95.0, `2.5` for 2.5.
fn trim_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn value(l: &KpiLine, v: Option<f64>) -> String {
    match (v, l.unit) {
        (None, _) => "n/a".into(),
        (Some(v), "%") => format!("{v:.1} %"),
        (Some(v), _) => trim_num(v),
    }
}

fn target(l: &KpiLine) -> String {
    format!(
        "{} {}{}",
        if l.target_is == "min" { "≥" } else { "≤" },
        trim_num(l.target),
        if l.unit == "%" { " %" } else { "" }
    )
}

/// Green when the figure moved the good way, red when the bad way.
fn trend_class(l: &KpiLine) -> &'static str {
    use crate::report::review::Trend;
    let better_up = l.target_is == "min";
    match (l.trend, better_up) {
        (Trend::Up, true) | (Trend::Down, false) => "met",
        (Trend::Down, true) | (Trend::Up, false) => "missed",
        _ => "",
    }
}

fn met_word(l: &KpiLine) -> &'static str {
    match l.met {
        Some(true) => "met",
        Some(false) => "missed",
        None => "—",
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Green => "GREEN",
        Status::Amber => "AMBER",
        Status::Red => "RED",
    }
}

fn title(r: &Review) -> String {
    format!("Quarterly service review {} — {}", r.quarter_label, r.name)
}

/// Who prepared it: the MSP's name (or the internal mark).
fn byline(r: &Review) -> String {
    let who = r
        .prepared_by
        .clone()
        .unwrap_or_else(|| "your backup service team".into());
    let mut s = format!(
        "Prepared by {who} on {} for {} (SLA tier {}). Next review: {}.",
        date(r, r.generated_at.0),
        r.name,
        r.sla_tier,
        r.next_review
    );
    if r.audience == Audience::Internal {
        s.push_str(" INTERNAL — not for the client.");
    }
    s
}

fn risks_of(r: &Review, k: Kind) -> Vec<&RiskItem> {
    r.risks.iter().filter(|i| i.kind == k).collect()
}

/// The decisions grouped by what is to be decided (the choices are the
/// same for every system of a rule), in the order they first appear.
fn decision_groups(r: &Review) -> Vec<(&RiskItem, Vec<&RiskItem>)> {
    let mut groups: Vec<(&RiskItem, Vec<&RiskItem>)> = Vec::new();
    for i in risks_of(r, Kind::Decision) {
        match groups.iter_mut().find(|(f, _)| f.rule == i.rule) {
            Some((_, items)) => items.push(i),
            None => groups.push((i, vec![i])),
        }
    }
    groups
}

/// What was found, its instants in the client's zone.
fn evidence(r: &Review, i: &RiskItem) -> String {
    crate::domain::time::localize_text(&i.evidence.join("; "), tz(r))
}

fn grid_letters(cells: &[Cell]) -> String {
    cells.iter().map(|c| c.letter()).collect()
}

pub fn markdown(r: &Review) -> String {
    let mut m = format!("# {}\n\n{}\n\n", md(&title(r)), md(&byline(r)));
    if let Some(c) = &r.contact {
        m.push_str(&format!("Contact: {}\n\n", md(c)));
    }
    m.push_str(&format!(
        "## Summary\n\n**Overall status: {}** — {}.\n\n",
        status_word(r.status),
        md(&r.status_reasons.join("; "))
    ));
    for s in &r.summary {
        m.push_str(&format!("- {}\n", md(s)));
    }
    if let Some(p) = &r.previous_partial {
        m.push_str(&format!("\nNote: {} ({}).\n", md(p), r.previous_quarter));
    }
    if r.kpis.judged_from_runs > 0 {
        m.push_str(&format!("\n{}\n", md(&not_counted(r))));
    }
    m.push_str(&format!(
        "\n## Key figures\n\n| KPI | {} | target | | {} | trend |\n|---|---|---|---|---|---|\n",
        r.quarter, r.previous_quarter
    ));
    for l in &r.scorecard {
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            l.name,
            value(l, l.value),
            target(l),
            met_word(l),
            value(l, l.previous),
            l.trend.arrow()
        ));
    }
    m.push_str("\n## Monthly trend\n\n| month | backup success | incident rate | task compliance | restore success |\n|---|---|---|---|---|\n");
    let s = series(r);
    for i in 0..r.monthly.len() {
        let v = |j: usize| pct(s[j].points[i].1);
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            s[0].points[i].0,
            v(0),
            v(1),
            v(2),
            v(3)
        ));
    }
    m.push_str("\n## Daily status\n\nOne character a day from ");
    m.push_str(&format!(
        "{} to {}: S success, W warning, F failed, M missed, P paused, . not expected, blank: to come.\n\n```\n",
        r.grid.days.first().cloned().unwrap_or_default(),
        r.grid.days.last().cloned().unwrap_or_default()
    ));
    let width = r.grid.rows.iter().map(|g| g.job.len()).max().unwrap_or(0);
    for g in &r.grid.rows {
        m.push_str(&format!("{:<width$}  {}\n", g.job, grid_letters(&g.cells)));
    }
    m.push_str("```\n\n## Decisions needed from you\n\n");
    if !r.decision_makers.is_empty() {
        m.push_str(&format!(
            "For {} to decide.\n\n",
            md(&r.decision_makers.join(", "))
        ));
    }
    let decisions = decision_groups(r);
    if decisions.is_empty() {
        m.push_str("None this quarter.\n");
    }
    for (first, items) in decisions {
        m.push_str(&format!("### {}\n\nYour choices:\n\n", md(&first.title)));
        for (choice, consequence) in &first.choices {
            m.push_str(&format!("- *{}*: {}\n", md(choice), md(consequence)));
        }
        m.push_str("\n| system | what we found | priority | decide by |\n|---|---|---|---|\n");
        for i in items {
            m.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md(&i.subject),
                md(&evidence(r, i)),
                i.severity.as_str(),
                date(r, i.target_date)
            ));
        }
        m.push('\n');
    }
    m.push_str("\n## What we will do\n\n| system | risk | what we will do | owner | priority | by |\n|---|---|---|---|---|---|\n");
    for i in risks_of(r, Kind::Action) {
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            md(&i.subject),
            md(&i.title),
            md(&i.action),
            md(&i.owner),
            i.severity.as_str(),
            date(r, i.target_date)
        ));
    }
    let accepted = risks_of(r, Kind::Accepted);
    if !accepted.is_empty() {
        m.push_str("\n## Risks you accepted\n\n| system | risk | accepted by | until | reference |\n|---|---|---|---|---|\n");
        for i in accepted {
            let a = i.accepted.as_ref();
            m.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md(&i.subject),
                md(&i.title),
                md(a.map(|a| a.by.as_str()).unwrap_or("")),
                a.map(|a| a.through.clone()).unwrap_or_default(),
                md(a.map(|a| a.reference.as_str()).unwrap_or(""))
            ));
        }
    }
    if r.audience == Audience::Internal {
        m.push_str("\n## Our own service (internal)\n\n");
        for i in risks_of(r, Kind::Internal) {
            m.push_str(&format!(
                "- **{}** {} {}: {} — *{}*\n",
                i.severity.as_str().to_uppercase(),
                md(&i.title),
                md(&i.subject),
                md(&evidence(r, i)),
                md(&i.action)
            ));
        }
    }
    let c = &r.capacity;
    m.push_str(&format!(
        "\n## Capacity\n\nProtected data: {} at the start of the quarter, {} at its end{}; at this rate, {} a quarter from now.\n",
        bytes(c.start_bytes),
        bytes(c.end_bytes),
        c.growth_percent.map(|g| format!(" ({g:+.1} %)")).unwrap_or_default(),
        bytes(c.projected_bytes)
    ));
    m.push_str("\n## Changes to the backup plan\n\n");
    if r.plan_changes.is_empty() {
        m.push_str("No plan changes this quarter.\n");
    }
    for c in &r.plan_changes {
        m.push_str(&format!(
            "- version {} on {} by {}: {}\n",
            c.version,
            date(r, c.created_at.0),
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
            at(r, a.ended_at.0),
            md(&a.job),
            a.kind,
            a.outcome,
            format_age(a.duration_s),
            format_duration(a.rto_s),
            rto_met(a.rto_met)
        ));
    }
    if !r.rpo_breaches.is_empty() {
        m.push_str("\n## Restore points missing longer than agreed\n\n| job | no restore point from | until |\n|---|---|---|\n");
        for b in &r.rpo_breaches {
            m.push_str(&format!(
                "| {} | {} | {} |\n",
                md(&b.job),
                at(r, b.gap_from.0),
                at(r, b.gap_to.0)
            ));
        }
    }
    if !r.exclusions.is_empty() {
        m.push_str("\n## Excluded from the incident rate\n\n| occurrence | job | was | reason | by |\n|---|---|---|---|---|\n");
        for x in &r.exclusions {
            m.push_str(&format!(
                "| {} | {} | {} | {}{} | {} |\n",
                at(r, x.occurrence_at.0),
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
        m.push_str(&format!("- {}\n", md(&open_item(o))));
    }
    m
}

fn rto_met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    }
}

fn open_item(o: &crate::ops::review::OpenItem) -> String {
    format!(
        "{}{} {}{}{}",
        o.id.map(|i| format!("#{i} ")).unwrap_or_default(),
        match o.kind.as_str() {
            "incident" => "Incident:",
            "task" => "Task:",
            _ => "Issue:",
        },
        o.title,
        if o.overdue { " (overdue)" } else { "" },
        o.waiting_on_client
            .as_ref()
            .map(|w| format!(" — waiting on you: {w}"))
            .unwrap_or_default()
    )
}

const CSS: &str = "body{font-family:sans-serif;max-width:180mm;margin:auto;color:#222;font-size:10pt}\
header{display:flex;align-items:center;gap:12px;border-bottom:3px solid var(--accent);padding:6px 0;margin-bottom:8px}\
header img{max-height:40px}header .msp{font-weight:bold;font-size:12pt;color:var(--accent)}header .contact{margin-left:auto;color:#555}\
h1{font-size:17pt;margin:8px 0 2px}h3{font-size:11pt;margin:12px 0 2px}h2{font-size:13pt;color:var(--accent);border-bottom:1px solid #ddd;margin-top:18px}\
.meta{color:#555;margin:0 0 8px}\
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top}th{background:#f0f0f0}\
.summary{border:1px solid #ccc;border-left:8px solid #999;padding:6px 12px;margin:8px 0}.summary ul{margin:4px 0 2px 16px;padding:0}\
.status-green{border-left-color:#2e7d32}.status-amber{border-left-color:#ef8f00}.status-red{border-left-color:#c62828}\
.badge{display:inline-block;padding:1px 8px;border-radius:3px;color:#fff;font-weight:bold}\
.badge.green{background:#2e7d32}.badge.amber{background:#ef8f00}.badge.red{background:#c62828}\
.met{color:#2e7d32;font-weight:bold}.missed{color:#c62828;font-weight:bold}.num,.date{text-align:right;white-space:nowrap}\
.charts{display:flex;flex-wrap:wrap;gap:6px}.high{color:#c62828;font-weight:bold}.medium{color:#b26a00}.low{color:#555}\
table.grid{width:auto;border-collapse:separate;border-spacing:1px}table.grid td,table.grid th{border:0;padding:0;font-size:7pt;line-height:1}\
table.grid td.job{padding-right:8px;white-space:nowrap;max-width:40mm;overflow:hidden}table.grid td.c{width:4px;height:9px}\
table.grid th.m{text-align:left;font-weight:normal;color:#555;background:none}\
.c-success{background:#43a047}.c-warning{background:#fbc02d}.c-failed{background:#e53935}.c-missed{background:#6a1b9a}\
.c-paused{background:#90a4ae}.c-not-expected{background:#eeeeee}.c-pending{background:#fff;outline:1px solid #eee}\
.legend span{display:inline-block;width:9px;height:9px;margin:0 3px 0 10px;vertical-align:middle}\
ul.choices{margin:2px 0 0 14px;padding:0}\
@page{size:auto;margin:12mm}@media print{body{max-width:none}h2{break-after:avoid}table,svg,.summary{break-inside:avoid}}";

pub fn html(r: &Review, look: &Look) -> String {
    let accent = if look.accent.is_empty() {
        "#1f4e79"
    } else {
        look.accent.as_str()
    };
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>:root{{--accent:{accent}}}{CSS}</style></head><body>\n<header>{logo}<span class=\"msp\">{msp}</span>{contact}</header>\n<h1>{t}</h1>\n<p class=\"meta\">{by}</p>\n",
        t = esc(&title(r)),
        logo = look
            .logo
            .as_ref()
            .map(|l| format!("<img src=\"{l}\" alt=\"logo\">"))
            .unwrap_or_default(),
        msp = esc(r.prepared_by.as_deref().unwrap_or("Backup service review")),
        contact = r
            .contact
            .as_ref()
            .map(|c| format!("<span class=\"contact\">{}</span>", esc(c)))
            .unwrap_or_default(),
        by = esc(&byline(r)),
    );
    let st = r.status.as_str();
    h.push_str(&format!(
        "<section class=\"summary status-{st}\" id=\"summary\"><h2>Summary</h2>\n<p><span class=\"badge {st}\">{}</span> {}</p>\n<ul>\n",
        status_word(r.status),
        esc(&r.status_reasons.join("; "))
    ));
    for s in &r.summary {
        h.push_str(&format!("<li>{}</li>\n", esc(s)));
    }
    h.push_str("</ul>\n");
    if let Some(p) = &r.previous_partial {
        h.push_str(&format!(
            "<p class=\"meta\">Note: {} ({}); compare with care.</p>\n",
            esc(p),
            esc(&r.previous_quarter)
        ));
    }
    if r.kpis.judged_from_runs > 0 {
        h.push_str(&format!("<p class=\"meta\">{}</p>\n", esc(&not_counted(r))));
    }
    h.push_str("</section>\n");
    h.push_str(&format!(
        "<h2 id=\"kpis\">Key figures</h2>\n<table class=\"kpis\"><tr><th>KPI</th><th>{}</th><th>target</th><th></th><th>{}</th><th>trend</th></tr>\n",
        esc(&r.quarter),
        esc(&r.previous_quarter)
    ));
    for l in &r.scorecard {
        h.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{m}\">{m}</td><td class=\"num\">{}</td><td class=\"{}\">{}</td></tr>\n",
            esc(l.name),
            value(l, l.value),
            target(l),
            value(l, l.previous),
            trend_class(l),
            l.trend.arrow(),
            m = met_word(l)
        ));
    }
    h.push_str("</table>\n<h2>Monthly trend</h2>\n<div class=\"charts\">");
    for c in series(r) {
        h.push_str(&svg_chart(c.title, &c.points, c.target, c.higher_is_better));
    }
    h.push_str("</div>\n");
    h.push_str(&grid_html(r));
    h.push_str("<h2>Decisions needed from you</h2>\n");
    if !r.decision_makers.is_empty() {
        h.push_str(&format!(
            "<p class=\"meta\">For {} to decide.</p>\n",
            esc(&r.decision_makers.join(", "))
        ));
    }
    let decisions = decision_groups(r);
    if decisions.is_empty() {
        h.push_str("<p>None this quarter.</p>\n");
    }
    for (first, items) in decisions {
        let choices: String = first
            .choices
            .iter()
            .map(|(c, q)| format!("<li><b>{}</b>: {}</li>", esc(c), esc(q)))
            .collect();
        h.push_str(&format!(
            "<h3>{}</h3>\n<p>Your choices:</p><ul class=\"choices\">{choices}</ul>\n<table class=\"risks decisions\"><tr><th>system</th><th>what we found</th><th>priority</th><th>decide by</th></tr>\n",
            esc(&first.title)
        ));
        for i in items {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"{s}\">{s}</td><td class=\"date\">{}</td></tr>\n",
                esc(&i.subject),
                esc(&evidence(r, i)),
                date(r, i.target_date),
                s = i.severity.as_str()
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>What we will do</h2>\n");
    let actions = risks_of(r, Kind::Action);
    if actions.is_empty() {
        h.push_str("<p>Nothing outstanding.</p>\n");
    } else {
        h.push_str("<table class=\"risks actions\"><tr><th>system</th><th>what we found</th><th>what we will do</th><th>owner</th><th>priority</th><th>by</th></tr>\n");
        for i in actions {
            h.push_str(&format!(
                "<tr><td>{}</td><td><b>{}</b><br>{}</td><td>{}</td><td>{}</td><td class=\"{s}\">{s}</td><td class=\"date\">{}</td></tr>\n",
                esc(&i.subject),
                esc(&i.title),
                esc(&evidence(r, i)),
                esc(&i.action),
                esc(&i.owner),
                date(r, i.target_date),
                s = i.severity.as_str()
            ));
        }
        h.push_str("</table>\n");
    }
    let accepted = risks_of(r, Kind::Accepted);
    if !accepted.is_empty() {
        h.push_str("<h2>Risks you accepted</h2>\n<table class=\"risks accepted\"><tr><th>system</th><th>what we found</th><th>accepted by</th><th>until</th><th>reference</th></tr>\n");
        for i in accepted {
            let a = i.accepted.as_ref();
            h.push_str(&format!(
                "<tr><td>{}</td><td><b>{}</b><br>{}</td><td>{}</td><td class=\"date\">{}</td><td>{}</td></tr>\n",
                esc(&i.subject),
                esc(&i.title),
                esc(&evidence(r, i)),
                esc(a.map(|a| a.by.as_str()).unwrap_or("")),
                a.map(|a| a.through.clone()).unwrap_or_default(),
                esc(a.map(|a| a.reference.as_str()).unwrap_or(""))
            ));
        }
        h.push_str("</table>\n");
    }
    if r.audience == Audience::Internal {
        h.push_str("<h2>Our own service (internal)</h2>\n<table class=\"risks internal\"><tr><th>severity</th><th>issue</th><th>about</th><th>evidence</th><th>recommendation</th></tr>\n");
        for i in risks_of(r, Kind::Internal) {
            h.push_str(&format!(
                "<tr><td class=\"{s}\">{s}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&i.title),
                esc(&i.subject),
                esc(&evidence(r, i)),
                esc(&i.action),
                s = i.severity.as_str()
            ));
        }
        h.push_str("</table>\n");
    }
    let c = &r.capacity;
    h.push_str(&format!(
        "<h2>Capacity</h2>\n<table class=\"capacity\"><tr><th>protected data at the start</th><th>at the end</th><th>growth</th><th>a quarter ahead, at this rate</th></tr>\n<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>\n",
        bytes(c.start_bytes),
        bytes(c.end_bytes),
        c.growth_percent.map(|g| format!("{g:+.1} %")).unwrap_or_else(|| "n/a".into()),
        bytes(c.projected_bytes)
    ));
    h.push_str("<h2>Changes to the backup plan</h2>\n<ul>\n");
    for c in &r.plan_changes {
        h.push_str(&format!(
            "<li>version {} on {} by {}: {}<ul>",
            c.version,
            date(r, c.created_at.0),
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
            at(r, a.ended_at.0),
            esc(&a.job),
            esc(&a.kind),
            esc(&a.outcome),
            format_age(a.duration_s),
            format_duration(a.rto_s),
            rto_met(a.rto_met)
        ));
    }
    h.push_str("</table>\n");
    if !r.rpo_breaches.is_empty() {
        h.push_str("<h2>Restore points missing longer than agreed</h2>\n<table><tr><th>job</th><th>no restore point from</th><th>until</th></tr>\n");
        for b in &r.rpo_breaches {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&b.job),
                at(r, b.gap_from.0),
                at(r, b.gap_to.0)
            ));
        }
        h.push_str("</table>\n");
    }
    if !r.exclusions.is_empty() {
        h.push_str("<h2>Excluded from the incident rate</h2>\n<table><tr><th>occurrence</th><th>job</th><th>was</th><th>reason</th><th>by</th></tr>\n");
        for x in &r.exclusions {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>\n",
                at(r, x.occurrence_at.0),
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
        h.push_str(&format!("<li>{}</li>\n", esc(&open_item(o))));
    }
    if r.open_items.is_empty() {
        h.push_str("<li>None.</li>\n");
    }
    h.push_str("</ul>\n");
    if r.audience == Audience::Client {
        // the review is agreed with the client: room to sign it
        h.push_str(&format!(
            "<h2>Sign-off</h2>\n<table class=\"signoff\"><tr><th>for {}</th><th>for {}</th></tr>\n<tr><td>name, date, signature<br><br><br></td><td>name, date, signature<br><br><br></td></tr></table>\n",
            esc(r.prepared_by.as_deref().unwrap_or("the service provider")),
            esc(&r.name)
        ));
    }
    h.push_str("</body></html>\n");
    h
}

/// The daily status grid: a row per job, a small coloured cell per day, the
/// months over the columns and a legend.
fn grid_html(r: &Review) -> String {
    let g = &r.grid;
    let mut h =
        String::from("<h2 id=\"grid\">Daily status</h2>\n<table class=\"grid\"><tr><th></th>");
    // a month's name over its days
    let mut i = 0;
    while i < g.days.len() {
        let month = &g.days[i][..7];
        let n = g.days[i..]
            .iter()
            .take_while(|d| d.starts_with(month))
            .count();
        h.push_str(&format!("<th class=\"m\" colspan=\"{n}\">{month}</th>"));
        i += n;
    }
    h.push_str("</tr>\n");
    for row in &g.rows {
        h.push_str(&format!("<tr><td class=\"job\">{}</td>", esc(&row.job)));
        for (c, d) in row.cells.iter().zip(&g.days) {
            h.push_str(&format!(
                "<td class=\"c c-{}\" title=\"{d} {}\"></td>",
                c.as_str(),
                c.as_str()
            ));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<p class=\"legend\">");
    for c in [
        Cell::Success,
        Cell::Warning,
        Cell::Failed,
        Cell::Missed,
        Cell::Paused,
        Cell::NotExpected,
        Cell::Pending,
    ] {
        h.push_str(&format!(
            "<span class=\"c-{}\"></span>{}",
            c.as_str(),
            c.as_str().replace('-', " ")
        ));
    }
    h.push_str("</p>\n");
    h
}

/// The review's tables as CSV files, by name: the KPIs by period, the
/// scorecard, the risks, the grid, the restore tests, the plan changes and
/// the capacity.
pub fn csvs(r: &Review) -> Result<Vec<(&'static str, String)>> {
    let mut out = vec![("kpis", kpi_csv(r)?)];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kpi",
        "value",
        "unit",
        "target",
        "target_is",
        "met",
        "previous",
        "trend",
    ])?;
    let opt = |p: Option<f64>| p.map(|v| format!("{v:.1}")).unwrap_or_default();
    for l in &r.scorecard {
        w.write_record([
            l.name.to_string(),
            opt(l.value),
            l.unit.to_string(),
            trim_num(l.target),
            l.target_is.to_string(),
            l.met.map(|m| m.to_string()).unwrap_or_default(),
            opt(l.previous),
            format!("{:?}", l.trend).to_lowercase(),
        ])?;
    }
    out.push(("scorecard", String::from_utf8(w.into_inner()?)?));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "rule",
        "title",
        "severity",
        "subject",
        "evidence",
        "choices",
        "action",
        "owner",
        "target_date",
    ])?;
    for i in &r.risks {
        w.write_record([
            format!("{:?}", i.kind).to_lowercase(),
            if r.audience == Audience::Internal {
                i.rule.clone()
            } else {
                String::new()
            },
            i.title.clone(),
            i.severity.as_str().to_string(),
            super::csv_safe(&i.subject),
            super::csv_safe(&evidence(r, i)),
            super::csv_safe(
                &i.choices
                    .iter()
                    .map(|(c, q)| format!("{c}: {q}"))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            super::csv_safe(&i.action),
            super::csv_safe(&i.owner),
            date(r, i.target_date),
        ])?;
    }
    out.push(("risks", String::from_utf8(w.into_inner()?)?));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["job", "ci", "tier", "date", "status"])?;
    for row in &r.grid.rows {
        for (c, d) in row.cells.iter().zip(&r.grid.days) {
            w.write_record([
                super::csv_safe(&row.job),
                super::csv_safe(&row.ci),
                row.tier.to_string(),
                d.clone(),
                c.as_str().to_string(),
            ])?;
        }
    }
    out.push(("grid", String::from_utf8(w.into_inner()?)?));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "ended_at",
        "job",
        "kind",
        "outcome",
        "duration_s",
        "rto_s",
        "rto_met",
    ])?;
    for a in &r.restore_tests {
        w.write_record([
            rfc3339(a.ended_at.0),
            super::csv_safe(&a.job),
            a.kind.clone(),
            a.outcome.clone(),
            a.duration_s.to_string(),
            a.rto_s.to_string(),
            a.rto_met.map(|m| m.to_string()).unwrap_or_default(),
        ])?;
    }
    out.push(("restores", String::from_utf8(w.into_inner()?)?));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "version",
        "created_at",
        "actor",
        "reason",
        "change",
        "item",
        "field",
        "old",
        "new",
    ])?;
    for c in &r.plan_changes {
        for d in &c.diff {
            w.write_record([
                c.version.to_string(),
                rfc3339(c.created_at.0),
                super::csv_safe(&c.actor),
                super::csv_safe(&c.reason),
                d.change.to_string(),
                super::csv_safe(&d.item),
                d.field.to_string(),
                super::csv_safe(&d.old),
                super::csv_safe(&d.new),
            ])?;
        }
    }
    out.push(("changes", String::from_utf8(w.into_inner()?)?));
    let c = &r.capacity;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "start_bytes",
        "end_bytes",
        "growth_percent",
        "projected_bytes",
    ])?;
    w.write_record([
        c.start_bytes.to_string(),
        c.end_bytes.to_string(),
        opt(c.growth_percent),
        c.projected_bytes.to_string(),
    ])?;
    out.push(("capacity", String::from_utf8(w.into_inner()?)?));
    Ok(out)
}

/// The KPI rows: the quarter, the previous quarter and each month.
fn kpi_csv(r: &Review) -> Result<String> {
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
    rows.extend(r.monthly.iter().map(|k| (k.period.clone(), k)));
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

/// Review files for the technicians' group (shared host, under sudo):
/// files 0640, folders 2750 (the group inherited from `--out`); else
/// private, 0600 and 0700.
static SHARED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn share_with_group() {
    SHARED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn modes() -> (u32, u32) {
    if SHARED.load(std::sync::atomic::Ordering::Relaxed) {
        (0o640, 0o2750)
    } else {
        (0o600, 0o700)
    }
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

/// How a review is written.
pub struct Writing<'a> {
    /// Any of md, html, json, csv, pdf.
    pub formats: &'a [&'a str],
    pub look: &'a Look,
    /// The browser that prints the PDF (found by [`super::pdf::find`]).
    pub chromium: Option<&'a Path>,
}

/// The files' base name: `qsr-2026-Q4` for the client, with `-internal`
/// for the MSP's own.
pub fn base_name(r: &Review) -> String {
    match r.audience {
        Audience::Client => format!("qsr-{}", r.quarter),
        Audience::Internal => format!("qsr-{}-internal", r.quarter),
    }
}

/// Write the review's files; returns their paths. Existing files are replaced.
pub fn write(r: &Review, out: &Path, w: &Writing) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = folder(out, &r.client)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(modes().1)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    if SHARED.load(std::sync::atomic::Ordering::Relaxed) {
        // the umask may have taken the setgid and group bits off
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(modes().1))?;
    }
    // a client's folder planted as a symlink would take the files elsewhere
    if std::fs::symlink_metadata(&dir)?.file_type().is_symlink() {
        bail!(
            "{} is a symbolic link: refusing to write the review through it",
            dir.display()
        );
    }
    let base = base_name(r);
    let mut written = Vec::new();
    for f in w.formats {
        let files: Vec<(String, String)> = match *f {
            "md" => vec![(format!("{base}.md"), markdown(r))],
            "html" => vec![(format!("{base}.html"), html(r, w.look))],
            "json" => vec![(
                format!("{base}.json"),
                format!("{}\n", serde_json::to_string_pretty(r)?),
            )],
            "csv" => csvs(r)?
                .into_iter()
                .map(|(part, body)| {
                    let name = match part {
                        "kpis" => format!("{base}.csv"),
                        other => format!("{base}-{other}.csv"),
                    };
                    (name, body)
                })
                .collect(),
            "pdf" => {
                let browser = w
                    .chromium
                    .context("--formats pdf: no browser to print with")?;
                // the browser reads the HTML from a file of its own
                let tmp = tempfile::Builder::new().suffix(".html").tempfile_in(&dir)?;
                std::fs::write(tmp.path(), html(r, w.look))?;
                let pdf = dir.join(format!("{base}.pdf"));
                super::pdf::print(browser, tmp.path(), &pdf)?;
                written.push(pdf);
                continue;
            }
            other => bail!("format '{other}' is not one of md, html, json, csv, pdf"),
        };
        for (name, body) in files {
            let path = dir.join(name);
            write_private(&path, body.as_bytes())?;
            written.push(path);
        }
    }
    Ok(written)
}

/// One line of the all-clients index.
#[derive(Debug, serde::Serialize)]
pub struct IndexEntry {
    pub client: String,
    pub name: String,
    pub status: Status,
    pub backup_incident_rate: Option<f64>,
    pub task_compliance: Option<f64>,
    pub recovery_success: Option<f64>,
    pub sla_attainment: Option<f64>,
    pub decisions: usize,
    /// The client review's HTML, relative to the index.
    pub link: String,
}

impl IndexEntry {
    pub fn of(r: &Review) -> IndexEntry {
        IndexEntry {
            client: r.client.clone(),
            name: r.name.clone(),
            status: r.status,
            backup_incident_rate: r.kpis.backup_incident_rate.percent,
            task_compliance: r.kpis.task_compliance.percent,
            recovery_success: r.kpis.recovery_success_rate.percent,
            sla_attainment: r.sla_attainment.percent,
            decisions: r.risks.iter().filter(|i| i.kind == Kind::Decision).count(),
            link: format!("{}/{}.html", r.client, base_name(r)),
        }
    }
}

/// `index.html` and `index.md` over every client's review.
pub fn write_index(
    out: &Path,
    quarter: &str,
    entries: &[IndexEntry],
    look: &Look,
    prepared_by: Option<&str>,
) -> Result<Vec<PathBuf>> {
    let title = format!("Quarterly service reviews {quarter}");
    let accent = if look.accent.is_empty() {
        "#1f4e79"
    } else {
        look.accent.as_str()
    };
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>:root{{--accent:{accent}}}{CSS}</style></head><body>\n<header><span class=\"msp\">{msp}</span></header>\n<h1>{t}</h1>\n<table class=\"index\"><tr><th>client</th><th>status</th><th>backup incident rate</th><th>task compliance</th><th>restore success</th><th>SLA attainment</th><th>decisions needed</th></tr>\n",
        t = esc(&title),
        msp = esc(prepared_by.unwrap_or("Backup service reviews")),
    );
    let mut m = format!(
        "# {}\n\n| client | status | backup incident rate | task compliance | restore success | SLA attainment | decisions needed |\n|---|---|---|---|---|---|---|\n",
        md(&title)
    );
    for e in entries {
        h.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td><span class=\"badge {s}\">{}</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            esc(&e.link),
            esc(&e.name),
            status_word(e.status),
            pct(e.backup_incident_rate),
            pct(e.task_compliance),
            pct(e.recovery_success),
            pct(e.sla_attainment),
            e.decisions,
            s = e.status.as_str()
        ));
        m.push_str(&format!(
            "| [{}]({}) | {} | {} | {} | {} | {} | {} |\n",
            md(&e.name),
            e.link.replace(".html", ".md"),
            status_word(e.status),
            pct(e.backup_incident_rate),
            pct(e.task_compliance),
            pct(e.recovery_success),
            pct(e.sla_attainment),
            e.decisions
        ));
    }
    h.push_str("</table>\n</body></html>\n");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for (name, body) in [("index.html", h), ("index.md", m)] {
        let path = out.join(name);
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
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(modes().0))?;
    }
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
    fn charts_have_a_bar_per_month_a_target_line_and_a_legend() {
        let svg = svg_chart(
            "Task compliance (%)",
            &[
                ("2026-10".into(), Some(90.0)),
                ("2026-11".into(), None),
                ("2026-12".into(), Some(100.0)),
            ],
            95.0,
            true,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // two bars and the legend's two swatches
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("n/a") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("target ≥ 95 %") && svg.contains("missed"));
        // coloured by the target: 90 missed it, 100 met it
        assert!(svg.contains(&format!("fill=\"{BAD}\"/><text")) && svg.contains(GOOD));
        // the value sits inside its bar, in white
        assert!(svg.contains("fill=\"#fff\">100.0</text>"), "{svg}");
    }

    #[test]
    fn an_axis_fits_its_values() {
        // an incident rate of 3-4 % against a 3 % target: not a 0-100 scale
        let (lo, hi, _) = axis(&[3.2, 4.1, 2.9], 3.0, false);
        assert_eq!((lo, hi), (0.0, 6.0));
        // success rates near 100 are zoomed in
        let (lo, hi, _) = axis(&[96.6, 97.0, 95.7], 95.0, true);
        assert_eq!((lo, hi), (90.0, 100.0));
        let (lo, _, step) = axis(&[40.0], 90.0, true);
        assert_eq!((lo, step), (20.0, 20.0));
    }

    #[test]
    fn base64_as_rfc_4648_says() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
