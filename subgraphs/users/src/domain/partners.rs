//! Rules of partner apps (no I/O): who may register and manage an app for
//! which owner (a vendor, or the platform), the scopes it may hold (the
//! closed list [`PartnerScope`]), how long a rotated secret keeps working,
//! and the shape of a fresh client secret.

use super::hash_secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use janta_platform::auth::{PartnerScope, Principal, Role};
use janta_platform::{ApiError, ApiResult};
use rand::RngCore;

/// The longest a rotated secret may keep working: long enough to roll a
/// fleet over a weekend, short enough that a leaked one dies soon.
pub const MAX_OVERLAP_MINUTES: i32 = 7 * 24 * 60;

/// How long a rotated secret keeps working unless the caller says.
pub const DEFAULT_OVERLAP_MINUTES: i32 = 60;

/// Prefix of partner client secrets, so secret scanners can spot leaked ones.
const SECRET_PREFIX: &str = "jps_";

/// The vendor owning an app registered by `actor` who asked for
/// `requested` (None: the platform). Platform admins register platform
/// apps, or apps of any vendor they name; a vendor admin registers apps of
/// their own vendor only (naming none means theirs); nobody else registers.
pub fn owner_for_registration(
    actor: &Principal,
    requested: Option<&str>,
) -> ApiResult<Option<String>> {
    if actor.is_admin() {
        return Ok(requested.map(str::to_string));
    }
    let own = own_vendor(actor)?;
    match requested {
        None => Ok(Some(own.to_string())),
        Some(vendor) if vendor == own => Ok(Some(own.to_string())),
        Some(_) => Err(ApiError::forbidden(
            "you can register partner apps for your own pharmacy only",
        )),
    }
}

/// Whether `actor` may see and manage an app owned by `owner` (None: the
/// platform): platform admins any, a vendor admin their vendor's only.
pub fn may_manage(actor: &Principal, owner: Option<&str>) -> bool {
    actor.is_admin()
        || (actor.has_role(Role::VendorAdmin)
            && owner.is_some()
            && actor.vendor_id.as_deref() == owner)
}

/// The owner whose apps `actor` lists when asking for `requested`: a named
/// vendor if they may manage its apps; without one, a vendor admin's own
/// vendor, and for platform admins every owner (None).
pub fn owner_for_listing(actor: &Principal, requested: Option<&str>) -> ApiResult<Option<String>> {
    match requested {
        Some(vendor) if may_manage(actor, Some(vendor)) => Ok(Some(vendor.to_string())),
        Some(_) => Err(ApiError::forbidden(
            "only platform admins and this pharmacy's admins can see its partner apps",
        )),
        None if actor.is_admin() => Ok(None),
        None => Ok(Some(own_vendor(actor)?.to_string())),
    }
}

/// The vendor a vendor admin runs, or FORBIDDEN for anyone else.
fn own_vendor(actor: &Principal) -> ApiResult<&str> {
    let vendor = actor
        .vendor_id
        .as_deref()
        .filter(|_| actor.has_role(Role::VendorAdmin));
    vendor.ok_or_else(|| {
        ApiError::forbidden("only platform admins and vendor admins manage partner apps")
    })
}

/// The scopes to grant, deduplicated in the documented order; at least one.
pub fn parse_scopes(scopes: &[PartnerScope]) -> ApiResult<Vec<PartnerScope>> {
    let granted: Vec<PartnerScope> = PartnerScope::ALL
        .into_iter()
        .filter(|s| scopes.contains(s))
        .collect();
    if granted.is_empty() {
        return Err(ApiError::bad_input("scopes: grant at least one scope"));
    }
    Ok(granted)
}

