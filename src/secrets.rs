//! Secrets by reference (SPEC §9): `{ file = "PATH" }`, `{ env = "VAR" }` or
//! `{ credential = "NAME" }` (a systemd credential under
//! `$CREDENTIALS_DIRECTORY`). Values are wrapped so they never reach a log
//! or a `Debug` print.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::config::SecretRef;

/// A secret value. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Reads a secret. Relative file paths are resolved against `base_dir` (the
/// config file's folder). A trailing newline, as editors leave it, is dropped.
pub fn resolve(reference: &SecretRef, base_dir: &Path) -> Result<Secret> {
    let value = match reference {
        SecretRef::File(path) => {
            let path = if path.is_absolute() {
                path.clone()
            } else {
                base_dir.join(path)
            };
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the secret file {}", path.display()))?
        }
        SecretRef::Env(var) => std::env::var(var)
            .with_context(|| format!("the environment variable {var} is not set"))?,
        SecretRef::Credential(name) => {
            let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
                bail!("the systemd credential {name} was asked for, but $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)");
            };
            let path = Path::new(&dir).join(name);
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the systemd credential {}", path.display()))?
        }
    };
    let value = value.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        bail!("the secret {} is empty", describe(reference));
    }
    remember(&value);
    Ok(Secret(value))
}

/// Every secret value this process has read, longest first, so that
/// [`scrub`] can take them out of any text: provider error bodies echo
/// requests (a token, a webhook URL) and would carry them into logs,
/// `status` and the head's email.
static KNOWN: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Shorter values are not scrubbed: they would cut ordinary words out of
/// messages, and a credential that short protects nothing anyway.
const MIN_SCRUBBED_CHARS: usize = 6;

fn remember(value: &str) {
    let mut parts = vec![value.to_string()];
    // A URL secret (a Bitrix24 webhook) shows up in pieces too: its path
    // segments (the webhook code) and query values, raw or encoded.
    if let Ok(url) = reqwest::Url::parse(value) {
        parts.extend(
            url.path_segments()
                .into_iter()
                .flatten()
                .filter(|segment| segment.len() >= 8)
                .map(str::to_string),
        );
        parts.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
    }
    let encoded: Vec<String> = parts
        .iter()
        .map(|p| url::form_urlencoded::byte_serialize(p.as_bytes()).collect())
        .collect();
    parts.extend(encoded);
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for part in parts {
        if part.chars().count() >= MIN_SCRUBBED_CHARS && !known.contains(&part) {
            known.push(part);
        }
    }
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
}

/// `text` with every secret value read so far replaced by `[redacted]`.
pub fn scrub(text: &str) -> std::borrow::Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| text.contains(k.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for k in known.iter() {
        if out.contains(k.as_str()) {
            out = out.replace(k.as_str(), "[redacted]");
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where a secret comes from, for messages (never its value).
pub fn describe(reference: &SecretRef) -> String {
    match reference {
        SecretRef::File(p) => format!("file {}", p.display()),
        SecretRef::Env(v) => format!("environment variable {v}"),
        SecretRef::Credential(c) => format!("systemd credential {c}"),
    }
}

/// Where a configured secret is sent.
enum SentTo<'a> {
    /// Nowhere we check (a client secret checked by its provider's own
    /// endpoint rules, SMTP: plain SMTP is allowed only to 127.0.0.1).
    Unchecked,
    /// To this URL's origin.
    Url(Option<&'a str>),
    /// The secret is itself the URL it travels in (a Bitrix24 webhook).
    ItsOwnValue,
}

/// One configured secret: its config key, where it is read from, where it
/// is sent, and whether its value can appear in text (a service-account key
/// is a JSON document, not a value an error would quote).
struct Configured<'a> {
    key: String,
    reference: &'a SecretRef,
    sent_to: SentTo<'a>,
    in_text: bool,
}

/// Every secret reference of the config: the one list `learn` and `audit`
/// both walk.
fn references<'a>(config: &'a crate::config::Config) -> Vec<Configured<'a>> {
    let mut out = Vec::new();
    let mut add = |key: String, reference: Option<&'a SecretRef>, sent_to, in_text| {
        out.extend(reference.map(|reference| Configured {
            key,
            reference,
            sent_to,
            in_text,
        }));
    };
    for (i, c) in config.calendars.iter().enumerate() {
        add(
            format!("calendar[{i}].password"),
            c.password.as_ref(),
            SentTo::Url(c.url.as_deref()),
            true,
        );
        add(
            format!("calendar[{i}].client_secret"),
            c.client_secret.as_ref(),
            SentTo::Unchecked,
            true,
        );
    }
    for (i, c) in config.crms.iter().enumerate() {
        for (name, reference) in [("api_key", &c.api_key), ("token", &c.token)] {
            add(
                format!("crm[{i}].{name}"),
                reference.as_ref(),
                SentTo::Url(c.url.as_deref()),
                true,
            );
        }
        add(
            format!("crm[{i}].webhook"),
            c.webhook.as_ref(),
            SentTo::ItsOwnValue,
            true,
        );
    }
    if let Some(g) = &config.google {
        add(
            "google.client_secret".into(),
            g.client_secret.as_ref(),
            SentTo::Url(g.token_url.as_deref().or(g.api_url.as_deref())),
            true,
        );
        add(
            "google.service_account_key".into(),
            g.service_account_key.as_ref(),
            SentTo::Url(g.token_url.as_deref()),
            false,
        );
    }
    if let Some(m) = &config.microsoft {
        add(
            "microsoft.client_secret".into(),
            m.client_secret.as_ref(),
            SentTo::Url(m.login_url.as_deref()),
            true,
        );
    }
    if let Some(smtp) = config.email.as_ref().and_then(|e| e.smtp.as_ref()) {
        add(
            "email.smtp.password".into(),
            smtp.password.as_ref(),
            SentTo::Unchecked,
            true,
        );
    }
    out
}

