//! `caldav` calendars: any CalDAV server (Nextcloud, Yandex, iCloud,
//! Fastmail, Radicale, SOGo) with basic auth or an app password. Owns
//! discovery, the sync strategy and its cursor; XML lives in [`xml`], the
//! network in the shared `HttpClient`, parsing in `calendar::normalize`.
//!
//! Strategy, per run:
//! - **full** (first run, a new day's window, an expired token): `PROPFIND`
//!   the collection's `sync-token`/`getctag`, then one `REPORT
//!   calendar-query` with a time-range filter for the window, data included.
//!   Each resource (href) is one item; its ICS is normalized on its own.
//! - **sync-collection** (RFC 6578) when the server supports it: one
//!   `REPORT sync-collection` from the stored token; changed hrefs are read
//!   with `calendar-multiget`, `404` members are deleted. A rejected token
//!   (`DAV:valid-sync-token`) falls back to a full sync.
//! - **ctag/etag** otherwise: `getctag` unchanged → nothing to do; else the
//!   window's ETags are listed and compared with the stored ones.
//!
//! The window moves daily and a time-range query only saw events inside
//! yesterday's window, so the cursor records the window and a new one means
//! a full sync (once a day); recurring series are expanded again with it.
//!
//! XML library: quick-xml's `NsReader`, not libdav. libdav 0.11 drives its
//! own hyper client, which would bypass our `HttpClient` (retries, backoff,
//! `Retry-After`, pacing, redacted logs) that every source must share.

mod discovery;
pub mod xml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use reqwest::{header, Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::http::{redact_url, HttpClient, HttpError, HttpResponse};
use super::ics_url::window_key;
use super::{CalendarFetch, CalendarItem, CalendarSource, SourceWarning, SyncContext};
use crate::calendar::{normalize, IcsInput};
use crate::config::{CalendarConfig, SecretRef};
use crate::secrets::{self, Secret};
use xml::{DavResponse, Multistatus, CALDAV, CALSERVER, DAV};

/// Hrefs per `calendar-multiget`: big enough to keep requests few, small
/// enough that one response stays a few MB (a resource is ~1-10 KB).
const MULTIGET_BATCH: usize = 200;
/// Redirects followed by hand (PROPFIND/REPORT keep their method).
const MAX_REDIRECTS: usize = 5;
/// A sync-collection answer truncated with 507 is continued; this bounds
/// the loop against a server that never finishes.
const MAX_SYNC_ROUNDS: usize = 1000;
/// Bumped when the cursor's meaning changes; an older cursor means a full sync.
const CURSOR_VERSION: u32 = 1;

pub struct CaldavSource {
    id: String,
    url: String,
    username: Option<String>,
    password: Option<SecretRef>,
    calendar_name: Option<String>,
    base_dir: PathBuf,
}

impl CaldavSource {
    pub fn new(config: &CalendarConfig, base_dir: &Path) -> CaldavSource {
        CaldavSource {
            id: config.id.clone(),
            url: config.url.clone().unwrap_or_default(),
            username: config.username.clone(),
            password: config.password.clone(),
            calendar_name: config.calendar_name.clone(),
            base_dir: base_dir.to_path_buf(),
        }
    }

    /// What the cursor was made for: another URL, account or calendar
    /// choice makes it void.
    fn selector(&self) -> String {
        format!(
            "{} {} {}",
            self.url.trim(),
            self.username.as_deref().unwrap_or(""),
            self.calendar_name.as_deref().unwrap_or("")
        )
    }
}

/// The CalDAV cursor, stored as JSON with the data it covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct DavCursor {
    v: u32,
    selector: String,
    /// The calendar collection found by discovery.
    calendar: String,
    /// `window_key` of the last full sync.
    window: String,
    /// RFC 6578 token; absent when the server has no sync-collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sync_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ctag: Option<String>,
    /// Item key → ETag, kept only for servers without sync-collection.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    etags: BTreeMap<String, String>,
}

