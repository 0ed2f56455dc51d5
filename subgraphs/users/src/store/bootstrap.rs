//! The query `janta admin create` needs before it creates the first
//! platform admin of a deployment: is there one already?

use crate::store::UserRow;
use janta_platform::auth::Role;
use sqlx::AnyConnection;

/// Whether any account holds the platform ADMIN role, so bootstrapping a
/// second one is a deliberate act (`--force`) rather than an accident.
pub async fn has_platform_admin(conn: &mut AnyConnection) -> sqlx::Result<bool> {
    // `roles` is a comma-separated list; VENDOR_ADMIN also contains
    // "ADMIN", so the candidates are parsed and checked exactly.
    let candidates: Vec<UserRow> = sqlx::query_as(&format!(
        "{} WHERE u.roles LIKE '%ADMIN%'",
        super::USER_SELECT
    ))
    .fetch_all(conn)
    .await?;
    Ok(candidates
        .iter()
        .any(|user| user.granted_roles.contains(&Role::Admin)))
}
