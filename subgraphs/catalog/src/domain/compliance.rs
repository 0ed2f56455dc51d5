//! Pharmacy compliance rules of the catalog, free of I/O: Schedule X is
//! never listed or sold online, a pack never sells above the MRP of the
//! batch it comes from, a batch sells only with enough shelf life left after
//! the order date, and a listing changes only from the version it was read at.

use super::Schedule;
use chrono::NaiveDate;
use janta_platform::money::Paise;
use janta_platform::{ApiError, ApiResult};

/// Longest shelf life a listing may demand at sale, in days (five years).
pub const MAX_SHELF_LIFE_DAYS: i64 = 1826;

/// Refuses to list (or sell) a Schedule X medicine: BAD_USER_INPUT naming the rule.
pub fn check_listable(schedule: Schedule) -> ApiResult<()> {
    if schedule == Schedule::X {
        Err(janta_platform::pharmacy::schedule_x_refusal(&[]))
    } else {
        Ok(())
    }
}

/// The shelf life a listing demands at sale: its own figure, never below
/// the platform minimum (a listing may ask for more, not less).
pub fn shelf_life_days(listing: Option<i64>, platform_min: i64) -> i64 {
    listing.unwrap_or(platform_min).max(platform_min)
}

/// A listing's requested `minShelfLifeDays`: at least the platform minimum
/// and at most [`MAX_SHELF_LIFE_DAYS`], else BAD_USER_INPUT.
pub fn parse_min_shelf_life(raw: i32, platform_min: i64) -> ApiResult<i64> {
    let days = i64::from(raw);
    if days < platform_min {
        return Err(ApiError::bad_input(format!(
            "minShelfLifeDays must be at least {platform_min} (the platform minimum; a listing may ask for more, not less)"
        )));
    }
    if days > MAX_SHELF_LIFE_DAYS {
        return Err(ApiError::bad_input(format!(
            "minShelfLifeDays must be at most {MAX_SHELF_LIFE_DAYS}"
        )));
    }
    Ok(days)
}

/// A batch has enough shelf life for an order placed on `order_date` when
/// it expires at least `days` days after that date.
pub fn has_shelf_life(expires_on: NaiveDate, order_date: NaiveDate, days: i64) -> bool {
    let days = u64::try_from(days.max(0)).unwrap_or(0);
    order_date
        .checked_add_days(chrono::Days::new(days))
        .is_some_and(|cutoff| expires_on >= cutoff)
}

/// Whether units of a batch may be sold at `price`: enough shelf life left
/// and a batch MRP not below the price.
pub fn allocatable(
    expires_on: NaiveDate,
    batch_mrp: Paise,
    price: Paise,
    order_date: NaiveDate,
    shelf_life_days: i64,
) -> bool {
    has_shelf_life(expires_on, order_date, shelf_life_days) && batch_mrp.get() >= price.get()
}

/// A new price may not exceed the lowest MRP among the listing's sellable
/// batches (`lowest`, None without any): BAD_USER_INPUT otherwise.
pub fn check_price_within_batches(price: Paise, lowest: Option<Paise>) -> ApiResult<()> {
    match lowest {
        Some(mrp) if price.get() > mrp.get() => Err(ApiError::bad_input(format!(
            "price {} exceeds the MRP {} of a batch on hand: a pack never sells above its batch's MRP",
            rupees(price),
            rupees(mrp)
        ))),
        _ => Ok(()),
    }
}

/// A received batch's MRP may not be below the listing's current price:
/// BAD_USER_INPUT asking to lower the price first.
pub fn check_batch_mrp(batch_mrp: Paise, price: Paise) -> ApiResult<()> {
    if batch_mrp.get() < price.get() {
        return Err(ApiError::bad_input(format!(
            "the batch's MRP {} is below the listing's price {}: lower the price first",
            rupees(batch_mrp),
            rupees(price)
        )));
    }
    Ok(())
}

