//! amoCRM (API v4, long-lived token as `Authorization: Bearer`): companies
//! (and contacts that belong to no company) as clients, with emails and web
//! sites from `custom_fields_values` (field codes `EMAIL`, `WEB`) and their
//! contacts' emails; leads in a won status (142 unless `won_statuses` says
//! otherwise) as orders at their `closed_at` with their `price` (exact as
//! `price_with_minor_units` where Kommo sends it). Later syncs ask for
//! `filter[updated_at][from]`; deletions come from `/api/v4/events`. A list
//! with nothing to return answers 204 without a body.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::common::{
    call_failure, clean_domain, clean_email, collect_pages_with, instant, next_from_body,
    next_page_on_origin, number, path, text, texts, Batch, Connector, Page, Paging,
};
use crate::config::{Config, CrmConfig};
use crate::model::{Client, Order};
use crate::secrets::Secret;
use crate::sources::{CrmFetch, CrmSource, SyncContext};

/// amoCRM allows 7 requests per second per integration (API docs, "Limits").
const RATE: f64 = 7.0;
/// Largest page amoCRM lists return.
const PAGE: u64 = 250;
/// The system "successfully realized" status of every pipeline.
const WON: &str = "142";
const PROVIDER: &str = "amocrm";
const FIX: &str = "create a new long-lived token (amoCRM → Settings → Integrations → your private integration → Keys and scopes) and update `token`";

pub struct AmoCrm {
    conn: Connector,
}

impl AmoCrm {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> AmoCrm {
        AmoCrm {
            conn: Connector::new(c, config, http, &[WON]),
        }
    }
}

struct Api<'a> {
    conn: &'a Connector,
    base: String,
    token: Secret,
}

impl Api<'_> {
    /// Every record of `/api/v4/{entity}` matching `query`, following
    /// `_links.next.href`.
    async fn list(&self, entity: &str, query: &[(String, String)]) -> Result<Vec<Value>> {
        let first = {
            let mut url = reqwest::Url::parse(&format!("{}/api/v4/{entity}", self.base))?;
            url.query_pairs_mut()
                .append_pair("limit", &PAGE.to_string())
                .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            url.to_string()
        };
        let name = format!("{PROVIDER} GET /api/v4/{entity}");
        let name = &name;
        let paging = Paging {
            name,
            ..Paging::default()
        };
        collect_pages_with(paging, |next| {
            let url = match next {
                Some(next) => next_page_on_origin(&first, &next, name),
                None => Ok(first.clone()),
            };
            async move {
                let url = url?;
                let response = self
                    .conn
                    .http
                    .send(|c| c.get(&url).bearer_auth(self.token.expose()))
                    .await
                    .map_err(|e| {
                        call_failure(e, PROVIDER, &format!("GET /api/v4/{entity}"), FIX)
                    })?;
                // 204 No Content: nothing matches.
                if response.status == reqwest::StatusCode::NO_CONTENT || response.body.is_empty() {
                    return Ok(Page {
                        items: vec![],
                        next: None,
                    });
                }
                let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
                    anyhow::anyhow!("{name}: {}", crate::sources::http::unreadable_json(&e))
                })?;
                Ok(Page {
                    items: path(&body, &format!("_embedded.{entity}"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    next: next_from_body(&body, "_links.next.href"),
                })
            }
        })
        .await
    }

    async fn by_ids(&self, entity: &str, ids: &BTreeSet<String>, with: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let ids: Vec<&String> = ids.iter().collect();
        for chunk in ids.chunks(PAGE as usize) {
            let mut query: Vec<(String, String)> = chunk
                .iter()
                .map(|id| ("filter[id][]".to_string(), id.to_string()))
                .collect();
            query.push(("with".into(), with.into()));
            out.extend(self.list(entity, &query).await?);
        }
        Ok(out)
    }
}

fn updated_from(since: Option<DateTime<Utc>>) -> Vec<(String, String)> {
    since
        .map(|t| {
            vec![(
                "filter[updated_at][from]".to_string(),
                t.timestamp().to_string(),
            )]
        })
        .unwrap_or_default()
}

