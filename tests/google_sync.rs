//! `google` calendars against a mock Calendar API v3: paging, sync tokens,
//! tombstones, 410 resync, retries, token refresh and re-authorization.

mod oauth_support;

use std::time::Instant;

use meetledger::model::{EventStatus, PartStat};
use oauth_support::{at, fixture, Company};
use serde_json::{json, Value};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const EVENTS: &str = "/calendar/v3/calendars/primary/events";

fn company(server: &MockServer, calendars: &str) -> Company {
    let uri = server.uri();
    Company::new(
        at("2022-10-20T12:00:00Z"),
        &format!(
            r#"
[google]
client_id = "test-client.apps.googleusercontent.com"
client_secret = {{ file = "client_secret" }}
api_url = "{uri}/calendar/v3"
token_url = "{uri}/token"
auth_url = "{uri}/auth"

{calendars}
"#
        ),
    )
}

const ONE_CALENDAR: &str = r#"
[[calendar]]
id = "ivanov-google"
manager = "ivanov"
kind = "google"
"#;

fn page(items: Value, next_page: Option<&str>, sync: Option<&str>) -> ResponseTemplate {
    let mut body = json!({ "kind": "calendar#events", "items": items });
    if let Some(p) = next_page {
        body["nextPageToken"] = json!(p);
    }
    if let Some(s) = sync {
        body["nextSyncToken"] = json!(s);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn items(fixture_name: &str) -> Value {
    serde_json::from_str::<Value>(&fixture(fixture_name)).unwrap()["items"].clone()
}

fn meeting(id: &str, summary: &str, start: &str, end: &str) -> Value {
    json!({
        "id": id, "status": "confirmed", "iCalUID": format!("{id}@google.com"),
        "summary": summary,
        "start": { "dateTime": start, "timeZone": "Europe/Moscow" },
        "end": { "dateTime": end, "timeZone": "Europe/Moscow" },
    })
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn first_sync_reads_every_page_expanded_and_keeps_the_sync_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param_is_missing("pageToken"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(page(
            items("google_items_modified_instance_gcal_sync.json"),
            Some("page-2"),
            None,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param("pageToken", "page-2"))
        .respond_with(page(
            items("google_incremental_sync_tombstone_gcal_sync.json"),
            None,
            Some("sync-token-1"),
        ))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);

    let (mode, counts) = company.sync("ivanov-google").await.unwrap();
    assert_eq!(mode, "full");
    assert_eq!(
        counts.upserted, 3,
        "two timed events and one all-day; the tombstone is skipped"
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(query(r, "singleEvents").as_deref(), Some("true"));
        assert_eq!(query(r, "showDeleted").as_deref(), Some("true"));
        assert!(query(r, "timeMin").is_some() && query(r, "timeMax").is_some());
        assert!(query(r, "syncToken").is_none());
    }
    let cursor: Value = serde_json::from_str(&company.cursor("ivanov-google").unwrap()).unwrap();
    assert_eq!(cursor["sync_token"], "sync-token-1");

    let occurrences = company.occurrences("ivanov-google");
    let moved = occurrences
        .iter()
        .find(|o| o.recurrence_id.is_some())
        .expect("the moved instance");
    assert_eq!(moved.uid, "event-id@google.com");
    assert_eq!(moved.recurrence_id, Some(at("2022-10-30T23:00:00Z")));
    assert_eq!(moved.start, at("2022-10-30T21:00:00Z"));
    assert_eq!(moved.end, at("2022-10-31T00:30:00Z"));
    assert_eq!(moved.tz.as_deref(), Some("America/Los_Angeles"));
    let all_day = occurrences.iter().find(|o| o.all_day).unwrap();
    assert_eq!(all_day.title, "Event 3");
    assert_eq!(all_day.start, at("2022-04-21T00:00:00Z"));
    assert_eq!(all_day.end, at("2022-04-22T00:00:00Z"));
}

#[tokio::test]
async fn incremental_sync_applies_changes_and_cancelled_tombstones() {
    let server = MockServer::start().await;
    let first = json!([
        meeting("some-event-id-1", "Встреча ООО Ромашка", "2022-10-03T10:00:00+03:00", "2022-10-03T11:00:00+03:00"),
        meeting("some-event-id-2", "Call", "2022-10-04T10:00:00+03:00", "2022-10-04T11:00:00+03:00"),
        { "id": "event-id_20221030", "status": "confirmed", "iCalUID": "event-id@google.com",
          "summary": "Summary", "recurringEventId": "event-id",
          "originalStartTime": { "date": "2022-10-30" },
          "start": { "date": "2022-10-30" }, "end": { "date": "2022-10-31" } },
        { "id": "event-id_20221106", "status": "confirmed", "iCalUID": "event-id@google.com",
          "summary": "Summary", "recurringEventId": "event-id",
          "originalStartTime": { "date": "2022-11-06" },
          "start": { "date": "2022-11-06" }, "end": { "date": "2022-11-07" } },
    ]);
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param_is_missing("syncToken"))
        .respond_with(page(first, None, Some("sync-token-1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param("syncToken", "sync-token-1"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(page(
            items("google_incremental_sync_tombstone_gcal_sync.json"),
            Some("more"),
            None,
        ))
        .mount(&server)
        .await;
    // The second page of the incremental round: the gcal_sync tombstones of
    // cancelled instances (ids `<series>_<date>`; one with a typo that
    // matches nothing).
    let mut cancelled = items("google_items_cancelled_instances_gcal_sync.json");
    cancelled.as_array_mut().unwrap().remove(0);
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param("pageToken", "more"))
        .respond_with(page(cancelled, None, Some("sync-token-2")))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);

    assert_eq!(company.sync("ivanov-google").await.unwrap().0, "full");
    assert_eq!(company.occurrences("ivanov-google").len(), 4);
    let (mode, counts) = company.sync("ivanov-google").await.unwrap();
    assert_eq!(mode, "delta");
    assert_eq!(counts.upserted, 1);
    assert_eq!(
        company.titles("ivanov-google"),
        ["Call", "Event 3", "Summary"]
    );
    let kept = company
        .occurrences("ivanov-google")
        .into_iter()
        .find(|o| o.title == "Summary")
        .unwrap();
    assert_eq!(kept.recurrence_id, Some(at("2022-11-06T00:00:00Z")));
    let incremental = server.received_requests().await.unwrap();
    let delta = incremental
        .iter()
        .find(|r| query(r, "syncToken").is_some())
        .unwrap();
    assert!(
        query(delta, "timeMin").is_none(),
        "timeMin cannot go with syncToken"
    );
    let cursor: Value = serde_json::from_str(&company.cursor("ivanov-google").unwrap()).unwrap();
    assert_eq!(cursor["sync_token"], "sync-token-2");
}

#[tokio::test]
async fn an_expired_sync_token_410_means_a_full_resync() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param_is_missing("syncToken"))
        .respond_with(page(
            json!([meeting(
                "a",
                "Old",
                "2022-10-03T10:00:00+03:00",
                "2022-10-03T11:00:00+03:00"
            )]),
            None,
            Some("sync-token-1"),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param("syncToken", "sync-token-1"))
        .respond_with(ResponseTemplate::new(410).set_body_json(json!({
            "error": { "code": 410, "message": "Sync token is no longer valid, a full sync is required.",
                       "errors": [{ "domain": "calendar", "reason": "fullSyncRequired" }] }
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(query_param_is_missing("syncToken"))
        .respond_with(page(
            json!([meeting(
                "b",
                "New",
                "2022-10-05T10:00:00+03:00",
                "2022-10-05T11:00:00+03:00"
            )]),
            None,
            Some("sync-token-9"),
        ))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);
    company.sync("ivanov-google").await.unwrap();
    let (mode, _) = company.sync("ivanov-google").await.unwrap();
    assert_eq!(mode, "full");
    assert_eq!(company.titles("ivanov-google"), ["New"]);
    assert!(company
        .cursor("ivanov-google")
        .unwrap()
        .contains("sync-token-9"));
}

#[tokio::test]
async fn rate_limits_server_errors_and_cut_bodies_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"items\": [{\"id\": \"a\", \"summ"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(page(
            json!([meeting(
                "a",
                "Visit",
                "2022-10-03T10:00:00+03:00",
                "2022-10-03T11:00:00+03:00"
            )]),
            None,
            Some("sync-token-1"),
        ))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);
    let started = Instant::now();
    company.sync("ivanov-google").await.unwrap();
    assert!(
        started.elapsed().as_millis() >= 950,
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(company.titles("ivanov-google"), ["Visit"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn attendees_conference_and_transparency_are_read() {
    let server = MockServer::start().await;
    let event = json!({
        "id": "m1", "status": "tentative", "iCalUID": "m1@google.com", "summary": "  Встреча  ",
        "start": { "dateTime": "2022-10-03T10:00:00+03:00", "timeZone": "Europe/Moscow" },
        "end": { "dateTime": "2022-10-03T11:00:00+03:00", "timeZone": "Europe/Moscow" },
        "transparency": "transparent",
        "organizer": { "email": "Ivanov@Acme.example", "self": true },
        "attendees": [
            { "email": "ivanov@acme.example", "organizer": true, "self": true, "responseStatus": "accepted" },
            { "email": "buyer@romashka.example", "displayName": "Buyer", "responseStatus": "needsAction" },
            { "email": "cfo@romashka.example", "responseStatus": "declined", "optional": true },
            { "email": "boss@romashka.example", "responseStatus": "tentative" },
            { "email": "room-1@resource.calendar.google.com", "resource": true, "responseStatus": "accepted" }
        ],
        "hangoutLink": "https://meet.google.com/abc-defg-hij",
        "conferenceData": { "entryPoints": [ { "entryPointType": "video", "uri": "https://meet.google.com/abc-defg-hij" } ] }
    });
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(page(json!([event]), None, Some("t")))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);
    company.sync("ivanov-google").await.unwrap();
    let o = &company.occurrences("ivanov-google")[0];
    assert_eq!(o.title, "Встреча");
    assert_eq!(o.status, EventStatus::Tentative);
    assert!(o.transparent);
    assert_eq!(
        o.conference.as_deref(),
        Some("https://meet.google.com/abc-defg-hij")
    );
    assert_eq!(o.organizer.as_ref().unwrap().email, "ivanov@acme.example");
    let statuses: Vec<(&str, PartStat)> = o
        .attendees
        .iter()
        .map(|a| (a.email.as_str(), a.partstat))
        .collect();
    assert_eq!(
        statuses,
        [
            ("ivanov@acme.example", PartStat::Accepted),
            ("buyer@romashka.example", PartStat::NeedsAction),
            ("cfo@romashka.example", PartStat::Declined),
            ("boss@romashka.example", PartStat::Tentative),
        ],
        "the meeting room is not a participant"
    );
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_stored_before_the_sync() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-ivanov-google"))
        .and(body_string_contains("client_secret=s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "access-2", "expires_in": 3599, "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/calendar.readonly"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(page(json!([]), None, Some("t")))
        .expect(1)
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    // Two minutes left: inside the refresh margin.
    company.authorize("ivanov-google", "google", "access-1", 120);
    company.sync("ivanov-google").await.unwrap();
    let stored = company
        .store()
        .oauth_token("ivanov-google")
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.as_deref(), Some("access-2"));
    assert_eq!(
        stored.refresh_token.as_deref(),
        Some("refresh-ivanov-google"),
        "Google sends no new refresh token; the old one stays"
    );
    assert!(stored.expires_at.unwrap() > company.now + chrono::Duration::minutes(59));
}

#[tokio::test]
async fn a_revoked_grant_flags_only_its_calendar_and_the_others_still_sync() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Token has been expired or revoked."
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/team@acme.example/events"))
        .respond_with(page(
            json!([meeting(
                "x",
                "Visit",
                "2022-10-03T10:00:00+03:00",
                "2022-10-03T11:00:00+03:00"
            )]),
            None,
            Some("t"),
        ))
        .mount(&server)
        .await;
    let company = company(
        &server,
        r#"
[[calendar]]
id = "ivanov-google"
manager = "ivanov"
kind = "google"

[[calendar]]
id = "team-google"
kind = "google"
calendar_id = "team@acme.example"

[email]
from = "meetledger@acme.example"
head = ["head@acme.example"]
transport = "file"
folder = "outbox"
"#,
    );
    company.authorize("ivanov-google", "google", "access-1", 0);
    company.authorize("team-google", "google", "access-t", 3600);
    let mut store = company.store();
    let summary = meetledger::pipeline::sync(&company.config, &mut store, company.now)
        .await
        .unwrap();
    let failed: Vec<&str> = summary.failed().map(|s| s.id.as_str()).collect();
    assert_eq!(failed, ["ivanov-google"]);
    assert_eq!(company.titles("team-google"), ["Visit"]);
    let error = store
        .source("ivanov-google")
        .unwrap()
        .unwrap()
        .last_error
        .unwrap();
    assert!(
        error.contains("run `meetledger auth google --calendar ivanov-google`"),
        "{error}"
    );
    assert_eq!(store.needing_reauth().unwrap().len(), 1);
    let state = store.source("ivanov-google").unwrap().unwrap();
    assert!(
        state.needs_reauth.is_some(),
        "status and emails read the flag from the source"
    );

    // The flag holds: no more token requests until `meetledger auth`.
    let before = server.received_requests().await.unwrap().len();
    meetledger::pipeline::sync(&company.config, &mut store, company.now)
        .await
        .unwrap();
    let token_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .skip(before)
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(token_calls, 0);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config"])
        .arg(company.config_path())
        .args(["--now", "2022-10-20T12:00:00Z", "status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "needs re-authorization: run meetledger auth google --calendar ivanov-google"
        ),
        "{text}"
    );

    // The head of sales is told too (the alert section of the team email).
    let email = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config"])
        .arg(company.config_path())
        .args(["--now", "2022-10-20T12:00:00Z", "email", "--to", "head"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&email.stdout);
    assert!(
        email.status.success()
            && text.contains("ivanov-google")
            && text.contains("Token has been expired or revoked"),
        "{text}\n{}",
        String::from_utf8_lossy(&email.stderr)
    );
}

#[tokio::test]
async fn a_calendar_never_authorized_says_which_command_to_run() {
    let server = MockServer::start().await;
    let company = company(&server, ONE_CALENDAR);
    let error = company.sync("ivanov-google").await.unwrap_err().to_string();
    assert!(
        error.contains("meetledger auth google --calendar ivanov-google"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Google's documented error bodies
/// (https://developers.google.com/calendar/api/guides/errors): "403: User
/// Rate Limit Exceeded", "403: Rate Limit Exceeded" and "403: Daily Limit
/// Exceeded".
fn google_403(reason: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "error": {
            "errors": [ { "domain": "usageLimits", "reason": reason, "message": message } ],
            "code": 403,
            "message": message
        }
    }))
}

#[tokio::test]
async fn a_403_rate_limit_is_retried_with_backoff_like_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(google_403("rateLimitExceeded", "Rate Limit Exceeded"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(google_403(
            "userRateLimitExceeded",
            "User Rate Limit Exceeded",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(page(
            json!([meeting(
                "a",
                "Visit",
                "2022-10-03T10:00:00+03:00",
                "2022-10-03T11:00:00+03:00"
            )]),
            None,
            Some("sync-token-1"),
        ))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);
    company.sync("ivanov-google").await.unwrap();
    assert_eq!(company.titles("ivanov-google"), ["Visit"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_403_that_is_not_a_rate_limit_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS))
        .respond_with(google_403("dailyLimitExceeded", "Daily Limit Exceeded"))
        .mount(&server)
        .await;
    let company = company(&server, ONE_CALENDAR);
    company.authorize("ivanov-google", "google", "access-1", 3600);
    let error = format!("{:#}", company.sync("ivanov-google").await.unwrap_err());
    assert!(error.contains("403"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
