//! Crash safety (issue 7): the real binary is SIGKILLed at seeded random
//! points of `sync`, `score`, `close` and `email --send`, restarted, and the
//! end state must be the uninterrupted run's: `PRAGMA integrity_check` ok,
//! the same ledger (every table, and what `meetings`, `entries` and `report`
//! print) and exactly one email per recipient over the whole seed.
//!
//! Seeds: `MEETLEDGER_CRASH_SEEDS` (default 3, as in CI) runs seeds 1..=N;
//! `MEETLEDGER_CRASH_SEED=K` runs seed K alone. The full 50-seed run is
//! `scripts/crash-test`. The input is a synthetic company
//! (`examples/synth_company.rs`, built and run through cargo) big enough
//! that each stage takes a noticeable time, so kills land at start-up,
//! mid-read and mid-transaction alike.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// After the end of November, so that November can be closed.
const NOW: &str = "2026-12-02T10:00:00+03:00";
const CLOSED_MONTH: &str = "2026-11";
const MANAGERS: &str = "10";
const MONTHS: &str = "12";
const COMPANY_SEED: &str = "1";
const DEFAULT_SEEDS: u64 = 3;

/// The stages in the order a night runs them.
const STAGES: [(&str, &[&str]); 4] = [
    ("sync", &["sync"]),
    ("score", &["score"]),
    ("close", &["close", CLOSED_MONTH]),
    ("email", &["email", "--send"]),
];

/// Columns that may legitimately differ after a crash: a resumed email
/// counts one more attempt. (`--now` is fixed, so every timestamp the
/// binary writes is the same in every run and is compared.)
const VOLATILE_COLUMNS: [(&str, &str); 1] = [("sent_emails", "attempts")];

/// splitmix64: a tiny seeded generator, stable across crate versions so a
/// seed names the same kill delays forever.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Generates the synthetic company once; returns its config text with the
/// calendar and CRM paths made absolute, so each run's folder holds only
/// its own config, ledger and SMTP sink.
fn generate_company(dir: &Path) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut command = Command::new(cargo);
    command
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .args(["--example", "synth_company"]);
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .args(["--", "--managers", MANAGERS, "--months", MONTHS])
        .args(["--seed", COMPANY_SEED, "--out"])
        .arg(dir)
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "synth_company failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = std::fs::read_to_string(dir.join("meetledger.toml")).unwrap();
    let base = dir.display().to_string();
    let absolute = config
        .replace(
            "path = \"calendars/",
            &format!("path = \"{base}/calendars/"),
        )
        .replace("= \"crm/", &format!("= \"{base}/crm/"));
    assert!(
        !absolute.contains("\"calendars/") && !absolute.contains("\"crm/"),
        "a relative source path is left in the synthetic config"
    );
    absolute
}

/// What the SMTP server saw on one TCP connection: the messages it
/// accepted (envelope recipient, Message-ID), in order, and whether the
/// client ended with QUIT. Every meetledger process opens its own
/// connections, and processes run one after another.
#[derive(Debug, Clone, Default)]
struct SmtpConnection {
    accepted: Vec<(String, String)>,
    /// Commands the client sent after the last accepted message (a MAIL
    /// FROM for the next one means it had recorded the last as sent).
    commands_after_last: usize,
    quit: bool,
}

/// A minimal SMTP server on 127.0.0.1 (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
/// QUIT) that accepts everything and records each connection. A message
/// counts as accepted the moment its final "." arrives, before the 250 is
/// written, as a real server commits it to its queue: a client killed
/// after sending "." has delivered it.
struct SmtpTrace {
    port: u16,
    connections: Arc<Mutex<Vec<SmtpConnection>>>,
}

