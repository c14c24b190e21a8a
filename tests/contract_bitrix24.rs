//! Bitrix24 against a server that answers as Bitrix24 documents its REST API
//! (issue 11): lists are paged by ID (`filter[>ID]`, `order[ID]=ASC`,
//! `start=-1`), a page that repeats fails the sync and keeps the stored
//! orders, later syncs read changes since the last successful sync, a
//! QUERY_LIMIT_EXCEEDED answer is waited out, key accounts follow
//! `key_field`/`key_values`, `check-config` rejects keys a Bitrix24 block
//! does not read; and a small company read through Bitrix24 gives the same
//! `meetings` and `report` as through CSV.
//!
//! Payload shapes (bitrix24/b24restdocs @ 5988ed130d13802764a555edbfe12d0fc81e7d7a):
//! - [DEALS] api-reference/crm/deals/crm-deal-list.md, response example
//!   (tests/fixtures/crm/bitrix24_crm_deal_list.json): `result`, `total`,
//!   `time`; every value a string.
//! - [COMPANIES] api-reference/crm/companies/crm-company-list.md, response
//!   example (`result`, `total`, `time`; multifields as
//!   `{ID, VALUE_TYPE, VALUE, TYPE_ID}`); crm-company-get.md (a company's
//!   `COMPANY_TYPE: "CUSTOMER"`, `DATE_MODIFY` with an offset, a
//!   `UF_CRM_…` field); crm-company-fields.md (`COMPANY_TYPE` is a
//!   `crm_status`, `UF_CRM_64A29A1CD5CC2` a string field).
//! - [HUGE] settings/performance/huge-data.md: sort by ID, `>ID` the last
//!   ID received, `start = -1`, stop at a page of fewer than 50; the answer
//!   then has `total: 0` and no `next`.
//! - [LIMIT] settings/performance/limits.md and _includes/system-errors.md:
//!   HTTP 503 with error `QUERY_LIMIT_EXCEEDED` ("Too many requests"); the
//!   error body is `{error, error_description}` (crm-company-get.md, "Error
//!   Handling").

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{scenario_calendar, Company, CONFIG_HEAD, SCENARIO_ORDERS};
use meetledger::config::Config;
use meetledger::sources::http::{HttpClient, HttpSettings};
use meetledger::sources::{crm_sources_with, CrmFetch, CrmSource, SyncContext};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const HOOK: &str = "/rest/1/abc123/";

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

/// A Bitrix24 `[[crm]]` whose webhook points at `server`, plus `extra` keys.
fn setup(server: &MockServer, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hook.txt"),
        format!("{}{HOOK}\n", server.uri()),
    )
    .unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        format!("{HEAD}\n[[crm]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook = {{ file = \"hook.txt\" }}\n{extra}"),
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

/// A page as a list method answers with `start=-1` [HUGE]: no `next`, a
/// total that was not counted, and the `time` block [DEALS].
fn page(result: Vec<Value>) -> Value {
    json!({
        "result": result,
        "total": 0,
        "time": {
            "start": 1769498859,
            "finish": 1769498859.948139,
            "duration": 0.948138952255249,
            "processing": 0,
            "date_start": "2026-01-27T10:27:39+03:00",
            "date_finish": "2026-01-27T10:27:39+03:00",
            "operating_reset_at": 1769499459,
            "operating": 0.1621239185333252
        }
    })
}

/// A won deal as crm.deal.list returns it [DEALS]: strings throughout.
fn deal(id: u64, company: &str, closed: &str, amount: &str) -> Value {
    json!({
        "ID": id.to_string(),
        "TITLE": format!("Сделка {id}"),
        "TYPE_ID": "SALE",
        "CATEGORY_ID": "0",
        "STAGE_ID": "WON",
        "STAGE_SEMANTIC_ID": "S",
        "OPPORTUNITY": amount,
        "CURRENCY_ID": "RUB",
        "COMPANY_ID": company,
        "CONTACT_ID": null,
        "CLOSEDATE": closed,
        "DATE_CREATE": "2026-01-05T10:00:00+03:00",
        "ASSIGNED_BY_ID": "11"
    })
}

