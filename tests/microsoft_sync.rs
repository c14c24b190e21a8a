//! `microsoft` calendars against a mock Microsoft Graph: delta rounds over
//! nextLink pages, `@removed` tombstones, expired delta tokens, mapping of
//! Graph events, app-only access and refresh-token rotation.

mod oauth_support;

use meetledger::model::{EventStatus, PartStat};
use oauth_support::{at, fixture, Company};
use serde_json::{json, Value};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DELTA: &str = "/v1.0/me/calendarView/delta";

fn company_at(server: &MockServer, now: &str, calendar: &str) -> Company {
    let uri = server.uri();
    Company::new(
        at(now),
        &format!(
            r#"
[microsoft]
tenant = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret = {{ file = "client_secret" }}
api_url = "{uri}/v1.0"
login_url = "{uri}"

{calendar}
"#
        ),
    )
}

const USER_CALENDAR: &str = r#"
[[calendar]]
id = "ivanov-ms"
manager = "ivanov"
kind = "microsoft"
"#;

fn company(server: &MockServer) -> Company {
    let company = company_at(server, "2016-12-20T12:00:00Z", USER_CALENDAR);
    company.authorize("ivanov-ms", "microsoft", "access-1", 3600);
    company
}

/// A Graph fixture with its links pointed at the mock server.
fn graph(server: &MockServer, name: &str) -> Value {
    let text = fixture(name).replace("https://graph.microsoft.com", &server.uri());
    serde_json::from_str(&text).unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn mount_first_round(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param_is_missing("$skiptoken"))
        .and(query_param_is_missing("$deltatoken"))
        .respond_with(ok(graph(
            server,
            "msgraph_calendarview_delta_r1_p1_nextlink.json",
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param("$skiptoken", "R0usmcCM996atia_s"))
        .respond_with(ok(graph(
            server,
            "msgraph_calendarview_delta_r1_p2_nextlink.json",
        )))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param("$skiptoken", "R0usmci39OQxqJrxK4"))
        .respond_with(ok(graph(
            server,
            "msgraph_calendarview_delta_r1_p3_deltalink.json",
        )))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_first_round_follows_next_links_to_the_delta_link() {
    let server = MockServer::start().await;
    mount_first_round(&server).await;
    let company = company(&server);
    let (mode, counts) = company.sync("ivanov-ms").await.unwrap();
    assert_eq!(mode, "full");
    assert_eq!(counts.upserted, 5);
    assert_eq!(
        company.titles("ivanov-ms"),
        [
            "Get food",
            "Pick up car",
            "Plan shopping list",
            "Prepare food",
            "Rest!"
        ]
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(query(&requests[0], "startDateTime").is_some());
    assert!(query(&requests[0], "endDateTime").is_some());
    for r in &requests {
        let prefer = r.headers.get("prefer").unwrap().to_str().unwrap();
        assert!(prefer.contains("outlook.timezone=\"UTC\""), "{prefer}");
        assert_eq!(r.headers.get("authorization").unwrap(), "Bearer access-1");
    }
    assert!(
        query(&requests[1], "startDateTime").is_none(),
        "links carry the window"
    );
    let rest = company
        .occurrences("ivanov-ms")
        .into_iter()
        .find(|o| o.title == "Rest!")
        .unwrap();
    assert_eq!(rest.start, at("2016-12-12T02:00:00Z"));
    assert_eq!(rest.end, at("2016-12-12T07:30:00Z"));
    assert_eq!(rest.location.as_deref(), Some("Home"));
    assert_eq!(
        rest.organizer.unwrap().email,
        "samanthab@contoso.onmicrosoft.com"
    );
    let cursor: Value = serde_json::from_str(&company.cursor("ivanov-ms").unwrap()).unwrap();
    assert!(cursor["delta_link"]
        .as_str()
        .unwrap()
        .ends_with("$deltatoken=R0usmcMDNGg0J1E"));
}

#[tokio::test]
async fn the_next_round_applies_removed_tombstones_and_changes() {
    let server = MockServer::start().await;
    let mut first = graph(&server, "msgraph_calendarview_delta_r1_p3_deltalink.json");
    first["value"].as_array_mut().unwrap().push(json!({
        "id": "AAMkADk0MGFkODE3LWE4MmYtNDRhOS04OGQLkRkXbBznTvAADb6ytyAAA=",
        "subject": "Dentist",
        "start": { "dateTime": "2016-12-14T09:00:00.0000000", "timeZone": "UTC" },
        "end": { "dateTime": "2016-12-14T10:00:00.0000000", "timeZone": "UTC" }
    }));
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param_is_missing("$deltatoken"))
        .respond_with(ok(first))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param("$deltatoken", "R0usmcMDNGg0J1E"))
        .respond_with(ok(graph(
            &server,
            "msgraph_calendarview_delta_r2_removed_deltalink.json",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let company = company(&server);
    company.sync("ivanov-ms").await.unwrap();
    assert_eq!(company.titles("ivanov-ms"), ["Dentist", "Rest!"]);
    let (mode, counts) = company.sync("ivanov-ms").await.unwrap();
    assert_eq!(mode, "delta");
    assert_eq!(counts.upserted, 1);
    assert_eq!(company.titles("ivanov-ms"), ["Attend service", "Rest!"]);
    assert!(company
        .cursor("ivanov-ms")
        .unwrap()
        .contains("$deltatoken=R0usmcFuQtZdtpk4"));
}

#[tokio::test]
async fn an_expired_delta_token_means_a_new_full_round() {
    for expired in [
        ResponseTemplate::new(410).set_body_json(json!({"error": {"code": "resyncRequired", "message": "Resync required."}})),
        ResponseTemplate::new(400).set_body_json(json!({"error": {"code": "syncStateNotFound", "message": "The sync state generation is not found. The delta token is expired and data must be synchronized again."}})),
    ] {
        let server = MockServer::start().await;
        let mut first = graph(&server, "msgraph_calendarview_delta_r1_p3_deltalink.json");
        first["value"][0]["subject"] = json!("Stale");
        Mock::given(method("GET"))
            .and(path(DELTA))
            .and(query_param_is_missing("$deltatoken"))
            .respond_with(ok(first))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(DELTA))
            .and(query_param("$deltatoken", "R0usmcMDNGg0J1E"))
            .respond_with(expired)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(DELTA))
            .and(query_param_is_missing("$deltatoken"))
            .respond_with(ok(graph(&server, "msgraph_calendarview_delta_r2_removed_deltalink.json")))
            .mount(&server)
            .await;
        let company = company(&server);
        company.sync("ivanov-ms").await.unwrap();
        let (mode, _) = company.sync("ivanov-ms").await.unwrap();
        assert_eq!(mode, "full");
        assert_eq!(company.titles("ivanov-ms"), ["Attend service"]);
        let last = server.received_requests().await.unwrap().pop().unwrap();
        assert!(query(&last, "startDateTime").is_some());
    }
}

#[tokio::test]
async fn graph_events_map_zones_answers_all_day_cancelled_free_and_online() {
    let server = MockServer::start().await;
    let mut page = graph(
        &server,
        "msgraph_events_list_pst_attendees_status_none.json",
    );
    page["@odata.deltaLink"] = json!(format!(
        "{}/v1.0/me/calendarView/delta?$deltatoken=x",
        server.uri()
    ));
    page["value"].as_array_mut().unwrap().extend([
        json!({
            "id": "occ-1", "type": "occurrence", "seriesMasterId": "master", "iCalUId": "series-uid",
            "subject": "Weekly with Romashka", "isOnlineMeeting": true,
            "onlineMeeting": { "joinUrl": "https://teams.microsoft.com/l/meetup-join/abc" },
            "originalStart": "2017-04-18T07:00:00Z", "originalStartTimeZone": "Russian Standard Time",
            "start": { "dateTime": "2017-04-18T08:00:00.0000000", "timeZone": "UTC" },
            "end": { "dateTime": "2017-04-18T09:00:00.0000000", "timeZone": "UTC" },
            "showAs": "busy",
            "attendees": [
                { "type": "required", "status": { "response": "tentativelyAccepted" }, "emailAddress": { "address": "Buyer@Romashka.example" } },
                { "type": "optional", "status": { "response": "declined" }, "emailAddress": { "address": "cfo@romashka.example" } },
                { "type": "resource", "status": { "response": "accepted" }, "emailAddress": { "address": "room@acme.example" } }
            ]
        }),
        json!({
            "id": "day-off", "subject": "Day off", "isAllDay": true, "showAs": "free",
            "start": { "dateTime": "2017-04-19T21:00:00.0000000", "timeZone": "UTC" },
            "end": { "dateTime": "2017-04-20T21:00:00.0000000", "timeZone": "UTC" }
        }),
        json!({
            "id": "gone", "subject": "Cancelled visit", "isCancelled": true,
            "start": { "dateTime": "2017-04-22T10:00:00.0000000", "timeZone": "UTC" },
            "end": { "dateTime": "2017-04-22T11:00:00.0000000", "timeZone": "UTC" }
        }),
    ]);
    Mock::given(method("GET"))
        .and(path(DELTA))
        .respond_with(ok(page))
        .mount(&server)
        .await;
    let company = company_at(&server, "2017-04-10T12:00:00Z", USER_CALENDAR);
    company.authorize("ivanov-ms", "microsoft", "access-1", 3600);
    company.sync("ivanov-ms").await.unwrap();
    let all = company.occurrences("ivanov-ms");
    let find = |title: &str| all.iter().find(|o| o.title == title).unwrap().clone();

    let orientation = find("Orientation");
    assert_eq!(
        orientation.start,
        at("2017-04-21T17:00:00Z"),
        "Pacific Standard Time is a Windows name"
    );
    assert!(orientation
        .attendees
        .iter()
        .all(|a| a.partstat == PartStat::NeedsAction));

    let weekly = find("Weekly with Romashka");
    assert_eq!(weekly.uid, "series-uid");
    assert_eq!(weekly.recurrence_id, Some(at("2017-04-18T07:00:00Z")));
    assert_eq!(weekly.tz.as_deref(), Some("Europe/Moscow"));
    assert_eq!(
        weekly.conference.as_deref(),
        Some("https://teams.microsoft.com/l/meetup-join/abc")
    );
    let answers: Vec<(&str, PartStat)> = weekly
        .attendees
        .iter()
        .map(|a| (a.email.as_str(), a.partstat))
        .collect();
    assert_eq!(
        answers,
        [
            ("buyer@romashka.example", PartStat::Tentative),
            ("cfo@romashka.example", PartStat::Declined)
        ]
    );
    assert!(!weekly.transparent);

    let day_off = find("Day off");
    assert!(day_off.all_day && day_off.transparent);
    assert_eq!(day_off.start, at("2017-04-20T00:00:00Z"));
    assert_eq!(day_off.end, at("2017-04-21T00:00:00Z"));

    assert_eq!(find("Cancelled visit").status, EventStatus::Cancelled);
}

#[tokio::test]
async fn app_only_access_reads_the_managers_mailbox_with_client_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .and(body_string_contains("client_secret=s3cret"))
        .respond_with(ok(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "app-token"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut page = graph(&server, "msgraph_calendarview_delta_r1_p3_deltalink.json");
    page["@odata.deltaLink"] = json!(format!(
        "{}/v1.0/users/ivanov@acme.example/calendarView/delta?$deltatoken=t",
        server.uri()
    ));
    Mock::given(method("GET"))
        .and(path("/v1.0/users/ivanov@acme.example/calendarView/delta"))
        .and(header("authorization", "Bearer app-token"))
        .respond_with(ok(page))
        .expect(1)
        .mount(&server)
        .await;
    let company = company_at(
        &server,
        "2016-12-20T12:00:00Z",
        r#"
[[calendar]]
id = "ivanov-ms"
manager = "ivanov"
kind = "microsoft"
auth = "org"
"#,
    );
    company.sync("ivanov-ms").await.unwrap();
    assert_eq!(company.titles("ivanov-ms"), ["Rest!"]);
}

#[tokio::test]
async fn a_paging_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    let mut page = graph(&server, "msgraph_calendarview_delta_r1_p1_nextlink.json");
    page["@odata.nextLink"] = json!("https://evil.example/v1.0/me/calendarView/delta?$skiptoken=x");
    Mock::given(method("GET"))
        .and(path(DELTA))
        .respond_with(ok(page))
        .mount(&server)
        .await;
    let company = company(&server);
    let error = format!("{:#}", company.sync("ivanov-ms").await.unwrap_err());
    assert!(error.contains("another host"), "{error}");
    assert!(company.occurrences("ivanov-ms").is_empty());
}

#[tokio::test]
async fn a_refresh_stores_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-ivanov-ms"))
        .and(body_string_contains("offline_access"))
        .respond_with(ok(json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": "access-2",
            "refresh_token": "refresh-2", "scope": "https://graph.microsoft.com/Calendars.Read"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(ok(graph(
            &server,
            "msgraph_calendarview_delta_r1_p3_deltalink.json",
        )))
        .mount(&server)
        .await;
    let company = company_at(&server, "2016-12-20T12:00:00Z", USER_CALENDAR);
    company.authorize("ivanov-ms", "microsoft", "access-1", -10);
    company.sync("ivanov-ms").await.unwrap();
    let stored = company.store().oauth_token("ivanov-ms").unwrap().unwrap();
    assert_eq!(stored.refresh_token.as_deref(), Some("refresh-2"));
    assert_eq!(stored.access_token.as_deref(), Some("access-2"));
}

#[tokio::test]
async fn an_unauthorized_answer_refreshes_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .respond_with(ok(
            json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "access-2"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(ok(graph(
            &server,
            "msgraph_calendarview_delta_r1_p3_deltalink.json",
        )))
        .mount(&server)
        .await;
    let company = company(&server);
    company.sync("ivanov-ms").await.unwrap();
    assert_eq!(company.titles("ivanov-ms"), ["Rest!"]);
}

// ----- identity and the owner's answer (issue 11) ---------------------------

/// [MS-OXOCAL] 2.2.1.27's sample PidLidGlobalObjectId, an exception of a
/// series moved from 2008-03-25 (instance date bytes `07D8 03 19`):
/// <https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocal/3a11139f-52fa-4d2d-9b43-9f3007e38f08>.
/// Graph's `iCalUId` is this id in upper-case hex.
const SERIES_GOID: &str = "040000008200E00074C5B7101A82E00807D803195025D461E473C8010000000000000000100000002A5844B3A444F74A9C246C60886F116B";
/// The same id with the instance date zeroed ([MS-OXOCAL] 2.2.1.28
/// PidLidCleanGlobalObjectId): every item of the series shares it, and it is
/// the UID Exchange writes when it exports the series to iCalendar.
const SERIES_UID: &str = "040000008200E00074C5B7101A82E008000000005025D461E473C8010000000000000000100000002A5844B3A444F74A9C246C60886F116B";
/// [MS-ASEMAIL] 4.3 "Converting a GlobalObjId to a UID", example 2 (the
/// base64 there in hex): an id wrapping the UID of an outside iCalendar
/// invitation after the `vCal-Uid` marker:
/// <https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-asemail/e7424ddc-dd10-431e-a0b7-5c794863370e>.
const OUTSIDE_GOID: &str = "040000008200E00074C5B7101A82E0080000000000000000000000000000000000000000330000007643616C2D556964010000007B38313431324433432D324132342D344539442D423230452D3131463742424539323739397D00";
const OUTSIDE_UID: &str = "{81412D3C-2A24-4E9D-B20E-11F7BBE92799}";

/// The series' id as Graph gives it on the occurrence of `date`: the
/// instance date bytes (year big-endian, month, day) filled in.
fn goid_on(year: u16, month: u8, day: u8) -> String {
    format!(
        "{}{year:04X}{month:02X}{day:02X}{}",
        &SERIES_GOID[..32],
        &SERIES_GOID[40..]
    )
}

#[test]
fn global_object_ids_convert_to_uids_as_microsoft_documents() {
    use meetledger::sources::microsoft::uid_of_global_object_id as uid;
    // [MS-ASEMAIL] 4.3 example 1 (base64 BAAAAIIA4AB0xbcQGoLgCAfUCRDg… in
    // hex): an Outlook id of an instance of 2004-09-16; the UID is the id
    // with bytes 17-20 zeroed.
    assert_eq!(
        uid("040000008200E00074C5B7101A82E00807D40910E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE94E9E39E3867B378EF3").as_deref(),
        Some("040000008200E00074C5B7101A82E00800000000E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE94E9E39E3867B378EF3")
    );
    assert_eq!(uid(OUTSIDE_GOID).as_deref(), Some(OUTSIDE_UID));
    assert_eq!(uid(SERIES_GOID).as_deref(), Some(SERIES_UID));
    assert_eq!(uid(&goid_on(2019, 4, 8)).as_deref(), Some(SERIES_UID));
    assert_eq!(
        uid(&SERIES_GOID.to_lowercase()).as_deref(),
        Some(SERIES_UID),
        "hex digits in either case ([MS-OXCICAL] 2.1.3.1.1.20.26)"
    );
    // An occurrence of a series that came from an outside invitation: the
    // wrapped UID whatever the instance date.
    let outside_occurrence = format!("{}07E30408{}", &OUTSIDE_GOID[..32], &OUTSIDE_GOID[40..]);
    assert_eq!(uid(&outside_occurrence).as_deref(), Some(OUTSIDE_UID));
    // Not Exchange ids: kept by the caller as they are.
    for other in ["event-id@google.com", &SERIES_GOID[..80], "zz", ""] {
        assert_eq!(uid(other), None, "{other}");
    }
}

/// The Graph docs' `event: instances` response (an exception moved from
/// 4/15 to 4/16 and three occurrences of one series), each item given the
/// `iCalUId` and `originalStart` that the `event` resource carries
/// (<https://learn.microsoft.com/en-us/graph/api/resources/event?view=graph-rest-1.0>),
/// and an outside invitation wrapping its iCalendar UID.
fn series_page(server: &MockServer) -> Value {
    let mut page = graph(server, "msgraph_event_instances_exception_occurrence.json");
    let original = |day: u8| format!("2019-04-{day:02}T20:30:00Z");
    for (item, day) in page["value"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip([15u8, 8, 22, 29])
    {
        item["iCalUId"] = json!(goid_on(2019, 4, day));
        item["originalStart"] = json!(original(day));
        item["originalStartTimeZone"] = json!("UTC");
    }
    page["value"].as_array_mut().unwrap().push(json!({
        "id": "AAMkAGUzYAgI1vCalInvite", "type": "singleInstance", "seriesMasterId": null,
        "iCalUId": OUTSIDE_GOID, "subject": "Supplier call",
        "start": { "dateTime": "2019-04-17T09:00:00.0000000", "timeZone": "UTC" },
        "end": { "dateTime": "2019-04-17T10:00:00.0000000", "timeZone": "UTC" }
    }));
    page["@odata.deltaLink"] = json!(format!("{}{DELTA}?$deltatoken=d1", server.uri()));
    page
}

fn explain(company: &Company, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .arg("--config")
        .arg(company.config_path())
        .args(["--now", "2019-05-01T12:00:00Z", "explain", "--calendar"])
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_series_has_one_uid_and_an_outside_invitation_keeps_its_ics_uid() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(DELTA))
        .respond_with(ok(series_page(&server)))
        .mount(&server)
        .await;
    let company = company_at(&server, "2019-05-01T12:00:00Z", USER_CALENDAR);
    company.authorize("ivanov-ms", "microsoft", "access-1", 3600);
    company.sync("ivanov-ms").await.unwrap();
    let all = company.occurrences("ivanov-ms");
    let series: Vec<_> = all
        .iter()
        .filter(|o| o.title == "Review strategy for Q3")
        .collect();
    assert_eq!(series.len(), 4);
    for o in &series {
        assert_eq!(o.uid, SERIES_UID, "{o:?}");
    }
    let moved = series
        .iter()
        .find(|o| o.start == at("2019-04-16T20:30:00Z"))
        .unwrap();
    assert_eq!(moved.recurrence_id, Some(at("2019-04-15T20:30:00Z")));
    let invitation = all.iter().find(|o| o.title == "Supplier call").unwrap();
    assert_eq!(invitation.uid, OUTSIDE_UID);
    assert_eq!(invitation.recurrence_id, None);

    // `explain --uid` with the series' UID finds the series, and `--at`
    // picks the moved instance by its original start.
    let output = explain(&company, &["ivanov-ms", "--uid", SERIES_UID]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has 4 instances"), "{stderr}");
    let output = explain(
        &company,
        &[
            "ivanov-ms",
            "--uid",
            SERIES_UID,
            "--at",
            "2019-04-15T20:30:00Z",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let explained: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(explained["occurrence_start"], "2019-04-16T20:30:00Z");
}

#[tokio::test]
async fn the_owners_answer_is_the_events_response_status() {
    let server = MockServer::start().await;
    // Invitations from a client as the owner's mailbox sees them: the
    // owner's own entry in `attendees` reads `none` with Graph's sentinel
    // time (as in the docs' user-list-events response), the answer is in
    // `responseStatus` (shape as in the docs' calendarView response).
    let invitation = |id: &str,
                      subject: &str,
                      day: u32,
                      answer: &str,
                      show_as: &str,
                      listed: bool| {
        let mut attendees = vec![json!({
            "type": "required",
            "status": { "response": "none", "time": "0001-01-01T00:00:00Z" },
            "emailAddress": { "name": "Buyer", "address": "buyer@romashka.example" }
        })];
        if listed {
            attendees.push(json!({
                "type": "required",
                "status": { "response": "none", "time": "0001-01-01T00:00:00Z" },
                "emailAddress": { "name": "Ivan Ivanov", "address": "Ivanov@acme.example" }
            }));
        }
        json!({
            "id": id, "type": "singleInstance", "subject": subject, "showAs": show_as,
            "isOrganizer": false,
            "responseStatus": { "response": answer, "time": "2017-04-03T10:37:00Z" },
            "start": { "dateTime": format!("2017-04-{day:02}T09:00:00.0000000"), "timeZone": "UTC" },
            "end": { "dateTime": format!("2017-04-{day:02}T10:00:00.0000000"), "timeZone": "UTC" },
            "organizer": { "emailAddress": { "name": "Buyer", "address": "buyer@romashka.example" } },
            "attendees": attendees
        })
    };
    let page = json!({
        "value": [
            invitation("e1", "Declined, busy", 3, "declined", "busy", true),
            invitation("e2", "Declined, free", 4, "declined", "free", true),
            invitation("e3", "Accepted", 5, "accepted", "busy", true),
            invitation("e4", "Declined via a group", 6, "declined", "busy", false),
            invitation("e5", "Not answered", 7, "notResponded", "tentative", true),
        ],
        "@odata.deltaLink": format!("{}{DELTA}?$deltatoken=d1", server.uri())
    });
    Mock::given(method("GET"))
        .and(path(DELTA))
        .respond_with(ok(page))
        .mount(&server)
        .await;
    let company = company_at(&server, "2017-04-20T12:00:00Z", USER_CALENDAR);
    company.authorize("ivanov-ms", "microsoft", "access-1", 3600);
    company.sync("ivanov-ms").await.unwrap();
    let all = company.occurrences("ivanov-ms");
    let owner = |title: &str| {
        all.iter()
            .find(|o| o.title == title)
            .unwrap()
            .attendees
            .iter()
            .find(|a| a.email == "ivanov@acme.example")
            .map(|a| a.partstat)
    };
    assert_eq!(owner("Declined, busy"), Some(PartStat::Declined));
    assert_eq!(owner("Declined, free"), Some(PartStat::Declined));
    assert_eq!(owner("Accepted"), Some(PartStat::Accepted));
    assert_eq!(owner("Declined via a group"), Some(PartStat::Declined));
    assert_eq!(owner("Not answered"), Some(PartStat::NeedsAction));

    let reason = |uid: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"))
            .arg("--config")
            .arg(company.config_path())
            .args([
                "--now",
                "2017-04-20T12:00:00Z",
                "explain",
                "--calendar",
                "ivanov-ms",
            ])
            .args(["--uid", uid, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()["reason"].clone()
    };
    for declined in ["e1", "e2", "e4"] {
        assert_eq!(reason(declined), "declined", "{declined}");
    }
    assert_eq!(reason("e3"), Value::Null, "the accepted visit is a meeting");
}

#[tokio::test]
async fn a_throttled_round_waits_and_goes_on() {
    let server = MockServer::start().await;
    // Graph's throttling answer (https://learn.microsoft.com/en-us/graph/throttling):
    // 429 with Retry-After and a TooManyRequests error body.
    Mock::given(method("GET"))
        .and(path(DELTA))
        .and(query_param("$skiptoken", "R0usmcCM996atia_s"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({
                    "error": {
                        "code": "TooManyRequests",
                        "innerError": {
                            "code": "429",
                            "date": "2020-08-18T12:51:51",
                            "message": "Please retry after",
                            "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2",
                            "status": "429"
                        },
                        "message": "Please retry again later."
                    }
                })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_first_round(&server).await;
    let company = company(&server);
    let (mode, counts) = company.sync("ivanov-ms").await.unwrap();
    assert_eq!((mode, counts.upserted), ("full", 5));
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}
