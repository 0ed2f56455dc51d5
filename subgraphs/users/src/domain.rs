//! Users' rules, free of I/O: validated values (once one exists it is valid),
//! password hashing, refresh-token generation, and who may see or change what.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use janta_platform::auth::{Principal, Role};
use janta_platform::{ApiError, ApiResult};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// A normalised (trimmed, lower-case) e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Validates the shape `local@domain.tld`; real ownership is a later concern.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && email.chars().all(|c| !c.is_whitespace() && !c.is_control())
                    && email.matches('@').count() == 1
            });
        if valid {
            Ok(Email(email))
        } else {
            Err(ApiError::bad_input("email is not a valid e-mail address"))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form, e.g. "+919876543210".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts `+` then 8–15 digits, the first not zero.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let phone: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let digits = phone.strip_prefix('+').unwrap_or("");
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Phone(phone))
        } else {
            Err(ApiError::bad_input(
                "phone must be in international E.164 form, e.g. +919876543210",
            ))
        }
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy; never logged, never stored as is.
pub struct Password(String);

/// Minimum password length (architecture: ≥ 10 characters).
pub const MIN_PASSWORD_LEN: usize = 10;

impl Password {
    /// At least 10 and at most 128 characters, not all the same character.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let count = raw.chars().count();
        if count < MIN_PASSWORD_LEN {
            return Err(ApiError::bad_input(format!(
                "password must be at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        if count > 128 {
            return Err(ApiError::bad_input(
                "password must be at most 128 characters",
            ));
        }
        let first = raw.chars().next();
        if raw.chars().all(|c| Some(c) == first) {
            return Err(ApiError::bad_input("password is too easy to guess"));
        }
        Ok(Password(raw.to_string()))
    }

    /// Hashes with argon2id and a random salt.
    pub fn hash(&self) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    }
}

/// Checks a login password against a stored hash. With no stored hash (unknown
/// account) it still does the same work, so timing does not reveal existence.
pub fn verify_password(candidate: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Password("dummy-password-for-timing".into())
            .hash()
            .unwrap_or_default()
    });
    let hash_text = stored.unwrap_or(dummy);
    let Ok(hash) = PasswordHash::new(hash_text) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(candidate.as_bytes(), &hash)
        .is_ok();
    ok && stored.is_some()
}

/// A person's name as shown to pharmacists and on invoices.
pub fn parse_person_name(raw: &str, what: &str) -> ApiResult<String> {
    parse_text(raw, what, 2, 100)
}

/// Free text with a length window, trimmed, no control characters.
pub fn parse_text(raw: &str, what: &str, min: usize, max: usize) -> ApiResult<String> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min || len > max || text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(format!(
            "{what} must be {min} to {max} characters"
        )));
    }
    Ok(text.to_string())
}

/// An Indian postal PIN code: six digits, not starting with 0.
pub fn parse_pincode(raw: &str) -> ApiResult<String> {
    let pin = raw.trim();
    if pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit()) && !pin.starts_with('0') {
        Ok(pin.to_string())
    } else {
        Err(ApiError::bad_input("pincode must be 6 digits"))
    }
}

/// ISO 3166-2:IN subdivision codes (states and union territories).
const STATE_CODES: [&str; 36] = [
    "AN", "AP", "AR", "AS", "BR", "CH", "CT", "DH", "DL", "GA", "GJ", "HP", "HR", "JH", "JK", "KA",
    "KL", "LA", "LD", "MH", "ML", "MN", "MP", "MZ", "NL", "OR", "PB", "PY", "RJ", "SK", "TG", "TN",
    "TR", "UP", "UT", "WB",
];

/// An Indian state or union territory code such as "KA"; GST depends on it.
pub fn parse_state(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_uppercase();
    let code = code.strip_prefix("IN-").unwrap_or(&code).to_string();
    if STATE_CODES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(ApiError::bad_input(
            "state must be an ISO 3166-2:IN code such as \"KA\"",
        ))
    }
}

/// A GSTIN: 2-digit state code, 10-character PAN, entity digit, 'Z', check character.
pub fn parse_gstin(raw: &str) -> ApiResult<String> {
    let g = raw.trim().to_uppercase();
    let b = g.as_bytes();
    let valid = b.len() == 15
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..7].iter().all(u8::is_ascii_uppercase)
        && b[7..11].iter().all(u8::is_ascii_digit)
        && b[11].is_ascii_uppercase()
        && b[12].is_ascii_alphanumeric()
        && b[13] == b'Z'
        && b[14].is_ascii_alphanumeric();
    if valid {
        Ok(g)
    } else {
        Err(ApiError::bad_input("gstin is not a valid GSTIN"))
    }
}

/// Roles a user account may hold (service principals are not user accounts).
pub fn check_assignable(roles: &[Role]) -> ApiResult<()> {
    if roles.is_empty() {
        return Err(ApiError::bad_input("a user needs at least one role"));
    }
    if roles.contains(&Role::Service) {
        return Err(ApiError::bad_input("SERVICE is reserved for subgraphs"));
    }
    Ok(())
}

/// Staff roles that `addVendorStaff` may grant.
pub fn check_staff_role(role: Role) -> ApiResult<()> {
    match role {
        Role::Pharmacist | Role::VendorAdmin => Ok(()),
        _ => Err(ApiError::bad_input(
            "role must be PHARMACIST or VENDOR_ADMIN",
        )),
    }
}

/// May `viewer` see the private parts (contact details, addresses) of `user_id`?
pub fn can_view_private(viewer: &Principal, user_id: &str) -> bool {
    viewer.subject == user_id || viewer.is_admin()
}

/// A fresh refresh token (shown once) and the hash we store.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&token);
    (token, hash)
}

/// Compares secrets in constant time (by comparing their hashes).
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// SHA-256 of a high-entropy secret (refresh tokens, rate-limit keys).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones() {
        assert_eq!(
            Email::parse(" A@Example.COM ").unwrap().as_str(),
            "a@example.com"
        );
        for bad in ["a", "a@b", "@b.com", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Phone::parse("+91 98765 43210").is_ok());
        for bad in ["9876543210", "+0123456789", "+91abc", "+12"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_follow_the_policy_and_hash() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("aaaaaaaaaaaa").is_err());
        let p = Password::parse("correct horse").unwrap();
        let hash = p.hash().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", Some(&hash)));
        assert!(!verify_password("wrong horse!", Some(&hash)));
        assert!(!verify_password("correct horse", None));
    }

    #[test]
    fn addresses_and_vendors() {
        assert!(parse_pincode("560001").is_ok());
        assert!(parse_pincode("56001").is_err());
        assert!(parse_pincode("060001").is_err());
        assert_eq!(parse_state("in-ka").unwrap(), "KA");
        assert!(parse_state("XX").is_err());
        assert!(parse_gstin("29ABCDE1234F1Z5").is_ok());
        assert!(parse_gstin("29ABCDE1234F1X5").is_err());
    }
}
