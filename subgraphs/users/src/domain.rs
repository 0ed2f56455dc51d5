//! Users' rules, free of I/O: validated values (once one exists it is valid),
//! password hashing, refresh-token generation, and who may see or change what.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use janta_platform::auth::{PartnerScope, Principal, Role};
use janta_platform::{ApiError, ApiResult};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

pub mod accounts;
pub mod clients;
pub mod gst;
pub mod licences;
pub mod partners;
pub mod throttle;

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
    /// At least 10 and at most 128 characters, not all the same character,
    /// and not one of the 10 000 most common passwords.
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
        if raw.chars().all(|c| Some(c) == first) || accounts::is_common_password(raw) {
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

/// ISO 3166-2:IN subdivisions (states and union territories): code and name.
const STATES: [(&str, &str); 36] = [
    ("AN", "Andaman and Nicobar Islands"),
    ("AP", "Andhra Pradesh"),
    ("AR", "Arunachal Pradesh"),
    ("AS", "Assam"),
    ("BR", "Bihar"),
    ("CH", "Chandigarh"),
    ("CT", "Chhattisgarh"),
    ("DH", "Dadra and Nagar Haveli and Daman and Diu"),
    ("DL", "Delhi"),
    ("GA", "Goa"),
    ("GJ", "Gujarat"),
    ("HP", "Himachal Pradesh"),
    ("HR", "Haryana"),
    ("JH", "Jharkhand"),
    ("JK", "Jammu and Kashmir"),
    ("KA", "Karnataka"),
    ("KL", "Kerala"),
    ("LA", "Ladakh"),
    ("LD", "Lakshadweep"),
    ("MH", "Maharashtra"),
    ("ML", "Meghalaya"),
    ("MN", "Manipur"),
    ("MP", "Madhya Pradesh"),
    ("MZ", "Mizoram"),
    ("NL", "Nagaland"),
    ("OR", "Odisha"),
    ("PB", "Punjab"),
    ("PY", "Puducherry"),
    ("RJ", "Rajasthan"),
    ("SK", "Sikkim"),
    ("TG", "Telangana"),
    ("TN", "Tamil Nadu"),
    ("TR", "Tripura"),
    ("UP", "Uttar Pradesh"),
    ("UT", "Uttarakhand"),
    ("WB", "West Bengal"),
];

/// An Indian state or union territory code such as "KA"; GST depends on it.
pub fn parse_state(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_uppercase();
    let code = code.strip_prefix("IN-").unwrap_or(&code).to_string();
    if STATES.iter().any(|(c, _)| *c == code) {
        Ok(code)
    } else {
        Err(ApiError::bad_input(
            "state must be an ISO 3166-2:IN code such as \"KA\"",
        ))
    }
}

/// A GSTIN of the right shape (the check character and state prefix are
/// checked by [`gst`]).
pub fn parse_gstin(raw: &str) -> ApiResult<String> {
    janta_platform::gstin::parse_shape(raw, "gstin")
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

/// Staff roles that `addVendorStaff` may grant. PHARMACIST is a licensed
/// role: it is proposed with a council registration and verified by a
/// platform admin, never granted directly.
pub fn check_staff_role(role: Role) -> ApiResult<()> {
    match role {
        Role::VendorAdmin => Ok(()),
        Role::Pharmacist => Err(pharmacist_by_appointment()),
        _ => Err(ApiError::bad_input("role must be VENDOR_ADMIN")),
    }
}

/// The refusal when someone tries to grant PHARMACIST directly.
fn pharmacist_by_appointment() -> ApiError {
    ApiError::bad_input(
        "PHARMACIST is granted only by a verified appointment: proposePharmacist, then verifyPharmacist",
    )
}

/// `setUserRoles` may keep or drop PHARMACIST but not add it: `verified`
/// says whether the user holds a verified appointment.
pub fn check_pharmacist_kept(roles: &[Role], verified: bool) -> ApiResult<()> {
    if roles.contains(&Role::Pharmacist) && !verified {
        return Err(pharmacist_by_appointment());
    }
    Ok(())
}

/// How much of another user's account a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Visibility {
    /// Nothing but the ID the viewer already has.
    None,
    /// The name and employer: what vendor staff need to serve customers
    /// (an order's buyer, a prescription's owner).
    Name,
    /// Everything: contact details, roles, addresses, family.
    Private,
}

/// What `viewer` may see of `user_id`: all of themselves; admins all of
/// anyone; active vendor staff (their token carries the staff role and
/// vendor), a vendor's partner app with `orders:read` (it fulfils that
/// vendor's orders, like its staff) and services the name of anyone
/// (services get contact details only through `contactForService`, which
/// only notifications may call); others, and anonymous callers, nothing.
pub fn visibility(viewer: Option<&Principal>, user_id: &str) -> Visibility {
    let staff = |v: &Principal| {
        v.vendor_id
            .as_deref()
            .is_some_and(|id| v.acts_for_vendor(id, PartnerScope::OrdersRead))
    };
    match viewer {
        Some(v) if can_view_private(v, user_id) => Visibility::Private,
        Some(v) if staff(v) || v.has_role(Role::Service) => Visibility::Name,
        _ => Visibility::None,
    }
}

/// May `viewer` see the private parts (contact details, addresses) of `user_id`?
pub fn can_view_private(viewer: &Principal, user_id: &str) -> bool {
    viewer.subject == user_id || viewer.is_admin()
}

/// The state code of a State Pharmacy Council given by code or by name.
fn parse_council(raw: &str) -> ApiResult<String> {
    if let Ok(code) = parse_state(raw) {
        return Ok(code);
    }
    let words: Vec<String> = raw
        .split_whitespace()
        .map(str::to_lowercase)
        .filter(|w| !matches!(w.as_str(), "state" | "pharmacy" | "council"))
        .collect();
    let name = words.join(" ");
    STATES
        .iter()
        .find(|(_, state)| state.to_lowercase() == name)
        .map(|(code, _)| code.to_string())
        .ok_or_else(|| {
            ApiError::bad_input(
                "council must name a State Pharmacy Council, e.g. \"KA\" or \"Karnataka State Pharmacy Council\"",
            )
        })
}

/// Where a pharmacist appointment stands. Only `PENDING` is decided;
/// only `VERIFIED` grants the PHARMACIST role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentStatus {
    /// Proposed by the vendor, waiting for a platform admin.
    Pending,
    /// A platform admin checked the registration: the role is active.
    Verified,
    /// A platform admin refused it.
    Rejected,
    /// Was verified, then withdrawn by an admin.
    Revoked,
}

