//! HubSpot against a server that answers as HubSpot documents its API (issue
//! 11): a deal is credited to its primary company, every pager (list,
//! search, associations) stops with an error on a repeated `after` token,
//! later syncs read changes since the last successful sync and page the
//! archive only when no full read will drop deleted deals, 429 answers are
//! waited out, key accounts follow `key_field`; and a small company read
//! through HubSpot gives the same `meetings` and `report` as through CSV.
//!
//! Payload shapes, cited next to each use:
//! - [SDK] HubSpot/hubspot-api-nodejs @ 395cd9bf3bb21252aefc517e11ea64b7db03bd9d:
//!   codegen/crm/deals/models/SimplePublicObjectWithAssociations.ts (a
//!   record: `id`, `properties` of strings, `createdAt`, `updatedAt`,
//!   `archived`, `archivedAt`), CollectionResponseSimplePublicObjectWith
//!   AssociationsForwardPaging.ts (a list page: `results`,
//!   `paging.next.after`), CollectionResponseWithTotalSimplePublicObject
//!   ForwardPaging.ts (a search page: `total`, `results`, `paging`),
//!   codegen/crm/associations/v4/models/BatchResponsePublicAssociationMulti
//!   WithLabel.ts, PublicAssociationMultiWithLabel.ts,
//!   MultiAssociatedObjectWithLabel.ts, AssociationSpecWithLabel.ts (the v4
//!   batch read: `status`, `results[].from.id`, `to[].toObjectId`,
//!   `to[].associationTypes[{category, typeId, label}]`, per-record
//!   `paging.next.after`), src/enums/AssociationTypes.ts
//!   (`primaryDealToCompany = 5`, `dealToCompany = 341`, `dealToContact = 3`).
//! - [SEARCH] https://developers.hubspot.com/docs/api-reference/crm-contracts-v3/search/post-crm-v3-objects-contracts-search
//!   (example answer: `total`, `paging.next.after` = "NTI1Cg%3D%3D" with a
//!   `link`, property values as strings, dates as epoch-millisecond strings).
//! - [ASSOC] https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
//!   ("The 'paging' field will only be present if there are more pages").
//! - [LABELS] https://developers.hubspot.com/docs/api/crm/associations: a
//!   primary association is listed alongside the unlabeled one, whose
//!   `label` is null; https://developers.hubspot.com/changelog/changes-to-primary-labels-for-hubspot-defined-association-labels
//!   (the label of type 5 reads "Deal with Primary Company" since February
//!   2024; only the typeId is to be relied on).
//! - [429] https://developers.hubspot.com/docs/api/usage-details (the body of
//!   a 429: `status`, `message`, `errorType: RATE_LIMIT`, `correlationId`,
//!   `policyName` SECONDLY or DAILY, `requestId`).

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{scenario_calendar, Company, CONFIG_HEAD, SCENARIO_ORDERS};
use meetledger::config::Config;
use meetledger::sources::http::{HttpClient, HttpSettings};
use meetledger::sources::{crm_sources_with, CrmFetch, CrmSource, SyncContext};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ------------------------------------------------------------------ helpers

const HEAD: &str = r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"
crm_user = ["11"]
"#;

struct Setup {
    _dir: tempfile::TempDir,
    config: Config,
}

/// A HubSpot `[[crm]]` against `server`, plus `extra` keys.
fn setup(server: &MockServer, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), "pat-na1-test\n").unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}\n[[crm]]\nid = \"hs\"\nkind = \"hubspot\"\nurl = \"{}\"\ntoken = {{ file = \"token.txt\" }}\ncurrency = \"USD\"\n{extra}",
            server.uri()
        ),
    )
    .unwrap();
    let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    Setup { _dir: dir, config }
}

/// Retries in milliseconds, no pacing: tests stay fast.
fn source(setup: &Setup) -> Box<dyn CrmSource> {
    let http = HttpClient::new(HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        default_rate: 1000.0,
        ..HttpSettings::default()
    })
    .unwrap();
    crm_sources_with(&setup.config, &http).remove(0)
}

