//! Tunable catalog behaviour, from the configuration.

use janta_platform::config::{self, SubgraphConfig};
use std::time::Duration;

/// Tunable catalog behaviour, from the configuration
/// (`reservation_ttl_secs`, `reservation_sweep_secs`, `stock_low_threshold`,
/// `expiry_sweep_secs`, `min_shelf_life_days`).
#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// How long a reservation holds stock before it expires (default 15 min).
    pub reservation_ttl: Duration,
    /// How often the sweeper looks for expired reservations (default 30 s).
    pub sweep_interval: Duration,
    /// `StockLow` fires when a listing's sellable stock falls below this (default 10).
    pub stock_low_threshold: i64,
    /// How often expired batches' packs move to quarantine (default 10 min).
    pub expiry_sweep_interval: Duration,
    /// Platform minimum of shelf life left at sale, in days (default 30); a
    /// listing may demand more, never less.
    pub min_shelf_life_days: i64,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        CatalogSettings {
            reservation_ttl: config::DEFAULT_RESERVATION_TTL,
            sweep_interval: config::DEFAULT_RESERVATION_SWEEP_INTERVAL,
            stock_low_threshold: config::DEFAULT_STOCK_LOW_THRESHOLD,
            expiry_sweep_interval: config::DEFAULT_EXPIRY_SWEEP_INTERVAL,
            min_shelf_life_days: config::DEFAULT_MIN_SHELF_LIFE_DAYS,
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
            expiry_sweep_interval: config.expiry_sweep_interval,
            min_shelf_life_days: config.min_shelf_life_days,
        }
    }
}
