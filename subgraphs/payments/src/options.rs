//! Knobs of the payments subgraph beyond its configuration.

use crate::gateway::{Chaos, RazorpayGateway, SandboxGateway};
use janta_platform::config::{Mode, PaymentGateway, SubgraphConfig, DEV_WEBHOOK_SECRET};
use janta_platform::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Knobs of the payments subgraph beyond its configuration (tests tune them).
#[derive(Debug, Clone)]
pub struct PaymentsOptions {
    /// How unreliable the sandbox gateway's webhook delivery is.
    pub chaos: Chaos,
    /// How often refunds left pending (gateway error, crash) are retried;
    /// `None` runs no retry loop.
    pub refund_retry_interval: Option<Duration>,
}

impl Default for PaymentsOptions {
    fn default() -> Self {
        PaymentsOptions {
            chaos: Chaos::default(),
            refund_retry_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// What payments withholds from vendor settlements, in basis points (from
/// the configuration: GST TCS and income-tax TDS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withholding {
    /// GST tax collected at source (section 52).
    pub tcs_bps: u32,
    /// Income-tax deducted at source (section 194-O).
    pub tds_bps: u32,
}

impl Withholding {
    /// The rates `config` sets.
    pub fn from_config(config: &SubgraphConfig) -> Self {
        Withholding {
            tcs_bps: config.tcs_bps,
            tds_bps: config.tds_bps,
        }
    }
}

/// Refuses configurations payments must not run with: the development
/// webhook secret in production, a gateway the mode does not allow.
pub fn check(config: &SubgraphConfig) -> anyhow::Result<()> {
    if config.mode == Mode::Production && config.webhook_secret.expose() == DEV_WEBHOOK_SECRET {
        anyhow::bail!("production mode needs JANTA_WEBHOOK_SECRET (not the development one)");
    }
    config.check_payment_gateway()
}

/// The sandbox gateway, when `config` chooses it (dev mode only); it keeps
/// its state in `store`.
pub fn sandbox(
    config: &SubgraphConfig,
    chaos: Chaos,
    store: &Store,
) -> Option<Arc<SandboxGateway>> {
    (config.payment_gateway == PaymentGateway::Sandbox).then(|| {
        let secret = config.webhook_secret.expose();
        Arc::new(SandboxGateway::new(
            secret,
            &config.public_url,
            chaos,
            store.clone(),
        ))
    })
}

/// Razorpay, when `config` chooses it.
pub fn razorpay(config: &SubgraphConfig) -> Option<Arc<RazorpayGateway>> {
    (config.payment_gateway == PaymentGateway::Razorpay).then(|| {
        Arc::new(RazorpayGateway::new(
            &config.razorpay,
            &config.webhook_secret,
            &config.public_url,
        ))
    })
}
