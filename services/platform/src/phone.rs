//! Caller phone numbers as every entry point accepts them (110 calls, 12345 tickets): one rule,
//! so a number one service takes is never refused by the next one.

use crate::FieldViolations;

/// What every refusal of a phone number says.
pub const PHONE_RULE: &str =
    "must be a mainland mobile or landline number (or a masked one such as 138****5678)";

/// What kind of number a caller phone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    /// Mainland mobile, 1[3-9] + 9 digits (optionally +86).
    Mobile,
    /// Mainland landline: area code 0 + 2-3 digits, 7-8 digit number, optional extension.
    Landline,
    /// A number the source platform already masked, e.g. "138****5678".
    Masked,
}

/// A caller phone number that passed [`phone_kind`] (kept as given, trimmed).
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    text: String,
    kind: PhoneKind,
}

impl std::fmt::Debug for Phone {
    // Never the number in clear: Debug output ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("masked", &crate::pii::mask_phone(&self.text))
            .field("kind", &self.kind)
            .finish()
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{PHONE_RULE}")]
pub struct InvalidPhone;

impl Phone {
    /// Parses a caller phone number.
    pub fn parse(text: &str) -> Result<Self, InvalidPhone> {
        let text = text.trim();
        let kind = phone_kind(text).ok_or(InvalidPhone)?;
        Ok(Self {
            text: text.to_owned(),
            kind,
        })
    }

    /// The number as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its kind.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }
}

/// Checks an optional phone field: empty is fine, anything else must parse as a [`Phone`].
pub fn check_optional_phone(v: &mut FieldViolations, field: &str, value: &str) {
    if !value.trim().is_empty() && Phone::parse(value).is_err() {
        v.add(field, PHONE_RULE);
    }
}

/// Classifies a caller phone number, or `None` when it is not a mainland number we accept.
pub fn phone_kind(phone: &str) -> Option<PhoneKind> {
    let compact: String = phone
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let compact = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(&compact)
        .to_owned();
    let bytes = compact.as_bytes();
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if compact.contains('*') {
        // Mobile masked in the middle (138****5678) or a landline with masked digits (0893****1110).
        let stars = bytes.iter().filter(|b| **b == b'*').count();
        let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
        let only_digits_and_stars = bytes.iter().all(|b| b.is_ascii_digit() || *b == b'*');
        let mobile = bytes.len() == 11 && bytes.first() == Some(&b'1') && (3..=8).contains(&stars);
        let landline = bytes.first() == Some(&b'0')
            && (10..=12).contains(&bytes.len())
            && (3..=8).contains(&stars);
        return (only_digits_and_stars && digits >= 4 && (mobile || landline))
            .then_some(PhoneKind::Masked);
    }
    if bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && all_digits(bytes)
    {
        return Some(PhoneKind::Mobile);
    }
    // Landline: keep the dash layout out of it; optional extension after '#' or 'ext'.
    let main = compact
        .split(['#', 'x', 'X'])
        .next()
        .unwrap_or_default()
        .as_bytes();
    if main.first() == Some(&b'0') && (10..=12).contains(&main.len()) && all_digits(main) {
        return Some(PhoneKind::Landline);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_of_the_mainland_are_accepted() {
        for phone in ["18247856977", "+86 182-4785-6977", "13800138000"] {
            assert_eq!(phone_kind(phone), Some(PhoneKind::Mobile), "{phone}");
        }
        for phone in [
            "0893-7321110",
            "010-12345678",
            "08917321110",
            "0891-6321110#123",
        ] {
            assert_eq!(phone_kind(phone), Some(PhoneKind::Landline), "{phone}");
        }
        for phone in ["138****5678", "0893****1110"] {
            assert_eq!(phone_kind(phone), Some(PhoneKind::Masked), "{phone}");
        }
        for phone in [
            "12",
            "12345",
            "1234567890123",
            "2824785697",
            "abc",
            "12247856977",
            "***",
            "*",
            "",
        ] {
            assert_eq!(phone_kind(phone), None, "{phone}");
        }
    }

    #[test]
    fn a_phone_never_shows_in_clear_in_debug_output() {
        let phone = Phone::parse(" 18247856977 ").expect("valid");
        assert_eq!(phone.as_str(), "18247856977");
        assert!(!format!("{phone:?}").contains("18247856977"));
        assert_eq!(Phone::parse("12"), Err(InvalidPhone));
    }

    #[test]
    fn an_empty_optional_phone_passes_and_a_bad_one_is_named() {
        let mut v = FieldViolations::default();
        check_optional_phone(&mut v, "caller_phone", " ");
        assert!(v.is_empty());
        check_optional_phone(&mut v, "caller_phone", "12");
        assert_eq!(v.fields().collect::<Vec<_>>(), ["caller_phone"]);
    }
}
