//! Where data comes from: calendar sources (occurrences) and CRM sources
//! (clients, orders) behind two small traits, so the sync loop treats a local
//! file and a provider's API alike. Each source reports what it could not
//! read instead of failing whole; a source that fails whole returns an error
//! that the sync records without stopping the others.

pub mod caldav;
pub mod crm;
pub mod google;
pub mod http;
pub mod ics;
pub mod ics_url;
pub mod microsoft;

use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::calendar::limits::EventLimits;
use crate::calendar::ExpandOptions;
use crate::config::{CalendarKind, Config, CrmKind, ManagerConfig};
use crate::model::{Client, Occurrence, Order};

/// What every source needs to know about the run.
#[derive(Debug, Clone)]
pub struct SyncContext {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    /// Occurrences are kept inside [window_start, window_end).
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub max_instances: usize,
    /// Caps on each event and on a calendar's occurrences.
    pub limits: EventLimits,
    /// For mapping CRM users to managers.
    pub managers: Vec<ManagerConfig>,
    /// Timeouts, retries and pacing of network sources (tests shorten the
    /// backoff here).
    pub http: http::HttpSettings,
    /// `[sync] max_response_mb` in bytes, when set.
    pub configured_limit: Option<usize>,
}

impl SyncContext {
    pub fn new(config: &Config, now: DateTime<Utc>) -> SyncContext {
        let configured_limit = config.sync.max_response_mb.map(|mb| (mb as usize) << 20);
        let mut http = http::HttpSettings::default();
        if let Some(limit) = configured_limit {
            http.max_body_bytes = limit;
        }
        SyncContext {
            configured_limit,
            now,
            tz: config.tz(),
            window_start: now - Duration::days(config.sync.days_back),
            window_end: now + Duration::days(config.sync.days_ahead),
            max_instances: config.sync.max_instances,
            limits: EventLimits {
                max_text_chars: config.sync.max_text_chars,
                max_attendees: config.sync.max_attendees,
                max_occurrences: config.sync.max_occurrences_per_calendar,
                keep_addresses: std::sync::Arc::new(
                    config.managers.iter().flat_map(|m| m.addresses()).collect(),
                ),
            },
            managers: config.managers.clone(),
            http,
        }
    }

    /// The body limit for a kind of source: `[sync] max_response_mb` when
    /// set, else the kind's default (`http::CALENDAR_BODY_LIMIT`…).
    pub fn body_limit(&self, default: usize) -> usize {
        self.configured_limit.unwrap_or(default)
    }

    pub fn expand_options(&self) -> ExpandOptions {
        ExpandOptions {
            window_start: self.window_start,
            window_end: self.window_end,
            default_tz: self.tz,
            max_instances: self.max_instances,
            limits: self.limits.clone(),
        }
    }

    /// Maps a CRM's manager reference (our id, a `crm_user` id or an email)
    /// to a configured manager id.
    pub fn manager_for(&self, reference: &str) -> Option<String> {
        let reference = reference.trim();
        if reference.is_empty() {
            return None;
        }
        self.managers
            .iter()
            .find(|m| {
                m.id == reference
                    || m.crm_user.iter().any(|u| u == reference)
                    || m.addresses().any(|a| a.eq_ignore_ascii_case(reference))
            })
            .map(|m| m.id.clone())
    }
}

/// Something a source could not read, or read with a guess: named by place.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceWarning {
    /// File, line and item where known, e.g. `crm/orders.csv:17`.
    pub place: String,
    pub message: String,
    /// True when an item was dropped.
    pub skipped: bool,
}

impl std::fmt::Display for SourceWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// A unit a provider adds, changes and deletes as a whole: a CalDAV
/// resource, a Google or Graph event, an .ics file. Its occurrences are
/// replaced together.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarItem {
    /// Stable within the calendar (href, event id, file name).
    pub key: String,
    pub occurrences: Vec<Occurrence>,
}

