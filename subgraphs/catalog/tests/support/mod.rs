//! Shared set-up of the catalog tests: the subgraph on a random port with a
//! fresh database and its own in-process event bus (to deliver users'
//! events to its real consumer), a token issuer, tokens for each kind of
//! caller, and row counts.

#![allow(dead_code)]

use janta_catalog::CatalogSettings;
use janta_events::types::{Event, VendorVerified};
use janta_events::{Envelope, InProcessBus, Transport};
use janta_platform::auth::Role;
use janta_platform::demo::{
    ADMIN_ID, CUSTOMER_ID, PHARMACIST_MH_ID, VENDOR_KA_ADMIN_ID, VENDOR_KA_ID, VENDOR_MH_ID,
};
use janta_platform::store::Store;
use janta_testkit::{config, Gql, TestDb, TestIssuer};
use std::time::Duration;

/// A running catalog subgraph.
pub struct Catalog {
    pub gql: Gql,
    pub store: Store,
    pub issuer: TestIssuer,
    /// The bus catalog consumes from.
    pub bus: InProcessBus,
}

/// Settings for tests: default TTL, sweepers that never run during a test.
pub fn quiet_settings() -> CatalogSettings {
    CatalogSettings {
        sweep_interval: Duration::from_secs(3600),
        expiry_sweep_interval: Duration::from_secs(3600),
        ..CatalogSettings::default()
    }
}

impl Catalog {
    pub async fn start(db: &TestDb) -> Catalog {
        Self::start_with(db, quiet_settings()).await
    }

    pub async fn start_with(db: &TestDb, settings: CatalogSettings) -> Catalog {
        janta_platform::telemetry::init("error");
        let issuer = TestIssuer::start().await;
        let config = config("catalog", db, &issuer.jwks_url);
        let bus = InProcessBus::new();
        let runtime = janta_events::Runtime::new(bus.clone());
        let (router, store) = janta_catalog::build_with_settings(&config, &runtime, settings)
            .await
            .expect("catalog builds");
        let base = janta_testkit::serve(router).await;
        Catalog {
            gql: Gql::new(format!("{base}/graphql")),
            store,
            issuer,
            bus,
        }
    }

    /// Publishes `envelope` as users would and waits until catalog's
    /// consumer settled it (handled, or found it handled before).
    pub async fn deliver_envelope(&self, envelope: Envelope) {
        let receipt = self
            .bus
            .publish("users", &[envelope])
            .await
            .expect("published");
        receipt.wait().await.expect("settled by catalog");
    }

    /// Delivers a users event stamped now (see [`Catalog::deliver_envelope`]).
    pub async fn deliver<E: Event>(&self, event: &E) {
        self.deliver_envelope(janta_events::envelope(
            event,
            &janta_platform::cause::Cause::new(ADMIN_ID, None),
        ))
        .await;
    }

    /// Tells catalog that users verified `vendor_id`, so its listings sell.
    pub async fn verify_vendor(&self, vendor_id: &str) {
        self.deliver(&VendorVerified {
            vendor_id: vendor_id.to_string(),
        })
        .await;
    }

    /// A vendor admin's token for `vendor_id`.
    pub fn staff_of(&self, vendor_id: &str) -> String {
        self.issuer.token_for(
            &janta_platform::ids::new_id(),
            &[Role::VendorAdmin],
            Some(vendor_id),
        )
    }

    pub async fn seeded(db: &TestDb) -> Catalog {
        let catalog = Self::start(db).await;
        assert!(janta_catalog::demo::seed(&catalog.store)
            .await
            .expect("seed"));
        catalog
    }

    pub fn admin(&self) -> String {
        self.issuer.token_for(ADMIN_ID, &[Role::Admin], None)
    }

    pub fn customer(&self) -> String {
        self.issuer.token_for(CUSTOMER_ID, &[Role::Customer], None)
    }

    pub fn staff_ka(&self) -> String {
        self.issuer
            .token_for(VENDOR_KA_ADMIN_ID, &[Role::VendorAdmin], Some(VENDOR_KA_ID))
    }

    pub fn staff_mh(&self) -> String {
        self.issuer
            .token_for(PHARMACIST_MH_ID, &[Role::Pharmacist], Some(VENDOR_MH_ID))
    }

    pub fn service(&self) -> String {
        self.issuer.service_token("orders")
    }

    pub async fn count(&self, table: &str) -> i64 {
        count(&self.store, table).await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        n
    }
}

pub async fn count(store: &Store, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

/// Every table whose row count must not move when a request is refused.
pub const WRITTEN_TABLES: [&str; 14] = [
    "categories",
    "medicines",
    "medicine_versions",
    "medicine_alternatives",
    "tax_slabs",
    "listings",
    "batches",
    "stock_movements",
    "reservations",
    "reservation_items",
    "audit_log",
    "outbox",
    "vendor_status",
    "expired_quarantine",
];

/// Row counts of [`WRITTEN_TABLES`] plus total units on hand and held.
pub async fn snapshot(store: &Store) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in WRITTEN_TABLES {
        counts.push(count(store, table).await);
    }
    let (on_hand, held): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT), CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM batches",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    counts.push(on_hand);
    counts.push(held);
    counts
}
