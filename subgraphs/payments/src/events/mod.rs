//! Events of the payments subgraph: [`publish`] holds what it publishes and
//! [`consume`] its handlers of orders' events, which call the service layer.
//! Dependencies run one way: `consume → service → publish`.

pub mod consume;
pub mod publish;
