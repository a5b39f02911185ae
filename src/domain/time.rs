//! Instants, durations and time zones as the user writes them.
//!
//! Instants are stored as integer Unix seconds (UTC) and shown as RFC 3339;
//! durations are humantime strings (`26h`, `90m`, `2d`) and printed back in
//! the shortest exact unit so that an export re-imports to the same value.

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

/// Parse an RFC 3339 instant; a time without an offset is rejected.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    let dt = DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        anyhow!(
            "'{text}' is not an RFC 3339 time with an offset (e.g. 2026-11-30T08:00:00+01:00): {e}"
        )
    })?;
    Ok(dt.with_timezone(&Utc))
}

/// Parse an instant or a plain date (midnight in `tz`), as used by `--until`
/// and `--since` style options.
pub fn parse_instant_or_date(text: &str, tz: Tz) -> Result<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return local_midnight(date, tz);
    }
    parse_instant(text)
}

/// `[first of month, first of next month)` in `tz`.
pub fn month(year: i32, month: u32, tz: Tz) -> Result<(i64, i64)> {
    let start = NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| anyhow!("no month {year}-{month}"))?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(|| anyhow!("no month after {year}-{month}"))?;
    Ok((
        local_midnight(start, tz)?.timestamp(),
        local_midnight(next, tz)?.timestamp(),
    ))
}

/// A quarter: year and number 1..=4 (`2026-Q4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    pub year: i32,
    pub q: u32,
}

impl Quarter {
    pub fn parse(text: &str) -> Option<Quarter> {
        let (y, q) = text.split_once("-Q")?;
        let (year, q) = (y.parse().ok()?, q.parse().ok()?);
        (1..=4).contains(&q).then_some(Quarter { year, q })
    }

    /// The quarter an instant falls in, in `tz`.
    pub fn containing(secs: i64, tz: Tz) -> Quarter {
        let local = from_unix(secs).with_timezone(&tz);
        Quarter {
            year: local.year(),
            q: (local.month() - 1) / 3 + 1,
        }
    }

    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.q)
    }

    /// The quarter an instant falls in, in `tz`.
    pub fn of(secs: i64, tz: Tz) -> Quarter {
        let d = from_unix(secs).with_timezone(&tz);
        Quarter {
            year: d.year(),
            q: (d.month() - 1) / 3 + 1,
        }
    }

    pub fn next(self) -> Quarter {
        if self.q == 4 {
            Quarter {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        }
    }

    /// `[first day, first day of the next quarter)` at midnight in `tz`.
    pub fn bounds(self, tz: Tz) -> Result<(i64, i64)> {
        let (from, _) = month(self.year, (self.q - 1) * 3 + 1, tz)?;
        let (_, to) = month(self.year, self.q * 3, tz)?;
        Ok((from, to))
    }
}

/// Which way a span given for a time goes from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// `--since 24h`: a day ago.
    Past,
    /// `--until 2d`: two days on.
    Future,
}

/// A time as flags take it: a date (midnight in `tz`), an RFC 3339 time,
/// or a span from `now` (`24h`, `7d`) in the direction `span`.
pub fn parse_when(text: &str, tz: Tz, now: i64, span: Span) -> Result<i64> {
    let t = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(local_midnight(date, tz)?.timestamp());
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp());
    }
    if let Ok(d) = parse_duration(t) {
        return Ok(match span {
            Span::Past => now - d,
            Span::Future => now + d,
        });
    }
    bail!(
        "'{text}' is not a date (2026-12-01), an RFC 3339 time with an offset (2026-12-01T08:00:00+01:00) or a span ({})",
        match span {
            Span::Past => "24h: that long ago",
            Span::Future => "2d: that long from now",
        }
    )
}

/// Midnight of `date` in `tz` (the first instant of that day where midnight
/// falls into a DST gap).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> Result<DateTime<Utc>> {
    let naive = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| anyhow!("bad date {date}"))?;
    for shift in 0..=3 {
        let candidate = naive + chrono::Duration::hours(shift);
        if let Some(dt) = tz.from_local_datetime(&candidate).earliest() {
            return Ok(dt.with_timezone(&Utc));
        }
    }
    bail!("{date} has no midnight in {tz}")
}

/// Parse an IANA time zone name.
pub fn parse_tz(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| anyhow!("'{name}' is not an IANA time zone name (e.g. Europe/Berlin)"))
}

/// The longest duration bmctl takes (an RPO of "1000000000y" is a typo).
pub const MAX_DURATION: i64 = 10 * 366 * 86_400;

