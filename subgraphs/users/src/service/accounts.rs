//! A person's own account: profile, delivery addresses and dependents.
//! Every change is one transaction with its audit entry, made by the
//! account's owner (`me`).

use crate::service::audit;
use crate::store::{self, AddressFields, AddressRow, FamilyMemberRow, UserRow};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Changes the name and/or phone of `me`; `CONFLICT` when the profile is
/// no longer at `expected_version` (someone changed it since it was read).
pub async fn update_profile(
    db: &Store,
    me: &str,
    full_name: Option<&str>,
    phone: Option<&str>,
    expected_version: Option<i64>,
) -> ApiResult<UserRow> {
    let mut tx = db.begin().await?;
    let before = store::user_by_id(&mut tx, me)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if !store::update_profile(&mut tx, me, full_name, phone, expected_version).await? {
        return Err(stale("profile", before.version));
    }
    let row = store::user_by_id(&mut tx, me)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let after = json!({ "fullNameChanged": full_name.is_some(), "phoneChanged": phone.is_some() });
    audit(
        &mut tx,
        me,
        "user",
        me,
        "profile_updated",
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Saves an address of `me`; the first one, or one marked default, becomes
/// the default.
pub async fn add_address(
    db: &Store,
    me: &str,
    fields: &AddressFields<'_>,
    make_default: bool,
) -> ApiResult<AddressRow> {
    let mut tx = db.begin().await?;
    let row = store::insert_address(&mut tx, me, fields, make_default).await?;
    audit(&mut tx, me, "address", &row.id, "added", None, None).await?;
    tx.commit().await?;
    Ok(row)
}

/// Rewrites address `id` of `me` (and makes it the default if asked);
/// `CONFLICT` when it is no longer at `expected_version`.
pub async fn update_address(
    db: &Store,
    me: &str,
    id: &str,
    fields: &AddressFields<'_>,
    make_default: bool,
    expected_version: Option<i64>,
) -> ApiResult<AddressRow> {
    let mut tx = db.begin().await?;
    let before = own_address(&mut tx, me, id).await?;
    if !store::update_address(&mut tx, id, fields, expected_version).await? {
        return Err(stale("address", before.version));
    }
    if make_default {
        store::set_default_address(&mut tx, me, id).await?;
    }
    audit(&mut tx, me, "address", id, "updated", None, None).await?;
    let row = own_address(&mut tx, me, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes address `id` of `me` (past orders keep their copy); `CONFLICT`
/// when it is no longer at `expected_version`.
pub async fn remove_address(
    db: &Store,
    me: &str,
    id: &str,
    expected_version: Option<i64>,
) -> ApiResult<()> {
    let mut tx = db.begin().await?;
    let before = own_address(&mut tx, me, id).await?;
    if !store::delete_address(&mut tx, id, expected_version).await? {
        return Err(stale("address", before.version));
    }
    audit(&mut tx, me, "address", id, "removed", None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes address `id` the only default of `me`; `CONFLICT` when it is no
/// longer at `expected_version`.
pub async fn set_default_address(
    db: &Store,
    me: &str,
    id: &str,
    expected_version: Option<i64>,
) -> ApiResult<AddressRow> {
    let mut tx = db.begin().await?;
    let before = own_address(&mut tx, me, id).await?;
    if !store::lock_address_at(&mut tx, id, expected_version).await? {
        return Err(stale("address", before.version));
    }
    store::set_default_address(&mut tx, me, id).await?;
    audit(&mut tx, me, "address", id, "made_default", None, None).await?;
    let row = own_address(&mut tx, me, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Adds a dependent of `me`.
pub async fn add_family_member(
    db: &Store,
    me: &str,
    member: store::NewFamilyMember<'_>,
) -> ApiResult<FamilyMemberRow> {
    let mut tx = db.begin().await?;
    let row = store::insert_family_member(&mut tx, me, member).await?;
    audit(&mut tx, me, "family_member", &row.id, "added", None, None).await?;
    tx.commit().await?;
    Ok(row)
}

/// Removes dependent `id` of `me`.
pub async fn remove_family_member(db: &Store, me: &str, id: &str) -> ApiResult<()> {
    let mut tx = db.begin().await?;
    let row = store::family_member_by_id(&mut tx, id).await?;
    if row.is_none_or(|m| m.user_id != me) {
        return Err(ApiError::not_found("family member"));
    }
    store::delete_family_member(&mut tx, id).await?;
    audit(&mut tx, me, "family_member", id, "removed", None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Address `id` if it belongs to `me`; `NOT_FOUND` otherwise (another
/// person's address is not revealed to exist).
async fn own_address(conn: &mut AnyConnection, me: &str, id: &str) -> ApiResult<AddressRow> {
    match store::address_by_id(conn, id).await? {
        Some(row) if row.user_id == me => Ok(row),
        _ => Err(ApiError::not_found("address")),
    }
}

/// The refusal of an edit made from a stale read: `what` is now at `current`.
fn stale(what: &str, current: i64) -> ApiError {
    ApiError::conflict(format!(
        "this {what} was changed since you read it (it is now at version {current}): read it again"
    ))
}
