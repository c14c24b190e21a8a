//! Expansion of one series (a master VEVENT) into instances inside the
//! window: RRULE through the `rrule` crate, RDATE, EXDATE, and the caps that
//! keep absurd rules from hanging. Owns nothing about overrides (`mod`
//! merges those) or about zones beyond asking `Zone` to convert.
//!
//! Rules are expanded in local wall-clock time (RFC 5545 defines them so):
//! we hand the `rrule` crate the local DTSTART dressed as UTC, then convert
//! each result with the event's zone. This works the same for IANA zones,
//! custom VTIMEZONEs (which `rrule` cannot take) and floating times, and
//! keeps "09:00 every Monday" at 09:00 across DST changes.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use rrule::{RRule, Unvalidated};

use super::event::{midnight_utc, EventData, RDate, Time};
use super::timezone::ZoneRef;
use super::values::{parse_time, RawTime};
use super::ExpandOptions;

/// Instances generated before the window (for rules that cannot be skipped
/// ahead: those with COUNT, or dense MONTHLY/YEARLY ones) before we give
/// up. At well under a microsecond per instance this bounds the work to a
/// fraction of a second.
const MAX_INSTANCES_BEFORE_WINDOW: usize = 500_000;

/// One instance of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The instance's original start in UTC: its RECURRENCE-ID key.
    pub key: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The result of expanding one series.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Sorted by key, one per key.
    pub instances: Vec<Instance>,
    /// (line, message) of anything worth a warning (cap hit, odd rule…).
    pub notes: Vec<(usize, String)>,
    /// The series has more instances in the window than `max_instances`
    /// (the last note says so).
    pub capped: bool,
}

/// How the series' times are laid out: all-day dates, or wall-clock times
/// in a zone.
#[derive(Clone)]
pub enum Frame {
    AllDay,
    Zoned(ZoneRef),
}

impl Frame {
    pub fn of(start: &Time) -> Frame {
        match start {
            Time::Date(_) => Frame::AllDay,
            Time::At { zone, .. } => Frame::Zoned(zone.clone()),
        }
    }

    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Frame::AllDay => local.and_utc(),
            Frame::Zoned(zone) => zone.to_utc(local),
        }
    }

    fn to_local(&self, utc: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Frame::AllDay => utc.naive_utc(),
            Frame::Zoned(zone) => zone.to_local(utc),
        }
    }

    /// The key an override's RECURRENCE-ID (or an EXDATE) denotes in this
    /// series. For an all-day series the written date counts, whatever zone
    /// the RECURRENCE-ID was given in (Exchange writes `TZID=…:…T000000`);
    /// a DATE against a timed series means that day at DTSTART's time.
    pub fn key_of(&self, t: &Time, series_start: &Time) -> DateTime<Utc> {
        match (self, t) {
            (Frame::AllDay, _) => midnight_utc(t.written_date()),
            (Frame::Zoned(zone), Time::Date(d)) => {
                let time = match series_start {
                    Time::At { local, .. } => local.time(),
                    Time::Date(_) => chrono::NaiveTime::MIN,
                };
                zone.to_utc(d.and_time(time))
            }
            (Frame::Zoned(_), Time::At { .. }) => t.utc(),
        }
    }
}

/// The length of each instance: DTEND − DTSTART, else DURATION, else one day
/// for all-day events and zero for timed ones (RFC 5545 §3.6.1). A DTEND
/// before DTSTART is an export error; it is read as `fallback` (for an
/// override: its master's length, as moved instances keep their length) or
/// zero, with a note.
pub fn event_length(
    event: &EventData,
    start: &Time,
    fallback: Option<Duration>,
    notes: &mut Vec<(usize, String)>,
) -> Duration {
    let length = raw_length(event, start, fallback, notes);
    if length > Duration::days(MAX_LENGTH_DAYS) {
        notes.push((
            event.line,
            format!("event longer than {MAX_LENGTH_DAYS} days: clamped"),
        ));
        return Duration::days(MAX_LENGTH_DAYS);
    }
    length
}

