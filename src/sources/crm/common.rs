//! What every API connector shares, so that a connector is mostly a mapping
//! from the provider's JSON to `Client` and `Order`: the connector settings
//! read from `[[crm]]`, the sync cursor (`updated since` with an overlap,
//! plus provider marks such as RetailCRM's history ids, plus the time of the
//! last full read), JSON field paths and lenient value readers, the
//! pagination driver and its next-page helpers (page number, offset/start,
//! cursor field, Link header), currency conversion, and HTTP errors turned
//! into messages an administrator can act on. No provider-specific code here.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, CrmConfig, SecretRef};
use crate::model::{Client, Order};
use crate::secrets::Secret;
use crate::sources::http::{HttpClient, HttpError};
use crate::sources::{CrmFetch, SourceWarning};

/// Upper bound on pages of one list. The guards of `collect_pages` stop a
/// pager that repeats itself; this cap stops one that keeps inventing new
/// pages. Sized to the largest list a real account gives us, the orders of a
/// full read: 20 000 pages hold 2 M RetailCRM orders or HubSpot deals (100 a
/// page), 5 M amoCRM leads (250) or 1 M Bitrix24 deals (50). At the slowest
/// documented pace (Bitrix24, 2 requests/s) that read takes under 3 hours,
/// one night; a list longer than that is a broken pager, not an account.
pub const MAX_PAGES: usize = 20_000;

/// One `[[crm]]`'s settings as every connector reads them.
#[derive(Clone)]
pub struct Connector {
    pub id: String,
    pub prefix: String,
    /// Zone of zone-less date-times written by the CRM.
    pub tz: Tz,
    pub money: Money,
    pub overlap: Duration,
    /// `None`: never re-read everything on a schedule.
    pub full_every: Option<Duration>,
    pub public_domains: Vec<String>,
    pub key_tags: Vec<String>,
    pub cancelled: Vec<String>,
    pub won: Vec<String>,
    pub url: Option<String>,
    secret: Option<SecretRef>,
    base_dir: PathBuf,
    pub http: HttpClient,
}

impl Connector {
    /// `default_won`: the provider's won statuses when `won_statuses` is empty.
    pub fn new(
        c: &CrmConfig,
        config: &Config,
        http: HttpClient,
        default_won: &[&str],
    ) -> Connector {
        let secret = c
            .api_key
            .clone()
            .or_else(|| c.token.clone())
            .or_else(|| c.webhook.clone());
        Connector {
            id: c.id.clone(),
            prefix: c.id_prefix.clone(),
            tz: c
                .account_timezone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or_else(|| config.tz()),
            money: Money::new(
                Some(c.currency.clone().unwrap_or_else(|| "RUB".into())),
                &c.rates,
            ),
            overlap: Duration::minutes(c.overlap_minutes),
            full_every: (c.full_sync_hours > 0).then(|| Duration::hours(c.full_sync_hours)),
            public_domains: config
                .scoring
                .public_domains
                .iter()
                .map(|d| d.to_lowercase())
                .collect(),
            key_tags: c.key_tags.iter().map(|t| t.to_lowercase()).collect(),
            cancelled: c.cancelled_statuses.clone(),
            won: if c.won_statuses.is_empty() {
                default_won.iter().map(|s| s.to_string()).collect()
            } else {
                c.won_statuses.clone()
            },
            url: c.url.clone(),
            secret,
            base_dir: config.base_dir.clone(),
            http,
        }
    }

    /// The credential, read when a sync starts (a rotated file is picked up).
    pub fn secret(&self) -> Result<Secret> {
        let reference = self
            .secret
            .as_ref()
            .ok_or_else(|| anyhow!("no credential configured for CRM {}", self.id))?;
        crate::secrets::resolve(reference, &self.base_dir)
    }

    /// The configured base URL without a trailing slash, or `default`.
    pub fn base(&self, default: &str) -> String {
        self.url
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string()
    }

