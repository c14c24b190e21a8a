//! Bitrix24 (REST through an inbound webhook URL, kept as a secret because
//! its path holds the access code): `crm.company.list` and
//! `crm.contact.list` (EMAIL and WEB multifields) as clients, deals whose
//! `STAGE_SEMANTIC_ID` is `S` (won) as orders at `CLOSEDATE` for
//! `OPPORTUNITY` in `CURRENCY_ID`. Key accounts by a company field
//! (`key_field`, e.g. `COMPANY_TYPE` or a `UF_CRM_…` field, and its
//! `key_values`).
//!
//! Lists page by ID as Bitrix24 recommends for large selections ("How to
//! Retrieve Large Volumes of Data"): sorted by ID, each page filtered to
//! IDs above the last one read, `start=-1` so the portal does not count the
//! total; a page of fewer than 50 records is the last. IDs must grow from
//! page to page: a page that repeats or goes back fails the read, and the
//! stored data stays as it was. Later syncs filter `>DATE_MODIFY` from the
//! last successful sync minus the overlap; a deal that left the won stage
//! is removed. Bitrix24 has no feed of deleted records: the daily full read
//! (`full_sync_hours`) drops them. Every value arrives as a string; flags
//! are `Y`/`N`.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::common::{
    clean_domain, clean_email, collect_pages, http_failure, instant, number, text, texts, Batch,
    Connector, Page,
};
use crate::config::{Config, CrmConfig, KeyField};
use crate::model::{Client, Order};
use crate::sources::{CrmFetch, CrmSource, SyncContext};

/// Bitrix24 cloud allows 2 requests per second per portal before it answers
/// QUERY_LIMIT_EXCEEDED (REST docs, "Limits").
const RATE: f64 = 2.0;
/// Records per list page, fixed by Bitrix24 (crm.company.list: "The page
/// size of results is always static — 50 records").
const PAGE: usize = 50;
const FIX: &str = "create a new inbound webhook (Bitrix24 → Developer resources → Other → Inbound webhook) with the CRM (crm) scope and update `webhook`";

const COMPANY_FIELDS: &[&str] = &[
    "ID",
    "TITLE",
    "ASSIGNED_BY_ID",
    "EMAIL",
    "WEB",
    "DATE_MODIFY",
];
const CONTACT_FIELDS: &[&str] = &[
    "ID",
    "NAME",
    "LAST_NAME",
    "COMPANY_ID",
    "ASSIGNED_BY_ID",
    "EMAIL",
    "DATE_MODIFY",
];
const DEAL_FIELDS: &[&str] = &[
    "ID",
    "COMPANY_ID",
    "CONTACT_ID",
    "CLOSEDATE",
    "DATE_CREATE",
    "OPPORTUNITY",
    "CURRENCY_ID",
    "STAGE_ID",
    "STAGE_SEMANTIC_ID",
    "ASSIGNED_BY_ID",
];

pub struct Bitrix24 {
    conn: Connector,
    /// No key accounts without a `key_field`.
    key: Option<KeyField>,
}

impl Bitrix24 {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> Bitrix24 {
        Bitrix24 {
            conn: Connector::new(c, config, http, &["S"]),
            key: KeyField::of(c, None),
        }
    }

    /// The company fields to select: ours plus the key-account one.
    fn company_fields(&self) -> Vec<&str> {
        let mut fields = COMPANY_FIELDS.to_vec();
        fields.extend(self.key.as_ref().map(|k| k.field.as_str()));
        fields
    }
}

struct Api<'a> {
    conn: &'a Connector,
    /// The webhook URL, ending with `/`.
    webhook: String,
}

type Params = Vec<(String, String)>;

fn query_string(params: &Params) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("static URL");
    url.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    url.query().unwrap_or_default().to_string()
}