fn raw_length(
    event: &EventData,
    start: &Time,
    fallback: Option<Duration>,
    notes: &mut Vec<(usize, String)>,
) -> Duration {
    match start {
        Time::Date(d) => {
            let days = match (&event.end, event.duration) {
                (Some(end), _) if end.written_date() > *d => (end.written_date() - *d).num_days(),
                (_, Some(dur)) if dur.num_days() >= 1 => dur.num_days(),
                _ => 1,
            };
            Duration::days(days.min(MAX_LENGTH_DAYS + 1))
        }
        Time::At { .. } => match (&event.end, event.duration) {
            (Some(end), _) => {
                let length = end.utc() - start.utc();
                if length < Duration::zero() {
                    let used = fallback.unwrap_or_else(Duration::zero);
                    let message = format!(
                        "DTEND before DTSTART: read as {} minutes long",
                        used.num_minutes()
                    );
                    notes.push((event.line, message));
                    used
                } else {
                    length
                }
            }
            (None, Some(dur)) if dur >= Duration::zero() => dur,
            _ => Duration::zero(),
        },
    }
}

/// No event is longer than this: longer lengths (a DURATION of a million
/// weeks) are clamped so that start + length cannot overflow. Ten years is
/// far beyond any meeting and any sync window.
const MAX_LENGTH_DAYS: i64 = 3660;

/// True when an instance [start, end) belongs to the window.
pub fn in_window(start: DateTime<Utc>, end: DateTime<Utc>, opts: &ExpandOptions) -> bool {
    if start >= opts.window_end {
        return false;
    }
    if end == start {
        // A zero-length event is a point: inside when the point is.
        return start >= opts.window_start;
    }
    end > opts.window_start
}

