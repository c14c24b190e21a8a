//! iCalendar normalization (SPEC §3): turns the text of .ics files into
//! occurrences inside a window — recurrence expansion, overrides, time zones.
//! Pure: no file or network I/O; callers hand in the text.
//!
//! Layout of this module:
//! - `lexer`: text → content lines → components, leniently, with line numbers;
//! - `values`: DATE / DATE-TIME / PERIOD / DURATION / UTC-OFFSET values;
//! - [`windows_zones`]: the CLDR Windows → IANA table and display names;
//! - `timezone`: TZID → zone (IANA, Windows, VTIMEZONE, fallback);
//! - `event`: one VEVENT → `EventData` (times, recurrence parts, people);
//! - `recurrence`: one series → instances in the window (RRULE via `rrule`);
//! - [`limits`]: caps on one event's texts and people and on a calendar's
//!   occurrences (hostile input);
//! - this file: files → events → series merged with overrides and
//!   cancellations → sorted occurrences.

mod event;
mod lexer;
pub mod limits;
mod recurrence;
mod timezone;
mod values;
pub mod windows_zones;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::model::{EventStatus, Occurrence};
use event::{method_is_not_state, read_event, Details, EventData, Time};
use lexer::Component;
use limits::{EventLimits, OccurrenceBudget};
use recurrence::{event_length, expand, in_window, Frame};
use timezone::{Zone, ZoneResolver};

/// Where and how far to expand.
#[derive(Debug, Clone)]
pub struct ExpandOptions {
    /// Occurrences that end at or before this instant are dropped.
    pub window_start: DateTime<Utc>,
    /// Occurrences that start at or after this instant are dropped.
    pub window_end: DateTime<Utc>,
    /// Zone for floating times and unknown TZIDs (the company's zone).
    pub default_tz: Tz,
    /// Per-series cap on expanded instances; hitting it yields a warning.
    pub max_instances: usize,
    /// Caps on each event and on the calendar's occurrences.
    pub limits: EventLimits,
}

/// One input file: a name for messages (usually its path) and its bytes.
/// Bytes, not text: lines are unfolded before they are decoded as UTF-8, as
/// a fold may split a multi-byte character (see `lexer`).
#[derive(Debug, Clone)]
pub struct IcsInput {
    pub name: String,
    pub data: Vec<u8>,
}

impl IcsInput {
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> IcsInput {
        IcsInput {
            name: name.into(),
            data: data.into(),
        }
    }
}

/// Something that could not be read, or was read with a guess.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseWarning {
    pub file: String,
    pub line: Option<usize>,
    pub uid: Option<String>,
    pub message: String,
    /// True when an event was dropped (counts as a skipped item).
    pub skipped: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ParsedCalendar {
    /// Sorted by (uid, recurrence_id), then start.
    pub occurrences: Vec<Occurrence>,
    pub warnings: Vec<ParseWarning>,
    /// Files that are not a whole calendar: empty (no component at all) or
    /// cut off (a top-level component such as the VCALENDAR never closed).
    /// Also in `warnings`; a source that reads whole files (`ics_file`)
    /// treats these as a failed read, as a file being rewritten looks so.
    pub incomplete: Vec<ParseWarning>,
}