impl Api<'_> {
    async fn call(&self, method: &str, params: &Params) -> Result<Value> {
        let url = format!("{}{method}.json?{}", self.webhook, query_string(params));
        let (body, _) = self
            .conn
            .http
            .json::<Value, _>(|c| c.get(&url))
            .await
            .map_err(|e| http_failure(e, "Bitrix24", FIX))?;
        if let Some(error) = text(body.get("error")) {
            return Err(anyhow!(
                "Bitrix24 {method}: {error}: {}",
                text(body.get("error_description")).unwrap_or_default()
            ));
        }
        Ok(body)
    }

    /// Every record of a list method, page by page by ID (see the module
    /// comment): `filter[>ID]` the last ID read, `order[ID]=ASC` (in
    /// `params`), `start=-1`.
    async fn list(&self, method: &str, params: &Params) -> Result<Vec<Value>> {
        collect_pages(|after: Option<String>| async move {
            let after: u64 = after.as_deref().map_or(Ok(0), str::parse)?;
            let mut query = params.clone();
            query.push(("filter[>ID]".into(), after.to_string()));
            query.push(("start".into(), "-1".into()));
            let body = self.call(method, &query).await?;
            let items = body
                .get("result")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| anyhow!("Bitrix24 {method}: the answer has no `result` list"))?;
            let last =
                advancing_ids(after, &items).map_err(|e| anyhow!("Bitrix24 {method}: {e}"))?;
            Ok(Page {
                next: (items.len() >= PAGE).then(|| last.to_string()),
                items,
            })
        })
        .await
        .map_err(|e| {
            if e.to_string().starts_with("Bitrix24") {
                e
            } else {
                anyhow!("Bitrix24 {method}: {e}")
            }
        })
    }

    /// Records whose `key` field is one of `ids`, 50 ids a request (the
    /// filter goes in the URL).
    async fn list_by_ids(
        &self,
        method: &str,
        fields: &[&str],
        key: &str,
        ids: &BTreeSet<String>,
    ) -> Result<Vec<Value>> {
        let ids: Vec<&String> = ids.iter().collect();
        let mut out = Vec::new();
        for chunk in ids.chunks(PAGE) {
            let mut p = params(fields, None, chrono_tz::UTC);
            p.extend(
                chunk
                    .iter()
                    .map(|id| (format!("filter[{key}][]"), id.to_string())),
            );
            out.extend(self.list(method, &p).await?);
        }
        Ok(out)
    }
}

/// The last ID of a page whose IDs all grow from `after`; an error when one
/// does not (a repeated page, a portal ignoring `filter[>ID]`): reading on
/// would loop or return a list that silently lacks records.
fn advancing_ids(after: u64, items: &[Value]) -> Result<u64, String> {
    let mut last = after;
    for item in items {
        let id = text(item.get("ID"));
        let id: u64 = id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| format!("a record without a numeric ID ({id:?}) cannot be paged"))?;
        if id <= last {
            return Err(format!(
                "the page after ID {after} holds ID {id}, not above ID {last}: IDs must grow (a repeated page, or the portal ignored filter[>ID]); stopped paging, the stored data is kept"
            ));
        }
        last = id;
    }
    Ok(last)
}

fn params(fields: &[&str], since: Option<DateTime<Utc>>, tz: chrono_tz::Tz) -> Params {
    let mut p: Params = vec![("order[ID]".into(), "ASC".into())];
    p.extend(
        fields
            .iter()
            .map(|f| ("select[]".to_string(), f.to_string())),
    );
    if let Some(since) = since {
        p.push((
            "filter[>DATE_MODIFY]".into(),
            since
                .with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        ));
    }
    p
}

/// Values of a multifield (EMAIL, WEB): `[{"VALUE": "…", "VALUE_TYPE": "WORK"}]`.
fn multifield(record: &Value, name: &str) -> Vec<String> {
    texts(record.get(name), Some("VALUE"))
}

/// A reference that Bitrix24 writes as `"0"` or null when empty.
fn reference(record: &Value, name: &str) -> Option<String> {
    text(record.get(name)).filter(|v| v != "0")
}