/// Expands a master event. A rule that cannot be read is reported in the
/// notes, never an error: DTSTART is always an instance. `Err` only when
/// the event has no DTSTART.
pub fn expand(event: &EventData, opts: &ExpandOptions) -> Result<Expansion, String> {
    let start = event.start.as_ref().ok_or("no DTSTART")?;
    let frame = Frame::of(start);
    let mut out = Expansion::default();
    let length = event_length(event, start, None, &mut out.notes);
    let mut found: BTreeMap<DateTime<Utc>, Instance> = BTreeMap::new();
    let base_local = match start {
        Time::Date(d) => d.and_hms_opt(0, 0, 0).expect("midnight exists"),
        Time::At { local, .. } => *local,
    };
    let mut cap_hit = false;

    // DTSTART is always the first instance (RFC 5545 §3.8.5.3), even when
    // the rule itself would not produce it.
    let first = frame.to_utc(base_local);
    if in_window(first, first + length, opts) {
        found.insert(
            first,
            Instance {
                key: first,
                start: first,
                end: first + length,
            },
        );
    }

    // A rule that cannot be read does not lose the event: DTSTART stays
    // its first instance (above), and what of the rule is readable is used.
    for (rule_text, line) in &event.rrules {
        let rule = match parse_rule(rule_text, &frame) {
            Ok(rule) => rule,
            Err(e) => {
                out.notes.push((
                    *line,
                    format!(
                        "RRULE on line {line} ignored ({e}): DTSTART is the only instance it gives"
                    ),
                ));
                continue;
            }
        };
        for part in &rule.dropped {
            out.notes.push((
                *line,
                format!("RRULE on line {line}: part {part} ignored; the rest of the rule is used"),
            ));
        }
        // Enough to fill the cap even after EXDATEs remove some; the cap
        // itself is applied once everything is merged, below.
        let budget = opts.max_instances.saturating_add(event.exdates.len() + 1);
        let outcome = match run_rule(&rule, base_local, &frame, length, opts, budget) {
            Ok(outcome) => outcome,
            Err(e) => {
                out.notes.push((
                    *line,
                    format!(
                        "RRULE on line {line} ignored ({e}): DTSTART is the only instance it gives"
                    ),
                ));
                continue;
            }
        };
        for inst in outcome.instances {
            found.entry(inst.key).or_insert(inst);
        }
        if let Some(note) = outcome.note {
            out.notes.push((*line, note));
        }
        cap_hit |= outcome.cap_hit;
    }

    for rdate in &event.rdates {
        let (s, e) = match rdate {
            RDate::At(t) => {
                let s = match (&frame, t) {
                    (Frame::AllDay, _) => midnight_utc(t.written_date()),
                    (Frame::Zoned(zone), Time::Date(d)) => {
                        zone.to_utc(d.and_time(base_local.time()))
                    }
                    (Frame::Zoned(_), Time::At { .. }) => t.utc(),
                };
                (s, s + length)
            }
            RDate::Period(s, e) => {
                let s = frame.key_of(s, start);
                let e = match (&frame, e) {
                    (Frame::AllDay, _) => midnight_utc(e.written_date()),
                    _ => e.utc(),
                };
                (s, if e < s { s } else { e })
            }
        };
        if in_window(s, e, opts) {
            let instance = Instance {
                key: s,
                start: s,
                end: e,
            };
            found.entry(s).or_insert(instance);
        }
    }

    // EXDATE: an exact instant, or (a DATE against a timed series) every
    // instance on that local day. COUNT was applied above, before this.
    let mut excluded_keys = HashSet::new();
    let mut excluded_days = HashSet::new();
    for ex in &event.exdates {
        match (&frame, ex) {
            (Frame::Zoned(_), Time::Date(d)) => {
                excluded_days.insert(*d);
            }
            (Frame::Zoned(_), Time::At { local, .. }) => {
                let key = ex.utc();
                if found.contains_key(&key) {
                    excluded_keys.insert(key);
                    continue;
                }
                // No instance at that instant. Exporters that mix zones
                // write the instance's wall-clock time with another zone
                // (DTSTART in New York, EXDATE "12:00" in Los Angeles): an
                // instance at exactly that wall-clock time is the one meant.
                let wall = found.keys().copied().find(|k| frame.to_local(*k) == *local);
                if let Some(k) = wall {
                    excluded_keys.insert(k);
                    out.notes.push((
                        event.line,
                        format!("EXDATE {local} matched an instance by wall-clock time only (its zone differs from DTSTART's)"),
                    ));
                }
            }
            (Frame::AllDay, _) => {
                excluded_keys.insert(frame.key_of(ex, start));
            }
        }
    }
    found.retain(|key, _| {
        !excluded_keys.contains(key) && !excluded_days.contains(&frame.to_local(*key).date())
    });

    if found.len() > opts.max_instances {
        // Keep the earliest: a capped series is still right at the start
        // of the window.
        while found.len() > opts.max_instances {
            found.pop_last();
        }
        cap_hit = true;
    }
    out.capped = cap_hit;
    if cap_hit {
        out.notes.push((
            event.line,
            format!(
                "expansion capped at {} instances in the window",
                opts.max_instances
            ),
        ));
    }
    out.instances = found.into_values().collect();
    Ok(out)
}

/// An RRULE value prepared for the `rrule` crate: UNTIL taken out (we
/// convert it to the series' local time ourselves), unknown parts dropped.
struct PreparedRule {
    rule: RRule<Unvalidated>,
    until_local: Option<NaiveDateTime>,
    freq: String,
    interval: i64,
    /// COUNT when we count ourselves (timed series: instances at a local
    /// time that does not exist are not counted, see `run_rule`); an
    /// all-day series leaves COUNT to the crate.
    count: Option<u32>,
    has_count: bool,
    /// Parts that could not be read and were dropped, each with why.
    dropped: Vec<String>,
}

const FREQUENCIES: [&str; 7] = [
    "SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY",
];

