//! The checkout saga and the order life cycle, coordinated by orders:
//!
//! 1. claim `(customer, idempotencyKey)` (a retry gets the same orders);
//! 2. price the cart from catalog in one call (refusing listings of
//!    pharmacies that do not sell now) and split it by vendor;
//! 3. check the delivery address and that every vendor sells (users, which
//!    decides it even while its events are on their way to catalog) and,
//!    for scheduled medicines, the prescriptions (`authorizeDispense`) —
//!    before holding any stock;
//! 4. reserve stock per order (catalog, which refuses pharmacies that do
//!    not sell again, should one have been suspended meanwhile) —
//!    compensated by releasing;
//! 5. write the orders (`PENDING_PAYMENT`) with their snapshots, tax, history,
//!    audit and `OrderPlaced` events, take the lines out of the cart, and mark
//!    the claim done — one transaction.
//!
//! Later moves (`confirm`, `cancel`, `advance`) change the order in one
//! transaction and record the calls they owe other subgraphs (commit or
//! release stock, consume or restore prescriptions) on the order row; those
//! calls are idempotent and made right after the commit by a single lease
//! holder, and retried by the sweeper until they succeed. The sweeper also
//! cancels unpaid orders whose payment window closed and frees abandoned
//! checkouts.

use crate::domain::{
    self, check_transition, line_tax, request_fingerprint, split_by_vendor, IdempotencyKey, Mover,
    PaymentMethod, Status, Supply, Totals, MAX_PRESCRIPTIONS_PER_CHECKOUT,
};
use crate::events;
use crate::peers::{Allocation, ConsumeFor, DispenseLine, PricedListing};
use crate::store::{self, CartLineRow, LineRow, OrderRow, StatusChange, CHECKOUT_DONE};
use crate::{audit, OrdersState};
use chrono::Utc;
use janta_platform::ids::{new_id, parse_id};
use janta_platform::money::INR;
use janta_platform::scalars::{now_db, to_db_time};
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The actor recorded for moves the platform makes by itself.
pub const SYSTEM: &str = "system";

/// Owed catalog call: make the reservation permanent.
const COMMIT: &str = "COMMIT";
/// Owed catalog call: give the units back.
const RELEASE: &str = "RELEASE";
/// Owed prescriptions call: consume approved quantities.
const CONSUME: &str = "CONSUME";
/// Owed prescriptions call: give consumed quantities back.
const RESTORE: &str = "RESTORE";

/// How long one worker holds an order's follow-up lease.
const FOLLOWUP_LEASE: Duration = Duration::from_secs(60);

/// What the customer asked `placeOrder` for (raw, validated here).
#[derive(Debug, Clone)]
pub struct PlaceOrderRequest {
    /// One of the customer's addresses (users).
    pub address_id: String,
    /// Prescriptions offered for scheduled medicines.
    pub prescription_ids: Vec<String>,
    /// The client's key for this checkout.
    pub idempotency_key: String,
    /// How the customer intends to pay; cash on delivery confirms at once.
    pub payment_method: Option<PaymentMethod>,
}