    /// Paces requests to the host of `url` at the provider's documented
    /// rate (requests per second). An unparsable URL is left to fail on use.
    pub fn pace(&self, url: &str, per_second: f64) {
        if let Ok(url) = reqwest::Url::parse(url) {
            self.http
                .limit_host(url.host_str().unwrap_or_default(), per_second);
        }
    }

    /// Our id for a provider id.
    pub fn id_of(&self, raw: &str) -> String {
        format!("{}{}", self.prefix, raw.trim())
    }

    /// Full read or changes since when, given the stored cursor.
    pub fn plan(&self, cursor: Option<&str>, now: DateTime<Utc>) -> Plan {
        let Some(stored) = cursor.and_then(|c| serde_json::from_str::<SyncCursor>(c).ok()) else {
            return Plan::full(now);
        };
        if self
            .full_every
            .is_some_and(|every| now - stored.full_at >= every)
            || stored.since > now
        {
            return Plan::full(now);
        }
        Plan {
            since: Some(stored.since - self.overlap),
            marks: stored.marks.clone(),
            next: SyncCursor {
                since: now,
                full_at: stored.full_at,
                marks: stored.marks,
            },
        }
    }

    pub fn is_key(&self, tags: &[String]) -> bool {
        tags.iter()
            .any(|t| self.key_tags.contains(&t.trim().to_lowercase()))
    }

    /// Mail domains of the emails, public mailbox domains left out.
    pub fn domains_from_emails(&self, emails: &[String]) -> Vec<String> {
        let mut out: Vec<String> = emails
            .iter()
            .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
            .filter(|d| !d.is_empty() && !self.public_domains.contains(d))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// What a fetch reads: everything (`since` = None) or changes since an instant.
#[derive(Debug, Clone)]
pub struct Plan {
    pub since: Option<DateTime<Utc>>,
    /// Provider marks of the stored cursor (e.g. last history ids).
    pub marks: BTreeMap<String, String>,
    /// The cursor to store when this fetch succeeds; connectors update its marks.
    pub next: SyncCursor,
}

impl Plan {
    fn full(now: DateTime<Utc>) -> Plan {
        Plan {
            since: None,
            marks: BTreeMap::new(),
            next: SyncCursor {
                since: now,
                full_at: now,
                marks: BTreeMap::new(),
            },
        }
    }

    pub fn is_full(&self) -> bool {
        self.since.is_none()
    }
}

/// The stored cursor of an API CRM (JSON in the `sources` table).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyncCursor {
    /// When the last successful sync started.
    pub since: DateTime<Utc>,
    /// When the last full read happened.
    pub full_at: DateTime<Utc>,
    #[serde(default)]
    pub marks: BTreeMap<String, String>,
}

/// What a connector read, before it becomes a `CrmFetch`.
#[derive(Default)]
pub struct Batch {
    pub clients: Vec<Client>,
    pub orders: Vec<Order>,
    pub deleted_clients: Vec<String>,
    pub deleted_orders: Vec<String>,
    pub warnings: Vec<SourceWarning>,
}

impl Batch {
    /// A record dropped because it could not be read; `place` names it.
    pub fn skip(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(SourceWarning {
            place: place.into(),
            message: message.into(),
            skipped: true,
        });
    }

    /// Keeps a mapped client, or skips the record with a warning naming it.
    pub fn client(&mut self, mapped: Result<Client, String>, place: impl FnOnce() -> String) {
        match mapped {
            Ok(client) => self.clients.push(client),
            Err(message) => self.skip(place(), message),
        }
    }

    /// Keeps a mapped order, or skips the record with a warning naming it.
    pub fn order(&mut self, mapped: Result<Order, String>, place: impl FnOnce() -> String) {
        match mapped {
            Ok(order) => self.orders.push(order),
            Err(message) => self.skip(place(), message),
        }
    }

    pub fn note(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(SourceWarning {
            place: place.into(),
            message: message.into(),
            skipped: false,
        });
    }

