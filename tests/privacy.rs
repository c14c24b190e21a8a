//! Private events (issue 12, "Privacy"): an event its owner marked private
//! — `CLASS:PRIVATE`/`CONFIDENTIAL` in iCalendar, Google `visibility`,
//! Graph `sensitivity` — is classified like any other (a client named in
//! its title is still credited), but no output of the real binary shows its
//! title, location or description: `events`, `meetings`, `explain`,
//! `status`, the emails (.eml files, decoded) and the log at trace level
//! say "private event". Descriptions are never stored (the ledger file's
//! bytes are read); a `#nomeeting` in one still excludes.

mod oauth_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Wednesday noon in Moscow: the emails of the day cover Tuesday.
const NOW: &str = "2026-11-11T09:00:00Z";

const CLIENTS: &str = "id,name,domains,emails,manager,key
c1,ООО Ромашка,romashka.ru,,ivanov,no
c2,АО Вектор,vector.example,,ivanov,no
";

/// Writes a company (one manager, a CSV CRM, emails to a head) with the
/// given `[[calendar]]` (and provider) text.
fn company(dir: &Path, calendar: &str) {
    let config = format!(
        r#"
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

[[crm]]
id = "main"
kind = "csv"
clients = "crm/clients.csv"
orders = "crm/orders.csv"

[email]
from = "meetledger@acme.example"
head = ["head@acme.example"]

{calendar}
"#
    );
    std::fs::write(dir.join("meetledger.toml"), config).unwrap();
    std::fs::create_dir_all(dir.join("crm")).unwrap();
    std::fs::write(dir.join("crm/clients.csv"), CLIENTS).unwrap();
    std::fs::write(
        dir.join("crm/orders.csv"),
        "id,client_id,created_at,amount,currency,status,manager\n",
    )
    .unwrap();
}

/// Runs the binary with every log event on (`MEETLEDGER_LOG=trace`) and
/// returns its exit code and everything it wrote.
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let config = dir.join("meetledger.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config", config.to_str().unwrap(), "--now", NOW])
        .args(args)
        .env_remove("MEETLEDGER_CONFIG")
        .env_remove("RUST_LOG")
        .env("MEETLEDGER_LOG", "trace")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, text) = run(dir, args);
    assert_eq!(code, 0, "meetledger {args:?} failed:\n{text}");
    text
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MEETLEDGER_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-env first",
        python.display()
    );
    python
}

/// The .eml files of `folder`, raw and decoded (subject, text, HTML) by
/// Python's email package, so an encoded title cannot slip past.
fn emails(folder: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parse_eml.py");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let file = entry.unwrap().path();
        let raw = std::fs::read_to_string(&file).unwrap();
        let parsed = Command::new(venv_python())
            .arg(&script)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{}",
            String::from_utf8_lossy(&parsed.stderr)
        );
        let value: Value = serde_json::from_slice(&parsed.stdout).unwrap();
        out.push(format!(
            "{raw}\n{}\n{}\n{}",
            value["subject"], value["text"], value["html"]
        ));
    }
    assert!(!out.is_empty(), "no email written");
    out
}

/// The ledger database with its WAL, as bytes.
fn ledger_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("ledger.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.join("ledger.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// What a private event hides.
struct Secrets<'a> {
    title: &'a str,
    location: &'a str,
    description: &'a str,
}

/// Syncs, scores, and reads every output; asserts the private event `uid`
/// of `calendar` is credited to client c1 and that none of its secrets
/// appears anywhere. Returns every output, for more checks.
fn assert_private_event_hidden(dir: &Path, calendar: &str, uid: &str, secrets: &Secrets) -> String {
    let mut outputs = Vec::new();
    outputs.push(ok(dir, &["sync"]));
    outputs.push(ok(dir, &["score"]));

    let events = ok(dir, &["events", "--calendar", calendar]);
    let line: Value = events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["uid"] == uid)
        .unwrap_or_else(|| panic!("{uid} not in `events`:\n{events}"));
    assert_eq!(line["title"], "private event", "{line}");
    assert_eq!(line["location"], Value::Null, "{line}");
    outputs.push(events);

    let meetings = ok(
        dir,
        &["meetings", "--period", "2026-11", "--format", "jsonl"],
    );
    let meeting: Value = meetings
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["uid"] == uid)
        .unwrap_or_else(|| panic!("{uid} is not credited:\n{meetings}"));
    assert_eq!(
        meeting["client"], "c1",
        "the title names the client: {meeting}"
    );
    assert_eq!(meeting["title"], "private event", "{meeting}");
    outputs.push(meetings);
    outputs.push(ok(dir, &["meetings", "--period", "2026-11"]));
    outputs.push(ok(dir, &["report", "--period", "2026-11"]));

    let explain = ok(dir, &["explain", "--calendar", calendar, "--uid", uid]);
    let start = explain.find('{').unwrap();
    let end = explain.rfind('}').unwrap();
    let explained: Value = serde_json::from_str(&explain[start..=end]).unwrap();
    assert_eq!(explained["title"], "private event", "{explained}");
    assert_eq!(explained["meeting"], true, "{explained}");
    assert_eq!(explained["found_client"], "c1", "{explained}");
    outputs.push(explain);

    outputs.push(ok(dir, &["status"]));
    outputs.push(ok(dir, &["status", "--format", "json"]));
    outputs.push(ok(dir, &["entries", "--period", "2026-11"]));

    let out = dir.join("eml");
    outputs.push(ok(dir, &["email", "--out", out.to_str().unwrap()]));
    let mails = emails(&out);
    assert!(
        mails.iter().any(|m| m.contains("private event")),
        "the manager's email lists the meeting as a private event"
    );
    outputs.extend(mails);

    let all = outputs.join("\n");
    for secret in [secrets.title, secrets.location, secrets.description] {
        assert!(!all.contains(secret), "{secret:?} shown:\n{all}");
    }
    assert!(
        !contains(&ledger_bytes(dir), secrets.description),
        "the description is stored in the ledger"
    );
    all
}

