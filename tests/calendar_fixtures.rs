//! Normalization of real calendar files (tests/fixtures/ics, see MANIFEST.tsv
//! for where each comes from) and of small scenarios written inline, through
//! the public API only: `meetledger::calendar::normalize`.
//!
//! Expected values were worked out by reading each file and cross-checked
//! with python's `recurring-ical-events` 3.8 where it can read the file; the
//! places where we deliberately differ are noted at the test.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use meetledger::calendar::{normalize, ExpandOptions, IcsInput, ParsedCalendar};
use meetledger::model::{EventStatus, Occurrence, PartStat};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ics");

/// Every fixture that has a test below; `every_fixture_is_listed_and_tested`
/// keeps this in step with the folder and the manifest.
const TESTED: &[&str] = &[
    "allday_rrule_until_datetime_mismatch.ics",
    "apple_ios26_structured_location.ics",
    "apple_macos_partstat_status_cancelled.ics",
    "attendee_partstat_role_delegated_folded.ics",
    "blank_line_mid_invalid.ics",
    "bom_fold_before_colon_mozilla.ics",
    "cyrillic_escaped_param_and_value.ics",
    "cyrillic_russian_holidays_mozilla.ics",
    "emclient_w_europe_year0001_vtimezone.ics",
    "exchange2010_windows_tz_vtimezones.ics",
    "exchange_allday_moved_instance_recurid_tzid.ics",
    "exchange_custom_tz_escaped_comma_tzid.ics",
    "exchange_customized_time_zone.ics",
    "exchange_eastern_unquoted_tzid_spaces.ics",
    "floating_time_bare_vevent.ics",
    "google_allday_moved_over_dst.ics",
    "google_apple_structured_location.ics",
    "google_birthday_rdate_date_with_z.ics",
    "google_kitchen_sink_malformed.ics",
    "google_override_before_master_kiev.ics",
    "groupwise_organizer_folded_mailto_space.ics",
    "itip_multi_vcalendar_request_reply_cancel.ics",
    "malformed_double_semicolon_param.ics",
    "malformed_garbage_line.ics",
    "nonascii_tzid_brasilia_windows.ics",
    "outlook2007_tab_folding_x_alt_desc.ics",
    "outlook_owa_displayname_tzid_no_vtimezone.ics",
    "rdate_period_windows_tzid_thisandfuture.ics",
    "recurid_utc_cancelled_instance.ics",
    "recurid_without_master_floating.ics",
    "rrule_count_exdate_moved_instance.ics",
    "truncated_missing_end_vcalendar.ics",
    "vtimezone_invalid_tzoffset.ics",
    "windows_displayname_tzid_count_exdate.ics",
    "windows_tzname_inconsistent_offsets.ics",
    "zimbra_utc_negative_zero_x_microsoft.ics",
];

// ---------------------------------------------------------------- helpers

/// "2015-07-06T19:00Z" or "2015-07-06" (midnight UTC) → instant.
fn t(s: &str) -> DateTime<Utc> {
    if s.len() == 10 {
        return DateTime::parse_from_rfc3339(&format!("{s}T00:00:00Z"))
            .unwrap()
            .with_timezone(&Utc);
    }
    let s = s.replace('Z', ":00Z");
    DateTime::parse_from_rfc3339(&s)
        .unwrap()
        .with_timezone(&Utc)
}

fn opts(from: &str, to: &str) -> ExpandOptions {
    ExpandOptions {
        window_start: t(from),
        window_end: t(to),
        default_tz: Tz::Europe__Moscow,
        max_instances: 10_000,
        limits: Default::default(),
    }
}

fn read_fixture(name: &str) -> IcsInput {
    let bytes = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
    IcsInput::new(name, bytes)
}

fn fixture(name: &str, from: &str, to: &str) -> ParsedCalendar {
    normalize(&[read_fixture(name)], "cal", &opts(from, to))
}

fn inline(text: &str, from: &str, to: &str) -> ParsedCalendar {
    normalize(&[IcsInput::new("inline.ics", text)], "cal", &opts(from, to))
}

fn fmt(d: DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// Starts (UTC, minute precision) of the occurrences of one UID, in output order.
fn starts(r: &ParsedCalendar, uid: &str) -> Vec<String> {
    r.occurrences
        .iter()
        .filter(|o| o.uid == uid)
        .map(|o| fmt(o.start))
        .collect()
}

fn only(r: &ParsedCalendar) -> &Occurrence {
    assert_eq!(
        r.occurrences.len(),
        1,
        "expected one occurrence, got {:#?}",
        r.occurrences
    );
    &r.occurrences[0]
}

fn by_start<'a>(r: &'a ParsedCalendar, uid: &str, start: &str) -> &'a Occurrence {
    r.occurrences
        .iter()
        .find(|o| o.uid == uid && fmt(o.start) == start)
        .unwrap_or_else(|| panic!("no {uid} at {start} in {:?}", starts(r, uid)))
}

fn skipped(r: &ParsedCalendar) -> usize {
    r.warnings.iter().filter(|w| w.skipped).count()
}

fn has_warning(r: &ParsedCalendar, needle: &str) -> bool {
    r.warnings.iter().any(|w| w.message.contains(needle))
}

// ------------------------------------------------------ the fixture corpus

#[test]
fn every_fixture_is_listed_and_tested() {
    let manifest = std::fs::read_to_string(format!("{FIXTURES}/MANIFEST.tsv")).unwrap();
    let listed: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".ics"))
        .collect();
    on_disk.sort();
    for name in &on_disk {
        assert!(
            listed.contains(&name.as_str()),
            "{name} lacks a MANIFEST.tsv row (attribution)"
        );
        assert!(TESTED.contains(&name.as_str()), "{name} has no test");
    }
    assert_eq!(on_disk.len(), TESTED.len());
    // Attribution columns are kept: repo, path, commit, license.
    for line in manifest.lines().skip(1) {
        assert_eq!(line.split('\t').count(), 6, "{line}");
    }
}

#[test]
fn every_fixture_reads_without_panic_over_a_wide_window_and_the_same_twice() {
    let wide = ExpandOptions {
        window_start: t("1900-01-01"),
        window_end: t("2100-01-01"),
        default_tz: Tz::Europe__Moscow,
        max_instances: 10_000,
        limits: Default::default(),
    };
    for name in TESTED {
        let a = normalize(&[read_fixture(name)], "cal", &wide);
        let b = normalize(&[read_fixture(name)], "cal", &wide);
        assert_eq!(a.occurrences, b.occurrences, "{name} is not deterministic");
        assert_eq!(
            a.warnings, b.warnings,
            "{name} warnings are not deterministic"
        );
        let mut sorted = a.occurrences.clone();
        sorted.sort_by(|x, y| {
            (&x.uid, x.recurrence_id, x.start).cmp(&(&y.uid, y.recurrence_id, y.start))
        });
        assert_eq!(sorted, a.occurrences, "{name} output not sorted");
        for o in &a.occurrences {
            assert!(o.end >= o.start, "{name}: {o:?}");
            assert_eq!(o.calendar, "cal");
        }
    }
}

#[test]
fn allday_rrule_until_datetime_mismatch() {
    // DATE DTSTART with UNTIL as a UTC date-time (invalid, common): UNTIL's
    // date still bounds the series.
    let r = fixture(
        "allday_rrule_until_datetime_mismatch.ics",
        "2007-01-01",
        "2009-01-01",
    );
    assert_eq!(
        starts(&r, "invalidRRULEUNTIL"),
        [
            "2007-12-01T00:00Z",
            "2008-01-01T00:00Z",
            "2008-02-01T00:00Z"
        ]
    );
    for o in &r.occurrences {
        assert!(o.all_day);
        assert_eq!(o.recurrence_id, Some(o.start));
        assert_eq!(o.end - o.start, chrono::Duration::days(1));
        assert_eq!(o.tz, None);
    }
}

