//! Google OAuth2: the per-user authorization code flow with PKCE (S256) and a
//! loopback redirect on 127.0.0.1 (Google's recommended flow for installed
//! apps), refreshes of its tokens, and the org-wide service account with
//! domain-wide delegation (RFC 7523 JWT bearer grant, RS256, one token per
//! impersonated mailbox).

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, RefreshToken, Scope, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{oauth_error, oauth_http, stored_from_response, token_error, AccessToken, AuthError};
use crate::config::{CalendarConfig, Config};
use crate::ledger::StoredToken;
use crate::secrets::{self, Secret};
use crate::sources::http::{HttpClient, HttpError};

/// Read-only access to calendars and their events.
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";
pub const AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The grant type of RFC 7523 §2.1.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most one hour.
const ASSERTION_SECONDS: i64 = 3600;

/// An `oauth2` client with the authorization and token endpoints set.
type CodeClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// The OAuth client of per-user Google calendars.
#[derive(Debug, Clone)]
pub struct GoogleOAuth {
    pub client_id: String,
    pub client_secret: Secret,
    pub auth_url: String,
    pub token_url: String,
}

impl GoogleOAuth {
    pub fn from_config(config: &Config, c: &CalendarConfig) -> Result<GoogleOAuth> {
        let g = config.google.clone().unwrap_or_default();
        let client_id = c
            .client_id
            .clone()
            .or(g.client_id)
            .context("no Google OAuth client_id (calendar or [google])")?;
        let secret_ref = c
            .client_secret
            .clone()
            .or(g.client_secret)
            .context("no Google OAuth client_secret (calendar or [google])")?;
        Ok(GoogleOAuth {
            client_id,
            client_secret: secrets::resolve(&secret_ref, &config.base_dir)?,
            auth_url: g.auth_url.unwrap_or_else(|| AUTH_URL.into()),
            token_url: g.token_url.unwrap_or_else(|| TOKEN_URL.into()),
        })
    }

    fn client(&self) -> Result<CodeClient> {
        Ok(BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_string()))
            .set_auth_uri(AuthUrl::new(self.auth_url.clone())?)
            .set_token_uri(TokenUrl::new(self.token_url.clone())?)
            .set_auth_type(AuthType::RequestBody))
    }

    /// Exchanges a refresh token for a new access token.
    pub async fn refresh(
        &self,
        http: &HttpClient,
        calendar: &str,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<StoredToken, AuthError> {
        let response = self
            .client()?
            .exchange_refresh_token(&RefreshToken::new(refresh_token))
            .request_async(&oauth_http(http))
            .await
            .map_err(|e| token_error("google", calendar, e))?;
        Ok(stored_from_response("google", &response, now))
    }
}

/// The authorization flow for one calendar: prints (through `show`) the
/// consent URL, waits on a loopback port for Google's redirect, checks the
/// state and exchanges the code with the PKCE verifier.
pub async fn authorize_loopback(
    http: &HttpClient,
    settings: &GoogleOAuth,
    calendar: &str,
    show: impl FnOnce(&str),
) -> Result<StoredToken> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port for the redirect")?;
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let client = settings
        .client()?
        .set_redirect_uri(RedirectUrl::new(redirect)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new(SCOPE.into()))
        // A refresh token, and again on a repeated consent.
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .set_pkce_challenge(challenge)
        .url();
    show(url.as_str());
    let code = loop {
        let (mut socket, _) = listener.accept().await?;
        let mut buffer = vec![0u8; 8192];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut buffer))
            .await
            .unwrap_or(Ok(0))?;
        let request = String::from_utf8_lossy(&buffer[..n]).into_owned();
        let Some(target) = request
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
        else {
            continue;
        };
        let Ok(parsed) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) else {
            continue;
        };
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let (body, outcome) = match (param("code"), param("state"), param("error")) {
            (_, _, Some(error)) => (
                format!("Authorization failed: {error}. You can close this tab."),
                Some(Err(error)),
            ),
            (Some(code), Some(s), None) if s == *state.secret() => (
                "meetledger is authorized. You can close this tab.".to_string(),
                Some(Ok(code)),
            ),
            (Some(_), _, None) => (
                "The answer did not match this authorization request.".to_string(),
                None,
            ),
            // A favicon or another stray request.
            _ => (String::new(), None),
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(response.as_bytes()).await;
        let _ = socket.shutdown().await;
        match outcome {
            Some(Ok(code)) => break code,
            Some(Err(error)) => bail!("Google refused the authorization: {error}"),
            None => continue,
        }
    };
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http(http))
        .await
        .map_err(|e| token_error("google", calendar, e))?;
    let token = stored_from_response("google", &response, Utc::now());
    if token.refresh_token.is_none() {
        bail!("Google returned no refresh token; remove meetledger's access at https://myaccount.google.com/permissions and run `meetledger auth google` again");
    }
    Ok(token)
}