#[async_trait]
impl CalendarSource for CaldavSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "caldav"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch> {
        let base = Url::parse(self.url.trim()).context("the calendar url is not a URL")?;
        let auth = match (&self.username, &self.password) {
            (Some(user), Some(reference)) => Some((
                user.clone(),
                secrets::resolve(reference, &self.base_dir)
                    .context("cannot read the CalDAV password")?,
            )),
            (Some(user), None) => Some((user.clone(), Secret::new(""))),
            _ => None,
        };
        let dav = Dav {
            http: HttpClient::new(ctx.http.clone())?
                .without_redirects()?
                .with_body_limit(ctx.body_limit(super::http::CALENDAR_BODY_LIMIT)),
            auth,
            origin: base.clone(),
        };
        let sync = Sync {
            dav: &dav,
            id: &self.id,
            ctx,
            selector: self.selector(),
            window: window_key(ctx),
        };
        let previous = cursor
            .and_then(|c| serde_json::from_str::<DavCursor>(c).ok())
            .filter(|c| c.v == CURSOR_VERSION && c.selector == sync.selector);
        let Some(previous) = previous else {
            let calendar =
                discovery::find_calendar(&dav, &base, self.calendar_name.as_deref()).await?;
            return sync.full(&calendar).await;
        };
        let calendar = Url::parse(&previous.calendar).context("a stored calendar URL")?;
        if previous.window != sync.window {
            tracing::debug!(source = %self.id, "the sync window moved: full sync");
            return sync.full(&calendar).await;
        }
        let result = match &previous.sync_token {
            Some(token) => sync.incremental(&calendar, token, &previous).await,
            None => sync.by_etags(&calendar, &previous).await,
        };
        match result {
            Err(e) if e.downcast_ref::<Gone>().is_some() => {
                tracing::info!(source = %self.id, "the calendar moved or was deleted: discovering it again");
                let calendar =
                    discovery::find_calendar(&dav, &base, self.calendar_name.as_deref()).await?;
                sync.full(&calendar).await
            }
            other => other,
        }
    }
}

/// The stored calendar collection answered 404/410.
#[derive(Debug, thiserror::Error)]
#[error("the calendar collection is gone")]
struct Gone;

/// One run's sync over a calendar collection.
struct Sync<'a> {
    dav: &'a Dav,
    id: &'a str,
    ctx: &'a SyncContext,
    selector: String,
    window: String,
}

/// A collection's change markers.
struct CollectionState {
    sync_token: Option<String>,
    ctag: Option<String>,
    supports_sync: bool,
}

