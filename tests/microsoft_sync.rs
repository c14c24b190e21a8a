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
