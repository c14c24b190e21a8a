//! Shared by the google_*, microsoft_* and oauth_* tests: a company config
//! pointing the cloud sources at a wiremock server, fast HTTP settings, a
//! sync step that mirrors `pipeline::sync` for one source with an injected
//! context, and fixture loading.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::ledger::{SourceState, Store, StoredToken, SyncCounts};
use meetledger::model::Occurrence;
use meetledger::sources::http::HttpSettings;
use meetledger::sources::{calendar_sources, CalendarFetch, SyncContext};

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Retries in milliseconds, no pacing.
pub fn fast() -> HttpSettings {
    HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        default_rate: 10_000.0,
        ..HttpSettings::default()
    }
}

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub struct Company {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub now: DateTime<Utc>,
}

impl Company {
    /// A company with one manager (ivanov@acme.example) and the given
    /// `[[calendar]]` / `[google]` / `[microsoft]` text appended.
    pub fn new(now: DateTime<Utc>, extra: &str) -> Company {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("client_secret"), "s3cret\n").unwrap();
        let text = format!(
            r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"

[ledger]
path = "ledger.db"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"

{extra}
"#
        );
        let path = dir.path().join("meetledger.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        Company { dir, config, now }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("meetledger.toml")
    }

    pub fn store(&self) -> Store {
        Store::open(&self.config.resolve(&self.config.ledger.path)).unwrap()
    }

    pub fn ctx(&self) -> SyncContext {
        let mut ctx = SyncContext::new(&self.config, self.now);
        ctx.http = fast();
        ctx
    }

    /// Stores a per-user token as `meetledger auth` would.
    pub fn authorize(&self, calendar: &str, provider: &str, access: &str, expires_in_s: i64) {
        self.store()
            .save_oauth_token(
                calendar,
                &StoredToken {
                    provider: provider.into(),
                    access_token: Some(access.into()),
                    expires_at: Some(self.now + chrono::Duration::seconds(expires_in_s)),
                    refresh_token: Some(format!("refresh-{calendar}")),
                    scope: None,
                    needs_reauth: None,
                },
                self.now,
            )
            .unwrap();
    }

    /// One source synced like `pipeline::sync` does, with the fast context.
    pub async fn sync(&self, calendar: &str) -> anyhow::Result<(&'static str, SyncCounts)> {
        let ctx = self.ctx();
        let mut store = self.store();
        let mut source = calendar_sources(&self.config)
            .into_iter()
            .find(|s| s.id() == calendar)
            .unwrap();
        let cursor = store.source(calendar)?.and_then(|s| s.cursor);
        let state = |cursor: String| SourceState {
            id: calendar.into(),
            kind: source_kind(&self.config, calendar),
            cursor: Some(cursor),
            ..SourceState::default()
        };
        match source.fetch(cursor.as_deref(), &ctx).await? {
            CalendarFetch::Unchanged => Ok(("unchanged", SyncCounts::default())),
            CalendarFetch::Full { items, cursor, .. } => Ok((
                "full",
                store.replace_calendar(&state(cursor), &items, self.now)?,
            )),
            CalendarFetch::Delta {
                changed,
                deleted,
                cursor,
                ..
            } => Ok((
                "delta",
                store.apply_calendar_delta(&state(cursor), &changed, &deleted, self.now)?,
            )),
        }
    }

    pub fn occurrences(&self, calendar: &str) -> Vec<Occurrence> {
        self.store()
            .occurrences()
            .unwrap()
            .into_iter()
            .filter(|o| o.calendar == calendar)
            .collect()
    }

    pub fn titles(&self, calendar: &str) -> Vec<String> {
        let mut t: Vec<String> = self
            .occurrences(calendar)
            .into_iter()
            .map(|o| o.title)
            .collect();
        t.sort();
        t
    }

    pub fn cursor(&self, calendar: &str) -> Option<String> {
        self.store()
            .source(calendar)
            .unwrap()
            .and_then(|s| s.cursor)
    }
}

fn source_kind(config: &Config, calendar: &str) -> String {
    let kind = config.calendar(calendar).unwrap().kind;
    serde_json::to_value(kind)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}
