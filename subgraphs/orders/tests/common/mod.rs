//! The orders subgraph under test with its REAL peers built in-process:
//! users (token issuer, addresses, vendor states; demo data seeded), catalog
//! (prices, stock, reservations; demo data seeded) and prescriptions. The
//! peers run on SQLite; orders runs on the backend of the test. Catalog
//! consumes from an in-process event bus on which the test delivers users'
//! events itself ([`Stack::deliver_users_event`]), so it decides when an
//! event published by users (kept in users' outbox) arrives. Tokens of
//! demo staff are signed with users' development key, so every subgraph
//! verifies them against users' JWKS exactly as in production.

#![allow(dead_code)]

use janta_events::types::{Event, VendorVerified};
use janta_events::{InProcessBus, Runtime, Transport};
use janta_orders::{OrdersSettings, OrdersState};
use janta_platform::auth::{Principal, Role, TokenSigner};
use janta_platform::demo::{
    ADMIN_ID, CUSTOMER_ID, PHARMACIST_KA_ID, VENDOR_KA_ADMIN_ID, VENDOR_KA_ID, VENDOR_MH_ADMIN_ID,
    VENDOR_MH_ID,
};
use janta_platform::store::Store;
use janta_testkit::{config, serve, Backend, Gql, TestDb};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub use janta_catalog::demo as catalog_demo;

/// Everything a test talks to.
pub struct Stack {
    /// Orders, directly.
    pub orders: Gql,
    /// Catalog, directly.
    pub catalog: Gql,
    /// Users, directly.
    pub users: Gql,
    /// Prescriptions, directly.
    pub prescriptions: Gql,
    /// Base URL of prescriptions (uploads).
    pub prescriptions_base: String,
    /// Orders' shared state (sweeper, event handlers).
    pub state: Arc<OrdersState>,
    /// Catalog's store, to check reservations and stock.
    pub catalog_store: Store,
    /// Users' store, to read what users published (e.g. verification codes).
    pub users_store: Store,
    /// The bus catalog consumes users' events from.
    pub bus: InProcessBus,
    signer: TokenSigner,
    _dbs: Vec<TestDb>,
}

/// Settings for tests: no background sweeper (tests sweep by hand).
pub fn test_settings() -> OrdersSettings {
    OrdersSettings {
        run_sweeper: false,
        ..OrdersSettings::default()
    }
}

impl Stack {
    /// Starts users, catalog, prescriptions and orders (orders on `db`).
    pub async fn start(db: TestDb) -> Stack {
        Self::start_with(db, test_settings()).await
    }

