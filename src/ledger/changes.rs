//! What the ledger books (SPEC §6), pure: compares the stored state of every
//! meeting with the newly computed one and plans an entry per difference,
//! booking differences of closed months as adjustments in the first open one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::period::Period;
use crate::model::{ClientStatus, MatchRule, MeetingKind, OutcomeKind, ScoredMeeting};

/// A scored meeting as stored and as printed by `meetings --format jsonl`
/// (SPEC §9 field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingRecord {
    pub manager: String,
    pub client: String,
    pub client_status: ClientStatus,
    pub rule: MatchRule,
    pub kind: MeetingKind,
    pub weight: f64,
    #[serde(with = "utc_z")]
    pub start: DateTime<Utc>,
    pub calendar: String,
    pub uid: String,
    #[serde(with = "utc_z_opt")]
    pub recurrence_id: Option<DateTime<Utc>>,
    pub outcome: OutcomeKind,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub score: Option<f64>,
    /// Not compared: a retitled event is the same meeting.
    #[serde(default)]
    pub title: String,
}

impl MeetingRecord {
    pub fn from_scored(scored: &ScoredMeeting) -> MeetingRecord {
        let m = &scored.meeting;
        MeetingRecord {
            manager: m.manager.clone(),
            client: m.counterparty.key(),
            client_status: m.client_status,
            rule: m.rule,
            kind: m.kind,
            weight: m.weight,
            start: m.start,
            calendar: m.calendar.clone(),
            uid: m.uid.clone(),
            recurrence_id: m.recurrence_id,
            outcome: scored.outcome.kind,
            is_final: scored.outcome.is_final,
            score: scored.outcome.score,
            title: m.title.clone(),
        }
    }

    /// Ledger identity: the credited manager and the copy it is reported with.
    pub fn key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.manager,
            self.calendar,
            self.uid,
            self.recurrence_id.map(format_utc).unwrap_or_default()
        )
    }

    pub fn period(&self, tz: Tz) -> Period {
        Period::of(self.start, tz)
    }

    /// The differences that matter for pay, in words, for the entry's reason.
    pub fn differences(&self, newer: &MeetingRecord) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name} {a} → {b}"));
            }
        };
        field("client", self.client.clone(), newer.client.clone());
        field(
            "status",
            self.client_status.as_str().into(),
            newer.client_status.as_str().into(),
        );
        field(
            "rule",
            self.rule.as_str().into(),
            newer.rule.as_str().into(),
        );
        field(
            "kind",
            self.kind.as_str().into(),
            newer.kind.as_str().into(),
        );
        field(
            "weight",
            fmt_num(Some(self.weight)),
            fmt_num(Some(newer.weight)),
        );
        field("start", format_utc(self.start), format_utc(newer.start));
        let outcome = |r: &MeetingRecord| {
            format!(
                "{}{}",
                r.outcome.as_str(),
                if r.is_final { "" } else { " (provisional)" }
            )
        };
        field("outcome", outcome(self), outcome(newer));
        field("score", fmt_num(self.score), fmt_num(newer.score));
        out
    }
}

fn fmt_num(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| format!("{v}"))
}

/// UTC instant as RFC 3339 with `Z`, seconds precision (SPEC §9).
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// serde helpers writing instants as `YYYY-MM-DDTHH:MM:SSZ`.
pub mod utc_z {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_utc(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

pub mod utc_z_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_utc(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Rescored,
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Rescored => "rescored",
            Change::Removed => "removed",
        }
    }
}

/// One ledger entry (SPEC §9 `entries` fields). `seq` is 0 until stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: i64,
    /// The month the entry is booked in.
    pub period: String,
    pub change: Change,
    pub manager: String,
    pub client: String,
    #[serde(with = "utc_z")]
    pub start: DateTime<Utc>,
    pub calendar: String,
    pub uid: String,
    #[serde(with = "utc_z_opt")]
    pub recurrence_id: Option<DateTime<Utc>>,
    pub weight: Option<f64>,
    pub score: Option<f64>,
    pub weight_delta: f64,
    pub score_delta: f64,
    pub reason: String,
    /// The closed month this adjustment corrects, else null.
    pub adjusts: Option<String>,
    #[serde(skip)]
    pub meeting_key: String,
}

