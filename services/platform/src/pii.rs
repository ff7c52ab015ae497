//! Personal data (phone and ID numbers): masking for display, a keyed hash to match a number
//! without storing it in clear, and reversible encryption for the clear value that only some
//! roles may see. Nothing here ever logs a clear value; `Debug` of the keys is redacted.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of the random nonce stored in front of every ciphertext.
const NONCE_LEN: usize = 12;
/// Shortest master key accepted from configuration.
pub const MIN_KEY_LEN: usize = 32;

/// What kind of value a keyed hash is computed over (so equal digits of different kinds differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiKind {
    /// A resident identity card number (GB 11643).
    IdNumber,
    /// A phone number.
    Phone,
}

impl PiiKind {
    fn domain(self) -> &'static [u8] {
        match self {
            Self::IdNumber => b"id_number",
            Self::Phone => b"phone",
        }
    }
}

/// Failures of the personal-data keys.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// The configured key is too short.
    #[error("pii key must be at least {MIN_KEY_LEN} characters")]
    KeyTooShort,
    /// A ciphertext could not be decrypted (wrong key or altered data).
    #[error("personal data could not be decrypted")]
    Decrypt,
    /// Encryption failed.
    #[error("personal data could not be encrypted")]
    Encrypt,
}

struct Keys {
    hash: [u8; 32],
    cipher: Aes256Gcm,
}

/// The keys for personal data, derived from one master key (`PINGAN_PII_KEY`).
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
    /// Derives the hash and encryption keys from a master key of at least 32 bytes.
    pub fn from_master(master: &[u8]) -> Result<Self, PiiError> {
        if master.len() < MIN_KEY_LEN {
            return Err(PiiError::KeyTooShort);
        }
        Ok(Self::derive_from(master))
    }

    /// Fresh random keys, for tests and throwaway processes (data is unreadable after restart).
    pub fn random() -> Self {
        Self::derive_from(&crate::auth::random_secret())
    }

    fn derive_from(master: &[u8]) -> Self {
        let hash = derive(master, b"pingan-pii-hash-v1");
        let enc = derive(master, b"pingan-pii-enc-v1");
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(enc));
        Self {
            inner: Arc::new(Keys { hash, cipher }),
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

    /// Encrypts a clear value: random nonce followed by the AES-256-GCM ciphertext.
    pub fn encrypt(&self, clear: &str) -> Result<Vec<u8>, PiiError> {
        use rand::RngCore;
        let mut nonce_bytes = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| PiiError::Encrypt)?;
        let ciphertext = self
            .inner
            .cipher
            .encrypt(&nonce, clear.as_bytes())
            .map_err(|_| PiiError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts what [`PiiKeys::encrypt`] produced.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<String, PiiError> {
        if sealed.len() < NONCE_LEN {
            return Err(PiiError::Decrypt);
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce_bytes).map_err(|_| PiiError::Decrypt)?;
        let clear = self
            .inner
            .cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| PiiError::Decrypt)?;
        String::from_utf8(clear).map_err(|_| PiiError::Decrypt)
    }
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

/// Digits and letters only, upper case: "5405 2319-4701 04101x" matches "54052319470104101X".
fn normalize(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A phone number for display: mainland mobiles as "182****6977", others keep only the last 4.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = match digits.len() {
        // Drop the country code of "+86 182...".
        13 if digits[0] == '8' && digits[1] == '6' => digits[2..].to_vec(),
        _ => digits,
    };
    match digits.len() {
        0 => String::new(),
        11 if digits[0] == '1' => {
            let head: String = digits[..3].iter().collect();
            let tail: String = digits[7..].iter().collect();
            format!("{head}****{tail}")
        }
        n if n > 4 => {
            let tail: String = digits[n - 4..].iter().collect();
            format!("{}{tail}", "*".repeat(n - 4))
        }
        n => "*".repeat(n),
    }
}

/// An ID number for display: the region code and the last 4 kept, "540523********1012".
pub fn mask_id_number(id_number: &str) -> String {
    let chars: Vec<char> = normalize(id_number).chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 15 => {
            let head: String = chars[..6].iter().collect();
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(n - 10))
        }
        n if n > 4 => {
            let tail: String = chars[n - 4..].iter().collect();
            format!("{}{tail}", "*".repeat(n - 4))
        }
        n => "*".repeat(n),
    }
}

/// Free text with every run that looks like a mainland mobile or an ID number masked, for
/// messages that may echo user input into logs.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || (i == start + 17 && matches!(chars[i], 'x' | 'X')))
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            match run.len() {
                11 if run.starts_with('1') => out.push_str(&mask_phone(&run)),
                15 | 18 => out.push_str(&mask_id_number(&run)),
                _ => out.push_str(&run),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// True when `text` contains something that looks like a clear mainland mobile or ID number.
pub fn contains_clear_pii(text: &str) -> bool {
    scrub(text) != text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_for_display() {
        assert_eq!(mask_phone("18247856977"), "182****6977");
        assert_eq!(mask_phone("+86 182-4785-6977"), "182****6977");
        assert_eq!(mask_phone("0893-7321110"), "*******1110");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn id_numbers_are_masked_for_display() {
        assert_eq!(mask_id_number("540523194701041012"), "540523********1012");
        assert_eq!(mask_id_number("11010519491231002x"), "110105********002X");
    }

    #[test]
    fn blind_index_matches_equal_numbers_only_under_the_same_key() {
        let keys = PiiKeys::from_master(&[1_u8; 32]).expect("keys");
        let a = keys.blind_index(PiiKind::IdNumber, "11010519491231002x");
        assert_eq!(a, keys.blind_index(PiiKind::IdNumber, "11010519491231002X"));
        assert_ne!(a, keys.blind_index(PiiKind::Phone, "11010519491231002X"));
        assert!(!a.contains("110105"));
        let other = PiiKeys::from_master(&[2_u8; 32]).expect("keys");
        assert_ne!(
            a,
            other.blind_index(PiiKind::IdNumber, "11010519491231002X")
        );
    }

    #[test]
    fn encryption_round_trips_and_detects_tampering() {
        let keys = PiiKeys::random();
        let sealed = keys.encrypt("18247856977").expect("encrypt");
        assert!(!String::from_utf8_lossy(&sealed).contains("18247856977"));
        assert_eq!(keys.decrypt(&sealed).expect("decrypt"), "18247856977");
        assert_ne!(sealed, keys.encrypt("18247856977").expect("encrypt"));
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(keys.decrypt(&altered).is_err());
        assert!(PiiKeys::random().decrypt(&sealed).is_err());
    }

    #[test]
    fn short_keys_are_refused_and_debug_is_redacted() {
        assert!(PiiKeys::from_master(b"short").is_err());
        assert_eq!(format!("{:?}", PiiKeys::random()), "PiiKeys(<redacted>)");
    }

    #[test]
    fn scrub_masks_numbers_in_free_text() {
        let text = "caller 18247856977 id 540523194701041012 at 37号 2025";
        let scrubbed = scrub(text);
        assert_eq!(
            scrubbed,
            "caller 182****6977 id 540523********1012 at 37号 2025"
        );
        assert!(contains_clear_pii(text));
        assert!(!contains_clear_pii(&scrubbed));
    }
}
