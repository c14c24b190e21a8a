//! Domain types shared by every stage: what sources produce (occurrences,
//! clients, orders), what classification decides (meetings, exclusions) and
//! what scoring concludes (outcomes). Plain data only: no I/O, no parsing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Whether `email` is a mail address a person could have (RFC 5321/5322
/// dot-atom local part, RFC 6531 non-ASCII letters allowed; a host name of
/// two or more labels of letters, digits and inner hyphens, RFC 1035/5890).
/// Invitations are written by outsiders: `ceo@<script>.evil.example` or a
/// garbled `mailto:` is no one to credit a meeting to.
pub fn is_valid_address(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext));
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok && email.len() <= 254
}

/// A participant's answer to an invitation (RFC 5545 PARTSTAT), normalized:
/// non-standard values written by real clients are folded onto these
/// (Apple's `CONFIRMED` → `Accepted`, lower case accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum PartStat {
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
    Delegated,
}

impl PartStat {
    /// Lenient reading of a PARTSTAT value (any case, Apple/Outlook variants).
    /// Unknown values read as `NeedsAction`: the participant has not said no.
    pub fn parse(value: &str) -> PartStat {
        match value.trim().to_ascii_uppercase().as_str() {
            "ACCEPTED" | "CONFIRMED" | "COMPLETED" | "ORGANIZER" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" | "TENTATIVELYACCEPTED" => PartStat::Tentative,
            "DELEGATED" => PartStat::Delegated,
            _ => PartStat::NeedsAction,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Delegated => "DELEGATED",
        }
    }
}

/// An attendee (or the organizer) of an event. `email` is lower-cased and
/// stripped of `mailto:`; it may be empty when the source gave only a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub email: String,
    pub name: Option<String>,
    pub partstat: PartStat,
    /// RFC 5545 ROLE (`REQ-PARTICIPANT`, `OPT-PARTICIPANT`, `CHAIR`, …), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Event status (RFC 5545 STATUS); absent means confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Confirmed,
    Tentative,
    Cancelled,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Confirmed => "confirmed",
            EventStatus::Tentative => "tentative",
            EventStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> EventStatus {
        match value.trim().to_ascii_uppercase().as_str() {
            "CANCELLED" | "CANCELED" => EventStatus::Cancelled,
            "TENTATIVE" => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        }
    }
}

/// What every output shows instead of a private event's title.
pub const PRIVATE_TITLE: &str = "private event";

/// Longest tag kept from a description (a client id longer than this is
/// no one's).
pub const MAX_TAG_CHARS: usize = 500;

/// One instance of a calendar event inside the sync window (SPEC §3).
/// Keyed by (calendar, uid, recurrence_id).
///
/// Privacy: the title and location of a private event are kept, because
/// classification reads client names in them exactly as for any other
/// event; every output shows [`Occurrence::shown_title`] and
/// [`Occurrence::shown_location`] instead. The description is never kept
/// (it holds managers' private notes): only what classification reads in
/// it, the tags and whether it links a video meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "OccurrenceRecord")]
pub struct Occurrence {
    pub calendar: String,
    pub uid: String,
    /// Original start of this instance in UTC for a recurring event
    /// (for an all-day series: the date at 00:00 UTC); `None` otherwise.
    pub recurrence_id: Option<DateTime<Utc>>,
    /// Start as a UTC instant. For all-day events: the start date at 00:00 UTC.
    pub start: DateTime<Utc>,
    /// End as a UTC instant (exclusive). For all-day events: the end date at 00:00 UTC.
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// The zone the event was written in (IANA name after mapping), or `None`
    /// for UTC / all-day / floating times read in the company's zone.
    pub tz: Option<String>,
    pub title: String,
    pub location: Option<String>,
    /// Tags (`#nomeeting`, the first `#client:<id>`) read from text that
    /// is not kept: the description, the cut-off end of a very long title.
    /// Classification reads them after the title's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The description held a link to a video-meeting service.
    #[serde(default, skip_serializing_if = "is_false")]
    pub description_video_link: bool,
    pub url: Option<String>,
    pub organizer: Option<Attendee>,
    pub attendees: Vec<Attendee>,
    pub status: EventStatus,
    /// TRANSP:TRANSPARENT / "show as free".
    pub transparent: bool,
    /// A video-conference link supplied as structured data by the provider
    /// (Google conferenceData, Graph onlineMeeting, X-…-CONFERENCE…).
    pub conference: Option<String>,
    /// Marked private by its owner (`CLASS:PRIVATE`/`CONFIDENTIAL`, Google
    /// `visibility`, Graph `sensitivity`): classified as usual, never shown.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The stored form of an occurrence as any version wrote it. Ledgers
/// written before descriptions stopped being stored hold a `description`:
/// its tags are read on load (so `#nomeeting` keeps excluding) and the text
/// is dropped; the next sync of the calendar rewrites the row without it.
#[derive(Deserialize)]
struct OccurrenceRecord {
    calendar: String,
    uid: String,
    recurrence_id: Option<DateTime<Utc>>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    all_day: bool,
    tz: Option<String>,
    title: String,
    location: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    description_video_link: bool,
    url: Option<String>,
    organizer: Option<Attendee>,
    attendees: Vec<Attendee>,
    status: EventStatus,
    transparent: bool,
    conference: Option<String>,
    #[serde(default)]
    private: bool,
}

impl From<OccurrenceRecord> for Occurrence {
    fn from(r: OccurrenceRecord) -> Occurrence {
        let mut occurrence = Occurrence {
            calendar: r.calendar,
            uid: r.uid,
            recurrence_id: r.recurrence_id,
            start: r.start,
            end: r.end,
            all_day: r.all_day,
            tz: r.tz,
            title: r.title,
            location: r.location,
            tags: r.tags,
            description_video_link: r.description_video_link,
            url: r.url,
            organizer: r.organizer,
            attendees: r.attendees,
            status: r.status,
            transparent: r.transparent,
            conference: r.conference,
            private: r.private,
        };
        if let Some(description) = r.description {
            occurrence.read_description(&description);
        }
        occurrence
    }
}

impl Occurrence {
    /// Keeps what classification reads in a description (its tags, whether
    /// it links a video meeting) and nothing else of it.
    pub fn read_description(&mut self, description: &str) {
        crate::calendar::limits::keep_tags(&mut self.tags, description, MAX_TAG_CHARS);
        self.description_video_link |= crate::classify::text::has_video_link(description);
    }

