//! `ics_url` calendars: a published iCalendar feed (Google's "secret
//! address", a Yandex or Outlook publish link, any `webcal://` URL). Owns the
//! conditional GET and its cursor; parsing is `calendar::normalize`, the
//! network is the shared `HttpClient`. It must not keep anything between
//! runs except the cursor stored with the data.
//!
//! The cursor (JSON) holds the feed's `ETag` and `Last-Modified`, a hash of
//! the body and the sync window. A 304, or a body with the same hash, is
//! `Unchanged` without parsing, as long as the window has not moved; once it
//! has (the next day), the feed is fetched unconditionally and expanded
//! again, as recurring series grow new instances inside the window.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use reqwest::{header, StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::http::{redact_url, HttpClient, HttpResponse};
use super::{
    content_cursor, CalendarFetch, CalendarItem, CalendarSource, SourceWarning, SyncContext,
};
use crate::calendar::{normalize, IcsInput};
use crate::config::{CalendarConfig, SecretRef};
use crate::secrets::{self, Secret};

pub struct IcsUrlSource {
    id: String,
    url: String,
    username: Option<String>,
    password: Option<SecretRef>,
    base_dir: PathBuf,
    http: Option<HttpClient>,
}

/// What the last full fetch saw (the cursor, as JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct FeedCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    /// `content_cursor` of the body and the window.
    hash: String,
    /// The sync window's dates the occurrences were expanded for.
    window: String,
}

impl IcsUrlSource {
    pub fn new(config: &CalendarConfig, base_dir: &Path) -> IcsUrlSource {
        IcsUrlSource {
            id: config.id.clone(),
            url: config.url.clone().unwrap_or_default(),
            username: config.username.clone(),
            password: config.password.clone(),
            base_dir: base_dir.to_path_buf(),
            http: None,
        }
    }
}

/// The feed's address as HTTP: `webcal://` and `webcals://` are how
/// calendar apps spell `https://` (Apple, Outlook and Yandex publish them).
pub fn feed_url(url: &str) -> Result<Url> {
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    let https = ["webcal://", "webcals://"]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| format!("https://{}", &trimmed[p.len()..]));
    let url = Url::parse(https.as_deref().unwrap_or(trimmed))
        .with_context(|| "the calendar url is not a URL".to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("the calendar url must be https://, http:// or webcal://");
    }
    Ok(url)
}

/// The sync window as the cursor records it.
pub(crate) fn window_key(ctx: &SyncContext) -> String {
    format!(
        "{}..{}",
        ctx.window_start.date_naive(),
        ctx.window_end.date_naive()
    )
}

/// A feed body we may trust: an iCalendar object read to its end. A login
/// page or a body cut off mid-way must not replace the stored calendar.
fn check_feed(response: &HttpResponse) -> Result<(), String> {
    if response.status == StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&response.body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let starts = trimmed
        .get(..15)
        .is_some_and(|s| s.eq_ignore_ascii_case("BEGIN:VCALENDAR"));
    if !starts {
        // Not worth fetching again: report it, keep the stored calendar.
        return Ok(());
    }
    let ends = trimmed.len() >= 13
        && trimmed
            .get(trimmed.len() - 13..)
            .is_some_and(|s| s.eq_ignore_ascii_case("END:VCALENDAR"));
    if ends {
        Ok(())
    } else {
        Err("the iCalendar feed was cut off before END:VCALENDAR".into())
    }
}

#[async_trait]
impl CalendarSource for IcsUrlSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "ics_url"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch> {
        let url = feed_url(&self.url)?;
        let shown = redact_url(&url);
        let password: Option<Secret> = match &self.password {
            Some(reference) => Some(secrets::resolve(reference, &self.base_dir)?),
            None => None,
        };
        if self.http.is_none() {
            self.http = Some(
                HttpClient::new(ctx.http.clone())?
                    .with_body_limit(ctx.body_limit(super::http::CALENDAR_BODY_LIMIT)),
            );
        }
        let http = self.http.as_ref().expect("set above");
        let window = window_key(ctx);
        let previous: Option<FeedCursor> = cursor
            .and_then(|c| serde_json::from_str::<FeedCursor>(c).ok())
            .filter(|c| c.window == window);