#[test]
fn apple_ios26_structured_location() {
    let r = fixture(
        "apple_ios26_structured_location.ics",
        "2026-05-01",
        "2026-06-01",
    );
    let o = only(&r);
    assert_eq!(o.uid, "af64eb20-7d10-4482-8b22-921f7656390a");
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2026-05-22T08:30Z".into(), "2026-05-22T08:40Z".into())
    );
    assert_eq!(o.tz.as_deref(), Some("Europe/Vienna"));
    assert_eq!(o.location.as_deref(), Some("Hauptstraße 1-5; 4041 Linz"));
    // Descriptions are not kept (issue 12): only their tags, none here.
    assert!(o.tags.is_empty());
    assert_eq!(o.recurrence_id, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn apple_macos_partstat_status_cancelled() {
    let r = fixture(
        "apple_macos_partstat_status_cancelled.ics",
        "2022-07-01",
        "2022-07-10",
    );
    assert_eq!(r.occurrences.len(), 4);
    let tentative = by_start(
        &r,
        "31a1ffc9-9b76-465b-ae4a-cadb694c9d37",
        "2022-07-04T23:00Z",
    );
    assert_eq!(tentative.status, EventStatus::Tentative);
    assert_eq!(tentative.tz, None, "UTC times carry no zone");
    assert_eq!(
        tentative.organizer.as_ref().unwrap().email,
        "tentative@example.com"
    );
    let confirmed = by_start(
        &r,
        "F00F3710-BF4D-46D3-9A2C-1037AB24C6AC",
        "2022-07-05T16:00Z",
    );
    assert_eq!(confirmed.status, EventStatus::Confirmed);
    assert_eq!(confirmed.tz.as_deref(), Some("America/Vancouver"));
    // Apple's non-standard PARTSTAT=CONFIRMED means accepted.
    assert_eq!(confirmed.attendees[0].partstat, PartStat::Accepted);
    assert_eq!(confirmed.attendees[0].email, "confirmed@example.com");
    let cancelled = by_start(
        &r,
        "8CAB46C5-669F-4249-B1AD-52BFA72F4E0A",
        "2022-07-06T20:00Z",
    );
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    // "cancelled" is no PARTSTAT: read as not answered.
    assert_eq!(cancelled.attendees[0].partstat, PartStat::NeedsAction);
    let none = by_start(
        &r,
        "99F615DE-82C6-4CEF-97B8-CD0D3E1EE0D3",
        "2022-07-07T16:00Z",
    );
    assert_eq!(none.status, EventStatus::Confirmed);
    assert!(none.attendees.is_empty() && none.organizer.is_none());
}

#[test]
fn attendee_partstat_role_delegated_folded() {
    let r = fixture(
        "attendee_partstat_role_delegated_folded.ics",
        "2014-04-01",
        "2014-05-01",
    );
    let o = only(&r);
    assert_eq!(fmt(o.start), "2014-04-09T07:30Z");
    let people: Vec<(&str, Option<&str>, PartStat, Option<&str>)> = o
        .attendees
        .iter()
        .map(|a| {
            (
                a.email.as_str(),
                a.name.as_deref(),
                a.partstat,
                a.role.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        people,
        vec![
            // Folded inside the address ("hcabot@\n  example.com").
            (
                "hcabot@example.com",
                Some("Henry Cabot"),
                PartStat::Tentative,
                Some("REQ-PARTICIPANT")
            ),
            (
                "iamboss@example.com",
                Some("The Big Cheese"),
                PartStat::Delegated,
                Some("NON-PARTICIPANT")
            ),
            (
                "jdoe@example.com",
                Some("Jane Doe"),
                PartStat::Accepted,
                Some("REQ-PARTICIPANT")
            ),
            ("jqpublic@example.com", None, PartStat::Accepted, None),
            ("another@example.com", None, PartStat::Declined, None),
            ("tent@example.com", None, PartStat::Tentative, None),
        ]
    );
}

#[test]
fn blank_line_mid_invalid() {
    let r = fixture("blank_line_mid_invalid.ics", "2000-01-01", "2030-01-01");
    assert!(r.occurrences.is_empty());
    assert_eq!(skipped(&r), 0);
}

#[test]
fn bom_fold_before_colon_mozilla() {
    // BOM, every property folded before its ":"; the VTODO is not an event.
    let r = fixture(
        "bom_fold_before_colon_mozilla.ics",
        "2006-01-01",
        "2007-01-01",
    );
    assert_eq!(r.occurrences.len(), 6);
    assert!(r
        .occurrences
        .iter()
        .all(|o| o.status == EventStatus::Tentative));
    let jul = by_start(
        &r,
        "27dedb92-69a4-11db-8fae-b9231e60cc13",
        "2006-12-23T21:00Z",
    );
    assert_eq!(jul.title, "God Jul");
    assert_eq!(
        jul.tz, None,
        "floating: read in the default zone (Moscow, +3 in December 2006)"
    );
    let mote = by_start(
        &r,
        "403f9454-6fc8-11db-b5e3-c1ad1b64708e",
        "2006-10-31T00:00Z",
    );
    assert!(mote.all_day);
    assert_eq!(mote.title, "Möte kontoret");
    assert!(mote.tags.is_empty() && !mote.description_video_link);
    assert_eq!(r.warnings.len(), 0, "{:?}", r.warnings);
}

#[test]
fn cyrillic_escaped_param_and_value() {
    // A bare VEVENT holding only an ORGANIZER with escaped CN: no DTSTART,
    // so it is skipped, with a warning naming the line.
    let r = fixture(
        "cyrillic_escaped_param_and_value.ics",
        "2000-01-01",
        "2030-01-01",
    );
    assert!(r.occurrences.is_empty());
    assert_eq!(skipped(&r), 1);
    assert_eq!(r.warnings[0].line, Some(1));
    assert_eq!(r.warnings[0].file, "cyrillic_escaped_param_and_value.ics");
}

#[test]
fn cyrillic_russian_holidays_mozilla() {
    let r = fixture(
        "cyrillic_russian_holidays_mozilla.ics",
        "2024-01-01",
        "2025-01-01",
    );
    assert_eq!(r.occurrences.len(), 9, "nine yearly holidays");
    assert!(r
        .occurrences
        .iter()
        .all(|o| o.all_day && o.recurrence_id == Some(o.start)));
    let russia = by_start(
        &r,
        "fc0d48b2-41d8-4993-83eb-6e9fdbd4741a",
        "2024-06-12T00:00Z",
    );
    assert_eq!(russia.title, "День России");
    assert!(russia.transparent);
    let holidays = by_start(
        &r,
        "b3408b45-b00a-4e23-b40a-57760a2e6bd1",
        "2024-01-02T00:00Z",
    );
    assert_eq!(holidays.title, "Новогодние каникулы");
    assert_eq!(fmt(holidays.end), "2024-01-06T00:00Z", "four days long");
    let may = by_start(
        &r,
        "71c1345a-04fe-480f-a134-f5b9bed0f807",
        "2024-05-01T00:00Z",
    );
    assert!(!may.transparent, "no TRANSP: opaque");
}

#[test]
fn emclient_w_europe_year0001_vtimezone() {
    // The VTIMEZONE's rules start in year 0001: evaluated per year, never
    // iterated from year 1. In 2024 they agree with Europe/Berlin.
    let r = fixture(
        "emclient_w_europe_year0001_vtimezone.ics",
        "2024-05-01",
        "2024-07-01",
    );
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2024-06-01T08:00Z".into(), "2024-06-01T09:00Z".into())
    );
    assert_eq!(o.tz.as_deref(), Some("Europe/Berlin"));
}

#[test]
fn exchange2010_windows_tz_vtimezones() {
    let r = fixture(
        "exchange2010_windows_tz_vtimezones.ics",
        "2020-09-01",
        "2020-10-01",
    );
    let test = "040000008200E00074C5B7101A82E0080000000070DE40F38786D601000000000000000010000000D2A9BA8A3668CA4ABB2CC6838268179F";
    assert_eq!(starts(&r, test), ["2020-09-10T07:00Z"]);
    assert_eq!(
        r.occurrences
            .iter()
            .find(|o| o.uid == test)
            .unwrap()
            .tz
            .as_deref(),
        Some("Europe/Berlin")
    );
    // DTSTART;TZID="W. Europe Standard Time:20200609T090000": the value sits
    // inside the quotes. Weekly Mon–Sat at 09:00 Berlin.
    let jira = "040000008200E00074C5B7101A82E008000000008001F1896B63D3010000000000000000100000005D0552D848712746896D6C8E2E066560";
    let jira_starts = starts(&r, jira);
    assert_eq!(
        jira_starts.len(),
        26,
        "September 2020 minus its four Sundays"
    );
    assert!(jira_starts.iter().all(|s| s.ends_with("T07:00Z")));
    assert!(r
        .occurrences
        .iter()
        .filter(|o| o.uid == jira)
        .all(|o| o.transparent));
    let pacific = "040000008200E00074C5B7101A82E008000000007070639B9D82D601000000000000000010000000690B7C3173632247A60664DDD8E0160E";
    assert_eq!(starts(&r, pacific), ["2020-09-15T15:30Z"]);
    // Weekly TU,TH,FR,SU at 12:00 Pacific with an EXDATE list; 3 September is excluded.
    let either = "040000008200E00074C5B7101A82E00800000000C8CF296B9654D60100000000000000001000000031C6A267A9E4A2489CEB57D709E7A37F";
    let either_starts = starts(&r, either);
    assert_eq!(either_starts.len(), 16);
    assert!(!either_starts.contains(&"2020-09-03T19:00Z".to_string()));
    assert!(either_starts.contains(&"2020-09-01T19:00Z".to_string()));
    assert_eq!(r.occurrences.len(), 44);
    assert!(!has_warning(&r, "disagrees"), "{:?}", r.warnings);
}

#[test]
fn exchange_allday_moved_instance_recurid_tzid() {
    // All-day series; the override's RECURRENCE-ID is a W. Europe midnight
    // date-time. It still names the 26 February instance (python's
    // recurring-ical-events keys it 2026-02-25T23:00Z instead; we key all-day
    // instances by their date, as the SPEC asks).
    let r = fixture(
        "exchange_allday_moved_instance_recurid_tzid.ics",
        "2026-02-01",
        "2026-03-15",
    );
    let uid = "exchange-moved-recurrence";
    assert_eq!(
        starts(&r, uid),
        [
            "2026-02-19T00:00Z",
            "2026-02-24T00:00Z",
            "2026-02-27T00:00Z",
            "2026-03-03T00:00Z",
            "2026-03-05T00:00Z",
            "2026-03-10T00:00Z",
            "2026-03-12T00:00Z"
        ]
    );
    let moved = by_start(&r, uid, "2026-02-27T00:00Z");
    assert_eq!(moved.recurrence_id, Some(t("2026-02-26")));
    assert!(moved.all_day && moved.transparent);
    assert_eq!(fmt(moved.end), "2026-02-28T00:00Z");
}

#[test]
fn exchange_custom_tz_escaped_comma_tzid() {
    let r = fixture(
        "exchange_custom_tz_escaped_comma_tzid.ics",
        "2019-04-01",
        "2019-05-01",
    );
    let o = only(&r);
    assert_eq!(o.uid, "040000008200E00074C5B7101A82E00800000000C9AB6E5A6AFED401000000000000000010000000C55132227F0F0948A7D58F6190A3AEF9");
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2019-04-30T02:00Z".into(), "2019-04-30T05:00Z".into())
    );
    // "(UTC+07:00) Bangkok\, Hanoi\, Jakarta" in the VTIMEZONE, unescaped in
    // DTSTART: the same zone, mapped to Asia/Bangkok through its display name.
    assert_eq!(o.tz.as_deref(), Some("Asia/Bangkok"));
    assert!(o.tags.is_empty(), "a lone \\n holds no tag");
    assert_eq!(o.location, None);
}

#[test]
fn exchange_customized_time_zone() {
    // "Customized Time Zone" exists only as the file's VTIMEZONE (US
    // Eastern rules); UNTIL in UTC against that zone.
    let r = fixture(
        "exchange_customized_time_zone.ics",
        "2020-08-01",
        "2021-01-01",
    );
    let s = starts(&r, "1173422081SZR322");
    assert_eq!(s.len(), 34);
    assert_eq!(s.first().unwrap(), "2020-08-25T14:35Z");
    assert!(s.contains(&"2020-10-29T14:35Z".to_string()), "EDT");
    assert!(s.contains(&"2020-11-03T15:35Z".to_string()), "EST");
    assert_eq!(
        s.last().unwrap(),
        "2020-12-17T15:35Z",
        "UNTIL=20201217T153500Z is inclusive"
    );
    assert_eq!(r.occurrences[0].tz.as_deref(), Some("Customized Time Zone"));
    assert_eq!(r.occurrences[0].location.as_deref(), Some("[private]"));
}

#[test]
fn exchange_eastern_unquoted_tzid_spaces() {
    let r = fixture(
        "exchange_eastern_unquoted_tzid_spaces.ics",
        "2024-10-01",
        "2024-11-01",
    );
    let o = only(&r);
    assert_eq!(fmt(o.start), "2024-10-28T21:00Z");
    assert_eq!(o.tz.as_deref(), Some("America/New_York"));
}

#[test]
fn floating_time_bare_vevent() {
    // No VCALENDAR, floating times: read in the default zone (Moscow, UTC+4 in 2014).
    let r = fixture("floating_time_bare_vevent.ics", "2014-04-01", "2014-05-01");
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2014-04-09T05:30Z".into(), "2014-04-09T06:30Z".into())
    );
    assert_eq!(o.tz, None);
    assert!(o.tags.is_empty() && !o.description_video_link);
}