/// Parses every file of one calendar and expands its events. Overrides
/// (RECURRENCE-ID) are merged with their master even across files. Files
/// handed over by value are dropped as soon as they are read, before the
/// expansion (a 200 MB file need not stay beside its occurrences).
pub fn normalize<F: std::borrow::Borrow<IcsInput>>(
    files: impl IntoIterator<Item = F>,
    calendar_id: &str,
    opts: &ExpandOptions,
) -> ParsedCalendar {
    let mut warnings = Vec::new();
    let mut events = Vec::new();
    let mut incomplete = Vec::new();
    for file in files {
        read_file(
            file.borrow(),
            opts,
            &mut events,
            &mut warnings,
            &mut incomplete,
        );
    }

    // Series are processed in UID order, so warnings come out in the same
    // order on every run. Grouped by sorting in place (descending, stable:
    // file order within a UID) and splitting each smallest-UID run off the
    // end: regrouping into a map of vectors held every event twice at the
    // peak (massif: 2 × 2 KiB per event of a million-event file).
    events.sort_by(|a, b| b.uid.cmp(&a.uid));
    // Occurrences are kept within the calendar's budget as each series is
    // expanded, so memory stays near the budget however many series expand.
    let mut budget = OccurrenceBudget::new(opts.limits.max_occurrences);
    let mut series = Vec::new();
    while let Some(last) = events.last() {
        let run = events
            .iter()
            .rev()
            .take_while(|e| e.uid == last.uid)
            .count();
        let group = events.split_off(events.len() - run);
        // Give back what the read events held as their occurrences grow.
        if events.len() < events.capacity() / 2 {
            events.shrink_to_fit();
        }
        // Once the budget is reached, a series is expanded only as far as
        // its share: 300 runaway series need not each be expanded in full.
        let share = budget.share().filter(|s| *s < opts.max_instances);
        let stopped = merge_series(calendar_id, group, opts, share, &mut series, &mut warnings);
        // Series come in UID order and every occurrence of a series carries
        // its UID, so sorting each series' own run sorts the whole: one
        // global sort of the (large) occurrences was a quarter of the time
        // on a 100 000-event calendar (perf, scripts/bench-ics).
        series.sort_by_key(|o| (o.recurrence_id, o.start));
        if stopped {
            budget.add_stopped(std::mem::take(&mut series));
        } else {
            budget.add(std::mem::take(&mut series));
        }
    }
    if let Some(message) = budget.describe() {
        warnings.push(ParseWarning {
            file: calendar_id.to_string(),
            line: None,
            uid: None,
            message,
            skipped: true,
        });
    }
    let occurrences = budget.into_occurrences();
    debug_assert!(occurrences.is_sorted_by(|a, b| {
        (&a.uid, a.recurrence_id, a.start) <= (&b.uid, b.recurrence_id, b.start)
    }));
    // Stable sort: file by file, line by line, same order every run.
    warnings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    ParsedCalendar {
        occurrences,
        warnings,
        incomplete,
    }
}

/// The IANA zone for a zone name as calendar providers write it: an IANA
/// name, a Windows ID ("Russian Standard Time", as Microsoft Graph returns
/// under `Prefer: outlook.timezone`) or an Outlook display name
/// ("(UTC+03:00) Moscow, St. Petersburg"). `None` when unknown.
pub fn zone_for_name(name: &str) -> Option<Tz> {
    timezone::known_zone(&timezone::normalize_tzid(name))
}

