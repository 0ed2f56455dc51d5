//! Attempt throttling shared by password sign-in and the OAuth token
//! endpoint: every attempt to present a secret is counted on its subject
//! and on its client address, atomically and *before* the secret is
//! checked, so a burst of concurrent guesses cannot all be checked. The
//! rules (how long whom waits) are in [`crate::domain::throttle`].

use crate::domain::hash_secret;
use crate::domain::throttle::{address_key, judge, Counter, Verdict};
use crate::store::throttle as sql;
use chrono::{DateTime, Utc};
use janta_platform::server::ClientAddress;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use sqlx::AnyConnection;

/// Locks the rows of both keys of `attempt` (in key order, so that two
/// attempts never wait on each other crosswise); returns their counts as
/// (subject, address).
async fn lock_both(
    conn: &mut AnyConnection,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> ApiResult<(Counter, Counter)> {
    if attempt.subject < attempt.address {
        let subject = sql::lock(conn, &attempt.subject, now).await?;
        Ok((subject, sql::lock(conn, &attempt.address, now).await?))
    } else {
        let address = sql::lock(conn, &attempt.address, now).await?;
        Ok((sql::lock(conn, &attempt.subject, now).await?, address))
    }
}

/// An attempt that may go on to check its secret, already counted.
pub struct Attempt {
    subject: String,
    address: String,
}

impl Attempt {
    /// Counts an attempt on `subject_key` (see
    /// [`crate::domain::throttle::account_key`]) from `address`, or refuses
    /// it with `RATE_LIMITED` and `retryAfter` without counting it.
    pub async fn begin(
        store: &Store,
        subject_key: &str,
        address: ClientAddress,
    ) -> ApiResult<Self> {
        let attempt = Attempt {
            subject: hash_secret(subject_key),
            address: hash_secret(&address_key(address)),
        };
        let now = Utc::now();
        let mut tx = store.begin().await?;
        let (subject, address) = lock_both(&mut tx, &attempt, now).await?;
        match judge(&subject, &address, now) {
            Verdict::Wait(wait) => Err(ApiError::rate_limited(
                "too many failed attempts; wait retryAfter seconds before trying again",
                wait,
            )),
            Verdict::Proceed { subject, address } => {
                sql::save(&mut tx, &attempt.subject, &subject).await?;
                sql::save(&mut tx, &attempt.address, &address).await?;
                tx.commit().await?;
                Ok(attempt)
            }
        }
    }

    /// The secret was right: the subject's count starts over and the
    /// address gets its attempt back (inside the caller's transaction).
    pub async fn succeeded(self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        sql::forget(conn, &self.subject).await?;
        sql::refund(conn, &self.address).await
    }
}
