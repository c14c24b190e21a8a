//! RetailCRM (API v5, `X-API-KEY`): customers and corporate customers as
//! clients, orders as orders. A first sync (and the daily full one) pages
//! `/customers`, `/customers-corporate` and `/orders`; later syncs read
//! `/…/history` from the last history id seen (`sinceId`), or, before any
//! history id is known, from the last successful sync minus the overlap
//! (`startDate`), and fetch the changed records by id.
//!
//! A corporate customer is one client (`corp-<id>`). The list does not carry
//! its contact persons, so they are read per corporate customer
//! (`/customers-corporate/{id}/contacts`), and its companies' web sites from
//! `/customers-corporate/{id}/companies`. A contact person is a person of
//! that company: their emails and mail domains are the corporate client's,
//! and one who has no orders of their own is not a client at all. Statuses
//! whose group is `cancel` (`/reference/statuses`) mark orders cancelled.
//! Date-times are written without a zone: they are read in
//! `account_timezone`. A customer's `site` is the code of the RetailCRM shop
//! it came from, not a web site: it is never read as a domain.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::common::{
    call_failure, clean_domain, clean_email, collect_pages_with, flag, instant, next_page_number,
    number, path, text, texts, url_with, Batch, Connector, Page, Paging,
};
use crate::config::{Config, CrmConfig};
use crate::model::{Client, Order};
use crate::secrets::Secret;
use crate::sources::{CrmFetch, CrmSource, SyncContext};

/// RetailCRM allows 10 requests per second per account (API docs, "Limits").
const RATE: f64 = 10.0;
/// Largest page the list methods accept.
const PAGE: u64 = 100;
const PROVIDER: &str = "retailcrm";
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
    /// Path of its history under /api/v5.
    history: &'static str,
    /// Key of the record in a history entry.
    entry: &'static str,
}

const CUSTOMERS: Resource = Resource {
    list: "customers",
    key: "customers",
    history: "customers/history",
    entry: "customer",
};
const CORPORATE: Resource = Resource {
    list: "customers-corporate",
    key: "customersCorporate",
    history: "customers-corporate/history",
    entry: "customer",
};
const ORDERS: Resource = Resource {
    list: "orders",
    key: "orders",
    history: "orders/history",
    entry: "order",
};

struct Api<'a> {
    conn: &'a Connector,
    base: String,
    key: Secret,
}

