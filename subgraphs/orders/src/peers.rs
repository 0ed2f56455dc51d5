//! The other subgraphs' service interfaces as orders uses them: catalog
//! (prices, stock reservations), prescriptions (dispensing authorisation,
//! consumption) and users (the delivery address, the buyer's name, and the
//! vendors' legal names and branches).
//! Every call goes through the owner's GraphQL API as a service principal
//! (architecture rule 3); the callee's client errors keep their codes.

use crate::domain::dispensing::{Pharmacist, Prescriber};
use crate::domain::{GstRate, Schedule};
use janta_platform::client::ServiceClient;
use janta_platform::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Typed calls to catalog, prescriptions and users.
pub struct Peers {
    client: ServiceClient,
    /// Bounds this process's stock calls in flight at catalog. Catalog
    /// serialises reservations on its store; a burst of checkouts beyond
    /// what it can absorb would otherwise queue there until the calls time
    /// out (turning a sell-out into internal errors). Waiting here instead
    /// has no deadline and keeps catalog's queue short.
    stock_calls: Semaphore,
}

/// Stock calls (reserve, commit, release) one orders process has in flight.
const MAX_STOCK_CALLS: usize = 4;

/// Waits before retrying an idempotent call that failed in transit (timeout,
/// peer unreachable); client errors are answers and are never retried.
const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];

/// A listing as catalog prices it right now (carts, checkout planning).
#[derive(Debug, Clone)]
pub struct PricedListing {
    /// The listing.
    pub listing_id: String,
    /// Its vendor: decides which order the line goes to.
    pub vendor_id: String,
    /// Current sale price per unit, tax included, in paise.
    pub price: i64,
    /// Current MRP per unit, in paise.
    pub mrp: i64,
    /// The medicine offered.
    pub medicine_id: String,
    /// Its current name.
    pub medicine_name: String,
    /// Its current schedule.
    pub schedule: Schedule,
    /// Whether its vendor may sell now (verified, not suspended): carts and
    /// checkout refuse it otherwise.
    pub sellable: bool,
}

pub use crate::domain::AllocatedBatch;

/// What catalog reserved for one line, with the snapshot the order keeps.
#[derive(Debug, Clone)]
pub struct Allocation {
    /// The listing.
    pub listing_id: String,
    /// Its vendor.
    pub vendor_id: String,
    /// Units reserved.
    pub quantity: i64,
    /// Unit price at reservation (tax included), paise.
    pub unit_price: i64,
    /// MRP at reservation, paise.
    pub mrp: i64,
    /// The medicine.
    pub medicine_id: String,
    /// The medicine version sold.
    pub medicine_version: i64,
    /// Its name in that version.
    pub medicine_name: String,
    /// Its schedule in that version.
    pub schedule: Schedule,
    /// HSN code.
    pub hsn_code: String,
    /// GST rate in force.
    pub gst_rate: GstRate,
    /// First-expiry-first-out batches.
    pub batches: Vec<AllocatedBatch>,
}

/// A delivery address as users holds it, with its owner.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressFacts {
    /// Address ID.
    pub id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// Optional label.
    pub label: Option<String>,
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State code.
    pub state: String,
    /// PIN code.
    pub pincode: String,
}

/// A vendor as users holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorFacts {
    /// State of registration (ISO 3166-2:IN code). The GST split follows
    /// the fulfilling branch's state, not this.
    pub state: String,
    /// Registered legal name: the seller on tax invoices.
    pub legal_name: String,
    /// The branch orders ship from unless checkout names another.
    pub shipping_branch: Option<BranchFacts>,
    /// Every branch of the vendor.
    pub branches: Vec<BranchFacts>,
    /// Verified and not suspended. Users decides this; catalog's copy (from
    /// users' events) may lag while an event is in flight, so checkout asks
    /// users too.
    pub sells: bool,
}

/// A vendor's branch as users holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchFacts {
    /// Branch ID.
    pub id: String,
    /// Branch name.
    pub name: String,
    /// Street address.
    pub line1: String,
    /// City.
    pub city: String,
    /// State code: decides CGST + SGST or IGST.
    pub state: String,
    /// PIN code.
    pub pincode: String,
    /// The branch's GSTIN (registered in its state).
    pub gstin: Option<String>,
    /// Whether orders may ship from it.
    #[serde(default)]
    pub ships: bool,
    /// Its invoice series prefix, e.g. `KA01`.
    pub invoice_series: Option<String>,
}

