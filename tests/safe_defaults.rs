//! Safe defaults of the binary as an administrator meets them: a new ledger
//! opened by two commands at once, the demo refusing to write over a live
//! folder, log filters that fail loudly, and log lines that carry journal
//! priorities and cannot be forged by data.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::{ics, meetledger, Company};

const NOW: &str = "2026-11-27T18:00:00+03:00";

#[test]
fn two_commands_opening_a_new_ledger_at_once_both_succeed() {
    // Before the open lock, `sync & status` on a fresh ledger failed most of
    // the time with "table sources already exists".
    for round in 0..8 {
        let company = Company::new("");
        let config = company.config();
        let config = config.to_str().unwrap().to_string();
        let handles: Vec<_> = ["sync", "status", "score", "status"]
            .into_iter()
            .map(|command| {
                let config = config.clone();
                std::thread::spawn(move || {
                    (
                        command,
                        meetledger(&["--config", &config, "--now", NOW, command]),
                    )
                })
            })
            .collect();
        for handle in handles {
            let (command, run) = handle.join().unwrap();
            assert_eq!(
                run.code, 0,
                "round {round}: `{command}` on a new ledger failed:\n{}",
                run.stderr
            );
        }
    }
}

#[test]
fn the_demo_refuses_a_folder_that_is_not_empty() {
    let company = Company::new("");
    let live_config = std::fs::read_to_string(company.config()).unwrap();
    let folder = company.dir.path().to_str().unwrap();

    let refused = meetledger(&["demo", "--out", folder]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("not empty"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(company.config()).unwrap(),
        live_config,
        "the live configuration was overwritten"
    );
    assert!(!company.path("ledger.db").exists(), "a ledger was written");

    let forced = meetledger(&["demo", "--out", folder, "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(company.path("ledger.db").exists());

    // A new or empty folder needs no --force.
    let fresh = company.path("fresh/acme");
    let run = meetledger(&["demo", "--out", fresh.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Runs the binary with extra environment variables.
fn run_with_env(company: &Company, env: &[(&str, &str)], args: &[&str]) -> common::Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"));
    command
        .args(["--config", company.config().to_str().unwrap(), "--now", NOW])
        .args(args)
        .env_remove("MEETLEDGER_LOG")
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn a_malformed_log_filter_is_an_error_and_rust_log_is_a_fallback() {
    let company = Company::new("");
    let bad = run_with_env(&company, &[("MEETLEDGER_LOG", "sync=loud")], &["status"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("MEETLEDGER_LOG"), "{}", bad.stderr);

    let bad = run_with_env(&company, &[("RUST_LOG", "=[")], &["status"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("RUST_LOG"), "{}", bad.stderr);

    let fallback = run_with_env(&company, &[("RUST_LOG", "info")], &["sync"]);
    assert_eq!(fallback.code, 0, "{}", fallback.stderr);
    assert!(fallback.stderr.contains("INFO"), "{}", fallback.stderr);

    // MEETLEDGER_LOG wins over RUST_LOG.
    let quiet = run_with_env(
        &company,
        &[("RUST_LOG", "info"), ("MEETLEDGER_LOG", "error")],
        &["sync"],
    );
    assert!(!quiet.stderr.contains("INFO"), "{}", quiet.stderr);
}

/// A server that answers every request with 401 and a body echoing hostile
/// control characters, as a misbehaving provider might.
fn unauthorized_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "denied\r\n2026-11-27T00:00:00Z ERROR forged line\u{1b}[2J";
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn under_the_journal_lines_carry_priorities_and_data_cannot_forge_them() {
    let port = unauthorized_server();
    let company = Company::new(&format!(
        r#"
[[calendar]]
id = "feed"
manager = "ivanov"
kind = "ics_url"
url = "http://127.0.0.1:{port}/feed.ics"
"#
    ));
    company.write("calendars/ivanov.ics", &ics(&[]));
    let run = run_with_env(
        &company,
        &[("JOURNAL_STREAM", "8:12345"), ("MEETLEDGER_LOG", "info")],
        &["sync"],
    );
    assert_eq!(
        run.code, 1,
        "the failing feed fails the sync:\n{}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    let failed = lines
        .iter()
        .find(|l| l.contains("sync failed"))
        .unwrap_or_else(|| panic!("no `sync failed` line:\n{}", run.stderr));
    assert!(failed.starts_with("<3>"), "not at error priority: {failed}");
    assert!(
        lines.iter().any(|l| l.starts_with("<6>")),
        "no info line:\n{}",
        run.stderr
    );
    // Every log line starts with a priority: the body's CR LF did not
    // start a line of its own, and no ESC reached the terminal.
    for line in lines.iter().filter(|l| !l.starts_with("meetledger:")) {
        assert!(line.starts_with('<'), "a line without a priority: {line:?}");
        assert!(
            !line.contains('\u{1b}'),
            "an escape reached the log: {line:?}"
        );
    }
}

#[test]
fn control_characters_in_data_cannot_break_terminal_tables() {
    let company = Company::new("");
    // An ICS TEXT value may carry a newline (`\n`) and raw control bytes.
    company.write(
        "calendars/ivanov.ics",
        &ics(&[common::event(
            "m1",
            "20261110T100000",
            60,
            "Встреча\\n2026-11-10 10:00  ivanov  c9  forged\u{1b}[2J",
            &[&common::attendee("boss@romashka.ru", "ACCEPTED")],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let table = company.ok(NOW, &["meetings", "--period", "2026-11"]);
    assert_eq!(table.stdout.lines().count(), 1, "{}", table.stdout);
    assert!(!table.stdout.contains('\u{1b}'), "{:?}", table.stdout);
    assert!(
        table.stdout.contains("Встреча\\n2026-11-10"),
        "{}",
        table.stdout
    );
    // The machine interface keeps the title as it is (JSON escapes it).
    let jsonl = company.ok(
        NOW,
        &["meetings", "--period", "2026-11", "--format", "jsonl"],
    );
    assert_eq!(
        jsonl.jsonl()[0]["title"].as_str().unwrap(),
        "Встреча\n2026-11-10 10:00  ivanov  c9  forged\u{1b}[2J"
    );
}

#[test]
fn a_ten_megabyte_title_makes_a_small_email_not_a_refused_one() {
    let company = Company::new(
        "[email]\nfrom = \"meetledger@acme.example\"\nhead = [\"head@acme.example\"]\ntransport = \"file\"\nfolder = \"outbox\"\n",
    );
    let huge = format!("Встреча {}", "Ж".repeat(5_000_000));
    company.write(
        "calendars/ivanov.ics",
        &ics(&[common::event(
            "m1",
            "20261126T100000",
            60,
            &huge,
            &[&common::attendee("boss@romashka.ru", "ACCEPTED")],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let out = company.path("mails");
    company.ok(
        NOW,
        &["email", "--to", "ivanov", "--out", out.to_str().unwrap()],
    );
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let size = std::fs::metadata(&files[0]).unwrap().len();
    assert!(size < 512 * 1024, "the email is {size} bytes");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("ivanov@acme.example"));
}

#[test]
fn check_config_reports_unreadable_exposed_and_plain_http_secrets() {
    use std::os::unix::fs::PermissionsExt;
    let extra = r#"
[[calendar]]
id = "petrova-dav"
manager = "petrova"
kind = "caldav"
url = "http://dav.example.com/calendars/petrova/"
username = "petrova"
password = { file = "secrets/dav.pass" }

[[crm]]
id = "retail"
kind = "retailcrm"
url = "http://127.0.0.1:8080"
api_key = { file = "secrets/retail.key" }

[[crm]]
id = "hub"
kind = "hubspot"
token = { credential = "hubspot-token" }

[[crm]]
id = "amo"
kind = "amocrm"
url = "https://acme.amocrm.ru"
token = { file = "secrets/missing.token" }
"#;
    let company = Company::new(extra);
    company.write("secrets/dav.pass", "pa55\n");
    company.write("secrets/retail.key", "k3y\n");
    let private = std::fs::Permissions::from_mode(0o600);
    std::fs::set_permissions(company.path("secrets/dav.pass"), private.clone()).unwrap();
    std::fs::set_permissions(
        company.path("secrets/retail.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let run = company.run(NOW, &["check-config"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let errors: Vec<&str> = run.stderr.lines().collect();
    let has = |key: &str, words: &str| {
        errors
            .iter()
            .any(|l| l.contains(&format!("`{key}`")) && l.contains(words) && l.contains(".toml:"))
    };
    assert!(
        has("calendar[2].password", "plain http to dav.example.com"),
        "{}",
        run.stderr
    );
    assert!(
        has("crm[1].api_key", "readable by other users (mode 644)"),
        "{}",
        run.stderr
    );
    assert!(has("crm[3].token", "cannot be read"), "{}", run.stderr);
    // Loopback over http is fine; a credential outside the unit is a warning.
    assert!(
        !run.stderr.contains("plain http to 127.0.0.1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("crm[2]"), "{}", run.stderr);
    assert!(
        run.stdout.contains("warning:") && run.stdout.contains("hubspot-token"),
        "{}",
        run.stdout
    );
    // No secret value in any of it.
    for value in ["pa55", "k3y"] {
        assert!(!run.stderr.contains(value) && !run.stdout.contains(value));
    }

    // Fixed, and the credential present as the unit provides it: ok.
    let fixed = std::fs::read_to_string(company.config())
        .unwrap()
        .replace("http://dav.example.com", "https://dav.example.com")
        .replace("secrets/missing.token", "secrets/retail.key");
    company.write("meetledger.toml", &fixed);
    std::fs::set_permissions(company.path("secrets/retail.key"), private).unwrap();
    company.write("creds/hubspot-token", "pat-na1-123\n");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"));
    let output = command
        .args([
            "--config",
            company.config().to_str().unwrap(),
            "check-config",
        ])
        .env("CREDENTIALS_DIRECTORY", company.path("creds"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = command
        .env("CREDENTIALS_DIRECTORY", company.path("no-creds"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a credential missing inside the unit fails"
    );
}

#[test]
fn a_csv_export_with_a_giant_line_fails_its_source_and_keeps_the_stored_orders() {
    let company = Company::new("");
    company.orders(&["o1,c1,2026-11-20,1000,RUB,paid,ivanov"]);
    company.ok(NOW, &["sync"]);
    // A 5 MiB "row": a broken or hostile export, not data.
    company.orders(&[
        "o1,c1,2026-11-20,1000,RUB,paid,ivanov",
        &format!("o2,c1,2026-11-21,{},RUB,paid,ivanov", "9".repeat(5 << 20)),
    ]);
    let run = company.run(NOW, &["sync"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let status = company.ok(NOW, &["status", "--format", "json"]).json();
    let crm = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "main")
        .unwrap()
        .clone();
    assert!(
        crm["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("a line of 5 MiB"),
        "{crm:#}"
    );
    let db = rusqlite::Connection::open(company.path("ledger.db")).unwrap();
    let orders: i64 = db
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 1, "the stored order was kept");
}

#[test]
fn an_attendee_address_no_one_can_have_is_a_warning_not_a_prospect() {
    let company = Company::new("");
    company.write(
        "calendars/ivanov.ics",
        &ics(&[common::event(
            "m1",
            "20261110T100000",
            60,
            "Переговоры",
            &[&common::attendee("ceo@<script>.evil.example", "ACCEPTED")],
        )]),
    );
    company.ok(NOW, &["run", "--once"]);
    let meetings = company.ok(
        NOW,
        &["meetings", "--period", "2026-11", "--format", "jsonl"],
    );
    assert!(
        meetings.stdout.trim().is_empty(),
        "credited: {}",
        meetings.stdout
    );
    let status = company.ok(NOW, &["status"]);
    assert!(
        status.stdout.contains("not valid mail addresses"),
        "{}",
        status.stdout
    );
}
