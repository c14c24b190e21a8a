//! When jobs run, pure: cron schedules (six or seven fields, seconds first)
//! read as wall-clock times in the company's zone, turned into instants
//! with the DST cases decided here rather than left to the cron crate.
//!
//! The cron crate evaluated in a zone with DST skips a time that falls in
//! the spring gap and fires twice for a time in the autumn fold. We iterate
//! the schedule over naive wall-clock time instead and map each wall time
//! ourselves:
//! - in the spring gap: the instant the gap ends (02:30 → 03:00), so a daily
//!   job still runs that day;
//! - in the autumn fold: both instants (a 15-minute sync keeps its pace
//!   through the repeated hour);
//! - jobs that run once per local day (the nightly email) then keep only
//!   the first instant of each local date, so the fold never doubles them.
//!
//! No I/O and no clock: callers pass "after" and "until".

use std::str::FromStr;

use anyhow::{anyhow, Result};
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How far back a missed run is looked for at start-up: a machine off for
/// longer runs the job once anyway, for the latest slot.
pub const MISSED_LOOKBACK_DAYS: i64 = 7;

/// A job's schedule in the company's zone.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    pub expression: String,
    cron: cron::Schedule,
    pub tz: Tz,
    /// At most one run per local date (the nightly email).
    pub once_per_day: bool,
}

impl JobSchedule {
    pub fn new(expression: &str, tz: Tz, once_per_day: bool) -> Result<JobSchedule> {
        Ok(JobSchedule {
            expression: expression.to_string(),
            cron: parse(expression)?,
            tz,
            once_per_day,
        })
    }

