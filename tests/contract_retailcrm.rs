//! RetailCRM against a contract server: a fake account that answers the API
//! v5 methods the connector calls as RetailCRM documents them (filters,
//! `page`/`limit` pagination, history by `sinceId` or `startDate`), with
//! records shaped as the official PHP SDK's test fixtures show them
//! (retailcrm/api-client-php at 8946611ce3db5f2c1382b17f377c28a0dce56ddc,
//! tests/src/ResourceGroup/*Test.php; cited next to each shape). Several
//! pages, a change between two syncs, a deletion, RetailCRM's rate-limit
//! answer, corporate customers and their contact persons, broken paging and
//! unreadable answers; and the CSV CRM cross-check through the real binary.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::sources::http::{HttpClient, HttpSettings};
use meetledger::sources::{crm_sources_with, CrmFetch, CrmSource, SyncContext};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// ------------------------------------------------------------ the account

/// What the fake account holds. Times are the account's wall clock
/// (Europe/Moscow), written as RetailCRM writes them: `Y-m-d H:i:s`.
#[derive(Default)]
struct Account {
    customers: Vec<Value>,
    corporate: Vec<Value>,
    /// Corporate customer id → its contact persons (the `contacts` method).
    contacts: BTreeMap<u64, Vec<Value>>,
    /// Corporate customer id → its companies (the `companies` method).
    companies: BTreeMap<u64, Vec<Value>>,
    orders: Vec<Value>,
    /// "orders", "customers", "customers-corporate" → history entries.
    history: BTreeMap<&'static str, Vec<Value>>,
    last_history_id: u64,
    /// A broken server: every page answers with the first page's records.
    ignore_page: bool,
    /// A broken server: the orders list answers with this body.
    orders_body: Option<String>,
}

impl Account {
    /// Appends a history entry of `resource` made at `at` (account time).
    fn change(&mut self, resource: &'static str, at: &str, mut entry: Value) {
        self.last_history_id += 1;
        entry["id"] = json!(self.last_history_id);
        entry["createdAt"] = json!(at);
        self.history.entry(resource).or_default().push(entry);
    }

    fn order_mut(&mut self, id: u64) -> &mut Value {
        self.orders.iter_mut().find(|o| o["id"] == id).unwrap()
    }
}

/// `GET /api/v5/reference/statuses`: statuses keyed by code, each with its
/// group (shape of the SDK's tests/src/ResourceGroup/ReferencesTest.php::testStatuses).
fn statuses() -> Value {
    json!({"success": true, "statuses": {
        "new": {"name": "Новый", "code": "new", "ordering": 10, "group": "new", "active": true},
        "complete": {"name": "Выполнен", "code": "complete", "ordering": 60, "group": "complete", "active": true},
        "cancel-other": {"name": "Отменен", "code": "cancel-other", "ordering": 80, "group": "cancel", "active": true}
    }})
}

/// A customer as `GET /api/v5/customers` lists it (SDK CustomersTest::testList:
/// type, id, externalId, isContact, createdAt, managerId, vip, site — the
/// shop's code —, tags, ordersCount, customFields, names, email).
fn customer(id: u64, name: &str, email: &str, orders: u64, is_contact: bool) -> Value {
    json!({
        "type": "customer", "id": id, "externalId": format!("ext{id}"), "isContact": is_contact,
        "createdAt": "2025-05-27 09:42:45", "managerId": 11, "vip": false, "bad": false,
        "site": "moysklad", "contragent": {"contragentType": "individual"}, "tags": [],
        "marginSumm": 0, "totalSumm": 0, "averageSumm": 0, "ordersCount": orders, "costSumm": 0,
        "customFields": {"galkatrue": true}, "personalDiscount": 0, "cumulativeDiscount": 0,
        "segments": [], "firstName": name, "email": email, "phones": []
    })
}

