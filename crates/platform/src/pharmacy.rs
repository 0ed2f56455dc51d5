//! Rules of Indian pharmacy law that more than one subgraph enforces, so
//! that each refuses in the same words: catalog (listing, reserving stock)
//! and orders (cart, checkout) both refuse Schedule X.

use crate::ApiError;
use serde_json::json;

/// Why a Schedule X medicine is refused wherever it could be sold: the
/// draft e-pharmacy rules exclude narcotic and psychotropic drugs from
/// online sale.
pub const SCHEDULE_X_NOT_SOLD: &str =
    "Schedule X (narcotic and psychotropic) medicines are not sold online";

/// The `BAD_USER_INPUT` refusal of Schedule X, naming the listings concerned
/// (if any) in `extensions.details` with the rule's code.
pub fn schedule_x_refusal(listing_ids: &[&str]) -> ApiError {
    let refusal = ApiError::bad_input(SCHEDULE_X_NOT_SOLD);
    if listing_ids.is_empty() {
        return refusal;
    }
    refusal.with_details(json!({ "listingIds": listing_ids, "rule": "SCHEDULE_X_NOT_SOLD_ONLINE" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn schedule_x_is_refused_in_one_voice_naming_the_listings() {
        let err = schedule_x_refusal(&["l2"]);
        assert_eq!(err.code(), ErrorCode::BadUserInput);
        assert_eq!(err.to_string(), SCHEDULE_X_NOT_SOLD);
        let ApiError::Client { details, .. } = err else {
            panic!("a client error")
        };
        assert_eq!(details.unwrap()["listingIds"], json!(["l2"]));
        assert_eq!(schedule_x_refusal(&[]).to_string(), SCHEDULE_X_NOT_SOLD);
    }
}