/// Reads an RRULE value. Only a rule without a usable FREQ is an error (the
/// series is then DTSTART alone); any other part that cannot be read —
/// `COUNT=-1`, a bad UNTIL, a BYxxx value out of range or not allowed with
/// this FREQ, a part without "=" — is dropped and named in `dropped`, and
/// the rest of the rule is used.
fn parse_rule(text: &str, frame: &Frame) -> Result<PreparedRule, String> {
    let mut dropped = Vec::new();
    // A part given twice keeps its last value (as python-dateutil does);
    // the `rrule` crate would reject the whole rule.
    let mut parts: Vec<(String, String)> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            dropped.push(format!("{part:?} (not NAME=VALUE)"));
            continue;
        };
        let key = key.trim().to_ascii_uppercase();
        parts.retain(|(k, _)| *k != key);
        parts.push((key, value.trim().to_string()));
    }
    let freq = match parts.iter().find(|(k, _)| k == "FREQ") {
        Some((_, f)) if FREQUENCIES.contains(&f.to_ascii_uppercase().as_str()) => {
            f.to_ascii_uppercase()
        }
        Some((_, f)) => return Err(format!("unknown FREQ {f:?}")),
        None if text.trim().is_empty() => return Err("empty rule".into()),
        None => return Err("no FREQ".into()),
    };

    let mut kept = vec![format!("FREQ={freq}")];
    let mut until = None;
    let mut interval = 1;
    let mut count = None;
    for (key, value) in &parts {
        let shown = format!("{key}={value}");
        match key.as_str() {
            "FREQ" => {}
            "UNTIL" => match parse_time(value, None, None) {
                Ok(t) => until = Some(t),
                Err(e) => dropped.push(format!("{shown:?} ({e})")),
            },
            "INTERVAL" => match value.parse::<i64>() {
                Ok(n) if n >= 1 => {
                    interval = n;
                    kept.push(format!("INTERVAL={n}"));
                }
                _ => dropped.push(format!("{shown:?} (not a positive number)")),
            },
            "COUNT" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => count = Some(n),
                _ => dropped.push(format!("{shown:?} (not a positive number)")),
            },
            "WKST" | "BYSETPOS" | "BYMONTH" | "BYMONTHDAY" | "BYYEARDAY" | "BYWEEKNO" | "BYDAY"
            | "BYHOUR" | "BYMINUTE" | "BYSECOND" => {
                let part = format!("{key}={}", value.to_ascii_uppercase());
                // RFC 5545 recurrence parts are ASCII. The `rrule` crate
                // slices BYDAY values by bytes and panics inside a
                // multi-byte character (found by `cargo fuzz`).
                if !part.is_ascii() {
                    dropped.push(format!("{shown:?} (non-ASCII characters)"));
                } else if let Err(e) = check_part(&freq, &part) {
                    dropped.push(format!("{shown:?} ({e})"));
                } else {
                    kept.push(part);
                }
            }
            // X- parts and anything unknown carry no meaning for expansion.
            _ => {}
        }
    }
    // A timed series counts its own instances (see `run_rule`).
    let crate_counts = matches!(frame, Frame::AllDay);
    if let (true, Some(n)) = (crate_counts, count) {
        kept.push(format!("COUNT={n}"));
    }
    let rule: RRule<Unvalidated> = kept
        .join(";")
        .parse()
        .map_err(|e: rrule::RRuleError| e.to_string())?;
    let until_local = until.map(|u| match (frame, u) {
        // UNTIL as a date against a timed DTSTART (Google): the whole day.
        (Frame::Zoned(_), RawTime::Date(d)) => d.and_hms_opt(23, 59, 59).expect("valid time"),
        (Frame::AllDay, RawTime::Date(d)) => d.and_hms_opt(0, 0, 0).expect("midnight exists"),
        // UNTIL in UTC against a zoned DTSTART: compare in local time.
        (Frame::Zoned(zone), RawTime::Utc(t)) => zone.to_local(t.and_utc()),
        (_, RawTime::Utc(t) | RawTime::Floating(t) | RawTime::Zoned(t, _)) => t,
    });
    Ok(PreparedRule {
        rule,
        until_local,
        freq,
        interval,
        count: if crate_counts { None } else { count },
        has_count: count.is_some(),
        dropped,
    })
}