/// A corporate customer as `GET /api/v5/customers-corporate` lists it (SDK
/// CustomersCorporateTest::testList): no `customerContacts`, only the main
/// contact and the main company; its `site` is the shop's code.
fn corporate(id: u64, name: &str, main_contact: Option<u64>, manager: u64) -> Value {
    let mut record = json!({
        "type": "customer_corporate", "id": id, "nickName": name,
        "mainAddress": {"id": 3553, "name": "Test Address"},
        "createdAt": "2025-02-17 13:28:18", "managerId": manager, "vip": false, "bad": false,
        "site": "aliexpress", "tags": [], "marginSumm": 0, "totalSumm": 0, "averageSumm": 0,
        "ordersCount": 0, "customFields": {"galkatrue": true}, "personalDiscount": 0,
        "mainCompany": {"id": 771, "name": name}
    });
    if let Some(person) = main_contact {
        record["mainCustomerContact"] = json!({"id": 944, "customer": {"id": person}, "companies": [{"id": 160, "company": {"id": 771, "name": name}}]});
    }
    record
}

/// A contact person of a corporate customer as
/// `GET /api/v5/customers-corporate/{id}/contacts` lists it (SDK
/// CustomersCorporateTest::testContacts).
fn contact(link: u64, person: u64) -> Value {
    json!({"isMain": true, "id": link, "customer": {"id": person, "externalId": format!("ext{person}"), "site": "aliexpress"}, "companies": []})
}

/// A company of a corporate customer as
/// `GET /api/v5/customers-corporate/{id}/companies` lists it (SDK
/// CustomersCorporateTest::testCompanies, plus the `site` field of the SDK's
/// Model/Entity/CustomersCorporate/Company: the company's web site).
fn company(id: u64, corporate: u64, name: &str, site: Option<&str>) -> Value {
    let mut record = json!({
        "isMain": true, "id": id,
        "customer": {"site": "aliexpress", "id": corporate, "type": "customer_corporate"},
        "active": true, "name": name, "brand": name, "createdAt": "2025-02-17 14:42:52",
        "contragent": {"contragentType": "legal-entity"},
        "marginSumm": 0, "totalSumm": 0, "averageSumm": 0, "ordersCount": 0, "costSumm": 0,
        "customFields": []
    });
    if let Some(site) = site {
        record["site"] = json!(site);
    }
    record
}

/// An order: RetailCRM's own answer in tests/fixtures/crm/retailcrm_v5_orders_list.json
/// (SDK OrdersTest::testList) with its id, date, status, sum and customer
/// replaced. A corporate order names the corporate customer as `customer`
/// and the person who placed it as `contact`.
fn order(
    id: u64,
    at: &str,
    status: &str,
    sum: f64,
    customer: Value,
    contact: Option<u64>,
) -> Value {
    let mut order = fixture("retailcrm_v5_orders_list.json")["orders"][0].clone();
    order["id"] = json!(id);
    order["slug"] = json!(id);
    order["number"] = json!(format!("{id}A"));
    order["createdAt"] = json!(at);
    order["status"] = json!(status);
    order["summ"] = json!(sum);
    order["totalSumm"] = json!(sum);
    order["customer"] = customer;
    match contact {
        Some(person) => {
            order["contact"] = json!({"type": "customer", "id": person, "isContact": true})
        }
        None => order["contact"] = order["customer"].clone(),
    }
    order
}

fn person_ref(id: u64) -> Value {
    json!({"type": "customer", "id": id})
}

