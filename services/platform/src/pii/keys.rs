//! The personal-data keys: one blind-index key, and encryption keys by id — the current one
//! encrypts, every configured one decrypts, so old rows stay readable while new rows (and rows
//! re-encrypted by [`super::reencrypt`]) are under the current key.
//!
//! A ciphertext names its key: `F0 'P' '1' | id length | id | nonce | AES-256-GCM` with the
//! header as associated data, so an id cannot be swapped. Ciphertexts written before key ids
//! (`nonce | AES-256-GCM`) are opened with the key derived from the old single master key.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{PiiError, PiiKind, normalize};

type HmacSha256 = Hmac<Sha256>;

/// Length of the random nonce stored in every ciphertext.
const NONCE_LEN: usize = 12;
/// Shortest key accepted from configuration.
pub const MIN_KEY_LEN: usize = 32;
/// Start of a ciphertext that names its key.
const MAGIC: [u8; 3] = [0xF0, b'P', b'1'];
/// The id of the encryption key derived from the old single master key (`PINGAN_PII_KEY`).
pub const MASTER_KEY_ID: &str = "master";

/// A key id as configured (`id=secret`).
pub type KeyId = String;

struct EncryptionKey {
    id: String,
    cipher: Aes256Gcm,
    /// Also opens ciphertexts written before key ids (the key derived from the master key).
    opens_unnamed: bool,
}

struct Keys {
    hash: [u8; 32],
    /// The current key first; the others only decrypt.
    encryption: Vec<EncryptionKey>,
}

/// The keys for personal data: a blind-index key and encryption keys by id.
#[derive(Clone)]
pub struct PiiKeys {
    inner: Arc<Keys>,
}

impl fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKeys(<redacted>)")
    }
}

impl PiiKeys {
    /// Both keys derived from one master key of at least 32 bytes (the old single
    /// `PINGAN_PII_KEY`); its encryption key has the id [`MASTER_KEY_ID`].
    pub fn from_master(master: &[u8]) -> Result<Self, PiiError> {
        Self::from_parts(master, &[], Some(master))
    }

    /// A blind-index key, encryption keys by id (the first is current, the others decrypt
    /// only) and, to keep older rows readable, the old master key (decrypt only unless no
    /// encryption key is given). Every key is at least 32 bytes.
    pub fn from_parts(
        index_key: &[u8],
        encryption: &[(KeyId, Vec<u8>)],
        master: Option<&[u8]>,
    ) -> Result<Self, PiiError> {
        let short = |key: &[u8]| key.len() < MIN_KEY_LEN;
        if short(index_key)
            || encryption.iter().any(|(_, key)| short(key))
            || master.is_some_and(short)
        {
            return Err(PiiError::KeyTooShort);
        }
        let mut keys: Vec<EncryptionKey> = Vec::new();
        for (id, secret) in encryption {
            if id.is_empty() || id.len() > usize::from(u8::MAX) || id == MASTER_KEY_ID {
                return Err(PiiError::Setting(format!(
                    "key id {id:?} must be 1 to 255 bytes and not {MASTER_KEY_ID:?}"
                )));
            }
            if keys.iter().any(|k| &k.id == id) {
                return Err(PiiError::Setting(format!(
                    "key id {id:?} is configured twice"
                )));
            }
            keys.push(EncryptionKey {
                id: id.clone(),
                cipher: cipher(secret),
                opens_unnamed: false,
            });
        }
        if let Some(master) = master {
            keys.push(EncryptionKey {
                id: MASTER_KEY_ID.to_owned(),
                cipher: cipher(master),
                opens_unnamed: true,
            });
        }
        if keys.is_empty() {
            return Err(PiiError::Setting("no encryption key is configured".into()));
        }
        Ok(Self {
            inner: Arc::new(Keys {
                hash: derive(index_key, b"pingan-pii-hash-v1"),
                encryption: keys,
            }),
        })
    }

    /// Fresh random keys, for tests and throwaway processes (data is unreadable after restart).
    pub fn random() -> Self {
        let master = crate::auth::random_secret();
        Self::from_parts(&master, &[], Some(&master))
            .unwrap_or_else(|_| unreachable!("a random secret is 32 bytes"))
    }

