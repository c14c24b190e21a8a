//! One small company whose manager's calendar is read three ways: as an ICS
//! file, as Google Calendar API answers and as Microsoft Graph answers
//! (mock servers serving the payload shapes each provider documents). The
//! same events must give the same `meetings` and `report`: the same uids
//! (Graph's per-occurrence GlobalObjectIds read back to the series' UID),
//! the same recurrence ids, a moved and a cancelled instance of a series, a
//! declined invitation (Graph keeps the owner's answer in `responseStatus`),
//! and an outside invitation whose iCalendar UID Exchange wraps in its id.

mod common;

use chrono::{DateTime, Datelike, Utc};
use common::{ics, meetledger, Run};
use meetledger::ledger::{Store, StoredToken};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2026-10-20T12:00:00Z";

/// The series' Exchange id: [MS-OXOCAL] 2.2.1.27's sample
/// PidLidGlobalObjectId
/// (<https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocal/3a11139f-52fa-4d2d-9b43-9f3007e38f08>),
/// whose instance date bytes (16..20) Graph fills per occurrence.
const SERIES_GOID: &str = "040000008200E00074C5B7101A82E00807D803195025D461E473C8010000000000000000100000002A5844B3A444F74A9C246C60886F116B";
/// The UID of that series in an ICS export (and in Google, where the
/// invitation arrived): the id with the instance date zeroed.
const SERIES_UID: &str = "040000008200E00074C5B7101A82E008000000005025D461E473C8010000000000000000100000002A5844B3A444F74A9C246C60886F116B";
/// [MS-ASEMAIL] 4.3 example 2 in hex
/// (<https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-asemail/e7424ddc-dd10-431e-a0b7-5c794863370e>):
/// an outside invitation's UID wrapped after the `vCal-Uid` marker.
const INVITATION_GOID: &str = "040000008200E00074C5B7101A82E0080000000000000000000000000000000000000000330000007643616C2D556964010000007B38313431324433432D324132342D344539442D423230452D3131463742424539323739397D00";
const INVITATION_UID: &str = "{81412D3C-2A24-4E9D-B20E-11F7BBE92799}";
/// A client's Google Calendar invitation that Ivanov declined.
const DECLINED_UID: &str = "7kq2c0e1l9v3s1d6m2h8b4r5t0@google.com";

/// The series' Exchange id as Graph gives it on the occurrence of a date.
fn goid_on(year: u16, month: u8, day: u8) -> String {
    format!(
        "{}{year:04X}{month:02X}{day:02X}{}",
        &SERIES_GOID[..32],
        &SERIES_GOID[40..]
    )
}

/// An Exchange id wrapping an outside UID, laid out as [MS-ASEMAIL]
/// 2.2.2.37 GlobalObjId writes it: class bytes, no instance date, no
/// creation time, reserved zeros, the data length, `vCal-Uid`, version 1,
/// the UID and a NUL.
fn wrapping(uid: &str) -> String {
    let mut data = b"vCal-Uid\x01\x00\x00\x00".to_vec();
    data.extend_from_slice(uid.as_bytes());
    data.push(0);
    let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
    // Instance date (4 bytes), creation time (8) and reserved (8) zero;
    // the length little-endian.
    format!(
        "{}{}{:08X}{hex}",
        &SERIES_GOID[..32],
        "0".repeat(2 * (4 + 8 + 8)),
        (data.len() as u32).swap_bytes()
    )
}

const CONFIG: &str = r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"
language = "en"

[ledger]
path = "ledger.db"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"
plan = { new = 2, existing = 2 }

[[crm]]
id = "main"
kind = "csv"
clients = "crm/clients.csv"
orders = "crm/orders.csv"
"#;

const CLIENTS: &str = "id,name,domains,emails,manager,key
c1,ООО Ромашка,romashka.ru,,ivanov,yes
c2,АО Вектор,vector.example,,ivanov,no
";

const ORDERS: &str = "id,client_id,created_at,amount,currency,status,manager
o1,c1,2026-08-01,70000,RUB,paid,ivanov
o2,c1,2026-09-25,100000,RUB,paid,ivanov
o3,c2,2026-10-01,50000,RUB,paid,ivanov
";