fn company_ref(id: u64) -> Value {
    json!({"type": "customer_corporate", "id": id})
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/crm/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The account behind a wiremock server.
#[derive(Clone)]
struct Fake(Arc<Mutex<Account>>);

impl Fake {
    fn with<R>(&self, f: impl FnOnce(&mut Account) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

impl Respond for Fake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let account = self.0.lock().unwrap();
        if request
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            != Some("s3cret")
        {
            // The error body of RetailCRM (SDK tests/src/Factory/ApiExceptionFactoryTest.php).
            return ResponseTemplate::new(403)
                .set_body_json(json!({"success": false, "errorMsg": "Wrong \"apiKey\" value."}));
        }
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let all = |name: &str| -> Vec<String> {
            query
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let one = |name: &str| all(name).into_iter().next();
        let ids = all("filter[ids][]");
        let keep = |records: &[Value]| -> Vec<Value> {
            records
                .iter()
                .filter(|r| ids.is_empty() || ids.contains(&r["id"].to_string()))
                .cloned()
                .collect()
        };
        let route = request.url.path().trim_start_matches("/api/v5/");
        let segments: Vec<&str> = route.split('/').collect();
        let (key, records) = match segments.as_slice() {
            ["reference", "statuses"] => {
                return ResponseTemplate::new(200).set_body_json(statuses())
            }
            ["customers"] => ("customers", keep(&account.customers)),
            ["orders"] => {
                if let Some(body) = &account.orders_body {
                    return ResponseTemplate::new(200).set_body_string(body.clone());
                }
                ("orders", keep(&account.orders))
            }
            ["customers-corporate"] => {
                let contact_ids = all("filter[contactIds][]");
                let records = keep(&account.corporate)
                    .into_iter()
                    .filter(|c| {
                        contact_ids.is_empty()
                            || account
                                .contacts
                                .get(&c["id"].as_u64().unwrap())
                                .is_some_and(|people| {
                                    people.iter().any(|p| {
                                        contact_ids.contains(&p["customer"]["id"].to_string())
                                    })
                                })
                    })
                    .collect();
                ("customersCorporate", records)
            }
            ["customers-corporate", id, part @ ("contacts" | "companies")] => {
                assert_eq!(one("by").as_deref(), Some("id"), "{route}: by=id");
                let id: u64 = id.parse().unwrap();
                let records = if *part == "contacts" {
                    account.contacts.get(&id).cloned().unwrap_or_default()
                } else {
                    account.companies.get(&id).cloned().unwrap_or_default()
                };
                (
                    if *part == "contacts" {
                        "contacts"
                    } else {
                        "companies"
                    },
                    records,
                )
            }
            [resource @ .., "history"] => {
                let resource = resource.join("/");
                let since_id: Option<u64> = one("filter[sinceId]").map(|v| v.parse().unwrap());
                let start = one("filter[startDate]");
                let entries = account
                    .history
                    .iter()
                    .find(|(k, _)| **k == resource)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| since_id.is_none_or(|s| e["id"].as_u64().unwrap() > s))
                    .filter(|e| {
                        start
                            .as_deref()
                            .is_none_or(|s| e["createdAt"].as_str().unwrap() >= s)
                    })
                    .collect();
                ("history", entries)
            }
            _ => {
                return ResponseTemplate::new(404)
                    .set_body_json(json!({"success": false, "errorMsg": "Method not found"}))
            }
        };
        let limit: usize = one("limit").map_or(20, |l| l.parse().unwrap());
        assert!(
            [20, 50, 100].contains(&limit),
            "RetailCRM accepts limit 20, 50 or 100"
        );
        let page: usize = one("page").map_or(1, |p| p.parse().unwrap());
        let pages = records.len().div_ceil(limit).max(1);
        let served = if account.ignore_page { 1 } else { page };
        let items: Vec<Value> = records
            .iter()
            .skip((served - 1) * limit)
            .take(limit)
            .cloned()
            .collect();
        // The pagination block of every list (SDK CustomersTest::testList).
        ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "pagination": {"limit": limit, "totalCount": records.len(), "currentPage": page, "totalPageCount": pages},
            key: items
        }))
    }
}

async fn serve(account: Account) -> (MockServer, Fake) {
    let server = MockServer::start().await;
    let fake = Fake(Arc::new(Mutex::new(account)));
    Mock::given(method("GET"))
        .and(path_regex("^/api/v5/"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

// ------------------------------------------------------------ the company

const HEAD: &str = r#"
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
crm_user = ["11"]
"#;

struct Setup {
    dir: tempfile::TempDir,
    config: Config,
}

fn setup(server: &MockServer, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "s3cret\n").unwrap();
    let file = dir.path().join("meetledger.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}\n[[crm]]\nid = \"retail\"\nkind = \"retailcrm\"\nurl = \"{}\"\napi_key = {{ file = \"secret.txt\" }}\naccount_timezone = \"Europe/Moscow\"\n{extra}",
            server.uri()
        ),
    )
    .unwrap();
    let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    Setup { dir, config }
}

/// Retries in milliseconds, no pacing: tests stay fast.
fn fast() -> HttpClient {
    HttpClient::new(HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        default_rate: 1000.0,
        ..HttpSettings::default()
    })
    .unwrap()
}

