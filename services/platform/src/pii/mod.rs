//! Personal data (phone and ID numbers): masking for display, a keyed hash to match a number
//! without storing it in clear, and reversible encryption for the clear value that only some
//! roles may see. Nothing here ever logs a clear value; `Debug` of the keys is redacted.
//! Encryption keys rotate by key id ([`PiiKeys`]); [`reencrypt`] moves stored values to the
//! current key.

mod keys;
pub mod reencrypt;
pub mod reindex;

pub use keys::{KeyId, MIN_KEY_LEN, PiiKeys, random_key_hex};

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
    /// A key setting is malformed (e.g. not `id=secret`, or an id used twice).
    #[error("pii key setting: {0}")]
    Setting(String),
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
        // A 32-hex token (the ids Pingan mints, e.g. `fi-<uuid>`) is never a number to mask,
        // though it may hold a run of 11, 15 or 18 digits.
        if let Some(end) = hex_token_end(&chars, i) {
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
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

/// The end of the UUID starting at `i` — 32 hex digits, simple or hyphenated 8-4-4-4-12 —
/// standing alone (no letter or digit right before or after it), if there is one.
fn hex_token_end(chars: &[char], i: usize) -> Option<usize> {
    const SIMPLE: usize = 32;
    const HYPHENATED: usize = 36;
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    if i > 0 && chars[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let standalone = |end: usize| chars.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
    let simple = chars
        .get(i..i + SIMPLE)
        .is_some_and(|token| token.iter().all(char::is_ascii_hexdigit));
    if simple && standalone(i + SIMPLE) {
        return Some(i + SIMPLE);
    }
    let hyphenated = chars.get(i..i + HYPHENATED).is_some_and(|token| {
        token.iter().enumerate().all(|(at, c)| {
            if HYPHENS.contains(&at) {
                *c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    });
    (hyphenated && standalone(i + HYPHENATED)).then_some(i + HYPHENATED)
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
    fn scrub_leaves_minted_ids_whole() {
        // A found item id whose hex holds a 15-digit run (seen in CI: masked as an ID number).
        let id = "fi-01a23c6a56c570078647910932f7af0b";
        assert_eq!(scrub(id), id);
        assert!(!contains_clear_pii(&format!("found_item {id}, {id}")));
        // A number glued to such a token, or inside a longer one, is still masked.
        assert_eq!(
            scrub("电话13812345678"),
            format!("电话{}", mask_phone("13812345678"))
        );
        assert!(contains_clear_pii(
            "x0123456789abcdef0123456789abcdef 13812345678"
        ));
        assert!(contains_clear_pii("g13812345678"));
        // A hyphenated UUID whose last group holds a mobile-shaped run (seen in CI: a transfer
        // id masked as a phone in an audit record's detail).
        let transfer = "transfer 01a244a8-3a15-7690-9cc0-f19537593407;";
        assert_eq!(scrub(transfer), transfer);
        assert!(contains_clear_pii(
            "01a244a8-3a15-7690-9cc0-f19537593407x 13812345678"
        ));
        assert!(contains_clear_pii(
            "01a244a8-3a15-7690-9cc0-f1953759340 13812345678"
        ));
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
