//! What the nightly emails say, pure: from the computed decisions, scored
//! meetings, the month's report and the sources' health to one digest per
//! manager and one for the head of sales. Numbers are formatted here (in the
//! company's language) so templates only place text; every string that came
//! from a calendar or the CRM stays raw here and is escaped by the HTML
//! templates.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::classify::Decision;
use crate::config::{Config, Language};
use crate::ledger::SourceState;
use crate::model::{ClientStatus, Counterparty, Occurrence, OutcomeKind, ScoredMeeting};
use crate::report::{ManagerRow, Report};

/// Key accounts whose cadence runs out within this many days are listed as
/// due, so a manager can book the visit before it is late.
pub const DUE_SOON_DAYS: i64 = 14;

/// A source whose last success is older than this is an alert (SPEC §7:
/// "a source failing for more than a day").
pub const SOURCE_FAILING_HOURS: i64 = 24;

/// The window "no meetings this week" looks at.
pub const QUIET_DAYS: i64 = 7;

/// Rows listed at most per table, so a broken calendar cannot make a
/// megabyte email.
pub const MAX_ROWS: usize = 60;

/// Everything a digest is computed from.
pub struct DigestInput<'a> {
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    /// The local date the email is for.
    pub day: NaiveDate,
    /// Meetings and readings shown are those starting in this window (the
    /// days since the previous email, normally yesterday).
    pub window: (DateTime<Utc>, DateTime<Utc>),
    /// Outcomes that became final in this window are "matured".
    pub matured_since: DateTime<Utc>,
    pub occurrences: &'a [Occurrence],
    pub decisions: &'a [Decision],
    pub scored: &'a [ScoredMeeting],
    pub client_names: &'a HashMap<String, String>,
    pub client_managers: &'a HashMap<String, Option<String>>,
    pub key_accounts: &'a HashSet<String>,
    /// Non-cancelled order creation times by client, sorted.
    pub order_times: &'a HashMap<String, Vec<DateTime<Utc>>>,
    pub report: &'a Report,
    pub sources: &'a [SourceState],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ManagerDigest {
    pub company: String,
    pub manager_id: String,
    pub manager_name: String,
    pub day: String,
    pub period: String,
    pub window_from: String,
    pub window_to: String,
    pub plan_new: String,
    pub plan_existing: String,
    pub weighted_new: String,
    pub weighted_existing: String,
    pub weighted_total: String,
    pub plan_total: String,
    pub raw_new: u32,
    pub raw_existing: u32,
    pub fulfilment: String,
    /// Width of the filled bar, 0–100.
    pub bar: u32,
    pub smart_met: bool,
    pub mean_score: String,
    pub readings: Vec<Reading>,
    pub matured: Vec<Matured>,
    pub key_due: Vec<KeyDue>,
}

