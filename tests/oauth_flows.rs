//! The OAuth2 flows against mock token endpoints: Google's authorization
//! code with PKCE (S256) over a loopback redirect, Google's service account
//! JWT bearer grant (claims and RS256 signature checked with the public
//! key), and Microsoft's device code polling.

mod oauth_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use meetledger::auth::google::{
    authorize_loopback, service_account_token, AssertionClaims, GoogleOAuth, ServiceAccountKey,
};
use meetledger::auth::microsoft::{authorize_device, MicrosoftOAuth};
use meetledger::secrets::Secret;
use meetledger::sources::http::HttpClient;
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn form(request: &Request) -> HashMap<String, String> {
    oauth2::url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn http() -> HttpClient {
    HttpClient::new(oauth_support::fast()).unwrap()
}

/// Google's token endpoint as far as PKCE goes: the verifier must hash to
/// the challenge the consent URL carried.
struct PkceTokenEndpoint {
    challenge: Arc<Mutex<Option<String>>>,
}

impl Respond for PkceTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let expected = self.challenge.lock().unwrap().clone();
        let ok = Some(computed) == expected
            && (43..=128).contains(&verifier.len())
            && form.get("grant_type").map(String::as_str) == Some("authorization_code")
            && form.get("code").map(String::as_str) == Some("the-code")
            && form.get("client_secret").map(String::as_str) == Some("s3cret")
            && form
                .get("redirect_uri")
                .is_some_and(|r| r.starts_with("http://127.0.0.1:"));
        if ok {
            ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "access-1", "expires_in": 3599, "token_type": "Bearer",
                "refresh_token": "refresh-1",
                "scope": "https://www.googleapis.com/auth/calendar.readonly"
            }))
        } else {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "Missing code verifier."
            }))
        }
    }
}

#[tokio::test]
async fn google_authorization_code_with_pkce_over_a_loopback_redirect() {
    let server = MockServer::start().await;
    let challenge = Arc::new(Mutex::new(None));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(PkceTokenEndpoint {
            challenge: challenge.clone(),
        })
        .expect(1)
        .mount(&server)
        .await;
    let settings = GoogleOAuth {
        client_id: "test-client.apps.googleusercontent.com".into(),
        client_secret: Secret::new("s3cret"),
        auth_url: format!("{}/auth", server.uri()),
        token_url: format!("{}/token", server.uri()),
    };
    let seen = challenge.clone();
    let token = authorize_loopback(&http(), &settings, "ivanov-google", move |url| {
        let url = reqwest::Url::parse(url).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        assert_eq!(param("code_challenge_method"), "S256");
        assert_eq!(param("response_type"), "code");
        assert_eq!(param("access_type"), "offline");
        assert_eq!(
            param("scope"),
            "https://www.googleapis.com/auth/calendar.readonly"
        );
        *seen.lock().unwrap() = Some(param("code_challenge"));
        let redirect = param("redirect_uri");
        assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
        let state = param("state");
        // The browser: a stray favicon request, a forged answer, then Google's redirect.
        tokio::spawn(async move {
            let browser = reqwest::Client::new();
            let base = redirect.trim_end_matches('/');
            for target in [
                format!("{base}/favicon.ico"),
                format!("{base}/?code=forged&state=wrong"),
                format!("{base}/?code=the-code&state={state}&scope=calendar.readonly"),
            ] {
                browser.get(&target).send().await.unwrap();
            }
        });
    })
    .await
    .unwrap();
    assert_eq!(token.refresh_token.as_deref(), Some("refresh-1"));
    assert_eq!(token.access_token.as_deref(), Some("access-1"));
}

/// Google's token endpoint for the JWT bearer grant: records the assertion.
struct JwtTokenEndpoint {
    assertions: Arc<Mutex<Vec<String>>>,
}

/// Google's token endpoint as strict as Google is with an assertion: signed
/// by the key, addressed to https://oauth2.googleapis.com/token, and dated
/// within an hour of Google's own (the real) clock. The refusal is Google's
/// (reported in googleapis/google-api-php-client#1429 and many others).
struct StrictJwtTokenEndpoint;

impl Respond for StrictJwtTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        let assertion = form.get("assertion").cloned().unwrap_or_default();
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(
            test_key("test_service_account_key.pub.pem").as_bytes(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["https://oauth2.googleapis.com/token"]);
        validation.validate_exp = false;
        let refuse = |description: &str| {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": description
            }))
        };
        let claims = match jsonwebtoken::decode::<AssertionClaims>(&assertion, &public, &validation)
        {
            Ok(data) => data.claims,
            Err(e) => return refuse(&format!("Invalid JWT Signature or audience: {e}")),
        };
        let real_now = chrono::Utc::now().timestamp();
        if (claims.iat - real_now).abs() > 3600
            || claims.exp - claims.iat > 3600
            || claims.exp < real_now
        {
            return refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "sa-token", "expires_in": 3599, "token_type": "Bearer"
        }))
    }
}

#[tokio::test]
async fn google_org_calendar_syncs_as_of_a_past_day_through_a_token_proxy() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(StrictJwtTokenEndpoint)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer sa-token",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [], "nextSyncToken": "t"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    // `token_url` points at a proxy (here the mock); the key is the
    // console's, naming Google's endpoint as its token_uri.
    let company = oauth_support::Company::new(
        oauth_support::at("2022-10-20T12:00:00Z"),
        &format!(
            r#"
[google]
service_account_key = {{ file = "sa.json" }}
api_url = "{uri}/calendar/v3"
token_url = "{uri}/token"

[[calendar]]
id = "ivanov-google"
manager = "ivanov"
kind = "google"
auth = "org"
"#
        ),
    );
    let key_json = json!({
        "type": "service_account",
        "private_key": test_key("test_service_account_key.pem"),
        "client_email": "meetledger@acme-meetledger.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    std::fs::write(company.dir.path().join("sa.json"), key_json.to_string()).unwrap();
    company
        .sync("ivanov-google")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
}

impl Respond for JwtTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = form(request);
        assert_eq!(
            form.get("grant_type").map(String::as_str),
            Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        );
        self.assertions
            .lock()
            .unwrap()
            .push(form.get("assertion").cloned().unwrap_or_default());
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "sa-token", "expires_in": 3599, "token_type": "Bearer"
        }))
    }
}

