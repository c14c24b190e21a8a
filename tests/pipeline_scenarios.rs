//! The whole pipeline on local files, through the real binary: months in the
//! company's zone, recurring series, deletions, and bad input skipped and
//! reported without stopping the sync.

mod common;

use common::{attendee, event, ics, Company};
use serde_json::Value;

const NOW: &str = "2026-11-27T18:00:00+03:00";

/// One source's entry in `status --format json`.
fn source_status(status: &Value, id: &str) -> Value {
    let sources = status["sources"].as_array().expect("sources array");
    sources
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no source {id} in {status}"))
}

fn meetings(company: &Company, period: &str) -> Vec<Value> {
    company
        .ok(NOW, &["meetings", "--period", period, "--format", "jsonl"])
        .jsonl()
}

#[test]
fn half_past_midnight_moscow_on_the_first_belongs_to_that_month() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "night@acme",
            "20261101T003000",
            60,
            "Ужин с клиентом",
            &[&attendee("ceo@romashka.ru", "ACCEPTED")],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let november = meetings(&company, "2026-11");
    assert_eq!(november.len(), 1);
    assert_eq!(november[0]["start"], "2026-10-31T21:30:00Z");
    assert_eq!(november[0]["client"], "c1");
    assert_eq!(november[0]["rule"], "domain");
    assert!(meetings(&company, "2026-10").is_empty());
}

#[test]
fn a_weekly_series_with_a_moved_and_an_excluded_instance() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[
            event(
                "weekly@acme",
                "20261006T100000",
                60,
                "Еженедельный визит",
                &[
                    &attendee("boss@romashka.ru", "ACCEPTED"),
                    "RRULE:FREQ=WEEKLY;COUNT=4",
                    "EXDATE;TZID=Europe/Moscow:20261013T100000",
                ],
            ),
            // The third instance moved from Tuesday 10:00 to Wednesday 14:00.
            event(
                "weekly@acme",
                "20261021T140000",
                60,
                "Еженедельный визит (перенос)",
                &[
                    &attendee("boss@romashka.ru", "ACCEPTED"),
                    "RECURRENCE-ID;TZID=Europe/Moscow:20261020T100000",
                ],
            ),
        ]),
    );
    company.ok(NOW, &["run", "--once"]);
    let october = meetings(&company, "2026-10");
    let got: Vec<(&str, &Value)> = october
        .iter()
        .map(|m| (m["start"].as_str().unwrap(), &m["recurrence_id"]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2026-10-06T07:00:00Z", &Value::from("2026-10-06T07:00:00Z")),
            ("2026-10-21T11:00:00Z", &Value::from("2026-10-20T07:00:00Z")),
            ("2026-10-27T07:00:00Z", &Value::from("2026-10-27T07:00:00Z")),
        ]
    );
    let events = company
        .ok(
            NOW,
            &[
                "events",
                "--calendar",
                "ivanov-main",
                "--from",
                "2026-10-01T00:00:00Z",
                "--to",
                "2026-11-01T00:00:00Z",
                "--format",
                "jsonl",
            ],
        )
        .jsonl();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1]["title"], "Еженедельный визит (перенос)");
    assert_eq!(events[1]["tz"], "Europe/Moscow");
    assert_eq!(events[1]["attendees"][0]["email"], "boss@romashka.ru");
    assert_eq!(events[1]["attendees"][0]["partstat"], "ACCEPTED");
}