/// The calendar as Exchange (or any iCalendar producer) exports it.
fn ics_calendar() -> String {
    let series = format!(
        "BEGIN:VEVENT\nUID:{SERIES_UID}\nDTSTAMP:20260901T000000Z\nSEQUENCE:0\n\
         DTSTART;TZID=Europe/Moscow:20260907T100000\nDTEND;TZID=Europe/Moscow:20260907T110000\n\
         RRULE:FREQ=WEEKLY;COUNT=6\nEXDATE;TZID=Europe/Moscow:20260928T100000\n\
         SUMMARY:Еженедельная встреча с Ромашкой\n\
         ORGANIZER;CN=Ivan Ivanov:mailto:ivanov@acme.example\n\
         ATTENDEE;CN=Boss;PARTSTAT=ACCEPTED:mailto:boss@romashka.ru\nEND:VEVENT\n"
    );
    let moved = format!(
        "BEGIN:VEVENT\nUID:{SERIES_UID}\nDTSTAMP:20260901T000000Z\nSEQUENCE:1\n\
         RECURRENCE-ID;TZID=Europe/Moscow:20260921T100000\n\
         DTSTART;TZID=Europe/Moscow:20260922T110000\nDTEND;TZID=Europe/Moscow:20260922T120000\n\
         SUMMARY:Еженедельная встреча с Ромашкой\n\
         ORGANIZER;CN=Ivan Ivanov:mailto:ivanov@acme.example\n\
         ATTENDEE;CN=Boss;PARTSTAT=ACCEPTED:mailto:boss@romashka.ru\nEND:VEVENT\n"
    );
    let invitation = format!(
        "BEGIN:VEVENT\nUID:{INVITATION_UID}\nDTSTAMP:20260901T000000Z\n\
         DTSTART:20260916T110000Z\nDTEND:20260916T123000Z\nSUMMARY:Встреча в Векторе\n\
         ORGANIZER;CN=Anna:mailto:anna@vector.example\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:ivanov@acme.example\nEND:VEVENT\n"
    );
    let declined = format!(
        "BEGIN:VEVENT\nUID:{DECLINED_UID}\nDTSTAMP:20260901T000000Z\n\
         DTSTART:20261006T070000Z\nDTEND:20261006T080000Z\nSUMMARY:Презентация Вектора\n\
         ORGANIZER;CN=Anna:mailto:anna@vector.example\n\
         ATTENDEE;PARTSTAT=DECLINED:mailto:ivanov@acme.example\nEND:VEVENT\n"
    );
    ics(&[series, moved, invitation, declined])
}

/// The weekly series' instances: (original UTC start, actual UTC start)
/// with the 09-21 instance moved to 09-22 11:00 Moscow and 09-28 cancelled.
const SERIES: [(&str, &str); 5] = [
    ("2026-09-07T07:00:00Z", "2026-09-07T07:00:00Z"),
    ("2026-09-14T07:00:00Z", "2026-09-14T07:00:00Z"),
    ("2026-09-21T07:00:00Z", "2026-09-22T08:00:00Z"),
    ("2026-10-05T07:00:00Z", "2026-10-05T07:00:00Z"),
    ("2026-10-12T07:00:00Z", "2026-10-12T07:00:00Z"),
];

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn moscow(t: &str) -> String {
    utc(t)
        .with_timezone(&chrono_tz::Europe::Moscow)
        .to_rfc3339()
}

fn google_instance_id(original: &str) -> String {
    format!(
        "5b7r2m1kq8d0e3c9a6h4p2n1s0_{}",
        utc(original).format("%Y%m%dT%H%M%SZ")
    )
}

