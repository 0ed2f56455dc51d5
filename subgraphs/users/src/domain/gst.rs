//! GST registration rules for vendors and their branches: the GSTIN check
//! character, the state a GSTIN belongs to, and the invoice series a branch
//! numbers its invoices in. A GSTIN is registered per state: a branch that
//! ships from Karnataka invoices under a Karnataka (29…) GSTIN even when the
//! vendor registered in Maharashtra.

use super::parse_gstin;
use janta_platform::{ApiError, ApiResult};

/// The GST state code (a GSTIN's first two digits) of each ISO 3166-2:IN
/// code of the states list of [`super::parse_state`]. Andhra Pradesh is 37 since the 2014 bifurcation; the
/// merged Dadra and Nagar Haveli and Daman and Diu is 26.
const GST_CODES: [(&str, &str); 36] = [
    ("AN", "35"),
    ("AP", "37"),
    ("AR", "12"),
    ("AS", "18"),
    ("BR", "10"),
    ("CH", "04"),
    ("CT", "22"),
    ("DH", "26"),
    ("DL", "07"),
    ("GA", "30"),
    ("GJ", "24"),
    ("HP", "02"),
    ("HR", "06"),
    ("JH", "20"),
    ("JK", "01"),
    ("KA", "29"),
    ("KL", "32"),
    ("LA", "38"),
    ("LD", "31"),
    ("MH", "27"),
    ("ML", "17"),
    ("MN", "14"),
    ("MP", "23"),
    ("MZ", "15"),
    ("NL", "13"),
    ("OR", "21"),
    ("PB", "03"),
    ("PY", "34"),
    ("RJ", "08"),
    ("SK", "11"),
    ("TG", "36"),
    ("TN", "33"),
    ("TR", "16"),
    ("UP", "09"),
    ("UT", "05"),
    ("WB", "19"),
];

/// The alphabet of the GSTIN checksum: a character's value is its index.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The GST state code of a state given by its ISO 3166-2:IN code ("KA" → "29").
pub fn gst_state_code(state: &str) -> Option<&'static str> {
    GST_CODES
        .iter()
        .find(|(iso, _)| *iso == state)
        .map(|(_, code)| *code)
}

/// The check character of a GSTIN from its first 14 characters (the
/// official algorithm): each character's base-36 value is multiplied by 1
/// and 2 alternately, each product contributes its quotient plus remainder
/// by 36, and the check value is `(36 - sum % 36) % 36`. `None` when a
/// character is outside 0-9, A-Z or there are fewer than 14.
pub fn gstin_check_char(gstin: &str) -> Option<char> {
    let body = gstin.as_bytes().get(..14)?;
    let mut sum = 0u32;
    for (i, c) in body.iter().enumerate() {
        let value = ALPHABET.iter().position(|a| a == c)? as u32;
        let product = value * if i % 2 == 0 { 1 } else { 2 };
        sum += product / 36 + product % 36;
    }
    Some(ALPHABET[((36 - sum % 36) % 36) as usize] as char)
}

/// A GSTIN registered in `state` (an ISO code already parsed): the shape
/// ([`parse_gstin`]), the check character, and the state prefix. `what`
/// names the field in the refusal, which says which of the three is wrong.
pub fn parse_gstin_of_state(raw: &str, state: &str, what: &str) -> ApiResult<String> {
    let gstin = parse_gstin(raw).map_err(|_| {
        ApiError::bad_input(format!(
            "{what} is not a valid GSTIN (15 characters: state code, PAN, entity, Z, check character)"
        ))
    })?;
    if gstin_check_char(&gstin) != gstin.chars().nth(14) {
        return Err(ApiError::bad_input(format!(
            "{what} has a wrong check character (its last character does not match the GSTIN checksum)"
        )));
    }
    let expected = gst_state_code(state)
        .ok_or_else(|| ApiError::bad_input(format!("{state} has no GST state code")))?;
    if &gstin[..2] != expected {
        return Err(ApiError::bad_input(format!(
            "{what} has a wrong state prefix: it starts with {}, but GSTINs of {state} start with {expected}",
            &gstin[..2]
        )));
    }
    Ok(gstin)
}

/// Most branches a vendor may have in one state: the series ordinal has
/// two digits.
pub const MAX_BRANCHES_PER_STATE: i64 = 99;

/// The invoice series of a vendor's `ordinal`-th branch (from 1) in
/// `state`, e.g. "KA01": orders number a branch's invoices within it, so
/// it never changes once assigned.
pub fn invoice_series(state: &str, ordinal: i64) -> ApiResult<String> {
    if !(1..=MAX_BRANCHES_PER_STATE).contains(&ordinal) {
        return Err(ApiError::bad_input(format!(
            "a vendor may have at most {MAX_BRANCHES_PER_STATE} branches in {state}"
        )));
    }
    Ok(format!("{state}{ordinal:02}"))
}

/// The PAN inside a GSTIN (characters 3 to 12): every GST registration of
/// one legal entity, in whichever state, carries its PAN.
fn pan_of(gstin: &str) -> Option<&str> {
    gstin.get(2..12)
}

