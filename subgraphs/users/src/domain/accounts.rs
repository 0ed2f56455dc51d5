//! Rules of a person's own account, free of I/O: one-time codes (how they
//! are made, stored and judged), the common-password list, and the kinds of
//! consent with the version of the text in force.

use crate::domain::hash_secret;
use chrono::{DateTime, Utc};
use janta_events::types::AccountCodePurpose;
use janta_platform::{ApiError, ApiResult};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a verification code works.
pub const VERIFY_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a password-reset token works.
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
/// Wrong codes after which a code is void (a new one must be requested).
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// How long after one code the next may be requested.
pub const RESEND_COOLDOWN: Duration = Duration::from_secs(60);

/// Storage form of a code's purpose.
pub fn purpose_as_db(purpose: AccountCodePurpose) -> &'static str {
    match purpose {
        AccountCodePurpose::VerifyEmail => "VERIFY_EMAIL",
        AccountCodePurpose::VerifyPhone => "VERIFY_PHONE",
        AccountCodePurpose::PasswordReset => "PASSWORD_RESET",
    }
}

/// A freshly made one-time secret: what the person gets, and what is stored.
pub struct IssuedSecret {
    /// Sent to the person; never stored or logged.
    pub secret: String,
    /// Random salt of a 6-digit code (empty for a reset token, which is
    /// long and random enough on its own).
    pub salt: String,
    /// What is stored: SHA-256 of salt and secret.
    pub hash: String,
}

/// A new 6-digit verification code (uniform, leading zeros kept) with a
/// per-code salt: a leaked table does not give away codes by lookup.
pub fn new_verification_code() -> IssuedSecret {
    let mut rng = rand::thread_rng();
    let secret = format!("{:06}", rng.gen_range(0..1_000_000u32));
    let salt = hex::encode(rng.gen::<[u8; 16]>());
    let hash = salted_hash(&salt, &secret);
    IssuedSecret { secret, salt, hash }
}

/// A new password-reset token: 256 random bits, URL-safe, stored as its
/// SHA-256 (like refresh tokens) so it can be looked up by hash.
pub fn new_reset_token() -> IssuedSecret {
    let (secret, hash) = crate::domain::new_refresh_token();
    IssuedSecret {
        secret,
        salt: String::new(),
        hash,
    }
}

/// The stored form of a reset token the person presents.
pub fn reset_token_hash(token: &str) -> String {
    hash_secret(token.trim())
}

/// SHA-256 of `salt` and `code`, hex.
pub fn salted_hash(salt: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{code}").as_bytes()))
}

/// Whether two hex hashes are equal, in time independent of where they differ.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A code as typed: exactly six digits (spaces around ignored).
pub fn parse_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim();
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(ApiError::bad_input("code must be the 6 digits we sent you"))
    }
}

/// The state of the newest verification code of a purpose, as stored.
pub struct CodeState {
    /// Wrong attempts so far.
    pub attempts: i64,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether it was used or voided.
    pub spent: bool,
}

/// What a presented code amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right code, in time: the contact is verified and the code spent.
    Accepted,
    /// Wrong code; `left` more tries before the code is void.
    Wrong { left: i64 },
    /// Too many wrong tries: void until a new code is requested.
    Throttled,
    /// No live code: expired, used, or never requested.
    Expired,
}

/// Judges a presented code against the newest code of its purpose
/// (`None`: none was ever issued). Throttling comes first, so that a
/// voided code answers `RATE_LIMITED` even to the right digits.
pub fn judge(state: Option<&CodeState>, matches: bool, now: DateTime<Utc>) -> Verdict {
    let Some(state) = state else {
        return Verdict::Expired;
    };
    if state.attempts >= MAX_CODE_ATTEMPTS {
        return Verdict::Throttled;
    }
    if state.spent || state.expires_at <= now {
        return Verdict::Expired;
    }
    if matches {
        Verdict::Accepted
    } else {
        Verdict::Wrong {
            left: MAX_CODE_ATTEMPTS - state.attempts - 1,
        }
    }
}