/// Whether the `rrule` crate accepts one BYxxx (or WKST) part with this
/// FREQ: it rejects whole rules, and we drop only the part it objects to.
fn check_part(freq: &str, part: &str) -> Result<(), String> {
    let rule: RRule<Unvalidated> = format!("FREQ={freq};{part}")
        .parse()
        .map_err(|e: rrule::RRuleError| e.to_string())?;
    let anchor = NaiveDateTime::parse_from_str("2000-01-03 00:00", "%Y-%m-%d %H:%M")
        .expect("a valid anchor");
    rule.build(fake_utc(anchor))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

struct RuleOutcome {
    instances: Vec<Instance>,
    note: Option<String>,
    cap_hit: bool,
}

fn fake_utc(t: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&t)
}

/// Period length for skipping ahead: rules whose periods are fixed lengths
/// can start from a later DTSTART moved by whole periods without changing
/// their instances (BYxxx parts filter within each period). Months and
/// years vary in length and are few enough to iterate.
fn period_seconds(freq: &str) -> Option<i64> {
    match freq {
        "SECONDLY" => Some(1),
        "MINUTELY" => Some(60),
        "HOURLY" => Some(3600),
        "DAILY" => Some(86_400),
        "WEEKLY" => Some(7 * 86_400),
        _ => None,
    }
}

