//! Microsoft identity platform (v2.0 endpoints): the device code flow for
//! one user's mailbox (`meetledger auth microsoft`), refreshes of its tokens
//! (Microsoft rotates refresh tokens: the new one is stored), and app-only
//! client credentials for reading every mailbox of the tenant.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, RefreshToken, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};

use super::{oauth_http, stored_from_response, token_error, AccessToken, AuthError};
use crate::config::{CalendarConfig, Config};
use crate::ledger::StoredToken;
use crate::secrets::{self, Secret};
use crate::sources::http::HttpClient;

pub const LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Delegated: read the signed-in user's calendars; offline_access brings a
/// refresh token.
pub const USER_SCOPES: &[&str] = &[
    "https://graph.microsoft.com/Calendars.Read",
    "offline_access",
];
/// App-only: the application permissions granted by admin consent.
pub const APP_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Work or school accounts of any tenant, when none is configured.
const DEFAULT_TENANT: &str = "organizations";

/// The app registration as one calendar uses it.
#[derive(Debug, Clone)]
pub struct MicrosoftOAuth {
    pub client_id: String,
    pub tenant: String,
    pub login_url: String,
    /// Only for app-only (client credentials).
    pub client_secret: Option<Secret>,
}

impl MicrosoftOAuth {
    pub fn from_config(config: &Config, c: &CalendarConfig) -> Result<MicrosoftOAuth> {
        let m = config.microsoft.clone().unwrap_or_default();
        let client_secret = match &m.client_secret {
            Some(r) if c.auth.unwrap_or_default() == crate::config::CloudAuth::Org => {
                Some(secrets::resolve(r, &config.base_dir)?)
            }
            _ => None,
        };
        Ok(MicrosoftOAuth {
            client_id: c
                .client_id
                .clone()
                .or(m.client_id)
                .context("no Microsoft client_id (calendar or [microsoft])")?,
            tenant: c
                .tenant
                .clone()
                .or(m.tenant)
                .unwrap_or_else(|| DEFAULT_TENANT.into()),
            login_url: m
                .login_url
                .unwrap_or_else(|| LOGIN_URL.into())
                .trim_end_matches('/')
                .to_string(),
            client_secret,
        })
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/{}/oauth2/v2.0/{name}", self.login_url, self.tenant)
    }

    /// Exchanges a refresh token (public client: no secret).
    pub async fn refresh(
        &self,
        http: &HttpClient,
        calendar: &str,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<StoredToken, AuthError> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(TokenUrl::new(self.endpoint("token")).map_err(anyhow::Error::from)?)
            .set_auth_type(AuthType::RequestBody);
        let refresh_token = RefreshToken::new(refresh_token);
        let mut request = client.exchange_refresh_token(&refresh_token);
        for scope in USER_SCOPES {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        let response = request
            .request_async(&oauth_http(http))
            .await
            .map_err(|e| token_error("microsoft", calendar, e))?;
        Ok(stored_from_response("microsoft", &response, now))
    }

    /// App-only token for the tenant (client credentials grant).
    pub async fn app_token(
        &self,
        http: &HttpClient,
        calendar: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, AuthError> {
        let secret = self.client_secret.clone().ok_or_else(|| {
            AuthError::Other(anyhow::anyhow!(
                "[microsoft] client_secret is required for auth = \"org\""
            ))
        })?;
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(secret.expose().to_string()))
            .set_token_uri(TokenUrl::new(self.endpoint("token")).map_err(anyhow::Error::from)?)
            .set_auth_type(AuthType::RequestBody);
        let response = client
            .exchange_client_credentials()
            .add_scope(Scope::new(APP_SCOPE.into()))
            .request_async(&oauth_http(http))
            .await
            .map_err(|e| match token_error("microsoft", calendar, e) {
                // No refresh token is involved: a refused grant is configuration.
                AuthError::NeedsReauth { reason, .. } => AuthError::Refused {
                    provider: "microsoft",
                    error: reason,
                    description: None,
                },
                other => other,
            })?;
        let stored = stored_from_response("microsoft", &response, now);
        Ok(AccessToken {
            token: Secret::new(response.access_token().secret().clone()),
            expires_at: stored.expires_at.unwrap_or(now),
        })
    }
}

/// The device code flow: asks for a code, shows (through `show`) where to
/// enter it, then polls the token endpoint at the interval Microsoft asked
/// for until the user signs in, declines or the code expires.
pub async fn authorize_device(
    http: &HttpClient,
    settings: &MicrosoftOAuth,
    calendar: &str,
    show: impl FnOnce(&str, &str),
) -> Result<StoredToken> {
    let client = BasicClient::new(ClientId::new(settings.client_id.clone()))
        .set_device_authorization_url(DeviceAuthorizationUrl::new(
            settings.endpoint("devicecode"),
        )?)
        .set_token_uri(TokenUrl::new(settings.endpoint("token"))?)
        .set_auth_type(AuthType::RequestBody);
    let mut request = client.exchange_device_code();
    for scope in USER_SCOPES {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    let details: StandardDeviceAuthorizationResponse = request
        .request_async(&oauth_http(http))
        .await
        .map_err(|e| token_error("microsoft", calendar, e))?;
    show(
        details.verification_uri().as_str(),
        details.user_code().secret(),
    );
    let response = client
        .exchange_device_access_token(&details)
        .request_async(&oauth_http(http), tokio::time::sleep, None)
        .await
        .map_err(|e| token_error("microsoft", calendar, e))?;
    Ok(stored_from_response("microsoft", &response, Utc::now()))
}