/// Runs checkout for `customer`: one order per vendor in the cart, or a
/// client error with nothing left behind. Replays with the same key return
/// the same orders, even while the first call is still running (the
/// duplicate waits up to `duplicate_wait`, then answers `CONFLICT`).
pub async fn place_order(
    state: &OrdersState,
    customer: &str,
    request: PlaceOrderRequest,
    correlation: Option<&str>,
) -> ApiResult<Vec<OrderRow>> {
    let key = IdempotencyKey::parse(&request.idempotency_key)?;
    let address_id = parse_id(&request.address_id, "addressId")?;
    let mut prescription_ids: Vec<String> = Vec::new();
    for raw in &request.prescription_ids {
        let id = parse_id(raw, "prescriptionIds")?;
        if !prescription_ids.contains(&id) {
            prescription_ids.push(id);
        }
    }
    if prescription_ids.len() > MAX_PRESCRIPTIONS_PER_CHECKOUT {
        return Err(ApiError::bad_input(format!(
            "offer at most {MAX_PRESCRIPTIONS_PER_CHECKOUT} prescriptions"
        )));
    }
    let fingerprint = request_fingerprint(
        &address_id,
        &prescription_ids,
        request.payment_method.map(PaymentMethod::as_db),
    );
    let deadline = Instant::now() + state.settings.duplicate_wait;
    loop {
        let checkout_id = new_id();
        if store::claim_checkout(
            &state.store,
            customer,
            key.as_str(),
            &checkout_id,
            &fingerprint,
        )
        .await?
        {
            let attempt = Checkout {
                state,
                checkout_id: &checkout_id,
                customer,
                address_id: &address_id,
                prescription_ids: &prescription_ids,
                payment_method: request.payment_method,
                correlation,
            };
            let result = attempt.run().await;
            if result.is_err() {
                if let Err(err) = store::drop_checkout(&state.store, &checkout_id).await {
                    tracing::warn!(error = %err, "could not free a failed checkout's key");
                }
            }
            return result;
        }
        match store::checkout(&state.store, customer, key.as_str()).await? {
            // The holder failed and freed the key: claim it again.
            None => {}
            Some(row) if row.request_hash != fingerprint => {
                return Err(ApiError::conflict(
                    "this idempotencyKey was already used for a different checkout",
                ));
            }
            Some(row) if row.status == CHECKOUT_DONE => {
                return orders_in_order(state, &row.order_ids()).await;
            }
            Some(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(ApiError::conflict(
                "a checkout with this idempotencyKey is still in progress; retry shortly",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Orders by ID, in the given order.
async fn orders_in_order(state: &OrdersState, ids: &[String]) -> ApiResult<Vec<OrderRow>> {
    let mut rows = store::orders_by_ids(&state.store, ids).await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(rows)
}

/// One claimed checkout attempt.
struct Checkout<'a> {
    state: &'a OrdersState,
    checkout_id: &'a str,
    customer: &'a str,
    address_id: &'a str,
    prescription_ids: &'a [String],
    payment_method: Option<PaymentMethod>,
    correlation: Option<&'a str>,
}

/// An order about to be written.
struct PlannedOrder {
    order: OrderRow,
    lines: Vec<LineRow>,
    /// Cart lines it takes (line ID, quantity).
    taken: Vec<(String, i64)>,
}

impl Checkout<'_> {
    async fn run(&self) -> ApiResult<Vec<OrderRow>> {
        let st = self.state;
        let cart_lines = {
            let mut conn = st.store.pool().acquire().await?;
            match store::find_cart(&mut conn, self.customer).await? {
                Some(cart) => store::cart_lines(&mut conn, &cart.id).await?,
                None => vec![],
            }
        };
        if cart_lines.is_empty() {
            return Err(ApiError::bad_input("your cart is empty"));
        }

        // Price every line in one catalog call; the client never sends prices.
        let listing_ids: Vec<String> = cart_lines.iter().map(|l| l.listing_id.clone()).collect();
        let priced = st
            .peers
            .price_listings(&listing_ids, self.correlation)
            .await?;
        let gone: Vec<&CartLineRow> = cart_lines
            .iter()
            .filter(|l| !priced.contains_key(&l.listing_id))
            .collect();
        if !gone.is_empty() {
            return Err(ApiError::bad_input(
                "some items in your cart are no longer sold; remove them and try again",
            )
            .with_details(json!({
                "lineIds": gone.iter().map(|l| &l.id).collect::<Vec<_>>(),
                "listingIds": gone.iter().map(|l| &l.listing_id).collect::<Vec<_>>(),
            })));
        }
        // A pharmacy suspended (or never verified) since the line was added
        // is refused before any stock is held; users is asked below too, and
        // catalog checks again at reservation.
        refuse_not_selling(&cart_lines, &priced, |p| p.sellable)?;
        let groups = split_by_vendor(cart_lines.clone(), |l| {
            priced[&l.listing_id].vendor_id.clone()
        });
        let vendor_ids: Vec<String> = groups.keys().cloned().collect();

        // Address and vendor states (users) and prescriptions, side by side,
        // before any stock is held.
        let rx_lines: Vec<&CartLineRow> = cart_lines
            .iter()
            .filter(|l| priced[&l.listing_id].schedule.requires_prescription())
            .collect();
        let (users, rx) = tokio::join!(
            st.peers
                .address_and_vendors(self.address_id, &vendor_ids, self.correlation),
            self.authorize(&rx_lines, &priced)
        );
        let (address, vendors) = users?;
        let address = address
            .filter(|a| a.user_id == self.customer)
            .ok_or_else(|| ApiError::not_found("address"))?;
        let covered = rx?;
        for vendor in &vendor_ids {
            if !vendors.contains_key(vendor) {
                return Err(ApiError::bad_input(
                    "a vendor in your cart no longer sells on Janta; remove its items",
                )
                .with_details(json!({ "vendorId": vendor })));
            }
        }
        // Users decides who sells: a suspension whose event has not reached
        // catalog yet is refused here.
        refuse_not_selling(&cart_lines, &priced, |p| vendors[&p.vendor_id].sells)?;

        // Plan one order per vendor and record the IDs before reserving, so
        // that an abandoned attempt's reservations can be found and released.
        let plan: Vec<(String, String, Vec<CartLineRow>)> = groups
            .into_iter()
            .map(|(vendor, lines)| (new_id(), vendor, lines))
            .collect();
        let order_ids: Vec<String> = plan.iter().map(|p| p.0.clone()).collect();
        store::plan_checkout(&st.store, self.checkout_id, &order_ids).await?;

        let reservations = futures::future::join_all(plan.iter().map(|(order_id, _, lines)| {
            let lines: Vec<(String, i64)> = lines
                .iter()
                .map(|l| (l.listing_id.clone(), l.quantity))
                .collect();
            async move {
                st.peers
                    .reserve_stock(order_id, &lines, self.correlation)
                    .await
            }
        }))
        .await;
        let mut allocations = Vec::with_capacity(plan.len());
        for result in reservations {
            match result {
                Ok(lines) => allocations.push(lines),
                Err(err) => {
                    self.compensate(&order_ids).await;
                    return Err(err);
                }
            }
        }

        let placed_at = now_db();
        let due = Utc::now()
            + chrono::Duration::from_std(st.settings.payment_window)
                .unwrap_or_else(|_| chrono::Duration::minutes(30));
        let mut planned = Vec::with_capacity(plan.len());
        for ((order_id, vendor_id, lines), allocated) in plan.iter().zip(allocations) {
            let facts = OrderFacts {
                order_id,
                vendor_id,
                vendor_state: &vendors[vendor_id].state,
                address: &address,
                placed_at: &placed_at,
                payment_due_at: &to_db_time(due),
                covered: &covered,
            };
            match self.build_order(&facts, lines, allocated) {
                Ok(order) => planned.push(order),
                Err(err) => {
                    self.compensate(&order_ids).await;
                    return Err(err);
                }
            }
        }

        if let Err(err) = self.persist(&planned).await {
            self.compensate(&order_ids).await;
            return Err(err);
        }
        if self.payment_method == Some(PaymentMethod::CashOnDelivery) {
            for id in &order_ids {
                if let Err(err) = confirm(
                    st,
                    id,
                    self.customer,
                    Payment::CASH_ON_DELIVERY,
                    self.correlation,
                )
                .await
                {
                    // The sweeper retries cash-on-delivery confirmations.
                    tracing::warn!(order_id = %id, error = %err, "cash-on-delivery confirmation deferred");
                }
            }
        }
        orders_in_order(st, &order_ids).await
    }

    /// Which cart lines the offered prescriptions cover (line ID →
    /// prescription ID), or `PRESCRIPTION_REQUIRED` naming the others.
    async fn authorize(
        &self,
        rx_lines: &[&CartLineRow],
        priced: &HashMap<String, PricedListing>,
    ) -> ApiResult<HashMap<String, Option<String>>> {
        if rx_lines.is_empty() {
            return Ok(HashMap::new());
        }
        let requests: Vec<DispenseLine> = rx_lines
            .iter()
            .map(|l| {
                let p = &priced[&l.listing_id];
                DispenseLine {
                    medicine_id: p.medicine_id.clone(),
                    quantity: l.quantity,
                    schedule: p.schedule,
                }
            })
            .collect();
        let decisions = if self.prescription_ids.is_empty() {
            None
        } else {
            Some(
                self.state
                    .peers
                    .authorize_dispense(
                        self.customer,
                        self.prescription_ids,
                        &requests,
                        self.correlation,
                    )
                    .await?,
            )
        };
        let mut covered = HashMap::new();
        let mut refused = Vec::new();
        for (i, line) in rx_lines.iter().enumerate() {
            let p = &priced[&line.listing_id];
            let decision = decisions.as_ref().map(|d| &d[i]);
            match decision {
                Some(d) if d.covered => {
                    covered.insert(line.id.clone(), d.prescription_id.clone());
                }
                _ => refused.push(json!({
                    "lineId": line.id,
                    "listingId": line.listing_id,
                    "medicineId": p.medicine_id,
                    "medicineName": p.medicine_name,
                    "schedule": p.schedule.as_db(),
                    "reason": decision
                        .and_then(|d| d.reason.clone())
                        .unwrap_or_else(|| "this medicine needs a prescription".to_string()),
                })),
            }
        }
        if refused.is_empty() {
            Ok(covered)
        } else {
            Err(prescription_required(refused))
        }
    }

    /// Builds one order from its reserved lines: snapshots and GST.
    fn build_order(
        &self,
        facts: &OrderFacts<'_>,
        cart_lines: &[CartLineRow],
        allocated: Vec<Allocation>,
    ) -> ApiResult<PlannedOrder> {
        let supply = Supply::between(facts.vendor_state, &facts.address.state);
        let by_listing: HashMap<&str, &Allocation> = allocated
            .iter()
            .map(|a| (a.listing_id.as_str(), a))
            .collect();
        let mut lines = Vec::with_capacity(cart_lines.len());
        let mut taxes = Vec::with_capacity(cart_lines.len());
        let mut refused = Vec::new();
        for (position, cart_line) in cart_lines.iter().enumerate() {
            let alloc = by_listing
                .get(cart_line.listing_id.as_str())
                .filter(|a| a.quantity == cart_line.quantity && a.vendor_id == facts.vendor_id)
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!(
                        "catalog reserved something else than asked for listing {}",
                        cart_line.listing_id
                    ))
                })?;
            // The medicine may have changed schedule since pricing: the
            // reserved version is what is sold, so it is what must be covered.
            let prescription_id = facts.covered.get(&cart_line.id).cloned().flatten();
            if alloc.schedule.requires_prescription() && !facts.covered.contains_key(&cart_line.id)
            {
                refused.push(json!({
                    "lineId": cart_line.id,
                    "listingId": cart_line.listing_id,
                    "medicineId": alloc.medicine_id,
                    "medicineName": alloc.medicine_name,
                    "schedule": alloc.schedule.as_db(),
                    "reason": "this medicine needs a prescription",
                }));
                continue;
            }
            let tax = line_tax(alloc.unit_price, alloc.quantity, alloc.gst_rate, supply);
            taxes.push(tax);
            lines.push(LineRow {
                id: new_id(),
                order_id: facts.order_id.to_string(),
                position: position as i64 + 1,
                listing_id: alloc.listing_id.clone(),
                medicine_id: alloc.medicine_id.clone(),
                medicine_version: alloc.medicine_version,
                medicine_name: alloc.medicine_name.clone(),
                schedule: alloc.schedule.as_db().to_string(),
                hsn_code: alloc.hsn_code.clone(),
                gst_rate_bp: alloc.gst_rate.basis_points(),
                quantity: alloc.quantity,
                unit_price: alloc.unit_price,
                mrp: alloc.mrp,
                line_total: tax.gross,
                taxable_value: tax.taxable,
                cgst: tax.cgst,
                sgst: tax.sgst,
                igst: tax.igst,
                prescription_id,
                batches: serde_json::to_string(&alloc.batches)
                    .map_err(|e| ApiError::Internal(e.into()))?,
            });
        }
        if !refused.is_empty() {
            return Err(prescription_required(refused));
        }
        let totals = Totals::of(&taxes);
        let a = facts.address;
        let order = OrderRow {
            id: facts.order_id.to_string(),
            checkout_id: self.checkout_id.to_string(),
            customer_id: self.customer.to_string(),
            vendor_id: facts.vendor_id.to_string(),
            vendor_state: facts.vendor_state.to_string(),
            status: Status::PendingPayment.as_db().to_string(),
            payment_method: self.payment_method.map(|m| m.as_db().to_string()),
            supply: supply.as_db().to_string(),
            currency: INR.to_string(),
            total: totals.total,
            taxable_total: totals.taxable,
            cgst_total: totals.cgst,
            sgst_total: totals.sgst,
            igst_total: totals.igst,
            address_id: a.id.clone(),
            address_label: a.label.clone(),
            address_line1: a.line1.clone(),
            address_line2: a.line2.clone(),
            address_city: a.city.clone(),
            address_state: a.state.clone(),
            address_pincode: a.pincode.clone(),
            prescription_ids: self.prescription_ids.join(","),
            cancellation_reason: None,
            placed_at: facts.placed_at.to_string(),
            payment_due_at: facts.payment_due_at.to_string(),
            updated_at: facts.placed_at.to_string(),
            version: 1,
            stock_action: None,
            rx_action: None,
        };
        Ok(PlannedOrder {
            order,
            lines,
            taken: cart_lines
                .iter()
                .map(|l| (l.id.clone(), l.quantity))
                .collect(),
        })
    }

    /// Writes every order of the checkout in one transaction, takes the
    /// lines out of the cart and marks the claim done.
    async fn persist(&self, planned: &[PlannedOrder]) -> ApiResult<()> {
        let mut tx = self.state.store.begin().await?;
        for p in planned {
            store::insert_order(&mut tx, &p.order).await?;
            for line in &p.lines {
                store::insert_line(&mut tx, line).await?;
            }
            store::record_status(
                &mut tx,
                &p.order.id,
                Status::PendingPayment.as_db(),
                self.customer,
                Some("order placed"),
                &p.order.placed_at,
            )
            .await?;
            audit(
                &mut tx,
                self.customer,
                "order",
                &p.order.id,
                "placed",
                None,
                Some(json!({
                    "status": p.order.status,
                    "vendorId": p.order.vendor_id,
                    "totalPaise": p.order.total,
                    "taxPaise": p.order.cgst_total + p.order.sgst_total + p.order.igst_total,
                    "lines": p.lines.len(),
                })),
            )
            .await?;
            events::order_placed(&mut tx, &p.order, &p.lines, self.customer, self.correlation)
                .await?;
            for (line_id, quantity) in &p.taken {
                store::take_from_cart(&mut tx, line_id, *quantity).await?;
            }
        }
        let ids: Vec<String> = planned.iter().map(|p| p.order.id.clone()).collect();
        if !store::finish_checkout(&mut tx, self.checkout_id, &ids).await? {
            return Err(ApiError::conflict(
                "this checkout took too long and was abandoned; try again",
            ));
        }
        tx.commit().await?;
        janta_platform::events::outbox_written();
        Ok(())
    }

    /// Releases every reservation this attempt may hold (idempotent); a
    /// failure here is logged, and catalog's reservation expiry is the net.
    async fn compensate(&self, order_ids: &[String]) {
        for id in order_ids {
            match self
                .state
                .peers
                .release_reservation(id, self.correlation)
                .await
            {
                Ok(()) => {}
                // Its reservation failed (or never started): nothing held.
                Err(err) if err.code() == ErrorCode::NotFound => {}
                Err(err) => {
                    tracing::warn!(order_id = %id, error = %err, "could not release a reservation; it will expire");
                }
            }
        }
    }
}

/// `FORBIDDEN` naming the cart lines whose pharmacy does not sell now by
/// `sells`, or nothing when every pharmacy does.
fn refuse_not_selling(
    cart_lines: &[CartLineRow],
    priced: &HashMap<String, PricedListing>,
    sells: impl Fn(&PricedListing) -> bool,
) -> ApiResult<()> {
    let refused: Vec<&PricedListing> = cart_lines
        .iter()
        .map(|l| &priced[&l.listing_id])
        .filter(|p| !sells(p))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let listings: Vec<&str> = refused.iter().map(|p| p.listing_id.as_str()).collect();
    let vendors: Vec<&str> = refused.iter().map(|p| p.vendor_id.as_str()).collect();
    Err(domain::not_selling(&listings, &vendors))
}

/// What every line of one order shares.
struct OrderFacts<'a> {
    order_id: &'a str,
    vendor_id: &'a str,
    vendor_state: &'a str,
    address: &'a crate::peers::AddressFacts,
    placed_at: &'a str,
    payment_due_at: &'a str,
    covered: &'a HashMap<String, Option<String>>,
}

