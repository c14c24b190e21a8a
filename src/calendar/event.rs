//! One VEVENT → `EventData`: its times resolved to zones, its recurrence
//! properties read, its descriptive fields (title, people, status, links)
//! normalized. Owns what each property means; does not expand recurrences
//! or merge overrides (see `recurrence` and `mod`).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::lexer::{unescape_text, Component, ContentLine};
use super::timezone::{Zone, ZoneRef, ZoneResolver};
use super::values::{
    parse_duration, read_rdate_list, read_time, read_time_list, PeriodEnd, RawRDate, RawTime,
};
use crate::model::{Attendee, EventStatus, PartStat};

/// A date or a zoned wall-clock time, ready to convert to UTC.
#[derive(Debug, Clone)]
pub enum Time {
    Date(NaiveDate),
    At { local: NaiveDateTime, zone: ZoneRef },
}

impl Time {
    /// UTC instant; a date is its 00:00 UTC (how all-day times are keyed).
    pub fn utc(&self) -> DateTime<Utc> {
        match self {
            Time::Date(d) => midnight_utc(*d),
            Time::At { local, zone } => zone.to_utc(*local),
        }
    }

    /// The date as written (local date for a date-time).
    pub fn written_date(&self) -> NaiveDate {
        match self {
            Time::Date(d) => *d,
            Time::At { local, .. } => local.date(),
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, Time::Date(_))
    }
}

pub fn midnight_utc(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// An RDATE: a start, or a PERIOD with its own end.
#[derive(Debug, Clone)]
pub enum RDate {
    At(Time),
    Period(Time, Time),
}

/// What every occurrence of an event (or of one override) shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub title: String,
    pub location: Option<String>,
    /// What classification reads in the description, which is not kept.
    pub tags: Vec<String>,
    pub description_video_link: bool,
    /// CLASS:PRIVATE or CLASS:CONFIDENTIAL.
    pub private: bool,
    pub url: Option<String>,
    pub organizer: Option<Attendee>,
    pub attendees: Vec<Attendee>,
    pub status: EventStatus,
    pub transparent: bool,
    pub conference: Option<String>,
}

/// A VEVENT as read, before merging with the other components of its UID.
#[derive(Debug, Clone)]
pub struct EventData {
    pub uid: String,
    pub file: String,
    /// Line of BEGIN:VEVENT.
    pub line: usize,
    /// METHOD of the enclosing VCALENDAR, upper-cased.
    pub method: Option<String>,
    pub sequence: i64,
    pub dtstamp: Option<DateTime<Utc>>,
    /// `None` only for cancellations (METHOD:CANCEL) that omit DTSTART.
    pub start: Option<Time>,
    pub end: Option<Time>,
    pub duration: Option<Duration>,
    /// RRULE values with their line numbers.
    pub rrules: Vec<(String, usize)>,
    pub rdates: Vec<RDate>,
    pub exdates: Vec<Time>,
    pub recurrence_id: Option<Time>,
    /// RECURRENCE-ID;RANGE=THISANDFUTURE.
    pub this_and_future: bool,
    pub details: Details,
}

impl EventData {
    pub fn is_cancel_message(&self) -> bool {
        self.method.as_deref() == Some("CANCEL")
    }

    pub fn is_recurring(&self) -> bool {
        !self.rrules.is_empty() || !self.rdates.is_empty()
    }
}

/// Warnings found while reading one event: (line, message).
pub type Notes = Vec<(usize, String)>;

/// METHODs whose components describe no event state of their own: a REPLY
/// carries one attendee's answer, a COUNTER a proposal the organizer has not
/// accepted. Reading them as events would invent or move meetings.
pub fn method_is_not_state(method: Option<&str>) -> bool {
    matches!(
        method,
        Some("REPLY" | "COUNTER" | "REFRESH" | "DECLINECOUNTER")
    )
}