fn ctx(setup: &Setup, now: &str) -> SyncContext {
    SyncContext::new(
        &setup.config,
        DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A CRM record as every v3 endpoint returns it [SDK]
/// SimplePublicObjectWithAssociations: property values are strings.
fn record(id: &str, properties: Value) -> Value {
    json!({
        "id": id,
        "properties": properties,
        "createdAt": "2026-01-05T10:00:00.000Z",
        "updatedAt": "2026-01-06T10:00:00.000Z",
        "archived": false
    })
}

fn deal(id: &str, amount: &str, closedate: &str, stage: &str) -> Value {
    record(
        id,
        json!({
            "amount": amount,
            "closedate": closedate,
            "createdate": "2026-01-05T10:00:00.000Z",
            "dealname": format!("Deal {id}"),
            "dealstage": stage,
            "deal_currency_code": "USD",
            "hs_lastmodifieddate": "2026-01-06T10:00:00.000Z",
            "hs_object_id": id,
            "hubspot_owner_id": "11"
        }),
    )
}

fn company(id: &str, name: &str, domain: Option<&str>) -> Value {
    record(
        id,
        json!({"name": name, "domain": domain, "hs_additional_domains": null, "hubspot_owner_id": "11", "hs_is_target_account": "false", "hs_object_id": id}),
    )
}

/// A list page [SDK] CollectionResponse…ForwardPaging; `after` is the next
/// page's token, shaped like [SEARCH]'s example.
fn list_page(results: Vec<Value>, after: Option<&str>) -> Value {
    match after {
        Some(after) => {
            json!({"results": results, "paging": {"next": {"after": after, "link": format!("?after={after}")}}})
        }
        None => json!({"results": results}),
    }
}

/// A search page [SEARCH]: with `total`.
fn search_page(results: Vec<Value>, after: Option<&str>) -> Value {
    let mut page = list_page(results, after);
    page["total"] = json!(page["results"].as_array().unwrap().len());
    page
}

/// One deal's companies in a v4 batch read [SDK][LABELS]: every association
/// carries the unlabeled type 341; the primary one type 5 as well.
fn deal_companies(deal: &str, companies: &[(u64, bool)]) -> Value {
    let to: Vec<Value> = companies
        .iter()
        .map(|(id, primary)| {
            let mut types = vec![json!({"category": "HUBSPOT_DEFINED", "typeId": 341, "label": null})];
            if *primary {
                types.insert(
                    0,
                    json!({"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Deal with Primary Company"}),
                );
            }
            json!({"toObjectId": id, "associationTypes": types})
        })
        .collect();
    json!({"from": {"id": deal}, "to": to})
}

/// A v4 batch read answer [SDK] BatchResponsePublicAssociationMultiWithLabel.
fn batch_answer(results: Vec<Value>) -> Value {
    json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": "2026-01-06T10:00:00.000Z",
        "completedAt": "2026-01-06T10:00:00.120Z"
    })
}

