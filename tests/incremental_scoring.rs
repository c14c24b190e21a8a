//! Incremental scoring (issue 7) gives exactly what scoring everything from
//! scratch gives. A seeded random company (shared meetings, declined and
//! cancelled copies, series, prospects, clients known only by name) goes
//! through random edits — events added, moved, retitled, declined, deleted;
//! orders added, cancelled, changed, deleted; clients edited; time moving on
//! — and after every sync + score the stored meetings must equal a full
//! in-memory classification of the same data, the ledger's entries must add
//! up to them, and a second score must touch nothing.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{attendee, event, ics, Company};
use meetledger::config::Config;
use meetledger::ledger::changes::MeetingRecord;
use meetledger::ledger::period::Period;
use meetledger::ledger::Store;
use meetledger::pipeline;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CLIENTS: [(&str, &str, &str); 8] = [
    ("c1", "ООО Ромашка", "romashka.ru"),
    ("c2", "АО Вектор", "vector.example"),
    ("c3", "ИП Сидоров", ""),
    ("c4", "ООО Гранит", "granit.example"),
    ("c5", "ЗАО Полюс", "polus.example"),
    ("c6", "ООО Берёза", ""),
    ("c7", "АО Север", "sever.example"),
    ("c8", "ООО Альфа", "alfa.example"),
];

#[derive(Clone)]
struct Ev {
    uid: String,
    /// Calendars holding a copy: 0 = ivanov, 1 = petrova.
    copies: Vec<usize>,
    day: i64,
    hour: u32,
    minutes: u32,
    title: String,
    guest: String,
    declined_by: Option<usize>,
    cancelled: bool,
    weekly: bool,
}

#[derive(Clone)]
struct Ord {
    id: String,
    client: usize,
    day: i64,
    amount: u32,
    cancelled: bool,
}

struct World {
    rng: StdRng,
    events: Vec<Ev>,
    orders: Vec<Ord>,
    /// Extra domain per client (a client edit).
    extra_domain: Vec<Option<String>>,
    now: DateTime<Utc>,
    next_id: usize,
}

const MANAGERS: [&str; 2] = ["ivanov", "petrova"];

fn base_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap()
}

