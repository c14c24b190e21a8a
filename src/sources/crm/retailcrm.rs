//! RetailCRM (API v5, `X-API-KEY`): customers and corporate customers (with
//! their contact persons' emails) as clients, orders as orders. A first sync
//! (and the daily full one) pages `/customers`, `/customers-corporate` and
//! `/orders`; later syncs read `/…/history` from the last history id seen
//! (`sinceId`) and fetch the changed records by id. Statuses whose group is
//! `cancel` (`/reference/statuses`) mark orders cancelled. Date-times are
//! written without a zone: they are read in `account_timezone`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Context, Result};
use async_trait::async_trait;
use serde_json::Value;

use super::common::{
    clean_email, collect_pages, flag, http_failure, instant, next_page_number, number, path, text,
    texts, url_with, Batch, Connector, Page,
};
use crate::config::{Config, CrmConfig};
use crate::model::{Client, Order};
use crate::secrets::Secret;
use crate::sources::{CrmFetch, CrmSource, SyncContext};

/// RetailCRM allows 10 requests per second per account (API docs, "Limits").
const RATE: f64 = 10.0;
/// Largest page the list methods accept.
const PAGE: u64 = 100;
const FIX: &str = "create a key in RetailCRM (Settings → Integration → API access keys) with access to customers, corporate customers, orders and references, and update `api_key`";

pub struct RetailCrm {
    conn: Connector,
}

impl RetailCrm {
    pub fn new(
        c: &CrmConfig,
        config: &Config,
        http: crate::sources::http::HttpClient,
    ) -> RetailCrm {
        RetailCrm {
            conn: Connector::new(c, config, http, &[]),
        }
    }
}

/// One kind of record RetailCRM lists and keeps a history of.
struct Resource {
    /// Path under /api/v5.
    list: &'static str,
    /// Key of the array in a list answer.
    key: &'static str,
    /// Key of the record in a history entry.
    entry: &'static str,
}

const CUSTOMERS: Resource = Resource {
    list: "customers",
    key: "customers",
    entry: "customer",
};
const CORPORATE: Resource = Resource {
    list: "customers-corporate",
    key: "customersCorporate",
    entry: "customer",
};
const ORDERS: Resource = Resource {
    list: "orders",
    key: "orders",
    entry: "order",
};

struct Api<'a> {
    conn: &'a Connector,
    base: String,
    key: Secret,
}

impl Api<'_> {
    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value> {
        let url = url_with(&format!("{}/api/v5/{path}", self.base), query)?;
        let (body, _) = self
            .conn
            .http
            .json::<Value, _>(|c| c.get(&url).header("X-API-KEY", self.key.expose()))
            .await
            .map_err(|e| http_failure(e, "RetailCRM", FIX))?;
        if body.get("success") == Some(&Value::Bool(false)) {
            anyhow::bail!(
                "RetailCRM /api/v5/{path}: {}",
                text(body.get("errorMsg")).unwrap_or_else(|| "success: false".into())
            );
        }
        Ok(body)
    }

    /// Every page of a list, `filter` added to each request.
    async fn list(&self, resource: &Resource, filter: &[(String, String)]) -> Result<Vec<Value>> {
        collect_pages(|page| async move {
            let page = page.unwrap_or_else(|| "1".into());
            let mut query = vec![
                ("limit".to_string(), PAGE.to_string()),
                ("page".to_string(), page),
            ];
            query.extend_from_slice(filter);
            let body = self.get(resource.list, &query).await?;
            let items = body
                .get(resource.key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let current = path(&body, "pagination.currentPage")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let total = path(&body, "pagination.totalPageCount").and_then(Value::as_u64);
            Ok(Page {
                items,
                next: next_page_number(current, total),
            })
        })
        .await
    }

    /// Records by id, 100 ids per request.
    async fn by_ids(&self, resource: &Resource, ids: &BTreeSet<String>) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(PAGE as usize) {
            let filter: Vec<(String, String)> = chunk
                .iter()
                .map(|id| ("filter[ids][]".to_string(), id.to_string()))
                .collect();
            out.extend(self.list(resource, &filter).await?);
        }
        Ok(out)
    }

    /// History entries after `since_id` (or, without one, since `start`).
    async fn history(
        &self,
        resource: &Resource,
        since_id: Option<&str>,
        start: &str,
    ) -> Result<Vec<Value>> {
        let filter = match since_id {
            Some(id) => vec![("filter[sinceId]".to_string(), id.to_string())],
            None => vec![("filter[startDate]".to_string(), start.to_string())],
        };
        let history = Resource {
            list: match resource.list {
                "customers" => "customers/history",
                "customers-corporate" => "customers-corporate/history",
                _ => "orders/history",
            },
            key: "history",
            entry: resource.entry,
        };
        self.list(&history, &filter).await
    }
}

