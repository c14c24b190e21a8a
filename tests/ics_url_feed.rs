//! The `ics_url` source against a mock HTTP server: conditional GET with
//! ETag (304 → unchanged, nothing parsed), Last-Modified, an identical body
//! without validators, a 500 then success, a moved window, and a login page
//! instead of a feed (an error; the stored calendar stays).

mod support;

use meetledger::sources::{calendar_sources, CalendarFetch, SyncContext};
use support::{event, fast_http, Setup};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn feed() -> String {
    event(
        "feed@test",
        "20261110T100000Z",
        "20261110T110000Z",
        "Встреча ООО Ромашка",
        "",
    )
    .replace('\n', "\r\n")
}

fn setup(url: &str) -> Setup {
    Setup::new(&format!(
        r#"
[[calendar]]
id = "feed"
manager = "alice"
kind = "ics_url"
url = "{url}"
"#
    ))
}

async fn fetch(setup: &Setup, cursor: Option<&str>, now: &str) -> anyhow::Result<CalendarFetch> {
    let mut ctx = SyncContext::new(&setup.config, now.parse().unwrap());
    ctx.http = fast_http();
    let mut source = calendar_sources(&setup.config).remove(0);
    source.fetch(cursor, &ctx).await
}

fn cursor_of(fetch: &CalendarFetch) -> String {
    match fetch {
        CalendarFetch::Full { cursor, items, .. } => {
            assert_eq!(items[0].occurrences.len(), 1);
            cursor.clone()
        }
        _ => panic!("expected a full fetch"),
    }
}

#[tokio::test]
async fn etag_304_is_unchanged() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cal.ics"))
        .and(header("If-None-Match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cal.ics"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"v1\"")
                .insert_header("Content-Type", "text/calendar")
                .set_body_string(feed()),
        )
        .mount(&server)
        .await;
    let setup = setup(&format!("{}/cal.ics", server.uri()));
    let cursor = cursor_of(&fetch(&setup, None, support::NOW).await.unwrap());
    assert!(matches!(
        fetch(&setup, Some(&cursor), support::NOW).await.unwrap(),
        CalendarFetch::Unchanged
    ));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("if-none-match").is_none());
}

#[tokio::test]
async fn last_modified_is_sent_back() {
    let server = MockServer::start().await;
    let stamp = "Wed, 25 Nov 2026 10:00:00 GMT";
    Mock::given(method("GET"))
        .and(header("If-Modified-Since", stamp))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Last-Modified", stamp)
                .set_body_string(feed()),
        )
        .mount(&server)
        .await;
    let setup = setup(&format!("{}/cal.ics", server.uri()));
    let cursor = cursor_of(&fetch(&setup, None, support::NOW).await.unwrap());
    assert!(matches!(
        fetch(&setup, Some(&cursor), support::NOW).await.unwrap(),
        CalendarFetch::Unchanged
    ));
}

#[tokio::test]
async fn the_same_body_without_validators_is_unchanged() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(feed()))
        .mount(&server)
        .await;
    let setup = setup(&format!("{}/cal.ics", server.uri()));
    let cursor = cursor_of(&fetch(&setup, None, support::NOW).await.unwrap());
    assert!(matches!(
        fetch(&setup, Some(&cursor), support::NOW).await.unwrap(),
        CalendarFetch::Unchanged
    ));
    // The next day the window moved: fetched unconditionally and expanded again.
    let next_day = fetch(&setup, Some(&cursor), "2026-11-28T12:00:00Z")
        .await
        .unwrap();
    assert_ne!(cursor_of(&next_day), cursor);
}

#[tokio::test]
async fn a_server_error_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(feed()))
        .mount(&server)
        .await;
    let setup = setup(&format!("{}/cal.ics", server.uri()));
    cursor_of(&fetch(&setup, None, support::NOW).await.unwrap());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_login_page_is_an_error_not_an_empty_calendar() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Sign in</body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    let setup = setup(&format!("{}/cal.ics", server.uri()));
    let error = match fetch(&setup, None, support::NOW).await {
        Err(e) => format!("{e:#}"),
        Ok(_) => panic!("a login page was read as a calendar"),
    };
    assert!(
        error.contains("did not return an iCalendar feed"),
        "{error}"
    );
    assert!(error.contains("text/html"), "{error}");
}
