//! Quality scoring (SPEC §5), pure: a meeting, the client's orders and "now"
//! → outcome and score; plus the order index (`OrderBook`) that scoring,
//! classification (client status) and key-account rules query. No I/O.
//!
//! Orders created after "now" are invisible: `--now` in the past must rerun
//! the past exactly, without knowing what the CRM learned later.

use std::collections::{HashMap, HashSet};
use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, Duration, Utc};

use crate::config::ScoringConfig;
use crate::model::{Client, ClientStatus, Meeting, Order, Outcome, OutcomeKind};

/// Amounts are summed in fixed point (1/10 000 of a currency unit) so that
/// window sums taken as differences of prefix sums are exact: with plain
/// floats, `after ≥ 0.8 × before` could flip on rounding noise.
const AMOUNT_SCALE: f64 = 10_000.0;

/// Relative slack for `after ≥ ratio × before`: the ratio itself is a binary
/// float (0.8 is not exactly representable), so an `after` equal to the
/// decimal product must still count as retained.
const RATIO_SLACK: f64 = 1e-9;

/// One client's non-cancelled orders, sorted by (created_at, id).
#[derive(Debug, Default)]
struct ClientOrders {
    created: Vec<DateTime<Utc>>,
    ids: Vec<String>,
    /// `prefix[i]` = sum of the first `i` amounts, in `AMOUNT_SCALE` units.
    prefix: Vec<i128>,
}

impl ClientOrders {
    /// The index range of orders whose creation time lies in `range`.
    fn span(&self, range: &impl RangeBounds<DateTime<Utc>>) -> (usize, usize) {
        let lo = match range.start_bound() {
            Bound::Included(t) => self.created.partition_point(|c| c < t),
            Bound::Excluded(t) => self.created.partition_point(|c| c <= t),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(t) => self.created.partition_point(|c| c <= t),
            Bound::Excluded(t) => self.created.partition_point(|c| c < t),
            Bound::Unbounded => self.created.len(),
        };
        (lo, hi.max(lo))
    }
}

/// Non-cancelled orders indexed by client and time, so every question scoring
/// and classification ask is a binary search, never a scan of all orders.
#[derive(Debug, Default)]
pub struct OrderBook {
    by_client: HashMap<String, ClientOrders>,
}

impl OrderBook {
    pub fn new(orders: &[Order]) -> OrderBook {
        let mut grouped: HashMap<&str, Vec<&Order>> = HashMap::new();
        for order in orders.iter().filter(|o| !o.cancelled) {
            grouped
                .entry(order.client_id.as_str())
                .or_default()
                .push(order);
        }
        let by_client = grouped
            .into_iter()
            .map(|(client, mut list)| {
                list.sort_by(|a, b| {
                    a.created_at
                        .cmp(&b.created_at)
                        .then_with(|| a.id.cmp(&b.id))
                });
                let mut prefix = Vec::with_capacity(list.len() + 1);
                let mut sum: i128 = 0;
                prefix.push(sum);
                for order in &list {
                    sum += to_units(order.amount);
                    prefix.push(sum);
                }
                let entry = ClientOrders {
                    created: list.iter().map(|o| o.created_at).collect(),
                    ids: list.iter().map(|o| o.id.clone()).collect(),
                    prefix,
                };
                (client.to_string(), entry)
            })
            .collect();
        OrderBook { by_client }
    }

    /// True when the client has a non-cancelled order created before `t`.
    pub fn has_order_before(&self, client: &str, t: DateTime<Utc>) -> bool {
        self.count_in(client, ..t) > 0
    }

    /// Number of the client's non-cancelled orders created within `range`.
    pub fn count_in(&self, client: &str, range: impl RangeBounds<DateTime<Utc>>) -> usize {
        self.by_client.get(client).map_or(0, |c| {
            let (lo, hi) = c.span(&range);
            hi - lo
        })
    }

    /// Total amount of the client's non-cancelled orders created within
    /// `range` (currencies are not converted: one CRM, one currency).
    pub fn amount_in(&self, client: &str, range: impl RangeBounds<DateTime<Utc>>) -> f64 {
        from_units(self.units_in(client, range))
    }

    /// Ids of the client's non-cancelled orders created within `range`, in
    /// (created_at, id) order: `explain` shows which orders decided an outcome.
    pub fn order_ids_in(&self, client: &str, range: impl RangeBounds<DateTime<Utc>>) -> &[String] {
        self.by_client.get(client).map_or(&[], |c| {
            let (lo, hi) = c.span(&range);
            &c.ids[lo..hi]
        })
    }