fn max_id(entries: &[Value], previous: Option<&str>) -> Option<String> {
    entries
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_u64))
        .chain(previous.and_then(|p| p.parse().ok()))
        .max()
        .map(|id| id.to_string())
}

#[async_trait]
impl CrmSource for RetailCrm {
    fn id(&self) -> &str {
        &self.conn.id
    }

    fn kind(&self) -> &'static str {
        "retailcrm"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        let conn = &self.conn;
        let base = conn.base("");
        conn.pace(&base, RATE);
        let api = Api {
            conn,
            base,
            key: conn.secret()?,
        };
        let mut plan = conn.plan(cursor, ctx.now);
        let cancelled = cancelled_statuses(&api, conn).await?;
        // History from a little before now marks where the next sync starts.
        let start = (ctx.now - conn.overlap)
            .with_timezone(&conn.tz)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();

        let mut batch = Batch::default();
        let (customers, corporate, orders);
        if plan.is_full() {
            customers = api.list(&CUSTOMERS, &[]).await?;
            corporate = api.list(&CORPORATE, &[]).await?;
            orders = api.list(&ORDERS, &[]).await?;
            for resource in [&CUSTOMERS, &CORPORATE, &ORDERS] {
                let recent = api.history(resource, None, &start).await?;
                if let Some(id) = max_id(&recent, None) {
                    plan.next.marks.insert(resource.list.to_string(), id);
                }
            }
        } else {
            let mut changed: Vec<Vec<Value>> = Vec::new();
            for resource in [&CUSTOMERS, &CORPORATE, &ORDERS] {
                let mark = plan.marks.get(resource.list).cloned();
                let entries = api.history(resource, mark.as_deref(), &start).await?;
                if let Some(id) = max_id(&entries, mark.as_deref()) {
                    plan.next.marks.insert(resource.list.to_string(), id);
                }
                let mut ids = BTreeSet::new();
                for entry in &entries {
                    let Some(id) = text(path(entry, &format!("{}.id", resource.entry))) else {
                        continue;
                    };
                    if flag(entry.get("deleted")) {
                        let ours = match resource.list {
                            "customers-corporate" => conn.id_of(&format!("corp-{id}")),
                            _ => conn.id_of(&id),
                        };
                        if resource.list == "orders" {
                            batch.deleted_orders.push(ours);
                        } else {
                            batch.deleted_clients.push(ours);
                        }
                    } else {
                        ids.insert(id);
                    }
                }
                changed.push(api.by_ids(resource, &ids).await?);
            }
            orders = changed.pop().unwrap_or_default();
            corporate = changed.pop().unwrap_or_default();
            customers = changed.pop().unwrap_or_default();
        }

        // Corporate customers' emails are their contact persons' ones.
        let mut people: BTreeMap<String, Value> = customers
            .iter()
            .filter_map(|c| text(c.get("id")).map(|id| (id, c.clone())))
            .collect();
        let missing: BTreeSet<String> = corporate
            .iter()
            .flat_map(|c| texts(c.get("customerContacts"), Some("customer.id")))
            .filter(|id| !people.contains_key(id))
            .collect();
        if !missing.is_empty() {
            for person in api.by_ids(&CUSTOMERS, &missing).await? {
                if let Some(id) = text(person.get("id")) {
                    people.insert(id, person);
                }
            }
        }

