//! Time zones: turning a TZID as written into something that converts local
//! wall-clock times to UTC instants. Owns the lookup order (IANA name,
//! Windows ID, Outlook display name, the file's own VTIMEZONE, the company's
//! zone as a last resort) and the evaluation of custom VTIMEZONE rules.
//! Does not expand events; `recurrence` asks it for conversions.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

use super::lexer::Component;
use super::values::{parse_time, parse_utc_offset, RawTime};
use super::windows_zones::{
    iana_for_city_list, iana_for_display_name, iana_for_windows_id, split_display_name,
};

/// A resolved zone, shared by every time that names it.
#[derive(Debug)]
pub struct Zone {
    kind: ZoneKind,
    /// What `Occurrence::tz` reports: the IANA name, the TZID as written for
    /// custom zones, `None` for UTC and floating times.
    label: Option<String>,
}

pub type ZoneRef = Arc<Zone>;

#[derive(Debug)]
enum ZoneKind {
    Iana(Tz),
    Custom(CustomZone),
    /// Seconds east of UTC, from a display name whose cities we do not know.
    Fixed(i32),
}

impl Zone {
    pub fn utc() -> ZoneRef {
        Arc::new(Zone {
            kind: ZoneKind::Iana(Tz::UTC),
            label: None,
        })
    }

    /// The zone floating times are read in: the company's, reported as `None`.
    pub fn floating(tz: Tz) -> ZoneRef {
        Arc::new(Zone {
            kind: ZoneKind::Iana(tz),
            label: None,
        })
    }

    pub fn iana(tz: Tz) -> ZoneRef {
        let label = if is_utc_name(tz.name()) {
            None
        } else {
            Some(tz.name().to_string())
        };
        Arc::new(Zone {
            kind: ZoneKind::Iana(tz),
            label,
        })
    }

    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Local wall-clock time → UTC. A time that occurs twice (autumn) takes
    /// the first; a time that does not exist (spring gap) is read with the
    /// offset before the gap, as RFC 5545 §3.3.5 prescribes.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let offset = match &self.kind {
            ZoneKind::Iana(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(dt) => return dt.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => {
                    let before = local.checked_sub_signed(Duration::days(1)).unwrap_or(local);
                    tz.offset_from_utc_datetime(&before).fix().local_minus_utc()
                }
            },
            ZoneKind::Custom(custom) => custom.offset_for_local(local),
            ZoneKind::Fixed(secs) => *secs,
        };
        shift(local, -offset).and_utc()
    }

    /// UTC → local wall-clock time in this zone.
    pub fn to_local(&self, utc: DateTime<Utc>) -> NaiveDateTime {
        let offset = self.offset_at(utc);
        shift(utc.naive_utc(), offset)
    }

    fn offset_at(&self, utc: DateTime<Utc>) -> i32 {
        match &self.kind {
            ZoneKind::Iana(tz) => tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
            ZoneKind::Custom(custom) => custom.offset_at_utc(utc.naive_utc()),
            ZoneKind::Fixed(secs) => *secs,
        }
    }
}

fn shift(t: NaiveDateTime, secs: i32) -> NaiveDateTime {
    t.checked_add_signed(Duration::seconds(i64::from(secs)))
        .unwrap_or(t)
}

fn is_utc_name(name: &str) -> bool {
    matches!(
        name,
        "UTC"
            | "Etc/UTC"
            | "GMT"
            | "Etc/GMT"
            | "Etc/UCT"
            | "UCT"
            | "Etc/Universal"
            | "Universal"
            | "Zulu"
            | "Etc/Zulu"
            | "Etc/GMT0"
            | "Etc/GMT+0"
            | "Etc/GMT-0"
            | "GMT0"
            | "Etc/Greenwich"
    )
}

/// A VTIMEZONE definition: its observances (STANDARD/DAYLIGHT blocks).
#[derive(Debug, Clone)]
pub struct CustomZone {
    observances: Vec<Observance>,
    /// For a definition that stops (only a year or two of transitions, as
    /// iCalcreator writes them) under a known zone's name: that zone, used
    /// outside the wall-clock range the definition describes.
    beyond: Option<(Tz, NaiveDateTime, NaiveDateTime)>,
}

