//! Request checks shared by the handlers: paging, points, enums, phone and ID numbers.

use pingan_platform::FieldViolations;
use pingan_platform::ids::IdNumber;
use pingan_platform::phone::{PHONE_RULE, Phone, PhoneKind};
use pingan_proto::common::v1::GeoPoint;

use super::convert;
use crate::domain::LatLon;
use crate::store::Page;

/// Offset paging: `page_token` is the offset of the next row.
pub(super) fn page(
    violations: &mut FieldViolations,
    size: i32,
    token: &str,
    default: i64,
    max: i64,
) -> Page {
    let limit = match i64::from(size) {
        0 => default,
        n if n < 0 => {
            violations.add("page_size", "must not be negative");
            default
        }
        n => n.min(max),
    };
    let offset = if token.is_empty() {
        0
    } else {
        token.parse::<i64>().unwrap_or_else(|_| {
            violations.add("page_token", "is not a token from a previous response");
            0
        })
    };
    Page {
        offset: offset.max(0),
        limit,
    }
}

/// The next page token when the page came back full.
pub(super) fn next_token(page: Page, returned: usize) -> String {
    if i64::try_from(returned).unwrap_or(0) >= page.limit {
        (page.offset + page.limit).to_string()
    } else {
        String::new()
    }
}

/// A location field: absent is allowed, present must be in range.
pub(super) fn optional_point(
    violations: &mut FieldViolations,
    field: &str,
    p: Option<&GeoPoint>,
) -> Option<LatLon> {
    let p = p?;
    violations.require_coordinates(field, p.lat, p.lon);
    Some(convert::latlon(p))
}

/// A required enum value that must be known and not UNSPECIFIED.
pub(super) fn require_enum<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    value: i32,
) {
    if value == 0 || E::try_from(value).is_err() {
        violations.add(field, "must be set to a known value");
    }
}

/// An optional contact number (empty is fine): the platform's phone rule, a number someone can
/// be reached on (not one already masked), written as the registry always took them (digits,
/// spaces, hyphens, optional +86: no brackets or extensions, which the SMS gateway cannot dial).
pub(super) fn check_phone(violations: &mut FieldViolations, field: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let trimmed = value.trim();
    let plain = trimmed
        .strip_prefix("+86")
        .unwrap_or(trimmed)
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    match Phone::parse(value) {
        Ok(phone) if plain && phone.kind() != PhoneKind::Masked => {}
        _ => violations.add(field, PHONE_RULE),
    }
}

/// A required ID number (GB 11643 with its birth date); None after a violation on `field`.
pub(super) fn id_number(
    violations: &mut FieldViolations,
    field: &str,
    value: &str,
) -> Option<IdNumber> {
    IdNumber::parse(value)
        .map_err(|err| violations.add(field, err.to_string()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(phone: &str) -> bool {
        let mut v = FieldViolations::default();
        check_phone(&mut v, "phone", phone);
        v.finish().is_err()
    }

    #[test]
    fn phones_as_the_registry_takes_them() {
        for ok in ["", "18247856977", "+86 182-4785-6977", "0893-7321110"] {
            assert!(!refused(ok), "{ok}");
        }
        // Everything the registry's own rule refused stays refused, and masked numbers too.
        for bad in [
            "call me",
            "12",
            "   ",
            "138****5678",
            "2824785697",
            "12247856977",
        ] {
            assert!(refused(bad), "{bad}");
        }
    }

    #[test]
    fn the_violation_names_the_field() {
        let mut v = FieldViolations::default();
        check_phone(&mut v, "owner_phone", "call me");
        let err = v
            .finish()
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(err.contains("owner_phone"), "{err}");
    }
}
