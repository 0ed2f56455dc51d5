//! How typed values sit in columns under sqlx's `Any` driver, written once
//! for every store: enums as their storage text ([`text_column!`]: an
//! unknown value is a decode error of the store, never a silent default) and
//! flags ([`Flag`]), which are `boolean` on PostgreSQL and 0/1 on SQLite.
//! Timestamps and dates are [`crate::scalars::DateTime`] and
//! [`crate::scalars::Date`]; money is [`crate::money::Paise`].

use crate::scalars::{Date, DateTime};
use sqlx::any::{Any, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Row, Type};

#[doc(hidden)]
pub use sqlx as __sqlx;

/// Implements sqlx's column traits for enums that have
/// `fn as_db(&self) -> &'static str` and `fn parse(&str) -> Option<Self>`,
/// so rows read them and statements bind them directly.
#[macro_export]
macro_rules! text_column {
    ($($enum:ty),+ $(,)?) => {$(
        impl $crate::columns::__sqlx::Type<$crate::columns::__sqlx::Any> for $enum {
            fn type_info() -> $crate::columns::__sqlx::any::AnyTypeInfo {
                <String as $crate::columns::__sqlx::Type<$crate::columns::__sqlx::Any>>::type_info()
            }

            fn compatible(ty: &$crate::columns::__sqlx::any::AnyTypeInfo) -> bool {
                <String as $crate::columns::__sqlx::Type<$crate::columns::__sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> $crate::columns::__sqlx::Decode<'r, $crate::columns::__sqlx::Any> for $enum {
            fn decode(
                value: $crate::columns::__sqlx::any::AnyValueRef<'r>,
            ) -> Result<Self, $crate::columns::__sqlx::error::BoxDynError> {
                let text = <String as $crate::columns::__sqlx::Decode<$crate::columns::__sqlx::Any>>::decode(value)?;
                <$enum>::parse(&text)
                    .ok_or_else(|| format!("unknown {} {text:?}", stringify!($enum)).into())
            }
        }

        impl<'q> $crate::columns::__sqlx::Encode<'q, $crate::columns::__sqlx::Any> for $enum {
            fn encode_by_ref(
                &self,
                buf: &mut <$crate::columns::__sqlx::Any as $crate::columns::__sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<$crate::columns::__sqlx::encode::IsNull, $crate::columns::__sqlx::error::BoxDynError> {
                <&str as $crate::columns::__sqlx::Encode<'q, $crate::columns::__sqlx::Any>>::encode(self.as_db(), buf)
            }
        }
    )+};
}

/// A flag column as read: `boolean` on PostgreSQL, 0/1 on SQLite. Rows read
/// it into `bool` with `#[sqlx(try_from = "Flag")]`; statements bind plain
/// `bool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        use AnyTypeInfoKind::*;
        matches!(ty.kind(), Bool | SmallInt | Integer | BigInt)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <bool as Decode<Any>>::decode(value.clone()) {
            Ok(flag) => Ok(Flag(flag)),
            Err(_) => Ok(Flag(<i64 as Decode<Any>>::decode(value)? != 0)),
        }
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

/// Readers for stores that map rows by hand (`impl FromRow`): each names
/// the column in the error when its value cannot be read.
fn undecodable(column: &str, source: impl Into<BoxDynError>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: source.into(),
    }
}

/// A flag column (or a 0/1 expression).
pub fn flag(row: &AnyRow, column: &str) -> sqlx::Result<bool> {
    Ok(row.try_get::<Flag, _>(column)?.0)
}

/// A text column holding one of an enum's storage forms, read with `parse`.
pub fn parsed<T>(row: &AnyRow, column: &str, parse: impl Fn(&str) -> Option<T>) -> sqlx::Result<T> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| undecodable(column, format!("unknown value {text:?}")))
}

/// A timestamp column.
pub fn time(row: &AnyRow, column: &str) -> sqlx::Result<chrono::DateTime<chrono::Utc>> {
    Ok(row.try_get::<DateTime, _>(column)?.0)
}

/// A nullable timestamp column.
pub fn opt_time(row: &AnyRow, column: &str) -> sqlx::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(row.try_get::<Option<DateTime>, _>(column)?.map(|t| t.0))
}

/// A nullable date column ("YYYY-MM-DD").
pub fn opt_date(row: &AnyRow, column: &str) -> sqlx::Result<Option<chrono::NaiveDate>> {
    Ok(row.try_get::<Option<Date>, _>(column)?.map(|d| d.0))
}

/// One row as a JSON object keyed by its column names, each value as stored
/// (text, integer, real, boolean, null; a blob as lowercase hex): what a
/// personal-data export hands the person, column by column, the same on
/// both backends.
pub fn row_json(row: &AnyRow) -> sqlx::Result<serde_json::Value> {
    use sqlx::{Column, ValueRef};
    use AnyTypeInfoKind::*;
    let mut object = serde_json::Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let kind = row.try_get_raw(i)?.type_info().kind();
        let value = match kind {
            Null => serde_json::Value::Null,
            Bool => row.try_get::<bool, _>(i)?.into(),
            SmallInt | Integer | BigInt => row.try_get::<i64, _>(i)?.into(),
            Real | Double => row.try_get::<f64, _>(i)?.into(),
            Text => row.try_get::<String, _>(i)?.into(),
            Blob => row
                .try_get::<Vec<u8>, _>(i)?
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        };
        object.insert(column.name().to_string(), value);
    }
    Ok(serde_json::Value::Object(object))
}

/// Every row `sql` selects with `$1` bound to `key`, each as [`row_json`]:
/// one table's rows about a person, as an export lists them.
pub async fn json_rows(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    key: &str,
) -> sqlx::Result<Vec<serde_json::Value>> {
    sqlx::query(sql)
        .bind(key)
        .fetch_all(conn)
        .await?
        .iter()
        .map(row_json)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Flag;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        Red,
        Blue,
    }

    impl Colour {
        fn as_db(&self) -> &'static str {
            match self {
                Colour::Red => "RED",
                Colour::Blue => "BLUE",
            }
        }

        fn parse(text: &str) -> Option<Self> {
            match text {
                "RED" => Some(Colour::Red),
                "BLUE" => Some(Colour::Blue),
                _ => None,
            }
        }
    }

    crate::text_column!(Colour);

    #[tokio::test]
    async fn enums_and_flags_round_trip_and_unknown_values_fail() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:").await.unwrap();
        let (colour, flag, text): (Colour, Flag, String) = sqlx::query_as("SELECT $1, $2, $1")
            .bind(Colour::Blue)
            .bind(1i64)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            (colour, flag, text.as_str()),
            (Colour::Blue, Flag(true), "BLUE")
        );
        assert_eq!(Colour::Red.as_db(), "RED");
        let unknown = sqlx::query_as::<_, (Colour,)>("SELECT 'GREEN'")
            .fetch_one(&pool)
            .await;
        assert!(unknown.is_err(), "an unknown value is a store error");
    }
}
