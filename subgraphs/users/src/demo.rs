//! Demo data for dev mode: an admin, two vendors (KA and MH) with a vendor
//! admin and a pharmacist each (appointments verified by the admin), a
//! shipping branch with its GSTIN and Form 20 and 21 licences in force
//! each, a customer with a Bengaluru address, and two partner apps (a
//! platform one and the KA pharmacy's, with development-only secrets, so
//! the partner quick start works against `janta dev`). The records are data, in
//! `subgraphs/users/demo/accounts.toml` (embedded in the binary), read at
//! seed time with their fixed IDs. Seeded once (it checks for the admin
//! first); production never calls it.

pub mod scale;

use crate::domain::hash_secret;
use crate::domain::licences::LicenceForm;
use crate::domain::{AppointmentStatus, Password};
use crate::store::clients::{self, NewPartnerApp};
use crate::store::compliance::{self, NewLicence};
use crate::store::{self, seed, AddressFields, NewAppointment, NewUser, NewVendor};
use janta_platform::auth::{PartnerScope, Role};
use janta_platform::demo::*;
use janta_platform::store::Store;
use serde::Deserialize;

/// The demo logins printed by the launcher: (e-mail, what it is). A test
/// checks that they are the accounts of the data file.
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

/// The data file, compiled into the binary.
const ACCOUNTS: &str = include_str!("../demo/accounts.toml");

