//! Dispensing authorisation for the orders subgraph (service principals
//! only): answer whether a customer's prescriptions cover an order's lines,
//! consume the approved quantities when the order is paid, and give them
//! back when it is cancelled. `consume` and `restore` are idempotent per
//! order ID (the `dispense_orders` row is the key), and every quantity
//! changes through a conditional update, so concurrent orders never consume
//! more than approved.

use super::audit;
use crate::domain::{
    self, Allocation, Candidate, CandidateLine, Demand, DispenseStatus, Refusal, Status,
    MAX_DISPENSE_LINES, MAX_DISPENSE_PRESCRIPTIONS, MAX_LINE_QUANTITY,
};
use crate::store::{self, ConsumptionRow, NewConsumption};
use chrono::NaiveDate;
use janta_platform::cause::Cause;
use janta_platform::ids::parse_id;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};

/// A validated dispensing request: whose prescriptions, which lines.
#[derive(Debug, Clone)]
pub struct DispenseRequest {
    /// The customer the order is for.
    pub customer_id: String,
    /// The prescriptions the customer offered (deduplicated).
    pub prescription_ids: Vec<String>,
    /// The order's lines, as given.
    pub lines: Vec<Demand>,
    /// The Schedule H1 medicines among the lines: their consumptions are
    /// H1 register entries, which an erasure keeps.
    pub h1_medicines: BTreeSet<String>,
}

/// One raw request line (medicine ID, quantity, schedule X?, needs a
/// prescription?, schedule H1?).
pub type RawLine = (String, i64, bool, bool, bool);

impl DispenseRequest {
    /// Validates IDs, sizes and quantities.
    pub fn parse(
        customer_id: &str,
        prescription_ids: &[String],
        lines: &[RawLine],
    ) -> ApiResult<Self> {
        let customer_id = parse_id(customer_id, "customerId")?;
        if prescription_ids.len() > MAX_DISPENSE_PRESCRIPTIONS {
            return Err(ApiError::bad_input(format!(
                "at most {MAX_DISPENSE_PRESCRIPTIONS} prescriptions per request"
            )));
        }
        let mut ids = BTreeSet::new();
        for id in prescription_ids {
            ids.insert(parse_id(id, "prescriptionIds")?);
        }
        if lines.is_empty() || lines.len() > MAX_DISPENSE_LINES {
            return Err(ApiError::bad_input(format!(
                "lines must hold 1 to {MAX_DISPENSE_LINES} lines"
            )));
        }
        let mut demands = Vec::with_capacity(lines.len());
        let mut h1_medicines = BTreeSet::new();
        for (medicine_id, quantity, schedule_x, needs_prescription, h1) in lines {
            if !(1..=MAX_LINE_QUANTITY).contains(quantity) {
                return Err(ApiError::bad_input(format!(
                    "lines.quantity must be between 1 and {MAX_LINE_QUANTITY}"
                )));
            }
            let medicine_id = parse_id(medicine_id, "lines.medicineId")?;
            if *h1 {
                h1_medicines.insert(medicine_id.clone());
            }
            demands.push(Demand {
                medicine_id,
                quantity: *quantity,
                schedule_x: *schedule_x,
                needs_prescription: *needs_prescription,
            });
        }
        Ok(DispenseRequest {
            customer_id,
            prescription_ids: ids.into_iter().collect(),
            lines: demands,
            h1_medicines,
        })
    }
}

/// The answer for one request line.
#[derive(Debug, Clone)]
pub struct LineDecision {
    /// The line's medicine.
    pub medicine_id: String,
    /// The line's quantity.
    pub quantity: i64,
    /// What covers it (or why nothing does).
    pub allocation: Allocation,
    /// Who the covering prescription is for and who wrote it (orders
    /// snapshots these on the order line for the H1 register).
    pub covering: Option<Covering>,
}

