//! Classification (SPEC §4), pure: occurrences + clients + orders → for each
//! occurrence a decision (client meeting or excluded with a reason), and the
//! credited, de-duplicated meetings. No I/O.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{ManagerConfig, OverrideConfig, ScoringConfig};
use crate::model::{Client, Counterparty, Exclusion, MatchRule, Meeting, MeetingKind, Occurrence};
use crate::score::OrderBook;

/// Everything classification reads besides the occurrences.
pub struct ClassifyContext<'a> {
    pub settings: &'a ScoringConfig,
    /// Internal mail domains (lower case).
    pub company_domains: &'a [String],
    /// The company's zone (for tags and months; classification itself is zone-free).
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub managers: &'a [ManagerConfig],
    /// Calendar id → the manager owning it (None: org-wide calendar).
    pub calendar_owner: &'a HashMap<String, Option<String>>,
    pub clients: &'a [Client],
    pub orders: &'a OrderBook,
    pub overrides: &'a [OverrideConfig],
}

/// How one occurrence was read: `explain` prints it, emails show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub calendar: String,
    pub uid: String,
    pub recurrence_id: Option<DateTime<Utc>>,
    pub start: DateTime<Utc>,
    /// The exclusion code, or `None` for a client meeting.
    pub exclusion: Option<Exclusion>,
    /// What was found even when excluded (e.g. `future` meetings are planned).
    pub counterparty: Option<Counterparty>,
    pub rule: Option<MatchRule>,
    pub kind: Option<MeetingKind>,
    /// For a meeting: the credited meeting this occurrence belongs to (after
    /// dedupe, the one credited to this calendar's manager when there is one).
    pub meeting: Option<Meeting>,
}

#[derive(Debug, Clone, Default)]
pub struct Classification {
    /// Credited meetings, sorted by (start, manager, calendar, uid, recurrence_id).
    pub meetings: Vec<Meeting>,
    /// One per input occurrence, in input order.
    pub decisions: Vec<Decision>,
}

pub fn classify(_occurrences: &[Occurrence], _ctx: &ClassifyContext) -> Classification {
    todo!("classification")
}