async fn list(server: &MockServer, object: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/crm/v3/objects/{object}")))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

async fn search(server: &MockServer, object: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/crm/v3/objects/{object}/search")))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

async fn associations(server: &MockServer, from: &str, to: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/crm/v4/associations/{from}/{to}/batch/read")))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

struct Full {
    clients: Vec<meetledger::model::Client>,
    orders: Vec<meetledger::model::Order>,
    warnings: Vec<String>,
    cursor: String,
}

fn full(fetch: CrmFetch) -> Full {
    match fetch.collected() {
        CrmFetch::Full {
            clients,
            orders,
            warnings,
            cursor,
        } => Full {
            clients,
            orders,
            warnings: warnings.iter().map(ToString::to_string).collect(),
            cursor,
        },
        _ => panic!("expected a full read"),
    }
}

struct Delta {
    orders: Vec<meetledger::model::Order>,
    deleted_orders: Vec<String>,
    cursor: String,
}

fn delta(fetch: CrmFetch) -> Delta {
    match fetch {
        CrmFetch::Delta {
            orders,
            deleted_orders,
            cursor,
            ..
        } => Delta {
            orders,
            deleted_orders,
            cursor,
        },
        _ => panic!("expected a delta"),
    }
}

/// The requests `server` received on `at` (a path).
async fn requests_to(server: &MockServer, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}

/// The `value` of the GTE filter of a search request.
fn search_from(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["filterGroups"][0]["filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["operator"] == "GTE")
        .map(|f| f["value"].as_str().unwrap().to_string())
        .unwrap()
}

fn millis(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis()
        .to_string()
}

// ------------------------------------------------------- primary companies

/// A full read over several pages of companies, contacts and deals: deal 7
/// belongs to companies 99 and 1001, and 1001 is its primary company; deal
/// 8 has two companies and no primary one.
#[tokio::test]
async fn a_deal_is_credited_to_its_primary_company_not_the_smallest_id() {
    let server = MockServer::start().await;
    // Companies and deals over two pages each [SDK] list paging.
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(list_page(
            vec![
                company("99", "Holding", None),
                company("1001", "Romashka", Some("romashka.example")),
            ],
            Some("NTI1Cg%3D%3D"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies"))
        .and(query_param("after", "NTI1Cg%3D%3D"))
        .respond_with(ok(list_page(
            vec![company("2002", "Vector", Some("vector.example"))],
            None,
        )))
        .mount(&server)
        .await;
    list(&server, "contacts", list_page(vec![], None)).await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/deals"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(list_page(
            vec![deal("7", "1500.00", "2026-01-05T09:00:00Z", "closedwon")],
            Some("OA%3D%3D"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/deals"))
        .and(query_param("after", "OA%3D%3D"))
        .respond_with(ok(list_page(
            vec![deal("8", "700", "2026-01-05T09:00:00Z", "closedwon")],
            None,
        )))
        .mount(&server)
        .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![
            deal_companies("7", &[(99, false), (1001, true)]),
            deal_companies("8", &[(99, false), (2002, false)]),
        ]),
    )
    .await;
    let setup = setup(&server, "");
    let read = full(
        source(&setup)
            .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(read.clients.len(), 3, "both pages of companies");
    let orders: Vec<(&str, &str)> = read
        .orders
        .iter()
        .map(|o| (o.id.as_str(), o.client_id.as_str()))
        .collect();
    assert_eq!(orders, [("7", "1001")], "deal 7 is the primary company's");
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("deal 8") && w.contains("primary")),
        "deal 8 names no buyer: {:?}",
        read.warnings
    );
}

// --------------------------------------------------------------- pagination

/// HubSpot answering every search page with the same `after` token: the
/// read stops with an error naming HubSpot and the endpoint, instead of
/// reading for ever (the mock gives up after 30 repeats; the old pager
/// then "succeeded" with the same deals read 30 times).
#[tokio::test]
async fn a_search_repeating_its_after_token_fails_the_read() {
    let server = MockServer::start().await;
    let page = search_page(
        vec![deal("7", "1500.00", "2026-01-05T09:00:00Z", "closedwon")],
        Some("MTAw"),
    );
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/deals/search"))
        .respond_with(ok(page))
        .up_to_n_times(30)
        .mount(&server)
        .await;
    search(&server, "deals", search_page(vec![], None)).await;
    search(&server, "companies", search_page(vec![], None)).await;
    search(&server, "contacts", search_page(vec![], None)).await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![deal_companies("7", &[(1001, true)])]),
    )
    .await;
    let setup = setup(&server, "");
    let cursor = r#"{"since":"2026-01-06T00:00:00Z","full_at":"2026-01-06T00:00:00Z"}"#;
    let error = source(&setup)
        .fetch(Some(cursor), &ctx(&setup, "2026-01-06T12:00:00Z"))
        .await
        .err()
        .expect("a repeated token is an error");
    let message = format!("{error:#}");
    assert!(
        // The shared pager guard stops at whichever sign comes first: the
        // page repeated (same records) or the token repeated.
        message.contains("HubSpot POST /crm/v3/objects/deals/search")
            && (message.contains("MTAw") || message.contains("repeats itself")),
        "{message}"
    );
    assert_eq!(
        requests_to(&server, "/crm/v3/objects/deals/search")
            .await
            .len(),
        2,
        "stopped at the first repeat"
    );
}

/// The associations batch read pages per record: a record whose `after`
/// comes back again stops the read (the old loop asked for ever).
#[tokio::test]
async fn associations_repeating_a_record_token_fail_the_read() {
    let server = MockServer::start().await;
    list(
        &server,
        "companies",
        list_page(vec![company("1001", "Romashka", None)], None),
    )
    .await;
    list(&server, "contacts", list_page(vec![], None)).await;
    list(
        &server,
        "deals",
        list_page(
            vec![deal("7", "10", "2026-01-05T09:00:00Z", "closedwon")],
            None,
        ),
    )
    .await;
    // [ASSOC]: `paging` on a result means this record has more associations.
    let mut more = deal_companies("7", &[(1001, true)]);
    more["paging"] = json!({"next": {"after": "MQ%3D%3D", "link": "?after=MQ%3D%3D"}});
    Mock::given(method("POST"))
        .and(path("/crm/v4/associations/deals/companies/batch/read"))
        .respond_with(ok(batch_answer(vec![more])))
        .up_to_n_times(30)
        .mount(&server)
        .await;
    associations(&server, "deals", "companies", batch_answer(vec![])).await;
    let setup = setup(&server, "");
    let error = source(&setup)
        .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
        .await
        .err()
        .expect("a repeated token is an error");
    let message = format!("{error:#}");
    assert!(
        message.contains("/crm/v4/associations/deals/companies/batch/read")
            && message.contains("MQ%3D%3D"),
        "{message}"
    );
}

// ------------------------------------------- changes, deletions, the archive

/// Three syncs: a full read, a quiet one, then one that finds a change made
/// between them. Each later sync searches from the previous successful
/// sync minus the 10-minute overlap, also after the quiet one; a deal that
/// left the won stage is removed; the archive is not paged while a full
/// read is scheduled.
#[tokio::test]
async fn changes_between_syncs_are_read_from_the_last_successful_sync() {
    let server = MockServer::start().await;
    list(
        &server,
        "companies",
        list_page(vec![company("1001", "Romashka", None)], None),
    )
    .await;
    list(&server, "contacts", list_page(vec![], None)).await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/deals"))
        .and(query_param("archived", "false"))
        .respond_with(ok(list_page(
            vec![
                deal("7", "1500.00", "2026-01-05T09:00:00Z", "closedwon"),
                deal("8", "700", "2026-01-05T09:00:00Z", "closedwon"),
            ],
            None,
        )))
        .mount(&server)
        .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![
            deal_companies("7", &[(1001, true)]),
            deal_companies("8", &[(1001, true)]),
        ]),
    )
    .await;
    let setup = setup(&server, "");
    let mut hubspot = source(&setup);
    let first = full(
        hubspot
            .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(first.orders.len(), 2);

    // A quiet sync: nothing changed.
    server.reset().await;
    for object in ["companies", "contacts", "deals"] {
        search(&server, object, search_page(vec![], None)).await;
    }
    let quiet = delta(
        hubspot
            .fetch(Some(&first.cursor), &ctx(&setup, "2026-01-06T13:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(quiet.orders.is_empty() && quiet.deleted_orders.is_empty());
    let searches = requests_to(&server, "/crm/v3/objects/deals/search").await;
    assert_eq!(search_from(&searches[0]), millis("2026-01-06T11:50:00Z"));

    // Between the two syncs deal 7 grew and deal 8 was lost.
    server.reset().await;
    search(&server, "companies", search_page(vec![], None)).await;
    search(&server, "contacts", search_page(vec![], None)).await;
    search(
        &server,
        "deals",
        search_page(
            vec![
                deal("7", "2500.00", "2026-01-05T09:00:00Z", "closedwon"),
                deal("8", "700", "2026-01-05T09:00:00Z", "closedlost"),
            ],
            None,
        ),
    )
    .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![deal_companies("7", &[(1001, true)])]),
    )
    .await;
    let changed = delta(
        hubspot
            .fetch(Some(&quiet.cursor), &ctx(&setup, "2026-01-06T14:00:00Z"))
            .await
            .unwrap(),
    );
    let searches = requests_to(&server, "/crm/v3/objects/deals/search").await;
    assert_eq!(
        search_from(&searches[0]),
        millis("2026-01-06T12:50:00Z"),
        "from the quiet sync, not from now"
    );
    assert_eq!(
        changed
            .orders
            .iter()
            .map(|o| (o.id.as_str(), o.amount))
            .collect::<Vec<_>>(),
        [("7", 2500.0)]
    );
    assert_eq!(changed.deleted_orders, ["8"]);
    let archive_reads = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.query().unwrap_or_default().contains("archived=true"))
        .count();
    assert_eq!(archive_reads, 0, "the daily full read drops deleted deals");
}

/// With full reads turned off (`full_sync_hours = 0`) the archive is the
/// only trace of a deleted deal: later syncs page it and remove the deals
/// archived since the last sync.
#[tokio::test]
async fn without_full_reads_later_syncs_learn_deletions_from_the_archive() {
    let server = MockServer::start().await;
    for object in ["companies", "contacts", "deals"] {
        search(&server, object, search_page(vec![], None)).await;
    }
    // [SDK] `archivedAt` on archived records (GET …?archived=true).
    let mut gone = deal("5", "10", "2026-01-01T00:00:00Z", "closedwon");
    gone["archived"] = json!(true);
    gone["archivedAt"] = json!("2026-01-06T12:30:00.000Z");
    let mut long_gone = deal("4", "10", "2025-01-01T00:00:00Z", "closedwon");
    long_gone["archived"] = json!(true);
    long_gone["archivedAt"] = json!("2025-06-01T00:00:00.000Z");
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/deals"))
        .and(query_param("archived", "true"))
        .respond_with(ok(list_page(vec![gone, long_gone], None)))
        .mount(&server)
        .await;
    let setup = setup(&server, "full_sync_hours = 0\n");
    let cursor = r#"{"since":"2026-01-06T12:00:00Z","full_at":"2026-01-01T00:00:00Z"}"#;
    let read = delta(
        source(&setup)
            .fetch(Some(cursor), &ctx(&setup, "2026-01-06T13:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(read.deleted_orders, ["5"]);
}

/// A scheduled full read drops the deals deleted since the last one: the
/// store replaces everything with what the list endpoints return.
#[tokio::test]
async fn a_full_read_leaves_deleted_deals_out() {
    let server = MockServer::start().await;
    list(
        &server,
        "companies",
        list_page(vec![company("1001", "Romashka", None)], None),
    )
    .await;
    list(&server, "contacts", list_page(vec![], None)).await;
    list(
        &server,
        "deals",
        list_page(
            vec![deal("7", "10", "2026-01-05T09:00:00Z", "closedwon")],
            None,
        ),
    )
    .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![deal_companies("7", &[(1001, true)])]),
    )
    .await;
    let setup = setup(&server, "");
    // The cursor's last full read is more than `full_sync_hours` (24) ago.
    let cursor = r#"{"since":"2026-01-06T11:00:00Z","full_at":"2026-01-05T11:00:00Z"}"#;
    let read = full(
        source(&setup)
            .fetch(Some(cursor), &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(
        read.orders
            .iter()
            .map(|o| o.id.as_str())
            .collect::<Vec<_>>(),
        ["7"]
    );
}

// --------------------------------------------------------------- rate limit

/// HubSpot's documented 429 [429] (secondly limit, no Retry-After) is
/// retried with backoff; the read then completes.
#[tokio::test]
async fn a_429_with_hubspots_body_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/deals"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
            "policyName": "SECONDLY",
            "requestId": "3d3e35b7-0dae-4b9f-a6e3-9c230cbcf8dd"
        })))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    list(
        &server,
        "companies",
        list_page(vec![company("1001", "Romashka", None)], None),
    )
    .await;
    list(&server, "contacts", list_page(vec![], None)).await;
    list(
        &server,
        "deals",
        list_page(
            vec![deal("7", "10", "2026-01-05T09:00:00Z", "closedwon")],
            None,
        ),
    )
    .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![deal_companies("7", &[(1001, true)])]),
    )
    .await;
    let setup = setup(&server, "");
    let read = full(
        source(&setup)
            .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(read.orders.len(), 1);
    assert_eq!(
        requests_to(&server, "/crm/v3/objects/deals").await.len(),
        3,
        "two refusals, then the page"
    );
}