/// The calendar as Calendar API v3 `events.list` with `singleEvents=true`
/// serves it: Event resources
/// (https://developers.google.com/calendar/api/v3/reference/events), the
/// instances shaped as in allenporter/gcal_sync's modified and cancelled
/// instance fixtures (tests/fixtures/api/google_items_*), `self` marking
/// the calendar owner's attendee entry.
fn google_pages() -> (Value, Value) {
    let series_attendees = json!([
        { "email": "ivanov@acme.example", "organizer": true, "self": true, "responseStatus": "accepted" },
        { "email": "boss@romashka.ru", "displayName": "Boss", "responseStatus": "accepted" }
    ]);
    let mut series: Vec<Value> = SERIES
        .iter()
        .map(|(original, start)| {
            let end = (utc(start) + chrono::Duration::hours(1)).to_rfc3339();
            json!({
                "kind": "calendar#event", "id": google_instance_id(original), "status": "confirmed",
                "summary": "Еженедельная встреча с Ромашкой", "iCalUID": SERIES_UID,
                "recurringEventId": "5b7r2m1kq8d0e3c9a6h4p2n1s0",
                "originalStartTime": { "dateTime": moscow(original), "timeZone": "Europe/Moscow" },
                "start": { "dateTime": moscow(start), "timeZone": "Europe/Moscow" },
                "end": { "dateTime": moscow(&end), "timeZone": "Europe/Moscow" },
                "organizer": { "email": "ivanov@acme.example", "displayName": "Ivan Ivanov", "self": true },
                "attendees": series_attendees
            })
        })
        .collect();
    let rest = series.split_off(3);
    let first = json!({
        "kind": "calendar#events",
        "items": series,
        "nextPageToken": "page-2"
    });
    let mut items = rest;
    items.extend([
        // The cancelled instance: a tombstone (gcal_sync's cancelled instances).
        json!({
            "kind": "calendar#event", "id": google_instance_id("2026-09-28T07:00:00Z"),
            "status": "cancelled", "recurringEventId": "5b7r2m1kq8d0e3c9a6h4p2n1s0",
            "originalStartTime": { "dateTime": moscow("2026-09-28T07:00:00Z"), "timeZone": "Europe/Moscow" }
        }),
        json!({
            "kind": "calendar#event", "id": "_6tlnaqrle5p6cpb4dhmj4phpeeoj", "status": "confirmed",
            "summary": "Встреча в Векторе", "iCalUID": INVITATION_UID,
            "start": { "dateTime": "2026-09-16T11:00:00Z" }, "end": { "dateTime": "2026-09-16T12:30:00Z" },
            "organizer": { "email": "anna@vector.example", "displayName": "Anna" },
            "attendees": [ { "email": "ivanov@acme.example", "self": true, "responseStatus": "accepted" } ]
        }),
        json!({
            "kind": "calendar#event", "id": "7kq2c0e1l9v3s1d6m2h8b4r5t0", "status": "confirmed",
            "summary": "Презентация Вектора", "iCalUID": DECLINED_UID,
            "start": { "dateTime": "2026-10-06T10:00:00+03:00", "timeZone": "Europe/Moscow" },
            "end": { "dateTime": "2026-10-06T11:00:00+03:00", "timeZone": "Europe/Moscow" },
            "organizer": { "email": "anna@vector.example", "displayName": "Anna" },
            "attendees": [
                { "email": "anna@vector.example", "organizer": true, "responseStatus": "accepted" },
                { "email": "ivanov@acme.example", "self": true, "responseStatus": "declined" }
            ]
        }),
    ]);
    let second = json!({
        "kind": "calendar#events",
        "items": items,
        "nextSyncToken": "sync-1"
    });
    (first, second)
}

