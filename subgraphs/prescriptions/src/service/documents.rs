//! Reading prescriptions and their documents: admins' audited reads, the
//! single-use signed document links (issued here, used by the `GET
//! /documents/{id}` route), and the upload slots the `PUT /uploads/{id}`
//! route fills.

use super::{audit, audit_prescription};
use crate::domain::{AccessAction, ReadGround, DOCUMENT_URL_TTL_SECONDS};
use crate::store::{self, LinkClaim, NewDocumentLink};
use crate::PrescriptionsState;
use chrono::{DateTime, Utc};
use janta_platform::cause::Cause;
use janta_platform::store::Store;
use janta_platform::{ApiError, ApiResult};
use serde_json::json;

pub use crate::store::{
    claim_upload, complete_upload, document_of, release_upload, ClaimOutcome, UploadedDocument,
};

/// Records in the audit trail that an admin read prescription `id`, and why.
pub async fn record_admin_read(
    store: &Store,
    id: &str,
    reason: Option<&str>,
    cause: &Cause,
) -> ApiResult<()> {
    let mut tx = store.begin().await?;
    let after = Some(json!({ "ground": ReadGround::Audit.as_db(), "reason": reason }));
    let action = AccessAction::ReadForAudit.as_db();
    audit_prescription(&mut tx, cause, id, action, None, after).await?;
    tx.commit().await?;
    Ok(())
}

/// A signed, single-use link to a prescription's document.
#[derive(Debug, Clone)]
pub struct DocumentLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues a short-lived, single-use link to prescription `id`'s document
/// for the caller (who may read it on `ground`), recorded and audited.
pub async fn issue_document_link(
    state: &PrescriptionsState,
    id: &str,
    ground: ReadGround,
    reason: Option<&str>,
    cause: &Cause,
) -> ApiResult<DocumentLink> {
    let expires = Utc::now().timestamp() + DOCUMENT_URL_TTL_SECONDS;
    let expires_at = DateTime::from_timestamp(expires, 0)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("expiry out of range")))?;
    let mut tx = state.store.begin().await?;
    let new = NewDocumentLink {
        prescription_id: id,
        actor: cause.actor(),
        ground,
        reason,
        expires_at,
    };
    let link = store::insert_document_link(&mut tx, &new).await?;
    let after = Some(json!({
        "ground": ground.as_db(),
        "reason": reason,
        "linkId": link,
        "expiresAt": expires_at.to_rfc3339(),
    }));
    let action = AccessAction::DocumentLinkIssued.as_db();
    audit_prescription(&mut tx, cause, id, action, None, after).await?;
    tx.commit().await?;
    let sig = state.signer.document_sig(id, &link, expires);
    Ok(DocumentLink {
        url: format!(
            "{}/documents/{id}?link={link}&expires={expires}&sig={sig}",
            state.public_url
        ),
        expires_at,
    })
}

/// Claims the single use of document link `link` and audits the download
/// under the person the link was issued to, in one transaction.
pub async fn use_document_link(
    store: &Store,
    prescription_id: &str,
    link: &str,
    now: DateTime<Utc>,
) -> ApiResult<LinkClaim> {
    let mut tx = store.begin().await?;
    let claim = store::claim_document_link(&mut tx, link, prescription_id, now).await?;
    if let LinkClaim::Claimed(issued) = &claim {
        let after = Some(json!({
            "linkId": link,
            "ground": issued.ground.as_db(),
            "reason": issued.reason,
        }));
        let action = AccessAction::DocumentDownloaded.as_db();
        let actor = issued.actor.as_str();
        audit(
            &mut tx,
            actor,
            "prescription",
            prescription_id,
            action,
            None,
            after,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(claim)
}
