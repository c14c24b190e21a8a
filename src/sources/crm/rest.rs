//! `rest`: any JSON API described in config (`[crm.rest]`), so 1C or an
//! in-house system can be connected without code. Each of the two
//! endpoints (clients, orders) has a URL template, where its records sit
//! in a page, how it pages (page number, offset, cursor field, Link
//! header) and dot paths from a record to our fields. With `{since}` in
//! both templates later syncs read only what changed (a record whose
//! `deleted` field is true is removed); without it every sync is a full read.

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::common::{
    call_failure, call_name, clean_domain, clean_email, collect_pages_with, flag, instant,
    link_header_next, next_from_body, next_page_on_origin, next_when_full, number, path, text,
    texts, url_with, Batch, Connector, Page, Paging,
};
use crate::config::{Config, CrmConfig, RestConfig, RestEndpoint, RestPagination};
use crate::model::{Client, Order};
use crate::sources::{CrmFetch, CrmSource, SyncContext};

const FIX: &str = "check the token referenced by `token` and its rights in the API";

pub struct RestCrm {
    conn: Connector,
    rest: Option<RestConfig>,
    has_token: bool,
}

impl RestCrm {
    pub fn new(c: &CrmConfig, config: &Config, http: crate::sources::http::HttpClient) -> RestCrm {
        RestCrm {
            conn: Connector::new(c, config, http, &[]),
            rest: c.rest.clone(),
            has_token: c.token.is_some(),
        }
    }

    fn render(&self, template: &str, since: Option<DateTime<Utc>>) -> String {
        let since = since.unwrap_or(DateTime::UNIX_EPOCH);
        template
            .replace("{base}", &self.conn.base(""))
            .replace(
                "{since}",
                &since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .replace("{since_unix}", &since.timestamp().to_string())
    }

    /// Every record of one endpoint.
    async fn records(
        &self,
        endpoint: &RestEndpoint,
        header: Option<(String, String)>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Value>> {
        let first = self.render(&endpoint.url, since);
        let header = &header;
        // Errors name the endpoint by method and path: its query (filters,
        // perhaps a key) is never shown.
        let provider = format!("rest {}", self.conn.id);
        let name = format!("{provider} {}", call_name("GET", &first));
        let (provider, name) = (&provider, &name);
        let paging = Paging {
            name,
            id_path: endpoint.fields.get("id").map(String::as_str),
            ..Paging::default()
        };
        collect_pages_with(paging, |token| {
            let first = first.clone();
            async move {
                let url = match (&endpoint.pagination, &token) {
                    (RestPagination::None, _) => first.clone(),
                    (
                        RestPagination::Page {
                            param,
                            start,
                            size_param,
                            size,
                        },
                        _,
                    ) => {
                        let page = token.clone().unwrap_or_else(|| start.to_string());
                        let mut q = vec![(param.clone(), page)];
                        q.extend(size_param.iter().map(|p| (p.clone(), size.to_string())));
                        url_with(&first, &q)?
                    }
                    (
                        RestPagination::Offset {
                            param,
                            size_param,
                            size,
                        },
                        _,
                    ) => {
                        let offset = token.clone().unwrap_or_else(|| "0".into());
                        let mut q = vec![(param.clone(), offset)];
                        q.extend(size_param.iter().map(|p| (p.clone(), size.to_string())));
                        url_with(&first, &q)?
                    }
                    (RestPagination::Cursor { param, .. }, Some(cursor)) => {
                        url_with(&first, &[(param.clone(), cursor.clone())])?
                    }
                    (RestPagination::Cursor { .. }, None) => first.clone(),
                    (RestPagination::Link, Some(next)) => next_page_on_origin(&first, next, name)?,
                    (RestPagination::Link, None) => first.clone(),
                };
                let (body, response) = self
                    .conn
                    .http
                    .json::<Value, _>(|c| {
                        let request = c.get(&url);
                        match header {
                            Some((name, value)) => request.header(name.as_str(), value.as_str()),
                            None => request,
                        }
                    })
                    .await
                    .map_err(|e| call_failure(e, provider, &call_name("GET", &url), FIX))?;
                let items = path(&body, &endpoint.items)
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| {
                        anyhow!("{name}: no array at `{}` in the answer", endpoint.items)
                    })?;
                let count = items.len();
                let next = match &endpoint.pagination {
                    RestPagination::None => None,
                    RestPagination::Page { start, size, .. } => {
                        let page: u64 = token
                            .as_deref()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(*start);
                        next_when_full(page, 1, count, *size)
                    }
                    RestPagination::Offset { size, .. } => {
                        let offset: u64 =
                            token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
                        next_when_full(offset, *size, count, *size)
                    }
                    RestPagination::Cursor { field, .. } => next_from_body(&body, field),
                    RestPagination::Link => link_header_next(&response.headers),
                };
                Ok(Page { items, next })
            }
        })
        .await
    }
}

fn field<'a>(endpoint: &RestEndpoint, record: &'a Value, name: &str) -> Option<&'a Value> {
    endpoint.fields.get(name).and_then(|p| path(record, p))
}

