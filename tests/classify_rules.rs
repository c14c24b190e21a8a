//! SPEC §4 "Classification", rule by rule, through the public API: calendar
//! occurrences, CRM clients and orders in; decisions and credited meetings out.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use meetledger::classify::{classify, Classification, ClassifyContext, Decision};
use meetledger::config::{CreditPolicy, ManagerConfig, OverrideConfig, Plan, ScoringConfig};
use meetledger::model::{
    Attendee, Client, ClientStatus, Counterparty, EventStatus, Exclusion, MatchRule, Meeting,
    MeetingKind, Occurrence, Order, PartStat,
};
use meetledger::score::OrderBook;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// "Now" in every scenario; events start before it unless a test says so.
const NOW: &str = "2026-03-31T12:00:00Z";
/// When the default event starts.
const T0: &str = "2026-03-10T10:00:00Z";

/// The company: three managers with their calendars, one org-wide calendar,
/// and a small CRM.
struct World {
    settings: ScoringConfig,
    company_domains: Vec<String>,
    managers: Vec<ManagerConfig>,
    calendar_owner: HashMap<String, Option<String>>,
    clients: Vec<Client>,
    orders: Vec<Order>,
    overrides: Vec<OverrideConfig>,
}

fn manager(id: &str) -> ManagerConfig {
    ManagerConfig {
        id: id.into(),
        name: id.into(),
        email: format!("{id}@acme.example"),
        emails: vec![],
        plan: Plan::default(),
        crm_user: vec![],
    }
}

fn client(
    id: &str,
    name: &str,
    domains: &[&str],
    emails: &[&str],
    manager: Option<&str>,
) -> Client {
    Client {
        id: id.into(),
        name: name.into(),
        aliases: vec![],
        domains: domains.iter().map(|d| d.to_string()).collect(),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        manager: manager.map(str::to_string),
        key: false,
    }
}

impl World {
    fn new() -> World {
        let calendar_owner = [
            ("ivanov-main", Some("ivanov")),
            ("petrov-main", Some("petrov")),
            ("sidorov-main", Some("sidorov")),
            ("org", None),
        ]
        .into_iter()
        .map(|(c, m)| (c.to_string(), m.map(str::to_string)))
        .collect();
        World {
            settings: ScoringConfig::default(),
            company_domains: vec!["acme.example".into()],
            managers: vec![manager("ivanov"), manager("petrov"), manager("sidorov")],
            calendar_owner,
            clients: vec![
                client(
                    "c1",
                    "ООО Ромашка",
                    &["romashka.ru"],
                    &["boss@romashka.ru"],
                    Some("petrov"),
                ),
                client(
                    "c2",
                    "АО «Лютик»",
                    &["lutik.ru"],
                    &["lutik.director@gmail.com"],
                    None,
                ),
                client("c3", "Ёлка", &["elka.example"], &[], Some("ivanov")),
            ],
            orders: vec![],
            overrides: vec![],
        }
    }

    fn classify(&self, occurrences: &[Occurrence]) -> Classification {
        let orders = OrderBook::new(&self.orders);
        let ctx = ClassifyContext {
            settings: &self.settings,
            company_domains: &self.company_domains,
            tz: chrono_tz::Europe::Moscow,
            now: at(NOW),
            managers: &self.managers,
            calendar_owner: &self.calendar_owner,
            clients: &self.clients,
            orders: &orders,
            overrides: &self.overrides,
        };
        classify(occurrences, &ctx)
    }

    /// The decision for a single occurrence classified alone.
    fn decide(&self, occurrence: Occurrence) -> Decision {
        self.classify(&[occurrence]).decisions.remove(0)
    }
}

fn person(email: &str, partstat: PartStat) -> Attendee {
    Attendee {
        email: email.into(),
        name: None,
        partstat,
        role: None,
    }
}

/// An hour-long event at T0 in `calendar`, organized by that calendar's
/// manager, with one accepted guest from Ромашка unless a test changes it.
fn event(calendar: &str, uid: &str) -> Occurrence {
    let owner = calendar.split('-').next().unwrap();
    Occurrence {
        calendar: calendar.into(),
        uid: uid.into(),
        recurrence_id: None,
        start: at(T0),
        end: at(T0) + Duration::hours(1),
        all_day: false,
        tz: Some("Europe/Moscow".into()),
        title: "Встреча".into(),
        location: None,
        tags: vec![],
        description_video_link: false,
        url: None,
        organizer: Some(person(&format!("{owner}@acme.example"), PartStat::Accepted)),
        attendees: vec![person("anna@romashka.ru", PartStat::Accepted)],
        status: EventStatus::Confirmed,
        transparent: false,
        conference: None,
        private: false,
    }
}

