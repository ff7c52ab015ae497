//! The resident identity number (公民身份号码, GB 11643-1999) as a validated value: 17 digits
//! (address code, birth date, sequence) and a check character. Every edge parses with
//! [`IdNumber::parse`]; nothing else in the tree checks ID numbers.

use chrono::NaiveDate;

use crate::FieldViolations;

/// A resident identity number that passed every check (upper-case `X` for the check character).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// Why a text is not a resident identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIdNumber {
    /// Not 18 characters.
    #[error("must be 18 characters")]
    Length,
    /// A character other than digits (and `X` last).
    #[error("must be 17 digits and a digit or X")]
    Characters,
    /// The address code cannot be a region (starts with 0).
    #[error("has no valid region code")]
    Region,
    /// Positions 7–14 are not a real date between 1900 and 2099.
    #[error("has no valid birth date")]
    BirthDate,
    /// The check character does not match (a typo).
    #[error("has a wrong check character")]
    CheckCharacter,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

impl IdNumber {
    /// Parses a number as people type it (surrounding spaces and a lower-case `x` accepted).
    pub fn parse(text: &str) -> Result<Self, InvalidIdNumber> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 18 {
            return Err(InvalidIdNumber::Length);
        }
        let (body, check) = bytes.split_at(17);
        if !body.iter().all(u8::is_ascii_digit) || !(check[0].is_ascii_digit() || check[0] == b'X')
        {
            return Err(InvalidIdNumber::Characters);
        }
        if body[0] == b'0' {
            return Err(InvalidIdNumber::Region);
        }
        if birth_date_of(&text).is_none() {
            return Err(InvalidIdNumber::BirthDate);
        }
        let sum: u32 = body
            .iter()
            .zip(WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        let expected = CHECK.get((sum % 11) as usize).copied();
        if expected != Some(check[0]) {
            return Err(InvalidIdNumber::CheckCharacter);
        }
        Ok(Self(text))
    }

    /// The number, normalised (upper-case X).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The holder's date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        // Checked by `parse`; the fallback is unreachable for a parsed value.
        birth_date_of(&self.0).unwrap_or(NaiveDate::MIN)
    }

    /// The six-digit administrative division code where the number was issued.
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }
}

// Never print the number in clear: Debug goes to logs.
impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", crate::pii::mask_id_number(&self.0))
    }
}

fn birth_date_of(text: &str) -> Option<NaiveDate> {
    let year: i32 = text.get(6..10)?.parse().ok()?;
    let month: u32 = text.get(10..12)?.parse().ok()?;
    let day: u32 = text.get(12..14)?.parse().ok()?;
    if !(1900..=2099).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Adds a violation on `field` unless `value` is a resident identity number.
pub fn check_id_number(violations: &mut FieldViolations, field: &str, value: &str) {
    if let Err(reason) = IdNumber::parse(value) {
        violations.add(
            field,
            format!("is not a valid resident ID number (GB 11643): {reason}"),
        );
    }
}

/// Like [`check_id_number`], but an empty value is allowed.
pub fn check_optional_id_number(violations: &mut FieldViolations, field: &str, value: &str) {
    if !value.trim().is_empty() {
        check_id_number(violations, field, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The standard's own example (GB 11643-1999 annex) and a number ending in X.
    const VALID: &str = "11010519491231002X";

    #[test]
    fn valid_numbers_parse_and_expose_their_birth_date() {
        let id = IdNumber::parse(" 11010519491231002x ").expect("valid");
        assert_eq!(id.as_str(), VALID);
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).expect("date")
        );
        assert_eq!(id.region_code(), "110105");
        assert!(IdNumber::parse("440524188001010014").is_err()); // 1880: out of range
    }

    #[test]
    fn each_defect_is_named() {
        assert_eq!(IdNumber::parse("1101051949"), Err(InvalidIdNumber::Length));
        assert_eq!(
            IdNumber::parse("1101051949123100AX"),
            Err(InvalidIdNumber::Characters)
        );
        assert_eq!(
            IdNumber::parse("01010519491231002X"),
            Err(InvalidIdNumber::Region)
        );
        // Check digit right for the digits, but 13th month.
        assert_eq!(
            IdNumber::parse("110105194913310026"),
            Err(InvalidIdNumber::BirthDate)
        );
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(InvalidIdNumber::CheckCharacter)
        );
    }

    #[test]
    fn a_birth_date_of_february_30_is_refused_even_with_a_right_check_character() {
        // Build a number whose check character is right for its digits.
        let body = "11010520010230001";
        let sum: u32 = body
            .bytes()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let check = char::from(CHECK[(sum % 11) as usize]);
        assert_eq!(
            IdNumber::parse(&format!("{body}{check}")),
            Err(InvalidIdNumber::BirthDate)
        );
    }

    #[test]
    fn debug_output_masks_the_number() {
        let id = IdNumber::parse(VALID).expect("valid");
        let shown = format!("{id:?}");
        assert!(!shown.contains(VALID), "{shown}");
    }

    #[test]
    fn violations_name_the_field() {
        let mut v = FieldViolations::default();
        check_id_number(&mut v, "owner.id_number", "123");
        check_optional_id_number(&mut v, "witness.id_number", "");
        let fields: Vec<&str> = v.fields().collect();
        assert_eq!(fields, vec!["owner.id_number"]);
    }
}