impl Sync<'_> {
    fn cursor(&self, calendar: &Url, state: &CollectionState) -> DavCursor {
        DavCursor {
            v: CURSOR_VERSION,
            selector: self.selector.clone(),
            calendar: calendar.to_string(),
            window: self.window.clone(),
            sync_token: state.sync_token.clone().filter(|_| state.supports_sync),
            ctag: state.ctag.clone(),
            etags: BTreeMap::new(),
        }
    }

    async fn state(&self, calendar: &Url) -> Result<CollectionState> {
        let (ms, _) = self
            .dav
            .multistatus("PROPFIND", calendar, "0", xml::propfind_state())
            .await
            .map_err(|e| gone_or(e, "cannot read the calendar's state"))?;
        let own = own_response(&ms, calendar);
        let sync_token = own.and_then(|r| r.prop_text(DAV, "sync-token").map(str::to_string));
        let ctag = own.and_then(|r| r.prop_text(CALSERVER, "getctag").map(str::to_string));
        let supports_sync = match own.and_then(DavResponse::supported_reports) {
            Some(reports) => reports
                .iter()
                .any(|(ns, name)| ns == DAV && name == "sync-collection"),
            None => sync_token.is_some(),
        };
        Ok(CollectionState {
            sync_token,
            ctag,
            supports_sync,
        })
    }

    /// Every event in the window, with a fresh token taken before the query
    /// (a change racing the query is reported again next time, never lost).
    async fn full(&self, calendar: &Url) -> Result<CalendarFetch> {
        let state = self.state(calendar).await?;
        let body = xml::calendar_query(self.ctx.window_start, self.ctx.window_end, true);
        let (ms, _) = self
            .dav
            .multistatus("REPORT", calendar, "1", body)
            .await
            .map_err(|e| gone_or(e, "cannot query the calendar"))?;
        let mut resources = Vec::new();
        let mut etags = BTreeMap::new();
        for r in &ms.responses {
            let key = href_key(calendar, &r.href);
            if same_collection(&key, calendar) || r.status.is_some_and(|s| s >= 300) {
                continue;
            }
            if let Some(data) = r.prop_text(CALDAV, "calendar-data") {
                etags.insert(
                    key.clone(),
                    r.prop_text(DAV, "getetag").unwrap_or("").to_string(),
                );
                resources.push((key, data.to_string()));
            }
        }
        let (items, warnings) = self.normalize(resources).await?;
        let mut cursor = self.cursor(calendar, &state);
        if cursor.sync_token.is_none() {
            cursor.etags = etags;
        }
        tracing::debug!(source = %self.id, items = items.len(), "caldav full sync");
        Ok(CalendarFetch::Full {
            items,
            warnings,
            cursor: serde_json::to_string(&cursor)?,
        })
    }

    /// RFC 6578: what changed since `token`.
    async fn incremental(
        &self,
        calendar: &Url,
        token: &str,
        previous: &DavCursor,
    ) -> Result<CalendarFetch> {
        let mut token = token.to_string();
        // Key → href as the server wrote it (for the multiget).
        let mut changed: BTreeMap<String, String> = BTreeMap::new();
        let mut deleted: BTreeSet<String> = BTreeSet::new();
        for round in 0.. {
            if round == MAX_SYNC_ROUNDS {
                bail!("the server kept truncating its sync-collection report");
            }
            let answer = self
                .dav
                .multistatus("REPORT", calendar, "0", xml::sync_collection(&token))
                .await;
            let ms = match answer {
                Ok((ms, _)) => ms,
                Err(e) if invalid_sync_token(&e) => {
                    tracing::info!(source = %self.id, "the server no longer knows our sync token: full sync");
                    return self.full(calendar).await;
                }
                Err(e) => return Err(gone_or(e, "cannot read the calendar's changes")),
            };
            let mut truncated = false;
            for r in &ms.responses {
                let key = href_key(calendar, &r.href);
                if same_collection(&key, calendar) {
                    truncated |= r.status == Some(507);
                    continue;
                }
                if r.status == Some(404) {
                    changed.remove(&key);
                    deleted.insert(key);
                } else {
                    deleted.remove(&key);
                    changed.insert(key, r.href.clone());
                }
            }
            token = ms
                .sync_token
                .ok_or_else(|| anyhow!("the server's sync-collection report has no sync-token"))?;
            if !truncated {
                break;
            }
        }
        if changed.is_empty()
            && deleted.is_empty()
            && previous.sync_token.as_deref() == Some(&token)
        {
            return Ok(CalendarFetch::Unchanged);
        }
        let (items, gone, warnings) = self.multiget(calendar, &changed).await?;
        deleted.extend(gone);
        let mut cursor = previous.clone();
        cursor.sync_token = Some(token);
        Ok(CalendarFetch::Delta {
            changed: items,
            deleted: deleted.into_iter().collect(),
            warnings,
            cursor: serde_json::to_string(&cursor)?,
        })
    }

    /// Servers without sync-collection: `getctag`, then the window's ETags.
    async fn by_etags(&self, calendar: &Url, previous: &DavCursor) -> Result<CalendarFetch> {
        let state = self.state(calendar).await?;
        if state.ctag.is_some() && state.ctag == previous.ctag {
            return Ok(CalendarFetch::Unchanged);
        }
        let body = xml::calendar_query(self.ctx.window_start, self.ctx.window_end, false);
        let (ms, _) = self
            .dav
            .multistatus("REPORT", calendar, "1", body)
            .await
            .map_err(|e| gone_or(e, "cannot list the calendar's events"))?;
        let mut etags = BTreeMap::new();
        let mut changed = BTreeMap::new();
        for r in &ms.responses {
            let key = href_key(calendar, &r.href);
            if same_collection(&key, calendar) || r.status.is_some_and(|s| s >= 300) {
                continue;
            }
            let etag = r.prop_text(DAV, "getetag").unwrap_or("").to_string();
            if etag.is_empty() || previous.etags.get(&key) != Some(&etag) {
                changed.insert(key.clone(), r.href.clone());
            }
            etags.insert(key, etag);
        }
        let mut deleted: BTreeSet<String> = previous
            .etags
            .keys()
            .filter(|k| !etags.contains_key(*k))
            .cloned()
            .collect();
        let (items, gone, warnings) = self.multiget(calendar, &changed).await?;
        for key in gone {
            etags.remove(&key);
            deleted.insert(key);
        }
        if items.is_empty() && deleted.is_empty() && state.ctag == previous.ctag {
            return Ok(CalendarFetch::Unchanged);
        }
        let mut cursor = self.cursor(calendar, &state);
        cursor.etags = etags;
        Ok(CalendarFetch::Delta {
            changed: items,
            deleted: deleted.into_iter().collect(),
            warnings,
            cursor: serde_json::to_string(&cursor)?,
        })
    }

    /// Reads the changed resources; those the server no longer has are
    /// returned as gone.
    async fn multiget(
        &self,
        calendar: &Url,
        changed: &BTreeMap<String, String>,
    ) -> Result<(Vec<CalendarItem>, Vec<String>, Vec<SourceWarning>)> {
        let mut resources = Vec::new();
        let mut gone = Vec::new();
        let hrefs: Vec<(&String, &String)> = changed.iter().collect();
        for batch in hrefs.chunks(MULTIGET_BATCH) {
            let body = xml::calendar_multiget(batch.iter().map(|(_, href)| href.as_str()));
            let (ms, _) = self
                .dav
                .multistatus("REPORT", calendar, "1", body)
                .await
                .map_err(|e| gone_or(e, "cannot read changed events"))?;
            let mut answered = BTreeSet::new();
            for r in &ms.responses {
                let key = href_key(calendar, &r.href);
                answered.insert(key.clone());
                match (r.status, r.prop_text(CALDAV, "calendar-data")) {
                    (Some(404), _) => gone.push(key),
                    (_, Some(data)) => resources.push((key, data.to_string())),
                    (_, None) => gone.push(key),
                }
            }
            for (key, _) in batch {
                if !answered.contains(*key) {
                    // Not in the answer at all: deleted between the two reports.
                    gone.push((*key).clone());
                }
            }
        }
        let (items, warnings) = self.normalize(resources).await?;
        Ok((items, gone, warnings))
    }

    /// Each resource's ICS normalized on its own: an item's occurrences are
    /// exactly those of its resource.
    async fn normalize(
        &self,
        resources: Vec<(String, String)>,
    ) -> Result<(Vec<CalendarItem>, Vec<SourceWarning>)> {
        let id = self.id.to_string();
        let options = self.ctx.expand_options();
        // Expansion is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || {
            let mut items = Vec::with_capacity(resources.len());
            let mut warnings = Vec::new();
            for (key, text) in resources {
                let input = [IcsInput::new(key.clone(), text)];
                let parsed = normalize(&input, &id, &options);
                warnings.extend(parsed.warnings.into_iter().map(|w| SourceWarning {
                    place: match (w.line, &w.uid) {
                        (Some(line), Some(uid)) => format!("{}:{line} (UID {uid})", w.file),
                        (Some(line), None) => format!("{}:{line}", w.file),
                        (None, Some(uid)) => format!("{} (UID {uid})", w.file),
                        (None, None) => w.file.clone(),
                    },
                    message: w.message,
                    skipped: w.skipped,
                }));
                items.push(CalendarItem {
                    key,
                    occurrences: parsed.occurrences,
                });
            }
            (items, warnings)
        })
        .await
        .map_err(Into::into)
    }
}

