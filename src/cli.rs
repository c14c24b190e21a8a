//! The command line (SPEC §7, §9): argument parsing and the commands. Each
//! command loads the config, opens the store and calls the pipeline; output
//! formats are documented in the README and are a stable contract.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use chrono::{DateTime, Duration, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::config::{Config, OverrideConfig};
use crate::ledger::changes::{format_utc, utc_z, utc_z_opt};
use crate::ledger::period::Period;
use crate::ledger::Store;
// Data in terminal tables (titles, provider error bodies) may carry control
// characters: escaped, they can neither break a row nor drive the terminal.
use crate::logging::escape_controls;
use crate::model::{Attendee, Occurrence};
use crate::pipeline;
use crate::report::{render_csv, render_table};
use crate::sources::{calendar_sources, CalendarFetch, SyncContext};

/// Default config location for the systemd service.
pub const DEFAULT_CONFIG: &str = "/etc/meetledger/meetledger.toml";

#[derive(Debug, Parser)]
#[command(
    name = "meetledger",
    version,
    about = "Counts and scores sales managers' client meetings from calendars and the CRM"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "MEETLEDGER_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The time to act as of (RFC 3339); defaults to the wall clock.
    #[arg(long, global = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull every configured source into the ledger database.
    Sync,
    /// Classify and score the synced data; append the differences to the ledger.
    Score,
    /// Run the daemon (or, with --once, one sync and score).
    Run {
        #[arg(long)]
        once: bool,
    },
    /// The normalized occurrences a calendar source yields.
    Events {
        #[arg(long)]
        calendar: String,
        /// Start of the window (RFC 3339); default: the sync window.
        #[arg(long, value_parser = parse_now)]
        from: Option<DateTime<Utc>>,
        #[arg(long, value_parser = parse_now)]
        to: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// Credited meetings of a month.
    Meetings {
        /// YYYY-MM; default: the current month.
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Per-manager figures of a month.
    Report {
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Ledger entries booked in a month, oldest first.
    Entries {
        #[arg(long)]
        period: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// How one occurrence was read.
    Explain {
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        uid: String,
        /// The instance (its recurrence id or start), for a recurring event.
        #[arg(long, value_parser = parse_now)]
        at: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Close a month (and every earlier one) for payroll.
    Close { period: String },
    /// Record an administrator's correction of one event.
    Override {
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        uid: String,
        #[arg(long, value_parser = parse_now)]
        at: Option<DateTime<Utc>>,
        /// Not a client meeting.
        #[arg(long, conflicts_with = "client", required_unless_present = "client")]
        exclude: bool,
        /// A meeting with this client.
        #[arg(long)]
        client: Option<String>,
        /// Who decided.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        why: String,
    },
    /// Each source's last success, last error, cursor age and skipped items.
    Status {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Connect a `google` / `microsoft` calendar with per-user OAuth
    /// (Google: opens a consent URL with a loopback redirect; Microsoft:
    /// a device code); the tokens are stored in the ledger database.
    Auth {
        provider: crate::auth::Provider,
        #[arg(long)]
        calendar: String,
    },
    /// Validate the configuration file.
    CheckConfig,
    /// Render the nightly emails (print them, or write .eml files), or send them now.
    Email {
        /// Send through the configured transport (once per day and address).
        #[arg(long, conflicts_with_all = ["dry_run", "out"])]
        send: bool,
        /// Print what would be sent (the default).
        #[arg(long)]
        dry_run: bool,
        /// Only this recipient: a manager id, or `head`.
        #[arg(long)]
        to: Option<String>,
        /// The local day the emails are for (YYYY-MM-DD); default: today.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Write .eml files into this folder instead of printing.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the man page (roff), for packaging.
    #[command(hide = true)]
    Man,
    /// Print shell completions, for packaging.
    #[command(hide = true)]
    Completions { shell: clap_complete::Shell },
    /// The whole pipeline on bundled sample data, in a temporary folder.
    Demo {
        /// Keep the demo company here instead of a temporary folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write into a folder that is not empty (its demo files and ledger
        /// are overwritten or added to).
        #[arg(long, requires = "out")]
        force: bool,
    },
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("`{text}` is not an RFC 3339 time ({e}), e.g. 2026-11-27T18:00:00+03:00")
        })
}

pub use crate::error::UsageError;

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Runs one command; returns the process exit code for non-error outcomes.
pub async fn run(cli: Cli) -> Result<i32> {
    let now = cli.now.unwrap_or_else(Utc::now);
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Demo { out: folder, force } => {
            return crate::demo::run(folder.as_deref(), force, out).await
        }
        Command::Man => {
            crate::manpage::render(<Cli as clap::CommandFactory>::command(), out)?;
            return Ok(0);
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "meetledger", out);
            return Ok(0);
        }
        Command::CheckConfig => {
            let config = Config::load_checked(&cli.config)?;
            let problems = crate::secrets::audit(&config);
            let text = std::fs::read_to_string(&cli.config).unwrap_or_default();
            let located = |p: &crate::secrets::SecretProblem| crate::config::ConfigError {
                file: cli.config.clone(),
                line: crate::config::line_of_key(&text, &p.key),
                column: None,
                key: Some(p.key.clone()),
                message: p.message.clone(),
            };
            for warning in problems.iter().filter(|p| !p.error) {
                writeln!(out, "warning: {}", located(warning))?;
            }
            let errors: Vec<_> = problems.iter().filter(|p| p.error).map(located).collect();
            if !errors.is_empty() {
                return Err(crate::config::ConfigErrors(errors).into());
            }
            writeln!(
                out,
                "{}: ok ({} managers, {} calendars, {} CRM sources)",
                cli.config.display(),
                config.managers.len(),
                config.calendars.len(),
                config.crms.len()
            )?;
            return Ok(0);
        }
        _ => {}
    }
    let config = Config::load(&cli.config)?;
    crate::secrets::learn(&config);
    let period = |p: &Option<String>| -> Result<Period> {
        match p {
            Some(p) => p.parse().map_err(usage),
            None => Ok(Period::of(now, config.tz())),
        }
    };
    match cli.command {
        Command::Sync => {
            let mut store = open_store(&config)?;
            let summary = pipeline::sync(&config, &mut store, now).await?;
            print_sync(out, &summary)?;
            Ok(if summary.failed().next().is_some() {
                1
            } else {
                0
            })
        }
        Command::Score => {
            let mut store = open_store(&config)?;
            let s = pipeline::score_and_book(&config, &mut store, now)?;
            writeln!(
                out,
                "{} meetings; entries: {} added, {} rescored, {} removed",
                s.meetings, s.added, s.rescored, s.removed
            )?;
            Ok(0)
        }
        Command::Run { once: true } => {
            let mut store = open_store(&config)?;
            let summary = pipeline::sync(&config, &mut store, now).await?;
            print_sync(out, &summary)?;
            let s = pipeline::score_and_book(&config, &mut store, now)?;
            writeln!(
                out,
                "{} meetings; entries: {} added, {} rescored, {} removed",
                s.meetings, s.added, s.rescored, s.removed
            )?;
            Ok(if summary.failed().next().is_some() {
                1
            } else {
                0
            })
        }
        Command::Run { once: false } => crate::daemon::run(cli.config.clone(), cli.now)
            .await
            .map(|_| 0),
        Command::Email {
            send,
            dry_run: _,
            to,
            date,
            out: folder,
        } => {
            let mut store = open_store(&config)?;
            let action = match (send, folder) {
                (true, _) => crate::notify::EmailAction::Send,
                (false, Some(folder)) => crate::notify::EmailAction::Write(folder),
                (false, None) => crate::notify::EmailAction::Print,
            };
            crate::notify::command(&config, &mut store, now, date, to.as_deref(), action, out).await
        }
        Command::Events {
            calendar,
            from,
            to,
            format,
        } => {
            expect_format(format, &[Format::Jsonl])?;
            events(out, &config, &calendar, from, to, now).await
        }
        Command::Meetings { period: p, format } => {
            expect_format(format, &[Format::Jsonl, Format::Table])?;
            let store = open_store(&config)?;
            let meetings = pipeline::meetings(&store, period(&p)?)?;
            for m in &meetings {
                match format {
                    Format::Jsonl => writeln!(out, "{}", serde_json::to_string(m)?)?,
                    _ => writeln!(
                        out,
                        "{}  {:<12} {:<24} {:<8} {:<9} {:<10} {:>4}  {:<8} {}",
                        m.start.with_timezone(&config.tz()).format("%Y-%m-%d %H:%M"),
                        m.manager,
                        escape_controls(&m.client),
                        m.client_status.as_str(),
                        m.rule.as_str(),
                        m.kind.as_str(),
                        m.weight,
                        m.outcome.as_str(),
                        escape_controls(&m.title)
                    )?,
                }
            }
            Ok(0)
        }
        Command::Report { period: p, format } => {
            expect_format(format, &[Format::Table, Format::Json, Format::Csv])?;
            let store = open_store(&config)?;
            let report = pipeline::report(&config, &store, period(&p)?, now)?;
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
                Format::Csv => write!(out, "{}", render_csv(&report))?,
                _ => write!(out, "{}", render_table(&report))?,
            }
            Ok(0)
        }
        Command::Entries { period: p, format } => {
            expect_format(format, &[Format::Jsonl])?;
            let store = open_store(&config)?;
            for e in store.entries_in(period(&p)?)? {
                writeln!(out, "{}", serde_json::to_string(&e)?)?;
            }
            Ok(0)
        }
        Command::Explain {
            calendar,
            uid,
            at,
            format,
        } => {
            expect_format(format, &[Format::Json])?;
            let store = open_store(&config)?;
            explain(out, &config, &store, &calendar, &uid, at, now)
        }
        Command::Close { period: p } => {
            let period: Period = p.parse().map_err(usage)?;
            let mut store = open_store(&config)?;
            let closed = pipeline::close(&config, &mut store, period, now)?;
            if closed.is_empty() {
                writeln!(out, "{period} is already closed")?;
            } else {
                let names: Vec<String> = closed.iter().map(ToString::to_string).collect();
                writeln!(out, "closed {}", names.join(", "))?;
            }
            Ok(0)
        }
        Command::Override {
            calendar,
            uid,
            at,
            exclude,
            client,
            by,
            why,
        } => {
            if config.calendar(&calendar).is_none() {
                return Err(usage(format!("no [[calendar]] has id `{calendar}`")));
            }
            let mut store = open_store(&config)?;
            let o = OverrideConfig {
                calendar,
                uid,
                recurrence_id: at.map(format_utc),
                exclude,
                client,
                by,
                why,
            };
            store.add_override(&o, now)?;
            writeln!(
                out,
                "override recorded; it applies at the next `meetledger score`"
            )?;
            Ok(0)
        }
        Command::Status { format } => {
            expect_format(format, &[Format::Table, Format::Json])?;
            let store = open_store(&config)?;
            status(out, &config, &store, format, now)
        }
        Command::Auth { provider, calendar } => {
            crate::auth::run_auth(&config, provider, &calendar, out, now).await?;
            Ok(0)
        }
        Command::CheckConfig
        | Command::Demo { .. }
        | Command::Man
        | Command::Completions { .. } => {
            unreachable!("handled above")
        }
    }
}

fn expect_format(format: Format, allowed: &[Format]) -> Result<()> {
    if allowed.contains(&format) {
        Ok(())
    } else {
        let names: Vec<String> = allowed
            .iter()
            .map(|f| {
                f.to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            })
            .collect();
        Err(usage(format!(
            "this command supports --format {}",
            names.join(" | ")
        )))
    }
}

pub fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.resolve(&config.ledger.path))
}

