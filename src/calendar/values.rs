//! Typed reading of property values: DATE, DATE-TIME (floating, UTC or with
//! a TZID), PERIOD, DURATION and UTC-OFFSET. Lenient where real files are
//! wrong in harmless ways (a DATE with a trailing `Z`, a TZID on a DATE,
//! seconds missing); strict where guessing could move a meeting (an
//! impossible date such as 20171032 is an error).

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::lexer::ContentLine;

/// A date or date-time exactly as written, before any zone is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum RawTime {
    Date(NaiveDate),
    /// No zone: "floating", read in the company's zone.
    Floating(NaiveDateTime),
    /// Ends in `Z`.
    Utc(NaiveDateTime),
    /// Local time in the zone named by the TZID parameter (as written).
    Zoned(NaiveDateTime, String),
}

impl RawTime {
    #[cfg(test)]
    pub fn is_date(&self) -> bool {
        matches!(self, RawTime::Date(_))
    }
}

/// An RDATE entry: a single start or a PERIOD with its own end.
#[derive(Debug, Clone, PartialEq)]
pub enum RawRDate {
    At(RawTime),
    Period(RawTime, PeriodEnd),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PeriodEnd {
    End(RawTime),
    Duration(Duration),
}

/// Reads a DTSTART-like property holding one value.
pub fn read_time(prop: &ContentLine) -> Result<RawTime, String> {
    let tzid = prop.param("TZID");
    let value_type = prop.param("VALUE");
    parse_time(prop.value.trim(), tzid, value_type)
}

/// Reads an EXDATE-like property holding a comma-separated list.
pub fn read_time_list(prop: &ContentLine) -> Result<Vec<RawTime>, String> {
    let tzid = prop.param("TZID");
    let value_type = prop.param("VALUE");
    prop.value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| parse_time(v, tzid, value_type))
        .collect()
}

/// Reads an RDATE property: dates, date-times or periods.
pub fn read_rdate_list(prop: &ContentLine) -> Result<Vec<RawRDate>, String> {
    let tzid = prop.param("TZID");
    let value_type = prop.param("VALUE");
    let mut out = Vec::new();
    for item in prop
        .value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        if let Some((start, end)) = item.split_once('/') {
            let start = parse_time(start, tzid, None)?;
            let end = if end.starts_with(['P', '+', '-']) {
                PeriodEnd::Duration(
                    parse_duration(end).ok_or_else(|| format!("bad PERIOD duration {end:?}"))?,
                )
            } else {
                PeriodEnd::End(parse_time(end, tzid, None)?)
            };
            out.push(RawRDate::Period(start, end));
        } else {
            let v = if value_type.is_some_and(|t| t.eq_ignore_ascii_case("PERIOD")) {
                None
            } else {
                value_type
            };
            out.push(RawRDate::At(parse_time(item, tzid, v)?));
        }
    }
    Ok(out)
}

