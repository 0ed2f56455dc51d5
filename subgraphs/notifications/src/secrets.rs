//! Webhook signing secrets sealed at rest. Deliveries are signed with them,
//! so they must be recoverable (encrypted, not hashed): XChaCha20-Poly1305
//! under the configured key (`JANTA_WEBHOOK_ENCRYPTION_KEY`), a random
//! 24-byte nonce per secret, and the subscription ID as associated data, so
//! a sealed secret copied onto another row does not open. Stored form:
//! `v1:<base64(nonce ‖ ciphertext)>`. Rows written before sealing hold the
//! plaintext; [`seal_legacy_secrets`] rewrites them at start-up.

use crate::store;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use janta_platform::store::Store;
use rand::RngCore as _;

const SEALED_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

/// Seals and opens subscription secrets with the configured key.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

/// Why a stored secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Plaintext from before sealing (start-up seals these).
    #[error("the subscription secret is not sealed")]
    NotSealed,
    /// Another key sealed it, or the row was altered.
    #[error(
        "the subscription secret does not open with the configured JANTA_WEBHOOK_ENCRYPTION_KEY"
    )]
    Unreadable,
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The stored form of `secret` for subscription `subscription_id`.
    pub fn seal(&self, secret: &str, subscription_id: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: subscription_id.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("sealing into a Vec cannot run out of room"));
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed))
    }

    /// The secret sealed in `stored` for subscription `subscription_id`.
    pub fn open(&self, stored: &str, subscription_id: &str) -> Result<String, OpenError> {
        let encoded = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(OpenError::NotSealed)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| OpenError::Unreadable)?;
        if bytes.len() <= NONCE_LEN {
            return Err(OpenError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: subscription_id.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| OpenError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| OpenError::Unreadable)
    }

    /// Whether `stored` is in sealed form (else it is legacy plaintext).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }
}

/// Seals every secret still stored in plaintext (rows from before sealing);
/// returns how many it sealed. Each row is rewritten only if it still holds
/// the plaintext read, so replicas starting together do not clash.
pub async fn seal_legacy_secrets(store: &Store, secrets: &SecretBox) -> sqlx::Result<usize> {
    let mut sealed = 0;
    for (id, plain) in store::unsealed_secrets(store).await? {
        if SecretBox::is_sealed(&plain) {
            continue;
        }
        let done = store::replace_secret(store, &id, &plain, &secrets.seal(&plain, &id)).await?;
        sealed += usize::from(done);
    }
    if sealed > 0 {
        tracing::info!(sealed, "sealed webhook secrets stored in plaintext");
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_row() {
        let key = SecretBox::new(&[7u8; 32]);
        let sealed = key.seal("whsec_abc", "sub-1");
        assert!(SecretBox::is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(key.open(&sealed, "sub-1").unwrap(), "whsec_abc");
        assert_ne!(
            sealed,
            key.seal("whsec_abc", "sub-1"),
            "a fresh nonce each time"
        );
        assert!(matches!(
            key.open(&sealed, "sub-2"),
            Err(OpenError::Unreadable)
        ));
        let other = SecretBox::new(&[8u8; 32]);
        assert!(matches!(
            other.open(&sealed, "sub-1"),
            Err(OpenError::Unreadable)
        ));
        assert!(matches!(
            key.open("whsec_abc", "sub-1"),
            Err(OpenError::NotSealed)
        ));
        assert!(matches!(
            key.open("v1:AAAA", "sub-1"),
            Err(OpenError::Unreadable)
        ));
    }
}