fn with_guests(mut occurrence: Occurrence, guests: &[(&str, PartStat)]) -> Occurrence {
    occurrence.attendees = guests.iter().map(|(e, p)| person(e, *p)).collect();
    occurrence
}

fn titled(mut occurrence: Occurrence, title: &str) -> Occurrence {
    occurrence.title = title.into();
    occurrence
}

fn starting(mut occurrence: Occurrence, start: DateTime<Utc>) -> Occurrence {
    let length = occurrence.end - occurrence.start;
    occurrence.start = start;
    occurrence.end = start + length;
    occurrence
}

fn excluded(decision: &Decision) -> Option<Exclusion> {
    decision.exclusion
}

fn only_meeting(result: &Classification) -> &Meeting {
    assert_eq!(
        result.meetings.len(),
        1,
        "expected one meeting, got {:#?}",
        result.meetings
    );
    &result.meetings[0]
}

use PartStat::{Accepted, Declined, NeedsAction};

// ---- a plain meeting ----

#[test]
fn an_accepted_external_guest_makes_a_client_meeting() {
    let result = World::new().classify(&[event("ivanov-main", "e1")]);
    let meeting = only_meeting(&result);
    assert_eq!(meeting.manager, "ivanov");
    assert_eq!(meeting.counterparty, Counterparty::Client("c1".into()));
    assert_eq!(meeting.rule, MatchRule::Domain);
    assert_eq!(meeting.kind, MeetingKind::InPerson);
    assert_eq!(meeting.weight, 1.0);
    assert_eq!(meeting.client_status, ClientStatus::New);
    assert_eq!(
        (
            meeting.calendar.as_str(),
            meeting.uid.as_str(),
            meeting.start
        ),
        ("ivanov-main", "e1", at(T0))
    );
    let decision = &result.decisions[0];
    assert_eq!(decision.exclusion, None);
    assert_eq!(decision.meeting.as_ref(), Some(meeting));
}

// ---- exclusions, in SPEC order ----

#[test]
fn cancelled_event_is_excluded() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.status = EventStatus::Cancelled;
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        Some(Exclusion::Cancelled)
    );
}

#[test]
fn event_the_manager_declined_is_excluded() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.organizer = Some(person("anna@romashka.ru", Accepted));
    occurrence
        .attendees
        .push(person("ivanov@acme.example", Declined));
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        Some(Exclusion::Declined)
    );
}

#[test]
fn manager_takes_part_in_own_calendar_event_unless_declined() {
    // Not on the list at all: still theirs.
    let mut unlisted = event("ivanov-main", "e1");
    unlisted.organizer = Some(person("anna@romashka.ru", Accepted));
    assert_eq!(excluded(&World::new().decide(unlisted)), None);
    // Not answered yet: takes part.
    let mut unanswered = event("ivanov-main", "e2");
    unanswered.organizer = Some(person("anna@romashka.ru", Accepted));
    unanswered
        .attendees
        .push(person("IVANOV@acme.example", NeedsAction));
    assert_eq!(excluded(&World::new().decide(unanswered)), None);
}

#[test]
fn event_without_attendees_is_the_calendar_owners() {
    let mut occurrence = titled(event("ivanov-main", "e1"), "Встреча ООО Ромашка");
    occurrence.organizer = None;
    occurrence.attendees.clear();
    let result = World::new().classify(&[occurrence]);
    let meeting = only_meeting(&result);
    assert_eq!(meeting.manager, "ivanov");
    assert_eq!(meeting.rule, MatchRule::Title);
}

#[test]
fn all_day_event_is_excluded() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.all_day = true;
    occurrence.start = at("2026-03-10T00:00:00Z");
    occurrence.end = at("2026-03-11T00:00:00Z");
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        Some(Exclusion::AllDay)
    );
}

#[test]
fn event_shown_as_free_is_excluded() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.transparent = true;
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        Some(Exclusion::Free)
    );
}

#[test]
fn event_shorter_than_min_minutes_is_too_short() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.end = occurrence.start + Duration::minutes(14);
    assert_eq!(
        excluded(&World::new().decide(occurrence.clone())),
        Some(Exclusion::TooShort)
    );
    occurrence.end = occurrence.start + Duration::minutes(15);
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        None,
        "exactly min_minutes is enough"
    );
}

#[test]
fn event_longer_than_max_hours_is_too_long() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.end = occurrence.start + Duration::hours(10) + Duration::minutes(1);
    assert_eq!(
        excluded(&World::new().decide(occurrence.clone())),
        Some(Exclusion::TooLong)
    );
    occurrence.end = occurrence.start + Duration::hours(10);
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        None,
        "exactly max_hours is allowed"
    );
}