    /// When the client's first non-cancelled order created after `t` was
    /// created.
    pub fn next_after(&self, client: &str, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.by_client.get(client).and_then(|c| {
            let i = c.created.partition_point(|created| *created <= t);
            c.created.get(i).copied()
        })
    }

    /// When the client's first non-cancelled order was created.
    pub fn first_order_at(&self, client: &str) -> Option<DateTime<Utc>> {
        self.by_client
            .get(client)
            .and_then(|c| c.created.first().copied())
    }

    /// Clients with at least one non-cancelled order (any order).
    pub fn clients(&self) -> impl Iterator<Item = &str> {
        self.by_client.keys().map(String::as_str)
    }

    fn units_in(&self, client: &str, range: impl RangeBounds<DateTime<Utc>>) -> i128 {
        self.by_client.get(client).map_or(0, |c| {
            let (lo, hi) = c.span(&range);
            c.prefix[hi] - c.prefix[lo]
        })
    }
}

fn to_units(amount: f64) -> i128 {
    if amount.is_finite() {
        (amount * AMOUNT_SCALE).round() as i128
    } else {
        0
    }
}

fn from_units(units: i128) -> f64 {
    units as f64 / AMOUNT_SCALE
}

/// The outcome of one meeting at `now` (SPEC §5).
pub fn score(
    meeting: &Meeting,
    orders: &OrderBook,
    settings: &ScoringConfig,
    now: DateTime<Utc>,
) -> Outcome {
    match (meeting.counterparty.client_id(), meeting.client_status) {
        (Some(client), ClientStatus::Existing) => {
            score_existing(client, meeting.start, orders, settings, now)
        }
        // Prospects have no orders yet: they score as new clients without any.
        (client, _) => score_new(client, meeting.start, orders, settings, now),
    }
}

/// The earliest instant after `now` at which `score` may answer differently
/// if the orders stay as they are (a window closing, an order dated after
/// `now` coming due); `None` once the outcome is final. Incremental scoring
/// looks at a meeting again only then.
pub fn next_change(
    meeting: &Meeting,
    orders: &OrderBook,
    settings: &ScoringConfig,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if score(meeting, orders, settings, now).is_final {
        return None;
    }
    let start = meeting.start;
    match (meeting.counterparty.client_id(), meeting.client_status) {
        (Some(_), ClientStatus::Existing) => Some(start + Duration::days(settings.retention_days)),
        (client, _) => {
            let first_end = start + Duration::days(settings.first_order_days);
            let repeat_end = start + Duration::days(settings.repeat_days);
            let next_order = client
                .and_then(|client| orders.next_after(client, now))
                .filter(|t| *t <= repeat_end);
            [Some(first_end), Some(repeat_end), next_order]
                .into_iter()
                .flatten()
                .filter(|t| *t > now)
                .min()
        }
    }
}

/// New client: a first order within `first_order_days`, a second one within
/// `repeat_days` (both windows closed, as SPEC §5 writes them).
fn score_new(
    client: Option<&str>,
    start: DateTime<Utc>,
    orders: &OrderBook,
    settings: &ScoringConfig,
    now: DateTime<Utc>,
) -> Outcome {
    let first_end = start + Duration::days(settings.first_order_days);
    let repeat_end = start + Duration::days(settings.repeat_days);
    let (a, b) = match client {
        Some(client) => (
            orders.count_in(client, start..=first_end.min(now)),
            orders.count_in(client, start..=repeat_end.min(now)),
        ),
        None => (0, 0),
    };
    if a > 0 && b >= 2 {
        outcome(OutcomeKind::Repeat, true)
    } else if a > 0 {
        outcome(OutcomeKind::Ordered, now >= repeat_end)
    } else if now >= first_end {
        outcome(OutcomeKind::None, true)
    } else {
        outcome(OutcomeKind::Pending, false)
    }
}

/// Existing client: volume in the `retention_days` after the meeting against
/// the same span before it; judged only once the after-window has closed.
fn score_existing(
    client: &str,
    start: DateTime<Utc>,
    orders: &OrderBook,
    settings: &ScoringConfig,
    now: DateTime<Utc>,
) -> Outcome {
    let span = Duration::days(settings.retention_days);
    if now < start + span {
        return outcome(OutcomeKind::Pending, false);
    }
    let before = orders.units_in(client, start - span..start);
    let after = orders.units_in(client, start..start + span);
    if after > 0 {
        let (before, after) = (before as f64, after as f64);
        if after >= settings.retention_ratio * before * (1.0 - RATIO_SLACK) {
            outcome(OutcomeKind::Retained, true)
        } else {
            outcome(OutcomeKind::Ordered, true)
        }
    } else {
        outcome(OutcomeKind::None, true)
    }
}

