//! Months (`YYYY-MM`): a meeting belongs to the month of its start in the
//! company's time zone (SPEC §4), and months are what gets closed.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    /// The month an instant falls in, in zone `tz`.
    pub fn of(instant: DateTime<Utc>, tz: Tz) -> Period {
        let local = instant.with_timezone(&tz);
        Period {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month")
    }

    /// The instant the month begins in `tz`.
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.first_day(), tz)
    }

    /// The instant the next month begins in `tz` (exclusive end).
    pub fn end(self, tz: Tz) -> DateTime<Utc> {
        self.next().start(tz)
    }
}

/// Midnight of `date` in `tz` as a UTC instant. Where a DST change skips
/// midnight, the first valid instant after it.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        chrono::LocalResult::None => tz
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a month in the form YYYY-MM");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_past_midnight_moscow_on_the_first_belongs_to_that_month() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        // 2026-10-31T21:30Z is 2026-11-01 00:30 in Moscow.
        let t = "2026-10-31T21:30:00Z".parse().unwrap();
        assert_eq!(Period::of(t, tz).to_string(), "2026-11");
        assert_eq!(Period::of(t, chrono_tz::UTC).to_string(), "2026-10");
    }

    #[test]
    fn parses_and_steps_over_the_year_end() {
        let p: Period = "2026-12".parse().unwrap();
        assert_eq!(p.next().to_string(), "2027-01");
        assert!("2026-13".parse::<Period>().is_err());
        assert!("26-01".parse::<Period>().is_err());
    }

    #[test]
    fn month_bounds_are_local_midnights() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let p: Period = "2026-11".parse().unwrap();
        assert_eq!(p.start(tz).to_rfc3339(), "2026-10-31T21:00:00+00:00");
        assert_eq!(p.end(tz).to_rfc3339(), "2026-11-30T21:00:00+00:00");
    }
}
