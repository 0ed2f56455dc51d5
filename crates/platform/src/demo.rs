//! Fixed IDs of the demo data (dev mode only), so that each subgraph can seed
//! its own part of the demo and still refer to the others' records by ID.

/// The platform administrator.
pub const ADMIN_ID: &str = "019a0000-0000-7000-8000-000000000001";
/// The demo customer (Bengaluru, KA).
pub const CUSTOMER_ID: &str = "019a0000-0000-7000-8000-000000000002";
/// Vendor admin of the KA vendor.
pub const VENDOR_KA_ADMIN_ID: &str = "019a0000-0000-7000-8000-000000000003";
/// Pharmacist of the KA vendor.
pub const PHARMACIST_KA_ID: &str = "019a0000-0000-7000-8000-000000000004";
/// Vendor admin of the MH vendor.
pub const VENDOR_MH_ADMIN_ID: &str = "019a0000-0000-7000-8000-000000000005";
/// Pharmacist of the MH vendor.
pub const PHARMACIST_MH_ID: &str = "019a0000-0000-7000-8000-000000000006";
/// "Janta Demo Pharmacy", Karnataka.
pub const VENDOR_KA_ID: &str = "019a0000-0000-7000-8000-0000000000a1";
/// "Sahyadri Medicos", Maharashtra.
pub const VENDOR_MH_ID: &str = "019a0000-0000-7000-8000-0000000000a2";
/// The demo customer's default address.
pub const CUSTOMER_ADDRESS_ID: &str = "019a0000-0000-7000-8000-0000000000b1";
/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password-1";