/// The facts of a covering prescription that a sale records.
#[derive(Debug, Clone, Default)]
pub struct Covering {
    /// The patient named on it.
    pub patient_name: String,
    /// The prescriber (confirmed on approval).
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration number.
    pub prescriber_registration: Option<String>,
}

/// Loads the offered prescriptions with their lines, as of `today`. Unknown
/// IDs become candidates owned by nobody (refused as not the customer's).
async fn candidates(
    conn: &mut AnyConnection,
    ids: &[String],
    today: NaiveDate,
) -> ApiResult<Vec<Candidate>> {
    let rows = store::prescriptions_by_ids(conn, ids).await?;
    let lines = store::lines_of(conn, ids).await?;
    Ok(ids
        .iter()
        .map(|id| match rows.iter().find(|r| &r.id == id) {
            Some(row) => Candidate {
                id: row.id.clone(),
                owner_id: row.owner_id.clone(),
                status: row.status(today),
                valid_until: row.valid_until_date(),
                names_prescriber: row
                    .prescriber_registration
                    .as_deref()
                    .is_some_and(|r| !r.is_empty()),
                lines: lines
                    .iter()
                    .filter(|l| &l.prescription_id == id)
                    .map(|l| CandidateLine {
                        id: l.id.clone(),
                        medicine_id: l.medicine_id.clone(),
                        max_quantity: l.max_quantity,
                        consumed: l.consumed,
                    })
                    .collect(),
            },
            None => Candidate {
                id: id.clone(),
                owner_id: String::new(),
                status: Status::Rejected,
                valid_until: None,
                names_prescriber: false,
                lines: vec![],
            },
        })
        .collect())
}

/// Matches the request against the offered prescriptions; per input line.
fn decide(request: &DispenseRequest, offered: &[Candidate]) -> Vec<LineDecision> {
    let (demands, index) = domain::merge_demands(&request.lines);
    let allocations = domain::allocate(&request.customer_id, offered, &demands);
    request
        .lines
        .iter()
        .zip(index)
        .map(|(line, i)| LineDecision {
            medicine_id: line.medicine_id.clone(),
            quantity: line.quantity,
            covering: None,
            allocation: if line.needs_prescription {
                allocations[i].clone()
            } else {
                Allocation::NotRequired
            },
        })
        .collect()
}

/// Answers, line by line, whether the customer's offered prescriptions
/// cover the request right now. Changes nothing.
pub async fn authorize(store: &Store, request: &DispenseRequest) -> ApiResult<Vec<LineDecision>> {
    let mut conn = store.pool().acquire().await?;
    let offered = candidates(&mut conn, &request.prescription_ids, domain::today()).await?;
    let mut decisions = decide(request, &offered);
    let rows = store::prescriptions_by_ids(&mut conn, &request.prescription_ids).await?;
    for d in &mut decisions {
        if let Allocation::Covered {
            prescription_id, ..
        } = &d.allocation
        {
            d.covering = rows
                .iter()
                .find(|r| &r.id == prescription_id)
                .map(|r| Covering {
                    patient_name: r.patient_name.clone(),
                    prescriber_name: r.prescriber_name.clone(),
                    prescriber_registration: r.prescriber_registration.clone(),
                });
        }
    }
    Ok(decisions)
}

/// An order's consumption as it stands.
#[derive(Debug, Clone)]
pub struct OrderConsumption {
    /// The order.
    pub order_id: String,
    /// Its customer (unknown when restored before anything was consumed).
    pub customer_id: Option<String>,
    /// True once given back.
    pub restored: bool,
    /// What was consumed (and, once restored, given back).
    pub lines: Vec<ConsumptionRow>,
}

fn not_covered(decisions: &[LineDecision]) -> ApiError {
    let lines: Vec<_> = decisions
        .iter()
        .filter_map(|d| match d.allocation {
            Allocation::Refused(reason) => Some(json!({
                "medicineId": d.medicine_id,
                "quantity": d.quantity,
                "reason": refusal_code(reason),
                "message": reason.message(),
            })),
            _ => None,
        })
        .collect();
    ApiError::client(
        ErrorCode::PrescriptionRequired,
        "the prescriptions do not cover every line that needs one",
    )
    .with_details(json!({ "lines": lines }))
}