fn print_sync(out: &mut impl Write, summary: &pipeline::SyncSummary) -> Result<()> {
    for s in &summary.sources {
        let skipped = s.warnings.iter().filter(|w| w.skipped).count();
        match &s.result {
            Ok(Some(c)) => writeln!(
                out,
                "{}: {} changed, {} removed, {} unchanged{}",
                s.id,
                c.upserted,
                c.deleted,
                c.unchanged,
                if skipped > 0 {
                    format!(", {skipped} skipped (see `meetledger status`)")
                } else {
                    String::new()
                }
            )?,
            Ok(None) => writeln!(out, "{}: unchanged", s.id)?,
            Err(e) => writeln!(out, "{}: FAILED: {e}", s.id)?,
        }
    }
    Ok(())
}

/// One line of `events --format jsonl` (SPEC §9).
#[derive(Serialize)]
struct EventLine<'a> {
    calendar: &'a str,
    uid: &'a str,
    #[serde(with = "utc_z_opt")]
    recurrence_id: Option<DateTime<Utc>>,
    start: String,
    end: String,
    all_day: bool,
    tz: Option<&'a str>,
    title: &'a str,
    status: &'a str,
    organizer: Option<&'a str>,
    attendees: Vec<AttendeeLine<'a>>,
    location: Option<&'a str>,
    transparent: bool,
    conference: Option<&'a str>,
}