#[derive(Debug, Clone)]
struct Observance {
    /// TZOFFSETFROM / TZOFFSETTO in seconds east of UTC.
    from: i32,
    to: i32,
    /// DTSTART: the first onset, in the wall-clock time of `from`.
    start: NaiveDateTime,
    rule: Option<YearlyRule>,
    rdates: Vec<NaiveDateTime>,
}

/// The RRULE shapes time-zone observances use: once a year, in a given
/// month, on the n-th weekday and/or given month days.
#[derive(Debug, Clone)]
struct YearlyRule {
    months: Vec<u32>,
    by_day: Vec<(i32, Weekday)>,
    by_month_day: Vec<i32>,
    until: Option<NaiveDateTime>,
    interval: i32,
    last_year: Option<i32>,
}

/// Offsets beyond ±18 h do not exist; a VTIMEZONE that writes one (Berlin's
/// LMT as +5328) has it ignored.
const MAX_OFFSET: i32 = 18 * 3600;

impl CustomZone {
    /// Reads a VTIMEZONE. Observances that cannot be read are dropped with a
    /// message; a zone without any usable observance is an error.
    pub fn from_component(component: &Component) -> Result<(CustomZone, Vec<String>), String> {
        let mut notes = Vec::new();
        let mut observances = Vec::new();
        for child in &component.children {
            if child.name != "STANDARD" && child.name != "DAYLIGHT" {
                continue;
            }
            match Observance::read(child) {
                Ok((obs, mut obs_notes)) => {
                    notes.append(&mut obs_notes);
                    observances.push(obs);
                }
                Err(message) => {
                    notes.push(format!("{} on line {}: {message}", child.name, child.line))
                }
            }
        }
        if observances.is_empty() {
            return Err("VTIMEZONE has no usable STANDARD or DAYLIGHT block".into());
        }
        observances.sort_by_key(|o| o.start);
        let zone = CustomZone {
            observances,
            beyond: None,
        };
        Ok((zone, notes))
    }

    /// The wall-clock range whose offsets the definition gives: from its
    /// first onset to its last one, or `None` as the end when a rule goes
    /// on without UNTIL or COUNT. After its last onset a definition only
    /// repeats the last offset, which says nothing about later years.
    fn described_range(&self) -> (NaiveDateTime, Option<NaiveDateTime>) {
        let first = self.observances[0].start;
        let mut last = first;
        for obs in &self.observances {
            last = last.max(obs.start);
            for r in &obs.rdates {
                last = last.max(*r);
            }
            if let Some(rule) = &obs.rule {
                let end = match (rule.until, rule.last_year) {
                    (None, None) => return (first, None),
                    (Some(until), _) => until,
                    (None, Some(year)) => rule
                        .onsets_in_year(year, obs.start)
                        .into_iter()
                        .max()
                        .unwrap_or(obs.start),
                };
                last = last.max(end);
            }
        }
        (first, Some(last))
    }

    /// The known zone that answers outside the described range, if any.
    fn beyond_at(&self, wall: NaiveDateTime) -> Option<Tz> {
        let (tz, from, to) = self.beyond?;
        (wall < from || wall > to).then_some(tz)
    }

    /// Offset in effect at a local wall-clock time.
    fn offset_for_local(&self, local: NaiveDateTime) -> i32 {
        if let Some(tz) = self.beyond_at(local) {
            let iana = Zone::iana(tz);
            return iana.offset_at(iana.to_utc(local));
        }
        let mut best: Option<(NaiveDateTime, &Observance)> = None;
        for obs in &self.observances {
            if let Some(onset) = obs.last_onset_at_or_before(local) {
                if best.is_none_or(|(b, _)| onset > b) {
                    best = Some((onset, obs));
                }
            }
        }
        match best {
            Some((onset, obs)) => {
                // Inside a spring-forward gap: use the offset before it.
                let gap = obs.to - obs.from;
                if gap > 0 && local < shift(onset, gap) {
                    obs.from
                } else {
                    obs.to
                }
            }
            None => self.observances[0].from,
        }
    }

