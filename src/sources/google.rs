//! `google` calendars: Calendar API v3 `events.list`, read with
//! `singleEvents=true` so Google expands recurring series itself. Each
//! instance arrives as its own event (id `<series>_<start>`) carrying
//! `recurringEventId` and `originalStartTime`, a cancelled or moved-out
//! instance as a tombstone with `status: cancelled`: every item maps to one
//! occurrence and a tombstone deletes exactly one item, so incremental syncs
//! need no series bookkeeping and no second recurrence engine.
//!
//! The price: a `syncToken` cannot be combined with `timeMin`/`timeMax`, and
//! instances that drift into the window as days pass are not "changes". So
//! the full sync asks for [window start, window end + `LOOKAHEAD_DAYS`), the
//! cursor remembers that horizon, and once the window end passes it a full
//! sync runs again (about monthly). HTTP 410 (token expired) also means a
//! full sync. Auth: a per-user token (`meetledger auth google`) or the
//! org's service account impersonating the manager.

use std::path::PathBuf;

use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpError};
use super::{CalendarFetch, CalendarItem, CalendarSource, SourceWarning, SyncContext};
use crate::auth::google::{service_account_token, GoogleOAuth, ServiceAccountKey};
use crate::auth::{AccessToken, AuthError, UserTokens};
use crate::config::{CalendarConfig, CloudAuth, Config, GoogleConfig};
use crate::model::{Attendee, EventStatus, Occurrence, PartStat};
use crate::secrets;

pub const API_URL: &str = "https://www.googleapis.com/calendar/v3";
/// Days beyond the sync window that a full sync reads, so that incremental
/// syncs stay valid while the window moves for this long.
pub const LOOKAHEAD_DAYS: i64 = 30;
/// Google's maximum page size for events.list.
const PAGE_SIZE: &str = "2500";

pub struct GoogleSource {
    id: String,
    calendar: CalendarConfig,
    google: GoogleConfig,
    base_dir: PathBuf,
    ledger: PathBuf,
    /// The mailbox impersonated with `auth = "org"`.
    subject: Option<String>,
    config: Config,
}

impl GoogleSource {
    pub fn new(config: &Config, c: &CalendarConfig) -> GoogleSource {
        let subject = c.email.clone().or_else(|| {
            c.manager
                .as_deref()
                .and_then(|m| config.manager(m))
                .map(|m| m.email.clone())
        });
        GoogleSource {
            id: c.id.clone(),
            calendar: c.clone(),
            google: config.google.clone().unwrap_or_default(),
            base_dir: config.base_dir.clone(),
            ledger: config.resolve(&config.ledger.path),
            subject,
            config: config.clone(),
        }
    }

    fn api_url(&self) -> String {
        self.google
            .api_url
            .clone()
            .unwrap_or_else(|| API_URL.into())
            .trim_end_matches('/')
            .to_string()
    }