/// The calendar as Graph `calendarView/delta` serves it with `Prefer:
/// outlook.timezone="UTC"`: event resources
/// (https://learn.microsoft.com/en-us/graph/api/resources/event?view=graph-rest-1.0),
/// paged as in the docs' delta-query-events sample
/// (tests/fixtures/api/msgraph_calendarview_delta_*). Occurrences carry
/// their own `iCalUId`, `seriesMasterId` and `originalStart`; the cancelled
/// occurrence is simply not in the view; the owner's entry in `attendees`
/// reads `none` and their answer is `responseStatus`.
fn graph_pages(server: &str) -> (Value, Value) {
    let none = json!({ "response": "none", "time": "0001-01-01T00:00:00Z" });
    let graph_time = |t: &str| json!({ "dateTime": utc(t).format("%Y-%m-%dT%H:%M:%S.0000000").to_string(), "timeZone": "UTC" });
    let mut series: Vec<Value> = SERIES
        .iter()
        .enumerate()
        .map(|(n, (original, start))| {
            let o = utc(original);
            let end = (utc(start) + chrono::Duration::hours(1)).to_rfc3339();
            let moved = original != start;
            json!({
                "@odata.type": "#microsoft.graph.event",
                "id": format!("AAMkADNVxRAAA{n}="),
                "type": if moved { "exception" } else { "occurrence" },
                "seriesMasterId": "AAMkADNVxRAAAmaster=",
                "iCalUId": goid_on(2026, o.month() as u8, o.day() as u8),
                "originalStart": original,
                "originalStartTimeZone": "Russian Standard Time",
                "subject": "Еженедельная встреча с Ромашкой",
                "isOrganizer": true,
                "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
                "showAs": "busy",
                "start": graph_time(start),
                "end": graph_time(&end),
                "organizer": { "emailAddress": { "name": "Ivan Ivanov", "address": "ivanov@acme.example" } },
                "attendees": [
                    { "type": "required", "status": { "response": "accepted", "time": "2026-09-01T09:00:00Z" },
                      "emailAddress": { "name": "Boss", "address": "boss@romashka.ru" } }
                ]
            })
        })
        .collect();
    let rest = series.split_off(2);
    let first = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "@odata.nextLink": format!("{server}/v1.0/me/calendarView/delta?$skiptoken=R0usmcCM996atia_s"),
        "value": series
    });
    let mut value = rest;
    value.extend([
        json!({
            "@odata.type": "#microsoft.graph.event", "id": "AAMkADNVxRAAAinvite=",
            "type": "singleInstance", "seriesMasterId": null, "iCalUId": INVITATION_GOID,
            "subject": "Встреча в Векторе", "isOrganizer": false, "showAs": "busy",
            "responseStatus": { "response": "accepted", "time": "2026-09-02T09:00:00Z" },
            "start": graph_time("2026-09-16T11:00:00Z"), "end": graph_time("2026-09-16T12:30:00Z"),
            "organizer": { "emailAddress": { "name": "Anna", "address": "anna@vector.example" } },
            "attendees": [
                { "type": "required", "status": none, "emailAddress": { "name": "Ivan Ivanov", "address": "ivanov@acme.example" } }
            ]
        }),
        json!({
            "@odata.type": "#microsoft.graph.event", "id": "AAMkADNVxRAAAdeclined=",
            "type": "singleInstance", "seriesMasterId": null, "iCalUId": wrapping(DECLINED_UID),
            // Busy: the answer, not the free/busy display, says declined.
            "subject": "Презентация Вектора", "isOrganizer": false, "showAs": "busy",
            "responseStatus": { "response": "declined", "time": "2026-09-03T09:00:00Z" },
            "start": graph_time("2026-10-06T07:00:00Z"), "end": graph_time("2026-10-06T08:00:00Z"),
            "organizer": { "emailAddress": { "name": "Anna", "address": "anna@vector.example" } },
            "attendees": [
                { "type": "required", "status": none, "emailAddress": { "name": "Ivan Ivanov", "address": "ivanov@acme.example" } }
            ]
        }),
    ]);
    let second = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "@odata.deltaLink": format!("{server}/v1.0/me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E"),
        "value": value
    });
    (first, second)
}

/// The company with Ivanov's calendar `ivanov-cal` of the given kind.
struct Company {
    dir: tempfile::TempDir,
}

impl Company {
    fn new(calendar: &str) -> Company {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("meetledger.toml", &format!("{CONFIG}\n{calendar}"));
        write("crm/clients.csv", CLIENTS);
        write("crm/orders.csv", ORDERS);
        write("client_secret", "s3cret\n");
        Company { dir }
    }