    /// Offset in effect at a UTC instant.
    fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        if self.beyond.is_some() {
            if let Some(tz) = self.beyond_at(shift(utc, self.own_offset_at_utc(utc))) {
                return tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
            }
        }
        self.own_offset_at_utc(utc)
    }

    /// Offset at a UTC instant by the definition alone.
    fn own_offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        let mut best: Option<(NaiveDateTime, i32)> = None;
        for obs in &self.observances {
            // An onset written in `from` wall time happens at onset - from UTC.
            if let Some(onset) = obs.last_onset_at_or_before(shift(utc, obs.from)) {
                let onset_utc = shift(onset, -obs.from);
                if best.is_none_or(|(b, _)| onset_utc > b) {
                    best = Some((onset_utc, obs.to));
                }
            }
        }
        best.map_or(self.observances[0].from, |(_, to)| to)
    }
}

impl Observance {
    fn read(component: &Component) -> Result<(Observance, Vec<String>), String> {
        let mut notes = Vec::new();
        let to = component
            .prop("TZOFFSETTO")
            .and_then(|p| parse_utc_offset(&p.value))
            .filter(|o| o.abs() <= MAX_OFFSET)
            .ok_or("missing or invalid TZOFFSETTO")?;
        let from = match component
            .prop("TZOFFSETFROM")
            .map(|p| (p.line, parse_utc_offset(&p.value)))
        {
            Some((_, Some(o))) if o.abs() <= MAX_OFFSET => o,
            Some((line, _)) => {
                notes.push(format!(
                    "invalid TZOFFSETFROM on line {line}, using TZOFFSETTO"
                ));
                to
            }
            None => to,
        };
        let start = match component
            .prop("DTSTART")
            .map(|p| parse_time(&p.value, None, None))
        {
            Some(Ok(RawTime::Floating(t) | RawTime::Utc(t) | RawTime::Zoned(t, _))) => t,
            Some(Ok(RawTime::Date(d))) => d.and_hms_opt(0, 0, 0).expect("midnight exists"),
            _ => return Err("missing or invalid DTSTART".into()),
        };
        let mut rdates = Vec::new();
        for prop in component.props_named("RDATE") {
            for item in prop.value.split(',') {
                match parse_time(item, None, None) {
                    Ok(RawTime::Floating(t) | RawTime::Utc(t) | RawTime::Zoned(t, _)) => {
                        rdates.push(t)
                    }
                    Ok(RawTime::Date(d)) => {
                        rdates.push(d.and_hms_opt(0, 0, 0).expect("midnight exists"))
                    }
                    Err(e) => notes.push(format!("RDATE on line {}: {e}", prop.line)),
                }
            }
        }
        let rule = match component.prop("RRULE") {
            Some(prop) => match YearlyRule::parse(&prop.value, start) {
                Ok(rule) => Some(rule),
                Err(e) => {
                    notes.push(format!(
                        "RRULE on line {}: {e}; observance used once",
                        prop.line
                    ));
                    None
                }
            },
            None => None,
        };
        Ok((
            Observance {
                from,
                to,
                start,
                rule,
                rdates,
            },
            notes,
        ))
    }

    /// The latest onset of this observance at or before `t` (wall time).
    fn last_onset_at_or_before(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut best: Option<NaiveDateTime> = None;
        let mut consider = |c: NaiveDateTime| {
            if c <= t && best.is_none_or(|b| c > b) {
                best = Some(c);
            }
        };
        consider(self.start);
        for r in &self.rdates {
            consider(*r);
        }
        if let Some(rule) = &self.rule {
            let mut year_end = t.year();
            if let Some(until) = rule.until {
                year_end = year_end.min(until.year());
            }
            if let Some(last) = rule.last_year {
                year_end = year_end.min(last);
            }
            let year_stop = self
                .start
                .year()
                .max(year_end - 2 * rule.interval.max(1) - 1);
            let mut year = year_end;
            while year >= year_stop {
                let found = rule
                    .onsets_in_year(year, self.start)
                    .into_iter()
                    .filter(|o| *o >= self.start && *o <= t && rule.until.is_none_or(|u| *o <= u))
                    .max();
                if let Some(found) = found {
                    consider(found);
                    break;
                }
                year -= 1;
            }
        }
        best
    }
}

