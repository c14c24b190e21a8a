//! `microsoft` calendars: Microsoft Graph `calendarView/delta`. The first
//! round asks for [window start, window end + `LOOKAHEAD_DAYS`) and follows
//! `@odata.nextLink` pages to the `@odata.deltaLink`, which is the cursor;
//! later rounds start from it and see only changes, `@removed` rows being
//! deletions. Graph expands series itself: each occurrence, exception and
//! single event is one item keyed by its id. Times are asked in UTC
//! (`Prefer: outlook.timezone="UTC"`), and arrive as `2016-12-09T20:30:00.0000000`
//! with no offset. An expired delta token (410, `syncStateNotFound`) or a
//! window that moved past the horizon means a full round again.
//!
//! Auth: the user's delegated token (device code, `meetledger auth
//! microsoft`, path `/me/…`) or the tenant's app token (client credentials,
//! path `/users/{email}/…`). Paging links are followed only to the API's own
//! origin, so a bearer token never leaves for another host.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpError};
use super::{CalendarFetch, CalendarItem, CalendarSource, SourceWarning, SyncContext};
use crate::auth::microsoft::MicrosoftOAuth;
use crate::auth::{AccessToken, AuthError, UserTokens};
use crate::config::{CalendarConfig, CloudAuth, Config};
use crate::model::{Attendee, EventStatus, Occurrence, PartStat};

pub const API_URL: &str = "https://graph.microsoft.com/v1.0";
/// Days beyond the sync window that a full round reads (see `google`).
pub const LOOKAHEAD_DAYS: i64 = 30;
/// Events per page asked of Graph.
const PAGE_SIZE: u32 = 200;

pub struct MicrosoftSource {
    id: String,
    calendar: CalendarConfig,
    api_url: String,
    ledger: PathBuf,
    mailbox: Option<String>,
    config: Config,
}

impl MicrosoftSource {
    pub fn new(config: &Config, c: &CalendarConfig) -> MicrosoftSource {
        let mailbox = c.email.clone().or_else(|| {
            c.manager
                .as_deref()
                .and_then(|m| config.manager(m))
                .map(|m| m.email.clone())
        });
        MicrosoftSource {
            id: c.id.clone(),
            calendar: c.clone(),
            api_url: config
                .microsoft
                .as_ref()
                .and_then(|m| m.api_url.clone())
                .unwrap_or_else(|| API_URL.into())
                .trim_end_matches('/')
                .to_string(),
            ledger: config.resolve(&config.ledger.path),
            mailbox,
            config: config.clone(),
        }
    }

