//! Validation of the `google` / `microsoft` config keys: each missing
//! credential is reported with its key, and a complete setup loads.

use meetledger::config::Config;

fn load(extra: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[company]
name = "Acme"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"

{extra}
"#
    );
    let path = dir.path().join("meetledger.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).map_err(|e| e.to_string())
}

#[test]
fn a_google_user_calendar_needs_an_oauth_client() {
    let error = load(
        r#"
[[calendar]]
id = "g"
manager = "ivanov"
kind = "google"
"#,
    )
    .unwrap_err();
    assert!(error.contains("key `calendar[0].client_id`"), "{error}");
    assert!(error.contains("key `calendar[0].client_secret`"), "{error}");
}

#[test]
fn org_wide_calendars_need_the_organizations_credentials() {
    let error = load(
        r#"
[microsoft]
client_id = "app"

[[calendar]]
id = "g"
manager = "ivanov"
kind = "google"
auth = "org"

[[calendar]]
id = "m"
kind = "microsoft"
auth = "org"
"#,
    )
    .unwrap_err();
    assert!(
        error.contains("key `google.service_account_key`"),
        "{error}"
    );
    assert!(error.contains("key `microsoft.tenant`"), "{error}");
    assert!(error.contains("key `microsoft.client_secret`"), "{error}");
    assert!(error.contains("key `calendar[1].email`"), "{error}");
}

#[test]
fn cloud_keys_on_other_kinds_and_inline_secrets_are_rejected() {
    let error = load(
        r#"
[[calendar]]
id = "f"
kind = "ics_url"
url = "https://example.com/a.ics"
tenant = "acme"
"#,
    )
    .unwrap_err();
    assert!(error.contains("calendar[0].tenant"), "{error}");
    let error = load(
        r#"
[google]
client_id = "c"
client_secret = "inline-secret"
"#,
    )
    .unwrap_err();
    assert!(error.contains("client_secret"), "{error}");
}

#[test]
fn complete_google_and_microsoft_setups_load() {
    let config = load(
        r#"
[google]
client_id = "1234-abc.apps.googleusercontent.com"
client_secret = { env = "GOOGLE_SECRET" }
service_account_key = { credential = "google-sa.json" }

[microsoft]
tenant = "acme.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret = { file = "graph-secret" }

[[calendar]]
id = "g-user"
manager = "ivanov"
kind = "google"

[[calendar]]
id = "g-org"
manager = "ivanov"
kind = "google"
auth = "org"
calendar_id = "primary"

[[calendar]]
id = "m-user"
manager = "ivanov"
kind = "microsoft"

[[calendar]]
id = "m-org"
kind = "microsoft"
auth = "org"
email = "ivanov@acme.example"
"#,
    )
    .unwrap();
    assert_eq!(config.calendars.len(), 4);
}