fn source(setup: &Setup) -> Box<dyn CrmSource> {
    crm_sources_with(&setup.config, &fast()).remove(0)
}

fn at(now: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(now)
        .unwrap()
        .with_timezone(&Utc)
}

fn ctx(setup: &Setup, now: &str) -> SyncContext {
    SyncContext::new(&setup.config, at(now))
}

struct Read {
    clients: Vec<meetledger::model::Client>,
    orders: Vec<meetledger::model::Order>,
    deleted_clients: Vec<String>,
    deleted_orders: Vec<String>,
    cursor: String,
    full: bool,
}

fn read(fetch: CrmFetch) -> Read {
    match fetch.collected() {
        CrmFetch::Full {
            clients,
            orders,
            cursor,
            ..
        } => Read {
            clients,
            orders,
            deleted_clients: vec![],
            deleted_orders: vec![],
            cursor,
            full: true,
        },
        CrmFetch::Delta {
            clients,
            orders,
            deleted_clients,
            deleted_orders,
            cursor,
            ..
        } => Read {
            clients,
            orders,
            deleted_clients,
            deleted_orders,
            cursor,
            full: false,
        },
        _ => panic!("unexpected answer"),
    }
}

/// Runs the library's sync of every source at `now`, as `sync` does.
async fn sync(
    setup: &Setup,
    store: &mut meetledger::ledger::Store,
    now: &str,
) -> Result<(), String> {
    let summary = meetledger::pipeline::sync(&setup.config, store, at(now))
        .await
        .unwrap();
    summary
        .sources
        .iter()
        .find(|s| s.id == "retail")
        .unwrap()
        .result
        .clone()
        .map(|_| ())
}

fn store(setup: &Setup) -> meetledger::ledger::Store {
    meetledger::ledger::Store::open(&setup.dir.path().join("ledger.db")).unwrap()
}

/// A shop with 130 customers (two pages of 100) and 230 orders (three pages).
fn big_shop() -> Account {
    let mut account = Account::default();
    for id in 1..=130 {
        account.customers.push(customer(
            id,
            &format!("Покупатель {id}"),
            &format!("buyer{id}@mail{id}.example"),
            2,
            false,
        ));
    }
    for id in 1..=230 {
        let customer = 1 + (id % 130);
        account.orders.push(order(
            id,
            "2026-01-10 10:00:00",
            "complete",
            100.0,
            person_ref(customer),
            None,
        ));
    }
    account
}

// ------------------------------------------------------------ the tests