impl World {
    fn new(seed: u64) -> World {
        let mut world = World {
            rng: StdRng::seed_from_u64(seed),
            events: vec![],
            orders: vec![],
            extra_domain: vec![None; CLIENTS.len()],
            now: Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap(),
            next_id: 0,
        };
        for _ in 0..40 {
            let e = world.random_event();
            world.events.push(e);
        }
        for _ in 0..30 {
            let o = world.random_order();
            world.orders.push(o);
        }
        world
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn random_guest(&mut self) -> String {
        let c = self.rng.random_range(0..CLIENTS.len() + 3);
        match c {
            n if n < CLIENTS.len() => {
                let (_, name, domain) = CLIENTS[n];
                if domain.is_empty() {
                    // Known only by name: the title carries it.
                    format!("title:{name}")
                } else {
                    format!("boss@{domain}")
                }
            }
            n if n == CLIENTS.len() => format!("lead{}@gmail.com", self.rng.random_range(0..3)),
            n if n == CLIENTS.len() + 1 => {
                format!("ceo@prospect{}.example", self.rng.random_range(0..3))
            }
            _ => String::new(), // internal
        }
    }

    fn random_event(&mut self) -> Ev {
        let uid = self.id("ev");
        let shared = self.rng.random_bool(0.25);
        let owner = self.rng.random_range(0..2);
        let copies = if shared { vec![0, 1] } else { vec![owner] };
        Ev {
            uid,
            copies,
            day: self.rng.random_range(0..150),
            hour: self.rng.random_range(9..18),
            minutes: [15, 45, 60, 90][self.rng.random_range(0..4)],
            title: ["Встреча", "Переговоры", "Визит", "Обед"][self.rng.random_range(0..4)].into(),
            guest: self.random_guest(),
            declined_by: self
                .rng
                .random_bool(0.1)
                .then(|| self.rng.random_range(0..2)),
            cancelled: self.rng.random_bool(0.05),
            weekly: self.rng.random_bool(0.15),
        }
    }

    fn random_order(&mut self) -> Ord {
        Ord {
            id: self.id("o"),
            client: self.rng.random_range(0..CLIENTS.len()),
            day: self.rng.random_range(0..180),
            amount: self.rng.random_range(1..20) * 10_000,
            cancelled: self.rng.random_bool(0.05),
        }
    }

    /// One random edit of the world.
    fn edit(&mut self) -> &'static str {
        let n = self.events.len();
        let m = self.orders.len();
        match self.rng.random_range(0..12) {
            0 => {
                let e = self.random_event();
                self.events.push(e);
                "event added"
            }
            1 if n > 0 => {
                self.events.remove(self.rng.random_range(0..n));
                "event deleted"
            }
            2 if n > 0 => {
                let i = self.rng.random_range(0..n);
                self.events[i].day += self.rng.random_range(-20..20);
                "event moved"
            }
            3 if n > 0 => {
                let i = self.rng.random_range(0..n);
                self.events[i].guest = self.random_guest();
                "guest changed"
            }
            4 if n > 0 => {
                let i = self.rng.random_range(0..n);
                let e = &mut self.events[i];
                e.declined_by = match e.declined_by {
                    Some(_) => None,
                    None => Some(e.copies[0]),
                };
                "decline toggled"
            }
            5 if n > 0 => {
                let i = self.rng.random_range(0..n);
                let e = &mut self.events[i];
                if e.copies.len() == 2 {
                    e.copies.pop();
                } else {
                    e.copies = vec![0, 1];
                }
                "copy added or removed"
            }
            6 => {
                let o = self.random_order();
                self.orders.push(o);
                "order added"
            }
            7 if m > 0 => {
                let i = self.rng.random_range(0..m);
                self.orders[i].cancelled = !self.orders[i].cancelled;
                "order cancelled or restored"
            }
            8 if m > 0 => {
                let i = self.rng.random_range(0..m);
                self.orders[i].amount = self.rng.random_range(1..20) * 10_000;
                "order amount changed"
            }
            9 if m > 0 => {
                self.orders.remove(self.rng.random_range(0..m));
                "order deleted"
            }
            10 => {
                let c = self.rng.random_range(0..CLIENTS.len());
                self.extra_domain[c] = match self.extra_domain[c] {
                    Some(_) => None,
                    None => Some(format!("prospect{}.example", self.rng.random_range(0..3))),
                };
                "client domain changed"
            }
            _ => {
                self.now += Duration::days(self.rng.random_range(1..25));
                "time moved on"
            }
        }
    }