/// Reads one VEVENT. `Err` means the event must be skipped (the message
/// says why); `Ok` may still carry notes about properties that were ignored.
pub fn read_event(
    component: &Component,
    file: &str,
    method: Option<&str>,
    resolver: &mut ZoneResolver,
    floating: &ZoneRef,
) -> (Result<EventData, String>, Notes) {
    let mut notes: Notes = Vec::new();
    let result = read_event_inner(component, file, method, resolver, floating, &mut notes);
    (result, notes)
}

fn read_event_inner(
    component: &Component,
    file: &str,
    method: Option<&str>,
    resolver: &mut ZoneResolver,
    floating: &ZoneRef,
    notes: &mut Notes,
) -> Result<EventData, String> {
    let is_cancel = method == Some("CANCEL");
    let mut resolve = |raw: RawTime, line: usize, notes: &mut Notes| -> Time {
        match raw {
            RawTime::Date(d) => Time::Date(d),
            RawTime::Floating(local) => Time::At {
                local,
                zone: floating.clone(),
            },
            RawTime::Utc(local) => Time::At {
                local,
                zone: Zone::utc(),
            },
            RawTime::Zoned(local, tzid) => {
                let (zone, warning) = resolver.resolve(&tzid, local);
                if let Some(w) = warning {
                    notes.push((line, w));
                }
                Time::At { local, zone }
            }
        }
    };

    let start = match component.prop("DTSTART") {
        Some(p) => Some(resolve(
            read_time(p).map_err(|e| format!("DTSTART on line {}: {e}", p.line))?,
            p.line,
            notes,
        )),
        None if is_cancel => None,
        None => return Err("no DTSTART".into()),
    };
    if !component.closed {
        notes.push((
            component.line,
            "VEVENT not closed before the end of the file; read as far as it goes".into(),
        ));
    }

    let end = match component.prop("DTEND") {
        Some(p) => match read_time(p) {
            Ok(raw) => Some(resolve(raw, p.line, notes)),
            Err(e) => {
                notes.push((p.line, format!("DTEND ignored: {e}")));
                None
            }
        },
        None => None,
    };
    let duration = match component.prop("DURATION") {
        Some(p) => match parse_duration(&p.value) {
            Some(d) => Some(d),
            None => {
                notes.push((p.line, format!("DURATION {:?} ignored", p.value)));
                None
            }
        },
        None => None,
    };

    let recurrence_id = match component.prop("RECURRENCE-ID") {
        Some(p) => Some(resolve(
            read_time(p).map_err(|e| format!("RECURRENCE-ID on line {}: {e}", p.line))?,
            p.line,
            notes,
        )),
        None => None,
    };
    let this_and_future = component
        .prop("RECURRENCE-ID")
        .and_then(|p| p.param("RANGE"))
        .is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE"));

    let mut exdates = Vec::new();
    for p in component.props_named("EXDATE") {
        match read_time_list(p) {
            Ok(list) => {
                for raw in list {
                    exdates.push(resolve(raw, p.line, notes));
                }
            }
            Err(e) => notes.push((p.line, format!("EXDATE ignored: {e}"))),
        }
    }
    let mut rdates = Vec::new();
    for p in component.props_named("RDATE") {
        match read_rdate_list(p) {
            Ok(list) => {
                for raw in list {
                    rdates.push(match raw {
                        RawRDate::At(t) => RDate::At(resolve(t, p.line, notes)),
                        RawRDate::Period(s, PeriodEnd::End(e)) => {
                            RDate::Period(resolve(s, p.line, notes), resolve(e, p.line, notes))
                        }
                        RawRDate::Period(s, PeriodEnd::Duration(d)) => {
                            let s = resolve(s, p.line, notes);
                            let e = match &s {
                                Time::Date(day) => {
                                    Time::Date(*day + Duration::days(d.num_days().max(1)))
                                }
                                Time::At { local, zone } => {
                                    let end_utc = zone.to_utc(*local) + d;
                                    Time::At {
                                        local: zone.to_local(end_utc),
                                        zone: zone.clone(),
                                    }
                                }
                            };
                            RDate::Period(s, e)
                        }
                    });
                }
            }
            Err(e) => notes.push((p.line, format!("RDATE ignored: {e}"))),
        }
    }
    let rrules = component
        .props_named("RRULE")
        .map(|p| (p.value.trim().to_string(), p.line))
        .collect();

    let sequence = component
        .prop("SEQUENCE")
        .and_then(|p| p.value.trim().parse().ok())
        .unwrap_or(0);
    let dtstamp = component
        .prop("DTSTAMP")
        .and_then(|p| read_time(p).ok())
        .map(|raw| match raw {
            RawTime::Utc(t) | RawTime::Floating(t) | RawTime::Zoned(t, _) => t.and_utc(),
            RawTime::Date(d) => midnight_utc(d),
        });

    let uid = component
        .prop("UID")
        .map(|p| p.text().trim().to_string())
        .filter(|u| !u.is_empty());
    let uid = match uid {
        Some(uid) => uid,
        None => {
            let uid = synthesized_uid(component);
            notes.push((component.line, format!("event has no UID; using {uid}")));
            uid
        }
    };

    let mut details = read_details(component);
    if is_cancel {
        details.status = EventStatus::Cancelled;
    }

    Ok(EventData {
        uid,
        file: file.to_string(),
        line: component.line,
        method: method.map(str::to_string),
        sequence,
        dtstamp,
        start,
        end,
        duration,
        rrules,
        rdates,
        exdates,
        recurrence_id,
        this_and_future,
        details,
    })
}

