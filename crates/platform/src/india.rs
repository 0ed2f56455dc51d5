//! India Standard Time (UTC+05:30), the one clock Indian calendar dates are
//! read in across the platform: batch expiry, licence validity, prescription
//! validity, the H1 register, financial years and settlement periods. A day
//! ends at Indian midnight, not at UTC midnight.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// India Standard Time.
pub const IST: FixedOffset = match FixedOffset::east_opt(5 * 3600 + 30 * 60) {
    Some(offset) => offset,
    None => panic!("UTC+05:30 is a valid offset"),
};

/// The Indian calendar date of the instant `at`.
pub fn date_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&IST).date_naive()
}

/// Today's date in India.
pub fn today() -> NaiveDate {
    date_of(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_indian_midnight() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(date_of(at("2026-03-31T18:29:59Z")), day("2026-03-31"));
        assert_eq!(date_of(at("2026-03-31T18:30:00Z")), day("2026-04-01"));
    }
}
