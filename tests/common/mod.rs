//! Shared helpers for integration tests: a small company written to a
//! temporary folder (config, ICS calendars, CRM CSV) and a runner for the
//! real `meetledger` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Company {
    pub dir: tempfile::TempDir,
}

/// What a run of the binary printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    pub fn jsonl(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

pub const CONFIG_HEAD: &str = r#"
[company]
name = "Acme"
domains = ["acme.example"]
timezone = "Europe/Moscow"
language = "en"

[ledger]
path = "ledger.db"

[[manager]]
id = "ivanov"
name = "Ivan Ivanov"
email = "ivanov@acme.example"
plan = { new = 2, existing = 2 }

[[manager]]
id = "petrova"
name = "Olga Petrova"
email = "petrova@acme.example"
plan = { new = 1, existing = 1 }

[[calendar]]
id = "ivanov-main"
manager = "ivanov"
kind = "ics_file"
path = "calendars/ivanov.ics"

[[calendar]]
id = "petrova-main"
manager = "petrova"
kind = "ics_file"
path = "calendars/petrova.ics"

[[crm]]
id = "main"
kind = "csv"
clients = "crm/clients.csv"
orders = "crm/orders.csv"
"#;

pub const CLIENTS: &str = "id,name,domains,emails,manager,key
c1,ООО Ромашка,romashka.ru,,ivanov,yes
c2,АО Вектор,vector.example,,petrova,no
c3,ИП Сидоров,,sidorov@gmail.com,ivanov,no
";

impl Company {
    /// A company with two managers; `extra_config` is appended to the config.
    pub fn new(extra_config: &str) -> Company {
        let dir = tempfile::tempdir().expect("temp dir");
        let company = Company { dir };
        company.write("meetledger.toml", &format!("{CONFIG_HEAD}\n{extra_config}"));
        company.write("calendars/ivanov.ics", &ics(&[]));
        company.write("calendars/petrova.ics", &ics(&[]));
        company.write("crm/clients.csv", CLIENTS);
        company.write(
            "crm/orders.csv",
            "id,client_id,created_at,amount,currency,status,manager\n",
        );
        company
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn orders(&self, rows: &[&str]) {
        let mut text = String::from("id,client_id,created_at,amount,currency,status,manager\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        self.write("crm/orders.csv", &text);
    }

    pub fn config(&self) -> PathBuf {
        self.path("meetledger.toml")
    }

    /// Runs `meetledger --config <company> --now <now> ARGS`.
    pub fn run(&self, now: &str, args: &[&str]) -> Run {
        meetledger(
            &[
                &["--config", self.config().to_str().unwrap(), "--now", now],
                args,
            ]
            .concat(),
        )
    }

    /// Runs a command that must succeed and returns its output.
    pub fn ok(&self, now: &str, args: &[&str]) -> Run {
        let run = self.run(now, args);
        assert_eq!(
            run.code, 0,
            "meetledger {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }
}

pub fn meetledger(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(args)
        .env_remove("MEETLEDGER_CONFIG")
        .output()
        .expect("run meetledger");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A VCALENDAR around the given VEVENT blocks, with CRLF line ends.
pub fn ics(events: &[String]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//meetledger tests//EN\n");
    for e in events {
        text.push_str(e);
    }
    text.push_str("END:VCALENDAR\n");
    text.replace('\n', "\r\n")
}

/// A one-hour (or `minutes`) event in Moscow time: `start` is local
/// `YYYYMMDDTHHMMSS`. `extra` lines are added as written (ATTENDEE, RRULE…).
pub fn event(uid: &str, start: &str, minutes: u32, title: &str, extra: &[&str]) -> String {
    let mut text = format!(
        "BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Moscow:{start}\nDURATION:PT{minutes}M\nSUMMARY:{title}\n"
    );
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("END:VEVENT\n");
    text
}

/// The ledger scenario's three meetings in Ivanov's calendar: new client c1
/// in September (first order ten days later, repeat in October), existing
/// client c2 (Petrova's) in October, new client c3 (a gmail contact) in
/// November.
pub fn scenario_calendar() -> String {
    ics(&[
        event(
            "m1@acme",
            "20260910T100000",
            60,
            "Переговоры",
            &[&attendee("boss@romashka.ru", "ACCEPTED")],
        ),
        event(
            "m2@acme",
            "20261005T100000",
            60,
            "Визит",
            &[&attendee("info@vector.example", "NEEDS-ACTION")],
        ),
        event(
            "m3@acme",
            "20261110T120000",
            60,
            "Встреча",
            &[&attendee("sidorov@gmail.com", "ACCEPTED")],
        ),
    ])
}

/// The ledger scenario's orders: c1's first and repeat order, c2's earlier one.
pub const SCENARIO_ORDERS: [&str; 3] = [
    "o1,c1,2026-09-20,100000,RUB,paid,ivanov",
    "o2,c1,2026-10-15T12:00:00+03:00,50000,RUB,paid,ivanov",
    "o3,c2,2026-08-01,70000,RUB,paid,petrova",
];

pub fn attendee(email: &str, partstat: &str) -> String {
    format!("ATTENDEE;PARTSTAT={partstat}:mailto:{email}")
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

// ----- daemon and email tests (issue 6) -----------------------------------

/// The test virtual environment's python (scripts/test-env), from
/// `$MEETLEDGER_VENV` or `<repo>/.venv`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MEETLEDGER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-env (or scripts/test) first",
        python.display()
    );
    python
}

/// aiosmtpd on a free 127.0.0.1 port, writing each message it receives to
/// `folder` (tests/support/smtp_sink.py). Stopped on drop.
pub struct SmtpSink {
    pub port: u16,
    pub folder: PathBuf,
    child: std::process::Child,
}

impl SmtpSink {
    pub fn start(folder: &Path) -> SmtpSink {
        use std::io::BufRead;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(venv_python())
            .arg(script)
            .arg(folder)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("SMTP sink did not start: {line:?}"));
        SmtpSink {
            port,
            folder: folder.to_path_buf(),
            child,
        }
    }

    /// The messages received so far, in arrival order.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `NOTIFY_SOCKET` for a daemon under test: a unix datagram socket in a
/// temporary folder; a thread reads it all the time (as systemd does: a
/// datagram queue holds only a few messages) and keeps every message.
pub struct NotifySocket {
    pub path: PathBuf,
    messages: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>>,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    pub fn new() -> NotifySocket {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock().unwrap().push((
                    std::time::Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        });
        NotifySocket {
            path,
            messages,
            _dir: dir,
        }
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<String> {
        self.received_at().into_iter().map(|(_, m)| m).collect()
    }

    /// Every message received so far with the time it arrived.
    pub fn received_at(&self) -> Vec<(std::time::Instant, String)> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until a message containing `needle` has arrived.
    pub fn wait_for(&self, needle: &str, timeout: std::time::Duration) -> bool {
        eventually(timeout, || {
            self.messages
                .lock()
                .unwrap()
                .iter()
                .any(|(_, m)| m.contains(needle))
        })
    }
}

/// Polls `check` every 100 ms until it is true or `timeout` passes.
pub fn eventually(timeout: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check()
}