    fn write(&self, company: &Company) {
        for (calendar, manager) in MANAGERS.iter().enumerate() {
            let mut blocks = Vec::new();
            for e in self.events.iter().filter(|e| e.copies.contains(&calendar)) {
                let start = base_day() + Duration::days(e.day) + Duration::hours(e.hour as i64);
                let local = start.format("%Y%m%dT%H%M%S").to_string();
                let mut extra: Vec<String> = Vec::new();
                let mut title = e.title.clone();
                if let Some(name) = e.guest.strip_prefix("title:") {
                    title = format!("{title} {name}");
                } else if !e.guest.is_empty() {
                    extra.push(attendee(&e.guest, "ACCEPTED"));
                }
                for (i, other) in MANAGERS.iter().enumerate() {
                    // A decline shows only in the decliner's own copy (the
                    // organizer's copy has not heard back): adding or
                    // removing that copy changes who took part.
                    let partstat = match e.declined_by {
                        Some(d) if d == i && calendar == i => "DECLINED",
                        Some(d) if d == i => "NEEDS-ACTION",
                        _ => "ACCEPTED",
                    };
                    if e.copies.contains(&i) || e.declined_by == Some(i) {
                        extra.push(attendee(&format!("{other}@acme.example"), partstat));
                    }
                }
                if e.copies.len() == 2 {
                    extra.push("ORGANIZER:mailto:ivanov@acme.example".into());
                } else {
                    extra.push(format!("ORGANIZER:mailto:{manager}@acme.example"));
                }
                if e.cancelled {
                    extra.push("STATUS:CANCELLED".into());
                }
                if e.weekly {
                    extra.push("RRULE:FREQ=WEEKLY;COUNT=4".into());
                }
                let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                blocks.push(event(&e.uid, &local, e.minutes, &title, &extra));
            }
            company.write(&format!("calendars/{manager}.ics"), &ics(&blocks));
        }
        let mut clients = String::from("id,name,domains,emails,manager,key\n");
        for (i, (id, name, domain)) in CLIENTS.iter().enumerate() {
            let mut domains = domain.to_string();
            if let Some(extra) = &self.extra_domain[i] {
                if !domains.is_empty() {
                    domains.push(';');
                }
                domains.push_str(extra);
            }
            let manager = MANAGERS[i % 2];
            clients.push_str(&format!("{id},\"{name}\",{domains},,{manager},no\n"));
        }
        company.write("crm/clients.csv", &clients);
        let rows: Vec<String> = self
            .orders
            .iter()
            .map(|o| {
                let at = base_day() + Duration::days(o.day) + Duration::hours(12);
                let status = if o.cancelled { "cancelled" } else { "paid" };
                format!(
                    "{},{},{},{},RUB,{status},",
                    o.id,
                    CLIENTS[o.client].0,
                    at.to_rfc3339(),
                    o.amount
                )
            })
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        company.orders(&rows);
    }
}

