//! The people a scenario needs, made through the router as clients make
//! them: distinct customers (registered, with an address and, when asked,
//! an order paid cash on delivery, so their Dashboard reaches every
//! subgraph), and the demo pharmacy's staff to put stock on the shelf.

use crate::client::{body, data};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

/// The demo pharmacy in Karnataka's paracetamol listing (demo data).
pub const KA_PARACETAMOL_LISTING: &str = "019a0000-0000-7000-8002-100000000001";
/// Paracetamol 500 mg (demo data): has alternatives and two listings.
pub const PARACETAMOL: &str = "019a0000-0000-7000-8001-000000000001";
/// The demo accounts' password (janta_platform::demo).
pub const DEMO_PASSWORD: &str = "demo-password-1";
/// The password of the customers the benchmark registers.
const PASSWORD: &str = "a-long-bench-password-7";

/// A signed-in customer of the benchmark.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The account's e-mail address, to sign in again.
    pub email: String,
    /// Bearer token (valid 15 minutes; [`sign_in_again`] renews it).
    pub token: String,
    /// The customer's delivery address (in Karnataka).
    pub address_id: String,
}

/// A run-unique tag, so repeated runs on one data directory register new
/// e-mail addresses.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}", nanos % 0xffff_ffff_ffff)
}

/// Registers `count` customers through `router`, each with an address and
/// (when `with_order`) one paid order, four at a time.
pub async fn register(
    router: &str,
    count: usize,
    with_order: bool,
) -> anyhow::Result<Vec<Customer>> {
    let http = reqwest::Client::new();
    let tag = run_tag();
    stream::iter(0..count)
        .map(|i| {
            let (http, tag) = (http.clone(), tag.clone());
            async move {
                one(
                    &http,
                    router,
                    &format!("bench-{tag}-{i}@bench.janta.test"),
                    with_order,
                )
                .await
            }
        })
        .buffered(4)
        .try_collect()
        .await
}

async fn one(
    http: &reqwest::Client,
    router: &str,
    email: &str,
    with_order: bool,
) -> anyhow::Result<Customer> {
    let registered = data(
        http,
        router,
        None,
        &body(
            "Register",
            json!({"input": {"email": email, "password": PASSWORD, "fullName": "Bench Customer"}}),
        ),
    )
    .await?;
    let token = registered["register"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token for {email}: {registered}"))?
        .to_string();
    let address = data(
        http,
        router,
        Some(&token),
        &body(
            "AddAddress",
            json!({"input": {"label": "Home", "line1": "12 MG Road", "city": "Bengaluru",
                    "state": "KA", "pincode": "560001", "isDefault": true}}),
        ),
    )
    .await?;
    let customer = Customer {
        email: email.to_string(),
        token,
        address_id: address["addAddress"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    if with_order {
        // A failure here is the platform's, not the benchmark's: say so,
        // retry a little, and fail the setup only when it persists.
        let mut attempt = 0;
        while let Err(e) = order_paid_on_delivery(http, router, &customer).await {
            attempt += 1;
            eprintln!("setup: ordering for {email} failed (attempt {attempt}): {e}");
            anyhow::ensure!(attempt < 3, "setup failed: {e}");
        }
    }
    Ok(customer)
}

/// One pack of paracetamol, ordered and paid cash on delivery.
async fn order_paid_on_delivery(
    http: &reqwest::Client,
    router: &str,
    customer: &Customer,
) -> anyhow::Result<()> {
    let token = Some(customer.token.as_str());
    data(
        http,
        router,
        token,
        &body(
            "AddToCart",
            json!({"listingId": KA_PARACETAMOL_LISTING, "quantity": 1}),
        ),
    )
    .await?;
    let placed = data(
        http,
        router,
        token,
        &body(
            "PlaceOrder",
            json!({"input": {"addressId": customer.address_id, "idempotencyKey": run_tag()}}),
        ),
    )
    .await?;
    let order = placed["placeOrder"]["orders"][0]["id"]
        .as_str()
        .unwrap_or_default();
    data(
        http,
        router,
        token,
        &body(
            "PayOrder",
            json!({"orderId": order, "method": "CASH_ON_DELIVERY"}),
        ),
    )
    .await?;
    Ok(())
}

/// Signs each of `customers` in again, for a fresh token: a load longer
/// than a token's life (15 minutes) renews them between its rounds.
pub async fn sign_in_again(router: &str, customers: &mut [Customer]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for customer in customers {
        let variables = json!({"email": customer.email, "password": PASSWORD});
        let signed_in = data(&http, router, None, &body("Login", variables)).await?;
        customer.token = signed_in["login"]["accessToken"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("{} could not sign in: {signed_in}", customer.email))?
            .to_string();
    }
    Ok(())
}

/// Signs in a demo account; returns its token.
pub async fn demo_login(router: &str, email: &str) -> anyhow::Result<String> {
    let signed_in = data(
        &reqwest::Client::new(),
        router,
        None,
        &body("Login", json!({"email": email, "password": DEMO_PASSWORD})),
    )
    .await?;
    Ok(signed_in["login"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Receives a batch of `quantity` packs on the KA paracetamol listing as
/// the demo pharmacy's staff; returns the listing's stock afterwards.
pub async fn receive_stock(router: &str, quantity: i64) -> anyhow::Result<i64> {
    let vendor = demo_login(router, "vendor.ka@janta.test").await?;
    let received = data(
        &reqwest::Client::new(),
        router,
        Some(&vendor),
        &body(
            "ReceiveBatch",
            json!({"input": {"listingId": KA_PARACETAMOL_LISTING, "batchNumber": format!("B{}", run_tag()),
                    "expiresOn": "2031-12-31", "quantity": quantity}}),
        ),
    )
    .await?;
    stock_of(&received["receiveBatch"])
}

/// The KA paracetamol listing's stock as a customer sees it.
pub async fn listing_stock(router: &str) -> anyhow::Result<i64> {
    let detail = data(
        &reqwest::Client::new(),
        router,
        None,
        &body("MedicineDetail", json!({"id": PARACETAMOL})),
    )
    .await?;
    let listing = detail["medicine"]["listings"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["id"] == KA_PARACETAMOL_LISTING))
        .ok_or_else(|| anyhow::anyhow!("no KA paracetamol listing: {detail}"))?;
    stock_of(listing)
}

fn stock_of(listing: &Value) -> anyhow::Result<i64> {
    listing["stock"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no stock in {listing}"))
}
