//! Checkout, coordinated by orders:
//!
//! 1. claim `(customer, idempotencyKey)` (a retry gets the same orders);
//! 2. price the cart from catalog in one call (refusing listings of
//!    pharmacies that do not sell now) and split it by vendor;
//! 3. check the delivery address and that every vendor sells (users, which
//!    decides it even while its events are on their way to catalog), choose
//!    the branch fulfilling each order (the vendor's shipping branch or the
//!    one named in `fulfilFrom`; its state decides the GST split) and,
//!    for scheduled medicines, the prescriptions (`authorizeDispense`) —
//!    before holding any stock;
//! 4. reserve stock per order (catalog, which refuses pharmacies that do
//!    not sell again, should one have been suspended meanwhile) —
//!    compensated by releasing;
//! 5. write the orders (`PENDING_PAYMENT`) with their snapshots, tax, history,
//!    audit and `OrderPlaced` events, take the lines out of the cart, and mark
//!    the claim done — one transaction.

use super::fulfilment;
use super::lifecycle::{confirm, Payment};
use crate::domain::dispensing::{refuse_schedule_x, Prescriber};
use crate::domain::invoices::Seller;
use crate::domain::{
    self, line_tax, request_fingerprint, split_by_vendor, CheckoutStatus, IdempotencyKey,
    PaymentMethod, Status, Supply, Totals, MAX_PRESCRIPTIONS_PER_CHECKOUT,
};
use crate::events::publish;
use crate::peers::{Allocation, DispenseLine, PricedListing};
use crate::store::{self, AddressSnapshot, CartLineRow, LineRow, OrderParties, OrderRow, Owed};
use crate::{audit, OrdersState};
use chrono::Utc;
use janta_platform::cause::Cause;
use janta_platform::ids::{new_id, parse_id};
use janta_platform::money::Paise;
use janta_platform::money::INR;
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult, ErrorCode};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

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
    /// (vendor ID, branch ID): the branch to fulfil that vendor's order
    /// from, instead of its default shipping branch.
    pub fulfil_from: Vec<(String, String)>,
}

