//! The daemon as a process (issue 6): `meetledger run` on a temporary
//! company with ICS and CSV sources and the file email transport, its
//! readiness through a NOTIFY_SOCKET we listen on, syncs by a schedule
//! scaled down to seconds, SIGHUP with a good and a bad config, SIGTERM,
//! and the database's integrity afterwards.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const FAST: &str = r#"
[schedule]
sync = "*/2 * * * * *"

[email]
from = "meetledger@acme.example"
head = ["head@acme.example"]
schedule = "*/3 * * * * *"
transport = "file"
folder = "outbox"
"#;

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

fn log_of(company: &Company) -> String {
    std::fs::read_to_string(company.path("daemon.log")).unwrap_or_default()
}

fn started_syncs(company: &Company) -> usize {
    log_of(company)
        .lines()
        .filter(|l| l.contains("job started") && l.contains("job=\"sync\""))
        .count()
}

#[test]
fn the_daemon_gets_ready_syncs_on_schedule_reloads_and_stops_cleanly() {
    let company = Company::new(FAST);
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y%m%dT110000")
        .to_string();
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "m1",
            &yesterday,
            60,
            "Встреча <script>alert(1)</script>",
            &[&attendee("anna@romashka.ru", "ACCEPTED")],
        )]),
    );
    let notify = NotifySocket::new();
    let log = std::fs::File::create(company.path("daemon.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config", company.config().to_str().unwrap(), "run"])
        .env_remove("MEETLEDGER_CONFIG")
        .env("NOTIFY_SOCKET", &notify.path)
        .env("MEETLEDGER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    assert!(
        notify.wait_for("READY=1", Duration::from_secs(20)),
        "no READY=1; got {:?}\n{}",
        notify.received(),
        log_of(&company)
    );
    // The first sync runs at start-up (it never ran), the next ones by the
    // two-second schedule.
    assert!(
        eventually(Duration::from_secs(30), || started_syncs(&company) >= 2),
        "no scheduled sync:\n{}",
        log_of(&company)
    );
    let meetings = company.ok("2099-01-01T00:00:00Z", &["status", "--format", "json"]);
    let status = meetings.json();
    assert!(
        status["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["last_success"].is_null()),
        "{status:#}"
    );
    // The email job ran by its schedule and wrote the three emails.
    assert!(
        eventually(Duration::from_secs(30), || std::fs::read_dir(
            company.path("outbox")
        )
        .map(|d| d.count() == 3)
        .unwrap_or(false)),
        "no emails in the outbox:\n{}",
        log_of(&company)
    );

    // A good new config is taken.
    let good = std::fs::read_to_string(company.config())
        .unwrap()
        .replace("*/2 * * * * *", "*/1 * * * * *");
    company.write("meetledger.toml", &good);
    signal(&child, "HUP");
    assert!(
        eventually(Duration::from_secs(10), || log_of(&company)
            .contains("configuration reloaded")),
        "{}",
        log_of(&company)
    );

    // A bad one is rejected, with the file and key named, and the daemon
    // keeps running (and syncing) on the old one.
    company.write("meetledger.toml", &format!("{good}\n[ledger]\nbogus = 1\n"));
    signal(&child, "HUP");
    assert!(
        eventually(Duration::from_secs(10), || log_of(&company)
            .contains("new configuration rejected")),
        "{}",
        log_of(&company)
    );
    let rejected = log_of(&company);
    assert!(rejected.contains("meetledger.toml"), "{rejected}");
    let syncs = started_syncs(&company);
    assert!(
        eventually(Duration::from_secs(15), || started_syncs(&company) > syncs),
        "no sync after the rejected reload:\n{}",
        log_of(&company)
    );
    assert!(child.try_wait().unwrap().is_none(), "the daemon died");

    // SIGTERM: STOPPING=1, exit 0, promptly.
    let stopped_at = std::time::Instant::now();
    signal(&child, "TERM");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(25),
            "still running 25 s after SIGTERM:\n{}",
            log_of(&company)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", log_of(&company));
    assert!(notify.wait_for("STOPPING=1", Duration::from_secs(2)));
    assert!(notify
        .received()
        .iter()
        .any(|m| m.contains("STATUS=running sync")));

    let db = rusqlite::Connection::open(company.path("ledger.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let runs: i64 = db
        .query_row(
            "SELECT count(*) FROM job_runs WHERE job = 'sync' AND ok = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(runs, 1, "one row per job, holding the last run");
}

#[test]
fn a_bad_config_at_start_exits_2_without_ready() {
    let company = Company::new("[schedule]\nsync = \"*/15 * * * *\"\n");
    let run = company.run("2026-11-27T12:00:00Z", &["run"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("schedule.sync"), "{}", run.stderr);
    assert!(run.stderr.contains("seconds first"), "{}", run.stderr);
}

#[test]
fn a_clock_that_stepped_back_makes_jobs_wait_instead_of_booking_removals() {
    // The ledger was last worked two hours "ahead" of the wall clock (as
    // after a bad NTP step back). A meeting that ended before that time is
    // credited; scored at the wall clock it would read as future and be
    // booked `removed`.
    let company = Company::new(FAST);
    let moscow = chrono_tz::Europe::Moscow;
    let wall = chrono::Utc::now();
    let meeting = (wall + chrono::Duration::minutes(10)).with_timezone(&moscow);
    company.write(
        "calendars/ivanov.ics",
        &ics(&[event(
            "soon",
            &meeting.format("%Y%m%dT%H%M%S").to_string(),
            30,
            "Встреча",
            &[&attendee("anna@romashka.ru", "ACCEPTED")],
        )]),
    );
    let ahead = (wall + chrono::Duration::hours(2)).to_rfc3339();
    let once = company.ok(&ahead, &["run", "--once"]);
    assert!(once.stdout.contains("1 added"), "{}", once.stdout);

    let notify = NotifySocket::new();
    let log = std::fs::File::create(company.path("daemon.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config", company.config().to_str().unwrap(), "run"])
        .env_remove("MEETLEDGER_CONFIG")
        .env("NOTIFY_SOCKET", &notify.path)
        .env("MEETLEDGER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(
        notify.wait_for(
            "STATUS=waiting: the clock is behind",
            Duration::from_secs(20)
        ),
        "no waiting status; got {:?}\n{}",
        notify.received(),
        log_of(&company)
    );
    // Several two-second slots pass; none of them may run.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(started_syncs(&company), 0, "{}", log_of(&company));
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", log_of(&company));

    let period = meeting.format("%Y-%m").to_string();
    let entries = company.ok(
        &ahead,
        &["entries", "--period", &period, "--format", "jsonl"],
    );
    let changes: Vec<String> = entries
        .jsonl()
        .iter()
        .map(|e| e["change"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(changes, ["added"], "{}", log_of(&company));
}

#[test]
fn sigterm_during_a_large_import_stops_within_seconds_and_the_watchdog_keeps_pinging() {
    // A CSV export large enough that importing it takes longer than the
    // stop deadline (a small stand-in for the 5 000 000-order export of
    // scripts/bench-scale, where a stop used to take 174 s).
    let company = Company::new(FAST);
    let mut orders = String::from("id,client_id,created_at,amount,currency,status,manager\n");
    for i in 0..600_000 {
        orders.push_str(&format!(
            "o{i},c{},2026-0{}-1{},{},RUB,paid,ivanov\n",
            i % 3 + 1,
            i % 9 + 1,
            i % 10,
            1000 + i % 777
        ));
    }
    company.write("crm/orders.csv", &orders);
    let notify = NotifySocket::new();
    let log = std::fs::File::create(company.path("daemon.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetledger"))
        .args(["--config", company.config().to_str().unwrap(), "run"])
        .env_remove("MEETLEDGER_CONFIG")
        .env("NOTIFY_SOCKET", &notify.path)
        .env("WATCHDOG_USEC", "2000000")
        .env("MEETLEDGER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    assert!(
        notify.wait_for("STATUS=running sync", Duration::from_secs(20)),
        "{}",
        log_of(&company)
    );
    let import_started = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !log_of(&company).contains("synced source=main"),
        "the import finished too early for this test to mean anything"
    );
    let stopped_at = std::time::Instant::now();
    signal(&child, "TERM");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM:\n{}",
            log_of(&company)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", log_of(&company));
    assert!(notify.wait_for("STOPPING=1", Duration::from_secs(2)));

    // Watchdog pings every half period (1 s) all through the import: no
    // gap as long as the period, after which systemd would kill the service.
    let pings: Vec<std::time::Instant> = notify
        .received_at()
        .into_iter()
        .filter(|(at, m)| m.contains("WATCHDOG=1") && *at >= import_started)
        .map(|(at, _)| at)
        .collect();
    assert!(pings.len() >= 2, "{} pings during the import", pings.len());
    let longest = pings.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest < Duration::from_secs(2),
        "a watchdog gap of {longest:?} (the period is 2 s)"
    );

    // Nothing half-imported: the stopped sync kept nothing of the orders.
    let db = rusqlite::Connection::open(company.path("ledger.db")).unwrap();
    let orders: i64 = db
        .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orders, 0);
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