impl AppointmentStatus {
    const ALL: [AppointmentStatus; 4] = [
        AppointmentStatus::Pending,
        AppointmentStatus::Verified,
        AppointmentStatus::Rejected,
        AppointmentStatus::Revoked,
    ];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            AppointmentStatus::Pending => "PENDING",
            AppointmentStatus::Verified => "VERIFIED",
            AppointmentStatus::Rejected => "REJECTED",
            AppointmentStatus::Revoked => "REVOKED",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_db() == s)
    }
}

/// How a dependent is related to the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Husband or wife.
    Spouse,
    /// Son or daughter.
    Child,
    /// Mother or father.
    Parent,
    /// Brother or sister.
    Sibling,
    /// Anyone else in the customer's care.
    Other,
}

impl Relation {
    const ALL: [Relation; 5] = [
        Relation::Spouse,
        Relation::Child,
        Relation::Parent,
        Relation::Sibling,
        Relation::Other,
    ];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            Relation::Spouse => "SPOUSE",
            Relation::Child => "CHILD",
            Relation::Parent => "PARENT",
            Relation::Sibling => "SIBLING",
            Relation::Other => "OTHER",
        }
    }

    /// Reads the storage form.
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_db() == s)
    }
}

/// A pharmacist's registration with a State Pharmacy Council (Pharmacy Act,
/// 1948): the council's state and the number it issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PharmacistRegistration {
    /// ISO 3166-2:IN code of the council's state, e.g. "KA".
    pub council: String,
    /// The registration number, upper case, e.g. "KSPC/12345".
    pub number: String,
}

