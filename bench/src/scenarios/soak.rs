//! The load of `bench/soak.sh`: for a set time, a mix of what the
//! platform's people do, through the router, while the script kills and
//! restarts processes around it. Customers browse, fill carts, check out
//! and pay (cash on delivery, or online through the sandbox gateway's
//! checkout page, sometimes failing), cancel orders before and after paying,
//! upload prescriptions and order a schedule-H medicine with an approved
//! one; the demo pharmacy's staff receive stock, deliver cash orders,
//! approve returns and refund part of online payments; its pharmacist
//! reviews prescriptions. Faults make requests fail: a failure is counted
//! (by operation and `extensions.code`) and the actor moves on, so the load
//! keeps going; the invariants are the script's to check afterwards, in
//! the databases. The last line is a machine-readable summary.

use crate::client::{body, error_code, post, succeeded};
use crate::customers::{run_tag, DEMO_PASSWORD, PARACETAMOL};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// OTC listings of the demo pharmacy in Karnataka (no prescription, no
/// extra shelf-life demand): paracetamol, Dolo 650, Crocin, Combiflam.
const OTC_LISTINGS: [&str; 4] = [
    "019a0000-0000-7000-8002-100000000001",
    "019a0000-0000-7000-8002-100000000006",
    "019a0000-0000-7000-8002-100000000007",
    "019a0000-0000-7000-8002-100000000009",
];
/// Amoxicillin 500 mg (schedule H) and its listing at the KA pharmacy.
const AMOXICILLIN: &str = "019a0000-0000-7000-8001-000000000002";
const AMOXICILLIN_KA_LISTING: &str = "019a0000-0000-7000-8002-100000000002";
/// The demo pharmacy in Karnataka (janta_platform::demo::VENDOR_KA_ID).
const VENDOR_KA: &str = "019a0000-0000-7000-8000-0000000000a1";
/// Searches a browsing customer types.
const SEARCHES: [&str; 5] = ["para", "dolo", "amox", "crocin", "tablet"];
/// The password of the customers the soak registers.
const PASSWORD: &str = "a-long-soak-password-7";
/// Stock below which the pharmacy receives a new batch of a listing.
const RESTOCK_BELOW: i64 = 60;
/// Packs in each batch it receives.
const RESTOCK_PACKS: i64 = 150;

/// What the soak is asked to do.
pub struct Options {
    /// The router's GraphQL endpoint.
    pub router: String,
    /// Seconds of load after set-up.
    pub seconds: u64,
    /// Customers acting at once.
    pub customers: usize,
}

/// Runs the load; fails only when the set-up cannot be done.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let soak = Arc::new(Soak::new(&options.router));
    println!("soak: registering {} customers", options.customers);
    let mut customers = Vec::new();
    let tag = run_tag();
    for i in 0..options.customers {
        let email = format!("soak-{tag}-{i}@bench.janta.test");
        customers.push(soak.register(&email).await?);
    }
    let vendor = soak.staff("vendor.ka@janta.test").await?;
    let pharmacist = soak.staff("pharmacist.ka@janta.test").await?;
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    println!(
        "soak: load started for {} s ({} customers, the KA pharmacy's vendor admin and pharmacist)",
        options.seconds, options.customers
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, customer) in customers.into_iter().enumerate() {
        let soak = soak.clone();
        tasks.push(tokio::spawn(async move {
            soak.customer_loop(customer, i as u64 + 1, deadline).await
        }));
    }
    let s = soak.clone();
    tasks.push(tokio::spawn(async move {
        s.vendor_loop(vendor, deadline).await
    }));
    let s = soak.clone();
    tasks.push(tokio::spawn(async move {
        s.pharmacist_loop(pharmacist, deadline).await
    }));
    let progress = tokio::spawn(progress(soak.clone(), deadline));
    for task in tasks {
        task.await?;
    }
    progress.abort();
    soak.report(started.elapsed());
    Ok(())
}

/// A signed-in person who signs in again when the token runs out.
struct Person {
    email: String,
    password: &'static str,
    token: RwLock<String>,
    /// A customer's delivery address (empty for staff).
    address_id: String,
}

/// A customer's state between actions.
struct Customer {
    person: Arc<Person>,
    /// Submitted prescriptions not yet seen approved or rejected.
    submitted: Vec<String>,
    /// An approved prescription for amoxicillin with packs left.
    approved: Option<String>,
}