    /// Like [`Stack::start`] with explicit orders settings.
    pub async fn start_with(db: TestDb, settings: OrdersSettings) -> Stack {
        // Logs when RUST_LOG asks for them (a test process may already have a subscriber).
        if std::env::var("RUST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
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
        let bus = InProcessBus::new();
        let (router, catalog_store) = janta_catalog::build_with(
            &config("catalog", &catalog_db, &jwks),
            &Runtime::new(bus.clone()),
        )
        .await
        .expect("catalog builds");
        janta_catalog::demo::seed(&catalog_store)
            .await
            .expect("catalog demo");
        let catalog_base = serve(router).await;

        let rx_db = TestDb::new(Backend::Sqlite).await;
        let (router, _rx_store) =
            janta_prescriptions::build(&config("prescriptions", &rx_db, &jwks))
                .await
                .expect("prescriptions builds");
        let rx_base = serve(router).await;

        let mut orders_config = config("orders", &db, &jwks);
        for (domain, base) in [
            ("users", &users_base),
            ("catalog", &catalog_base),
            ("prescriptions", &rx_base),
        ] {
            orders_config
                .peers
                .insert(domain.to_string(), format!("{base}/graphql"));
        }
        let (router, state) =
            janta_orders::build_with_settings(&orders_config, &Runtime::standalone(), settings)
                .await
                .expect("orders builds");
        let orders_base = serve(router).await;
        Stack {
            orders: Gql::new(format!("{orders_base}/graphql")),
            catalog: Gql::new(format!("{catalog_base}/graphql")),
            users: Gql::new(format!("{users_base}/graphql")),
            prescriptions: Gql::new(format!("{rx_base}/graphql")),
            prescriptions_base: rx_base,
            state,
            catalog_store,
            users_store,
            bus,
            signer: TokenSigner::from_pem(janta_users::DEV_SIGNING_KEY, "janta", "janta-api")
                .expect("dev key"),
            _dbs: vec![db, users_db, catalog_db, rx_db],
        }
    }

    /// Publishes a users event (stamped now) on the bus and waits until
    /// catalog's consumer settled it.
    pub async fn deliver_users_event<E: Event>(&self, event: &E) {
        let envelope =
            janta_events::envelope(event, &janta_platform::cause::Cause::new(ADMIN_ID, None));
        let receipt = self
            .bus
            .publish("users", &[envelope])
            .await
            .expect("published");
        receipt.wait().await.expect("settled by catalog");
    }

    /// Registers a new Karnataka pharmacy in users (admin), not verified
    /// yet; returns its ID.
    pub async fn create_vendor(&self) -> String {
        let input = json!({"input": {"name": "Nandi Medicals", "legalName": "Nandi Medicals LLP",
            "gstin": "29NANDI1234F1Z6", "drugLicenceNumber": "KA-BLR-20B-77", "state": "KA",
            "branch": {"name": "Jayanagar", "line1": "4 Main Road", "city": "Bengaluru", "state": "KA", "pincode": "560041"}}});
        let data = self
            .users
            .data(
                Some(&self.admin()),
                "mutation($input: CreateVendorInput!) { createVendor(input: $input) { id } }",
                input,
            )
            .await;
        data["createVendor"]["id"].as_str().unwrap().to_string()
    }

    /// Runs an admin mutation on users that takes the vendor as `$id`
    /// (`verifyVendor`, `suspendVendor`, `reinstateVendor`).
    pub async fn admin_on_vendor(&self, mutation: &str, vendor_id: &str) {
        self.users
            .data(Some(&self.admin()), mutation, json!({ "id": vendor_id }))
            .await;
    }

    /// Verifies a vendor in users (admin) and delivers the `VendorVerified`
    /// it published to catalog.
    pub async fn verify_vendor(&self, vendor_id: &str) {
        self.admin_on_vendor(
            "mutation($id: ID!) { verifyVendor(id: $id) { id } }",
            vendor_id,
        )
        .await;
        self.deliver_users_event(&VendorVerified {
            vendor_id: vendor_id.to_string(),
        })
        .await;
    }

    /// Orders' store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// A token for `subject` with `roles` (and vendor for staff).
    pub fn token(&self, subject: &str, roles: &[Role], vendor: Option<&str>) -> String {
        self.signer
            .sign(
                &Principal {
                    subject: subject.to_string(),
                    roles: roles.to_vec(),
                    vendor_id: vendor.map(str::to_string),
                    scopes: vec![],
                },
                Duration::from_secs(600),
            )
            .expect("sign")
            .0
    }

    /// The demo customer (Bengaluru, KA; address `CUSTOMER_ADDRESS_ID`).
    pub fn customer(&self) -> String {
        self.token(CUSTOMER_ID, &[Role::Customer], None)
    }

    /// The KA vendor's admin.
    pub fn ka_staff(&self) -> String {
        self.token(VENDOR_KA_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_KA_ID))
    }

    /// The KA vendor's pharmacist.
    pub fn ka_pharmacist(&self) -> String {
        self.token(PHARMACIST_KA_ID, &[Role::Pharmacist], Some(VENDOR_KA_ID))
    }

