//! Per-manager monthly figures (SPEC §5, `report --format json` in §9),
//! pure: the month's scored meetings, the managers' plans, key accounts and
//! adjustments in → one row per manager out. Also renders the readable table
//! and CSV.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::config::{ManagerConfig, ScoringConfig};
use crate::ledger::changes::{Entry, MeetingRecord};
use crate::ledger::period::Period;
use crate::model::{Client, ClientStatus, MeetingKind, OutcomeKind};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub period: String,
    /// True when the month is closed and these figures are frozen.
    pub closed: bool,
    pub managers: Vec<ManagerRow>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Split {
    pub new: f64,
    pub existing: f64,
}

/// Meetings counted one by one, whatever their weight.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Count {
    pub new: u32,
    pub existing: u32,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct KindCount {
    pub raw: u32,
    pub weighted: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Outcomes {
    pub repeat: u32,
    pub ordered: u32,
    pub none: u32,
    pub retained: u32,
    pub pending: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bonus {
    pub meetings: Option<f64>,
    pub quality: Option<f64>,
    pub total: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Adjustments {
    /// Entries booked this month that correct closed months.
    pub count: u32,
    pub weight_delta: f64,
    pub score_delta: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManagerRow {
    pub id: String,
    pub name: String,
    pub plan: Split,
    pub raw: Count,
    pub weighted: Split,
    /// Raw and weighted count per meeting kind.
    pub by_kind: BTreeMap<String, KindCount>,
    pub fulfilment: Option<f64>,
    pub outcomes: Outcomes,
    pub mean_score: Option<f64>,
    pub key_coverage: Option<f64>,
    pub key_accounts: u32,
    pub key_accounts_met: u32,
    pub smart_met: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bonus: Option<Bonus>,
    pub adjustments: Adjustments,
}

/// Everything a monthly report reads.
pub struct ReportInput<'a> {
    pub period: Period,
    pub tz: Tz,
    pub now: DateTime<Utc>,
    pub settings: &'a ScoringConfig,
    pub managers: &'a [ManagerConfig],
    /// The month's meetings.
    pub meetings: &'a [MeetingRecord],
    /// Meetings of any month and manager, at least those in the
    /// `coverage_window` (key-account coverage).
    pub all_meetings: &'a [MeetingRecord],
    pub clients: &'a [Client],
    pub key_accounts: &'a HashSet<String>,
    /// Entries booked in the month (for adjustments).
    pub entries: &'a [Entry],
}

/// The span key-account coverage looks at: the `cadence_days` before the
/// month's end (or before now, in a running month).
pub fn coverage_window(
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
    settings: &ScoringConfig,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = now.min(period.end(tz));
    (end - Duration::days(settings.cadence_days), end)
}

pub fn monthly_report(input: &ReportInput) -> Report {
    let (coverage_start, coverage_end) =
        coverage_window(input.period, input.tz, input.now, input.settings);
    let met_in_window: HashSet<&str> = input
        .all_meetings
        .iter()
        .filter(|m| m.start >= coverage_start && m.start < coverage_end)
        .map(|m| m.client.as_str())
        .collect();
    let mut key_by_manager: HashMap<&str, Vec<&str>> = HashMap::new();
    for client in input.clients {
        if let (true, Some(manager)) = (input.key_accounts.contains(&client.id), &client.manager) {
            key_by_manager
                .entry(manager.as_str())
                .or_default()
                .push(&client.id);
        }
    }

    let managers = input
        .managers
        .iter()
        .map(|manager| {
            let mine: Vec<&MeetingRecord> = input
                .meetings
                .iter()
                .filter(|m| m.manager == manager.id)
                .collect();
            let mut raw = Count::default();
            let mut weighted = Split::default();
            let mut by_kind: BTreeMap<String, KindCount> = MeetingKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), KindCount::default()))
                .collect();
            let mut outcomes = Outcomes::default();
            let mut final_scores = Vec::new();
            for m in &mine {
                let (r, w) = match m.client_status {
                    ClientStatus::New => (&mut raw.new, &mut weighted.new),
                    ClientStatus::Existing => (&mut raw.existing, &mut weighted.existing),
                };
                *r += 1;
                *w += m.weight;
                let kind = by_kind.entry(m.kind.as_str().to_string()).or_default();
                kind.raw += 1;
                kind.weighted += m.weight;
                *match m.outcome {
                    OutcomeKind::Repeat => &mut outcomes.repeat,
                    OutcomeKind::Ordered => &mut outcomes.ordered,
                    OutcomeKind::None => &mut outcomes.none,
                    OutcomeKind::Retained => &mut outcomes.retained,
                    OutcomeKind::Pending => &mut outcomes.pending,
                } += 1;
                if let (true, Some(score)) = (m.is_final, m.score) {
                    final_scores.push(score);
                }
            }
            let plan_total = manager.plan.new + manager.plan.existing;
            let fulfilment =
                (plan_total > 0.0).then(|| (weighted.new + weighted.existing) / plan_total);
            let mean_score = (!final_scores.is_empty())
                .then(|| final_scores.iter().sum::<f64>() / final_scores.len() as f64);
            let keys = key_by_manager
                .get(manager.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let keys_met = keys.iter().filter(|k| met_in_window.contains(**k)).count();
            let key_coverage = (!keys.is_empty()).then(|| keys_met as f64 / keys.len() as f64);
            let smart_met =
                weighted.new >= manager.plan.new && weighted.existing >= manager.plan.existing;
            let bonus = bonus(input.settings, fulfilment, mean_score);
            let mut adjustments = Adjustments::default();
            for e in input
                .entries
                .iter()
                .filter(|e| e.manager == manager.id && e.adjusts.is_some())
            {
                adjustments.count += 1;
                adjustments.weight_delta += e.weight_delta;
                adjustments.score_delta += e.score_delta;
            }
            ManagerRow {
                id: manager.id.clone(),
                name: manager.name.clone(),
                plan: Split {
                    new: manager.plan.new,
                    existing: manager.plan.existing,
                },
                raw,
                weighted,
                by_kind,
                fulfilment,
                outcomes,
                mean_score,
                key_coverage,
                key_accounts: keys.len() as u32,
                key_accounts_met: keys_met as u32,
                smart_met,
                bonus,
                adjustments,
            }
        })
        .collect();
    Report {
        period: input.period.to_string(),
        closed: false,
        managers,
    }
}

fn bonus(
    settings: &ScoringConfig,
    fulfilment: Option<f64>,
    mean_score: Option<f64>,
) -> Option<Bonus> {
    if settings.meetings_bonus.is_none() && settings.quality_bonus.is_none() {
        return None;
    }
    let meetings = settings
        .meetings_bonus
        .map(|amount| amount * fulfilment.unwrap_or(0.0).min(1.0));
    let quality = settings
        .quality_bonus
        .map(|amount| amount * mean_score.unwrap_or(0.0));
    Some(Bonus {
        meetings,
        quality,
        total: meetings.unwrap_or(0.0) + quality.unwrap_or(0.0),
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{:.0}%", v * 100.0))
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The readable table printed by `report` by default.
pub fn render_table(report: &Report) -> String {
    let header = [
        "manager",
        "plan n/e",
        "raw n/e",
        "weighted n/e",
        "fulfil",
        "repeat",
        "ordered",
        "none",
        "retained",
        "pending",
        "mean",
        "key cov",
        "SMART",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for m in &report.managers {
        rows.push(vec![
            m.id.clone(),
            format!("{}/{}", num(m.plan.new), num(m.plan.existing)),
            format!("{}/{}", m.raw.new, m.raw.existing),
            format!("{}/{}", num(m.weighted.new), num(m.weighted.existing)),
            pct(m.fulfilment),
            m.outcomes.repeat.to_string(),
            m.outcomes.ordered.to_string(),
            m.outcomes.none.to_string(),
            m.outcomes.retained.to_string(),
            m.outcomes.pending.to_string(),
            m.mean_score
                .map_or_else(|| "—".into(), |v| format!("{v:.2}")),
            pct(m.key_coverage),
            if m.smart_met { "yes" } else { "no" }.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "Meetings report {}{}\n",
        report.period,
        if report.closed { " (closed)" } else { "" }
    );
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    out
}

/// `report --format csv`: one row per manager.
pub fn render_csv(report: &Report) -> String {
    let mut out = String::from(
        "period,manager,plan_new,plan_existing,raw_new,raw_existing,weighted_new,weighted_existing,fulfilment,\
repeat,ordered,none,retained,pending,mean_score,key_coverage,smart_met,bonus\n",
    );
    let opt = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    for m in &report.managers {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            report.period,
            m.id,
            m.plan.new,
            m.plan.existing,
            m.raw.new,
            m.raw.existing,
            m.weighted.new,
            m.weighted.existing,
            opt(m.fulfilment),
            m.outcomes.repeat,
            m.outcomes.ordered,
            m.outcomes.none,
            m.outcomes.retained,
            m.outcomes.pending,
            opt(m.mean_score),
            opt(m.key_coverage),
            m.smart_met,
            opt(m.bonus.as_ref().map(|b| b.total)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Plan;
    use crate::model::MatchRule;

    fn manager(id: &str, new: f64, existing: f64) -> ManagerConfig {
        ManagerConfig {
            id: id.into(),
            name: id.into(),
            email: format!("{id}@acme.example"),
            emails: vec![],
            plan: Plan { new, existing },
            crm_user: vec![],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn meeting(
        manager: &str,
        client: &str,
        status: ClientStatus,
        kind: MeetingKind,
        weight: f64,
        outcome: OutcomeKind,
        score: Option<f64>,
        is_final: bool,
    ) -> MeetingRecord {
        MeetingRecord {
            manager: manager.into(),
            client: client.into(),
            client_status: status,
            rule: MatchRule::Email,
            kind,
            weight,
            start: "2026-11-10T09:00:00Z".parse().unwrap(),
            calendar: "c".into(),
            uid: format!("{client}-{weight}"),
            recurrence_id: None,
            outcome,
            is_final,
            score,
            title: String::new(),
        }
    }

    #[test]
    fn counts_weights_fulfilment_mean_and_smart_block() {
        let meetings = vec![
            meeting(
                "a",
                "c1",
                ClientStatus::New,
                MeetingKind::InPerson,
                1.0,
                OutcomeKind::Repeat,
                Some(1.0),
                true,
            ),
            meeting(
                "a",
                "c2",
                ClientStatus::New,
                MeetingKind::Online,
                0.5,
                OutcomeKind::Ordered,
                Some(0.5),
                false,
            ),
            meeting(
                "a",
                "c3",
                ClientStatus::Existing,
                MeetingKind::Call,
                0.0,
                OutcomeKind::None,
                Some(0.0),
                true,
            ),
            meeting(
                "b",
                "c4",
                ClientStatus::Existing,
                MeetingKind::InPerson,
                1.0,
                OutcomeKind::Pending,
                None,
                false,
            ),
        ];
        let settings = ScoringConfig {
            meetings_bonus: Some(1000.0),
            ..ScoringConfig::default()
        };
        let managers = [manager("a", 1.5, 1.0), manager("b", 0.0, 0.0)];
        let report = monthly_report(&ReportInput {
            period: "2026-11".parse().unwrap(),
            tz: chrono_tz::UTC,
            now: "2026-11-27T12:00:00Z".parse().unwrap(),
            settings: &settings,
            managers: &managers,
            meetings: &meetings,
            all_meetings: &meetings,
            clients: &[],
            key_accounts: &HashSet::new(),
            entries: &[],
        });
        let a = &report.managers[0];
        assert_eq!(
            (
                a.raw.new,
                a.raw.existing,
                a.weighted.new,
                a.weighted.existing
            ),
            (2, 1, 1.5, 0.0)
        );
        assert_eq!(a.fulfilment, Some(0.6));
        // Final outcomes only; the call's 0.0 counts.
        assert_eq!(a.mean_score, Some(0.5));
        assert!(!a.smart_met);
        assert_eq!(
            a.by_kind["call"],
            KindCount {
                raw: 1,
                weighted: 0.0
            }
        );
        assert_eq!(a.bonus.as_ref().unwrap().total, 600.0);
        let b = &report.managers[1];
        assert_eq!(
            (b.fulfilment, b.mean_score, b.key_coverage, b.smart_met),
            (None, None, None, true)
        );
    }
}
