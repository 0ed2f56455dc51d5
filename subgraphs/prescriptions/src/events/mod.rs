//! Prescriptions' events: what it publishes ([`publish`]). It consumes
//! none: orders tells it about paid and cancelled orders by calling
//! `consume` and `restore` (idempotent per order, retried by orders' saga).

pub mod publish;
