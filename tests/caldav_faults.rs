//! Faults (issue 4 acceptance): with a seeded proxy failing about a third
//! of responses (500, 503, 429 with `Retry-After: 0`, dropped connections,
//! cut-off bodies) in front of Radicale, the `caldav` and `ics_url` sources
//! end with exactly the occurrences of a fault-free run, step after step
//! (first sync, added, moved instance, deleted, no change).

mod support;

use support::proxy::{Options, Proxy};
use support::{event, fast_http, sync_calendars, sync_until_ok, table, Radicale, Setup};

fn calendars(base: &str, feed: &str) -> String {
    format!(
        r#"
[[calendar]]
id = "alice-dav"
manager = "alice"
kind = "caldav"
url = "{base}"
username = "alice"
password = {{ file = "alice.pass" }}

[[calendar]]
id = "alice-feed"
manager = "alice"
kind = "ics_url"
url = "{feed}"
username = "alice"
password = {{ file = "alice.pass" }}
"#
    )
}

fn series(extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:series@test\nDTSTAMP:20261101T000000Z\nDTSTART:20261102T090000Z\nDTEND:20261102T100000Z\nRRULE:FREQ=WEEKLY;COUNT=6\nSUMMARY:Weekly\nEND:VEVENT\n{extra}END:VCALENDAR\n"
    )
}

#[tokio::test]
async fn a_third_of_responses_failing_changes_nothing_stored() {
    let radicale = Radicale::start();
    radicale.mkcalendar("/alice/work/", "Work").await;
    for i in 0..30 {
        let day = 1 + i % 25;
        radicale
            .put(
                &format!("/alice/work/e{i}.ics"),
                &event(
                    &format!("e{i}@test"),
                    &format!("202611{day:02}T1{}0000Z", i % 8),
                    &format!("202611{day:02}T1{}3000Z", i % 8),
                    &format!("Meeting {i}"),
                    "",
                ),
            )
            .await;
    }
    radicale.put("/alice/work/series.ics", &series("")).await;

    let clean = Proxy::start(radicale.addr, Options::default()).await;
    let faulty = Proxy::start(
        radicale.addr,
        Options {
            faults: Some((20261127, 1.0 / 3.0)),
            ..Options::default()
        },
    )
    .await;
    let clean_setup = Setup::new(&calendars(&clean.url("/"), &clean.url("/alice/work/")));
    let faulty_setup = Setup::new(&calendars(&faulty.url("/"), &faulty.url("/alice/work/")));
    let mut expected = clean_setup.store("clean.db");
    let mut actual = faulty_setup.store("faulty.db");

    // Each step: the fault-free run once, the faulty one until it succeeds
    // (a failed source is retried on the next run, as the daemon does).
    let moved = series(
        "BEGIN:VEVENT\nUID:series@test\nDTSTAMP:20261102T000000Z\nRECURRENCE-ID:20261116T090000Z\nDTSTART:20261116T150000Z\nDTEND:20261116T160000Z\nSUMMARY:Weekly (moved)\nEND:VEVENT\n",
    );
    let added = event(
        "added@test",
        "20261120T140000Z",
        "20261120T150000Z",
        "Added",
        "",
    );
    // (step, a resource written before it)
    let steps = [
        ("first sync", None),
        ("an added event", Some(("/alice/work/added.ics", added))),
        ("a moved instance", Some(("/alice/work/series.ics", moved))),
        ("a deleted event", None),
        ("no change", None),
    ];
    for (step, change) in steps {
        if let Some((path, ics)) = change {
            radicale.put(path, &ics).await;
        }
        if step == "a deleted event" {
            radicale.delete("/alice/work/e3.ics").await;
        }
        let clean_result = sync_calendars(&clean_setup.config, &mut expected, fast_http()).await;
        assert!(
            clean_result.iter().all(|(_, r)| r.is_ok()),
            "{clean_result:?}"
        );
        sync_until_ok(&faulty_setup.config, &mut actual, fast_http(), 10).await;
        let want = table(&expected.occurrences().unwrap());
        let got = table(&actual.occurrences().unwrap());
        assert_eq!(got, want, "after {step}");
        assert_eq!(
            actual.occurrences().unwrap(),
            expected.occurrences().unwrap(),
            "after {step}: stored occurrences differ"
        );
    }
    let log = faulty.take();
    let failed = log.iter().filter(|l| l.fault.is_some()).count();
    eprintln!(
        "faulty proxy: {} requests, {failed} failed on purpose",
        log.len()
    );
    assert!(failed * 5 >= log.len(), "too few faults to mean anything");
    let rows = table(&actual.occurrences().unwrap());
    assert!(rows.iter().any(|r| r.1 == "added@test"));
    assert!(rows.iter().all(|r| r.1 != "e3@test"));
    assert!(rows.iter().any(|r| r.3.contains("Weekly (moved)")));
    // Both sources carry the calendar (the feed is Radicale's GET of it).
    for calendar in ["alice-dav", "alice-feed"] {
        assert_eq!(
            rows.iter().filter(|r| r.0 == calendar).count(),
            30 - 1 + 1 + 6,
            "{calendar}"
        );
    }
}
