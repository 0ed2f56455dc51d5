//! Vendor settlement arithmetic, in paise and basis points (never floats):
//! what the marketplace pays a vendor for a period is the money captured
//! for the vendor's orders, minus what was refunded, minus the
//! marketplace's commission (on the net sales as the customer paid them,
//! GST included), minus the tax the marketplace must withhold as an
//! e-commerce operator — TCS under GST section 52 (0.5 % since July 2024)
//! and TDS under income-tax section 194-O (0.1 %). Both are on the net
//! value *before GST*: section 52 levies TCS on the "net value of taxable
//! supplies", and CBDT circular 17/2020 leaves GST out of the 194-O base
//! when the invoice shows it separately (ours always do).

use chrono::{Days, NaiveDate, TimeZone};
use janta_platform::money::Paise;
use janta_platform::ApiError;

/// Basis points in one whole (100 %).
pub const BPS: i64 = 10_000;

/// The rates a settlement applies, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementRates {
    /// The vendor's commission rate in force on the period's last day.
    pub commission_bps: i64,
    /// GST TCS (section 52).
    pub tcs_bps: i64,
    /// Income-tax TDS (section 194-O).
    pub tds_bps: i64,
}

/// The figures of one settlement statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementFigures {
    /// Captured in the period.
    pub captured: Paise,
    /// Refunded in the period (of any period's captures).
    pub refunded: Paise,
    /// The GST inside the net sales (captured − refunded).
    pub gst: Paise,
    /// The net sales before GST: the base of TCS and TDS.
    pub taxable: Paise,
    /// The marketplace's commission on net sales.
    pub commission: Paise,
    /// GST collected at source on the net taxable value.
    pub tcs: Paise,
    /// Income-tax deducted at source on the net taxable value.
    pub tds: Paise,
    /// What the vendor is paid.
    pub payout: Paise,
}

/// `bps` of `amount`, rounded half away from zero to the paisa (negative
/// when refunds exceeded captures: the commission and taxes come back).
pub fn share(amount: Paise, bps: i64) -> Paise {
    let product = amount.get() * bps;
    let half = BPS / 2 * product.signum();
    Paise((product + half) / BPS)
}

/// What a period moved, each amount with the GST inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSales {
    /// Captured, GST included.
    pub captured: Paise,
    /// The GST inside `captured`.
    pub captured_tax: Paise,
    /// Refunded, GST included.
    pub refunded: Paise,
    /// The GST inside `refunded`.
    pub refunded_tax: Paise,
}

/// The statement for a period's `sales` under `rates`.
pub fn settle(sales: PeriodSales, rates: SettlementRates) -> SettlementFigures {
    let net = sales.captured - sales.refunded;
    let gst = sales.captured_tax - sales.refunded_tax;
    let taxable = net - gst;
    let commission = share(net, rates.commission_bps);
    let tcs = share(taxable, rates.tcs_bps);
    let tds = share(taxable, rates.tds_bps);
    SettlementFigures {
        captured: sales.captured,
        refunded: sales.refunded,
        gst,
        taxable,
        commission,
        tcs,
        tds,
        payout: net - commission - tcs - tds,
    }
}

/// What a payment's refunds have taken so far, to apportion the GST of a
/// new refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundBase {
    /// The GST inside the payment.
    pub payment_tax: Paise,
    /// What the payment captured.
    pub captured: Paise,
    /// What earlier refunds (not failed) returned or reserve.
    pub refunded_before: Paise,
    /// The GST inside those earlier refunds.
    pub tax_refunded_before: Paise,
}

/// The GST inside a new refund of `amount`: `known` when the caller knows
/// it (a return knows its lines' tax), else the payment's tax pro rata by
/// cumulative floors, so full refunds return exactly the payment's tax.
/// Never more than the refund, nor than the payment's tax not yet refunded.
pub fn refund_tax(base: RefundBase, amount: Paise, known: Option<Paise>) -> Paise {
    let left = (base.payment_tax - base.tax_refunded_before).max(Paise::ZERO);
    let share = known.unwrap_or_else(|| {
        let upto = |refunded: Paise| {
            let v = i128::from(base.payment_tax.get()) * i128::from(refunded.get())
                / i128::from(base.captured.get().max(1));
            Paise(i64::try_from(v).unwrap_or(i64::MAX))
        };
        upto(base.refunded_before + amount) - upto(base.refunded_before)
    });
    share.max(Paise::ZERO).min(amount).min(left)
}