fn prescription_required(lines: Vec<serde_json::Value>) -> ApiError {
    let names: Vec<String> = lines
        .iter()
        .filter_map(|l| l["medicineName"].as_str().map(str::to_string))
        .collect();
    ApiError::client(
        ErrorCode::PrescriptionRequired,
        format!("a valid prescription is needed for: {}", names.join(", ")),
    )
    .with_details(json!({ "lines": lines }))
}

// ---------- life cycle ----------

/// What confirms an order.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    /// The payment (payments' ID); None for cash on delivery chosen at checkout.
    pub id: Option<&'a str>,
    /// The method, recorded on the order.
    pub method: Option<PaymentMethod>,
    /// The history note.
    pub note: &'a str,
}

impl Payment<'static> {
    /// Cash on delivery chosen at checkout: confirmed with nothing paid yet.
    pub const CASH_ON_DELIVERY: Payment<'static> = Payment {
        id: None,
        method: Some(PaymentMethod::CashOnDelivery),
        note: "cash on delivery",
    };
}

/// Confirms a `PENDING_PAYMENT` order (payment succeeded or cash on
/// delivery) in its own transaction, then makes the calls it owes (commit
/// stock, consume prescriptions). Returns false when the order was not
/// pending (already confirmed or cancelled: nothing to do, idempotent).
pub async fn confirm(
    state: &OrdersState,
    order_id: &str,
    actor: &str,
    payment: Payment<'_>,
    correlation: Option<&str>,
) -> ApiResult<bool> {
    let mut tx = state.store.begin().await?;
    let confirmed = confirm_in(&mut tx, order_id, actor, payment, correlation).await?;
    tx.commit().await?;
    if confirmed {
        janta_platform::events::outbox_written();
        if let Err(err) = run_followups(state, order_id, correlation).await {
            tracing::warn!(order_id, error = %err, "follow-up calls deferred to the sweeper");
        }
    }
    Ok(confirmed)
}

