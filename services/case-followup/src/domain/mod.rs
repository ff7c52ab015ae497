//! Rules of case follow-up, free of I/O: the revisit policy, revisit attempts, lost-and-found
//! matching and state changes, statistics, and the checks on input values.

pub mod lostfound;
pub mod policy;
pub mod revisit;
pub mod stats;

use chrono::{DateTime, TimeZone, Utc};
use pingan_platform::FieldViolations;

/// Longest free text accepted (descriptions, notes, agreements).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest short text accepted (names, ids, places).
pub const MAX_SHORT_CHARS: usize = 200;

/// A protobuf timestamp of a UTC time.
pub fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The UTC time of a protobuf timestamp (None when out of range).
pub fn from_ts(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok()?;
    Utc.timestamp_opt(at.seconds, nanos).single()
}

/// A timestamp field: unset → `default`; set but invalid → a violation (and `default`).
pub fn time_or(
    violations: &mut FieldViolations,
    field: &str,
    at: Option<&prost_types::Timestamp>,
    default: DateTime<Utc>,
) -> DateTime<Utc> {
    match at {
        None => default,
        Some(at) => from_ts(at).unwrap_or_else(|| {
            violations.add(field, "is not a valid timestamp");
            default
        }),
    }
}

/// A protobuf duration of a chrono duration.
pub fn duration(d: chrono::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: d.subsec_nanos(),
    }
}

/// Checks a resident identity number (GB 11643-1999: 17 digits and a check character).
pub fn check_id_number(violations: &mut FieldViolations, field: &str, value: &str) {
    if !is_valid_id_number(value) {
        violations.add(
            field,
            "must be an 18-character resident ID number with a valid check digit (GB 11643)",
        );
    }
}

/// True for a well-formed GB 11643 number with the right check character.
pub fn is_valid_id_number(value: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let chars: Vec<char> = value.trim().chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (c, weight) in chars.iter().zip(WEIGHTS) {
        match c.to_digit(10) {
            Some(d) => sum += d * weight,
            None => return false,
        }
    }
    let expected = CHECK[(sum % 11) as usize];
    chars[17].to_ascii_uppercase() == expected
}

/// Requires a known, specified value of a protobuf enum.
pub fn check_enum<E: TryFrom<i32>>(violations: &mut FieldViolations, field: &str, value: i32) {
    if value == 0 {
        violations.add(field, "must be set");
    } else if E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    }
}

/// Requires a known protobuf enum value (unset allowed).
pub fn check_enum_or_unset<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    value: i32,
) {
    if value != 0 && E::try_from(value).is_err() {
        violations.add(field, format!("unknown value {value}"));
    }
}

/// A new record id with a readable prefix, time-ordered (UUIDv7).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_checked_by_gb11643() {
        assert!(is_valid_id_number("11010519491231002X"));
        assert!(is_valid_id_number("11010519491231002x"));
        assert!(!is_valid_id_number("110105194912310021"));
        assert!(!is_valid_id_number("1101051949123100"));
        assert!(!is_valid_id_number("11010519491231002Y"));
    }

    #[test]
    fn timestamps_round_trip() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 3, 8, 0, 0)
            .single()
            .expect("time");
        assert_eq!(from_ts(&ts(now)), Some(now));
        let mut violations = FieldViolations::default();
        let bad = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(time_or(&mut violations, "at", Some(&bad), now), now);
        assert!(!violations.is_empty());
    }
}
