//! payOrder against the REAL users, catalog, prescriptions and orders
//! subgraphs built in-process and sharing one in-process event bus (as in
//! `janta dev`), payments on SQLite and PostgreSQL: the whole checkout
//! (cart → order → payOrder → sandbox checkout → webhook → PaymentSucceeded →
//! order CONFIRMED, stock committed), a failed payment cancelling the order,
//! cash on delivery, the automatic refund of a cancelled paid order, and
//! every refusal of payOrder.

mod common;

use janta_catalog::demo as catalog_demo;
use janta_events::{InProcessBus, Runtime};
use janta_orders::{OrdersSettings, OrdersState};
use janta_payments::gateway::{
    signature_header, Chaos, SandboxEvent, SandboxEventData, SIGNATURE_HEADER,
};
use janta_payments::{PaymentsOptions, PaymentsState};
use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::config::DEV_WEBHOOK_SECRET;
use janta_platform::demo::*;
use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, serve, Backend, Gql, TestDb};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const PAY_ORDER: &str = "mutation($orderId: ID!, $method: PaymentMethod!) {
    payOrder(orderId: $orderId, method: $method) {
        checkoutUrl
        payment { id status method amount { amount currency } }
    } }";

const ORDER_PAYMENTS: &str = "query($r: [_Any!]!) { _entities(representations: $r) {
    ... on Order { id payments { id status method amount { amount currency } capturedAmount { amount } refundedAmount { amount } } } } }";

struct Stack {
    payments: Gql,
    payments_base: String,
    orders: Gql,
    catalog: Gql,
    users: Gql,
    payments_state: Arc<PaymentsState>,
    _orders_state: Arc<OrdersState>,
    catalog_store: Store,
    signer: TokenSigner,
    http: reqwest::Client,
    _dbs: Vec<TestDb>,
}

impl Stack {
    async fn start(db: TestDb) -> Stack {
        let bus = InProcessBus::new();
        let runtime = Runtime::new(bus);
        let users_db = TestDb::new(Backend::Sqlite).await;
        let (router, users_store) =
            janta_users::build(&config("users", &users_db, "http://127.0.0.1:9/unused"))
                .await
                .expect("users builds");
        janta_users::demo::seed(&users_store)
            .await
            .expect("users demo");
        let users_base = serve(router).await;
        let jwks = format!("{users_base}/.well-known/jwks.json");

        let catalog_db = TestDb::new(Backend::Sqlite).await;
        let (router, catalog_store) = janta_catalog::build(&config("catalog", &catalog_db, &jwks))
            .await
            .expect("catalog builds");
        catalog_demo::seed(&catalog_store)
            .await
            .expect("catalog demo");
        let catalog_base = serve(router).await;

        let rx_db = TestDb::new(Backend::Sqlite).await;
        let (router, _rx_store) =
            janta_prescriptions::build(&config("prescriptions", &rx_db, &jwks))
                .await
                .expect("prescriptions builds");
        let rx_base = serve(router).await;

        // Orders before payments: payments calls orders' service interface.
        let orders_db = TestDb::new(Backend::Sqlite).await;
        let mut orders_config = config("orders", &orders_db, &jwks);
        for (domain, base) in [
            ("users", &users_base),
            ("catalog", &catalog_base),
            ("prescriptions", &rx_base),
        ] {
            orders_config
                .peers
                .insert(domain.to_string(), format!("{base}/graphql"));
        }
        let settings = OrdersSettings {
            run_sweeper: false,
            ..OrdersSettings::default()
        };
        let (router, orders_state) =
            janta_orders::build_with_settings(&orders_config, &runtime, settings)
                .await
                .expect("orders builds");
        let orders_base = serve(router).await;

        let mut payments_config = config("payments", &db, &jwks);
        for (domain, base) in [("users", &users_base), ("orders", &orders_base)] {
            payments_config
                .peers
                .insert(domain.to_string(), format!("{base}/graphql"));
        }
        let (payments_base, payments_state) =
            common::serve_at_own_url(payments_config, |config| async move {
                let options = PaymentsOptions {
                    chaos: Chaos::default(),
                    refund_retry_interval: None,
                };
                janta_payments::build_with_options(&config, &runtime, options)
                    .await
                    .expect("payments builds")
            })
            .await;
        Stack {
            payments: Gql::new(format!("{payments_base}/graphql")),
            payments_base: payments_base.clone(),
            orders: Gql::new(format!("{orders_base}/graphql")),
            catalog: Gql::new(format!("{catalog_base}/graphql")),
            users: Gql::new(format!("{users_base}/graphql")),
            payments_state,
            _orders_state: orders_state,
            catalog_store,
            signer: TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api")
                .expect("dev key"),
            http: reqwest::Client::new(),
            _dbs: vec![db, users_db, catalog_db, rx_db, orders_db],
        }
    }