impl YearlyRule {
    fn parse(value: &str, start: NaiveDateTime) -> Result<YearlyRule, String> {
        let mut rule = YearlyRule {
            months: vec![],
            by_day: vec![],
            by_month_day: vec![],
            until: None,
            interval: 1,
            last_year: None,
        };
        let mut yearly = false;
        for part in value.split(';').filter(|p| !p.trim().is_empty()) {
            let (key, val) = part
                .split_once('=')
                .ok_or_else(|| format!("bad part {part:?}"))?;
            let val = val.trim();
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => yearly = val.eq_ignore_ascii_case("YEARLY"),
                "BYMONTH" => {
                    rule.months = val
                        .split(',')
                        .map(|m| m.trim().parse().map_err(|_| format!("bad BYMONTH {val}")))
                        .collect::<Result<_, _>>()?
                }
                "BYDAY" => {
                    rule.by_day = val
                        .split(',')
                        .map(|d| parse_nth_weekday(d).ok_or_else(|| format!("bad BYDAY {val}")))
                        .collect::<Result<_, _>>()?
                }
                "BYMONTHDAY" => {
                    rule.by_month_day = val
                        .split(',')
                        .map(|d| {
                            d.trim()
                                .parse()
                                .map_err(|_| format!("bad BYMONTHDAY {val}"))
                        })
                        .collect::<Result<_, _>>()?
                }
                "UNTIL" => {
                    rule.until = match parse_time(val, None, None)? {
                        RawTime::Date(d) => Some(d.and_hms_opt(23, 59, 59).expect("valid time")),
                        RawTime::Floating(t) | RawTime::Utc(t) | RawTime::Zoned(t, _) => Some(t),
                    }
                }
                "INTERVAL" => {
                    rule.interval = val.parse().map_err(|_| format!("bad INTERVAL {val}"))?
                }
                "COUNT" => {
                    let count: i32 = val.parse().map_err(|_| format!("bad COUNT {val}"))?;
                    rule.last_year = Some(start.year() + count.max(1) - 1);
                }
                _ => {}
            }
        }
        if !yearly {
            return Err("only FREQ=YEARLY rules are understood in a VTIMEZONE".into());
        }
        if rule.months.is_empty() {
            rule.months.push(start.month());
        }
        // Time zones change yearly at most; a huge INTERVAL would only make
        // the backwards year search long.
        rule.interval = rule.interval.clamp(1, 100);
        Ok(rule)
    }

    fn onsets_in_year(&self, year: i32, start: NaiveDateTime) -> Vec<NaiveDateTime> {
        if (year - start.year()).rem_euclid(self.interval) != 0 {
            return vec![];
        }
        let mut out = Vec::new();
        for &month in &self.months {
            let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
                continue;
            };
            let days_in_month = days_in_month(first);
            let resolve_day = |d: i32| -> Option<u32> {
                let day = if d < 0 {
                    days_in_month as i32 + d + 1
                } else {
                    d
                };
                (1..=days_in_month as i32)
                    .contains(&day)
                    .then_some(day as u32)
            };
            let mut days: Vec<u32> = Vec::new();
            if !self.by_month_day.is_empty() {
                days.extend(self.by_month_day.iter().filter_map(|d| resolve_day(*d)));
                if !self.by_day.is_empty() {
                    days.retain(|d| {
                        let wd = first.with_day(*d).expect("day in month").weekday();
                        self.by_day.iter().any(|(_, w)| *w == wd)
                    });
                }
            } else if !self.by_day.is_empty() {
                for &(nth, wd) in &self.by_day {
                    let matching: Vec<u32> = (1..=days_in_month)
                        .filter(|d| first.with_day(*d).expect("day in month").weekday() == wd)
                        .collect();
                    match nth {
                        0 => days.extend(matching),
                        n if n > 0 => days.extend(matching.get(n as usize - 1)),
                        n => days.extend(
                            matching
                                .len()
                                .checked_sub(n.unsigned_abs() as usize)
                                .and_then(|i| matching.get(i)),
                        ),
                    }
                }
            } else {
                days.extend(resolve_day(start.day() as i32));
            }
            for day in days {
                if let Some(date) = first.with_day(day) {
                    out.push(date.and_time(start.time()));
                }
            }
        }
        out
    }
}

fn days_in_month(first: NaiveDate) -> u32 {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map_or(31, |n| (n - first).num_days() as u32)
}