fn test_key(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/oauth")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn google_service_account_jwt_is_signed_rs256_with_the_delegation_claims() {
    let server = MockServer::start().await;
    let assertions = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(JwtTokenEndpoint {
            assertions: assertions.clone(),
        })
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let key_json = json!({
        "type": "service_account",
        "project_id": "acme-meetledger",
        "private_key_id": "kid-1",
        "private_key": test_key("test_service_account_key.pem"),
        "client_email": "meetledger@acme-meetledger.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_url,
    });
    let key = ServiceAccountKey::parse(&Secret::new(key_json.to_string())).unwrap();
    // A run "as of" a past day (`--now`): the assertion is still dated by
    // the real clock, which is what Google checks.
    let now: chrono::DateTime<chrono::Utc> = "2022-10-20T12:00:00Z".parse().unwrap();
    let token = service_account_token(&http(), &key, None, "ivanov@acme.example", now)
        .await
        .unwrap();
    assert_eq!(token.token.expose(), "sa-token");

    let assertion = assertions.lock().unwrap()[0].clone();
    let header = jsonwebtoken::decode_header(&assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("kid-1"));
    let public = jsonwebtoken::DecodingKey::from_rsa_pem(
        test_key("test_service_account_key.pub.pem").as_bytes(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&token_url]);
    validation.set_issuer(&["meetledger@acme-meetledger.iam.gserviceaccount.com"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(&assertion, &public, &validation)
        .expect("signature verifies with the public key")
        .claims;
    assert_eq!(claims.sub, "ivanov@acme.example");
    assert_eq!(
        claims.scope,
        "https://www.googleapis.com/auth/calendar.readonly"
    );
    assert!(
        (claims.iat - chrono::Utc::now().timestamp()).abs() < 300,
        "iat {} is not the real time",
        claims.iat
    );
    assert_eq!(claims.exp - claims.iat, 3600);

    // A key of another pair does not verify: the check above means something.
    let mut tampered = assertion.clone();
    tampered.replace_range(tampered.len() - 8.., "AAAAAAAA");
    assert!(jsonwebtoken::decode::<AssertionClaims>(&tampered, &public, &validation).is_err());
}

#[tokio::test]
async fn google_org_calendar_impersonates_the_manager() {
    let server = MockServer::start().await;
    let assertions = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(JwtTokenEndpoint {
            assertions: assertions.clone(),
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer sa-token",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [], "nextSyncToken": "t"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let company = oauth_support::Company::new(
        oauth_support::at("2022-10-20T12:00:00Z"),
        &format!(
            r#"
[google]
service_account_key = {{ file = "sa.json" }}
api_url = "{uri}/calendar/v3"
token_url = "{uri}/token"

[[calendar]]
id = "ivanov-google"
manager = "ivanov"
kind = "google"
auth = "org"
"#
        ),
    );
    let key_json = json!({
        "private_key": test_key("test_service_account_key.pem"),
        "client_email": "meetledger@acme-meetledger.iam.gserviceaccount.com",
    });
    std::fs::write(company.dir.path().join("sa.json"), key_json.to_string()).unwrap();
    company.sync("ivanov-google").await.unwrap();
    let assertion = assertions.lock().unwrap()[0].clone();
    let payload = assertion.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "ivanov@acme.example");
    assert_eq!(
        claims["aud"], "https://oauth2.googleapis.com/token",
        "the audience is Google's token endpoint, not the proxy the grant goes through"
    );
}

#[tokio::test]
async fn microsoft_device_code_polls_while_authorization_is_pending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"))
        .and(body_string_contains("client_id=app-id"))
        .and(body_string_contains("offline_access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "device-123", "user_code": "ABCD-EFGH",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 0,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(body_string_contains("device_code=device-123"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "authorization_pending",
            "error_description": "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending."
        })))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/contoso.onmicrosoft.com/oauth2/v2.0/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "scope": "https://graph.microsoft.com/Calendars.Read",
            "expires_in": 4049, "access_token": "access-1", "refresh_token": "refresh-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let settings = MicrosoftOAuth {
        client_id: "app-id".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        login_url: server.uri(),
        client_secret: None,
    };
    let shown = Arc::new(Mutex::new(None));
    let record = shown.clone();
    let token = authorize_device(&http(), &settings, "ivanov-ms", move |uri, code| {
        *record.lock().unwrap() = Some((uri.to_string(), code.to_string()));
    })
    .await
    .unwrap();
    assert_eq!(
        shown.lock().unwrap().clone(),
        Some((
            "https://microsoft.com/devicelogin".into(),
            "ABCD-EFGH".into()
        ))
    );
    assert_eq!(token.refresh_token.as_deref(), Some("refresh-1"));
}

#[tokio::test]
async fn microsoft_device_code_declined_by_the_user_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/devicecode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "device_code": "d", "user_code": "U", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 0
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/organizations/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "access_denied", "error_description": "The user declined."
        })))
        .mount(&server)
        .await;
    let settings = MicrosoftOAuth {
        client_id: "app-id".into(),
        tenant: "organizations".into(),
        login_url: server.uri(),
        client_secret: None,
    };
    let error = authorize_device(&http(), &settings, "ivanov-ms", |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("access_denied"), "{error}");
}
