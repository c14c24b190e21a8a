//! The stages wired together over the store: `sync` pulls every source into
//! the database (one failing source never stops the others), `score`
//! classifies, scores and books the differences in the ledger, `report` and
//! `close` read and freeze months. The decisions themselves are made by the
//! pure modules; this file only moves data between them and the store.

use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::{stream, StreamExt};

use crate::classify::{classify, Classification, ClassifyContext};
use crate::config::Config;
use crate::error::UsageError;
use crate::ledger::changes::{self, MeetingRecord};
use crate::ledger::period::Period;
use crate::ledger::{sort_records, ClosedPeriod, SourceState, Store, SyncCounts};
use crate::model::{Client, Occurrence, ScoredMeeting};
use crate::report::{coverage_window, monthly_report, Report, ReportInput};
pub use crate::rescore::{score_and_book, ScoreSummary};
use crate::score::{key_accounts, score, OrderBook, KEY_ACCOUNT_WINDOW};
use crate::sources::http::HttpClient;
use crate::sources::{
    bound_items, calendar_sources, crm_sources, crm_sources_with, CalendarFetch, CrmFetch,
    SourceWarning, SyncContext,
};

/// How one source's sync went.
#[derive(Debug, Clone)]
pub struct SourceOutcome {
    pub id: String,
    pub kind: String,
    pub result: Result<Option<SyncCounts>, String>,
    pub warnings: Vec<SourceWarning>,
}

#[derive(Debug, Clone, Default)]
pub struct SyncSummary {
    pub sources: Vec<SourceOutcome>,
}

impl SyncSummary {
    pub fn failed(&self) -> impl Iterator<Item = &SourceOutcome> {
        self.sources.iter().filter(|s| s.result.is_err())
    }
}

/// Sources fetched at once: network sources wait on providers, not on us,
/// and the bound keeps memory to a few sources' data at a time.
const CONCURRENT_FETCHES: usize = 4;

/// A source's answer with its position in the config, id and kind.
type Fetched<T> = (usize, String, String, Result<T>);

/// The cursor stored with each source's data.
fn stored_cursors<'a>(
    store: &Store,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<Option<String>>> {
    ids.map(|id| Ok(store.source(id)?.and_then(|s| s.cursor)))
        .collect()
}

/// Pulls every configured source into the store: fetches run concurrently
/// (bounded), each answer is stored in its own transaction as it arrives.
pub async fn sync(config: &Config, store: &mut Store, now: DateTime<Utc>) -> Result<SyncSummary> {
    sync_with(config, store, &SyncContext::new(config, now)).await
}