/// Parses a rate given in percent with at most two decimals ("8", "7.5",
/// "0.25") into basis points, 0 to 100 %.
pub fn percent_to_bps(raw: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::bad_input("ratePercent must be a percentage from 0 to 100 with at most two decimals, e.g. \"8\" or \"7.50\"")
    };
    let raw = raw.trim();
    let (whole, fraction) = match raw.split_once('.') {
        Some((_, "")) => return Err(invalid()),
        Some(parts) => parts,
        None => (raw, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || fraction.len() > 2 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let hundredths: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let bps = whole * 100 + hundredths;
    if bps > BPS {
        return Err(invalid());
    }
    Ok(bps)
}

/// `bps` as a percentage with two decimals ("8.00").
pub fn bps_to_percent(bps: i64) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

/// The instants a period of India calendar days covers: from the start of
/// `first` to the start of the day after `last` (exclusive), in UTC.
pub fn period_bounds(
    first: NaiveDate,
    last: NaiveDate,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ApiError> {
    if first > last {
        return Err(ApiError::bad_input(
            "periodStart must not be after periodEnd",
        ));
    }
    if (last - first).num_days() > 366 {
        return Err(ApiError::bad_input("a settlement period is at most a year"));
    }
    let midnight = |day: NaiveDate| {
        janta_platform::india::IST
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| ApiError::bad_input("date out of range"))
    };
    let after_last = last
        .checked_add_days(Days::new(1))
        .ok_or_else(|| ApiError::bad_input("date out of range"))?;
    Ok((midnight(first)?, midnight(after_last)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_half_away_from_zero_to_the_paisa() {
        assert_eq!(share(Paise(10_000), 800), Paise(800));
        assert_eq!(share(Paise(12_345), 50), Paise(62)); // 61.725
        assert_eq!(share(Paise(12_345), 10), Paise(12)); // 12.345
        assert_eq!(share(Paise(-12_345), 50), Paise(-62));
        assert_eq!(share(Paise(100), 50), Paise(1)); // 0.5 rounds up
    }

    #[test]
    fn a_statement_adds_up_exactly() {
        let rates = SettlementRates {
            commission_bps: 800,
            tcs_bps: 50,
            tds_bps: 10,
        };
        // ₹2,500 captured with ₹267.86 GST inside; ₹300 refunded with
        // ₹32.14 GST inside: net ₹2,200 of which ₹235.72 GST, taxable
        // ₹1,964.28; commission 8 % of 2,200 = 176.00, TCS 0.5 % of
        // 1,964.28 = 9.8214 → 9.82, TDS 0.1 % = 1.964 → 1.96.
        let sales = PeriodSales {
            captured: Paise(250_000),
            captured_tax: Paise(26_786),
            refunded: Paise(30_000),
            refunded_tax: Paise(3_214),
        };
        let f = settle(sales, rates);
        assert_eq!(f.gst, Paise(23_572));
        assert_eq!(f.taxable, Paise(196_428));
        assert_eq!(f.commission, Paise(17_600));
        assert_eq!(f.tcs, Paise(982));
        assert_eq!(f.tds, Paise(196));
        assert_eq!(f.payout, Paise(201_222));
        assert_eq!(
            f.payout + f.commission + f.tcs + f.tds + f.refunded,
            f.captured
        );
    }

    #[test]
    fn refunds_carry_their_share_of_the_payments_gst() {
        // ₹1,120 paid with ₹120 GST; refunded ₹500, then the ₹620 left.
        let mut base = RefundBase {
            payment_tax: Paise(12_000),
            captured: Paise(112_000),
            refunded_before: Paise::ZERO,
            tax_refunded_before: Paise::ZERO,
        };
        let first = refund_tax(base, Paise(50_000), None);
        assert_eq!(first, Paise(5_357)); // 120 × 500 / 1120 = 53.57
        base.refunded_before = Paise(50_000);
        base.tax_refunded_before = first;
        assert_eq!(refund_tax(base, Paise(62_000), None), Paise(6_643));
        // A return that knows its lines' tax uses it, within what is left.
        assert_eq!(
            refund_tax(base, Paise(10_000), Some(Paise(1_071))),
            Paise(1_071)
        );
        assert_eq!(
            refund_tax(base, Paise(62_000), Some(Paise(9_000))),
            Paise(6_643)
        );
    }

    #[test]
    fn rates_are_read_as_percentages_without_floats() {
        assert_eq!(percent_to_bps("8").unwrap(), 800);
        assert_eq!(percent_to_bps("7.5").unwrap(), 750);
        assert_eq!(percent_to_bps("0.25").unwrap(), 25);
        assert_eq!(percent_to_bps("100").unwrap(), 10_000);
        for bad in ["", "-1", "100.01", "8.125", "1e2", "eight", ".5", "8."] {
            assert!(percent_to_bps(bad).is_err(), "{bad}");
        }
        assert_eq!(bps_to_percent(750), "7.50");
    }

    #[test]
    fn periods_are_india_calendar_days() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (from, until) = period_bounds(day("2026-11-01"), day("2026-11-30")).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-10-31T18:30:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-11-30T18:30:00+00:00");
        assert!(period_bounds(day("2026-11-02"), day("2026-11-01")).is_err());
    }
}