/// A company as crm.company.list returns it [COMPANIES].
fn company(id: u64, title: &str, web: Option<&str>, email: Option<&str>) -> Value {
    let multi = |kind: &str, value: Option<&str>, n: u64| match value {
        Some(v) => {
            json!([{"ID": (n * 10).to_string(), "VALUE_TYPE": "WORK", "VALUE": v, "TYPE_ID": kind}])
        }
        None => json!([]),
    };
    json!({
        "ID": id.to_string(),
        "TITLE": title,
        "COMPANY_TYPE": "CUSTOMER",
        "ASSIGNED_BY_ID": "11",
        "DATE_MODIFY": "2026-01-05T10:00:00+03:00",
        "WEB": multi("WEB", web, id),
        "EMAIL": multi("EMAIL", email, id + 1)
    })
}

/// Answers `method` (e.g. `crm.deal.list`) with `body` when the request
/// pages after ID `after` [HUGE].
async fn page_after(server: &MockServer, list: &str, after: u64, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{HOOK}{list}.json")))
        .and(query_param("filter[>ID]", after.to_string()))
        .and(query_param("start", "-1"))
        .and(query_param("order[ID]", "ASC"))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

async fn always(server: &MockServer, list: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{HOOK}{list}.json")))
        .respond_with(ok(body))
        .mount(server)
        .await;
}

struct Full {
    clients: Vec<meetledger::model::Client>,
    orders: Vec<meetledger::model::Order>,
    cursor: String,
}

fn full(fetch: CrmFetch) -> Full {
    match fetch.collected() {
        CrmFetch::Full {
            clients,
            orders,
            cursor,
            ..
        } => Full {
            clients,
            orders,
            cursor,
        },
        _ => panic!("expected a full read"),
    }
}

async fn requests_to(server: &MockServer, list: &str) -> Vec<Request> {
    let at = format!("{HOOK}{list}.json");
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}

fn query(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

// --------------------------------------------------------- paging by ID

/// 120 won deals: pages after ID 0, 50 and 100, each asked for with
/// `start=-1`, none through `batch` or an offset planned from `total`.
#[tokio::test]
async fn large_lists_are_paged_by_id() {
    let server = MockServer::start().await;
    let deals = |ids: std::ops::RangeInclusive<u64>| {
        page(
            ids.map(|id| deal(id, "1", "2026-01-05T12:00:00+03:00", "100.00"))
                .collect(),
        )
    };
    page_after(&server, "crm.deal.list", 0, deals(1..=50)).await;
    page_after(&server, "crm.deal.list", 50, deals(51..=100)).await;
    page_after(&server, "crm.deal.list", 100, deals(101..=120)).await;
    page_after(
        &server,
        "crm.company.list",
        0,
        page(vec![company(1, "ООО Ромашка", Some("romashka.ru"), None)]),
    )
    .await;
    page_after(&server, "crm.contact.list", 0, page(vec![])).await;
    let setup = setup(&server, "");
    let read = full(
        source(&setup)
            .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(read.orders.len(), 120);
    let asked = requests_to(&server, "crm.deal.list").await;
    let afters: Vec<String> = asked
        .iter()
        .filter_map(|r| query(r, "filter[>ID]"))
        .collect();
    assert_eq!(afters, ["0", "50", "100"]);
    assert!(asked
        .iter()
        .all(|r| query(r, "start").as_deref() == Some("-1")));
    assert!(requests_to(&server, "batch").await.is_empty());
}

/// The portal answers every page with the same 50 deals (a cache or a
/// proxy ignoring `filter[>ID]`; with the old offsets, `start`): the full
/// read the schedule asks for fails, and the orders stored by the last
/// good sync stay, deal 55 included. The old reader took the repeated page
/// for the whole list and deleted deal 55.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_page_fails_the_sync_and_keeps_the_stored_orders() {
    let server = MockServer::start().await;
    always(
        &server,
        "crm.company.list",
        page(vec![company(1, "ООО Ромашка", Some("romashka.ru"), None)]),
    )
    .await;
    always(&server, "crm.contact.list", page(vec![])).await;
    always(
        &server,
        "crm.deal.list",
        page(
            [1, 2, 55]
                .into_iter()
                .map(|id| deal(id, "1", "2026-01-05T12:00:00+03:00", "100.00"))
                .collect(),
        ),
    )
    .await;
    let books = tokio::task::spawn_blocking({
        let uri = server.uri();
        move || {
            let books = with_crm(
                "[[crm]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook = { file = \"hook.txt\" }\n",
            );
            books.write("hook.txt", &format!("{uri}{HOOK}\n"));
            books.run("2026-01-06T12:00:00Z", &["sync"]);
            books
        }
    })
    .await
    .unwrap();

    // A day later the scheduled full read meets a portal repeating a page.
    server.reset().await;
    always(
        &server,
        "crm.company.list",
        page(vec![company(1, "ООО Ромашка", Some("romashka.ru"), None)]),
    )
    .await;
    always(&server, "crm.contact.list", page(vec![])).await;
    let mut repeated = page(
        (1..=50)
            .map(|id| deal(id, "1", "2026-01-05T12:00:00+03:00", "100.00"))
            .collect(),
    );
    repeated["next"] = json!(50);
    repeated["total"] = json!(60);
    always(&server, "crm.deal.list", repeated.clone()).await;
    // What the old reader asked `batch` for: the same page under every key.
    always(
        &server,
        "batch",
        json!({"result": {"result": {"p50": repeated["result"]}, "result_error": [], "result_total": {"p50": 60}, "result_next": []}}),
    )
    .await;
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = books
            .ok("2026-01-06T12:00:00Z", &["status", "--format", "json"])
            .json();
        books.run("2026-01-07T13:00:00Z", &["sync"]);
        let second = books
            .ok("2026-01-07T13:00:00Z", &["status", "--format", "json"])
            .json();
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(first["counts"]["orders"], 3, "{first}");
    assert_eq!(second["counts"]["orders"], 3, "nothing deleted: {second}");
    let b24 = second["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "b24")
        .unwrap();
    let error = b24["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Bitrix24 crm.deal.list") && error.contains("IDs must grow"),
        "{second}"
    );
}

// ------------------------------------------- changes, deletions, rate limit

/// A full read, a quiet sync, then one that finds deal 37 grown and deal
/// 38 lost between them: each later sync filters `>DATE_MODIFY` from the
/// previous successful sync minus the 10-minute overlap, in the account's
/// zone.
#[tokio::test]
async fn changes_between_syncs_are_read_from_the_last_successful_sync() {
    let server = MockServer::start().await;
    always(
        &server,
        "crm.company.list",
        page(vec![company(1, "ООО Ромашка", Some("romashka.ru"), None)]),
    )
    .await;
    always(&server, "crm.contact.list", page(vec![])).await;
    always(
        &server,
        "crm.deal.list",
        page(vec![
            deal(37, "1", "2026-01-05T12:00:00+03:00", "19999.99"),
            deal(38, "1", "2026-01-05T12:00:00+03:00", "500.00"),
        ]),
    )
    .await;
    let setup = setup(&server, "");
    let mut b24 = source(&setup);
    let first = full(
        b24.fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(first.orders.len(), 2);

    server.reset().await;
    for list in ["crm.company.list", "crm.contact.list", "crm.deal.list"] {
        always(&server, list, page(vec![])).await;
    }
    let quiet = b24
        .fetch(Some(&first.cursor), &ctx(&setup, "2026-01-06T13:00:00Z"))
        .await
        .unwrap();
    let CrmFetch::Delta { cursor, orders, .. } = quiet else {
        panic!("expected a delta")
    };
    assert!(orders.is_empty());
    let since = query(
        &requests_to(&server, "crm.deal.list").await[0],
        "filter[>DATE_MODIFY]",
    );
    assert_eq!(since.as_deref(), Some("2026-01-06T14:50:00+03:00"));

    server.reset().await;
    always(&server, "crm.company.list", page(vec![])).await;
    always(&server, "crm.contact.list", page(vec![])).await;
    let mut lost = deal(38, "1", "2026-01-05T12:00:00+03:00", "500.00");
    lost["STAGE_ID"] = json!("LOSE");
    lost["STAGE_SEMANTIC_ID"] = json!("F");
    always(
        &server,
        "crm.deal.list",
        page(vec![
            deal(37, "1", "2026-01-05T12:00:00+03:00", "25000.00"),
            lost,
        ]),
    )
    .await;
    let CrmFetch::Delta {
        orders,
        deleted_orders,
        ..
    } = b24
        .fetch(Some(&cursor), &ctx(&setup, "2026-01-06T14:00:00Z"))
        .await
        .unwrap()
    else {
        panic!("expected a delta")
    };
    let since = query(
        &requests_to(&server, "crm.deal.list").await[0],
        "filter[>DATE_MODIFY]",
    );
    assert_eq!(
        since.as_deref(),
        Some("2026-01-06T15:50:00+03:00"),
        "from the quiet sync, not from now"
    );
    assert_eq!(
        orders
            .iter()
            .map(|o| (o.id.as_str(), o.amount))
            .collect::<Vec<_>>(),
        [("37", 25000.0)]
    );
    assert_eq!(deleted_orders, ["38"]);
}

/// Bitrix24 keeps no feed of deleted deals: the scheduled full read leaves
/// a deleted deal out, and the store replaces what it holds with it.
#[tokio::test]
async fn a_full_read_leaves_deleted_deals_out() {
    let server = MockServer::start().await;
    always(
        &server,
        "crm.company.list",
        page(vec![company(1, "ООО Ромашка", None, None)]),
    )
    .await;
    always(&server, "crm.contact.list", page(vec![])).await;
    always(
        &server,
        "crm.deal.list",
        page(vec![deal(37, "1", "2026-01-05T12:00:00+03:00", "10.00")]),
    )
    .await;
    let setup = setup(&server, "");
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
        ["37"]
    );
}

/// Bitrix24's rate-limit answer [LIMIT] is retried; the read completes.
#[tokio::test]
async fn query_limit_exceeded_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{HOOK}crm.deal.list.json")))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
        ))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    always(
        &server,
        "crm.company.list",
        page(vec![company(1, "ООО Ромашка", None, None)]),
    )
    .await;
    always(&server, "crm.contact.list", page(vec![])).await;
    always(
        &server,
        "crm.deal.list",
        page(vec![deal(37, "1", "2026-01-05T12:00:00+03:00", "10.00")]),
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
    assert_eq!(requests_to(&server, "crm.deal.list").await.len(), 3);
}