#[test]
fn excluded_title_pattern_excludes_but_only_as_a_word_beginning() {
    let lunch = titled(event("ivanov-main", "e1"), "Обед с Ромашкой");
    assert_eq!(
        excluded(&World::new().decide(lunch)),
        Some(Exclusion::ExcludedTitle)
    );
    let english = titled(event("ivanov-main", "e2"), "Business LUNCH");
    assert_eq!(
        excluded(&World::new().decide(english)),
        Some(Exclusion::ExcludedTitle)
    );
    // "Победа" contains "обед" but is a client's name, not a lunch.
    let victory = titled(event("ivanov-main", "e3"), "Встреча в ООО Победа");
    assert_eq!(excluded(&World::new().decide(victory)), None);
}

#[test]
fn event_with_colleagues_only_is_internal() {
    let occurrence = with_guests(
        titled(event("ivanov-main", "e1"), "Планёрка"),
        &[
            ("petrov@acme.example", Accepted),
            ("boss@msk.acme.example", Accepted),
        ],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(decision.exclusion, Some(Exclusion::Internal));
    assert_eq!(decision.counterparty, None);
}

#[test]
fn future_event_is_excluded_but_still_read() {
    let occurrence = starting(event("ivanov-main", "e1"), at(NOW) + Duration::days(2));
    let decision = World::new().decide(occurrence);
    assert_eq!(decision.exclusion, Some(Exclusion::Future));
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Client("c1".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Domain));
    assert_eq!(decision.kind, Some(MeetingKind::InPerson));
    assert_eq!(decision.meeting, None);
}

#[test]
fn first_exclusion_in_spec_order_wins() {
    let mut occurrence = titled(event("ivanov-main", "e1"), "Обед");
    occurrence.status = EventStatus::Cancelled;
    occurrence.all_day = true;
    occurrence.transparent = true;
    assert_eq!(
        excluded(&World::new().decide(occurrence.clone())),
        Some(Exclusion::Cancelled)
    );
    occurrence.status = EventStatus::Confirmed;
    assert_eq!(
        excluded(&World::new().decide(occurrence.clone())),
        Some(Exclusion::AllDay)
    );
    occurrence.all_day = false;
    assert_eq!(
        excluded(&World::new().decide(occurrence.clone())),
        Some(Exclusion::Free)
    );
    occurrence.transparent = false;
    assert_eq!(
        excluded(&World::new().decide(occurrence)),
        Some(Exclusion::ExcludedTitle)
    );
}

// ---- corrections ----

#[test]
fn nomeeting_tag_in_title_or_description_excludes_as_override() {
    let tagged = titled(event("ivanov-main", "e1"), "Встреча #nomeeting");
    assert_eq!(
        excluded(&World::new().decide(tagged)),
        Some(Exclusion::Override)
    );
    let mut described = event("ivanov-main", "e2");
    described.read_description("личное, #NoMeeting");
    assert_eq!(
        excluded(&World::new().decide(described)),
        Some(Exclusion::Override)
    );
}

#[test]
fn client_tag_names_the_client_with_rule_override() {
    let occurrence = titled(event("ivanov-main", "e1"), "Встреча #client:c2");
    let result = World::new().classify(&[occurrence]);
    let meeting = only_meeting(&result);
    assert_eq!(meeting.counterparty, Counterparty::Client("c2".into()));
    assert_eq!(meeting.rule, MatchRule::Override);
}

fn admin_override(
    uid: &str,
    recurrence_id: Option<&str>,
    exclude: bool,
    client: Option<&str>,
) -> OverrideConfig {
    OverrideConfig {
        calendar: "ivanov-main".into(),
        uid: uid.into(),
        recurrence_id: recurrence_id.map(str::to_string),
        exclude,
        client: client.map(str::to_string),
        by: "admin".into(),
        why: "test".into(),
    }
}

#[test]
fn administrator_override_excludes_or_sets_the_client() {
    let mut world = World::new();
    world.overrides = vec![
        admin_override("e1", None, true, None),
        admin_override("e2", None, false, Some("c3")),
    ];
    let result = world.classify(&[event("ivanov-main", "e1"), event("ivanov-main", "e2")]);
    assert_eq!(result.decisions[0].exclusion, Some(Exclusion::Override));
    let meeting = only_meeting(&result);
    assert_eq!(
        (meeting.uid.as_str(), &meeting.counterparty),
        ("e2", &Counterparty::Client("c3".into()))
    );
    assert_eq!(meeting.rule, MatchRule::Override);
}

