//! The use cases of the orders subgraph, each in one place: it opens the
//! transaction, applies the domain rules, writes through the store, audits,
//! publishes and commits. Resolvers and event handlers call these; nothing
//! here knows GraphQL.
//!
//! - [`checkout`]: the saga that turns a cart into one order per vendor
//!   (claim the idempotency key, price, check address, vendors and
//!   prescriptions, reserve stock — compensated by releasing — and write the
//!   orders in one transaction);
//! - [`lifecycle`]: confirm, cancel and advance an order, each in one
//!   transaction that also records the calls it owes other subgraphs;
//! - [`payments`]: what payments' events do to an order;
//! - [`followups`]: the owed calls (commit or release stock, consume or
//!   restore prescriptions), idempotent, made by one lease holder at a time;
//! - [`sweeper`]: the safety net — expires unpaid orders, retries owed calls
//!   and cash-on-delivery confirmations, frees abandoned checkouts;
//! - [`cart`]: the customer's cart;
//! - [`returns`]: returns of delivered lines and their review;
//! - [`dispensing`]: a pharmacist's dispensing of prescription orders and
//!   the H1 register written at dispatch;
//! - [`invoices`]: GST tax invoices and credit notes, issued inside the
//!   confirming, cancelling or return-approving transaction;
//! - [`personal_data`]: a customer's export and erasure (issue 18).

pub mod cart;
pub mod checkout;
pub mod dispensing;
pub mod followups;
pub mod fulfilment;
pub mod invoices;
pub mod lifecycle;
pub mod payments;
pub mod personal_data;
pub mod returns;
pub mod sweeper;

pub use checkout::{place_order, PlaceOrderRequest};
pub use followups::run_followups;
pub use janta_platform::cause::SYSTEM;
pub use lifecycle::{advance, cancel, confirm, Payment};
pub use sweeper::{sweep_once, SweepReport};