/// How one event of the window was read.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reading {
    pub when: String,
    pub title: String,
    pub meeting: bool,
    /// Exclusion code when not a meeting.
    pub reason: Option<String>,
    pub client: String,
    pub client_status: Option<String>,
    pub rule: Option<String>,
    pub kind: Option<String>,
    pub weight: String,
    /// Another manager got the credit.
    pub credited_to: Option<String>,
    pub calendar: String,
    pub uid: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Matured {
    pub meeting_day: String,
    pub client: String,
    pub title: String,
    pub outcome: String,
    pub score: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyDue {
    pub client: String,
    pub manager: String,
    pub last_met: Option<String>,
    pub due: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeadDigest {
    pub company: String,
    pub day: String,
    pub period: String,
    pub team: Vec<TeamRow>,
    pub alerts: Vec<Alert>,
    pub unmet_keys: Vec<KeyDue>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TeamRow {
    pub name: String,
    pub raw: String,
    pub weighted: String,
    pub plan: String,
    pub fulfilment: String,
    pub mean_score: String,
    pub key_coverage: String,
    pub smart_met: bool,
}

/// One thing the head of sales should act on. `kind` picks the sentence
/// in the template: `source_failing`, `reauth`, `no_meetings`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub kind: String,
    pub subject: String,
    pub since: Option<String>,
    pub detail: Option<String>,
}

/// Numbers and dates in the company's language.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub language: Language,
    pub tz: Tz,
}

impl Style {
    pub fn num(&self, v: f64) -> String {
        let text = if (v - v.round()).abs() < 1e-9 {
            format!("{}", v.round() as i64)
        } else {
            format!("{v:.1}")
        };
        match self.language {
            Language::Ru => text.replace('.', ","),
            Language::En => text,
        }
    }

    pub fn pct(&self, v: Option<f64>) -> String {
        v.map_or_else(
            || "—".into(),
            |v| format!("{}%", (v * 100.0).round() as i64),
        )
    }

    pub fn score(&self, v: Option<f64>) -> String {
        v.map_or_else(
            || "—".into(),
            |v| {
                let text = format!("{v:.2}");
                match self.language {
                    Language::Ru => text.replace('.', ","),
                    Language::En => text,
                }
            },
        )
    }

    pub fn date(&self, d: NaiveDate) -> String {
        match self.language {
            Language::Ru => d.format("%d.%m.%Y").to_string(),
            Language::En => d.format("%Y-%m-%d").to_string(),
        }
    }

    pub fn local_date(&self, t: DateTime<Utc>) -> String {
        self.date(t.with_timezone(&self.tz).date_naive())
    }

    pub fn when(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.tz);
        match self.language {
            Language::Ru => local.format("%d.%m %H:%M").to_string(),
            Language::En => local.format("%m-%d %H:%M").to_string(),
        }
    }
}

impl DigestInput<'_> {
    fn style(&self) -> Style {
        Style {
            language: self.config.company.language,
            tz: self.config.tz(),
        }
    }

    fn client_label(&self, counterparty: &Counterparty) -> String {
        match counterparty {
            Counterparty::Client(id) => self
                .client_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.clone()),
            Counterparty::Prospect(key) => key.clone(),
        }
    }

    fn client_key_label(&self, key: &str) -> String {
        match key.strip_prefix("prospect:") {
            Some(prospect) => prospect.to_string(),
            None => self
                .client_names
                .get(key)
                .cloned()
                .unwrap_or_else(|| key.to_string()),
        }
    }

    fn manager_name(&self, id: &str) -> String {
        self.config
            .manager(id)
            .map_or_else(|| id.to_string(), |m| m.name.clone())
    }

    /// The last meeting with each client (by anyone) that has started.
    fn last_met(&self) -> HashMap<String, DateTime<Utc>> {
        let mut last: HashMap<String, DateTime<Utc>> = HashMap::new();
        for s in self.scored.iter().filter(|s| s.meeting.start <= self.now) {
            let key = s.meeting.counterparty.key();
            let entry = last.entry(key).or_insert(s.meeting.start);
            *entry = (*entry).max(s.meeting.start);
        }
        last
    }

    /// Key accounts (of one manager, or all) with when they were last met
    /// and when the cadence runs out, soonest first; only those due before
    /// `horizon`.
    fn keys_due(&self, manager: Option<&str>, horizon: DateTime<Utc>) -> Vec<KeyDue> {
        let style = self.style();
        let cadence = Duration::days(self.config.scoring.cadence_days);
        let last_met = self.last_met();
        let mut due: Vec<(DateTime<Utc>, String, KeyDue)> = self
            .key_accounts
            .iter()
            .filter_map(|id| {
                let owner = self.client_managers.get(id).cloned().flatten();
                if manager.is_some() && owner.as_deref() != manager {
                    return None;
                }
                let last = last_met.get(id).copied();
                let due_at = last.map_or(self.now, |t| t + cadence);
                (due_at <= horizon).then(|| {
                    (
                        due_at,
                        id.clone(),
                        KeyDue {
                            client: self.client_key_label(id),
                            manager: owner
                                .as_deref()
                                .map_or_else(|| "—".to_string(), |m| self.manager_name(m)),
                            last_met: last.map(|t| style.local_date(t)),
                            due: style.local_date(due_at),
                            overdue: due_at <= self.now,
                        },
                    )
                })
            })
            .collect();
        due.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        due.into_iter().take(MAX_ROWS).map(|(_, _, k)| k).collect()
    }
}