    async fn token(
        &self,
        http: &HttpClient,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<AccessToken, AuthError> {
        match self.calendar.auth.unwrap_or_default() {
            CloudAuth::User => {
                let oauth = GoogleOAuth::from_config(&self.config, &self.calendar)?;
                let tokens = UserTokens {
                    provider: "google",
                    calendar: self.id.clone(),
                    ledger: self.ledger.clone(),
                };
                tokens
                    .access_token(now, force, |refresh| async move {
                        oauth.refresh(http, &self.id, refresh, now).await
                    })
                    .await
            }
            CloudAuth::Org => {
                let key_ref = self.google.service_account_key.as_ref().ok_or_else(|| {
                    AuthError::Other(anyhow::anyhow!("[google] service_account_key is not set"))
                })?;
                let key = ServiceAccountKey::parse(&secrets::resolve(key_ref, &self.base_dir)?)?;
                let subject = self.subject.as_deref().ok_or_else(|| {
                    AuthError::Other(anyhow::anyhow!("no mailbox to impersonate (email)"))
                })?;
                service_account_token(http, &key, self.google.token_url.as_deref(), subject, now)
                    .await
            }
        }
    }

    /// Every page of one `events.list` query. A 401 refreshes the token once.
    async fn list(
        &self,
        http: &HttpClient,
        token: &mut AccessToken,
        query: &[(&str, String)],
        ctx: &SyncContext,
    ) -> Result<(Vec<GoogleEvent>, String), HttpError> {
        let calendar_id = self.calendar.calendar_id.as_deref().unwrap_or("primary");
        let mut base = Url::parse(&self.api_url()).map_err(|e| HttpError::Transport {
            method: reqwest::Method::GET,
            url: self.api_url(),
            message: e.to_string(),
        })?;
        base.path_segments_mut()
            .map_err(|_| HttpError::Transport {
                method: reqwest::Method::GET,
                url: self.api_url(),
                message: "not a base URL".into(),
            })?
            .extend(["calendars", calendar_id, "events"]);
        let mut events = Vec::new();
        let mut page_token: Option<String> = None;
        let mut refreshed = false;
        loop {
            let mut url = base.clone();
            {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in query {
                    pairs.append_pair(k, v);
                }
                if let Some(p) = &page_token {
                    pairs.append_pair("pageToken", p);
                }
            }
            let result = http
                .json::<EventsPage, _>(|c| c.get(url.clone()).bearer_auth(token.token.expose()))
                .await;
            let page = match result {
                Ok((page, _)) => page,
                Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) && !refreshed => {
                    refreshed = true;
                    *token = self.token(http, ctx.now, true).await.map_err(|a| {
                        HttpError::Transport {
                            method: reqwest::Method::GET,
                            url: String::from("(token)"),
                            message: a.to_string(),
                        }
                    })?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            events.extend(page.items);
            match (page.next_page_token, page.next_sync_token) {
                (Some(next), _) if page_token.as_deref() == Some(next.as_str()) => {
                    return Err(HttpError::Body {
                        method: reqwest::Method::GET,
                        url: String::from("(events.list)"),
                        message: "the same nextPageToken twice; stopping instead of looping".into(),
                    })
                }
                (Some(next), _) => page_token = Some(next),
                (None, Some(sync)) => return Ok((events, sync)),
                (None, None) => {
                    return Err(HttpError::Body {
                        method: reqwest::Method::GET,
                        url: String::from("(events.list)"),
                        message: "the last page carries no nextSyncToken".into(),
                    })
                }
            }
        }
    }
}

/// What a Google cursor holds: the sync token and how far ahead the full
/// sync that started its chain read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct GoogleCursor {
    sync_token: String,
    horizon: DateTime<Utc>,
}

#[async_trait]
impl CalendarSource for GoogleSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "google"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch> {
        let http = HttpClient::new(ctx.http.clone())?;
        let mut token = self.token(&http, ctx.now, false).await?;
        let previous = cursor.and_then(|c| serde_json::from_str::<GoogleCursor>(c).ok());
        if let Some(previous) = previous {
            if previous.horizon >= ctx.window_end {
                let query = [
                    ("singleEvents", "true".to_string()),
                    ("showDeleted", "true".to_string()),
                    ("maxResults", PAGE_SIZE.to_string()),
                    ("syncToken", previous.sync_token.clone()),
                ];
                match self.list(&http, &mut token, &query, ctx).await {
                    Ok((events, sync_token)) => {
                        let mut warnings = Vec::new();
                        let mut changed = Vec::new();
                        let mut deleted = Vec::new();
                        for event in events {
                            if event.is_cancelled() {
                                deleted.push(event.id);
                                continue;
                            }
                            let key = event.id.clone();
                            let occurrences =
                                self.occurrences(event, previous.horizon, ctx, &mut warnings);
                            changed.push(CalendarItem { key, occurrences });
                        }
                        return Ok(CalendarFetch::Delta {
                            changed,
                            deleted,
                            warnings,
                            cursor: serde_json::to_string(&GoogleCursor {
                                sync_token,
                                horizon: previous.horizon,
                            })?,
                        });
                    }
                    Err(e) if e.status() == Some(StatusCode::GONE) => {
                        tracing::warn!(source = %self.id, "sync token expired (HTTP 410); full sync");
                    }
                    Err(e) => return Err(e).context("Google events.list (incremental)"),
                }
            } else {
                tracing::info!(source = %self.id, "the window moved past the synced horizon; full sync");
            }
        }
        let horizon = ctx.window_end + Duration::days(LOOKAHEAD_DAYS);
        let query = [
            ("singleEvents", "true".to_string()),
            ("showDeleted", "true".to_string()),
            ("maxResults", PAGE_SIZE.to_string()),
            ("timeMin", ctx.window_start.to_rfc3339()),
            ("timeMax", horizon.to_rfc3339()),
        ];
        let (events, sync_token) = self
            .list(&http, &mut token, &query, ctx)
            .await
            .context("Google events.list")?;
        let mut warnings = Vec::new();
        let items = events
            .into_iter()
            .filter(|e| !e.is_cancelled())
            .map(|event| {
                let key = event.id.clone();
                let occurrences = self.occurrences(event, horizon, ctx, &mut warnings);
                CalendarItem { key, occurrences }
            })
            .filter(|i| !i.occurrences.is_empty())
            .collect();
        Ok(CalendarFetch::Full {
            items,
            warnings,
            cursor: serde_json::to_string(&GoogleCursor {
                sync_token,
                horizon,
            })?,
        })
    }
}