#[test]
fn administrator_override_can_target_one_instance_of_a_series() {
    let mut world = World::new();
    world.overrides = vec![admin_override(
        "series",
        Some("2026-03-17T10:00:00+00:00"),
        true,
        None,
    )];
    let mut first = event("ivanov-main", "series");
    first.recurrence_id = Some(at(T0));
    let mut second = starting(event("ivanov-main", "series"), at("2026-03-17T10:00:00Z"));
    second.recurrence_id = Some(second.start);
    let result = world.classify(&[first, second]);
    assert_eq!(result.decisions[0].exclusion, None);
    assert_eq!(result.decisions[1].exclusion, Some(Exclusion::Override));
}

#[test]
fn exclusion_override_on_one_copy_drops_every_copy_of_the_instance() {
    let mut world = World::new();
    world.overrides = vec![admin_override("shared", None, true, None)];
    let result = world.classify(&shared_event("sidorov", "shared"));
    assert!(result.meetings.is_empty(), "{:#?}", result.meetings);
    assert!(result
        .decisions
        .iter()
        .all(|d| d.exclusion == Some(Exclusion::Override)));
}

#[test]
fn administrator_override_beats_tags_in_the_event() {
    let mut world = World::new();
    world.overrides = vec![admin_override("e1", None, false, Some("c3"))];
    let occurrence = titled(event("ivanov-main", "e1"), "Встреча #nomeeting #client:c2");
    let result = world.classify(&[occurrence]);
    assert_eq!(
        only_meeting(&result).counterparty,
        Counterparty::Client("c3".into())
    );
}

#[test]
fn client_tag_finds_the_crm_id_whatever_its_case() {
    let mut world = World::new();
    world.clients[0].id = "RM-1".into();
    let occurrence = with_guests(titled(event("ivanov-main", "e1"), "Визит"), &[]);
    let mut occurrence = occurrence;
    occurrence.read_description("#client:rm-1");
    assert_eq!(
        world.decide(occurrence).counterparty,
        Some(Counterparty::Client("RM-1".into()))
    );
}

// ---- client matching ----

#[test]
fn contact_email_matches_by_email_even_on_a_public_domain() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("Lutik.Director@gmail.com", Accepted)],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Client("c2".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Email));
}

#[test]
fn attendee_domain_matches_a_client_domain() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("someone@lutik.ru", Accepted)],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Client("c2".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Domain));
}

#[test]
fn public_mailbox_domain_never_matches_a_client_and_keys_the_prospect_by_email() {
    let mut world = World::new();
    // A CRM row that wrongly lists gmail.com as a client's domain.
    world
        .clients
        .push(client("c9", "Gmail Lovers", &["gmail.com"], &[], None));
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("stranger@gmail.com", Accepted)],
    );
    let decision = world.decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Prospect("stranger@gmail.com".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Prospect));
}

#[test]
fn company_domain_never_matches_a_client() {
    let mut world = World::new();
    world
        .clients
        .push(client("c9", "Ourselves", &["acme.example"], &[], None));
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("petrov@acme.example", Accepted)],
    );
    assert_eq!(
        world.decide(occurrence).exclusion,
        Some(Exclusion::Internal)
    );
}

#[test]
fn external_guest_who_declined_is_ignored() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("anna@romashka.ru", Declined)],
    );
    assert_eq!(
        World::new().decide(occurrence).exclusion,
        Some(Exclusion::Internal)
    );
}

#[test]
fn external_guest_who_has_not_answered_counts() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("anna@romashka.ru", NeedsAction)],
    );
    assert_eq!(
        World::new().decide(occurrence).counterparty,
        Some(Counterparty::Client("c1".into()))
    );
}

#[test]
fn external_organizer_counts_as_a_participant() {
    let mut occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[("ivanov@acme.example", Accepted)],
    );
    occurrence.organizer = Some(person("ceo@lutik.ru", Accepted));
    assert_eq!(
        World::new().decide(occurrence).counterparty,
        Some(Counterparty::Client("c2".into()))
    );
}

#[test]
fn title_names_the_client_ignoring_legal_forms_and_quotes() {
    let occurrence = with_guests(
        titled(event("ivanov-main", "e1"), "Встреча ООО «Ромашка»"),
        &[],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Client("c1".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Title));
}

#[test]
fn title_matching_folds_case_and_yo() {
    // Client "АО «Лютик»" written plainly, client "Ёлка" written with е.
    let lutik = with_guests(
        titled(event("ivanov-main", "e1"), "визит: ЛЮТИК, склад"),
        &[],
    );
    assert_eq!(
        World::new().decide(lutik).counterparty,
        Some(Counterparty::Client("c2".into()))
    );
    let elka = with_guests(titled(event("ivanov-main", "e2"), "Переговоры Елка"), &[]);
    assert_eq!(
        World::new().decide(elka).counterparty,
        Some(Counterparty::Client("c3".into()))
    );
}