    /// Converts currencies (skipping what cannot be converted), orders and
    /// dedupes by id (the last version wins), and wraps up.
    pub fn finish(mut self, conn: &Connector, plan: Plan) -> CrmFetch {
        let mut orders = Vec::with_capacity(self.orders.len());
        for mut order in std::mem::take(&mut self.orders) {
            match conn.money.convert(&mut order) {
                Ok(()) => orders.push(order),
                Err(message) => self.skip(format!("{}: order {}", conn.id, order.id), message),
            }
        }
        let clients = dedupe(self.clients, |c| c.id.clone());
        let orders = dedupe(orders, |o| o.id.clone());
        let cursor = serde_json::to_string(&plan.next).unwrap_or_default();
        if plan.is_full() {
            CrmFetch::Full {
                clients,
                orders,
                warnings: self.warnings,
                cursor,
            }
        } else {
            let mut deleted_clients = self.deleted_clients;
            deleted_clients.retain(|id| !clients.iter().any(|c| &c.id == id));
            deleted_clients.sort();
            deleted_clients.dedup();
            let mut deleted_orders = self.deleted_orders;
            deleted_orders.retain(|id| !orders.iter().any(|o| &o.id == id));
            deleted_orders.sort();
            deleted_orders.dedup();
            CrmFetch::Delta {
                clients,
                orders,
                deleted_clients,
                deleted_orders,
                warnings: self.warnings,
                cursor,
            }
        }
    }
}

fn dedupe<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut by_id: BTreeMap<String, T> = BTreeMap::new();
    for item in items {
        by_id.insert(key(&item), item);
    }
    by_id.into_values().collect()
}

/// The company currency and fixed rates (SPEC §5: amounts are summed in one
/// currency, never silently mixed).
#[derive(Debug, Clone)]
pub struct Money {
    /// `None`: amounts are kept as read (file CRMs without `currency`).
    pub currency: Option<String>,
    pub rates: BTreeMap<String, f64>,
}

impl Money {
    pub fn new(currency: Option<String>, rates: &BTreeMap<String, f64>) -> Money {
        Money {
            currency: currency.map(|c| c.trim().to_uppercase()),
            rates: rates
                .iter()
                .map(|(k, v)| (k.trim().to_uppercase(), *v))
                .collect(),
        }
    }

    /// Puts the order's amount into the company currency. An order without
    /// a currency is in the company's one.
    pub fn convert(&self, order: &mut Order) -> Result<(), String> {
        let Some(company) = &self.currency else {
            return Ok(());
        };
        let from = order.currency.trim().to_uppercase();
        if from.is_empty() || &from == company {
            order.currency = company.clone();
            return Ok(());
        }
        match self.rates.get(&from) {
            Some(rate) => {
                order.amount *= rate;
                order.currency = company.clone();
                Ok(())
            }
            None => Err(format!(
                "amount {} {from} cannot be converted to {company}: add {from} to `rates` of this [[crm]]; order skipped",
                order.amount
            )),
        }
    }
}

/// The value at a dot path with array indexes: `a.b[0].c`, `items[2]`;
/// an empty path is the value itself. Keys with dots cannot be addressed.
pub fn path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = index.trim_end_matches(']').trim().parse().ok()?;
            current = current.get(n)?;
        }
    }
    Some(current)
}

/// Text of a scalar: strings trimmed, numbers and booleans written out;
/// null, empty strings, arrays and objects are `None`.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of texts: an array's scalars (or `field` of its objects), or a
/// string split on `;` and `,`.
pub fn texts(value: Option<&Value>, field: Option<&str>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| text(field.map_or(Some(item), |f| path(item, f))))
            .collect(),
        Some(Value::String(s)) => s
            .split([';', ','])
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        other => text(other).into_iter().collect(),
    }
}

