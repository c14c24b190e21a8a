//! The one HTTP client every network source uses (SPEC §8): connect and read
//! timeouts, retries with exponential backoff and jitter for 429, 5xx, a
//! 403 that says "rate limit", timeouts and broken bodies, `Retry-After` honoured, a per-host rate limit
//! and a bound on concurrent requests. Logs name the host and the last path
//! segment only: URLs can carry tokens (Bitrix24 webhooks, signed feeds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{header::HeaderMap, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Client settings; the defaults suit every provider we talk to.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// Whole-request timeout, body included.
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this fails the request instead of
    /// stalling the sync; the next sync tries again.
    pub max_retry_after: Duration,
    pub max_concurrent: usize,
    /// Requests per second per host unless set with `HttpClient::limit_host`.
    pub default_rate: f64,
    /// Everything one request may take, its retries and their waits
    /// included: a server that answers slowly, or drips its body a byte at
    /// a time, holds a sync at most this long (45 s: a whole `sync` against
    /// such a server stays within a minute).
    pub deadline: Duration,
    /// Largest response body read; a larger one fails at once, without
    /// retrying (it would be as large again). See `body_limit_for`.
    pub max_body_bytes: usize,
}

/// A body limit that suits API pages: JSON pages of 100–1 000 records are
/// kilobytes to a few megabytes.
pub const API_BODY_LIMIT: usize = 32 << 20;
/// A body limit that suits whole calendars (`ics_url` feeds, CalDAV
/// reports): a busy calendar of years is tens of megabytes.
pub const CALENDAR_BODY_LIMIT: usize = 256 << 20;

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(30),
            max_concurrent: 8,
            default_rate: 10.0,
            deadline: Duration::from_secs(45),
            max_body_bytes: API_BODY_LIMIT,
        }
    }
}

/// Why a request failed after its retries.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with a status the caller must handle (401, 403,
    /// 404, 410…), or a retryable one that persisted.
    #[error("{method} {url}: HTTP {status}{}", body_hint(.body))]
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        body: String,
        headers: HeaderMap,
    },
    #[error("{method} {url}: {message}")]
    Transport {
        method: Method,
        url: String,
        message: String,
    },
    #[error("{method} {url}: unreadable response: {message}")]
    Body {
        method: Method,
        url: String,
        message: String,
    },
    /// A limit of ours was reached (body size, the request's deadline, a
    /// redirect to another origin): retrying would meet it again.
    #[error("{method} {url}: {message}")]
    Refused {
        method: Method,
        url: String,
        message: String,
    },
}

fn body_hint(body: &str) -> String {
    let trimmed: String = body.trim().chars().take(300).collect();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

impl HttpError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What went wrong, without the method and URL: `HTTP 503: …`,
    /// `timed out …`, `unreadable JSON at line 1 column 5 (…)`. Connectors
    /// put their own name and the API method before it (their URLs' paths
    /// are safe to show; the redacted URL of this error is not needed).
    pub fn reason(&self) -> String {
        match self {
            HttpError::Status { status, body, .. } => format!("HTTP {status}{}", body_hint(body)),
            HttpError::Transport { message, .. }
            | HttpError::Body { message, .. }
            | HttpError::Refused { message, .. } => message.clone(),
        }
    }

    /// The response body of a status error (e.g. OAuth's `invalid_grant`).
    pub fn body(&self) -> Option<&str> {
        match self {
            HttpError::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            HttpError::Status { status, body, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error()
                    || (*status == StatusCode::FORBIDDEN && is_rate_limit_refusal(body))
            }
            HttpError::Transport { .. } | HttpError::Body { .. } => true,
            HttpError::Refused { .. } => false,
        }
    }

    /// The wait a 429/503 asked for.
    fn retry_after(&self) -> Option<Duration> {
        let HttpError::Status { headers, .. } = self else {
            return None;
        };
        let value = headers
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
        Some(wait.to_std().unwrap_or(Duration::ZERO))
    }
}

/// A 403 that means "slow down", like a 429: Google's documented error body
/// with reason `rateLimitExceeded` or `userRateLimitExceeded`
/// (<https://developers.google.com/calendar/api/guides/errors>). Other 403s
/// (no access, daily quota spent) stay final.
fn is_rate_limit_refusal(body: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    value["error"]["errors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            matches!(
                e["reason"].as_str(),
                Some("rateLimitExceeded" | "userRateLimitExceeded")
            )
        })
    })
}

/// A URL as it may appear in logs and errors: `scheme://host[:port]/…`.
/// Nothing of the path or query: tokens live there (a Bitrix24 webhook's
/// code, the last segment of iCloud and Nextcloud feed links, `?token=`).
pub fn redact_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() == "/" && url.query().is_none() {
        ""
    } else {
        "…"
    };
    format!("{}://{host}{port}/{rest}", url.scheme())
}