#[test]
fn title_matching_needs_whole_words() {
    let occurrence = with_guests(titled(event("ivanov-main", "e1"), "Ромашковое поле"), &[]);
    assert_eq!(
        World::new().decide(occurrence).exclusion,
        Some(Exclusion::Internal)
    );
}

#[test]
fn location_and_aliases_name_clients_too() {
    let mut world = World::new();
    world.clients[1].aliases = vec!["Buttercup".into()];
    let mut in_location = with_guests(event("ivanov-main", "e1"), &[]);
    in_location.location = Some("офис Ромашка, Москва".into());
    assert_eq!(
        world.decide(in_location).counterparty,
        Some(Counterparty::Client("c1".into()))
    );
    let by_alias = with_guests(titled(event("ivanov-main", "e2"), "Visit Buttercup"), &[]);
    assert_eq!(
        world.decide(by_alias).counterparty,
        Some(Counterparty::Client("c2".into()))
    );
}

#[test]
fn title_rule_can_be_switched_off() {
    let mut world = World::new();
    world.settings.match_titles = false;
    let occurrence = with_guests(
        titled(event("ivanov-main", "e1"), "Встреча ООО Ромашка"),
        &[],
    );
    assert_eq!(
        world.decide(occurrence).exclusion,
        Some(Exclusion::Internal)
    );
}

#[test]
fn unknown_external_domain_is_a_prospect_keyed_by_domain() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[
            ("zed@newco.example", Accepted),
            ("amy@newco.example", Accepted),
            ("x@gmail.com", Accepted),
        ],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Prospect("newco.example".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Prospect));
}

#[test]
fn an_address_no_one_can_have_is_not_credited_as_a_prospect() {
    let hostile = with_guests(
        event("ivanov-main", "e1"),
        &[("ceo@<script>.evil.example", Accepted)],
    );
    let decision = World::new().decide(hostile);
    assert_eq!(decision.counterparty, None);
    assert_eq!(decision.exclusion, Some(Exclusion::Internal));

    // Beside a real guest, the real one is the prospect.
    let mixed = with_guests(
        event("ivanov-main", "e2"),
        &[
            ("ceo@<script>.evil.example", Accepted),
            ("zed@newco.example", Accepted),
        ],
    );
    assert_eq!(
        World::new().decide(mixed).counterparty,
        Some(Counterparty::Prospect("newco.example".into()))
    );
}

#[test]
fn prospect_key_does_not_depend_on_attendee_order() {
    let guests = [("b@beta.example", Accepted), ("a@alpha.example", Accepted)];
    let forward = with_guests(event("ivanov-main", "e1"), &guests);
    let mut reversed_guests = guests;
    reversed_guests.reverse();
    let backward = with_guests(event("ivanov-main", "e1"), &reversed_guests);
    let world = World::new();
    assert_eq!(
        world.decide(forward).counterparty,
        Some(Counterparty::Prospect("alpha.example".into()))
    );
    assert_eq!(
        world.decide(backward).counterparty,
        Some(Counterparty::Prospect("alpha.example".into()))
    );
}

// ---- tie-breaks ----

#[test]
fn earliest_rule_wins_over_more_attendees() {
    // Two Ромашка people by domain, one Лютик contact by email: email wins.
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[
            ("a@romashka.ru", Accepted),
            ("b@romashka.ru", Accepted),
            ("lutik.director@gmail.com", Accepted),
        ],
    );
    let decision = World::new().decide(occurrence);
    assert_eq!(
        decision.counterparty,
        Some(Counterparty::Client("c2".into()))
    );
    assert_eq!(decision.rule, Some(MatchRule::Email));
}

#[test]
fn within_a_rule_the_client_with_most_attendees_wins() {
    let occurrence = with_guests(
        event("ivanov-main", "e1"),
        &[
            ("a@romashka.ru", Accepted),
            ("b@lutik.ru", Accepted),
            ("c@lutik.ru", Accepted),
        ],
    );
    assert_eq!(
        World::new().decide(occurrence).counterparty,
        Some(Counterparty::Client("c2".into()))
    );
}

#[test]
fn then_the_smallest_client_id_wins() {
    let by_domain = with_guests(
        event("ivanov-main", "e1"),
        &[("b@lutik.ru", Accepted), ("a@romashka.ru", Accepted)],
    );
    assert_eq!(
        World::new().decide(by_domain).counterparty,
        Some(Counterparty::Client("c1".into()))
    );
    let by_title = with_guests(titled(event("ivanov-main", "e2"), "Лютик и Ромашка"), &[]);
    assert_eq!(
        World::new().decide(by_title).counterparty,
        Some(Counterparty::Client("c1".into()))
    );
}