fn full_recompute(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> BTreeMap<String, MeetingRecord> {
    pipeline::compute(config, store, now)
        .unwrap()
        .scored
        .iter()
        .map(MeetingRecord::from_scored)
        .map(|r| (r.key(), r))
        .collect()
}

/// The entries' deltas summed per meeting equal the meetings' weights and
/// scores: the ledger explains the state exactly.
fn assert_entries_add_up(store: &Store, tz: chrono_tz::Tz) {
    let meetings = store.meetings().unwrap();
    let mut net: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut month: Period = "2026-07".parse().unwrap();
    for _ in 0..12 {
        for e in store.entries_in(month).unwrap() {
            let n = net.entry(e.meeting_key.clone()).or_default();
            n.0 += e.weight_delta;
            n.1 += e.score_delta;
        }
        month = month.next();
    }
    for (key, m) in &meetings {
        let (w, s) = net.remove(key).unwrap_or_default();
        assert!(
            (w - m.weight).abs() < 1e-9,
            "{key}: weight {w} vs {}",
            m.weight
        );
        let score = m.score.unwrap_or(0.0);
        assert!((s - score).abs() < 1e-9, "{key}: score {s} vs {score}");
    }
    for (key, (w, s)) in net {
        assert!(
            w.abs() < 1e-9 && s.abs() < 1e-9,
            "{key}: gone but nets {w}/{s}"
        );
    }
    let _ = tz;
}

fn run_seed(seed: u64, steps: usize) {
    let company = Company::new("");
    let mut world = World::new(seed);
    world.write(&company);
    let config = Config::load(&company.config()).unwrap_or_else(|e| panic!("{e}"));
    let mut store = Store::open(&company.path("ledger.db")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for step in 0..steps {
        let mut did = Vec::new();
        if step > 0 {
            for _ in 0..world.rng.random_range(1..4) {
                did.push(world.edit());
            }
            world.write(&company);
        }
        let now = world.now;
        runtime
            .block_on(pipeline::sync(&config, &mut store, now))
            .unwrap();
        let summary = pipeline::score_and_book(&config, &mut store, now).unwrap();
        let stored = store.meetings().unwrap();
        let expected = full_recompute(&config, &store, now);
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "seed {seed} step {step} after {did:?} ({summary:?}): meeting keys differ"
        );
        for (key, record) in &expected {
            assert_eq!(
                &stored[key], record,
                "seed {seed} step {step} after {did:?} ({summary:?}): {key}"
            );
        }
        assert_entries_add_up(&store, config.tz());

        let again = pipeline::score_and_book(&config, &mut store, now).unwrap();
        assert_eq!(
            (
                again.added,
                again.rescored,
                again.removed,
                again.reread,
                again.parties
            ),
            (0, 0, 0, 0, 0),
            "seed {seed} step {step}: a second run must touch nothing"
        );
    }
}

#[test]
fn incremental_scoring_equals_scoring_everything_over_random_edits() {
    let seeds: u64 = std::env::var("MEETLEDGER_INCREMENTAL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    for seed in 0..seeds {
        run_seed(seed, 25);
    }
}

#[test]
fn an_order_change_rescores_only_its_client() {
    let company = Company::new("");
    let mut world = World::new(99);
    world.write(&company);
    let config = Config::load(&company.config()).unwrap();
    let mut store = Store::open(&company.path("ledger.db")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = world.now;
    runtime
        .block_on(pipeline::sync(&config, &mut store, now))
        .unwrap();
    let first = pipeline::score_and_book(&config, &mut store, now).unwrap();
    assert!(first.full && first.parties > 1, "{first:?}");

    let o = world.random_order();
    let client = CLIENTS[o.client].0;
    world.orders.push(o);
    world.write(&company);
    runtime
        .block_on(pipeline::sync(&config, &mut store, now))
        .unwrap();
    let second = pipeline::score_and_book(&config, &mut store, now).unwrap();
    assert!(!second.full, "{second:?}");
    assert_eq!(
        (second.reread, second.parties),
        (0, 1),
        "{client}: {second:?}"
    );
}

/// A copy that arrives for an instance already scored, reading as nothing
/// on its own (its owner declined), still changes that instance's credit:
/// the run must rescore the parties of the instance's other copies.
#[test]
fn a_declined_copy_arriving_later_moves_the_credit() {
    let company = Company::new("");
    let invite = |partstat: &str| {
        event(
            "shared@acme",
            "20261005T100000",
            60,
            "Визит",
            &[
                "ORGANIZER:mailto:ivanov@acme.example",
                &attendee("ivanov@acme.example", "ACCEPTED"),
                &attendee("petrova@acme.example", partstat),
                &attendee("info@vector.example", "ACCEPTED"),
            ],
        )
    };
    company.write("calendars/ivanov.ics", &ics(&[invite("NEEDS-ACTION")]));
    let config = Config::load(&company.config()).unwrap();
    let mut store = Store::open(&company.path("ledger.db")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now: DateTime<Utc> = "2026-11-27T15:00:00Z".parse().unwrap();
    let mut managers = Vec::new();
    for step in 0..2 {
        if step == 1 {
            company.write("calendars/petrova.ics", &ics(&[invite("DECLINED")]));
        }
        runtime
            .block_on(pipeline::sync(&config, &mut store, now))
            .unwrap();
        pipeline::score_and_book(&config, &mut store, now).unwrap();
        let stored = store.meetings().unwrap();
        assert_eq!(stored, full_recompute(&config, &store, now), "step {step}");
        managers.push(
            stored
                .values()
                .map(|m| m.manager.clone())
                .collect::<Vec<_>>(),
        );
    }
    // c2 is Petrova's client: hers while she seemed to attend, Ivanov's once
    // her own copy says she declined.
    assert_eq!(
        managers,
        vec![vec!["petrova".to_string()], vec!["ivanov".to_string()]]
    );
}