fn ics(events: &[&str]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//meetledger tests//EN\n");
    for e in events {
        text.push_str(e);
    }
    text.push_str("END:VCALENDAR\n");
    text.replace('\n', "\r\n")
}

#[test]
fn ics_private_and_confidential_events_are_credited_but_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    company(
        dir,
        r#"
[[calendar]]
id = "ivanov-main"
manager = "ivanov"
kind = "ics_file"
path = "ivanov.ics"
"#,
    );
    let private = "BEGIN:VEVENT\nUID:private-1@acme\nDTSTAMP:20261101T000000Z\n\
        DTSTART;TZID=Europe/Moscow:20261110T100000\nDURATION:PT1H\n\
        SUMMARY:Ромашка TitleSecretA\nLOCATION:LocationSecretA\n\
        DESCRIPTION:DescriptionSecretA about the deal\nCLASS:PRIVATE\nEND:VEVENT\n";
    let confidential = "BEGIN:VEVENT\nUID:confidential-1@acme\nDTSTAMP:20261101T000000Z\n\
        DTSTART;TZID=Europe/Moscow:20261110T140000\nDURATION:PT1H\n\
        SUMMARY:Вектор TitleSecretB\nLOCATION:LocationSecretB\n\
        DESCRIPTION:DescriptionSecretB\nCLASS:CONFIDENTIAL\nEND:VEVENT\n";
    // A public event whose description says it is no client meeting: the
    // tag still counts, the rest of the text is not kept.
    let tagged = "BEGIN:VEVENT\nUID:tagged-1@acme\nDTSTAMP:20261101T000000Z\n\
        DTSTART;TZID=Europe/Moscow:20261110T160000\nDURATION:PT1H\n\
        SUMMARY:Вектор обед\nDESCRIPTION:DescriptionSecretC\\, личное #nomeeting\nEND:VEVENT\n";
    std::fs::write(
        dir.join("ivanov.ics"),
        ics(&[private, confidential, tagged]),
    )
    .unwrap();

    let all = assert_private_event_hidden(
        dir,
        "ivanov-main",
        "private-1@acme",
        &Secrets {
            title: "TitleSecretA",
            location: "LocationSecretA",
            description: "DescriptionSecretA",
        },
    );
    for secret in ["TitleSecretB", "LocationSecretB", "DescriptionSecretB"] {
        assert!(!all.contains(secret), "{secret:?} shown:\n{all}");
    }
    let bytes = ledger_bytes(dir);
    for description in ["DescriptionSecretB", "DescriptionSecretC"] {
        assert!(!contains(&bytes, description), "{description} stored");
    }

    let explain = ok(
        dir,
        &[
            "explain",
            "--calendar",
            "ivanov-main",
            "--uid",
            "tagged-1@acme",
        ],
    );
    assert!(
        explain.contains("\"reason\": \"override\""),
        "#nomeeting in the description still excludes:\n{explain}"
    );
    let explain = ok(
        dir,
        &[
            "explain",
            "--calendar",
            "ivanov-main",
            "--uid",
            "confidential-1@acme",
        ],
    );
    assert!(explain.contains("\"found_client\": \"c2\""), "{explain}");
}