    /// The id of the key new values are encrypted under.
    pub fn current_key_id(&self) -> &str {
        self.current().id.as_str()
    }

    /// Every encryption key id, the current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.inner
            .encryption
            .iter()
            .map(|k| k.id.as_str())
            .collect()
    }

    fn current(&self) -> &EncryptionKey {
        match self.inner.encryption.first() {
            Some(key) => key,
            None => unreachable!("from_parts refuses an empty key list"),
        }
    }

    /// A keyed hash (hex HMAC-SHA256) of a normalised value: equal numbers hash equal, and the
    /// hash cannot be reversed or recomputed without the key.
    pub fn blind_index(&self, kind: PiiKind, value: &str) -> String {
        let normalized = normalize(value);
        let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(&self.inner.hash) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts keys of any length"),
        };
        mac.update(kind.domain());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypts a clear value under the current key.
    pub fn encrypt(&self, clear: &str) -> Result<Vec<u8>, PiiError> {
        use rand::RngCore;
        let key = self.current();
        let mut out = header(&key.id);
        let mut nonce_bytes = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| PiiError::Encrypt)?;
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: clear.as_bytes(),
                    aad: &out,
                },
            )
            .map_err(|_| PiiError::Encrypt)?;
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts what [`PiiKeys::encrypt`] produced under any configured key, or a value
    /// written before key ids under the master key.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, PiiError> {
        if let Some((id, header_len)) = named_key(sealed)
            && let Some(key) = self.inner.encryption.iter().find(|k| k.id == id)
            && let Ok(clear) = open(&key.cipher, &sealed[header_len..], &sealed[..header_len])
        {
            return Ok(clear);
        }
        // Before key ids (or, rarely, an old nonce that happens to start like a header).
        self.inner
            .encryption
            .iter()
            .filter(|k| k.opens_unnamed)
            .find_map(|k| open(&k.cipher, sealed, &[]).ok())
            .ok_or(PiiError::Decrypt)
    }

    /// The key id a ciphertext names, None for one written before key ids.
    pub fn key_id_of(sealed: &[u8]) -> Option<&str> {
        named_key(sealed).map(|(id, _)| id)
    }

    /// The value re-encrypted under the current key, or None when it already is.
    pub fn reencrypt(&self, sealed: &[u8]) -> Result<Option<Vec<u8>>, PiiError> {
        if Self::key_id_of(sealed) == Some(self.current_key_id()) && self.decrypt(sealed).is_ok() {
            return Ok(None);
        }
        let clear = self.decrypt(sealed)?;
        self.encrypt(&clear).map(Some)
    }
}

fn header(id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 1 + id.len() + NONCE_LEN + 32);
    out.extend_from_slice(&MAGIC);
    // Ids are at most 255 bytes (checked in from_parts).
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id.as_bytes());
    out
}

/// The key id and header length of a ciphertext that names its key.
fn named_key(sealed: &[u8]) -> Option<(&str, usize)> {
    let rest = sealed.strip_prefix(&MAGIC[..])?;
    let (&len, rest) = rest.split_first()?;
    let id = rest.get(..usize::from(len))?;
    let id = std::str::from_utf8(id).ok()?;
    Some((id, MAGIC.len() + 1 + id.len()))
}

fn open(cipher: &Aes256Gcm, body: &[u8], aad: &[u8]) -> Result<String, PiiError> {
    if body.len() < NONCE_LEN {
        return Err(PiiError::Decrypt);
    }
    let (nonce_bytes, ciphertext) = body.split_at(NONCE_LEN);
    let nonce = Nonce::try_from(nonce_bytes).map_err(|_| PiiError::Decrypt)?;
    let clear = cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| PiiError::Decrypt)?;
    String::from_utf8(clear).map_err(|_| PiiError::Decrypt)
}

fn cipher(secret: &[u8]) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(derive(
        secret,
        b"pingan-pii-enc-v1",
    )))
}

/// A fresh random master key as 64 hex characters (for the dev shape's key file).
pub fn random_key_hex() -> String {
    hex::encode(crate::auth::random_secret())
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(master) {
        Ok(mac) => mac,
        Err(_) => unreachable!("hmac accepts keys of any length"),
    };
    mac.update(label);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests;
