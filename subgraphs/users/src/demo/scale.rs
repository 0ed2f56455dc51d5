//! Users' part of `janta seed --scale N`: the plan's vendors, each
//! verified and sellable the way the demo's are (a shipping branch under
//! the vendor's GSTIN with invoice series `<state>01`, Form 20 and 21
//! licences in force, a vendor admin, and a pharmacist whose appointment
//! the demo admin verified), and the plan's customers with one default
//! address each: `scale.customer@janta.test` (the one with the long order
//! history) and `customer<i>@scale.janta.test`. Every account's password
//! is the demo's; it is hashed once.
//!
//! The demo is seeded first (its admin verifies the appointments). A
//! finished seed leaves an audit row; running the same scale again does
//! nothing, another scale is refused.

use super::seed as seed_demo;
use crate::domain::gst::{gst_state_code, gstin_check_char};
use crate::domain::Password;
use crate::store::roles_to_db;
use janta_platform::auth::Role;
use janta_platform::demo::{ADMIN_ID, DEMO_PASSWORD};
use janta_platform::scalars::{now_db, Date};
use janta_platform::scale::{
    fill, mark_seeded, scale_id, should_seed, Bulk, Kind, ScalePlan, Value,
};
use janta_platform::store::Store;

/// Seeds scale `plan` unless it is there; returns whether it wrote anything.
pub async fn seed(store: &Store, plan: ScalePlan) -> anyhow::Result<bool> {
    seed_demo(store).await?;
    if !should_seed(store, &plan).await? {
        return Ok(false);
    }
    let hash = Password::parse(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .hash()?;
    let rows = seed_vendors(store, &plan).await?;
    tracing::info!(rows, "users scale seed: vendors and their branches");
    let rows = seed_staff(store, &plan, &hash).await?;
    tracing::info!(rows, "users scale seed: vendor admins and pharmacists");
    let rows = seed_licences(store, &plan).await?;
    tracing::info!(rows, "users scale seed: licences");
    let rows = seed_customers(store, &plan, &hash).await?;
    tracing::info!(rows, "users scale seed: customers and their addresses");
    mark_seeded(store, &plan, "users").await?;
    Ok(true)
}

/// Vendor `v`'s GSTIN in `state`: its PAN encodes the index (three
/// letters and four digits), with a correct check character.
pub fn vendor_gstin(v: u64, state: &str) -> String {
    let letters: String = [v / 10_000 / 676, v / 10_000 / 26, v / 10_000]
        .iter()
        .map(|x| (b'A' + (x % 26) as u8) as char)
        .collect();
    let code = gst_state_code(state).unwrap_or("29");
    let body = format!("{code}AA{letters}{:04}S1Z", v % 10_000);
    let check = gstin_check_char(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// Vendors (verified), their shipping branches, and the branch each ships from.
async fn seed_vendors(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let vendors = Bulk::new(
        "vendors",
        &[
            "id",
            "name",
            "legal_name",
            "gstin",
            "drug_licence_number",
            "state",
            "verified_at",
            "created_at",
        ],
    );
    let written = fill(store, &vendors, plan.vendors, |v, rows| {
        let (state, _, _) = plan.vendor_place(v);
        let name = plan.vendor_name(v);
        rows.push(vec![
            scale_id(Kind::Vendor, v).into(),
            name.as_str().into(),
            format!("{name} Pvt Ltd").into(),
            vendor_gstin(v, state).into(),
            format!("{state}-SC-20B-{v:06}").into(),
            state.into(),
            now.as_str().into(),
            now.as_str().into(),
        ]);
    })
    .await?;
    let branches = Bulk::new(
        "vendor_branches",
        &[
            "id",
            "vendor_id",
            "name",
            "line1",
            "city",
            "state",
            "pincode",
            "created_at",
            "gstin",
            "ships",
            "invoice_series",
        ],
    );
    fill(store, &branches, plan.vendors, |v, rows| {
        let (state, city, pin) = plan.vendor_place(v);
        rows.push(vec![
            scale_id(Kind::Branch, v).into(),
            scale_id(Kind::Vendor, v).into(),
            format!("{} — {city}", plan.vendor_name(v)).into(),
            format!("{} Main Road", 1 + v % 200).into(),
            city.into(),
            state.into(),
            format!("{pin}{:03}", 1 + v % 99).into(),
            now.as_str().into(),
            vendor_gstin(v, state).into(),
            true.into(),
            format!("{state}01").into(),
        ]);
    })
    .await?;
    let first = scale_id(Kind::Vendor, 0);
    let prefix = format!("{}%", &first[..24]);
    sqlx::query(
        "UPDATE vendors SET shipping_branch_id = \
         (SELECT b.id FROM vendor_branches b WHERE b.vendor_id = vendors.id) \
         WHERE id LIKE $1 AND shipping_branch_id IS NULL",
    )
    .bind(prefix)
    .execute(store.pool())
    .await?;
    Ok(written)
}

/// Each vendor's admin and pharmacist, and the pharmacist's verified appointment.
async fn seed_staff(store: &Store, plan: &ScalePlan, hash: &str) -> anyhow::Result<u64> {
    let now = now_db();
    let admin_roles = roles_to_db(&[Role::VendorAdmin]);
    let written = fill(store, &users_bulk(), plan.vendors, |v, rows| {
        let vendor = Value::from(scale_id(Kind::Vendor, v));
        let mut user = |kind, email: String, name: String, roles: &str, vendor: Value| {
            rows.push(vec![
                scale_id(kind, v).into(),
                email.into(),
                name.into(),
                hash.into(),
                roles.into(),
                vendor,
                now.as_str().into(),
                now.as_str().into(),
            ]);
        };
        let name = plan.customer_name(plan.customers + v);
        user(
            Kind::VendorAdmin,
            format!("vendor{v}@scale.janta.test"),
            name,
            &admin_roles,
            vendor,
        );
        let name = format!(
            "Dr. {}",
            plan.customer_name(plan.customers + plan.vendors + v)
        );
        let email = format!("pharmacist{v}@scale.janta.test");
        user(Kind::Pharmacist, email, name, "", Value::OptText(None));
    })
    .await?;
    let appointments = Bulk::new(
        "pharmacist_appointments",
        &[
            "id",
            "vendor_id",
            "user_id",
            "council",
            "registration_number",
            "status",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
        ],
    );
    fill(store, &appointments, plan.vendors, |v, rows| {
        let (state, _, _) = plan.vendor_place(v);
        rows.push(vec![
            scale_id(Kind::Appointment, v).into(),
            scale_id(Kind::Vendor, v).into(),
            scale_id(Kind::Pharmacist, v).into(),
            state.into(),
            format!("SC/{state}/{v:06}").into(),
            "VERIFIED".into(),
            ADMIN_ID.into(),
            now.as_str().into(),
            ADMIN_ID.into(),
            now.as_str().into(),
        ]);
    })
    .await?;
    Ok(written)
}

/// The `users` insert shared by staff and customers.
fn users_bulk() -> Bulk {
    Bulk::new(
        "users",
        &[
            "id",
            "email",
            "full_name",
            "password_hash",
            "roles",
            "vendor_id",
            "created_at",
            "updated_at",
        ],
    )
}

/// Customers and their default addresses.
async fn seed_customers(store: &Store, plan: &ScalePlan, hash: &str) -> anyhow::Result<u64> {
    let now = now_db();
    let roles = roles_to_db(&[Role::Customer]);
    let written = fill(store, &users_bulk(), plan.customers, |c, rows| {
        rows.push(vec![
            scale_id(Kind::Customer, c).into(),
            plan.customer_email(c).into(),
            plan.customer_name(c).into(),
            hash.into(),
            roles.as_str().into(),
            Value::OptText(None),
            now.as_str().into(),
            now.as_str().into(),
        ]);
    })
    .await?;
    let addresses = Bulk::new(
        "addresses",
        &[
            "id",
            "user_id",
            "label",
            "line1",
            "city",
            "state",
            "pincode",
            "is_default",
            "created_at",
        ],
    );
    fill(store, &addresses, plan.customers, |c, rows| {
        let (line1, city, state, pincode) = plan.customer_address(c);
        rows.push(vec![
            scale_id(Kind::Address, c).into(),
            scale_id(Kind::Customer, c).into(),
            "Home".into(),
            line1.into(),
            city.into(),
            state.into(),
            pincode.into(),
            true.into(),
            now.as_str().into(),
        ]);
    })
    .await?;
    Ok(written)
}

/// Form 20 and Form 21 for every vendor, valid for five more years.
async fn seed_licences(store: &Store, plan: &ScalePlan) -> anyhow::Result<u64> {
    let now = now_db();
    let valid_until =
        Date(chrono::Utc::now().date_naive() + chrono::Duration::days(5 * 365)).to_db();
    let licences = Bulk::new(
        "drug_licences",
        &[
            "id",
            "vendor_id",
            "form",
            "number",
            "valid_until",
            "recorded_by",
            "recorded_at",
        ],
    );
    fill(store, &licences, plan.vendors, |v, rows| {
        let (state, _, _) = plan.vendor_place(v);
        for (k, form) in [(0, "FORM_20"), (1, "FORM_21")] {
            rows.push(vec![
                scale_id(Kind::Licence, v * 2 + k).into(),
                scale_id(Kind::Vendor, v).into(),
                form.into(),
                format!("{state}-SC-{}B-{v:06}", 20 + k).into(),
                valid_until.as_str().into(),
                ADMIN_ID.into(),
                now.as_str().into(),
            ]);
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_gstins_pass_the_users_own_check() {
        for v in [0, 1, 499, 12_345] {
            let state = "MH";
            let gstin = vendor_gstin(v, state);
            let parsed = crate::domain::gst::parse_gstin_of_state(&gstin, state, "gstin");
            assert_eq!(parsed.ok().as_deref(), Some(gstin.as_str()), "{v}");
        }
        assert_ne!(vendor_gstin(1, "KA"), vendor_gstin(2, "KA"));
    }
}
