//! The users subgraph's use cases: each opens its transaction, applies the
//! rules of [`crate::domain`], writes through [`crate::store`], appends its
//! audit entry, publishes its events ([`crate::events::publish`]) and
//! commits. Resolvers and the OAuth endpoint call exactly one of these.

pub mod accounts;
pub mod bootstrap;
pub mod clients;
pub mod consent;
pub mod licences;
pub mod partners;
pub mod passwords;
pub mod personal_data;
pub mod registration;
pub mod sessions;
pub mod staff;
pub mod throttle;
pub mod vendors;
pub mod verification;

pub use janta_platform::cause::Cause;

/// Appends to this subgraph's audit trail inside the caller's transaction.
pub(crate) use janta_platform::audit::append as audit;