#[tokio::test]
async fn several_pages_then_a_change_and_a_deletion_between_two_syncs() {
    let (server, fake) = serve(big_shop()).await;
    let setup = setup(&server, "");
    let mut retail = source(&setup);
    let first = read(
        retail
            .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(first.full);
    assert_eq!(first.clients.len(), 130, "two pages of customers");
    assert_eq!(first.orders.len(), 230, "three pages of orders");

    // 13:00 and 13:30 Moscow: order 7 cancelled, order 8 deleted (history
    // entries shaped as SDK OrdersTest::testHistory; `deleted` per the SDK's
    // Model/Entity/Orders/OrderHistory).
    fake.with(|a| {
        a.order_mut(7)["status"] = json!("cancel-other");
        let seven = a.order_mut(7).clone();
        a.change("orders", "2026-02-01 13:00:00", json!({"source": "user", "user": {"id": 11}, "field": "status", "oldValue": {"code": "complete"}, "newValue": {"code": "cancel-other"}, "order": seven}));
        a.orders.retain(|o| o["id"] != 8);
        a.change("orders", "2026-02-01 13:30:00", json!({"deleted": true, "source": "user", "user": {"id": 11}, "field": "id", "oldValue": 8, "newValue": null, "order": {"id": 8, "site": "moysklad"}}));
    });
    let second = read(
        retail
            .fetch(Some(&first.cursor), &ctx(&setup, "2026-02-01T11:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!second.full);
    assert_eq!(second.orders.len(), 1);
    assert!(second.orders[0].id == "7" && second.orders[0].cancelled);
    assert_eq!(second.deleted_orders, ["8"]);
    assert!(
        second.cursor.contains(r#""orders":"2""#),
        "{}",
        second.cursor
    );
}

/// Issue 11: a sync that found no history must not move the next start to
/// "now − overlap": a change made between two syncs hours apart is read,
/// with no daily full read to fall back on.
#[tokio::test]
async fn a_change_between_two_syncs_hours_apart_is_read_after_quiet_syncs() {
    let (server, fake) = serve(big_shop()).await;
    let setup = setup(&server, "full_sync_hours = 0\n");
    let mut retail = source(&setup);
    // 12:00 Moscow: the first (full) read; nothing in the history.
    let first = read(
        retail
            .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    // 13:00: a quiet incremental sync.
    let quiet = read(
        retail
            .fetch(Some(&first.cursor), &ctx(&setup, "2026-02-01T10:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!quiet.full && quiet.orders.is_empty());
    // 14:00: order 5 is cancelled; the next sync runs three hours later.
    fake.with(|a| {
        a.order_mut(5)["status"] = json!("cancel-other");
        let five = a.order_mut(5).clone();
        a.change("orders", "2026-02-01 14:00:00", json!({"source": "user", "user": {"id": 11}, "field": "status", "oldValue": {"code": "complete"}, "newValue": {"code": "cancel-other"}, "order": five}));
    });
    let later = read(
        retail
            .fetch(Some(&quiet.cursor), &ctx(&setup, "2026-02-01T13:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(
        !later.full,
        "full_sync_hours = 0: never a scheduled full read"
    );
    let ids: Vec<&str> = later.orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["5"], "the change made between the two syncs");
    assert!(later.orders[0].cancelled);
    // The history was asked from the last sync (13:00 Moscow) minus the
    // 10-minute overlap.
    let starts: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v5/orders/history")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "filter[startDate]")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(starts.last().unwrap(), "2026-02-01 12:50:00");
}

/// Issue 11: a contact person of a corporate customer is that company's
/// person; their email and the company's web site are the corporate
/// client's; one without orders of their own is no client.
#[tokio::test]
async fn a_corporate_customers_contact_persons_and_site_belong_to_it() {
    // 5042: only Romashka's contact person. 5039: its contact who also
    // buys for themself. 5050: an ordinary customer on gmail.
    let mut account = Account {
        customers: vec![
            customer(5042, "Пётр", "petr@romashka.example", 0, true),
            customer(5039, "Анна", "anna@romashka.example", 1, false),
            customer(5050, "Олег", "oleg@gmail.com", 1, false),
        ],
        ..Account::default()
    };
    account.corporate = vec![corporate(5041, "ООО Ромашка", Some(5042), 11)];
    account
        .contacts
        .insert(5041, vec![contact(944, 5042), contact(945, 5039)]);
    account.companies.insert(
        5041,
        vec![company(
            771,
            5041,
            "ООО Ромашка",
            Some("https://www.romashka-shop.example/about"),
        )],
    );
    account.orders = vec![
        // Placed by the contact person for the company.
        order(
            1,
            "2026-01-10 10:00:00",
            "complete",
            500.0,
            company_ref(5041),
            Some(5042),
        ),
        // Anna's own purchase.
        order(
            2,
            "2026-01-11 10:00:00",
            "complete",
            50.0,
            person_ref(5039),
            None,
        ),
        order(
            3,
            "2026-01-12 10:00:00",
            "complete",
            70.0,
            person_ref(5050),
            None,
        ),
    ];
    let (server, fake) = serve(account).await;
    let setup = setup(&server, "");
    let mut retail = source(&setup);
    let full = read(
        retail
            .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    let ids: Vec<&str> = full.clients.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["5039", "5050", "corp-5041"],
        "Пётр is no client of his own"
    );
    let romashka = &full.clients[2];
    assert_eq!(
        romashka.emails,
        ["anna@romashka.example", "petr@romashka.example"]
    );
    assert_eq!(
        romashka.domains,
        ["romashka-shop.example", "romashka.example"]
    );
    assert_eq!(romashka.manager.as_deref(), Some("ivanov"));
    assert!(
        full.clients[0].emails.is_empty(),
        "Anna's email is the company's"
    );
    assert_eq!(
        full.clients[1].domains,
        Vec::<String>::new(),
        "gmail is public; `site` is a shop code"
    );
    let client_of = |id: &str| {
        full.orders
            .iter()
            .find(|o| o.id == id)
            .unwrap()
            .client_id
            .clone()
    };
    assert_eq!(client_of("1"), "corp-5041");
    assert_eq!(client_of("2"), "5039");

    // Later: Пётр's email changes (customer history; shape of SDK
    // CustomersTest::testHistory). The company is read again with it.
    fake.with(|a| {
        let petr = a.customers.iter_mut().find(|c| c["id"] == 5042).unwrap();
        petr["email"] = json!("petr@romashka.example.org");
        a.change("customers", "2026-02-01 12:30:00", json!({"source": "user", "user": {"id": 11}, "field": "email", "oldValue": "petr@romashka.example", "newValue": "petr@romashka.example.org", "customer": {"id": 5042, "externalId": "ext5042", "site": "moysklad"}}));
    });
    let delta = read(
        retail
            .fetch(Some(&full.cursor), &ctx(&setup, "2026-02-01T10:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!delta.full);
    let ids: Vec<&str> = delta.clients.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["5039", "corp-5041"],
        "the company of the changed person, and its contacts"
    );
    assert!(delta.clients[1]
        .emails
        .contains(&"petr@romashka.example.org".to_string()));
    assert_eq!(delta.deleted_clients, ["5042"], "never a client of his own");
}

/// RetailCRM answers 503 when more than its 10 requests a second arrive;
/// the SDK's paginated iterator (doc/usage/examples/complex_pagination/
/// PaginatedRequestIterator.php) waits and asks again. A 429 is handled the
/// same way.
#[tokio::test]
async fn a_rate_limit_answer_is_waited_out() {
    let (server, _) = serve(big_shop()).await;
    for status in [503, 429] {
        Mock::given(method("GET"))
            .and(path("/api/v5/orders"))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(status).set_body_string("Service Unavailable"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    let setup = setup(&server, "");
    let full = read(
        source(&setup)
            .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    assert_eq!(full.orders.len(), 230);
}

/// Issue 11: a server that ignores `page` answers every page with the first
/// one. The read fails, naming the method, and the orders stored before are
/// kept (a "complete" list of 100 would have deleted the other 130).
#[tokio::test]
async fn a_server_repeating_its_first_page_fails_the_sync_and_keeps_what_is_stored() {
    let (server, fake) = serve(big_shop()).await;
    let setup = setup(&server, "full_sync_hours = 1\n");
    let mut ledger = store(&setup);
    sync(&setup, &mut ledger, "2026-02-01T09:00:00Z")
        .await
        .unwrap();
    assert_eq!(ledger.orders().unwrap().len(), 230);

    fake.with(|a| a.ignore_page = true);
    // Two hours later: a scheduled full read.
    let error = sync(&setup, &mut ledger, "2026-02-01T11:00:00Z")
        .await
        .unwrap_err();
    assert!(
        error.contains("retailcrm GET /api/v5/customers") && error.contains("identical"),
        "{error}"
    );
    assert!(!error.contains("s3cret"));
    assert_eq!(ledger.orders().unwrap().len(), 230, "nothing deleted");
    assert_eq!(ledger.clients().unwrap().len(), 130);
}

/// Issue 11: errors name the provider, method and path, not "GET (response)".
#[tokio::test]
async fn an_unreadable_answer_names_the_provider_and_method() {
    let mut account = big_shop();
    account.orders_body = Some("{\"success\": tru".into());
    let (server, _) = serve(account).await;
    let setup = setup(&server, "");
    let error = source(&setup)
        .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
        .await
        .err()
        .unwrap();
    let error = format!("{error:#}");
    assert!(
        error.starts_with("retailcrm GET /api/v5/orders: unreadable JSON at line 1 column"),
        "{error}"
    );
    assert!(
        !error.contains("limit=") && !error.contains("s3cret"),
        "{error}"
    );
}

// ------------------------------------------------------------ CSV cross-check

/// The ledger scenario (tests/common: meetings with boss@romashka.ru in
/// September, info@vector.example in October, sidorov@gmail.com in
/// November) read once from a CSV CRM and once from RetailCRM, where
/// Romashka and Vector are corporate customers: Romashka's meeting guest is
/// its contact person, Vector is known only by its company's web site.
/// Both give the same `meetings` and `report`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_company_through_csv_and_retailcrm_gives_the_same_meetings_and_report() {
    let mut account = Account {
        customers: vec![customer(101, "Борис", "boss@romashka.ru", 0, true), {
            let mut sidorov = customer(3, "Сидоров", "sidorov@gmail.com", 0, false);
            sidorov.as_object_mut().unwrap().remove("firstName");
            sidorov["lastName"] = json!("Сидоров");
            sidorov
        }],
        ..Account::default()
    };
    account.corporate = vec![
        corporate(1, "ООО Ромашка", Some(101), 11),
        corporate(2, "АО Вектор", None, 12),
    ];
    account.corporate[0]["vip"] = json!(true);
    account.contacts.insert(1, vec![contact(944, 101)]);
    account
        .companies
        .insert(1, vec![company(771, 1, "ООО Ромашка", None)]);
    account.companies.insert(
        2,
        vec![company(772, 2, "АО Вектор", Some("http://vector.example"))],
    );
    account.orders = vec![
        order(
            1,
            "2026-09-20 00:00:00",
            "complete",
            100000.0,
            company_ref(1),
            Some(101),
        ),
        order(
            2,
            "2026-10-15 12:00:00",
            "complete",
            50000.0,
            company_ref(1),
            Some(101),
        ),
        order(
            3,
            "2026-08-01 00:00:00",
            "complete",
            70000.0,
            company_ref(2),
            None,
        ),
    ];
    for o in &mut account.orders {
        o["managerId"] = json!(if o["customer"]["id"] == 2 { 12 } else { 11 });
    }
    let (server, _) = serve(account).await;
    let uri = server.uri();
    let csv = "id,name,domains,emails,manager,key
corp-1,ООО Ромашка,romashka.ru,boss@romashka.ru,ivanov,yes
corp-2,АО Вектор,vector.example,,petrova,no
3,Сидоров,,sidorov@gmail.com,ivanov,no
";
    let orders = [
        "1,corp-1,2026-09-20,100000,RUB,complete,ivanov",
        "2,corp-1,2026-10-15T12:00:00+03:00,50000,RUB,complete,ivanov",
        "3,corp-2,2026-08-01,70000,RUB,complete,petrova",
    ];
    let (want, got) = tokio::task::spawn_blocking(move || {
        let by_csv = scenario("[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n", csv, &orders);
        let by_api = scenario(
            &format!("[[crm]]\nid = \"main\"\nkind = \"retailcrm\"\nurl = \"{uri}\"\napi_key = {{ file = \"secret.txt\" }}\naccount_timezone = \"Europe/Moscow\"\n"),
            csv,
            &orders,
        );
        (by_csv, by_api)
    })
    .await
    .unwrap();
    assert!(want.contains("corp-1") && want.contains("corp-2"), "{want}");
    assert_eq!(got, want, "\n--- retailcrm ---\n{got}\n--- csv ---\n{want}");
}

const NOW: &str = "2026-11-27T18:00:00+03:00";

/// `meetings` (jsonl) and `report` (json) of every scenario month.
fn scenario(crm: &str, clients: &str, orders: &[&str]) -> String {
    let company = common::Company::new("");
    let head = common::CONFIG_HEAD
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
    company.write("secret.txt", "s3cret\n");
    company.write("calendars/ivanov.ics", &common::scenario_calendar());
    company.write("crm/clients.csv", clients);
    company.orders(orders);
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(
        !run.stdout.contains("failed"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    let mut out = String::new();
    for period in ["2026-08", "2026-09", "2026-10", "2026-11"] {
        out += &company
            .ok(NOW, &["meetings", "--period", period, "--format", "jsonl"])
            .stdout;
        out += &company
            .ok(NOW, &["report", "--period", period, "--format", "json"])
            .stdout;
    }
    out
}