impl SmtpTrace {
    fn start() -> SmtpTrace {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<SmtpConnection>>> = Arc::default();
        let shared = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let index = {
                    let mut all = shared.lock().unwrap();
                    all.push(SmtpConnection::default());
                    all.len() - 1
                };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve_smtp(stream, index, &shared);
                });
            }
        });
        SmtpTrace { port, connections }
    }

    fn connections(&self) -> Vec<SmtpConnection> {
        self.connections.lock().unwrap().clone()
    }
}

fn serve_smtp(
    stream: TcpStream,
    index: usize,
    connections: &Mutex<Vec<SmtpConnection>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    writer.write_all(b"220 crash-kill ESMTP\r\n")?;
    let mut recipients: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // the client is gone (killed, or closed without QUIT)
        }
        let command = line.trim_end().to_ascii_uppercase();
        connections.lock().unwrap()[index].commands_after_last += 1;
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 crash-kill\r\n"
        } else if command.starts_with("MAIL FROM:") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO:") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_string();
            recipients.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut message_id = String::new();
            let mut in_headers = true;
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(()); // cut mid-message: not delivered
                }
                let text = line.trim_end_matches(['\r', '\n']);
                if text == "." {
                    break;
                }
                if text.is_empty() {
                    in_headers = false;
                }
                if in_headers {
                    if let Some((name, value)) = text.split_once(':') {
                        if name.eq_ignore_ascii_case("Message-ID") {
                            message_id = value.trim().to_string();
                        }
                    }
                }
            }
            let mut all = connections.lock().unwrap();
            for to in recipients.drain(..) {
                all[index].accepted.push((to, message_id.clone()));
            }
            all[index].commands_after_last = 0;
            b"250 OK queued\r\n"
        } else if command == "RSET" {
            recipients.clear();
            b"250 OK\r\n"
        } else if command == "NOOP" {
            b"250 OK\r\n"
        } else if command == "QUIT" {
            connections.lock().unwrap()[index].quit = true;
            writer.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        writer.write_all(reply)?;
    }
}

/// One run of the night: its folder (config, ledger.db) and its SMTP
/// server, shared by every kill and restart of the run.
struct NightRun {
    dir: PathBuf,
    config: PathBuf,
    smtp: SmtpTrace,
}

impl NightRun {
    fn new(dir: PathBuf, company_config: &str) -> NightRun {
        std::fs::create_dir_all(&dir).unwrap();
        let smtp = SmtpTrace::start();
        let config = dir.join("meetledger.toml");
        std::fs::write(
            &config,
            format!(
                "{company_config}\n\n[email]\nfrom = \"meetledger@synth-pack.ru\"\nhead = [\"head@synth-pack.ru\"]\ntransport = \"smtp\"\nsmtp = {{ host = \"127.0.0.1\", port = {}, tls = \"none\" }}\n",
                smtp.port
            ),
        )
        .unwrap();
        NightRun { dir, config, smtp }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_meetledger"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(["--now", NOW])
            .args(args)
            .env_remove("MEETLEDGER_CONFIG")
            .env("MEETLEDGER_LOG", "warn");
        command
    }

    /// Runs a command to completion; it must succeed. Returns how long it
    /// took, stdout and stderr.
    fn complete(&self, args: &[&str]) -> (Duration, String, String) {
        let started = Instant::now();
        let output = self.command(args).output().expect("run meetledger");
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "meetledger {args:?} in {} exited with {}:\n{stdout}\n{stderr}",
            self.dir.display(),
            output.status
        );
        (elapsed, stdout, stderr)
    }

    /// Starts a command and SIGKILLs it after `delay`; true when it was
    /// still running then (false: it had already exited by itself).
    fn kill_after(&self, args: &[&str], delay: Duration) -> bool {
        let mut child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start meetledger");
        std::thread::sleep(delay);
        let running = child.try_wait().unwrap().is_none();
        // Child::kill is SIGKILL on Unix: no handler, no flush, no unwinding.
        let _ = child.kill();
        let _ = child.wait();
        running
    }

    fn stdout(&self, args: &[&str]) -> String {
        self.complete(args).1
    }
}

