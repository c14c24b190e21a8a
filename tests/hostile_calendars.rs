//! Hostile calendars (issue 12, "Bounded work on hostile input"): files an
//! outsider can get into a manager's calendar, generated here, synced by
//! the real binary with the default limits. What is stored stays bounded —
//! the calendar's occurrence budget, attendees per event, text lengths —
//! the cuts are reported in `status`, and ordinary meetings beside the
//! hostile ones are still stored and credited. (Memory and time are
//! measured by hand with `/usr/bin/time -v`, see BENCH.md; no timing here.)

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use meetledger::ledger::Store;
use serde_json::Value;

const NOW: &str = "2026-11-11T09:00:00Z";

/// A company with one manager and one ICS calendar at `ivanov.ics`.
fn company(dir: &Path, ics: &str) {
    std::fs::write(
        dir.join("meetledger.toml"),
        r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"

[ledger]
path = "ledger.db"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"

[[calendar]]
id = "ivanov-main"
manager = "ivanov"
kind = "ics_file"
path = "ivanov.ics"

[[crm]]
id = "main"
kind = "csv"
clients = "clients.csv"
orders = "orders.csv"
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("clients.csv"),
        "id,name,domains,emails,manager,key\nc1,ООО Ромашка,romashka.ru,,ivanov,no\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("orders.csv"),
        "id,client_id,created_at,amount,currency,status,manager\n",
    )
    .unwrap();
    std::fs::write(dir.join("ivanov.ics"), ics).unwrap();
}

/// The memory every stage must stay within on hostile input.
const MEMORY_CAP_BYTES: u64 = 512 << 20;