/// Reads every configured secret that can be read, so that [`scrub`] knows
/// them before anything is printed (`status` shows stored errors; a panic
/// may quote an answer).
pub fn learn(config: &crate::config::Config) {
    for secret in references(config).into_iter().filter(|s| s.in_text) {
        let _ = resolve(secret.reference, &config.base_dir);
    }
}

/// What `check-config` finds wrong with how secrets are kept and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretProblem {
    /// The config key, as in other config errors (`crm[0].token`).
    pub key: String,
    pub message: String,
    /// `false`: a warning that does not fail `check-config` (a systemd
    /// credential cannot be seen outside the service).
    pub error: bool,
}

/// Checks every configured secret (`check-config`, the unit's pre-start
/// check): it can be read, a file holding one is not readable by group or
/// others, and no credential goes over plain `http://` to a host other than
/// this machine. Never reads a value into a message.
pub fn audit(config: &crate::config::Config) -> Vec<SecretProblem> {
    let mut problems = Vec::new();
    for secret in references(config) {
        problems.extend(check_reference(
            &secret.key,
            secret.reference,
            &config.base_dir,
        ));
        let url = match secret.sent_to {
            SentTo::Unchecked | SentTo::Url(None) => None,
            SentTo::Url(Some(url)) => Some(url.to_string()),
            SentTo::ItsOwnValue => resolve(secret.reference, &config.base_dir)
                .ok()
                .map(|value| value.expose().to_string()),
        };
        if let Some(message) = url.as_deref().and_then(plain_http_to_another_host) {
            problems.push(SecretProblem {
                key: secret.key,
                message,
                error: true,
            });
        }
    }
    problems
}

fn check_reference(key: &str, reference: &SecretRef, base_dir: &Path) -> Vec<SecretProblem> {
    use std::os::unix::fs::PermissionsExt;
    let problem = |message: String, error: bool| SecretProblem {
        key: key.to_string(),
        message,
        error,
    };
    match reference {
        SecretRef::File(path) => {
            let path = if path.is_absolute() {
                path.clone()
            } else {
                base_dir.join(path)
            };
            match std::fs::metadata(&path) {
                Err(e) => vec![problem(
                    format!("the secret file {} cannot be read: {e}", path.display()),
                    true,
                )],
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => vec![problem(
                    format!(
                        "the secret file {} is readable by other users (mode {:o}): chmod 600 it",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    ),
                    true,
                )],
                Ok(_) => match resolve(reference, base_dir) {
                    Ok(_) => vec![],
                    Err(e) => vec![problem(format!("{e:#}"), true)],
                },
            }
        }
        SecretRef::Env(_) => match resolve(reference, base_dir) {
            Ok(_) => vec![],
            Err(e) => vec![problem(format!("{e:#}"), true)],
        },
        SecretRef::Credential(name) => {
            if std::env::var_os("CREDENTIALS_DIRECTORY").is_none() {
                // Run by hand, outside the unit: the credential exists only
                // for the service's processes.
                return vec![problem(
                    format!("the systemd credential {name} can be checked only inside the service (LoadCredential={name}:… in the unit; its ExecStartPre runs this check)"),
                    false,
                )];
            }
            match resolve(reference, base_dir) {
                Ok(_) => vec![],
                Err(e) => vec![problem(format!("{e:#}"), true)],
            }
        }
    }
}

/// A message when `url` is plain http to a host other than this machine: a
/// credential sent there crosses the network readable by anyone on the way.
fn plain_http_to_another_host(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url.trim()).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => std::net::IpAddr::is_loopback(&ip),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    (!loopback).then(|| {
        format!(
            "a credential would be sent over plain http to {}: use https",
            url.host_str().unwrap_or("?")
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_read_are_scrubbed_from_any_text_raw_or_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "sk-live/4f9+Qz\n").unwrap();
        std::fs::write(
            dir.path().join("hook"),
            "https://acme.bitrix24.ru/rest/1/w3bh00kc0de/",
        )
        .unwrap();
        resolve(&SecretRef::File("key".into()), dir.path()).unwrap();
        resolve(&SecretRef::File("hook".into()), dir.path()).unwrap();
        let echoed = "401: bad key sk-live/4f9+Qz (sent as sk-live%2F4f9%2BQz) for \
                      https://acme.bitrix24.ru/rest/1/w3bh00kc0de/crm.deal.list and w3bh00kc0de";
        let clean = scrub(echoed);
        for secret in ["sk-live/4f9+Qz", "sk-live%2F4f9%2BQz", "w3bh00kc0de"] {
            assert!(!clean.contains(secret), "{clean}");
        }
        assert!(clean.contains("401: bad key [redacted]"), "{clean}");
        assert_eq!(scrub("nothing secret here"), "nothing secret here");
    }

    use super::*;

    #[test]
    fn file_secrets_lose_the_trailing_newline_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "s3cret\n").unwrap();
        let secret = resolve(&SecretRef::File("pass".into()), dir.path()).unwrap();
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    }

    #[test]
    fn a_missing_secret_says_where_it_was_looked_for() {
        let err = resolve(
            &SecretRef::Env("MEETLEDGER_TEST_UNSET_VAR".into()),
            Path::new("."),
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .contains("MEETLEDGER_TEST_UNSET_VAR is not set"));
    }
}
