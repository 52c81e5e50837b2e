//! Instants as seconds since the Unix epoch (UTC), and the few text forms we read and write.
//!
//! The hot paths (the store's `2017-10-31T22:10:47Z` and TWCS's `Tue Oct 31 22:10:47 +0000 2017`)
//! are parsed by hand because they run millions of times per import; every other form goes
//! through jiff, which also checks the hand-written paths in the tests.

use jiff::{Timestamp, civil, tz::TimeZone};

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// The years (UTC) a post's time and an as-of instant must fall in. Anything outside is a unit
/// mistake (milliseconds read as seconds), a corrupted byte or a hostile row: imports reject it
/// with its file:line, the store's readers skip it, `--as-of` refuses it.
pub const YEARS: std::ops::RangeInclusive<i64> = 1990..=2100;

/// Checks that an instant falls within [`YEARS`].
pub fn check_year(t: i64) -> Result<(), String> {
    let (y, _, _) = civil_from_days(t.div_euclid(DAY));
    if YEARS.contains(&y) {
        Ok(())
    } else {
        Err(format!(
            "{} is outside the years {}..={} that replyrank accepts (a wrong unit or a damaged date?)",
            format_rfc3339(t),
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// Parses an as-of instant: RFC 3339, or a date meaning its last second (UTC). It must fall
/// within [`YEARS`]. Errors do not name the option; the caller does.
pub fn parse_as_of(s: &str) -> Result<i64, String> {
    let t = match parse_rfc3339(s) {
        Ok(t) => t,
        Err(_) => {
            let date: civil::Date = s.trim().parse().map_err(|_| {
                format!(
                    "{s:?} is not an RFC 3339 instant (2017-12-01T00:00:00Z) or a date (2017-12-01)"
                )
            })?;
            let days = days_from_civil(
                i64::from(date.year()),
                i64::from(date.month()),
                i64::from(date.day()),
            );
            days * DAY + DAY - 1
        }
    };
    check_year(t)?;
    Ok(t)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (valid for any year jiff accepts).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Checks a calendar date and time and turns it into epoch seconds.
fn instant(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    civil::Date::new(i16::try_from(y).ok()?, mo as i8, d as i8).ok()?;
    if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..60).contains(&s) {
        return None;
    }
    Some(days_from_civil(y, mo, d) * DAY + h * HOUR + mi * 60 + s)
}

/// A run of ASCII digits as a number; `None` for anything else, or a number too large for i64.
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0i64, |n, &c| {
        n.checked_mul(10)?.checked_add(i64::from(c - b'0'))
    })
}

/// Parses an RFC 3339 instant. The store's own form (`YYYY-MM-DDTHH:MM:SSZ`) is read directly;
/// anything else (offsets, fractions) through jiff.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let f = |r: std::ops::Range<usize>| digits(&b[r]);
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) =
            (f(0..4), f(5..7), f(8..10), f(11..13), f(14..16), f(17..19))
            && let Some(t) = instant(y, mo, d, h, mi, sec)
        {
            return Ok(t);
        }
    }
    s.parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant like 2017-10-31T22:10:47Z ({e})"))
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes an instant as `YYYY-MM-DDTHH:MM:SSZ` (years 0–9999; others through jiff).
pub fn format_rfc3339(t: i64) -> String {
    let mut buf = [0u8; 20];
    match write_rfc3339(t, &mut buf) {
        Some(s) => s.to_string(),
        None => match Timestamp::from_second(t) {
            Ok(ts) => ts.to_string(),
            Err(_) => format!("@{t}"),
        },
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` into a buffer, without allocating; `None` outside years 0–9999.
pub fn write_rfc3339(t: i64, buf: &mut [u8; 20]) -> Option<&str> {
    let (y, mo, d) = civil_from_days(t.div_euclid(DAY));
    if !(0..=9999).contains(&y) {
        return None;
    }
    let s = t.rem_euclid(DAY);
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, mo, 2);
    put(8, d, 2);
    put(11, s / HOUR, 2);
    put(14, s % HOUR / 60, 2);
    put(17, s % 60, 2);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        buf[at] = c;
    }
    std::str::from_utf8(buf).ok()
}

/// The calendar month (UTC) of an instant as a number that orders like the months do.
pub fn month_index(t: i64) -> i64 {
    let (y, m, _) = civil_from_days(t.div_euclid(DAY));
    y * 12 + m - 1
}

/// The first second (UTC) of the calendar month of an instant.
pub fn month_start(t: i64) -> i64 {
    let (y, m, _) = civil_from_days(t.div_euclid(DAY));
    days_from_civil(y, m, 1) * DAY
}

/// The calendar month (UTC) of an instant, `YYYY-MM`.
pub fn month_of(t: i64) -> String {
    month_label(year_month(t))
}

/// `YYYY-MM` of a (year, month).
pub fn month_label((y, m): (i64, i64)) -> String {
    format!("{y:04}-{m:02}")
}

/// The calendar month (UTC) of an instant as (year, month): ordered as [`month_of`]'s strings,
/// without building one.
pub fn year_month(t: i64) -> (i64, i64) {
    let (y, m, _) = civil_from_days(t.div_euclid(DAY));
    (y, m)
}

/// Serde adapter: an instant (Unix seconds) written as an RFC 3339 string, as in every file
/// replyrank publishes (`#[serde(with = "crate::time::rfc3339")]`).
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses Twitter's classic `created_at`: `Tue Oct 31 22:10:47 +0000 2017`.
pub fn parse_twitter_date(s: &str) -> Result<i64, String> {
    let err = || format!("{s:?} is not a Twitter date like \"Tue Oct 31 22:10:47 +0000 2017\"");
    let mut parts = s.split_ascii_whitespace();
    let (Some(_dow), Some(mon), Some(day), Some(hms), Some(off), Some(year), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(err());
    };
    let mo = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(mon.as_bytes()))
        .ok_or_else(err)? as i64
        + 1;
    let hms = hms.as_bytes();
    if hms.len() != 8 || hms[2] != b':' || hms[5] != b':' {
        return Err(err());
    }
    let (h, mi, sec) = (
        digits(&hms[0..2]).ok_or_else(err)?,
        digits(&hms[3..5]).ok_or_else(err)?,
        digits(&hms[6..8]).ok_or_else(err)?,
    );
    let off = off.as_bytes();
    if off.len() != 5 || !(off[0] == b'+' || off[0] == b'-') {
        return Err(err());
    }
    let off_s =
        (digits(&off[1..3]).ok_or_else(err)? * 60 + digits(&off[3..5]).ok_or_else(err)?) * 60;
    let off_s = if off[0] == b'-' { -off_s } else { off_s };
    let local = instant(
        digits(year.as_bytes()).ok_or_else(err)?,
        mo,
        digits(day.as_bytes()).ok_or_else(err)?,
        h,
        mi,
        sec,
    )
    .ok_or_else(err)?;
    Ok(local - off_s)
}

/// How `pairs` timestamps are read: a strftime format (or RFC 3339 / ISO 8601 when none) and
/// the time zone of timestamps that carry no offset.
pub struct TimeReader {
    format: Option<String>,
    tz: TimeZone,
}

impl TimeReader {
    pub fn new(format: Option<String>, tz: &str) -> Result<TimeReader, String> {
        let tz = TimeZone::get(tz).map_err(|e| {
            format!("unknown time zone {tz:?} ({e}); use an IANA name such as UTC or Europe/Paris")
        })?;
        Ok(TimeReader { format, tz })
    }

    pub fn parse(&self, s: &str) -> Result<i64, String> {
        let s = s.trim();
        match &self.format {
            Some(fmt) => {
                let tm = jiff::fmt::strtime::parse(fmt, s)
                    .map_err(|e| format!("{s:?} does not match --time-format {fmt:?} ({e})"))?;
                if let Ok(ts) = tm.to_timestamp() {
                    return Ok(ts.as_second());
                }
                let dt = tm
                    .to_datetime()
                    .map_err(|e| format!("{s:?}: incomplete date and time ({e})"))?;
                self.local(dt, s)
            }
            None => {
                if let Ok(t) = s.parse::<Timestamp>() {
                    return Ok(t.as_second());
                }
                if let Ok(dt) = s.parse::<civil::DateTime>() {
                    return self.local(dt, s);
                }
                if let Ok(n) = s.parse::<i64>() {
                    return Ok(n);
                }
                Err(format!(
                    "{s:?} is not an ISO 8601 date-time (2017-10-31T22:10:47Z, 2017-10-31 22:10:47) \
                     or Unix seconds; pass --time-format for other forms"
                ))
            }
        }
    }

    fn local(&self, dt: civil::DateTime, s: &str) -> Result<i64, String> {
        self.tz
            .to_timestamp(dt)
            .map(|t| t.as_second())
            .map_err(|e| format!("{s:?}: cannot place in the time zone ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_number_is_an_error_not_an_overflow() {
        // Found by the fuzz harness: a year of 23 digits overflowed i64 and panicked.
        assert!(parse_twitter_date("Tue Oct 31 22:10:47 +0000 20179223372036854775807").is_err());
        assert_eq!(digits(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(digits(b"9223372036854775808"), None);
    }

    #[test]
    fn twitter_dates_agree_with_jiff() {
        let t = parse_twitter_date("Tue Oct 31 22:10:47 +0000 2017").unwrap();
        assert_eq!(
            t,
            "2017-10-31T22:10:47Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
        assert_eq!(
            parse_twitter_date("Sat Aug 13 01:02:03 +0200 2011").unwrap(),
            "2011-08-12T23:02:03Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
        assert!(parse_twitter_date("Tue Feb 30 22:10:47 +0000 2017").is_err());
        assert!(parse_twitter_date("2017-10-31").is_err());
    }

    #[test]
    fn hand_parser_matches_jiff_over_centuries() {
        let mut t = -5_000_000_000i64;
        while t < 8_000_000_000 {
            let s = format_rfc3339(t);
            let ts = Timestamp::from_second(t).unwrap();
            assert_eq!(s, ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
            assert_eq!(month_of(t), ts.strftime("%Y-%m").to_string());
            assert_eq!(parse_rfc3339(&s).unwrap(), t, "{s}");
            t += 7_919_993;
        }
        assert_eq!(
            parse_rfc3339("2017-10-31T23:10:47+01:00").unwrap(),
            1_509_487_847
        );
        assert!(parse_rfc3339("2017-13-31T23:10:47Z").is_err());
    }

    #[test]
    fn time_reader_uses_zone_for_naive_times() {
        let r = TimeReader::new(None, "Europe/Paris").unwrap();
        assert_eq!(
            r.parse("2017-10-31 23:10:47").unwrap(),
            parse_rfc3339("2017-10-31T22:10:47Z").unwrap()
        );
        assert_eq!(r.parse("2017-10-31T22:10:47Z").unwrap(), 1_509_487_847);
        let r = TimeReader::new(Some("%d/%m/%Y %H:%M".into()), "UTC").unwrap();
        assert_eq!(r.parse("31/10/2017 22:10").unwrap(), 1_509_487_800);
        assert!(TimeReader::new(None, "Mars/Olympus").is_err());
    }
}
