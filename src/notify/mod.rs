//! The nightly emails (SPEC §7): what each manager and the head of sales
//! read every morning, and the outbox that sends each of them at most once
//! per local day and address.
//!
//! - `digest`: pure: computed meetings, report and source health → digests;
//! - `render`: digests → subject, plain text, HTML (minijinja templates);
//! - `deliver`: MIME messages and the SMTP / file transports.
//!
//! This file wires them to the store: [`prepare`] reads and renders,
//! [`send`] claims each email in the outbox, sends it and records the result.

pub mod deliver;
pub mod digest;
pub mod render;

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest as _, Sha256};

use crate::config::{Config, EmailConfig};
use crate::daemon::schedule::JobSchedule;
use crate::ledger::period::Period;
use crate::ledger::{EmailClaim, OutboxRow, Store};
use crate::score::key_accounts;
pub use deliver::{Envelope, Transport};
use digest::DigestInput;

/// The recipient name of the team email in `--to` and the outbox.
pub const HEAD: &str = "head";

/// How far back "since the previous email" may reach (a long holiday does
/// not make a month-long list).
const MAX_WINDOW_DAYS: i64 = 7;

/// The email settings, or a clear error when there are none.
pub fn email_config(config: &Config) -> Result<&EmailConfig> {
    match &config.email {
        Some(email) => Ok(email),
        None => bail!(
            "{} has no [email] table (from, head, schedule, transport); see config/example.toml",
            config.source_path.display()
        ),
    }
}

/// The email schedule in the company's zone: once per local day.
pub fn schedule(config: &Config, email: &EmailConfig) -> Result<JobSchedule> {
    JobSchedule::new(&email.schedule, config.tz(), true)
}

/// Reads the store at `now` and renders the emails of local date `day`:
/// one per manager, one per head address; `only` picks a manager id or
/// `head`.
pub fn prepare(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
    day: NaiveDate,
    only: Option<&str>,
) -> Result<Vec<Envelope>> {
    let email = email_config(config)?;
    if let Some(only) = only {
        if only != HEAD && config.manager(only).is_none() {
            return Err(crate::error::UsageError(format!(
                "--to `{only}`: not a manager id nor `{HEAD}`"
            ))
            .into());
        }
    }
    let schedule = schedule(config, email)?;
    let today = schedule.start_of(day);
    let previous = schedule
        .previous_day(today, MAX_WINDOW_DAYS)
        .unwrap_or_else(|| day - Duration::days(1));
    let window = (schedule.start_of(previous), today);
    let matured_since = schedule
        .next_after(window.0 - Duration::seconds(1), None)
        .filter(|t| *t < schedule.start_of(previous + Duration::days(1)))
        .unwrap_or(window.0);

    let computed = crate::pipeline::compute(config, store, now)?;
    let client_names: HashMap<String, String> = computed
        .clients
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let client_managers: HashMap<String, Option<String>> = computed
        .clients
        .iter()
        .map(|c| (c.id.clone(), c.manager.clone()))
        .collect();
    let keys: HashSet<String> =
        key_accounts(&computed.clients, &computed.orders, &config.scoring, now);
    let mut order_times: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for order in store.orders()?.iter().filter(|o| !o.cancelled) {
        order_times
            .entry(order.client_id.clone())
            .or_default()
            .push(order.created_at);
    }
    for times in order_times.values_mut() {
        times.sort();
    }
    let report = crate::pipeline::report(config, store, Period::of(now, config.tz()), now)?;
    let sources = store.sources()?;
    let input = DigestInput {
        config,
        now,
        day,
        window,
        matured_since,
        occurrences: &computed.occurrences,
        decisions: &computed.classification.decisions,
        scored: &computed.scored,
        client_names: &client_names,
        client_managers: &client_managers,
        key_accounts: &keys,
        order_times: &order_times,
        report: &report,
        sources: &sources,
    };

    let renderer = render::Renderer::new()?;
    let language = config.company.language;
    let company = &config.company.name;
    let day_text = day.format("%Y-%m-%d").to_string();
    let mut out = Vec::new();
    for manager in &config.managers {
        if only.is_some_and(|o| o != manager.id) {
            continue;
        }
        let d = digest::manager_digest(&input, &manager.id);
        let r = renderer.render("manager", language, company, &d)?;
        out.push(envelope(email, &day_text, &manager.id, &manager.email, r));
    }
    if only.is_none_or(|o| o == HEAD) && !email.head.is_empty() {
        let d = digest::head_digest(&input);
        let r = renderer.render("head", language, company, &d)?;
        for address in &email.head {
            out.push(envelope(email, &day_text, HEAD, address, r.clone()));
        }
    }
    Ok(out)
}

fn envelope(
    email: &EmailConfig,
    day: &str,
    recipient: &str,
    address: &str,
    r: render::Rendered,
) -> Envelope {
    let domain = email.from.rsplit('@').next().unwrap_or("localhost");
    let domain = domain.trim_end_matches('>');
    let hash = Sha256::digest(address.to_lowercase().as_bytes());
    let tag: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Envelope {
        recipient: recipient.to_string(),
        address: address.to_string(),
        subject: r.subject,
        text: r.text,
        html: r.html,
        message_id: format!("<meetledger.{day}.{recipient}.{tag}@{domain}>"),
        day: day.to_string(),
    }
}