/// The wire name of a refusal (as in the `DispenseRefusal` enum).
pub fn refusal_code(reason: Refusal) -> &'static str {
    match reason {
        Refusal::NoPrescription => "NO_PRESCRIPTION",
        Refusal::NotPrescribed => "NOT_PRESCRIBED",
        Refusal::NotCustomers => "NOT_CUSTOMERS",
        Refusal::NotApproved => "NOT_APPROVED",
        Refusal::NoPrescriber => "NO_PRESCRIBER",
        Refusal::Expired => "EXPIRED",
        Refusal::AlreadyUsed => "ALREADY_USED",
        Refusal::InsufficientQuantity => "INSUFFICIENT_QUANTITY",
    }
}

/// The consumption of an existing order record, unchanged.
async fn existing(conn: &mut AnyConnection, order_id: &str) -> ApiResult<Option<OrderConsumption>> {
    let Some(order) = store::dispense_order(conn, order_id).await? else {
        return Ok(None);
    };
    Ok(Some(OrderConsumption {
        order_id: order.order_id,
        customer_id: order.customer_id,
        restored: order.status == DispenseStatus::Restored,
        lines: store::consumptions_of(conn, order_id).await?,
    }))
}

/// Consumes what `order_id` needs from the offered prescriptions, all or
/// nothing. Repeating it for the same order returns the first result and
/// consumes nothing more; an order already restored is `CONFLICT`; lines not
/// covered are `PRESCRIPTION_REQUIRED` with per-line details.
pub async fn consume(
    store: &Store,
    order_id: &str,
    request: &DispenseRequest,
    vendor_id: Option<&str>,
    cause: &Cause,
) -> ApiResult<OrderConsumption> {
    let actor = cause.actor();
    let mut tx = store.begin().await?;
    if !store::claim_order(&mut tx, order_id, &request.customer_id, vendor_id, actor).await? {
        let found = existing(&mut tx, order_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("order {order_id} claimed but not found"))?;
        tx.commit().await?;
        if found.restored {
            return Err(ApiError::conflict(
                "this order's prescriptions were restored (order cancelled); it cannot consume again",
            ));
        }
        if found.customer_id.as_deref() != Some(request.customer_id.as_str()) {
            return Err(ApiError::conflict(
                "this order already consumed prescriptions of another customer",
            ));
        }
        return Ok(found);
    }
    let offered = candidates(&mut tx, &request.prescription_ids, domain::today()).await?;
    let decisions = decide(request, &offered);
    if decisions
        .iter()
        .any(|d| matches!(d.allocation, Allocation::Refused(_)))
    {
        return Err(not_covered(&decisions));
    }

    // Plan: whole prescriptions taken by schedule X, then per-line amounts.
    // Updates run in line-ID order so concurrent transactions never deadlock.
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    let mut amounts: BTreeMap<&str, (&str, &str, i64)> = BTreeMap::new(); // line → (rx, medicine, qty)
    for d in &decisions {
        if let Allocation::Covered {
            prescription_id,
            line_id,
            whole_prescription,
        } = &d.allocation
        {
            if *whole_prescription {
                whole.insert(prescription_id);
            } else {
                let entry = amounts
                    .entry(line_id)
                    .or_insert((prescription_id, &d.medicine_id, 0));
                entry.2 += d.quantity;
            }
        }
    }
    let mut updates: Vec<NewConsumption<'_>> = Vec::new();
    for rx in offered.iter().filter(|c| whole.contains(c.id.as_str())) {
        for line in &rx.lines {
            updates.push(NewConsumption {
                order_id,
                prescription_id: &rx.id,
                line_id: &line.id,
                medicine_id: &line.medicine_id,
                quantity: line.max_quantity,
                whole_prescription: true,
                schedule_h1: request.h1_medicines.contains(&line.medicine_id),
            });
        }
    }
    for (line_id, (rx, medicine, quantity)) in &amounts {
        updates.push(NewConsumption {
            order_id,
            prescription_id: rx,
            line_id,
            medicine_id: medicine,
            quantity: *quantity,
            whole_prescription: false,
            schedule_h1: request.h1_medicines.contains(*medicine),
        });
    }
    updates.sort_by(|a, b| a.line_id.cmp(b.line_id));
    for u in &updates {
        let done = if u.whole_prescription {
            store::take_whole_line(&mut tx, u.line_id).await?
        } else {
            store::consume_line(&mut tx, u.line_id, u.quantity).await?
        };
        if !done {
            // Another order got there first; nothing of this one is kept.
            let reason = if u.whole_prescription {
                Refusal::AlreadyUsed
            } else {
                Refusal::InsufficientQuantity
            };
            return Err(ApiError::client(
                ErrorCode::PrescriptionRequired,
                "the prescriptions do not cover every line that needs one",
            )
            .with_details(json!({ "lines": [{
                "medicineId": u.medicine_id,
                "reason": refusal_code(reason),
                "message": reason.message(),
            }]})));
        }
        store::insert_consumption(&mut tx, u).await?;
    }
    let mut per_rx: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for u in &updates {
        per_rx.entry(u.prescription_id).or_default().push(json!({
            "lineId": u.line_id, "medicineId": u.medicine_id,
            "quantity": u.quantity, "wholePrescription": u.whole_prescription,
        }));
    }
    for (rx, lines) in per_rx {
        audit(
            &mut tx,
            actor,
            "prescription",
            rx,
            "consumed",
            None,
            Some(json!({ "orderId": order_id, "vendorId": vendor_id, "lines": lines })),
        )
        .await?;
    }
    let result = existing(&mut tx, order_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("order {order_id} vanished"))?;
    tx.commit().await?;
    Ok(result)
}

