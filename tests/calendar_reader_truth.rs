//! The calendar reader against what producers really write (issue 11,
//! "Calendar reader"): folds inside multi-byte characters, invalid RRULEs,
//! overrides older than their master, truncated VTIMEZONEs, Outlook
//! city-list zones, hourly series across a DST gap, and empty or cut-off
//! files. Library-level cases go through `meetledger::calendar::normalize`;
//! what users see (meetings credited, ledger entries, source status) goes
//! through the real binary (tests/common).

mod common;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::{attendee, event, ics, Company};
use meetledger::calendar::{normalize, ExpandOptions, IcsInput, ParsedCalendar};
use serde_json::Value;

fn opts(from: &str, to: &str) -> ExpandOptions {
    ExpandOptions {
        window_start: format!("{from}T00:00:00Z").parse().unwrap(),
        window_end: format!("{to}T00:00:00Z").parse().unwrap(),
        default_tz: Tz::Europe__Moscow,
        max_instances: 1000,
        limits: Default::default(),
    }
}

fn read(data: impl Into<Vec<u8>>, from: &str, to: &str) -> ParsedCalendar {
    normalize(&[IcsInput::new("t.ics", data)], "cal", &opts(from, to))
}

fn starts(parsed: &ParsedCalendar, uid: &str) -> Vec<String> {
    parsed
        .occurrences
        .iter()
        .filter(|o| o.uid == uid)
        .map(|o| o.start.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

// ------------------------------------------- folds inside a character

/// A content line folded (CRLF + space, RFC 5545 §3.1) after `at` bytes of
/// its UTF-8 encoding, as a writer that counts octets does.
fn fold_at(line: &str, at: usize) -> Vec<u8> {
    let bytes = line.as_bytes();
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(b"\r\n ");
    out.extend_from_slice(&bytes[at..]);
    out
}

/// RFC 5545 §3.1: "Lines of text SHOULD NOT be longer than 75 octets …
/// multi-octet characters … split across a fold" — a split character must
/// come back whole. For a 2-, 3- and 4-byte character, a fold at every
/// byte position inside it (and at both of its edges), in SUMMARY,
/// LOCATION and an ATTENDEE's CN (a parameter value).
#[test]
fn a_fold_at_every_byte_of_a_multibyte_character_keeps_the_character() {
    for ch in ['Ж', '€', '会', '😀'] {
        let width = ch.len_utf8();
        let value = format!("Встреча {ch} ООО Ромашка");
        let lines = [
            ("SUMMARY", format!("SUMMARY:{value}")),
            ("LOCATION", format!("LOCATION:{value}")),
            (
                "CN",
                format!("ATTENDEE;CN=\"{value}\";PARTSTAT=ACCEPTED:mailto:boss@romashka.ru"),
            ),
        ];
        for (what, line) in &lines {
            let char_at = line.find(ch).unwrap();
            for offset in 0..=width {
                let folded = fold_at(line, char_at + offset);
                let mut data = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:f@x\r\n\
                    DTSTAMP:20260101T000000Z\r\nDTSTART:20260310T100000Z\r\n\
                    DURATION:PT1H\r\n"
                    .to_vec();
                data.extend_from_slice(&folded);
                data.extend_from_slice(b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
                let parsed = read(data, "2026-01-01", "2027-01-01");
                let o = &parsed.occurrences[0];
                let got = match *what {
                    "SUMMARY" => o.title.clone(),
                    "LOCATION" => o.location.clone().unwrap(),
                    _ => o.attendees[0].name.clone().unwrap(),
                };
                assert_eq!(
                    got, value,
                    "{what}: {width}-byte {ch:?} folded after byte {offset}"
                );
                assert!(
                    parsed.warnings.is_empty(),
                    "{what} {ch:?} at {offset}: {:?}",
                    parsed.warnings
                );
            }
        }
    }
}

/// Bytes that are not UTF-8 at all are still replaced, and said so with
/// their line (the event is kept).
#[test]
fn bytes_that_are_not_utf8_are_replaced_with_a_warning_on_their_line() {
    let mut data = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b@x\r\n\
        DTSTART:20260310T100000Z\r\nSUMMARY:caf"
        .to_vec();
    data.extend_from_slice(b"\xe9 Paris\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let parsed = read(data, "2026-01-01", "2027-01-01");
    assert_eq!(parsed.occurrences[0].title, "caf\u{fffd} Paris");
    let w = &parsed.warnings[0];
    assert_eq!(w.line, Some(5), "{w:?}");
    assert!(w.message.contains("not valid UTF-8"), "{w:?}");
}

const NOW: &str = "2026-11-27T18:00:00+03:00";

fn explain(company: &Company, uid: &str) -> Value {
    company
        .ok(
            NOW,
            &[
                "explain",
                "--calendar",
                "ivanov-main",
                "--uid",
                uid,
                "--format",
                "json",
            ],
        )
        .json()
}

/// The client is named only in the title ("Ромашка"), and the writer folded
/// the line inside the "ш" (0xD1 0x88). The meeting must still be matched
/// to that client by title, not read as `internal`.
#[test]
fn a_client_named_only_in_a_title_folded_inside_a_cyrillic_letter_is_matched() {
    let company = Company::new("");
    let title = "Встреча ООО «Ромашка»";
    let text = ics(&[event("fold@acme", "20261110T100000", 60, title, &[])]);
    let line = format!("SUMMARY:{title}");
    let split = line.find('ш').unwrap() + 1;
    let mut data = text.as_bytes().to_vec();
    let at = text.find(&line).unwrap();
    data.splice(at..at + line.len(), fold_at(&line, split));
    std::fs::write(company.path("calendars/ivanov.ics"), &data).unwrap();
    company.ok(NOW, &["run", "--once"]);
    let e = explain(&company, "fold@acme");
    assert_eq!(e["meeting"], true, "{e}");
    assert_eq!(
        (e["client"].as_str(), e["rule"].as_str()),
        (Some("c1"), Some("title")),
        "{e}"
    );
}

// ------------------------------------------- empty or cut-off calendars

fn source_status(company: &Company, id: &str) -> Value {
    let status = company.ok(NOW, &["status", "--format", "json"]).json();
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no source {id} in {status}"))
}

fn entry_changes(company: &Company) -> Vec<String> {
    company
        .ok(
            NOW,
            &["entries", "--period", "2026-11", "--format", "jsonl"],
        )
        .jsonl()
        .iter()
        .map(|e| e["change"].as_str().unwrap().to_string())
        .collect()
}

/// A visit to client c1 on 10 November (`a@acme`) or 12 November (others).
fn visit(uid: &str) -> String {
    let start = if uid == "a@acme" {
        "20261110T100000"
    } else {
        "20261112T100000"
    };
    event(
        uid,
        start,
        60,
        "Визит",
        &[&attendee("boss@romashka.ru", "ACCEPTED")],
    )
}

/// A file being rewritten (zero bytes, or cut before END:VCALENDAR) is a
/// failed read: `sync` exits 1 naming the source, the stored meetings stay
/// (no `removed` entries), `status` shows the error; once the file is whole
/// again nothing is booked `added` a second time.
#[test]
fn an_empty_or_cut_off_ics_file_keeps_the_stored_meetings_and_fails_the_source() {
    let company = Company::new("");
    let whole = ics(&[visit("a@acme"), visit("b@acme")]);
    company.write("calendars/ivanov.ics", &whole);
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    assert_eq!(entry_changes(&company), ["added", "added"]);

    let cut = &whole[..whole.find("BEGIN:VEVENT\r\nUID:b@acme").unwrap() + 30];
    for (what, text) in [("empty", ""), ("cut off", cut)] {
        company.write("calendars/ivanov.ics", text);
        let run = company.run(NOW, &["sync"]);
        assert_eq!(run.code, 1, "{what}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("ivanov-main: FAILED"),
            "{what}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("petrova-main: "),
            "{what}: the other sources still sync: {}",
            run.stdout
        );
        company.ok(NOW, &["score"]);
        assert_eq!(entry_changes(&company), ["added", "added"], "{what}");
        let source = source_status(&company, "ivanov-main");
        let error = source["last_error"].as_str().unwrap_or_default();
        let expected = if text.is_empty() { "empty" } else { "cut off" };
        assert!(error.contains(expected), "{what}: {source}");
    }

    company.write("calendars/ivanov.ics", &whole);
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    assert_eq!(entry_changes(&company), ["added", "added"]);
}

/// A calendar with no events, properly closed, is a real empty calendar:
/// its meetings are removed.
#[test]
fn a_closed_calendar_without_events_is_a_real_empty_calendar() {
    let company = Company::new("");
    company.write("calendars/ivanov.ics", &ics(&[visit("a@acme")]));
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    company.write("calendars/ivanov.ics", &ics(&[]));
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    assert_eq!(entry_changes(&company), ["added", "removed"]);
}

/// One broken file in a folder calendar fails the whole calendar (its
/// events may be the overrides of another file's series), keeping what is
/// stored.
#[test]
fn one_cut_off_file_in_a_folder_calendar_fails_that_calendar_only() {
    let company = Company::new("");
    let config = std::fs::read_to_string(company.config())
        .unwrap()
        .replace("calendars/ivanov.ics", "calendars/ivanov");
    company.write("meetledger.toml", &config);
    company.write("calendars/ivanov/a.ics", &ics(&[visit("a@acme")]));
    company.write("calendars/ivanov/b.ics", &ics(&[visit("b@acme")]));
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    assert_eq!(entry_changes(&company), ["added", "added"]);

    let whole_b = ics(&[visit("b@acme")]);
    company.write(
        "calendars/ivanov/b.ics",
        &whole_b[..whole_b.find("END:VCALENDAR").unwrap()],
    );
    let run = company.run(NOW, &["sync"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("ivanov-main: FAILED"), "{}", run.stdout);
    company.ok(NOW, &["score"]);
    assert_eq!(entry_changes(&company), ["added", "added"]);
    let source = source_status(&company, "ivanov-main");
    assert!(
        source["last_error"].as_str().unwrap().contains("b.ics"),
        "{source}"
    );
}

/// A calendar path that does not exist fails that source only: the other
/// sources sync (exit 1, not the config error exit 2); `check-config` still
/// reports the missing file.
#[test]
fn a_missing_calendar_path_fails_that_source_only() {
    let company = Company::new("");
    company.write("calendars/ivanov.ics", &ics(&[visit("a@acme")]));
    std::fs::remove_file(company.path("calendars/petrova.ics")).unwrap();
    let run = company.run(NOW, &["sync"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("petrova-main: FAILED"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ivanov-main: 1 changed"),
        "{}",
        run.stdout
    );
    let source = source_status(&company, "petrova-main");
    assert!(
        source["last_error"]
            .as_str()
            .unwrap()
            .contains("petrova.ics"),
        "{source}"
    );
    let check = company.run(NOW, &["check-config"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("petrova.ics` does not exist"));
}

// ------------------------------------------------------- invalid RRULEs

fn one_event(uid: &str, dtstart: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART{dtstart}\r\nDURATION:PT1H\r\nSUMMARY:x\r\n\
         {extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn warnings_of<'a>(parsed: &'a ParsedCalendar, uid: &str) -> Vec<&'a str> {
    parsed
        .warnings
        .iter()
        .filter(|w| w.uid.as_deref() == Some(uid))
        .map(|w| w.message.as_str())
        .collect()
}

/// RFC 5545 §3.8.5.3: "The "DTSTART" property value always counts as the
/// first occurrence." An RRULE that cannot be read (holiday feeds write an
/// empty one, or COUNT=-1 for "no limit") loses the rule, or its bad part,
/// never the event; the event is not counted as skipped.
#[test]
fn an_unreadable_rrule_keeps_the_event_and_what_of_the_rule_is_readable() {
    let cases: [(&str, &str, &[&str], &str); 5] = [
        ("empty", "RRULE:\r\n", &["2026-03-02T09:00Z"], "empty rule"),
        (
            "no-freq",
            "RRULE:COUNT=3;BYDAY=MO\r\n",
            &["2026-03-02T09:00Z"],
            "no FREQ",
        ),
        (
            "count-minus-one",
            "RRULE:FREQ=WEEKLY;COUNT=-1\r\n",
            &[
                "2026-03-02T09:00Z",
                "2026-03-09T09:00Z",
                "2026-03-16T09:00Z",
                "2026-03-23T09:00Z",
                "2026-03-30T09:00Z",
            ],
            "COUNT=-1",
        ),
        (
            "garbled-until",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260310T25\r\n",
            &[
                "2026-03-02T09:00Z",
                "2026-03-04T09:00Z",
                "2026-03-09T09:00Z",
                "2026-03-11T09:00Z",
                "2026-03-16T09:00Z",
                "2026-03-18T09:00Z",
                "2026-03-23T09:00Z",
                "2026-03-25T09:00Z",
                "2026-03-30T09:00Z",
            ],
            "UNTIL=20260310T25",
        ),
        (
            "garbage-part",
            "RRULE:FREQ=DAILY;COUNT=3;;INTERVAL;X\r\n",
            &[
                "2026-03-02T09:00Z",
                "2026-03-03T09:00Z",
                "2026-03-04T09:00Z",
            ],
            "INTERVAL",
        ),
    ];
    for (uid, rule, expected, named) in cases {
        let parsed = read(
            one_event(uid, ":20260302T090000Z", rule),
            "2026-03-01",
            "2026-04-01",
        );
        assert_eq!(starts(&parsed, uid), expected, "{uid}");
        let warnings = warnings_of(&parsed, uid);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("RRULE on line 10") && w.contains(named)),
            "{uid}: {warnings:?}"
        );
        assert!(
            parsed.warnings.iter().all(|w| !w.skipped),
            "{uid}: {:?}",
            parsed.warnings
        );
    }
}

// ------------------------------------------- a newer revision wins

/// A weekly series of four Tuesdays (6–27 October 2026, 10:00 Moscow), its
/// master at SEQUENCE `master_seq` with `master_extra`, and an override of
/// the third instance (20 October), moved to Wednesday 14:00, at SEQUENCE
/// `override_seq`.
fn revised_series(master_seq: u32, master_extra: &str, override_seq: u32) -> ParsedCalendar {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n\
         BEGIN:VEVENT\r\nUID:s@x\r\nDTSTAMP:20261001T000000Z\r\nSEQUENCE:{master_seq}\r\n\
         DTSTART;TZID=Europe/Moscow:20261006T100000\r\nDURATION:PT1H\r\nSUMMARY:Визит\r\n\
         {master_extra}END:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:s@x\r\nDTSTAMP:20260901T000000Z\r\nSEQUENCE:{override_seq}\r\n\
         RECURRENCE-ID;TZID=Europe/Moscow:20261020T100000\r\n\
         DTSTART;TZID=Europe/Moscow:20261021T140000\r\nDURATION:PT1H\r\nSUMMARY:Перенос\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    read(text, "2026-10-01", "2026-12-01")
}

/// RFC 5545 §3.8.7.4: SEQUENCE is "incremented … when the organizer makes
/// a significant revision"; the revision with the higher SEQUENCE is the
/// current one. An override older than a master that has since EXDATEd its
/// instance, or ended (UNTIL, COUNT) before it, is gone: the deleted
/// meeting must not be credited.
#[test]
fn an_override_older_than_a_master_that_removed_its_instance_is_gone() {
    let moved = "2026-10-21T11:00Z";
    for (why, extra) in [
        (
            "EXDATE",
            "RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=Europe/Moscow:20261020T100000\r\n",
        ),
        ("UNTIL", "RRULE:FREQ=WEEKLY;UNTIL=20261015T000000Z\r\n"),
        ("COUNT", "RRULE:FREQ=WEEKLY;COUNT=2\r\n"),
    ] {
        let older = revised_series(2, extra, 1);
        let got = starts(&older, "s@x");
        assert!(!got.contains(&moved.to_string()), "{why}: {got:?}");
        assert!(
            warnings_of(&older, "s@x")
                .iter()
                .any(|w| w.contains("no longer has that instance")),
            "{why}: {:?}",
            older.warnings
        );
        // The same override at the master's SEQUENCE or later is a revision
        // of its own and stays, as before.
        for seq in [2, 3] {
            let newer = revised_series(2, extra, seq);
            assert!(
                starts(&newer, "s@x").contains(&moved.to_string()),
                "{why}, override SEQUENCE {seq}"
            );
        }
    }
    // An older override of an instance the master still has is kept (a
    // master's SEQUENCE also rises for a new title or attendee).
    let kept = revised_series(2, "RRULE:FREQ=WEEKLY;COUNT=4\r\n", 0);
    assert_eq!(
        starts(&kept, "s@x"),
        [
            "2026-10-06T07:00Z",
            "2026-10-13T07:00Z",
            "2026-10-21T11:00Z",
            "2026-10-27T07:00Z"
        ]
    );
}

// ------------------------------------------- hourly series across a DST gap

/// RFC 5545 §3.3.10: "Recurrence rules may generate recurrence instances
/// with … nonexistent local time … Such recurrence instances MUST be
/// ignored and MUST NOT be counted as part of the recurrence set." Berlin
/// skips 02:00–03:00 on 31 March 2024: an hourly series of five from 00:00
/// is 00:00, 01:00, 03:00, 04:00, 05:00 local — five instances, not four.
#[test]
fn an_hourly_series_across_a_dst_gap_does_not_count_the_missing_hour() {
    let parsed = read(
        one_event(
            "hourly",
            ";TZID=Europe/Berlin:20240331T000000",
            "RRULE:FREQ=HOURLY;COUNT=5\r\n",
        ),
        "2024-03-01",
        "2024-05-01",
    );
    assert_eq!(
        starts(&parsed, "hourly"),
        [
            "2024-03-30T23:00Z",
            "2024-03-31T00:00Z",
            "2024-03-31T01:00Z",
            "2024-03-31T02:00Z",
            "2024-03-31T03:00Z"
        ]
    );
    // Every 20 minutes from 01:20: 01:20, 01:40, (02:00, 02:20, 02:40 do
    // not exist), 03:00, 03:20, 03:40.
    let parsed = read(
        one_event(
            "minutely",
            ";TZID=Europe/Berlin:20240331T012000",
            "RRULE:FREQ=MINUTELY;INTERVAL=20;COUNT=6\r\n",
        ),
        "2024-03-01",
        "2024-05-01",
    );
    assert_eq!(
        starts(&parsed, "minutely"),
        [
            "2024-03-31T00:20Z",
            "2024-03-31T00:40Z",
            "2024-03-31T01:00Z",
            "2024-03-31T01:20Z",
            "2024-03-31T01:40Z",
            "2024-03-31T02:00Z"
        ]
    );
    assert!(utc("2024-03-31T01:00:00Z") < utc("2024-03-31T02:00:00Z"));
}

// ------------------------------------------- Outlook city-list zones

/// Outlook and Exchange connectors write the city list of a Windows zone as
/// the TZID, without the "(UTC+01:00)" prefix of its display name
/// (`TZID:Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris,
/// Prague, Stockholm` in a Kerio Outlook Connector export). Each maps to
/// its Windows zone (CLDR windowsZones.xml) as the prefixed name does.
#[test]
fn outlook_city_list_tzids_map_to_their_windows_zone() {
    use meetledger::calendar::zone_for_name;
    for (tzid, zone) in [
        (
            "Amsterdam, Belgrade, Berlin, Rome, Stockholm, Vienna",
            Some(Tz::Europe__Berlin),
        ),
        (
            "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
            Some(Tz::Europe__Berlin),
        ),
        (
            "Amsterdam, Belgrade, Berlin, Brussels, Budapest, Madrid, Paris, Prague, Stockholm",
            Some(Tz::Europe__Berlin),
        ),
        (
            "Belgrade, Bratislava, Budapest, Ljubljana, Prague",
            Some(Tz::Europe__Budapest),
        ),
        (
            "Brussels, Copenhagen, Madrid, Paris",
            Some(Tz::Europe__Paris),
        ),
        ("Moscow, St. Petersburg", Some(Tz::Europe__Moscow)),
        (
            "Moscow, St. Petersburg, Volgograd",
            Some(Tz::Europe__Moscow),
        ),
        ("Izhevsk, Samara", Some(Tz::Europe__Samara)),
        ("Ekaterinburg", Some(Tz::Asia__Yekaterinburg)),
        (
            "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
            Some(Tz::Europe__Kiev),
        ),
        ("Eastern Time (US & Canada)", Some(Tz::America__New_York)),
        ("Pacific Time (US & Canada)", Some(Tz::America__Los_Angeles)),
        // Not a city list of one zone.
        ("Moscow, Berlin", None),
        ("Customized Time Zone", None),
        ("Office", None),
    ] {
        assert_eq!(zone_for_name(tzid), zone, "{tzid}");
    }

    // In a file, without any VTIMEZONE: 10:00 in Berlin in July is 08:00 UTC
    // (not 10:00 Moscow, the company's zone, which is 07:00 UTC).
    let parsed = read(
        one_event(
            "city",
            ";TZID=\"Amsterdam, Belgrade, Berlin, Rome, Stockholm, Vienna\":20260707T100000",
            "",
        ),
        "2026-07-01",
        "2026-08-01",
    );
    assert_eq!(starts(&parsed, "city"), ["2026-07-07T08:00Z"]);
    assert_eq!(
        parsed.occurrences[0].tz.as_deref(),
        Some("Europe/Berlin"),
        "{:?}",
        parsed.warnings
    );
}

// ------------------------------------------- truncated VTIMEZONEs

/// A VTIMEZONE in the shape iCalcreator writes (`createTimezone` over the
/// span of the calendar's events): one observance per transition, no RRULE,
/// so only 2023-10-29 … 2024-10-27 is described. `offsets` gives the
/// (TZOFFSETFROM, TZOFFSETTO) of the three transitions.
fn truncated_berlin(offsets: [(&str, &str); 3], events: &str) -> String {
    let [(f1, t1), (f2, t2), (f3, t3)] = offsets;
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kigkonsult.se//iCalcreator 2.41//\r\n\
         BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n\
         BEGIN:STANDARD\r\nDTSTART:20231029T030000\r\nTZOFFSETFROM:{f1}\r\nTZOFFSETTO:{t1}\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
         BEGIN:DAYLIGHT\r\nDTSTART:20240331T020000\r\nTZOFFSETFROM:{f2}\r\nTZOFFSETTO:{t2}\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n\
         BEGIN:STANDARD\r\nDTSTART:20241027T030000\r\nTZOFFSETFROM:{f3}\r\nTZOFFSETTO:{t3}\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
         END:VTIMEZONE\r\n{events}END:VCALENDAR\r\n"
    )
}

fn berlin_event(uid: &str, local: &str, extra: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n\
         DTSTART;TZID=Europe/Berlin:{local}\r\nDURATION:PT1H\r\nSUMMARY:x\r\n{extra}END:VEVENT\r\n"
    )
}

/// Past its last transition a truncated VTIMEZONE only repeats its last
/// offset (+01:00): a July 2025 meeting at 10:00 Berlin is at 08:00 UTC
/// (IANA: summer time), not 09:00. Inside the range it describes, it agrees
/// with IANA and changes nothing.
#[test]
fn a_truncated_vtimezone_under_an_iana_name_uses_iana_outside_its_range() {
    let real = [("+0200", "+0100"), ("+0100", "+0200"), ("+0200", "+0100")];
    let events = [
        berlin_event("in-range", "20240710T100000", ""),
        berlin_event("after", "20250710T100000", ""),
        berlin_event("weekly", "20250301T100000", "RRULE:FREQ=WEEKLY;COUNT=6\r\n"),
    ]
    .concat();
    let parsed = read(truncated_berlin(real, &events), "2024-01-01", "2026-01-01");
    assert_eq!(starts(&parsed, "in-range"), ["2024-07-10T08:00Z"]);
    assert_eq!(starts(&parsed, "after"), ["2025-07-10T08:00Z"]);
    // Across the 30 March 2025 change, which the file does not describe.
    assert_eq!(
        starts(&parsed, "weekly"),
        [
            "2025-03-01T09:00Z",
            "2025-03-08T09:00Z",
            "2025-03-15T09:00Z",
            "2025-03-22T09:00Z",
            "2025-03-29T09:00Z",
            "2025-04-05T08:00Z"
        ]
    );
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

/// Where the file's definition does disagree with IANA inside its range,
/// the file wins there (a warning says so), and IANA rules still apply
/// outside the range.
#[test]
fn a_truncated_vtimezone_that_disagrees_inside_its_range_is_used_only_there() {
    // Summer 2024 written as +03:00 instead of +02:00.
    let odd = [("+0200", "+0100"), ("+0100", "+0300"), ("+0300", "+0100")];
    let events = [
        berlin_event("in-range", "20240710T100000", ""),
        berlin_event("after", "20250710T100000", ""),
    ]
    .concat();
    let parsed = read(truncated_berlin(odd, &events), "2024-01-01", "2026-01-01");
    assert_eq!(starts(&parsed, "in-range"), ["2024-07-10T07:00Z"]);
    assert_eq!(starts(&parsed, "after"), ["2025-07-10T08:00Z"]);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.message.contains("IANA rules outside it")),
        "{:?}",
        parsed.warnings
    );
}