/// What became of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    AlreadySent,
    Failed(String),
}

/// Sends each envelope at most once per (day, address): claim in the
/// outbox, send (a few quick retries with backoff), record.
pub async fn send(
    config: &Config,
    store: &mut Store,
    transport: &Transport,
    envelopes: &[Envelope],
    now: DateTime<Utc>,
) -> Result<Vec<(Envelope, Delivery)>> {
    let email = email_config(config)?;
    // One sender at a time (the daemon, `email --send`): while we hold the
    // lock, a row still `sending` belongs to a sender that died mid-send.
    let _lock = sender_lock(config).await?;
    let mut results = Vec::new();
    for envelope in envelopes {
        let row = OutboxRow {
            day: envelope.day.clone(),
            address: envelope.address.to_lowercase(),
            recipient: envelope.recipient.clone(),
            subject: envelope.subject.clone(),
            message_id: envelope.message_id.clone(),
            state: "sending".into(),
            attempts: 1,
            claimed_at: String::new(),
            sent_at: None,
            error: None,
        };
        let delivery = match store.claim_email(&row, now)? {
            EmailClaim::AlreadySent => Delivery::AlreadySent,
            claim @ (EmailClaim::Claimed | EmailClaim::Resumed) => {
                if claim == EmailClaim::Resumed {
                    tracing::warn!(to = %envelope.address, day = %envelope.day, "an earlier send of this email was interrupted; sending it again with the same Message-ID");
                }
                let message = envelope.message(&email.from, now)?;
                let attempt = || transport.send(envelope, &message);
                let result = attempt
                    .retry(
                        ExponentialBuilder::default()
                            .with_min_delay(std::time::Duration::from_secs(1))
                            .with_max_times(2)
                            .with_jitter(),
                    )
                    .await;
                match result {
                    Ok(()) => {
                        store.email_sent(&row.day, &row.address, now)?;
                        tracing::info!(to = %envelope.address, recipient = %envelope.recipient, day = %envelope.day, "email sent");
                        Delivery::Sent
                    }
                    Err(e) => {
                        let message = format!("{e:#}");
                        store.email_failed(&row.day, &row.address, &message)?;
                        tracing::error!(to = %envelope.address, error = %message, "email not sent; it is retried later");
                        Delivery::Failed(message)
                    }
                }
            }
        };
        results.push((envelope.clone(), delivery));
    }
    Ok(results)
}

/// Takes the exclusive sender lock beside the ledger (`<ledger>.send-lock`),
/// waiting for another sender to finish. The OS drops it when its holder
/// dies, however abruptly.
async fn sender_lock(config: &Config) -> Result<std::fs::File> {
    let path = config.resolve(&config.ledger.path);
    tokio::task::spawn_blocking(move || crate::ledger::lock_beside(&path, "send-lock"))
        .await?
        .context("cannot take the email sender lock")
}

/// `meetledger email`: what to do with the rendered emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailAction {
    /// Print recipients, subjects and the plain-text parts.
    Print,
    /// Write .eml files into a folder (nothing is recorded as sent).
    Write(std::path::PathBuf),
    /// Send through the configured transport, once per day and address.
    Send,
}

/// `meetledger email [--send] [--to ID|head] [--date D] [--out DIR]`.
pub async fn command(
    config: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
    date: Option<NaiveDate>,
    to: Option<&str>,
    action: EmailAction,
    out: &mut impl std::io::Write,
) -> Result<i32> {
    let email = email_config(config)?;
    let schedule = schedule(config, email)?;
    let (day, now) = match date {
        None => (schedule.day_of(now), now),
        Some(day) => {
            // An email for a past day reads the data as of that day's
            // slot (or its end), as the daemon would have.
            let next_day = schedule.start_of(day + Duration::days(1));
            let slot = schedule
                .fires_between(
                    schedule.start_of(day) - Duration::seconds(1),
                    next_day,
                    None,
                )
                .first()
                .copied()
                .unwrap_or(next_day);
            (day, now.min(slot))
        }
    };
    let envelopes = prepare(config, store, now, day, to)?;
    match action {
        EmailAction::Print => {
            for e in &envelopes {
                writeln!(out, "To: {} ({})", e.address, e.recipient)?;
                writeln!(out, "Subject: {}", e.subject)?;
                writeln!(out)?;
                write!(out, "{}", e.text)?;
                writeln!(out, "{}", "-".repeat(72))?;
            }
            Ok(0)
        }
        EmailAction::Write(folder) => {
            for e in &envelopes {
                let message = e.message(&email.from, now)?;
                let path = deliver::write_eml(&folder, &e.file_name(), &message.formatted())?;
                writeln!(out, "{}", path.display())?;
            }
            Ok(0)
        }
        EmailAction::Send => {
            let transport = Transport::from_config(config, email)?;
            let mut code = 0;
            for (e, delivery) in send(config, store, &transport, &envelopes, now).await? {
                match delivery {
                    Delivery::Sent => writeln!(out, "sent: {} ({})", e.address, e.recipient)?,
                    Delivery::AlreadySent => {
                        writeln!(out, "already sent on {}: {}", e.day, e.address)?
                    }
                    Delivery::Failed(why) => {
                        code = 1;
                        writeln!(out, "FAILED: {}: {why}", e.address)?
                    }
                }
            }
            Ok(code)
        }
    }
}
