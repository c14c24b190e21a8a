//! amoCRM against a contract server: a fake account answering the API v4
//! list methods the connector calls as amoCRM documents them (`limit`,
//! `page`, `_links.next.href`, `filter[updated_at][from]`, `filter[id][]`,
//! 204 for an empty list, 429 past 7 requests a second), with records shaped
//! as the provider's API reference shows them (Kommo is amoCRM's
//! international edition, same API v4): companies
//! https://developers.kommo.com/reference/companies-list, contacts
//! https://developers.kommo.com/reference/contacts-list, leads
//! https://developers.kommo.com/reference/leads-list, events
//! https://developers.kommo.com/reference/events-list, custom field values
//! https://developers.kommo.com/reference/custom-fields-values, errors as
//! application/problem+json. The official PHP SDK (amocrm/amocrm-api-php
//! at 1354d8a75b4514a4c52a9c215d79daa3270e3726) reads the same shapes:
//! `src/AmoCRM/Models/LeadModel.php` (`_embedded.companies[0]`,
//! `_embedded.contacts`, `price`, `closed_at`), `Models/ContactModel.php`
//! (`is_main` of a lead's embedded contact), `Models/CompanyModel.php` and
//! `Models/TagModel.php` (`_embedded.tags[]` with `id`, `name`, `color`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::sources::http::{HttpClient, HttpSettings};
use meetledger::sources::{crm_sources_with, CrmFetch, CrmSource, SyncContext};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Default)]
struct Account {
    companies: Vec<Value>,
    contacts: Vec<Value>,
    leads: Vec<Value>,
    events: Vec<Value>,
    /// A broken server: every page answers with the first page's records.
    ignore_page: bool,
    /// A broken server: the leads list answers with this body.
    leads_body: Option<String>,
}

/// A company (companies-list): `custom_fields_values` null or a list of
/// fields with `field_code` and `values[].value`; tags and linked contacts
/// under `_embedded`.
fn company(id: u64, name: &str, web: Option<&str>, contacts: &[u64], updated: i64) -> Value {
    let fields = web.map(|w| json!([{"field_id": 3, "field_name": "Web", "field_code": "WEB", "field_type": "url", "values": [{"value": w}]}]));
    json!({
        "id": id, "name": name, "responsible_user_id": 504141, "group_id": 0,
        "created_by": 504141, "updated_by": 504141, "created_at": 1585299171, "updated_at": updated,
        "closest_task_at": null, "custom_fields_values": fields, "account_id": 28805383,
        "_links": {"self": {"href": format!("https://example.amocrm.ru/api/v4/companies/{id}")}},
        "_embedded": {"tags": [], "contacts": contacts.iter().map(|c| json!({"id": c})).collect::<Vec<_>>()}
    })
}

/// A contact (contacts-list) with an EMAIL multitext field.
fn contact(id: u64, name: &str, email: &str, company: Option<u64>, updated: i64) -> Value {
    json!({
        "id": id, "name": name, "first_name": name, "last_name": "", "responsible_user_id": 504141,
        "group_id": 0, "created_by": 504141, "updated_by": 504141, "created_at": 1582117331,
        "updated_at": updated, "closest_task_at": null, "is_deleted": false, "is_unsorted": false,
        "custom_fields_values": [{"field_id": 3, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
            "values": [{"value": email, "enum_id": 1, "enum_code": "WORK"}]}],
        "account_id": 28805383,
        "_embedded": {"tags": [], "companies": company.iter().map(|c| json!({"id": c})).collect::<Vec<_>>()}
    })
}

/// A lead (leads-list): `status_id` 142 is "successfully realized".
fn lead(id: u64, price: i64, status: u64, company: u64, closed: i64, updated: i64) -> Value {
    json!({
        "id": id, "name": format!("Сделка {id}"), "price": price, "responsible_user_id": 504141,
        "group_id": 0, "status_id": status, "pipeline_id": 3104455, "loss_reason_id": null,
        "created_by": 504141, "updated_by": 504141, "created_at": closed - 86400, "updated_at": updated,
        "closed_at": closed, "closest_task_at": null, "is_deleted": false, "custom_fields_values": null,
        "score": null, "account_id": 28805383,
        "_embedded": {"tags": [], "companies": [{"id": company}], "contacts": []}
    })
}

