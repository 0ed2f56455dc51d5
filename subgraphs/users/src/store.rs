//! All SQL of the users subgraph, in one place. Functions that take a
//! connection run inside the caller's transaction; the rest use the pool.

use crate::domain::licences::SuspendedBy;
use crate::domain::{AppointmentStatus, Relation};
use chrono::{DateTime, NaiveDate, Utc};
use janta_platform::auth::Role;
use janta_platform::columns::{flag, opt_date, opt_time, parsed, time};
use janta_platform::error::is_unique_violation;
use janta_platform::ids::new_id;
use janta_platform::pagination::PageRequest;
use janta_platform::scalars::{now_db, to_db_time};
use janta_platform::store::{fetch_in, Migrations, Store};
use janta_platform::{ApiError, ApiResult};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

pub mod accounts;
pub mod bootstrap;
pub mod clients;
pub mod compliance;
pub mod personal_data;
pub mod seed;
pub mod throttle;

/// The users subgraph's migrations for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        sqlite: sqlx::migrate!("../../migrations/users/sqlite"),
        postgres: sqlx::migrate!("../../migrations/users/postgres"),
    }
}

/// A user account as stored, with the grants that come from elsewhere
/// (a verified pharmacist appointment) already applied.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub phone: Option<String>,
    pub full_name: String,
    pub password_hash: String,
    /// The directly granted roles (never PHARMACIST).
    pub granted_roles: Vec<Role>,
    /// The vendor the user works for: of their VENDOR_ADMIN grant, else of
    /// their verified pharmacist appointment.
    pub vendor_id: Option<String>,
    /// The vendor of the user's verified pharmacist appointment, if any.
    pub pharmacy_id: Option<String>,
    /// Bumped by every change of the profile (optimistic locking).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// When the e-mail address was proven to be the owner's.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the phone number was proven to be the owner's.
    pub phone_verified_at: Option<DateTime<Utc>>,
}

impl UserRow {
    /// Whether the owner proved an e-mail address or phone number is
    /// theirs (what placing an order may require).
    pub fn contact_verified(&self) -> bool {
        self.email_verified_at.is_some() || self.phone_verified_at.is_some()
    }

    /// The roles in effect: the stored ones, plus PHARMACIST exactly when a
    /// platform admin verified an appointment (never from `roles` alone).
    pub fn roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .granted_roles
            .iter()
            .copied()
            .filter(|r| *r != Role::Pharmacist)
            .collect();
        if self.pharmacy_id.is_some() {
            roles.push(Role::Pharmacist);
        }
        roles
    }
}

impl FromRow<'_, AnyRow> for UserRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(UserRow {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            full_name: row.try_get("full_name")?,
            password_hash: row.try_get("password_hash")?,
            granted_roles: parsed(row, "roles", roles_from_db)?,
            vendor_id: row.try_get("vendor_id")?,
            pharmacy_id: row.try_get("pharmacy_id")?,
            version: row.try_get("version")?,
            created_at: time(row, "created_at")?,
            email_verified_at: opt_time(row, "email_verified_at")?,
            phone_verified_at: opt_time(row, "phone_verified_at")?,
        })
    }
}

/// Storage form of a role list. PHARMACIST is left out: it is granted only
/// by a verified pharmacist appointment.
pub fn roles_to_db(roles: &[Role]) -> String {
    roles
        .iter()
        .filter(|r| **r != Role::Pharmacist)
        .filter_map(|r| serde_json::to_value(r).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads a stored role list; `None` if it names a role this code does not know.
fn roles_from_db(text: &str) -> Option<Vec<Role>> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| serde_json::from_value(serde_json::Value::String(r.to_string())).ok())
        .collect()
}

/// A delivery address as stored.
#[derive(Debug, Clone)]
pub struct AddressRow {
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub pincode: String,
    /// Whether this is the user's default address.
    pub is_default: bool,
    /// Bumped by every change of the address (optimistic locking).
    pub version: i64,
}

impl FromRow<'_, AnyRow> for AddressRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(AddressRow {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            label: row.try_get("label")?,
            line1: row.try_get("line1")?,
            line2: row.try_get("line2")?,
            city: row.try_get("city")?,
            state: row.try_get("state")?,
            pincode: row.try_get("pincode")?,
            is_default: flag(row, "is_default")?,
            version: row.try_get("version")?,
        })
    }
}

