//! Request rate limits per client, as token buckets: a client may send
//! `burst` requests at once, then `per_minute` a minute. The router applies
//! them (`janta_limits`, `src/limits.rs`) and so does every subgraph for the
//! requests that do not come through the router, so a client cannot dodge
//! them by calling a subgraph's port. A refusal is `RATE_LIMITED` with
//! `extensions.retryAfter` (seconds).
//!
//! Clients are keyed by who they are: a partner app by its token's subject
//! (`partner:<id>`), a user by theirs, an anonymous caller by network
//! address. Service principals (subgraph-to-subgraph calls) are never
//! limited. Buckets live in the memory of each process (a bounded map whose
//! idle entries are dropped), so with several replicas a client gets each
//! replica's allowance; a shared store is out of scope.

use crate::auth::{Principal, Role};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One bucket's size: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests a minute, sustained.
    pub per_minute: u32,
    /// Requests at once (the bucket's capacity).
    pub burst: u32,
}

/// The limits of a deployment: people (and anonymous callers) and partner
/// apps each get their own rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// Users and anonymous addresses (`JANTA_RATE_LIMIT_PER_MINUTE`,
    /// `JANTA_RATE_LIMIT_BURST`).
    pub user: Rate,
    /// Partner apps (`JANTA_PARTNER_RATE_LIMIT_PER_MINUTE`,
    /// `JANTA_PARTNER_RATE_LIMIT_BURST`).
    pub partner: Rate,
}

/// Production defaults: 300 requests a minute with bursts of 60 for a
/// person (a busy app screen sends a few at once), 600 with bursts of 120
/// for a partner app's integration.
impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            user: Rate {
                per_minute: 300,
                burst: 60,
            },
            partner: Rate {
                per_minute: 600,
                burst: 120,
            },
        }
    }
}

impl ClientLimits {
    /// The defaults with `JANTA_RATE_LIMIT_PER_MINUTE`,
    /// `JANTA_RATE_LIMIT_BURST`, `JANTA_PARTNER_RATE_LIMIT_PER_MINUTE` and
    /// `JANTA_PARTNER_RATE_LIMIT_BURST` applied (positive whole numbers; a
    /// rate given without its burst gets a burst of a fifth of it, at
    /// least one).
    pub fn from_env() -> anyhow::Result<Self> {
        let defaults = ClientLimits::default();
        Ok(ClientLimits {
            user: rate_from_env(
                "JANTA_RATE_LIMIT_PER_MINUTE",
                "JANTA_RATE_LIMIT_BURST",
                defaults.user,
            )?,
            partner: rate_from_env(
                "JANTA_PARTNER_RATE_LIMIT_PER_MINUTE",
                "JANTA_PARTNER_RATE_LIMIT_BURST",
                defaults.partner,
            )?,
        })
    }
}

fn rate_from_env(per_minute: &str, burst: &str, default: Rate) -> anyhow::Result<Rate> {
    let read = |name: &str| -> anyhow::Result<Option<u32>> {
        match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => anyhow::bail!("{name} must be a positive whole number, not `{text}`"),
            },
        }
    };
    let rate = read(per_minute)?;
    let burst = read(burst)?;
    Ok(match (rate, burst) {
        (None, None) => default,
        (Some(per_minute), None) => Rate {
            per_minute,
            burst: (per_minute / 5).max(1),
        },
        (rate, Some(burst)) => Rate {
            per_minute: rate.unwrap_or(default.per_minute),
            burst,
        },
    })
}

/// Whose bucket a request spends from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A partner app, by its token's subject (`partner:<id>`).
    Partner(String),
    /// A signed-in person, by subject.
    User(String),
    /// An anonymous caller, by network address.
    Address(IpAddr),
}

impl ClientKey {
    /// The key of a caller: `None` for service principals (never limited)
    /// and for an anonymous caller whose address is unknown.
    pub fn of(principal: Option<&Principal>, address: Option<IpAddr>) -> Option<Self> {
        match principal {
            Some(p) if p.has_role(Role::Service) => None,
            Some(p) if p.has_role(Role::Partner) => Some(ClientKey::Partner(p.subject.clone())),
            Some(p) => Some(ClientKey::User(p.subject.clone())),
            None => address.map(ClientKey::Address),
        }
    }

