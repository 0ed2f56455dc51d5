//! Demo data for dev mode: an admin, two vendors (KA and MH) with a vendor
//! admin and a pharmacist each (appointments verified by the admin), and a
//! customer with a Bengaluru address. Seeded once (it checks for the admin
//! first); production never calls it.

use crate::domain::{AppointmentStatus, Password};
use crate::store::{self, NewAppointment};
use janta_platform::auth::Role;
use janta_platform::demo::*;
use janta_platform::scalars::now_db;
use janta_platform::store::Store;

/// The demo logins printed by the launcher: (e-mail, what it is).
pub const DEMO_LOGINS: [(&str, &str); 6] = [
    ("admin@janta.test", "platform admin"),
    ("customer@janta.test", "customer, Bengaluru (KA)"),
    (
        "vendor.ka@janta.test",
        "vendor admin, Janta Demo Pharmacy (KA)",
    ),
    (
        "pharmacist.ka@janta.test",
        "pharmacist, Janta Demo Pharmacy (KA)",
    ),
    (
        "vendor.mh@janta.test",
        "vendor admin, Sahyadri Medicos (MH)",
    ),
    (
        "pharmacist.mh@janta.test",
        "pharmacist, Sahyadri Medicos (MH)",
    ),
];

/// The demo pharmacists' appointments: (user, vendor, council, registration number).
const DEMO_PHARMACISTS: [(&str, &str, &str, &str); 2] = [
    (PHARMACIST_KA_ID, VENDOR_KA_ID, "KA", "KSPC/2019/04127"),
    (PHARMACIST_MH_ID, VENDOR_MH_ID, "MH", "MSPC/2017/118842"),
];

/// Seeds the demo data if it is not there yet. Returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
        .bind(ADMIN_ID)
        .fetch_optional(store.pool())
        .await?;
    if existing.is_some() {
        // Demo data seeded before pharmacists needed a verified appointment.
        appoint_demo_pharmacists(store).await?;
        return Ok(false);
    }
    let hash = Password::parse(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .hash()?;
    let now = now_db();
    let mut tx = store.begin().await?;
    let vendors = [
        (
            VENDOR_KA_ID,
            "Janta Demo Pharmacy",
            "Janta Demo Pharmacy Pvt Ltd",
            "29AAACJ1234A1Z5",
            "KA-BLR-20B-000123",
            "KA",
            "12 MG Road",
            "Bengaluru",
            "560001",
        ),
        (
            VENDOR_MH_ID,
            "Sahyadri Medicos",
            "Sahyadri Medicos LLP",
            "27AAFCS5678B1Z3",
            "MH-PUN-21B-004567",
            "MH",
            "45 FC Road",
            "Pune",
            "411004",
        ),
    ];
    for (id, name, legal, gstin, licence, state, line1, city, pincode) in vendors {
        sqlx::query(
            "INSERT INTO vendors (id, name, legal_name, gstin, drug_licence_number, state, verified_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id).bind(name).bind(legal).bind(gstin).bind(licence).bind(state).bind(&now)
        .execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO vendor_branches (id, vendor_id, name, line1, city, state, pincode, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(janta_platform::ids::new_id()).bind(id).bind(format!("{name} — {city}"))
        .bind(line1).bind(city).bind(state).bind(pincode).bind(&now)
        .execute(&mut *tx).await?;
    }
    let users = [
        (
            ADMIN_ID,
            "admin@janta.test",
            "Asha Admin",
            vec![Role::Admin],
            None,
        ),
        (
            CUSTOMER_ID,
            "customer@janta.test",
            "Chitra Customer",
            vec![Role::Customer],
            None,
        ),
        (
            VENDOR_KA_ADMIN_ID,
            "vendor.ka@janta.test",
            "Kiran Kulkarni",
            vec![Role::VendorAdmin],
            Some(VENDOR_KA_ID),
        ),
        (
            PHARMACIST_KA_ID,
            "pharmacist.ka@janta.test",
            "Dr. Kavya Rao",
            vec![],
            None,
        ),
        (
            VENDOR_MH_ADMIN_ID,
            "vendor.mh@janta.test",
            "Mahesh Patil",
            vec![Role::VendorAdmin],
            Some(VENDOR_MH_ID),
        ),
        (
            PHARMACIST_MH_ID,
            "pharmacist.mh@janta.test",
            "Dr. Meera Joshi",
            vec![],
            None,
        ),
    ];
    for (id, email, name, roles, vendor) in users {
        sqlx::query(
            "INSERT INTO users (id, email, full_name, password_hash, roles, vendor_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id).bind(email).bind(name).bind(&hash).bind(crate::store::roles_to_db(&roles)).bind(vendor).bind(&now)
        .execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO addresses (id, user_id, label, line1, line2, city, state, pincode, is_default, created_at) \
         VALUES ($1, $2, 'Home', '221 Indiranagar 100 Feet Road', 'HAL 2nd Stage', 'Bengaluru', 'KA', '560038', $3, $4)",
    )
    .bind(CUSTOMER_ADDRESS_ID).bind(CUSTOMER_ID).bind(1_i64).bind(&now)
    .execute(&mut *tx).await?;
    tx.commit().await?;
    appoint_demo_pharmacists(store).await?;
    Ok(true)
}

/// Gives each demo pharmacist an appointment verified by the demo admin,
/// unless they already have a live one: PHARMACIST comes only from there.
async fn appoint_demo_pharmacists(store: &Store) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    for (user_id, vendor_id, council, registration_number) in DEMO_PHARMACISTS {
        if store::live_appointment_of(&mut tx, user_id)
            .await?
            .is_some()
        {
            continue;
        }
        let appointment = NewAppointment {
            vendor_id,
            user_id,
            council,
            registration_number,
            proposed_by: ADMIN_ID,
            status: AppointmentStatus::Verified,
            decided_by: Some(ADMIN_ID),
        };
        store::insert_appointment(&mut tx, appointment)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    tx.commit().await?;
    Ok(())
}
