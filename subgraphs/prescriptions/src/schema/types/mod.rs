//! The GraphQL object, input and enum types and their field resolvers.

mod access;
mod dispensing;
mod prescription;
mod stubs;

pub use access::*;
pub use dispensing::*;
pub use prescription::*;
pub use stubs::*;
