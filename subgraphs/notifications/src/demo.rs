//! Demo data for dev mode: the notifications the demo accounts would have
//! received had they signed up through the API (a welcome each, and the
//! Karnataka pharmacy's verification). Idempotent: fixed event IDs and the
//! `(event_id, audience)` unique index; production never calls it.

use crate::domain::{self, Planned};
use crate::store::{self, NewNotification};
use janta_events::types::{UserRegistered, VendorVerified};
use janta_platform::demo::*;
use janta_platform::scalars::now_db;
use janta_platform::store::Store;

fn demo_event_id(n: u8) -> String {
    format!("019a0000-0000-7000-8000-0000000006{n:02x}")
}

/// Seeds the demo notifications if they are not there yet. Returns whether
/// anything was added.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let people = [
        (ADMIN_ID, "Janta Admin"),
        (CUSTOMER_ID, "Asha Rao"),
        (VENDOR_KA_ADMIN_ID, ""),
        (PHARMACIST_KA_ID, ""),
        (VENDOR_MH_ADMIN_ID, ""),
        (PHARMACIST_MH_ID, ""),
    ];
    let mut planned: Vec<(String, &str, &str, Vec<Planned>)> = Vec::new();
    for (i, (id, name)) in people.iter().enumerate() {
        let event = UserRegistered {
            user_id: id.to_string(),
            full_name: name.to_string(),
        };
        planned.push((
            demo_event_id(i as u8 + 1),
            "UserRegistered",
            id,
            domain::on_user_registered(&event),
        ));
    }
    let verified = VendorVerified {
        vendor_id: VENDOR_KA_ID.to_string(),
    };
    planned.push((
        demo_event_id(0x10),
        "VendorVerified",
        VENDOR_KA_ID,
        domain::on_vendor_verified(&verified),
    ));
    let mut tx = store.begin().await?;
    let now = now_db();
    let mut added = false;
    for (event_id, event_type, subject, notes) in &planned {
        let subject_type = if *event_type == "VendorVerified" {
            "vendor"
        } else {
            "user"
        };
        for p in notes {
            let audience = p.audience.key();
            let inserted = store::insert_notification(
                &mut tx,
                &NewNotification {
                    event_id,
                    event_type,
                    kind: p.kind,
                    audience: &audience,
                    title: &p.title,
                    body: &p.body,
                    subject_type,
                    subject_id: subject,
                    created_at: &now,
                },
            )
            .await?;
            added |= inserted.is_some();
        }
    }
    tx.commit().await?;
    Ok(added)
}