/// A service account's JSON key, as Google's console downloads it.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl ServiceAccountKey {
    pub fn parse(secret: &Secret) -> Result<ServiceAccountKey> {
        serde_json::from_str(secret.expose()).context(
            "the Google service account key is not the JSON key file from the console (client_email, private_key)",
        )
    }
}

/// The claims of the JWT bearer assertion (Google's service account flow).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    /// The impersonated user (domain-wide delegation).
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
}

/// Signs the assertion for `subject` with the service account's key, for
/// the token endpoint `audience`, issued at `issued_at`.
pub fn sign_assertion(
    key: &ServiceAccountKey,
    audience: &str,
    subject: &str,
    issued_at: DateTime<Utc>,
) -> Result<String> {
    let claims = AssertionClaims {
        iss: key.client_email.clone(),
        scope: SCOPE.into(),
        aud: audience.into(),
        sub: subject.into(),
        iat: issued_at.timestamp(),
        exp: (issued_at + Duration::seconds(ASSERTION_SECONDS)).timestamp(),
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key.private_key_id.clone();
    let encoding = jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes())
        .context("the service account's private_key is not an RSA PEM key")?;
    jsonwebtoken::encode(&header, &claims, &encoding).context("cannot sign the JWT assertion")
}

#[derive(Deserialize)]
struct BearerResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// An access token for `subject`'s calendars through domain-wide delegation.
/// `token_url` overrides where the grant is posted (a proxy); `now` is the
/// run's time, which only dates the token's expiry.
pub async fn service_account_token(
    http: &HttpClient,
    key: &ServiceAccountKey,
    token_url: Option<&str>,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<AccessToken, AuthError> {
    let token_url = token_url
        .map(str::to_string)
        .or_else(|| key.token_uri.clone())
        .unwrap_or_else(|| TOKEN_URL.into());
    // Google checks `aud` against its own token endpoint (the key names
    // it), wherever the request travels through.
    let audience = key.token_uri.clone().unwrap_or_else(|| TOKEN_URL.into());
    // Google refuses `iat`/`exp` more than an hour from its own clock, so
    // the assertion is dated by the real clock, never by `--now`.
    let assertion = sign_assertion(key, &audience, subject, Utc::now())?;
    let form = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", JWT_BEARER)
        .append_pair("assertion", &assertion)
        .finish();
    match http
        .json::<BearerResponse, _>(|c| {
            c.post(&token_url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.clone())
        })
        .await
    {
        Ok((response, _)) => Ok(AccessToken {
            token: Secret::new(response.access_token),
            expires_at: now + Duration::seconds(response.expires_in.unwrap_or(3600)),
        }),
        Err(HttpError::Status { body, status, .. }) => {
            let (error, description) =
                oauth_error(&body).unwrap_or_else(|| (format!("HTTP {status}"), None));
            Err(AuthError::Refused {
                provider: "google",
                error: format!("{error} for {subject} (is domain-wide delegation granted for the calendar.readonly scope?)"),
                description,
            })
        }
        Err(e) => Err(AuthError::Other(e.into())),
    }
}
