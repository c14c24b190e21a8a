//! HubSpot (CRM v3 objects, associations v4; private app token as
//! `Authorization: Bearer`): companies (`domain`, `hs_additional_domains`;
//! target accounts are key accounts) and contacts without a company as
//! clients, contacts' emails joined to their `associatedcompanyid`; deals in
//! a closed-won stage (`closedwon` unless `won_statuses` says otherwise) as
//! orders at `closedate` for `amount` in `deal_currency_code`, their client
//! found through deal→company (else deal→contact) associations.
//!
//! A full read pages the list endpoints. Later syncs use the search
//! endpoint on the last-modified property; search never pages past 10 000
//! results, so a window with more is halved until each part fits. Archived
//! deals since the cursor are removed; other deletions wait for the daily
//! full read. 429 answers are retried by the HTTP client after Retry-After.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use serde_json::{json, Value};

use super::common::{
    clean_domain, clean_email, collect_pages, flag, http_failure, instant, next_from_body, number,
    path, text, texts, url_with, Batch, Connector, Page,
};
use crate::config::{Config, CrmConfig};
use crate::model::{Client, Order};
use crate::secrets::Secret;
use crate::sources::{CrmFetch, CrmSource, SyncContext};

/// The search endpoints allow 5 requests per second per account (HubSpot
/// "API usage guidelines"); 4 leaves room for the list calls.
const RATE: f64 = 4.0;
/// Largest page of lists and searches.
const PAGE: u64 = 100;
/// Search results reachable by paging one query (HubSpot search docs).
const SEARCH_WINDOW: u64 = 10_000;
/// Inputs per associations batch read.
const BATCH: usize = 1000;
const FIX: &str = "create a new access token (HubSpot → Settings → Integrations → Private apps) with the scopes crm.objects.companies.read, crm.objects.contacts.read and crm.objects.deals.read, and update `token`";

const COMPANY_PROPS: &[&str] = &[
    "name",
    "domain",
    "hs_additional_domains",
    "hubspot_owner_id",
    "hs_is_target_account",
];
const CONTACT_PROPS: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "associatedcompanyid",
    "hubspot_owner_id",
];
const DEAL_PROPS: &[&str] = &[
    "dealname",
    "amount",
    "closedate",
    "dealstage",
    "deal_currency_code",
    "hubspot_owner_id",
    "createdate",
];

pub struct HubSpot {
    conn: Connector,
}

impl HubSpot {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> HubSpot {
        HubSpot {
            conn: Connector::new(c, config, http, &["closedwon"]),
        }
    }
}

/// The last-modified property of an object type (contacts differ).
fn modified_property(object: &str) -> &'static str {
    if object == "contacts" {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    }
}

struct Api<'a> {
    conn: &'a Connector,
    base: String,
    token: Secret,
}