// ---- kinds ----

fn kind_of(occurrence: Occurrence) -> (MeetingKind, f64) {
    let result = World::new().classify(&[occurrence]);
    let meeting = only_meeting(&result);
    (meeting.kind, meeting.weight)
}

#[test]
fn exhibition_keyword_stem_in_title_makes_an_exhibition() {
    let occurrence = titled(event("ivanov-main", "e1"), "Стенд на выставке Иннопром");
    assert_eq!(kind_of(occurrence), (MeetingKind::Exhibition, 0.5));
}

#[test]
fn call_keyword_stem_in_title_makes_a_call_even_with_a_video_link() {
    let mut occurrence = titled(event("ivanov-main", "e1"), "Созвон по договору");
    occurrence.conference = Some("https://meet.google.com/abc-defg-hij".into());
    assert_eq!(kind_of(occurrence), (MeetingKind::Call, 0.0));
}

#[test]
fn keywords_count_in_the_title_only() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.read_description("после выставки, звонок");
    assert_eq!(kind_of(occurrence).0, MeetingKind::InPerson);
}

#[test]
fn conference_data_makes_an_online_meeting() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.conference = Some("https://teams.microsoft.com/l/meetup-join/1".into());
    assert_eq!(kind_of(occurrence), (MeetingKind::Online, 0.5));
}

#[test]
fn known_video_link_in_location_description_or_url_makes_an_online_meeting() {
    for (field, link) in [
        ("location", "https://telemost.yandex.ru/j/123"),
        (
            "description",
            "Подключайтесь: https://us02web.zoom.us/j/8?pwd=x",
        ),
        ("url", "https://company.ktalk.ru/room"),
    ] {
        let mut occurrence = event("ivanov-main", "e1");
        match field {
            "location" => occurrence.location = Some(link.into()),
            "description" => occurrence.read_description(link),
            _ => occurrence.url = Some(link.into()),
        }
        assert_eq!(
            kind_of(occurrence).0,
            MeetingKind::Online,
            "{field}: {link}"
        );
    }
}

#[test]
fn anything_else_is_in_person() {
    let mut occurrence = event("ivanov-main", "e1");
    occurrence.location = Some("Москва, ул. Тверская 1".into());
    assert_eq!(kind_of(occurrence), (MeetingKind::InPerson, 1.0));
}

// ---- client status ----

fn order(id: &str, client: &str, created: &str, cancelled: bool) -> Order {
    Order {
        id: id.into(),
        client_id: client.into(),
        created_at: at(created),
        amount: 100.0,
        currency: "RUB".into(),
        status: "x".into(),
        cancelled,
        manager: None,
    }
}

#[test]
fn client_without_earlier_orders_is_new_with_one_is_existing() {
    let mut world = World::new();
    world.orders = vec![order("o1", "c1", "2026-03-10T09:59:59Z", false)];
    assert_eq!(
        only_meeting(&world.classify(&[event("ivanov-main", "e1")])).client_status,
        ClientStatus::Existing
    );
    world.orders = vec![order("o1", "c1", T0, false)];
    assert_eq!(
        only_meeting(&world.classify(&[event("ivanov-main", "e1")])).client_status,
        ClientStatus::New,
        "an order at the very start is not before it"
    );
}

#[test]
fn cancelled_orders_do_not_make_a_client_existing() {
    let mut world = World::new();
    world.orders = vec![order("o1", "c1", "2026-01-01T00:00:00Z", true)];
    assert_eq!(
        only_meeting(&world.classify(&[event("ivanov-main", "e1")])).client_status,
        ClientStatus::New
    );
}

#[test]
fn prospects_are_new() {
    let occurrence = with_guests(event("ivanov-main", "e1"), &[("x@newco.example", Accepted)]);
    assert_eq!(
        only_meeting(&World::new().classify(&[occurrence])).client_status,
        ClientStatus::New
    );
}

// ---- dedupe ----

/// The same invitation as seen in two managers' calendars.
fn shared_event(organizer: &str, uid: &str) -> Vec<Occurrence> {
    ["ivanov-main", "sidorov-main"]
        .into_iter()
        .map(|calendar| {
            let mut occurrence = with_guests(
                event(calendar, uid),
                &[
                    ("ivanov@acme.example", Accepted),
                    ("sidorov@acme.example", Accepted),
                    ("x@elka.example", Accepted),
                ],
            );
            occurrence.organizer = Some(person(&format!("{organizer}@acme.example"), Accepted));
            occurrence
        })
        .collect()
}

