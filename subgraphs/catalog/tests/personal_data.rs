//! A customer's export and erasure (issue 18) in the catalog subgraph, on
//! SQLite and PostgreSQL: catalog holds nothing about customers, so its
//! export part is an empty object and its erasure report empty — but it
//! answers users' requests through its real consumer (the answer is
//! recorded for users), and an erasure changes none of its rows.

mod support;

use janta_catalog::service::personal_data::CatalogData;
use janta_events::types::{DataExportRequested, UserErasureRequested};
use janta_kit::personal_data::PersonalData;
use janta_platform::demo::CUSTOMER_ID;
use janta_platform::ids::new_id;
use janta_testkit::both_backends;
use serde_json::{json, Value};
use support::{snapshot, Catalog, WRITTEN_TABLES};

both_backends! {
    async fn catalog_answers_with_an_empty_part_and_an_empty_report(db) {
        let c = Catalog::seeded(&db).await;
        let mut conn = c.store.pool().acquire().await.unwrap();
        assert_eq!(CatalogData.export(&mut conn, CUSTOMER_ID).await.unwrap(), json!({}));
        drop(conn);

        let before = snapshot(&c.store).await;
        c.deliver(&DataExportRequested { export_id: new_id(), user_id: CUSTOMER_ID.into() }).await;
        let request_id = new_id();
        c.deliver(&UserErasureRequested { request_id: request_id.clone(), user_id: CUSTOMER_ID.into() }).await;

        // The report is catalog's own record of the erasure, delivered or not.
        let (subgraph, body): (String, String) = sqlx::query_as(
            "SELECT subgraph, body FROM personal_data_answers WHERE request_id = $1 AND kind = 'ERASURE'")
            .bind(&request_id).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(subgraph, "catalog");
        let report: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(report, json!({"erased": [], "kept": []}));
        // Nothing changes but the audit trail, which records the erasure.
        let audit = WRITTEN_TABLES.iter().position(|t| *t == "audit_log").unwrap();
        let mut before = before;
        before[audit] += 1;
        let (audited,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'personal_data_erased' AND entity_id = $1")
            .bind(CUSTOMER_ID).fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(audited, 1, "the erasure is audited");
        let mut after = snapshot(&c.store).await;
        assert_eq!(after, before, "an erasure in catalog changes nothing");

        // The same request again: still one report, still nothing changed.
        c.deliver(&UserErasureRequested { request_id, user_id: CUSTOMER_ID.into() }).await;
        let (reports,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM personal_data_answers WHERE kind = 'ERASURE'")
            .fetch_one(c.store.pool()).await.unwrap();
        assert_eq!(reports, 1);
        after = snapshot(&c.store).await;
        assert_eq!(after, before);
    }
}