/// The database half of [`confirm`], inside the caller's transaction: the
/// move, its history, audit and `OrderConfirmed`, and the calls it owes
/// recorded on the order (made by [`run_followups`] after the commit).
pub async fn confirm_in(
    conn: &mut AnyConnection,
    order_id: &str,
    actor: &str,
    payment: Payment<'_>,
    correlation: Option<&str>,
) -> ApiResult<bool> {
    let order = store::order_by_id(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = Status::from_db(&order.status)?;
    if from != Status::PendingPayment {
        return Ok(false);
    }
    check_transition(from, Status::Confirmed, Mover::System)?;
    let needs_rx = store::order_needs_prescriptions(conn, order_id).await?;
    let at = now_db();
    let changed = store::change_status(
        conn,
        &StatusChange {
            id: order_id,
            from: from.as_db(),
            to: Status::Confirmed.as_db(),
            stock_action: Some(COMMIT),
            rx_action: needs_rx.then_some(CONSUME),
            cancellation_reason: None,
            payment_method: payment.method.map(PaymentMethod::as_db),
            at: &at,
        },
    )
    .await?;
    if !changed {
        return Ok(false);
    }
    store::record_status(
        conn,
        order_id,
        Status::Confirmed.as_db(),
        actor,
        Some(payment.note),
        &at,
    )
    .await?;
    audit(
        conn,
        actor,
        "order",
        order_id,
        "confirmed",
        Some(json!({ "status": from.as_db() })),
        Some(json!({
            "status": "CONFIRMED",
            "paymentId": payment.id,
            "paymentMethod": payment.method.map(PaymentMethod::as_db),
        })),
    )
    .await?;
    events::order_confirmed(conn, &order, payment.id, actor, correlation).await?;
    Ok(true)
}

/// Cancels an order (checked against the state machine for `mover`),
/// records the calls owed (release stock; restore prescriptions if they
/// were consumed) and makes them. Returns the order as it was before.
pub async fn cancel(
    state: &OrdersState,
    order_id: &str,
    actor: &str,
    mover: Mover,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<OrderRow> {
    let before = cancel_in_db(state, order_id, actor, mover, reason, correlation).await?;
    if let Err(err) = run_followups(state, order_id, correlation).await {
        tracing::warn!(order_id, error = %err, "follow-up calls deferred to the sweeper");
    }
    Ok(before)
}

async fn cancel_in_db(
    state: &OrdersState,
    order_id: &str,
    actor: &str,
    mover: Mover,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<OrderRow> {
    let mut tx = state.store.begin().await?;
    let before = cancel_in(&mut tx, order_id, actor, mover, reason, correlation).await?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    Ok(before)
}

/// The database half of [`cancel`], inside the caller's transaction.
pub async fn cancel_in(
    conn: &mut AnyConnection,
    order_id: &str,
    actor: &str,
    mover: Mover,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<OrderRow> {
    let order = store::order_by_id(conn, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = Status::from_db(&order.status)?;
    check_transition(from, Status::Cancelled, mover)?;
    let needs_rx = store::order_needs_prescriptions(conn, order_id).await?;
    let restore = needs_rx && (from.was_confirmed() || order.rx_action.is_some());
    let at = now_db();
    let changed = store::change_status(
        conn,
        &StatusChange {
            id: order_id,
            from: from.as_db(),
            to: Status::Cancelled.as_db(),
            stock_action: Some(RELEASE),
            rx_action: restore.then_some(RESTORE),
            cancellation_reason: Some(reason),
            payment_method: None,
            at: &at,
        },
    )
    .await?;
    if !changed {
        return Err(ApiError::conflict(
            "the order changed while you were cancelling it; reload it",
        ));
    }
    store::record_status(
        conn,
        order_id,
        Status::Cancelled.as_db(),
        actor,
        Some(reason),
        &at,
    )
    .await?;
    audit(
        conn,
        actor,
        "order",
        order_id,
        "cancelled",
        Some(json!({ "status": from.as_db() })),
        Some(json!({ "status": "CANCELLED", "reason": reason })),
    )
    .await?;
    events::order_cancelled(conn, &order, from, reason, actor, correlation).await?;
    Ok(order)
}

/// Moves an order along fulfilment (`PACKED`, `OUT_FOR_DELIVERY`,
/// `DELIVERED`, `RETURNED`) as `mover`. Returns the order after the move.
pub async fn advance(
    state: &OrdersState,
    order_id: &str,
    actor: &str,
    mover: Mover,
    to: Status,
    note: Option<&str>,
    correlation: Option<&str>,
) -> ApiResult<OrderRow> {
    if to == Status::Cancelled {
        return Err(ApiError::bad_input(
            "use cancelOrder to cancel an order (it needs a reason)",
        ));
    }
    let mut tx = state.store.begin().await?;
    let order = store::order_by_id(&mut tx, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let from = Status::from_db(&order.status)?;
    check_transition(from, to, mover)?;
    let at = now_db();
    let changed = store::change_status(
        &mut tx,
        &StatusChange {
            id: order_id,
            from: from.as_db(),
            to: to.as_db(),
            stock_action: None,
            rx_action: None,
            cancellation_reason: None,
            payment_method: None,
            at: &at,
        },
    )
    .await?;
    if !changed {
        return Err(ApiError::conflict("the order changed meanwhile; reload it"));
    }
    store::record_status(&mut tx, order_id, to.as_db(), actor, note, &at).await?;
    audit(
        &mut tx,
        actor,
        "order",
        order_id,
        "status_changed",
        Some(json!({ "status": from.as_db() })),
        Some(json!({ "status": to.as_db(), "note": note })),
    )
    .await?;
    events::order_status_changed(&mut tx, &order, from, to, actor, note, correlation).await?;
    let after = store::order_by_id(&mut tx, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    tx.commit().await?;
    janta_platform::events::outbox_written();
    Ok(after)
}

// ---------- follow-ups ----------

/// Makes the calls an order still owes catalog and prescriptions, in order,
/// as the only worker for that order (a lease); returns at once when another
/// worker holds it. Client errors are decided here: a reservation that can no
/// longer be committed, or prescriptions that no longer cover a paid order,
/// cancel it (payments refunds on `OrderCancelled`).
pub async fn run_followups(
    state: &OrdersState,
    order_id: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(FOLLOWUP_LEASE).unwrap_or_default();
    if !store::lease_followup(&state.store, order_id, &to_db_time(until), &to_db_time(now)).await? {
        return Ok(());
    }
    let result = followup_loop(state, order_id, correlation).await;
    store::end_followup(&state.store, order_id, result.is_err()).await?;
    result
}

async fn followup_loop(
    state: &OrdersState,
    order_id: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    // Each round settles at least one action; a cancellation adds at most two.
    for _ in 0..6 {
        let Some((stock, rx)) = store::pending_actions(&state.store, order_id).await? else {
            return Ok(());
        };
        if stock.is_none() && rx.is_none() {
            return Ok(());
        }
        if let Some(action) = stock {
            let result = match action.as_str() {
                COMMIT => state.peers.commit_reservation(order_id, correlation).await,
                RELEASE => state.peers.release_reservation(order_id, correlation).await,
                _ => Ok(()),
            };
            match result {
                Ok(()) => store::clear_stock_action(&state.store, order_id, &action).await?,
                Err(err) if err.code() == ErrorCode::Internal => return Err(err),
                Err(err) if action == COMMIT => {
                    tracing::warn!(order_id, error = %err, "reservation could not be committed; cancelling");
                    cancel_after_failure(
                        state,
                        order_id,
                        "the reserved stock was no longer available when the payment arrived",
                        correlation,
                    )
                    .await?;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(order_id, error = %err, "nothing to release for this order");
                    store::clear_stock_action(&state.store, order_id, &action).await?;
                }
            }
        }
        if let Some(action) = rx {
            let result = match action.as_str() {
                CONSUME => {
                    let Some(order) = store::find_order(&state.store, order_id).await? else {
                        return Ok(());
                    };
                    let lines =
                        store::lines_of_orders(&state.store, &[order_id.to_string()]).await?;
                    let rx_lines: Vec<DispenseLine> = lines
                        .iter()
                        .filter_map(|l| {
                            let schedule = domain::Schedule::parse(&l.schedule)?;
                            schedule.requires_prescription().then(|| DispenseLine {
                                medicine_id: l.medicine_id.clone(),
                                quantity: l.quantity,
                                schedule,
                            })
                        })
                        .collect();
                    let prescription_ids = order.prescription_ids();
                    state
                        .peers
                        .consume_prescriptions(
                            ConsumeFor {
                                order_id,
                                customer_id: &order.customer_id,
                                vendor_id: &order.vendor_id,
                                prescription_ids: &prescription_ids,
                            },
                            &rx_lines,
                            correlation,
                        )
                        .await
                }
                RESTORE => {
                    state
                        .peers
                        .restore_prescriptions(order_id, correlation)
                        .await
                }
                _ => Ok(()),
            };
            match result {
                Ok(()) => store::clear_rx_action(&state.store, order_id, &action).await?,
                Err(err) if err.code() == ErrorCode::Internal => return Err(err),
                Err(err) if action == CONSUME => {
                    tracing::warn!(order_id, error = %err, "prescriptions no longer cover the order; cancelling");
                    cancel_after_failure(
                        state,
                        order_id,
                        "the prescription no longer covers this order",
                        correlation,
                    )
                    .await?;
                }
                Err(err) => {
                    tracing::warn!(order_id, error = %err, "nothing to restore for this order");
                    store::clear_rx_action(&state.store, order_id, &action).await?;
                }
            }
        }
    }
    Ok(())
}

/// A paid order that cannot be fulfilled is cancelled by the system.
async fn cancel_after_failure(
    state: &OrdersState,
    order_id: &str,
    reason: &str,
    correlation: Option<&str>,
) -> ApiResult<()> {
    match cancel_in_db(state, order_id, SYSTEM, Mover::System, reason, correlation).await {
        Ok(_) => Ok(()),
        // Already past dispatch or cancelled: nothing more to decide here.
        Err(err) if err.code() == ErrorCode::Conflict => {
            store::clear_stock_action(&state.store, order_id, COMMIT).await?;
            store::clear_rx_action(&state.store, order_id, CONSUME).await?;
            Ok(())
        }
        Err(err) => Err(err),
    }
}

// ---------- sweeper ----------

/// What one sweep did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Unpaid orders cancelled because their payment window closed.
    pub expired: usize,
    /// Cash-on-delivery orders confirmed on retry.
    pub confirmed: usize,
    /// Orders whose owed calls were retried.
    pub followed_up: usize,
    /// Abandoned checkouts freed.
    pub abandoned: usize,
}

/// Runs [`sweep_once`] every `sweep_interval` until the store is closed.
pub async fn run_sweeper(state: Arc<OrdersState>) {
    let mut ticker = tokio::time::interval(state.settings.sweep_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        if state.store.pool().is_closed() {
            return;
        }
        match sweep_once(&state).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "orders sweep");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "orders sweep failed"),
        }
    }
}

/// One pass: expire unpaid orders, retry cash-on-delivery confirmations and
/// owed calls, free abandoned checkouts (releasing what they reserved).
pub async fn sweep_once(state: &OrdersState) -> ApiResult<SweepReport> {
    let mut report = SweepReport::default();
    let now = now_db();
    let minutes = state.settings.payment_window.as_secs().div_ceil(60);
    let reason = format!("payment was not received within {minutes} minutes");
    for id in store::expired_unpaid_orders(&state.store, &now).await? {
        match cancel(state, &id, SYSTEM, Mover::System, &reason, None).await {
            Ok(_) => report.expired += 1,
            Err(err) if err.code() == ErrorCode::Conflict => {}
            Err(err) => tracing::warn!(order_id = %id, error = %err, "could not expire order"),
        }
    }
    for id in store::unconfirmed_cash_orders(&state.store).await? {
        match confirm(state, &id, SYSTEM, Payment::CASH_ON_DELIVERY, None).await {
            Ok(true) => report.confirmed += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(order_id = %id, error = %err, "could not confirm order"),
        }
    }
    for id in store::orders_owing_followups(&state.store, &now).await? {
        match run_followups(state, &id, None).await {
            Ok(()) => report.followed_up += 1,
            Err(err) => tracing::warn!(order_id = %id, error = %err, "follow-up calls failed"),
        }
    }
    let cutoff = Utc::now()
        - chrono::Duration::from_std(state.settings.abandoned_checkout_after)
            .unwrap_or_else(|_| chrono::Duration::minutes(5));
    for checkout in store::stale_checkouts(&state.store, &to_db_time(cutoff)).await? {
        let placed = store::orders_of_checkout(&state.store, &checkout.id).await?;
        let mut released = true;
        for id in checkout
            .order_ids()
            .iter()
            .filter(|id| !placed.contains(id))
        {
            if let Err(err) = state.peers.release_reservation(id, None).await {
                tracing::warn!(order_id = %id, error = %err, "could not release an abandoned reservation");
                released = false;
            }
        }
        if released {
            store::drop_checkout(&state.store, &checkout.id).await?;
            report.abandoned += 1;
        }
    }
    Ok(report)
}