/// Parse a humantime duration (`26h`, `90m`, `2d`) into whole seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| anyhow!("'{text}' is not a duration like 26h, 90m or 2d: {e}"))?;
    let secs = i64::try_from(d.as_secs()).map_err(|_| anyhow!("duration '{text}' is too long"))?;
    if secs == 0 {
        bail!("duration '{text}' must be longer than zero");
    }
    if secs > MAX_DURATION {
        bail!("duration '{text}' is longer than 10 years");
    }
    Ok(secs)
}

/// Print seconds in the largest unit that divides them exactly.
pub fn format_duration(secs: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs != 0 && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// Print an age or a time span roughly, for humans (`3d 4h`, `25m`).
pub fn format_age(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// The local day of an instant in `tz`, as days since 1970-01-01 (the key
/// of the daily rollups).
pub fn local_day(secs: i64, tz: Tz) -> i64 {
    let date = from_unix(secs).with_timezone(&tz).date_naive();
    (date - NaiveDate::default()).num_days()
}

/// A local day and the UTC seconds `[from, until)` it covers, so that the
/// next instant of the same day needs no time-zone look-up
/// ([`DaySpan::local_day`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub day: i64,
    from: i64,
    until: i64,
}

impl DaySpan {
    /// The local day of `secs` in `tz` with its span. On a day whose UTC
    /// offset changes (a DST switch) the span is empty: each instant of it
    /// is looked up.
    pub fn of(secs: i64, tz: Tz) -> DaySpan {
        use chrono::Offset;
        let offset = |t: i64| {
            tz.offset_from_utc_datetime(&from_unix(t).naive_utc())
                .fix()
                .local_minus_utc() as i64
        };
        let off = offset(secs);
        let day = (secs + off).div_euclid(86_400);
        let from = day * 86_400 - off;
        let until = from + 86_400;
        if offset(from) == off && offset(until - 1) == off {
            DaySpan { day, from, until }
        } else {
            DaySpan {
                day: local_day(secs, tz),
                from: secs,
                until: secs,
            }
        }
    }

    /// The local day of `secs` in `tz`; outside this span, the span moves
    /// to the day of `secs`.
    pub fn local_day(&mut self, secs: i64, tz: Tz) -> i64 {
        if !(self.from..self.until).contains(&secs) {
            *self = DaySpan::of(secs, tz);
        }
        self.day
    }
}

/// The date of a local day number.
pub fn day_date(day: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(day)
}

pub fn from_unix(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`, the JSON form of every instant.
pub fn rfc3339(secs: i64) -> String {
    from_unix(secs).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The date of an instant in a zone: `2026-11-30`.
pub fn local_date(secs: i64, tz: Tz) -> String {
    from_unix(secs)
        .with_timezone(&tz)
        .format("%Y-%m-%d")
        .to_string()
}

/// An instant shown in a zone, for tables: `2026-11-30 22:00 CET`.
pub fn local_display(secs: i64, tz: Tz) -> String {
    from_unix(secs)
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Text for a person: every RFC 3339 UTC instant in it (`2026-09-08T04:05:54Z`,
/// as bmctl writes them into messages) shown in `tz` like the rest of a table.
pub fn localize_text(text: &str, tz: Tz) -> String {
    const LEN: usize = "2026-09-08T04:05:54Z".len();
    let shape = |w: &[u8]| {
        w.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i + LEN <= bytes.len() {
        let at = &bytes[i..i + LEN];
        let parsed = shape(at)
            .then(|| DateTime::parse_from_rfc3339(&text[i..i + LEN]).ok())
            .flatten();
        match parsed {
            Some(t) => {
                out.push_str(&text[copied..i]);
                out.push_str(&local_display(t.timestamp(), tz));
                i += LEN;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// An instant that serializes as RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub i64);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn localize_text_shows_every_utc_instant_in_the_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let cases = [
            (
                "backup failed at 2026-09-08T04:05:54Z: Fatal",
                "backup failed at 2026-09-08 00:05 EDT: Fatal",
            ),
            (
                "2026-12-04T12:03:16Z and 2026-07-01T00:00:00Z",
                "2026-12-04 07:03 EST and 2026-06-30 20:00 EDT",
            ),
            ("no time here", "no time here"),
            ("2026-13-40T99:00:00Z stays", "2026-13-40T99:00:00Z stays"),
            ("née 2026-12-04T12:03:16Z…", "née 2026-12-04 07:03 EST…"),
        ];
        for (text, want) in cases {
            assert_eq!(localize_text(text, tz), want, "{text}");
        }
    }

    use super::*;

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026-Q1").unwrap();
        assert_eq!(q.previous().label(), "2025-Q4");
        assert!(Quarter::parse("2026-Q5").is_none());
        // 2026-12-31T23:30Z is already 2027-Q1 in Sydney, still 2026-Q4 in UTC
        let t = parse_instant("2026-12-31T23:30:00Z").unwrap().timestamp();
        assert_eq!(Quarter::containing(t, chrono_tz::UTC).label(), "2026-Q4");
        let syd = chrono_tz::Australia::Sydney;
        assert_eq!(Quarter::containing(t, syd).label(), "2027-Q1");
        let (f, t) = Quarter::parse("2026-Q4")
            .unwrap()
            .bounds(chrono_tz::UTC)
            .unwrap();
        assert_eq!(
            (rfc3339(f), rfc3339(t)),
            (
                "2026-10-01T00:00:00Z".to_string(),
                "2027-01-01T00:00:00Z".to_string()
            )
        );
    }

    #[test]
    fn times_as_flags_take_them() {
        let now = parse_instant("2026-12-07T10:00:00Z").unwrap().timestamp();
        let berlin = chrono_tz::Europe::Berlin;
        let at = |t: &str, span| parse_when(t, berlin, now, span).map(rfc3339);
        assert_eq!(
            at("2026-12-01", Span::Past).unwrap(),
            "2026-11-30T23:00:00Z"
        );
        assert_eq!(
            at("2026-12-01T08:00:00+01:00", Span::Past).unwrap(),
            "2026-12-01T07:00:00Z"
        );
        assert_eq!(at("24h", Span::Past).unwrap(), "2026-12-06T10:00:00Z");
        assert_eq!(at("2d", Span::Future).unwrap(), "2026-12-09T10:00:00Z");
        for bad in ["yesterday", "2026-12-01T08:00:00", "-3h"] {
            let e = at(bad, Span::Past).unwrap_err().to_string();
            assert!(e.contains("is not a date (2026-12-01)"), "{bad}: {e}");
        }
    }

    #[test]
    fn instants_need_an_offset() {
        assert!(parse_instant("2026-11-29T22:00:00").is_err());
        assert_eq!(
            parse_instant("2026-11-29T22:00:00+01:00")
                .unwrap()
                .timestamp(),
            parse_instant("2026-11-29T21:00:00Z").unwrap().timestamp()
        );
        assert!(parse_instant("10000-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn durations_round_trip_in_the_shortest_exact_unit() {
        for (text, secs, back) in [
            ("26h", 93_600, "26h"),
            ("2d", 172_800, "2d"),
            ("90m", 5_400, "90m"),
            ("48h", 172_800, "2d"),
            ("45s", 45, "45s"),
        ] {
            assert_eq!(parse_duration(text).unwrap(), secs, "{text}");
            assert_eq!(format_duration(secs), back);
        }
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn day_spans_agree_with_local_day_across_dst_switches() {
        // Lord Howe moves by 30 minutes (2026-04-05, 2026-10-04); Kathmandu is +05:45
        for zone in [
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "America/New_York",
            "UTC",
        ] {
            let tz: Tz = zone.parse().unwrap();
            let start = parse_instant("2026-03-28T00:00:00Z").unwrap().timestamp();
            let mut span = DaySpan::of(start, tz);
            let mut t = start;
            while t < start + 200 * 86_400 {
                let day = span.local_day(t, tz);
                assert_eq!(day, local_day(t, tz), "{zone} at {}", rfc3339(t));
                t += 7 * 60 + 13;
            }
        }
    }

    #[test]
    fn local_days() {
        let tz = parse_tz("Australia/Sydney").unwrap();
        // 2026-11-29T14:00Z is already Nov 30 in Sydney.
        let t = parse_instant("2026-11-29T14:00:00Z").unwrap().timestamp();
        assert_eq!(day_date(local_day(t, tz)).to_string(), "2026-11-30");
        assert_eq!(
            day_date(local_day(t, chrono_tz::UTC)).to_string(),
            "2026-11-29"
        );
    }

    #[test]
    fn midnight_in_a_zone() {
        let tz = parse_tz("Europe/Berlin").unwrap();
        let m = local_midnight(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(), tz).unwrap();
        assert_eq!(m.to_rfc3339(), "2026-06-30T22:00:00+00:00");
        assert!(parse_tz("Mars/Olympus").is_err());
    }
}