#[test]
fn an_event_deleted_from_the_file_is_removed_from_the_ledger() {
    let company = Company::new("");
    let visit = event(
        "gone@acme",
        "20261110T100000",
        60,
        "Визит",
        &[&attendee("boss@romashka.ru", "ACCEPTED")],
    );
    company.write("calendars/ivanov.ics", &ics(&[visit]));
    company.ok(NOW, &["run", "--once"]);
    assert_eq!(meetings(&company, "2026-11").len(), 1);

    company.write("calendars/ivanov.ics", &ics(&[]));
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(
        run.stdout.contains("ivanov-main: 0 changed, 1 removed"),
        "{}",
        run.stdout
    );
    assert!(meetings(&company, "2026-11").is_empty());
    let entries = company
        .ok(
            NOW,
            &["entries", "--period", "2026-11", "--format", "jsonl"],
        )
        .jsonl();
    let changes: Vec<&str> = entries
        .iter()
        .map(|e| e["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["added", "removed"]);
    assert_eq!(entries[1]["weight"], Value::Null);
    assert_eq!(entries[1]["weight_delta"], -1.0);
}

#[test]
fn a_malformed_event_is_skipped_and_reported_and_the_rest_is_kept() {
    let company = Company::new("");
    let good = event(
        "good@acme",
        "20261110T100000",
        60,
        "Визит",
        &[&attendee("boss@romashka.ru", "ACCEPTED")],
    );
    let broken = "BEGIN:VEVENT\nUID:broken@acme\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Moscow:2026-11-XX\nSUMMARY:Сломано\nEND:VEVENT\n".to_string();
    company.write("calendars/ivanov.ics", &ics(&[broken, good]));
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(run.stdout.contains("1 skipped"), "{}", run.stdout);
    assert_eq!(meetings(&company, "2026-11").len(), 1);

    let status = company.ok(NOW, &["status", "--format", "json"]).json();
    let source = source_status(&status, "ivanov-main");
    assert_eq!(source["skipped"], 1, "{source}");
    let warning = source["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("ivanov.ics:") && warning.contains("broken@acme"),
        "{warning}"
    );
}

#[test]
fn a_bad_csv_row_is_skipped_with_its_file_and_line() {
    let company = Company::new("");
    company.orders(&[
        "o1,c1,2026-09-20,100000,RUB,paid,ivanov",
        "o2,c1,someday,5,RUB,paid,ivanov",
        "o3,c2,2026-09-21,7,RUB,paid,",
    ]);
    company.ok(NOW, &["sync"]);
    let status = company.ok(NOW, &["status", "--format", "json"]).json();
    let crm = source_status(&status, "main");
    assert_eq!(crm["skipped"], 1, "{crm}");
    let warning = crm["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("orders.csv:3") && warning.contains("someday"),
        "{warning}"
    );
    assert_eq!(status["counts"]["orders"], 2);
}

#[test]
fn a_failing_source_does_not_stop_the_others() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "v@acme",
            "20261110T100000",
            60,
            "Визит",
            &[&attendee("boss@romashka.ru", "ACCEPTED")],
        )]),
    );
    std::fs::write(
        company.path("crm/clients.csv"),
        b"id,name\nc1,\xff\xfe broken\n",
    )
    .unwrap();
    let run = company.run(NOW, &["sync"]);
    assert_eq!(run.code, 1, "a failed source makes the sync exit 1");
    assert!(
        run.stdout.contains("main: FAILED") && run.stdout.contains("not UTF-8"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ivanov-main: 1 changed"),
        "{}",
        run.stdout
    );
    let status = company.ok(NOW, &["status", "--format", "json"]).json();
    let crm = source_status(&status, "main");
    assert!(
        crm["last_error"].as_str().unwrap().contains("not UTF-8"),
        "{crm}"
    );
}

#[test]
fn explain_says_why_an_internal_meeting_does_not_count() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "standup@acme",
            "20261110T093000",
            30,
            "Планёрка",
            &[&attendee("petrova@acme.example", "ACCEPTED")],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let explained = company
        .ok(
            NOW,
            &[
                "explain",
                "--calendar",
                "ivanov-main",
                "--uid",
                "standup@acme",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(explained["meeting"], false);
    assert_eq!(explained["reason"], "internal");
}

#[test]
fn explain_shows_a_meeting_with_the_fields_of_meetings() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "zoom@acme",
            "20261110T100000",
            60,
            "Встреча ООО «Ромашка»",
            &["LOCATION:https://zoom.us/j/123"],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let e = company
        .ok(
            NOW,
            &[
                "explain",
                "--calendar",
                "ivanov-main",
                "--uid",
                "zoom@acme",
                "--format",
                "json",
            ],
        )
        .json();
    assert_eq!(e["meeting"], true, "{e}");
    assert_eq!(e["reason"], Value::Null);
    assert_eq!(
        (e["client"].as_str(), e["rule"].as_str(), e["kind"].as_str()),
        (Some("c1"), Some("title"), Some("online"))
    );
    assert_eq!(e["weight"], 0.5);
    assert_eq!(e["outcome"], "pending");
    assert_eq!(e["manager"], "ivanov");
}
