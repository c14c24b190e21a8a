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
    Ok(Secret(value))
}

/// Where a secret comes from, for messages (never its value).
pub fn describe(reference: &SecretRef) -> String {
    match reference {
        SecretRef::File(p) => format!("file {}", p.display()),
        SecretRef::Env(v) => format!("environment variable {v}"),
        SecretRef::Credential(c) => format!("systemd credential {c}"),
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
    let mut each = |key: String, reference: Option<&SecretRef>, sent_to: Option<&str>| {
        let Some(reference) = reference else { return };
        problems.extend(check_reference(&key, reference, &config.base_dir));
        if let Some(url) = sent_to {
            if let Some(message) = plain_http_to_another_host(url) {
                problems.push(SecretProblem {
                    key: key.clone(),
                    message,
                    error: true,
                });
            }
        }
    };
    for (i, c) in config.calendars.iter().enumerate() {
        each(
            format!("calendar[{i}].password"),
            c.password.as_ref(),
            c.url.as_deref(),
        );
        each(
            format!("calendar[{i}].client_secret"),
            c.client_secret.as_ref(),
            None,
        );
    }
    for (i, c) in config.crms.iter().enumerate() {
        for (name, reference) in [("api_key", &c.api_key), ("token", &c.token)] {
            each(
                format!("crm[{i}].{name}"),
                reference.as_ref(),
                c.url.as_deref(),
            );
        }
        if let Some(webhook) = &c.webhook {
            let key = format!("crm[{i}].webhook");
            // The webhook is itself the URL the secret travels in.
            match resolve(webhook, &config.base_dir) {
                Ok(url) => each(key, Some(webhook), Some(url.expose())),
                Err(_) => each(key, Some(webhook), None),
            }
        }
    }
    if let Some(g) = &config.google {
        let api = g.api_url.as_deref();
        each(
            "google.client_secret".into(),
            g.client_secret.as_ref(),
            g.token_url.as_deref().or(api),
        );
        each(
            "google.service_account_key".into(),
            g.service_account_key.as_ref(),
            g.token_url.as_deref(),
        );
    }
    if let Some(m) = &config.microsoft {
        each(
            "microsoft.client_secret".into(),
            m.client_secret.as_ref(),
            m.login_url.as_deref(),
        );
    }
    if let Some(smtp) = config.email.as_ref().and_then(|e| e.smtp.as_ref()) {
        // SMTP without TLS is already allowed only to 127.0.0.1.
        each("email.smtp.password".into(), smtp.password.as_ref(), None);
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
