//! Servers that misbehave on purpose, against the real binary: redirects
//! and paging links to another origin, error bodies that echo the request's
//! credential, endless bodies. Each test asserts that no credential reaches
//! another origin and that no secret appears in any output at trace level
//! (stdout, stderr, `status` in both formats, the ledger file itself).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{meetledger, Company};

const NOW: &str = "2026-11-27T18:00:00+03:00";

/// What a scripted server answers to one request (its head as text).
enum Reply {
    Bytes(Vec<u8>),
    /// 200 with a body that never ends.
    Endless,
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    Reply::Bytes(format!("{head}\r\n{body}").into_bytes())
}

/// A server on `ip` (127.0.0.1, 127.0.0.2…: each another origin) that
/// records every request head it gets.
struct Server {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(ip: &str, respond: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        let respond = Arc::new(respond);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let seen = seen.clone();
                let respond = respond.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0u8; length];
                    let _ = reader.read_exact(&mut body);
                    seen.lock().unwrap().push(head.clone());
                    match respond(&head) {
                        Reply::Bytes(bytes) => {
                            let _ = stream.write_all(&bytes);
                        }
                        Reply::Endless => {
                            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n");
                            let chunk = "X-FILLER:".to_string() + &"a".repeat(1000) + "\r\n";
                            while stream.write_all(chunk.as_bytes()).is_ok() {}
                        }
                    }
                });
            }
        });
        Server { port, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// Everything the binary lets out after a sync at trace level.
fn outputs(company: &Company) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_meetledger"));
    let sync = command
        .args([
            "--config",
            company.config().to_str().unwrap(),
            "--now",
            NOW,
            "sync",
        ])
        .env("MEETLEDGER_LOG", "trace")
        .output()
        .unwrap();
    let mut all = String::from_utf8_lossy(&sync.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&sync.stderr));
    for args in [&["status"][..], &["status", "--format", "json"]] {
        let run = company.run(NOW, args);
        all.push_str(&run.stdout);
        all.push_str(&run.stderr);
    }
    all.push_str(&String::from_utf8_lossy(
        &std::fs::read(company.path("ledger.db")).unwrap_or_default(),
    ));
    all
}

const API_KEY: &str = "rcrm-KEY-9f8e7d6c5b4a";

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_the_api_key_stays_home() {
    let elsewhere = Server::start("127.0.0.2", |_| http("200 OK", &[], "{}"));
    let target = format!(
        "http://127.0.0.2:{}/api/v5/reference/statuses",
        elsewhere.port
    );
    let home = Server::start("127.0.0.1", move |_| {
        http("302 Found", &[("Location", &target)], "")
    });
    let company = Company::new(&format!(
        "[[crm]]\nid = \"retail\"\nkind = \"retailcrm\"\nurl = \"http://127.0.0.1:{}\"\napi_key = {{ file = \"retail.key\" }}\n",
        home.port
    ));
    company.write("retail.key", &format!("{API_KEY}\n"));
    let all = outputs(&company);
    assert!(!home.heads().is_empty(), "the CRM was not asked");
    assert!(
        elsewhere.heads().is_empty(),
        "a request reached the other origin: {:?}",
        elsewhere.heads()
    );
    assert!(
        all.contains("another origin"),
        "the failure does not say why:\n{all}"
    );
    assert!(!all.contains(API_KEY), "the key leaked into an output");
}