/// "-1SU" → (-1, Sunday); "SU" → (0, Sunday).
pub fn parse_nth_weekday(text: &str) -> Option<(i32, Weekday)> {
    let text = text.trim().to_ascii_uppercase();
    // `split_at_checked`: the last two bytes may cut a multi-byte character.
    let (num, day) = text.split_at_checked(text.len().checked_sub(2)?)?;
    let weekday = match day {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    };
    let nth = if num.is_empty() || num == "+" {
        0
    } else {
        num.parse().ok()?
    };
    Some((nth, weekday))
}

/// The canonical form of a TZID for lookups: quotes and backslash escapes
/// removed, surrounding space trimmed.
pub fn normalize_tzid(tzid: &str) -> String {
    let t = tzid.trim().trim_matches('"').trim();
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An IANA zone by name: exact, then case-insensitive, then the tail of a
/// vendor path ("/mozilla.org/20050126_1/Europe/Berlin").
pub fn lookup_iana(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    if matches!(
        name.to_ascii_uppercase().as_str(),
        "Z" | "UTC" | "GMT" | "ZULU"
    ) {
        return Some(Tz::UTC);
    }
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
    {
        return Some(*tz);
    }
    let mut rest = name;
    while let Some(pos) = rest.find('/') {
        rest = &rest[pos + 1..];
        if let Some(tz) = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(rest))
        {
            return Some(*tz);
        }
    }
    None
}

/// Name → IANA zone by every route except VTIMEZONE: IANA, Windows ID,
/// Outlook display name, Outlook city list without the offset prefix.
pub fn known_zone(name: &str) -> Option<Tz> {
    lookup_iana(name)
        .or_else(|| iana_for_windows_id(name).and_then(|n| n.parse().ok()))
        .or_else(|| iana_for_display_name(name).and_then(|n| n.parse().ok()))
        .or_else(|| iana_for_city_list(name).and_then(|n| n.parse().ok()))
}

/// Resolves the TZIDs of one file, with that file's VTIMEZONEs. Each TZID is
/// decided once; the decision's warning is returned the first time only.
pub struct ZoneResolver {
    customs: HashMap<String, CustomZone>,
    cache: HashMap<String, ZoneRef>,
    default_tz: Tz,
    /// Years compared when checking a VTIMEZONE against the IANA database.
    probe_years: (i32, i32),
}

