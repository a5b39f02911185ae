//! Tables for a person at a terminal: one rule under the header and none
//! between rows, columns sized to the terminal, only free-text columns
//! shortened (with `…`) or, when that is not enough, left out and named in a
//! footer; colour for what must stand out. Ids, hosts, jobs and PSA numbers —
//! what a technician types next — are never cut.

use console::{measure_text_width, truncate_str, Style};

/// Columns of prose: the only ones shortened or left out to fit.
const FREE_TEXT: [&str; 12] = [
    "title",
    "message",
    "reason",
    "detail",
    "why",
    "note",
    "text",
    "description",
    "evidence",
    "recommendation",
    "summary",
    "value",
];

/// The narrowest a shortened free-text column gets.
const MIN_FREE: usize = 12;

const GAP: &str = "  ";

pub fn is_free_text(header: &str) -> bool {
    FREE_TEXT.contains(&header)
}

/// Lay `rows` out under `headers` in `width` columns; `colour` marks what
/// must stand out; `optional` names columns a person can do without (an
/// absolute time beside its relative one), left out in that order before
/// the free text is.
pub fn render(
    headers: &[&str],
    rows: &[Vec<String>],
    width: usize,
    colour: bool,
    optional: &[&str],
) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| measure_text_width(h)).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(measure_text_width(c));
        }
    }
    let mut shown: Vec<bool> = vec![true; n];
    let total = |widths: &[usize], shown: &[bool]| -> usize {
        let cols: Vec<usize> = (0..n).filter(|&i| shown[i]).map(|i| widths[i]).collect();
        cols.iter().sum::<usize>() + GAP.len() * cols.len().saturating_sub(1)
    };
    // shorten the free-text columns to one cap, the widest first (none below
    // MIN_FREE); then leave out the optional columns, then free text (the
    // last first); then give the free text the largest cap that fits
    let free: Vec<usize> = (0..n).filter(|&i| is_free_text(headers[i])).collect();
    let natural = widths.clone();
    let capped = |cap: usize| -> Vec<usize> {
        let mut w = natural.clone();
        for &i in &free {
            w[i] = natural[i].min(cap.max(MIN_FREE));
        }
        w
    };
    let mut left_out = Vec::new();
    if total(&natural, &shown) > width {
        for name in optional {
            if total(&capped(MIN_FREE), &shown) <= width {
                break;
            }
            if let Some(i) = headers.iter().position(|h| h == name) {
                shown[i] = false;
                left_out.push(i);
            }
        }
        for &i in free.iter().rev() {
            if total(&capped(MIN_FREE), &shown) <= width {
                break;
            }
            shown[i] = false;
            left_out.push(i);
        }
        let (mut lo, mut hi) = (
            MIN_FREE,
            free.iter()
                .map(|&i| natural[i])
                .max()
                .unwrap_or(0)
                .max(MIN_FREE),
        );
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if total(&capped(mid), &shown) <= width {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        widths = capped(lo);
    }
    // named in the table's order
    left_out.sort_unstable();
    let left_out: Vec<&str> = left_out.iter().map(|&i| headers[i]).collect();
    let cols: Vec<usize> = (0..n).filter(|&i| shown[i]).collect();
    let mut out = String::new();
    let bold = st().bold();
    let line = |cells: Vec<String>| -> String {
        let mut l = String::new();
        for (k, cell) in cells.into_iter().enumerate() {
            if k > 0 {
                l.push_str(GAP);
            }
            l.push_str(&cell);
        }
        l.trim_end().to_string()
    };
    let head: Vec<String> = cols
        .iter()
        .map(|&i| {
            let text = pad(headers[i], widths[i]);
            if colour {
                bold.apply_to(text).to_string()
            } else {
                text
            }
        })
        .collect();
    out.push_str(&line(head));
    out.push('\n');
    let rule_width = total(&widths, &shown);
    out.push_str(&"─".repeat(rule_width));
    out.push('\n');
    for r in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|&i| {
                let text = r.get(i).map(String::as_str).unwrap_or("");
                let fitted = pad(&truncate_str(text, widths[i], "…"), widths[i]);
                match style_of(headers[i], text).filter(|_| colour) {
                    Some(s) => s.apply_to(fitted).to_string(),
                    None => fitted,
                }
            })
            .collect();
        out.push_str(&line(cells));
        out.push('\n');
    }
    if !left_out.is_empty() {
        out.push_str(&format!(
            "({} left out to fit {width} columns; --format json shows {})\n",
            left_out.join(", "),
            if left_out.len() == 1 { "it" } else { "them" }
        ));
    }
    out
}

