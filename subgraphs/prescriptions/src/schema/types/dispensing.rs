//! Dispensing authorisation and consumption of approved quantities.

use crate::domain::{Allocation, Refusal};
use crate::schema::clamp;
use crate::service::dispensing::{LineDecision, OrderConsumption};
use async_graphql::{Enum, InputObject, SimpleObject, ID};

/// A medicine's drug schedule, as the orders subgraph knows it from catalog.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DispenseSchedule {
    /// Over the counter: no prescription needed.
    #[graphql(name = "OTC")]
    Otc,
    /// Schedule H: prescription needed.
    H,
    /// Schedule H1: prescription needed (and a register kept by the pharmacy).
    H1,
    /// Schedule X: a prescription per order; it is spent entirely by one order.
    X,
}

/// Why a dispensing line is not covered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DispenseRefusal {
    /// No prescription was offered for a medicine that needs one.
    NoPrescription,
    /// None of the offered prescriptions lists this medicine.
    NotPrescribed,
    /// An offered prescription is unknown or not this customer's.
    NotCustomers,
    /// The prescription is awaiting review or was rejected.
    NotApproved,
    /// The prescription does not name its prescriber's registration number.
    NoPrescriber,
    /// The prescription's validity has passed.
    Expired,
    /// Schedule X: the prescription was already used by another order.
    AlreadyUsed,
    /// Not enough approved quantity is left.
    InsufficientQuantity,
}

impl From<Refusal> for DispenseRefusal {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoPrescription => DispenseRefusal::NoPrescription,
            Refusal::NotPrescribed => DispenseRefusal::NotPrescribed,
            Refusal::NotCustomers => DispenseRefusal::NotCustomers,
            Refusal::NotApproved => DispenseRefusal::NotApproved,
            Refusal::NoPrescriber => DispenseRefusal::NoPrescriber,
            Refusal::Expired => DispenseRefusal::Expired,
            Refusal::AlreadyUsed => DispenseRefusal::AlreadyUsed,
            Refusal::InsufficientQuantity => DispenseRefusal::InsufficientQuantity,
        }
    }
}

/// Whether an order's consumption stands or was given back.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConsumptionStatus {
    /// The order holds these quantities.
    Consumed,
    /// The order was cancelled and the quantities returned.
    Restored,
}

/// Whether a dispensing request is covered, line by line.
#[derive(SimpleObject)]
pub struct DispenseAuthorization {
    /// True when every line is covered.
    pub covered: bool,
    /// One answer per request line, in request order.
    pub lines: Vec<DispenseLineDecision>,
}

/// The answer for one dispensing line.
#[derive(SimpleObject)]
pub struct DispenseLineDecision {
    /// The line's medicine.
    pub medicine_id: ID,
    /// The line's quantity.
    pub quantity: i32,
    /// Whether it may be dispensed.
    pub covered: bool,
    /// The prescription that covers it (null for OTC lines and refusals).
    pub prescription_id: Option<ID>,
    /// True when a schedule X line spends that whole prescription on this order.
    pub whole_prescription: bool,
    /// Why not, when not covered.
    pub reason: Option<DispenseRefusal>,
    /// A sentence for the customer, when not covered.
    pub message: Option<String>,
    /// The patient named on the covering prescription (orders snapshots it).
    pub patient_name: Option<String>,
    /// The covering prescription's prescriber, as confirmed on approval.
    pub prescriber_name: Option<String>,
    /// The prescriber's medical council registration number.
    pub prescriber_registration: Option<String>,
}

impl From<LineDecision> for DispenseLineDecision {
    fn from(d: LineDecision) -> Self {
        let base = DispenseLineDecision {
            medicine_id: ID(d.medicine_id),
            quantity: clamp(d.quantity),
            covered: true,
            prescription_id: None,
            whole_prescription: false,
            reason: None,
            message: None,
            patient_name: None,
            prescriber_name: None,
            prescriber_registration: None,
        };
        let covering = d.covering.unwrap_or_default();
        match d.allocation {
            Allocation::NotRequired => base,
            Allocation::Covered {
                prescription_id,
                whole_prescription,
                ..
            } => DispenseLineDecision {
                prescription_id: Some(ID(prescription_id)),
                whole_prescription,
                patient_name: Some(covering.patient_name).filter(|n| !n.is_empty()),
                prescriber_name: covering.prescriber_name,
                prescriber_registration: covering.prescriber_registration,
                ..base
            },
            Allocation::Refused(reason) => DispenseLineDecision {
                covered: false,
                reason: Some(reason.into()),
                message: Some(reason.message().to_string()),
                ..base
            },
        }
    }
}

/// What an order consumed from prescriptions (or gave back).
#[derive(SimpleObject)]
pub struct PrescriptionConsumption {
    /// The order.
    pub order_id: ID,
    /// The order's customer (null when restored before anything was consumed).
    pub customer_id: Option<ID>,
    /// Consumed, or restored after cancellation.
    pub status: ConsumptionStatus,
    /// Quantities per prescription line.
    pub lines: Vec<ConsumedLine>,
}

/// A quantity one order consumed from one prescription line.
#[derive(SimpleObject)]
pub struct ConsumedLine {
    /// The prescription.
    pub prescription_id: ID,
    /// The medicine.
    pub medicine_id: ID,
    /// How much.
    pub quantity: i32,
    /// True when a schedule X medicine spent the whole prescription.
    pub whole_prescription: bool,
}

impl From<OrderConsumption> for PrescriptionConsumption {
    fn from(c: OrderConsumption) -> Self {
        PrescriptionConsumption {
            order_id: ID(c.order_id),
            customer_id: c.customer_id.map(ID),
            status: if c.restored {
                ConsumptionStatus::Restored
            } else {
                ConsumptionStatus::Consumed
            },
            lines: c
                .lines
                .into_iter()
                .map(|l| ConsumedLine {
                    prescription_id: ID(l.prescription_id),
                    medicine_id: ID(l.medicine_id),
                    quantity: clamp(l.quantity),
                    whole_prescription: l.whole_prescription,
                })
                .collect(),
        }
    }
}

/// One order line to authorise or consume.
#[derive(InputObject)]
pub struct DispenseLineInput {
    /// Catalog medicine ID.
    pub medicine_id: ID,
    /// Quantity ordered.
    pub quantity: i32,
    /// The medicine's schedule (OTC lines need no prescription; X needs one per order).
    pub schedule: DispenseSchedule,
}
