//! The ICS reader must never panic or hang, whatever the input: property
//! tests feed it mangled versions of the real fixtures and random text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use meetledger::calendar::{normalize, ExpandOptions, IcsInput};
use proptest::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ics");

fn fixtures() -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ics"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

fn opts() -> ExpandOptions {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    ExpandOptions {
        window_start: at("1990-01-01T00:00:00Z"),
        window_end: at("2030-01-01T00:00:00Z"),
        default_tz: Tz::Europe__Moscow,
        max_instances: 500,
        limits: Default::default(),
    }
}

/// One edit of a file's lines.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    Truncate(usize),
    InsertText(usize, String),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let noise = prop_oneof![
        Just("RRULE:FREQ=SECONDLY".to_string()),
        Just("RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30".to_string()),
        Just("RRULE:FREQ=MONTHLY;BYSETPOS=400;BYDAY=MO".to_string()),
        Just("DTSTART:00010101T000000Z".to_string()),
        Just("DURATION:P999999999W".to_string()),
        Just("EXDATE;TZID=Nowhere:20240101T000000".to_string()),
        Just("RECURRENCE-ID;RANGE=THISANDFUTURE:20000101".to_string()),
        Just("BEGIN:VEVENT".to_string()),
        Just("END:VEVENT".to_string()),
        Just("END:VTIMEZONE".to_string()),
        Just("TZOFFSETTO:+9999".to_string()),
        Just("RDATE;VALUE=PERIOD:20240101T000000Z/P-1D".to_string()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), noise).prop_map(|(at, text)| Edit::InsertText(at, text)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::Truncate(i) => lines.truncate(i % n),
            Edit::InsertText(i, t) => lines.insert(i % (n + 1), t.clone()),
            Edit::SwapLines(a, b) => lines.swap(a % n, b % n),
        }
    }
    lines.join("\r\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mangled_fixtures_never_panic(which in any::<usize>(), edits in proptest::collection::vec(edit(), 1..6)) {
        let all = fixtures();
        let text = apply(&all[which % all.len()], &edits);
        let started = std::time::Instant::now();
        let r = normalize(&[IcsInput::new("mangled.ics", text)], "cal", &opts());
        prop_assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
        for o in &r.occurrences {
            prop_assert!(o.end >= o.start);
        }
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        let _ = normalize(&[IcsInput::new("random.ics", text)], "cal", &opts());
    }
}
