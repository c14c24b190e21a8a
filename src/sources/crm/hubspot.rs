//! HubSpot (CRM v3 objects, associations v4; private app token as
//! `Authorization: Bearer`): companies (`domain`, `hs_additional_domains`;
//! key accounts by `key_field`, default the target-account flag) and
//! contacts without a company as clients, contacts' emails joined to their
//! `associatedcompanyid`; deals in a closed-won stage (`closedwon` unless
//! `won_statuses` says otherwise) as orders at `closedate` for `amount` in
//! `deal_currency_code`. A deal's client is its primary company (the
//! HubSpot-defined deal→company association type 5); a deal with one
//! company and no primary mark has that one; without a company, its one
//! contact. Anything else is ambiguous: the deal is skipped with a warning.
//!
//! A full read pages the list endpoints; deals gone from it are gone from
//! the store. Later syncs use the search endpoint on the last-modified
//! property from the last successful sync minus the overlap; search never
//! pages past 10 000 results, so a window with more is halved until each
//! part fits. Search cannot see archived (deleted) deals: they leave with
//! the next full read (`full_sync_hours`); only with full reads turned off
//! do later syncs page the archive to learn them. Every pager stops with an
//! error on a repeated `after` token. 429 answers are retried by the HTTP
//! client after Retry-After.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use serde_json::{json, Value};

use super::common::{
    clean_domain, clean_email, collect_pages, http_failure, instant, next_from_body, number, path,
    text, texts, url_with, Batch, Connector, Page, MAX_PAGES,
};
use crate::config::{Config, CrmConfig, KeyField};
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
/// The HubSpot-defined association type "Deal with Primary Company"
/// (`primaryDealToCompany = 5` in the official Node SDK's
/// src/enums/AssociationTypes.ts; unlabeled deal→company is 341).
const PRIMARY_DEAL_TO_COMPANY: u64 = 5;
/// Company property marking key accounts unless `key_field` names another.
const DEFAULT_KEY_FIELD: &str = "hs_is_target_account";
const FIX: &str = "create a new access token (HubSpot → Settings → Integrations → Private apps) with the scopes crm.objects.companies.read, crm.objects.contacts.read and crm.objects.deals.read, and update `token`";

const COMPANY_PROPS: &[&str] = &[
    "name",
    "domain",
    "hs_additional_domains",
    "hubspot_owner_id",
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
    key: KeyField,
}

impl HubSpot {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> HubSpot {
        HubSpot {
            conn: Connector::new(c, config, http, &["closedwon"]),
            key: KeyField::of(c, Some(DEFAULT_KEY_FIELD)).expect("a default key field"),
        }
    }

    /// The company properties to ask for: ours plus the key-account one.
    fn company_props(&self) -> Vec<&str> {
        let mut props = COMPANY_PROPS.to_vec();
        props.push(&self.key.field);
        props
    }
}

/// A record associated with another, and whether HubSpot marks it the
/// primary one (deal→company).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Associated {
    pub id: String,
    pub primary: bool,
}

