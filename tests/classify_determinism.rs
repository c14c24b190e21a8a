//! SPEC §1: "the same inputs give the same ledger … in whatever order the
//! sources answered". Random calendars, classified in two orders, must give
//! the same meetings and the same decision for every occurrence.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use meetledger::classify::{classify, Classification, ClassifyContext};
use meetledger::config::{CreditPolicy, ManagerConfig, Plan, ScoringConfig};
use meetledger::model::{Attendee, Client, EventStatus, Occurrence, PartStat};
use meetledger::score::OrderBook;
use proptest::prelude::*;

const MANAGERS: [&str; 3] = ["ivanov", "petrov", "sidorov"];
const CALENDARS: [&str; 4] = ["ivanov-main", "petrov-main", "sidorov-main", "org"];
const GUESTS: [&str; 6] = [
    "ivanov@acme.example",
    "petrov@acme.example",
    "a@romashka.ru",
    "b@lutik.ru",
    "c@newco.example",
    "d@gmail.com",
];
const TITLES: [&str; 4] = ["Встреча", "Встреча ООО Ромашка", "Созвон Лютик", "Выставка"];

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn attendee(email: &str, partstat: PartStat) -> Attendee {
    Attendee {
        email: email.into(),
        name: None,
        partstat,
        role: None,
    }
}

fn occurrence() -> impl Strategy<Value = Occurrence> {
    (
        0..CALENDARS.len(),
        0..6u32,
        0..8i64,
        0..TITLES.len(),
        prop::collection::vec((0..GUESTS.len(), any::<bool>()), 0..4),
        0..MANAGERS.len() + 1,
    )
        .prop_map(|(calendar, uid, slot, title, guests, organizer)| {
            // Slots 7 minutes apart: chains of copies within 15 minutes.
            let start = base() + Duration::minutes(7 * slot);
            Occurrence {
                calendar: CALENDARS[calendar].into(),
                uid: format!("u{uid}"),
                recurrence_id: None,
                start,
                end: start + Duration::minutes(45),
                all_day: false,
                tz: None,
                title: TITLES[title].into(),
                location: None,
                tags: vec![],
                description_video_link: false,
                url: None,
                organizer: MANAGERS
                    .get(organizer)
                    .map(|m| attendee(&format!("{m}@acme.example"), PartStat::Accepted)),
                attendees: guests
                    .into_iter()
                    .map(|(g, declined)| {
                        let partstat = if declined {
                            PartStat::Declined
                        } else {
                            PartStat::Accepted
                        };
                        attendee(GUESTS[g], partstat)
                    })
                    .collect(),
                status: EventStatus::Confirmed,
                transparent: false,
                conference: None,
                private: false,
            }
        })
}

fn run(occurrences: &[Occurrence], credit: CreditPolicy) -> Classification {
    let managers: Vec<ManagerConfig> = MANAGERS
        .iter()
        .map(|m| ManagerConfig {
            id: m.to_string(),
            name: m.to_string(),
            email: format!("{m}@acme.example"),
            emails: vec![],
            plan: Plan::default(),
            crm_user: vec![],
        })
        .collect();
    let calendar_owner: HashMap<String, Option<String>> = CALENDARS
        .iter()
        .map(|c| (c.to_string(), c.strip_suffix("-main").map(str::to_string)))
        .collect();
    let clients = vec![
        Client {
            id: "c1".into(),
            name: "ООО Ромашка".into(),
            aliases: vec![],
            domains: vec!["romashka.ru".into()],
            emails: vec![],
            manager: Some("petrov".into()),
            key: false,
        },
        Client {
            id: "c2".into(),
            name: "Лютик".into(),
            aliases: vec![],
            domains: vec!["lutik.ru".into()],
            emails: vec![],
            manager: None,
            key: false,
        },
    ];
    let settings = ScoringConfig {
        credit,
        ..ScoringConfig::default()
    };
    let book = OrderBook::new(&[]);
    let ctx = ClassifyContext {
        settings: &settings,
        company_domains: &["acme.example".to_string()],
        tz: chrono_tz::UTC,
        now: base() + Duration::days(1),
        managers: &managers,
        calendar_owner: &calendar_owner,
        clients: &clients,
        orders: &book,
        overrides: &[],
    };
    classify(occurrences, &ctx)
}

fn policy() -> impl Strategy<Value = CreditPolicy> {
    prop_oneof![
        Just(CreditPolicy::Owner),
        Just(CreditPolicy::Organizer),
        Just(CreditPolicy::Each)
    ]
}

proptest! {
    #[test]
    fn classification_does_not_depend_on_input_order(
        (occurrences, order) in prop::collection::vec(occurrence(), 0..14)
            .prop_flat_map(|occurrences| {
                let order: Vec<usize> = (0..occurrences.len()).collect();
                (Just(occurrences), Just(order).prop_shuffle())
            }),
        credit in policy(),
    ) {
        let shuffled: Vec<Occurrence> = order.iter().map(|&i| occurrences[i].clone()).collect();
        let first = run(&occurrences, credit);
        let second = run(&shuffled, credit);
        prop_assert_eq!(&first.meetings, &second.meetings);
        for (position, &original) in order.iter().enumerate() {
            prop_assert_eq!(&second.decisions[position], &first.decisions[original]);
        }
        // Every meeting copy is accounted for: credited, or a duplicate
        // pointing at the meeting that carries the credit.
        for decision in &first.decisions {
            if decision.exclusion.is_none() {
                prop_assert!(decision.meeting.is_some());
            }
        }
    }
}
