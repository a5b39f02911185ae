//! Rendering: the one place that knows comfy-table, serde_json and csv.
//! Views are `Serialize` structs, so JSON and CSV come from the same data as
//! the table. On a terminal tables are laid out for a person (`table`);
//! piped, they are plain, full width and without colour.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::ValueEnum;
use comfy_table::{presets, Table};
use serde::Serialize;

pub mod kpi;
pub mod pdf;
pub mod review;
pub mod table;

/// When tables are coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Also when piped.
    Always,
    /// Never.
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();
static TABLE_TZ: std::sync::RwLock<Option<chrono_tz::Tz>> = std::sync::RwLock::new(None);

/// The zone of the times [`at`] prints: `display.timezone` at start, a
/// client's when a command lists one client's objects.
pub fn set_table_tz(tz: chrono_tz::Tz) {
    if let Ok(mut z) = TABLE_TZ.write() {
        *z = Some(tz);
    }
}

/// An instant for a table: `2026-11-30 22:00 CET`, in the zone set by
/// [`set_table_tz`].
pub fn at(secs: i64) -> String {
    crate::domain::time::local_display(secs, table_tz())
}

/// Free text for a table, its RFC 3339 instants in the zone of [`at`].
pub fn local_text(text: &str) -> String {
    crate::domain::time::localize_text(text, table_tz())
}

fn table_tz() -> chrono_tz::Tz {
    TABLE_TZ
        .read()
        .ok()
        .and_then(|z| *z)
        .unwrap_or(chrono_tz::UTC)
}

/// Set once, from the command line.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// The terminal's width when stdout is one.
fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // COLUMNS when the shell exports it, else the terminal's own width
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    Some(columns.unwrap_or_else(|| console::Term::stdout().size().1 as usize))
}

fn colour(on_terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or_default() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        // NO_COLOR counts when set and not empty (no-color.org)
        ColorChoice::Auto => {
            on_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A table: for a person on a terminal, plain when piped (coloured only
/// with `--color always`).
fn table_text(headers: &[&str], rows: Vec<Vec<String>>, optional: &[&str]) -> String {
    let width = terminal_width();
    let colour = colour(width.is_some());
    if width.is_none() && !colour {
        let mut t = Table::new();
        t.load_preset(presets::NOTHING);
        t.set_header(headers.to_vec());
        for r in rows {
            t.add_row(r);
        }
        return format!("{}\n", t.to_string().trim_end());
    }
    table::render(
        headers,
        &rows,
        width.unwrap_or(usize::MAX),
        colour,
        optional,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// A view that can be a table row.
pub trait Tabular: Serialize {
    fn headers() -> Vec<&'static str>;
    fn cells(&self) -> Vec<String>;
    /// Columns left out first when a terminal is too narrow (after the free text).
    fn optional() -> &'static [&'static str] {
        &[]
    }
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`bmctl … | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn csv_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => csv_safe(s),
        other => other.to_string(),
    }
}

/// A text cell a spreadsheet will not run: one that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's rule
/// against CSV formula injection).
pub fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Text for a terminal: control characters (a job name from a client's
/// script may hold escape sequences that clear the screen or recolour a
/// row) are shown as visible escapes, never sent.
pub fn visible(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// CSV from the JSON form: the keys of the first object are the header.
fn to_csv(values: &[serde_json::Value]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = match values.first() {
        Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    w.write_record(&header)?;
    for v in values {
        let row: Vec<String> = header.iter().map(|k| csv_cell(&v[k])).collect();
        w.write_record(&row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Print a list of views.
pub fn list<T: Tabular>(format: Format, rows: &[T]) -> Result<()> {
    match format {
        Format::Json => print(&format!("{}\n", serde_json::to_string_pretty(rows)?)),
        Format::Csv => {
            let values: Vec<serde_json::Value> = rows
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            if values.is_empty() {
                return print(&format!("{}\n", T::headers().join(",")));
            }
            print(&to_csv(&values)?)
        }
        Format::Table => {
            let cells = rows
                .iter()
                .map(|r| r.cells().iter().map(|c| visible(c)).collect())
                .collect();
            print(&table_text(&T::headers(), cells, T::optional()))
        }
    }
}

/// Print one object: JSON as is, CSV as a one-row file, a table as key/value pairs.
pub fn show<T: Serialize>(format: Format, item: &T, pairs: &[(&str, String)]) -> Result<()> {
    match format {
        Format::Json => print(&format!("{}\n", serde_json::to_string_pretty(item)?)),
        Format::Csv => print(&to_csv(&[serde_json::to_value(item)?])?),
        Format::Table => {
            let cells = pairs
                .iter()
                .map(|(k, v)| vec![k.to_string(), visible(v)])
                .collect();
            print(&table_text(&["field", "value"], cells, &[]))
        }
    }
}

/// Print a heading above a table section (table format only).
pub fn heading(format: Format, text: &str) -> Result<()> {
    if format == Format::Table {
        print(&format!("\n{}\n", visible(text)))?;
    }
    Ok(())
}

/// Print free text to stdout.
pub fn text(s: &str) -> Result<()> {
    print(s)
}

/// Optional text for a cell.
pub fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_neutralise_what_they_did_not_write() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "=cmd|' /C calc'!A0",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(csv_safe(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(csv_safe("fs01-nightly"), "fs01-nightly");
        let csv = to_csv(&[serde_json::json!({"job": "=1+1", "n": -3})]).unwrap();
        assert_eq!(csv, "job,n\n'=1+1,-3\n");
        assert_eq!(
            visible("ok\x1b[2J\x1b]0;pwned\x07"),
            "ok\\x1b[2J\\x1b]0;pwned\\x07"
        );
        assert_eq!(visible("two\nlines"), "two\\nlines");
        assert_eq!(visible("plain"), "plain");
    }
}
