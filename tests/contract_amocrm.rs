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
//! application/problem+json.

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