/// The email of one manager.
pub fn manager_digest(input: &DigestInput, manager_id: &str) -> ManagerDigest {
    let style = input.style();
    let config = input.config;
    let row = input.report.managers.iter().find(|r| r.id == manager_id);
    let owned: HashSet<&str> = config
        .calendars
        .iter()
        .filter(|c| c.manager.as_deref() == Some(manager_id))
        .map(|c| c.id.as_str())
        .collect();
    let (from, to) = input.window;
    let mut readings: Vec<(DateTime<Utc>, Reading)> = input
        .occurrences
        .iter()
        .zip(input.decisions)
        .filter(|(o, _)| o.start >= from && o.start < to)
        .filter(|(o, d)| {
            owned.contains(o.calendar.as_str())
                || d.meeting.as_ref().is_some_and(|m| m.manager == manager_id)
        })
        .map(|(o, d)| {
            let credited = d.meeting.as_ref();
            let counterparty = credited
                .map(|m| &m.counterparty)
                .or(d.counterparty.as_ref());
            (
                o.start,
                Reading {
                    when: style.when(o.start),
                    title: o.shown_title().to_string(),
                    meeting: d.exclusion.is_none(),
                    reason: d.exclusion.map(|e| e.as_str().to_string()),
                    client: counterparty.map_or_else(String::new, |c| input.client_label(c)),
                    client_status: credited.map(|m| m.client_status.as_str().to_string()),
                    rule: credited
                        .map(|m| m.rule)
                        .or(d.rule)
                        .map(|r| r.as_str().to_string()),
                    kind: credited
                        .map(|m| m.kind)
                        .or(d.kind)
                        .map(|k| k.as_str().to_string()),
                    weight: credited.map_or_else(String::new, |m| style.num(m.weight)),
                    credited_to: credited
                        .filter(|m| m.manager != manager_id)
                        .map(|m| input.manager_name(&m.manager)),
                    calendar: o.calendar.clone(),
                    uid: o.uid.clone(),
                },
            )
        })
        .collect();
    readings.sort_by(|a, b| (a.0, &a.1.calendar, &a.1.uid).cmp(&(b.0, &b.1.calendar, &b.1.uid)));

    let mut matured: Vec<(DateTime<Utc>, Matured)> = input
        .scored
        .iter()
        .filter(|s| s.meeting.manager == manager_id && s.outcome.is_final)
        .filter_map(|s| {
            let at = matured_at(s, input)?;
            (at >= input.matured_since && at < input.now).then(|| {
                (
                    s.meeting.start,
                    Matured {
                        meeting_day: style.local_date(s.meeting.start),
                        client: input.client_label(&s.meeting.counterparty),
                        title: s.meeting.title.clone(),
                        outcome: s.outcome.kind.as_str().to_string(),
                        score: style.score(s.outcome.score),
                    },
                )
            })
        })
        .collect();
    matured.sort_by_key(|m| m.0);

    let plan = config
        .manager(manager_id)
        .map(|m| m.plan)
        .unwrap_or_default();
    let fulfilment = row.and_then(|r| r.fulfilment);
    let weighted = row.map(|r| r.weighted).unwrap_or_default();
    ManagerDigest {
        company: config.company.name.clone(),
        manager_id: manager_id.to_string(),
        manager_name: input.manager_name(manager_id),
        day: style.date(input.day),
        period: input.report.period.clone(),
        window_from: style.local_date(from),
        window_to: style.local_date(to - Duration::seconds(1)),
        plan_new: style.num(plan.new),
        plan_existing: style.num(plan.existing),
        weighted_new: style.num(weighted.new),
        weighted_existing: style.num(weighted.existing),
        weighted_total: style.num(weighted.new + weighted.existing),
        plan_total: style.num(plan.new + plan.existing),
        raw_new: row.map_or(0, |r| r.raw.new),
        raw_existing: row.map_or(0, |r| r.raw.existing),
        fulfilment: style.pct(fulfilment),
        bar: fulfilment.map_or(0, |f| (f * 100.0).clamp(0.0, 100.0).round() as u32),
        smart_met: row.is_some_and(|r| r.smart_met),
        mean_score: style.score(row.and_then(|r| r.mean_score)),
        readings: readings
            .into_iter()
            .take(MAX_ROWS)
            .map(|(_, r)| r)
            .collect(),
        matured: matured.into_iter().take(MAX_ROWS).map(|(_, m)| m).collect(),
        key_due: input.keys_due(Some(manager_id), input.now + Duration::days(DUE_SOON_DAYS)),
    }
}