/// Applies the limits of `ctx` to a calendar source's items, whatever the
/// source: every event's texts and attendees, `max_instances` per series
/// (by UID, across items: Google and Graph expand series themselves, one
/// item per instance), and the calendar's occurrence budget, of which
/// `room` is left (the whole budget for a full read; for an incremental
/// one, what the stored items it does not touch leave). Sources that read
/// iCalendar applied the same limits while expanding; here they find
/// nothing more to cut. Each kind of cut is one warning in `status`.
pub fn bound_items(
    items: Vec<CalendarItem>,
    ctx: &SyncContext,
    room: usize,
    calendar: &str,
    warnings: &mut Vec<SourceWarning>,
) -> Vec<CalendarItem> {
    use crate::calendar::limits::{bound_occurrence, OccurrenceBudget};
    let mut keys = Vec::with_capacity(items.len());
    let mut tagged: Vec<(usize, Occurrence)> = Vec::new();
    let (mut cut_events, mut cut_texts, mut cut_attendees, mut invalid) = (0usize, 0, 0, 0);
    for (i, item) in items.into_iter().enumerate() {
        keys.push(item.key);
        for mut o in item.occurrences {
            let cuts = bound_occurrence(&mut o, &ctx.limits);
            if cuts.any() {
                cut_events += 1;
                cut_texts += cuts.texts;
                cut_attendees += cuts.attendees;
                invalid += cuts.invalid_addresses;
            }
            tagged.push((i, o));
        }
    }
    if cut_events > 0 {
        let cuts = crate::calendar::limits::Cuts {
            texts: cut_texts,
            attendees: cut_attendees,
            invalid_addresses: invalid,
        };
        warnings.push(SourceWarning {
            place: calendar.to_string(),
            message: format!(
                "{cut_events} occurrence(s) bounded: {}",
                cuts.describe(&ctx.limits)
            ),
            skipped: false,
        });
    }

    // Series in UID order, each earliest first: the same cut on every run.
    tagged.sort_by(|a, b| {
        (&a.1.uid, a.1.start, a.1.recurrence_id, a.0).cmp(&(
            &b.1.uid,
            b.1.start,
            b.1.recurrence_id,
            b.0,
        ))
    });
    let mut budget = OccurrenceBudget::new(room);
    let (mut capped_series, mut capped_instances) = (0usize, 0usize);
    let mut rest = tagged.into_iter().peekable();
    while let Some(first) = rest.next() {
        let mut series = vec![first];
        while let Some(next) = rest.next_if(|n| n.1.uid == series[0].1.uid) {
            series.push(next);
        }
        if series.len() > ctx.max_instances {
            capped_series += 1;
            capped_instances += series.len() - ctx.max_instances;
            series.truncate(ctx.max_instances);
        }
        budget.add(series);
    }
    if capped_series > 0 {
        warnings.push(SourceWarning {
            place: calendar.to_string(),
            message: format!(
                "{capped_instances} instance(s) of {capped_series} series beyond \
                 [sync] max_instances = {} not stored",
                ctx.max_instances
            ),
            skipped: true,
        });
    }
    if let Some(message) = budget.describe() {
        warnings.push(SourceWarning {
            place: calendar.to_string(),
            message,
            skipped: true,
        });
    }

    let mut regrouped: Vec<Vec<Occurrence>> = keys.iter().map(|_| Vec::new()).collect();
    for (i, o) in budget.into_occurrences() {
        regrouped[i].push(o);
    }
    keys.into_iter()
        .zip(regrouped)
        .map(|(key, occurrences)| CalendarItem { key, occurrences })
        .collect()
}

/// A calendar source's answer.
pub enum CalendarFetch {
    /// Nothing changed since the cursor.
    Unchanged,
    /// Every item in the window; replaces what is stored.
    Full {
        items: Vec<CalendarItem>,
        warnings: Vec<SourceWarning>,
        cursor: String,
    },
    /// What changed since the cursor: changed items replace their stored
    /// occurrences, deleted ones (by key) disappear.
    Delta {
        changed: Vec<CalendarItem>,
        deleted: Vec<String>,
        warnings: Vec<SourceWarning>,
        cursor: String,
    },
}

/// A CRM source's answer.
pub enum CrmFetch {
    Unchanged,
    /// All clients and orders; replaces what is stored.
    Full {
        clients: Vec<Client>,
        orders: Vec<Order>,
        warnings: Vec<SourceWarning>,
        cursor: String,
    },
    /// Like `Full`, with the orders read one at a time as the store takes
    /// them (file exports of millions of orders; `warnings` holds the
    /// clients' ones, the stream yields the orders').
    FullStream {
        clients: Vec<Client>,
        orders: OrderStream,
        warnings: Vec<SourceWarning>,
        cursor: String,
    },
    /// What changed since the cursor: clients and orders upserted by id,
    /// deleted ones (by id) removed; the rest stays as stored.
    Delta {
        clients: Vec<Client>,
        orders: Vec<Order>,
        deleted_clients: Vec<String>,
        deleted_orders: Vec<String>,
        warnings: Vec<SourceWarning>,
        cursor: String,
    },
}