/// Everything a user or payroll relies on after the night.
struct Snapshot {
    integrity_ok: bool,
    /// Every table's rows (volatile columns left out), sorted.
    tables: BTreeMap<String, Vec<String>>,
    /// What `meetings`, `entries` and `report` print, by command line.
    printed: BTreeMap<String, String>,
    /// The SMTP server's connections, in the order they were opened.
    smtp: Vec<SmtpConnection>,
}

fn snapshot(run: &NightRun, periods: &[String]) -> Snapshot {
    let ledger = run.dir.join("ledger.db");
    // Integrity first, before any other reader touches the file.
    let integrity_ok = meetledger::ledger::Store::open(&ledger)
        .and_then(|store| store.integrity_ok())
        .unwrap_or(false);
    let tables = dump_tables(&ledger);

    let mut printed = BTreeMap::new();
    for period in periods {
        for command in [
            vec!["meetings", "--period", period, "--format", "jsonl"],
            vec!["entries", "--period", period, "--format", "jsonl"],
        ] {
            printed.insert(command.join(" "), run.stdout(&command));
        }
    }
    // The closed month (frozen) and the open one the entries land in now.
    for period in [CLOSED_MONTH, "2026-12"] {
        let command = ["report", "--period", period, "--format", "json"];
        printed.insert(command.join(" "), run.stdout(&command));
    }

    // A message whose sender was killed right after its final "." may
    // still be on its way through the server's socket buffer.
    std::thread::sleep(Duration::from_millis(200));
    let smtp = run.smtp.connections();
    Snapshot {
        integrity_ok,
        tables,
        printed,
        smtp,
    }
}

fn dump_tables(ledger: &Path) -> BTreeMap<String, Vec<String>> {
    let db = rusqlite::Connection::open(ledger).unwrap();
    let names: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut tables = BTreeMap::new();
    for name in names {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let keep: Vec<usize> = (0..columns.len())
            .filter(|&i| !VOLATILE_COLUMNS.contains(&(name.as_str(), columns[i].as_str())))
            .collect();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let values: Vec<String> = keep
                    .iter()
                    .map(|&i| {
                        let value = match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => "NULL".to_string(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                            rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                format!("{:?}", String::from_utf8_lossy(t))
                            }
                            rusqlite::types::ValueRef::Blob(b) => format!("blob{b:?}"),
                        };
                        Ok(format!("{}={value}", columns[i]))
                    })
                    .collect::<rusqlite::Result<_>>()?;
                Ok(values.join(" "))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        tables.insert(name, rows);
    }
    tables
}

/// What differs between the reference and a crashed run, briefly.
fn differences(reference: &Snapshot, got: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if !got.integrity_ok {
        out.push("PRAGMA integrity_check is not ok".to_string());
    }
    let mut compare = |what: &str, want: &[String], have: &[String]| {
        if want == have {
            return;
        }
        // Rows can be long (a closed month's frozen report): the start of
        // a few is enough to see what went wrong.
        let brief = |rows: &[String], other: &[String]| -> Vec<String> {
            let other: std::collections::HashSet<&String> = other.iter().collect();
            rows.iter()
                .filter(|r| !other.contains(r))
                .take(3)
                .map(|r| r.chars().take(300).collect())
                .collect()
        };
        let (missing, extra) = (brief(want, have), brief(have, want));
        out.push(format!(
            "{what}: {} rows, reference {}; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
            have.len(),
            want.len()
        ));
    };
    let no_rows = Vec::new();
    let table_names: std::collections::BTreeSet<&String> =
        reference.tables.keys().chain(got.tables.keys()).collect();
    for name in table_names {
        compare(
            &format!("table {name}"),
            reference.tables.get(name).unwrap_or(&no_rows),
            got.tables.get(name).unwrap_or(&no_rows),
        );
    }
    for (command, want) in &reference.printed {
        let have = got.printed.get(command).cloned().unwrap_or_default();
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        compare(&format!("`{command}`"), &lines(want), &lines(&have));
    }
    out
}