/// Reads one file's events (with their zones resolved) into `events`, in
/// two passes over the text so a file of a million events is never held as
/// a tree: the first keeps only the VTIMEZONEs and each VCALENDAR's METHOD
/// (a zone may be defined after the events that use it), the second reads
/// each VEVENT as it closes and lets it go.
fn read_file(
    file: &IcsInput,
    opts: &ExpandOptions,
    events: &mut Vec<EventData>,
    warnings: &mut Vec<ParseWarning>,
    incomplete: &mut Vec<ParseWarning>,
) {
    // Pass 1. A VEVENT or VTIMEZONE is ours when no VEVENT or VTIMEZONE
    // holds it (their own parts, VALARM or STANDARD, stay attached); the
    // METHOD of a VCALENDAR is keyed by the line it begins on.
    let mut vtimezones: Vec<Component> = Vec::new();
    let mut methods: HashMap<usize, Option<String>> = HashMap::new();
    let mut top_level = 0;
    let mut cut_off: Option<(usize, String)> = None;
    let (_, issues) = lexer::stream_components(&file.data, |c, ancestors| {
        if ancestors.is_empty() {
            top_level += 1;
            if !c.closed && cut_off.is_none() {
                cut_off = Some((c.line, c.name.clone()));
            }
        }
        if !is_ours(ancestors) {
            return Some(c);
        }
        match c.name.as_str() {
            "VTIMEZONE" => vtimezones.push(c),
            "VCALENDAR" => {
                methods.insert(
                    c.line,
                    c.prop("METHOD")
                        .map(|p| p.value.trim().to_ascii_uppercase()),
                );
            }
            _ => {}
        }
        None
    });
    let uid_of = |c: &Component| {
        c.prop("UID")
            .map(|p| p.text().trim().to_string())
            .filter(|u| !u.is_empty())
    };
    let warning = |line: usize, uid: Option<String>, message: String, skipped: bool| ParseWarning {
        file: file.name.clone(),
        line: Some(line),
        uid,
        message,
        skipped,
    };

    let zones: Vec<&Component> = vtimezones.iter().collect();
    let (mut resolver, zone_notes) = ZoneResolver::new(
        &zones,
        opts.default_tz,
        (opts.window_start, opts.window_end),
    );
    let floating = Zone::floating(opts.default_tz);

    // Pass 2: every event, read as it closes.
    let mut event_warnings = Vec::new();
    // The UID of the event each unreadable line sat in (the first one).
    let mut issue_uids: Vec<Option<String>> = vec![None; issues.len()];
    lexer::stream_components(&file.data, |c, ancestors| {
        if !is_ours(ancestors) {
            return Some(c);
        }
        if c.name != "VEVENT" {
            return None;
        }
        let first = issues.partition_point(|issue| issue.line < c.line);
        for (i, issue) in issues.iter().enumerate().skip(first) {
            if issue.line > c.end_line {
                break;
            }
            if issue_uids[i].is_none() {
                issue_uids[i] = uid_of(&c);
            }
        }
        let method = ancestors
            .iter()
            .rev()
            .find(|a| a.name == "VCALENDAR")
            .and_then(|calendar| methods.get(&calendar.line).cloned().flatten());
        if method_is_not_state(method.as_deref()) {
            return None;
        }
        let (result, notes) =
            read_event(&c, &file.name, method.as_deref(), &mut resolver, &floating);
        let uid = match &result {
            Ok(event) => Some(event.uid.clone()),
            Err(_) => uid_of(&c),
        };
        for (line, message) in notes {
            event_warnings.push(warning(line, uid.clone(), message, false));
        }
        match result {
            Ok(mut event) => {
                let cuts = bound_event(&mut event, &opts.limits);
                if cuts.any() {
                    event_warnings.push(warning(
                        c.line,
                        Some(event.uid.clone()),
                        cuts.describe(&opts.limits),
                        false,
                    ));
                }
                events.push(event)
            }
            Err(message) => event_warnings.push(warning(
                c.line,
                uid,
                format!("event skipped: {message}"),
                true,
            )),
        }
        None
    });

    for (issue, uid) in issues.into_iter().zip(issue_uids) {
        let message = if issue.kept {
            issue.message
        } else {
            format!("line skipped: {}", issue.message)
        };
        warnings.push(warning(issue.line, uid, message, false));
    }
    if top_level == 0 {
        let empty = ParseWarning {
            file: file.name.clone(),
            line: None,
            uid: None,
            message: "no calendar data found".into(),
            skipped: false,
        };
        incomplete.push(empty.clone());
        warnings.push(empty);
    }
    if let Some((line, name)) = cut_off {
        let cut = warning(
            line,
            None,
            format!("cut off: {name} opened on line {line} has no END:{name}"),
            false,
        );
        incomplete.push(cut.clone());
        warnings.push(cut);
    }
    for (line, message) in zone_notes {
        warnings.push(warning(line, None, message, false));
    }
    warnings.extend(event_warnings);
}

/// Applies the per-event limits to an event as read, before its instances
/// copy it.
fn bound_event(event: &mut EventData, limits: &EventLimits) -> limits::Cuts {
    let d = &mut event.details;
    limits::bound_event(
        limits::EventParts {
            uid: Some(&mut event.uid),
            title: &mut d.title,
            location: &mut d.location,
            url: &mut d.url,
            conference: &mut d.conference,
            organizer: &mut d.organizer,
            attendees: &mut d.attendees,
            tags: &mut d.tags,
        },
        limits,
    )
}

/// Whether a component closing under these ancestors is one the reader
/// looks at: not a part of an event or of a zone definition.
fn is_ours(ancestors: &[Component]) -> bool {
    !ancestors
        .iter()
        .any(|a| a.name == "VEVENT" || a.name == "VTIMEZONE")
}

/// Which of several copies of the same component wins: the highest
/// SEQUENCE, then the latest DTSTAMP, then the one read last — by file name
/// and line, not by the order the files were handed in, so the result does
/// not depend on which source answered first.
fn precedence(e: &EventData) -> (i64, Option<DateTime<Utc>>, &str, usize) {
    (e.sequence, e.dtstamp, e.file.as_str(), e.line)
}