#[async_trait]
impl CrmSource for RestCrm {
    fn id(&self) -> &str {
        &self.conn.id
    }

    fn kind(&self) -> &'static str {
        "rest"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch> {
        let rest = self
            .rest
            .clone()
            .ok_or_else(|| anyhow!("CRM {}: no [crm.rest] mapping", self.conn.id))?;
        let header = if self.has_token {
            Some((
                rest.auth_header.clone(),
                format!("{}{}", rest.auth_prefix, self.conn.secret()?.expose()),
            ))
        } else {
            None
        };
        let incremental = rest.clients.url.contains("{since") && rest.orders.url.contains("{since");
        let mut plan = self
            .conn
            .plan(if incremental { cursor } else { None }, ctx.now);
        if !incremental {
            plan.since = None;
        }
        let conn = &self.conn;
        let mut batch = Batch::default();
        let clients = self
            .records(&rest.clients, header.clone(), plan.since)
            .await?;
        let orders = self.records(&rest.orders, header, plan.since).await?;
        for (i, record) in clients.iter().enumerate() {
            self.client_record(&rest.clients, i, record, ctx, &mut batch);
        }
        for (i, record) in orders.iter().enumerate() {
            self.order_record(&rest.orders, i, record, ctx, &mut batch);
        }
        Ok(batch.finish(conn, plan))
    }
}

impl RestCrm {
    /// The `i`-th record (0-based) of the clients endpoint into `batch`:
    /// a client, a deletion, or a warning.
    pub(crate) fn client_record(
        &self,
        e: &RestEndpoint,
        i: usize,
        record: &Value,
        ctx: &SyncContext,
        batch: &mut Batch,
    ) {
        let conn = &self.conn;
        let Some(id) = text(field(e, record, "id")) else {
            batch.skip(
                format!("{}: clients record {}", conn.id, i + 1),
                "no id; skipped",
            );
            return;
        };
        if flag(field(e, record, "deleted")) {
            batch.deleted_clients.push(conn.id_of(&id));
            return;
        }
        let Some(name) = text(field(e, record, "name")) else {
            batch.skip(format!("{}: client {id}", conn.id), "no name; skipped");
            return;
        };
        let mut emails: Vec<String> = texts(field(e, record, "emails"), None)
            .iter()
            .filter_map(|m| clean_email(m))
            .collect();
        emails.sort();
        emails.dedup();
        let mut domains: Vec<String> = texts(field(e, record, "domains"), None)
            .iter()
            .filter_map(|d| clean_domain(d))
            .collect();
        domains.sort();
        domains.dedup();
        batch.clients.push(Client {
            id: conn.id_of(&id),
            name,
            aliases: texts(field(e, record, "aliases"), None),
            domains,
            emails,
            manager: text(field(e, record, "manager")).and_then(|m| ctx.manager_for(&m)),
            key: flag(field(e, record, "key")),
        });
    }

    /// The `i`-th record (0-based) of the orders endpoint into `batch`:
    /// an order, a deletion, or a warning.
    pub(crate) fn order_record(
        &self,
        e: &RestEndpoint,
        i: usize,
        record: &Value,
        ctx: &SyncContext,
        batch: &mut Batch,
    ) {
        let conn = &self.conn;
        let Some(id) = text(field(e, record, "id")) else {
            batch.skip(
                format!("{}: orders record {}", conn.id, i + 1),
                "no id; skipped",
            );
            return;
        };
        if flag(field(e, record, "deleted")) {
            batch.deleted_orders.push(conn.id_of(&id));
            return;
        }
        let order = (|| -> Result<Order, String> {
            let client = text(field(e, record, "client_id")).ok_or("no client_id")?;
            let created_at = instant(field(e, record, "created_at"), conn.tz)
                .ok_or("created_at is missing or not a date")?;
            let amount =
                number(field(e, record, "amount")).ok_or("amount is missing or not a number")?;
            let status = text(field(e, record, "status")).unwrap_or_default();
            let cancelled = flag(field(e, record, "cancelled"))
                || matches!(status.to_lowercase().as_str(), "cancelled" | "canceled")
                || conn.cancelled.contains(&status);
            Ok(Order {
                id: conn.id_of(&id),
                client_id: conn.id_of(&client),
                created_at,
                amount,
                currency: text(field(e, record, "currency")).unwrap_or_default(),
                status,
                cancelled,
                manager: text(field(e, record, "manager")).and_then(|m| ctx.manager_for(&m)),
            })
        })();
        match order {
            Ok(order) => batch.orders.push(order),
            Err(message) => batch.skip(
                format!("{}: order {id}", conn.id),
                format!("{message}; skipped"),
            ),
        }
    }
}