    /// Every fire instant in (after, until], sorted, deduplicated, and for a
    /// once-per-day job the first of each local date other than `done_day`
    /// (the local date of the last run).
    pub fn fires_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        done_day: Option<NaiveDate>,
    ) -> Vec<DateTime<Utc>> {
        if until <= after {
            return vec![];
        }
        // The wall times of instants in (after, until] lie between the
        // bounds shifted by the zone's offsets near both ends (offsets
        // sampled 3 hours in, which covers any DST shift there is).
        let offsets: Vec<i64> = [
            after,
            after + Duration::hours(3),
            until - Duration::hours(3),
            until,
        ]
        .iter()
        .map(|t| self.offset_seconds(*t))
        .collect();
        let (low, high) = (
            offsets.iter().copied().min().unwrap_or(0),
            offsets.iter().copied().max().unwrap_or(0),
        );
        let start = after.naive_utc() + Duration::seconds(low - 1);
        let stop = until.naive_utc() + Duration::seconds(high);
        let mut instants = Vec::new();
        for wall in self.cron.after(&Utc.from_utc_datetime(&start)) {
            let wall = wall.naive_utc();
            if wall > stop {
                break;
            }
            match self.tz.from_local_datetime(&wall) {
                LocalResult::Single(t) => instants.push(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(a, b) => {
                    instants.push(a.with_timezone(&Utc));
                    instants.push(b.with_timezone(&Utc));
                }
                LocalResult::None => instants.extend(self.gap_end(wall)),
            }
        }
        instants.retain(|t| *t > after && *t <= until);
        instants.sort();
        instants.dedup();
        if self.once_per_day {
            let mut seen = done_day;
            instants.retain(|t| {
                let day = self.day_of(*t);
                if seen == Some(day) {
                    false
                } else {
                    seen = Some(day);
                    true
                }
            });
        }
        instants
    }

    /// The first fire instant after `after` (within about a year).
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        done_day: Option<NaiveDate>,
    ) -> Option<DateTime<Utc>> {
        // Growing windows keep a frequent schedule cheap (the walk visits
        // every slot in the window) and still find a yearly one.
        for minutes in [2, 60, 24 * 60, 8 * 24 * 60, 40 * 24 * 60, 400 * 24 * 60] {
            let until = after + Duration::minutes(minutes);
            if let Some(first) = self.fires_between(after, until, done_day).first() {
                return Some(*first);
            }
        }
        None
    }

    /// The latest slot in (last, now] that has passed without a run, looked
    /// for at most [`MISSED_LOOKBACK_DAYS`] back: the run to make at start-up.
    pub fn missed(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = last.max(now - Duration::days(MISSED_LOOKBACK_DAYS));
        let done_day = (from == last).then(|| self.day_of(last));
        self.fires_between(from, now, done_day).last().copied()
    }

    /// The local date an instant belongs to.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The local date of the slot before `t` (a once-per-day job's previous
    /// run day, e.g. Friday for a Monday email on a Mon–Fri schedule),
    /// looked for at most `max_days` back.
    pub fn previous_day(&self, t: DateTime<Utc>, max_days: i64) -> Option<NaiveDate> {
        let today = self.day_of(t);
        let start_of_today = self.start_of(today);
        self.fires_between(
            start_of_today - Duration::days(max_days),
            start_of_today,
            None,
        )
        .last()
        .map(|t| self.day_of(*t))
    }

    /// Midnight (or the first valid instant) of a local date.
    pub fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.tz.from_local_datetime(&midnight) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => self
                .gap_end(midnight)
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
        }
    }

    fn offset_seconds(&self, t: DateTime<Utc>) -> i64 {
        let local = t.with_timezone(&self.tz).naive_local();
        (local - t.naive_utc()).num_seconds()
    }

    /// The first valid instant after a wall time that does not exist.
    fn gap_end(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        // Gaps are at most a few hours in every zone tzdata knows.
        (1..=6 * 60).find_map(|minutes| {
            self.tz
                .from_local_datetime(&(wall + Duration::minutes(minutes)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    }
}

/// Parses a cron expression with a message that says what is expected.
pub fn parse(expression: &str) -> Result<cron::Schedule> {
    cron::Schedule::from_str(expression).map_err(|e| {
        anyhow!(
            "`{expression}` is not a cron schedule ({e}); six or seven fields with seconds first, e.g. \"0 */15 * * * *\" or \"0 0 7 * * Mon-Fri\""
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn berlin(expression: &str, once_per_day: bool) -> JobSchedule {
        JobSchedule::new(expression, chrono_tz::Europe::Berlin, once_per_day).unwrap()
    }

    fn local(s: &JobSchedule, t: &[DateTime<Utc>]) -> Vec<String> {
        t.iter()
            .map(|t| {
                t.with_timezone(&s.tz)
                    .format("%Y-%m-%d %H:%M%:z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_daily_job_in_the_spring_gap_runs_once_when_the_gap_ends() {
        // 2026-03-29: Berlin jumps from 02:00 to 03:00; 02:30 does not exist.
        let s = berlin("0 30 2 * * *", true);
        let fires = s.fires_between(at("2026-03-28T00:00:00Z"), at("2026-03-31T00:00:00Z"), None);
        assert_eq!(
            local(&s, &fires),
            [
                "2026-03-28 02:30+01:00",
                "2026-03-29 03:00+02:00",
                "2026-03-30 02:30+02:00"
            ]
        );
    }

    #[test]
    fn a_daily_job_in_the_autumn_fold_runs_once() {
        // 2026-10-25: Berlin goes back from 03:00 to 02:00; 02:30 happens twice.
        let s = berlin("0 30 2 * * *", true);
        let fires = s.fires_between(at("2026-10-24T00:00:00Z"), at("2026-10-27T00:00:00Z"), None);
        assert_eq!(
            local(&s, &fires),
            [
                "2026-10-24 02:30+02:00",
                "2026-10-25 02:30+02:00",
                "2026-10-26 02:30+01:00"
            ]
        );
    }

    #[test]
    fn the_fold_is_also_deduplicated_against_the_run_already_made() {
        let s = berlin("0 30 2 * * *", true);
        let first = at("2026-10-25T00:30:00Z"); // 02:30 CEST
        assert_eq!(s.day_of(first).to_string(), "2026-10-25");
        let next = s.next_after(first, Some(s.day_of(first))).unwrap();
        assert_eq!(local(&s, &[next]), ["2026-10-26 02:30+01:00"]);
    }

    #[test]
    fn a_frequent_job_keeps_its_pace_through_both_dst_changes() {
        let s = berlin("0 */15 * * * *", false);
        // Spring: 01:45 CET, then 03:00 CEST (the gap's four slots are one).
        let spring = s.fires_between(at("2026-03-29T00:40:00Z"), at("2026-03-29T01:20:00Z"), None);
        assert_eq!(
            local(&s, &spring),
            [
                "2026-03-29 01:45+01:00",
                "2026-03-29 03:00+02:00",
                "2026-03-29 03:15+02:00"
            ]
        );
        // Autumn: the repeated hour has its four slots twice.
        let autumn = s.fires_between(at("2026-10-24T23:50:00Z"), at("2026-10-25T02:00:00Z"), None);
        assert_eq!(autumn.len(), 8 + 1);
        assert!(autumn
            .windows(2)
            .all(|w| w[1] - w[0] == Duration::minutes(15)));
    }

    #[test]
    fn weekdays_only_schedules_skip_the_weekend() {
        let s = JobSchedule::new("0 0 7 * * Mon-Fri", chrono_tz::Europe::Moscow, true).unwrap();
        // Friday 2026-11-27 08:00 Moscow → next is Monday 07:00.
        let next = s.next_after(at("2026-11-27T05:00:00Z"), None).unwrap();
        assert_eq!(local(&s, &[next]), ["2026-11-30 07:00+03:00"]);
        // Monday's previous email day is Friday.
        assert_eq!(s.previous_day(next, 7).unwrap().to_string(), "2026-11-27");
    }

    #[test]
    fn a_missed_run_is_the_latest_slot_since_the_last_one() {
        let s = JobSchedule::new("0 0 7 * * Mon-Fri", chrono_tz::Europe::Moscow, true).unwrap();
        // Last ran Tuesday 07:00; machine back on Thursday 12:00.
        let last = at("2026-11-24T04:00:00Z");
        let missed = s.missed(last, at("2026-11-26T09:00:00Z")).unwrap();
        assert_eq!(local(&s, &[missed]), ["2026-11-26 07:00+03:00"]);
        // Nothing is missed when the last run was the latest slot.
        assert_eq!(s.missed(missed, at("2026-11-26T20:00:00Z")), None);
        // A long outage still yields one run, for the latest slot.
        let after_vacation = s.missed(at("2026-10-01T04:00:00Z"), at("2026-11-26T09:00:00Z"));
        assert_eq!(after_vacation, Some(missed));
    }

    #[test]
    fn five_field_expressions_are_rejected_with_an_example() {
        let err = JobSchedule::new("*/15 * * * *", chrono_tz::UTC, false).unwrap_err();
        assert!(err.to_string().contains("seconds first"), "{err}");
    }
}
