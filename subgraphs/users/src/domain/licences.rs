//! Retail drug licences and what they decide: a pharmacy sells only while
//! the latest recorded licence of each form it holds is in force. An
//! expired one suspends selling; a renewal lifts that suspension, never one
//! an admin made.

use super::parse_text;
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::{ApiError, ApiResult};

/// The form of a retail drug licence (Drugs and Cosmetics Rules, 1945).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenceForm {
    /// Form 20: retail sale of drugs other than those of Schedules C, C1 and X.
    Form20,
    /// Form 21: retail sale of drugs of Schedules C and C1.
    Form21,
}

impl LicenceForm {
    const ALL: [LicenceForm; 2] = [LicenceForm::Form20, LicenceForm::Form21];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            LicenceForm::Form20 => "FORM_20",
            LicenceForm::Form21 => "FORM_21",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_db() == s)
    }
}

/// Who suspended a vendor, which decides who may lift the suspension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendedBy {
    /// A platform admin: only an admin reinstates.
    Admin,
    /// The licence sweeper, for an expired licence: a renewal reinstates.
    Licence,
}

impl SuspendedBy {
    const ALL: [SuspendedBy; 2] = [SuspendedBy::Admin, SuspendedBy::Licence];

    /// Storage form.
    pub fn as_db(self) -> &'static str {
        match self {
            SuspendedBy::Admin => "ADMIN",
            SuspendedBy::Licence => "LICENCE",
        }
    }

    /// Reads the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_db() == s)
    }
}

/// A licence number as the licensing authority wrote it: 4 to 64
/// characters, upper-cased, with at least one digit.
pub fn parse_licence_number(raw: &str) -> ApiResult<String> {
    let number = parse_text(raw, "number", 4, 64)?.to_uppercase();
    if !number.chars().any(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_input("number must contain a digit"));
    }
    Ok(number)
}

/// Today's date in India at `now`.
pub fn today_in_india(now: DateTime<Utc>) -> NaiveDate {
    janta_platform::india::date_of(now)
}

/// Whether a licence valid until `valid_until` (inclusive) has expired at `now`.
pub fn is_expired(valid_until: NaiveDate, now: DateTime<Utc>) -> bool {
    today_in_india(now) > valid_until
}

/// The licence in force of one form: the latest recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceInForce {
    /// Its form.
    pub form: LicenceForm,
    /// Its number.
    pub number: String,
    /// Its last valid day.
    pub valid_until: NaiveDate,
}

/// What the licence sweeper does with one vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceAction {
    /// Nothing changes.
    Keep,
    /// Suspend selling, with this reason (naming the licence).
    Suspend(String),
    /// Lift the sweeper's own suspension: every licence is in force again.
    Reinstate,
}

/// The sweeper's decision for a vendor whose licences in force are
/// `latest` and whose suspension (if any) was made by `suspended`: an
/// expired licence suspends a vendor that is not suspended; a vendor the
/// sweeper suspended is reinstated once none has expired; an admin's
/// suspension is never touched.
pub fn licence_action(
    latest: &[LicenceInForce],
    suspended: Option<SuspendedBy>,
    now: DateTime<Utc>,
) -> LicenceAction {
    let expired = latest.iter().find(|l| is_expired(l.valid_until, now));
    match (expired, suspended) {
        (Some(l), None) => LicenceAction::Suspend(format!(
            "drug licence {} ({}) expired on {}",
            l.number,
            l.form.as_db(),
            l.valid_until
        )),
        (None, Some(SuspendedBy::Licence)) => LicenceAction::Reinstate,
        _ => LicenceAction::Keep,
    }
}

/// The latest day `drugLicencesExpiring(withinDays)` looks at.
pub fn expiring_by(within_days: i32, now: DateTime<Utc>) -> ApiResult<NaiveDate> {
    if !(0..=366).contains(&within_days) {
        return Err(ApiError::bad_input("withinDays must be 0 to 366"));
    }
    Ok(today_in_india(now) + chrono::Days::new(within_days as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn licence(form: LicenceForm, until: &str) -> LicenceInForce {
        LicenceInForce {
            form,
            number: "KA-BLR-20B-1".into(),
            valid_until: until.parse().unwrap(),
        }
    }

    #[test]
    fn a_licence_is_valid_through_its_last_day_in_india() {
        let until: NaiveDate = "2026-03-31".parse().unwrap();
        // 18:29 UTC on the 31st is 23:59 in India: still valid.
        let late = Utc.with_ymd_and_hms(2026, 3, 31, 18, 29, 0).unwrap();
        assert!(!is_expired(until, late));
        // 18:30 UTC is midnight in India: expired.
        let midnight = Utc.with_ymd_and_hms(2026, 3, 31, 18, 30, 0).unwrap();
        assert!(is_expired(until, midnight));
    }

    #[test]
    fn expiry_suspends_and_renewal_reinstates_only_its_own_suspension() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap();
        let lapsed = [
            licence(LicenceForm::Form20, "2027-01-01"),
            licence(LicenceForm::Form21, "2026-05-31"),
        ];
        let LicenceAction::Suspend(reason) = licence_action(&lapsed, None, now) else {
            panic!("an expired licence suspends");
        };
        assert!(
            reason.contains("FORM_21") && reason.contains("2026-05-31"),
            "{reason}"
        );
        let lapsed_again = licence_action(&lapsed, Some(SuspendedBy::Licence), now);
        assert_eq!(lapsed_again, LicenceAction::Keep);
        let renewed = [
            licence(LicenceForm::Form20, "2027-01-01"),
            licence(LicenceForm::Form21, "2031-05-31"),
        ];
        assert_eq!(
            licence_action(&renewed, Some(SuspendedBy::Licence), now),
            LicenceAction::Reinstate
        );
        assert_eq!(
            licence_action(&renewed, Some(SuspendedBy::Admin), now),
            LicenceAction::Keep
        );
        assert_eq!(licence_action(&renewed, None, now), LicenceAction::Keep);
        assert_eq!(
            licence_action(&lapsed, Some(SuspendedBy::Admin), now),
            LicenceAction::Keep
        );
        assert_eq!(licence_action(&[], None, now), LicenceAction::Keep);
    }

    #[test]
    fn licence_numbers_and_forms() {
        assert_eq!(
            parse_licence_number(" ka-blr-20b-1 ").unwrap(),
            "KA-BLR-20B-1"
        );
        assert!(parse_licence_number("ABCD").is_err());
        assert!(parse_licence_number("1").is_err());
        for f in LicenceForm::ALL {
            assert_eq!(LicenceForm::parse(f.as_db()), Some(f));
        }
        for s in SuspendedBy::ALL {
            assert_eq!(SuspendedBy::parse(s.as_db()), Some(s));
        }
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap();
        assert_eq!(expiring_by(30, now).unwrap().to_string(), "2026-07-01");
        assert!(expiring_by(-1, now).is_err());
    }
}