/// Gives back everything `order_id` consumed (order cancelled). Repeating it
/// changes nothing; restoring an order that never consumed records that, so
/// a late `consume` for it is refused.
pub async fn restore(store: &Store, order_id: &str, cause: &Cause) -> ApiResult<OrderConsumption> {
    let actor = cause.actor();
    let mut tx = store.begin().await?;
    let mut current = store::dispense_order(&mut tx, order_id).await?;
    if current.is_none() {
        if store::claim_restored(&mut tx, order_id, actor).await? {
            let found = existing(&mut tx, order_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("order {order_id} vanished"))?;
            tx.commit().await?;
            return Ok(found);
        }
        // A concurrent consume claimed the order first: restore what it took.
        current = store::dispense_order(&mut tx, order_id).await?;
    }
    let current = current.ok_or_else(|| anyhow::anyhow!("order {order_id} vanished"))?;
    if current.status == DispenseStatus::Consumed && store::mark_restored(&mut tx, order_id).await?
    {
        let mut rows = store::consumptions_of(&mut tx, order_id).await?;
        rows.sort_by(|a, b| a.line_id.cmp(&b.line_id));
        for row in &rows {
            if !store::return_to_line(&mut tx, &row.line_id, row.quantity).await? {
                return Err(anyhow::anyhow!(
                    "line {} holds less than order {order_id} consumed",
                    row.line_id
                )
                .into());
            }
        }
        let mut per_rx: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
        for row in &rows {
            per_rx.entry(&row.prescription_id).or_default().push(json!({
                "lineId": row.line_id, "medicineId": row.medicine_id, "quantity": row.quantity,
            }));
        }
        for (rx, lines) in per_rx {
            audit(
                &mut tx,
                actor,
                "prescription",
                rx,
                "restored",
                None,
                Some(json!({ "orderId": order_id, "lines": lines })),
            )
            .await?;
        }
    }
    let found = existing(&mut tx, order_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("order {order_id} vanished"))?;
    tx.commit().await?;
    Ok(found)
}