// ------------------------------------------------------------- key accounts

/// `key_field` names a company property (a dropdown here, values as
/// strings [SEARCH]) and `key_values` its key values; without them the
/// target-account flag decides.
#[tokio::test]
async fn key_accounts_follow_the_configured_company_property() {
    let server = MockServer::start().await;
    let mut key = company("1001", "Romashka", None);
    key["properties"]["tier"] = json!("Strategic");
    let mut other = company("2002", "Vector", None);
    other["properties"]["tier"] = json!("smb");
    other["properties"]["hs_is_target_account"] = json!("true");
    list(&server, "companies", list_page(vec![key, other], None)).await;
    list(&server, "contacts", list_page(vec![], None)).await;
    list(&server, "deals", list_page(vec![], None)).await;
    let keys = |setup: &Setup| {
        let setup_ctx = ctx(setup, "2026-01-06T12:00:00Z");
        let mut hubspot = source(setup);
        async move {
            let read = full(hubspot.fetch(None, &setup_ctx).await.unwrap());
            read.clients
                .iter()
                .filter(|c| c.key)
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        }
    };
    let mapped = setup(
        &server,
        "key_field = \"tier\"\nkey_values = [\"strategic\"]\n",
    );
    assert_eq!(keys(&mapped).await, ["1001"]);
    let asked = requests_to(&server, "/crm/v3/objects/companies").await;
    assert!(
        asked[0].url.query().unwrap_or_default().contains("tier"),
        "the property is asked for: {}",
        asked[0].url
    );
    let default = setup(&server, "");
    assert_eq!(keys(&default).await, ["2002"]);
}