/// The response about the collection itself in a Depth 0 answer.
fn own_response<'m>(ms: &'m Multistatus, url: &Url) -> Option<&'m DavResponse> {
    ms.responses
        .iter()
        .find(|r| same_collection(&href_key(url, &r.href), url))
        .or(ms.responses.first())
}

/// RFC 6578 §3.2: a token the server no longer accepts is a 403 (or 409)
/// with the `DAV:valid-sync-token` precondition.
fn invalid_sync_token(e: &HttpError) -> bool {
    match e {
        HttpError::Status { status, body, .. } => {
            matches!(status.as_u16(), 403 | 409 | 410)
                && (xml::names_precondition(body, DAV, "valid-sync-token")
                    || status.as_u16() == 410)
        }
        _ => false,
    }
}

fn gone_or(e: HttpError, what: &str) -> anyhow::Error {
    match e.status() {
        Some(StatusCode::NOT_FOUND | StatusCode::GONE) => anyhow::Error::new(Gone),
        _ => explain(e, what),
    }
}

/// An HTTP failure as an administrator can act on it.
pub(crate) fn explain(e: HttpError, what: &str) -> anyhow::Error {
    let hint = match e.status().map(|s| s.as_u16()) {
        Some(401) => Some(
            "the server refused the username or password; Yandex, iCloud and Fastmail need an app password, not the account password",
        ),
        Some(403) => Some("the account may not read this calendar"),
        Some(404) => Some("no such calendar: check the url (and calendar_name)"),
        Some(405 | 501) => Some("the url does not look like a CalDAV server"),
        _ => None,
    };
    let error = anyhow::Error::new(e).context(what.to_string());
    match hint {
        Some(hint) => error.context(format!("{what}: {hint}")),
        None => error,
    }
}