#[async_trait]
impl CrmSource for Bitrix24 {
    fn id(&self) -> &str {
        &self.conn.id
    }

    fn kind(&self) -> &'static str {
        "bitrix24"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        let conn = &self.conn;
        let mut webhook = conn.secret()?.expose().trim().to_string();
        if !webhook.ends_with('/') {
            webhook.push('/');
        }
        reqwest::Url::parse(&webhook)
            .map_err(|_| anyhow!("the Bitrix24 webhook secret is not a URL such as https://acme.bitrix24.ru/rest/1/abc123/"))?;
        conn.pace(&webhook, RATE);
        let api = Api { conn, webhook };
        let plan = conn.plan(cursor, ctx.now);
        let mut batch = Batch::default();

        let company_fields = self.company_fields();
        let mut companies = api
            .list(
                "crm.company.list",
                &params(&company_fields, plan.since, conn.tz),
            )
            .await?;
        let changed_contacts = api
            .list(
                "crm.contact.list",
                &params(CONTACT_FIELDS, plan.since, conn.tz),
            )
            .await?;
        let mut deal_params = params(DEAL_FIELDS, plan.since, conn.tz);
        if plan.is_full() {
            for semantic in &conn.won {
                deal_params.push(("filter[STAGE_SEMANTIC_ID][]".into(), semantic.clone()));
            }
        }
        let deals = api.list("crm.deal.list", &deal_params).await?;

        // A changed contact changes its company's emails; a changed company
        // needs all its contacts.
        let known: BTreeSet<String> = companies.iter().filter_map(|c| text(c.get("ID"))).collect();
        let more: BTreeSet<String> = changed_contacts
            .iter()
            .filter_map(|c| reference(c, "COMPANY_ID"))
            .filter(|id| !known.contains(id))
            .collect();
        if !more.is_empty() {
            companies.extend(
                api.list_by_ids("crm.company.list", &company_fields, "ID", &more)
                    .await?,
            );
        }
        let mut contacts: BTreeMap<String, Value> = changed_contacts
            .iter()
            .filter_map(|c| text(c.get("ID")).map(|id| (id, c.clone())))
            .collect();
        if !plan.is_full() {
            let company_ids: BTreeSet<String> =
                companies.iter().filter_map(|c| text(c.get("ID"))).collect();
            if !company_ids.is_empty() {
                for contact in api
                    .list_by_ids(
                        "crm.contact.list",
                        CONTACT_FIELDS,
                        "COMPANY_ID",
                        &company_ids,
                    )
                    .await?
                {
                    if let Some(id) = text(contact.get("ID")) {
                        contacts.insert(id, contact);
                    }
                }
            }
        }
        let mut emails_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for contact in contacts.values() {
            if let Some(company) = reference(contact, "COMPANY_ID") {
                emails_of.entry(company).or_default().extend(
                    multifield(contact, "EMAIL")
                        .iter()
                        .filter_map(|e| clean_email(e)),
                );
            }
        }

        for company in &companies {
            batch.client(self.company(company, &emails_of, ctx), || {
                format!("{}: company {}", conn.id, id_text(company))
            });
        }
        for contact in &changed_contacts {
            if reference(contact, "COMPANY_ID").is_some() {
                continue;
            }
            batch.client(self.contact(contact, ctx), || {
                format!("{}: contact {}", conn.id, id_text(contact))
            });
        }
        for deal in &deals {
            let semantic = text(deal.get("STAGE_SEMANTIC_ID")).unwrap_or_default();
            if !conn.won.contains(&semantic) {
                if let Some(id) = text(deal.get("ID")) {
                    batch.deleted_orders.push(conn.id_of(&id));
                }
                continue;
            }
            batch.order(self.order(deal, ctx), || {
                format!("{}: deal {}", conn.id, id_text(deal))
            });
        }
        Ok(batch.finish(conn, plan))
    }
}