// ------------------------------------------------------------- key accounts

/// `key_field` names a company field, `key_values` the values that mark a
/// key account: `COMPANY_TYPE` [COMPANIES], or a custom string field.
#[tokio::test]
async fn key_accounts_follow_a_company_field() {
    let server = MockServer::start().await;
    let mut vip = company(1, "ООО Ромашка", None, None);
    vip["COMPANY_TYPE"] = json!("VIP");
    vip["UF_CRM_64A29A1CD5CC2"] = json!("");
    let mut plain = company(2, "АО Вектор", None, None);
    plain["UF_CRM_64A29A1CD5CC2"] = json!("Ключевой");
    always(&server, "crm.company.list", page(vec![vip, plain])).await;
    always(&server, "crm.contact.list", page(vec![])).await;
    always(&server, "crm.deal.list", page(vec![])).await;
    let keys = |extra: &str| {
        let setup = setup(&server, extra);
        async move {
            let read = full(
                source(&setup)
                    .fetch(None, &ctx(&setup, "2026-01-06T12:00:00Z"))
                    .await
                    .unwrap(),
            );
            read.clients
                .iter()
                .filter(|c| c.key)
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        keys("key_field = \"COMPANY_TYPE\"\nkey_values = [\"VIP\"]\n").await,
        ["1"]
    );
    let selected: Vec<String> = requests_to(&server, "crm.company.list").await[0]
        .url
        .query_pairs()
        .filter(|(k, _)| k == "select[]")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(
        selected.contains(&"COMPANY_TYPE".to_string()),
        "{selected:?}"
    );
    assert_eq!(
        keys("key_field = \"UF_CRM_64A29A1CD5CC2\"\nkey_values = [\"ключевой\"]\n").await,
        ["2"]
    );
    assert!(keys("").await.is_empty(), "no key_field, no key accounts");
}

// ---------------------------------------------------------- check-config

/// A key that a Bitrix24 block does not read is a mistake `check-config`
/// reports with the file, the line and the key, like any other.
#[test]
fn check_config_rejects_keys_a_bitrix24_block_ignores() {
    let company = with_crm(
        "[[crm]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook = { file = \"hook.txt\" }\nkey_tags = [\"VIP\"]\nurl = \"https://acme.bitrix24.ru\"\nwon_statuses = [\"S\"]\n",
    );
    company.write("hook.txt", "https://acme.bitrix24.ru/rest/1/abc123/\n");
    let run = common::meetledger(&[
        "--config",
        company.config().to_str().unwrap(),
        "check-config",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let text = std::fs::read_to_string(company.config()).unwrap();
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.starts_with(key))
            .map(|i| i + 1)
            .unwrap()
    };
    let config = company.config().display().to_string();
    for (key, says) in [
        ("key_tags", "not read by kind = \"bitrix24\""),
        ("url", "not read by kind = \"bitrix24\""),
    ] {
        let line = format!("{config}:{}: key `crm[0].{key}`: {says}", line_of(key));
        assert!(
            run.stderr.contains(&line),
            "no `{line}` in:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("key_field"),
        "says what marks key accounts here:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("won_statuses"), "{}", run.stderr);
}

// ------------------------------------------------------- CSV vs Bitrix24

const NOW: &str = "2026-11-27T18:00:00+03:00";
const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

/// The ledger scenario (tests/common) with `crm` as its [[crm]] block.
fn with_crm(crm: &str) -> Company {
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

/// The scenario's clients c1..c3 and orders o1..o3 as Bitrix24 serves
/// them: companies over two pages by ID (c3 on the second, after 48 other
/// companies), key account c1 marked by `COMPANY_TYPE = VIP`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrix24_gives_the_same_meetings_and_report_as_csv() {
    let server = MockServer::start().await;
    let mut romashka = company(1, "ООО Ромашка", Some("www.romashka.ru"), None);
    romashka["COMPANY_TYPE"] = json!("VIP");
    let mut vector = company(2, "АО Вектор", Some("https://vector.example/"), None);
    vector["ASSIGNED_BY_ID"] = json!("12");
    let mut first = vec![romashka, vector];
    for id in 4..=51 {
        let mut other = company(id, &format!("Компания {id}"), None, None);
        other["ASSIGNED_BY_ID"] = json!("1");
        first.push(other);
    }
    page_after(&server, "crm.company.list", 0, page(first)).await;
    page_after(
        &server,
        "crm.company.list",
        51,
        page(vec![company(
            52,
            "ИП Сидоров",
            None,
            Some("sidorov@gmail.com"),
        )]),
    )
    .await;
    page_after(&server, "crm.contact.list", 0, page(vec![])).await;
    page_after(
        &server,
        "crm.deal.list",
        0,
        page(vec![
            deal(1, "1", "2026-09-20T00:00:00+03:00", "100000.00"),
            deal(2, "1", "2026-10-15T12:00:00+03:00", "50000.00"),
            deal(3, "2", "2026-08-01T00:00:00+03:00", "70000.00"),
        ]),
    )
    .await;
    let uri = server.uri();
    let got = tokio::task::spawn_blocking(move || {
        let company = with_crm(
            "[[crm]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook = { file = \"hook.txt\" }\nid_prefix = \"c\"\nkey_field = \"COMPANY_TYPE\"\nkey_values = [\"VIP\"]\n",
        );
        company.write("hook.txt", &format!("{uri}{HOOK}\n"));
        // The CSV's c3 is the second page's company 52 here.
        company.write(
            "crm/clients.csv",
            &common::CLIENTS.replace("c3,", "c52,"),
        );
        meetings_and_report(&company)
    })
    .await
    .unwrap();
    let want = tokio::task::spawn_blocking(|| {
        let company = with_crm(
            "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n",
        );
        company.write(
            "crm/clients.csv",
            &common::CLIENTS.replace("c3,", "c52,"),
        );
        meetings_and_report(&company)
    })
    .await
    .unwrap();
    assert!(want.contains("\"client\":\"c52\""), "{want}");
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
        .map(|(i, (g, w))| format!("line {}:\n  bitrix24: {g}\n  csv:      {w}", i + 1))
        .collect();
    panic!(
        "Bitrix24 and CSV differ ({} vs {} lines):\n{}",
        got.lines().count(),
        want.lines().count(),
        differing.join("\n")
    );
}