#[test]
fn google_allday_moved_over_dst() {
    let r = fixture(
        "google_allday_moved_over_dst.ics",
        "2024-10-01",
        "2024-11-30",
    );
    let uid = "14nv8jl8d6dvdbl477lod4fftf@google.com";
    assert_eq!(
        starts(&r, uid),
        [
            "2024-10-27T00:00Z",
            "2024-10-30T00:00Z",
            "2024-10-29T00:00Z"
        ],
        "sorted by recurrence id"
    );
    let moved = by_start(&r, uid, "2024-10-30T00:00Z");
    assert_eq!(moved.recurrence_id, Some(t("2024-10-28")));
    assert!(r.occurrences.iter().all(|o| o.all_day && o.transparent));
}

#[test]
fn google_apple_structured_location() {
    let r = fixture(
        "google_apple_structured_location.ics",
        "2016-10-24",
        "2016-11-07",
    );
    let uid = "BFE33ADD-5553-48B5-B5A5-F9DA5CA4C393";
    assert_eq!(
        starts(&r, uid),
        [
            "2016-10-28T12:00Z",
            "2016-10-31T13:00Z",
            "2016-11-01T13:00Z",
            "2016-11-02T13:00Z",
            "2016-11-03T13:00Z",
            "2016-11-04T13:00Z"
        ],
        "14:00 Zurich across the end of summer time"
    );
    assert_eq!(
        r.occurrences[0].location.as_deref(),
        Some("Roadstar 16\n12764 Happyville\nDenmark")
    );
}

#[test]
fn google_birthday_rdate_date_with_z() {
    // RDATE:20131210Z is a DATE with a stray Z: read as the date. The other
    // UID has only RECURRENCE-ID instances and no master: each is kept.
    let r = fixture(
        "google_birthday_rdate_date_with_z.ics",
        "2012-01-01",
        "2015-01-01",
    );
    let days = [
        "2012-12-10T00:00Z",
        "2013-12-10T00:00Z",
        "2014-12-10T00:00Z",
    ];
    assert_eq!(
        starts(&r, "2014_BIRTHDAY_79d389868f96182e@google.com"),
        days
    );
    assert_eq!(starts(&r, "BIRTHDAY_79d389868f96182e@google.com"), days);
    for o in &r.occurrences {
        assert!(o.all_day);
        assert_eq!(o.recurrence_id, Some(o.start));
        assert!(o.attendees[0].email.ends_with("@virtual"));
    }
    assert_eq!(skipped(&r), 0);
}

