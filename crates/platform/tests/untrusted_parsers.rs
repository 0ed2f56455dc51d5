//! The shared parsers of client-typed text (money amounts, GSTINs) on
//! thousands of seeded random inputs: junk never panics and is refused as
//! BAD_USER_INPUT naming the field, and every valid value round-trips.

use janta_platform::error::ErrorCode;
use janta_platform::gstin::parse_shape;
use janta_platform::money::{format_paise, parse_rupees};
use janta_testkit::fuzz::{mutate, random_bytes, random_text, rng, CASES};
use rand::Rng;

/// Asserts the outcome of a parser on junk: accepted, or refused as bad
/// input with a message naming `field`.
fn refused_clearly<T>(result: &Result<T, janta_platform::ApiError>, field: &str, input: &str) {
    if let Err(err) = result {
        assert_eq!(err.code(), ErrorCode::BadUserInput, "{input:?}: {err}");
        assert!(err.to_string().contains(field), "{input:?}: {err}");
    }
}

#[test]
fn random_amounts_parse_to_non_negative_paise_or_are_refused_clearly() {
    let mut rng = rng(17);
    for case in 0..CASES {
        let input = match case % 3 {
            0 => random_text(&mut rng, "0123456789..-+eE ,٣abc", 20),
            1 => String::from_utf8_lossy(&random_bytes(&mut rng, 24)).into_owned(),
            _ => String::from_utf8_lossy(&mutate(&mut rng, b"12345.67")).into_owned(),
        };
        let result = parse_rupees(&input, "price");
        refused_clearly(&result, "price", &input);
        if let Ok(paise) = result {
            assert!(paise >= 0, "{input:?} gave {paise}");
            assert_eq!(
                parse_rupees(&format_paise(paise), "price").unwrap(),
                paise,
                "{input:?}"
            );
        }
    }
}

#[test]
fn every_amount_up_to_the_largest_round_trips_through_its_text() {
    let mut rng = rng(18);
    let largest = 99_999_999_999_999_i64;
    for paise in [0, 1, 99, 100, largest]
        .into_iter()
        .chain((0..CASES).map(|_| rng.gen_range(0..=largest)))
    {
        let text = format_paise(paise);
        assert_eq!(parse_rupees(&text, "amount").unwrap(), paise, "{text}");
        assert_eq!(
            parse_rupees(&format!(" {text} "), "amount").unwrap(),
            paise,
            "{text}"
        );
    }
    let err = parse_rupees("9999999999999", "amount").unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}

#[test]
fn random_gstins_are_upper_case_and_stable_or_refused_clearly() {
    let mut rng = rng(19);
    for case in 0..CASES {
        let input = match case % 3 {
            0 => random_text(&mut rng, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZaz ZZZ-é", 17),
            1 => String::from_utf8_lossy(&random_bytes(&mut rng, 17)).into_owned(),
            _ => String::from_utf8_lossy(&mutate(&mut rng, b"29AAACJ1234A1Z5")).into_owned(),
        };
        let result = parse_shape(&input, "sellerGstin");
        refused_clearly(&result, "sellerGstin", &input);
        if let Ok(gstin) = result {
            assert_eq!(gstin.len(), 15, "{input:?}");
            assert_eq!(gstin, gstin.to_ascii_uppercase(), "{input:?}");
            assert_eq!(
                parse_shape(&gstin, "sellerGstin").unwrap(),
                gstin,
                "{input:?}"
            );
        }
    }
}

#[test]
fn every_well_shaped_gstin_is_accepted_in_any_case() {
    let mut rng = rng(20);
    let pick = |rng: &mut rand::rngs::StdRng, set: &[u8]| set[rng.gen_range(0..set.len())] as char;
    let (digits, letters) = (b"0123456789", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    let alnum = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for _ in 0..CASES {
        let mut gstin = String::new();
        (0..2).for_each(|_| gstin.push(pick(&mut rng, digits)));
        (0..5).for_each(|_| gstin.push(pick(&mut rng, letters)));
        (0..4).for_each(|_| gstin.push(pick(&mut rng, digits)));
        gstin.push(pick(&mut rng, letters));
        gstin.push(pick(&mut rng, alnum));
        gstin.push('Z');
        gstin.push(pick(&mut rng, alnum));
        assert_eq!(parse_shape(&gstin, "gstin").unwrap(), gstin);
        let typed = format!("  {}\t", gstin.to_ascii_lowercase());
        assert_eq!(parse_shape(&typed, "gstin").unwrap(), gstin);
    }
}
