//! What the notifications subgraph hears from the others: it consumes every
//! event of the platform ([`consume`]) and publishes none.

pub mod consume;

pub use consume::{handlers, CONSUMER};