    fn token(&self, subject: &str, roles: &[Role], vendor: Option<&str>) -> String {
        let principal = Principal {
            subject: subject.to_string(),
            roles: roles.to_vec(),
            vendor_id: vendor.map(str::to_string),
            scopes: vec![],
        };
        self.signer
            .sign(&principal, Duration::from_secs(600))
            .expect("sign")
            .0
    }

    fn customer(&self) -> String {
        self.token(CUSTOMER_ID, &[Role::Customer], None)
    }

    fn ka_admin(&self) -> String {
        self.token(VENDOR_KA_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_KA_ID))
    }

    /// Another customer, registered through users.
    async fn stranger(&self) -> String {
        let email = format!("s{}@example.com", uuid::Uuid::new_v4().simple());
        let auth = self.users.data(None,
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            json!({ "input": { "email": email, "password": "a long password", "fullName": "Someone Else" } })).await;
        auth["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A PENDING_PAYMENT order of the demo customer: 2 × paracetamol at
    /// ₹15.00 from the KA vendor (₹30.00); returns (order ID, listing ID).
    async fn order(&self, payment_method: Option<&str>) -> (String, String) {
        let listing = self.catalog.data(Some(&self.ka_admin()),
            "mutation($input: UpsertListingInput!) { upsertListing(input: $input) { id } }",
            json!({ "input": { "medicineId": catalog_demo::PARACETAMOL_500_ID, "price": "15.00", "mrp": "20.00" } }))
            .await["upsertListing"]["id"].as_str().unwrap().to_string();
        let me = self.customer();
        self.orders
            .data(
                Some(&me),
                "mutation($l: ID!, $q: Int!) { addToCart(listingId: $l, quantity: $q) { id } }",
                json!({ "l": listing, "q": 2 }),
            )
            .await;
        let mut input = json!({ "addressId": CUSTOMER_ADDRESS_ID, "idempotencyKey": uuid::Uuid::new_v4().to_string() });
        if let Some(method) = payment_method {
            input["paymentMethod"] = json!(method);
        }
        let placed = self.orders.data(Some(&me),
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { orders { id status total { amount } } } }",
            json!({ "input": input })).await;
        let order = &placed["placeOrder"]["orders"][0];
        assert_eq!(order["total"]["amount"], "30.00", "{placed}");
        (order["id"].as_str().unwrap().to_string(), listing)
    }

    async fn pay(&self, token: &str, order_id: &str, method: &str) -> Value {
        self.payments
            .send(
                Some(token),
                PAY_ORDER,
                json!({ "orderId": order_id, "method": method }),
            )
            .await
    }

    async fn order_status(&self, order_id: &str) -> String {
        let data = self
            .orders
            .data(
                Some(&self.customer()),
                "query($id: ID!) { order(id: $id) { status } }",
                json!({ "id": order_id }),
            )
            .await;
        data["order"]["status"].as_str().unwrap().to_string()
    }

    async fn wait_order(&self, order_id: &str, status: &str) {
        for _ in 0..200 {
            if self.order_status(order_id).await == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "order {order_id} never became {status}: {}",
            self.order_status(order_id).await
        );
    }

    async fn reservation(&self, order_id: &str) -> Option<String> {
        sqlx::query_as::<_, (String,)>("SELECT status FROM reservations WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(self.catalog_store.pool())
            .await
            .unwrap()
            .map(|r| r.0)
    }

    async fn wait_reservation(&self, order_id: &str, status: &str) {
        for _ in 0..200 {
            if self.reservation(order_id).await.as_deref() == Some(status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "reservation of {order_id} never became {status}: {:?}",
            self.reservation(order_id).await
        );
    }

    async fn payments_of(&self, order_id: &str) -> Value {
        let data = self
            .payments
            .data(
                Some(&self.customer()),
                ORDER_PAYMENTS,
                json!({ "r": [{ "__typename": "Order", "id": order_id }] }),
            )
            .await;
        data["_entities"][0]["payments"].clone()
    }

    /// Waits until the order's latest payment has `status`; returns all.
    async fn wait_payment(&self, order_id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let payments = self.payments_of(order_id).await;
            let latest = payments
                .as_array()
                .and_then(|p| p.last())
                .cloned()
                .unwrap_or_default();
            if latest["status"] == status {
                return payments;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "payment of {order_id} never became {status}: {}",
            self.payments_of(order_id).await
        );
    }

    async fn checkout(&self, url: &str, outcome: &str) -> u16 {
        self.http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("outcome={outcome}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn outbox(&self, event_type: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(self.payments_state.store.pool())
            .await
            .unwrap();
        n
    }
}

both_backends! {
    async fn an_online_payment_confirms_the_order_and_commits_the_stock(db) {
        let s = Stack::start(db).await;
        let (order_id, _) = s.order(None).await;
        let me = s.customer();
        let body = s.pay(&me, &order_id, "UPI").await;
        let paid = &body["data"]["payOrder"];
        assert_eq!(paid["payment"]["status"], "CREATED", "{body}");
        assert_eq!(paid["payment"]["method"], "UPI");
        assert_eq!(paid["payment"]["amount"], json!({ "amount": "30.00", "currency": "INR" }));
        let url = paid["checkoutUrl"].as_str().expect("checkout URL").to_string();
        // Again: the same open payment, not a second one, also concurrently.
        let again = s.pay(&me, &order_id, "UPI").await;
        assert_eq!(again["data"]["payOrder"]["payment"]["id"], paid["payment"]["id"]);
        assert_eq!(again["data"]["payOrder"]["checkoutUrl"], url.as_str());
        let bodies = futures::future::join_all((0..5).map(|_| s.pay(&me, &order_id, "UPI"))).await;
        assert!(bodies.iter().all(|b| b["data"]["payOrder"]["payment"]["id"] == paid["payment"]["id"]), "{bodies:?}");
        // Another method before checkout: the open payment is superseded.
        let card = s.pay(&me, &order_id, "CARD").await;
        let card = &card["data"]["payOrder"];
        assert_ne!(card["payment"]["id"], paid["payment"]["id"], "{card}");
        assert_eq!(card["payment"]["status"], "CREATED");
        assert_eq!(s.checkout(&url, "success").await, 409, "the superseded checkout is closed");
        let card_url = card["checkoutUrl"].as_str().unwrap().to_string();

        assert_eq!(s.checkout(&card_url, "success").await, 202);
        s.wait_order(&order_id, "CONFIRMED").await;
        s.wait_reservation(&order_id, "COMMITTED").await;
        let payments = s.wait_payment(&order_id, "SUCCEEDED").await;
        assert_eq!(payments.as_array().unwrap().len(), 2);
        assert_eq!(payments[0]["status"], "FAILED");
        assert_eq!(payments[1]["method"], "CARD");
        assert_eq!(payments[1]["capturedAmount"]["amount"], "30.00");
        tokio::time::sleep(Duration::from_millis(800)).await; // duplicates, stale events
        assert_eq!(s.outbox("PaymentSucceeded").await, 1);
        assert_eq!(s.outbox("PaymentFailed").await, 0, "superseding does not cancel the order");
        // Paid: paying again conflicts.
        let late = s.pay(&me, &order_id, "UPI").await;
        assert_eq!(error_code(&late).as_deref(), Some("CONFLICT"), "{late}");
    }

    async fn a_failed_payment_cancels_the_order_and_releases_the_stock(db) {
        let s = Stack::start(db).await;
        let (order_id, _) = s.order(None).await;
        let me = s.customer();
        let body = s.pay(&me, &order_id, "CARD").await;
        let url = body["data"]["payOrder"]["checkoutUrl"].as_str().unwrap().to_string();
        assert_eq!(s.checkout(&url, "failure").await, 202);
        s.wait_order(&order_id, "CANCELLED").await;
        s.wait_reservation(&order_id, "RELEASED").await;
        s.wait_payment(&order_id, "FAILED").await;
        assert_eq!(s.outbox("PaymentFailed").await, 1);
        // A cancelled order cannot be paid.
        let retry = s.pay(&me, &order_id, "CARD").await;
        assert_eq!(error_code(&retry).as_deref(), Some("CONFLICT"), "{retry}");
    }

    async fn paying_someone_elses_order_or_a_cancelled_one_is_refused(db) {
        let s = Stack::start(db).await;
        let (order_id, _) = s.order(None).await;
        let stranger = s.stranger().await;
        let theirs = s.pay(&stranger, &order_id, "UPI").await;
        assert_eq!(error_code(&theirs).as_deref(), Some("FORBIDDEN"), "{theirs}");
        let vendor = s.pay(&s.ka_admin(), &order_id, "UPI").await;
        assert_eq!(error_code(&vendor).as_deref(), Some("FORBIDDEN"), "{vendor}");
        let anonymous = s.payments.send(None, PAY_ORDER, json!({ "orderId": order_id, "method": "UPI" })).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
        let missing = s.pay(&s.customer(), &janta_platform::ids::new_id(), "UPI").await;
        assert_eq!(error_code(&missing).as_deref(), Some("NOT_FOUND"), "{missing}");
        let garbage = s.pay(&s.customer(), "not-an-id", "UPI").await;
        assert_eq!(error_code(&garbage).as_deref(), Some("BAD_USER_INPUT"));
        assert_eq!(s.outbox("PaymentSucceeded").await, 0);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments").fetch_one(s.payments_state.store.pool()).await.unwrap();
        assert_eq!(n, 0);

        // Once the gateway is processing a payment, switching method conflicts.
        let upi = s.pay(&s.customer(), &order_id, "UPI").await;
        let upi_id = upi["data"]["payOrder"]["payment"]["id"].as_str().unwrap().to_string();
        let (reference,): (String,) = sqlx::query_as("SELECT gateway_payment_id FROM payments WHERE id = $1")
            .bind(&upi_id).fetch_one(s.payments_state.store.pool()).await.unwrap();
        let processing = SandboxEvent::new("payment.processing", SandboxEventData {
            payment_id: reference, reference: None, amount: Some(3_000), currency: None,
            failure_reason: None, refund_id: None,
        });
        let body = serde_json::to_vec(&processing).unwrap();
        let signature = signature_header(DEV_WEBHOOK_SECRET.as_bytes(), chrono::Utc::now().timestamp(), &body);
        let status = s.http.post(format!("{}/webhooks/sandbox", s.payments_base))
            .header(SIGNATURE_HEADER, signature).body(body).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 200);
        let switch = s.pay(&s.customer(), &order_id, "CARD").await;
        assert_eq!(error_code(&switch).as_deref(), Some("CONFLICT"), "{switch}");
        assert_eq!(switch["errors"][0]["extensions"]["details"]["paymentId"], upi_id.as_str());

        s.orders.data(Some(&s.customer()),
            "mutation($id: ID!) { cancelOrder(id: $id, reason: \"changed my mind\") { id status } }",
            json!({ "id": order_id })).await;
        let cancelled = s.pay(&s.customer(), &order_id, "UPI").await;
        assert_eq!(error_code(&cancelled).as_deref(), Some("CONFLICT"), "{cancelled}");
        // The open payment of the cancelled order fails with it.
        s.wait_payment(&order_id, "FAILED").await;
    }

    async fn cash_on_delivery_confirms_at_once_and_is_collected_on_delivery(db) {
        let s = Stack::start(db).await;
        let (order_id, _) = s.order(None).await;
        let body = s.pay(&s.customer(), &order_id, "CASH_ON_DELIVERY").await;
        let paid = &body["data"]["payOrder"];
        assert_eq!(paid["checkoutUrl"], Value::Null, "{body}");
        assert_eq!(paid["payment"]["status"], "PENDING");
        s.wait_order(&order_id, "CONFIRMED").await;
        s.wait_reservation(&order_id, "COMMITTED").await;
        let staff = s.ka_admin();
        for to in ["PACKED", "OUT_FOR_DELIVERY", "DELIVERED"] {
            let moved = s.orders.data(Some(&staff),
                "mutation($id: ID!, $to: OrderStatus!) { advanceOrder(id: $id, to: $to) { status } }",
                json!({ "id": order_id, "to": to })).await;
            assert_eq!(moved["advanceOrder"]["status"], to);
            if to != "DELIVERED" {
                assert_eq!(s.payments_of(&order_id).await[0]["status"], "PENDING");
            }
        }
        let payments = s.wait_payment(&order_id, "SUCCEEDED").await;
        assert_eq!(payments[0]["capturedAmount"]["amount"], "30.00");
        assert_eq!(s.outbox("PaymentSucceeded").await, 1);

        // Cash on delivery chosen at checkout: orders confirms by itself and
        // payments records the cash due from OrderPlaced.
        let (cod_order, _) = s.order(Some("CASH_ON_DELIVERY")).await;
        s.wait_order(&cod_order, "CONFIRMED").await;
        let payments = s.wait_payment(&cod_order, "PENDING").await;
        assert_eq!(payments[0]["method"], "CASH_ON_DELIVERY");
        assert_eq!(payments[0]["amount"]["amount"], "30.00");
    }

    async fn cancelling_a_paid_order_refunds_it_in_full(db) {
        let s = Stack::start(db).await;
        let (order_id, _) = s.order(None).await;
        let body = s.pay(&s.customer(), &order_id, "NETBANKING").await;
        let url = body["data"]["payOrder"]["checkoutUrl"].as_str().unwrap().to_string();
        assert_eq!(s.checkout(&url, "success").await, 202);
        s.wait_order(&order_id, "CONFIRMED").await;
        s.orders.data(Some(&s.customer()),
            "mutation($id: ID!) { cancelOrder(id: $id, reason: \"ordered by mistake\") { id status } }",
            json!({ "id": order_id })).await;
        let payments = s.wait_payment(&order_id, "REFUNDED").await;
        assert_eq!(payments[0]["refundedAmount"]["amount"], "30.00");
        // The refund's amount is reserved (status REFUNDED) in the consumer's
        // transaction; the gateway settles it just after the commit.
        for _ in 0..100 {
            if s.outbox("PaymentRefunded").await == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(s.outbox("PaymentRefunded").await, 1);
    }
}