/// Every copy each recipient was sent: (connection, position on it,
/// Message-ID), in the order the connections were opened.
fn copies(smtp: &[SmtpConnection]) -> BTreeMap<String, Vec<(usize, usize, String)>> {
    let mut out: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    for (c, connection) in smtp.iter().enumerate() {
        for (position, (to, id)) in connection.accepted.iter().enumerate() {
            out.entry(to.clone())
                .or_default()
                .push((c, position, id.clone()));
        }
    }
    out
}

/// One email per recipient: the reference's recipients, each with the
/// reference's Message-ID, and no other message. A second copy of that same
/// message is what the outbox allows, and only then: the sender was killed
/// after the server had the copy and before it recorded it as sent, i.e.
/// the copy is the last thing its connection did (no next MAIL FROM, no
/// QUIT). SMTP cannot do better: the server's acceptance and our commit
/// are two systems. Returns (problems, allowed doubles).
fn check_mail(reference: &[SmtpConnection], got: &[SmtpConnection]) -> (Vec<String>, Vec<String>) {
    let want = copies(reference);
    let have = copies(got);
    let (mut problems, mut doubles) = (Vec::new(), Vec::new());
    let recipients: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    for recipient in recipients {
        let Some([(_, _, want_id)]) = want.get(recipient).map(Vec::as_slice) else {
            problems.push(format!(
                "email to {recipient}: not a recipient of the uninterrupted night"
            ));
            continue;
        };
        let sent = have.get(recipient).cloned().unwrap_or_default();
        if sent.is_empty() {
            problems.push(format!("email to {recipient}: never sent"));
        }
        for (_, _, id) in &sent {
            if id != want_id {
                problems.push(format!(
                    "email to {recipient}: a different message {id}, reference {want_id}"
                ));
            }
        }
        for (c, position, _) in sent.iter().take(sent.len().saturating_sub(1)) {
            let connection = &got[*c];
            let last = position + 1 == connection.accepted.len();
            if last && connection.commands_after_last == 0 && !connection.quit {
                doubles.push(recipient.clone());
            } else {
                problems.push(format!(
                    "email to {recipient}: sent {} times; copy {} (connection {c}) was followed by {} more message(s), {} command(s){}, so the sender had recorded it",
                    sent.len(),
                    position + 1,
                    connection.accepted.len() - position - 1,
                    connection.commands_after_last,
                    if connection.quit { " and QUIT" } else { "" }
                ));
            }
        }
    }
    (problems, doubles)
}

#[derive(Default)]
struct KillTally {
    kills: usize,
    landed: usize,
    exited_before: usize,
}

