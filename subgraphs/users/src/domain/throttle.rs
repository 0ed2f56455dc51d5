//! Rules of attempt throttling (no I/O): which keys an attempt to present a
//! secret (a password, an OAuth client secret) is judged by, how many
//! failures each key may have before further attempts wait, and how the
//! wait grows.
//!
//! Two keys per attempt. The *address* key (the client's IP address; IPv6
//! by /64, what one host usually holds) blocks: after [`ADDRESS`]`.free`
//! failures each further attempt waits 1 s, 2 s, 4 s … up to 15 minutes.
//! The *subject* key (an account's e-mail, an OAuth client's ID) only
//! slows: its wait is capped at 30 s and it applies only to addresses that
//! have failed before, so a stranger's failures from elsewhere never keep
//! the owner out of their own address. Counts are forgotten a day after a
//! key's last attempt.

use chrono::{DateTime, Utc};
use janta_platform::server::ClientAddress;
use std::net::IpAddr;
use std::time::Duration;

/// How a kind of key is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures allowed before attempts start to wait.
    pub free: i64,
    /// The longest wait.
    pub cap: Duration,
}

/// Subject keys (accounts, OAuth clients): they only slow.
pub const SUBJECT: Policy = Policy {
    free: 5,
    cap: Duration::from_secs(30),
};

/// Address keys: they block, up to 15 minutes.
pub const ADDRESS: Policy = Policy {
    free: 10,
    cap: Duration::from_secs(15 * 60),
};

/// A key's count is forgotten this long after its last attempt.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Policy {
    /// How long the next attempt waits after `failures` failures: nothing
    /// while within the free ones, then 1 s doubling up to the cap.
    pub fn delay_after(&self, failures: i64) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30) as u32;
        Duration::from_secs(1u64 << doublings).min(self.cap)
    }
}

/// The throttle key of an account (by its normalised e-mail).
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The throttle key of an OAuth client.
pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// The throttle key of a client address: IPv4 as is, IPv6 by its /64
/// prefix (one subscriber's share), unknown addresses together.
pub fn address_key(address: ClientAddress) -> String {
    match address.0 {
        None => "ip:unknown".to_string(),
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A key's count of failed attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// Attempts counted (each is counted before its secret is checked;
    /// a success gives it back).
    pub failures: i64,
    /// No attempt is checked before this instant.
    pub blocked_until: Option<DateTime<Utc>>,
    /// The last attempt.
    pub updated_at: DateTime<Utc>,
}

impl Counter {
    /// A key never seen.
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Counter {
            failures: 0,
            blocked_until: None,
            updated_at: now,
        }
    }

    /// The count as it stands at `now` (forgotten after [`FORGET_AFTER`]).
    fn current(&self, now: DateTime<Utc>) -> Counter {
        let idle = (now - self.updated_at).to_std().unwrap_or_default();
        if idle > FORGET_AFTER {
            Counter::fresh(now)
        } else {
            self.clone()
        }
    }

    /// How long an attempt at `now` must still wait.
    fn wait(&self, now: DateTime<Utc>) -> Duration {
        self.blocked_until
            .and_then(|until| (until - now).to_std().ok())
            .unwrap_or_default()
    }

    /// The count with one more attempt at `now`.
    fn charged(&self, policy: Policy, now: DateTime<Utc>) -> Counter {
        let failures = self.failures + 1;
        let delay = chrono::Duration::from_std(policy.delay_after(failures)).expect("capped delay");
        Counter {
            failures,
            blocked_until: Some(now + delay),
            updated_at: now,
        }
    }
}

/// What happens to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Check the secret; the attempt is counted on both keys.
    Proceed {
        /// The subject's new count.
        subject: Counter,
        /// The address's new count.
        address: Counter,
    },
    /// Refused unchecked; try again after this long.
    Wait(Duration),
}

/// Judges an attempt at `now` on `subject` from `address` (their stored
/// counts): the address's wait always applies, the subject's only to an
/// address that has failed before.
pub fn judge(subject: &Counter, address: &Counter, now: DateTime<Utc>) -> Verdict {
    let (subject, address) = (subject.current(now), address.current(now));
    let mut wait = address.wait(now);
    if address.failures > 0 {
        wait = wait.max(subject.wait(now));
    }
    if wait > Duration::ZERO {
        return Verdict::Wait(wait);
    }
    Verdict::Proceed {
        subject: subject.charged(SUBJECT, now),
        address: address.charged(ADDRESS, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proceed(verdict: Verdict) -> (Counter, Counter) {
        match verdict {
            Verdict::Proceed { subject, address } => (subject, address),
            Verdict::Wait(wait) => panic!("refused for {wait:?}"),
        }
    }

    #[test]
    fn waits_grow_from_one_second_to_the_cap() {
        assert_eq!(ADDRESS.delay_after(9), Duration::ZERO);
        assert_eq!(ADDRESS.delay_after(10), Duration::from_secs(1));
        assert_eq!(ADDRESS.delay_after(12), Duration::from_secs(4));
        assert_eq!(ADDRESS.delay_after(1000), ADDRESS.cap);
        assert_eq!(SUBJECT.delay_after(5), Duration::from_secs(1));
        assert_eq!(SUBJECT.delay_after(40), Duration::from_secs(30));
    }

    #[test]
    fn a_blocked_address_waits_and_a_blocked_subject_slows_only_failed_addresses() {
        let now = Utc::now();
        let mut subject = Counter::fresh(now);
        let mut stranger = Counter::fresh(now);
        for _ in 0..SUBJECT.free {
            (subject, stranger) = proceed(judge(&subject, &stranger, now));
        }
        assert_eq!(
            judge(&subject, &stranger, now),
            Verdict::Wait(Duration::from_secs(1)),
            "the stranger's address has failed: the subject's wait applies"
        );
        let owner = Counter::fresh(now);
        let (_, owner) = proceed(judge(&subject, &owner, now));
        assert_eq!(owner.failures, 1);
        let later = now + chrono::Duration::seconds(2);
        proceed(judge(&subject, &stranger, later));
    }

    #[test]
    fn counts_are_forgotten_after_a_quiet_day() {
        let now = Utc::now();
        let blocked = Counter {
            failures: 50,
            blocked_until: Some(now + chrono::Duration::minutes(15)),
            updated_at: now,
        };
        assert!(matches!(judge(&blocked, &blocked, now), Verdict::Wait(_)));
        let next_day = now + chrono::Duration::hours(25);
        let (subject, _) = proceed(judge(&blocked, &blocked, next_day));
        assert_eq!(subject.failures, 1);
    }

    #[test]
    fn addresses_are_keyed_by_host() {
        let v6 = |s: &str| address_key(ClientAddress(Some(s.parse().unwrap())));
        assert_eq!(v6("2001:db8:1:2:aaaa::1"), v6("2001:db8:1:2:bbbb::2"));
        assert_ne!(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
        assert_eq!(v6("::ffff:203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(address_key(ClientAddress(None)), "ip:unknown");
    }
}