/// A stable UID for an event that has none: a hash of its content (minus
/// the stamps that change on every export), so reruns key it the same way.
fn synthesized_uid(component: &Component) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for p in &component.props {
        if matches!(
            p.name.as_str(),
            "DTSTAMP" | "LAST-MODIFIED" | "SEQUENCE" | "CREATED"
        ) {
            continue;
        }
        hasher.update(p.name.as_bytes());
        for (name, values) in &p.params {
            hasher.update(name.as_bytes());
            for v in values {
                hasher.update(v.as_bytes());
            }
        }
        hasher.update(p.value.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("no-uid-{hex}")
}

fn read_details(c: &Component) -> Details {
    let text = |name: &str| {
        c.prop(name)
            .map(|p| p.text().trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let transparent = c
        .prop("TRANSP")
        .is_some_and(|p| p.value.trim().eq_ignore_ascii_case("TRANSPARENT"))
        || c.prop("X-MICROSOFT-CDO-BUSYSTATUS")
            .is_some_and(|p| p.value.trim().eq_ignore_ascii_case("FREE"));
    let conference = [
        "X-GOOGLE-CONFERENCE",
        "CONFERENCE",
        "X-MICROSOFT-SKYPETEAMSMEETINGURL",
        "X-MICROSOFT-ONLINEMEETINGCONFLINK",
    ]
    .iter()
    .find_map(|name| {
        c.props_named(name)
            .map(|p| p.text().trim().to_string())
            .find(|v| !v.is_empty())
    });
    // RFC 5545 §3.8.1.3: PUBLIC (the default), PRIVATE, CONFIDENTIAL, or
    // an x-name/iana-token, which the RFC says to treat as PRIVATE.
    let private = c
        .prop("CLASS")
        .is_some_and(|p| !matches!(p.value.trim().to_ascii_uppercase().as_str(), "PUBLIC" | ""));
    let mut tags = Vec::new();
    let mut description_video_link = false;
    if let Some(description) = c.prop("DESCRIPTION").map(ContentLine::text) {
        crate::calendar::limits::keep_tags(&mut tags, &description, crate::model::MAX_TAG_CHARS);
        description_video_link = crate::classify::text::has_video_link(&description);
    }
    Details {
        title: text("SUMMARY").unwrap_or_default(),
        location: text("LOCATION"),
        tags,
        description_video_link,
        private,
        url: text("URL"),
        organizer: c.prop("ORGANIZER").map(|p| read_person(p, true)),
        attendees: c
            .props_named("ATTENDEE")
            .map(|p| read_person(p, false))
            .collect(),
        status: c
            .prop("STATUS")
            .map_or(EventStatus::Confirmed, |p| EventStatus::parse(&p.value)),
        transparent,
        conference,
    }
}

/// ATTENDEE / ORGANIZER → `Attendee`. The address loses `mailto:` (any
/// case) and all whitespace (folding inside an address leaves spaces), and
/// is lower-cased; Apple's EMAIL parameter is used when the value is a URN.
pub fn read_person(p: &ContentLine, organizer: bool) -> Attendee {
    let mut email = address(&p.value);
    if !email.contains('@') {
        if let Some(param) = p.param("EMAIL").map(address).filter(|e| e.contains('@')) {
            email = param;
        }
    }
    let name = p
        .param("CN")
        .map(|cn| unescape_text(cn).trim().to_string())
        .filter(|cn| !cn.is_empty());
    let partstat = if organizer {
        PartStat::Accepted
    } else {
        p.param("PARTSTAT")
            .map_or(PartStat::NeedsAction, PartStat::parse)
    };
    let role = p
        .param("ROLE")
        .map(|r| r.trim().to_ascii_uppercase())
        .filter(|r| !r.is_empty());
    Attendee {
        email,
        name,
        partstat,
        role,
    }
}

fn address(value: &str) -> String {
    let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    // `get`, not `[..7]`: byte 7 may fall inside a multi-byte character.
    let v = match v.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &v[7..],
        _ => &v[..],
    };
    v.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::lexer::parse_content_line;

    #[test]
    fn people_are_normalized() {
        let p = parse_content_line("ATTENDEE;CN=\"Doe\\, Jane\";PARTSTAT=confirmed;ROLE=chair:MAILTO: Jane.Doe@Example.COM ", 1).unwrap();
        let a = read_person(&p, false);
        assert_eq!(a.email, "jane.doe@example.com");
        assert_eq!(a.name.as_deref(), Some("Doe, Jane"));
        assert_eq!(a.partstat, PartStat::Accepted);
        assert_eq!(a.role.as_deref(), Some("CHAIR"));
        let p = parse_content_line("ATTENDEE;EMAIL=x@y.org:urn:uuid:1234", 1).unwrap();
        assert_eq!(read_person(&p, false).email, "x@y.org");
        let p = parse_content_line("ORGANIZER:mailto:hcabot@ example.com", 1).unwrap();
        let o = read_person(&p, true);
        assert_eq!(o.email, "hcabot@example.com");
        assert_eq!(o.partstat, PartStat::Accepted);
    }

    /// Found by `cargo fuzz` (fuzz/artifacts/ics_normalize/crash-f76cb161…):
    /// an address whose 7th byte falls inside a multi-byte character made
    /// the "mailto:" check slice through it and panic.
    #[test]
    fn fuzz_crash_f76cb161_address_with_non_ascii_across_byte_7() {
        for value in [
            "Mailt\u{fffd}@example.com",
            "abcdef\u{fffd}x@y.org",
            "mailto\u{e9}x@y",
        ] {
            let p = parse_content_line(&format!("ATTENDEE:{value}"), 1).unwrap();
            let a = read_person(&p, false);
            assert_eq!(a.email, value.to_lowercase());
        }
        let p = parse_content_line("ATTENDEE:MAILTO:\u{e9}l\u{e8}ve@\u{e9}cole.fr", 1).unwrap();
        assert_eq!(
            read_person(&p, false).email,
            "\u{e9}l\u{e8}ve@\u{e9}cole.fr"
        );
    }
}