/// A dependent a customer buys for.
#[derive(Debug, Clone)]
pub struct FamilyMemberRow {
    pub id: String,
    pub user_id: String,
    pub full_name: String,
    pub relation: Relation,
    pub date_of_birth: Option<NaiveDate>,
}

impl FromRow<'_, AnyRow> for FamilyMemberRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(FamilyMemberRow {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            full_name: row.try_get("full_name")?,
            relation: parsed(row, "relation", Relation::from_db)?,
            date_of_birth: opt_date(row, "date_of_birth")?,
        })
    }
}

/// The fields of a new dependent.
pub struct NewFamilyMember<'a> {
    pub full_name: &'a str,
    pub relation: Relation,
    pub date_of_birth: Option<NaiveDate>,
}

/// A pharmacy business.
#[derive(Debug, Clone)]
pub struct VendorRow {
    pub id: String,
    pub name: String,
    pub legal_name: String,
    pub gstin: String,
    pub drug_licence_number: String,
    pub state: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When an admin suspended it; `None` while it may sell.
    pub suspended_at: Option<DateTime<Utc>>,
    /// The admin's reason for the suspension.
    pub suspension_reason: Option<String>,
    /// Who suspended it: an admin, or the licence sweeper.
    pub suspended_by: Option<SuspendedBy>,
    /// The branch orders ship from by default.
    pub shipping_branch_id: Option<String>,
}

impl FromRow<'_, AnyRow> for VendorRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(VendorRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            legal_name: row.try_get("legal_name")?,
            gstin: row.try_get("gstin")?,
            drug_licence_number: row.try_get("drug_licence_number")?,
            state: row.try_get("state")?,
            verified_at: opt_time(row, "verified_at")?,
            created_at: time(row, "created_at")?,
            suspended_at: opt_time(row, "suspended_at")?,
            suspension_reason: row.try_get("suspension_reason")?,
            suspended_by: row.try_get("suspended_by")?,
            shipping_branch_id: row.try_get("shipping_branch_id")?,
        })
    }
}

/// A vendor's premises (where stock sits and orders ship from).
#[derive(Debug, Clone, FromRow)]
pub struct BranchRow {
    pub id: String,
    pub vendor_id: String,
    pub name: String,
    pub line1: String,
    pub city: String,
    pub state: String,
    pub pincode: String,
    /// Its GSTIN (of its state); every shipping branch has one.
    pub gstin: Option<String>,
    /// Whether orders may ship from it.
    #[sqlx(try_from = "janta_platform::columns::Flag")]
    pub ships: bool,
    /// State code + ordinal in that state, e.g. "KA01"; never changes.
    pub invoice_series: String,
}

/// A refresh token as stored (hash only).
#[derive(Debug, Clone)]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for RefreshTokenRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(RefreshTokenRow {
            id: row.try_get("id")?,
            family_id: row.try_get("family_id")?,
            user_id: row.try_get("user_id")?,
            expires_at: time(row, "expires_at")?,
            used_at: opt_time(row, "used_at")?,
            revoked_at: opt_time(row, "revoked_at")?,
        })
    }
}

/// The fields of a new account.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [Role],
    pub vendor_id: Option<&'a str>,
}

/// Users with their verified appointment (at most one: a unique index). An
/// appointment at another vendor than the user's VENDOR_ADMIN grant is
/// ignored, so one token never mixes two vendors.
const USER_SELECT: &str = "SELECT u.id, u.email, u.phone, u.full_name, u.password_hash, u.roles, \
     COALESCE(u.vendor_id, pa.vendor_id) AS vendor_id, pa.vendor_id AS pharmacy_id, u.version, \
     u.created_at, u.email_verified_at, u.phone_verified_at \
     FROM users u LEFT JOIN pharmacist_appointments pa ON pa.user_id = u.id \
     AND pa.status = 'VERIFIED' AND (u.vendor_id IS NULL OR u.vendor_id = pa.vendor_id)";
const ADDRESS_COLUMNS: &str =
    "id, user_id, label, line1, line2, city, state, pincode, is_default, version";
const VENDOR_COLUMNS: &str = "id, name, legal_name, gstin, drug_licence_number, state, \
     verified_at, created_at, suspended_at, suspension_reason, suspended_by, shipping_branch_id";

