//! What the users subgraph says to the others. It publishes through its
//! outbox ([`publish`]) and consumes no events.

pub mod publish;
