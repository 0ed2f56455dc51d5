//! Catalog's events: what it publishes ([`publish`]: `StockLow`,
//! `ListingPriceChanged`, through its outbox in the transaction of the
//! change) and what it consumes ([`consume`]: users' `VendorVerified`,
//! `VendorSuspended` and `VendorReinstated`, which decide whose listings
//! customers see and checkout may reserve).

pub mod consume;
pub mod publish;