    /// Stores a valid per-user token as `meetledger auth` would.
    fn authorize(&self, provider: &str) {
        let now = utc(NOW);
        Store::open(&self.dir.path().join("ledger.db"))
            .unwrap()
            .save_oauth_token(
                "ivanov-cal",
                &StoredToken {
                    provider: provider.into(),
                    access_token: Some("access-1".into()),
                    expires_at: Some(now + chrono::Duration::hours(1)),
                    refresh_token: Some("refresh-1".into()),
                    scope: None,
                    needs_reauth: None,
                },
                now,
            )
            .unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let config = self.dir.path().join("meetledger.toml");
        let run =
            meetledger(&[&["--config", config.to_str().unwrap(), "--now", NOW], args].concat());
        assert_eq!(
            run.code, 0,
            "meetledger {args:?}:\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// `run --once`, then what a payroll reader looks at.
    fn results(&self) -> Vec<(String, Value)> {
        self.run(&["run", "--once"]);
        let mut out = Vec::new();
        for period in ["2026-09", "2026-10"] {
            let meetings = self.run(&["meetings", "--period", period, "--format", "jsonl"]);
            out.push((format!("meetings {period}"), Value::Array(meetings.jsonl())));
            let report = self.run(&["report", "--period", period, "--format", "json"]);
            out.push((format!("report {period}"), report.json()));
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ics_file_google_and_graph_give_the_same_meetings_and_report() {
    // The ICS file.
    let from_ics = Company::new(
        r#"
[[calendar]]
id = "ivanov-cal"
manager = "ivanov"
kind = "ics_file"
path = "calendars/ivanov.ics"
"#,
    );
    std::fs::create_dir_all(from_ics.dir.path().join("calendars")).unwrap();
    std::fs::write(
        from_ics.dir.path().join("calendars/ivanov.ics"),
        ics_calendar(),
    )
    .unwrap();
    let expected = from_ics.results();

    // Google.
    let google = MockServer::start().await;
    let (first, second) = google_pages();
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&google)
        .await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .and(query_param("pageToken", "page-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&google)
        .await;
    let uri = google.uri();
    let from_google = Company::new(&format!(
        r#"
[google]
client_id = "test-client.apps.googleusercontent.com"
client_secret = {{ file = "client_secret" }}
api_url = "{uri}/calendar/v3"
token_url = "{uri}/token"

[[calendar]]
id = "ivanov-cal"
manager = "ivanov"
kind = "google"
"#
    ));
    from_google.authorize("google");

    // Microsoft Graph.
    let graph = MockServer::start().await;
    let (first, second) = graph_pages(&graph.uri());
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView/delta"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView/delta"))
        .and(query_param("$skiptoken", "R0usmcCM996atia_s"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&graph)
        .await;
    let uri = graph.uri();
    let from_graph = Company::new(&format!(
        r#"
[microsoft]
tenant = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
api_url = "{uri}/v1.0"
login_url = "{uri}"

[[calendar]]
id = "ivanov-cal"
manager = "ivanov"
kind = "microsoft"
"#
    ));
    from_graph.authorize("microsoft");

    // The reference reading is what the case is about: five series
    // meetings (the moved one at its new time, the cancelled one gone), the
    // accepted invitation under its own UID, the declined one not credited.
    let meetings: Vec<&Value> = expected
        .iter()
        .filter(|(name, _)| name.starts_with("meetings"))
        .flat_map(|(_, v)| v.as_array().unwrap())
        .collect();
    let keys: Vec<(&str, &str, &str)> = meetings
        .iter()
        .map(|m| {
            (
                m["uid"].as_str().unwrap(),
                m["start"].as_str().unwrap(),
                m["client"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys.len(), 6, "{keys:#?}");
    assert_eq!(
        keys.iter().filter(|(uid, _, _)| *uid == SERIES_UID).count(),
        5
    );
    assert!(keys.contains(&(INVITATION_UID, "2026-09-16T11:00:00Z", "c2")));
    assert!(keys.iter().all(|(uid, _, _)| *uid != DECLINED_UID));
    let moved = meetings
        .iter()
        .find(|m| m["recurrence_id"] == "2026-09-21T07:00:00Z")
        .unwrap();
    assert_eq!(moved["start"], "2026-09-22T08:00:00Z");

    for (name, company) in [("google", &from_google), ("graph", &from_graph)] {
        let got = company.results();
        for ((what, want), (_, have)) in expected.iter().zip(&got) {
            assert_eq!(
                have,
                want,
                "{name}: {what} differs from the ICS file's\n{name}: {}\nics: {}",
                serde_json::to_string_pretty(have).unwrap(),
                serde_json::to_string_pretty(want).unwrap()
            );
        }
    }
}