/// The error a person sees for a verdict other than [`Verdict::Accepted`].
pub fn refusal(verdict: Verdict) -> ApiError {
    match verdict {
        Verdict::Accepted => ApiError::internal(anyhow::anyhow!("an accepted code is no refusal")),
        Verdict::Wrong { left: 0 } => {
            ApiError::bad_input("that code is not right; it no longer works: request a new one")
        }
        Verdict::Wrong { left } => ApiError::bad_input(format!(
            "that code is not right; {left} more tries before it stops working"
        )),
        Verdict::Throttled => {
            ApiError::rate_limited("too many wrong codes: request a new code", RESEND_COOLDOWN)
        }
        Verdict::Expired => {
            ApiError::bad_input("that code has expired or was already used: request a new one")
        }
    }
}

/// Seconds until another code may be requested, if the last one was issued
/// at `last` (`None` when it may be requested now).
pub fn cooldown_left(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    let cooldown = chrono::Duration::from_std(RESEND_COOLDOWN).expect("constant");
    let ready = last? + cooldown;
    (ready > now).then(|| (ready - now).to_std().unwrap_or_default())
}

/// The shipped list of common passwords (see the file's header for its
/// source), lower case.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Whether `password` (case-insensitively) is one of the 10 000 most common.
pub fn is_common_password(password: &str) -> bool {
    common_passwords().contains(password.to_lowercase().as_str())
}

/// What a person can agree to or withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentKind {
    /// The terms of use.
    Terms,
    /// Processing of prescriptions (health data) to dispense them.
    PrescriptionProcessing,
    /// Marketing messages.
    Marketing,
}

impl ConsentKind {
    /// Every kind, in a stable order.
    pub const ALL: [ConsentKind; 3] = [
        ConsentKind::Terms,
        ConsentKind::PrescriptionProcessing,
        ConsentKind::Marketing,
    ];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            ConsentKind::Terms => "TERMS",
            ConsentKind::PrescriptionProcessing => "PRESCRIPTION_PROCESSING",
            ConsentKind::Marketing => "MARKETING",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        ConsentKind::ALL.into_iter().find(|k| k.as_db() == s)
    }

    /// The version of the text a person agrees to now: recorded with each
    /// choice, so that a later text change shows who agreed to what.
    pub fn current_version(self) -> &'static str {
        match self {
            ConsentKind::Terms => "terms-2026-11",
            ConsentKind::PrescriptionProcessing => "prescriptions-2026-11",
            ConsentKind::Marketing => "marketing-2026-11",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(attempts: i64, minutes_left: i64, spent: bool) -> CodeState {
        CodeState {
            attempts,
            expires_at: Utc::now() + chrono::Duration::minutes(minutes_left),
            spent,
        }
    }

    #[test]
    fn codes_are_six_digits_and_salted() {
        let a = new_verification_code();
        assert_eq!(a.secret.len(), 6);
        assert!(a.secret.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(a.hash, salted_hash(&a.salt, &a.secret));
        assert_ne!(a.hash, salted_hash("other", &a.secret));
    }

    #[test]
    fn verdicts() {
        let now = Utc::now();
        assert_eq!(judge(None, true, now), Verdict::Expired);
        assert_eq!(
            judge(Some(&state(0, 5, false)), true, now),
            Verdict::Accepted
        );
        assert_eq!(
            judge(Some(&state(3, 5, false)), false, now),
            Verdict::Wrong { left: 1 }
        );
        assert_eq!(
            judge(Some(&state(5, 5, false)), true, now),
            Verdict::Throttled
        );
        assert_eq!(
            judge(Some(&state(0, -1, false)), true, now),
            Verdict::Expired
        );
        assert_eq!(judge(Some(&state(0, 5, true)), true, now), Verdict::Expired);
    }

    #[test]
    fn common_passwords_are_known() {
        assert!(is_common_password("QwertyUiop"));
        assert!(is_common_password("password"));
        assert!(!is_common_password("correct horse battery staple"));
    }

    #[test]
    fn codes_parse() {
        assert_eq!(parse_code(" 012345 ").unwrap(), "012345");
        assert!(parse_code("12345").is_err());
        assert!(parse_code("12a456").is_err());
    }
}