impl ZoneResolver {
    /// `vtimezones`: the file's VTIMEZONE components. Returns the resolver
    /// and messages about definitions that could not be read (with lines).
    pub fn new(
        vtimezones: &[&Component],
        default_tz: Tz,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> (ZoneResolver, Vec<(usize, String)>) {
        let mut notes = Vec::new();
        let mut customs = HashMap::new();
        for component in vtimezones {
            let Some(tzid) = component.prop("TZID").map(|p| normalize_tzid(&p.value)) else {
                notes.push((component.line, "VTIMEZONE without TZID ignored".to_string()));
                continue;
            };
            match CustomZone::from_component(component) {
                Ok((zone, zone_notes)) => {
                    notes.extend(
                        zone_notes
                            .into_iter()
                            .map(|n| (component.line, format!("VTIMEZONE {tzid:?}: {n}"))),
                    );
                    customs.entry(tzid).or_insert(zone);
                }
                Err(e) => notes.push((component.line, format!("VTIMEZONE {tzid:?} ignored: {e}"))),
            }
        }
        let resolver = ZoneResolver {
            customs,
            cache: HashMap::new(),
            default_tz,
            probe_years: (window.0.year(), window.1.year()),
        };
        (resolver, notes)
    }

    /// The zone for a TZID, with a warning the first time a guess was made.
    /// `sample` is a local time written with this TZID: the VTIMEZONE is
    /// compared with the IANA zone around it as well as over the window.
    pub fn resolve(&mut self, tzid: &str, sample: NaiveDateTime) -> (ZoneRef, Option<String>) {
        let key = normalize_tzid(tzid);
        if let Some(zone) = self.cache.get(&key) {
            return (zone.clone(), None);
        }
        let (zone, warning) = self.decide(&key, sample);
        self.cache.insert(key, zone.clone());
        (zone, warning)
    }

    fn decide(&self, key: &str, sample: NaiveDateTime) -> (ZoneRef, Option<String>) {
        let known = known_zone(key);
        let custom = self.customs.get(key).or_else(|| {
            self.customs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        });
        match (known, custom) {
            (Some(tz), Some(custom)) => {
                if self.agrees(custom, tz, sample) {
                    return (Zone::iana(tz), None);
                }
                let mut custom = custom.clone();
                let msg = match custom.described_range() {
                    (from, Some(to)) => {
                        custom.beyond = Some((tz, from, to));
                        format!(
                            "VTIMEZONE {key:?} disagrees with the IANA zone {} between {} and {}; \
                             using the file's definition there and the IANA rules outside it",
                            tz.name(),
                            from.date(),
                            to.date()
                        )
                    }
                    (_, None) => format!(
                        "VTIMEZONE {key:?} disagrees with the IANA zone {}; using the file's definition",
                        tz.name()
                    ),
                };
                let zone = Arc::new(Zone {
                    kind: ZoneKind::Custom(custom),
                    label: Some(key.to_string()),
                });
                (zone, Some(msg))
            }
            (None, Some(custom)) => (
                Arc::new(Zone {
                    kind: ZoneKind::Custom(custom.clone()),
                    label: Some(key.to_string()),
                }),
                None,
            ),
            (Some(tz), None) => (Zone::iana(tz), None),
            (None, None) => match split_display_name(key) {
                Some((offset, _)) => {
                    let zone = Arc::new(Zone {
                        kind: ZoneKind::Fixed(offset),
                        label: Some(key.to_string()),
                    });
                    let msg = format!("unknown time zone {key:?}: using the fixed offset from its name, without daylight saving");
                    (zone, Some(msg))
                }
                None => {
                    let msg = format!(
                        "unknown time zone {key:?}: read in the default zone {}",
                        self.default_tz.name()
                    );
                    (Zone::iana(self.default_tz), Some(msg))
                }
            },
        }
    }

    /// True when the VTIMEZONE gives the same UTC offsets as the IANA zone on
    /// the 1st and 15th of every month of the years that matter: the sample's
    /// year and the window's first and last years (every year between them
    /// when the window is short).
    fn agrees(&self, custom: &CustomZone, tz: Tz, sample: NaiveDateTime) -> bool {
        let (first, last) = self.probe_years;
        let mut years: Vec<i32> = if last - first <= 3 {
            (first..=last).collect()
        } else {
            vec![first, last]
        };
        years.push(sample.year());
        // Nothing before the event's own start is ever converted, and years
        // before the VTIMEZONE's first observance are not described by it.
        let defined_from = custom
            .observances
            .iter()
            .map(|o| o.start.year())
            .min()
            .unwrap_or(i32::MIN);
        years.retain(|y| *y >= defined_from && *y >= sample.year());
        let sample_utc = shift(sample, -custom.offset_for_local(sample));
        let mut probes = vec![sample_utc];
        // Only where the definition says something: past its last onset it
        // merely repeats the last offset (a truncated VTIMEZONE), and the
        // IANA rules are used there whatever the outcome here.
        let (from, to) = custom.described_range();
        let described = |utc: &NaiveDateTime| {
            let wall = shift(*utc, custom.own_offset_at_utc(*utc));
            wall >= from && to.is_none_or(|to| wall <= to)
        };
        for year in years {
            for month in 1..=12 {
                for day in [1, 15] {
                    if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
                        probes.push(d.and_hms_opt(12, 0, 0).expect("noon exists"));
                    }
                }
            }
        }
        probes.iter().filter(|utc| described(utc)).all(|utc| {
            custom.offset_at_utc(*utc) == tz.offset_from_utc_datetime(utc).fix().local_minus_utc()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::lexer::parse_components;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        (
            dt("2024-01-01 00:00").and_utc(),
            dt("2024-12-31 00:00").and_utc(),
        )
    }

    const CUSTOM_EASTERN: &str = "BEGIN:VTIMEZONE\nTZID:Customized Time Zone\nBEGIN:STANDARD\nDTSTART:16010101T020000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\nEND:DAYLIGHT\nEND:VTIMEZONE\n";

    /// Found by `cargo fuzz` (fuzz/artifacts/ics_normalize/crash-f78fddb9…):
    /// a VTIMEZONE rule's BYDAY ending in a multi-byte character made the
    /// weekday split panic.
    #[test]
    fn fuzz_crash_f78fddb9_vtimezone_byday_with_non_ascii_tail() {
        for text in ["1\u{fffd}", "-1S\u{e9}", "\u{e9}", "SU\u{fffd}"] {
            assert_eq!(parse_nth_weekday(text), None, "{text}");
        }
        assert_eq!(parse_nth_weekday("-1SU"), Some((-1, Weekday::Sun)));
    }

    #[test]
    fn custom_vtimezone_rules_with_dst() {
        let (roots, _) = parse_components(CUSTOM_EASTERN);
        let (mut resolver, notes) = ZoneResolver::new(&[&roots[0]], Tz::Europe__Moscow, window());
        assert!(notes.is_empty(), "{notes:?}");
        let (zone, warning) = resolver.resolve("Customized Time Zone", dt("2020-08-25 10:35"));
        assert!(warning.is_none());
        assert_eq!(zone.label(), Some("Customized Time Zone"));
        // Summer: EDT (-4); winter: EST (-5).
        assert_eq!(
            zone.to_utc(dt("2020-08-25 10:35")),
            dt("2020-08-25 14:35").and_utc()
        );
        assert_eq!(
            zone.to_utc(dt("2020-12-15 10:35")),
            dt("2020-12-15 15:35").and_utc()
        );
        // Autumn ambiguity takes the first (EDT); spring gap uses the offset before.
        assert_eq!(
            zone.to_utc(dt("2020-11-01 01:30")),
            dt("2020-11-01 05:30").and_utc()
        );
        assert_eq!(
            zone.to_utc(dt("2020-03-08 02:30")),
            dt("2020-03-08 07:30").and_utc()
        );
        assert_eq!(
            zone.to_local(dt("2020-12-15 15:35").and_utc()),
            dt("2020-12-15 10:35")
        );
    }

    #[test]
    fn windows_name_with_agreeing_vtimezone_becomes_iana() {
        let text = CUSTOM_EASTERN.replace("Customized Time Zone", "Eastern Standard Time");
        let (roots, _) = parse_components(&text);
        let (mut resolver, _) = ZoneResolver::new(&[&roots[0]], Tz::Europe__Moscow, window());
        let (zone, warning) = resolver.resolve("Eastern Standard Time", dt("2024-10-28 17:00"));
        assert!(warning.is_none());
        assert_eq!(zone.label(), Some("America/New_York"));
    }

    #[test]
    fn unknown_zone_falls_back_with_a_warning_once() {
        let (mut resolver, _) = ZoneResolver::new(&[], Tz::Europe__Moscow, window());
        let (zone, warning) = resolver.resolve("Mars/Olympus_Mons", dt("2024-01-01 10:00"));
        assert!(warning.unwrap().contains("Mars/Olympus_Mons"));
        assert_eq!(
            zone.to_utc(dt("2024-01-01 10:00")),
            dt("2024-01-01 07:00").and_utc()
        );
        let (_, again) = resolver.resolve("Mars/Olympus_Mons", dt("2024-01-01 10:00"));
        assert!(again.is_none());
    }

    #[test]
    fn lookups() {
        assert_eq!(
            lookup_iana("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(Tz::Europe__Berlin)
        );
        assert_eq!(lookup_iana("europe/moscow"), Some(Tz::Europe__Moscow));
        assert_eq!(
            known_zone("Russian Standard Time"),
            Some(Tz::Europe__Moscow)
        );
        assert_eq!(
            known_zone("(UTC+03:00) Moscow, St. Petersburg, Volgograd"),
            Some(Tz::Europe__Moscow)
        );
        assert_eq!(
            normalize_tzid("\"(UTC+07:00) Bangkok\\, Hanoi\\, Jakarta\""),
            "(UTC+07:00) Bangkok, Hanoi, Jakarta"
        );
        assert_eq!(parse_nth_weekday("-1SU"), Some((-1, Weekday::Sun)));
        assert_eq!(parse_nth_weekday("TH"), Some((0, Weekday::Thu)));
    }
}