/// Everything in the data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    vendors: Vec<DemoVendor>,
    users: Vec<DemoUser>,
    addresses: Vec<DemoAddress>,
    pharmacists: Vec<DemoPharmacist>,
    licences: Vec<DemoLicence>,
    #[serde(default)]
    partner_apps: Vec<DemoPartnerApp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPartnerApp {
    id: String,
    name: String,
    vendor: Option<String>,
    scopes: Vec<String>,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLicence {
    vendor: String,
    form: String,
    number: String,
    valid_until: chrono::NaiveDate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoVendor {
    id: String,
    name: String,
    legal_name: String,
    gstin: String,
    drug_licence_number: String,
    state: String,
    branch: DemoBranch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBranch {
    id: String,
    line1: String,
    city: String,
    pincode: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoUser {
    id: String,
    email: String,
    full_name: String,
    roles: Vec<Role>,
    vendor: Option<String>,
    /// What [`DEMO_LOGINS`] says of the account (checked by a test).
    #[cfg_attr(not(test), allow(dead_code))]
    login: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAddress {
    id: String,
    user: String,
    label: Option<String>,
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    pincode: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPharmacist {
    user: String,
    vendor: String,
    council: String,
    registration_number: String,
}

fn demo_data() -> anyhow::Result<DemoData> {
    toml::from_str(ACCOUNTS).map_err(|e| anyhow::anyhow!("demo/accounts.toml: {e}"))
}

/// Seeds the demo data if it is not there yet. Returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let data = demo_data()?;
    if seed::has_user(store, ADMIN_ID).await? {
        // Demo data seeded before pharmacists needed a verified appointment,
        // or before vendors recorded their licences.
        appoint_demo_pharmacists(store, &data.pharmacists).await?;
        record_demo_licences(store, &data.licences).await?;
        register_demo_partner_apps(store, &data.partner_apps).await?;
        return Ok(false);
    }
    let hash = Password::parse(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .hash()?;
    let mut tx = store.begin().await?;
    for v in &data.vendors {
        let vendor = NewVendor {
            name: &v.name,
            legal_name: &v.legal_name,
            gstin: &v.gstin,
            drug_licence_number: &v.drug_licence_number,
            state: &v.state,
        };
        let b = &v.branch;
        let branch = AddressFields {
            label: None,
            line1: &b.line1,
            line2: None,
            city: &b.city,
            state: &v.state,
            pincode: &b.pincode,
        };
        seed::verified_vendor(&mut tx, &v.id, &vendor, &b.id, &branch).await?;
    }
    for u in &data.users {
        let user = NewUser {
            email: &u.email,
            phone: None,
            full_name: &u.full_name,
            password_hash: &hash,
            roles: &u.roles,
            vendor_id: u.vendor.as_deref(),
        };
        seed::user(&mut tx, &u.id, &user).await?;
    }
    let mut has_default = std::collections::HashSet::new();
    for a in &data.addresses {
        let fields = AddressFields {
            label: a.label.as_deref(),
            line1: &a.line1,
            line2: a.line2.as_deref(),
            city: &a.city,
            state: &a.state,
            pincode: &a.pincode,
        };
        let is_default = has_default.insert(a.user.as_str());
        seed::address(&mut tx, &a.id, &a.user, &fields, is_default).await?;
    }
    tx.commit().await?;
    appoint_demo_pharmacists(store, &data.pharmacists).await?;
    record_demo_licences(store, &data.licences).await?;
    register_demo_partner_apps(store, &data.partner_apps).await?;
    Ok(true)
}

/// Registers each demo partner app that is not there yet, with its
/// development-only secret (dev mode only: production never seeds).
async fn register_demo_partner_apps(store: &Store, apps: &[DemoPartnerApp]) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    for app in apps {
        if clients::partner_app(&mut tx, &app.id).await?.is_some() {
            continue;
        }
        for scope in &app.scopes {
            PartnerScope::parse(scope)
                .ok_or_else(|| anyhow::anyhow!("demo partner app scope {scope:?}"))?;
        }
        let fields = NewPartnerApp {
            id: &app.id,
            name: &app.name,
            owner_vendor_id: app.vendor.as_deref(),
            scopes: &app.scopes.join(" "),
            secret_hash: &hash_secret(&app.secret),
        };
        clients::insert_partner_app(&mut tx, &fields).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records each demo licence, recorded by the demo admin, unless its
/// vendor already has a licence of that form.
async fn record_demo_licences(store: &Store, licences: &[DemoLicence]) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    for l in licences {
        let form = LicenceForm::parse(&l.form)
            .ok_or_else(|| anyhow::anyhow!("demo licence form {:?}", l.form))?;
        let held = compliance::latest_licences_of(&mut tx, &l.vendor).await?;
        if held.iter().any(|h| h.form == form) {
            continue;
        }
        let licence = NewLicence {
            vendor_id: &l.vendor,
            form,
            number: &l.number,
            valid_until: l.valid_until,
            recorded_by: ADMIN_ID,
        };
        compliance::insert_licence(&mut tx, &licence).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Gives each demo pharmacist an appointment verified by the demo admin,
/// unless they already have a live one: PHARMACIST comes only from there.
async fn appoint_demo_pharmacists(
    store: &Store,
    pharmacists: &[DemoPharmacist],
) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    for p in pharmacists {
        if store::live_appointment_of(&mut tx, &p.user)
            .await?
            .is_some()
        {
            continue;
        }
        let appointment = NewAppointment {
            vendor_id: &p.vendor,
            user_id: &p.user,
            council: &p.council,
            registration_number: &p.registration_number,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_keeps_the_fixed_ids_and_the_printed_logins() {
        let data = demo_data().unwrap();
        let vendors: Vec<&str> = data.vendors.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(vendors, [VENDOR_KA_ID, VENDOR_MH_ID]);
        let users: Vec<&str> = data.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            users,
            [
                ADMIN_ID,
                CUSTOMER_ID,
                VENDOR_KA_ADMIN_ID,
                PHARMACIST_KA_ID,
                VENDOR_MH_ADMIN_ID,
                PHARMACIST_MH_ID
            ]
        );
        let logins: Vec<(&str, &str)> = data
            .users
            .iter()
            .map(|u| (u.email.as_str(), u.login.as_str()))
            .collect();
        assert_eq!(logins, DEMO_LOGINS);
        assert_eq!(data.addresses[0].id, CUSTOMER_ADDRESS_ID);
        assert_eq!(data.addresses[0].user, CUSTOMER_ID);
        let appointed: Vec<(&str, &str)> = data
            .pharmacists
            .iter()
            .map(|p| (p.user.as_str(), p.vendor.as_str()))
            .collect();
        assert_eq!(
            appointed,
            [
                (PHARMACIST_KA_ID, VENDOR_KA_ID),
                (PHARMACIST_MH_ID, VENDOR_MH_ID)
            ]
        );
    }

    #[test]
    fn the_demo_vendors_are_compliant() {
        let data = demo_data().unwrap();
        for v in &data.vendors {
            let checked = crate::domain::gst::parse_gstin_of_state(&v.gstin, &v.state, "gstin");
            assert_eq!(
                checked.ok().as_deref(),
                Some(v.gstin.as_str()),
                "{}",
                v.name
            );
            for form in ["FORM_20", "FORM_21"] {
                let held = data
                    .licences
                    .iter()
                    .find(|l| l.vendor == v.id && l.form == form);
                let licence = held.unwrap_or_else(|| panic!("{} holds no {form}", v.name));
                assert!(LicenceForm::parse(&licence.form).is_some());
                let now = chrono::Utc::now();
                assert!(!crate::domain::licences::is_expired(
                    licence.valid_until,
                    now
                ));
            }
        }
    }
}
