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
    assert!(run.stdout.contains("petrova-main: FAILED"), "{}", run.stdout);
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