fn id_text(record: &Value) -> String {
    text(record.get("ID")).unwrap_or_else(|| "(no ID)".into())
}

impl Bitrix24 {
    pub(crate) fn company(
        &self,
        record: &Value,
        emails_of: &BTreeMap<String, Vec<String>>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("ID")).ok_or("no ID")?;
        let name = text(record.get("TITLE")).ok_or(format!("company {id} has no TITLE"))?;
        let mut emails: Vec<String> = multifield(record, "EMAIL")
            .iter()
            .filter_map(|e| clean_email(e))
            .collect();
        emails.extend(emails_of.get(&id).cloned().unwrap_or_default());
        emails.sort();
        emails.dedup();
        let mut domains: Vec<String> = multifield(record, "WEB")
            .iter()
            .filter_map(|w| clean_domain(w))
            .collect();
        domains.sort();
        domains.dedup();
        Ok(Client {
            id: conn.id_of(&id),
            name,
            aliases: vec![],
            domains,
            emails,
            manager: text(record.get("ASSIGNED_BY_ID")).and_then(|m| ctx.manager_for(&m)),
            key: self
                .key
                .as_ref()
                .is_some_and(|k| k.marks(&texts(record.get(&k.field), None))),
        })
    }

    pub(crate) fn contact(&self, record: &Value, ctx: &SyncContext) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("ID")).ok_or("no ID")?;
        let mut emails: Vec<String> = multifield(record, "EMAIL")
            .iter()
            .filter_map(|e| clean_email(e))
            .collect();
        emails.sort();
        emails.dedup();
        let parts: Vec<String> = ["NAME", "LAST_NAME"]
            .iter()
            .filter_map(|k| text(record.get(*k)))
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
            manager: text(record.get("ASSIGNED_BY_ID")).and_then(|m| ctx.manager_for(&m)),
            key: false,
        })
    }

    pub(crate) fn order(&self, deal: &Value, ctx: &SyncContext) -> Result<Order, String> {
        let conn = &self.conn;
        let id = text(deal.get("ID")).ok_or("no ID")?;
        let client_id = match (reference(deal, "COMPANY_ID"), reference(deal, "CONTACT_ID")) {
            (Some(company), _) => conn.id_of(&company),
            (None, Some(contact)) => conn.id_of(&format!("contact-{contact}")),
            (None, None) => return Err(format!("won deal {id} has no company or contact")),
        };
        let created_at = instant(
            deal.get("CLOSEDATE").filter(|v| text(Some(v)).is_some()),
            conn.tz,
        )
        .or_else(|| instant(deal.get("DATE_CREATE"), conn.tz))
        .ok_or(format!("deal {id}: CLOSEDATE is not a date"))?;
        let amount = number(deal.get("OPPORTUNITY")).ok_or(format!(
            "deal {id}: OPPORTUNITY {} is not a number",
            deal.get("OPPORTUNITY").unwrap_or(&Value::Null)
        ))?;
        let stage = text(deal.get("STAGE_ID")).unwrap_or_default();
        Ok(Order {
            id: conn.id_of(&id),
            client_id,
            created_at,
            amount,
            currency: text(deal.get("CURRENCY_ID")).unwrap_or_default(),
            cancelled: conn.cancelled.contains(&stage),
            status: stage,
            manager: text(deal.get("ASSIGNED_BY_ID")).and_then(|m| ctx.manager_for(&m)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_must_grow_within_and_across_pages() {
        let page = |ids: &[&str]| ids.iter().map(|id| json!({"ID": id})).collect::<Vec<_>>();
        assert_eq!(advancing_ids(0, &page(&["2", "9", "10"])), Ok(10));
        assert_eq!(advancing_ids(10, &[]), Ok(10));
        assert!(advancing_ids(10, &page(&["3", "11"])).is_err(), "went back");
        assert!(advancing_ids(0, &page(&["5", "5"])).is_err(), "repeated");
        assert!(advancing_ids(0, &page(&["x"])).is_err(), "not a number");
    }
}