impl PharmacistRegistration {
    /// The council is named by its state's code ("KA") or by name
    /// ("Karnataka State Pharmacy Council", "Delhi Pharmacy Council") and
    /// kept as the code. Councils number their registers differently;
    /// accepted: 3 to 32 letters, digits, `/`, `-` and `.`, with a digit.
    pub fn parse(council: &str, number: &str) -> ApiResult<Self> {
        let council = parse_council(council)?;
        let number = number.trim().to_uppercase();
        let valid = (3..=32).contains(&number.len())
            && number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.'))
            && number.chars().any(|c| c.is_ascii_digit());
        if !valid {
            return Err(ApiError::bad_input(
                "registrationNumber must be 3 to 32 letters, digits, '/', '-' or '.'",
            ));
        }
        Ok(PharmacistRegistration { council, number })
    }
}

/// A fresh refresh token (shown once) and the hash we store.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&token);
    (token, hash)
}

/// SHA-256 of a high-entropy secret (refresh tokens, rate-limit keys).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_testkit::principal;

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
    fn who_sees_how_much_of_a_user() {
        let cases = [
            (None, Visibility::None),
            (
                Some(principal("u1", &[Role::Customer], None)),
                Visibility::Private,
            ),
            (
                Some(principal("u2", &[Role::Customer], None)),
                Visibility::None,
            ),
            (
                Some(principal("u2", &[Role::Customer], Some("v"))),
                Visibility::None,
            ),
            (
                Some(principal("p", &[Role::Pharmacist], Some("v"))),
                Visibility::Name,
            ),
            (
                Some(principal("p", &[Role::Pharmacist], None)),
                Visibility::None,
            ),
            (
                Some(principal("va", &[Role::VendorAdmin], Some("v"))),
                Visibility::Name,
            ),
            (
                Some(principal("a", &[Role::Admin], None)),
                Visibility::Private,
            ),
            (
                Some(principal("service:orders", &[Role::Service], None)),
                Visibility::Name,
            ),
        ];
        for (viewer, expected) in cases {
            assert_eq!(visibility(viewer.as_ref(), "u1"), expected, "{viewer:?}");
        }
        let app = |vendor: Option<&str>, scope: &str| Principal {
            scopes: vec![scope.to_string()],
            ..principal("partner:app", &[Role::Partner], vendor)
        };
        let fulfils = app(Some("v"), "orders:read");
        assert_eq!(visibility(Some(&fulfils), "u1"), Visibility::Name);
        let stock_only = app(Some("v"), "stock:write");
        assert_eq!(visibility(Some(&stock_only), "u1"), Visibility::None);
        let platform = app(None, "orders:read");
        assert_eq!(visibility(Some(&platform), "u1"), Visibility::None);
    }

    #[test]
    fn pharmacists_come_only_from_appointments() {
        assert!(check_staff_role(Role::Pharmacist).is_err());
        assert!(check_staff_role(Role::VendorAdmin).is_ok());
        assert!(check_pharmacist_kept(&[Role::Customer, Role::Pharmacist], false).is_err());
        assert!(check_pharmacist_kept(&[Role::Pharmacist], true).is_ok());
        assert!(check_pharmacist_kept(&[Role::Customer], false).is_ok());
        let reg = PharmacistRegistration::parse("ka", " kspc/12345 ").unwrap();
        for council in ["Karnataka State Pharmacy Council", "IN-KA", "karnataka"] {
            let named = PharmacistRegistration::parse(council, "KSPC/12345").unwrap();
            assert_eq!(named, reg, "{council}");
        }
        let delhi = PharmacistRegistration::parse("Delhi Pharmacy Council", "DPC-1").unwrap();
        assert_eq!(delhi.council, "DL");
        assert_eq!(
            (reg.council.as_str(), reg.number.as_str()),
            ("KA", "KSPC/12345")
        );
        for (council, number) in [
            ("XX", "12345"),
            ("Pharmacy Council", "12345"),
            ("KA", "AB"),
            ("KA", "NODIGITS"),
            ("KA", "12 345"),
        ] {
            assert!(
                PharmacistRegistration::parse(council, number).is_err(),
                "{council} {number}"
            );
        }
        for s in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::from_db(s.as_db()), Some(s));
        }
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
