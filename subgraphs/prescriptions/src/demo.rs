//! Demo data for dev mode: none. A prescription is only meaningful with a
//! real document behind it and a pharmacist's decision over catalog
//! medicines, so the demo creates them through the API (upload, submit,
//! review) rather than by seeding rows here. A prescription is seen only by
//! the pharmacy it is submitted to: the demo submits to the Karnataka demo
//! pharmacy (`vendorId` = `janta_platform::demo::VENDOR_KA_ID`), whose
//! pharmacist (`pharmacist.ka@janta.test`) then finds it in their queue.
//! The approval names the prescriber: give `doctorRegistrationNumber` at
//! submission (e.g. "KMC-48213") or `prescriberRegistration` when
//! approving, or the approval is refused (schedule H and H1 sales are
//! registered with their prescriber).

use janta_platform::store::Store;

/// Seeds nothing; returns whether it seeded (never). Kept so the launcher
/// treats every subgraph alike.
pub async fn seed(_store: &Store) -> anyhow::Result<bool> {
    Ok(false)
}
