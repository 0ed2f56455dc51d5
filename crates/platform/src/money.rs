//! Money: integer paise in storage and arithmetic, a `Money` object in the API
//! with the amount as a decimal string. Never floats.

use crate::{ApiError, ApiResult};
use async_graphql::SimpleObject;

/// The only currency the marketplace trades in.
pub const INR: &str = "INR";

/// An amount of money as clients see it: `{ amount: "123.50", currency: "INR" }`.
/// Identical in every subgraph, hence shareable.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
#[graphql(shareable)]
pub struct Money {
    /// Decimal amount in rupees with two decimals, e.g. "123.50".
    pub amount: String,
    /// ISO 4217 currency code; always "INR".
    pub currency: String,
}

impl Money {
    /// Money from integer paise.
    pub fn inr(paise: i64) -> Self {
        Money {
            amount: format_paise(paise),
            currency: INR.to_string(),
        }
    }
}

/// An amount in paise (1/100 rupee): what stores, rules and events count
/// in. A distinct type so that a quantity or a rate is never added to money
/// by mistake; reads and binds as a plain integer column.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Paise(pub i64);

impl Paise {
    /// No money.
    pub const ZERO: Paise = Paise(0);

    /// The amount as integer paise.
    pub fn get(self) -> i64 {
        self.0
    }

    /// `self × count` (a unit price times a quantity).
    pub fn times(self, count: i64) -> Paise {
        Paise(self.0 * count)
    }
}

impl std::ops::Add for Paise {
    type Output = Paise;

    fn add(self, other: Paise) -> Paise {
        Paise(self.0 + other.0)
    }
}

impl std::ops::Sub for Paise {
    type Output = Paise;

    fn sub(self, other: Paise) -> Paise {
        Paise(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Paise {
    fn add_assign(&mut self, other: Paise) {
        self.0 += other.0;
    }
}

impl std::iter::Sum for Paise {
    fn sum<I: Iterator<Item = Paise>>(iter: I) -> Paise {
        Paise(iter.map(|p| p.0).sum())
    }
}

impl From<Paise> for Money {
    fn from(paise: Paise) -> Money {
        Money::inr(paise.0)
    }
}

/// Formats paise as a rupee decimal string ("12350" → "123.50").
pub fn format_paise(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let abs = paise.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Parses a client decimal such as "123.5" or "123.50" into paise.
/// Rejects negatives, more than two decimals, exponents and junk.
pub fn parse_rupees(raw: &str, what: &str) -> ApiResult<i64> {
    let invalid = || {
        ApiError::bad_input(format!(
            "{what} must be a non-negative amount like \"123.50\""
        ))
    };
    let text = raw.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || fraction.len() > 2 {
        return Err(invalid());
    }
    if whole.len() > 12 {
        return Err(ApiError::bad_input(format!("{what} is too large")));
    }
    let rupees: i64 = whole.parse().map_err(|_| invalid())?;
    let paise: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    Ok(rupees * 100 + paise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rupees() {
        assert_eq!(format_paise(12350), "123.50");
        assert_eq!(format_paise(5), "0.05");
        assert_eq!(format_paise(-205), "-2.05");
        assert_eq!(parse_rupees("123.5", "price").unwrap(), 12350);
        assert_eq!(parse_rupees("7", "price").unwrap(), 700);
        assert_eq!(parse_rupees("0.05", "price").unwrap(), 5);
    }

    #[test]
    fn rejects_bad_amounts() {
        for bad in ["-1.00", "1.234", "1e3", "", ".5", "12,00", "abc", "1.-5"] {
            assert!(parse_rupees(bad, "price").is_err(), "{bad} accepted");
        }
    }
}
