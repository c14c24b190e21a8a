//! OAuth2 for the `google` and `microsoft` calendar sources: the interactive
//! flows behind `meetledger auth` (authorization code + PKCE with a loopback
//! redirect for Google, device code for Microsoft), the org-wide grants
//! (Google service account JWT bearer, Microsoft client credentials), and
//! per-user token upkeep: refresh before expiry, rotate, and flag a calendar
//! for re-authorization when the provider answers `invalid_grant`.
//!
//! Every token request goes through the shared `HttpClient` (the `oauth2`
//! crate is given a small adapter). Tokens live in the ledger database
//! (`oauth_tokens`), secrets only come from `SecretRef`s; neither is logged.
//! This module does not read calendars: `sources::{google,microsoft}` do.

pub mod google;
pub mod microsoft;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Duration, Utc};
use oauth2::TokenResponse;

use crate::ledger::{Store, StoredToken};
use crate::secrets::Secret;
use crate::sources::http::{HttpClient, HttpError};

/// A token is refreshed when it has less than this left: a page of a large
/// sync must not outlive it.
pub const REFRESH_MARGIN_SECONDS: i64 = 300;

/// An access token and when it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The user must run `meetledger auth` (again): no token yet, or the
    /// provider refused the refresh token (`invalid_grant`: revoked,
    /// expired, password changed).
    #[error(
        "needs re-authorization: run `meetledger auth {provider} --calendar {calendar}` ({reason})"
    )]
    NeedsReauth {
        provider: &'static str,
        calendar: String,
        reason: String,
    },
    /// The token endpoint refused the request for another reason (bad
    /// client, missing consent or delegation): a configuration problem.
    #[error("{provider} token request refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        provider: &'static str,
        error: String,
        description: Option<String>,
    },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The OAuth error code and description of a token endpoint's error body.
pub fn oauth_error(body: &str) -> Option<(String, Option<String>)> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?.as_str()?.to_string();
    let description = value
        .get("error_description")
        .and_then(|d| d.as_str())
        .map(|d| d.chars().take(300).collect());
    Some((error, description))
}

/// Error of the `oauth2` adapter: the transport failed after retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(String);

type AdapterFuture =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, AdapterError>> + Send>>;

/// Gives the `oauth2` crate our HTTP client: `http::Request` in, the
/// response out. Status errors are handed back as responses so `oauth2`
/// reads the OAuth error body (`authorization_pending`, `invalid_grant`).
pub fn oauth_http(client: &HttpClient) -> impl Fn(oauth2::HttpRequest) -> AdapterFuture + '_ {
    move |request: oauth2::HttpRequest| -> AdapterFuture {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let result = client
                .send(|c| {
                    c.request(parts.method.clone(), &url)
                        .headers(parts.headers.clone())
                        .body(body.clone())
                })
                .await;
            let (status, headers, body) = match result {
                Ok(response) => (response.status, response.headers, response.body),
                Err(HttpError::Status {
                    status,
                    headers,
                    body,
                    ..
                }) => (status, headers, body.into_bytes()),
                Err(e) => return Err(AdapterError(e.to_string())),
            };
            let mut response = oauth2::http::Response::builder().status(status);
            for (name, value) in &headers {
                response = response.header(name, value);
            }
            response.body(body).map_err(|e| AdapterError(e.to_string()))
        })
    }
}

/// Converts an `oauth2` token request failure into our error, recognising
/// `invalid_grant`.
pub fn token_error<RE, T>(
    provider: &'static str,
    calendar: &str,
    error: oauth2::RequestTokenError<RE, T>,
) -> AuthError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + serde::Serialize + 'static,
{
    match error {
        oauth2::RequestTokenError::ServerResponse(response) => {
            let value = serde_json::to_value(&response).unwrap_or_default();
            let code = value
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("unknown")
                .to_string();
            let description = value
                .get("error_description")
                .and_then(|d| d.as_str())
                .map(str::to_string);
            if code == "invalid_grant" {
                AuthError::NeedsReauth {
                    provider,
                    calendar: calendar.to_string(),
                    reason: format!(
                        "the provider refused the stored grant: invalid_grant{}",
                        description.map(|d| format!(", {d}")).unwrap_or_default()
                    ),
                }
            } else {
                AuthError::Refused {
                    provider,
                    error: code,
                    description,
                }
            }
        }
        oauth2::RequestTokenError::Request(e) => {
            AuthError::Other(anyhow!("{provider} token endpoint unreachable: {e}"))
        }
        oauth2::RequestTokenError::Parse(e, _) => AuthError::Other(anyhow!(
            "{provider} token endpoint sent an unreadable answer: {e}"
        )),
        oauth2::RequestTokenError::Other(e) => {
            AuthError::Other(anyhow!("{provider} token request failed: {e}"))
        }
    }
}