/// When a final outcome became final (SPEC §5): a repeat when its second
/// order was created; any other new-client outcome when its window closed;
/// an existing client's when the retention window closed.
pub fn matured_at(s: &ScoredMeeting, input: &DigestInput) -> Option<DateTime<Utc>> {
    let settings = &input.config.scoring;
    let start = s.meeting.start;
    match (s.meeting.client_status, s.outcome.kind) {
        (_, OutcomeKind::Pending) => None,
        (ClientStatus::New, OutcomeKind::Repeat) => {
            let client = s.meeting.counterparty.client_id()?;
            let end = start + Duration::days(settings.repeat_days);
            input
                .order_times
                .get(client)?
                .iter()
                .filter(|t| **t >= start && **t <= end)
                .nth(1)
                .copied()
        }
        (ClientStatus::New, OutcomeKind::None) => {
            Some(start + Duration::days(settings.first_order_days))
        }
        (ClientStatus::New, _) => Some(start + Duration::days(settings.repeat_days)),
        (ClientStatus::Existing, _) => Some(start + Duration::days(settings.retention_days)),
    }
}

/// The email of the head of sales.
pub fn head_digest(input: &DigestInput) -> HeadDigest {
    let style = input.style();
    let team = input
        .report
        .managers
        .iter()
        .map(|r: &ManagerRow| TeamRow {
            name: r.name.clone(),
            raw: format!("{}/{}", r.raw.new, r.raw.existing),
            weighted: format!(
                "{}/{}",
                style.num(r.weighted.new),
                style.num(r.weighted.existing)
            ),
            plan: format!("{}/{}", style.num(r.plan.new), style.num(r.plan.existing)),
            fulfilment: style.pct(r.fulfilment),
            mean_score: style.score(r.mean_score),
            key_coverage: style.pct(r.key_coverage),
            smart_met: r.smart_met,
        })
        .collect();

    let mut alerts = Vec::new();
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    for source in input.sources {
        // A token the provider refused: the source waits for `meetledger auth`.
        if let Some(reason) = &source.needs_reauth {
            alerts.push(Alert {
                kind: "reauth".into(),
                subject: source.id.clone(),
                since: parse(&source.last_error_at).map(|t| style.local_date(t)),
                detail: Some(reason.clone()),
            });
            continue;
        }
        let Some(error) = &source.last_error else {
            continue;
        };
        let last_success = parse(&source.last_success);
        let failing_long =
            last_success.is_none_or(|t| input.now - t > Duration::hours(SOURCE_FAILING_HOURS));
        if failing_long {
            alerts.push(Alert {
                kind: "source_failing".into(),
                subject: source.id.clone(),
                since: last_success.map(|t| style.local_date(t)),
                detail: Some(crate::secrets::scrub(error).into_owned()),
            });
        }
    }
    let quiet_from = input.now - Duration::days(QUIET_DAYS);
    for manager in &input.config.managers {
        let met = input.scored.iter().any(|s| {
            s.meeting.manager == manager.id
                && s.meeting.start >= quiet_from
                && s.meeting.start < input.now
        });
        if !met {
            alerts.push(Alert {
                kind: "no_meetings".into(),
                subject: manager.name.clone(),
                since: Some(style.local_date(quiet_from)),
                detail: None,
            });
        }
    }

    HeadDigest {
        company: input.config.company.name.clone(),
        day: style.date(input.day),
        period: input.report.period.clone(),
        team,
        alerts,
        unmet_keys: input.keys_due(None, input.now),
    }
}
