//! Exponential back-off with jitter, shared by the relay (transport down)
//! and consumers (handler failing).

use rand::Rng;
use std::time::Duration;

/// Delays that double from `initial` up to `max`, with ±20 % jitter so that
/// replicas retrying together spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Backoff {
    /// A back-off from `initial` doubling up to `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max }
    }

    /// The delay after the `failures`-th consecutive failure (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exponent).min(self.max);
        let jitter = rand::thread_rng().gen_range(0.8..=1.2);
        base.mul_f64(jitter).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ms = |n| b.delay(n).as_millis();
        assert!((80..=120).contains(&ms(1)), "{}", ms(1));
        assert!((160..=240).contains(&ms(2)), "{}", ms(2));
        assert!((320..=480).contains(&ms(3)), "{}", ms(3));
        assert!(ms(10) <= 1000 && ms(10) >= 800, "{}", ms(10));
        assert!(ms(u32::MAX) <= 1000);
    }
}