/// A cancellation applies when it is not older than what it cancels.
fn cancels(cancel: &EventData, target: &EventData) -> bool {
    cancel.sequence >= target.sequence || cancel.dtstamp > target.dtstamp
}

/// Merges every component of one UID (master, overrides, cancellations)
/// and emits its occurrences. With a `share`, a recurring master is
/// expanded to at most that many instances; true when it had more.
fn merge_series(
    calendar: &str,
    group: Vec<EventData>,
    opts: &ExpandOptions,
    share: Option<usize>,
    out: &mut Vec<Occurrence>,
    warnings: &mut Vec<ParseWarning>,
) -> bool {
    let mut stopped = false;
    let (cancel_msgs, components): (Vec<EventData>, Vec<EventData>) =
        group.into_iter().partition(EventData::is_cancel_message);
    let master = components
        .iter()
        .filter(|e| e.recurrence_id.is_none())
        .max_by_key(|e| precedence(e));
    let mut warn = |e: &EventData, line: usize, message: String, skipped: bool| {
        warnings.push(ParseWarning {
            file: e.file.clone(),
            line: Some(line),
            uid: Some(e.uid.clone()),
            message,
            skipped,
        });
    };

    let series_cancelled = master.is_some_and(|m| {
        cancel_msgs
            .iter()
            .any(|c| c.recurrence_id.is_none() && cancels(c, m))
    });
    let master_start = master.and_then(|m| m.start.clone());
    let master_length = master.and_then(|m| {
        let start = m.start.as_ref()?;
        Some(event_length(m, start, None, &mut Vec::new()))
    });
    let frame = master_start.as_ref().map(Frame::of);
    let key_of = |rid: &Time| match (&frame, &master_start) {
        (Some(frame), Some(start)) => frame.key_of(rid, start),
        _ => rid.utc(),
    };

    // Overrides: one per instance key, the newest copy winning.
    let mut overrides: HashMap<DateTime<Utc>, &EventData> = HashMap::new();
    for e in components.iter().filter(|e| e.recurrence_id.is_some()) {
        let key = key_of(e.recurrence_id.as_ref().expect("filtered on recurrence_id"));
        match overrides.get(&key) {
            Some(current) if precedence(current) >= precedence(e) => {}
            _ => {
                overrides.insert(key, e);
            }
        }
    }
    // A newer revision wins (RFC 5545 §3.8.7.4): an override older than
    // its master (lower SEQUENCE) is for an instance the master may since
    // have removed — by an EXDATE, an earlier UNTIL or COUNT, a new rule.
    // If the master no longer has that instance, the override is gone too.
    if let Some(m) = master {
        overrides.retain(|key, ov| {
            if ov.sequence >= m.sequence || master_has_instance(m, *key, opts) {
                return true;
            }
            warn(
                ov,
                ov.line,
                format!(
                    "override of the instance at {} (SEQUENCE {}) ignored: the newer master \
                     (SEQUENCE {}) no longer has that instance",
                    key.format("%Y-%m-%dT%H:%M:%SZ"),
                    ov.sequence,
                    m.sequence
                ),
                false,
            );
            false
        });
    }
    let cancelled_keys: HashSet<DateTime<Utc>> = cancel_msgs
        .iter()
        .filter_map(|c| {
            let key = key_of(c.recurrence_id.as_ref()?);
            let applies = overrides.get(&key).is_none_or(|o| cancels(c, o));
            applies.then_some(key)
        })
        .collect();
    // THISANDFUTURE overrides, in key order: each reshapes the instances
    // from its key on (until a later one takes over).
    let mut ranges: Vec<(DateTime<Utc>, &EventData)> = overrides
        .iter()
        .filter(|(_, e)| e.this_and_future)
        .map(|(k, e)| (*k, *e))
        .collect();
    ranges.sort_by_key(|(k, _)| *k);

    let status_for = |key: Option<DateTime<Utc>>, own: EventStatus| {
        if series_cancelled || key.is_some_and(|k| cancelled_keys.contains(&k)) {
            EventStatus::Cancelled
        } else {
            own
        }
    };

    if let Some(master) = master {
        let start = master
            .start
            .as_ref()
            .expect("masters that are not cancel messages have DTSTART");
        let tz = zone_label(start);
        if master.is_recurring() {
            // The `rrule` crate is third-party code run on untrusted input;
            // should it panic, only this series is lost, not the calendar.
            let shared;
            let series_opts = match share {
                Some(share) => {
                    shared = ExpandOptions {
                        max_instances: share,
                        ..opts.clone()
                    };
                    &shared
                }
                None => opts,
            };
            let expanded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                expand(master, series_opts)
            }))
            .unwrap_or_else(|_| Err("expansion failed unexpectedly".to_string()));
            match expanded {
                Ok(mut expansion) => {
                    if share.is_some() && expansion.capped {
                        // Stopped at the budget's share, not at
                        // `max_instances`: the budget's warning says so,
                        // not the cap's note (the last one).
                        expansion.notes.pop();
                        stopped = true;
                    }
                    for (line, message) in expansion.notes {
                        warn(master, line, message, false);
                    }
                    for inst in expansion.instances {
                        if overrides.contains_key(&inst.key) {
                            continue;
                        }
                        let range = ranges
                            .iter()
                            .rev()
                            .find(|(k, _)| *k <= inst.key)
                            .map(|(k, e)| (*k, *e));
                        let (s, e, details, tz) = match range {
                            Some((rkey, ov)) => {
                                let ov_start = ov.start.as_ref().expect("overrides have DTSTART");
                                let mut notes = Vec::new();
                                let length = event_length(ov, ov_start, master_length, &mut notes);
                                let s = inst.start + (ov_start.utc() - rkey);
                                (s, s + length, &ov.details, zone_label(ov_start))
                            }
                            None => (inst.start, inst.end, &master.details, tz.clone()),
                        };
                        if in_window(s, e, opts) {
                            let status = status_for(Some(inst.key), details.status);
                            out.push(occurrence(
                                calendar,
                                &master.uid,
                                Some(inst.key),
                                s,
                                e,
                                start.is_date(),
                                tz,
                                details,
                                status,
                            ));
                        }
                    }
                }
                Err(message) => warn(
                    master,
                    master.line,
                    format!("event skipped: {message}"),
                    true,
                ),
            }
        } else {
            let key = key_of(start);
            if !overrides.contains_key(&key) {
                let mut notes = Vec::new();
                let s = start.utc();
                let e = s + event_length(master, start, None, &mut notes);
                for (line, message) in notes {
                    warn(master, line, message, false);
                }
                if in_window(s, e, opts) {
                    let status = status_for(None, master.details.status);
                    out.push(occurrence(
                        calendar,
                        &master.uid,
                        None,
                        s,
                        e,
                        start.is_date(),
                        tz,
                        &master.details,
                        status,
                    ));
                }
            }
        }
    } else if let Some(cancel) = cancel_msgs
        .iter()
        .filter(|c| c.recurrence_id.is_none())
        .max_by_key(|c| precedence(c))
    {
        // Only a cancellation is known: show it, cancelled, if it says when.
        if let Some(start) = &cancel.start {
            let mut notes = Vec::new();
            let s = start.utc();
            let e = s + event_length(cancel, start, None, &mut notes);
            if in_window(s, e, opts) {
                out.push(occurrence(
                    calendar,
                    &cancel.uid,
                    None,
                    s,
                    e,
                    start.is_date(),
                    zone_label(start),
                    &cancel.details,
                    EventStatus::Cancelled,
                ));
            }
        }
    }

    // Overrides are emitted with their own times, whether or not the
    // master (or the master's instance) is known: an override without a
    // master is still a meeting.
    let mut keyed: Vec<(&DateTime<Utc>, &&EventData)> = overrides.iter().collect();
    keyed.sort_by_key(|(k, _)| **k);
    for (key, ov) in keyed {
        let start = ov.start.as_ref().expect("overrides have DTSTART");
        let mut notes = Vec::new();
        let s = start.utc();
        let e = s + event_length(ov, start, master_length, &mut notes);
        for (line, message) in notes {
            warn(ov, line, message, false);
        }
        if in_window(s, e, opts) {
            let status = status_for(Some(*key), ov.details.status);
            out.push(occurrence(
                calendar,
                &ov.uid,
                Some(*key),
                s,
                e,
                start.is_date(),
                zone_label(start),
                &ov.details,
                status,
            ));
        }
    }
    stopped
}

