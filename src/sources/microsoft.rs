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
//! Identity: Graph v1.0 gives each occurrence its own `iCalUId`, Exchange's
//! hex GlobalObjectId with the instance's date in it. An occurrence's `uid`
//! is the UID the same event has in an ICS export, over CalDAV or in Google:
//! the iCalendar UID wrapped in the id when the event came from an outside
//! invitation, else the id with its instance date zeroed (the series'
//! CleanGlobalObjectId, which Exchange writes as the UID when it exports);
//! `recurrence_id` is the occurrence's `originalStart`. The mailbox owner's
//! own answer is `responseStatus`: their entry in `attendees` reads `none`.
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
    /// The calendar owner's addresses (lower case, the reading mailbox
    /// first): whose entry in `attendees` carries `responseStatus`.
    owner: Vec<String>,
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
        let mut owner: Vec<String> = c
            .manager
            .as_deref()
            .and_then(|m| config.manager(m))
            .map(|m| m.addresses().collect())
            .unwrap_or_default();
        if let Some(email) = &c.email {
            let email = email.trim().to_lowercase();
            if !owner.contains(&email) {
                owner.push(email);
            }
        }
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
            owner,
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
        match to_occurrence(&self.id, &self.owner, event) {
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
    /// `normal`, `personal`, `private` or `confidential` (Graph event
    /// resource); the last two mark a private event.
    sensitivity: Option<String>,
    start: Option<GraphTime>,
    end: Option<GraphTime>,
    /// The original start of an occurrence or exception (UTC offset form).
    original_start: Option<String>,
    original_start_time_zone: Option<String>,
    #[serde(rename = "iCalUId")]
    ical_uid: Option<String>,
    /// The series an occurrence or exception belongs to.
    series_master_id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// The mailbox owner's own answer to the invitation.
    response_status: Option<ResponseStatus>,
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

/// One Graph event (single, occurrence or exception) as an occurrence;
/// `owner` are the addresses of the calendar's owner (see `MicrosoftSource`).
pub fn to_occurrence(calendar: &str, owner: &[String], event: GraphEvent) -> Result<Occurrence> {
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
    let own_answer = event
        .response_status
        .as_ref()
        .and_then(|s| s.response.as_deref())
        .and_then(owner_answer);
    let mut attendees: Vec<Attendee> = event
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
            let partstat = match own_answer {
                Some(answer) if owner.contains(&email) => answer,
                _ => PartStat::parse(response),
            };
            Attendee {
                email,
                name,
                partstat,
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
    // Invited through a group, the owner is not on the list; their answer
    // still decides whether they take part.
    if let (Some(answer), Some(address)) = (own_answer, owner.first()) {
        if !attendees.iter().any(|a| owner.contains(&a.email)) {
            attendees.push(Attendee {
                email: address.clone(),
                name: None,
                partstat: answer,
                role: Some("REQ-PARTICIPANT".into()),
            });
        }
    }
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
    let mut occurrence = Occurrence {
        calendar: calendar.to_string(),
        uid: series_uid(&event),
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
        tags: vec![],
        description_video_link: false,
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
        private: matches!(
            event.sensitivity.as_deref(),
            Some("private" | "confidential")
        ),
    };
    // The body preview is read for tags and links, then let go.
    if let Some(preview) = event.body_preview.as_deref() {
        occurrence.read_description(preview);
    }
    Ok(occurrence)
}

/// The owner's `responseStatus.response` as a participation status, when it
/// is an answer: `none`, `notResponded` and `organizer` leave the attendee
/// list as Graph gave it.
fn owner_answer(response: &str) -> Option<PartStat> {
    match response {
        "accepted" => Some(PartStat::Accepted),
        "tentativelyAccepted" => Some(PartStat::Tentative),
        "declined" => Some(PartStat::Declined),
        _ => None,
    }
}

/// The `uid` of a Graph event, one per series: the UID its `iCalUId`
/// stands for; without an Exchange id, the `iCalUId` as given, else the
/// series master's id, else the event's own id.
fn series_uid(event: &GraphEvent) -> String {
    event
        .ical_uid
        .as_deref()
        .and_then(uid_of_global_object_id)
        .or_else(|| event.ical_uid.clone().filter(|u| !u.trim().is_empty()))
        .or_else(|| event.series_master_id.clone())
        .unwrap_or_else(|| event.id.clone())
}

/// The 16 bytes that open every Exchange GlobalObjectId ([MS-OXOCAL]
/// 2.2.1.27 PidLidGlobalObjectId, "Byte Array ID").
const GLOBAL_OBJECT_ID_CLASS: [u8; 16] = [
    0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08,
];
/// The YH YL M D bytes: an exception's original date, zero on the series
/// ([MS-OXOCAL] 2.2.1.27; zeroed, the id is 2.2.1.28 PidLidCleanGlobalObjectId).
const INSTANCE_DATE: std::ops::Range<usize> = 16..20;
/// The little-endian length of the Data field, and where Data starts.
const DATA_SIZE: std::ops::Range<usize> = 36..40;
const DATA: usize = 40;
/// What opens Data when the id wraps an outside iCalendar UID
/// ([MS-ASEMAIL] 2.2.2.37: `"vCal-Uid"` then version 1 as four bytes).
const VCAL_UID_MARKER: &[u8] = b"vCal-Uid\x01\x00\x00\x00";

/// The iCalendar UID an Exchange GlobalObjectId in hex stands for, as
/// [MS-ASEMAIL] 3.1.4.7 converts one: the wrapped UID after the `vCal-Uid`
/// marker, or else the whole id with its instance date zeroed, in upper-case
/// hex (what Exchange writes as UID). `None` when the text is not such an id
/// ([MS-OXCICAL] 2.1.3.1.1.20.26: hex, at least 82 digits, even, opening with
/// the class bytes).
pub fn uid_of_global_object_id(hex: &str) -> Option<String> {
    let hex = hex.trim();
    if hex.len() < 82 || !hex.len().is_multiple_of(2) {
        return None;
    }
    let mut bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    if bytes[..16] != GLOBAL_OBJECT_ID_CLASS {
        return None;
    }
    let size = u32::from_le_bytes(bytes[DATA_SIZE].try_into().ok()?) as usize;
    let data = &bytes[DATA..];
    let data = &data[..size.min(data.len())];
    if let Some(wrapped) = data.strip_prefix(VCAL_UID_MARKER) {
        let uid = wrapped.split(|b| *b == 0).next().unwrap_or_default();
        if let Ok(uid) = std::str::from_utf8(uid) {
            if !uid.trim().is_empty() {
                return Some(uid.to_string());
            }
        }
    }
    bytes[INSTANCE_DATE].fill(0);
    Some(bytes.iter().map(|b| format!("{b:02X}")).collect())
}