        let username = self.username.clone();
        let (_, response) = http
            .parsed(
                |client| {
                    let mut request = client
                        .get(url.clone())
                        .header(header::ACCEPT, "text/calendar, text/plain;q=0.5, */*;q=0.1");
                    if let (Some(user), Some(pass)) = (&username, &password) {
                        request = request.basic_auth(user, Some(pass.expose()));
                    }
                    if let Some(p) = &previous {
                        if let Some(etag) = &p.etag {
                            request = request.header(header::IF_NONE_MATCH, etag);
                        }
                        if let Some(modified) = &p.last_modified {
                            request = request.header(header::IF_MODIFIED_SINCE, modified);
                        }
                    }
                    request
                },
                check_feed,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e).context(format!("cannot fetch the feed {shown}")))?;

        if response.status == StatusCode::NOT_MODIFIED {
            if previous.is_some() {
                return Ok(CalendarFetch::Unchanged);
            }
            // A 304 to a request without validators: a broken cache.
            bail!("{shown} answered 304 Not Modified to an unconditional request");
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let hash = content_cursor(&[&response.body], &window);
        let new_cursor = FeedCursor {
            etag: response.header("etag").map(str::to_string),
            last_modified: response.header("last-modified").map(str::to_string),
            hash,
            window,
        };
        if previous.as_ref().is_some_and(|p| p.hash == new_cursor.hash) {
            return Ok(CalendarFetch::Unchanged);
        }
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if !trimmed
            .get(..15)
            .is_some_and(|s| s.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
        {
            let kind = response.header("content-type").unwrap_or("no content type");
            bail!(
                "{shown} did not return an iCalendar feed ({kind}); is the address still published?"
            );
        }

        let inputs = vec![IcsInput::new(shown.clone(), response.body)];
        let id = self.id.clone();
        let options = ctx.expand_options();
        // Expansion is CPU work: keep it off the async workers.
        let parsed = tokio::task::spawn_blocking(move || normalize(inputs, &id, &options)).await?;
        let warnings = parsed
            .warnings
            .into_iter()
            .map(|w| SourceWarning {
                place: match (w.line, &w.uid) {
                    (Some(line), Some(uid)) => format!("{shown}:{line} (UID {uid})"),
                    (Some(line), None) => format!("{shown}:{line}"),
                    (None, Some(uid)) => format!("{shown} (UID {uid})"),
                    (None, None) => shown.clone(),
                },
                message: w.message,
                skipped: w.skipped,
            })
            .collect();
        Ok(CalendarFetch::Full {
            // One item: a feed is always read whole.
            items: vec![CalendarItem {
                key: String::new(),
                occurrences: parsed.occurrences,
            }],
            warnings,
            cursor: serde_json::to_string(&new_cursor)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_is_https() {
        assert_eq!(
            feed_url("webcal://p01-caldav.icloud.com/published/2/abc")
                .unwrap()
                .as_str(),
            "https://p01-caldav.icloud.com/published/2/abc"
        );
        assert_eq!(
            feed_url("WEBCALS://example.com/x.ics").unwrap().as_str(),
            "https://example.com/x.ics"
        );
        assert!(feed_url("ftp://example.com/x.ics").is_err());
    }

    fn response(body: &str) -> HttpResponse {
        HttpResponse {
            status: StatusCode::OK,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_feed_cut_off_is_fetched_again() {
        assert!(check_feed(&response("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")).is_ok());
        assert!(check_feed(&response("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x")).is_err());
        // Not a feed at all: not retried, reported by the caller.
        assert!(check_feed(&response("<html>login</html>")).is_ok());
    }
}
