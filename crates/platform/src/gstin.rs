//! The shape of a GSTIN, shared by every subgraph that reads one: users
//! (which also checks the check character and the state prefix, see its
//! `domain::gst`) and orders (looking invoices up by seller).

use crate::{ApiError, ApiResult};

/// A GSTIN of the right shape, upper-cased: 2-digit state code, PAN (5
/// letters, 4 digits, 1 letter), entity code, `Z`, check character.
/// `field` names the argument in the refusal.
pub fn parse_shape(raw: &str, field: &str) -> ApiResult<String> {
    let g = raw.trim().to_ascii_uppercase();
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
        Err(ApiError::bad_input(format!("{field} is not a valid GSTIN")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gstins_of_the_right_shape_pass_upper_cased() {
        assert_eq!(
            parse_shape(" 29aaacj1234a1z5", "gstin").unwrap(),
            "29AAACJ1234A1Z5"
        );
        for bad in [
            "29AAACJ1234A1X5",
            "2AAACJ1234A1Z5",
            "29AAACJ1234A1Z",
            "",
            "29AAAC11234A1Z5",
        ] {
            let err = parse_shape(bad, "sellerGstin").unwrap_err();
            assert!(err.to_string().contains("sellerGstin"), "{bad}");
        }
    }
}