/// Values of the custom fields with this code (`EMAIL`, `WEB`).
fn field_values(record: &Value, code: &str) -> Vec<String> {
    record
        .get("custom_fields_values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| text(f.get("field_code")).as_deref() == Some(code))
        .flat_map(|f| texts(f.get("values"), Some("value")))
        .collect()
}

fn linked(record: &Value, entity: &str) -> Vec<String> {
    texts(path(record, &format!("_embedded.{entity}")), Some("id"))
}

#[async_trait]
impl CrmSource for AmoCrm {
    fn id(&self) -> &str {
        &self.conn.id
    }

    fn kind(&self) -> &'static str {
        "amocrm"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        let conn = &self.conn;
        let base = conn.base("");
        conn.pace(&base, RATE);
        let api = Api {
            conn,
            base,
            token: conn.secret()?,
        };
        let plan = conn.plan(cursor, ctx.now);
        let filter = updated_from(plan.since);
        let with = |w: &str| {
            let mut q = filter.clone();
            q.push(("with".into(), w.into()));
            q
        };
        let mut batch = Batch::default();

        let mut companies = api.list("companies", &with("contacts")).await?;
        let contacts_changed = api.list("contacts", &with("companies")).await?;
        let leads = api.list("leads", &with("contacts")).await?;

        // A changed contact changes its company's emails: read that company too.
        let known: BTreeSet<String> = companies.iter().filter_map(|c| text(c.get("id"))).collect();
        let more: BTreeSet<String> = contacts_changed
            .iter()
            .flat_map(|c| linked(c, "companies"))
            .filter(|id| !known.contains(id))
            .collect();
        if !plan.is_full() && !more.is_empty() {
            companies.extend(api.by_ids("companies", &more, "contacts").await?);
        }
        // Contacts of those companies, for their emails.
        let mut contacts: BTreeMap<String, Value> = contacts_changed
            .iter()
            .filter_map(|c| text(c.get("id")).map(|id| (id, c.clone())))
            .collect();
        let wanted: BTreeSet<String> = companies
            .iter()
            .flat_map(|c| linked(c, "contacts"))
            .filter(|id| !contacts.contains_key(id))
            .collect();
        if !wanted.is_empty() {
            for contact in api.by_ids("contacts", &wanted, "companies").await? {
                if let Some(id) = text(contact.get("id")) {
                    contacts.insert(id, contact);
                }
            }
        }

        for company in &companies {
            batch.client(self.company(company, &contacts, ctx), || {
                format!("{}: company {}", conn.id, id_text(company))
            });
        }
        for contact in &contacts_changed {
            if !linked(contact, "companies").is_empty() {
                continue;
            }
            batch.client(self.contact(contact, ctx), || {
                format!("{}: contact {}", conn.id, id_text(contact))
            });
        }
        for lead in &leads {
            let status = text(lead.get("status_id")).unwrap_or_default();
            if !conn.won.contains(&status) {
                // No longer (or never) won: not an order.
                if let Some(id) = text(lead.get("id")) {
                    batch.deleted_orders.push(conn.id_of(&id));
                }
                continue;
            }
            batch.order(self.order(lead, &status, ctx), || {
                format!("{}: lead {}", conn.id, id_text(lead))
            });
        }

        if let Some(since) = plan.since {
            let query = vec![
                ("filter[type][]".to_string(), "lead_deleted".to_string()),
                ("filter[type][]".to_string(), "company_deleted".to_string()),
                ("filter[type][]".to_string(), "contact_deleted".to_string()),
                (
                    "filter[created_at][from]".to_string(),
                    since.timestamp().to_string(),
                ),
            ];
            for event in api.list("events", &query).await? {
                let Some(id) = text(event.get("entity_id")) else {
                    continue;
                };
                match text(event.get("type")).as_deref() {
                    Some("lead_deleted") => batch.deleted_orders.push(conn.id_of(&id)),
                    Some("company_deleted") => batch.deleted_clients.push(conn.id_of(&id)),
                    Some("contact_deleted") => batch
                        .deleted_clients
                        .push(conn.id_of(&format!("contact-{id}"))),
                    _ => {}
                }
            }
        }
        Ok(batch.finish(conn, plan))
    }
}