/// Inserts an account; `None` when the e-mail already has one (the caller
/// decides what to say, so no error text reveals it).
pub async fn insert_user(
    conn: &mut AnyConnection,
    user: NewUser<'_>,
) -> sqlx::Result<Option<UserRow>> {
    let id = new_id();
    if !write_user(conn, &id, &user).await? {
        return Ok(None);
    }
    user_by_id(conn, &id).await
}

/// Writes the account `id`; false when the e-mail already has one.
pub(crate) async fn write_user(
    conn: &mut AnyConnection,
    id: &str,
    user: &NewUser<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO users (id, email, phone, full_name, password_hash, roles, vendor_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (email) DO NOTHING",
    )
    .bind(id)
    .bind(user.email)
    .bind(user.phone)
    .bind(user.full_name)
    .bind(user.password_hash)
    .bind(roles_to_db(user.roles))
    .bind(user.vendor_id)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One user by ID.
pub async fn user_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One user by normalised e-mail.
pub async fn user_by_email(store: &Store, email: &str) -> sqlx::Result<Option<UserRow>> {
    let mut conn = store.pool().acquire().await?;
    user_by_email_in(&mut conn, email).await
}

/// One user by normalised e-mail, inside the caller's transaction.
pub async fn user_by_email_in(
    conn: &mut AnyConnection,
    email: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!("{USER_SELECT} WHERE u.email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await
}

/// Many users in one statement (entity batches, DataLoader).
pub async fn users_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<UserRow>> {
    let sql = format!("{USER_SELECT} WHERE u.id IN ({{ids}})");
    fetch_in(store.pool(), &sql, ids).await
}

/// Changes name and/or phone (a new number is no longer verified), only if
/// the profile is still at
/// `expected_version` (when given); false when it is not (or there is no
/// such user). Phone numbers are not unique (families share one), so this
/// never tells whether a number belongs to another account.
pub async fn update_profile(
    conn: &mut AnyConnection,
    id: &str,
    full_name: Option<&str>,
    phone: Option<&str>,
    expected_version: Option<i64>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET full_name = COALESCE($2, full_name), phone = COALESCE($3, phone), \
         phone_verified_at = CASE WHEN $3 IS NULL OR $3 = phone THEN phone_verified_at END, \
         version = version + 1, updated_at = $4 WHERE id = $1 AND version = COALESCE($5, version)",
    )
    .bind(id)
    .bind(full_name)
    .bind(phone)
    .bind(now_db())
    .bind(expected_version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces roles and vendor attachment.
pub async fn set_roles(
    conn: &mut AnyConnection,
    id: &str,
    roles: &[Role],
    vendor_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET roles = $2, vendor_id = $3, version = version + 1, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(roles_to_db(roles))
    .bind(vendor_id)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The fields of an address.
pub struct AddressFields<'a> {
    pub label: Option<&'a str>,
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub city: &'a str,
    pub state: &'a str,
    pub pincode: &'a str,
}

/// Adds an address; the first one, or one marked default, becomes the default.
pub async fn insert_address(
    conn: &mut AnyConnection,
    user_id: &str,
    fields: &AddressFields<'_>,
    make_default: bool,
) -> sqlx::Result<AddressRow> {
    let has_any: Option<(String,)> =
        sqlx::query_as("SELECT id FROM addresses WHERE user_id = $1 LIMIT 1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let is_default = make_default || has_any.is_none();
    if is_default {
        clear_default(conn, user_id).await?;
    }
    let id = new_id();
    write_address(conn, &id, user_id, fields, is_default).await?;
    Ok(address_by_id(conn, &id).await?.expect("row just inserted"))
}

/// Writes the address `id` of `user_id` as given (no default bookkeeping:
/// [`insert_address`] keeps one default per user).
pub async fn write_address(
    conn: &mut AnyConnection,
    id: &str,
    user_id: &str,
    fields: &AddressFields<'_>,
    is_default: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO addresses (id, user_id, label, line1, line2, city, state, pincode, is_default, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(user_id)
    .bind(fields.label)
    .bind(fields.line1)
    .bind(fields.line2)
    .bind(fields.city)
    .bind(fields.state)
    .bind(fields.pincode)
    .bind(is_default)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Rewrites an address's fields, only if it is still at `expected_version`
/// (when given); false when it is not.
pub async fn update_address(
    conn: &mut AnyConnection,
    id: &str,
    fields: &AddressFields<'_>,
    expected_version: Option<i64>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE addresses SET label = $2, line1 = $3, line2 = $4, city = $5, state = $6, pincode = $7, \
         version = version + 1 WHERE id = $1 AND version = COALESCE($8, version)",
    )
    .bind(id)
    .bind(fields.label)
    .bind(fields.line1)
    .bind(fields.line2)
    .bind(fields.city)
    .bind(fields.state)
    .bind(fields.pincode)
    .bind(expected_version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn clear_default(conn: &mut AnyConnection, user_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE addresses SET is_default = $2, version = version + 1 \
         WHERE user_id = $1 AND is_default = $3",
    )
    .bind(user_id)
    .bind(false)
    .bind(true)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Makes `id` the user's only default address.
pub async fn set_default_address(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
) -> sqlx::Result<()> {
    clear_default(conn, user_id).await?;
    sqlx::query(
        "UPDATE addresses SET is_default = $3, version = version + 1 WHERE id = $1 AND user_id = $2",
    )
        .bind(id)
        .bind(user_id)
        .bind(true)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Deletes an address (orders keep their own snapshot), only if it is
/// still at `expected_version` (when given); false when it is not.
pub async fn delete_address(
    conn: &mut AnyConnection,
    id: &str,
    expected_version: Option<i64>,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query("DELETE FROM addresses WHERE id = $1 AND version = COALESCE($2, version)")
            .bind(id)
            .bind(expected_version)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Locks address `id` for the rest of the transaction if it is still at
/// `expected_version` (when given); false when it is not. Changes nothing.
pub async fn lock_address_at(
    conn: &mut AnyConnection,
    id: &str,
    expected_version: Option<i64>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE addresses SET version = version WHERE id = $1 AND version = COALESCE($2, version)",
    )
    .bind(id)
    .bind(expected_version)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One address by ID.
pub async fn address_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<AddressRow>> {
    sqlx::query_as(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Many addresses in one statement (entity batches).
pub async fn addresses_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<AddressRow>> {
    let sql = format!("SELECT {ADDRESS_COLUMNS} FROM addresses WHERE id IN ({{ids}})");
    fetch_in(store.pool(), &sql, ids).await
}

/// A user's addresses, default first.
pub async fn addresses_of(store: &Store, user_id: &str) -> sqlx::Result<Vec<AddressRow>> {
    sqlx::query_as(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY is_default DESC, created_at, id"
    ))
    .bind(user_id)
    .fetch_all(store.pool())
    .await
}

/// Adds a dependent of `user_id`.
pub async fn insert_family_member(
    conn: &mut AnyConnection,
    user_id: &str,
    member: NewFamilyMember<'_>,
) -> sqlx::Result<FamilyMemberRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO family_members (id, user_id, full_name, relation, date_of_birth, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(member.full_name)
    .bind(member.relation.as_db())
    .bind(
        member
            .date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string()),
    )
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(FamilyMemberRow {
        id,
        user_id: user_id.to_string(),
        full_name: member.full_name.to_string(),
        relation: member.relation,
        date_of_birth: member.date_of_birth,
    })
}

/// One dependent by ID.
pub async fn family_member_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<FamilyMemberRow>> {
    sqlx::query_as(
        "SELECT id, user_id, full_name, relation, date_of_birth FROM family_members WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Removes a dependent.
pub async fn delete_family_member(conn: &mut AnyConnection, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM family_members WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A user's dependents.
pub async fn family_of(store: &Store, user_id: &str) -> sqlx::Result<Vec<FamilyMemberRow>> {
    sqlx::query_as(
        "SELECT id, user_id, full_name, relation, date_of_birth FROM family_members \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await
}

/// The fields of a new vendor.
pub struct NewVendor<'a> {
    pub name: &'a str,
    pub legal_name: &'a str,
    pub gstin: &'a str,
    pub drug_licence_number: &'a str,
    pub state: &'a str,
}

/// Registers a vendor; a duplicate GSTIN or licence is `CONFLICT`.
pub async fn insert_vendor(conn: &mut AnyConnection, v: NewVendor<'_>) -> ApiResult<VendorRow> {
    let id = new_id();
    match write_vendor(conn, &id, &v, false).await {
        Err(e) if is_unique_violation(&e, "vendors", "gstin") => Err(ApiError::conflict(
            "a vendor with this GSTIN already exists",
        )),
        Err(e) if is_unique_violation(&e, "vendors", "drug_licence_number") => Err(
            ApiError::conflict("a vendor with this drug licence number already exists"),
        ),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(vendor_by_id(conn, &id).await?.expect("row just inserted")),
    }
}

/// Writes the vendor `id`, already verified if `verified`.
pub(crate) async fn write_vendor(
    conn: &mut AnyConnection,
    id: &str,
    v: &NewVendor<'_>,
    verified: bool,
) -> sqlx::Result<()> {
    let now = now_db();
    sqlx::query(
        "INSERT INTO vendors (id, name, legal_name, gstin, drug_licence_number, state, verified_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(v.name)
    .bind(v.legal_name)
    .bind(v.gstin)
    .bind(v.drug_licence_number)
    .bind(v.state)
    .bind(verified.then(|| now.clone()))
    .bind(&now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// One vendor by ID.
pub async fn vendor_by_id(conn: &mut AnyConnection, id: &str) -> sqlx::Result<Option<VendorRow>> {
    sqlx::query_as(&format!(
        "SELECT {VENDOR_COLUMNS} FROM vendors WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Many vendors in one statement (entity batches, DataLoader).
pub async fn vendors_by_ids(store: &Store, ids: &[String]) -> sqlx::Result<Vec<VendorRow>> {
    let sql = format!("SELECT {VENDOR_COLUMNS} FROM vendors WHERE id IN ({{ids}})");
    fetch_in(store.pool(), &sql, ids).await
}

/// A page of vendors by name.
pub async fn list_vendors(
    store: &Store,
    page: &PageRequest,
) -> sqlx::Result<(Vec<VendorRow>, i64)> {
    let (after_key, after_id) = page
        .after
        .as_ref()
        .map(|c| (c.key.clone(), c.id.clone()))
        .unwrap_or_default();
    let rows = sqlx::query_as(&format!(
        "SELECT {VENDOR_COLUMNS} FROM vendors WHERE ($1 = '' OR (name, id) > ($2, $3)) \
         ORDER BY name, id LIMIT $4"
    ))
    .bind(&after_id)
    .bind(&after_key)
    .bind(&after_id)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let total = page
        .total(sqlx::query_as("SELECT COUNT(*) FROM vendors").fetch_one(store.pool()))
        .await?;
    Ok((rows, total))
}

/// Marks a vendor verified (KYC checked); returns false if it already was.
pub async fn verify_vendor(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE vendors SET verified_at = $2 WHERE id = $1 AND verified_at IS NULL")
            .bind(id)
            .bind(now_db())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Suspends a vendor with a reason as `by`; returns false if it already
/// was. An admin's suspension also takes over one the licence sweeper
/// made (so that a renewal does not lift it); the sweeper only suspends a
/// vendor nobody suspended.
pub async fn suspend_vendor(
    conn: &mut AnyConnection,
    id: &str,
    reason: &str,
    by: SuspendedBy,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE vendors SET suspended_at = COALESCE(suspended_at, $2), suspension_reason = $3, \
         suspended_by = $4 WHERE id = $1 AND (suspended_at IS NULL OR ($4 = 'ADMIN' AND suspended_by = 'LICENCE'))",
    )
    .bind(id)
    .bind(now_db())
    .bind(reason)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Lifts a vendor's suspension: any (an admin) or only the one `by` made
/// (the licence sweeper); returns false if there was none to lift.
pub async fn reinstate_vendor(
    conn: &mut AnyConnection,
    id: &str,
    by: Option<SuspendedBy>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE vendors SET suspended_at = NULL, suspension_reason = NULL, suspended_by = NULL \
         WHERE id = $1 AND suspended_at IS NOT NULL AND COALESCE(suspended_by, 'ADMIN') = COALESCE($2, suspended_by, 'ADMIN')",
    )
    .bind(id)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The fields of a new branch, its GSTIN and shipping already decided
/// ([`crate::domain::gst::branch_registration`]).
pub struct NewBranch<'a> {
    /// A fixed ID (demo data, which other subgraphs' demo data refers to);
    /// `None` for a new one.
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub address: &'a AddressFields<'a>,
    pub gstin: Option<&'a str>,
    pub ships: bool,
}

/// Adds a branch to a vendor with the next invoice series of its state
/// (one more than the vendor's branches there). Two branches added at
/// once in the same state are `CONFLICT` for one of them (a unique index).
pub async fn insert_branch(
    conn: &mut AnyConnection,
    vendor_id: &str,
    branch: &NewBranch<'_>,
) -> ApiResult<BranchRow> {
    let id = branch.id.map_or_else(new_id, str::to_string);
    let state = branch.address.state;
    let (existing,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM vendor_branches WHERE vendor_id = $1 AND state = $2")
            .bind(vendor_id)
            .bind(state)
            .fetch_one(&mut *conn)
            .await?;
    let series = crate::domain::gst::invoice_series(state, existing + 1)?;
    let result = sqlx::query(
        "INSERT INTO vendor_branches (id, vendor_id, name, line1, city, state, pincode, gstin, \
         ships, invoice_series, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(vendor_id)
    .bind(branch.name)
    .bind(branch.address.line1)
    .bind(branch.address.city)
    .bind(state)
    .bind(branch.address.pincode)
    .bind(branch.gstin)
    .bind(branch.ships)
    .bind(&series)
    .bind(now_db())
    .execute(&mut *conn)
    .await;
    match result {
        Err(e) if is_unique_violation(&e, "vendor_branches", "invoice_series") => {
            Err(ApiError::conflict(
                "another branch was added in this state at the same time; try again",
            ))
        }
        Err(e) => Err(e.into()),
        Ok(_) => Ok(compliance::branch_by_id(conn, &id)
            .await?
            .expect("row just inserted")),
    }
}

/// The columns of [`BranchRow`].
pub(crate) const BRANCH_COLUMNS: &str =
    "id, vendor_id, name, line1, city, state, pincode, gstin, ships, invoice_series";

/// The branches of many vendors in one statement (the `Vendor.branches`
/// batch), oldest first within each vendor.
pub async fn branches_of(store: &Store, vendor_ids: &[String]) -> sqlx::Result<Vec<BranchRow>> {
    let sql = format!(
        "SELECT {BRANCH_COLUMNS} FROM vendor_branches WHERE vendor_id IN ({{ids}}) \
         ORDER BY vendor_id, created_at, id"
    );
    fetch_in(store.pool(), &sql, vendor_ids).await
}

/// Stores a refresh token's hash in `family_id`.
pub async fn insert_refresh_token(
    conn: &mut AnyConnection,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(family_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(to_db_time(expires_at))
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// Finds a refresh token by hash.
pub async fn refresh_token_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> sqlx::Result<Option<RefreshTokenRow>> {
    sqlx::query_as(
        "SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

/// Marks a token used, only if it is still unused: false means someone beat us to it.
pub async fn mark_refresh_token_used(conn: &mut AnyConnection, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now_db())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every token of a family (logout, or reuse detected).
pub async fn revoke_family(conn: &mut AnyConnection, family_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(now_db())
    .execute(conn)
    .await
    .map(|_| ())
}

/// A pharmacist appointment as stored.
#[derive(Debug, Clone)]
pub struct AppointmentRow {
    pub id: String,
    pub vendor_id: String,
    pub user_id: String,
    /// State code of the State Pharmacy Council, e.g. "KA".
    pub council: String,
    pub registration_number: String,
    pub status: AppointmentStatus,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    /// The admin who verified, rejected or revoked it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected or revoked.
    pub decision_reason: Option<String>,
}

impl FromRow<'_, AnyRow> for AppointmentRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(AppointmentRow {
            id: row.try_get("id")?,
            vendor_id: row.try_get("vendor_id")?,
            user_id: row.try_get("user_id")?,
            council: row.try_get("council")?,
            registration_number: row.try_get("registration_number")?,
            status: parsed(row, "status", AppointmentStatus::from_db)?,
            proposed_by: row.try_get("proposed_by")?,
            proposed_at: time(row, "proposed_at")?,
            decided_by: row.try_get("decided_by")?,
            decided_at: opt_time(row, "decided_at")?,
            decision_reason: row.try_get("decision_reason")?,
        })
    }
}

const APPOINTMENT_COLUMNS: &str = "id, vendor_id, user_id, council, registration_number, status, \
     proposed_by, proposed_at, decided_by, decided_at, decision_reason";

/// The fields of a new appointment.
pub struct NewAppointment<'a> {
    pub vendor_id: &'a str,
    pub user_id: &'a str,
    pub council: &'a str,
    pub registration_number: &'a str,
    pub proposed_by: &'a str,
    pub status: AppointmentStatus,
    /// Set only for appointments created already decided (demo data).
    pub decided_by: Option<&'a str>,
}

/// Records an appointment. A second live (pending or verified) appointment
/// of the same person or registration number is `CONFLICT`.
pub async fn insert_appointment(
    conn: &mut AnyConnection,
    a: NewAppointment<'_>,
) -> ApiResult<AppointmentRow> {
    let id = new_id();
    let now = now_db();
    let result = sqlx::query(
        "INSERT INTO pharmacist_appointments (id, vendor_id, user_id, council, registration_number, \
         status, proposed_by, proposed_at, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(a.vendor_id)
    .bind(a.user_id)
    .bind(a.council)
    .bind(a.registration_number)
    .bind(a.status.as_db())
    .bind(a.proposed_by)
    .bind(&now)
    .bind(a.decided_by)
    .bind(a.decided_by.map(|_| now.clone()))
    .execute(&mut *conn)
    .await;
    let table = "pharmacist_appointments";
    match result {
        Err(e) if is_unique_violation(&e, table, "user_id") => Err(ApiError::conflict(
            "this person already has a pending or active pharmacist appointment",
        )),
        Err(e) if is_unique_violation(&e, table, "registration_number") => Err(ApiError::conflict(
            "this registration is already pending or active for a pharmacist",
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(appointment_by_id(conn, &id)
            .await?
            .expect("row just inserted")),
    }
}

/// One appointment by ID.
pub async fn appointment_by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> sqlx::Result<Option<AppointmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM pharmacist_appointments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Moves an appointment from `from` to `to`, recording who decided and why;
/// false when it is no longer in `from` (decided concurrently).
pub async fn decide_appointment(
    conn: &mut AnyConnection,
    id: &str,
    from: AppointmentStatus,
    to: AppointmentStatus,
    decided_by: &str,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE pharmacist_appointments SET status = $3, decided_by = $4, decided_at = $5, \
         decision_reason = $6 WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from.as_db())
    .bind(to.as_db())
    .bind(decided_by)
    .bind(now_db())
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The live (pending or verified) appointment of a person, if any.
pub async fn live_appointment_of(
    conn: &mut AnyConnection,
    user_id: &str,
) -> sqlx::Result<Option<AppointmentRow>> {
    sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM pharmacist_appointments \
         WHERE user_id = $1 AND status IN ('PENDING', 'VERIFIED')"
    ))
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Which appointments a list shows.
pub struct AppointmentFilter<'a> {
    /// Only this status.
    pub status: Option<AppointmentStatus>,
    /// Only this vendor's.
    pub vendor_id: Option<&'a str>,
}

/// A page of appointments, oldest proposal first (a review queue).
pub async fn list_appointments(
    store: &Store,
    filter: &AppointmentFilter<'_>,
    page: &PageRequest,
) -> sqlx::Result<(Vec<AppointmentRow>, i64)> {
    let status = filter.status.map_or("", AppointmentStatus::as_db);
    let vendor = filter.vendor_id.unwrap_or("");
    let (after_key, after_id) = page
        .after
        .as_ref()
        .map(|c| (c.key.clone(), c.id.clone()))
        .unwrap_or_default();
    let matching = "($1 = '' OR status = $1) AND ($2 = '' OR vendor_id = $2)";
    let rows = sqlx::query_as(&format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM pharmacist_appointments WHERE {matching} \
         AND ($3 = '' OR (proposed_at, id) > ($4, $3)) ORDER BY proposed_at, id LIMIT $5"
    ))
    .bind(status)
    .bind(vendor)
    .bind(&after_id)
    .bind(&after_key)
    .bind(page.fetch_limit())
    .fetch_all(store.pool())
    .await?;
    let count_sql = format!("SELECT COUNT(*) FROM pharmacist_appointments WHERE {matching}");
    let total = page
        .total(
            sqlx::query_as(&count_sql)
                .bind(status)
                .bind(vendor)
                .fetch_one(store.pool()),
        )
        .await?;
    Ok((rows, total))
}

/// Whether `family_member_id` is a dependent of `user_id`.
pub async fn is_family_member_of(
    store: &Store,
    user_id: &str,
    family_member_id: &str,
) -> sqlx::Result<bool> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM family_members WHERE id = $1 AND user_id = $2")
            .bind(family_member_id)
            .bind(user_id)
            .fetch_optional(store.pool())
            .await?;
    Ok(found.is_some())
}