    /// The title as outputs show it: "private event" for a private one.
    pub fn shown_title(&self) -> &str {
        if self.private {
            PRIVATE_TITLE
        } else {
            &self.title
        }
    }

    /// The location as outputs show it: none for a private event.
    pub fn shown_location(&self) -> Option<&str> {
        if self.private {
            None
        } else {
            self.location.as_deref()
        }
    }

    /// The start date of an all-day occurrence.
    pub fn start_date(&self) -> NaiveDate {
        self.start.date_naive()
    }

    pub fn end_date(&self) -> NaiveDate {
        self.end.date_naive()
    }
}

/// A CRM client (SPEC §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// Extra names to look for in titles (config or CRM).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Lower-case mail domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Lower-case contact emails.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Assigned manager id (meetledger's id, already mapped from the CRM user).
    pub manager: Option<String>,
    /// Key-account flag from the CRM.
    #[serde(default)]
    pub key: bool,
}

/// A CRM order (SPEC §2). Cancelled orders are kept (so a cancellation is a
/// change the ledger sees) but never count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub client_id: String,
    pub created_at: DateTime<Utc>,
    pub amount: f64,
    pub currency: String,
    pub status: String,
    pub cancelled: bool,
    pub manager: Option<String>,
}

/// Why an occurrence is not a client meeting (SPEC §4), first hit wins in
/// this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    Cancelled,
    Declined,
    AllDay,
    Free,
    TooShort,
    TooLong,
    ExcludedTitle,
    Internal,
    Future,
    /// The manager tagged the event `#nomeeting`, or an override said so.
    Override,
    /// The calendar has no manager and no configured manager takes part.
    NoManager,
    /// Another copy of the same meeting carries the credit.
    Duplicate,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Cancelled => "cancelled",
            Exclusion::Declined => "declined",
            Exclusion::AllDay => "all_day",
            Exclusion::Free => "free",
            Exclusion::TooShort => "too_short",
            Exclusion::TooLong => "too_long",
            Exclusion::ExcludedTitle => "excluded_title",
            Exclusion::Internal => "internal",
            Exclusion::Future => "future",
            Exclusion::Override => "override",
            Exclusion::NoManager => "no_manager",
            Exclusion::Duplicate => "duplicate",
        }
    }
}

/// Which matching rule found the client (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// `#client:<id>` tag or an administrator's override.
    Override,
    Email,
    Domain,
    Title,
    Prospect,
}

impl MatchRule {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::Override => "override",
            MatchRule::Email => "email",
            MatchRule::Domain => "domain",
            MatchRule::Title => "title",
            MatchRule::Prospect => "prospect",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    InPerson,
    Online,
    Exhibition,
    Call,
}

impl MeetingKind {
    pub const ALL: [MeetingKind; 4] = [
        MeetingKind::InPerson,
        MeetingKind::Online,
        MeetingKind::Exhibition,
        MeetingKind::Call,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::InPerson => "in_person",
            MeetingKind::Online => "online",
            MeetingKind::Exhibition => "exhibition",
            MeetingKind::Call => "call",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    New,
    Existing,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::New => "new",
            ClientStatus::Existing => "existing",
        }
    }
}

