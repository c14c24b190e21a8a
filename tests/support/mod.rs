//! Test support for the network calendar sources (ics_url, caldav): a real
//! Radicale server from the test venv, a counting and seeded
//! fault-injecting HTTP proxy to put in front of it, and a calendar sync
//! driven through the library with short retry backoff.

#![allow(dead_code)]

pub mod proxy;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use meetledger::config::Config;
use meetledger::ledger::Store;
use meetledger::model::Occurrence;
use meetledger::pipeline;
use meetledger::sources::http::HttpSettings;
use meetledger::sources::{calendar_sources, CalendarFetch, SyncContext};

/// The Python venv made by scripts/test-env.
pub fn venv() -> PathBuf {
    std::env::var_os("MEETLEDGER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"))
}

/// A Radicale server on 127.0.0.1, storage in a temporary folder; killed
/// when dropped.
pub struct Radicale {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Radicale {
    pub fn start() -> Radicale {
        let bin = venv().join("bin").join("radicale");
        assert!(
            bin.exists(),
            "Radicale is not installed at {}: run scripts/test-env (it sets up .venv from scripts/requirements-test.txt), or point MEETLEDGER_VENV at a venv that has it",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("radicale.log")).unwrap();
            let mut child = Command::new(&bin)
                .args(["--config", ""])
                .args(["--server-hosts", &format!("127.0.0.1:{port}")])
                .args(["--auth-type", "none", "--rights-type", "owner_only"])
                .arg("--storage-filesystem-folder")
                .arg(dir.path().join("storage"))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start radicale");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(addr).is_ok() {
                    return Radicale { child, addr, dir };
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Radicale did not start:\n{}", self_log(dir.path()));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn log(&self) -> String {
        self_log(self.dir.path())
    }

    async fn call(&self, method: &str, path: &str, body: Option<String>) -> u16 {
        let client = reqwest::Client::new();
        let user = path.trim_start_matches('/').split('/').next().unwrap();
        let mut request = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .basic_auth(user, Some("any"));
        if let Some(body) = body {
            let kind = if method == "PUT" {
                "text/calendar; charset=utf-8"
            } else {
                "application/xml; charset=utf-8"
            };
            request = request.header("Content-Type", kind).body(body);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status}\n{}",
            self.log()
        );
        status
    }

    /// MKCALENDAR with a display name.
    pub async fn mkcalendar(&self, path: &str, name: &str) {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"#
        );
        self.call("MKCALENDAR", path, Some(body)).await;
    }

    pub async fn put(&self, path: &str, ics: &str) {
        self.call("PUT", path, Some(ics.replace('\n', "\r\n")))
            .await;
    }

    pub async fn delete(&self, path: &str) {
        self.call("DELETE", path, None).await;
    }
}

fn self_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("radicale.log")).unwrap_or_default()
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One VEVENT in a VCALENDAR; `extra` lines go inside the VEVENT.
pub fn event(uid: &str, start: &str, end: &str, title: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//meetledger tests//EN\nBEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261101T000000Z\nDTSTART:{start}\nDTEND:{end}\nSUMMARY:{title}\n{extra}END:VEVENT\nEND:VCALENDAR\n"
    )
}

/// Retry backoff in milliseconds, pacing off: tests stay fast under faults.
pub fn fast_http() -> HttpSettings {
    HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
        max_attempts: 8,
        timeout: Duration::from_secs(20),
        default_rate: 100_000.0,
        ..HttpSettings::default()
    }
}

/// A config file in a temporary folder (with `alice.pass` beside it).
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: Config,
}

pub const NOW: &str = "2026-11-27T12:00:00Z";

pub fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

impl Setup {
    /// `calendars` is the `[[calendar]]` blocks.
    pub fn new(calendars: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alice.pass"), "app-password\n").unwrap();
        let text = format!(
            r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"
language = "en"

[ledger]
path = "ledger.db"

[[manager]]
id = "alice"
name = "Alice"
email = "alice@acme.example"

{calendars}
"#
        );
        let path = dir.path().join("meetledger.toml");
        std::fs::write(&path, &text).unwrap();
        let config = Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        Setup { dir, config }
    }

    pub fn store(&self, name: &str) -> Store {
        Store::open(&self.dir.path().join(name)).unwrap()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("meetledger.toml")
    }
}

/// What one calendar source's sync did.
#[derive(Debug, Clone, PartialEq)]
pub enum Synced {
    Unchanged,
    Full(usize),
    Delta { changed: usize, deleted: usize },
}

/// Syncs every configured calendar into `store` as `pipeline::sync` does
/// (the data and cursor of a success in one transaction, a failure recorded
/// and the others continue), with `http` settings for the network.
pub async fn sync_calendars(
    config: &Config,
    store: &mut Store,
    http: HttpSettings,
) -> Vec<(String, Result<Synced, String>)> {
    let mut ctx = SyncContext::new(config, now());
    ctx.http = http;
    let mut out = Vec::new();
    for mut source in calendar_sources(config) {
        let id = source.id().to_string();
        let kind = source.kind().to_string();
        let cursor = store.source(&id).unwrap().and_then(|s| s.cursor);
        let state = |cursor: String| meetledger::ledger::SourceState {
            id: id.clone(),
            kind: kind.clone(),
            cursor: Some(cursor),
            ..Default::default()
        };
        let result = match source.fetch(cursor.as_deref(), &ctx).await {
            Ok(CalendarFetch::Unchanged) => {
                store.record_unchanged(&id, now()).unwrap();
                Ok(Synced::Unchanged)
            }
            Ok(CalendarFetch::Full { items, cursor, .. }) => {
                store
                    .replace_calendar(&state(cursor), &items, now())
                    .unwrap();
                Ok(Synced::Full(items.len()))
            }
            Ok(CalendarFetch::Delta {
                changed,
                deleted,
                cursor,
                ..
            }) => {
                store
                    .apply_calendar_delta(&state(cursor), &changed, &deleted, now())
                    .unwrap();
                Ok(Synced::Delta {
                    changed: changed.len(),
                    deleted: deleted.len(),
                })
            }
            Err(e) => {
                let message = format!("{e:#}");
                store.record_failure(&id, &kind, &message, now()).unwrap();
                Err(message)
            }
        };
        out.push((id, result));
    }
    out
}

/// `sync_calendars` until every source succeeded (a failed source is tried
/// again on the next run, as the daemon does), at most `runs` times.
pub async fn sync_until_ok(
    config: &Config,
    store: &mut Store,
    http: HttpSettings,
    runs: usize,
) -> Vec<(String, Result<Synced, String>)> {
    let mut last = Vec::new();
    for _ in 0..runs {
        last = sync_calendars(config, store, http.clone()).await;
        if last.iter().all(|(_, r)| r.is_ok()) {
            return last;
        }
    }
    panic!("still failing after {runs} runs: {last:#?}");
}

/// The real sync, for the binary-free check that `pipeline` wires it.
pub async fn pipeline_sync(config: &Config, store: &mut Store) -> pipeline::SyncSummary {
    pipeline::sync(config, store, now()).await.unwrap()
}

/// (uid, instance start or "-") → (start, title), for readable asserts.
pub fn table(occurrences: &[Occurrence]) -> Vec<(String, String, String, String)> {
    occurrences
        .iter()
        .map(|o| {
            (
                o.calendar.clone(),
                o.uid.clone(),
                o.recurrence_id
                    .map(|r| r.to_rfc3339())
                    .unwrap_or_else(|| "-".into()),
                format!("{} {}", o.start.to_rfc3339(), o.title),
            )
        })
        .collect()
}
