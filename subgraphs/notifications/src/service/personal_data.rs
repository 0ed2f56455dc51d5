//! The notifications subgraph's share of a person's data rights (issue 18,
//! DPDP Act 2023 §11–12), answered through
//! [`janta_kit::personal_data::answer_requests`] on the consumer.
//!
//! Export: the person's notifications (with read marks), their read marks
//! on shared notifications, their channel preferences, and their e-mail,
//! SMS and in-app deliveries with every attempt.
//!
//! Erasure: notification titles and texts, one-time codes, read marks and
//! preferences go; deliveries not yet made are cancelled and the error
//! texts of every attempt (which could quote an address or a number) are
//! erased; partner webhook payloads that name the person lose their name
//! (pseudonym); copies of e-mails and SMS in the dev outbox are deleted.
//! Notifications never store e-mail addresses or phone numbers (they are
//! fetched from users at delivery time), and nothing here is kept by law.

use crate::domain::Audience;
use crate::store::personal_data::{self as store, Erased};
use async_trait::async_trait;
use janta_kit::personal_data::{ErasureReport, PersonalData};
use janta_platform::scalars::now_db;
use serde_json::{json, Value};
use sqlx::AnyConnection;
use std::path::PathBuf;

/// The fields of event payloads (as partner webhooks receive them under
/// `data`) that hold personal data beyond IDs: events carry no contact
/// details, only the name a welcome greets.
pub const PERSONAL_PAYLOAD_FIELDS: [&str; 1] = ["fullName"];

/// Notifications' [`PersonalData`]: its rows, and the dev outbox where
/// e-mails and SMS become files (`{outbox}/email/<delivery>.eml`,
/// `{outbox}/sms/<delivery>.txt`).
pub struct NotificationsData {
    outbox: PathBuf,
}

impl NotificationsData {
    /// Answers for this subgraph, whose dev outbox is `outbox`.
    pub fn new(outbox: PathBuf) -> Self {
        NotificationsData { outbox }
    }

    /// Deletes the outbox copies of `deliveries`; how many there were.
    async fn delete_outbox_copies(&self, deliveries: &[String]) -> anyhow::Result<usize> {
        let mut deleted = 0;
        for id in deliveries {
            for file in [
                self.outbox.join("email").join(format!("{id}.eml")),
                self.outbox.join("sms").join(format!("{id}.txt")),
            ] {
                match tokio::fs::remove_file(&file).await {
                    Ok(()) => deleted += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(deleted)
    }
}

#[async_trait]
impl PersonalData for NotificationsData {
    async fn export(&self, conn: &mut AnyConnection, user_id: &str) -> anyhow::Result<Value> {
        let audience = Audience::User(user_id.to_string()).key();
        Ok(json!({
            "notifications": store::notifications(conn, user_id, &audience).await?,
            "sharedReadMarks": store::shared_read_marks(conn, user_id, &audience).await?,
            "preferences": store::preferences(conn, user_id).await?,
            "deliveries": store::deliveries(conn, user_id).await?,
            "deliveryAttempts": store::delivery_attempts(conn, user_id).await?,
        }))
    }

    async fn erase(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
    ) -> anyhow::Result<ErasureReport> {
        let audience = Audience::User(user_id.to_string()).key();
        let now = now_db();
        let erased = store::erase(conn, user_id, &audience, &now).await?;
        let payloads = pseudonymise_webhook_payloads(conn, user_id, &now).await?;
        let messages = store::message_delivery_ids(conn, user_id).await?;
        let copies = self.delete_outbox_copies(&messages).await?;
        Ok(erasure_report(&erased, payloads, copies))
    }
}

/// Replaces the person's name in the partner webhook payloads that are
/// about them; how many payloads changed.
async fn pseudonymise_webhook_payloads(
    conn: &mut AnyConnection,
    user_id: &str,
    now: &str,
) -> anyhow::Result<u64> {
    let needle = Value::String(user_id.to_string()).to_string();
    let mut changed = 0;
    for (id, payload) in store::webhook_payloads_naming(conn, &needle).await? {
        let mut body: Value = serde_json::from_str(&payload)?;
        if pseudonymise_payload(&mut body, user_id) {
            store::set_webhook_payload(conn, &id, &body.to_string(), now).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The name an erased person is given where a name must stay.
pub fn pseudonym(user_id: &str) -> String {
    format!("erased-{}", user_id.chars().take(8).collect::<String>())
}

/// Replaces the personal fields of a webhook body's `data` with the
/// person's pseudonym when that data is about `user_id` (`userId` or
/// `customerId`); true when something changed.
pub fn pseudonymise_payload(body: &mut Value, user_id: &str) -> bool {
    let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) else {
        return false;
    };
    let about = ["userId", "customerId"]
        .iter()
        .any(|key| data.get(*key).and_then(Value::as_str) == Some(user_id));
    if !about {
        return false;
    }
    let alias = Value::String(pseudonym(user_id));
    let mut changed = false;
    for field in PERSONAL_PAYLOAD_FIELDS {
        if let Some(value) = data.get_mut(field) {
            if *value != alias {
                *value = alias.clone();
                changed = true;
            }
        }
    }
    changed
}

/// What an erasure reports: `erased` rows, `payloads` webhook payloads
/// pseudonymised, `copies` outbox files deleted. Nothing is kept.
pub fn erasure_report(erased: &Erased, payloads: u64, copies: usize) -> ErasureReport {
    let counted = [
        (
            erased.notifications,
            "notification(s): title and text erased",
        ),
        (erased.codes, "one-time code(s) deleted"),
        (erased.read_marks, "read mark(s) deleted"),
        (erased.preferences, "channel preference(s) deleted"),
        (
            erased.deliveries,
            "e-mail/SMS/in-app deliveries cancelled or their error text erased",
        ),
        (erased.attempts, "delivery attempt error text(s) erased"),
        (payloads, "partner webhook payload(s): name pseudonymised"),
        (
            copies as u64,
            "e-mail/SMS copies deleted from the dev outbox",
        ),
    ];
    ErasureReport {
        erased: counted
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect(),
        kept: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_welcome_payload_about_the_person_loses_the_name() {
        let mut body = json!({"type": "UserRegistered",
            "data": {"userId": "019a1234-aaaa", "fullName": "Chitra Customer"}});
        assert!(pseudonymise_payload(&mut body, "019a1234-aaaa"));
        assert_eq!(body["data"]["fullName"], "erased-019a1234");
        assert_eq!(body["data"]["userId"], "019a1234-aaaa");
        assert!(
            !pseudonymise_payload(&mut body, "019a1234-aaaa"),
            "twice: nothing more"
        );
    }

    #[test]
    fn a_payload_about_someone_else_is_left_alone() {
        let mut body = json!({"data": {"userId": "other", "fullName": "Ravi"}});
        assert!(!pseudonymise_payload(&mut body, "019a1234-aaaa"));
        assert_eq!(body["data"]["fullName"], "Ravi");
    }

    #[test]
    fn the_report_lists_only_what_changed() {
        let erased = Erased {
            notifications: 3,
            preferences: 1,
            ..Erased::default()
        };
        let report = erasure_report(&erased, 0, 2);
        assert_eq!(
            report.erased,
            vec![
                "3 notification(s): title and text erased",
                "1 channel preference(s) deleted",
                "2 e-mail/SMS copies deleted from the dev outbox",
            ]
        );
        assert!(report.kept.is_empty());
        assert_eq!(
            erasure_report(&Erased::default(), 0, 0),
            ErasureReport::default()
        );
    }
}