#[test]
fn a_feed_token_never_reaches_another_host_not_even_as_a_referer() {
    let elsewhere = Server::start("127.0.0.2", |_| {
        http(
            "200 OK",
            &[],
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        )
    });
    let target = format!("http://127.0.0.2:{}/moved.ics", elsewhere.port);
    let home = Server::start("127.0.0.1", move |_| {
        http("301 Moved Permanently", &[("Location", &target)], "")
    });
    let token = "feedtoken-5d41402abc4b2a76";
    let company = Company::new(&format!(
        "[[calendar]]\nid = \"feed\"\nmanager = \"ivanov\"\nkind = \"ics_url\"\nurl = \"http://127.0.0.1:{}/private/{token}/basic.ics?token={token}\"\n",
        home.port
    ));
    let all = outputs(&company);
    assert!(!home.heads().is_empty());
    for head in elsewhere.heads() {
        assert!(
            !head.contains(token),
            "the token reached another host: {head}"
        );
    }
    assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
    assert!(!all.contains(token), "the feed token is in an output");
}

#[test]
fn a_paging_link_to_another_host_is_refused_and_the_token_stays_home() {
    let elsewhere = Server::start("127.0.0.2", |_| http("200 OK", &[], "{}"));
    let next = format!(
        "http://127.0.0.2:{}/api/v4/companies?page=2",
        elsewhere.port
    );
    let home = Server::start("127.0.0.1", move |_| {
        let body = serde_json::json!({
            "_embedded": {"companies": [{"id": 1, "name": "ООО Ромашка"}]},
            "_links": {"next": {"href": next}}
        });
        http(
            "200 OK",
            &[("Content-Type", "application/hal+json")],
            &body.to_string(),
        )
    });
    let token = "amo-long-lived-token-0123456789";
    let company = Company::new(&format!(
        "[[crm]]\nid = \"amo\"\nkind = \"amocrm\"\nurl = \"http://127.0.0.1:{}\"\ntoken = {{ file = \"amo.token\" }}\n",
        home.port
    ));
    company.write("amo.token", token);
    let all = outputs(&company);
    assert!(!home.heads().is_empty());
    assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
    assert!(all.contains("another origin"), "{all}");
    assert!(!all.contains(token));
}

#[test]
fn error_bodies_that_echo_the_credential_are_scrubbed_everywhere() {
    // A provider that answers 400 with the request echoed back, as some
    // gateways do (key in a header and in the body).
    let home = Server::start("127.0.0.1", |head| {
        let echoed = head.replace("\r\n", " | ");
        http(
            "400 Bad Request",
            &[("Content-Type", "text/plain")],
            &format!("bad request: {echoed}"),
        )
    });
    let company = Company::new(&format!(
        "[[crm]]\nid = \"retail\"\nkind = \"retailcrm\"\nurl = \"http://127.0.0.1:{}\"\napi_key = {{ file = \"retail.key\" }}\n",
        home.port
    ));
    company.write("retail.key", &format!("{API_KEY}\n"));
    let all = outputs(&company);
    assert!(
        home.heads().iter().any(|h| h
            .to_ascii_lowercase()
            .contains(&API_KEY.to_ascii_lowercase())),
        "the key was sent to its own origin"
    );
    assert!(
        all.contains("[redacted]"),
        "the echo was not kept at all:\n{all}"
    );
    assert!(!all.contains(API_KEY), "the echoed key reached an output");
}

#[test]
fn an_endless_body_fails_at_the_size_limit_and_keeps_what_is_stored() {
    let home = Server::start("127.0.0.1", |_| Reply::Endless);
    let company = Company::new(&format!(
        "[sync]\nmax_response_mb = 2\n\n[[calendar]]\nid = \"feed\"\nmanager = \"ivanov\"\nkind = \"ics_url\"\nurl = \"http://127.0.0.1:{}/endless.ics\"\n",
        home.port
    ));
    let run = company.run(NOW, &["sync"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let status = meetledger(&[
        "--config",
        company.config().to_str().unwrap(),
        "--now",
        NOW,
        "status",
        "--format",
        "json",
    ])
    .json();
    let feed = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "feed")
        .unwrap()
        .clone();
    let error = feed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("larger than 2 MiB"), "{feed:#}");
    // Refused once: a body that is too large is not fetched again.
    assert_eq!(home.heads().len(), 1, "{:?}", home.heads().len());
}