/// Whether the master's own recurrence set (RRULE, RDATE, EXDATE, with
/// COUNT and UNTIL) has an instance at `key`, whatever the window. When
/// that cannot be told (expansion gave up), it is taken to have it.
fn master_has_instance(master: &EventData, key: DateTime<Utc>, opts: &ExpandOptions) -> bool {
    let around_key = ExpandOptions {
        window_start: key,
        window_end: key + chrono::Duration::seconds(1),
        default_tz: opts.default_tz,
        max_instances: 16,
        limits: opts.limits.clone(),
    };
    let expanded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| expand(master, &around_key)));
    match expanded {
        Ok(Ok(expansion)) => {
            expansion.instances.iter().any(|i| i.key == key)
                || expansion
                    .notes
                    .iter()
                    .any(|(_, note)| note.contains("expansion stopped"))
        }
        _ => true,
    }
}

fn zone_label(t: &Time) -> Option<String> {
    match t {
        Time::Date(_) => None,
        Time::At { zone, .. } => zone.label().map(str::to_string),
    }
}

#[allow(clippy::too_many_arguments)]
fn occurrence(
    calendar: &str,
    uid: &str,
    recurrence_id: Option<DateTime<Utc>>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    all_day: bool,
    tz: Option<String>,
    details: &Details,
    status: EventStatus,
) -> Occurrence {
    Occurrence {
        calendar: calendar.to_string(),
        uid: uid.to_string(),
        recurrence_id,
        start,
        end,
        all_day,
        tz,
        title: details.title.clone(),
        location: details.location.clone(),
        tags: details.tags.clone(),
        description_video_link: details.description_video_link,
        url: details.url.clone(),
        organizer: details.organizer.clone(),
        attendees: details.attendees.clone(),
        status,
        transparent: details.transparent,
        conference: details.conference.clone(),
        private: details.private,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ParsedCalendar {
        let options = ExpandOptions {
            window_start: "2026-01-01T00:00:00Z".parse().unwrap(),
            window_end: "2027-01-01T00:00:00Z".parse().unwrap(),
            default_tz: Tz::Europe__Moscow,
            max_instances: 100,
            limits: EventLimits::default(),
        };
        let input = IcsInput::new("x.ics", text);
        normalize(&[input], "cal", &options)
    }

    /// The reader streams events, so a zone written after the events that
    /// use it, and a METHOD written after the events, must still apply.
    #[test]
    fn zones_and_method_written_after_the_events_still_apply() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTAMP:20260101T000000Z\n\
            DTSTART;TZID=Office:20260310T100000\nDURATION:PT1H\nSUMMARY:Meeting\n\
            BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nEND:VALARM\nEND:VEVENT\n\
            BEGIN:VTIMEZONE\nTZID:Office\nBEGIN:STANDARD\nDTSTART:16010101T000000\n\
            TZOFFSETFROM:+0500\nTZOFFSETTO:+0500\nEND:STANDARD\nEND:VTIMEZONE\n\
            END:VCALENDAR\n\
            BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:b\nDTSTAMP:20260101T000000Z\n\
            DTSTART:20260311T100000Z\nDURATION:PT1H\nSUMMARY:Reply\nEND:VEVENT\n\
            METHOD:REPLY\nEND:VCALENDAR\n";
        let parsed = read(text);
        let starts: Vec<(String, String)> = parsed
            .occurrences
            .iter()
            .map(|o| (o.uid.clone(), o.start.to_rfc3339()))
            .collect();
        // 10:00 at +05:00; the REPLY describes no event.
        assert_eq!(
            starts,
            vec![("a".into(), "2026-03-10T05:00:00+00:00".into())]
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn an_unreadable_line_is_reported_with_the_event_it_sat_in() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTAMP:20260101T000000Z\n\
            DTSTART:20260310T100000Z\nno colon here\nDURATION:PT1H\nEND:VEVENT\nEND:VCALENDAR\n";
        let parsed = read(text);
        assert_eq!(parsed.occurrences.len(), 1);
        let w = &parsed.warnings[0];
        assert_eq!((w.line, w.uid.as_deref()), (Some(6), Some("a")), "{w:?}");
    }
}