/// A branch's GSTIN and whether it ships, from what was given: a given
/// GSTIN must be of the branch's state and of the vendor's PAN (a branch
/// is the same legal entity); without one, a branch in the vendor's own
/// state uses the vendor's GSTIN. A branch ships when asked
/// to, or by default when it has a GSTIN; shipping without one is refused.
pub fn branch_registration(
    given: Option<&str>,
    ships: Option<bool>,
    branch_state: &str,
    vendor: (&str, &str),
) -> ApiResult<(Option<String>, bool)> {
    let (vendor_gstin, vendor_state) = vendor;
    let gstin = match given {
        Some(raw) => {
            let gstin = parse_gstin_of_state(raw, branch_state, "gstin")?;
            if pan_of(&gstin) != pan_of(vendor_gstin) {
                return Err(ApiError::bad_input(format!(
                    "gstin is of another PAN than the vendor's: a branch's GSTIN carries the vendor's PAN {}",
                    pan_of(vendor_gstin).unwrap_or_default()
                )));
            }
            Some(gstin)
        }
        None if branch_state == vendor_state => Some(vendor_gstin.to_string()),
        None => None,
    };
    let ships = ships.unwrap_or(gstin.is_some());
    if ships && gstin.is_none() {
        return Err(ApiError::bad_input(format!(
            "a branch that ships needs its GSTIN registered in {branch_state}"
        )));
    }
    Ok((gstin, ships))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::STATES;

    #[test]
    fn every_state_has_a_gst_code() {
        for (iso, _) in STATES {
            assert!(gst_state_code(iso).is_some(), "{iso}");
        }
        assert_eq!(gst_state_code("KA"), Some("29"));
        assert_eq!(gst_state_code("MH"), Some("27"));
        assert_eq!(gst_state_code("DL"), Some("07"));
        assert_eq!(gst_state_code("TN"), Some("33"));
    }

    #[test]
    fn a_real_gstin_passes_the_checksum() {
        assert_eq!(gstin_check_char("27AAPFU0939F1ZV"), Some('V'));
        assert!(parse_gstin_of_state("27AAPFU0939F1ZV", "MH", "gstin").is_ok());
        assert!(parse_gstin_of_state(" 27aapfu0939f1zv ", "MH", "gstin").is_ok());
    }

    #[test]
    fn one_changed_character_fails_the_checksum() {
        for bad in ["27AAPFU0939F1ZW", "27AAPFU0938F1ZV", "27AAPGU0939F1ZV"] {
            let err = parse_gstin_of_state(bad, "MH", "gstin").unwrap_err();
            assert!(err.to_string().contains("check character"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_state_prefix_must_be_the_state_of_registration() {
        // A valid Karnataka GSTIN is not a Maharashtra one.
        let ka = "29AAPFU0939F1ZR";
        assert_eq!(gstin_check_char(ka), Some('R'));
        assert!(parse_gstin_of_state(ka, "KA", "gstin").is_ok());
        let err = parse_gstin_of_state(ka, "MH", "gstin").unwrap_err();
        assert!(err.to_string().contains("state prefix"), "{err}");
        assert!(err.to_string().contains("27"), "{err}");
    }

    #[test]
    fn malformed_gstins_are_refused_as_such() {
        let err = parse_gstin_of_state("27AAPFU0939", "MH", "gstin").unwrap_err();
        assert!(err.to_string().contains("not a valid GSTIN"), "{err}");
    }

    #[test]
    fn invoice_series_are_state_and_two_digits() {
        assert_eq!(invoice_series("KA", 1).unwrap(), "KA01");
        assert_eq!(invoice_series("MH", 12).unwrap(), "MH12");
        assert!(invoice_series("KA", 100).is_err());
        assert!(invoice_series("KA", 0).is_err());
    }

    #[test]
    fn branches_take_the_vendors_gstin_only_in_its_state() {
        let vendor = ("27AAPFU0939F1ZV", "MH");
        let same = branch_registration(None, None, "MH", vendor).unwrap();
        assert_eq!(same, (Some("27AAPFU0939F1ZV".to_string()), true));
        assert_eq!(
            branch_registration(None, None, "KA", vendor).unwrap(),
            (None, false)
        );
        assert!(branch_registration(None, Some(true), "KA", vendor).is_err());
        let ka = branch_registration(Some("29AAPFU0939F1ZR"), None, "KA", vendor).unwrap();
        assert_eq!(ka, (Some("29AAPFU0939F1ZR".to_string()), true));
        let stock_only = branch_registration(None, Some(false), "MH", vendor).unwrap();
        assert!(!stock_only.1);
        // A valid Karnataka GSTIN of another PAN is another business.
        assert_eq!(gstin_check_char("29AAFCS5678B1Z3"), Some('3'));
        let other = branch_registration(Some("29AAFCS5678B1Z3"), None, "KA", vendor).unwrap_err();
        assert!(other.to_string().contains("PAN"), "{other}");
    }
}
