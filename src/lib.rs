//! meetledger: counts sales managers' client meetings from their calendars and
//! the CRM, scores each meeting by the orders that followed, and keeps an
//! append-only ledger that payroll can trust.
//!
//! # Layout
//! - [`model`]: domain types shared by every stage (Occurrence, Client, Order,
//!   Meeting, Outcome).
//! - [`config`]: the TOML file, defaults and validation errors naming file,
//!   line and key.
//! - [`calendar`]: iCalendar text → occurrences (recurrence, time zones).
//! - [`sources`]: where data comes from: calendar and CRM sources behind small
//!   traits (ICS files, CSV/JSONL files; network sources later).
//! - [`auth`]: OAuth2 for Google and Microsoft calendars: `meetledger auth`
//!   flows, org-wide grants, token refresh and re-authorization flags.
//! - [`shutdown`]: the stop request long work checks between batches.
//! - [`secrets`]: secrets by reference (file, env, systemd credential), redacted.
//! - [`classify`]: pure: occurrences + clients → meetings or exclusions.
//! - [`score`]: pure: meeting + orders + now → outcome and score.
//! - [`report`]: pure: scored meetings → per-manager monthly figures.
//! - [`ledger`]: the SQLite store: synced data, meetings, append-only entries,
//!   closed months.
//! - [`rescore`]: incremental scoring: only parties whose occurrences or
//!   orders changed (or whose outcomes matured) are classified, scored and
//!   booked again, a chunk at a time, in one transaction.
//! - [`pipeline`]: the stages wired together (sync, score) over the store.
//! - [`daemon`]: `meetledger run`: cron jobs in the company's zone (DST-safe,
//!   missed runs caught up), signals, sd_notify and the watchdog.
//! - [`notify`]: the nightly emails: digests, minijinja templates
//!   (`templates/`), SMTP / file delivery and the once-a-day outbox.
//! - [`demo`]: the bundled sample company and `meetledger demo`.
//! - [`error`]: the usage error mapped to exit code 2.
//! - [`logging`]: log filter and line format (escaped, journal priorities).
//! - [`manpage`]: meetledger(1), from the command line and fixed sections.
//! - [`cli`]: the command line; `main.rs` only maps errors to exit codes.

pub mod auth;
pub mod calendar;
pub mod classify;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ledger;
pub mod logging;
pub mod manpage;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod report;
pub mod rescore;
pub mod score;
pub mod secrets;
pub mod shutdown;
pub mod sources;
