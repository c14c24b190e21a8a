//! End to end through the real binary: the ledger scenario (clients c1..c3,
//! orders o1..o3, three meetings) with its CSV CRM replaced by each API
//! connector pointed at a mock server gives the identical
//! `meetings --format jsonl` output.

mod common;

use common::{scenario_calendar, Company, CONFIG_HEAD, SCENARIO_ORDERS};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2026-11-27T18:00:00+03:00";
const PERIODS: [&str; 4] = ["2026-08", "2026-09", "2026-10", "2026-11"];

/// The scenario of tests/ledger_scenarios.rs with `crm` as the [[crm]] block.
fn company(crm: &str) -> Company {
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
    company.write("secret.txt", "s3cret\n");
    company.write("calendars/ivanov.ics", &scenario_calendar());
    company.orders(&SCENARIO_ORDERS);
    company
}

fn meetings(company: &Company) -> String {
    let run = company.ok(NOW, &["run", "--once"]);
    assert!(
        !run.stdout.contains("failed"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    PERIODS
        .iter()
        .map(|p| {
            company
                .ok(NOW, &["meetings", "--period", p, "--format", "jsonl"])
                .stdout
        })
        .collect()
}

fn expected() -> String {
    let out = meetings(&company(
        "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n",
    ));
    assert_eq!(out.lines().count(), 3, "{out}");
    out
}

async fn mount(server: &MockServer, verb: &str, at: &str, body: Value) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

async fn check(crm: String) {
    check_with(crm, None).await
}

/// `secret`: the text of secret.txt when it is not the default token.
async fn check_with(crm: String, secret: Option<String>) {
    let want = tokio::task::spawn_blocking(expected).await.unwrap();
    let got = tokio::task::spawn_blocking(move || {
        let company = company(&crm);
        if let Some(secret) = secret {
            company.write("secret.txt", &secret);
        }
        meetings(&company)
    })
    .await
    .unwrap();
    assert_eq!(got, want, "\n--- connector ---\n{got}\n--- csv ---\n{want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retailcrm_gives_the_same_meetings_as_csv() {
    let server = MockServer::start().await;
    let pagination = json!({"limit": 100, "totalCount": 3, "currentPage": 1, "totalPageCount": 1});
    mount(&server, "GET", "/api/v5/reference/statuses", json!({"success": true, "statuses": {
        "new": {"name": "Новый", "code": "new", "ordering": 10, "group": "new", "active": true},
        "cancel-other": {"name": "Отменен", "code": "cancel-other", "ordering": 80, "group": "cancel", "active": true}
    }})).await;
    mount(&server, "GET", "/api/v5/customers", json!({"success": true, "pagination": pagination, "customers": [
        {"id": 1, "firstName": "ООО Ромашка", "email": "info@romashka.ru", "managerId": 11, "vip": true, "customFields": []},
        {"id": 2, "firstName": "АО Вектор", "email": "sales@vector.example", "managerId": 12, "vip": false, "customFields": {"inn": "7700000000"}},
        {"id": 3, "lastName": "Сидоров", "email": "sidorov@gmail.com", "managerId": 11}
    ]})).await;
    mount(
        &server,
        "GET",
        "/api/v5/customers-corporate",
        json!({"success": true, "pagination": pagination, "customersCorporate": []}),
    )
    .await;
    mount(&server, "GET", "/api/v5/orders", json!({"success": true, "pagination": pagination, "orders": [
        {"id": 1, "createdAt": "2026-09-20 00:00:00", "status": "complete", "totalSumm": 100000, "currency": "RUB", "managerId": 11, "customer": {"type": "customer", "id": 1}},
        {"id": 2, "createdAt": "2026-10-15 12:00:00", "status": "complete", "totalSumm": 50000, "currency": "RUB", "managerId": 11, "customer": {"type": "customer", "id": 1}},
        {"id": 3, "createdAt": "2026-08-01 00:00:00", "status": "new", "totalSumm": 70000, "currency": "RUB", "managerId": 12, "customer": {"type": "customer", "id": 2}}
    ]})).await;
    for history in [
        "/api/v5/customers/history",
        "/api/v5/customers-corporate/history",
        "/api/v5/orders/history",
    ] {
        mount(&server, "GET", history, json!({"success": true, "history": [], "pagination": {"currentPage": 1, "totalPageCount": 1}})).await;
    }
    check(format!(
        "[[crm]]\nid = \"retail\"\nkind = \"retailcrm\"\nurl = \"{}\"\napi_key = {{ file = \"secret.txt\" }}\nid_prefix = \"c\"\naccount_timezone = \"Europe/Moscow\"\n",
        server.uri()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_gives_the_same_meetings_as_csv() {
    let server = MockServer::start().await;
    let web = |site: &str| json!([{"field_id": 5, "field_name": "Web", "field_code": "WEB", "field_type": "url", "values": [{"value": site}]}]);
    mount(&server, "GET", "/api/v4/companies", json!({"_page": 1, "_links": {"self": {"href": format!("{}/api/v4/companies?page=1", server.uri())}}, "_embedded": {"companies": [
        {"id": 1, "name": "ООО Ромашка", "responsible_user_id": 11, "custom_fields_values": web("https://romashka.ru"), "_embedded": {"tags": [{"id": 1, "name": "key"}]}},
        {"id": 2, "name": "АО Вектор", "responsible_user_id": 12, "custom_fields_values": web("vector.example"), "_embedded": {"tags": []}},
        {"id": 3, "name": "ИП Сидоров", "responsible_user_id": 11, "custom_fields_values": [{"field_id": 6, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext", "values": [{"value": "sidorov@gmail.com", "enum_code": "WORK"}]}], "_embedded": {"tags": []}}
    ]}})).await;
    Mock::given(method("GET"))
        .and(path("/api/v4/contacts"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let lead = |id: u64, company: u64, at: &str, price: u64| {
        let closed = chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .timestamp();
        json!({"id": id, "name": format!("Сделка {id}"), "price": price, "status_id": 142, "pipeline_id": 1, "responsible_user_id": 11, "created_at": closed - 86400, "updated_at": closed, "closed_at": closed, "_embedded": {"companies": [{"id": company}]}})
    };
    mount(
        &server,
        "GET",
        "/api/v4/leads",
        json!({"_page": 1, "_links": {}, "_embedded": {"leads": [
            lead(1, 1, "2026-09-20T00:00:00+03:00", 100000),
            lead(2, 1, "2026-10-15T12:00:00+03:00", 50000),
            lead(3, 2, "2026-08-01T00:00:00+03:00", 70000)
        ]}}),
    )
    .await;
    check(format!(
        "[[crm]]\nid = \"amo\"\nkind = \"amocrm\"\nurl = \"{}\"\ntoken = {{ file = \"secret.txt\" }}\nid_prefix = \"c\"\nkey_tags = [\"key\"]\n",
        server.uri()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrix24_gives_the_same_meetings_as_csv() {
    let server = MockServer::start().await;
    let hook = "/rest/1/abc123/";
    mount(&server, "GET", &format!("{hook}crm.company.list.json"), json!({"result": [
        {"ID": "1", "TITLE": "ООО Ромашка", "ASSIGNED_BY_ID": "11", "WEB": [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "www.romashka.ru", "TYPE_ID": "WEB"}], "EMAIL": []},
        {"ID": "2", "TITLE": "АО Вектор", "ASSIGNED_BY_ID": "12", "WEB": [{"ID": "2", "VALUE_TYPE": "WORK", "VALUE": "https://vector.example/", "TYPE_ID": "WEB"}]},
        {"ID": "3", "TITLE": "ИП Сидоров", "ASSIGNED_BY_ID": "11", "EMAIL": [{"ID": "3", "VALUE_TYPE": "WORK", "VALUE": "sidorov@gmail.com", "TYPE_ID": "EMAIL"}]}
    ], "total": 3, "time": {"start": 1.0, "finish": 1.1}})).await;
    mount(
        &server,
        "GET",
        &format!("{hook}crm.contact.list.json"),
        json!({"result": [], "total": 0}),
    )
    .await;
    let deal = |id: &str, company: &str, at: &str, amount: &str| json!({"ID": id, "TITLE": "Deal", "COMPANY_ID": company, "CONTACT_ID": null, "CLOSEDATE": at, "OPPORTUNITY": amount, "CURRENCY_ID": "RUB", "STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "ASSIGNED_BY_ID": "11"});
    mount(
        &server,
        "GET",
        &format!("{hook}crm.deal.list.json"),
        json!({"result": [
        deal("1", "1", "2026-09-20T00:00:00+03:00", "100000.00"),
        deal("2", "1", "2026-10-15T12:00:00+03:00", "50000.00"),
        deal("3", "2", "2026-08-01T00:00:00+03:00", "70000.00")
    ], "total": 3}),
    )
    .await;
    check_with(
        "[[crm]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook = { file = \"secret.txt\" }\nid_prefix = \"c\"\n".into(),
        Some(format!("{}{hook}\n", server.uri())),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_gives_the_same_meetings_as_csv() {
    let server = MockServer::start().await;
    let object = |id: &str, props: Value| json!({"id": id, "properties": props, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-02T00:00:00Z", "archived": false});
    mount(&server, "GET", "/crm/v3/objects/companies", json!({"results": [
        object("1", json!({"name": "ООО Ромашка", "domain": "romashka.ru", "hubspot_owner_id": "11", "hs_is_target_account": "true"})),
        object("2", json!({"name": "АО Вектор", "domain": "vector.example", "hubspot_owner_id": "12"})),
        object("3", json!({"name": "ИП Сидоров", "domain": null, "hubspot_owner_id": "11"}))
    ]})).await;
    mount(&server, "GET", "/crm/v3/objects/contacts", json!({"results": [
        object("301", json!({"email": "sidorov@gmail.com", "firstname": "Пётр", "lastname": "Сидоров", "associatedcompanyid": "3"}))
    ]})).await;
    let deal = |id: &str, at: &str, amount: &str| {
        object(
            id,
            json!({"dealname": "Deal", "amount": amount, "closedate": at, "dealstage": "closedwon", "deal_currency_code": "RUB", "hubspot_owner_id": "11"}),
        )
    };
    mount(
        &server,
        "GET",
        "/crm/v3/objects/deals",
        json!({"results": [
            deal("1", "2026-09-19T21:00:00Z", "100000"),
            deal("2", "2026-10-15T09:00:00.000Z", "50000"),
            deal("3", "2026-07-31T21:00:00Z", "70000")
        ]}),
    )
    .await;
    let link = |from: &str, to: u64| json!({"from": {"id": from}, "to": [{"toObjectId": to, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}]}]});
    mount(&server, "POST", "/crm/v4/associations/deals/companies/batch/read", json!({"status": "COMPLETE", "results": [link("1", 1), link("2", 1), link("3", 2)], "startedAt": "2026-11-27T15:00:00Z", "completedAt": "2026-11-27T15:00:01Z"})).await;
    check(format!(
        "[[crm]]\nid = \"hs\"\nkind = \"hubspot\"\nurl = \"{}\"\ntoken = {{ file = \"secret.txt\" }}\nid_prefix = \"c\"\n",
        server.uri()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_api_gives_the_same_meetings_as_csv() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/v1/clients", json!({"data": [
        {"code": "c1", "title": "ООО Ромашка", "web": {"domains": ["romashka.ru"]}, "owner": {"email": "ivanov@acme.example"}, "key": true},
        {"code": "c2", "title": "АО Вектор", "web": {"domains": ["vector.example"]}, "owner": {"email": "petrova@acme.example"}},
        {"code": "c3", "title": "ИП Сидоров", "contacts": [{"email": "sidorov@gmail.com"}], "owner": {"email": "ivanov@acme.example"}}
    ]})).await;
    mount(&server, "GET", "/v1/orders", json!({"data": [
        {"number": "o1", "buyer": {"code": "c1"}, "date": "2026-09-20", "total": {"value": "100000", "currency": "RUB"}},
        {"number": "o2", "buyer": {"code": "c1"}, "date": "2026-10-15T12:00:00+03:00", "total": {"value": 50000, "currency": "RUB"}},
        {"number": "o3", "buyer": {"code": "c2"}, "date": "2026-08-01", "total": {"value": 70000, "currency": "RUB"}}
    ]})).await;
    check(format!(
        r#"[[crm]]
id = "erp"
kind = "rest"
url = "{}"
token = {{ file = "secret.txt" }}

[crm.rest.clients]
url = "{{base}}/v1/clients"
items = "data"
fields = {{ id = "code", name = "title", domains = "web.domains", emails = "contacts[0].email", manager = "owner.email", key = "key" }}

[crm.rest.orders]
url = "{{base}}/v1/orders"
items = "data"
fields = {{ id = "number", client_id = "buyer.code", created_at = "date", amount = "total.value", currency = "total.currency" }}
"#,
        server.uri()
    ))
    .await;
}

/// The second sync of an incremental connector stores a Delta: a changed
/// (cancelled) order, a new one and a deleted one end exactly where a CSV
/// export with the same final orders ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_stores_changes_and_deletions_like_a_full_export() {
    let server = MockServer::start().await;
    let clients = json!({"data": [
        {"code": "c1", "title": "ООО Ромашка", "domains": ["romashka.ru"], "owner": "ivanov@acme.example", "key": true},
        {"code": "c2", "title": "АО Вектор", "domains": ["vector.example"], "owner": "petrova@acme.example"},
        {"code": "c3", "title": "ИП Сидоров", "emails": ["sidorov@gmail.com"], "owner": "ivanov@acme.example"}
    ]});
    mount(&server, "GET", "/v1/clients", clients).await;
    mount(
        &server,
        "GET",
        "/v1/orders",
        json!({"data": [
            {"number": "o1", "buyer": "c1", "date": "2026-09-20", "total": 100000},
            {"number": "o2", "buyer": "c1", "date": "2026-10-15T12:00:00+03:00", "total": 50000},
            {"number": "o3", "buyer": "c2", "date": "2026-08-01", "total": 70000}
        ]}),
    )
    .await;
    let crm = format!(
        r#"[[crm]]
id = "erp"
kind = "rest"
url = "{}"
currency = "RUB"

[crm.rest.clients]
url = "{{base}}/v1/clients?changed_since={{since}}"
items = "data"
fields = {{ id = "code", name = "title", domains = "domains", emails = "emails", manager = "owner", key = "key", deleted = "gone" }}

[crm.rest.orders]
url = "{{base}}/v1/orders?changed_since={{since}}"
items = "data"
fields = {{ id = "number", client_id = "buyer", created_at = "date", amount = "total", status = "state", deleted = "gone" }}
"#,
        server.uri()
    );
    let connector = tokio::task::spawn_blocking(move || {
        let connector = company(&crm);
        meetings(&connector);
        connector
    })
    .await
    .unwrap();

    // What changed since: o2 cancelled, o4 new, o3 deleted; no client changed.
    server.reset().await;
    mount(&server, "GET", "/v1/clients", json!({"data": []})).await;
    mount(&server, "GET", "/v1/orders", json!({"data": [
        {"number": "o2", "buyer": "c1", "date": "2026-10-15T12:00:00+03:00", "total": 50000, "state": "cancelled"},
        {"number": "o4", "buyer": "c3", "date": "2026-11-20", "total": 9000},
        {"number": "o3", "gone": true}
    ]}))
    .await;
    let (got, requests) = tokio::task::spawn_blocking(move || {
        let got = meetings(&connector);
        let status = connector.ok(NOW, &["status", "--format", "json"]).json();
        (got, status)
    })
    .await
    .unwrap();
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(
        queries
            .iter()
            .all(|q| q.starts_with("changed_since=2026-11-27T")),
        "the second sync asks only for changes: {queries:?}"
    );
    assert_eq!(requests["counts"]["orders"], 3, "o3 deleted: {requests}");

    let want = tokio::task::spawn_blocking(|| {
        let csv = company(
            "[[crm]]\nid = \"main\"\nkind = \"csv\"\nclients = \"crm/clients.csv\"\norders = \"crm/orders.csv\"\n",
        );
        meetings(&csv);
        csv.orders(&[
            "o1,c1,2026-09-20,100000,RUB,paid,ivanov",
            "o2,c1,2026-10-15T12:00:00+03:00,50000,RUB,cancelled,ivanov",
            "o4,c3,2026-11-20,9000,RUB,paid,ivanov",
        ]);
        meetings(&csv)
    })
    .await
    .unwrap();
    assert_eq!(
        got, want,
        "\n--- incremental ---\n{got}\n--- csv ---\n{want}"
    );
}
