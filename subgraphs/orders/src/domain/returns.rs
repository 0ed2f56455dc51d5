//! The rules of returns, free of I/O: the reasons a customer may give, the
//! review states, the return window, notes, and the refund of returned
//! units (their paid amount, tax included, in exact paise).

use async_graphql::Enum;
use janta_platform::money::Paise;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

/// Longest note on a return or its review.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a customer returns units.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnReason {
    /// Arrived damaged.
    Damaged,
    /// Expired (or expiring) on arrival.
    Expired,
    /// Not what was ordered.
    WrongItem,
    /// The customer had an adverse reaction.
    AdverseReaction,
    /// Anything else (say why in the note).
    Other,
}

impl ReturnReason {
    /// Every reason.
    pub const ALL: [ReturnReason; 5] = [
        ReturnReason::Damaged,
        ReturnReason::Expired,
        ReturnReason::WrongItem,
        ReturnReason::AdverseReaction,
        ReturnReason::Other,
    ];

    /// The storage (and event) form.
    pub fn as_db(self) -> &'static str {
        match self {
            ReturnReason::Damaged => "DAMAGED",
            ReturnReason::Expired => "EXPIRED",
            ReturnReason::WrongItem => "WRONG_ITEM",
            ReturnReason::AdverseReaction => "ADVERSE_REACTION",
            ReturnReason::Other => "OTHER",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_db() == s)
    }
}

/// Where a return is in its review.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    /// Asked for, waiting for the vendor's review.
    Requested,
    /// Approved: refunded and the units quarantined.
    Approved,
    /// Rejected: nothing moves.
    Rejected,
}

impl ReturnStatus {
    /// Every status.
    pub const ALL: [ReturnStatus; 3] = [
        ReturnStatus::Requested,
        ReturnStatus::Approved,
        ReturnStatus::Rejected,
    ];

    /// The storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "REQUESTED",
            ReturnStatus::Approved => "APPROVED",
            ReturnStatus::Rejected => "REJECTED",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_db() == s)
    }
}

/// An optional note: trimmed, empty is none, at most [`MAX_NOTE_CHARS`].
pub fn parse_note(raw: Option<&str>) -> ApiResult<Option<String>> {
    let note = raw.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::bad_input(format!(
            "note must be at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(note.map(str::to_string))
}

/// A reviewer's note: required, 1 to [`MAX_NOTE_CHARS`] characters.
pub fn parse_review_note(raw: &str) -> ApiResult<String> {
    parse_note(Some(raw))?.ok_or_else(|| ApiError::bad_input("a review needs a note"))
}

/// Lines may be returned until `window_days` days after delivery.
pub fn check_window(delivered_at: DateTime, now: DateTime, window_days: u32) -> ApiResult<()> {
    let closes = delivered_at.0 + chrono::Duration::days(i64::from(window_days));
    if now.0 > closes {
        Err(ApiError::bad_input(format!(
            "the return window closed {window_days} days after delivery"
        )))
    } else {
        Ok(())
    }
}

/// One order line as far as returns are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineBalance {
    /// Units ordered (and delivered).
    pub ordered: i64,
    /// What the line cost, tax included.
    pub paid: Paise,
    /// Units already in returns that are requested or approved.
    pub taken: i64,
}

/// The refund of `quantity` more units of a line: the line's paid total ×
/// units / units ordered, taken as the difference of cumulative floors, so
/// the refunds of a line always add up to exactly its paid total once every
/// unit is returned. More units than remain is `BAD_USER_INPUT`.
pub fn refund_for(line: LineBalance, quantity: i64) -> ApiResult<Paise> {
    if quantity < 1 {
        return Err(ApiError::bad_input("return at least one unit of a line"));
    }
    let left = line.ordered - line.taken;
    if quantity > left {
        return Err(ApiError::bad_input(format!(
            "only {left} unit(s) of this line can still be returned"
        )));
    }
    Ok(units_share(line.paid, line, quantity))
}

/// The GST inside the refund of `quantity` more units of a line whose tax
/// is `line_tax`, by the same cumulative floors as [`refund_for`], so a
/// line's returns give back exactly its tax once every unit is returned.
/// Settlements withhold TCS on the value before tax, so payments must know
/// how much of a refund was tax.
pub fn tax_share(line_tax: Paise, line: LineBalance, quantity: i64) -> Paise {
    units_share(line_tax, line, quantity.clamp(0, line.ordered - line.taken))
}

/// `total` × (units after − units before) / units ordered, as the
/// difference of cumulative floors.
fn units_share(total: Paise, line: LineBalance, quantity: i64) -> Paise {
    let upto = |units: i64| {
        let v = i128::from(total.get()) * i128::from(units) / i128::from(line.ordered.max(1));
        i64::try_from(v).unwrap_or(i64::MAX)
    };
    Paise(upto(line.taken + quantity) - upto(line.taken))
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_platform::ErrorCode;

    fn line(ordered: i64, paid: i64, taken: i64) -> LineBalance {
        LineBalance {
            ordered,
            paid: Paise(paid),
            taken,
        }
    }

    #[test]
    fn refunds_add_up_to_the_line_total() {
        // ₹100.00 for 3 units: 33.33 + 33.33 + 33.34.
        assert_eq!(refund_for(line(3, 10_000, 0), 1).unwrap(), Paise(3_333));
        assert_eq!(refund_for(line(3, 10_000, 1), 1).unwrap(), Paise(3_333));
        assert_eq!(refund_for(line(3, 10_000, 2), 1).unwrap(), Paise(3_334));
        assert_eq!(refund_for(line(3, 10_000, 0), 3).unwrap(), Paise(10_000));
        assert_eq!(refund_for(line(2, 6_000, 0), 2).unwrap(), Paise(6_000));
    }

    #[test]
    fn the_tax_of_returns_adds_up_to_the_line_tax() {
        // ₹100.00 for 3 units at 12 %: tax 10.71 → 3.57 + 3.57 + 3.57.
        let tax = Paise(1_071);
        assert_eq!(tax_share(tax, line(3, 10_000, 0), 1), Paise(357));
        assert_eq!(tax_share(tax, line(3, 10_000, 1), 1), Paise(357));
        assert_eq!(tax_share(tax, line(3, 10_000, 2), 1), Paise(357));
        assert_eq!(tax_share(Paise(1_000), line(3, 10_000, 2), 1), Paise(334));
        assert_eq!(tax_share(tax, line(3, 10_000, 0), 3), tax);
    }

    #[test]
    fn more_than_remains_is_refused() {
        let err = refund_for(line(2, 6_000, 1), 2).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadUserInput);
        assert!(refund_for(line(2, 6_000, 0), 0).is_err());
    }

    #[test]
    fn window_and_notes() {
        let delivered = DateTime::now();
        let later = |days| DateTime(delivered.0 + chrono::Duration::days(days));
        assert!(check_window(delivered, later(7), 7).is_ok());
        assert!(check_window(delivered, later(8), 7).is_err());
        assert_eq!(parse_note(Some("  ")).unwrap(), None);
        assert!(parse_review_note(" ").is_err());
        assert!(parse_note(Some(&"x".repeat(501))).is_err());
        for r in ReturnReason::ALL {
            assert_eq!(ReturnReason::parse(r.as_db()), Some(r));
        }
        for s in ReturnStatus::ALL {
            assert_eq!(ReturnStatus::parse(s.as_db()), Some(s));
        }
    }
}
