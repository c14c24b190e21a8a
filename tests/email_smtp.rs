//! The nightly emails against a real SMTP server (aiosmtpd, started on a
//! free 127.0.0.1 port): MIME structure, UTF-8 Russian subject, recipients,
//! hostile titles escaped, one message per recipient and day however often
//! `email --send` runs or is killed, and secrets never in the logs.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const NOW: &str = "2026-11-27T18:00:00+03:00";
const SECRET: &str = "s3cret-Pa55word-do-not-log";

fn smtp_company(port: u16, credentials: bool) -> Company {
    let auth = if credentials {
        ", username = \"meetledger\", password = { env = \"MEETLEDGER_TEST_SMTP_PASSWORD\" }"
    } else {
        ""
    };
    let company = Company::new(&format!(
        "[email]\nfrom = \"meetledger@acme.example\"\nhead = [\"head@acme.example\"]\ntransport = \"smtp\"\nsmtp = {{ host = \"127.0.0.1\", port = {port}, tls = \"none\"{auth} }}\n"
    ));
    let config = std::fs::read_to_string(company.config())
        .unwrap()
        .replace("language = \"en\"", "language = \"ru\"");
    company.write("meetledger.toml", &config);
    company.write(
        "calendars/ivanov.ics",
        &ics(&[
            event(
                "hostile-1",
                "20261126T100000",
                60,
                "<script>alert(1)</script> Ромашка",
                &[&attendee("anna@romashka.ru", "ACCEPTED")],
            ),
            event(
                "hostile-2",
                "20261126T140000",
                60,
                "\"><img src=x onerror=alert(1)>",
                &[&attendee("boss@vector.example", "ACCEPTED")],
            ),
        ]),
    );
    company.ok(NOW, &["sync"]);
    company.ok(NOW, &["score"]);
    company
}

/// Parsed with Python's email package (tests/support/parse_eml.py).
fn parse(files: &[std::path::PathBuf]) -> Vec<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parse_eml.py");
    let out = Command::new(venv_python())
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn received(sink: &SmtpSink) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(&sink.folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return vec![];
    }
    parse(&files)
}

fn recipients(messages: &[serde_json::Value]) -> Vec<String> {
    let mut to: Vec<String> = messages
        .iter()
        .map(|m| m["rcpt_to"].as_str().unwrap().to_string())
        .collect();
    to.sort();
    to
}

#[test]
fn each_recipient_gets_one_escaped_multipart_email_even_when_sending_twice() {
    let folder = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(folder.path());
    let company = smtp_company(sink.port, false);

    let first = company.ok(NOW, &["email", "--send"]);
    assert_eq!(
        first.stdout.matches("sent: ").count(),
        3,
        "{}",
        first.stdout
    );
    let second = company.ok(NOW, &["email", "--send"]);
    assert_eq!(
        second.stdout.matches("already sent on 2026-11-27").count(),
        3,
        "{}",
        second.stdout
    );

    assert!(eventually(Duration::from_secs(5), || sink.messages().len() >= 3));
    std::thread::sleep(Duration::from_millis(300));
    let messages = received(&sink);
    assert_eq!(
        recipients(&messages),
        [
            "head@acme.example",
            "ivanov@acme.example",
            "petrova@acme.example"
        ]
    );
    let ivanov = messages
        .iter()
        .find(|m| m["rcpt_to"] == "ivanov@acme.example")
        .unwrap();
    assert_eq!(
        ivanov["types"],
        serde_json::json!(["multipart/alternative", "text/plain", "text/html"])
    );
    let subject = ivanov["subject"].as_str().unwrap();
    assert!(subject.starts_with("Встречи 2026-11:"), "{subject}");
    let raw = sink
        .messages()
        .into_iter()
        .find(|m| m.contains("X-Rcpt-To: ivanov@acme.example"))
        .unwrap();
    assert!(
        raw.contains("Subject: =?utf-8?"),
        "the subject is MIME-encoded UTF-8"
    );
    assert!(raw.contains("multipart/alternative"));

    let html = ivanov["html"].as_str().unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    let text = ivanov["text"].as_str().unwrap();
    assert!(text.contains("<script>alert(1)</script> Ромашка"), "{text}");
    assert!(text.contains("встреча: ООО Ромашка"), "{text}");
}

#[test]
fn killed_at_random_points_around_sending_ends_with_exactly_one_email_each() {
    let folder = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(folder.path());
    let company = smtp_company(sink.port, false);
    // A fixed pseudo-random sequence of kill delays: reproducible, spread
    // over start-up, rendering and the SMTP conversation.
    let mut seed: u64 = 0x5eed;
    for _ in 0..20 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis((seed >> 33) % 400);
        let mut child = Command::new(env!("CARGO_BIN_EXE_meetledger"))
            .args([
                "--config",
                company.config().to_str().unwrap(),
                "--now",
                NOW,
                "email",
                "--send",
            ])
            .env_remove("MEETLEDGER_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
    }
    company.run(NOW, &["email", "--send"]);
    std::thread::sleep(Duration::from_millis(500));

    let messages = received(&sink);
    let to = recipients(&messages);
    let db = rusqlite::Connection::open(company.path("ledger.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT address, state FROM sent_emails ORDER BY address")
        .unwrap();
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    eprintln!("outbox after 20 kills: {rows:?}; received {to:?}");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let addresses: Vec<String> = rows.iter().map(|(a, _)| a.clone()).collect();
    assert_eq!(to, addresses, "exactly one message per recipient");
    assert!(rows.iter().all(|(_, state)| state == "sent"), "{rows:?}");
}

#[test]
fn secrets_never_reach_the_log_even_at_trace_level() {
    let folder = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(folder.path());
    let company = smtp_company(sink.port, true);
    company.write("smtp.pass", SECRET);
    for args in [
        vec!["sync"],
        vec!["score"],
        vec!["email", "--send"],
        vec!["check-config"],
        vec!["status"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_meetledger"))
            .args(["--config", company.config().to_str().unwrap(), "--now", NOW])
            .args(&args)
            .env_remove("MEETLEDGER_CONFIG")
            .env("MEETLEDGER_LOG", "trace")
            .env("MEETLEDGER_TEST_SMTP_PASSWORD", SECRET)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(SECRET), "{args:?} printed the secret:\n{all}");
        let base64 = "czNjcmV0LVBhNTV3b3JkLWRvLW5vdC1sb2c"; // its AUTH PLAIN/LOGIN form
        assert!(!all.contains(base64), "{args:?} printed the encoded secret");
    }
}
