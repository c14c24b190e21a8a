//! The `caldav` source against a real Radicale (issue 4 acceptance): first
//! sync through discovery, an added event, a moved instance of a recurring
//! series, a deleted event, and a no-change sync doing one sync-collection
//! request per calendar; the same story on a server without RFC 6578
//! (ctag/etag), an expired sync token, calendar choice by name, and the
//! real binary. Requests are counted by a proxy in front of Radicale.

mod support;

use support::proxy::{Logged, Options, Proxy};
use support::{event, fast_http, sync_calendars, table, Radicale, Setup, Synced};

use meetledger::sources::{calendar_sources, CalendarFetch, SyncContext};

const ONE: &str = "/alice/work/one.ics";
const SERIES: &str = "/alice/work/series.ics";
const FAR: &str = "/alice/work/far.ics";
const ADDED: &str = "/alice/work/added.ics";
const HOME_EVENT: &str = "/alice/home/dentist.ics";

fn series(extra_component: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//meetledger tests//EN\nBEGIN:VEVENT\nUID:series@test\nDTSTAMP:20261101T000000Z\nDTSTART:20261102T090000Z\nDTEND:20261102T100000Z\nRRULE:FREQ=WEEKLY;COUNT=6\nSUMMARY:Weekly visit ООО Ромашка\nEND:VEVENT\n{extra_component}END:VCALENDAR\n"
    )
}

const MOVED: &str = "BEGIN:VEVENT\nUID:series@test\nDTSTAMP:20261102T000000Z\nRECURRENCE-ID:20261116T090000Z\nDTSTART:20261116T130000Z\nDTEND:20261116T140000Z\nSUMMARY:Weekly visit ООО Ромашка (moved)\nEND:VEVENT\n";

async fn populate(radicale: &Radicale) {
    radicale.mkcalendar("/alice/work/", "Work").await;
    radicale.mkcalendar("/alice/home/", "Home").await;
    radicale
        .put(
            ONE,
            &event(
                "one@test",
                "20261110T100000Z",
                "20261110T110000Z",
                "Встреча ООО Ромашка",
                "",
            ),
        )
        .await;
    radicale.put(SERIES, &series("")).await;
    // Outside the 400-day window: the time-range query leaves it out.
    radicale
        .put(
            FAR,
            &event(
                "far@test",
                "20240110T100000Z",
                "20240110T110000Z",
                "Old",
                "",
            ),
        )
        .await;
    radicale
        .put(
            HOME_EVENT,
            &event(
                "dentist@test",
                "20261112T150000Z",
                "20261112T160000Z",
                "Dentist",
                "",
            ),
        )
        .await;
}

/// Both of Alice's calendars, discovered from the server root.
fn two_calendars(base: &str) -> String {
    format!(
        r#"
[[calendar]]
id = "alice-work"
manager = "alice"
kind = "caldav"
url = "{base}"
username = "alice"
password = {{ file = "alice.pass" }}
calendar_name = "Work"

[[calendar]]
id = "alice-home"
manager = "alice"
kind = "caldav"
url = "{base}"
username = "alice"
password = {{ file = "alice.pass" }}
calendar_name = "home"
"#
    )
}

fn reports(log: &[Logged]) -> Vec<String> {
    log.iter()
        .map(|l| match &l.report {
            Some(r) => format!("{} {} {}", l.method, r, l.path),
            None => format!("{} {}", l.method, l.path),
        })
        .collect()
}

fn uids(store: &meetledger::ledger::Store) -> Vec<(String, String, String, String)> {
    table(&store.occurrences().unwrap())
}

/// The acceptance story; `hide_sync` makes the proxy a server without
/// sync-collection, so the ctag/etag path runs instead.
async fn story(hide_sync: bool) {
    let radicale = Radicale::start();
    populate(&radicale).await;
    let proxy = Proxy::start(
        radicale.addr,
        Options {
            hide_sync,
            ..Options::default()
        },
    )
    .await;
    let setup = Setup::new(&two_calendars(&proxy.url("/")));
    let mut store = setup.store("ledger.db");

    // 1. First sync: discovery, then one time-range query per calendar.
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(
        result,
        vec![
            ("alice-work".into(), Ok(Synced::Full(2))),
            ("alice-home".into(), Ok(Synced::Full(1)))
        ]
    );
    let first = proxy.take();
    eprintln!(
        "first sync: {} requests: {:#?}",
        first.len(),
        reports(&first)
    );
    assert_eq!(
        first
            .iter()
            .filter(|l| l.report.as_deref() == Some("calendar-query"))
            .count(),
        2
    );
    let rows = uids(&store);
    assert_eq!(rows.len(), 1 + 6 + 1, "{rows:#?}");
    assert!(rows.iter().all(|r| r.1 != "far@test"), "{rows:#?}");
    assert!(rows
        .iter()
        .any(|r| r.0 == "alice-home" && r.1 == "dentist@test"));

    // 2. An added event.
    radicale
        .put(
            ADDED,
            &event(
                "added@test",
                "20261120T140000Z",
                "20261120T150000Z",
                "Переговоры",
                "",
            ),
        )
        .await;
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(
        result[0].1,
        Ok(Synced::Delta {
            changed: 1,
            deleted: 0
        })
    );
    assert_eq!(result[1].1, Ok(Synced::Unchanged));
    proxy.take();
    let rows = uids(&store);
    assert!(rows
        .iter()
        .any(|r| r.1 == "added@test" && r.3.starts_with("2026-11-20T14:00:00+00:00")));

    // 3. One instance of the series moved (a RECURRENCE-ID override).
    radicale.put(SERIES, &series(MOVED)).await;
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(
        result[0].1,
        Ok(Synced::Delta {
            changed: 1,
            deleted: 0
        })
    );
    proxy.take();
    let rows = uids(&store);
    let series_rows: Vec<_> = rows.iter().filter(|r| r.1 == "series@test").collect();
    assert_eq!(series_rows.len(), 6, "{series_rows:#?}");
    let moved = series_rows
        .iter()
        .find(|r| r.2 == "2026-11-16T09:00:00+00:00")
        .expect("the moved instance keeps its recurrence id");
    assert_eq!(
        moved.3,
        "2026-11-16T13:00:00+00:00 Weekly visit ООО Ромашка (moved)"
    );

    // 4. A deleted event disappears.
    radicale.delete(ONE).await;
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(
        result[0].1,
        Ok(Synced::Delta {
            changed: 0,
            deleted: 1
        })
    );
    proxy.take();
    assert!(uids(&store).iter().all(|r| r.1 != "one@test"));

    // 5. Nothing changed: one request per calendar.
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(result[0].1, Ok(Synced::Unchanged));
    assert_eq!(result[1].1, Ok(Synced::Unchanged));
    let quiet = reports(&proxy.take());
    if hide_sync {
        assert_eq!(
            quiet,
            vec!["PROPFIND /alice/work/", "PROPFIND /alice/home/"],
            "a no-change ctag sync is one PROPFIND per calendar"
        );
    } else {
        assert_eq!(
            quiet,
            vec![
                "REPORT sync-collection /alice/work/",
                "REPORT sync-collection /alice/home/"
            ],
            "a no-change sync is one sync-collection per calendar"
        );
    }

    // The incremental result equals a fresh full sync.
    let mut fresh = setup.store("fresh.db");
    sync_calendars(&setup.config, &mut fresh, fast_http()).await;
    assert_eq!(
        store.occurrences().unwrap(),
        fresh.occurrences().unwrap(),
        "incremental and full syncs disagree"
    );
}

