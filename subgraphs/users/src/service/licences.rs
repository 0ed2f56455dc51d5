//! Retail drug licences: recording them (a renewal is a new record, the
//! history stays), and the sweeper that suspends selling when a vendor's
//! licence in force has expired and reinstates it once renewed. The
//! sweeper's suspension has the same effect as an admin's (`VendorSuspended`:
//! catalog hides the listings, orders refuses them) but never lifts one an
//! admin made.

use crate::domain::licences::{self, LicenceAction, LicenceInForce, SuspendedBy};
use crate::events::publish;
use crate::service::vendors::vendor_in;
use crate::service::{audit, Cause};
use crate::store::{self, compliance, compliance::LicenceRow, compliance::NewLicence};
use chrono::{DateTime, Utc};
use janta_platform::auth::Principal;
use janta_platform::store::Store;
use janta_platform::ApiResult;
use serde_json::json;

/// Records a licence of `licence.vendor_id` as `actor` (who may speak for
/// the vendor), audited.
pub async fn record_licence(
    db: &Store,
    actor: &Principal,
    licence: &NewLicence<'_>,
) -> ApiResult<LicenceRow> {
    let mut tx = db.begin().await?;
    vendor_in(&mut tx, licence.vendor_id).await?;
    let row = compliance::insert_licence(&mut tx, licence).await?;
    let recorded = json!({
        "vendorId": row.vendor_id, "form": row.form.as_db(), "number": row.number,
        "validUntil": row.valid_until.to_string(),
    });
    audit(
        &mut tx,
        &actor.subject,
        "drug_licence",
        &row.id,
        "recorded",
        None,
        Some(recorded),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// One pass of the sweeper at `now`: every vendor whose licence state may
/// call for a change is looked at in its own transaction. Returns how many
/// vendors were suspended and reinstated.
pub async fn sweep(db: &Store, now: DateTime<Utc>) -> anyhow::Result<(usize, usize)> {
    let cause = Cause::system(None);
    let today = licences::today_in_india(now);
    let (mut suspended, mut reinstated) = (0, 0);
    for vendor_id in compliance::vendors_to_sweep(db, today).await? {
        match apply_licences(db, &vendor_id, now, &cause).await? {
            LicenceAction::Suspend(_) => suspended += 1,
            LicenceAction::Reinstate => reinstated += 1,
            LicenceAction::Keep => {}
        }
    }
    Ok((suspended, reinstated))
}

/// [`sweep`] now, logging what changed (for `kit.every`).
pub async fn sweep_and_log(db: Store) -> anyhow::Result<()> {
    let (suspended, reinstated) = sweep(&db, Utc::now()).await?;
    if suspended + reinstated > 0 {
        tracing::info!(suspended, reinstated, "drug licence sweep");
    }
    Ok(())
}

/// Suspends or reinstates one vendor as its licences in force say
/// ([`licences::licence_action`]), audited and published in one
/// transaction. Returns what it did (`Keep` when another pass or an admin
/// got there first).
async fn apply_licences(
    db: &Store,
    vendor_id: &str,
    now: DateTime<Utc>,
    cause: &Cause,
) -> ApiResult<LicenceAction> {
    let mut tx = db.begin().await?;
    let vendor = vendor_in(&mut tx, vendor_id).await?;
    let latest: Vec<LicenceInForce> = compliance::latest_licences_of(&mut tx, vendor_id)
        .await?
        .into_iter()
        .map(|l| LicenceInForce {
            form: l.form,
            number: l.number,
            valid_until: l.valid_until,
        })
        .collect();
    let suspended = vendor
        .suspended_at
        .and(vendor.suspended_by.or(Some(SuspendedBy::Admin)));
    let action = licences::licence_action(&latest, suspended, now);
    let changed = match &action {
        LicenceAction::Keep => false,
        LicenceAction::Suspend(reason) => {
            store::suspend_vendor(&mut tx, vendor_id, reason, SuspendedBy::Licence).await?
        }
        LicenceAction::Reinstate => {
            store::reinstate_vendor(&mut tx, vendor_id, Some(SuspendedBy::Licence)).await?
        }
    };
    if !changed {
        return Ok(LicenceAction::Keep);
    }
    let (what, after) = match &action {
        LicenceAction::Suspend(reason) => (
            "suspended",
            json!({ "suspended": true, "reason": reason, "by": "LICENCE" }),
        ),
        _ => ("reinstated", json!({ "suspended": false, "by": "LICENCE" })),
    };
    audit(
        &mut tx,
        cause.actor(),
        "vendor",
        vendor_id,
        what,
        None,
        Some(after),
    )
    .await?;
    match &action {
        LicenceAction::Suspend(reason) => {
            publish::vendor_suspended(&mut tx, vendor_id, reason, cause).await?
        }
        _ => publish::vendor_reinstated(&mut tx, vendor_id, cause).await?,
    }
    tx.commit().await?;
    Ok(action)
}