/// What checkout learns from users in one call.
#[derive(Debug, Clone, Default)]
pub struct Parties {
    /// The delivery address, None when unknown.
    pub address: Option<AddressFacts>,
    /// The vendors, by ID (unknown ones are missing).
    pub vendors: HashMap<String, VendorFacts>,
    /// The buyer's name, when users shows it.
    pub buyer_name: Option<String>,
    /// Whether the buyer proved an e-mail address or phone number is
    /// theirs (users' `User.contactVerified`; false when not shown).
    pub buyer_contact_verified: bool,
}

/// One line for prescriptions' dispensing checks.
#[derive(Debug, Clone)]
pub struct DispenseLine {
    /// Catalog medicine ID.
    pub medicine_id: String,
    /// Units.
    pub quantity: i64,
    /// Its schedule.
    pub schedule: Schedule,
}

/// The order a consumption is for.
#[derive(Debug, Clone, Copy)]
pub struct ConsumeFor<'a> {
    /// The order (prescriptions' idempotency key).
    pub order_id: &'a str,
    /// Its customer.
    pub customer_id: &'a str,
    /// Its vendor.
    pub vendor_id: &'a str,
    /// The prescriptions offered at checkout.
    pub prescription_ids: &'a [String],
}

/// Prescriptions' answer for one dispensing line.
#[derive(Debug, Clone)]
pub struct DispenseDecision {
    /// Whether the line may be dispensed.
    pub covered: bool,
    /// The prescription covering it.
    pub prescription_id: Option<String>,
    /// Why not, in words the customer can act on.
    pub reason: Option<String>,
    /// The covering prescription's patient and prescriber (snapshotted on
    /// the order line for the H1 register).
    pub prescriber: Prescriber,
}

/// The batches of a reserved line, each with its MRP in paise when catalog
/// gives it (`mrp { amount }`).
fn batches_with_mrp(value: &Value) -> ApiResult<Vec<AllocatedBatch>> {
    let mut batches: Vec<AllocatedBatch> = decode(value, "batches")?;
    for (batch, raw) in batches
        .iter_mut()
        .zip(value.as_array().into_iter().flatten())
    {
        if raw["mrp"].is_object() {
            batch.mrp = Some(paise(&raw["mrp"], "batch MRP")?);
        }
    }
    Ok(batches)
}

fn decode<T: DeserializeOwned>(value: &Value, what: &str) -> ApiResult<T> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("unexpected {what} answer: {e}")))
}

fn paise(value: &Value, what: &str) -> ApiResult<i64> {
    let amount = value["amount"]
        .as_str()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("{what} has no amount")))?;
    janta_platform::money::parse_rupees(amount, what)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("{what} is not a money amount")))
}

fn schedule(value: &Value) -> ApiResult<Schedule> {
    value
        .as_str()
        .and_then(Schedule::parse)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown schedule {value}")))
}

fn text(value: &Value, what: &str) -> ApiResult<String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("missing {what}")))
}

const PRICE_LISTINGS: &str = "query PriceListings($ids: [ID!]!) { priceListings(ids: $ids) { \
    listingId vendorId price { amount } mrp { amount } sellable medicine { medicineId name schedule } } }";

const RESERVE_STOCK: &str =
    "mutation ReserveStock($orderId: ID!, $lines: [ReservationLineInput!]!) { \
    reserveStock(orderId: $orderId, lines: $lines) { lines { listingId vendorId quantity \
    unitPrice { amount } mrp { amount } \
    medicine { medicineId version name schedule hsnCode gstRateBasisPoints } \
    batches { batchNumber expiresOn quantity mrp { amount } } } } }";

const COMMIT_RESERVATION: &str =
    "mutation CommitReservation($orderId: ID!) { commitReservation(orderId: $orderId) { orderId status } }";

const RELEASE_RESERVATION: &str =
    "mutation ReleaseReservation($orderId: ID!) { releaseReservation(orderId: $orderId) { orderId status } }";

const AUTHORIZE_DISPENSE: &str =
    "query AuthorizeDispense($customerId: ID!, $prescriptionIds: [ID!]!, $lines: [DispenseLineInput!]!) { \
    authorizeDispense(customerId: $customerId, prescriptionIds: $prescriptionIds, lines: $lines) { \
    lines { medicineId covered prescriptionId message patientName prescriberName \
    prescriberRegistration } } }";