// ------------------------------------------------------- CSV vs HubSpot

const NOW: &str = "2026-11-27T18:00:00+03:00";
const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

/// The ledger scenario (tests/common) with `crm` as its [[crm]] block.
fn scenario(crm: &str) -> Company {
    let company = Company::new("");
    let head = CONFIG_HEAD
        .replace(
            "plan = { new = 2, existing = 2 }",
            "plan = { new = 2, existing = 2 }\ncrm_user = [\"11\"]",
        )
        .replace(
            "plan = { new = 1, existing = 1 }",
            "plan = { new = 1, existing = 1 }\ncrm_user = [\"12\"]",
        );
    let head = &head[..head.find("[[crm]]").unwrap()];
    company.write("meetledger.toml", &format!("{head}\n{crm}"));
    company.write("token.txt", "pat-na1-test\n");
    company.write("calendars/ivanov.ics", &scenario_calendar());
    company.orders(&SCENARIO_ORDERS);
    company
}

/// `meetings` and `report` of every scenario month, after one sync.
fn meetings_and_report(company: &Company) -> String {
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(
        !run.stdout.contains("failed"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    PERIODS
        .iter()
        .flat_map(|p| {
            [
                company
                    .ok(NOW, &["meetings", "--period", p, "--format", "jsonl"])
                    .stdout,
                company
                    .ok(NOW, &["report", "--period", p, "--format", "json"])
                    .stdout,
            ]
        })
        .collect()
}

/// The scenario's clients c1..c3 and orders o1..o3 as HubSpot serves them:
/// companies over two pages, plus a holding company `0` that shares deal 1
/// with its primary company c1 (the smaller id, unlabeled), key account c1
/// marked by a `tier` property.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_gives_the_same_meetings_and_report_as_csv() {
    let server = MockServer::start().await;
    let firm = |id: &str, props: Value| {
        let mut c = record(id, props);
        c["properties"]["hs_object_id"] = json!(id);
        c
    };
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies"))
        .and(query_param_is_missing("after"))
        .respond_with(ok(list_page(
            vec![
                firm("0", json!({"name": "Холдинг", "domain": null, "hubspot_owner_id": null})),
                firm("1", json!({"name": "ООО Ромашка", "domain": "romashka.ru", "hubspot_owner_id": "11", "tier": "key"})),
            ],
            Some("Mg%3D%3D"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies"))
        .and(query_param("after", "Mg%3D%3D"))
        .respond_with(ok(list_page(
            vec![
                firm("2", json!({"name": "АО Вектор", "domain": "vector.example", "hubspot_owner_id": "12"})),
                firm("3", json!({"name": "ИП Сидоров", "domain": null, "hubspot_owner_id": "11"})),
            ],
            None,
        )))
        .mount(&server)
        .await;
    list(
        &server,
        "contacts",
        list_page(
            vec![record(
                "301",
                json!({"email": "sidorov@gmail.com", "firstname": "Пётр", "lastname": "Сидоров", "associatedcompanyid": "3"}),
            )],
            None,
        ),
    )
    .await;
    let won = |id: &str, at: &str, amount: &str| {
        let mut d = deal(id, amount, at, "closedwon");
        d["properties"]["deal_currency_code"] = json!("RUB");
        d
    };
    list(
        &server,
        "deals",
        list_page(
            vec![
                won("1", "2026-09-19T21:00:00Z", "100000"),
                won("2", "2026-10-15T09:00:00.000Z", "50000"),
                won("3", "2026-07-31T21:00:00Z", "70000"),
            ],
            None,
        ),
    )
    .await;
    associations(
        &server,
        "deals",
        "companies",
        batch_answer(vec![
            deal_companies("1", &[(0, false), (1, true)]),
            deal_companies("2", &[(1, true)]),
            deal_companies("3", &[(2, true)]),
        ]),
    )
    .await;
    let crm = format!(
        "[[crm]]\nid = \"hs\"\nkind = \"hubspot\"\nurl = \"{}\"\ntoken = {{ file = \"token.txt\" }}\nid_prefix = \"c\"\nkey_field = \"tier\"\nkey_values = [\"key\"]\n",
        server.uri()
    );
    let got = tokio::task::spawn_blocking(move || meetings_and_report(&scenario(&crm)))
        .await
        .unwrap();
    let want = tokio::task::spawn_blocking(|| {
        meetings_and_report(&scenario(
            "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n",
        ))
    })
    .await
    .unwrap();
    assert!(want.contains("c1"), "{want}");
    assert_same(&got, &want);
}

/// Equal texts, or a panic showing the first lines that differ.
fn assert_same(got: &str, want: &str) {
    if got == want {
        return;
    }
    let differing: Vec<String> = got
        .lines()
        .zip(want.lines())
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .take(5)
        .map(|(i, (g, w))| format!("line {}:\n  hubspot: {g}\n  csv:     {w}", i + 1))
        .collect();
    panic!(
        "HubSpot and CSV differ ({} vs {} lines):\n{}",
        got.lines().count(),
        want.lines().count(),
        differing.join("\n")
    );
}