/// A number written as a JSON number or a string (`"19999.99"`, `"1 234,5"`).
pub fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => super::files::parse_amount(s),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// A flag: JSON booleans, `Y`/`N`, `true`/`false`, `1`/`0`, `yes`/`no`.
pub fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
        Some(Value::String(s)) => matches!(
            s.trim().to_lowercase().as_str(),
            "y" | "yes" | "true" | "1" | "да"
        ),
        _ => false,
    }
}

/// An instant written as RFC 3339, `YYYY-MM-DD HH:MM:SS` or
/// `YYYY-MM-DDTHH:MM:SS` without a zone (read in `tz`), a date (midnight in
/// `tz`), or Unix seconds / milliseconds (numbers or digit strings).
pub fn instant(value: Option<&Value>, tz: Tz) -> Option<DateTime<Utc>> {
    match value? {
        Value::Number(n) => unix(n.as_i64()?),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                return unix(s.parse().ok()?);
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
                if let Ok(local) = NaiveDateTime::parse_from_str(s, format) {
                    return local_instant(local, tz);
                }
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| crate::ledger::period::local_midnight(d, tz))
        }
        _ => None,
    }
}

/// A wall-clock time in `tz`; in a DST gap, the instant after it.
pub fn local_instant(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

fn unix(n: i64) -> Option<DateTime<Utc>> {
    // Milliseconds once the number is too large for seconds (HubSpot).
    if n.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// `https://www.Acme.ru/about` → `acme.ru`.
pub fn clean_domain(web: &str) -> Option<String> {
    let web = web.trim().to_lowercase();
    let rest = web.split_once("://").map_or(web.as_str(), |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?.split(':').next()?;
    let host = host.trim_start_matches("www.").trim_matches('.');
    (host.contains('.') && !host.contains(' ') && !host.contains('@')).then(|| host.to_string())
}

/// A lower-cased email, `mailto:` dropped; `None` when it is not one.
pub fn clean_email(text: &str) -> Option<String> {
    let email = text.trim().trim_start_matches("mailto:").to_lowercase();
    (email.contains('@') && !email.contains(' ')).then_some(email)
}

/// `base` with `query` appended (keys and values URL-encoded).
pub fn url_with(base: &str, query: &[(String, String)]) -> Result<String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| anyhow!("bad URL `{base}`: {e}"))?;
    if !query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    Ok(url.to_string())
}

/// One page of a list: its records and how to ask for the next one.
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

/// What the pagination guard knows about a list beyond its pages.
#[derive(Debug, Clone, Default)]
pub struct Paging<'a> {
    /// Names the list in errors: `retailcrm GET /api/v5/orders`. Empty: "the API".
    pub name: &'a str,
    /// Path of a record's id (see `path`); `None`: `id` or `ID`.
    pub id_path: Option<&'a str>,
    /// Ids are numbers read in ascending order (Bitrix24's `filter[>ID]`,
    /// `order[ID]=ASC`): each page must start after the last id of the one
    /// before.
    pub ascending_ids: bool,
    /// Pages at most; 0: `MAX_PAGES`.
    pub max_pages: usize,
}

/// Reads pages until one has no `next`: `fetch(None)` is the first page,
/// `fetch(Some(token))` the following ones. `collect_pages_with` and its
/// guards, with default `Paging`.
pub async fn collect_pages<F, Fut>(fetch: F) -> Result<Vec<Value>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page>>,
{
    collect_pages_with(Paging::default(), fetch).await
}