/// An event (events-list).
fn event(id: &str, kind: &str, entity: u64, entity_type: &str, at: i64) -> Value {
    json!({"id": id, "type": kind, "entity_id": entity, "entity_type": entity_type, "created_by": 504141,
        "created_at": at, "value_after": [], "value_before": [], "account_id": 28805383})
}

#[derive(Clone)]
struct Fake(Arc<Mutex<Account>>, String);

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
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some("Bearer s3cret")
        {
            return ResponseTemplate::new(401).set_body_json(json!({"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401, "detail": "Неверный логин или пароль"}));
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
        let entity = request
            .url
            .path()
            .trim_start_matches("/api/v4/")
            .to_string();
        if entity == "leads" {
            if let Some(body) = &account.leads_body {
                return ResponseTemplate::new(200).set_body_string(body.clone());
            }
        }
        let records = match entity.as_str() {
            "companies" => &account.companies,
            "contacts" => &account.contacts,
            "leads" => &account.leads,
            "events" => &account.events,
            _ => return ResponseTemplate::new(404),
        };
        let ids = all("filter[id][]");
        let from: Option<i64> = one("filter[updated_at][from]").map(|v| v.parse().unwrap());
        let created_from: Option<i64> = one("filter[created_at][from]").map(|v| v.parse().unwrap());
        let types = all("filter[type][]");
        let matching: Vec<Value> = records
            .iter()
            .filter(|r| ids.is_empty() || ids.contains(&r["id"].to_string()))
            .filter(|r| from.is_none_or(|f| r["updated_at"].as_i64().unwrap() >= f))
            .filter(|r| created_from.is_none_or(|f| r["created_at"].as_i64().unwrap() >= f))
            .filter(|r| {
                types.is_empty() || types.contains(&r["type"].as_str().unwrap().to_string())
            })
            .cloned()
            .collect();
        let limit: usize = one("limit").map_or(50, |l| l.parse().unwrap());
        assert!(limit <= 250, "amoCRM lists give at most 250 records");
        let page: usize = one("page").map_or(1, |p| p.parse().unwrap());
        let served = if account.ignore_page { 1 } else { page };
        let items: Vec<Value> = matching
            .iter()
            .skip((served - 1) * limit)
            .take(limit)
            .cloned()
            .collect();
        if items.is_empty() {
            // "If there are no results, 204 No Content is returned".
            return ResponseTemplate::new(204);
        }
        // wiremock sees `http://localhost/…`: links point at the server.
        let mut url = request.url.clone();
        let base = reqwest::Url::parse(&self.1).unwrap();
        url.set_port(base.port()).unwrap();
        url.set_host(base.host_str()).unwrap();
        let mut href = |p: usize| {
            let kept: Vec<(String, String)> =
                query.iter().filter(|(k, _)| k != "page").cloned().collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("page", &p.to_string());
            url.to_string()
        };
        let mut links = json!({"self": {"href": href(page)}});
        if page * limit < matching.len() {
            links["next"] = json!({"href": href(page + 1)});
        }
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/hal+json")
            .set_body_json(json!({"_page": page, "_links": links, "_embedded": {entity: items}}))
    }
}

async fn serve(account: Account) -> (MockServer, Fake) {
    let server = MockServer::start().await;
    let fake = Fake(Arc::new(Mutex::new(account)), server.uri());
    Mock::given(method("GET"))
        .and(path_regex("^/api/v4/"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

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
crm_user = ["504141"]
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
            "{HEAD}\n[[crm]]\nid = \"amo\"\nkind = \"amocrm\"\nurl = \"{}\"\ntoken = {{ file = \"secret.txt\" }}\n{extra}",
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

/// (full?, client ids, order ids, deleted order ids, cursor)
fn read(fetch: CrmFetch) -> (bool, Vec<String>, Vec<String>, Vec<String>, String) {
    match fetch.collected() {
        CrmFetch::Full {
            clients,
            orders,
            cursor,
            ..
        } => (
            true,
            clients.into_iter().map(|c| c.id).collect(),
            orders.into_iter().map(|o| o.id).collect(),
            vec![],
            cursor,
        ),
        CrmFetch::Delta {
            clients,
            orders,
            deleted_orders,
            cursor,
            ..
        } => (
            false,
            clients.into_iter().map(|c| c.id).collect(),
            orders.into_iter().map(|o| o.id).collect(),
            deleted_orders,
            cursor,
        ),
        _ => panic!("unexpected answer"),
    }
}

/// 2026-02-01T09:00:00Z
const T0: i64 = 1_769_936_400;

/// Two companies and 300 won leads (two pages of 250).
fn account() -> Account {
    let mut account = Account {
        companies: vec![
            company(
                1,
                "ООО Ромашка",
                Some("https://www.romashka.example/"),
                &[10],
                T0 - 86400,
            ),
            company(2, "АО Вектор", None, &[], T0 - 86400),
        ],
        contacts: vec![contact(
            10,
            "Пётр",
            "petr@romashka.example",
            Some(1),
            T0 - 86400,
        )],
        ..Account::default()
    };
    for id in 1..=300 {
        account
            .leads
            .push(lead(1000 + id, 100, 142, 1 + id % 2, T0 - 3600, T0 - 3600));
    }
    account
}

#[tokio::test]
async fn pages_a_change_and_a_deletion_between_syncs_hours_apart_and_a_429() {
    let (server, fake) = serve(account()).await;
    // One 429 (amoCRM: "more than 7 requests per second") on the first leads page.
    Mock::given(method("GET"))
        .and(path("/api/v4/leads"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"title": "Too Many Requests", "type": "https://httpstatus.es/429", "status": 429, "detail": "Too Many Requests"})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let setup = setup(&server, "full_sync_hours = 0\n");
    let mut amo = source(&setup);
    let (full, clients, orders, _, cursor) = read(
        amo.fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(full);
    assert_eq!(clients, ["1", "2"]);
    assert_eq!(orders.len(), 300, "two pages of 250");

    // A quiet sync an hour later.
    let (full, clients, orders, _, cursor) = read(
        amo.fetch(Some(&cursor), &ctx(&setup, "2026-02-01T10:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!full && clients.is_empty() && orders.is_empty());

    // At 11:00 lead 1001's price changes and lead 1002 is deleted; the next
    // sync runs at 13:00.
    fake.with(|a| {
        let l = a.leads.iter_mut().find(|l| l["id"] == 1001).unwrap();
        l["price"] = json!(900);
        l["updated_at"] = json!(T0 + 7200);
        a.leads.retain(|l| l["id"] != 1002);
        a.events.push(event(
            "01pz58t6p1vbg",
            "lead_deleted",
            1002,
            "lead",
            T0 + 7200,
        ));
    });
    let (full, _, orders, deleted, _) = read(
        amo.fetch(Some(&cursor), &ctx(&setup, "2026-02-01T13:00:00Z"))
            .await
            .unwrap(),
    );
    assert!(!full);
    assert_eq!(orders, ["1001"]);
    assert_eq!(deleted, ["1002"]);
}

/// Issue 11: a server that ignores `page` answers every page with the first
/// one; the read fails naming the method, and the stored leads are kept.
#[tokio::test]
async fn a_server_repeating_its_first_page_fails_the_sync_and_keeps_what_is_stored() {
    let (server, fake) = serve(account()).await;
    let setup = setup(&server, "");
    let mut store = meetledger::ledger::Store::open(&setup.dir.path().join("ledger.db")).unwrap();
    let first = meetledger::pipeline::sync(&setup.config, &mut store, at("2026-02-01T09:00:00Z"))
        .await
        .unwrap();
    assert!(first.sources[0].result.is_ok());
    assert_eq!(store.orders().unwrap().len(), 300);
    fake.with(|a| a.ignore_page = true);
    let summary = meetledger::pipeline::sync(&setup.config, &mut store, at("2026-02-02T10:00:00Z"))
        .await
        .unwrap();
    let error = summary.sources[0].result.clone().unwrap_err();
    assert!(
        error.contains("amocrm GET /api/v4/leads") && error.contains("identical"),
        "{error}"
    );
    assert_eq!(store.orders().unwrap().len(), 300, "nothing deleted");
}

/// Issue 11: errors name the provider and method, never a query or token.
#[tokio::test]
async fn an_unreadable_answer_names_the_provider_and_method() {
    let mut account = account();
    account.leads_body = Some("{\"_page\": 1, \"_embedded\": ".into());
    let (server, _) = serve(account).await;
    let setup = setup(&server, "");
    let error = source(&setup)
        .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
        .await
        .err()
        .unwrap();
    let error = format!("{error:#}");
    assert!(
        error.starts_with("amocrm GET /api/v4/leads: unreadable JSON at line 1 column"),
        "{error}"
    );
    assert!(
        !error.contains("limit=") && !error.contains("s3cret"),
        "{error}"
    );
}

/// Kommo accounts keep budgets with kopecks/cents: the lead then carries the
/// exact budget as `price_with_minor_units` and `price` truncated to an
/// integer. Shape from the official PHP SDK (amocrm/amocrm-api-php at
/// 1354d8a75b4514a4c52a9c215d79daa3270e3726, commit 21b2f85 "Added price
/// with minor units for leads": `src/AmoCRM/Models/LeadModel.php` reads
/// `price_with_minor_units` before `price`; fixtures in
/// `tests/Cases/Price/LeadPriceTest.php`, e.g. 99999999.999 → `price`
/// 99999999). Without it a lead's budget read as its integer part.
#[tokio::test]
async fn a_budget_with_minor_units_is_read_whole() {
    let mut account = account();
    account.leads.truncate(2);
    account.leads[0]["price"] = json!(19999);
    account.leads[0]["price_with_minor_units"] = json!(19999.99);
    account.leads[1]["price"] = json!(200);
    let (server, _) = serve(account).await;
    let setup = setup(&server, "");
    let fetched = source(&setup)
        .fetch(None, &ctx(&setup, "2026-02-01T09:00:00Z"))
        .await
        .unwrap();
    let CrmFetch::Full { orders, .. } = fetched.collected() else {
        panic!("a first read is a full one");
    };
    let amounts: Vec<(String, f64)> = orders.into_iter().map(|o| (o.id, o.amount)).collect();
    assert_eq!(
        amounts,
        [("1001".to_string(), 19999.99), ("1002".to_string(), 200.0)]
    );
}

// ------------------------------------------------------- CSV vs amoCRM

const NOW: &str = "2026-11-27T18:00:00+03:00";
const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

/// The ledger scenario (tests/common) with `crm` as its [[crm]] block and
/// `clients`/`orders` as the CSV CRM's files; amoCRM user 11 is Ivanov, 12
/// Petrova.
fn scenario(crm: &str, clients: &str, orders: &[&str]) -> common::Company {
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

/// The scenario's company as amoCRM holds it: ООО Ромашка (web site, a
/// contact Борис boss@romashka.ru, tag VIP) with a first and a repeat won
/// lead, АО Вектор (Petrova's, web site only) with an earlier won lead, and
/// ИП Сидоров, known only by his contact's gmail address, whose leads are
/// lost (143) or still open: not orders. Ромашка's leads also name Борис as
/// their main contact, so a lead credited to its contact instead of its
/// company shows. ИП Сидоров is on the second page of companies (250 a
/// page), after 250 others; the clients and orders of the CSV are what
/// amoCRM holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_gives_the_same_meetings_and_report_as_csv() {
    let moscow = |local: &str| at(&format!("{local}+03:00")).timestamp();
    let updated = moscow("2026-11-01T10:00:00");
    let managed = |mut record: Value, user: u64| {
        record["responsible_user_id"] = json!(user);
        record
    };
    let mut romashka = managed(
        company(
            1,
            "ООО Ромашка",
            Some("https://www.romashka.ru/"),
            &[101],
            updated,
        ),
        11,
    );
    romashka["_embedded"]["tags"] = json!([{"id": 36101, "name": "VIP", "color": null}]);
    let mut companies = vec![
        romashka,
        managed(
            company(2, "АО Вектор", Some("vector.example"), &[], updated),
            12,
        ),
    ];
    for id in 1000..1250 {
        companies.push(managed(
            company(id, &format!("Компания {id}"), None, &[], updated),
            11,
        ));
    }
    companies.push(managed(company(3, "ИП Сидоров", None, &[301], updated), 11));
    let contacts = vec![
        managed(
            contact(101, "Борис", "boss@romashka.ru", Some(1), updated),
            11,
        ),
        managed(
            contact(301, "Пётр Сидоров", "sidorov@gmail.com", Some(3), updated),
            11,
        ),
    ];
    // (id, price, status, company, main contact, closed at in Moscow):
    // 142 won, 143 lost, 3104455 a stage of the pipeline (still open).
    let leads = [
        (7001, 100000, 142, 1, Some(101), Some("2026-09-20T00:00:00")),
        (7002, 50000, 142, 1, Some(101), Some("2026-10-15T12:00:00")),
        (7003, 70000, 142, 2, None, Some("2026-08-01T00:00:00")),
        (7004, 40000, 143, 3, Some(301), Some("2026-10-20T12:00:00")),
        (7005, 30000, 3104455, 3, Some(301), None),
    ]
    .into_iter()
    .map(|(id, price, status, firm, person, closed)| {
        let user = if firm == 2 { 12 } else { 11 };
        let closed_at = closed.map_or(updated, moscow);
        let mut l = managed(lead(id, price, status, firm, closed_at, updated), user);
        l["closed_at"] = json!(closed.map(moscow));
        // leads-list `with=contacts`: each linked contact with `is_main`.
        l["_embedded"]["contacts"] = json!(person
            .iter()
            .map(|p| json!({"id": p, "is_main": true, "_links": {"self": {"href": format!("https://example.amocrm.ru/api/v4/contacts/{p}")}}}))
            .collect::<Vec<_>>());
        l
    })
    .collect();
    let (server, _) = serve(Account {
        companies,
        contacts,
        leads,
        ..Account::default()
    })
    .await;
    let clients = "id,name,domains,emails,manager,key
1,ООО Ромашка,romashka.ru,boss@romashka.ru,ivanov,yes
2,АО Вектор,vector.example,,petrova,no
3,ИП Сидоров,,sidorov@gmail.com,ivanov,no
";
    let orders = [
        "7001,1,2026-09-20,100000,RUB,142,ivanov",
        "7002,1,2026-10-15T12:00:00+03:00,50000,RUB,142,ivanov",
        "7003,2,2026-08-01,70000,RUB,142,petrova",
    ];
    let crm = format!(
        "[[crm]]\nid = \"amo\"\nkind = \"amocrm\"\nurl = \"{}\"\ntoken = {{ file = \"secret.txt\" }}\nkey_tags = [\"VIP\"]\n",
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
        .map(|(i, (g, w))| format!("line {}:\n  amocrm: {g}\n  csv:    {w}", i + 1))
        .collect();
    panic!(
        "amoCRM and CSV differ ({} vs {} lines):\n{}",
        got.lines().count(),
        want.lines().count(),
        differing.join("\n")
    );
}
