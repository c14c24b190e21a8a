//! The generic `rest` connector against a contract server: an in-house API
//! described only by the `[crm.rest]` mapping (no provider documentation
//! exists beyond that mapping, so the server honours exactly what the
//! config says: `changed_since`, `page`/`per_page`, records under `data`,
//! a `deleted` flag). Several pages, a quiet sync, a change and a deletion
//! between syncs hours apart, a 429, a server that ignores `page`, and an
//! unreadable answer. Last, the same small company read through the CSV
//! CRM and through such an API gives the same meetings and report.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::sources::http::{HttpClient, HttpSettings};
use meetledger::sources::{crm_sources_with, CrmFetch, CrmSource, SyncContext};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Default)]
struct Api {
    clients: Vec<Value>,
    orders: Vec<Value>,
    /// A broken server: it ignores its query, answering every page with
    /// the first page of everything.
    ignore_page: bool,
    orders_body: Option<String>,
}

#[derive(Clone)]
struct Fake(Arc<Mutex<Api>>);

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let api = self.0.lock().unwrap();
        assert_eq!(
            request.headers.get("x-token").and_then(|v| v.to_str().ok()),
            Some("s3cret")
        );
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let one = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let records = match request.url.path() {
            "/clients" => &api.clients,
            "/orders" => {
                if let Some(body) = &api.orders_body {
                    return ResponseTemplate::new(200).set_body_string(body.clone());
                }
                &api.orders
            }
            _ => return ResponseTemplate::new(404),
        };
        let since = one("changed_since").unwrap();
        let matching: Vec<&Value> = records
            .iter()
            .filter(|r| api.ignore_page || r["updated_at"].as_str().unwrap() >= since.as_str())
            .collect();
        let size: usize = one("per_page").unwrap().parse().unwrap();
        let page: usize = one("page").unwrap().parse().unwrap();
        let served = if api.ignore_page { 1 } else { page };
        let items: Vec<&Value> = matching
            .into_iter()
            .skip((served - 1) * size)
            .take(size)
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "data": items }))
    }
}

fn client(id: u64, name: &str, email: &str, updated: &str) -> Value {
    json!({"id": id, "name": name, "email": email, "updated_at": updated, "deleted": false})
}

fn order(id: u64, client: u64, amount: f64, updated: &str) -> Value {
    json!({"id": format!("o{id}"), "client": client, "date": "2026-01-10T10:00:00+03:00", "sum": amount, "updated_at": updated, "deleted": false})
}

async fn serve(api: Api) -> (MockServer, Arc<Mutex<Api>>) {
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(api));
    Mock::given(method("GET"))
        .respond_with(Fake(state.clone()))
        .mount(&server)
        .await;
    (server, state)
}

/// Five clients and seven orders: three and four pages of two.
fn api() -> Api {
    Api {
        clients: (1..=5)
            .map(|i| {
                client(
                    i,
                    &format!("Клиент {i}"),
                    &format!("info@client{i}.example"),
                    "2026-01-01T00:00:00Z",
                )
            })
            .collect(),
        orders: (1..=7)
            .map(|i| order(i, 1 + i % 5, 100.0, "2026-01-01T00:00:00Z"))
            .collect(),
        ..Api::default()
    }
}

struct Setup {
    dir: tempfile::TempDir,
    config: Config,
}

fn setup(server: &MockServer) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "s3cret\n").unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"

[ledger]
path = "ledger.db"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"

[[crm]]
id = "erp"
kind = "rest"
url = "{}"
token = {{ file = "secret.txt" }}
full_sync_hours = 0

[crm.rest]
auth_header = "X-Token"
auth_prefix = ""

[crm.rest.clients]
url = "{{base}}/clients?changed_since={{since}}"
items = "data"
pagination = {{ style = "page", param = "page", size_param = "per_page", size = 2 }}
fields = {{ id = "id", name = "name", emails = "email", deleted = "deleted" }}

[crm.rest.orders]
url = "{{base}}/orders?changed_since={{since}}"
items = "data"
pagination = {{ style = "page", param = "page", size_param = "per_page", size = 2 }}
fields = {{ id = "id", client_id = "client", created_at = "date", amount = "sum", deleted = "deleted" }}
"#,
            server.uri()
        ),
    )
    .unwrap();
    let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    Setup { dir, config }
}

fn fast() -> HttpClient {
    HttpClient::new(HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        default_rate: 1000.0,
        ..HttpSettings::default()
    })
    .unwrap()
}

fn at(now: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(now)
        .unwrap()
        .with_timezone(&Utc)
}

fn source(setup: &Setup) -> Box<dyn CrmSource> {
    crm_sources_with(&setup.config, &fast()).remove(0)
}

fn ctx(setup: &Setup, now: &str) -> SyncContext {
    SyncContext::new(&setup.config, at(now))
}