/// Orders read lazily: each item is an order, or a warning about a record
/// that was skipped.
pub struct OrderStream(Box<dyn Iterator<Item = Result<Order, SourceWarning>> + Send>);

impl OrderStream {
    pub fn new(
        orders: impl Iterator<Item = Result<Order, SourceWarning>> + Send + 'static,
    ) -> Self {
        OrderStream(Box::new(orders))
    }
}

impl Iterator for OrderStream {
    type Item = Result<Order, SourceWarning>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl std::fmt::Debug for OrderStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderStream")
    }
}

impl CrmFetch {
    /// A streamed full read collected into `Full` (tests, small exports).
    pub fn collected(self) -> CrmFetch {
        match self {
            CrmFetch::FullStream {
                clients,
                orders,
                mut warnings,
                cursor,
            } => {
                let mut list = Vec::new();
                for item in orders {
                    match item {
                        Ok(order) => list.push(order),
                        Err(warning) => warnings.push(warning),
                    }
                }
                CrmFetch::Full {
                    clients,
                    orders: list,
                    warnings,
                    cursor,
                }
            }
            other => other,
        }
    }
}

#[async_trait]
pub trait CalendarSource: Send {
    fn id(&self) -> &str;
    fn kind(&self) -> &'static str;
    /// Fetches what changed since `cursor` (the one stored with the data).
    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch>;
}

#[async_trait]
pub trait CrmSource: Send {
    fn id(&self) -> &str;
    fn kind(&self) -> &'static str;
    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CrmFetch>;
}

/// Builds the configured calendar sources. A kind this build cannot read
/// yet becomes a source that fails with a clear message, so the others run.
pub fn calendar_sources(config: &Config) -> Vec<Box<dyn CalendarSource>> {
    config
        .calendars
        .iter()
        .map(|c| -> Box<dyn CalendarSource> {
            match (c.kind, &c.path) {
                (CalendarKind::IcsFile, Some(path)) => {
                    Box::new(ics::IcsFileSource::new(&c.id, config.resolve(path)))
                }
                (CalendarKind::IcsUrl, _) => {
                    Box::new(ics_url::IcsUrlSource::new(c, &config.base_dir))
                }
                (CalendarKind::Caldav, _) => {
                    Box::new(caldav::CaldavSource::new(c, &config.base_dir))
                }
                (CalendarKind::Google, _) => Box::new(google::GoogleSource::new(config, c)),
                (CalendarKind::Microsoft, _) => {
                    Box::new(microsoft::MicrosoftSource::new(config, c))
                }
                _ => Box::new(Unsupported {
                    id: c.id.clone(),
                    what: format!("{:?}", c.kind),
                }),
            }
        })
        .collect()
}

pub fn crm_sources(config: &Config) -> Vec<Box<dyn CrmSource>> {
    match http::HttpClient::new(http::HttpSettings::default()) {
        Ok(client) => crm_sources_with(config, &client),
        Err(e) => config
            .crms
            .iter()
            .map(|c| -> Box<dyn CrmSource> {
                Box::new(Unsupported {
                    id: c.id.clone(),
                    what: format!("{:?} (no HTTP client: {e})", c.kind),
                })
            })
            .collect(),
    }
}

/// `crm_sources` over a given HTTP client (tests inject fast retries).
pub fn crm_sources_with(config: &Config, client: &http::HttpClient) -> Vec<Box<dyn CrmSource>> {
    config
        .crms
        .iter()
        .map(|c| -> Box<dyn CrmSource> {
            match (c.kind, &c.clients, &c.orders) {
                (CrmKind::Csv | CrmKind::Jsonl, Some(clients), Some(orders)) => Box::new(
                    crm::files::FileCrm::new(
                        &c.id,
                        if c.kind == CrmKind::Csv {
                            crm::files::Format::Csv
                        } else {
                            crm::files::Format::Jsonl
                        },
                        config.resolve(clients),
                        config.resolve(orders),
                    )
                    .with_mapping(crm::files::FileMapping::from_config(c)),
                ),
                (CrmKind::Retailcrm, _, _) => {
                    Box::new(crm::retailcrm::RetailCrm::new(c, config, client.clone()))
                }
                (CrmKind::Amocrm, _, _) => {
                    Box::new(crm::amocrm::AmoCrm::new(c, config, client.clone()))
                }
                (CrmKind::Bitrix24, _, _) => {
                    Box::new(crm::bitrix24::Bitrix24::new(c, config, client.clone()))
                }
                (CrmKind::Hubspot, _, _) => {
                    Box::new(crm::hubspot::HubSpot::new(c, config, client.clone()))
                }
                (CrmKind::Rest, _, _) => {
                    Box::new(crm::rest::RestCrm::new(c, config, client.clone()))
                }
                _ => Box::new(Unsupported {
                    id: c.id.clone(),
                    what: format!("{:?}", c.kind),
                }),
            }
        })
        .collect()
}