#[test]
fn google_kitchen_sink_malformed() {
    let r = fixture(
        "google_kitchen_sink_malformed.ics",
        "2016-01-01",
        "2018-01-01",
    );
    // DTSTART:20171032T000000 cannot be read: that event alone is skipped.
    let bad = r
        .warnings
        .iter()
        .find(|w| w.skipped)
        .expect("the invalid date is reported");
    assert_eq!(
        (bad.line, bad.uid.as_deref()),
        (Some(21), Some("f81b0b41a2e138ae0903daee0a966e1e"))
    );
    assert!(bad.message.contains("line 22"), "{}", bad.message);
    assert_eq!(skipped(&r), 1);
    // The unfolded continuation line inside the description is skipped, and
    // the warning names its event.
    let garbage = r.warnings.iter().find(|w| w.line == Some(68)).unwrap();
    assert_eq!(
        garbage.uid.as_deref(),
        Some("15lc1nvupht8dtfiptenljoiv4@google.com")
    );

    // Outlook display-name TZID, COUNT=15 applied before 4 EXDATEs (one of
    // which is past the end): 12 Saturdays at 09:00 New York.
    let cldr = "040000008200E00074C5B7101A82E0080000000020F6512D0B48CF0100000000000000001000000058BFB8CBB85D504CB99FBA637BCFD6BF";
    let s = starts(&r, cldr);
    assert_eq!(s.len(), 12);
    assert_eq!(
        (s[0].as_str(), s[11].as_str()),
        ("2016-04-09T13:00Z", "2016-07-16T13:00Z")
    );
    assert!(!s.contains(&"2016-05-28T13:00Z".to_string()));

    assert_eq!(
        starts(&r, "calendar-62-e7c39bf02382917349672271dd781c89"),
        ["2016-04-25T15:00Z", "2016-04-26T15:00Z"]
    );
    let dur = by_start(
        &r,
        "calendar-62-e7c39bf02382917349672271dd781c89",
        "2016-04-25T15:00Z",
    );
    assert_eq!(
        dur.end - dur.start,
        chrono::Duration::seconds(4505),
        "DURATION:PT1H15M5S"
    );
    // BYMONTHDAY=23 from a DTSTART on the 22nd: DTSTART counts, UNTIL is exclusive of 2017-09-23T13:00Z.
    let monthly = starts(&r, "33844fe8df15fbfc13c97fc41c0c4b00392c6870@google.com");
    assert_eq!(monthly.len(), 13);
    assert_eq!(
        (monthly[0].as_str(), monthly[12].as_str()),
        ("2016-09-22T13:00Z", "2017-08-23T13:00Z")
    );
    // BYSETPOS=3;BYDAY=WE, BYDAY=-2MO, BYMONTH lists, INTERVAL=2 — all-day.
    assert_eq!(
        starts(&r, "4dnsuc3nknin15kv25cn7ridss@google.com"),
        [
            "2017-01-18T00:00Z",
            "2017-02-15T00:00Z",
            "2017-03-15T00:00Z",
            "2017-04-19T00:00Z",
            "2017-05-17T00:00Z"
        ]
    );
    assert_eq!(
        starts(&r, "d287b7ec808fcf084983f10837@google.com"),
        [
            "2017-01-23T00:00Z",
            "2017-02-20T00:00Z",
            "2017-03-20T00:00Z",
            "2017-04-17T00:00Z",
            "2017-05-22T00:00Z"
        ]
    );
    assert_eq!(
        starts(&r, "f50e8b89a4a3b0070e0b687d03@google.com"),
        [
            "2017-01-11T00:00Z",
            "2017-02-11T00:00Z",
            "2017-03-11T00:00Z"
        ]
    );
    assert_eq!(
        starts(&r, "dh3fki5du0opa7cs5n5s87ca00@google.com"),
        [
            "2016-01-19T00:00Z",
            "2016-02-02T00:00Z",
            "2016-02-16T00:00Z",
            "2016-03-01T00:00Z",
            "2016-03-15T00:00Z"
        ]
    );
    // First weekday / last day of every month (BYSETPOS=1 / -1).
    assert!(
        starts(&r, "4dnsuc3nknin15kv25cn7ridssy@google.com").is_empty(),
        "starts 2019"
    );
    // DTSTART not on its rule (RFC: undefined): DTSTART is kept as the first instance.
    assert_eq!(
        starts(&r, "rq8jng4jgq0m1lvpj8486fttu0@google.com"),
        [
            "2016-01-19T00:00Z",
            "2016-10-30T00:00Z",
            "2017-10-29T00:00Z"
        ]
    );
    // Override of the first instance, then the second (INTERVAL=2 months).
    assert_eq!(
        starts(&r, "testuid@google.com"),
        ["2017-08-13T09:00Z", "2017-10-08T08:00Z"]
    );
    let ov = by_start(&r, "testuid@google.com", "2017-08-13T09:00Z");
    assert_eq!(ov.title, "Override Parent Recurrence Event");
    assert_eq!(ov.location.as_deref(), Some("Melbourne VIC, Australia"));
    // Quoted CN holding commas and angle brackets.
    let test2 = by_start(
        &r,
        "1koigufm110c5hnq6ln57murd4@google.com",
        "2016-01-12T00:00Z",
    );
    assert_eq!(
        test2.attendees[0].name.as_deref(),
        Some("Page, Larry <l.page@google.com> (l.page@google.com)")
    );
    assert_eq!(test2.attendees[0].email, "l.page@google.com");
    assert_eq!(fmt(test2.end), "2016-01-16T00:00Z");

    // Before 1970 and after 2038, DATE with a TZID, DTEND equal to DTSTART (one day).
    let old = fixture(
        "google_kitchen_sink_malformed.ics",
        "1941-01-01",
        "1942-01-01",
    );
    let z3 = only(&old);
    assert_eq!(
        (fmt(z3.start), fmt(z3.end)),
        ("1941-05-12T00:00Z".into(), "1941-05-13T00:00Z".into())
    );
    assert_eq!(
        z3.title,
        "Before 1970-Test: Konrad Zuse invents the Z3, the \"first digital Computer\""
    );
    let late = fixture(
        "google_kitchen_sink_malformed.ics",
        "2038-01-01",
        "2038-03-01",
    );
    assert_eq!(
        starts(&late, "dh3fki5du0opa7cs5n5s87ca01@google.com"),
        ["2038-02-01T00:00Z"]
    );
}

#[test]
fn google_override_before_master_kiev() {
    let r = fixture(
        "google_override_before_master_kiev.ics",
        "2016-08-01",
        "2016-09-01",
    );
    let uid = "6m2q7kb2l02798oagemrcgm6pk@google.com";
    assert_eq!(
        starts(&r, uid),
        [
            "2016-08-25T11:00Z",
            "2016-08-26T11:00Z",
            "2016-08-27T11:00Z",
            "2016-08-28T11:00Z"
        ]
    );
    assert_eq!(by_start(&r, uid, "2016-08-26T11:00Z").title, "bla bla");
    assert_eq!(by_start(&r, uid, "2016-08-27T11:00Z").title, "repeated");
    assert_eq!(r.occurrences[0].tz.as_deref(), Some("Europe/Kiev"));
}

#[test]
fn groupwise_organizer_folded_mailto_space() {
    let r = fixture(
        "groupwise_organizer_folded_mailto_space.ics",
        "2008-12-01",
        "2009-01-01",
    );
    let o = only(&r);
    assert_eq!(fmt(o.start), "2008-12-17T07:30Z");
    let org = o.organizer.as_ref().unwrap();
    assert_eq!(
        (org.email.as_str(), org.name.as_deref(), org.partstat),
        (
            "jane.doe@university.edu",
            Some("Jane Doe"),
            PartStat::Accepted
        )
    );
    assert_eq!(org.role.as_deref(), Some("CHAIR"));
    // "MAILTO:CET Meeting Room@university.edu": spaces cannot be in an address.
    assert_eq!(o.attendees[0].email, "cetmeetingroom@university.edu");
    assert_eq!(o.location.as_deref(), Some("CET Meeting Room"));
}

#[test]
fn itip_multi_vcalendar_request_reply_cancel() {
    // Several VCALENDARs: two REQUESTs with SEQUENCE 2 (the later DTSTAMP
    // wins), an obsolete one, REPLYs (no event state), a later CANCEL, and a
    // COUNTER proposal (not the organizer's state). python's
    // recurring-ical-events cannot read this file (REPLYs lack DTSTART).
    let r = fixture(
        "itip_multi_vcalendar_request_reply_cancel.ics",
        "1996-01-01",
        "1998-01-01",
    );
    let o = only(&r);
    assert_eq!(o.uid, "calsrv.example.com-873970198738777@example.com");
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("1997-07-01T19:00Z".into(), "1997-07-01T19:30Z".into())
    );
    assert_eq!(o.title, "Pool party");
    assert_eq!(o.status, EventStatus::Cancelled);
    assert_eq!(o.organizer.as_ref().unwrap().email, "b@example.com");
    assert_eq!(o.attendees[4].email, "conf_big@example.com");
    assert_eq!(skipped(&r), 0);
}

#[test]
fn malformed_double_semicolon_param() {
    let r = fixture(
        "malformed_double_semicolon_param.ics",
        "2014-01-01",
        "2015-01-01",
    );
    let o = only(&r);
    assert_eq!(o.uid, "abc");
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2014-04-09T05:30Z".into(), "2014-04-09T05:30Z".into()),
        "no DTEND: zero length"
    );
}

#[test]
fn malformed_garbage_line() {
    let r = fixture("malformed_garbage_line.ics", "2014-01-01", "2015-01-01");
    let o = only(&r);
    assert!(
        o.uid.starts_with("no-uid-"),
        "a stable UID is made up: {}",
        o.uid
    );
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2014-04-01T00:00Z".into(), "2014-04-01T01:00Z".into())
    );
    let garbage = r.warnings.iter().find(|w| w.line == Some(13)).unwrap();
    assert!(!garbage.skipped);
    assert_eq!(garbage.file, "malformed_garbage_line.ics");
    assert!(has_warning(&r, "no UID"));
    // The made-up UID is the same on every run.
    assert_eq!(
        fixture("malformed_garbage_line.ics", "2014-01-01", "2015-01-01").occurrences[0].uid,
        o.uid
    );
}