/// The planned ledger changes of one run, and the new meeting state.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    /// Keys whose stored record must be written (new or changed, including
    /// changes that need no entry, like a new title).
    pub upserts: Vec<MeetingRecord>,
    pub deletes: Vec<String>,
}

/// Compares stored and current meetings. `last_closed` is the latest closed
/// month: a difference in it or before is booked in the month after it,
/// pointing back at its own month.
pub fn plan(
    stored: &BTreeMap<String, MeetingRecord>,
    current: &BTreeMap<String, MeetingRecord>,
    tz: Tz,
    last_closed: Option<Period>,
) -> Plan {
    let mut plan = Plan::default();
    let booking = |month: Period| -> (String, Option<String>) {
        match last_closed {
            Some(closed) if month <= closed => (closed.next().to_string(), Some(month.to_string())),
            _ => (month.to_string(), None),
        }
    };
    let entry = |change: Change, r: &MeetingRecord, key: &str, reason: String| {
        let (period, adjusts) = booking(r.period(tz));
        Entry {
            seq: 0,
            period,
            change,
            manager: r.manager.clone(),
            client: r.client.clone(),
            start: r.start,
            calendar: r.calendar.clone(),
            uid: r.uid.clone(),
            recurrence_id: r.recurrence_id,
            weight: None,
            score: None,
            weight_delta: 0.0,
            score_delta: 0.0,
            reason,
            adjusts,
            meeting_key: key.to_string(),
        }
    };
    let added = |r: &MeetingRecord, key: &str, reason: String| Entry {
        weight: Some(r.weight),
        score: r.score,
        weight_delta: r.weight,
        score_delta: r.score.unwrap_or(0.0),
        ..entry(Change::Added, r, key, reason)
    };
    let removed = |r: &MeetingRecord, key: &str, reason: String| Entry {
        weight_delta: -r.weight,
        score_delta: -r.score.unwrap_or(0.0),
        ..entry(Change::Removed, r, key, reason)
    };

    for (key, old) in stored {
        if !current.contains_key(key) {
            plan.entries
                .push(removed(old, key, "no longer a credited meeting".into()));
            plan.deletes.push(key.clone());
        }
    }
    for (key, new) in current {
        match stored.get(key) {
            None => {
                plan.entries.push(added(
                    new,
                    key,
                    format!("new meeting ({}, {})", new.rule.as_str(), new.kind.as_str()),
                ));
                plan.upserts.push(new.clone());
            }
            Some(old) if old == new => {}
            Some(old) => {
                let diffs = old.differences(new);
                if diffs.is_empty() {
                    plan.upserts.push(new.clone());
                } else if old.period(tz) != new.period(tz) {
                    // A meeting moved to another month leaves one and joins the other.
                    let reason = diffs.join("; ");
                    plan.entries.push(removed(
                        old,
                        key,
                        format!("moved out of the month: {reason}"),
                    ));
                    plan.entries
                        .push(added(new, key, format!("moved into the month: {reason}")));
                    plan.upserts.push(new.clone());
                } else {
                    plan.entries.push(Entry {
                        weight: Some(new.weight),
                        score: new.score,
                        weight_delta: new.weight - old.weight,
                        score_delta: new.score.unwrap_or(0.0) - old.score.unwrap_or(0.0),
                        ..entry(Change::Rescored, new, key, diffs.join("; "))
                    });
                    plan.upserts.push(new.clone());
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(start: &str, outcome: OutcomeKind, score: Option<f64>) -> MeetingRecord {
        MeetingRecord {
            manager: "ivanov".into(),
            client: "c1".into(),
            client_status: ClientStatus::New,
            rule: MatchRule::Email,
            kind: MeetingKind::InPerson,
            weight: 1.0,
            start: start.parse().unwrap(),
            calendar: "cal".into(),
            uid: "u1".into(),
            recurrence_id: None,
            outcome,
            is_final: false,
            score,
            title: "Встреча".into(),
        }
    }

    fn map(records: &[MeetingRecord]) -> BTreeMap<String, MeetingRecord> {
        records.iter().map(|r| (r.key(), r.clone())).collect()
    }

    #[test]
    fn same_state_plans_nothing() {
        let r = record("2026-10-05T09:00:00Z", OutcomeKind::Pending, None);
        let plan = plan(
            &map(std::slice::from_ref(&r)),
            &map(&[r]),
            chrono_tz::UTC,
            None,
        );
        assert!(plan.entries.is_empty() && plan.upserts.is_empty() && plan.deletes.is_empty());
    }

    #[test]
    fn retitled_meeting_is_stored_without_an_entry() {
        let old = record("2026-10-05T09:00:00Z", OutcomeKind::Pending, None);
        let mut new = old.clone();
        new.title = "Встреча (перенос)".into();
        let plan = plan(&map(&[old]), &map(&[new]), chrono_tz::UTC, None);
        assert!(plan.entries.is_empty());
        assert_eq!(plan.upserts.len(), 1);
    }

    #[test]
    fn rescoring_books_the_score_delta_with_a_reason() {
        let old = record("2026-10-05T09:00:00Z", OutcomeKind::Pending, None);
        let new = record("2026-10-05T09:00:00Z", OutcomeKind::Ordered, Some(0.5));
        let plan = plan(&map(&[old]), &map(&[new]), chrono_tz::UTC, None);
        assert_eq!(plan.entries.len(), 1);
        let e = &plan.entries[0];
        assert_eq!(
            (e.change, e.period.as_str(), e.score_delta, e.weight_delta),
            (Change::Rescored, "2026-10", 0.5, 0.0)
        );
        assert!(
            e.reason
                .contains("outcome pending (provisional) → ordered (provisional)"),
            "{}",
            e.reason
        );
        assert_eq!(e.adjusts, None);
    }

    #[test]
    fn a_change_in_a_closed_month_is_an_adjustment_in_the_first_open_one() {
        let old = record("2026-09-05T09:00:00Z", OutcomeKind::Ordered, Some(0.5));
        let new = record("2026-09-05T09:00:00Z", OutcomeKind::None, Some(0.0));
        let closed = Some("2026-10".parse().unwrap());
        let plan = plan(
            &map(std::slice::from_ref(&old)),
            &map(&[new]),
            chrono_tz::UTC,
            closed,
        );
        let e = &plan.entries[0];
        assert_eq!(
            (e.period.as_str(), e.adjusts.as_deref()),
            ("2026-11", Some("2026-09"))
        );
        assert_eq!(e.score_delta, -0.5);

        let gone = plan_removed(&old, closed);
        assert_eq!(
            (gone.change, gone.weight, gone.weight_delta),
            (Change::Removed, None, -1.0)
        );
    }

    fn plan_removed(old: &MeetingRecord, closed: Option<Period>) -> Entry {
        plan(
            &map(std::slice::from_ref(old)),
            &BTreeMap::new(),
            chrono_tz::UTC,
            closed,
        )
        .entries
        .remove(0)
    }

    #[test]
    fn a_meeting_moved_across_months_is_removed_from_one_and_added_to_the_other() {
        let old = record("2026-09-30T09:00:00Z", OutcomeKind::Pending, None);
        let new = record("2026-10-01T09:00:00Z", OutcomeKind::Pending, None);
        let plan = plan(&map(&[old]), &map(&[new]), chrono_tz::UTC, None);
        let changes: Vec<_> = plan
            .entries
            .iter()
            .map(|e| (e.change, e.period.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (Change::Removed, "2026-09".into()),
                (Change::Added, "2026-10".into())
            ]
        );
    }
}