        for customer in &customers {
            batch.client(self.client(customer, false, &people, ctx), || {
                format!("{}: customer {}", conn.id, record_id(customer))
            });
        }
        for company in &corporate {
            batch.client(self.client(company, true, &people, ctx), || {
                format!("{}: corporate customer {}", conn.id, record_id(company))
            });
        }
        for order in &orders {
            batch.order(self.order(order, &cancelled, ctx), || {
                format!("{}: order {}", conn.id, record_id(order))
            });
        }
        Ok(batch.finish(conn, plan))
    }
}

fn record_id(record: &Value) -> String {
    text(record.get("id"))
        .or_else(|| text(record.get("number")))
        .unwrap_or_else(|| "(no id)".into())
}

/// Status codes that mean cancelled: the `cancel` group, plus configured ones.
async fn cancelled_statuses(api: &Api<'_>, conn: &Connector) -> Result<HashSet<String>> {
    let body = api
        .get("reference/statuses", &[])
        .await
        .context("reading order statuses")?;
    let mut cancelled: HashSet<String> = conn.cancelled.iter().cloned().collect();
    // An object keyed by code; older accounts answer with an array.
    let statuses: Vec<&Value> = match body.get("statuses") {
        Some(Value::Object(map)) => map.values().collect(),
        Some(Value::Array(list)) => list.iter().collect(),
        _ => vec![],
    };
    for status in statuses {
        if text(status.get("group")).as_deref() == Some("cancel") {
            if let Some(code) = text(status.get("code")) {
                cancelled.insert(code);
            }
        }
    }
    Ok(cancelled)
}

impl RetailCrm {
    pub(crate) fn client(
        &self,
        record: &Value,
        corporate: bool,
        people: &BTreeMap<String, Value>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let mut emails: Vec<String> = Vec::new();
        let name = if corporate {
            for contact in texts(record.get("customerContacts"), Some("customer.id")) {
                if let Some(email) = people.get(&contact).and_then(|p| text(p.get("email"))) {
                    emails.extend(clean_email(&email));
                }
            }
            text(record.get("nickName"))
                .or_else(|| text(path(record, "mainCompany.name")))
                .ok_or(format!("corporate customer {id} has no name (nickName)"))?
        } else {
            emails.extend(text(record.get("email")).as_deref().and_then(clean_email));
            let parts: Vec<String> = ["lastName", "firstName", "patronymic"]
                .iter()
                .filter_map(|k| text(record.get(*k)))
                .collect();
            if parts.is_empty() {
                emails
                    .first()
                    .cloned()
                    .unwrap_or_else(|| format!("customer {id}"))
            } else {
                parts.join(" ")
            }
        };
        emails.sort();
        emails.dedup();
        let tags = texts(record.get("tags"), Some("name"));
        Ok(Client {
            id: conn.id_of(&if corporate { format!("corp-{id}") } else { id }),
            name,
            aliases: vec![],
            domains: conn.domains_from_emails(&emails),
            emails,
            manager: text(record.get("managerId")).and_then(|m| ctx.manager_for(&m)),
            key: flag(record.get("vip")) || conn.is_key(&tags),
        })
    }

    pub(crate) fn order(
        &self,
        record: &Value,
        cancelled: &HashSet<String>,
        ctx: &SyncContext,
    ) -> Result<Order, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let customer =
            text(path(record, "customer.id")).ok_or(format!("order {id} has no customer"))?;
        let client_id = match text(path(record, "customer.type")).as_deref() {
            Some("customer_corporate") => conn.id_of(&format!("corp-{customer}")),
            _ => conn.id_of(&customer),
        };
        let created_at = instant(record.get("createdAt"), conn.tz).ok_or(format!(
            "order {id}: createdAt {} is not a date-time",
            record.get("createdAt").unwrap_or(&Value::Null)
        ))?;
        let amount = number(record.get("totalSumm"))
            .or_else(|| number(record.get("summ")))
            .ok_or(format!("order {id} has no totalSumm"))?;
        let status = text(record.get("status")).unwrap_or_default();
        Ok(Order {
            id: conn.id_of(&id),
            client_id,
            created_at,
            amount,
            currency: text(record.get("currency")).unwrap_or_default(),
            cancelled: cancelled.contains(&status),
            status,
            manager: text(record.get("managerId")).and_then(|m| ctx.manager_for(&m)),
        })
    }
}
