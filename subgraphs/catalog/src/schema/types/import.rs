//! Bulk import results: what `importMedicines` and `importListings` did.

use crate::schema::int;
use crate::service::import::ImportReport as Report;
use async_graphql::Object;

/// What an import did with a CSV file, row by row. Every data row is
/// counted once: `created + updated + unchanged + rejected = rowsRead`.
/// Running the same file again changes nothing (all rows unchanged).
pub struct ImportReport(pub Report);

#[Object]
impl ImportReport {
    /// Data rows in the file (the header and blank lines excluded).
    async fn rows_read(&self) -> i32 {
        count(self.0.rows_read)
    }
    /// Rows that created a medicine or a listing.
    async fn created(&self) -> i32 {
        count(self.0.created)
    }
    /// Rows that changed one: a new medicine version, a listing's price or
    /// terms, a batch received into an existing listing.
    async fn updated(&self) -> i32 {
        count(self.0.updated)
    }
    /// Rows whose values were all there already (nothing written).
    async fn unchanged(&self) -> i32 {
        count(self.0.unchanged)
    }
    /// Rows not imported, by line, with the reason; nothing of them was written.
    async fn rejected(&self) -> Vec<ImportRejection> {
        self.0
            .rejected
            .iter()
            .map(|r| ImportRejection {
                line: r.line,
                reason: r.reason.clone(),
            })
            .collect()
    }
    /// Header names that are no column of this import (their values were not read).
    async fn ignored_columns(&self) -> &[String] {
        &self.0.ignored_columns
    }
    /// Whether this was a rehearsal: the counts are what the import would
    /// do, and nothing was written.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
}

/// A CSV row an import refused.
pub struct ImportRejection {
    line: i64,
    reason: String,
}

#[Object]
impl ImportRejection {
    /// Its line in the file (the header is line 1).
    async fn line(&self) -> i32 {
        int(self.line)
    }
    /// What is wrong with it.
    async fn reason(&self) -> &str {
        &self.reason
    }
}

fn count(n: usize) -> i32 {
    int(i64::try_from(n).unwrap_or(i64::MAX))
}