/// A style that applies whatever console guesses: the caller decided.
fn st() -> Style {
    Style::new().force_styling(true)
}

fn pad(text: &str, width: usize) -> String {
    let w = measure_text_width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(w)))
}

/// What stands out: overdue and breached work, P1, high risk, failures.
fn style_of(header: &str, text: &str) -> Option<Style> {
    let red = st().red();
    let t = text.trim();
    if t.contains("OVERDUE") || t.contains("BREACHED") || t.starts_with("overdue") {
        return Some(red.bold());
    }
    if t.contains("DUE TODAY") || t.starts_with("due today") || t == "due now" {
        return Some(st().yellow());
    }
    match (header, t) {
        ("priority" | "prio", "P1" | "1") => Some(red.bold()),
        ("risk" | "severity", "high") => Some(red.bold()),
        ("risk" | "severity", "medium") => Some(st().yellow()),
        ("status" | "outcome", "failed" | "missed" | "hung") => Some(red),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec![
                "418".into(),
                "acme/fs01-nightly".into(),
                "OVERDUE".into(),
                "Verify the offsite copy of the finance share after the migration".into(),
            ],
            vec![
                "CW-88123".into(),
                "globex/gx-sql01-6h".into(),
                "".into(),
                "short".into(),
            ],
        ]
    }

    const HEADERS: [&str; 4] = ["id", "job", "flag", "title"];

    #[test]
    fn fits_by_shortening_free_text_only() {
        let t = render(&HEADERS, &rows(), 60, false, &[]);
        for l in t.lines() {
            assert!(measure_text_width(l) <= 60, "{l}");
        }
        assert!(
            t.contains("CW-88123") && t.contains("globex/gx-sql01-6h"),
            "{t}"
        );
        assert!(t.contains("Verify the offsite") && t.contains('…'), "{t}");
        assert_eq!(t.lines().filter(|l| l.starts_with('─')).count(), 1, "{t}");
    }

    #[test]
    fn leaves_free_text_out_and_says_so_when_shortening_is_not_enough() {
        let t = render(&HEADERS, &rows(), 40, false, &[]);
        assert!(!t.contains("Verify"), "{t}");
        assert!(t.contains("(title left out to fit 40 columns"), "{t}");
        assert!(t.contains("acme/fs01-nightly"), "{t}");
    }

    #[test]
    fn wide_enough_is_untouched_and_colour_marks_what_stands_out() {
        let t = render(&HEADERS, &rows(), 200, false, &[]);
        assert!(t.contains("after the migration") && !t.contains('…'), "{t}");
        let c = render(&HEADERS, &rows(), 200, true, &[]);
        assert!(c.contains("\u{1b}["), "{c:?}");
        assert!(!t.contains('\u{1b}'));
    }

    #[test]
    fn optional_columns_go_before_free_text_does() {
        // id 8, job 18, flag 7, title 12 at least, three gaps: 51 with flag
        let t = render(&HEADERS, &rows(), 48, false, &["flag"]);
        assert!(t.contains("(flag left out to fit 48 columns"), "{t}");
        assert!(t.contains("Verify the o") && !t.contains("OVERDUE"), "{t}");
        // wide enough: nothing optional goes
        let t = render(&HEADERS, &rows(), 60, false, &["flag"]);
        assert!(t.contains("OVERDUE") && !t.contains("left out"), "{t}");
    }
}
