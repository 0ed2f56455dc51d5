//! Master data: categories, medicines and their versions, generic
//! alternatives and GST slabs (admins).

use super::audit;
use crate::domain::{MedicineFields, MedicinePatch};
use crate::store::{self, CategoryRow, MedicineRow, TaxSlabRow};
use chrono::NaiveDate;
use janta_platform::cause::Cause;
use janta_platform::store::{Backend, Store};
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sqlx::AnyConnection;

/// Adds a category; a duplicate name is CONFLICT.
pub async fn create_category(
    store: &Store,
    name: &str,
    description: Option<&str>,
    cause: &Cause,
) -> ApiResult<CategoryRow> {
    let mut tx = store.begin().await?;
    let row = add_category(&mut tx, name, description, cause).await?;
    tx.commit().await?;
    Ok(row)
}

/// [`create_category`] inside the caller's transaction (imports add the
/// categories their rows name this way).
pub(crate) async fn add_category(
    conn: &mut AnyConnection,
    name: &str,
    description: Option<&str>,
    cause: &Cause,
) -> ApiResult<CategoryRow> {
    let row = store::insert_category(conn, None, name, description).await?;
    let after = json!({ "name": row.name, "description": row.description });
    audit(
        conn,
        cause.actor(),
        "category",
        &row.id,
        "created",
        None,
        Some(after),
    )
    .await?;
    Ok(row)
}

/// Adds a medicine to the master at version 1.
pub async fn create_medicine(
    store: &Store,
    fields: &MedicineFields,
    cause: &Cause,
) -> ApiResult<MedicineRow> {
    let mut tx = store.begin().await?;
    let row = add_medicine(&mut tx, store.backend(), fields, cause).await?;
    tx.commit().await?;
    Ok(row)
}

/// [`create_medicine`] inside the caller's transaction: the path of every
/// medicine added by hand or by an import (version 1, search index, audit).
pub(crate) async fn add_medicine(
    conn: &mut AnyConnection,
    backend: Backend,
    fields: &MedicineFields,
    cause: &Cause,
) -> ApiResult<MedicineRow> {
    if !store::category_exists(conn, &fields.category_id).await? {
        return Err(ApiError::not_found("category"));
    }
    let row = store::insert_medicine(conn, backend, None, fields, cause.actor()).await?;
    let after = Some(row.to_json());
    audit(
        conn,
        cause.actor(),
        "medicine",
        &row.id,
        "created",
        None,
        after,
    )
    .await?;
    Ok(row)
}

/// Publishes a new version of medicine `id` with `patch` applied, linked to
/// the previous one (CONFLICT unless `expected_version`, when given, is
/// still current). Nothing changes when the fields stay the same.
pub async fn update_medicine(
    store: &Store,
    id: &str,
    patch: &MedicinePatch,
    expected_version: Option<i64>,
    cause: &Cause,
) -> ApiResult<MedicineRow> {
    let mut tx = store.begin().await?;
    let current = store::medicine_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("medicine"))?;
    if let Some(expected) = expected_version.filter(|v| *v != current.version) {
        return Err(ApiError::conflict(format!(
            "the medicine is at version {}, not {expected}",
            current.version
        )));
    }
    let fields = patch.apply(&current.fields())?;
    if fields == current.fields() {
        return Ok(current);
    }
    let row = add_version(&mut tx, store.backend(), &current, &fields, cause).await?;
    tx.commit().await?;
    Ok(row)
}

/// Publishes `fields` as the next version of `current` inside the caller's
/// transaction, audited: the path of every change to a medicine, by hand or
/// by an import (callers skip it when nothing changed).
pub(crate) async fn add_version(
    conn: &mut AnyConnection,
    backend: Backend,
    current: &MedicineRow,
    fields: &MedicineFields,
    cause: &Cause,
) -> ApiResult<MedicineRow> {
    if fields.category_id != current.category_id
        && !store::category_exists(conn, &fields.category_id).await?
    {
        return Err(ApiError::not_found("category"));
    }
    let id = current.id.as_str();
    let row =
        store::update_medicine(conn, backend, id, current.version, fields, cause.actor()).await?;
    let (before, after) = (Some(current.to_json()), Some(row.to_json()));
    audit(
        conn,
        cause.actor(),
        "medicine",
        id,
        "new_version",
        before,
        after,
    )
    .await?;
    Ok(row)
}

/// Replaces the ranked generic alternatives of medicine `id` (validated:
/// at most 20, distinct, not itself); every alternative must exist.
pub async fn set_alternatives(
    store: &Store,
    id: &str,
    alternatives: &[String],
    cause: &Cause,
) -> ApiResult<MedicineRow> {
    let mut tx = store.begin().await?;
    let row = store::medicine_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("medicine"))?;
    let existing = store::existing_medicine_ids(&mut tx, alternatives).await?;
    let missing: Vec<&String> = alternatives
        .iter()
        .filter(|a| !existing.contains(a))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::not_found("medicine").with_details(json!({ "medicineIds": missing })));
    }
    let before = store::alternative_ids(&mut tx, id).await?;
    store::set_alternatives(&mut tx, id, alternatives, cause.actor()).await?;
    let (before, after) = (
        Some(json!({ "alternatives": before })),
        Some(json!({ "alternatives": alternatives })),
    );
    audit(
        &mut tx,
        cause.actor(),
        "medicine",
        id,
        "alternatives_set",
        before,
        after,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A new GST slab: the rate (basis points) of HSN codes starting with `hsn_code` from a date.
#[derive(Debug, Clone)]
pub struct NewSlab {
    pub hsn_code: String,
    pub rate_bp: i64,
    pub effective_from: NaiveDate,
    pub description: String,
}

/// Records a GST slab of an HSN code from a date. Slabs keep their
/// history: one is never changed, so a second slab for the same code and
/// date is CONFLICT (a correction is a new slab with its own date).
pub async fn upsert_tax_slab(
    store: &Store,
    slab: &NewSlab,
    cause: &Cause,
) -> ApiResult<TaxSlabRow> {
    let mut tx = store.begin().await?;
    let after = store::insert_tax_slab(
        &mut tx,
        &slab.hsn_code,
        slab.rate_bp,
        slab.effective_from,
        &slab.description,
    )
    .await?;
    audit(
        &mut tx,
        cause.actor(),
        "tax_slab",
        &after.id,
        "created",
        None,
        Some(after.to_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
