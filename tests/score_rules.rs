//! SPEC §5 "Quality scoring", rule by rule, through the public API: a
//! meeting, the client's orders and "now" in; outcome, finality and score out.

use chrono::{DateTime, Duration, Utc};
use meetledger::config::ScoringConfig;
use meetledger::model::{
    Client, ClientStatus, Counterparty, MatchRule, Meeting, MeetingKind, Order, Outcome,
    OutcomeKind,
};
use meetledger::score::{key_accounts, score, OrderBook};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The meeting every scenario scores: 2026-01-10 10:00 UTC.
const S: &str = "2026-01-10T10:00:00Z";

fn days_after_s(days: i64) -> DateTime<Utc> {
    at(S) + Duration::days(days)
}

fn meeting(counterparty: Counterparty, status: ClientStatus) -> Meeting {
    Meeting {
        manager: "ivanov".into(),
        counterparty,
        client_status: status,
        rule: MatchRule::Domain,
        kind: MeetingKind::InPerson,
        weight: 1.0,
        start: at(S),
        calendar: "ivanov-main".into(),
        uid: "m1".into(),
        recurrence_id: None,
        title: "Встреча".into(),
    }
}

fn new_client() -> Meeting {
    meeting(Counterparty::Client("c1".into()), ClientStatus::New)
}

fn existing_client() -> Meeting {
    meeting(Counterparty::Client("c1".into()), ClientStatus::Existing)
}

fn order(id: &str, created: DateTime<Utc>, amount: f64) -> Order {
    Order {
        id: id.into(),
        client_id: "c1".into(),
        created_at: created,
        amount,
        currency: "RUB".into(),
        status: "done".into(),
        cancelled: false,
        manager: None,
    }
}

fn cancelled(mut order: Order) -> Order {
    order.cancelled = true;
    order.status = "cancelled".into();
    order
}

fn outcome_of(meeting: &Meeting, orders: &[Order], now: DateTime<Utc>) -> Outcome {
    score(
        meeting,
        &OrderBook::new(orders),
        &ScoringConfig::default(),
        now,
    )
}

fn assert_outcome(actual: Outcome, kind: OutcomeKind, is_final: bool, score: Option<f64>) {
    let expected = Outcome {
        kind,
        is_final,
        score,
    };
    assert_eq!(
        actual, expected,
        "\nexpected {expected:?}\n  actual {actual:?}"
    );
}

// ---- new client ----

#[test]
fn new_client_with_a_first_and_a_repeat_order_is_repeat_final_at_once() {
    let orders = [
        order("o1", days_after_s(5), 100.0),
        order("o2", days_after_s(90), 100.0),
    ];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(100));
    assert_outcome(outcome, OutcomeKind::Repeat, true, Some(1.0));
}

#[test]
fn repeat_needs_the_first_order_inside_first_order_days() {
    // Two orders, both after day 60: A is empty, so not repeat but none.
    let orders = [
        order("o1", days_after_s(61), 100.0),
        order("o2", days_after_s(90), 100.0),
    ];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(100));
    assert_outcome(outcome, OutcomeKind::None, true, Some(0.0));
}

#[test]
fn new_client_with_one_order_is_ordered_provisional_until_repeat_days() {
    let orders = [order("o1", days_after_s(5), 100.0)];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(179));
    assert_outcome(outcome, OutcomeKind::Ordered, false, Some(0.5));
}

#[test]
fn new_client_with_one_order_is_ordered_final_from_repeat_days() {
    let orders = [order("o1", days_after_s(5), 100.0)];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(180));
    assert_outcome(outcome, OutcomeKind::Ordered, true, Some(0.5));
}

#[test]
fn ordered_turns_into_repeat_when_the_second_order_comes() {
    let orders = [
        order("o1", days_after_s(5), 100.0),
        order("o2", days_after_s(180), 1.0),
    ];
    // The second order is exactly at S + repeat_days: the window is closed.
    let outcome = outcome_of(&new_client(), &orders, days_after_s(200));
    assert_outcome(outcome, OutcomeKind::Repeat, true, Some(1.0));
}