/// Whether a v4 association's `associationTypes` hold the HubSpot-defined
/// primary deal→company type.
fn is_primary(to: &Value) -> bool {
    to.get("associationTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|t| {
            text(t.get("category")).as_deref() == Some("HUBSPOT_DEFINED")
                && t.get("typeId").and_then(Value::as_u64) == Some(PRIMARY_DEAL_TO_COMPANY)
        })
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
                    items: results(&body),
                    next: next_from_body(&body, "paging.next.after"),
                })
            }
        })
        .await
        .map_err(|e| anyhow!("HubSpot GET /crm/v3/objects/{object}: {e}"))
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
                    return Err(anyhow!("HubSpot POST {path}: more than {SEARCH_WINDOW} {object} modified in the same millisecond; cannot page them"));
                }
                let mid = lo + (hi - lo) / 2;
                windows.push((mid, hi));
                windows.push((lo, mid));
                continue;
            }
            let mut first = Some(first);
            let (path, request) = (&path, &request);
            let found = collect_pages(|after| {
                let ready = first.take().filter(|_| after.is_none());
                async move {
                    let page = match ready {
                        Some(page) => page,
                        None => self.post(path, &request(after)).await?,
                    };
                    Ok(Page {
                        items: results(&page),
                        next: next_from_body(&page, "paging.next.after"),
                    })
                }
            })
            .await
            .map_err(|e| anyhow!("HubSpot POST {path}: {e}"))?;
            out.extend(found);
        }
        Ok(out)
    }

    /// Associated records: from-id → to-records (associations v4 batch
    /// read). A record with more associations than one answer holds gets a
    /// `paging.next.after` of its own, asked for with its next input.
    async fn associations(
        &self,
        from: &str,
        to: &str,
        ids: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<Associated>>> {
        let endpoint = format!("/crm/v4/associations/{from}/{to}/batch/read");
        let mut out: BTreeMap<String, Vec<Associated>> = BTreeMap::new();
        // (record, token) pairs already asked for: a repeated one would loop.
        let mut asked: BTreeSet<(String, String)> = BTreeSet::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(BATCH) {
            let mut inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
            while !inputs.is_empty() {
                let body = self.post(&endpoint, &json!({ "inputs": inputs })).await?;
                inputs = Vec::new();
                for result in results(&body) {
                    let Some(id) = text(path(&result, "from.id")) else {
                        continue;
                    };
                    let linked = out.entry(id.clone()).or_default();
                    for target in result
                        .get("to")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(to_id) = text(target.get("toObjectId")) {
                            linked.push(Associated {
                                id: to_id,
                                primary: is_primary(target),
                            });
                        }
                    }
                    if let Some(after) = next_from_body(&result, "paging.next.after") {
                        if !asked.insert((id.clone(), after.clone())) {
                            return Err(anyhow!("HubSpot POST {endpoint}: the page token `{after}` of {from} {id} came back twice; stopped paging"));
                        }
                        if asked.len() > MAX_PAGES {
                            return Err(anyhow!("HubSpot POST {endpoint}: more than {MAX_PAGES} pages; stopped paging"));
                        }
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
            out.extend(results(&body));
        }
        Ok(out)
    }
}

/// The records of an answer (`results`).
fn results(body: &Value) -> Vec<Value> {
    body.get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
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
        let company_props = self.company_props();
        let company_props = company_props.as_slice();
        let (mut companies, contacts, deals);
        match plan.since {
            None => {
                companies = api.list("companies", company_props, false).await?;
                contacts = api.list("contacts", CONTACT_PROPS, false).await?;
                deals = api.list("deals", DEAL_PROPS, false).await?;
            }
            Some(since) => {
                let (from, to) = (since.timestamp_millis(), ctx.now.timestamp_millis() + 1);
                companies = api.search("companies", company_props, from, to).await?;
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
                    companies.extend(api.read("companies", company_props, &more).await?);
                }
                let linked = api
                    .associations("companies", "contacts", &ids_of(&companies))
                    .await?;
                let have = ids_of(&changed);
                let wanted: BTreeSet<String> = linked
                    .values()
                    .flatten()
                    .filter(|contact| !have.contains(&contact.id))
                    .map(|contact| contact.id.clone())
                    .collect();
                if !wanted.is_empty() {
                    changed.extend(api.read("contacts", CONTACT_PROPS, &wanted).await?);
                }
                contacts = changed;
                // Search does not see archived deals; the scheduled full read
                // drops them. Without one, the archive is the only trace.
                let archive = if conn.full_every.is_none() {
                    api.list("deals", &["dealname"], true).await?
                } else {
                    Vec::new()
                };
                for deal in archive {
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
            key: self.key.marks(&texts(prop(record, &self.key.field), None)),
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
        companies: &BTreeMap<String, Vec<Associated>>,
        contacts: &BTreeMap<String, Vec<Associated>>,
        ctx: &SyncContext,
    ) -> Result<Order, String> {
        let conn = &self.conn;
        let id = text(deal.get("id")).ok_or("no id")?;
        let client_id = deal_client(&id, companies, contacts)?;
        let client_id = match client_id {
            DealClient::Company(company) => conn.id_of(&company),
            DealClient::Contact(contact) => conn.id_of(&format!("contact-{contact}")),
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

/// Whom a won deal is credited to.
#[derive(Debug, PartialEq, Eq)]
enum DealClient {
    Company(String),
    Contact(String),
}

/// The client of deal `id`: its primary company; a company that is its only
/// one; else, without companies, its only contact. Several companies of
/// which none is primary, or several contacts and no company, do not say
/// who bought: an error naming them (the deal is skipped with a warning).
fn deal_client(
    id: &str,
    companies: &BTreeMap<String, Vec<Associated>>,
    contacts: &BTreeMap<String, Vec<Associated>>,
) -> Result<DealClient, String> {
    let distinct = |map: &BTreeMap<String, Vec<Associated>>, primary_only: bool| {
        map.get(id)
            .into_iter()
            .flatten()
            .filter(|a| a.primary || !primary_only)
            .map(|a| a.id.clone())
            .collect::<BTreeSet<String>>()
    };
    let primary = distinct(companies, true);
    let all_companies = distinct(companies, false);
    let mut chosen = if primary.is_empty() {
        all_companies
    } else {
        primary
    };
    if chosen.len() == 1 {
        return Ok(DealClient::Company(chosen.pop_first().unwrap_or_default()));
    }
    if !chosen.is_empty() {
        let list: Vec<String> = chosen.into_iter().collect();
        return Err(format!(
            "won deal {id} is associated with companies {} and none is its primary company; mark the primary company of the deal in HubSpot",
            list.join(", ")
        ));
    }
    let mut people = distinct(contacts, false);
    match people.len() {
        0 => Err(format!(
            "won deal {id} is associated with no company or contact"
        )),
        1 => Ok(DealClient::Contact(people.pop_first().unwrap_or_default())),
        _ => {
            let list: Vec<String> = people.into_iter().collect();
            Err(format!(
                "won deal {id} has no company and several contacts ({}); associate the buying company with the deal in HubSpot",
                list.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(deal: &str, to: &[(&str, bool)]) -> BTreeMap<String, Vec<Associated>> {
        [(
            deal.to_string(),
            to.iter()
                .map(|(id, primary)| Associated {
                    id: id.to_string(),
                    primary: *primary,
                })
                .collect(),
        )]
        .into()
    }

    #[test]
    fn the_primary_company_is_the_client_whatever_the_ids() {
        let none = BTreeMap::new();
        // HubSpot lists a primary company twice: typeId 5 and the unlabeled 341.
        let companies = linked("7", &[("1001", false), ("99", false), ("1001", true)]);
        assert_eq!(
            deal_client("7", &companies, &none),
            Ok(DealClient::Company("1001".into()))
        );
        let one = linked("7", &[("99", false)]);
        assert_eq!(
            deal_client("7", &one, &none),
            Ok(DealClient::Company("99".into()))
        );
        let two = linked("7", &[("99", false), ("1001", false)]);
        let error = deal_client("7", &two, &none).unwrap_err();
        assert!(
            error.contains("99, 1001") || error.contains("1001, 99"),
            "{error}"
        );
    }

    #[test]
    fn a_deal_without_a_company_is_its_only_contacts() {
        let none = BTreeMap::new();
        assert_eq!(
            deal_client("7", &none, &linked("7", &[("301", false)])),
            Ok(DealClient::Contact("301".into()))
        );
        assert!(deal_client("7", &none, &linked("7", &[("301", false), ("302", false)])).is_err());
        assert!(deal_client("7", &none, &none).is_err());
    }
}