    /// The same from a token's claims as the router sees them: `sub` and
    /// the role names (`SERVICE`, `PARTNER`, …).
    pub fn from_claims<'a>(
        subject: Option<&str>,
        roles: impl IntoIterator<Item = &'a str>,
        address: Option<IpAddr>,
    ) -> Option<Self> {
        let Some(subject) = subject else {
            return address.map(ClientKey::Address);
        };
        let roles: Vec<&str> = roles.into_iter().collect();
        if roles.contains(&"SERVICE") {
            None
        } else if roles.contains(&"PARTNER") {
            Some(ClientKey::Partner(subject.to_string()))
        } else {
            Some(ClientKey::User(subject.to_string()))
        }
    }
}

/// Most clients tracked at once; beyond it, buckets that have refilled
/// (idle clients) are dropped, and if none has, the oldest.
const MAX_CLIENTS: usize = 100_000;

/// A bucket: tokens left (in thousandths, to refill smoothly without
/// floats) at the moment it was last touched.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tokens: u64,
    at: Instant,
}

/// The buckets of one process.
#[derive(Debug)]
pub struct RateLimiter {
    limits: ClientLimits,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

impl RateLimiter {
    /// Empty buckets table for `limits`.
    pub fn new(limits: ClientLimits) -> Self {
        RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limits applied.
    pub fn limits(&self) -> ClientLimits {
        self.limits
    }

    /// Spends one request of `key`'s bucket now: `Err(wait)` when it is
    /// empty, with how long until a request is allowed again.
    pub fn admit(&self, key: &ClientKey) -> Result<(), Duration> {
        self.admit_at(key, Instant::now())
    }

    /// [`RateLimiter::admit`] at the instant `now` (for tests).
    pub fn admit_at(&self, key: &ClientKey, now: Instant) -> Result<(), Duration> {
        let rate = match key {
            ClientKey::Partner(_) => self.limits.partner,
            ClientKey::User(_) | ClientKey::Address(_) => self.limits.user,
        };
        let capacity = u64::from(rate.burst) * 1000;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(key) {
            evict(&mut buckets, now, &self.limits);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            milli_tokens: capacity,
            at: now,
        });
        let refill = refilled(rate, now.saturating_duration_since(bucket.at));
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(refill).min(capacity);
        bucket.at = now;
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            return Ok(());
        }
        let missing = 1000 - bucket.milli_tokens;
        // per_minute tokens a minute = per_minute thousandths per 60 ms.
        let millis = (missing * 60).div_ceil(u64::from(rate.per_minute.max(1)));
        Err(Duration::from_millis(millis.max(1)))
    }
}

/// Thousandths of a token earned over `elapsed` at `rate`.
fn refilled(rate: Rate, elapsed: Duration) -> u64 {
    let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    millis.saturating_mul(u64::from(rate.per_minute)) / 60
}

