//! The custom scalars of the contract: `Date` ("YYYY-MM-DD") and `DateTime`
//! (RFC 3339 UTC). Defined once so every subgraph declares them identically.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// A calendar date such as an expiry or an issue date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date in ISO 8601 form, "YYYY-MM-DD".
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant as RFC 3339 in UTC, e.g. "2026-11-22T10:15:30.123Z".
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text on both backends,
/// so they compare correctly as strings and read the same everywhere.
pub fn to_db_time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a timestamp written by [`to_db_time`].
pub fn from_db_time(s: &str) -> anyhow::Result<chrono::DateTime<Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

/// The current time in storage form.
pub fn now_db() -> String {
    to_db_time(Utc::now())
}

impl DateTime {
    /// Converts a stored timestamp for the API.
    pub fn from_db(s: &str) -> anyhow::Result<Self> {
        from_db_time(s).map(DateTime)
    }
}

impl Date {
    /// Converts a stored date ("YYYY-MM-DD") for the API.
    pub fn from_db(s: &str) -> anyhow::Result<Self> {
        Ok(Date(NaiveDate::parse_from_str(s, "%Y-%m-%d")?))
    }

    /// Storage form ("YYYY-MM-DD").
    pub fn to_db(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// Stored timestamps read and bind as [`DateTime`] on both backends (TEXT in
/// the [`to_db_time`] form), so store rows carry instants, not strings, and a
/// malformed value fails in the store instead of in a GraphQL getter.
mod storage {
    use super::{from_db_time, to_db_time, Date, DateTime};
    use chrono::NaiveDate;
    use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::{Database, Decode, Encode, Type};

    type Buffer<'q> = <Any as Database>::ArgumentBuffer<'q>;

    impl Type<Any> for DateTime {
        fn type_info() -> AnyTypeInfo {
            <String as Type<Any>>::type_info()
        }

        fn compatible(ty: &AnyTypeInfo) -> bool {
            <String as Type<Any>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, Any> for DateTime {
        fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <String as Decode<Any>>::decode(value)?;
            Ok(DateTime(from_db_time(&text)?))
        }
    }

    impl<'q> Encode<'q, Any> for DateTime {
        fn encode_by_ref(&self, buf: &mut Buffer<'q>) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Any>>::encode(to_db_time(self.0), buf)
        }
    }

    impl Type<Any> for Date {
        fn type_info() -> AnyTypeInfo {
            <String as Type<Any>>::type_info()
        }

        fn compatible(ty: &AnyTypeInfo) -> bool {
            <String as Type<Any>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, Any> for Date {
        fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <String as Decode<Any>>::decode(value)?;
            Ok(Date(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?))
        }
    }

    impl<'q> Encode<'q, Any> for Date {
        fn encode_by_ref(&self, buf: &mut Buffer<'q>) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Any>>::encode(self.to_db(), buf)
        }
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}

impl DateTime {
    /// Now, as stored (microsecond precision).
    pub fn now() -> Self {
        DateTime(Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_sort_as_text() {
        let a = to_db_time(Utc::now());
        let b = to_db_time(Utc::now() + chrono::Duration::milliseconds(3));
        assert!(a < b);
        assert_eq!(to_db_time(from_db_time(&a).unwrap()), a);
    }

    #[tokio::test]
    async fn timestamps_and_dates_round_trip_through_the_store_as_text() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:").await.unwrap();
        let at = DateTime(from_db_time("2026-11-29T10:15:30.123456Z").unwrap());
        let day = Date::from_db("2026-02-28").unwrap();
        let (text, back, day_back): (String, DateTime, Date) = sqlx::query_as("SELECT $1, $1, $2")
            .bind(at)
            .bind(day)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(text, "2026-11-29T10:15:30.123456Z");
        assert_eq!((back, day_back), (at, day));
        let bad = sqlx::query_as::<_, (DateTime,)>("SELECT 'yesterday'")
            .fetch_one(&pool)
            .await;
        assert!(bad.is_err(), "a malformed timestamp is a store error");
    }

    #[test]
    fn dates_parse_strictly() {
        assert!(<Date as ScalarType>::parse(Value::from("2026-02-30")).is_err());
        assert!(<Date as ScalarType>::parse(Value::from("2026-02-28")).is_ok());
    }
}