/// The score each outcome carries (SPEC §5); pending has none.
pub fn outcome_score(kind: OutcomeKind) -> Option<f64> {
    match kind {
        OutcomeKind::Repeat | OutcomeKind::Retained => Some(1.0),
        OutcomeKind::Ordered => Some(0.5),
        OutcomeKind::None => Some(0.0),
        OutcomeKind::Pending => None,
    }
}

fn outcome(kind: OutcomeKind, is_final: bool) -> Outcome {
    Outcome {
        kind,
        is_final,
        score: outcome_score(kind),
    }
}

/// The trailing revenue window of the key-account rule: 12 months.
pub const KEY_ACCOUNT_WINDOW: Duration = Duration::days(365);

/// Key accounts at `now`: the CRM flag, plus the top N clients by trailing
/// 12-month revenue when `settings.key_accounts_top` is set.
///
/// Only clients with positive revenue in the window qualify by rule (a client
/// who bought nothing is not "top" however few clients there are); ties on
/// revenue go to the smaller client id so the set never depends on order.
pub fn key_accounts(
    clients: &[Client],
    orders: &OrderBook,
    settings: &ScoringConfig,
    now: DateTime<Utc>,
) -> HashSet<String> {
    let mut keys: HashSet<String> = clients
        .iter()
        .filter(|c| c.key)
        .map(|c| c.id.clone())
        .collect();
    if let Some(top) = settings.key_accounts_top {
        let since = now - KEY_ACCOUNT_WINDOW;
        let mut revenue: Vec<(i128, &str)> = clients
            .iter()
            .map(|c| (orders.units_in(&c.id, since..now), c.id.as_str()))
            .filter(|(units, _)| *units > 0)
            .collect();
        revenue.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        revenue.dedup_by(|a, b| a.1 == b.1);
        keys.extend(revenue.into_iter().take(top).map(|(_, id)| id.to_string()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn order(id: &str, client: &str, created: &str, amount: f64, cancelled: bool) -> Order {
        Order {
            id: id.into(),
            client_id: client.into(),
            created_at: at(created),
            amount,
            currency: "RUB".into(),
            status: if cancelled {
                "cancelled".into()
            } else {
                "done".into()
            },
            cancelled,
            manager: None,
        }
    }

    #[test]
    fn window_bounds_are_exact() {
        let book = OrderBook::new(&[
            order("1", "c", "2026-01-01T00:00:00Z", 10.0, false),
            order("2", "c", "2026-01-02T00:00:00Z", 20.0, false),
            order("3", "c", "2026-01-03T00:00:00Z", 30.0, false),
        ]);
        let (a, b, c) = (
            at("2026-01-01T00:00:00Z"),
            at("2026-01-02T00:00:00Z"),
            at("2026-01-03T00:00:00Z"),
        );
        assert_eq!(book.count_in("c", a..=c), 3);
        assert_eq!(book.count_in("c", a..c), 2);
        assert_eq!(book.count_in("c", b..), 2);
        assert_eq!(book.count_in("c", ..b), 1);
        assert_eq!(book.count_in("c", c..a), 0, "an inverted range is empty");
        assert_eq!(book.amount_in("c", b..=c), 50.0);
        assert_eq!(
            book.order_ids_in("c", b..),
            ["2".to_string(), "3".to_string()]
        );
        assert_eq!(book.count_in("nobody", ..), 0);
    }

    #[test]
    fn same_instant_orders_sort_by_id() {
        let book = OrderBook::new(&[
            order("b", "c", "2026-01-01T00:00:00Z", 1.0, false),
            order("a", "c", "2026-01-01T00:00:00Z", 2.0, false),
        ]);
        assert_eq!(
            book.order_ids_in("c", ..),
            ["a".to_string(), "b".to_string()]
        );
    }

    #[test]
    fn cancelled_orders_are_not_indexed() {
        let book = OrderBook::new(&[order("1", "c", "2026-01-01T00:00:00Z", 10.0, true)]);
        assert!(!book.has_order_before("c", at("2027-01-01T00:00:00Z")));
        assert_eq!(book.first_order_at("c"), None);
    }

    #[test]
    fn fixed_point_sums_do_not_drift() {
        let orders: Vec<Order> = (0..10)
            .map(|i| {
                order(
                    &i.to_string(),
                    "c",
                    &format!("2026-01-0{}T00:00:00Z", i % 9 + 1),
                    0.1,
                    false,
                )
            })
            .collect();
        let book = OrderBook::new(&orders);
        assert_eq!(book.amount_in("c", ..), 1.0);
    }
}
