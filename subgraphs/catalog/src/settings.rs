//! Tunable catalog behaviour, from the configuration.

use janta_platform::config::{self, SubgraphConfig};
use std::time::Duration;

/// Tunable catalog behaviour, from the configuration
/// (`reservation_ttl_secs`, `reservation_sweep_secs`, `stock_low_threshold`).
#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// How long a reservation holds stock before it expires (default 15 min).
    pub reservation_ttl: Duration,
    /// How often the sweeper looks for expired reservations (default 30 s).
    pub sweep_interval: Duration,
    /// `StockLow` fires when a listing's sellable stock falls below this (default 10).
    pub stock_low_threshold: i64,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        CatalogSettings {
            reservation_ttl: config::DEFAULT_RESERVATION_TTL,
            sweep_interval: config::DEFAULT_RESERVATION_SWEEP_INTERVAL,
            stock_low_threshold: config::DEFAULT_STOCK_LOW_THRESHOLD,
        }
    }
}

impl CatalogSettings {
    /// The settings `config` holds (checked when it was loaded).
    pub fn from_config(config: &SubgraphConfig) -> Self {
        CatalogSettings {
            reservation_ttl: config.reservation_ttl,
            sweep_interval: config.reservation_sweep_interval,
            stock_low_threshold: config.stock_low_threshold,
        }
    }
}
