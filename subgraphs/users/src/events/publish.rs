//! Events the users subgraph publishes (through its outbox, inside the
//! caller's transaction): `UserRegistered`, `RegistrationAttempted`,
//! `AccountCodeIssued`, `VendorVerified`, `VendorSuspended`,
//! `VendorReinstated`, `DataExportRequested` and `UserErasureRequested`.

use janta_events::publish;
use janta_events::types::{
    AccountCodeIssued, AccountCodePurpose, DataExportRequested, RegistrationAttempted,
    UserErasureRequested, UserRegistered, VendorReinstated, VendorSuspended, VendorVerified,
};
use janta_platform::cause::Cause;
use janta_platform::ApiResult;
use sqlx::AnyConnection;

/// A customer account was created (`user_id`, named `full_name`). Carries
/// no contact details: consumers that need them ask the owner. The new
/// account is its own actor.
pub async fn user_registered(
    conn: &mut AnyConnection,
    user_id: &str,
    full_name: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = UserRegistered {
        user_id: user_id.to_string(),
        full_name: full_name.to_string(),
    };
    publish(conn, &event, &cause.acting_as(user_id)).await?;
    Ok(())
}

/// Someone registered with the e-mail of `owner_id`'s account: the owner is
/// told (registration answered as if it had worked).
pub async fn registration_attempted(
    conn: &mut AnyConnection,
    owner_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = RegistrationAttempted {
        user_id: owner_id.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A one-time secret for `user_id` (verification code or reset token), for
/// notifications to send to the account's own e-mail or phone. The secret
/// is in no log: the event's Debug print redacts it.
pub async fn account_code_issued(
    conn: &mut AnyConnection,
    user_id: &str,
    purpose: AccountCodePurpose,
    code: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
    cause: &Cause,
) -> ApiResult<()> {
    let event = AccountCodeIssued {
        user_id: user_id.to_string(),
        purpose,
        code: code.to_string(),
        expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A vendor's licences were verified; it may now sell.
pub async fn vendor_verified(
    conn: &mut AnyConnection,
    vendor_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = VendorVerified {
        vendor_id: vendor_id.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A vendor was suspended; catalog and orders stop selling its listings.
pub async fn vendor_suspended(
    conn: &mut AnyConnection,
    vendor_id: &str,
    reason: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = VendorSuspended {
        vendor_id: vendor_id.to_string(),
        reason: reason.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// A vendor's suspension was lifted; a verified vendor sells again.
pub async fn vendor_reinstated(
    conn: &mut AnyConnection,
    vendor_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = VendorReinstated {
        vendor_id: vendor_id.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// `user_id` asked for export `export_id`: every subgraph answers with its part.
pub async fn data_export_requested(
    conn: &mut AnyConnection,
    export_id: &str,
    user_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = DataExportRequested {
        export_id: export_id.to_string(),
        user_id: user_id.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}

/// `user_id` closed their account (deletion `request_id`): every subgraph
/// erases what it holds about them and reports.
pub async fn user_erasure_requested(
    conn: &mut AnyConnection,
    request_id: &str,
    user_id: &str,
    cause: &Cause,
) -> ApiResult<()> {
    let event = UserErasureRequested {
        request_id: request_id.to_string(),
        user_id: user_id.to_string(),
    };
    publish(conn, &event, cause).await?;
    Ok(())
}