#[test]
fn new_client_without_orders_is_pending_while_first_order_window_is_open() {
    let outcome = outcome_of(&new_client(), &[], days_after_s(59));
    assert_outcome(outcome, OutcomeKind::Pending, false, None);
}

#[test]
fn new_client_without_orders_is_none_from_first_order_days() {
    let outcome = outcome_of(&new_client(), &[], days_after_s(60));
    assert_outcome(outcome, OutcomeKind::None, true, Some(0.0));
}

#[test]
fn first_order_window_is_closed_at_both_ends() {
    let at_start = [order("o1", at(S), 100.0)];
    assert_eq!(
        outcome_of(&new_client(), &at_start, days_after_s(70)).kind,
        OutcomeKind::Ordered
    );
    let at_end = [order("o1", days_after_s(60), 100.0)];
    assert_eq!(
        outcome_of(&new_client(), &at_end, days_after_s(70)).kind,
        OutcomeKind::Ordered
    );
    let just_after = [order("o1", days_after_s(60) + Duration::seconds(1), 100.0)];
    assert_eq!(
        outcome_of(&new_client(), &just_after, days_after_s(70)).kind,
        OutcomeKind::None
    );
}

#[test]
fn orders_before_the_meeting_do_not_count_for_a_new_client() {
    let orders = [order("o0", at(S) - Duration::seconds(1), 100.0)];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(61));
    assert_outcome(outcome, OutcomeKind::None, true, Some(0.0));
}

#[test]
fn prospect_is_pending_then_none() {
    let prospect = meeting(
        Counterparty::Prospect("newco.example".into()),
        ClientStatus::New,
    );
    assert_outcome(
        outcome_of(&prospect, &[], days_after_s(10)),
        OutcomeKind::Pending,
        false,
        None,
    );
    assert_outcome(
        outcome_of(&prospect, &[], days_after_s(60)),
        OutcomeKind::None,
        true,
        Some(0.0),
    );
}

#[test]
fn cancelled_orders_never_count() {
    let orders = [cancelled(order("o1", days_after_s(5), 100.0))];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(61));
    assert_outcome(outcome, OutcomeKind::None, true, Some(0.0));
}

#[test]
fn orders_created_after_now_are_not_known_yet() {
    // Rerunning the past with --now must not see what the CRM learned later.
    let orders = [order("o1", days_after_s(30), 100.0)];
    let outcome = outcome_of(&new_client(), &orders, days_after_s(20));
    assert_outcome(outcome, OutcomeKind::Pending, false, None);
}

// ---- existing client ----

#[test]
fn existing_client_is_pending_until_retention_days() {
    let orders = [order("o1", days_after_s(5), 100.0)];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(89));
    assert_outcome(outcome, OutcomeKind::Pending, false, None);
}

#[test]
fn existing_client_holding_volume_is_retained() {
    let orders = [
        order("before", days_after_s(-30), 100.0),
        order("after", days_after_s(30), 80.0),
    ];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(90));
    assert_outcome(outcome, OutcomeKind::Retained, true, Some(1.0));
}

#[test]
fn existing_client_ordering_less_than_the_ratio_is_ordered() {
    let orders = [
        order("before", days_after_s(-30), 100.0),
        order("after", days_after_s(30), 79.0),
    ];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(90));
    assert_outcome(outcome, OutcomeKind::Ordered, true, Some(0.5));
}

#[test]
fn existing_client_ordering_nothing_after_is_none() {
    let orders = [order("before", days_after_s(-30), 100.0)];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(90));
    assert_outcome(outcome, OutcomeKind::None, true, Some(0.0));
}