/// `collect_pages` with the guard every connector shares: a page token
/// asked for a second time, a page identical to the one before, a page
/// whose every record was already read (ids that do not advance), ids going
/// backwards where they must ascend, or more than `max_pages` pages stop the
/// read with an error. The sync of that source then fails and keeps what is
/// stored: a pager that loops must never end as a "complete" list that
/// deletes whatever it did not reach.
pub async fn collect_pages_with<F, Fut>(paging: Paging<'_>, mut fetch: F) -> Result<Vec<Value>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page>>,
{
    use std::collections::{HashMap, HashSet};
    use std::hash::{Hash, Hasher};

    let name = if paging.name.is_empty() {
        "the API"
    } else {
        paging.name
    };
    let max_pages = if paging.max_pages == 0 {
        MAX_PAGES
    } else {
        paging.max_pages
    };
    let id_of = |record: &Value| -> Option<String> {
        match paging.id_path {
            Some(at) => text(path(record, at)),
            None => text(record.get("id")).or_else(|| text(record.get("ID"))),
        }
    };
    let fingerprint = |items: &[Value]| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        serde_json::to_string(items)
            .unwrap_or_default()
            .hash(&mut hasher);
        hasher.finish()
    };

    let mut all = Vec::new();
    let mut token: Option<String> = None;
    // Token → the page that named it (tokens are not shown: a `next` link
    // can carry a signed query).
    let mut tokens: HashMap<String, usize> = HashMap::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut previous: Option<u64> = None;
    let mut last_id: Option<f64> = None;
    for number in 1..=max_pages {
        let page = fetch(token.clone()).await?;
        if !page.items.is_empty() {
            let print = fingerprint(&page.items);
            if previous == Some(print) {
                anyhow::bail!(
                    "{name}: page {number} is identical to page {}; the API repeats itself, stopped reading (stored data kept)",
                    number - 1
                );
            }
            previous = Some(print);
            let page_ids: Vec<String> = page.items.iter().filter_map(id_of).collect();
            if number > 1
                && page_ids.len() == page.items.len()
                && page_ids.iter().all(|id| ids.contains(id))
            {
                anyhow::bail!(
                    "{name}: page {number} holds only records already read (ids do not advance); stopped reading (stored data kept)"
                );
            }
            if paging.ascending_ids {
                for id in &page_ids {
                    let Ok(value) = id.parse::<f64>() else {
                        continue;
                    };
                    if last_id.is_some_and(|last| value <= last) {
                        anyhow::bail!(
                            "{name}: page {number} goes back to id {id}; ids must ascend, stopped reading (stored data kept)"
                        );
                    }
                    last_id = Some(value);
                }
            }
            ids.extend(page_ids);
        }
        all.extend(page.items);
        match page.next {
            Some(next) => {
                if let Some(first) = tokens.get(&next) {
                    anyhow::bail!(
                        "{name}: page {number} points back to the page that page {first} pointed to; stopped reading (stored data kept)"
                    );
                }
                tokens.insert(next.clone(), number);
                token = Some(next);
            }
            None => return Ok(all),
        }
    }
    anyhow::bail!(
        "{name}: more than {max_pages} pages; stopped reading (stored data kept). A real list this long is unexpected: check the API's paging"
    )
}

/// Page-number paging: the next page when `current` < `total_pages`.
pub fn next_page_number(current: u64, total_pages: Option<u64>) -> Option<String> {
    total_pages
        .filter(|total| current < *total)
        .map(|_| (current + 1).to_string())
}

/// Page or offset paging without a total: the next position while pages
/// come back full.
pub fn next_when_full(position: u64, step: u64, items: usize, size: u64) -> Option<String> {
    (items as u64 >= size && items > 0).then(|| (position + step).to_string())
}

/// A next-page link (amoCRM's `_links.next.href`, a `Link: rel=next`),
/// resolved against `base` and accepted only on `base`'s origin: the next
/// request carries the credential, and a link to another host (written by
/// whoever controls the answer) would hand it over.
pub fn next_page_on_origin(base: &str, next: &str, name: &str) -> Result<String> {
    let base = reqwest::Url::parse(base).map_err(|e| anyhow!("{name}: bad URL: {e}"))?;
    let url = base
        .join(next.trim())
        .map_err(|e| anyhow!("{name}: the next-page link cannot be read: {e}"))?;
    if !crate::sources::http::same_origin(&base, &url) {
        anyhow::bail!(
            "{name}: the next-page link points to another origin ({}); not followed, so the credential stays with {}",
            crate::sources::http::redact_url(&url),
            crate::sources::http::redact_url(&base)
        );
    }
    Ok(url.to_string())
}

