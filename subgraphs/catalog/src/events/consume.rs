//! Catalog's consumer of users' vendor events: each handler hands the
//! change to [`crate::service::vendors`] in the consumer's transaction.

use crate::service::vendors::{self, VendorChange};
use janta_events::types::{VendorReinstated, VendorSuspended, VendorVerified};
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
}