#[derive(Serialize)]
struct AttendeeLine<'a> {
    email: &'a str,
    name: Option<&'a str>,
    partstat: &'a str,
}

impl<'a> EventLine<'a> {
    fn of(o: &'a Occurrence) -> EventLine<'a> {
        let when = |t: DateTime<Utc>| {
            if o.all_day {
                t.format("%Y-%m-%d").to_string()
            } else {
                format_utc(t)
            }
        };
        EventLine {
            calendar: &o.calendar,
            uid: &o.uid,
            recurrence_id: o.recurrence_id,
            start: when(o.start),
            end: when(o.end),
            all_day: o.all_day,
            tz: o.tz.as_deref(),
            title: o.shown_title(),
            status: o.status.as_str(),
            organizer: o.organizer.as_ref().map(|a: &Attendee| a.email.as_str()),
            attendees: o
                .attendees
                .iter()
                .map(|a| AttendeeLine {
                    email: &a.email,
                    name: a.name.as_deref(),
                    partstat: a.partstat.as_str(),
                })
                .collect(),
            location: o.shown_location(),
            transparent: o.transparent,
            conference: o.conference.as_deref(),
        }
    }
}

async fn events(
    out: &mut impl Write,
    config: &Config,
    calendar: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<i32> {
    let mut ctx = SyncContext::new(config, now);
    ctx.window_start = from.unwrap_or(ctx.window_start);
    ctx.window_end = to.unwrap_or(ctx.window_end);
    if ctx.window_end <= ctx.window_start {
        return Err(usage("--to must be after --from"));
    }
    let Some(mut source) = calendar_sources(config)
        .into_iter()
        .find(|s| s.id() == calendar)
    else {
        return Err(usage(format!(
            "no [[calendar]] has id `{calendar}` in {}",
            config.source_path.display()
        )));
    };
    let mut occurrences: Vec<Occurrence> = match source.fetch(None, &ctx).await? {
        CalendarFetch::Full {
            items,
            mut warnings,
            ..
        }
        | CalendarFetch::Delta {
            changed: items,
            mut warnings,
            ..
        } => {
            // What `sync` would store: the same limits apply.
            let room = ctx.limits.max_occurrences;
            let items = crate::sources::bound_items(items, &ctx, room, calendar, &mut warnings);
            for w in &warnings {
                tracing::warn!(source = calendar, place = %w.place, skipped = w.skipped, "{}", w.message);
            }
            items.into_iter().flat_map(|i| i.occurrences).collect()
        }
        CalendarFetch::Unchanged => bail!("the source answered `unchanged` without a cursor"),
    };
    occurrences.sort_by(|a, b| {
        (a.start, &a.uid, a.recurrence_id).cmp(&(b.start, &b.uid, b.recurrence_id))
    });
    for o in occurrences
        .iter()
        .filter(|o| o.end > ctx.window_start && o.start < ctx.window_end)
    {
        writeln!(out, "{}", serde_json::to_string(&EventLine::of(o))?)?;
    }
    Ok(0)
}

/// `explain --format json` (SPEC §9).
#[derive(Serialize)]
struct Explanation {
    calendar: String,
    uid: String,
    #[serde(with = "utc_z_opt")]
    recurrence_id: Option<DateTime<Utc>>,
    #[serde(with = "utc_z")]
    occurrence_start: DateTime<Utc>,
    title: String,
    meeting: bool,
    reason: Option<&'static str>,
    /// What was found even when excluded.
    found_client: Option<String>,
    found_rule: Option<&'static str>,
    found_kind: Option<&'static str>,
    #[serde(flatten)]
    credited: Option<crate::ledger::changes::MeetingRecord>,
}

fn explain(
    out: &mut impl Write,
    config: &Config,
    store: &Store,
    calendar: &str,
    uid: &str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<i32> {
    let computed = pipeline::compute(config, store, now)?;
    let candidates: Vec<usize> = computed
        .occurrences
        .iter()
        .enumerate()
        .filter(|(_, o)| o.calendar == calendar && o.uid == uid)
        .filter(|(_, o)| at.is_none_or(|at| o.recurrence_id == Some(at) || o.start == at))
        .map(|(i, _)| i)
        .collect();
    let index = match candidates.as_slice() {
        [] => bail!("no synced occurrence of UID `{uid}` in calendar `{calendar}`{} (run `meetledger sync` first?)", at.map(|t| format!(" at {}", format_utc(t))).unwrap_or_default()),
        [one] => *one,
        many => {
            let starts: Vec<String> = many.iter().take(5).map(|i| format_utc(computed.occurrences[*i].start)).collect();
            return Err(usage(format!(
                "UID `{uid}` has {} instances; pick one with --at (e.g. {})",
                many.len(),
                starts.join(", ")
            )));
        }
    };
    let occurrence = &computed.occurrences[index];
    let decision = &computed.classification.decisions[index];
    let credited = decision.meeting.as_ref().map(|m| {
        let scored = crate::model::ScoredMeeting {
            meeting: m.clone(),
            outcome: crate::score::score(m, &computed.orders, &config.scoring, now),
        };
        crate::ledger::changes::MeetingRecord::from_scored(&scored)
    });
    let explanation = Explanation {
        calendar: occurrence.calendar.clone(),
        uid: occurrence.uid.clone(),
        recurrence_id: occurrence.recurrence_id,
        occurrence_start: occurrence.start,
        title: occurrence.shown_title().to_string(),
        meeting: decision.exclusion.is_none(),
        reason: decision.exclusion.map(|e| e.as_str()),
        found_client: decision.counterparty.as_ref().map(|c| c.key()),
        found_rule: decision.rule.map(|r| r.as_str()),
        found_kind: decision.kind.map(|k| k.as_str()),
        credited: if decision.exclusion.is_none() {
            credited
        } else {
            None
        },
    };
    writeln!(out, "{}", serde_json::to_string_pretty(&explanation)?)?;
    Ok(0)
}

fn age(now: DateTime<Utc>, stamp: &Option<String>) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(stamp.as_deref()?)
        .ok()?
        .with_timezone(&Utc);
    let d: Duration = now - t;
    Some(if d.num_days() > 0 {
        format!("{}d", d.num_days())
    } else if d.num_hours() > 0 {
        format!("{}h", d.num_hours())
    } else {
        format!("{}m", d.num_minutes().max(0))
    })
}

fn status(
    out: &mut impl Write,
    config: &Config,
    store: &Store,
    format: Format,
    now: DateTime<Utc>,
) -> Result<i32> {
    let states = store.sources()?;
    let configured: Vec<(&str, String)> = config
        .calendars
        .iter()
        .map(|c| (c.id.as_str(), format!("{:?}", c.kind)))
        .chain(
            config
                .crms
                .iter()
                .map(|c| (c.id.as_str(), format!("{:?}", c.kind))),
        )
        .collect();
    let counts = store.counts()?;
    let last_closed = store.last_closed()?.map(|p| p.to_string());
    let reauth = store.needing_reauth()?;
    if format == Format::Json {
        let sources: Vec<serde_json::Value> = configured
            .iter()
            .map(|(id, _)| {
                let state = states
                    .iter()
                    .find(|s| s.id == *id)
                    .cloned()
                    .unwrap_or_default();
                serde_json::json!({
                    "id": id,
                    "kind": state.kind,
                    "last_success": state.last_success,
                    "last_error": state.last_error.as_deref().map(|e| crate::secrets::scrub(e).into_owned()),
                    "last_error_at": state.last_error_at,
                    "cursor_age_seconds": state.cursor_at.as_deref()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| (now - t.with_timezone(&Utc)).num_seconds()),
                    "skipped": state.skipped,
                    "warnings": state.warnings,
                    "needs_reauth": reauth.iter().find(|(s, _, _)| s == id).map(|(_, _, why)| why),
                })
            })
            .collect();
        let value = serde_json::json!({ "sources": sources, "counts": counts, "last_closed": last_closed,
            "jobs": store.job_runs()?, "outbox": store.outbox(20)? });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(0);
    }
    writeln!(out, "config: {}", config.source_path.display())?;
    writeln!(
        out,
        "ledger: {}",
        config.resolve(&config.ledger.path).display()
    )?;
    writeln!(
        out,
        "{:<20} {:<10} {:<22} {:>10} {:>8}  last error",
        "source", "kind", "last success", "cursor age", "skipped"
    )?;
    for (id, kind) in &configured {
        let state = states.iter().find(|s| s.id == *id);
        writeln!(
            out,
            "{:<20} {:<10} {:<22} {:>10} {:>8}  {}",
            id,
            kind.to_lowercase(),
            state
                .and_then(|s| s.last_success.clone())
                .unwrap_or_else(|| "never".into()),
            state
                .and_then(|s| age(now, &s.cursor_at))
                .unwrap_or_else(|| "—".into()),
            state.map_or(0, |s| s.skipped),
            escape_controls(&crate::secrets::scrub(
                &state.and_then(|s| s.last_error.clone()).unwrap_or_default()
            )),
        )?;
        if let Some((_, provider, why)) = reauth.iter().find(|(s, _, _)| s == id) {
            writeln!(
                out,
                "    needs re-authorization: run meetledger auth {provider} --calendar {id} ({why})"
            )?;
        }
        for w in state
            .map(|s| s.warnings.as_slice())
            .unwrap_or(&[])
            .iter()
            .take(20)
        {
            writeln!(out, "    warning: {}", escape_controls(&w.to_string()))?;
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(out, "stored: {}", summary.join(", "))?;
    writeln!(
        out,
        "last closed month: {}",
        last_closed.unwrap_or_else(|| "none".into())
    )?;
    for job in store.job_runs()? {
        writeln!(
            out,
            "job {:<6} last slot {}  {}",
            job.job,
            job.last_slot.as_deref().unwrap_or("never"),
            match (job.ok, &job.error) {
                (Some(false), Some(e)) => format!("FAILED: {}", escape_controls(e)),
                (Some(true), _) => "ok".to_string(),
                _ => "running or never finished".to_string(),
            }
        )?;
    }
    for email in store.outbox(20)? {
        writeln!(
            out,
            "email {} {:<28} {}{}",
            email.day,
            escape_controls(&email.address),
            email.state,
            email
                .error
                .map(|e| format!(": {}", escape_controls(&e)))
                .unwrap_or_default()
        )?;
    }
    Ok(0)
}

/// Where the demo's bundled company is written.
pub fn demo_config_path(folder: &Path) -> PathBuf {
    folder.join("meetledger.toml")
}
