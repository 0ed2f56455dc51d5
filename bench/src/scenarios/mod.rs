//! The benchmark scenarios, one module each (see `bench/README.md`).

pub mod basics;
pub mod checkout;
pub mod gateway;
pub mod memory;
pub mod plan;
pub mod scale;
pub mod smoke;
pub mod soak;

use crate::client::body;
use crate::customers::{Customer, PARACETAMOL};
use crate::load::Request;
use serde_json::{json, Value};

/// The contract queries every comparison runs, with variables that find
/// something in the demo data.
pub const QUERIES: [&str; 4] = ["Me", "SearchMedicines", "MedicineDetail", "Dashboard"];

/// The variables a contract query is sent with.
pub fn variables(query: &str, search: &str, medicine: &str) -> Value {
    match query {
        "SearchMedicines" => json!({"search": search, "first": 10}),
        "MedicineDetail" => json!({"id": medicine}),
        _ => json!({}),
    }
}

/// The queries named in a comma-separated list (all four when empty).
pub fn selected(list: &str) -> Vec<String> {
    if list.is_empty() {
        return QUERIES.iter().map(|q| q.to_string()).collect();
    }
    list.split(',').map(|q| q.trim().to_string()).collect()
}

/// `query` once per customer, each with that customer's token.
pub fn per_customer(query: &str, search: &str, customers: &[Customer]) -> Vec<Request> {
    let body = body(query, variables(query, search, PARACETAMOL));
    customers
        .iter()
        .map(|c| Request::new(&body, Some(&c.token)))
        .collect()
}

/// Comma-separated numbers (`1,16,64`).
pub fn numbers(list: &str) -> Vec<usize> {
    list.split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}