/// Who a meeting was with: a CRM client, or a prospect keyed by the external
/// attendee's domain (or full email on a public mailbox domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Counterparty {
    Client(String),
    Prospect(String),
}

impl Counterparty {
    /// The stable textual form: the client id, or `prospect:<key>`.
    pub fn key(&self) -> String {
        match self {
            Counterparty::Client(id) => id.clone(),
            Counterparty::Prospect(key) => format!("prospect:{key}"),
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match self {
            Counterparty::Client(id) => Some(id),
            Counterparty::Prospect(_) => None,
        }
    }
}

/// A credited client meeting: the result of classification, before scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    pub manager: String,
    pub counterparty: Counterparty,
    pub client_status: ClientStatus,
    pub rule: MatchRule,
    pub kind: MeetingKind,
    pub weight: f64,
    pub start: DateTime<Utc>,
    /// The copy the meeting is reported with (the credited manager's own
    /// copy when they have one).
    pub calendar: String,
    pub uid: String,
    pub recurrence_id: Option<DateTime<Utc>>,
    pub title: String,
}

/// The outcome of a meeting (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Repeat,
    Ordered,
    None,
    Retained,
    Pending,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 5] = [
        OutcomeKind::Repeat,
        OutcomeKind::Ordered,
        OutcomeKind::None,
        OutcomeKind::Retained,
        OutcomeKind::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Repeat => "repeat",
            OutcomeKind::Ordered => "ordered",
            OutcomeKind::None => "none",
            OutcomeKind::Retained => "retained",
            OutcomeKind::Pending => "pending",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// True when no later order can change it.
    pub is_final: bool,
    /// `None` while pending.
    pub score: Option<f64>,
}

/// A meeting together with its outcome: one row of `meetings --format jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredMeeting {
    pub meeting: Meeting,
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ledgers written before issue 12 store the description: on load its
    /// tags are kept (a `#nomeeting` still excludes) and its text is not
    /// written back.
    #[test]
    fn a_stored_description_is_read_for_tags_and_never_written_back() {
        let old = r#"{"calendar":"c","uid":"u","recurrence_id":null,
            "start":"2026-11-10T07:00:00Z","end":"2026-11-10T08:00:00Z","all_day":false,
            "tz":null,"title":"Визит","location":null,
            "description":"personal notes #nomeeting, see https://zoom.us/j/1 #client:c7",
            "url":null,"organizer":null,"attendees":[],"status":"confirmed",
            "transparent":false,"conference":null}"#;
        let occurrence: Occurrence = serde_json::from_str(old).unwrap();
        assert_eq!(occurrence.tags, ["#nomeeting", "#client:c7"]);
        assert!(occurrence.description_video_link);
        assert!(!occurrence.private);
        let written = serde_json::to_string(&occurrence).unwrap();
        assert!(!written.contains("personal notes"), "{written}");
        let again: Occurrence = serde_json::from_str(&written).unwrap();
        assert_eq!(again, occurrence);
    }

    /// The new fields at their defaults are not written: an ordinary
    /// occurrence's stored JSON has the old fields only (older versions
    /// also wrote `"description":null`, so the first sync after an upgrade
    /// rewrites each row once, with the same classification).
    #[test]
    fn new_fields_at_their_defaults_are_not_written() {
        let old = r#"{"calendar":"c","uid":"u","recurrence_id":null,"start":"2026-11-10T07:00:00Z","end":"2026-11-10T08:00:00Z","all_day":false,"tz":null,"title":"Визит","location":null,"url":null,"organizer":null,"attendees":[],"status":"confirmed","transparent":false,"conference":null}"#;
        let occurrence: Occurrence = serde_json::from_str(old).unwrap();
        assert_eq!(serde_json::to_string(&occurrence).unwrap(), old);
    }

    #[test]
    fn addresses_people_can_have_are_valid_and_hostile_ones_are_not() {
        for good in [
            "anna@romashka.ru",
            "o.petrova+crm@mail.vector-group.example",
            "иван@пример.рф",
            "x@xn--80ak6aa92e.com",
        ] {
            assert!(is_valid_address(good), "{good}");
        }
        for bad in [
            "ceo@<script>.evil.example",
            "ceo@evil.example<script>",
            "no-at-sign.example",
            "@romashka.ru",
            "anna@",
            "anna@localhost",
            "anna@-bad.example",
            "anna@bad-.example",
            "an..na@romashka.ru",
            ".anna@romashka.ru",
            "anna smith@romashka.ru",
            "anna@romashka..ru",
            "anna@10.0.0.1",
            "anna@roma\u{1b}shka.ru",
        ] {
            assert!(!is_valid_address(bad), "{bad}");
        }
        assert!(!is_valid_address(&format!("{}@x.example", "a".repeat(65))));
    }
}
