//! All SQL of the orders subgraph, in one place. Functions that take a
//! connection run inside the caller's transaction; the rest use the pool.
//! Status changes are conditional updates (`… WHERE status = $from`), so two
//! concurrent movers of one order cannot both win. Rows come out typed:
//! statuses and other enum columns as domain enums, timestamps as
//! [`DateTime`], money as [`janta_platform::money::Paise`]; a value that does
//! not parse is an error here, not in a GraphQL getter.

mod carts;
mod dispensing;
mod followups;
mod invoices;
mod orders;
mod personal_data;
mod returns;

pub use carts::*;
pub use dispensing::*;
pub use followups::*;
pub use invoices::*;
pub use orders::*;
pub use personal_data::*;
pub use returns::*;

use crate::domain::returns::{ReturnReason, ReturnStatus};
use crate::domain::{
    CheckoutStatus, PaymentMethod, RxAction, Schedule, Status, StockAction, Supply,
};
use janta_platform::scalars::DateTime;
use janta_platform::store::{placeholders, Migrations};
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments};

janta_platform::text_column!(
    Status,
    PaymentMethod,
    Supply,
    Schedule,
    StockAction,
    RxAction,
    CheckoutStatus,
    ReturnReason,
    ReturnStatus
);

/// The orders subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/orders/sqlite"),
        postgres: sqlx::migrate!("../../migrations/orders/postgres"),
    }
}

/// An `INSERT` built column by column, each value next to its column's
/// name (no positional parameter lists to keep in step).
struct Insert<'q> {
    table: &'static str,
    columns: Vec<&'static str>,
    arguments: AnyArguments<'q>,
}

impl<'q> Insert<'q> {
    fn into(table: &'static str) -> Self {
        Insert {
            table,
            columns: Vec::new(),
            arguments: AnyArguments::default(),
        }
    }

    /// Sets `column` to `value`.
    fn set<T>(mut self, column: &'static str, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        // Adding to AnyArguments only fails for values that cannot encode,
        // which the execute below reports again.
        let _ = self.arguments.add(value);
        self.columns.push(column);
        self
    }

    async fn execute(self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            self.columns.join(", "),
            placeholders(1, self.columns.len())
        );
        sqlx::query_with(&sql, self.arguments)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

fn split_ids(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Now, as stored.
pub fn now() -> DateTime {
    DateTime::now()
}
