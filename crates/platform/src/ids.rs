//! Identifiers: UUIDv7 strings (time-ordered, so indexes stay compact and
//! keyset pagination by ID follows creation order).

use crate::{ApiError, ApiResult};
use uuid::Uuid;

/// A fresh time-ordered identifier.
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Validates a client-supplied ID; `what` names it in the error message.
/// Returns the canonical lower-case form used in storage.
pub fn parse_id(raw: &str, what: &str) -> ApiResult<String> {
    Uuid::parse_str(raw.trim())
        .map(|id| id.to_string())
        .map_err(|_| ApiError::bad_input(format!("{what} is not a valid ID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_rejected() {
        let id = new_id();
        assert_eq!(parse_id(&id.to_uppercase(), "user").unwrap(), id);
        let err = parse_id("1; DROP TABLE users", "user").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::BadUserInput);
    }
}