const PHARMACIST_APPOINTMENT: &str = "query PharmacistAppointment($userId: ID!, $vendorId: ID!) { \
    pharmacistAppointment(userId: $userId, vendorId: $vendorId) { \
    userId fullName registrationNumber verifiedAt } }";

const CONSUME: &str = "mutation ConsumePrescriptions($orderId: ID!, $customerId: ID!, $prescriptionIds: [ID!]!, \
    $lines: [DispenseLineInput!]!, $vendorId: ID) { consume(orderId: $orderId, customerId: $customerId, \
    prescriptionIds: $prescriptionIds, lines: $lines, vendorId: $vendorId) { orderId status } }";

const RESTORE: &str = "mutation RestorePrescriptions($orderId: ID!) { restore(orderId: $orderId) { orderId status } }";

const ADDRESS_AND_VENDORS: &str = "query CheckoutParties($id: ID!, $vendors: [_Any!]!) { \
    addressForService(id: $id) { id userId label line1 line2 city state pincode } \
    _entities(representations: $vendors) { \
    ... on Vendor { id state verified suspended legalName \
    shippingBranch { id name line1 city state pincode gstin ships invoiceSeries } \
    branches { id name line1 city state pincode gstin ships invoiceSeries } } \
    ... on User { id fullName contactVerified } } }";

impl Peers {
    /// Peers reached with `client`.
    pub fn new(client: ServiceClient) -> Self {
        Peers {
            client,
            stock_calls: Semaphore::new(MAX_STOCK_CALLS),
        }
    }

