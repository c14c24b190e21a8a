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