    async fn token(
        &self,
        http: &HttpClient,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<AccessToken, AuthError> {
        let oauth = MicrosoftOAuth::from_config(&self.config, &self.calendar)?;
        match self.calendar.auth.unwrap_or_default() {
            CloudAuth::User => {
                let tokens = UserTokens {
                    provider: "microsoft",
                    calendar: self.id.clone(),
                    ledger: self.ledger.clone(),
                };
                tokens
                    .access_token(now, force, |refresh| async move {
                        oauth.refresh(http, &self.id, refresh, now).await
                    })
                    .await
            }
            CloudAuth::Org => oauth.app_token(http, &self.id, now).await,
        }
    }

    /// The first URL of a full round.
    fn start_url(&self, ctx: &SyncContext, horizon: DateTime<Utc>) -> Result<Url> {
        let mut url = Url::parse(&self.api_url).context("[microsoft] api_url")?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| anyhow::anyhow!("[microsoft] api_url is not a base URL"))?;
            match self.calendar.auth.unwrap_or_default() {
                CloudAuth::User => path.push("me"),
                CloudAuth::Org => path.extend([
                    "users",
                    self.mailbox
                        .as_deref()
                        .context("no mailbox (email) to read")?,
                ]),
            };
            if let Some(calendar) = &self.calendar.calendar_id {
                path.extend(["calendars", calendar]);
            }
            path.extend(["calendarView", "delta"]);
        }
        url.query_pairs_mut()
            .append_pair(
                "startDateTime",
                &ctx.window_start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
            .append_pair(
                "endDateTime",
                &horizon.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        Ok(url)
    }

    /// A paging link, checked to point at the API's origin.
    fn follow(&self, link: &str) -> Result<Url> {
        let url = Url::parse(link).context("unreadable paging link")?;
        let api = Url::parse(&self.api_url)?;
        if url.origin() != api.origin() {
            bail!(
                "Graph sent a paging link to another host ({}); not following it with our token",
                url.host_str().unwrap_or("?")
            );
        }
        Ok(url)
    }

    /// One delta round from `url` to its deltaLink. A 401 refreshes once.
    async fn round(
        &self,
        http: &HttpClient,
        token: &mut AccessToken,
        mut url: Url,
        ctx: &SyncContext,
    ) -> Result<(Vec<GraphEvent>, String), RoundError> {
        let mut events = Vec::new();
        let mut refreshed = false;
        let prefer = format!("outlook.timezone=\"UTC\", odata.maxpagesize={PAGE_SIZE}");
        loop {
            let result = http
                .json::<DeltaPage, _>(|c| {
                    c.get(url.clone())
                        .bearer_auth(token.token.expose())
                        .header("Prefer", &prefer)
                })
                .await;
            let page = match result {
                Ok((page, _)) => page,
                Err(e) if e.status() == Some(StatusCode::UNAUTHORIZED) && !refreshed => {
                    refreshed = true;
                    *token = self
                        .token(http, ctx.now, true)
                        .await
                        .map_err(|a| RoundError::Other(a.into()))?;
                    continue;
                }
                Err(e) if is_expired(&e) => return Err(RoundError::Expired),
                Err(e) => return Err(RoundError::Other(e.into())),
            };
            events.extend(page.value);
            match (page.next_link, page.delta_link) {
                (Some(next), _) => {
                    let next = self.follow(&next).map_err(RoundError::Other)?;
                    if next == url {
                        return Err(RoundError::Other(anyhow::anyhow!(
                            "Graph sent the same nextLink twice; stopping instead of looping"
                        )));
                    }
                    url = next;
                }
                (None, Some(delta)) => {
                    self.follow(&delta).map_err(RoundError::Other)?;
                    return Ok((events, delta));
                }
                (None, None) => {
                    return Err(RoundError::Other(anyhow::anyhow!(
                        "a Graph delta page carries neither nextLink nor deltaLink"
                    )))
                }
            }
        }
    }

    fn occurrences(
        &self,
        event: GraphEvent,
        horizon: DateTime<Utc>,
        ctx: &SyncContext,
        warnings: &mut Vec<SourceWarning>,
    ) -> Vec<Occurrence> {
        let id = event.id.clone();
        match to_occurrence(&self.id, event) {
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

enum RoundError {
    Expired,
    Other(anyhow::Error),
}

/// Graph's ways of saying "this delta token is no longer valid".
fn is_expired(e: &HttpError) -> bool {
    match e.status() {
        Some(StatusCode::GONE) => true,
        Some(_) => e.body().is_some_and(|b| {
            [
                "syncStateNotFound",
                "resyncRequired",
                "SyncStateInvalid",
                "SyncStateNotFound",
            ]
            .iter()
            .any(|code| b.contains(code))
        }),
        None => false,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GraphCursor {
    delta_link: String,
    horizon: DateTime<Utc>,
}

#[async_trait]
impl CalendarSource for MicrosoftSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "microsoft"
    }

    async fn fetch(&mut self, cursor: Option<&str>, ctx: &SyncContext) -> Result<CalendarFetch> {
        let http = HttpClient::new(ctx.http.clone())?;
        let mut token = self.token(&http, ctx.now, false).await?;
        let previous = cursor.and_then(|c| serde_json::from_str::<GraphCursor>(c).ok());
        if let Some(previous) = previous {
            if previous.horizon >= ctx.window_end {
                let url = self.follow(&previous.delta_link)?;
                match self.round(&http, &mut token, url, ctx).await {
                    Ok((events, delta_link)) => {
                        let mut warnings = Vec::new();
                        let mut changed = Vec::new();
                        let mut deleted = Vec::new();
                        for event in events {
                            if event.removed.is_some() {
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
                            cursor: serde_json::to_string(&GraphCursor {
                                delta_link,
                                horizon: previous.horizon,
                            })?,
                        });
                    }
                    Err(RoundError::Expired) => {
                        tracing::warn!(source = %self.id, "delta token expired; full sync");
                    }
                    Err(RoundError::Other(e)) => {
                        return Err(e.context("Graph calendarView/delta (incremental)"))
                    }
                }
            } else {
                tracing::info!(source = %self.id, "the window moved past the synced horizon; full sync");
            }
        }
        let horizon = ctx.window_end + Duration::days(LOOKAHEAD_DAYS);
        let url = self.start_url(ctx, horizon)?;
        let (events, delta_link) = match self.round(&http, &mut token, url, ctx).await {
            Ok(done) => done,
            Err(RoundError::Expired) => bail!("Graph refused a fresh delta round as expired"),
            Err(RoundError::Other(e)) => return Err(e.context("Graph calendarView/delta")),
        };
        let mut warnings = Vec::new();
        let items = events
            .into_iter()
            .filter(|e| e.removed.is_none())
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
            cursor: serde_json::to_string(&GraphCursor {
                delta_link,
                horizon,
            })?,
        })
    }
}

#[derive(Debug, Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<GraphEvent>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// The fields of a Graph event that we read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEvent {
    pub id: String,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
    subject: Option<String>,
    body_preview: Option<String>,
    start: Option<GraphTime>,
    end: Option<GraphTime>,
    /// The original start of an occurrence or exception (UTC offset form).
    original_start: Option<String>,
    original_start_time_zone: Option<String>,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[serde(default)]
    is_all_day: bool,
    #[serde(default)]
    is_cancelled: bool,
    show_as: Option<String>,
    #[serde(default)]
    is_online_meeting: bool,
    online_meeting: Option<OnlineMeeting>,
    online_meeting_url: Option<String>,
    location: Option<Location>,
    organizer: Option<Recipient>,
    #[serde(default)]
    attendees: Vec<GraphAttendee>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphTime {
    date_time: String,
    time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnlineMeeting {
    join_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: Option<EmailAddress>,
}

#[derive(Debug, Deserialize)]
struct EmailAddress {
    name: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphAttendee {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<ResponseStatus>,
    email_address: Option<EmailAddress>,
}

#[derive(Debug, Deserialize)]
struct ResponseStatus {
    response: Option<String>,
}

/// A Graph dateTimeTimeZone as a UTC instant. With `Prefer:
/// outlook.timezone="UTC"` the zone is UTC; otherwise an IANA or Windows
/// name ("Pacific Standard Time").
fn read_time(t: &GraphTime) -> Result<DateTime<Utc>> {
    let naive =
        NaiveDateTime::parse_from_str(t.date_time.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
            .with_context(|| format!("unreadable dateTime `{}`", t.date_time))?;
    match t.time_zone.as_deref() {
        None | Some("UTC") | Some("") => Ok(naive.and_utc()),
        Some(name) => {
            let tz = crate::calendar::zone_for_name(name)
                .with_context(|| format!("unknown time zone `{name}`"))?;
            tz.from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| format!("`{}` does not exist in {name}", t.date_time))
        }
    }
}

/// All-day events are midnight to midnight in the event's zone; seen from
/// UTC that midnight can be hours off. The nearest midnight is the date.
fn nearest_midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    let date = if t.hour() >= 12 {
        t.date_naive() + Duration::days(1)
    } else {
        t.date_naive()
    };
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn person(r: &Option<EmailAddress>) -> (String, Option<String>) {
    match r {
        Some(e) => (
            e.address.as_deref().unwrap_or("").trim().to_lowercase(),
            e.name.clone().filter(|n| !n.trim().is_empty()),
        ),
        None => (String::new(), None),
    }
}

/// One Graph event (single, occurrence or exception) as an occurrence.
pub fn to_occurrence(calendar: &str, event: GraphEvent) -> Result<Occurrence> {
    let mut start = read_time(event.start.as_ref().context("no start")?)?;
    let mut end = match &event.end {
        Some(end) => read_time(end)?,
        None => start,
    };
    if event.is_all_day {
        start = nearest_midnight(start);
        end = nearest_midnight(end).max(start + Duration::days(1));
    }
    let instance = matches!(
        event.event_type.as_deref(),
        Some("occurrence" | "exception")
    );
    let recurrence_id = if instance {
        let original = event
            .original_start
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(start);
        Some(if event.is_all_day {
            nearest_midnight(original)
        } else {
            original
        })
    } else {
        None
    };
    let attendees: Vec<Attendee> = event
        .attendees
        .iter()
        .filter(|a| a.kind.as_deref() != Some("resource"))
        .map(|a| {
            let (email, name) = person(&a.email_address);
            let response = a
                .status
                .as_ref()
                .and_then(|s| s.response.as_deref())
                .unwrap_or("none");
            Attendee {
                email,
                name,
                partstat: PartStat::parse(response),
                role: Some(
                    match a.kind.as_deref() {
                        Some("optional") => "OPT-PARTICIPANT",
                        _ => "REQ-PARTICIPANT",
                    }
                    .to_string(),
                ),
            }
        })
        .collect();
    let organizer = event.organizer.as_ref().map(|o| {
        let (email, name) = person(&o.email_address);
        Attendee {
            email,
            name,
            partstat: PartStat::Accepted,
            role: Some("CHAIR".into()),
        }
    });
    let conference = event
        .online_meeting
        .as_ref()
        .and_then(|m| m.join_url.clone())
        .or_else(|| {
            event
                .online_meeting_url
                .clone()
                .filter(|_| event.is_online_meeting)
        })
        .filter(|u| !u.is_empty());
    Ok(Occurrence {
        calendar: calendar.to_string(),
        uid: event.ical_uid.clone().unwrap_or_else(|| event.id.clone()),
        recurrence_id,
        start,
        end: end.max(start),
        all_day: event.is_all_day,
        tz: if event.is_all_day {
            None
        } else {
            event
                .original_start_time_zone
                .as_deref()
                .and_then(crate::calendar::zone_for_name)
                .map(|tz| tz.name().to_string())
        },
        title: event.subject.unwrap_or_default().trim().to_string(),
        location: event
            .location
            .and_then(|l| l.display_name)
            .filter(|l| !l.trim().is_empty()),
        description: event.body_preview.filter(|b| !b.is_empty()),
        url: None,
        organizer,
        attendees,
        status: if event.is_cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        },
        transparent: event.show_as.as_deref() == Some("free"),
        conference,
    })
}
