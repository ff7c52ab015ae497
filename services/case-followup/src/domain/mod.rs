//! Rules of case follow-up, free of I/O: the revisit policy, revisit attempts, lost-and-found
//! matching and state changes, statistics, access, and the checks on input values (time
//! conversions and ID numbers are the platform's).

pub mod access;
pub mod lostfound;
pub mod policy;
pub mod report;
pub mod revisit;
pub mod stats;

use chrono::{DateTime, Utc};
use pingan_platform::FieldViolations;

/// Longest free text accepted (descriptions, notes, agreements).
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest short text accepted (names, ids, places).
pub const MAX_SHORT_CHARS: usize = 200;

pub use pingan_platform::time::{from_timestamp as from_ts, to_timestamp as ts};

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

/// Checks a resident identity number (GB 11643, with its birth date).
pub use pingan_platform::ids::check_id_number;

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
        let valid = |value: &str| {
            let mut violations = FieldViolations::default();
            check_id_number(&mut violations, "id_number", value);
            violations.is_empty()
        };
        assert!(valid("11010519491231002X"));
        assert!(valid("11010519491231002x"));
        assert!(!valid("110105194912310021"));
        assert!(!valid("1101051949123100"));
        assert!(!valid("11010519491231002Y"));
    }

    #[test]
    fn timestamps_round_trip() {
        use chrono::TimeZone;
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