/// The `rel="next"` target of an RFC 8288 `Link` header.
pub fn link_header_next(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            is_next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
}

/// A non-empty text at `field` of a page body (cursor paging, `next` links).
pub fn next_from_body(body: &Value, field: &str) -> Option<String> {
    text(path(body, field))
}

/// A failed API call as the administrator should read it, named by
/// provider, method and path (`retailcrm GET /api/v5/orders: HTTP 503 …`):
/// never the host's query string, which carries filters and sometimes keys.
/// A rejected credential says what to do about it.
pub fn call_failure(error: HttpError, provider: &str, call: &str, fix: &str) -> anyhow::Error {
    let reason = error.reason();
    match error.status() {
        Some(StatusCode::UNAUTHORIZED) | Some(StatusCode::FORBIDDEN) => anyhow!(
            "{provider} {call}: {reason}; the key or token is expired, revoked or lacks rights: {fix}"
        ),
        _ => anyhow!("{provider} {call}: {reason}"),
    }
}

/// `GET /api/v5/orders` for a URL: the method and the path, no query.
pub fn call_name(method: &str, url: &str) -> String {
    let path = reqwest::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| "(bad URL)".into());
    format!("{method} {path}")
}

/// An HTTP failure as the administrator should read it: a rejected
/// credential says what to do about it.
pub fn http_failure(error: HttpError, crm: &str, fix: &str) -> anyhow::Error {
    match error.status() {
        Some(StatusCode::UNAUTHORIZED) | Some(StatusCode::FORBIDDEN) => anyhow!(
            "{crm} rejected the credentials ({error}); the key or token is expired, revoked or lacks rights: {fix}"
        ),
        _ => anyhow!("{crm}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_walk_objects_and_arrays() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": "two"}]}, "list": [[5]]});
        assert_eq!(text(path(&v, "a.b[1].c")).as_deref(), Some("two"));
        assert_eq!(text(path(&v, "list[0][0]")).as_deref(), Some("5"));
        assert!(path(&v, "a.x").is_none());
        assert!(path(&v, "a.b[9]").is_none());
        assert_eq!(path(&v, ""), Some(&v));
    }

    #[test]
    fn values_read_leniently() {
        assert_eq!(number(Some(&json!("19999.99"))), Some(19999.99));
        assert_eq!(number(Some(&json!(15))), Some(15.0));
        assert!(flag(Some(&json!("Y"))));
        assert!(!flag(Some(&json!("N"))));
        assert_eq!(
            texts(Some(&json!("a@x.ru; b@y.ru")), None),
            vec!["a@x.ru", "b@y.ru"]
        );
        assert_eq!(
            clean_domain("https://www.Acme.ru/about").as_deref(),
            Some("acme.ru")
        );
        assert_eq!(clean_domain("not a site"), None);
    }

    #[test]
    fn zone_less_times_are_read_in_the_account_zone() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let t = instant(Some(&json!("2021-02-25 09:37:48")), tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2021-02-25T06:37:48+00:00");
        let t = instant(Some(&json!("2024-03-01T10:00:00+02:00")), tz).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-01T08:00:00+00:00");
        assert_eq!(
            instant(Some(&json!(1_700_000_000)), tz),
            DateTime::from_timestamp(1_700_000_000, 0)
        );
        assert_eq!(
            instant(Some(&json!("1700000000000")), tz),
            DateTime::from_timestamp(1_700_000_000, 0)
        );
    }

    #[test]
    fn next_page_links_are_followed_only_on_the_configured_origin() {
        let base = "https://acme.amocrm.ru/api/v4/leads?limit=250";
        let ok = |next: &str| next_page_on_origin(base, next, "amocrm GET /api/v4/leads");
        assert_eq!(
            ok("/api/v4/leads?page=2").unwrap(),
            "https://acme.amocrm.ru/api/v4/leads?page=2"
        );
        assert!(ok("https://acme.amocrm.ru/api/v4/leads?page=3").is_ok());
        for foreign in [
            "https://evil.example/api/v4/leads?page=2",
            "http://acme.amocrm.ru/api/v4/leads?page=2",
            "https://acme.amocrm.ru:8443/api/v4/leads?page=2",
            "//evil.example/steal",
        ] {
            let error = ok(foreign).unwrap_err().to_string();
            assert!(error.contains("another origin"), "{foreign}: {error}");
        }
    }

    #[test]
    fn link_headers_name_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            "<https://x/api?page=1>; rel=\"prev\", <https://x/api?page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            link_header_next(&headers).as_deref(),
            Some("https://x/api?page=3")
        );
    }

    /// Pages served from a script: `pages[i]` is (records' ids, next token).
    async fn paged(paging: Paging<'_>, pages: &[(&[u64], Option<&str>)]) -> Result<Vec<Value>> {
        let served = std::cell::Cell::new(0usize);
        collect_pages_with(paging, |_| {
            let (ids, next) = pages[served.get().min(pages.len() - 1)];
            served.set(served.get() + 1);
            async move {
                Ok(Page {
                    items: ids.iter().map(|id| json!({"id": id})).collect(),
                    next: next.map(String::from),
                })
            }
        })
        .await
    }

    #[tokio::test]
    async fn the_pagination_guard_stops_a_pager_that_repeats_itself() {
        let named = || Paging {
            name: "retailcrm GET /api/v5/orders",
            ..Paging::default()
        };
        let read = paged(named(), &[(&[1, 2], Some("2")), (&[3], None)]).await;
        assert_eq!(read.unwrap().len(), 3);

        let token = paged(named(), &[(&[1], Some("a")), (&[2], Some("a"))]).await;
        assert!(format!("{:#}", token.unwrap_err()).contains("points back"));

        let identical = paged(named(), &[(&[1, 2], Some("2")), (&[1, 2], Some("3"))]).await;
        let identical = format!("{:#}", identical.unwrap_err());
        assert!(
            identical.starts_with("retailcrm GET /api/v5/orders: page 2 is identical to page 1"),
            "{identical}"
        );

        let stale = paged(
            named(),
            &[
                (&[1, 2], Some("2")),
                (&[3, 4], Some("3")),
                (&[2, 1], Some("4")),
            ],
        )
        .await;
        assert!(format!("{:#}", stale.unwrap_err()).contains("ids do not advance"));

        let backwards = Paging {
            ascending_ids: true,
            ..named()
        };
        let backwards = paged(backwards, &[(&[1, 5], Some("5")), (&[4, 9], None)]).await;
        assert!(format!("{:#}", backwards.unwrap_err()).contains("ids must ascend"));

        let capped = Paging {
            max_pages: 3,
            ..named()
        };
        let pages: Vec<(Vec<u64>, String)> = (0..5).map(|i| (vec![i], i.to_string())).collect();
        let script: Vec<(&[u64], Option<&str>)> = pages
            .iter()
            .map(|(ids, next)| (ids.as_slice(), Some(next.as_str())))
            .collect();
        let capped = paged(capped, &script).await;
        assert!(format!("{:#}", capped.unwrap_err()).contains("more than 3 pages"));
    }

    #[test]
    fn unknown_currencies_are_refused_not_summed() {
        let money = Money::new(
            Some("RUB".into()),
            &BTreeMap::from([("USD".to_string(), 90.0)]),
        );
        let mut order = Order {
            id: "o1".into(),
            client_id: "c1".into(),
            created_at: Utc::now(),
            amount: 10.0,
            currency: "usd".into(),
            status: String::new(),
            cancelled: false,
            manager: None,
        };
        money.convert(&mut order).unwrap();
        assert_eq!((order.amount, order.currency.as_str()), (900.0, "RUB"));
        order.currency = "EUR".into();
        assert!(money.convert(&mut order).unwrap_err().contains("EUR"));
    }
}