#[test]
fn nonascii_tzid_brasilia_windows() {
    let r = fixture(
        "nonascii_tzid_brasilia_windows.ics",
        "2017-05-01",
        "2017-06-01",
    );
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2017-05-11T16:30Z".into(), "2017-05-11T17:00Z".into())
    );
    // "(UTC-03:00) Brasília": the display name maps to America/Sao_Paulo, and
    // the VTIMEZONE agrees with it in 2017.
    assert_eq!(o.tz.as_deref(), Some("America/Sao_Paulo"));
}

#[test]
fn outlook2007_tab_folding_x_alt_desc() {
    let r = fixture(
        "outlook2007_tab_folding_x_alt_desc.ics",
        "2009-06-01",
        "2009-07-01",
    );
    let o = only(&r);
    assert!(o.all_day);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2009-06-21T00:00Z".into(), "2009-06-22T00:00Z".into())
    );
    assert!(o.transparent);
    assert_eq!(o.title, "Example Calendar Export that Blows Up DDay.iCal");
    assert_eq!(
        o.location.as_deref(),
        Some("The Exceptionally Long Named Meeting Room Whose Name Wraps Over Several Lines When Exported From Leading Calendar and Office Software Application Microsoft Office 2007")
    );
    let emails: Vec<&str> = o.attendees.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "some.attendee@event.com",
            "event@calendardemo.net",
            "4th.floor.meeting.room@somewhere.com"
        ]
    );
    assert_eq!(
        o.attendees[2].name.as_deref(),
        Some("4th Floor Meeting Room")
    );
    assert_eq!(
        o.organizer.as_ref().unwrap().name.as_deref(),
        Some("Event Organizer")
    );
    assert!(o.tags.is_empty());
    // The 112-character UID was folded with a TAB.
    assert_eq!(o.uid.len(), 112);
}

#[test]
fn outlook_owa_displayname_tzid_no_vtimezone() {
    // Display-name TZIDs and no VTIMEZONE at all. (python's
    // recurring-ical-events reads these as floating times instead.)
    let r = fixture(
        "outlook_owa_displayname_tzid_no_vtimezone.ics",
        "2020-10-01",
        "2020-12-01",
    );
    let find = |title: &str| {
        r.occurrences
            .iter()
            .filter(|o| o.title == title)
            .collect::<Vec<_>>()
    };
    let syd = find("TEST Syd");
    assert_eq!(syd.len(), 1);
    assert_eq!(fmt(syd[0].start), "2020-10-28T02:30Z");
    assert_eq!(syd[0].tz.as_deref(), Some("Australia/Sydney"));
    assert_eq!(fmt(find("TEST")[0].start), "2020-10-28T17:30Z");
    assert_eq!(find("TEST")[0].tz.as_deref(), Some("America/New_York"));
    assert_eq!(fmt(find("TEST 3")[0].start), "2020-11-02T18:30Z");
    let weekly: Vec<String> = find("TEST2").iter().map(|o| fmt(o.start)).collect();
    // DTSTART (a Monday) is the first instance even though BYDAY=TH,FR.
    assert_eq!(
        weekly,
        [
            "2020-11-02T18:30Z",
            "2020-11-05T18:30Z",
            "2020-11-06T18:30Z",
            "2020-11-12T18:30Z",
            "2020-11-13T18:30Z",
            "2020-11-19T18:30Z",
            "2020-11-20T18:30Z",
            "2020-11-26T18:30Z",
            "2020-11-27T18:30Z"
        ]
    );
    assert_eq!(r.occurrences.len(), 12);
}

#[test]
fn rdate_period_windows_tzid_thisandfuture() {
    // A lone THISANDFUTURE override (no master, no UID) carrying RDATE
    // periods. Like recurring-ical-events we keep it as one occurrence: an
    // override describes its own instance, not a series.
    let r = fixture(
        "rdate_period_windows_tzid_thisandfuture.ics",
        "2018-01-01",
        "2019-01-01",
    );
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2018-03-27T13:00Z".into(), "2018-03-27T14:00Z".into())
    );
    assert_eq!(o.recurrence_id, Some(t("2018-03-27T13:00Z")));
    let a = &o.attendees[0];
    assert_eq!(
        (
            a.email.as_str(),
            a.name.as_deref(),
            a.partstat,
            a.role.as_deref()
        ),
        (
            "xyz@xyz.com",
            Some("XYZ"),
            PartStat::Accepted,
            Some("CHAIR")
        )
    );
}

#[test]
fn recurid_utc_cancelled_instance() {
    let r = fixture(
        "recurid_utc_cancelled_instance.ics",
        "2014-06-01",
        "2014-09-01",
    );
    let uid = "event_rrule_recurrence_id";
    assert_eq!(
        starts(&r, uid),
        [
            "2014-06-30T05:00Z",
            "2014-07-07T07:00Z",
            "2014-07-14T05:00Z",
            "2014-07-21T05:00Z",
            "2014-07-28T05:00Z",
            "2014-08-04T05:00Z"
        ]
    );
    // RECURRENCE-ID in UTC against a Berlin master.
    let moved = by_start(&r, uid, "2014-07-07T07:00Z");
    assert_eq!(moved.recurrence_id, Some(t("2014-07-07T05:00Z")));
    let cancelled = by_start(&r, uid, "2014-07-14T05:00Z");
    assert_eq!(cancelled.status, EventStatus::Cancelled);
    assert_eq!(
        r.occurrences
            .iter()
            .filter(|o| o.status == EventStatus::Cancelled)
            .count(),
        1
    );
}

#[test]
fn recurid_without_master_floating() {
    let r = fixture(
        "recurid_without_master_floating.ics",
        "2017-03-01",
        "2017-04-01",
    );
    let o = only(&r);
    assert_eq!(o.uid, "406336");
    assert_eq!(
        o.recurrence_id,
        Some(t("2017-03-29T13:00Z")),
        "floating 16:00 in Moscow"
    );
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2017-03-29T13:00Z".into(), "2017-03-29T13:25Z".into())
    );
}

#[test]
fn rrule_count_exdate_moved_instance() {
    // COUNT=10 is applied before the two EXDATEs: 8 instances. The override
    // moves 7 July to 9 July but writes DTEND before DTSTART; we keep the
    // master's one-hour length (python swaps the two instead).
    let r = fixture(
        "rrule_count_exdate_moved_instance.ics",
        "2015-07-01",
        "2015-08-01",
    );
    let uid = "0000001";
    assert_eq!(
        starts(&r, uid),
        [
            "2015-07-06T19:00Z",
            "2015-07-09T22:00Z",
            "2015-07-09T19:00Z",
            "2015-07-11T19:00Z",
            "2015-07-12T19:00Z",
            "2015-07-13T19:00Z",
            "2015-07-14T19:00Z",
            "2015-07-15T19:00Z"
        ]
    );
    let moved = by_start(&r, uid, "2015-07-09T22:00Z");
    assert_eq!(moved.recurrence_id, Some(t("2015-07-07T19:00Z")));
    assert_eq!(fmt(moved.end), "2015-07-09T23:00Z");
    assert_eq!(moved.location.as_deref(), Some("The other island"));
    assert!(has_warning(&r, "DTEND before DTSTART"));
}

#[test]
fn truncated_missing_end_vcalendar() {
    let r = fixture(
        "truncated_missing_end_vcalendar.ics",
        "2000-01-01",
        "2030-01-01",
    );
    assert!(r.occurrences.is_empty());
    assert_eq!(skipped(&r), 1, "the empty VEVENT");
}

#[test]
fn vtimezone_invalid_tzoffset() {
    let r = fixture("vtimezone_invalid_tzoffset.ics", "2012-12-01", "2013-01-01");
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2012-12-02T07:00Z".into(), "2012-12-02T08:30Z".into())
    );
    assert_eq!(o.tz.as_deref(), Some("Europe/Berlin"));
    let w = r
        .warnings
        .iter()
        .find(|w| w.message.contains("TZOFFSETFROM"))
        .unwrap();
    assert!(!w.skipped);
}