/// The stored form of a token response.
pub fn stored_from_response<R: TokenResponse>(
    provider: &str,
    response: &R,
    now: DateTime<Utc>,
) -> StoredToken {
    StoredToken {
        provider: provider.to_string(),
        access_token: Some(response.access_token().secret().clone()),
        expires_at: Some(
            now + response
                .expires_in()
                .and_then(|d| Duration::from_std(d).ok())
                .unwrap_or(Duration::hours(1)),
        ),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        scope: response.scopes().map(|s| {
            s.iter()
                .map(|s| s.as_str().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        needs_reauth: None,
    }
}

/// A per-user token kept in the ledger database and refreshed through
/// `refresh` when it is about to expire.
pub struct UserTokens {
    pub provider: &'static str,
    pub calendar: String,
    pub ledger: PathBuf,
}

impl UserTokens {
    /// A valid access token: the stored one while it has more than
    /// `REFRESH_MARGIN_SECONDS` left (unless `force`), else a refreshed one,
    /// stored (with the new refresh token when the provider rotates it).
    /// `invalid_grant` flags the calendar for re-authorization.
    pub async fn access_token<F, Fut>(
        &self,
        now: DateTime<Utc>,
        force: bool,
        refresh: F,
    ) -> Result<AccessToken, AuthError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<StoredToken, AuthError>>,
    {
        let stored = {
            let store = Store::open(&self.ledger)?;
            store.oauth_token(&self.calendar)?
        };
        let Some(stored) = stored else {
            return Err(self.reauth("no token stored yet"));
        };
        if let Some(reason) = &stored.needs_reauth {
            return Err(self.reauth(reason));
        }
        if !force {
            if let (Some(token), Some(expires_at)) = (&stored.access_token, stored.expires_at) {
                if expires_at - now > Duration::seconds(REFRESH_MARGIN_SECONDS) {
                    return Ok(AccessToken {
                        token: Secret::new(token.clone()),
                        expires_at,
                    });
                }
            }
        }
        let Some(refresh_token) = stored.refresh_token.clone() else {
            return Err(self.reauth("no refresh token stored"));
        };
        match refresh(refresh_token).await {
            Ok(fresh) => {
                let mut store = Store::open(&self.ledger)?;
                store
                    .save_oauth_token(&self.calendar, &fresh, now)
                    .context("cannot store the refreshed token")?;
                tracing::info!(source = %self.calendar, "access token refreshed");
                Ok(AccessToken {
                    token: Secret::new(fresh.access_token.clone().unwrap_or_default()),
                    expires_at: fresh.expires_at.unwrap_or(now),
                })
            }
            Err(AuthError::NeedsReauth { reason, .. }) => {
                let mut store = Store::open(&self.ledger)?;
                store.mark_needs_reauth(&self.calendar, self.provider, &reason, now)?;
                tracing::error!(source = %self.calendar, %reason, "needs re-authorization");
                Err(self.reauth(&reason))
            }
            Err(e) => Err(e),
        }
    }

    fn reauth(&self, reason: &str) -> AuthError {
        AuthError::NeedsReauth {
            provider: self.provider,
            calendar: self.calendar.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Which provider `meetledger auth` connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Google,
    Microsoft,
}

/// `meetledger auth google|microsoft --calendar ID`: runs the interactive
/// flow and stores the tokens for that calendar.
pub async fn run_auth(
    config: &crate::config::Config,
    provider: Provider,
    calendar: &str,
    out: &mut dyn std::io::Write,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::config::{CalendarKind, CloudAuth};
    let Some(c) = config.calendar(calendar) else {
        return Err(crate::error::UsageError(format!(
            "no [[calendar]] has id `{calendar}` in {}",
            config.source_path.display()
        ))
        .into());
    };
    let expected = match provider {
        Provider::Google => CalendarKind::Google,
        Provider::Microsoft => CalendarKind::Microsoft,
    };
    if c.kind != expected {
        return Err(crate::error::UsageError(format!(
            "calendar `{calendar}` has kind {:?}, not {:?}",
            c.kind, expected
        ))
        .into());
    }
    if c.auth.unwrap_or_default() != CloudAuth::User {
        return Err(crate::error::UsageError(format!(
            "calendar `{calendar}` uses auth = \"org\": nothing to authorize per user (the organization's credentials are in the config)"
        ))
        .into());
    }
    let http = HttpClient::new(crate::sources::http::HttpSettings::default())?;
    let token = match provider {
        Provider::Google => {
            let settings = google::GoogleOAuth::from_config(config, c)?;
            google::authorize_loopback(&http, &settings, calendar, |url| {
                let _ = writeln!(
                    out,
                    "Open this address in a browser, sign in as the calendar's owner and allow read access:\n\n  {url}\n\nWaiting for the browser to come back to this machine…"
                );
                let _ = out.flush();
            })
            .await?
        }
        Provider::Microsoft => {
            let settings = microsoft::MicrosoftOAuth::from_config(config, c)?;
            microsoft::authorize_device(&http, &settings, calendar, |uri, code| {
                let _ = writeln!(
                    out,
                    "On any device, open {uri} and enter the code {code}; sign in as the calendar's owner.\nWaiting for the sign-in…"
                );
                let _ = out.flush();
            })
            .await?
        }
    };
    let mut store = Store::open(&config.resolve(&config.ledger.path))?;
    store.save_oauth_token(calendar, &token, now)?;
    writeln!(
        out,
        "calendar `{calendar}` authorized; the next `meetledger sync` reads it"
    )?;
    Ok(())
}