/// `sync` with the given context: its HTTP settings (timeouts, retries)
/// serve every source, calendars and CRMs alike.
pub async fn sync_with(
    config: &Config,
    store: &mut Store,
    ctx: &SyncContext,
) -> Result<SyncSummary> {
    let now = ctx.now;
    let mut outcomes = Vec::new();

    let mut calendars = calendar_sources(config);
    let cursors = stored_cursors(store, calendars.iter().map(|s| s.id()))?;
    // Boxed and collected first: a lazy `map` over borrowed sources trips
    // the compiler's Send inference in the daemon's boxed job future.
    let pending: Vec<BoxFuture<'_, Fetched<CalendarFetch>>> = calendars
        .iter_mut()
        .zip(cursors)
        .enumerate()
        .map(
            |(i, (source, cursor))| -> BoxFuture<'_, Fetched<CalendarFetch>> {
                Box::pin(async move {
                    let fetched = source.fetch(cursor.as_deref(), ctx).await;
                    (
                        i,
                        source.id().to_string(),
                        source.kind().to_string(),
                        fetched,
                    )
                })
            },
        )
        .collect();
    let mut fetches = stream::iter(pending).buffer_unordered(CONCURRENT_FETCHES);
    while let Some((i, id, kind, fetched)) = fetches.next().await {
        // Each source is stored in its own transaction: a stop request is
        // honoured between them.
        crate::shutdown::check()?;
        let result = match fetched {
            Ok(CalendarFetch::Unchanged) => {
                store.record_unchanged(&id, now).map(|_| (None, vec![]))
            }
            Ok(CalendarFetch::Full {
                items,
                mut warnings,
                cursor,
            }) => {
                let room = ctx.limits.max_occurrences;
                let items = bound_items(items, ctx, room, &id, &mut warnings);
                let state = success_state(&id, &kind, cursor, &warnings);
                store
                    .replace_calendar(&state, &items, now)
                    .map(|c| (Some(c), warnings))
            }
            Ok(CalendarFetch::Delta {
                changed,
                deleted,
                mut warnings,
                cursor,
            }) => {
                // What the untouched items keep is counted against the
                // budget (one unit each: their attendees are not read back).
                let touched: Vec<&str> = changed
                    .iter()
                    .map(|i| i.key.as_str())
                    .chain(deleted.iter().map(String::as_str))
                    .collect();
                let kept = store.occurrences_outside(&id, &touched);
                kept.and_then(|kept| {
                    let room = ctx.limits.max_occurrences.saturating_sub(kept);
                    let changed = bound_items(changed, ctx, room, &id, &mut warnings);
                    let state = success_state(&id, &kind, cursor, &warnings);
                    store
                        .apply_calendar_delta(&state, &changed, &deleted, now)
                        .map(|c| (Some(c), warnings))
                })
            }
            Err(e) => Err(e),
        };
        outcomes.push((i, finish(store, id, kind, result, now)?));
    }
    drop(fetches);

    let mut crms = match HttpClient::new(ctx.http.clone()) {
        Ok(client) => crm_sources_with(config, &client),
        Err(_) => crm_sources(config),
    };
    let offset = calendars.len();
    let cursors = stored_cursors(store, crms.iter().map(|s| s.id()))?;
    let pending: Vec<BoxFuture<'_, Fetched<CrmFetch>>> = crms
        .iter_mut()
        .zip(cursors)
        .enumerate()
        .map(
            |(i, (source, cursor))| -> BoxFuture<'_, Fetched<CrmFetch>> {
                Box::pin(async move {
                    let fetched = source.fetch(cursor.as_deref(), ctx).await;
                    (
                        offset + i,
                        source.id().to_string(),
                        source.kind().to_string(),
                        fetched,
                    )
                })
            },
        )
        .collect();
    let mut fetches = stream::iter(pending).buffer_unordered(CONCURRENT_FETCHES);
    while let Some((i, id, kind, fetched)) = fetches.next().await {
        // Each source is stored in its own transaction: a stop request is
        // honoured between them.
        crate::shutdown::check()?;
        let result = match fetched {
            Ok(CrmFetch::Unchanged) => store.record_unchanged(&id, now).map(|_| (None, vec![])),
            Ok(CrmFetch::Full {
                clients,
                orders,
                warnings,
                cursor,
            }) => {
                let state = success_state(&id, &kind, cursor, &warnings);
                store
                    .replace_crm(&state, &clients, &orders, now)
                    .map(|c| (Some(c), warnings))
            }
            Ok(CrmFetch::FullStream {
                clients,
                orders,
                warnings,
                cursor,
            }) => {
                let state = success_state(&id, &kind, cursor, &warnings);
                store
                    .replace_crm_streamed(&state, &clients, orders, now)
                    .map(|(c, more)| (Some(c), warnings.into_iter().chain(more).collect()))
            }
            Ok(CrmFetch::Delta {
                clients,
                orders,
                deleted_clients,
                deleted_orders,
                warnings,
                cursor,
            }) => {
                let state = success_state(&id, &kind, cursor, &warnings);
                let deleted = (deleted_clients.as_slice(), deleted_orders.as_slice());
                store
                    .apply_crm_delta(&state, &clients, &orders, deleted, now)
                    .map(|c| (Some(c), warnings))
            }
            Err(e) => Err(e),
        };
        outcomes.push((i, finish(store, id, kind, result, now)?));
    }
    drop(fetches);
    // Report in config order, whatever order the sources answered in.
    outcomes.sort_by_key(|(i, _)| *i);
    let summary = SyncSummary {
        sources: outcomes.into_iter().map(|(_, o)| o).collect(),
    };

    let calendars: Vec<String> = config.calendars.iter().map(|c| c.id.clone()).collect();
    let crms: Vec<String> = config.crms.iter().map(|c| c.id.clone()).collect();
    store.drop_sources_except(&calendars, &crms)?;
    Ok(summary)
}

fn success_state(id: &str, kind: &str, cursor: String, warnings: &[SourceWarning]) -> SourceState {
    SourceState {
        id: id.to_string(),
        kind: kind.to_string(),
        cursor: Some(cursor),
        skipped: warnings.iter().filter(|w| w.skipped).count() as i64,
        warnings: warnings.iter().map(ToString::to_string).collect(),
        ..SourceState::default()
    }
}

fn finish(
    store: &mut Store,
    id: String,
    kind: String,
    result: Result<(Option<SyncCounts>, Vec<SourceWarning>)>,
    now: DateTime<Utc>,
) -> Result<SourceOutcome> {
    match result {
        Ok((counts, warnings)) => {
            for w in &warnings {
                tracing::warn!(source = %id, place = %w.place, skipped = w.skipped, "{}", w.message);
            }
            if let Some(c) = counts {
                tracing::info!(source = %id, upserted = c.upserted, deleted = c.deleted, unchanged = c.unchanged, "synced");
            } else {
                tracing::info!(source = %id, "unchanged");
            }
            Ok(SourceOutcome {
                id,
                kind,
                result: Ok(counts),
                warnings,
            })
        }
        Err(e) => {
            // Provider error bodies may echo the request, credential and
            // all: scrubbed before the message is kept or shown anywhere.
            let message = crate::secrets::scrub(&format!("{e:#}")).into_owned();
            tracing::error!(source = %id, error = %message, "sync failed");
            store.record_failure(&id, &kind, &message, now)?;
            Ok(SourceOutcome {
                id,
                kind,
                result: Err(message),
                warnings: vec![],
            })
        }
    }
}

