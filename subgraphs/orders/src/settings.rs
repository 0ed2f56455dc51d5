//! Timing of the orders subgraph's background work, configurable per
//! deployment.

use janta_platform::config::{self, SubgraphConfig};
use std::time::Duration;

/// Timing of the checkout saga's background work, configurable per deployment.
#[derive(Debug, Clone)]
pub struct OrdersSettings {
    /// How long an order waits for its online payment before it is
    /// cancelled and its stock released (default 14 minutes).
    pub payment_window: Duration,
    /// How often the sweeper looks for expired orders, owed calls and
    /// abandoned checkouts (default 15 seconds).
    pub sweep_interval: Duration,
    /// How long a duplicate `placeOrder` (same idempotency key) waits for the
    /// first one to finish before answering `CONFLICT` (default 20 seconds).
    pub duplicate_wait: Duration,
    /// When an unfinished checkout counts as abandoned (its process died):
    /// its reservations are released and its key freed (default 5 minutes).
    pub abandoned_checkout_after: Duration,
    /// Whether `build` starts the sweeper (tests drive it by hand).
    pub run_sweeper: bool,
    /// Days after delivery during which lines may be returned (default 7).
    pub return_window_days: u32,
    /// Whether placing an order needs the customer's e-mail address or
    /// phone number verified (default off; production turns it on:
    /// `SubgraphConfig::requires_verified_contact`).
    pub require_verified_contact: bool,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        OrdersSettings {
            payment_window: config::DEFAULT_ORDER_PAYMENT_WINDOW,
            sweep_interval: config::DEFAULT_ORDER_SWEEP_INTERVAL,
            duplicate_wait: Duration::from_secs(20),
            abandoned_checkout_after: Duration::from_secs(5 * 60),
            run_sweeper: true,
            return_window_days: 7,
            require_verified_contact: false,
        }
    }
}

impl OrdersSettings {
    /// Defaults, with the payment window, sweep interval, return window and
    /// verified-contact rule `config` holds (`order_payment_window_minutes`,
    /// `order_sweep_seconds`, `return_window_days`, `require_verified_contact`).
    pub fn from_config(config: &SubgraphConfig) -> Self {
        OrdersSettings {
            payment_window: config.order_payment_window,
            sweep_interval: config.order_sweep_interval,
            return_window_days: config.return_window_days,
            require_verified_contact: config.requires_verified_contact(),
            ..OrdersSettings::default()
        }
    }
}
