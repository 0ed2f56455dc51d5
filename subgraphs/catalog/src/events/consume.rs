//! Catalog's consumer of users' vendor events and orders' approved returns:
//! each handler hands the change to [`crate::service::vendors`] or
//! [`crate::service::quarantine`] in the consumer's transaction.

use crate::service::quarantine;
use crate::service::vendors::{self, VendorChange};
use janta_events::types::{ReturnApproved, VendorReinstated, VendorSuspended, VendorVerified};
use janta_events::Consumer;

/// Registers catalog's handlers on its consumer.
pub fn handlers(consumer: Consumer) -> Consumer {
    consumer
        .on_fn(|conn, e: VendorVerified, envelope| {
            Box::pin(vendors::apply(
                conn,
                e.vendor_id,
                VendorChange::Verified,
                envelope,
            ))
        })
        .on_fn(|conn, e: VendorSuspended, envelope| {
            Box::pin(vendors::apply(
                conn,
                e.vendor_id,
                VendorChange::Suspended,
                envelope,
            ))
        })
        .on_fn(|conn, e: VendorReinstated, envelope| {
            Box::pin(vendors::apply(
                conn,
                e.vendor_id,
                VendorChange::Reinstated,
                envelope,
            ))
        })
        .on_fn(|conn, e: ReturnApproved, envelope| {
            Box::pin(quarantine::return_approved(conn, e, envelope))
        })
}