    /// The MH vendor's admin.
    pub fn mh_staff(&self) -> String {
        self.token(VENDOR_MH_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_MH_ID))
    }

    /// The platform admin.
    pub fn admin(&self) -> String {
        self.token(ADMIN_ID, &[Role::Admin], None)
    }

    /// A service principal's token, shaped like the users token endpoint
    /// issues them (its scope names the service).
    pub fn service(&self, name: &str) -> String {
        let principal = Principal {
            subject: format!("service:{name}"),
            roles: vec![Role::Service],
            vendor_id: None,
            scopes: vec![janta_platform::auth::service_scope(name)],
        };
        self.signer
            .sign(&principal, Duration::from_secs(600))
            .expect("sign")
            .0
    }

    /// Registers a customer through users with an address in `state`;
    /// returns (access token, user ID, address ID).
    pub async fn register_customer(&self, state: &str) -> (String, String, String) {
        let email = format!("c{}@example.com", uuid::Uuid::new_v4().simple());
        let auth = self
            .users
            .data(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
                json!({ "input": { "email": email, "password": "a long password", "fullName": "Test Buyer" } }),
            )
            .await;
        let token = auth["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let user_id = auth["register"]["user"]["id"].as_str().unwrap().to_string();
        let added = self
            .users
            .data(
                Some(&token),
                "mutation($input: AddressInput!) { addAddress(input: $input) { id } }",
                json!({ "input": { "line1": "1 Test Street", "city": "Somewhere", "state": state, "pincode": "560001" } }),
            )
            .await;
        let address_id = added["addAddress"]["id"].as_str().unwrap().to_string();
        (token, user_id, address_id)
    }

    /// Sets a vendor's price for a demo medicine (creating or updating its
    /// listing); returns the listing ID.
    pub async fn set_price(
        &self,
        staff: &str,
        medicine_id: &str,
        price: &str,
        mrp: &str,
    ) -> String {
        let data = self
            .catalog
            .data(
                Some(staff),
                "mutation($input: UpsertListingInput!) { upsertListing(input: $input) { id } }",
                json!({ "input": { "medicineId": medicine_id, "price": price, "mrp": mrp } }),
            )
            .await;
        data["upsertListing"]["id"].as_str().unwrap().to_string()
    }

    /// Brings a listing's sellable stock to exactly `units`.
    pub async fn set_stock(&self, staff: &str, listing_id: &str, units: i64) {
        let now = self.available(listing_id).await;
        if now == units {
            return;
        }
        assert!(units < now, "set_stock only removes stock");
        self.catalog
            .data(
                Some(staff),
                "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { id } }",
                json!({ "input": { "listingId": listing_id, "delta": units - now, "reason": "test: stock count correction" } }),
            )
            .await;
        assert_eq!(self.available(listing_id).await, units);
    }

    /// Units of a listing held by reservations (catalog's own counter).
    pub async fn reserved(&self, listing_id: &str) -> i64 {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COALESCE(SUM(reserved), 0) FROM batches WHERE listing_id = $1")
                .bind(listing_id)
                .fetch_one(self.catalog_store.pool())
                .await
                .unwrap();
        n
    }

    /// Units on hand of a listing (reserved or not), unexpired batches only.
    pub async fn on_hand(&self, listing_id: &str) -> i64 {
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(SUM(quantity), 0) FROM batches WHERE listing_id = $1 AND expires_on > $2",
        )
        .bind(listing_id)
        .bind(today)
        .fetch_one(self.catalog_store.pool())
        .await
        .unwrap();
        n
    }

    /// Units of a listing a new order could get.
    pub async fn available(&self, listing_id: &str) -> i64 {
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(SUM(quantity - reserved), 0) FROM batches WHERE listing_id = $1 AND expires_on > $2",
        )
        .bind(listing_id)
        .bind(today)
        .fetch_one(self.catalog_store.pool())
        .await
        .unwrap();
        n
    }

    /// Catalog's reservation status for an order, if any.
    pub async fn reservation_status(&self, order_id: &str) -> Option<String> {
        sqlx::query_as::<_, (String,)>("SELECT status FROM reservations WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(self.catalog_store.pool())
            .await
            .unwrap()
            .map(|r| r.0)
    }

    /// A count over orders' store.
    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store().pool())
            .await
            .unwrap();
        n
    }

    /// Adds `quantity` of a listing to the cart of `token`.
    pub async fn add(&self, token: &str, listing_id: &str, quantity: i64) -> Value {
        self.orders
            .data(
                Some(token),
                ADD_TO_CART,
                json!({ "listingId": listing_id, "quantity": quantity }),
            )
            .await["addToCart"]
            .clone()
    }

    /// Places an order for `token` to `address` with `key`; returns the body.
    pub async fn place(&self, token: &str, address: &str, key: &str) -> Value {
        self.orders
            .send(
                Some(token),
                PLACE_ORDER,
                json!({ "input": { "addressId": address, "idempotencyKey": key } }),
            )
            .await
    }
}

/// Add to cart, selecting what this subgraph resolves itself.
pub const ADD_TO_CART: &str = "mutation($listingId: ID!, $quantity: Int!) { addToCart(listingId: $listingId, quantity: $quantity) { \
    id itemCount lines { id quantity listing { id } unitPrice { amount } lineTotal { amount } } subtotal { amount currency } } }";

/// The cart.
pub const CART: &str =
    "{ cart { id itemCount lines { id quantity listing { id } } subtotal { amount currency } } }";

/// Place order with everything a test checks.
pub const PLACE_ORDER: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { orders { \
    id status supply total { amount currency } taxableValue { amount } taxTotal { amount } \
    cgstTotal { amount } sgstTotal { amount } igstTotal { amount } paymentMethod \
    vendor { id } buyer { id } deliveryAddress { line1 city state pincode } \
    lines { id quantity medicineName medicineVersion schedule hsnCode gstRate unitPrice { amount } mrp { amount } \
      lineTotal { amount } taxableValue { amount } cgst { amount } sgst { amount } igst { amount } \
      medicine { id } listing { id } batches { batchNumber expiresOn quantity } } \
    statusHistory { status at actor note } } } }";

/// One order.
pub const ORDER: &str = "query($id: ID!) { order(id: $id) { id status total { amount } \
    cancellationReason statusHistory { status actor note } } }";