impl Api<'_> {
    async fn get(&self, url: &str) -> Result<Value> {
        let (body, _) = self
            .conn
            .http
            .json::<Value, _>(|c| c.get(url).bearer_auth(self.token.expose()))
            .await
            .map_err(|e| http_failure(e, "HubSpot", FIX))?;
        Ok(body)
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let (answer, _) = self
            .conn
            .http
            .json::<Value, _>(|c| c.post(&url).bearer_auth(self.token.expose()).json(body))
            .await
            .map_err(|e| http_failure(e, "HubSpot", FIX))?;
        Ok(answer)
    }

    /// Every record of `/crm/v3/objects/{object}` (archived ones with `archived`).
    async fn list(&self, object: &str, props: &[&str], archived: bool) -> Result<Vec<Value>> {
        let base = format!("{}/crm/v3/objects/{object}", self.base);
        collect_pages(|after| {
            let base = base.clone();
            async move {
                let mut query = vec![
                    ("limit".to_string(), PAGE.to_string()),
                    ("properties".to_string(), props.join(",")),
                    ("archived".to_string(), archived.to_string()),
                ];
                query.extend(after.map(|a| ("after".to_string(), a)));
                let body = self.get(&url_with(&base, &query)?).await?;
                Ok(Page {
                    items: body
                        .get("results")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    next: next_from_body(&body, "paging.next.after"),
                })
            }
        })
        .await
    }

    /// Records modified in [from, to), halving the window while it holds more
    /// than search can page through.
    async fn search(&self, object: &str, props: &[&str], from: i64, to: i64) -> Result<Vec<Value>> {
        let mut windows = vec![(from, to)];
        let mut out = Vec::new();
        while let Some((lo, hi)) = windows.pop() {
            let request = |after: Option<String>| {
                let mut body = json!({
                    "filterGroups": [{"filters": [
                        {"propertyName": modified_property(object), "operator": "GTE", "value": lo.to_string()},
                        {"propertyName": modified_property(object), "operator": "LT", "value": hi.to_string()},
                    ]}],
                    "sorts": [{"propertyName": modified_property(object), "direction": "ASCENDING"}],
                    "properties": props,
                    "limit": PAGE,
                });
                if let Some(after) = after {
                    body["after"] = json!(after);
                }
                body
            };
            let path = format!("/crm/v3/objects/{object}/search");
            let first = self.post(&path, &request(None)).await?;
            let total = first.get("total").and_then(Value::as_u64).unwrap_or(0);
            if total > SEARCH_WINDOW {
                if hi - lo <= 1 {
                    return Err(anyhow!("HubSpot: more than {SEARCH_WINDOW} {object} modified in the same millisecond; cannot page them"));
                }
                let mid = lo + (hi - lo) / 2;
                windows.push((mid, hi));
                windows.push((lo, mid));
                continue;
            }
            let mut page = first;
            loop {
                out.extend(
                    page.get("results")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
                match next_from_body(&page, "paging.next.after") {
                    Some(after) => page = self.post(&path, &request(Some(after))).await?,
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Associated ids: from-id → to-ids (associations v4 batch read).
    async fn associations(
        &self,
        from: &str,
        to: &str,
        ids: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(BATCH) {
            let mut inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
            while !inputs.is_empty() {
                let body = self
                    .post(
                        &format!("/crm/v4/associations/{from}/{to}/batch/read"),
                        &json!({ "inputs": inputs }),
                    )
                    .await?;
                inputs = Vec::new();
                for result in body
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = text(path(result, "from.id")) else {
                        continue;
                    };
                    out.entry(id.clone())
                        .or_default()
                        .extend(texts(result.get("to"), Some("toObjectId")));
                    if let Some(after) = next_from_body(result, "paging.next.after") {
                        inputs.push(json!({"id": id, "after": after}));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn read(
        &self,
        object: &str,
        props: &[&str],
        ids: &BTreeSet<String>,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(PAGE as usize) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
            let body = self
                .post(
                    &format!("/crm/v3/objects/{object}/batch/read"),
                    &json!({"inputs": inputs, "properties": props}),
                )
                .await?;
            out.extend(
                body.get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        Ok(out)
    }
}

fn prop<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    path(record, "properties").and_then(|p| p.get(name))
}

fn ids_of(records: &[Value]) -> BTreeSet<String> {
    records.iter().filter_map(|r| text(r.get("id"))).collect()
}

#[async_trait]
impl CrmSource for HubSpot {
    fn id(&self) -> &str {
        &self.conn.id
    }

    fn kind(&self) -> &'static str {
        "hubspot"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        let conn = &self.conn;
        let base = conn.base("https://api.hubapi.com");
        conn.pace(&base, RATE);
        let api = Api {
            conn,
            base,
            token: conn.secret()?,
        };
        let plan = conn.plan(cursor, ctx.now);
        let mut batch = Batch::default();
        let (mut companies, contacts, deals);
        match plan.since {
            None => {
                companies = api.list("companies", COMPANY_PROPS, false).await?;
                contacts = api.list("contacts", CONTACT_PROPS, false).await?;
                deals = api.list("deals", DEAL_PROPS, false).await?;
            }
            Some(since) => {
                let (from, to) = (since.timestamp_millis(), ctx.now.timestamp_millis() + 1);
                companies = api.search("companies", COMPANY_PROPS, from, to).await?;
                let mut changed = api.search("contacts", CONTACT_PROPS, from, to).await?;
                deals = api.search("deals", DEAL_PROPS, from, to).await?;
                // Changed contacts change their companies; changed companies need all contacts.
                let known = ids_of(&companies);
                let more: BTreeSet<String> = changed
                    .iter()
                    .filter_map(|c| text(prop(c, "associatedcompanyid")))
                    .filter(|id| !known.contains(id))
                    .collect();
                if !more.is_empty() {
                    companies.extend(api.read("companies", COMPANY_PROPS, &more).await?);
                }
                let linked = api
                    .associations("companies", "contacts", &ids_of(&companies))
                    .await?;
                let have = ids_of(&changed);
                let wanted: BTreeSet<String> = linked
                    .values()
                    .flatten()
                    .filter(|id| !have.contains(*id))
                    .cloned()
                    .collect();
                if !wanted.is_empty() {
                    changed.extend(api.read("contacts", CONTACT_PROPS, &wanted).await?);
                }
                contacts = changed;
                for deal in api.list("deals", &["dealname"], true).await? {
                    let archived_at = instant(deal.get("archivedAt"), conn.tz);
                    if archived_at.is_some_and(|t| t >= since) {
                        if let Some(id) = text(deal.get("id")) {
                            batch.deleted_orders.push(conn.id_of(&id));
                        }
                    }
                }
            }
        }

        let mut emails_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for contact in &contacts {
            if let Some(company) = text(prop(contact, "associatedcompanyid")) {
                emails_of.entry(company).or_default().extend(
                    text(prop(contact, "email"))
                        .as_deref()
                        .and_then(clean_email),
                );
            }
        }
        for company in &companies {
            batch.client(self.company(company, &emails_of, ctx), || {
                format!("{}: company {}", conn.id, id_text(company))
            });
        }
        for contact in &contacts {
            if text(prop(contact, "associatedcompanyid")).is_some() {
                continue;
            }
            batch.client(self.contact(contact, ctx), || {
                format!("{}: contact {}", conn.id, id_text(contact))
            });
        }

        let (won, gone): (Vec<&Value>, Vec<&Value>) = deals
            .iter()
            .partition(|d| text(prop(d, "dealstage")).is_some_and(|s| conn.won.contains(&s)));
        batch.deleted_orders.extend(
            gone.iter()
                .filter_map(|d| text(d.get("id")))
                .map(|id| conn.id_of(&id)),
        );
        let won_ids: BTreeSet<String> = won.iter().filter_map(|d| text(d.get("id"))).collect();
        let deal_companies = api.associations("deals", "companies", &won_ids).await?;
        let without: BTreeSet<String> = won_ids
            .iter()
            .filter(|id| deal_companies.get(*id).is_none_or(|v| v.is_empty()))
            .cloned()
            .collect();
        let deal_contacts = if without.is_empty() {
            BTreeMap::new()
        } else {
            api.associations("deals", "contacts", &without).await?
        };
        for deal in won {
            batch.order(
                self.order(deal, &deal_companies, &deal_contacts, ctx),
                || format!("{}: deal {}", conn.id, id_text(deal)),
            );
        }
        Ok(batch.finish(conn, plan))
    }
}

fn id_text(record: &Value) -> String {
    text(record.get("id")).unwrap_or_else(|| "(no id)".into())
}

impl HubSpot {
    pub(crate) fn company(
        &self,
        record: &Value,
        emails_of: &BTreeMap<String, Vec<String>>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let mut domains: Vec<String> = texts(prop(record, "domain"), None)
            .into_iter()
            .chain(texts(prop(record, "hs_additional_domains"), None))
            .filter_map(|d| clean_domain(&d))
            .collect();
        domains.sort();
        domains.dedup();
        let name = text(prop(record, "name"))
            .or_else(|| domains.first().cloned())
            .ok_or(format!("company {id} has neither a name nor a domain"))?;
        let mut emails = emails_of.get(&id).cloned().unwrap_or_default();
        emails.sort();
        emails.dedup();
        Ok(Client {
            id: conn.id_of(&id),
            name,
            aliases: vec![],
            domains,
            emails,
            manager: text(prop(record, "hubspot_owner_id")).and_then(|m| ctx.manager_for(&m)),
            key: flag(prop(record, "hs_is_target_account")),
        })
    }

    pub(crate) fn contact(&self, record: &Value, ctx: &SyncContext) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let emails: Vec<String> = text(prop(record, "email"))
            .as_deref()
            .and_then(clean_email)
            .into_iter()
            .collect();
        let parts: Vec<String> = ["firstname", "lastname"]
            .iter()
            .filter_map(|k| text(prop(record, k)))
            .collect();
        let name = if parts.is_empty() {
            emails
                .first()
                .cloned()
                .ok_or(format!("contact {id} has neither a name nor an email"))?
        } else {
            parts.join(" ")
        };
        Ok(Client {
            id: conn.id_of(&format!("contact-{id}")),
            name,
            aliases: vec![],
            domains: vec![],
            emails,
            manager: text(prop(record, "hubspot_owner_id")).and_then(|m| ctx.manager_for(&m)),
            key: false,
        })
    }

    pub(crate) fn order(
        &self,
        deal: &Value,
        companies: &BTreeMap<String, Vec<String>>,
        contacts: &BTreeMap<String, Vec<String>>,
        ctx: &SyncContext,
    ) -> Result<Order, String> {
        let conn = &self.conn;
        let id = text(deal.get("id")).ok_or("no id")?;
        let smallest = |map: &BTreeMap<String, Vec<String>>| {
            map.get(&id)
                .and_then(|v| v.iter().min_by_key(|s| (s.len(), (*s).clone())).cloned())
        };
        let client_id = match (smallest(companies), smallest(contacts)) {
            (Some(company), _) => conn.id_of(&company),
            (None, Some(contact)) => conn.id_of(&format!("contact-{contact}")),
            (None, None) => {
                return Err(format!(
                    "won deal {id} is associated with no company or contact"
                ))
            }
        };
        let created_at = instant(prop(deal, "closedate"), conn.tz)
            .or_else(|| instant(prop(deal, "createdate"), conn.tz))
            .ok_or(format!("deal {id} has no closedate"))?;
        let amount = number(prop(deal, "amount"))
            .ok_or(format!("deal {id}: amount is empty or not a number"))?;
        let stage = text(prop(deal, "dealstage")).unwrap_or_default();
        Ok(Order {
            id: conn.id_of(&id),
            client_id,
            created_at,
            amount,
            currency: text(prop(deal, "deal_currency_code")).unwrap_or_default(),
            cancelled: conn.cancelled.contains(&stage),
            status: stage,
            manager: text(prop(deal, "hubspot_owner_id")).and_then(|m| ctx.manager_for(&m)),
        })
    }
}
