//! The access log of a prescription.

use crate::domain::{AccessAction, ReadGround};
use crate::store;
use async_graphql::{Enum, SimpleObject, ID};
use janta_platform::scalars::DateTime;
use janta_platform::{ApiError, ApiResult};

/// On what ground someone read a prescription.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrescriptionReadGround {
    /// Its customer.
    Owner,
    /// A pharmacist of the pharmacy it was submitted to.
    Pharmacy,
    /// Staff of a pharmacy whose order dispenses against it.
    DispensingPharmacy,
    /// A platform admin, with a reason.
    Audit,
}

impl From<ReadGround> for PrescriptionReadGround {
    fn from(g: ReadGround) -> Self {
        match g {
            ReadGround::Owner => PrescriptionReadGround::Owner,
            ReadGround::Pharmacy => PrescriptionReadGround::Pharmacy,
            ReadGround::DispensingPharmacy => PrescriptionReadGround::DispensingPharmacy,
            ReadGround::Audit => PrescriptionReadGround::Audit,
        }
    }
}

/// What someone did with a prescription, as its access log shows.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrescriptionAccessAction {
    /// A platform admin read the record.
    ReadForAudit,
    /// A document link was handed out.
    DocumentLinkIssued,
    /// The document was downloaded through a link.
    DocumentDownloaded,
}

impl From<AccessAction> for PrescriptionAccessAction {
    fn from(a: AccessAction) -> Self {
        match a {
            AccessAction::ReadForAudit => PrescriptionAccessAction::ReadForAudit,
            AccessAction::DocumentLinkIssued => PrescriptionAccessAction::DocumentLinkIssued,
            AccessAction::DocumentDownloaded => PrescriptionAccessAction::DocumentDownloaded,
        }
    }
}

/// One read of a prescription or its document, from the audit trail.
#[derive(SimpleObject)]
pub struct PrescriptionAccess {
    /// Who read it (user ID).
    pub actor: ID,
    /// What they did.
    pub action: PrescriptionAccessAction,
    /// On what ground they were let in.
    pub ground: Option<PrescriptionReadGround>,
    /// The reason they gave (required of admins).
    pub reason: Option<String>,
    /// When.
    pub at: DateTime,
}

impl PrescriptionAccess {
    /// An access-log entry from its audit row (`None` for other actions).
    pub(in crate::schema) fn from_row(row: store::AccessRow) -> ApiResult<Option<Self>> {
        let Some(action) = AccessAction::from_db(&row.action) else {
            return Ok(None);
        };
        let after: serde_json::Value = row
            .after_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(ApiError::internal)?
            .unwrap_or_default();
        Ok(Some(PrescriptionAccess {
            actor: ID(row.actor),
            action: action.into(),
            ground: after["ground"]
                .as_str()
                .and_then(ReadGround::parse)
                .map(Into::into),
            reason: after["reason"].as_str().map(str::to_string),
            at: row.at,
        }))
    }
}