/// (full?, order ids, deleted order ids, cursor)
fn read(fetch: CrmFetch) -> (bool, Vec<String>, Vec<String>, String) {
    match fetch.collected() {
        CrmFetch::Full { orders, cursor, .. } => (
            true,
            orders.into_iter().map(|o| o.id).collect(),
            vec![],
            cursor,
        ),
        CrmFetch::Delta {
            orders,
            deleted_orders,
            cursor,
            ..
        } => (
            false,
            orders.into_iter().map(|o| o.id).collect(),
            deleted_orders,
            cursor,
        ),
        _ => panic!("unexpected answer"),
    }
}

#[tokio::test]
async fn pages_a_429_and_a_change_and_a_deletion_between_syncs_hours_apart() {
    let (server, state) = serve(api()).await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let setup = setup(&server);
    let mut erp = source(&setup);
    let (full, orders, _, cursor) = read(
        erp.fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(full);
    assert_eq!(orders.len(), 7, "four pages");
    let (full, orders, _, cursor) = read(
        erp.fetch(Some(&cursor), &ctx(&setup, "2026-02-01T10:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!full && orders.is_empty(), "a quiet sync");
    {
        let mut api = state.lock().unwrap();
        api.orders[0]["sum"] = json!(900.0);
        api.orders[0]["updated_at"] = json!("2026-02-01T11:00:00Z");
        api.orders[1]["deleted"] = json!(true);
        api.orders[1]["updated_at"] = json!("2026-02-01T11:30:00Z");
    }
    let (full, orders, deleted, _) = read(
        erp.fetch(Some(&cursor), &ctx(&setup, "2026-02-01T13:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!full);
    assert_eq!(orders, ["o1"]);
    assert_eq!(deleted, ["o2"]);
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "changed_since")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(
        asked.last().unwrap(),
        "2026-02-01T09:50:00Z",
        "from the last sync minus the overlap"
    );
}

/// Issue 11: an API that ignores its query answers full pages for ever; before
/// the guard, a full read sent 10 000 requests. The read stops at the
/// second page, names the endpoint, and the stored orders are kept.
#[tokio::test]
async fn an_api_ignoring_the_page_fails_at_once_and_keeps_what_is_stored() {
    let (server, state) = serve(api()).await;
    let setup = setup(&server);
    let mut store = meetledger::ledger::Store::open(&setup.dir.path().join("ledger.db")).unwrap();
    let first = meetledger::pipeline::sync(&setup.config, &mut store, at("2026-02-01T09:00:00Z"))
        .await
        .unwrap();
    assert!(first.sources[0].result.is_ok());
    assert_eq!(store.orders().unwrap().len(), 7);
    state.lock().unwrap().ignore_page = true;
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(Fake(state.clone()))
        .mount(&server)
        .await;
    let summary = meetledger::pipeline::sync(&setup.config, &mut store, at("2026-02-01T10:00:00Z"))
        .await
        .unwrap();
    let error = summary.sources[0].result.clone().unwrap_err();
    assert!(
        error.contains("rest erp GET /clients") && error.contains("identical"),
        "{error}"
    );
    assert!(!error.contains("changed_since"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(store.orders().unwrap().len(), 7, "nothing deleted");
}

/// Issue 11: errors name the connector, method and path: never the query.
#[tokio::test]
async fn an_unreadable_answer_names_the_endpoint() {
    let (server, state) = serve(api()).await;
    state.lock().unwrap().orders_body = Some("<html>502 Bad Gateway</html>".into());
    let setup = setup(&server);
    let error = source(&setup)
        .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
        .await
        .err()
        .unwrap();
    let error = format!("{error:#}");
    assert!(
        error.starts_with("rest erp GET /orders: unreadable JSON at line 1 column 1"),
        "{error}"
    );
    assert!(
        !error.contains("changed_since") && !error.contains("s3cret"),
        "{error}"
    );
}

// ------------------------------------------------------- CSV vs REST

const NOW: &str = "2026-11-27T18:00:00+03:00";
const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

/// The ledger scenario (tests/common) with `crm` as its [[crm]] block and
/// `clients`/`orders` as the CSV CRM's files.
fn scenario(crm: &str, clients: &str, orders: &[&str]) -> common::Company {
    let company = common::Company::new("");
    let head = &common::CONFIG_HEAD[..common::CONFIG_HEAD.find("[[crm]]").unwrap()];
    company.write("meetledger.toml", &format!("{head}\n{crm}"));
    company.write("secret.txt", "s3cret\n");
    company.write("calendars/ivanov.ics", &common::scenario_calendar());
    company.write("crm/clients.csv", clients);
    company.orders(orders);
    company
}

/// `meetings` (jsonl) and `report` (json) of every scenario month, after
/// one `run --once`.
fn meetings_and_report(company: &common::Company) -> String {
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

/// The scenario's company as an in-house ERP serves it, in its own shapes
/// reached by dot paths: a client's web site, contact emails under
/// `contacts.emails`, account manager by email, key-account flag under
/// `segment`; an order's client under `customer.id`, amount and currency
/// under `total` (the amount as a string), a `returned` order flagged
/// `is_cancelled`, and a deleted one. Pages of two. The CSV holds what the
/// ERP holds: ИП Сидоров's cancelled order stays, his deleted one is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_gives_the_same_meetings_and_report_as_csv() {
    let updated = "2026-11-01T10:00:00Z";
    let firm =
        |id: u64, name: &str, site: Option<&str>, emails: &[&str], manager: &str, key: bool| {
            json!({"id": id, "name": name, "site": site, "contacts": {"emails": emails},
            "account_manager": {"email": manager}, "segment": {"key_account": key},
            "updated_at": updated, "deleted": false})
        };
    let sale = |number: &str, client: u64, closed: &str, sum: &str, manager: &str| {
        json!({"number": number, "customer": {"id": client}, "closed": closed,
            "total": {"sum": sum, "currency": "RUB"}, "state": "shipped", "is_cancelled": false,
            "manager": {"email": manager}, "updated_at": updated, "deleted": false})
    };
    let ivanov = "ivanov@acme.example";
    let petrova = "petrova@acme.example";
    let mut returned = sale("ЗК-4", 3, "2026-10-20", "40000.00", ivanov);
    returned["state"] = json!("returned");
    returned["is_cancelled"] = json!(true);
    let mut deleted = sale("ЗК-5", 3, "2026-10-01", "10000.00", ivanov);
    deleted["deleted"] = json!(true);
    let (server, _) = serve(Api {
        clients: vec![
            firm(
                1,
                "ООО Ромашка",
                Some("https://www.romashka.ru/"),
                &["boss@romashka.ru"],
                ivanov,
                true,
            ),
            firm(2, "АО Вектор", Some("vector.example"), &[], petrova, false),
            firm(3, "ИП Сидоров", None, &["sidorov@gmail.com"], ivanov, false),
        ],
        orders: vec![
            sale("ЗК-1", 1, "2026-09-20", "100000.00", ivanov),
            sale("ЗК-2", 1, "2026-10-15T12:00:00+03:00", "50000.00", ivanov),
            sale("ЗК-3", 2, "2026-08-01", "70000.00", petrova),
            returned,
            deleted,
        ],
        ..Api::default()
    })
    .await;
    let clients = "id,name,domains,emails,manager,key
1,ООО Ромашка,romashka.ru,boss@romashka.ru,ivanov,yes
2,АО Вектор,vector.example,,petrova,no
3,ИП Сидоров,,sidorov@gmail.com,ivanov,no
";
    let orders = [
        "ЗК-1,1,2026-09-20,100000,RUB,shipped,ivanov",
        "ЗК-2,1,2026-10-15T12:00:00+03:00,50000,RUB,shipped,ivanov",
        "ЗК-3,2,2026-08-01,70000,RUB,shipped,petrova",
        "ЗК-4,3,2026-10-20,40000,RUB,cancelled,ivanov",
    ];
    let crm = format!(
        r#"[[crm]]
id = "erp"
kind = "rest"
url = "{}"
token = {{ file = "secret.txt" }}

[crm.rest]
auth_header = "X-Token"
auth_prefix = ""

[crm.rest.clients]
url = "{{base}}/clients?changed_since={{since}}"
items = "data"
pagination = {{ style = "page", param = "page", size_param = "per_page", size = 2 }}
fields = {{ id = "id", name = "name", domains = "site", emails = "contacts.emails", manager = "account_manager.email", key = "segment.key_account", deleted = "deleted" }}

[crm.rest.orders]
url = "{{base}}/orders?changed_since={{since}}"
items = "data"
pagination = {{ style = "page", param = "page", size_param = "per_page", size = 2 }}
fields = {{ id = "number", client_id = "customer.id", created_at = "closed", amount = "total.sum", currency = "total.currency", status = "state", cancelled = "is_cancelled", manager = "manager.email", deleted = "deleted" }}
"#,
        server.uri()
    );
    let got =
        tokio::task::spawn_blocking(move || meetings_and_report(&scenario(&crm, clients, &orders)))
            .await
            .unwrap();
    let want = tokio::task::spawn_blocking(move || {
        meetings_and_report(&scenario(
            "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n",
            clients,
            &orders,
        ))
    })
    .await
    .unwrap();
    for client in ["\"client\":\"1\"", "\"client\":\"2\"", "\"client\":\"3\""] {
        assert!(want.contains(client), "{client} in {want}");
    }
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
        .map(|(i, (g, w))| format!("line {}:\n  rest: {g}\n  csv:  {w}", i + 1))
        .collect();
    panic!(
        "REST and CSV differ ({} vs {} lines):\n{}",
        got.lines().count(),
        want.lines().count(),
        differing.join("\n")
    );
}