/// Drops the buckets that are full again (clients idle long enough), or,
/// when every client is active, the least recently seen half.
fn evict(buckets: &mut HashMap<ClientKey, Bucket>, now: Instant, limits: &ClientLimits) {
    let full_after = |rate: Rate| {
        Duration::from_millis(u64::from(rate.burst) * 60_000 / u64::from(rate.per_minute.max(1)))
    };
    buckets.retain(|key, bucket| {
        let rate = match key {
            ClientKey::Partner(_) => limits.partner,
            _ => limits.user,
        };
        now.saturating_duration_since(bucket.at) < full_after(rate)
    });
    if buckets.len() >= MAX_CLIENTS {
        let mut seen: Vec<Instant> = buckets.values().map(|b| b.at).collect();
        seen.sort_unstable();
        let cut = seen[seen.len() / 2];
        buckets.retain(|_, bucket| bucket.at > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> RateLimiter {
        let rate = Rate { per_minute, burst };
        RateLimiter::new(ClientLimits {
            user: rate,
            partner: Rate {
                per_minute: per_minute * 2,
                burst: burst * 2,
            },
        })
    }

    #[test]
    fn a_burst_passes_then_the_bucket_refills_at_the_rate() {
        let limiter = limiter(60, 3);
        let me = ClientKey::User("u1".into());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.admit_at(&me, t0).is_ok());
        }
        // 60 a minute: one a second, so the next is a second away.
        assert_eq!(limiter.admit_at(&me, t0), Err(Duration::from_secs(1)));
        assert_eq!(
            limiter.admit_at(&me, t0 + Duration::from_millis(400)),
            Err(Duration::from_millis(600))
        );
        assert!(limiter
            .admit_at(&me, t0 + Duration::from_millis(1000))
            .is_ok());
        assert!(limiter
            .admit_at(&me, t0 + Duration::from_millis(1000))
            .is_err());
        // Never beyond the burst, however long the client was away.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limiter.admit_at(&me, later).is_ok());
        }
        assert!(limiter.admit_at(&me, later).is_err());
    }

    #[test]
    fn clients_have_their_own_buckets_and_partners_their_own_rate() {
        let limiter = limiter(60, 1);
        let t0 = Instant::now();
        let (a, b) = (ClientKey::User("a".into()), ClientKey::User("b".into()));
        assert!(limiter.admit_at(&a, t0).is_ok());
        assert!(limiter.admit_at(&a, t0).is_err());
        assert!(limiter.admit_at(&b, t0).is_ok());
        let partner = ClientKey::Partner("partner:p".into());
        assert!(limiter.admit_at(&partner, t0).is_ok());
        assert!(limiter.admit_at(&partner, t0).is_ok());
        assert_eq!(
            limiter.admit_at(&partner, t0),
            Err(Duration::from_millis(500))
        );
    }

    #[test]
    fn services_are_never_limited_and_anonymous_callers_go_by_address() {
        let principal = |roles: Vec<Role>, subject: &str| Principal {
            subject: subject.into(),
            roles,
            vendor_id: None,
            scopes: Vec::new(),
        };
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let service = principal(vec![Role::Service], "service:orders");
        assert_eq!(ClientKey::of(Some(&service), Some(ip)), None);
        let partner = principal(vec![Role::Partner], "partner:p1");
        assert_eq!(
            ClientKey::of(Some(&partner), Some(ip)),
            Some(ClientKey::Partner("partner:p1".into()))
        );
        let user = principal(vec![Role::Customer], "u1");
        assert_eq!(
            ClientKey::of(Some(&user), Some(ip)),
            Some(ClientKey::User("u1".into()))
        );
        assert_eq!(ClientKey::of(None, Some(ip)), Some(ClientKey::Address(ip)));
        assert_eq!(ClientKey::of(None, None), None);
        assert_eq!(
            ClientKey::from_claims(Some("service:users"), ["SERVICE"], None),
            None
        );
        assert_eq!(
            ClientKey::from_claims(Some("partner:p1"), ["PARTNER"], None),
            Some(ClientKey::Partner("partner:p1".into()))
        );
        assert_eq!(
            ClientKey::from_claims(None, [], Some(ip)),
            Some(ClientKey::Address(ip))
        );
    }

    #[test]
    fn idle_clients_are_evicted_when_the_table_is_full() {
        let limits = ClientLimits::default();
        let t0 = Instant::now();
        let mut buckets = HashMap::new();
        buckets.insert(
            ClientKey::User("idle".into()),
            Bucket {
                milli_tokens: 0,
                at: t0,
            },
        );
        buckets.insert(
            ClientKey::User("busy".into()),
            Bucket {
                milli_tokens: 0,
                at: t0 + Duration::from_secs(3600),
            },
        );
        evict(&mut buckets, t0 + Duration::from_secs(3601), &limits);
        assert!(buckets.contains_key(&ClientKey::User("busy".into())));
        assert!(!buckets.contains_key(&ClientKey::User("idle".into())));
    }
}