/// Whether two URLs share scheme, host and port: credentials are sent only
/// to the origin they were configured for.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Redirects are followed only within their origin. A redirect elsewhere
/// (another host, port, or https → http) is not followed: reqwest strips
/// only `Authorization` and `Cookie` on its way, not an `X-API-KEY` or a
/// custom header, and the new address may be an attacker's.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .last()
            .is_some_and(|from| same_origin(from, attempt.url()));
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if same {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// One successful response, body read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes_like::Body,
}

/// Response bodies as owned bytes.
pub mod bytes_like {
    pub type Body = Vec<u8>;
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What every client of ours shares: timeouts, our User-Agent, and no
/// `Referer` (it would carry the previous URL, webhook code or `?token=`
/// included, to the next host).
fn client_builder(settings: &HttpSettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .referer(false)
        .user_agent(concat!("meetledger/", env!("CARGO_PKG_VERSION")))
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// `false` for WebDAV's client, which handles 3xx itself.
    follows_redirects: bool,
    settings: HttpSettings,
    permits: Arc<Semaphore>,
    /// Host → (minimum spacing, next free instant).
    pacing: Arc<Mutex<HashMap<String, (Duration, Instant)>>>,
}

impl HttpClient {
    pub fn new(settings: HttpSettings) -> anyhow::Result<HttpClient> {
        let inner = client_builder(&settings)
            .redirect(same_origin_redirects())
            .build()?;
        Ok(HttpClient {
            inner,
            follows_redirects: true,
            permits: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
            pacing: Arc::new(Mutex::new(HashMap::new())),
            settings,
        })
    }

    /// The underlying client, for libraries that need one (OAuth, CalDAV).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// A client sharing this one's settings, pacing and concurrency bound
    /// that returns 3xx answers instead of following them (as
    /// `HttpError::Status` with the `Location` header). WebDAV needs this:
    /// reqwest turns a redirected PROPFIND or REPORT into a GET.
    pub fn without_redirects(&self) -> anyhow::Result<HttpClient> {
        let inner = client_builder(&self.settings)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpClient {
            inner,
            follows_redirects: false,
            settings: self.settings.clone(),
            permits: self.permits.clone(),
            pacing: self.pacing.clone(),
        })
    }

    /// This client with another body limit (calendars are larger than API
    /// pages); pacing and the concurrency bound stay shared.
    pub fn with_body_limit(&self, bytes: usize) -> HttpClient {
        let mut client = self.clone();
        client.settings.max_body_bytes = bytes;
        client
    }

    /// Sets a host's rate (requests per second): amoCRM 7, Bitrix24 2…
    pub fn limit_host(&self, host: &str, per_second: f64) {
        let spacing = Duration::from_secs_f64(1.0 / per_second.max(0.001));
        self.pacing
            .lock()
            .expect("pacing lock")
            .insert(host.to_string(), (spacing, Instant::now()));
    }

    async fn pace(&self, url: &Url) {
        let host = url.host_str().unwrap_or_default().to_string();
        let wait = {
            let mut pacing = self.pacing.lock().expect("pacing lock");
            let default = Duration::from_secs_f64(1.0 / self.settings.default_rate.max(0.001));
            let (spacing, next) = pacing.entry(host).or_insert((default, Instant::now()));
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + *spacing;
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends a request, retrying what is worth retrying; `build` makes the
    /// request anew for each attempt. Any non-2xx status that is left after
    /// retries is an `HttpError::Status` (304 is returned as a response).
    pub async fn send<F>(&self, build: F) -> Result<HttpResponse, HttpError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_max_times(self.settings.max_attempts.saturating_sub(1))
            .with_jitter();
        let max_retry_after = self.settings.max_retry_after;
        let retried = (|| self.attempt(&build))
            .retry(backoff)
            .when(HttpError::retryable)
            .adjust(move |error: &HttpError, planned| match error.retry_after() {
                Some(wait) if wait > max_retry_after => None,
                Some(wait) => planned.map(|p| p.max(wait)).or(Some(wait)),
                None => planned,
            })
            .notify(|error, wait| tracing::warn!(error = %error, retry_in_ms = wait.as_millis() as u64, "request failed; retrying"));
        match tokio::time::timeout(self.settings.deadline, retried).await {
            Ok(result) => result,
            Err(_) => {
                let (method, url) = request_names(&self.inner, &build);
                Err(HttpError::Refused {
                    method,
                    url,
                    message: format!(
                        "no complete answer within {} s (retries included); the next sync tries again",
                        self.settings.deadline.as_secs()
                    ),
                })
            }
        }
    }

    /// `send`, then the body parsed as JSON. A body that does not parse (a
    /// truncated response) is retried like a network error.
    pub async fn json<T, F>(&self, build: F) -> Result<(T, HttpResponse), HttpError>
    where
        T: DeserializeOwned,
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_max_times(2)
            .with_jitter();
        let (method, url) = request_names(&self.inner, &build);
        (|| async {
            let response = self.send(&build).await?;
            match serde_json::from_slice::<T>(&response.body) {
                Ok(value) => Ok((value, response)),
                Err(e) => Err(HttpError::Body {
                    method: method.clone(),
                    url: url.clone(),
                    message: unreadable_json(&e),
                }),
            }
        })
        .retry(backoff)
        .when(|e: &HttpError| matches!(e, HttpError::Body { .. }))
        .await
    }

