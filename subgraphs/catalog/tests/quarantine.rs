//! Approved returns (orders' `ReturnApproved`, delivered through the real
//! in-process bus) put packs into quarantine: the ledger records them as
//! RETURNED_TO_QUARANTINE, the listing shows them as `quarantined`, and
//! sellable stock does not change; a redelivered event changes nothing.

mod support;

use janta_catalog::demo::PARACETAMOL_500_KA_LISTING_ID;
use janta_events::types::{ReturnApproved, ReturnLine};
use janta_events::Transport;
use janta_platform::cause::Cause;
use janta_platform::demo::{CUSTOMER_ID, VENDOR_KA_ADMIN_ID, VENDOR_KA_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::json;
use support::Catalog;

const LISTING: &str = "query($id: ID!) { listing(id: $id) { id stock quarantined \
    stockMovements(first: 1) { edges { node { kind delta batchId orderId } } } } }";

async fn deliver_from_orders(c: &Catalog, envelope: janta_events::Envelope) {
    let receipt = c
        .bus
        .publish("orders", &[envelope])
        .await
        .expect("published");
    receipt.wait().await.expect("settled by catalog");
}

both_backends! {
    async fn returned_packs_are_quarantined_not_put_back_on_sale(db) {
        let c = Catalog::seeded(&db).await;
        let vars = json!({ "id": PARACETAMOL_500_KA_LISTING_ID });
        let before = c.gql.data(Some(&c.staff_ka()), LISTING, vars.clone()).await;
        assert_eq!(before["listing"]["quarantined"], 0);
        let stock = before["listing"]["stock"].clone();

        let event = ReturnApproved {
            return_id: janta_platform::ids::new_id(),
            order_id: janta_platform::ids::new_id(),
            customer_id: CUSTOMER_ID.to_string(),
            vendor_id: VENDOR_KA_ID.to_string(),
            lines: vec![ReturnLine {
                order_line_id: janta_platform::ids::new_id(),
                listing_id: PARACETAMOL_500_KA_LISTING_ID.to_string(),
                quantity: 2,
                refund_paise: 3600,
            }],
            refund_paise: 3600,
            refund_tax_paise: 0,
            note: "crushed box".to_string(),
        };
        let envelope = janta_events::envelope(&event, &Cause::new(VENDOR_KA_ADMIN_ID, None));
        deliver_from_orders(&c, envelope).await;
        // The same return again (a new envelope, as after a replay): nothing more.
        let again = janta_events::envelope(&event, &Cause::new(VENDOR_KA_ADMIN_ID, None));
        deliver_from_orders(&c, again).await;

        let after = c.gql.data(Some(&c.staff_ka()), LISTING, vars.clone()).await;
        assert_eq!(after["listing"]["quarantined"], 2);
        assert_eq!(after["listing"]["stock"], stock, "sellable stock unchanged");
        let movement = &after["listing"]["stockMovements"]["edges"][0]["node"];
        assert_eq!(movement["kind"], "RETURNED_TO_QUARANTINE");
        assert_eq!(movement["delta"], 2);
        assert!(movement["batchId"].is_null());
        assert_eq!(movement["orderId"], event.order_id.as_str());
        assert_eq!(c.count("quarantine").await, 1);
        assert_eq!(
            c.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'quarantined'").await,
            1
        );

        // Only the vendor's staff and admins see it.
        let body = c.gql.send(Some(&c.staff_mh()), LISTING, vars.clone()).await;
        assert_eq!(error_code(&body).as_deref(), Some("FORBIDDEN"));
        let admin = c.gql.data(Some(&c.admin()), LISTING, vars).await;
        assert_eq!(admin["listing"]["quarantined"], 2);
    }
}
