//! The other subgraphs' service interfaces as prescriptions uses them:
//! users answers whether a family member belongs to a customer, so that a
//! prescription is never filed under someone else's dependant. Calls go
//! through the owner's GraphQL API as a service principal (architecture
//! rule 3); the callee's client errors keep their codes.

use janta_platform::client::ServiceClient;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Typed calls to users.
pub struct Peers {
    client: ServiceClient,
}

const FAMILY_MEMBER_OF: &str =
    "query($u: ID!, $f: ID!) { familyMemberOfForService(userId: $u, familyMemberId: $f) }";

impl Peers {
    /// Peers reached through `client`.
    pub fn new(client: ServiceClient) -> Self {
        Peers { client }
    }

    /// Whether `family_member_id` is one of `user_id`'s family members
    /// (users owns family members). Fails closed: an unreachable users
    /// subgraph is an error, never a yes.
    pub async fn is_family_member(
        &self,
        user_id: &str,
        family_member_id: &str,
        correlation_id: Option<&str>,
    ) -> ApiResult<bool> {
        let data = self
            .client
            .call(
                "users",
                FAMILY_MEMBER_OF,
                json!({ "u": user_id, "f": family_member_id }),
                correlation_id,
            )
            .await?;
        data["familyMemberOfForService"].as_bool().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "users answered familyMemberOfForService without a boolean"
            ))
        })
    }
}