/// A configured source kind that this build does not implement yet.
struct Unsupported {
    id: String,
    what: String,
}

#[async_trait]
impl CalendarSource for Unsupported {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> &'static str {
        "unsupported"
    }
    async fn fetch(&mut self, _: Option<&str>, _: &SyncContext) -> Result<CalendarFetch> {
        anyhow::bail!(
            "source kind {} is not supported by this version of meetledger",
            self.what
        )
    }
}

#[async_trait]
impl CrmSource for Unsupported {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> &'static str {
        "unsupported"
    }
    async fn fetch(&mut self, _: Option<&str>, _: &SyncContext) -> Result<CrmFetch> {
        anyhow::bail!(
            "CRM kind {} is not supported by this version of meetledger",
            self.what
        )
    }
}

/// A content hash used as the cursor of file sources.
/// `content_cursor` of files' contents, read a piece at a time: whether a
/// large export changed is known without holding it. (A file that changes
/// while it is read gives a cursor no content has; the caller then reads
/// and compares the content itself.)
pub fn file_cursor(paths: &[&std::path::Path], extra: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    for path in paths {
        let open =
            || std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()));
        let mut file = open()?;
        let length = file.metadata()?.len();
        hasher.update(length.to_le_bytes());
        loop {
            let n = file
                .read(&mut buffer)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
    }
    hasher.update(extra.as_bytes());
    let digest = hasher.finalize();
    Ok(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
}

pub fn content_cursor(parts: &[&[u8]], extra: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.update(extra.as_bytes());
    let digest = hasher.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventStatus, Occurrence};

    fn instance(uid: &str, hour: i64) -> Occurrence {
        let start = DateTime::<Utc>::from_timestamp(1_790_000_000 + hour * 3600, 0).unwrap();
        Occurrence {
            calendar: "cal".into(),
            uid: uid.into(),
            recurrence_id: Some(start),
            start,
            end: start + Duration::hours(1),
            all_day: false,
            tz: None,
            title: "t".into(),
            location: None,
            tags: vec![],
            description_video_link: false,
            url: None,
            organizer: None,
            attendees: vec![],
            status: EventStatus::Confirmed,
            transparent: false,
            conference: None,
            private: false,
        }
    }

    /// Google and Graph expand series themselves, one item per instance:
    /// `max_instances` still counts per series (by UID), across items.
    #[test]
    fn max_instances_counts_a_series_across_provider_items() {
        let now = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let config = Config::parse(
            "[company]\nname = \"A\"\ndomains = [\"a.example\"]\ntimezone = \"UTC\"\n\
             [ledger]\npath = \"l.db\"\n[sync]\nmax_instances = 5\n",
            std::path::Path::new("/nonexistent/meetledger.toml"),
        )
        .unwrap();
        let ctx = SyncContext::new(&config, now);
        let mut items: Vec<CalendarItem> = (0..20)
            .rev()
            .map(|h| CalendarItem {
                key: format!("runaway_{h}"),
                occurrences: vec![instance("runaway", h)],
            })
            .collect();
        items.push(CalendarItem {
            key: "single".into(),
            occurrences: vec![instance("single", 3)],
        });
        let mut warnings = vec![];
        let kept = bound_items(items, &ctx, 1000, "cal", &mut warnings);
        let stored: Vec<&str> = kept
            .iter()
            .filter(|i| !i.occurrences.is_empty())
            .map(|i| i.key.as_str())
            .collect();
        // The earliest five instances of the runaway series, and the other event.
        assert_eq!(
            stored,
            [
                "runaway_4",
                "runaway_3",
                "runaway_2",
                "runaway_1",
                "runaway_0",
                "single"
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].skipped);
        assert!(warnings[0].message.contains("15 instance(s) of 1 series"));
    }
}