#[test]
fn windows_displayname_tzid_count_exdate() {
    // DTSTART in "(UTC-05:00) Eastern Time (US and Canada)" (New York),
    // EXDATEs written as 12:00 Los Angeles. No instance is at those instants;
    // the instances at 12:00 wall-clock time on those days are the ones
    // meant, and are excluded with a warning. (python reads the display
    // name as floating time and so gets 19:00Z.)
    let r = fixture(
        "windows_displayname_tzid_count_exdate.ics",
        "2015-07-01",
        "2015-08-01",
    );
    assert_eq!(
        starts(&r, "0000001"),
        [
            "2015-07-06T16:00Z",
            "2015-07-07T16:00Z",
            "2015-07-09T16:00Z",
            "2015-07-11T16:00Z",
            "2015-07-12T16:00Z",
            "2015-07-13T16:00Z",
            "2015-07-14T16:00Z",
            "2015-07-15T16:00Z"
        ]
    );
    assert_eq!(r.occurrences[0].tz.as_deref(), Some("America/New_York"));
    assert_eq!(
        fmt(r.occurrences[0].end),
        "2015-07-06T20:00Z",
        "DTEND is 13:00 Los Angeles"
    );
    assert!(has_warning(&r, "wall-clock"));
}

#[test]
fn windows_tzname_inconsistent_offsets() {
    // "New Zealand Standard Time" whose VTIMEZONE says +01:00 in November
    // 2019 (Pacific/Auckland was +13:00): the file's definition is used as
    // written, the zone reported as written, and the disagreement warned.
    let r = fixture(
        "windows_tzname_inconsistent_offsets.ics",
        "2019-11-01",
        "2019-12-01",
    );
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2019-11-20T12:00Z".into(), "2019-11-20T13:30Z".into())
    );
    assert_eq!(o.tz.as_deref(), Some("New Zealand Standard Time"));
    let w = r
        .warnings
        .iter()
        .find(|w| w.message.contains("disagrees"))
        .unwrap();
    assert_eq!(
        w.uid.as_deref(),
        Some("PERSOYPOYGVR55JMICVAFVDWWBIKPC9PTAG6SN4B2YT")
    );
    assert!(!w.skipped);
}

#[test]
fn zimbra_utc_negative_zero_x_microsoft() {
    let r = fixture(
        "zimbra_utc_negative_zero_x_microsoft.ics",
        "2012-08-01",
        "2012-09-01",
    );
    let o = only(&r);
    assert_eq!(
        (fmt(o.start), fmt(o.end)),
        ("2012-08-21T21:00Z".into(), "2012-08-21T21:30Z".into())
    );
    assert_eq!(o.tz, None, "Etc/GMT is UTC");
    let org = o.organizer.as_ref().unwrap();
    assert_eq!(
        (org.email.as_str(), org.name.as_deref()),
        ("calmozilla1@yahoo.com", Some("Sahaja Lal"))
    );
}

// ------------------------------------------------------ inline scenarios

/// Wraps VEVENT lines in a VCALENDAR (CRLF, as most producers write).
fn cal(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{}\r\nEND:VCALENDAR\r\n",
        body.trim().replace('\n', "\r\n")
    )
}

