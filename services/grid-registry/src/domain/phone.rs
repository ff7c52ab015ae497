//! Mainland phone numbers as the registry accepts them for officers, residents and contacts.
//! (ID numbers are `pingan_platform::ids::IdNumber`.)

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
    fn phones() {
        assert!(valid_phone("18247856977"));
        assert!(valid_phone("+86 182-4785-6977"));
        assert!(valid_phone("0893-7321110"));
        assert!(!valid_phone("call me"));
        assert!(!valid_phone("12"));
    }
}