/// The scopes as stored and as tokens carry them: space-separated.
pub fn scopes_text(scopes: &[PartnerScope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.join(" ")
}

/// The stored scopes that are on the list (anything else is never shown).
pub fn known_scopes(stored: &str) -> Vec<PartnerScope> {
    stored.split(' ').filter_map(PartnerScope::parse).collect()
}

/// How long the previous secret keeps working after a rotation: 0 (it
/// stops at once) to [`MAX_OVERLAP_MINUTES`].
pub fn rotation_overlap(minutes: i32) -> ApiResult<Duration> {
    if !(0..=MAX_OVERLAP_MINUTES).contains(&minutes) {
        return Err(ApiError::bad_input(format!(
            "overlapMinutes must be 0 to {MAX_OVERLAP_MINUTES} (7 days)"
        )));
    }
    Ok(Duration::minutes(i64::from(minutes)))
}

/// A fresh client secret (shown once: 32 random bytes) and the hash stored.
pub fn new_client_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_testkit::principal;

    fn code<T: std::fmt::Debug>(result: ApiResult<T>) -> &'static str {
        result.unwrap_err().code().as_str()
    }

    #[test]
    fn vendor_admins_register_for_their_own_pharmacy_only() {
        let ka = principal("u1", &[Role::VendorAdmin], Some("ka"));
        assert_eq!(
            owner_for_registration(&ka, None).unwrap().as_deref(),
            Some("ka")
        );
        assert_eq!(
            owner_for_registration(&ka, Some("ka")).unwrap().as_deref(),
            Some("ka")
        );
        assert_eq!(code(owner_for_registration(&ka, Some("mh"))), "FORBIDDEN");
        for nobody in [
            principal("u2", &[Role::Customer], None),
            principal("u3", &[Role::Pharmacist], Some("ka")),
            principal("partner:x", &[Role::Partner], Some("ka")),
            principal("u4", &[Role::VendorAdmin], None),
        ] {
            assert_eq!(code(owner_for_registration(&nobody, None)), "FORBIDDEN");
        }
    }

    #[test]
    fn platform_admins_register_platform_apps_and_any_vendors() {
        let admin = principal("a", &[Role::Admin], None);
        assert_eq!(owner_for_registration(&admin, None).unwrap(), None);
        assert_eq!(
            owner_for_registration(&admin, Some("mh"))
                .unwrap()
                .as_deref(),
            Some("mh")
        );
    }

    #[test]
    fn only_the_owners_admins_and_platform_admins_manage_an_app() {
        let ka = principal("u1", &[Role::VendorAdmin], Some("ka"));
        let admin = principal("a", &[Role::Admin], None);
        assert!(may_manage(&ka, Some("ka")));
        assert!(!may_manage(&ka, Some("mh")));
        assert!(!may_manage(&ka, None), "platform apps are the platform's");
        assert!(may_manage(&admin, None) && may_manage(&admin, Some("mh")));
        let pharmacist = principal("u3", &[Role::Pharmacist], Some("ka"));
        assert!(!may_manage(&pharmacist, Some("ka")));
        assert_eq!(owner_for_listing(&ka, None).unwrap().as_deref(), Some("ka"));
        assert_eq!(code(owner_for_listing(&ka, Some("mh"))), "FORBIDDEN");
        assert_eq!(owner_for_listing(&admin, None).unwrap(), None);
        assert_eq!(code(owner_for_listing(&pharmacist, None)), "FORBIDDEN");
    }

    #[test]
    fn scopes_are_deduplicated_in_order_and_never_empty() {
        let asked = [
            PartnerScope::OrdersRead,
            PartnerScope::CatalogRead,
            PartnerScope::OrdersRead,
        ];
        let granted = parse_scopes(&asked).unwrap();
        assert_eq!(
            granted,
            vec![PartnerScope::CatalogRead, PartnerScope::OrdersRead]
        );
        assert_eq!(scopes_text(&granted), "catalog:read orders:read");
        assert_eq!(known_scopes("catalog:read bogus orders:read"), granted);
        assert_eq!(code(parse_scopes(&[])), "BAD_USER_INPUT");
    }

    #[test]
    fn rotation_overlap_is_zero_to_seven_days() {
        assert_eq!(rotation_overlap(0).unwrap(), Duration::zero());
        assert_eq!(rotation_overlap(60).unwrap(), Duration::hours(1));
        assert_eq!(rotation_overlap(10_080).unwrap(), Duration::days(7));
        assert_eq!(code(rotation_overlap(10_081)), "BAD_USER_INPUT");
        assert_eq!(code(rotation_overlap(-1)), "BAD_USER_INPUT");
    }

    #[test]
    fn client_secrets_are_fresh_and_stored_hashed() {
        let (a, hash) = new_client_secret();
        let (b, _) = new_client_secret();
        assert!(a.starts_with("jps_") && a.len() >= 40, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash, hash_secret(&a));
        assert!(!hash.contains(&a));
    }
}