#[test]
fn same_uid_in_two_calendars_is_one_meeting() {
    let result = World::new().classify(&shared_event("sidorov", "shared"));
    let meeting = only_meeting(&result);
    // Ёлка is assigned to ivanov, who took part: ivanov gets it, reported
    // with his own copy.
    assert_eq!(
        (meeting.manager.as_str(), meeting.calendar.as_str()),
        ("ivanov", "ivanov-main")
    );
    assert_eq!(result.decisions[0].exclusion, None);
    assert_eq!(result.decisions[1].exclusion, Some(Exclusion::Duplicate));
    assert_eq!(
        result.decisions[1].meeting.as_ref(),
        Some(meeting),
        "a duplicate points at the merged meeting"
    );
}

#[test]
fn same_client_within_fifteen_minutes_is_one_meeting_with_the_earliest_start() {
    let early = event("ivanov-main", "a");
    let late = starting(event("petrov-main", "b"), at(T0) + Duration::minutes(10));
    let result = World::new().classify(&[late, early]);
    let meeting = only_meeting(&result);
    assert_eq!(meeting.start, at(T0));
    // Ромашка's manager is petrov and he took part: his copy reports it.
    assert_eq!(
        (meeting.manager.as_str(), meeting.uid.as_str()),
        ("petrov", "b")
    );
}

#[test]
fn same_client_sixteen_minutes_apart_are_two_meetings() {
    let early = event("ivanov-main", "a");
    let late = starting(event("ivanov-main", "b"), at(T0) + Duration::minutes(16));
    assert_eq!(World::new().classify(&[early, late]).meetings.len(), 2);
}

#[test]
fn dedupe_is_transitive() {
    // 0, +10, +20 minutes: the first and last are 20 apart, yet one meeting.
    let occurrences = vec![
        event("ivanov-main", "a"),
        starting(event("ivanov-main", "b"), at(T0) + Duration::minutes(10)),
        starting(event("sidorov-main", "c"), at(T0) + Duration::minutes(20)),
        // The same UID as "c" in another calendar joins through the UID.
        starting(event("ivanov-main", "c"), at(T0) + Duration::minutes(20)),
    ];
    let result = World::new().classify(&occurrences);
    assert_eq!(result.meetings.len(), 1, "{:#?}", result.meetings);
    let duplicates = result
        .decisions
        .iter()
        .filter(|d| d.exclusion == Some(Exclusion::Duplicate))
        .count();
    assert_eq!(duplicates, 3);
}

#[test]
fn different_clients_at_the_same_time_are_two_meetings() {
    let romashka = event("ivanov-main", "a");
    let lutik = with_guests(event("ivanov-main", "b"), &[("x@lutik.ru", Accepted)]);
    assert_eq!(World::new().classify(&[romashka, lutik]).meetings.len(), 2);
}

#[test]
fn an_odd_copy_does_not_chain_another_clients_meeting_in() {
    // ivanov's copy of "x" has the Ромашка guest; sidorov's copy of the same
    // UID lost its guest list and only names Лютик in the title. A real
    // Лютик meeting 5 minutes later stays separate.
    let full = event("ivanov-main", "x");
    let odd = with_guests(titled(event("sidorov-main", "x"), "Встреча Лютик"), &[]);
    let lutik = starting(
        with_guests(event("petrov-main", "y"), &[("z@lutik.ru", Accepted)]),
        at(T0) + Duration::minutes(5),
    );
    let result = World::new().classify(&[odd, lutik, full]);
    let parties: Vec<&Counterparty> = result.meetings.iter().map(|m| &m.counterparty).collect();
    assert_eq!(
        parties,
        [
            &Counterparty::Client("c1".into()),
            &Counterparty::Client("c2".into())
        ]
    );
}

// ---- credit ----

#[test]
fn owner_policy_credits_the_clients_assigned_manager_when_they_took_part() {
    let result = World::new().classify(&shared_event("sidorov", "shared"));
    assert_eq!(only_meeting(&result).manager, "ivanov");
}

#[test]
fn owner_policy_falls_back_to_the_organizer() {
    let mut world = World::new();
    world.clients[2].manager = Some("petrov".into()); // not in the meeting
    let result = world.classify(&shared_event("sidorov", "shared"));
    let meeting = only_meeting(&result);
    assert_eq!(
        (meeting.manager.as_str(), meeting.calendar.as_str()),
        ("sidorov", "sidorov-main")
    );
}

#[test]
fn owner_policy_falls_back_to_the_smallest_manager_id() {
    let mut world = World::new();
    world.clients[2].manager = None;
    let mut occurrences = shared_event("sidorov", "shared");
    for occurrence in &mut occurrences {
        occurrence.organizer = Some(person("x@elka.example", Accepted));
    }
    assert_eq!(
        only_meeting(&world.classify(&occurrences)).manager,
        "ivanov"
    );
}

