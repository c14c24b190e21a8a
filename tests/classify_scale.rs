//! Classification stays near-linear: thousands of clients × tens of thousands
//! of events must not turn into a per-event scan of the CRM (SPEC §4: title
//! matching is on by default, so it must be indexed).

use std::collections::HashMap;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use meetledger::classify::{classify, ClassifyContext};
use meetledger::config::{ManagerConfig, Plan, ScoringConfig};
use meetledger::model::{
    Attendee, Client, Counterparty, EventStatus, MatchRule, Occurrence, Order, PartStat,
};
use meetledger::score::OrderBook;

const CLIENTS: usize = 5_000;
const EVENTS: usize = 30_000;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn thousands_of_clients_and_tens_of_thousands_of_events_classify_quickly() {
    // Every name shares "Торговый дом": the worst case for a naive index.
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|i| Client {
            id: format!("c{i:05}"),
            name: format!("ООО «Торговый дом Клиент{i}»"),
            aliases: vec![],
            domains: vec![format!("client{i}.example")],
            emails: vec![],
            manager: None,
            key: false,
        })
        .collect();
    let orders: Vec<Order> = (0..CLIENTS)
        .map(|i| Order {
            id: format!("o{i}"),
            client_id: format!("c{i:05}"),
            created_at: at("2025-06-01T00:00:00Z"),
            amount: 100.0,
            currency: "RUB".into(),
            status: "done".into(),
            cancelled: false,
            manager: None,
        })
        .collect();
    let managers: Vec<ManagerConfig> = (0..20)
        .map(|m| ManagerConfig {
            id: format!("m{m:02}"),
            name: format!("Manager {m}"),
            email: format!("m{m:02}@acme.example"),
            emails: vec![],
            plan: Plan::default(),
            crm_user: vec![],
        })
        .collect();
    let calendar_owner: HashMap<String, Option<String>> = managers
        .iter()
        .map(|m| (format!("{}-cal", m.id), Some(m.id.clone())))
        .collect();
    let base = at("2026-01-01T08:00:00Z");
    let occurrences: Vec<Occurrence> = (0..EVENTS)
        .map(|e| {
            let client = (e * 7919) % CLIENTS;
            let manager = e % managers.len();
            let start = base + Duration::minutes(30 * e as i64);
            let by_title = e % 2 == 0;
            Occurrence {
                calendar: format!("m{manager:02}-cal"),
                uid: format!("ev{e}"),
                recurrence_id: None,
                start,
                end: start + Duration::hours(1),
                all_day: false,
                tz: None,
                title: if by_title {
                    format!("Встреча торговый дом «Клиент{client}» по поставкам")
                } else {
                    "Встреча".into()
                },
                location: None,
                tags: vec![],
                description_video_link: false,
                url: None,
                organizer: Some(Attendee {
                    email: format!("m{manager:02}@acme.example"),
                    name: None,
                    partstat: PartStat::Accepted,
                    role: None,
                }),
                attendees: if by_title {
                    vec![]
                } else {
                    vec![Attendee {
                        email: format!("buyer@client{client}.example"),
                        name: None,
                        partstat: PartStat::NeedsAction,
                        role: None,
                    }]
                },
                status: EventStatus::Confirmed,
                transparent: false,
                conference: None,
                private: false,
            }
        })
        .collect();

    let settings = ScoringConfig::default();
    let book = OrderBook::new(&orders);
    let ctx = ClassifyContext {
        settings: &settings,
        company_domains: &["acme.example".to_string()],
        tz: chrono_tz::UTC,
        now: base + Duration::days(3650),
        managers: &managers,
        calendar_owner: &calendar_owner,
        clients: &clients,
        orders: &book,
        overrides: &[],
    };
    let started = Instant::now();
    let result = classify(&occurrences, &ctx);
    let elapsed = started.elapsed();

    assert_eq!(result.meetings.len(), EVENTS);
    for (e, decision) in result.decisions.iter().enumerate() {
        let client = (e * 7919) % CLIENTS;
        assert_eq!(
            decision.counterparty,
            Some(Counterparty::Client(format!("c{client:05}")))
        );
        let rule = if e % 2 == 0 {
            MatchRule::Title
        } else {
            MatchRule::Domain
        };
        assert_eq!(decision.rule, Some(rule));
    }
    // Generous even for an unoptimized build on a busy machine; a per-event
    // scan of all clients (1.5·10^8 name checks) would blow well past it.
    assert!(
        elapsed < Elapsed::from_secs(20),
        "classification took {elapsed:?}"
    );
}
