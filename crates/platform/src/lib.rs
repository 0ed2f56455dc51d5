//! Shared plumbing for every Janta subgraph, written once so that the six
//! domain crates hold only their domain: configuration, the HTTP server around
//! a GraphQL schema, storage on SQLite or PostgreSQL, token verification and
//! guards, the error type with stable `extensions.code` values, IDs, money,
//! pagination, scalars, the audit trail and telemetry.

pub mod audit;
pub mod auth;
pub mod cause;
pub mod client;
pub mod columns;
pub mod config;
pub mod demo;
pub mod error;
pub mod events;
pub mod graphql_http;
pub mod gstin;
pub mod ids;
pub mod india;
pub mod loader;
pub mod metrics;
pub mod money;
pub mod pagination;
mod parsed_documents;
pub mod pharmacy;
pub mod query_cost;
pub mod query_limits;
pub mod rate_limit;
pub mod scalars;
pub mod scale;
pub mod sdl;
pub mod server;
pub mod store;
pub mod tasks;
pub mod telemetry;

pub use error::{ApiError, ApiResult, ErrorCode};