    /// `send`, then the body checked by `parse`. A body that does not parse
    /// (XML or iCalendar cut off mid-way) is fetched again like a network
    /// error, up to the configured attempts; `json` is this with serde.
    pub async fn parsed<T, F, P>(&self, build: F, parse: P) -> Result<(T, HttpResponse), HttpError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        P: Fn(&HttpResponse) -> Result<T, String>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_max_times(self.settings.max_attempts.saturating_sub(1))
            .with_jitter();
        let (method, url) = request_names(&self.inner, &build);
        (|| async {
            let response = self.send(&build).await?;
            match parse(&response) {
                Ok(value) => Ok((value, response)),
                Err(message) => Err(HttpError::Body {
                    method: method.clone(),
                    url: url.clone(),
                    message,
                }),
            }
        })
        .retry(backoff)
        .when(|e: &HttpError| matches!(e, HttpError::Body { .. }))
        .notify(|error, wait| tracing::warn!(error = %error, retry_in_ms = wait.as_millis() as u64, "unreadable response; fetching again"))
        .await
    }

    async fn attempt<F>(&self, build: &F) -> Result<HttpResponse, HttpError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let request = build(&self.inner)
            .build()
            .map_err(|e| HttpError::Transport {
                method: Method::GET,
                url: String::from("(request)"),
                message: format!("cannot build the request: {e}"),
            })?;
        let method = request.method().clone();
        let url = redact_url(request.url());
        self.pace(request.url()).await;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        tracing::debug!(%method, %url, "request");
        let response = self
            .inner
            .execute(request)
            .await
            .map_err(|e| HttpError::Transport {
                method: method.clone(),
                url: url.clone(),
                message: describe_transport(&e),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        if self.follows_redirects && status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            // Only a redirect to another origin is left unfollowed.
            let to = headers
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .map_or_else(|| "an unreadable address".to_string(), |u| redact_url(&u));
            return Err(HttpError::Refused {
                method,
                url,
                message: format!(
                    "redirected to another origin ({to}): not followed, so no credential leaves its origin; if that is the right address now, configure it"
                ),
            });
        }
        let body = read_body(response, self.settings.max_body_bytes)
            .await
            .map_err(|(limit_reached, message)| {
                if limit_reached {
                    HttpError::Refused {
                        method: method.clone(),
                        url: url.clone(),
                        message,
                    }
                } else {
                    HttpError::Body {
                        method: method.clone(),
                        url: url.clone(),
                        message,
                    }
                }
            })?;
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        } else {
            Err(HttpError::Status {
                method,
                url,
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
                headers,
            })
        }
    }
}