fn id_text(record: &Value) -> String {
    text(record.get("id")).unwrap_or_else(|| "(no id)".into())
}

impl AmoCrm {
    pub(crate) fn company(
        &self,
        record: &Value,
        contacts: &BTreeMap<String, Value>,
        ctx: &SyncContext,
    ) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let name = text(record.get("name")).ok_or(format!("company {id} has no name"))?;
        let mut emails: Vec<String> = field_values(record, "EMAIL")
            .iter()
            .filter_map(|e| clean_email(e))
            .collect();
        for contact in linked(record, "contacts") {
            if let Some(c) = contacts.get(&contact) {
                emails.extend(
                    field_values(c, "EMAIL")
                        .iter()
                        .filter_map(|e| clean_email(e)),
                );
            }
        }
        emails.sort();
        emails.dedup();
        let mut domains: Vec<String> = field_values(record, "WEB")
            .iter()
            .filter_map(|w| clean_domain(w))
            .collect();
        domains.sort();
        domains.dedup();
        let tags = texts(path(record, "_embedded.tags"), Some("name"));
        Ok(Client {
            id: conn.id_of(&id),
            name,
            aliases: vec![],
            domains,
            emails,
            manager: text(record.get("responsible_user_id")).and_then(|m| ctx.manager_for(&m)),
            key: conn.is_key(&tags),
        })
    }

    pub(crate) fn contact(&self, record: &Value, ctx: &SyncContext) -> Result<Client, String> {
        let conn = &self.conn;
        let id = text(record.get("id")).ok_or("no id")?;
        let mut emails: Vec<String> = field_values(record, "EMAIL")
            .iter()
            .filter_map(|e| clean_email(e))
            .collect();
        emails.sort();
        emails.dedup();
        let name = text(record.get("name"))
            .or_else(|| emails.first().cloned())
            .ok_or(format!("contact {id} has neither a name nor an email"))?;
        let tags = texts(path(record, "_embedded.tags"), Some("name"));
        Ok(Client {
            id: conn.id_of(&format!("contact-{id}")),
            name,
            aliases: vec![],
            domains: vec![],
            emails,
            manager: text(record.get("responsible_user_id")).and_then(|m| ctx.manager_for(&m)),
            key: conn.is_key(&tags),
        })
    }

    pub(crate) fn order(
        &self,
        lead: &Value,
        status: &str,
        ctx: &SyncContext,
    ) -> Result<Order, String> {
        let conn = &self.conn;
        let id = text(lead.get("id")).ok_or("no id")?;
        let client_id = match linked(lead, "companies").first() {
            Some(company) => conn.id_of(company),
            None => {
                let contacts = path(lead, "_embedded.contacts").and_then(Value::as_array);
                let main = contacts
                    .and_then(|list| {
                        list.iter()
                            .find(|c| c.get("is_main") == Some(&Value::Bool(true)))
                            .or(list.first())
                    })
                    .and_then(|c| text(c.get("id")))
                    .ok_or(format!("won lead {id} has no company or contact"))?;
                conn.id_of(&format!("contact-{main}"))
            }
        };
        let closed = lead.get("closed_at").filter(|v| !v.is_null());
        let created_at = instant(closed.or(lead.get("created_at")), conn.tz)
            .ok_or(format!("lead {id} has no closed_at or created_at"))?;
        // Kommo accounts with budgets in kopecks/cents send the exact budget
        // as `price_with_minor_units`; `price` is then its integer part.
        let amount = number(lead.get("price_with_minor_units"))
            .or_else(|| number(lead.get("price")))
            .ok_or(format!("lead {id}: price is not a number"))?;
        Ok(Order {
            id: conn.id_of(&id),
            client_id,
            created_at,
            amount,
            currency: String::new(),
            cancelled: conn.cancelled.iter().any(|c| c == status),
            status: status.to_string(),
            manager: text(lead.get("responsible_user_id")).and_then(|m| ctx.manager_for(&m)),
        })
    }
}