#[tokio::test]
async fn sync_collection_story_against_radicale() {
    story(false).await;
}

#[tokio::test]
async fn ctag_etag_story_without_sync_collection() {
    story(true).await;
}

#[tokio::test]
async fn an_expired_sync_token_means_a_full_sync() {
    let radicale = Radicale::start();
    populate(&radicale).await;
    let setup = Setup::new(&two_calendars(&radicale.url("/")));
    let mut store = setup.store("ledger.db");
    sync_calendars(&setup.config, &mut store, fast_http()).await;
    let cursor = store.source("alice-work").unwrap().unwrap().cursor.unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&cursor).unwrap();
    json["sync_token"] = "http://radicale.org/ns/sync/0000".into();
    let stale = json.to_string();

    let mut ctx = SyncContext::new(&setup.config, support::now());
    ctx.http = fast_http();
    let mut source = calendar_sources(&setup.config).remove(0);
    match source.fetch(Some(&stale), &ctx).await.unwrap() {
        CalendarFetch::Full { items, .. } => assert_eq!(items.len(), 2),
        _ => panic!("expected a full sync after the token was refused"),
    }
}

#[tokio::test]
async fn several_calendars_without_a_name_are_listed() {
    let radicale = Radicale::start();
    populate(&radicale).await;
    let base = radicale.url("/");
    let setup = Setup::new(&format!(
        r#"
[[calendar]]
id = "alice-any"
kind = "caldav"
url = "{base}"
username = "alice"
password = {{ file = "alice.pass" }}
"#
    ));
    let mut store = setup.store("ledger.db");
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    let error = result[0].1.clone().unwrap_err();
    assert!(
        error.contains("calendar_name") && error.contains("\"Work\"") && error.contains("\"Home\""),
        "{error}"
    );
}

#[tokio::test]
async fn a_calendar_url_is_used_as_is() {
    let radicale = Radicale::start();
    populate(&radicale).await;
    let proxy = Proxy::start(radicale.addr, Options::default()).await;
    let setup = Setup::new(&format!(
        r#"
[[calendar]]
id = "alice-work"
kind = "caldav"
url = "{}"
username = "alice"
password = {{ file = "alice.pass" }}
"#,
        proxy.url("/alice/work/")
    ));
    let mut store = setup.store("ledger.db");
    let result = sync_calendars(&setup.config, &mut store, fast_http()).await;
    assert_eq!(result[0].1, Ok(Synced::Full(2)));
    // Discovery PROPFIND, state PROPFIND, calendar-query.
    assert_eq!(
        reports(&proxy.take()),
        vec![
            "PROPFIND /alice/work/",
            "PROPFIND /alice/work/",
            "REPORT calendar-query /alice/work/"
        ]
    );
}

/// Through the binary: config keys, the password file, the source builder
/// and `events --format jsonl`.
#[tokio::test]
async fn the_binary_syncs_a_caldav_calendar() {
    let radicale = Radicale::start();
    populate(&radicale).await;
    let setup = Setup::new(&two_calendars(&radicale.url("/")));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"))
            .args(args)
            .arg("--config")
            .arg(setup.config_path())
            .args(["--now", support::NOW])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["sync"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = run(&[
        "events",
        "--calendar",
        "alice-work",
        "--from",
        "2026-11-01T00:00:00Z",
        "--to",
        "2026-12-31T00:00:00Z",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(lines.iter().any(|l| l["uid"] == "one@test"
        && l["start"] == "2026-11-10T10:00:00Z"
        && l["title"] == "Встреча ООО Ромашка"));
    // Again: nothing changed, still success.
    let (code, stdout, stderr) = run(&["sync"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}