#[test]
fn assigned_manager_who_declined_gets_no_credit() {
    let mut occurrences = shared_event("sidorov", "shared");
    for occurrence in &mut occurrences {
        occurrence.attendees[0].partstat = Declined; // ivanov
    }
    let result = World::new().classify(&occurrences);
    assert_eq!(result.decisions[0].exclusion, Some(Exclusion::Declined));
    assert_eq!(only_meeting(&result).manager, "sidorov");
}

#[test]
fn organizer_policy_credits_the_organizer() {
    let mut world = World::new();
    world.settings.credit = CreditPolicy::Organizer;
    let meeting = only_meeting(&world.classify(&shared_event("sidorov", "shared"))).clone();
    assert_eq!(
        (meeting.manager.as_str(), meeting.calendar.as_str()),
        ("sidorov", "sidorov-main")
    );
}

#[test]
fn organizer_policy_without_a_managing_organizer_falls_back_to_owner() {
    let mut world = World::new();
    world.settings.credit = CreditPolicy::Organizer;
    let mut occurrences = shared_event("sidorov", "shared");
    for occurrence in &mut occurrences {
        occurrence.organizer = Some(person("x@elka.example", Accepted));
    }
    assert_eq!(
        only_meeting(&world.classify(&occurrences)).manager,
        "ivanov"
    );
}

#[test]
fn each_policy_credits_every_participating_manager_with_their_own_copy() {
    let mut world = World::new();
    world.settings.credit = CreditPolicy::Each;
    let result = world.classify(&shared_event("sidorov", "shared"));
    let credited: Vec<(&str, &str)> = result
        .meetings
        .iter()
        .map(|m| (m.manager.as_str(), m.calendar.as_str()))
        .collect();
    assert_eq!(
        credited,
        [("ivanov", "ivanov-main"), ("sidorov", "sidorov-main")]
    );
    assert!(result.decisions.iter().all(|d| d.exclusion.is_none()));
}

#[test]
fn org_wide_calendar_credits_the_configured_managers_in_it() {
    let mut world = World::new();
    world.settings.credit = CreditPolicy::Each;
    let occurrence = with_guests(
        event("org", "e1"),
        &[
            ("petrov@acme.example", Accepted),
            ("sidorov@acme.example", Declined),
            ("x@romashka.ru", Accepted),
        ],
    );
    let mut occurrence = occurrence;
    occurrence.organizer = Some(person("x@romashka.ru", Accepted));
    let result = world.classify(&[occurrence]);
    let meeting = only_meeting(&result);
    assert_eq!(
        (meeting.manager.as_str(), meeting.calendar.as_str()),
        ("petrov", "org")
    );
}

#[test]
fn org_wide_calendar_without_any_manager_is_no_manager() {
    let mut occurrence = with_guests(event("org", "e1"), &[("x@romashka.ru", Accepted)]);
    occurrence.organizer = Some(person("x@romashka.ru", Accepted));
    assert_eq!(
        World::new().decide(occurrence).exclusion,
        Some(Exclusion::NoManager)
    );
}

#[test]
fn org_wide_calendar_where_every_manager_declined_is_declined() {
    let mut occurrence = with_guests(
        event("org", "e1"),
        &[
            ("x@romashka.ru", Accepted),
            ("ivanov@acme.example", Declined),
        ],
    );
    occurrence.organizer = Some(person("x@romashka.ru", Accepted));
    assert_eq!(
        World::new().decide(occurrence).exclusion,
        Some(Exclusion::Declined)
    );
}

// ---- determinism ----

#[test]
fn result_does_not_depend_on_input_order() {
    let mut occurrences = shared_event("sidorov", "shared");
    occurrences.push(starting(
        event("petrov-main", "p1"),
        at(T0) + Duration::minutes(5),
    ));
    occurrences.push(starting(
        with_guests(event("petrov-main", "p2"), &[("x@newco.example", Accepted)]),
        at(T0) - Duration::days(1),
    ));
    occurrences.push(starting(
        event("ivanov-main", "p3"),
        at(T0) + Duration::days(3),
    ));
    let world = World::new();
    let forward = world.classify(&occurrences);
    occurrences.reverse();
    let mut backward = world.classify(&occurrences);
    assert_eq!(forward.meetings, backward.meetings);
    backward.decisions.reverse();
    assert_eq!(forward.decisions, backward.decisions);
    let starts: Vec<_> = forward.meetings.iter().map(|m| m.start).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "meetings are sorted by start");
}
