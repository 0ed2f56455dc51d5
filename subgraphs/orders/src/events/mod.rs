//! Events of the orders subgraph: [`publish`] holds what it publishes
//! (through its outbox, in the transaction of the change) and [`consume`]
//! its handlers of payments' events, which call the service layer.
//! Dependencies run one way: `consume → service → publish`.

pub mod consume;
pub mod publish;
