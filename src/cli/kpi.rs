//! `bmctl kpi [--client C] [--from T --to T | --month 2026-11 | --quarter 2026-Q4] [--by month]`.

use anyhow::Result;
use chrono::NaiveDate;
use serde::Serialize;

use super::App;
use crate::domain::time::rfc3339;
use crate::error::rejected;
use crate::ops::kpi::{self, Kpis};
use crate::output::{self, Tabular};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Periods are half-open [from, to). For one client they start and end at
midnight in the client's zone; for all clients, in UTC. Without a period: the last 30 days.
A KPI whose denominator is empty prints n/a (JSON null)."
)]
pub struct Args {
    #[arg(long)]
    client: Option<String>,
    /// Start (RFC 3339, or a date: midnight in the period's zone).
    #[arg(long, requires = "to", conflicts_with_all = ["month", "quarter"])]
    from: Option<String>,
    /// End, exclusive.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// A calendar month, e.g. 2026-11.
    #[arg(long, conflicts_with = "quarter")]
    month: Option<String>,
    /// A quarter, e.g. 2026-Q4.
    #[arg(long)]
    quarter: Option<String>,
    /// One row per calendar month (the trend).
    #[arg(long, value_parser = ["month"])]
    by: Option<String>,
}

/// One row of the CSV (and of the monthly trend table).
#[derive(Serialize)]
struct Row {
    client: Option<String>,
    period: String,
    from: String,
    to: String,
    recovery_issues: usize,
    aged_backlog: usize,
    open_backlog: usize,
    incident_rate_percent: Option<f64>,
    failed: i64,
    missed: i64,
    expected: i64,
    corrective_opened: i64,
    task_compliance_percent: Option<f64>,
    tasks_on_time: usize,
    tasks_due: usize,
    recovery_success_percent: Option<f64>,
    recoveries_succeeded: usize,
    recoveries: usize,
    #[serde(skip)]
    figures: [String; 5],
}

impl From<&Kpis> for Row {
    fn from(k: &Kpis) -> Row {
        Row {
            client: k.client.clone(),
            period: k.period.clone(),
            from: rfc3339(k.from.0),
            to: rfc3339(k.to.0),
            recovery_issues: k.recovery_issues.count,
            aged_backlog: k.aged_backlog.aged,
            open_backlog: k.aged_backlog.open,
            incident_rate_percent: k.backup_incident_rate.percent,
            failed: k.backup_incident_rate.failed,
            missed: k.backup_incident_rate.missed,
            expected: k.backup_incident_rate.expected,
            corrective_opened: k.backup_incident_rate.corrective_opened,
            task_compliance_percent: k.task_compliance.percent,
            tasks_on_time: k.task_compliance.on_time,
            tasks_due: k.task_compliance.due,
            recovery_success_percent: k.recovery_success_rate.percent,
            recoveries_succeeded: k.recovery_success_rate.success,
            recoveries: k.recovery_success_rate.total,
            figures: crate::output::kpi::figures(k),
        }
    }
}

impl Tabular for Row {
    fn headers() -> Vec<&'static str> {
        vec![
            "period",
            "recovery issues",
            "aged backlog",
            "incident rate",
            "task compliance",
            "recovery success",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let mut cells = vec![self.period.clone()];
        cells.extend(self.figures.clone());
        cells
    }
}

/// The period and, over all clients, how it is bounded: dates and months
/// by each client's own midnights, instants exactly.
fn period(app: &App, a: &Args, tz: chrono_tz::Tz, now: i64) -> Result<(i64, i64, kpi::Bounds)> {
    let (from, to) = bounds(app, a, tz, now)?;
    let is_date = |t: &Option<String>| t.as_deref().is_some_and(|t| t.len() == 10);
    let exact = a.month.is_none()
        && a.quarter.is_none()
        && a.by.is_none()
        && !(is_date(&a.from) && is_date(&a.to));
    let how = if exact {
        kpi::Bounds::Exact
    } else {
        kpi::Bounds::LocalDays
    };
    Ok((from, to, how))
}

fn bounds(app: &App, a: &Args, tz: chrono_tz::Tz, now: i64) -> Result<(i64, i64)> {
    if let (Some(f), Some(t)) = (&a.from, &a.to) {
        let past = crate::domain::time::Span::Past;
        let from = app.when("--from", f, Some(tz), past)?;
        let to = app.when("--to", t, Some(tz), past)?;
        if to <= from {
            return Err(rejected("--to must be after --from"));
        }
        return Ok((from, to));
    }
    if let Some(m) = &a.month {
        let d = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| rejected(format!("--month '{m}' must look like 2026-11")))?;
        return kpi::month(chrono::Datelike::year(&d), chrono::Datelike::month(&d), tz);
    }
    if let Some(q) = &a.quarter {
        let q = crate::domain::time::Quarter::parse(q)
            .ok_or_else(|| rejected(format!("--quarter '{q}' must look like 2026-Q4")))?;
        return q.bounds(tz);
    }
    let _ = app;
    Ok((now - 30 * 86_400, now))
}

pub fn run(app: &App, a: &Args) -> Result<u8> {
    let store = app.store()?;
    let ctx = app.ctx("kpi")?;
    let now = ctx.ts();
    let tz = kpi::zone(&store, a.client.as_deref())?;
    if a.client.is_some() {
        output::set_table_tz(tz);
    }
    let (from, to, how) = period(app, a, tz, now)?;
    let reading = kpi::Reading {
        now,
        aged_after: app.config.s.kpi_aged_after_s,
        max_runtime: app.config.s.check_default_max_runtime_s,
        bounds: how,
    };
    if a.by.is_some() {
        let all: Vec<Kpis> = kpi::months(from, to, tz)?
            .into_iter()
            .map(|(f, t)| kpi::compute(&store, a.client.as_deref(), f, t, &reading))
            .collect::<Result<_>>()?;
        match app.format() {
            output::Format::Json => {
                output::text(&format!("{}\n", serde_json::to_string_pretty(&all)?))?
            }
            f => {
                if f == output::Format::Table {
                    let bounds = match &a.client {
                        Some(_) => format!("the client's months, midnights in {}", tz.name()),
                        None => "each client's own months, summed".into(),
                    };
                    output::text(&format!(
                        "KPI trend for {} by month ({bounds})\n",
                        a.client.as_deref().unwrap_or("all clients"),
                    ))?;
                }
                output::list(f, &all.iter().map(Row::from).collect::<Vec<_>>())?;
                let judged: i64 = all.iter().map(|k| k.judged_from_runs).sum();
                if f == output::Format::Table && judged > 0 {
                    app.say(format!("Judged from the runs: {judged} window(s) that closed after the last `bmctl check`"));
                }
            }
        }
        return Ok(0);
    }
    let k = kpi::compute(&store, a.client.as_deref(), from, to, &reading)?;
    match app.format() {
        output::Format::Table => output::text(&output::kpi::render(&k))?,
        output::Format::Json => output::show(app.format(), &k, &[])?,
        output::Format::Csv => output::list(app.format(), &[Row::from(&k)])?,
    }
    Ok(0)
}