impl GoogleSource {
    /// The event's occurrence when it lies in [window start, horizon).
    fn occurrences(
        &self,
        event: GoogleEvent,
        horizon: DateTime<Utc>,
        ctx: &SyncContext,
        warnings: &mut Vec<SourceWarning>,
    ) -> Vec<Occurrence> {
        let id = event.id.clone();
        match to_occurrence(&self.id, event, ctx) {
            Ok(o) if o.end > ctx.window_start && o.start < horizon => vec![o],
            Ok(_) => vec![],
            Err(e) => {
                warnings.push(SourceWarning {
                    place: format!("event {id}"),
                    message: format!("{e:#}"),
                    skipped: true,
                });
                vec![]
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    #[serde(default)]
    items: Vec<GoogleEvent>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

/// The fields of a Calendar v3 Event resource that we read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleEvent {
    pub id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(rename = "iCalUID")]
    ical_uid: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    /// `default`, `public`, `private` or `confidential` (Events resource);
    /// the last two mark a private event.
    visibility: Option<String>,
    location: Option<String>,
    start: Option<GoogleTime>,
    end: Option<GoogleTime>,
    recurring_event_id: Option<String>,
    original_start_time: Option<GoogleTime>,
    organizer: Option<GooglePerson>,
    #[serde(default)]
    attendees: Vec<GoogleAttendee>,
    transparency: Option<String>,
    hangout_link: Option<String>,
    conference_data: Option<ConferenceData>,
}

impl GoogleEvent {
    fn is_cancelled(&self) -> bool {
        self.status.as_deref() == Some("cancelled")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleTime {
    date: Option<String>,
    date_time: Option<String>,
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GooglePerson {
    email: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleAttendee {
    email: Option<String>,
    display_name: Option<String>,
    response_status: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    resource: bool,
    #[serde(default)]
    organizer: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConferenceData {
    #[serde(default)]
    entry_points: Vec<EntryPoint>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryPoint {
    entry_point_type: Option<String>,
    uri: Option<String>,
}

/// A start or end: (UTC instant, all-day, zone name).
fn read_time(t: &GoogleTime, fallback: chrono_tz::Tz) -> Result<(DateTime<Utc>, bool)> {
    if let Some(dt) = &t.date_time {
        if let Ok(parsed) = DateTime::parse_from_rfc3339(dt) {
            return Ok((parsed.with_timezone(&Utc), false));
        }
        // No offset: wall time in the given zone.
        let naive = NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S")
            .with_context(|| format!("unreadable dateTime `{dt}`"))?;
        let tz = t
            .time_zone
            .as_deref()
            .and_then(crate::calendar::zone_for_name)
            .unwrap_or(fallback);
        let local = tz
            .from_local_datetime(&naive)
            .earliest()
            .with_context(|| format!("`{dt}` does not exist in {tz}"))?;
        return Ok((local.with_timezone(&Utc), false));
    }
    if let Some(d) = &t.date {
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("unreadable date `{d}`"))?;
        return Ok((
            date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            true,
        ));
    }
    anyhow::bail!("neither date nor dateTime")
}

fn lower(email: &Option<String>) -> String {
    email.as_deref().unwrap_or("").trim().to_lowercase()
}

/// One Google event (or expanded instance) as an occurrence.
pub fn to_occurrence(calendar: &str, event: GoogleEvent, ctx: &SyncContext) -> Result<Occurrence> {
    let start = event.start.as_ref().context("no start")?;
    let (start_at, all_day) = read_time(start, ctx.tz)?;
    let end_at = match &event.end {
        Some(end) => read_time(end, ctx.tz)?.0,
        None if all_day => start_at + Duration::days(1),
        None => start_at,
    };
    let recurrence_id = match (&event.recurring_event_id, &event.original_start_time) {
        (Some(_), Some(original)) => Some(read_time(original, ctx.tz)?.0),
        _ => None,
    };
    let organizer_email = event.organizer.as_ref().map(|o| lower(&o.email));
    let attendees: Vec<Attendee> = event
        .attendees
        .iter()
        .filter(|a| !a.resource)
        .map(|a| Attendee {
            email: lower(&a.email),
            name: a.display_name.clone(),
            partstat: PartStat::parse(a.response_status.as_deref().unwrap_or("needsAction")),
            role: Some(
                if a.organizer {
                    "CHAIR"
                } else if a.optional {
                    "OPT-PARTICIPANT"
                } else {
                    "REQ-PARTICIPANT"
                }
                .to_string(),
            ),
        })
        .collect();
    let organizer = event.organizer.as_ref().map(|o| Attendee {
        email: lower(&o.email),
        name: o.display_name.clone(),
        partstat: attendees
            .iter()
            .find(|a| Some(&a.email) == organizer_email.as_ref())
            .map_or(PartStat::Accepted, |a| a.partstat),
        role: Some("CHAIR".into()),
    });
    let conference = event.hangout_link.clone().or_else(|| {
        event.conference_data.as_ref().and_then(|c| {
            c.entry_points
                .iter()
                .find(|e| e.entry_point_type.as_deref() == Some("video"))
                .and_then(|e| e.uri.clone())
        })
    });
    let mut occurrence = Occurrence {
        calendar: calendar.to_string(),
        uid: event.ical_uid.clone().unwrap_or_else(|| {
            event
                .recurring_event_id
                .clone()
                .unwrap_or_else(|| event.id.clone())
        }),
        recurrence_id,
        start: start_at,
        end: end_at.max(start_at),
        all_day,
        tz: if all_day {
            None
        } else {
            start
                .time_zone
                .as_deref()
                .and_then(crate::calendar::zone_for_name)
                .map(|tz| tz.name().to_string())
        },
        title: event.summary.unwrap_or_default().trim().to_string(),
        location: event.location.filter(|l| !l.trim().is_empty()),
        tags: vec![],
        description_video_link: false,
        url: None,
        organizer,
        attendees,
        status: EventStatus::parse(event.status.as_deref().unwrap_or("confirmed")),
        transparent: event.transparency.as_deref() == Some("transparent"),
        conference,
        private: matches!(
            event.visibility.as_deref(),
            Some("private" | "confidential")
        ),
    };
    // The description is read for tags and links, then let go.
    if let Some(description) = event.description.as_deref() {
        occurrence.read_description(description);
    }
    Ok(occurrence)
}