/// Parses `YYYYMMDD`, `YYYYMMDDTHHMMSS[Z]` (also without seconds, or with a
/// fractional part). A TZID on a DATE is ignored (dates have no zone); a
/// DATE with a trailing `Z` is read as the date.
pub fn parse_time(
    text: &str,
    tzid: Option<&str>,
    value_type: Option<&str>,
) -> Result<RawTime, String> {
    let text = text.trim();
    let (body, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(body) => (body, true),
        None => (text, false),
    };
    let (date_part, time_part) = match body.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date = parse_date(date_part).ok_or_else(|| format!("invalid date {text:?}"))?;
    let wants_date = value_type.is_some_and(|t| t.eq_ignore_ascii_case("DATE"));
    let Some(time_part) = time_part else {
        return Ok(RawTime::Date(date));
    };
    if wants_date && time_part.trim_start_matches('0').is_empty() {
        // `VALUE=DATE` with a midnight time: the author meant a date.
        return Ok(RawTime::Date(date));
    }
    let time = parse_clock(time_part).ok_or_else(|| format!("invalid time {text:?}"))?;
    let local = date.and_time(time);
    Ok(match (utc, tzid.map(str::trim).filter(|t| !t.is_empty())) {
        (true, _) => RawTime::Utc(local),
        (false, Some(tzid)) => RawTime::Zoned(local, tzid.to_string()),
        (false, None) => RawTime::Floating(local),
    })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        let year = text[..4].parse().ok()?;
        let month = text[4..6].parse().ok()?;
        let day = text[6..].parse().ok()?;
        return NaiveDate::from_ymd_opt(year, month, day);
    }
    // Extended form 2024-01-31, seen in hand-written files.
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn parse_clock(text: &str) -> Option<NaiveTime> {
    let text = text.split(['.', ',']).next()?.replace(':', "");
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m, s) = match text.len() {
        6 => (&text[..2], &text[2..4], &text[4..6]),
        4 => (&text[..2], &text[2..4], "00"),
        _ => return None,
    };
    let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    // A leap second (60) is read as :59.
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

/// RFC 5545 DURATION: `[+|-]P[nW][nD][T[nH][nM][nS]]`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim().to_ascii_uppercase();
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, &text[..]),
    };
    let rest = rest.strip_prefix('P')?;
    let mut seconds: i64 = 0;
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for ch in rest.chars() {
        match ch {
            '0'..='9' => number.push(ch),
            'T' => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                let unit = match (ch, in_time) {
                    ('W', _) => 7 * 86_400,
                    ('D', _) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                seconds = seconds.checked_add(n.checked_mul(unit)?)?;
            }
            _ => return None,
        }
    }
    if !any || !number.is_empty() {
        return None;
    }
    Duration::try_seconds(sign * seconds)
}

/// UTC-OFFSET `+hhmm[ss]` / `-hhmm` → seconds east of UTC (`-0000` is 0).
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => (1, text),
    };
    let digits = digits.replace(':', "");
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    let s: i32 = if digits.len() == 6 {
        digits[4..].parse().ok()?
    } else {
        0
    };
    Some(sign * (h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn times_in_every_form() {
        assert_eq!(
            parse_time("20140409T093000", None, None),
            Ok(RawTime::Floating(dt("2014-04-09 09:30:00")))
        );
        assert_eq!(
            parse_time("20140409T093000Z", Some("Europe/Berlin"), None),
            Ok(RawTime::Utc(dt("2014-04-09 09:30:00")))
        );
        assert_eq!(
            parse_time("20140409T0930", Some("Europe/Berlin"), None),
            Ok(RawTime::Zoned(
                dt("2014-04-09 09:30:00"),
                "Europe/Berlin".into()
            ))
        );
        assert_eq!(
            parse_time("20131210Z", None, None),
            Ok(RawTime::Date(
                NaiveDate::from_ymd_opt(2013, 12, 10).unwrap()
            ))
        );
        assert_eq!(
            parse_time("19410512", Some("America/Los_Angeles"), Some("DATE")).map(|t| t.is_date()),
            Ok(true)
        );
        assert!(parse_time("20171032T000000", None, None).is_err());
        assert!(parse_time("2300", None, None).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H15M5S"), Some(Duration::seconds(4505)));
        assert_eq!(parse_duration("-PT30M"), Some(Duration::minutes(-30)));
        assert_eq!(parse_duration("P1W"), Some(Duration::days(7)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P1H"), None);
        assert_eq!(parse_duration("P99999999999999999999D"), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+0300"), Some(10_800));
        assert_eq!(parse_utc_offset("-0000"), Some(0));
        assert_eq!(parse_utc_offset("-053000"), Some(-19_800));
        assert_eq!(parse_utc_offset("+5328"), Some(53 * 3600 + 28 * 60));
        assert_eq!(parse_utc_offset("abc"), None);
    }
}