fn run_rule(
    prepared: &PreparedRule,
    base: NaiveDateTime,
    frame: &Frame,
    length: Duration,
    opts: &ExpandOptions,
    budget: usize,
) -> Result<RuleOutcome, String> {
    let mut outcome = RuleOutcome {
        instances: Vec::new(),
        note: None,
        cap_hit: false,
    };
    if let Some(until) = prepared.until_local {
        if until < base {
            // Nothing after DTSTART; DTSTART itself was added by the caller.
            return Ok(outcome);
        }
    }
    // Local bounds of the window, widened by a day for zone offsets and gaps
    // and by the event's length (an instance starting before the window may
    // still overlap it).
    let low = frame.to_local(opts.window_start) - length - Duration::days(1);
    let high = frame.to_local(opts.window_end) + Duration::days(1);
    if base > high {
        return Ok(outcome);
    }

    let mut start = base;
    if !prepared.has_count {
        if let Some(secs) = period_seconds(&prepared.freq) {
            let step = secs * prepared.interval;
            let gap = (low - base).num_seconds();
            let periods = gap / step - 1;
            if periods > 0 {
                start = base + Duration::seconds(periods * step);
            }
        }
    }

    let mut rule = prepared.rule.clone();
    if let Some(until) = prepared.until_local {
        if until < start {
            // The series ended before the window (after skipping ahead).
            return Ok(outcome);
        }
        rule = rule.until(fake_utc(until));
    }
    let set = rule
        .build(fake_utc(start))
        .map_err(|e| e.to_string())?
        .limit();

    let mut before_window = 0usize;
    let mut produced_any = false;
    // RFC 5545 §3.3.10: instances at a local time that does not exist
    // "MUST be ignored and MUST NOT be counted". A time in a DST gap reads
    // with the offset before the gap (§3.3.5), so such an instance lands on
    // the instant of a later one (hourly 02:00 → 03:00 on the spring day):
    // an instant already produced is that twin, and is neither emitted again
    // nor counted. One in a gap that lands on no other instance (daily at
    // 02:30) is kept at the shifted time, as calendar applications show it.
    let mut counted: u32 = 0;
    let mut recent: std::collections::BTreeSet<DateTime<Utc>> = Default::default();
    for dt in &set {
        produced_any = true;
        let mut local = dt.naive_utc();
        if matches!(frame, Frame::AllDay) {
            // An all-day series with an hourly rule (seen in the wild):
            // instances are still whole days; same-day repeats merge.
            local = local.date().and_time(chrono::NaiveTime::MIN);
        }
        let s = frame.to_utc(local);
        if matches!(frame, Frame::Zoned(_)) {
            if !recent.insert(s) {
                continue;
            }
            // Gaps are hours long (a day at most: Samoa, 2011); keep two days.
            if recent.len() > 64 {
                recent = recent.split_off(&(s - Duration::days(2)));
            }
        }
        counted = counted.saturating_add(1);
        if prepared.count.is_some_and(|limit| counted > limit) {
            break;
        }
        if local > high {
            break;
        }
        let e = s + length;
        if !in_window(s, e, opts) {
            if s < opts.window_start {
                before_window += 1;
                if before_window > MAX_INSTANCES_BEFORE_WINDOW {
                    outcome.note = Some(format!(
                        "expansion stopped after {MAX_INSTANCES_BEFORE_WINDOW} instances before the window (a dense rule starting long before it)"
                    ));
                    break;
                }
            }
            continue;
        }
        if outcome.instances.len() >= budget {
            outcome.cap_hit = true;
            break;
        }
        outcome.instances.push(Instance {
            key: s,
            start: s,
            end: e,
        });
    }
    if !produced_any && start == base {
        outcome.note = Some("rule produces no instances after DTSTART".into());
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::timezone::Zone;
    use chrono::NaiveDate;
    use chrono_tz::Tz;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn opts(from: &str, to: &str, cap: usize) -> ExpandOptions {
        ExpandOptions {
            window_start: dt(from).and_utc(),
            window_end: dt(to).and_utc(),
            default_tz: Tz::Europe__Moscow,
            max_instances: cap,
            limits: Default::default(),
        }
    }

    fn starts(rule: &str, base: &str, zone: Tz, o: &ExpandOptions) -> Vec<String> {
        let frame = Frame::Zoned(Zone::iana(zone));
        let prepared = parse_rule(rule, &frame).unwrap();
        let out = run_rule(
            &prepared,
            dt(base),
            &frame,
            Duration::hours(1),
            o,
            usize::MAX,
        )
        .unwrap();
        out.instances
            .iter()
            .map(|i| i.start.format("%Y-%m-%d %H:%M").to_string())
            .collect()
    }

    #[test]
    fn skipping_ahead_gives_the_same_instances_as_iterating() {
        // The window starts ~3 years after DTSTART, far enough to skip ahead
        // for DAILY/WEEKLY; compare with a window that forces iteration from
        // DTSTART by starting before it.
        for rule in [
            "FREQ=DAILY;INTERVAL=3",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU",
            "FREQ=HOURLY;INTERVAL=5;BYHOUR=9,14,19",
        ] {
            let late = opts("2024-03-01 00:00", "2024-04-01 00:00", 10_000);
            let skipped = starts(rule, "2021-01-05 09:00", Tz::Europe__Berlin, &late);
            let full = opts("2020-01-01 00:00", "2024-04-01 00:00", 100_000);
            let all = starts(rule, "2021-01-05 09:00", Tz::Europe__Berlin, &full);
            let expected: Vec<String> = all
                .into_iter()
                .filter(|s| s.as_str() >= "2024-03-01")
                .collect();
            assert_eq!(skipped, expected, "{rule}");
            assert!(!skipped.is_empty());
        }
    }

    #[test]
    fn repeated_parts_keep_the_last_value() {
        let o = opts("2024-01-01 00:00", "2024-01-02 00:00", 100);
        let s = starts(
            "FREQ=HOURLY;INTERVAL=2;INTERVAL=6",
            "2024-01-01 00:00",
            Tz::UTC,
            &o,
        );
        assert_eq!(
            s,
            [
                "2024-01-01 00:00",
                "2024-01-01 06:00",
                "2024-01-01 12:00",
                "2024-01-01 18:00"
            ]
        );
    }

    /// Found by `cargo fuzz` (fuzz/artifacts/ics_normalize/crash-f1f76d6c…):
    /// a non-ASCII character in BYDAY made the `rrule` crate panic while
    /// slicing the weekday name. The part is dropped (never handed to the
    /// crate); the rest of the rule stays usable.
    #[test]
    fn fuzz_crash_f1f76d6c_non_ascii_byday_is_a_bad_part_not_a_panic() {
        let frame = Frame::Zoned(Zone::utc());
        for rule in [
            "FREQ=WEEKLY;BYDAY=MO,TU,S\u{fffd}A",
            "FREQ=WEEKLY;BYDAY=\u{e9}\u{e9}",
            "FREQ=MONTHLY;BYDAY=1\u{fffd}",
        ] {
            let prepared = parse_rule(rule, &frame).expect(rule);
            assert_eq!(prepared.dropped.len(), 1, "{rule}");
            assert!(prepared.dropped[0].contains("non-ASCII"), "{rule}");
        }
        // Non-ASCII in parts we do not use is harmless.
        assert!(parse_rule("FREQ=DAILY;X-NAME=\u{e9}t\u{e9}", &frame)
            .unwrap()
            .dropped
            .is_empty());
    }

    /// RFC 5545 §3.3.10: COUNT and INTERVAL are positive integers, BYxxx
    /// values have ranges, and BYMONTHDAY "MUST NOT be specified when the
    /// FREQ rule part is set to WEEKLY". Each bad part is dropped alone.
    #[test]
    fn a_bad_part_is_dropped_and_the_rest_of_the_rule_kept() {
        let frame = Frame::Zoned(Zone::utc());
        for (rule, bad) in [
            ("FREQ=DAILY;COUNT=-1;BYHOUR=9", "COUNT=-1"),
            ("FREQ=DAILY;COUNT=0", "COUNT=0"),
            ("FREQ=WEEKLY;INTERVAL=x;BYDAY=MO", "INTERVAL=x"),
            ("FREQ=WEEKLY;BYMONTHDAY=1;BYDAY=MO", "BYMONTHDAY=1"),
            ("FREQ=MONTHLY;BYMONTHDAY=40", "BYMONTHDAY=40"),
            ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL=tomorrow"),
            ("FREQ=DAILY;garbage", "garbage"),
        ] {
            let prepared = parse_rule(rule, &frame).expect(rule);
            assert_eq!(prepared.dropped.len(), 1, "{rule}: {:?}", prepared.dropped);
            assert!(
                prepared.dropped[0].contains(bad),
                "{rule}: {:?}",
                prepared.dropped
            );
        }
        for (rule, why) in [
            ("", "empty"),
            ("COUNT=3", "no FREQ"),
            ("FREQ=SOMETIMES", "unknown FREQ"),
        ] {
            let err = parse_rule(rule, &frame).err().expect(rule);
            assert!(err.contains(why), "{rule}: {err}");
        }
    }

    #[test]
    fn impossible_rules_are_reported_not_looped_on() {
        let o = opts("2024-01-01 00:00", "2030-01-01 00:00", 100);
        let frame = Frame::Zoned(Zone::utc());
        let prepared = parse_rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", &frame).unwrap();
        let out = run_rule(
            &prepared,
            dt("2024-01-01 00:00"),
            &frame,
            Duration::zero(),
            &o,
            100,
        )
        .unwrap();
        assert!(out.instances.is_empty());
        assert!(out.note.unwrap().contains("no instances"));
    }

    #[test]
    fn all_day_keys_ignore_the_zone_of_a_recurrence_id() {
        let frame = Frame::AllDay;
        let series_start = Time::Date(NaiveDate::from_ymd_opt(2026, 2, 19).unwrap());
        let rid = Time::At {
            local: dt("2026-02-26 00:00"),
            zone: Zone::iana(Tz::Europe__Berlin),
        };
        assert_eq!(
            frame.key_of(&rid, &series_start),
            dt("2026-02-26 00:00").and_utc()
        );
    }
}
