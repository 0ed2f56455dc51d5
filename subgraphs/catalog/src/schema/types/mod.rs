//! The GraphQL object, input and enum types of the catalog and their field
//! resolvers, by topic.

mod import;
mod inputs;
mod listing;
mod medicine;
mod reservation;

pub use import::*;
pub use inputs::*;
pub use listing::*;
pub use medicine::*;
pub use reservation::*;