/// Reads a body chunk by chunk up to `limit` bytes, so a huge or endless
/// answer costs at most the limit in memory. Errors: (limit reached, why).
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, (bool, String)> {
    let too_large = || {
        (
            true,
            format!(
                "the answer is larger than {} MiB; refused (raise [sync] max_response_mb if it is genuine)",
                limit >> 20
            ),
        )
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| (false, describe_transport(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The method and redacted URL of the request `build` makes, for errors
/// raised after its response arrived.
fn request_names<F>(client: &reqwest::Client, build: &F) -> (Method, String)
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
{
    build(client)
        .build()
        .map(|r| (r.method().clone(), redact_url(r.url())))
        .unwrap_or((Method::GET, String::from("(request)")))
}

/// `unreadable JSON at line 1 column 5 (expected value)`: where the body
/// stopped making sense, without repeating the body (it may hold personal
/// data).
pub fn unreadable_json(e: &serde_json::Error) -> String {
    let what = e.to_string();
    let what = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(head, _)| head);
    format!(
        "unreadable JSON at line {} column {} ({what})",
        e.line(),
        e.column()
    )
}

/// reqwest's error text without the URL (which may hold a token).
fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the body was cut off or unreadable"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast() -> HttpClient {
        HttpClient::new(HttpSettings {
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            default_rate: 1000.0,
            ..HttpSettings::default()
        })
        .unwrap()
    }

    /// A server that sends its headers, then one byte of body every 200 ms
    /// for ever: a request must end at its deadline, retries included.
    fn dripping_server() -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 2048];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
                    while stream.write_all(b"x").is_ok() {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                });
            }
        });
        format!("http://127.0.0.1:{port}/feed.ics")
    }

    #[tokio::test]
    async fn a_slowly_dripping_body_ends_at_the_request_deadline() {
        let url = dripping_server();
        let client = HttpClient::new(HttpSettings {
            timeout: Duration::from_secs(30),
            deadline: Duration::from_millis(1500),
            ..fast().settings
        })
        .unwrap();
        let error = client.send(|c| c.get(&url)).await.unwrap_err();
        assert!(matches!(error, HttpError::Refused { .. }), "{error}");
        assert!(
            error.to_string().contains("no complete answer within"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_without_a_retry() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(3 << 20)))
            .expect(1)
            .mount(&server)
            .await;
        let client = fast().with_body_limit(1 << 20);
        let error = client
            .send(|c| c.get(format!("{}/big", server.uri())))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("larger than 1 MiB"), "{error}");
    }

    #[test]
    fn urls_in_logs_keep_no_token() {
        let url = Url::parse("https://acme.bitrix24.ru/rest/1/s3cr3tcode/crm.deal.list?auth=abc")
            .unwrap();
        assert_eq!(redact_url(&url), "https://acme.bitrix24.ru/…");
        // iCloud and Nextcloud feed links: the last segment is the secret.
        let feed =
            Url::parse("https://p07-caldav.icloud.com:8443/published/2/MTIzNDU2Nzg5").unwrap();
        assert_eq!(redact_url(&feed), "https://p07-caldav.icloud.com:8443/…");
        assert_eq!(
            redact_url(&Url::parse("http://127.0.0.1/").unwrap()),
            "http://127.0.0.1/"
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_until_success() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\":true}"))
            .mount(&server)
            .await;
        let client = fast();
        let url = format!("{}/x", server.uri());
        let (value, _) = client
            .json::<serde_json::Value, _>(|c| c.get(&url))
            .await
            .unwrap();
        assert_eq!(value["ok"], true);
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn retry_after_is_honoured() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let client = fast();
        let started = std::time::Instant::now();
        client.send(|c| c.get(server.uri())).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "waited only {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_keep_the_body() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400).set_body_string("{\"error\":\"invalid_grant\"}"),
            )
            .mount(&server)
            .await;
        let err = fast().send(|c| c.post(server.uri())).await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert!(err.body().unwrap().contains("invalid_grant"));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn without_redirects_a_3xx_is_returned_with_its_location() {
        let server = MockServer::start().await;
        Mock::given(method("PROPFIND"))
            .and(path("/.well-known/caldav"))
            .respond_with(ResponseTemplate::new(301).insert_header("Location", "/dav/"))
            .mount(&server)
            .await;
        let client = fast().without_redirects().unwrap();
        let url = format!("{}/.well-known/caldav", server.uri());
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let err = client
            .send(|c| c.request(propfind.clone(), &url))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::MOVED_PERMANENTLY));
        let HttpError::Status { headers, .. } = err else {
            unreachable!()
        };
        assert_eq!(headers.get("location").unwrap(), "/dav/");
    }

    #[tokio::test]
    async fn a_body_that_does_not_parse_is_fetched_again() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<a><b>"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<a><b/></a>"))
            .mount(&server)
            .await;
        let (text, _) = fast()
            .parsed(
                |c| c.get(server.uri()),
                |r| {
                    let text = r.text();
                    if text.ends_with("</a>") {
                        Ok(text)
                    } else {
                        Err("cut off".to_string())
                    }
                },
            )
            .await
            .unwrap();
        assert_eq!(text, "<a><b/></a>");
    }

    #[tokio::test]
    async fn a_json_body_that_never_parses_names_the_request_and_the_place() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\": tru"))
            .mount(&server)
            .await;
        let url = format!("{}/api/v5/orders?apiKey=s3cret&page=2", server.uri());
        let error = fast()
            .json::<serde_json::Value, _>(|c| c.get(&url))
            .await
            .unwrap_err();
        assert_eq!(
            error.reason(),
            "unreadable JSON at line 1 column 10 (EOF while parsing a value)"
        );
        let shown = error.to_string();
        assert!(shown.starts_with("GET http://127.0.0.1:"), "{shown}");
        assert!(shown.contains("/…: "), "{shown}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("(response)"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_truncated_json_body_is_fetched_again() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"items\": [1, 2"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"items\": [1, 2]}"))
            .mount(&server)
            .await;
        let (value, _) = fast()
            .json::<serde_json::Value, _>(|c| c.get(server.uri()))
            .await
            .unwrap();
        assert_eq!(value["items"].as_array().unwrap().len(), 2);
    }
}