/// Parses a batch's MRP ("33.60"): positive rupees.
pub fn parse_batch_mrp(raw: &str) -> ApiResult<Paise> {
    let mrp = janta_platform::money::parse_rupees(raw, "mrp")?;
    if mrp <= 0 {
        return Err(ApiError::bad_input("mrp must be more than zero"));
    }
    Ok(Paise(mrp))
}

/// Optimistic locking: CONFLICT when the caller read the listing at a
/// version other than the current one (no expectation: no check).
pub fn check_expected_version(expected: Option<i64>, current: i64) -> ApiResult<()> {
    match expected {
        Some(v) if v != current => Err(ApiError::conflict(format!(
            "the listing was changed meanwhile (version {current}, you read {v}); reload it and try again"
        ))),
        _ => Ok(()),
    }
}

fn rupees(p: Paise) -> String {
    format!("₹{}.{:02}", p.get() / 100, p.get() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_platform::ErrorCode;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn schedule_x_is_never_listed() {
        let err = check_listable(Schedule::X).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadUserInput);
        assert!(err.to_string().contains("Schedule X"), "{err}");
        for s in [Schedule::Otc, Schedule::H, Schedule::H1] {
            assert!(check_listable(s).is_ok());
        }
    }

    #[test]
    fn a_listing_may_ask_for_more_shelf_life_never_less() {
        assert_eq!(shelf_life_days(None, 30), 30);
        assert_eq!(shelf_life_days(Some(90), 30), 90);
        assert_eq!(
            shelf_life_days(Some(10), 30),
            30,
            "stored below a raised minimum"
        );
        assert_eq!(parse_min_shelf_life(45, 30).unwrap(), 45);
        assert_eq!(parse_min_shelf_life(30, 30).unwrap(), 30);
        assert!(parse_min_shelf_life(29, 30).is_err());
        assert!(parse_min_shelf_life(2000, 30).is_err());
    }

    #[test]
    fn shelf_life_counts_from_the_order_date() {
        let today = day("2026-12-01");
        assert!(
            has_shelf_life(day("2026-12-31"), today, 30),
            "exactly 30 days"
        );
        assert!(!has_shelf_life(day("2026-12-30"), today, 30), "29 days");
        assert!(has_shelf_life(day("2027-06-01"), today, 30));
    }

    #[test]
    fn a_batch_sells_only_at_or_below_its_mrp_and_with_shelf_life() {
        let today = day("2026-12-01");
        let late = day("2027-06-01");
        assert!(allocatable(late, Paise(2000), Paise(1800), today, 30));
        assert!(allocatable(late, Paise(1800), Paise(1800), today, 30));
        assert!(
            !allocatable(late, Paise(1700), Paise(1800), today, 30),
            "MRP below price"
        );
        assert!(!allocatable(
            day("2026-12-20"),
            Paise(2000),
            Paise(1800),
            today,
            30
        ));
    }

    #[test]
    fn prices_stay_within_batch_mrps() {
        assert!(check_price_within_batches(Paise(1800), Some(Paise(1800))).is_ok());
        assert!(check_price_within_batches(Paise(1800), None).is_ok());
        let err = check_price_within_batches(Paise(1801), Some(Paise(1800))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadUserInput);
        assert!(check_batch_mrp(Paise(1800), Paise(1800)).is_ok());
        let err = check_batch_mrp(Paise(1700), Paise(1800)).unwrap_err();
        assert!(err.to_string().contains("lower the price first"), "{err}");
        assert_eq!(parse_batch_mrp("33.60").unwrap(), Paise(3360));
        assert!(parse_batch_mrp("0").is_err());
        assert!(parse_batch_mrp("-1").is_err());
    }

    #[test]
    fn a_stale_version_is_a_conflict() {
        assert!(check_expected_version(None, 4).is_ok());
        assert!(check_expected_version(Some(4), 4).is_ok());
        let err = check_expected_version(Some(3), 4).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Conflict);
    }
}