    /// Calls an idempotent operation of `domain`, retrying failures in
    /// transit (every operation orders calls is idempotent: reservations,
    /// consumption and restoration are keyed by order ID, the rest are reads).
    async fn idempotent_call(
        &self,
        domain: &str,
        query: &str,
        variables: Value,
        correlation: Option<&str>,
    ) -> ApiResult<Value> {
        let mut attempt = 0;
        loop {
            match self
                .client
                .call(domain, query, variables.clone(), correlation)
                .await
            {
                Err(err) if err.is_transient() && attempt < RETRY_BACKOFF.len() => {
                    tracing::warn!(domain, error = %err, "call failed in transit; retrying");
                    tokio::time::sleep(RETRY_BACKOFF[attempt]).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// A stock call to catalog, within the in-flight bound.
    async fn stock_call(
        &self,
        query: &str,
        variables: Value,
        correlation: Option<&str>,
    ) -> ApiResult<Value> {
        let _permit = self
            .stock_calls
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        self.idempotent_call("catalog", query, variables, correlation)
            .await
    }

    /// Current prices of listings, in ONE catalog call. Unknown listings
    /// are missing from the map; those of vendors that do not sell now are
    /// there with `sellable: false`.
    pub async fn price_listings(
        &self,
        ids: &[String],
        correlation: Option<&str>,
    ) -> ApiResult<HashMap<String, PricedListing>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let data = self
            .client
            .call(
                "catalog",
                PRICE_LISTINGS,
                json!({ "ids": ids }),
                correlation,
            )
            .await?;
        let mut out = HashMap::new();
        for item in data["priceListings"].as_array().into_iter().flatten() {
            let listing = PricedListing {
                listing_id: text(&item["listingId"], "listing id")?,
                vendor_id: text(&item["vendorId"], "listing vendor")?,
                price: paise(&item["price"], "listing price")?,
                mrp: paise(&item["mrp"], "listing MRP")?,
                medicine_id: text(&item["medicine"]["medicineId"], "medicine id")?,
                medicine_name: text(&item["medicine"]["name"], "medicine name")?,
                schedule: schedule(&item["medicine"]["schedule"])?,
                sellable: item["sellable"].as_bool().unwrap_or(false),
            };
            out.insert(listing.listing_id.clone(), listing);
        }
        Ok(out)
    }

    /// Reserves stock for one order (idempotent per order ID). Fails with
    /// `OUT_OF_STOCK` (details naming the lines) when any line can't be met,
    /// and with `FORBIDDEN` when a line's vendor does not sell now: catalog
    /// checks again here, whatever the prices said.
    pub async fn reserve_stock(
        &self,
        order_id: &str,
        lines: &[(String, i64)],
        correlation: Option<&str>,
    ) -> ApiResult<Vec<Allocation>> {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(listing, quantity)| json!({ "listingId": listing, "quantity": quantity }))
            .collect();
        let data = self
            .stock_call(
                RESERVE_STOCK,
                json!({ "orderId": order_id, "lines": lines }),
                correlation,
            )
            .await?;
        let mut out = Vec::new();
        for line in data["reserveStock"]["lines"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let medicine = &line["medicine"];
            let hsn_code = text(&medicine["hsnCode"], "HSN code")?;
            // A medicine whose HSN code no tax slab covers cannot be invoiced.
            let gst_rate = medicine["gstRateBasisPoints"]
                .as_i64()
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("no GST rate in force for HSN {hsn_code}"))
                })
                .and_then(|bp| GstRate::from_basis_points(bp).map_err(ApiError::from))?;
            out.push(Allocation {
                listing_id: text(&line["listingId"], "listing id")?,
                vendor_id: text(&line["vendorId"], "vendor id")?,
                quantity: line["quantity"]
                    .as_i64()
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("missing quantity")))?,
                unit_price: paise(&line["unitPrice"], "unit price")?,
                mrp: paise(&line["mrp"], "MRP")?,
                medicine_id: text(&medicine["medicineId"], "medicine id")?,
                medicine_version: medicine["version"]
                    .as_i64()
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("missing version")))?,
                medicine_name: text(&medicine["name"], "medicine name")?,
                schedule: schedule(&medicine["schedule"])?,
                hsn_code,
                gst_rate,
                batches: batches_with_mrp(&line["batches"])?,
            });
        }
        Ok(out)
    }

    /// Makes an order's reservation permanent (payment arrived).
    pub async fn commit_reservation(
        &self,
        order_id: &str,
        correlation: Option<&str>,
    ) -> ApiResult<()> {
        self.stock_call(
            COMMIT_RESERVATION,
            json!({ "orderId": order_id }),
            correlation,
        )
        .await
        .map(|_| ())
    }

    /// Gives an order's units back to stock (failure, cancellation, expiry).
    pub async fn release_reservation(
        &self,
        order_id: &str,
        correlation: Option<&str>,
    ) -> ApiResult<()> {
        self.stock_call(
            RELEASE_RESERVATION,
            json!({ "orderId": order_id }),
            correlation,
        )
        .await
        .map(|_| ())
    }

    fn dispense_lines(lines: &[DispenseLine]) -> Vec<Value> {
        lines
            .iter()
            .map(|l| {
                json!({
                    "medicineId": l.medicine_id,
                    "quantity": l.quantity,
                    "schedule": l.schedule.as_db(),
                })
            })
            .collect()
    }

    /// Asks prescriptions whether the offered prescriptions cover each line;
    /// the answer has one decision per line, in order.
    pub async fn authorize_dispense(
        &self,
        customer_id: &str,
        prescription_ids: &[String],
        lines: &[DispenseLine],
        correlation: Option<&str>,
    ) -> ApiResult<Vec<DispenseDecision>> {
        let data = self
            .idempotent_call(
                "prescriptions",
                AUTHORIZE_DISPENSE,
                json!({
                    "customerId": customer_id,
                    "prescriptionIds": prescription_ids,
                    "lines": Self::dispense_lines(lines),
                }),
                correlation,
            )
            .await?;
        let answers = data["authorizeDispense"]["lines"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if answers.len() != lines.len() {
            return Err(ApiError::internal(anyhow::anyhow!(
                "prescriptions answered {} lines for {}",
                answers.len(),
                lines.len()
            )));
        }
        Ok(answers
            .iter()
            .map(|a| DispenseDecision {
                covered: a["covered"].as_bool().unwrap_or(false),
                prescription_id: a["prescriptionId"].as_str().map(str::to_string),
                reason: a["message"].as_str().map(str::to_string),
                prescriber: Prescriber {
                    prescription_id: a["prescriptionId"].as_str().map(str::to_string),
                    patient_name: a["patientName"].as_str().map(str::to_string),
                    prescriber_name: a["prescriberName"].as_str().map(str::to_string),
                    prescriber_registration: a["prescriberRegistration"]
                        .as_str()
                        .map(str::to_string),
                },
            })
            .collect())
    }

    /// Consumes approved quantities for a confirmed order (idempotent per
    /// order); the vendor's staff may then see the prescriptions on it.
    pub async fn consume_prescriptions(
        &self,
        order: ConsumeFor<'_>,
        lines: &[DispenseLine],
        correlation: Option<&str>,
    ) -> ApiResult<()> {
        self.idempotent_call(
            "prescriptions",
            CONSUME,
            json!({
                "orderId": order.order_id,
                "customerId": order.customer_id,
                "prescriptionIds": order.prescription_ids,
                "lines": Self::dispense_lines(lines),
                "vendorId": order.vendor_id,
            }),
            correlation,
        )
        .await
        .map(|_| ())
    }

    /// Gives a cancelled order's consumed quantities back (idempotent per order).
    pub async fn restore_prescriptions(
        &self,
        order_id: &str,
        correlation: Option<&str>,
    ) -> ApiResult<()> {
        self.client
            .call(
                "prescriptions",
                RESTORE,
                json!({ "orderId": order_id }),
                correlation,
            )
            .await
            .map(|_| ())
    }

    /// The delivery address (None when unknown), each vendor's legal name,
    /// branches and whether it sells, and the buyer's name, in ONE users call.
    pub async fn parties(
        &self,
        address_id: &str,
        buyer_id: &str,
        vendor_ids: &[String],
        correlation: Option<&str>,
    ) -> ApiResult<Parties> {
        let mut representations: Vec<Value> = vendor_ids
            .iter()
            .map(|id| json!({ "__typename": "Vendor", "id": id }))
            .collect();
        representations.push(json!({ "__typename": "User", "id": buyer_id }));
        let data = self
            .idempotent_call(
                "users",
                ADDRESS_AND_VENDORS,
                json!({ "id": address_id, "vendors": representations }),
                correlation,
            )
            .await?;
        let mut parties = Parties {
            address: match &data["addressForService"] {
                Value::Null => None,
                value => Some(decode(value, "address")?),
            },
            ..Parties::default()
        };
        for entity in data["_entities"].as_array().into_iter().flatten() {
            if let Some(name) = entity["fullName"].as_str() {
                parties.buyer_name = Some(name.to_string());
                parties.buyer_contact_verified = entity["contactVerified"].as_bool() == Some(true);
            } else if let Some((id, facts)) = vendor_facts(entity)? {
                parties.vendors.insert(id, facts);
            }
        }
        Ok(parties)
    }

    /// The verified, unrevoked pharmacist appointment of `user_id` at
    /// `vendor_id` (users owns appointments), or None. Fails closed: an
    /// unreachable users subgraph is an error, never a yes.
    pub async fn pharmacist_appointment(
        &self,
        user_id: &str,
        vendor_id: &str,
        correlation: Option<&str>,
    ) -> ApiResult<Option<Pharmacist>> {
        let data = self
            .idempotent_call(
                "users",
                PHARMACIST_APPOINTMENT,
                json!({ "userId": user_id, "vendorId": vendor_id }),
                correlation,
            )
            .await?;
        let appointment = &data["pharmacistAppointment"];
        if appointment.is_null() {
            return Ok(None);
        }
        Ok(Some(Pharmacist {
            id: text(&appointment["userId"], "appointment user")?,
            name: text(&appointment["fullName"], "pharmacist name")?,
            registration: text(&appointment["registrationNumber"], "registration number")?,
        }))
    }
}

/// A vendor of users' answer, if `entity` is one.
fn vendor_facts(entity: &Value) -> ApiResult<Option<(String, VendorFacts)>> {
    let (Some(id), Some(state)) = (entity["id"].as_str(), entity["state"].as_str()) else {
        return Ok(None);
    };
    let sells =
        entity["verified"].as_bool() == Some(true) && entity["suspended"].as_bool() == Some(false);
    let shipping_branch = match &entity["shippingBranch"] {
        Value::Null => None,
        value => Some(decode(value, "shipping branch")?),
    };
    let branches = match &entity["branches"] {
        Value::Null => Vec::new(),
        value => decode(value, "branches")?,
    };
    let facts = VendorFacts {
        state: state.to_string(),
        legal_name: entity["legalName"].as_str().unwrap_or_default().to_string(),
        shipping_branch,
        branches,
        sells,
    };
    Ok(Some((id.to_string(), facts)))
}