impl Api<'_> {
    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value> {
        let call = format!("GET /api/v5/{path}");
        let url = url_with(&format!("{}/api/v5/{path}", self.base), query)?;
        let (body, _) = self
            .conn
            .http
            .json::<Value, _>(|c| c.get(&url).header("X-API-KEY", self.key.expose()))
            .await
            .map_err(|e| call_failure(e, PROVIDER, &call, FIX))?;
        if body.get("success") == Some(&Value::Bool(false)) {
            anyhow::bail!(
                "{PROVIDER} {call}: {}",
                text(body.get("errorMsg")).unwrap_or_else(|| "success: false".into())
            );
        }
        Ok(body)
    }

    /// Every page of the list at `path` (records under `key`), `filter`
    /// added to each request.
    async fn list(&self, path: &str, key: &str, filter: &[(String, String)]) -> Result<Vec<Value>> {
        let name = format!("{PROVIDER} GET /api/v5/{path}");
        let name = &name;
        let paging = Paging {
            name,
            ..Paging::default()
        };
        collect_pages_with(paging, |page| async move {
            let page = page.unwrap_or_else(|| "1".into());
            let mut query = vec![
                ("limit".to_string(), PAGE.to_string()),
                ("page".to_string(), page),
            ];
            query.extend_from_slice(filter);
            let body = self.get(path, &query).await?;
            let items = match body.get(key) {
                Some(Value::Array(items)) => items.clone(),
                // An empty result is sometimes written as `{}` by PHP.
                Some(Value::Object(map)) if map.is_empty() => vec![],
                _ => anyhow::bail!("{name}: the answer has no `{key}` list"),
            };
            let current = super::common::path(&body, "pagination.currentPage")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let total =
                super::common::path(&body, "pagination.totalPageCount").and_then(Value::as_u64);
            Ok(Page {
                items,
                next: next_page_number(current, total),
            })
        })
        .await
    }

    async fn all(&self, resource: &Resource, filter: &[(String, String)]) -> Result<Vec<Value>> {
        self.list(resource.list, resource.key, filter).await
    }

    /// Records whose `filter[field][]` is one of `ids`, 100 ids per request.
    async fn by(
        &self,
        resource: &Resource,
        field: &str,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(PAGE as usize) {
            let filter: Vec<(String, String)> = chunk
                .iter()
                .map(|id| (format!("filter[{field}][]"), id.to_string()))
                .collect();
            out.extend(self.all(resource, &filter).await?);
        }
        Ok(out)
    }

    /// Records by id.
    async fn by_ids(&self, resource: &Resource, ids: &BTreeSet<String>) -> Result<Vec<Value>> {
        self.by(resource, "ids", ids).await
    }

    /// History entries after `since_id` or, without one, since `start`.
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
        self.list(resource.history, "history", &filter).await
    }

    /// A corporate customer's contact persons (their customer ids) and its
    /// companies' web sites. Neither comes with the list.
    async fn corporate_parts(&self, id: &str) -> Result<(Vec<String>, Vec<String>)> {
        let by_id = [("by".to_string(), "id".to_string())];
        let contacts = self
            .list(
                &format!("customers-corporate/{id}/contacts"),
                "contacts",
                &by_id,
            )
            .await?;
        let companies = self
            .list(
                &format!("customers-corporate/{id}/companies"),
                "companies",
                &by_id,
            )
            .await?;
        let people = contacts
            .iter()
            .filter_map(|c| text(path(c, "customer.id")))
            .collect();
        let sites = companies
            .iter()
            .filter(|c| c.get("active") != Some(&Value::Bool(false)))
            .filter_map(|c| text(c.get("site")))
            .collect();
        Ok((people, sites))
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

fn by_id(records: impl IntoIterator<Item = Value>) -> BTreeMap<String, Value> {
    records
        .into_iter()
        .filter_map(|r| text(r.get("id")).map(|id| (id, r)))
        .collect()
}

/// A corporate customer with what the list does not carry.
struct Corporate {
    record: Value,
    /// Customer ids of its contact persons.
    people: Vec<String>,
    /// Its companies' `site` fields.
    sites: Vec<String>,
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
        // Without a history id, history is read by time: after a full read
        // from a little before now (the next sync starts where this one
        // ends), later from the last successful sync minus the overlap. Never
        // from "now" on a later sync: the changes made since the last sync
        // would be skipped.
        let start = account_time(plan.since.unwrap_or(ctx.now - conn.overlap), conn);

        let mut batch = Batch::default();
        let full = plan.is_full();
        let (mut people, corporate_records, orders);
        // Customers read in this sync (all of them on a full read).
        let customers: Vec<String>;
        if full {
            people = by_id(api.all(&CUSTOMERS, &[]).await?);
            customers = people.keys().cloned().collect();
            corporate_records = api.all(&CORPORATE, &[]).await?;
            orders = api.all(&ORDERS, &[]).await?;
            for resource in [&CUSTOMERS, &CORPORATE, &ORDERS] {
                let recent = api.history(resource, None, &start).await?;
                if let Some(id) = max_id(&recent, None) {
                    plan.next.marks.insert(resource.list.to_string(), id);
                }
            }
        } else {
            let mut changed: Vec<BTreeSet<String>> = Vec::new();
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
                        match resource.list {
                            "orders" => batch.deleted_orders.push(conn.id_of(&id)),
                            "customers-corporate" => batch
                                .deleted_clients
                                .push(conn.id_of(&format!("corp-{id}"))),
                            _ => batch.deleted_clients.push(conn.id_of(&id)),
                        }
                    } else {
                        ids.insert(id);
                    }
                }
                changed.push(ids);
            }
            let (changed_customers, mut changed_corporate, changed_orders) =
                (&changed[0], changed[1].clone(), &changed[2]);
            people = by_id(api.by_ids(&CUSTOMERS, changed_customers).await?);
            customers = people.keys().cloned().collect();
            // A changed person changes the corporate customers they are a
            // contact of (their email is the company's).
            for company in api.by(&CORPORATE, "contactIds", changed_customers).await? {
                changed_corporate.extend(text(company.get("id")));
            }
            corporate_records = api.by_ids(&CORPORATE, &changed_corporate).await?;
            orders = api.by_ids(&ORDERS, changed_orders).await?;
        }

        let mut corporate = Vec::with_capacity(corporate_records.len());
        for record in corporate_records {
            let Some(id) = text(record.get("id")) else {
                batch.skip(
                    format!("{}: corporate customer (no id)", conn.id),
                    "no id; skipped",
                );
                continue;
            };
            let (people, sites) = api
                .corporate_parts(&id)
                .await
                .with_context(|| format!("reading corporate customer {id}"))?;
            corporate.push(Corporate {
                record,
                people,
                sites,
            });
        }
        // Contact persons not read yet (a delta, or a person added since the
        // customer list was read): their emails are the company's.
        let missing: BTreeSet<String> = corporate
            .iter()
            .flat_map(|c| c.people.iter().cloned())
            .filter(|id| !people.contains_key(id))
            .collect();
        if !missing.is_empty() {
            people.extend(by_id(api.by_ids(&CUSTOMERS, &missing).await?));
        }
        let contacts: HashSet<&str> = corporate
            .iter()
            .flat_map(|c| c.people.iter().map(String::as_str))
            .collect();

        // People: every customer read, and the contact persons of the
        // corporate customers read (a person linked to a company since the
        // last sync stops being a client of their own).
        let mut persons: BTreeSet<&String> = customers.iter().collect();
        persons.extend(corporate.iter().flat_map(|c| c.people.iter()));
        for id in persons {
            let Some(person) = people.get(id) else {
                continue;
            };
            let contact = contacts.contains(id.as_str()) || flag(person.get("isContact"));
            let has_orders = number(person.get("ordersCount")).unwrap_or(0.0) > 0.0;
            if contact && !has_orders {
                // Only someone's contact person: not a client. A delta
                // removes a client stored for them before.
                batch.deleted_clients.push(conn.id_of(id));
                continue;
            }
            batch.client(self.person(person, contact, ctx), || {
                format!("{}: customer {}", conn.id, record_id(person))
            });
        }
        for company in &corporate {
            batch.client(self.corporate(company, &people, ctx), || {
                format!(
                    "{}: corporate customer {}",
                    conn.id,
                    record_id(&company.record)
                )
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

/// A history `startDate`: RetailCRM reads it in the account's zone.
fn account_time(at: DateTime<Utc>, conn: &Connector) -> String {
    at.with_timezone(&conn.tz)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
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
    /// A customer (`corporate` false) or a corporate customer whose contact
    /// persons are the `customerContacts` of the record (as history
    /// entries and the single-record method write it).
    pub(crate) fn client(
        &self,
        record: &Value,
        corporate: bool,
        people: &BTreeMap<String, Value>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        if corporate {
            let company = Corporate {
                record: record.clone(),
                people: vec![],
                sites: vec![],
            };
            self.corporate(&company, people, ctx)
        } else {
            self.person(record, false, ctx)
        }
    }

    /// A customer as a client of their own. A `contact` person's email is
    /// their company's: it is left to the corporate client, so that a
    /// meeting with them is that company's meeting.
    fn person(&self, record: &Value, contact: bool, ctx: &SyncContext) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let email = text(record.get("email")).as_deref().and_then(clean_email);
        let parts: Vec<String> = ["lastName", "firstName", "patronymic"]
            .iter()
            .filter_map(|k| text(record.get(*k)))
            .collect();
        let name = if !parts.is_empty() {
            parts.join(" ")
        } else {
            email.clone().unwrap_or_else(|| format!("customer {id}"))
        };
        let emails: Vec<String> = if contact {
            vec![]
        } else {
            email.into_iter().collect()
        };
        let tags = texts(record.get("tags"), Some("name"));
        Ok(Client {
            id: conn.id_of(&id),
            name,
            aliases: vec![],
            domains: conn.domains_from_emails(&emails),
            emails,
            manager: text(record.get("managerId")).and_then(|m| ctx.manager_for(&m)),
            key: flag(record.get("vip")) || conn.is_key(&tags),
        })
    }

    /// A corporate customer: its contact persons' emails and mail domains,
    /// and its companies' web sites.
    fn corporate(
        &self,
        company: &Corporate,
        people: &BTreeMap<String, Value>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        let conn = &self.conn;
        let record = &company.record;
        let id = text(record.get("id")).ok_or("no id")?;
        let mut contacts = texts(record.get("customerContacts"), Some("customer.id"));
        contacts.extend(company.people.iter().cloned());
        let mut emails: Vec<String> = contacts
            .iter()
            .filter_map(|c| people.get(c).and_then(|p| text(p.get("email"))))
            .filter_map(|e| clean_email(&e))
            .collect();
        emails.sort();
        emails.dedup();
        let mut domains = conn.domains_from_emails(&emails);
        domains.extend(
            company
                .sites
                .iter()
                .filter_map(|site| clean_domain(site))
                .filter(|d| !conn.public_domains.contains(d)),
        );
        domains.sort();
        domains.dedup();
        let name = text(record.get("nickName"))
            .or_else(|| text(path(record, "mainCompany.name")))
            .ok_or(format!("corporate customer {id} has no name (nickName)"))?;
        let tags = texts(record.get("tags"), Some("name"));
        Ok(Client {
            id: conn.id_of(&format!("corp-{id}")),
            name,
            aliases: vec![],
            domains,
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