/// Runs checkout for the customer who is `cause`'s actor: one order per vendor in the cart, or a
/// client error with nothing left behind. Replays with the same key return
/// the same orders, even while the first call is still running (the
/// duplicate waits up to `duplicate_wait`, then answers `CONFLICT`).
pub async fn place_order(
    state: &OrdersState,
    cause: &Cause,
    request: PlaceOrderRequest,
) -> ApiResult<Vec<OrderRow>> {
    let customer = cause.actor();
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
    let fulfil_from = fulfilment::parse_fulfil_from(&request.fulfil_from)?;
    let fingerprint = fulfilment::fingerprint_with(
        request_fingerprint(
            &address_id,
            &prescription_ids,
            request.payment_method.map(PaymentMethod::as_db),
        ),
        &fulfil_from,
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
                fulfil_from: &fulfil_from,
                cause,
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
            Some(row) if row.status == CheckoutStatus::Done => {
                return orders_in_order(state, &row.order_ids).await;
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
    fulfil_from: &'a BTreeMap<String, String>,
    cause: &'a Cause,
}

/// An order about to be written.
struct PlannedOrder {
    order: OrderRow,
    lines: Vec<LineRow>,
    /// Cart lines it takes (line ID, quantity).
    taken: Vec<(String, i64)>,
    /// Patient and prescriber of each prescription line (order line ID).
    prescribers: Vec<(String, Prescriber)>,
    /// The fulfilling branch and the buyer's name.
    parties: OrderParties,
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
            .price_listings(&listing_ids, self.cause.correlation())
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
        // Schedule X is never sold online, whatever catalog says of it.
        refuse_schedule_x(
            cart_lines
                .iter()
                .map(|l| (l.listing_id.as_str(), priced[&l.listing_id].schedule)),
        )?;
        // A pharmacy suspended (or never verified) since the line was added
        // is refused before any stock is held; users is asked below too, and
        // catalog checks again at reservation.
        refuse_not_selling(&cart_lines, &priced, |p| p.sellable)?;
        let groups = split_by_vendor(cart_lines.clone(), |l| {
            priced[&l.listing_id].vendor_id.clone()
        });
        let vendor_ids: Vec<String> = groups.keys().cloned().collect();
        fulfilment::check_vendors_in_cart(self.fulfil_from, &vendor_ids)?;

        // Address and vendor states (users) and prescriptions, side by side,
        // before any stock is held.
        let rx_lines: Vec<&CartLineRow> = cart_lines
            .iter()
            .filter(|l| priced[&l.listing_id].schedule.requires_prescription())
            .collect();
        let (users, rx) = tokio::join!(
            st.peers.parties(
                self.address_id,
                self.customer,
                &vendor_ids,
                self.cause.correlation()
            ),
            self.authorize(&rx_lines, &priced)
        );
        let parties = users?;
        if st.settings.require_verified_contact && !parties.buyer_contact_verified {
            return Err(unverified_contact());
        }
        let vendors = &parties.vendors;
        let address = parties
            .address
            .clone()
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
        // The fulfilling branch of each order decides its GST split and is
        // its seller on the invoice.
        let mut sellers = HashMap::new();
        for vendor in &vendor_ids {
            let seller =
                fulfilment::seller_for(vendor, &vendors[vendor], self.fulfil_from.get(vendor))?;
            sellers.insert(vendor.clone(), seller);
        }

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
                    .reserve_stock(order_id, &lines, self.cause.correlation())
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

        let placed_at = DateTime::now();
        let due = Utc::now()
            + chrono::Duration::from_std(st.settings.payment_window)
                .unwrap_or_else(|_| chrono::Duration::minutes(30));
        let mut planned = Vec::with_capacity(plan.len());
        for ((order_id, vendor_id, lines), allocated) in plan.iter().zip(allocations) {
            let facts = OrderFacts {
                order_id,
                vendor_id,
                seller: &sellers[vendor_id],
                buyer_name: parties.buyer_name.as_deref(),
                address: &address,
                placed_at,
                payment_due_at: DateTime(due),
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
                if let Err(err) = confirm(st, id, self.cause, Payment::CASH_ON_DELIVERY).await {
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
    ) -> ApiResult<HashMap<String, Prescriber>> {
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
                        self.cause.correlation(),
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
                    covered.insert(line.id.clone(), d.prescriber.clone());
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
        let supply = Supply::between(&facts.seller.state, &facts.address.state);
        let by_listing: HashMap<&str, &Allocation> = allocated
            .iter()
            .map(|a| (a.listing_id.as_str(), a))
            .collect();
        let mut lines = Vec::with_capacity(cart_lines.len());
        let mut prescribers = Vec::new();
        let mut taxes = Vec::with_capacity(cart_lines.len());
        let mut refused = Vec::new();
        for (position, cart_line) in cart_lines.iter().enumerate() {
            let alloc = by_listing
                .get(cart_line.listing_id.as_str())
                .filter(|a| a.quantity == cart_line.quantity && a.vendor_id == facts.vendor_id)
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!(
                        "catalog reserved something else than asked for listing {}",
                        cart_line.listing_id
                    ))
                })?;
            // The medicine may have changed schedule since pricing: the
            // reserved version is what is sold, so it is what must be covered.
            let prescriber = facts.covered.get(&cart_line.id);
            let prescription_id = prescriber.and_then(|p| p.prescription_id.clone());
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
                schedule: alloc.schedule,
                hsn_code: alloc.hsn_code.clone(),
                gst_rate: alloc.gst_rate,
                quantity: alloc.quantity,
                unit_price: Paise(alloc.unit_price),
                mrp: Paise(alloc.mrp),
                line_total: Paise(tax.gross),
                taxable_value: Paise(tax.taxable),
                cgst: Paise(tax.cgst),
                sgst: Paise(tax.sgst),
                igst: Paise(tax.igst),
                prescription_id,
                batches: alloc.batches.clone(),
            });
            if let (Some(p), Some(line)) = (prescriber, lines.last()) {
                prescribers.push((line.id.clone(), p.clone()));
            }
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
            vendor_state: facts.seller.state.clone(),
            status: Status::PendingPayment,
            payment_method: self.payment_method,
            supply,
            currency: INR.to_string(),
            total: Paise(totals.total),
            taxable_total: Paise(totals.taxable),
            cgst_total: Paise(totals.cgst),
            sgst_total: Paise(totals.sgst),
            igst_total: Paise(totals.igst),
            address: AddressSnapshot {
                id: a.id.clone(),
                label: a.label.clone(),
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                pincode: a.pincode.clone(),
            },
            prescription_ids: self.prescription_ids.to_vec(),
            cancellation_reason: None,
            placed_at: facts.placed_at,
            payment_due_at: facts.payment_due_at,
            updated_at: facts.placed_at,
            version: 1,
            owed: Owed::default(),
        };
        Ok(PlannedOrder {
            order,
            lines,
            prescribers,
            taken: cart_lines
                .iter()
                .map(|l| (l.id.clone(), l.quantity))
                .collect(),
            parties: OrderParties {
                order_id: facts.order_id.to_string(),
                seller: facts.seller.clone(),
                buyer_name: facts.buyer_name.map(str::to_string),
            },
        })
    }

    /// Writes every order of the checkout in one transaction, takes the
    /// lines out of the cart and marks the claim done.
    async fn persist(&self, planned: &[PlannedOrder]) -> ApiResult<()> {
        let mut tx = self.state.store.begin().await?;
        for p in planned {
            store::insert_order(&mut tx, &p.order).await?;
            store::insert_parties(&mut tx, &p.order.vendor_id, &p.parties).await?;
            for line in &p.lines {
                store::insert_line(&mut tx, line).await?;
            }
            for (line_id, prescriber) in &p.prescribers {
                store::insert_line_prescriber(&mut tx, line_id, &p.order.id, prescriber).await?;
            }
            store::record_status(
                &mut tx,
                &p.order.id,
                Status::PendingPayment,
                self.customer,
                Some("order placed"),
                p.order.placed_at,
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
                    "status": p.order.status.as_db(),
                    "vendorId": p.order.vendor_id,
                    "totalPaise": p.order.total,
                    "taxPaise": p.order.tax_total(),
                    "lines": p.lines.len(),
                })),
            )
            .await?;
            publish::order_placed(&mut tx, &p.order, &p.lines, self.cause).await?;
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
        Ok(())
    }

    /// Releases every reservation this attempt may hold (idempotent); a
    /// failure here is logged, and catalog's reservation expiry is the net.
    async fn compensate(&self, order_ids: &[String]) {
        for id in order_ids {
            match self
                .state
                .peers
                .release_reservation(id, self.cause.correlation())
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
    /// The fulfilling branch: its state decides the GST split.
    seller: &'a Seller,
    buyer_name: Option<&'a str>,
    address: &'a crate::peers::AddressFacts,
    placed_at: DateTime,
    payment_due_at: DateTime,
    covered: &'a HashMap<String, Prescriber>,
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

/// The refusal of an order from a customer who has verified neither their
/// e-mail address nor their phone number (when so configured).
fn unverified_contact() -> ApiError {
    ApiError::forbidden(
        "verify your e-mail address or phone number before ordering: use the code we sent \
         (verifyEmail / verifyPhone), or ask for a new one with resendVerificationCode",
    )
    .with_details(json!({ "reason": "CONTACT_NOT_VERIFIED" }))
}