/// Runs the binary under a 512 MiB cap on its data segment (heap and
/// private mappings, RLIMIT_DATA): past it an allocation fails and the
/// process aborts, so a regression that makes a hostile calendar expensive
/// fails here rather than only in a benchmark.
fn run(dir: &Path, args: &[&str]) -> String {
    let config = dir.join("meetledger.toml");
    let output = Command::new("prlimit")
        .arg(format!("--data={MEMORY_CAP_BYTES}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config", config.to_str().unwrap(), "--now", NOW])
        .args(args)
        .env_remove("MEETLEDGER_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "meetledger {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `status --format json`: the calendar's source entry and the counts.
fn status(dir: &Path) -> (Value, Value) {
    let value: Value = serde_json::from_str(&run(dir, &["status", "--format", "json"])).unwrap();
    let source = value["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "ivanov-main")
        .unwrap()
        .clone();
    (source, value["counts"].clone())
}

fn warnings(source: &Value) -> String {
    source["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn store(dir: &Path) -> Store {
    Store::open(&dir.join("ledger.db")).unwrap()
}

fn vcalendar(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n{body}END:VCALENDAR\r\n")
}

/// A weekly client meeting on Tuesdays 10:00 Moscow through the window:
/// the ordinary series that must survive beside hostile ones.
const WEEKLY: &str = "BEGIN:VEVENT\r\nUID:zz-weekly@acme\r\nDTSTAMP:20260101T000000Z\r\n\
    DTSTART;TZID=Europe/Moscow:20260106T100000\r\nDURATION:PT1H\r\n\
    RRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:Ромашка: еженедельная встреча\r\nEND:VEVENT\r\n";

#[test]
fn three_hundred_secondly_series_stay_within_the_calendar_budget() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut body = String::new();
    for i in 0..300 {
        // 58 KB of these made 3 000 000 occurrences and a 1.8 GB ledger.
        write!(
            body,
            "BEGIN:VEVENT\r\nUID:flood-{i:03}@evil.example\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20261101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n\
             SUMMARY:x\r\nEND:VEVENT\r\n"
        )
        .unwrap();
    }
    body.push_str(WEEKLY);
    let ics = vcalendar(&body);
    assert!(ics.len() < 64 * 1024, "{} bytes", ics.len());
    company(dir, &ics);

    run(dir, &["sync"]);
    let (source, counts) = status(dir);
    let stored = counts["occurrences"].as_u64().unwrap();
    assert!(
        (99_000..=100_000).contains(&stored),
        "stored {stored}: the default budget is 100 000 per calendar"
    );
    let warnings = warnings(&source);
    assert!(
        warnings.contains("occurrence budget of 100000 reached")
            && warnings.contains("300 series cut"),
        "{warnings}"
    );
    assert!(source["skipped"].as_i64().unwrap() >= 1, "{source}");

    // The weekly meeting keeps every instance in the window and counts.
    let weekly = store(dir)
        .occurrences()
        .unwrap()
        .into_iter()
        .filter(|o| o.uid == "zz-weekly@acme")
        .count();
    assert_eq!(weekly, 49, "Tuesdays from 2026-01-06 to 2026-12-08");
    run(dir, &["score"]);
    let meetings = run(
        dir,
        &["meetings", "--period", "2026-11", "--format", "jsonl"],
    );
    assert_eq!(
        meetings
            .lines()
            .filter(|l| l.contains("zz-weekly@acme"))
            .count(),
        2,
        "Tuesdays 3 and 10 November are past meetings:\n{meetings}"
    );
    // The ledger stays within what 100 000 small occurrences take.
    let size = std::fs::metadata(dir.join("ledger.db")).unwrap().len();
    assert!(size < 200 << 20, "ledger of {} MiB", size >> 20);
}

#[test]
fn a_series_with_twenty_thousand_attendees_keeps_two_hundred() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mut event = String::from(
        "BEGIN:VEVENT\r\nUID:crowd@evil.example\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART;TZID=Europe/Moscow:20251001T120000\r\nDURATION:PT1H\r\n\
         RRULE:FREQ=DAILY\r\nSUMMARY:Ромашка\r\n\
         ORGANIZER:mailto:boss@romashka.ru\r\n",
    );
    for i in 0..20_000 {
        writeln!(
            event,
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:guest{i:05}@crowd.example\r"
        )
        .unwrap();
    }
    // The manager comes last: cutting must not drop them.
    event.push_str("ATTENDEE;PARTSTAT=ACCEPTED:mailto:ivanov@acme.example\r\nEND:VEVENT\r\n");
    company(dir, &vcalendar(&event));

    run(dir, &["sync"]);
    let occurrences = store(dir).occurrences().unwrap();
    assert!(!occurrences.is_empty());
    for o in &occurrences {
        assert_eq!(o.attendees.len(), 200, "{}", o.start);
        assert!(o.attendees.iter().any(|a| a.email == "ivanov@acme.example"));
        assert_eq!(o.organizer.as_ref().unwrap().email, "boss@romashka.ru");
    }
    let (source, _) = status(dir);
    let warnings = warnings(&source);
    assert!(
        warnings.contains("19801 attendee(s) beyond 200 not stored"),
        "{warnings}"
    );
    // A 200-attendee occurrence weighs 21 units of the budget: at most
    // 100 000 / 21 such occurrences, whatever the series asks for.
    assert!(occurrences.len() <= 100_000 / 21);
    let size = std::fs::metadata(dir.join("ledger.db")).unwrap().len();
    assert!(size < 100 << 20, "ledger of {} MiB", size >> 20);
    run(dir, &["score"]);
}

#[test]
fn a_ten_megabyte_title_is_cut_and_its_tags_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let long = "Ромашка ".to_string() + &"A".repeat(10 << 20);
    let ics = vcalendar(&format!(
        "BEGIN:VEVENT\r\nUID:long@evil.example\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART;TZID=Europe/Moscow:20261110T100000\r\nDURATION:PT1H\r\n\
         SUMMARY:{long}\r\nLOCATION:{long}\r\nDESCRIPTION:{long}\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:long-tagged@evil.example\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART;TZID=Europe/Moscow:20261110T140000\r\nDURATION:PT1H\r\n\
         SUMMARY:{long} #nomeeting\r\nEND:VEVENT\r\n"
    ));
    company(dir, &ics);

    run(dir, &["sync"]);
    let occurrences = store(dir).occurrences().unwrap();
    assert_eq!(occurrences.len(), 2);
    for o in &occurrences {
        assert_eq!(o.title.chars().count(), 500);
    }
    let size = std::fs::metadata(dir.join("ledger.db")).unwrap().len();
    assert!(size < 2 << 20, "ledger of {} KiB", size >> 10);
    let (source, _) = status(dir);
    let warnings = warnings(&source);
    assert!(warnings.contains("cut to 500 characters"), "{warnings}");

    run(dir, &["score"]);
    let explain = |uid: &str| run(dir, &["explain", "--calendar", "ivanov-main", "--uid", uid]);
    assert!(explain("long@evil.example").contains("\"found_client\": \"c1\""));
    // The tag sat past the cut: it still excludes.
    assert!(explain("long-tagged@evil.example").contains("\"reason\": \"override\""));
}