/// A cash order for the pharmacy to deliver (and maybe take back).
struct Delivery {
    customer: Arc<Person>,
    order_id: String,
    /// Whether the customer returns it once delivered.
    returned: bool,
    /// When to try the next step (the order confirms through an event).
    due: Instant,
    tries: u32,
}

/// One operation's answers: succeeded, and failed by `extensions.code`.
type Outcomes = (u64, BTreeMap<String, u64>);

/// Shared state: the HTTP client, counters and the pharmacy's work queues.
struct Soak {
    router: String,
    http: reqwest::Client,
    requests: AtomicU64,
    outcomes: Mutex<BTreeMap<&'static str, Outcomes>>,
    /// Business events the load caused, by name.
    counts: Mutex<BTreeMap<&'static str, u64>>,
    first_errors: Mutex<BTreeMap<String, String>>,
    deliveries: Mutex<VecDeque<Delivery>>,
    /// Online payments the vendor refunds part of (with attempts so far:
    /// the capture arrives through the gateway's webhook).
    partial_refunds: Mutex<VecDeque<(String, u32)>>,
    /// Listings customers found out of stock, for the pharmacy to restock.
    wanted: Mutex<BTreeSet<&'static str>>,
}

impl Soak {
    fn new(router: &str) -> Self {
        Soak {
            router: router.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            requests: AtomicU64::new(0),
            outcomes: Mutex::default(),
            counts: Mutex::default(),
            first_errors: Mutex::default(),
            deliveries: Mutex::default(),
            partial_refunds: Mutex::default(),
            wanted: Mutex::default(),
        }
    }

    fn count(&self, what: &'static str) {
        *self.counts.lock().unwrap().entry(what).or_default() += 1;
    }

    /// Sends contract operation `op` as `who`; `Ok(data)` on success,
    /// `Err(code)` otherwise (`TRANSPORT` when no GraphQL answer came back).
    /// A refused token signs in again and retries once.
    async fn call(
        &self,
        who: Option<&Person>,
        op: &'static str,
        vars: Value,
    ) -> Result<Value, String> {
        let mut answer = self.send(who, op, &vars).await;
        if let (Some(person), Err(code)) = (who, &answer) {
            if code == "UNAUTHENTICATED" && self.sign_in(person).await.is_ok() {
                answer = self.send(who, op, &vars).await;
            }
        }
        answer
    }

    async fn send(
        &self,
        who: Option<&Person>,
        op: &'static str,
        vars: &Value,
    ) -> Result<Value, String> {
        self.send_body(who, op, &body(op, vars.clone())).await
    }

    /// Sends a request body (a contract operation, or `document` for the
    /// few calls the contract does not have), counted under `op`.
    async fn send_body(
        &self,
        who: Option<&Person>,
        op: &'static str,
        request: &Value,
    ) -> Result<Value, String> {
        let token = match who {
            Some(p) => Some(p.token.read().await.clone()),
            None => None,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = post(&self.http, &self.router, token.as_deref(), request).await;
        let outcome = match &answer {
            Ok(a) if succeeded(a) => Ok(a["data"].clone()),
            Ok(a) => Err((
                error_code(a).unwrap_or("NO_CODE").to_string(),
                a.to_string(),
            )),
            Err(e) => Err(("TRANSPORT".to_string(), format!("{e:#}"))),
        };
        self.tally(
            op,
            outcome
                .as_ref()
                .err()
                .map(|(c, m)| (c.as_str(), m.as_str())),
        );
        outcome.map_err(|(code, _)| code)
    }

    fn tally(&self, op: &'static str, failure: Option<(&str, &str)>) {
        let mut outcomes = self.outcomes.lock().unwrap();
        let entry = outcomes.entry(op).or_default();
        match failure {
            None => entry.0 += 1,
            Some((code, message)) => {
                *entry.1.entry(code.to_string()).or_default() += 1;
                self.first_errors
                    .lock()
                    .unwrap()
                    .entry(format!("{op} {code}"))
                    .or_insert_with(|| message.chars().take(300).collect());
            }
        }
    }

    /// A plain HTTP request outside GraphQL (checkout page, upload),
    /// counted like the others; whether it succeeded.
    async fn http(&self, op: &'static str, request: reqwest::RequestBuilder) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = match request.send().await {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some((format!("HTTP_{}", r.status().as_u16()), String::new())),
            Err(e) => Some(("TRANSPORT".to_string(), format!("{e:#}"))),
        };
        self.tally(op, outcome.as_ref().map(|(c, m)| (c.as_str(), m.as_str())));
        outcome.is_none()
    }

