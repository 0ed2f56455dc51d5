//! The one error type every resolver returns. Client errors carry a stable
//! `extensions.code` and a message that helps the caller; internal errors are
//! logged with their cause and reach the client only as `INTERNAL`.

use async_graphql::ErrorExtensions;
use serde_json::Value;

/// The stable codes clients switch on (`extensions.code`), as listed in
/// architecture.md. Adding one is an API change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    Conflict,
    OutOfStock,
    PrescriptionRequired,
    PaymentFailed,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, so that metrics can label errors from a fixed set.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::BadUserInput,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::OutOfStock,
        ErrorCode::PrescriptionRequired,
        ErrorCode::PaymentFailed,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The wire form of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::OutOfStock => "OUT_OF_STOCK",
            ErrorCode::PrescriptionRequired => "PRESCRIPTION_REQUIRED",
            ErrorCode::PaymentFailed => "PAYMENT_FAILED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// Either a failure the client should act on, or an internal fault whose
/// details stay in the logs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Safe to show: a stable code, a helpful message and optional details
    /// (for example which cart lines lack a prescription).
    #[error("{message}")]
    Client {
        code: ErrorCode,
        message: String,
        details: Option<Value>,
        /// Whole seconds to wait before trying again (`RATE_LIMITED`),
        /// shown as `extensions.retryAfter`.
        retry_after: Option<u64>,
    },
    /// A fault of ours (database down, bug); logged, never shown.
    #[error("internal error: {0:#}")]
    Internal(std::sync::Arc<anyhow::Error>),
}

/// Result alias used by resolvers and domain services.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A client error with the given code and message.
    pub fn client(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// `RATE_LIMITED`: the caller may try again after `retry_after` (rounded
    /// up to whole seconds, at least one; `extensions.retryAfter`).
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        ApiError::Client {
            code: ErrorCode::RateLimited,
            message: message.into(),
            details: None,
            retry_after: Some(seconds.max(1)),
        }
    }

    /// `UNAVAILABLE`: a service this request needs (another subgraph) could
    /// not be reached just now; the caller may try again after
    /// `retry_after_seconds` (`extensions.retryAfter`).
    pub fn unavailable(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        ApiError::Client {
            code: ErrorCode::Unavailable,
            message: message.into(),
            details: None,
            retry_after: Some(retry_after_seconds.max(1)),
        }
    }

    /// Whether trying the same thing again may work: a fault of ours or an
    /// unreachable dependency, not something the caller must change.
    pub fn is_transient(&self) -> bool {
        matches!(self.code(), ErrorCode::Internal | ErrorCode::Unavailable)
    }

    /// Seconds to wait before retrying, for `RATE_LIMITED` errors (HTTP
    /// endpoints put it into `Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Client { retry_after, .. } => *retry_after,
            ApiError::Internal(_) => None,
        }
    }

    /// Attaches structured details (shown under `extensions.details`).
    pub fn with_details(self, details: Value) -> Self {
        match self {
            ApiError::Client {
                code,
                message,
                retry_after,
                ..
            } => ApiError::Client {
                code,
                message,
                details: Some(details),
                retry_after,
            },
            internal => internal,
        }
    }

    /// A failure that is ours, not the caller's: logged with its cause,
    /// answered as `INTERNAL`.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(std::sync::Arc::new(cause.into()))
    }

    /// The caller sent something invalid.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::client(ErrorCode::BadUserInput, message)
    }

    /// No usable credentials.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::client(ErrorCode::Unauthenticated, message)
    }

    /// Authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::client(ErrorCode::Forbidden, message)
    }

    /// The thing does not exist (or the caller may not know it exists).
    pub fn not_found(what: &str) -> Self {
        Self::client(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// The request conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::client(ErrorCode::Conflict, message)
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::internal(err)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::Internal(std::sync::Arc::new(err))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Client {
                code,
                message,
                details,
                retry_after,
            } => async_graphql::Error::new(message).extend_with(|_, ext| {
                ext.set("code", code.as_str());
                if let Some(details) = &details {
                    if let Ok(value) = async_graphql::Value::from_json(details.clone()) {
                        ext.set("details", value);
                    }
                }
                if let Some(seconds) = retry_after {
                    ext.set("retryAfter", seconds);
                }
            }),
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                async_graphql::Error::new("internal error")
                    .extend_with(|_, ext| ext.set("code", ErrorCode::Internal.as_str()))
            }
        }
    }
}

/// True when `err` is a unique-constraint violation of `table.column`.
///
/// Unique indexes are the single source of truth for uniqueness (race-free);
/// this maps their violation to a client error. Indexes must be named
/// `<table>_<column>_key` on PostgreSQL; SQLite names the column in its message.
pub fn is_unique_violation(err: &sqlx::Error, table: &str, column: &str) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if db.kind() != sqlx::error::ErrorKind::UniqueViolation {
        return false;
    }
    let pg_name = format!("{table}_{column}_key");
    let sqlite_name = format!("{table}.{column}");
    db.constraint() == Some(pg_name.as_str()) || db.message().contains(&sqlite_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_code_and_message() {
        let err: async_graphql::Error = ApiError::bad_input("quantity must be positive").into();
        assert_eq!(err.message, "quantity must be positive");
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("BAD_USER_INPUT"))
        );
    }

    #[test]
    fn rate_limits_say_when_to_retry_in_whole_seconds() {
        let err = ApiError::rate_limited("slow down", std::time::Duration::from_millis(1200));
        assert_eq!(err.retry_after(), Some(2));
        let err: async_graphql::Error = err.into();
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("RATE_LIMITED"))
        );
        assert_eq!(ext.get("retryAfter"), Some(&async_graphql::Value::from(2)));
        let soon = ApiError::rate_limited("slow down", std::time::Duration::ZERO);
        assert_eq!(soon.retry_after(), Some(1));
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err: async_graphql::Error =
            ApiError::internal(anyhow::anyhow!("syntax error near SELECT")).into();
        assert_eq!(err.message, "internal error");
        assert!(!format!("{err:?}").contains("SELECT"));
    }
}
