//! Quality scoring (SPEC §5), pure: a meeting, the client's orders and "now"
//! → outcome and score. No I/O.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::config::ScoringConfig;
use crate::model::{Client, Meeting, Order, Outcome};

/// Non-cancelled orders indexed by client and time, so every question scoring
/// and classification ask is a binary search, never a scan of all orders.
#[derive(Debug, Default)]
pub struct OrderBook {}

impl OrderBook {
    pub fn new(_orders: &[Order]) -> OrderBook {
        todo!()
    }

    /// True when the client has a non-cancelled order created before `t`.
    pub fn has_order_before(&self, _client: &str, _t: DateTime<Utc>) -> bool {
        todo!()
    }
}

/// The outcome of one meeting at `now` (SPEC §5).
pub fn score(
    _meeting: &Meeting,
    _orders: &OrderBook,
    _settings: &ScoringConfig,
    _now: DateTime<Utc>,
) -> Outcome {
    todo!()
}

/// Key accounts at `now`: the CRM flag, plus the top N clients by trailing
/// 12-month revenue when `settings.key_accounts_top` is set.
pub fn key_accounts(
    _clients: &[Client],
    _orders: &OrderBook,
    _settings: &ScoringConfig,
    _now: DateTime<Utc>,
) -> HashSet<String> {
    todo!()
}