/// Everything computed from the synced data at `now`, before booking.
pub struct Computed {
    pub occurrences: Vec<Occurrence>,
    pub classification: Classification,
    pub scored: Vec<ScoredMeeting>,
    pub clients: Vec<Client>,
    pub orders: OrderBook,
}

/// Classifies and scores everything in the store at `now`.
pub fn compute(config: &Config, store: &Store, now: DateTime<Utc>) -> Result<Computed> {
    let occurrences = store.occurrences()?;
    let clients = store.clients()?;
    let orders = OrderBook::new(&store.orders()?);
    let overrides = crate::rescore::all_overrides(config, store)?;
    let (calendar_owner, company_domains) = crate::rescore::reading_setup(config);
    let ctx = ClassifyContext {
        settings: &config.scoring,
        company_domains: &company_domains,
        tz: config.tz(),
        now,
        managers: &config.managers,
        calendar_owner: &calendar_owner,
        clients: &clients,
        orders: &orders,
        overrides: &overrides,
    };
    let classification = classify(&occurrences, &ctx);
    let scored = classification
        .meetings
        .iter()
        .map(|m| ScoredMeeting {
            meeting: m.clone(),
            outcome: score(m, &orders, &config.scoring, now),
        })
        .collect();
    Ok(Computed {
        occurrences,
        classification,
        scored,
        clients,
        orders,
    })
}

/// The month's figures: frozen ones for a closed month, else computed from
/// the current meetings.
pub fn report(
    config: &Config,
    store: &Store,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report> {
    if let Some(closed) = store.closed(period)? {
        let mut report: Report = serde_json::from_value(closed.report)?;
        report.closed = true;
        return Ok(report);
    }
    live_report(config, store, period, now)
}

fn live_report(
    config: &Config,
    store: &Store,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report> {
    let (from, to) = coverage_window(period, config.tz(), now, &config.scoring);
    let recent = store.meetings_between(from, to, config.tz())?;
    let month = store.meetings_in(period)?;
    let clients = store.clients()?;
    // Only the top-N rule reads revenue, and only the trailing year's.
    let orders = match config.scoring.key_accounts_top {
        Some(_) => OrderBook::new(&store.orders_created_between(now - KEY_ACCOUNT_WINDOW, now)?),
        None => OrderBook::default(),
    };
    let keys: HashSet<String> = key_accounts(&clients, &orders, &config.scoring, now);
    let entries = store.entries_in(period)?;
    Ok(monthly_report(&ReportInput {
        period,
        tz: config.tz(),
        now,
        settings: &config.scoring,
        managers: &config.managers,
        meetings: &month,
        all_meetings: &recent,
        clients: &clients,
        key_accounts: &keys,
        entries: &entries,
    }))
}

/// The month's meetings: frozen for a closed month, else current.
pub fn meetings(store: &Store, period: Period) -> Result<Vec<MeetingRecord>> {
    match store.closed(period)? {
        Some(closed) => Ok(closed.meetings),
        None => store.meetings_in(period),
    }
}

/// Closes `period` and every earlier open month (SPEC §6): scores first so
/// the frozen figures are current, then freezes each month's report and
/// meetings. Closing a closed month again does nothing.
pub fn close(
    config: &Config,
    store: &mut Store,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<Period>> {
    let tz = config.tz();
    if now < period.end(tz) {
        return Err(UsageError(format!(
            "{period} has not ended yet (now is {}); a month can be closed once it is over",
            now.with_timezone(&tz)
        ))
        .into());
    }
    if store.last_closed()?.is_some_and(|closed| closed >= period) {
        return Ok(vec![]);
    }
    score_and_book(config, store, now)?;
    let first = match store.last_closed()? {
        Some(closed) => closed.next(),
        None => store.earliest_period()?.unwrap_or(period).min(period),
    };
    let mut frozen = Vec::new();
    let mut month = first;
    while month <= period {
        let report = live_report(config, store, month, now)?;
        let mut meetings = store.meetings_in(month)?;
        sort_records(&mut meetings);
        frozen.push(ClosedPeriod {
            period: month.to_string(),
            closed_at: changes::format_utc(now),
            report: serde_json::to_value(&report)?,
            meetings,
        });
        month = month.next();
    }
    store.close(&frozen)?;
    Ok(frozen
        .iter()
        .filter_map(|c| c.period.parse().ok())
        .collect())
}
