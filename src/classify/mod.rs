//! Classification (SPEC §4), pure: occurrences + clients + orders → for each
//! occurrence a decision (client meeting or excluded with a reason), and the
//! credited, de-duplicated meetings. No I/O.
//!
//! - `text`: folding, words, the client-name index, keyword stems, tags;
//! - `read`: one occurrence alone → exclusion, client and rule, kind;
//! - `credit`: copies of one meeting merged and credited to managers.

mod credit;
mod read;
pub mod text;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{ManagerConfig, OverrideConfig, ScoringConfig};
use crate::model::{Client, Counterparty, Exclusion, MatchRule, Meeting, MeetingKind, Occurrence};
use crate::score::OrderBook;

/// Everything classification reads besides the occurrences.
#[derive(Clone, Copy)]
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

/// Reads every occurrence, merges copies of the same meeting and credits
/// them (SPEC §4). The result does not depend on the order of `occurrences`.
pub fn classify(occurrences: &[Occurrence], ctx: &ClassifyContext) -> Classification {
    Classifier::new(ctx).classify(occurrences, ctx)
}

/// The client indexes built once (they cost in proportion to the CRM), for
/// runs that read and classify many small sets of occurrences.
pub struct Classifier<'a> {
    reader: read::Reader<'a>,
}

/// What one copy says on its own, for incremental scoring: the counterparty
/// key when the copy alone reads as a meeting, and when `now` passing would
/// change that (a future meeting becomes a past one at its start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReading {
    pub party: Option<String>,
    pub recheck_at: Option<DateTime<Utc>>,
}

impl<'a> Classifier<'a> {
    /// Indexes `ctx`'s clients, overrides and settings; its orders are not
    /// read here (each `classify` call brings its own).
    pub fn new(ctx: &'a ClassifyContext<'a>) -> Classifier<'a> {
        Classifier {
            reader: read::Reader::new(ctx),
        }
    }

    pub fn read_copy(&self, occurrence: &Occurrence) -> CopyReading {
        let reading = self.reader.read(occurrence);
        let party = match reading.exclusion {
            None => reading.counterparty.as_ref().map(Counterparty::key),
            Some(_) => None,
        };
        let recheck_at = match reading.exclusion {
            Some(Exclusion::Future) => Some(occurrence.start),
            _ => None,
        };
        CopyReading { party, recheck_at }
    }

    /// `classify` with these indexes; `ctx` must describe the same clients,
    /// settings and `now` as the one the classifier was built from, and
    /// holds the orders of the counterparties in `occurrences`.
    pub fn classify(&self, occurrences: &[Occurrence], ctx: &ClassifyContext) -> Classification {
        let reader = &self.reader;
        let mut readings: Vec<read::Reading> = occurrences.iter().map(|o| reader.read(o)).collect();
        spread_exclusion_overrides(occurrences, &mut readings);
        let (mut meetings, copy_meeting) = credit::merge(occurrences, &mut readings, ctx);
        meetings.sort_by(|a, b| {
            (a.start, &a.manager, &a.calendar, &a.uid, a.recurrence_id).cmp(&(
                b.start,
                &b.manager,
                &b.calendar,
                &b.uid,
                b.recurrence_id,
            ))
        });
        let decisions = occurrences
            .iter()
            .zip(readings)
            .zip(copy_meeting)
            .map(|((occurrence, reading), meeting)| Decision {
                calendar: occurrence.calendar.clone(),
                uid: occurrence.uid.clone(),
                recurrence_id: occurrence.recurrence_id,
                start: occurrence.start,
                exclusion: reading.exclusion,
                counterparty: reading.counterparty,
                rule: reading.rule,
                kind: reading.kind,
                meeting,
            })
            .collect();
        Classification {
            meetings,
            decisions,
        }
    }
}

/// All copies of an event instance are one meeting, so "not a meeting" said
/// on one copy (an override for one calendar, a tag in one copy) holds for
/// every copy: otherwise another manager's copy would bring the meeting back,
/// even to the very manager who asked to drop it.
fn spread_exclusion_overrides(occurrences: &[Occurrence], readings: &mut [read::Reading]) {
    let dropped: HashSet<(&str, Option<DateTime<Utc>>)> = occurrences
        .iter()
        .zip(readings.iter())
        .filter(|(_, r)| r.exclusion == Some(Exclusion::Override))
        .map(|(o, _)| (o.uid.as_str(), o.recurrence_id))
        .collect();
    if dropped.is_empty() {
        return;
    }
    for (occurrence, reading) in occurrences.iter().zip(readings.iter_mut()) {
        if dropped.contains(&(occurrence.uid.as_str(), occurrence.recurrence_id)) {
            reading.exclusion = Some(Exclusion::Override);
        }
    }
}
