//! `Notification` references from the router resolve in batches: 100
//! references, with each one's read mark, cost exactly what one costs;
//! references the caller may not see resolve to null.

use janta_events::Runtime;
use janta_notifications::service::delivery::DeliverySettings;
use janta_platform::auth::Role;
use janta_platform::demo::{CUSTOMER_ID, PHARMACIST_KA_ID, VENDOR_KA_ID};
use janta_testkit::{config, Gql, StatementCounter, TestDb, TestIssuer};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_notification_references_cost_constant_statements() {
    let counter = StatementCounter::install();
    let db = TestDb::new(janta_testkit::Backend::Sqlite).await;
    let issuer = TestIssuer::start().await;
    let settings = DeliverySettings {
        poll_interval: Duration::from_secs(3600),
        ..DeliverySettings::default()
    };
    let (router, state) = janta_notifications::build_with_settings(
        &config("notifications", &db, &issuer.jwks_url),
        &Runtime::standalone(),
        settings,
    )
    .await
    .unwrap();
    assert!(janta_notifications::demo::seed(&state.store).await.unwrap());
    assert!(
        !janta_notifications::demo::seed(&state.store).await.unwrap(),
        "seeding is idempotent"
    );
    let gql = Gql::new(format!("{}/graphql", janta_testkit::serve(router).await));
    let ids: Vec<String> =
        sqlx::query_as::<_, (String,)>("SELECT id FROM notifications ORDER BY id")
            .fetch_all(state.store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect();
    assert_eq!(ids.len(), 7);
    let pharmacist = issuer.token_for(PHARMACIST_KA_ID, &[Role::Pharmacist], Some(VENDOR_KA_ID));
    let customer = issuer.token_for(CUSTOMER_ID, &[Role::Customer], None);
    let representations: Vec<_> = (0..100)
        .map(|i| json!({"__typename": "Notification", "id": ids[i % ids.len()]}))
        .collect();
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id kind title read } } }";
    // Warm up (token verification fetches the JWKS once).
    gql.data(Some(&pharmacist), query, json!({ "r": representations }))
        .await;

    // Exactly what one run costs.
    let cost = |refs: Vec<serde_json::Value>| {
        let (counter, gql, pharmacist) = (&counter, &gql, &pharmacist);
        async move {
            let vars = json!({ "r": refs });
            counter
                .cost_of(|| gql.data(Some(pharmacist), query, vars.clone()))
                .await
        }
    };
    let (statements, sql, data) = cost(representations.clone()).await;
    // One reference the pharmacist may see, so that its read mark loads too.
    let seen = data["_entities"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| !e.is_null())
        .expect("a visible notification");
    let (one, one_sql, _) = cost(representations[seen..=seen].to_vec()).await;
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 100);
    let visible: Vec<_> = entities.iter().filter(|e| !e.is_null()).collect();
    // The pharmacist's own welcome and the KA vendor's verification.
    let kinds: std::collections::BTreeSet<_> = visible
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["VENDOR_VERIFIED", "WELCOME"]
    );
    assert!(visible.iter().all(|e| e["read"] == false));
    // Notifications, then the read marks: exactly what one reference costs.
    assert_eq!(
        statements, one,
        "100 references took {statements} statements, one took {one}: {sql:#?}\n{one_sql:#?}"
    );

    let data = gql
        .data(Some(&customer), query, json!({ "r": representations }))
        .await;
    let theirs: Vec<_> = data["_entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e.is_null())
        .collect();
    assert!(theirs.iter().all(|e| e["kind"] == "WELCOME"));
}