#[test]
fn weekly_series_with_a_moved_and_an_excluded_instance() {
    let text = cal("
BEGIN:VEVENT
UID:weekly-1
SUMMARY:Встреча ООО Ромашка
DTSTART;TZID=Europe/Moscow:20240902T100000
DTEND;TZID=Europe/Moscow:20240902T110000
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5
EXDATE;TZID=Europe/Moscow:20240916T100000
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
RECURRENCE-ID;TZID=Europe/Moscow:20240909T100000
SUMMARY:Встреча ООО Ромашка (перенос)
DTSTART;TZID=Europe/Moscow:20240910T150000
DTEND;TZID=Europe/Moscow:20240910T153000
END:VEVENT");
    let r = inline(&text, "2024-09-01", "2024-10-01");
    assert_eq!(
        starts(&r, "weekly-1"),
        [
            "2024-09-02T07:00Z",
            "2024-09-10T12:00Z",
            "2024-09-23T07:00Z",
            "2024-09-30T07:00Z"
        ]
    );
    let moved = by_start(&r, "weekly-1", "2024-09-10T12:00Z");
    assert_eq!(moved.recurrence_id, Some(t("2024-09-09T07:00Z")));
    assert_eq!(moved.title, "Встреча ООО Ромашка (перенос)");
    assert_eq!(fmt(moved.end), "2024-09-10T12:30Z");
    let first = by_start(&r, "weekly-1", "2024-09-02T07:00Z");
    assert_eq!(
        first.recurrence_id,
        Some(first.start),
        "the master's own instances carry their recurrence id"
    );
    assert_eq!(first.tz.as_deref(), Some("Europe/Moscow"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn windows_zone_names_without_vtimezone() {
    let text = cal("
BEGIN:VEVENT
UID:win-1
DTSTART;TZID=Russian Standard Time:20240415T100000
DTEND;TZID=Russian Standard Time:20240415T110000
END:VEVENT
BEGIN:VEVENT
UID:win-2
DTSTART;TZID=\"(UTC+03:00) Moscow, St. Petersburg, Volgograd\":20240416T100000
DURATION:PT45M
END:VEVENT
BEGIN:VEVENT
UID:win-3
DTSTART;TZID=W. Europe Standard Time:20240417T100000
END:VEVENT");
    let mut o = opts("2024-04-01", "2024-05-01");
    o.default_tz = Tz::America__New_York;
    let r = normalize(&[IcsInput::new("win.ics", text)], "cal", &o);
    let one = by_start(&r, "win-1", "2024-04-15T07:00Z");
    assert_eq!(one.tz.as_deref(), Some("Europe/Moscow"));
    let two = by_start(&r, "win-2", "2024-04-16T07:00Z");
    assert_eq!(two.tz.as_deref(), Some("Europe/Moscow"));
    assert_eq!(fmt(two.end), "2024-04-16T07:45Z");
    assert_eq!(
        by_start(&r, "win-3", "2024-04-17T08:00Z").tz.as_deref(),
        Some("Europe/Berlin")
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn unknown_zone_falls_back_to_the_default_zone_with_a_warning() {
    let text = cal("
BEGIN:VEVENT
UID:mars
DTSTART;TZID=Olympus Mons Time:20240415T100000
END:VEVENT");
    let r = inline(&text, "2024-04-01", "2024-05-01");
    assert_eq!(
        fmt(only(&r).start),
        "2024-04-15T07:00Z",
        "read in Moscow time"
    );
    let w = &r.warnings[0];
    assert!(
        !w.skipped && w.message.contains("Olympus Mons Time"),
        "{w:?}"
    );
    assert_eq!((w.uid.as_deref(), w.line), (Some("mars"), Some(6)));
}

#[test]
fn floating_time_is_read_in_the_default_zone() {
    let text = cal("
BEGIN:VEVENT
UID:float
DTSTART:20240115T100000
DTEND:20240115T113000
END:VEVENT");
    let mut o = opts("2024-01-01", "2024-02-01");
    o.default_tz = Tz::America__New_York;
    let r = normalize(&[IcsInput::new("f.ics", text.clone())], "cal", &o);
    let occ = only(&r);
    assert_eq!(
        (fmt(occ.start), fmt(occ.end)),
        ("2024-01-15T15:00Z".into(), "2024-01-15T16:30Z".into())
    );
    assert_eq!(occ.tz, None);
    o.default_tz = Tz::Europe__Moscow;
    let r = normalize(&[IcsInput::new("f.ics", text)], "cal", &o);
    assert_eq!(fmt(only(&r).start), "2024-01-15T07:00Z");
}

#[test]
fn all_day_events_are_dates_at_midnight_utc() {
    let text = cal("
BEGIN:VEVENT
UID:day-1
DTSTART;VALUE=DATE:20240301
END:VEVENT
BEGIN:VEVENT
UID:day-3
DTSTART;VALUE=DATE:20240305
DURATION:P3D
END:VEVENT
BEGIN:VEVENT
UID:day-2
DTSTART;VALUE=DATE:20240310
DTEND;VALUE=DATE:20240312
END:VEVENT");
    let mut o = opts("2024-03-01", "2024-04-01");
    o.default_tz = Tz::Asia__Vladivostok;
    let r = normalize(&[IcsInput::new("d.ics", text)], "cal", &o);
    let spans: Vec<(String, String, String)> = r
        .occurrences
        .iter()
        .map(|x| (x.uid.clone(), fmt(x.start), fmt(x.end)))
        .collect();
    assert_eq!(
        spans,
        [
            (
                "day-1".to_string(),
                "2024-03-01T00:00Z".to_string(),
                "2024-03-02T00:00Z".to_string()
            ),
            (
                "day-2".to_string(),
                "2024-03-10T00:00Z".to_string(),
                "2024-03-12T00:00Z".to_string()
            ),
            (
                "day-3".to_string(),
                "2024-03-05T00:00Z".to_string(),
                "2024-03-08T00:00Z".to_string()
            ),
        ]
    );
    assert!(r
        .occurrences
        .iter()
        .all(|x| x.all_day && x.tz.is_none() && x.recurrence_id.is_none()));
}

#[test]
fn unbounded_secondly_rule_is_capped_with_a_warning() {
    let text = cal("
BEGIN:VEVENT
UID:every-second
DTSTART:20240101T000000Z
RRULE:FREQ=SECONDLY
END:VEVENT");
    let began = std::time::Instant::now();
    let r = inline(&text, "2024-01-01", "2024-02-01");
    assert_eq!(r.occurrences.len(), 10_000);
    let w = r
        .warnings
        .iter()
        .find(|w| w.message.contains("capped"))
        .expect("cap warning");
    assert_eq!((w.uid.as_deref(), w.skipped), (Some("every-second"), false));
    assert!(began.elapsed().as_secs() < 10, "took {:?}", began.elapsed());
}

#[test]
fn rules_starting_in_year_0001_do_not_hang() {
    let text = cal("
BEGIN:VEVENT
UID:ancient-secondly
DTSTART:00010101T000000Z
RRULE:FREQ=SECONDLY;INTERVAL=7
END:VEVENT
BEGIN:VEVENT
UID:ancient-daily
DTSTART;TZID=Europe/Berlin:00010101T090000
DTEND;TZID=Europe/Berlin:00010101T100000
RRULE:FREQ=DAILY
END:VEVENT
BEGIN:VEVENT
UID:ancient-count
DTSTART:00010101T000000Z
RRULE:FREQ=SECONDLY;COUNT=2000000000
END:VEVENT
BEGIN:VEVENT
UID:ancient-yearly
DTSTART;VALUE=DATE:00010615
RRULE:FREQ=YEARLY
END:VEVENT");
    let began = std::time::Instant::now();
    let r = inline(&text, "2024-06-01", "2024-06-03");
    assert!(began.elapsed().as_secs() < 20, "took {:?}", began.elapsed());
    // Two days of a 7-second rule: capped; the alignment to year 1 is kept.
    let secondly = r
        .occurrences
        .iter()
        .filter(|o| o.uid == "ancient-secondly")
        .collect::<Vec<_>>();
    assert_eq!(secondly.len(), 10_000);
    assert!(secondly
        .iter()
        .all(|o| (o.start - t("0001-01-01")).num_seconds() % 7 == 0));
    assert_eq!(
        starts(&r, "ancient-daily"),
        ["2024-06-01T07:00Z", "2024-06-02T07:00Z"]
    );
    assert!(
        starts(&r, "ancient-yearly").is_empty(),
        "15 June is outside the window"
    );
    // COUNT cannot be skipped ahead: expansion stops with a warning instead.
    assert!(starts(&r, "ancient-count").is_empty());
    assert!(r
        .warnings
        .iter()
        .any(|w| w.uid.as_deref() == Some("ancient-count") && w.message.contains("stopped")));
}

#[test]
fn a_malformed_event_is_skipped_with_file_line_and_uid() {
    let text = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:good\nDTSTART:20240110T090000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:bad\nDTSTART:2024-13-45T25:00\nEND:VEVENT\nBEGIN:VEVENT\nUID:rejected\nDTSTART:20240110T090000Z\nRRULE:FREQ=WEEKLY;BYMONTHDAY=1\nEND:VEVENT\nEND:VCALENDAR\n";
    let r = normalize(
        &[IcsInput::new("calendars/ivanov.ics", text)],
        "cal",
        &opts("2024-01-01", "2024-02-01"),
    );
    assert_eq!(starts(&r, "good"), ["2024-01-10T09:00Z"]);
    let bad = r
        .warnings
        .iter()
        .find(|w| w.uid.as_deref() == Some("bad"))
        .unwrap();
    assert_eq!(
        (bad.file.as_str(), bad.line, bad.skipped),
        ("calendars/ivanov.ics", Some(7), true)
    );
    assert!(bad.message.contains("DTSTART on line 9"), "{}", bad.message);
    // A rule part the rrule crate rejects (BYMONTHDAY with WEEKLY, which
    // RFC 5545 §3.3.10 forbids) is dropped with a warning; the event and
    // the rest of its rule stay (issue 11).
    assert_eq!(
        starts(&r, "rejected"),
        [
            "2024-01-10T09:00Z",
            "2024-01-17T09:00Z",
            "2024-01-24T09:00Z",
            "2024-01-31T09:00Z"
        ]
    );
    let rejected = r
        .warnings
        .iter()
        .find(|w| w.uid.as_deref() == Some("rejected"))
        .unwrap();
    assert!(
        !rejected.skipped
            && rejected.message.contains("RRULE on line 14")
            && rejected.message.contains("BYMONTHDAY=1"),
        "{rejected:?}"
    );
}

#[test]
fn overrides_merge_with_their_master_across_files() {
    let master = cal("
BEGIN:VEVENT
UID:split
DTSTART:20240101T090000Z
DTEND:20240101T100000Z
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT");
    let override_ = cal("
BEGIN:VEVENT
UID:split
RECURRENCE-ID:20240102T090000Z
DTSTART:20240102T140000Z
DTEND:20240102T150000Z
SUMMARY:moved
END:VEVENT");
    let files = [
        IcsInput::new("b.ics", override_),
        IcsInput::new("a.ics", master),
    ];
    let r = normalize(&files, "cal", &opts("2024-01-01", "2024-02-01"));
    assert_eq!(
        starts(&r, "split"),
        [
            "2024-01-01T09:00Z",
            "2024-01-02T14:00Z",
            "2024-01-03T09:00Z"
        ]
    );
}

#[test]
fn cancellations_per_instance_and_per_series() {
    let series = cal("
BEGIN:VEVENT
UID:c1
SEQUENCE:1
DTSTART;TZID=Europe/Moscow:20240101T120000
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:c2
STATUS:CANCELLED
DTSTART;TZID=Europe/Moscow:20240101T120000
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT");
    let cancel = "BEGIN:VCALENDAR\nMETHOD:CANCEL\nBEGIN:VEVENT\nUID:c1\nSEQUENCE:2\nRECURRENCE-ID;TZID=Europe/Moscow:20240102T120000\nSTATUS:CANCELLED\nEND:VEVENT\nEND:VCALENDAR\n";
    let files = [
        IcsInput::new("a.ics", series),
        IcsInput::new("cancel.ics", cancel),
    ];
    let r = normalize(&files, "cal", &opts("2024-01-01", "2024-02-01"));
    let status = |uid: &str| {
        r.occurrences
            .iter()
            .filter(|o| o.uid == uid)
            .map(|o| o.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        status("c1"),
        [
            EventStatus::Confirmed,
            EventStatus::Cancelled,
            EventStatus::Confirmed
        ]
    );
    assert_eq!(
        status("c2"),
        [EventStatus::Cancelled, EventStatus::Cancelled]
    );
    assert_eq!(
        starts(&r, "c1")[1],
        "2024-01-02T09:00Z",
        "the cancelled instance keeps the master's time"
    );
}

#[test]
fn until_as_a_date_and_until_in_utc() {
    let text = cal("
BEGIN:VEVENT
UID:until-date
DTSTART;TZID=Europe/Berlin:20240101T090000
RRULE:FREQ=DAILY;UNTIL=20240103
END:VEVENT
BEGIN:VEVENT
UID:until-utc
DTSTART;TZID=America/New_York:20240101T230000
RRULE:FREQ=DAILY;UNTIL=20240103T040000Z
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2024-02-01");
    // A date UNTIL against a date-time DTSTART includes that whole day.
    assert_eq!(
        starts(&r, "until-date"),
        [
            "2024-01-01T08:00Z",
            "2024-01-02T08:00Z",
            "2024-01-03T08:00Z"
        ]
    );
    // 23:00 New York = 04:00Z next day: the instance at exactly UNTIL counts.
    assert_eq!(
        starts(&r, "until-utc"),
        ["2024-01-02T04:00Z", "2024-01-03T04:00Z"]
    );
}

#[test]
fn rdate_dates_datetimes_and_periods_and_exdate_in_utc() {
    let text = cal("
BEGIN:VEVENT
UID:rd
DTSTART;TZID=Europe/Moscow:20240101T100000
DTEND;TZID=Europe/Moscow:20240101T110000
RDATE;VALUE=DATE:20240105
RDATE;TZID=Europe/Berlin:20240106T100000
RDATE;VALUE=PERIOD:20240107T060000Z/20240107T090000Z,20240108T060000Z/PT30M
RRULE:FREQ=DAILY;COUNT=3
EXDATE:20240102T070000Z
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2024-02-01");
    let spans: Vec<(String, String)> = r
        .occurrences
        .iter()
        .map(|o| (fmt(o.start), fmt(o.end)))
        .collect();
    let expected = [
        ("2024-01-01T07:00Z", "2024-01-01T08:00Z"),
        ("2024-01-03T07:00Z", "2024-01-03T08:00Z"),
        ("2024-01-05T07:00Z", "2024-01-05T08:00Z"),
        ("2024-01-06T09:00Z", "2024-01-06T10:00Z"),
        ("2024-01-07T06:00Z", "2024-01-07T09:00Z"),
        ("2024-01-08T06:00Z", "2024-01-08T06:30Z"),
    ];
    assert_eq!(spans, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn this_and_future_override_reshapes_the_rest_of_the_series() {
    let text = cal("
BEGIN:VEVENT
UID:taf
SUMMARY:old
DTSTART:20240101T090000Z
DTEND:20240101T100000Z
RRULE:FREQ=DAILY;COUNT=5
END:VEVENT
BEGIN:VEVENT
UID:taf
SUMMARY:new
RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T090000Z
DTSTART:20240103T110000Z
DTEND:20240103T113000Z
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2024-02-01");
    let rows: Vec<(String, String, String)> = r
        .occurrences
        .iter()
        .map(|o| (fmt(o.start), fmt(o.end), o.title.clone()))
        .collect();
    let expected = [
        ("2024-01-01T09:00Z", "2024-01-01T10:00Z", "old"),
        ("2024-01-02T09:00Z", "2024-01-02T10:00Z", "old"),
        ("2024-01-03T11:00Z", "2024-01-03T11:30Z", "new"),
        ("2024-01-04T11:00Z", "2024-01-04T11:30Z", "new"),
        ("2024-01-05T11:00Z", "2024-01-05T11:30Z", "new"),
    ];
    assert_eq!(
        rows,
        expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(r.occurrences[3].recurrence_id, Some(t("2024-01-04T09:00Z")));
}

#[test]
fn recurrence_id_in_another_zone_names_the_same_instant() {
    let text = cal("
BEGIN:VEVENT
UID:rz
DTSTART;TZID=Europe/Moscow:20240101T120000
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:rz
RECURRENCE-ID;TZID=Europe/Berlin:20240102T100000
DTSTART;TZID=Europe/Moscow:20240102T180000
SUMMARY:evening
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2024-02-01");
    assert_eq!(starts(&r, "rz"), ["2024-01-01T09:00Z", "2024-01-02T15:00Z"]);
}

#[test]
fn people_links_and_transparency() {
    let text = cal("
BEGIN:VEVENT
UID:people
DTSTART:20240110T090000Z
DTEND:20240110T100000Z
ORGANIZER;CN=\"Иванов\\, Иван\":MAILTO:Ivanov@Acme.Example
ATTENDEE;CN=Client;PARTSTAT=accepted;ROLE=REQ-PARTICIPANT:Mailto: Client@Romashka.RU
ATTENDEE;PARTSTAT=DECLINED:mailto:other@romashka.ru
X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij
URL:https://example.com/event
LOCATION:Офис\\, переговорная 3
X-MICROSOFT-CDO-BUSYSTATUS:FREE
END:VEVENT
BEGIN:VEVENT
UID:teams
DTSTART:20240111T090000Z
X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/x
TRANSP:OPAQUE
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2024-02-01");
    let o = by_start(&r, "people", "2024-01-10T09:00Z");
    let org = o.organizer.as_ref().unwrap();
    assert_eq!(
        (org.email.as_str(), org.name.as_deref(), org.partstat),
        (
            "ivanov@acme.example",
            Some("Иванов, Иван"),
            PartStat::Accepted
        )
    );
    assert_eq!(o.attendees[0].email, "client@romashka.ru");
    assert_eq!(o.attendees[0].partstat, PartStat::Accepted);
    assert_eq!(o.attendees[0].role.as_deref(), Some("REQ-PARTICIPANT"));
    assert_eq!(o.attendees[1].partstat, PartStat::Declined);
    assert_eq!(
        o.conference.as_deref(),
        Some("https://meet.google.com/abc-defg-hij")
    );
    assert_eq!(o.url.as_deref(), Some("https://example.com/event"));
    assert_eq!(o.location.as_deref(), Some("Офис, переговорная 3"));
    assert!(o.transparent, "X-MICROSOFT-CDO-BUSYSTATUS:FREE");
    let teams = by_start(&r, "teams", "2024-01-11T09:00Z");
    assert_eq!(
        teams.conference.as_deref(),
        Some("https://teams.microsoft.com/l/meetup-join/x")
    );
    assert!(!teams.transparent);
    assert_eq!(teams.end, teams.start, "no DTEND nor DURATION: zero length");
}

#[test]
fn dst_gap_and_overlap_follow_rfc_5545() {
    // 02:30 on 31 March 2024 does not exist in Berlin: read with the offset
    // before the gap (= 03:30 CEST). 02:30 on 27 October happens twice: the
    // first (CEST) is taken.
    let text = cal("
BEGIN:VEVENT
UID:gap
DTSTART;TZID=Europe/Berlin:20240331T023000
END:VEVENT
BEGIN:VEVENT
UID:fold
DTSTART;TZID=Europe/Berlin:20241027T023000
END:VEVENT");
    let r = inline(&text, "2024-01-01", "2025-01-01");
    assert_eq!(starts(&r, "gap"), ["2024-03-31T01:30Z"]);
    assert_eq!(starts(&r, "fold"), ["2024-10-27T00:30Z"]);
}

#[test]
fn lexing_leniency_cr_only_lf_only_tab_folding_and_missing_end() {
    let text = "BEGIN:VCALENDAR\rBEGIN:VEVENT\rUID:cr\rDTSTART:20240110T090000Z\rSUMMARY:Long\r\t title\rEND:VEVENT\r";
    let r = inline(text, "2024-01-01", "2024-02-01");
    assert_eq!(only(&r).title, "Long title");
    let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:open\nDTSTART:20240110T090000Z\nDTEND:20240110T100000Z\n";
    let r = inline(text, "2024-01-01", "2024-02-01");
    assert_eq!(
        fmt(only(&r).end),
        "2024-01-10T10:00Z",
        "an unterminated event is still read"
    );
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("not closed") && !w.skipped));
    let r = inline("", "2024-01-01", "2024-02-01");
    assert!(r.occurrences.is_empty());
}

#[test]
fn window_bounds_are_half_open() {
    let text = cal("
BEGIN:VEVENT
UID:before
DTSTART:20240101T080000Z
DTEND:20240101T090000Z
END:VEVENT
BEGIN:VEVENT
UID:overlapping
DTSTART:20240101T083000Z
DTEND:20240101T093000Z
END:VEVENT
BEGIN:VEVENT
UID:at-end
DTSTART:20240101T180000Z
DTEND:20240101T190000Z
END:VEVENT");
    let r = inline(&text, "2024-01-01T09:00Z", "2024-01-01T18:00Z");
    let uids: Vec<&str> = r.occurrences.iter().map(|o| o.uid.as_str()).collect();
    assert_eq!(uids, ["overlapping"]);
}

#[test]
fn the_result_does_not_depend_on_the_order_of_files() {
    let a = cal("
BEGIN:VEVENT
UID:dup
DTSTART:20240110T090000Z
SUMMARY:copy in a
END:VEVENT");
    let b = cal("
BEGIN:VEVENT
UID:dup
DTSTART:20240110T090000Z
SUMMARY:copy in b
END:VEVENT
BEGIN:VEVENT
UID:x
DTSTART;TZID=Nowhere:20240110T090000
END:VEVENT");
    let fa = IcsInput::new("a.ics", a);
    let fb = IcsInput::new("b.ics", b);
    let o = opts("2024-01-01", "2024-02-01");
    let ab = normalize(&[fa.clone(), fb.clone()], "cal", &o);
    let ba = normalize(&[fb, fa], "cal", &o);
    assert_eq!(ab.occurrences, ba.occurrences);
    assert_eq!(ab.warnings, ba.warnings);
    assert_eq!(by_start(&ab, "dup", "2024-01-10T09:00Z").title, "copy in b");
}

#[test]
fn zone_names_from_providers_map_to_iana() {
    use meetledger::calendar::zone_for_name;
    assert_eq!(
        zone_for_name("Russian Standard Time"),
        Some(Tz::Europe__Moscow)
    );
    assert_eq!(
        zone_for_name("(UTC+03:00) Moscow, St. Petersburg"),
        Some(Tz::Europe__Moscow)
    );
    assert_eq!(zone_for_name("Europe/Moscow"), Some(Tz::Europe__Moscow));
    assert_eq!(zone_for_name("Customized Time Zone"), None);
}
