//! Which branch fulfils each order of a checkout: the vendor's default
//! shipping branch unless the customer names one of its shipping branches
//! (`fulfilFrom`). The branch's state decides CGST + SGST or IGST, and the
//! branch (with the vendor's legal name) is the seller on the invoice, so it
//! must be able to invoice: a GSTIN and a valid invoice series.

use crate::domain::invoices::{parse_gstin, InvoiceSeries, Seller};
use crate::peers::{BranchFacts, VendorFacts};
use janta_platform::ids::parse_id;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The branches a checkout asks for, by vendor (validated IDs, one per vendor).
pub fn parse_fulfil_from(raw: &[(String, String)]) -> ApiResult<BTreeMap<String, String>> {
    let mut chosen = BTreeMap::new();
    for (vendor, branch) in raw {
        let vendor = parse_id(vendor, "fulfilFrom.vendorId")?;
        let branch = parse_id(branch, "fulfilFrom.branchId")?;
        if chosen.insert(vendor.clone(), branch).is_some() {
            return Err(
                ApiError::bad_input("fulfilFrom names a vendor more than once")
                    .with_details(json!({ "vendorId": vendor })),
            );
        }
    }
    Ok(chosen)
}

/// The checkout fingerprint extended with the branches asked for, so that
/// an idempotency key reused with other branches is refused (unchanged when
/// none are named, so earlier keys keep their fingerprints).
pub fn fingerprint_with(fingerprint: String, chosen: &BTreeMap<String, String>) -> String {
    if chosen.is_empty() {
        return fingerprint;
    }
    let mut text = fingerprint;
    for (vendor, branch) in chosen {
        text.push_str(&format!("|{vendor}={branch}"));
    }
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Refuses branches asked for vendors that have nothing in the cart.
pub fn check_vendors_in_cart(
    chosen: &BTreeMap<String, String>,
    vendor_ids: &[String],
) -> ApiResult<()> {
    match chosen.keys().find(|v| !vendor_ids.contains(v)) {
        Some(vendor) => Err(ApiError::bad_input(
            "fulfilFrom names a vendor with nothing in your cart",
        )
        .with_details(json!({ "vendorId": vendor }))),
        None => Ok(()),
    }
}

/// The seller of `vendor_id`'s order: the branch asked for (which must be
/// one of the vendor's branches and ship) or the vendor's shipping branch,
/// with the vendor's legal name.
pub fn seller_for(
    vendor_id: &str,
    vendor: &VendorFacts,
    requested: Option<&String>,
) -> ApiResult<Seller> {
    let details = || json!({ "vendorId": vendor_id, "branchId": requested });
    let branch: &BranchFacts = match requested {
        Some(id) => {
            let branch = vendor
                .branches
                .iter()
                .find(|b| &b.id == id)
                .ok_or_else(|| {
                    ApiError::bad_input("fulfilFrom names a branch that is not this vendor's")
                        .with_details(details())
                })?;
            if !branch.ships {
                return Err(ApiError::bad_input(
                    "fulfilFrom names a branch that does not ship orders",
                )
                .with_details(details()));
            }
            branch
        }
        None => vendor
            .shipping_branch
            .as_ref()
            .filter(|b| b.ships)
            .ok_or_else(|| {
                ApiError::conflict("this pharmacy has no branch shipping orders right now")
                    .with_details(details())
            })?,
    };
    let cannot_invoice = || {
        ApiError::conflict("this branch cannot issue GST invoices yet (no GSTIN)")
            .with_details(json!({ "vendorId": vendor_id, "branchId": branch.id }))
    };
    let gstin = branch
        .gstin
        .as_deref()
        .ok_or_else(cannot_invoice)
        .and_then(|g| parse_gstin(g).map_err(|_| cannot_invoice()))?;
    let series = InvoiceSeries::parse(branch.invoice_series.as_deref().unwrap_or_default())
        .map_err(|e| e.with_details(json!({ "vendorId": vendor_id, "branchId": branch.id })))?;
    if vendor.legal_name.trim().is_empty() {
        return Err(ApiError::conflict(
            "this pharmacy has no registered legal name yet",
        ));
    }
    Ok(Seller {
        legal_name: vendor.legal_name.clone(),
        branch_id: branch.id.clone(),
        branch_name: branch.name.clone(),
        line1: branch.line1.clone(),
        city: branch.city.clone(),
        state: branch.state.clone(),
        pincode: branch.pincode.clone(),
        gstin,
        invoice_series: series.as_str().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use janta_platform::ErrorCode;

    fn branch(id: &str, state: &str, ships: bool) -> BranchFacts {
        BranchFacts {
            id: id.into(),
            name: format!("{id} branch"),
            line1: "1 Road".into(),
            city: "City".into(),
            state: state.into(),
            pincode: "560001".into(),
            gstin: Some(
                if state == "KA" {
                    "29AAFCS5678B1Z1"
                } else {
                    "27AAFCS5678B1Z3"
                }
                .into(),
            ),
            ships,
            invoice_series: Some(format!("{state}01")),
        }
    }

    fn vendor() -> VendorFacts {
        let mh = branch("019a0000-0000-7000-8000-0000000000b1", "MH", true);
        let ka = branch("019a0000-0000-7000-8000-0000000000b2", "KA", true);
        let closed = branch("019a0000-0000-7000-8000-0000000000b3", "KA", false);
        VendorFacts {
            state: "MH".into(),
            legal_name: "Sahyadri Medicos LLP".into(),
            shipping_branch: Some(mh.clone()),
            branches: vec![mh, ka, closed],
            sells: true,
        }
    }

    #[test]
    fn the_default_is_the_shipping_branch_and_a_named_one_must_ship() {
        let v = vendor();
        let default = seller_for("v", &v, None).unwrap();
        assert_eq!(
            (default.state.as_str(), default.invoice_series.as_str()),
            ("MH", "MH01")
        );
        let ka = seller_for("v", &v, Some(&v.branches[1].id)).unwrap();
        assert_eq!(
            (ka.state.as_str(), ka.gstin.as_str()),
            ("KA", "29AAFCS5678B1Z1")
        );
        let closed = seller_for("v", &v, Some(&v.branches[2].id)).unwrap_err();
        assert_eq!(closed.code(), ErrorCode::BadUserInput);
        let foreign = "019a0000-0000-7000-8000-0000000000ff".to_string();
        assert_eq!(
            seller_for("v", &v, Some(&foreign)).unwrap_err().code(),
            ErrorCode::BadUserInput
        );
        let mut no_series = vendor();
        no_series.shipping_branch.as_mut().unwrap().invoice_series = None;
        assert_eq!(
            seller_for("v", &no_series, None).unwrap_err().code(),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn choices_are_one_per_vendor_and_change_the_fingerprint() {
        let v = "019a0000-0000-7000-8000-0000000000a2".to_string();
        let b = "019a0000-0000-7000-8000-0000000000b2".to_string();
        assert!(parse_fulfil_from(&[(v.clone(), b.clone()), (v.clone(), b.clone())]).is_err());
        let chosen = parse_fulfil_from(&[(v.clone(), b)]).unwrap();
        assert_eq!(fingerprint_with("f".into(), &BTreeMap::new()), "f");
        assert_ne!(fingerprint_with("f".into(), &chosen), "f");
        assert!(check_vendors_in_cart(&chosen, &[v]).is_ok());
        assert!(check_vendors_in_cart(&chosen, &[]).is_err());
    }
}