    // ---------------------------------------------------------------- people

    async fn sign_in(&self, person: &Person) -> Result<(), String> {
        let vars = json!({"email": person.email, "password": person.password});
        let data = self.send(None, "Login", &vars).await?;
        *person.token.write().await = data["login"]["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(())
    }

    async fn staff(&self, email: &str) -> anyhow::Result<Arc<Person>> {
        let person = Arc::new(Person {
            email: email.to_string(),
            password: DEMO_PASSWORD,
            token: RwLock::default(),
            address_id: String::new(),
        });
        retry_setup(|| self.sign_in(&person)).await?;
        Ok(person)
    }

    async fn register(&self, email: &str) -> anyhow::Result<Customer> {
        let input =
            json!({"input": {"email": email, "password": PASSWORD, "fullName": "Soak Customer"}});
        let registered = retry_setup(|| self.call(None, "Register", input.clone())).await;
        let person = Person {
            email: email.to_string(),
            password: PASSWORD,
            token: RwLock::default(),
            address_id: String::new(),
        };
        match registered {
            Ok(data) => {
                *person.token.write().await = data["register"]["accessToken"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
            // A retry after a lost answer finds the e-mail taken: sign in.
            Err(_) => retry_setup(|| self.sign_in(&person)).await?,
        }
        let address = json!({"input": {"label": "Home", "line1": "12 MG Road", "city": "Bengaluru",
                "state": "KA", "pincode": "560001", "isDefault": true}});
        let added = retry_setup(|| self.call(Some(&person), "AddAddress", address.clone())).await?;
        let address_id = added["addAddress"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(Customer {
            person: Arc::new(Person {
                address_id,
                ..person
            }),
            submitted: Vec::new(),
            approved: None,
        })
    }

    // ------------------------------------------------------------- customers

    async fn customer_loop(&self, mut customer: Customer, seed: u64, deadline: Instant) {
        let mut rng = Rng::new(seed);
        while Instant::now() < deadline {
            let roll = rng.below(100);
            match roll {
                0..=39 => self.browse(&customer.person, &mut rng).await,
                40..=57 => self.buy(&customer.person, &mut rng, Pay::Cash).await,
                58..=77 => self.buy(&customer.person, &mut rng, Pay::Online).await,
                78..=84 => {
                    self.buy(&customer.person, &mut rng, Pay::CancelUnpaid)
                        .await
                }
                85..=91 => self.submit_prescription(&mut customer).await,
                _ => self.buy_with_prescription(&mut customer, &mut rng).await,
            }
            tokio::time::sleep(Duration::from_millis(rng.below(200))).await;
        }
    }

    async fn browse(&self, who: &Person, rng: &mut Rng) {
        let _ = match rng.below(6) {
            0 => {
                self.call(
                    None,
                    "SearchMedicines",
                    json!({"search": SEARCHES[rng.below(5) as usize], "first": 10}),
                )
                .await
            }
            1 => {
                self.call(None, "MedicineDetail", json!({"id": PARACETAMOL}))
                    .await
            }
            2 => self.call(Some(who), "Dashboard", json!({})).await,
            3 => self.call(Some(who), "MyOrders", json!({"first": 10})).await,
            4 => self.call(Some(who), "Cart", json!({})).await,
            _ => {
                self.call(Some(who), "MyNotifications", json!({"first": 10}))
                    .await
            }
        };
    }

    /// Fills the cart and places the order (retrying with the same
    /// idempotency key when the answer was lost); the first order's ID.
    /// When it fails, the cart is emptied, so the next order starts afresh.
    async fn place(
        &self,
        who: &Person,
        listing: &'static str,
        quantity: u64,
        prescriptions: &[&str],
    ) -> Option<String> {
        let placed = self.try_place(who, listing, quantity, prescriptions).await;
        if let Err(code) = &placed {
            if code == "OUT_OF_STOCK" {
                self.count("out of stock");
                self.wanted.lock().unwrap().insert(listing);
            }
            self.empty_cart(who).await;
        }
        placed.ok()
    }

    async fn try_place(
        &self,
        who: &Person,
        listing: &str,
        quantity: u64,
        prescriptions: &[&str],
    ) -> Result<String, String> {
        let added = json!({"listingId": listing, "quantity": quantity});
        self.call(Some(who), "AddToCart", added).await?;
        let key = run_tag();
        let input = json!({"input": {"addressId": who.address_id, "prescriptionIds": prescriptions,
                "idempotencyKey": key}});
        let mut last = String::new();
        for _ in 0..3 {
            match self.call(Some(who), "PlaceOrder", input.clone()).await {
                Ok(data) => {
                    self.count("orders placed");
                    let id = data["placeOrder"]["orders"][0]["id"]
                        .as_str()
                        .unwrap_or_default();
                    return Ok(id.to_string());
                }
                Err(code) if retryable(&code) => last = code,
                Err(code) => return Err(code),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Err(last)
    }

    /// Removes every line of the customer's cart.
    async fn empty_cart(&self, who: &Person) {
        let Ok(cart) = self.call(Some(who), "Cart", json!({})).await else {
            return;
        };
        for line in cart["cart"]["lines"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let request = json!({"query": REMOVE_CART_LINE, "operationName": "RemoveCartLine",
                    "variables": {"lineId": line["id"]}});
            let _ = self.send_body(Some(who), "RemoveCartLine", &request).await;
        }
    }

    async fn buy(&self, who: &Arc<Person>, rng: &mut Rng, pay: Pay) {
        let listing = OTC_LISTINGS[rng.below(OTC_LISTINGS.len() as u64) as usize];
        let Some(order_id) = self.place(who, listing, 1 + rng.below(2), &[]).await else {
            return;
        };
        match pay {
            Pay::CancelUnpaid => {
                if self.cancel(who, &order_id, "changed my mind").await {
                    self.count("cancelled before paying");
                }
            }
            Pay::Cash => {
                let paid = self
                    .call(
                        Some(who),
                        "PayOrder",
                        json!({"orderId": order_id, "method": "CASH_ON_DELIVERY"}),
                    )
                    .await;
                if paid.is_ok() {
                    self.count("paid cash on delivery");
                    self.deliveries.lock().unwrap().push_back(Delivery {
                        customer: who.clone(),
                        order_id,
                        returned: rng.below(100) < 35,
                        due: Instant::now() + Duration::from_secs(2),
                        tries: 0,
                    });
                }
            }
            Pay::Online => self.pay_online(who, &order_id, rng).await,
        }
    }

    /// Pays by UPI on the sandbox gateway's checkout page (one in ten
    /// fails); then maybe cancels the paid order, or has part refunded.
    async fn pay_online(&self, who: &Person, order_id: &str, rng: &mut Rng) {
        let Ok(paid) = self
            .call(
                Some(who),
                "PayOrder",
                json!({"orderId": order_id, "method": "UPI"}),
            )
            .await
        else {
            return;
        };
        let (Some(url), Some(payment_id)) = (
            paid["payOrder"]["checkoutUrl"].as_str(),
            paid["payOrder"]["payment"]["id"].as_str(),
        ) else {
            return;
        };
        let outcome = if rng.below(10) == 0 {
            "failure"
        } else {
            "success"
        };
        let page = self.http.post(url).form(&[("outcome", outcome)]);
        if !self.http("checkout page", page).await {
            return;
        }
        if outcome == "failure" {
            self.count("online payments failed");
            return;
        }
        self.count("online payments made");
        match rng.below(100) {
            0..=19
                if self.confirmed(who, order_id).await
                    && self.cancel(who, order_id, "ordered twice").await =>
            {
                self.count("cancelled after paying");
            }
            20..=34 => self
                .partial_refunds
                .lock()
                .unwrap()
                .push_back((payment_id.to_string(), 0)),
            _ => {}
        }
    }

    /// Waits (up to 15 s) for an order to be confirmed.
    async fn confirmed(&self, who: &Person, order_id: &str) -> bool {
        for _ in 0..30 {
            if let Ok(d) = self
                .call(Some(who), "OrderDetail", json!({"id": order_id}))
                .await
            {
                if d["order"]["status"] == "CONFIRMED" {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }

    async fn cancel(&self, who: &Person, order_id: &str, reason: &str) -> bool {
        self.call(
            Some(who),
            "CancelOrder",
            json!({"id": order_id, "reason": reason}),
        )
        .await
        .is_ok()
    }

    /// Uploads a prescription (a one-page PDF) and submits it to the KA pharmacy.
    async fn submit_prescription(&self, customer: &mut Customer) {
        if customer.submitted.len() >= 2 {
            return self.check_prescriptions(customer).await;
        }
        let who = &customer.person;
        let Ok(created) = self
            .call(Some(who), "CreatePrescriptionUpload", json!({}))
            .await
        else {
            return;
        };
        let upload = &created["createPrescriptionUpload"];
        let (Some(id), Some(url)) = (upload["uploadId"].as_str(), upload["uploadUrl"].as_str())
        else {
            return;
        };
        let put = self
            .http
            .put(url)
            .header("content-type", "application/pdf")
            .body(PRESCRIPTION_PDF);
        if !self.http("prescription upload", put).await {
            return;
        }
        let input = json!({"input": {"uploadId": id, "patientName": "Soak Customer",
                "doctorName": "Dr. Arvind Menon", "doctorRegistrationNumber": "KMC-48213",
                "issuedOn": date_in_days(0), "vendorId": VENDOR_KA}});
        if let Ok(submitted) = self.call(Some(who), "SubmitPrescription", input).await {
            self.count("prescriptions submitted");
            if let Some(id) = submitted["submitPrescription"]["id"].as_str() {
                customer.submitted.push(id.to_string());
            }
        }
    }

    /// Looks up what the pharmacist decided on this customer's prescriptions.
    async fn check_prescriptions(&self, customer: &mut Customer) {
        let Ok(mine) = self
            .call(
                Some(&customer.person),
                "MyPrescriptions",
                json!({"first": 20}),
            )
            .await
        else {
            return;
        };
        let edges = mine["myPrescriptions"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for edge in edges {
            let (id, status) = (
                edge["node"]["id"].as_str().unwrap_or(""),
                &edge["node"]["status"],
            );
            if status == "SUBMITTED" || !customer.submitted.iter().any(|s| s == id) {
                continue;
            }
            customer.submitted.retain(|s| s != id);
            if status == "APPROVED" {
                customer.approved = Some(id.to_string());
            }
        }
    }

    /// One pack of amoxicillin against an approved prescription, paid online.
    async fn buy_with_prescription(&self, customer: &mut Customer, rng: &mut Rng) {
        let Some(prescription) = customer.approved.clone() else {
            return self.check_prescriptions(customer).await;
        };
        let who = customer.person.clone();
        let Some(order_id) = self
            .place(&who, AMOXICILLIN_KA_LISTING, 1, &[&prescription])
            .await
        else {
            // Used up, expired, or the line was refused: ask for a new one.
            customer.approved = None;
            return;
        };
        self.count("prescription orders");
        self.pay_online(&who, &order_id, rng).await;
    }

    // ------------------------------------------------------------- the pharmacy

    async fn vendor_loop(&self, vendor: Arc<Person>, deadline: Instant) {
        let mut round = 0u64;
        while Instant::now() < deadline {
            if round.is_multiple_of(5) {
                self.restock(&vendor).await;
            }
            for _ in 0..4 {
                self.deliver_one(&vendor).await;
            }
            let refund = self.partial_refunds.lock().unwrap().pop_front();
            if let Some(refund) = refund {
                self.refund_part(&vendor, refund).await;
            }
            round += 1;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Refunds ₹1 of an online payment; one not captured yet (its
    /// webhook is on the way) is tried again later.
    async fn refund_part(&self, vendor: &Person, (payment_id, tries): (String, u32)) {
        let vars =
            json!({"paymentId": payment_id, "amount": "1.00", "reason": "one strip damaged"});
        match self.call(Some(vendor), "RefundPayment", vars).await {
            Ok(_) => self.count("partial refunds"),
            Err(code) if code == "CONFLICT" && tries < 20 => {
                self.partial_refunds
                    .lock()
                    .unwrap()
                    .push_back((payment_id, tries + 1));
            }
            Err(_) => {}
        }
    }

    /// Receives a batch of every listing running low or found sold out.
    async fn restock(&self, vendor: &Person) {
        let wanted = std::mem::take(&mut *self.wanted.lock().unwrap());
        for (i, listing) in OTC_LISTINGS
            .iter()
            .chain([&AMOXICILLIN_KA_LISTING])
            .enumerate()
        {
            let Ok(stock) = self
                .call(Some(vendor), "ListingStock", json!({"id": listing}))
                .await
            else {
                continue;
            };
            if stock["listing"]["stock"].as_i64().unwrap_or(0) >= RESTOCK_BELOW
                && !wanted.contains(listing)
            {
                continue;
            }
            let input = json!({"input": {"listingId": listing, "batchNumber": format!("S{}{i}", run_tag()),
                    "expiresOn": "2031-12-31", "quantity": RESTOCK_PACKS}});
            if self.call(Some(vendor), "ReceiveBatch", input).await.is_ok() {
                self.count("batches received");
            }
        }
    }

    /// Moves the oldest due cash order one step towards delivery (and,
    /// once delivered, through the customer's return and its approval).
    async fn deliver_one(&self, vendor: &Person) {
        let next = {
            let mut queue = self.deliveries.lock().unwrap();
            let due = queue.iter().position(|d| d.due <= Instant::now());
            due.and_then(|i| queue.remove(i))
        };
        let Some(mut delivery) = next else { return };
        let detail = self
            .call(
                Some(&delivery.customer),
                "OrderDetail",
                json!({"id": delivery.order_id}),
            )
            .await;
        let Ok(detail) = detail else {
            return self.later(delivery);
        };
        let order = &detail["order"];
        let next_status = match order["status"].as_str().unwrap_or("") {
            "CONFIRMED" => "PACKED",
            "PACKED" => "OUT_FOR_DELIVERY",
            "OUT_FOR_DELIVERY" => "DELIVERED",
            "DELIVERED" if delivery.returned => {
                return self.take_back(vendor, &delivery, order).await
            }
            "DELIVERED" => return,
            "PENDING_PAYMENT" => return self.later(delivery),
            _ => return,
        };
        let vars = json!({"id": delivery.order_id, "to": next_status});
        if self.call(Some(vendor), "AdvanceOrder", vars).await.is_ok() && next_status == "DELIVERED"
        {
            self.count("cash orders delivered");
        }
        delivery.tries = 0;
        self.later(delivery);
    }

    fn later(&self, mut delivery: Delivery) {
        delivery.tries += 1;
        if delivery.tries > 40 {
            return;
        }
        delivery.due = Instant::now() + Duration::from_millis(500);
        self.deliveries.lock().unwrap().push_back(delivery);
    }

    /// The customer returns every line as damaged; the pharmacy approves
    /// (refund to the payment, packs to quarantine).
    async fn take_back(&self, vendor: &Person, delivery: &Delivery, order: &Value) {
        let lines: Vec<Value> = order["lines"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|l| json!({"lineId": l["id"], "quantity": l["quantity"]}))
                    .collect()
            })
            .unwrap_or_default();
        let input = json!({"input": {"orderId": delivery.order_id, "reason": "DAMAGED",
                "note": "crushed box", "lines": lines}});
        let Ok(requested) = self
            .call(Some(&delivery.customer), "RequestReturn", input)
            .await
        else {
            return;
        };
        self.count("returns requested");
        let Some(return_id) = requested["requestReturn"]["id"].as_str() else {
            return;
        };
        let review =
            json!({"input": {"returnId": return_id, "approve": true, "note": "refund approved"}});
        if self
            .call(Some(vendor), "ReviewReturn", review)
            .await
            .is_ok()
        {
            self.count("returns approved");
        }
    }

    async fn pharmacist_loop(&self, pharmacist: Arc<Person>, deadline: Instant) {
        let mut rng = Rng::new(0x5eed);
        while Instant::now() < deadline {
            let queue = self
                .call(
                    Some(&pharmacist),
                    "PrescriptionsToReview",
                    json!({"first": 20}),
                )
                .await;
            let edges = queue
                .ok()
                .and_then(|q| q["prescriptionsToReview"]["edges"].as_array().cloned())
                .unwrap_or_default();
            for edge in edges.iter().filter(|e| e["node"]["status"] == "SUBMITTED") {
                let id = edge["node"]["id"].clone();
                let input = if rng.below(5) == 0 {
                    json!({"input": {"prescriptionId": id, "decision": "REJECT", "notes": "illegible"}})
                } else {
                    json!({"input": {"prescriptionId": id, "decision": "APPROVE",
                        "lines": [{"medicineId": AMOXICILLIN, "maxQuantity": 2}],
                        "validUntil": date_in_days(20), "notes": "5 days course"}})
                };
                if self
                    .call(Some(&pharmacist), "ReviewPrescription", input)
                    .await
                    .is_ok()
                {
                    self.count("prescriptions reviewed");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    // ------------------------------------------------------------- reporting

    fn totals(&self) -> (u64, u64) {
        let outcomes = self.outcomes.lock().unwrap();
        let ok = outcomes.values().map(|(ok, _)| ok).sum();
        let failed = outcomes.values().flat_map(|(_, f)| f.values()).sum();
        (ok, failed)
    }

    fn report(&self, elapsed: Duration) {
        let requests = self.requests.load(Ordering::Relaxed);
        let (ok, failed) = self.totals();
        println!(
            "\nsoak load: {requests} requests in {:.0} s ({:.1}/s), {ok} succeeded, {failed} failed",
            elapsed.as_secs_f64(),
            requests as f64 / elapsed.as_secs_f64()
        );
        println!(
            "  {:<28} {:>8} {:>8}  failures by code",
            "operation", "ok", "failed"
        );
        for (op, (ok, failures)) in self.outcomes.lock().unwrap().iter() {
            let n: u64 = failures.values().sum();
            let codes: Vec<String> = failures.iter().map(|(c, k)| format!("{c} {k}")).collect();
            println!("  {op:<28} {ok:>8} {n:>8}  {}", codes.join(", "));
        }
        let counts = self.counts.lock().unwrap();
        println!("  what happened:");
        for (what, n) in counts.iter() {
            println!("    {what}: {n}");
        }
        println!("  first failure of each kind:");
        for (what, message) in self.first_errors.lock().unwrap().iter() {
            println!("    {what}: {message}");
        }
        let get = |k: &str| counts.get(k).copied().unwrap_or(0);
        println!(
            "SOAK-SUMMARY requests={requests} failed={failed} checkouts={} payments_cash={} payments_online={} payments_failed={} refunds={} cancellations={} returns={} prescriptions_reviewed={}",
            get("orders placed"),
            get("paid cash on delivery"),
            get("online payments made"),
            get("online payments failed"),
            get("partial refunds") + get("returns approved") + get("cancelled after paying"),
            get("cancelled before paying") + get("cancelled after paying"),
            get("returns approved"),
            get("prescriptions reviewed"),
        );
    }
}

/// Prints requests and failures every 30 s, so the log shows the faults.
async fn progress(soak: Arc<Soak>, deadline: Instant) {
    let started = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let (ok, failed) = soak.totals();
        println!(
            "soak: {:>4} s  {} requests, {ok} succeeded, {failed} failed",
            started.elapsed().as_secs(),
            soak.requests.load(Ordering::Relaxed)
        );
    }
}

/// How a customer settles an order.
#[derive(Clone, Copy)]
enum Pay {
    Cash,
    Online,
    CancelUnpaid,
}

/// Failures worth retrying with the same idempotency key: the answer was
/// lost or a process was down, not a refusal.
fn retryable(code: &str) -> bool {
    matches!(
        code,
        "TRANSPORT" | "INTERNAL" | "NO_CODE" | "SUBGRAPH_UNAVAILABLE" | "UNAVAILABLE"
    ) || code.starts_with("SUBREQUEST")
}

/// Retries a set-up step for up to a minute (the platform may be starting).
async fn retry_setup<T, F, Fut>(mut step: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut last = String::new();
    for _ in 0..60 {
        match step().await {
            Ok(v) => return Ok(v),
            Err(code) => last = code,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("set-up kept failing: {last}")
}

/// A small deterministic random source (xorshift64*), so the load needs no
/// extra crate and a run's mix is the same each time.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// The UTC date `days` from today, as `YYYY-MM-DD` (never later than
/// India's today for 0, so a prescription is never issued in the future).
fn date_in_days(days: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = crate::civil_date(secs / 86_400 + days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Not in the client contract: removing a cart line by hand.
const REMOVE_CART_LINE: &str =
    "mutation RemoveCartLine($lineId: ID!) { removeCartLine(lineId: $lineId) { id } }";

/// A one-page PDF, as a phone's scan of a prescription would be.
const PRESCRIPTION_PDF: &str = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n\
trailer << /Root 1 0 R >>\n%%EOF\n";
