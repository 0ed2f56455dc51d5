//! Account security and consent types: sessions, consent choices, and the
//! enums naming a contact detail and a kind of consent.

use crate::domain::accounts::ConsentKind as DomainConsentKind;
use crate::service::verification::Contact;
use crate::store::accounts::{ConsentRow, SessionRow};
use async_graphql::{Enum, Object, SimpleObject, ID};
use janta_platform::scalars::DateTime;

/// Which contact detail a verification code proves.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum VerificationChannel {
    /// The login e-mail address (code sent by e-mail).
    Email,
    /// The mobile number (code sent by SMS).
    Phone,
}

impl From<VerificationChannel> for Contact {
    fn from(c: VerificationChannel) -> Self {
        match c {
            VerificationChannel::Email => Contact::Email,
            VerificationChannel::Phone => Contact::Phone,
        }
    }
}

/// One signed-in device: a chain of refresh tokens from one sign-in.
pub struct Session {
    pub(in crate::schema) row: SessionRow,
    pub(in crate::schema) current: bool,
}

/// A session: one sign-in and its refreshes, until it is revoked or expires.
#[Object]
impl Session {
    /// Session ID (what `revokeSession` takes).
    async fn id(&self) -> ID {
        ID(self.row.family_id.clone())
    }
    /// The device, as the client named it at sign-in (`login(device:)`).
    async fn device(&self) -> Option<&str> {
        self.row.device.as_deref()
    }
    /// When it was signed in.
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }
    /// When its tokens were last refreshed (or issued).
    async fn last_used_at(&self) -> DateTime {
        DateTime(self.row.last_used_at)
    }
    /// Whether it is the session of the refresh token you named.
    async fn current(&self) -> bool {
        self.current
    }
}

/// What a person can agree to or withdraw.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ConsentKind {
    /// The terms of use.
    Terms,
    /// Processing of your prescriptions (health data) to dispense them.
    PrescriptionProcessing,
    /// Marketing messages.
    Marketing,
}

impl From<ConsentKind> for DomainConsentKind {
    fn from(k: ConsentKind) -> Self {
        match k {
            ConsentKind::Terms => DomainConsentKind::Terms,
            ConsentKind::PrescriptionProcessing => DomainConsentKind::PrescriptionProcessing,
            ConsentKind::Marketing => DomainConsentKind::Marketing,
        }
    }
}

impl From<DomainConsentKind> for ConsentKind {
    fn from(k: DomainConsentKind) -> Self {
        match k {
            DomainConsentKind::Terms => ConsentKind::Terms,
            DomainConsentKind::PrescriptionProcessing => ConsentKind::PrescriptionProcessing,
            DomainConsentKind::Marketing => ConsentKind::Marketing,
        }
    }
}

/// One recorded choice: granted or withdrawn, of which text, when.
#[derive(SimpleObject)]
pub struct ConsentRecord {
    /// What it is about.
    pub kind: ConsentKind,
    /// Granted (true) or withdrawn (false).
    pub granted: bool,
    /// The version of the text the choice was made on.
    pub version: String,
    /// When it was made.
    pub recorded_at: DateTime,
}

impl From<ConsentRow> for ConsentRecord {
    fn from(row: ConsentRow) -> Self {
        ConsentRecord {
            kind: row.kind.into(),
            granted: row.granted,
            version: row.text_version,
            recorded_at: DateTime(row.recorded_at),
        }
    }
}

/// Your standing choice on one kind of consent, with its history.
#[derive(SimpleObject)]
pub struct Consent {
    /// What it is about.
    pub kind: ConsentKind,
    /// Whether it stands granted now (false until you grant it).
    pub granted: bool,
    /// The version of the text of your latest choice (null: none yet).
    pub version: Option<String>,
    /// When you made your latest choice (null: none yet).
    pub recorded_at: Option<DateTime>,
    /// The version of the text in force now: grant again when it differs.
    pub current_version: String,
    /// Every choice on this kind, oldest first.
    pub history: Vec<ConsentRecord>,
}
