//! Resident identity card numbers (GB 11643-1999) and mainland phone numbers.

use chrono::{Datelike, NaiveDate};

/// Why an ID number is refused. Messages never contain the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 17 digits followed by a digit or X.
    #[error("must be 18 characters: 17 digits and a check digit (0-9 or X)")]
    Format,
    /// The birth date part is not a real date.
    #[error("has an invalid birth date")]
    BirthDate,
    /// The check digit does not match.
    #[error("has a wrong check digit")]
    CheckDigit,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// A validated 18-character ID number (upper-case X).
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IdNumber({})",
            pingan_platform::pii::mask_id_number(&self.value)
        )
    }
}

impl IdNumber {
    /// Validates format, birth date and the ISO 7064 MOD 11-2 check digit.
    pub fn parse(text: &str) -> Result<Self, IdNumberError> {
        let value = text.trim().to_ascii_uppercase();
        let chars: Vec<char> = value.chars().collect();
        if chars.len() != 18
            || !chars[..17].iter().all(char::is_ascii_digit)
            || !(chars[17].is_ascii_digit() || chars[17] == 'X')
        {
            return Err(IdNumberError::Format);
        }
        let digit = |c: char| c.to_digit(10).unwrap_or(0);
        let year = chars[6..10].iter().fold(0, |acc, c| acc * 10 + digit(*c));
        let month = chars[10..12].iter().fold(0, |acc, c| acc * 10 + digit(*c));
        let day = chars[12..14].iter().fold(0, |acc, c| acc * 10 + digit(*c));
        let birth_date = i32::try_from(year)
            .ok()
            .filter(|y| *y >= 1880)
            .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
            .ok_or(IdNumberError::BirthDate)?;
        let sum: u32 = chars[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(c, w)| digit(*c) * w)
            .sum();
        if CHECK[(sum % 11) as usize] != chars[17] {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(Self { value, birth_date })
    }

    /// The number in clear: only to hash, encrypt or show to roles allowed to see it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Age in whole years on `today`.
    pub fn age_on(&self, today: NaiveDate) -> i32 {
        let b = self.birth_date;
        let mut age = today.year() - b.year();
        if (today.month(), today.day()) < (b.month(), b.day()) {
            age -= 1;
        }
        age.max(0)
    }
}

/// Accepts mainland mobiles (11 digits from 1), landlines and service numbers (5-15 digits,
/// optional "+86", spaces and hyphens).
pub fn valid_phone(phone: &str) -> bool {
    let trimmed = phone.trim();
    let rest = trimmed.strip_prefix("+86").unwrap_or(trimmed);
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return false;
    }
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    (5..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_parse_with_their_birth_date() {
        let id = IdNumber::parse("540523194701041012").expect("valid");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1947, 1, 4).expect("date")
        );
        let today = NaiveDate::from_ymd_opt(2025, 1, 3).expect("date");
        assert_eq!(id.age_on(today), 77);
        let x = IdNumber::parse("11010519491231002x").expect("valid with X");
        assert_eq!(x.expose(), "11010519491231002X");
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        assert_eq!(
            IdNumber::parse("540523194701041013"),
            Err(IdNumberError::CheckDigit)
        );
    }

    #[test]
    fn bad_format_and_dates_are_refused() {
        assert_eq!(
            IdNumber::parse("5405231947010410"),
            Err(IdNumberError::Format)
        );
        assert_eq!(
            IdNumber::parse("54052319470104101Y"),
            Err(IdNumberError::Format)
        );
        assert_eq!(
            IdNumber::parse("540523194713041012"),
            Err(IdNumberError::BirthDate)
        );
    }

    #[test]
    fn debug_never_shows_the_number() {
        let id = IdNumber::parse("540523194701041012").expect("valid");
        assert_eq!(format!("{id:?}"), "IdNumber(540523********1012)");
    }

    #[test]
    fn phones() {
        assert!(valid_phone("18247856977"));
        assert!(valid_phone("+86 182-4785-6977"));
        assert!(valid_phone("0893-7321110"));
        assert!(!valid_phone("call me"));
        assert!(!valid_phone("12"));
    }
}