#[test]
fn retention_with_zero_prior_volume_is_retained_on_any_order() {
    let orders = [
        order("old", days_after_s(-200), 1000.0),
        order("after", days_after_s(10), 1.0),
    ];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(120));
    assert_outcome(outcome, OutcomeKind::Retained, true, Some(1.0));
}

#[test]
fn retention_windows_are_half_open() {
    // [S − R, S) before, [S, S + R) after.
    let orders = [
        order("edge-before", days_after_s(-90), 100.0),
        order("at-start", at(S), 50.0),
        order("at-end", days_after_s(90), 1000.0),
    ];
    // before = 100 (S − R included), after = 50 (S + R excluded): 50 < 80.
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(100));
    assert_outcome(outcome, OutcomeKind::Ordered, true, Some(0.5));
}

#[test]
fn cancelled_orders_do_not_count_for_retention() {
    let orders = [
        order("before", days_after_s(-30), 100.0),
        order("after", days_after_s(30), 80.0),
        cancelled(order("big", days_after_s(-10), 10_000.0)),
    ];
    let outcome = outcome_of(&existing_client(), &orders, days_after_s(90));
    assert_eq!(outcome.kind, OutcomeKind::Retained);
}

#[test]
fn configured_windows_and_ratio_are_honoured() {
    let settings = ScoringConfig {
        retention_days: 30,
        retention_ratio: 1.0,
        ..ScoringConfig::default()
    };
    let orders = [
        order("before", days_after_s(-10), 100.0),
        order("after", days_after_s(10), 99.0),
    ];
    let book = OrderBook::new(&orders);
    let outcome = score(&existing_client(), &book, &settings, days_after_s(30));
    assert_outcome(outcome, OutcomeKind::Ordered, true, Some(0.5));
}

// ---- order book and client status ----

#[test]
fn has_order_before_ignores_cancelled_orders_and_is_strict() {
    let book = OrderBook::new(&[
        order("o1", at(S), 10.0),
        cancelled(order("o0", days_after_s(-5), 10.0)),
    ]);
    assert!(
        !book.has_order_before("c1", at(S)),
        "an order at the very start is not before it"
    );
    assert!(book.has_order_before("c1", at(S) + Duration::seconds(1)));
    assert!(!book.has_order_before("c2", days_after_s(365)));
}

// ---- key accounts ----

fn client(id: &str, key: bool) -> Client {
    Client {
        id: id.into(),
        name: id.into(),
        aliases: vec![],
        domains: vec![],
        emails: vec![],
        manager: None,
        key,
    }
}

fn order_for(id: &str, client: &str, created: DateTime<Utc>, amount: f64) -> Order {
    Order {
        client_id: client.into(),
        ..order(id, created, amount)
    }
}

#[test]
fn key_accounts_are_the_crm_flag_without_a_rule() {
    let clients = [client("a", true), client("b", false)];
    let book = OrderBook::new(&[order_for("1", "b", at(S), 1e6)]);
    let keys = key_accounts(&clients, &book, &ScoringConfig::default(), days_after_s(1));
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn key_accounts_add_the_top_n_by_trailing_revenue_ties_by_id() {
    let now = at("2026-06-01T00:00:00Z");
    let clients = [
        client("a", true),
        client("b", false),
        client("c", false),
        client("d", false),
        client("e", false),
    ];
    let book = OrderBook::new(&[
        order_for("1", "b", now - Duration::days(10), 500.0),
        order_for("2", "c", now - Duration::days(10), 500.0),
        order_for("3", "d", now - Duration::days(366), 10_000.0), // outside 12 months
        cancelled(order_for("4", "e", now - Duration::days(5), 10_000.0)),
    ]);
    let settings = ScoringConfig {
        key_accounts_top: Some(1),
        ..ScoringConfig::default()
    };
    let mut keys: Vec<String> = key_accounts(&clients, &book, &settings, now)
        .into_iter()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["a", "b"],
        "b and c tie on revenue; the smaller id wins"
    );
}
