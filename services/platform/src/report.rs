//! Where and when of a reported event, as every entry point checks them (110 calls, 12345
//! tickets): a report one service accepts is never refused by the next one.

use chrono::{DateTime, Utc};
use pingan_proto::common::v1::GeoPoint;

use crate::FieldViolations;

/// Longest description accepted (characters).
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest address accepted (characters).
pub const MAX_ADDRESS_CHARS: usize = 500;
/// Longest caller name accepted (characters).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest source id (call id, 12345 ticket id) accepted (characters).
pub const MAX_SOURCE_ID_CHARS: usize = 128;
/// How far in the future a received time may be (clock skew between platforms).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Whether a WGS-84 point is in range (and finite).
pub fn point_in_range(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// Checks an optional point: `field.lat` / `field.lon` named when out of range.
pub fn check_point(v: &mut FieldViolations, field: &str, point: Option<&GeoPoint>) {
    if let Some(p) = point {
        v.require_coordinates(field, p.lat, p.lon);
    }
}

/// Checks that an event has a place: a point in range, or address text (both named when neither).
pub fn check_place(v: &mut FieldViolations, location: Option<&GeoPoint>, address: &str) {
    match location {
        Some(p) => v.require_coordinates("location", p.lat, p.lon),
        None if address.trim().is_empty() => {
            v.add("location", "location or address is required");
            v.add("address", "location or address is required");
        }
        None => {}
    }
    v.require_max_chars("address", address, MAX_ADDRESS_CHARS);
}

/// Checks a description: not blank, not longer than [`MAX_DESCRIPTION_CHARS`].
pub fn check_description(v: &mut FieldViolations, field: &str, text: &str) {
    if text.trim().is_empty() {
        v.add(field, "must not be empty");
    } else {
        v.require_max_chars(field, text, MAX_DESCRIPTION_CHARS);
    }
}

/// Checks an optional received time: valid, and not in the future beyond the allowed skew.
pub fn check_received_at(
    v: &mut FieldViolations,
    field: &str,
    at: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) {
    let Some(at) = at else { return };
    match DateTime::<Utc>::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(u32::MAX)) {
        None => v.add(field, "must be a valid timestamp"),
        Some(at) if (at - now).num_seconds() > MAX_CLOCK_SKEW_SECS => {
            v.add(field, "must not be in the future")
        }
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &FieldViolations) -> Vec<&str> {
        v.fields().collect()
    }

    #[test]
    fn a_place_is_a_point_in_range_or_an_address() {
        let mut v = FieldViolations::default();
        check_place(&mut v, None, "  ");
        assert_eq!(fields(&v), ["location", "address"]);
        let mut v = FieldViolations::default();
        check_place(&mut v, None, "山南市桑日县玉村37号");
        assert!(v.is_empty());
        let mut v = FieldViolations::default();
        check_place(
            &mut v,
            Some(&GeoPoint {
                lat: 95.0,
                lon: f64::NAN,
            }),
            "",
        );
        assert_eq!(fields(&v), ["location.lat", "location.lon"]);
        assert!(point_in_range(29.6, 91.1));
        assert!(!point_in_range(29.6, 181.0));
    }

    #[test]
    fn received_at_may_not_be_in_the_future() {
        let now = Utc::now();
        let mut v = FieldViolations::default();
        let ahead = prost_types::Timestamp {
            seconds: now.timestamp() + 3600,
            nanos: 0,
        };
        check_received_at(&mut v, "received_at", Some(&ahead), now);
        check_description(&mut v, "description", " ");
        assert_eq!(fields(&v), ["received_at", "description"]);
    }
}