/// The path of an href, percent-decoded: the key of an item. Servers may
/// write the same href with different escaping in different reports.
pub(crate) fn href_key(base: &Url, href: &str) -> String {
    let path = match base.join(href.trim()) {
        Ok(url) => url.path().to_string(),
        Err(_) => href.trim().to_string(),
    };
    percent_decode(&path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn same_collection(key: &str, collection: &Url) -> bool {
    key.trim_end_matches('/') == percent_decode(collection.path()).trim_end_matches('/')
}

/// The HTTP side of WebDAV: credentials, methods with bodies and redirects
/// followed by hand.
pub(crate) struct Dav {
    http: HttpClient,
    auth: Option<(String, Secret)>,
    /// The configured URL: credentials go only to its origin (scheme, host
    /// and port), or over https to another host of the same registrable
    /// domain (iCloud answers from `pNN-caldav.icloud.com`).
    origin: Url,
}

/// Whether a CalDAV password configured for `origin` may be sent to `url`.
/// The exact origin always; otherwise only over https on the default port,
/// to a named host (never an IP address) whose registrable domain (by the
/// public-suffix list: `acme.co.uk`, not `co.uk`) is the origin's, or, for
/// iCloud, to one of its partition hosts. Never https → http, never another
/// port.
pub(crate) fn may_send_password(origin: &Url, url: &Url) -> bool {
    if origin.scheme() == url.scheme()
        && origin.host() == url.host()
        && origin.port_or_known_default() == url.port_or_known_default()
    {
        return true;
    }
    if url.scheme() != "https" || url.port().is_some() || origin.scheme() != "https" {
        return false;
    }
    let (Some(url::Host::Domain(from)), Some(url::Host::Domain(to))) = (origin.host(), url.host())
    else {
        return false;
    };
    let (from, to) = (from.to_ascii_lowercase(), to.to_ascii_lowercase());
    if is_icloud_caldav_host(&from) {
        return is_icloud_caldav_host(&to);
    }
    let site = |host: &str| psl::domain_str(host).map(str::to_string);
    matches!((site(&from), site(&to)), (Some(a), Some(b)) if a == b)
}

/// iCloud's CalDAV hosts: `caldav.icloud.com` and the partitions it
/// redirects to (`p01-caldav.icloud.com` … `p99-…`), an explicit list
/// rather than "anything under icloud.com".
fn is_icloud_caldav_host(host: &str) -> bool {
    if host == "caldav.icloud.com" {
        return true;
    }
    host.strip_suffix("-caldav.icloud.com")
        .and_then(|p| p.strip_prefix('p'))
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Dav {
    fn may_authenticate(&self, url: &Url) -> bool {
        may_send_password(&self.origin, url)
    }

    /// One request, redirects followed; a non-multistatus answer is an
    /// error, a cut-off one is fetched again.
    pub(crate) async fn multistatus(
        &self,
        method: &'static str,
        url: &Url,
        depth: &'static str,
        body: String,
    ) -> Result<(Multistatus, Url), HttpError> {
        let method = Method::from_bytes(method.as_bytes()).expect("a valid method");
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let auth = self.auth.as_ref().filter(|_| self.may_authenticate(&url));
            let attempt = self
                .http
                .parsed(
                    |client| {
                        let mut request = client
                            .request(method.clone(), url.clone())
                            .header("Depth", depth)
                            .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
                            .body(body.clone());
                        if let Some((user, password)) = auth {
                            request = request.basic_auth(user, Some(password.expose()));
                        }
                        request
                    },
                    parse_answer,
                )
                .await;
            match attempt {
                Ok((Ok(ms), _)) => return Ok((ms, url)),
                Ok((Err(message), response)) => {
                    return Err(HttpError::Body {
                        method,
                        url: redact_url(&url),
                        message: format!(
                            "not a WebDAV answer (HTTP {}, {}): {message}",
                            response.status,
                            response.header("content-type").unwrap_or("no content type")
                        ),
                    })
                }
                Err(HttpError::Status {
                    status, headers, ..
                }) if status.is_redirection() && headers.contains_key(header::LOCATION) => {
                    let location = headers
                        .get(header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .unwrap_or_default();
                    let next = url.join(location).map_err(|e| HttpError::Transport {
                        method: method.clone(),
                        url: redact_url(&url),
                        message: format!("bad redirect: {e}"),
                    })?;
                    tracing::debug!(from = %redact_url(&url), to = %redact_url(&next), "following a redirect");
                    url = next;
                }
                Err(e) => return Err(e),
            }
        }
        Err(HttpError::Transport {
            method,
            url: redact_url(&url),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }
}

/// The outer error asks for the body again (cut off); the inner one is a
/// complete answer that is not a multistatus (an HTML page, a proxy error).
fn parse_answer(response: &HttpResponse) -> Result<Result<Multistatus, String>, String> {
    let html = response
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    match xml::parse_multistatus(&response.body) {
        Ok(ms) => Ok(Ok(ms)),
        Err(message) if html || message.starts_with("expected a DAV:multistatus") => {
            Ok(Err(message))
        }
        Err(message) => Err(format!("unreadable WebDAV answer: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_keyed_by_decoded_path() {
        let base = Url::parse("https://dav.example/cal/petrova%40acme/work/").unwrap();
        assert_eq!(
            href_key(&base, "/cal/petrova%40acme/work/a%20b.ics"),
            "/cal/petrova@acme/work/a b.ics"
        );
        assert_eq!(
            href_key(&base, "https://dav.example/cal/petrova@acme/work/a%20b.ics"),
            "/cal/petrova@acme/work/a b.ics"
        );
        assert_eq!(href_key(&base, "x.ics"), "/cal/petrova@acme/work/x.ics");
        assert!(same_collection("/cal/petrova@acme/work", &base));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn credentials_stay_on_the_configured_domain() {
        let dav = Dav {
            http: HttpClient::new(Default::default()).unwrap(),
            auth: None,
            origin: Url::parse("https://caldav.icloud.com/").unwrap(),
        };
        let ok = |u: &str| dav.may_authenticate(&Url::parse(u).unwrap());
        assert!(ok("https://caldav.icloud.com/123/calendars/"));
        assert!(ok("https://p07-caldav.icloud.com/123/calendars/"));
        assert!(!ok("https://evil.example/123/"));
        assert!(!ok("http://p07-caldav.icloud.com/123/"));
        assert!(!ok("https://evil.icloud.com/123/"));
        assert!(!ok("https://p07-caldav.icloud.com:8443/123/"));
    }

    #[test]
    fn the_password_follows_only_the_origin_or_its_own_site_over_https() {
        let may = |from: &str, to: &str| {
            may_send_password(&Url::parse(from).unwrap(), &Url::parse(to).unwrap())
        };
        // The exact origin, whatever the scheme (a loopback test server).
        assert!(may(
            "http://127.0.0.1:5232/dav/",
            "http://127.0.0.1:5232/other/"
        ));
        assert!(may(
            "https://dav.acme.co.uk/",
            "https://dav.acme.co.uk:443/x/"
        ));
        // Another IP, port or scheme is another origin.
        assert!(!may("http://127.0.0.1:5232/", "http://127.1.0.1:5232/"));
        assert!(!may("https://127.0.0.1/", "https://127.1.0.1/"));
        assert!(!may("http://127.0.0.1:5232/", "http://127.0.0.1:5233/"));
        assert!(!may(
            "https://dav.acme.example/",
            "http://dav.acme.example/"
        ));
        assert!(!may(
            "https://dav.acme.example/",
            "https://dav.acme.example:8443/"
        ));
        // The same registrable domain by the public-suffix list.
        assert!(may("https://dav.acme.co.uk/", "https://cal2.acme.co.uk/"));
        assert!(!may("https://dav.acme.co.uk/", "https://evil.co.uk/"));
        assert!(!may("https://dav.shop.msk.ru/", "https://evil.msk.ru/"));
        assert!(may(
            "https://dav.shop.msk.ru/",
            "https://files.shop.msk.ru/"
        ));
        assert!(!may(
            "https://dav.acme.example/",
            "http://cal.acme.example/"
        ));
    }
}
