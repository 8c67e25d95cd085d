//! Sealing of secrets at rest: AES-256-GCM with the deployment's data key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::StoreError;

/// Sealing context of a gateway's credentials (`gateways.credentials_sealed`).
pub const GATEWAY_CREDENTIALS: &str = "gateway.credentials";
/// Sealing context of a webhook profile's signing secret (`webhook_profiles.secret_sealed`).
pub const WEBHOOK_SECRET: &str = "webhook.secret";
/// Sealing context of a secret kept in a stored idempotent response
/// (`idempotency_keys.response_body`, fields ending in `_sealed`).
pub const IDEMPOTENCY_SECRET: &str = "idempotency.secret";

/// The 32-byte data key. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the OS random source is available");
        Self(bytes)
    }

    /// Parses the base64 form used in `CATALYST_DATA_KEY` and key files.
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| StoreError::Crypto)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| StoreError::Crypto)?;
        Ok(Self(bytes))
    }

    /// A one-way fingerprint of the key (16 hex digits), to tell keys apart in records and
    /// logs without revealing them.
    pub fn id(&self) -> String {
        let mut input = b"catalyst data key id\0".to_vec();
        input.extend_from_slice(&self.0);
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The base64 form, for writing a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// Encrypts and decrypts values as `base64(nonce ‖ ciphertext ‖ tag)`.
/// The `context` (e.g. `"gateway.credentials"`) is bound as associated data, so a sealed value
/// cannot be moved to another column and still open.
pub struct Cipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl Cipher {
    /// A cipher for this key.
    pub fn new(key: &DataKey) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, &key.0).expect("32 bytes is an AES-256 key");
        Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// Encrypts `plaintext` with a fresh random nonce.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| StoreError::Crypto)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Crypto)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts a value sealed under the same key and context.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, StoreError> {
        let raw = STANDARD.decode(sealed).map_err(|_| StoreError::Crypto)?;
        if raw.len() < NONCE_LEN {
            return Err(StoreError::Crypto);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StoreError::Crypto)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| StoreError::Crypto)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_nonces_differ() {
        let cipher = Cipher::new(&DataKey::generate());
        let a = cipher.seal("iban", b"DE89370400440532013000").unwrap();
        let b = cipher.seal("iban", b"DE89370400440532013000").unwrap();
        assert_ne!(a, b, "each value gets its own nonce");
        assert!(!a.contains("DE89"));
        assert_eq!(cipher.open("iban", &a).unwrap(), b"DE89370400440532013000");
    }

    #[test]
    fn wrong_key_wrong_context_or_tampering_fail() {
        let cipher = Cipher::new(&DataKey::generate());
        let sealed = cipher.seal("gateway.credentials", b"secret").unwrap();
        assert!(
            Cipher::new(&DataKey::generate())
                .open("gateway.credentials", &sealed)
                .is_err()
        );
        assert!(cipher.open("webhook.secret", &sealed).is_err());
        let mut raw = STANDARD.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(
            cipher
                .open("gateway.credentials", &STANDARD.encode(raw))
                .is_err()
        );
        assert!(cipher.open("gateway.credentials", "not base64!").is_err());
    }

    #[test]
    fn data_key_base64_round_trip_and_redacted_debug() {
        let key = DataKey::generate();
        let again = DataKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.0, again.0);
        assert_eq!(format!("{key:?}"), "DataKey([REDACTED])");
        assert!(DataKey::from_base64("c2hvcnQ=").is_err());
    }
}