/// A Google Calendar v3 event as the Events resource documents it
/// (https://developers.google.com/calendar/api/v3/reference/events:
/// `visibility` is "default", "public", "private" or "confidential";
/// `summary`, `description`, `location` are strings; `start`/`end` carry
/// `dateTime` and `timeZone`), the shape of the gcal_sync fixtures in
/// tests/fixtures/api.
fn google_event(
    id: &str,
    visibility: &str,
    summary: &str,
    location: &str,
    description: &str,
) -> Value {
    json!({
        "kind": "calendar#event",
        "id": id,
        "status": "confirmed",
        "iCalUID": format!("{id}@google.com"),
        "summary": summary,
        "description": description,
        "location": location,
        "visibility": visibility,
        "organizer": { "email": "ivanov@acme.example", "self": true },
        "start": { "dateTime": "2026-11-10T10:00:00+03:00", "timeZone": "Europe/Moscow" },
        "end": { "dateTime": "2026-11-10T11:00:00+03:00", "timeZone": "Europe/Moscow" },
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn google_private_event_is_credited_but_never_shown() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page = json!({
        "kind": "calendar#events",
        "items": [
            google_event("priv1", "private", "Ромашка TitleSecretG", "LocationSecretG", "DescriptionSecretG"),
            google_event("conf1", "confidential", "Вектор TitleSecretH", "LocationSecretH", "DescriptionSecretH"),
        ],
        "nextSyncToken": "sync-1",
    });
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let calendar = format!(
        r#"
[google]
client_id = "test-client.apps.googleusercontent.com"
client_secret = {{ file = "client_secret" }}
api_url = "{uri}/calendar/v3"
token_url = "{uri}/token"
auth_url = "{uri}/auth"

[[calendar]]
id = "ivanov-google"
manager = "ivanov"
kind = "google"
"#
    );
    let setup = oauth_support::Company::new(oauth_support::at(NOW), &calendar);
    company(setup.dir.path(), &calendar);
    setup.authorize("ivanov-google", "google", "access-1", 3600);

    let all = assert_private_event_hidden(
        setup.dir.path(),
        "ivanov-google",
        "priv1@google.com",
        &Secrets {
            title: "TitleSecretG",
            location: "LocationSecretG",
            description: "DescriptionSecretG",
        },
    );
    for secret in ["TitleSecretH", "LocationSecretH", "DescriptionSecretH"] {
        assert!(!all.contains(secret), "{secret:?} shown:\n{all}");
    }
}

/// A Graph event as the event resource documents it
/// (https://learn.microsoft.com/en-us/graph/api/resources/event:
/// `sensitivity` is normal, personal, private or confidential;
/// `bodyPreview` is the first 255 characters of the body), in the shape of
/// the delta page tests/fixtures/api/msgraph_calendarview_delta_r1_p3_deltalink.json
/// (microsoft-graph-docs-contrib concepts/delta-query-events.md).
fn graph_event(id: &str, sensitivity: &str, subject: &str, location: &str, preview: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "id": id,
        "subject": subject,
        "bodyPreview": preview,
        "body": { "contentType": "text", "content": preview },
        "sensitivity": sensitivity,
        "start": { "dateTime": "2026-11-10T07:00:00.0000000", "timeZone": "UTC" },
        "end": { "dateTime": "2026-11-10T08:00:00.0000000", "timeZone": "UTC" },
        "location": { "displayName": location },
        "attendees": [],
        "organizer": { "emailAddress": { "name": "Ivan Ivanov", "address": "ivanov@acme.example" } },
        "iCalUId": format!("{id}-ical"),
        "type": "singleInstance",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_private_event_is_credited_but_never_shown() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "@odata.deltaLink": format!("{uri}/v1.0/me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E"),
        "value": [
            graph_event("AAMkPriv=", "private", "Ромашка TitleSecretM", "LocationSecretM", "DescriptionSecretM"),
            graph_event("AAMkConf=", "confidential", "Вектор TitleSecretN", "LocationSecretN", "DescriptionSecretN"),
        ],
    });
    Mock::given(method("GET"))
        .and(path("/v1.0/me/calendarView/delta"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let calendar = format!(
        r#"
[microsoft]
tenant = "contoso.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret = {{ file = "client_secret" }}
api_url = "{uri}/v1.0"
login_url = "{uri}"

[[calendar]]
id = "ivanov-ms"
manager = "ivanov"
kind = "microsoft"
"#
    );
    let setup = oauth_support::Company::new(oauth_support::at(NOW), &calendar);
    company(setup.dir.path(), &calendar);
    setup.authorize("ivanov-ms", "microsoft", "access-1", 3600);

    let all = assert_private_event_hidden(
        setup.dir.path(),
        "ivanov-ms",
        "AAMkPriv=-ical",
        &Secrets {
            title: "TitleSecretM",
            location: "LocationSecretM",
            description: "DescriptionSecretM",
        },
    );
    for secret in ["TitleSecretN", "LocationSecretN", "DescriptionSecretN"] {
        assert!(!all.contains(secret), "{secret:?} shown:\n{all}");
    }
}