#[test]
fn killed_anywhere_in_the_night_the_ledger_ends_as_if_never_killed() {
    let seeds: Vec<u64> = match std::env::var("MEETLEDGER_CRASH_SEED") {
        Ok(one) => vec![one.parse().expect("MEETLEDGER_CRASH_SEED is a number")],
        Err(_) => {
            let n = std::env::var("MEETLEDGER_CRASH_SEEDS")
                .map(|n| n.parse().expect("MEETLEDGER_CRASH_SEEDS is a number"))
                .unwrap_or(DEFAULT_SEEDS);
            (1..=n).collect()
        }
    };
    let started = Instant::now();
    // Under target/tmp so that a failing seed's folder can be kept for a look.
    let root = tempfile::Builder::new()
        .prefix("crash_kill-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let company_config = generate_company(&root.path().join("company"));

    // The uninterrupted night: the reference, and each stage's duration.
    let reference_run = NightRun::new(root.path().join("reference"), &company_config);
    let mut durations = Vec::new();
    for (name, args) in STAGES {
        let (elapsed, _, _) = reference_run.complete(args);
        eprintln!("reference {name}: {} ms", elapsed.as_millis());
        durations.push(elapsed);
    }
    let periods: Vec<String> = {
        let db = rusqlite::Connection::open(reference_run.dir.join("ledger.db")).unwrap();
        let mut stmt = db
            .prepare("SELECT period FROM meetings UNION SELECT period FROM entries ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let reference = snapshot(&reference_run, &periods);
    assert!(reference.integrity_ok);
    // The reference itself must be worth comparing against.
    assert!(reference.tables["entries"].len() > 1000, "a big ledger");
    let reference_mail = copies(&reference.smtp);
    assert_eq!(
        reference_mail.len(),
        11,
        "ten managers and the head get an email: {reference_mail:?}"
    );
    assert!(reference_mail.values().all(|sent| sent.len() == 1));
    drop(reference_run);

    let mut tally: Vec<KillTally> = STAGES.iter().map(|_| KillTally::default()).collect();
    let mut resumed_emails = 0;
    let (mut double_seeds, mut double_copies) = (0, 0);
    let mut failures = Vec::new();
    for &seed in &seeds {
        let dir = root.path().join(format!("seed-{seed}"));
        let run = NightRun::new(dir.clone(), &company_config);
        let mut rng = SplitMix(seed);
        let mut log = Vec::new();
        for (stage, ((name, args), duration)) in STAGES.iter().zip(&durations).enumerate() {
            let kills = rng.below(3);
            let mut notes = Vec::new();
            for _ in 0..kills {
                let max = duration.as_millis() as u64 * 12 / 10;
                let delay = Duration::from_millis(rng.below(max + 1));
                let landed = run.kill_after(args, delay);
                let t = &mut tally[stage];
                t.kills += 1;
                if landed {
                    t.landed += 1;
                } else {
                    t.exited_before += 1;
                }
                notes.push(format!(
                    "{}ms{}",
                    delay.as_millis(),
                    if landed { "" } else { " (had exited)" }
                ));
            }
            let (_, _, stderr) = run.complete(args);
            if *name == "email" {
                resumed_emails += stderr.matches("send of this email was interrupted").count();
            }
            log.push(format!("{name}[{}]", notes.join(", ")));
        }
        let got = snapshot(&run, &periods);
        let mut diff = differences(&reference, &got);
        let (mail_problems, doubles) = check_mail(&reference.smtp, &got.smtp);
        diff.extend(mail_problems);
        if !doubles.is_empty() {
            log.push(format!("double in the kill window: {}", doubles.join(", ")));
            double_seeds += 1;
            double_copies += doubles.len();
        }
        eprintln!(
            "seed {seed}: {} -> {}",
            log.join(" "),
            if diff.is_empty() { "ok" } else { "FAILED" }
        );
        if !diff.is_empty() {
            failures.push(format!(
                "seed {seed} ({}), kept in {}:\n  {}",
                log.join(" "),
                dir.display(),
                diff.join("\n  ")
            ));
        }
    }

    eprintln!(
        "{} seeds in {:.1} s; kills per stage (landed while running / process had exited):",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    for ((name, _), t) in STAGES.iter().zip(&tally) {
        eprintln!(
            "  {name}: {} kills, {} landed, {} after exit",
            t.kills, t.landed, t.exited_before
        );
    }
    eprintln!(
        "  emails the finishing runs resent after an interrupted send: {resumed_emails}; \
         recipients who got two copies of one message (killed between the message \
         leaving meetledger and the outbox commit): {double_copies}, in {double_seeds} seeds"
    );
    if !failures.is_empty() {
        // Keep every folder for inspection.
        let kept = root.keep();
        panic!(
            "{} of {} seeds did not recover (folders under {}):\n{}",
            failures.len(),
            seeds.len(),
            kept.display(),
            failures.join("\n")
        );
    }
}
