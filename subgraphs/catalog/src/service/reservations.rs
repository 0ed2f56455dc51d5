//! Stock reservations of the checkout saga (orders' service principal):
//! hold, commit, release, and expiry of holds not committed in time.

use super::audit;
use crate::domain::{self, LineRequest};
use crate::events::publish;
use crate::store::stock::{self, ReservationView, ReserveOutcome, ReserveRequest, Settled};
use crate::CatalogSettings;
use chrono::{DateTime, Utc};
use janta_platform::cause::{Cause, SYSTEM};
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

/// Holds stock for order `order_id`, first expiry first out, all lines or
/// none (lines validated by the caller); a retry returns the same
/// reservation. Expired holds are freed first, so they never block it.
pub async fn reserve(
    store: &Store,
    settings: &CatalogSettings,
    order_id: &str,
    lines: &[LineRequest],
    cause: &Cause,
) -> ApiResult<ReservationView> {
    let now = Utc::now();
    if let Err(err) = expire_due(store, now, 100).await {
        tracing::warn!(error = %err, "lazy reservation expiry failed");
    }
    let ttl = chrono::Duration::from_std(settings.reservation_ttl).map_err(ApiError::internal)?;
    let mut tx = store.begin().await?;
    let request = ReserveRequest {
        order_id,
        lines,
        actor: cause.actor(),
        now,
        today: domain::today(),
        ttl,
        min_shelf_life_days: settings.min_shelf_life_days,
    };
    let (view, changes) = match stock::reserve(&mut tx, store.backend(), request).await? {
        ReserveOutcome::Existing(view) => return Ok(view),
        ReserveOutcome::Reserved { view, changes } => (view, changes),
    };
    let threshold = settings.stock_low_threshold;
    for change in &changes {
        if domain::crossed_below(change.before, change.after, threshold) {
            publish::stock_low(&mut tx, change, threshold, cause).await?;
        }
    }
    let after = Some(view.to_json());
    audit(
        &mut tx,
        cause.actor(),
        "reservation",
        order_id,
        "reserved",
        None,
        after,
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// Turns an order's reservation into a sale; idempotent. An expired or
/// released reservation is CONFLICT (one that ran out is expired now).
pub async fn commit(store: &Store, order_id: &str, cause: &Cause) -> ApiResult<ReservationView> {
    let mut tx = store.begin().await?;
    let settled = stock::commit(
        &mut tx,
        store.backend(),
        order_id,
        cause.actor(),
        Utc::now(),
    );
    let (actor, action, view) = match settled.await? {
        Settled::AlreadyDone(view) => return Ok(view),
        Settled::Done(view) => (cause.actor(), "committed", view),
        Settled::ExpiredNow(view) => (SYSTEM, "expired", view),
    };
    let before = Some(json!({ "status": "ACTIVE" }));
    audit(
        &mut tx,
        actor,
        "reservation",
        order_id,
        action,
        before,
        Some(view.to_json()),
    )
    .await?;
    tx.commit().await?;
    if action == "expired" {
        return Err(ApiError::conflict(
            "the reservation expired; reserve the stock again",
        ));
    }
    Ok(view)
}

/// Gives an order's stock back (held units freed, sold units returned);
/// idempotent, NOT_FOUND when the order has no reservation.
pub async fn release(store: &Store, order_id: &str, cause: &Cause) -> ApiResult<ReservationView> {
    let mut tx = store.begin().await?;
    match stock::release(&mut tx, store.backend(), order_id, cause.actor()).await? {
        Settled::AlreadyDone(view) => Ok(view),
        Settled::Done(view) | Settled::ExpiredNow(view) => {
            let after = Some(view.to_json());
            audit(
                &mut tx,
                cause.actor(),
                "reservation",
                order_id,
                "released",
                None,
                after,
            )
            .await?;
            tx.commit().await?;
            Ok(view)
        }
    }
}

/// Expires reservations whose time ran out by `now` (at most `limit`),
/// freeing their units, in one transaction audited by the system. Run by
/// the sweeper and, lazily, before each reservation. Returns the orders.
pub async fn expire_due(store: &Store, now: DateTime<Utc>, limit: i64) -> ApiResult<Vec<String>> {
    if !stock::any_due(store, now).await? {
        return Ok(vec![]);
    }
    let mut tx = store.begin().await?;
    let expired = stock::expire_due(&mut tx, store.backend(), now, limit).await?;
    for order_id in &expired {
        let before = Some(json!({ "status": "ACTIVE" }));
        let after = Some(json!({ "status": "EXPIRED" }));
        audit(
            &mut tx,
            SYSTEM,
            "reservation",
            order_id,
            "expired",
            before,
            after,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(expired)
}

/// One run of the reservation sweeper: expires holds not committed in time.
pub async fn sweep(store: Store) -> anyhow::Result<()> {
    let expired = expire_due(&store, Utc::now(), 500).await?;
    if !expired.is_empty() {
        tracing::info!(count = expired.len(), "expired stock reservations");
    }
    Ok(())
}
