//! Request checks shared by the handlers: paging, points, enums, phone and ID numbers.

use pingan_platform::FieldViolations;
use pingan_platform::ids::IdNumber;
use pingan_platform::phone::{PHONE_RULE, Phone, PhoneKind};
use pingan_proto::common::v1::{GeoPoint, TimeRange};

use super::convert;
use crate::domain::{LatLon, Millis};
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

/// Offset paging for the read side: page_size 0 is `default`, below 0 or above `max` is a
/// violation, as is a page_token that is not a non-negative offset.
pub(super) fn strict_page(
    violations: &mut FieldViolations,
    size: i32,
    token: &str,
    default: i64,
    max: i64,
) -> Page {
    let limit = match i64::from(size) {
        0 => default,
        n if (1..=max).contains(&n) => n,
        _ => {
            violations.add("page_size", format!("must be between 0 and {max}"));
            default
        }
    };
    let offset = match token.parse::<i64>() {
        _ if token.is_empty() => 0,
        Ok(n) if n >= 0 => n,
        _ => {
            violations.add("page_token", "is not a token from a previous response");
            0
        }
    };
    Page { offset, limit }
}

/// The page to read from the store: one row more than asked, to know whether another follows.
pub(super) fn probe(page: Page) -> Page {
    Page {
        offset: page.offset,
        limit: page.limit.saturating_add(1),
    }
}

/// The rows of `page` read with [`probe`], and the token of the next page ("" on the last).
pub(super) fn paged<T>(page: Page, mut rows: Vec<T>) -> (Vec<T>, String) {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        (rows, page.offset.saturating_add(page.limit).to_string())
    } else {
        (rows, String::new())
    }
}

/// An optional period `[start, end)`: each end a valid time, start before end.
pub(super) fn period(
    violations: &mut FieldViolations,
    field: &str,
    range: Option<&TimeRange>,
) -> (Option<Millis>, Option<Millis>) {
    let Some(range) = range else {
        return (None, None);
    };
    let mut end = |name: &str, t: Option<&prost_types::Timestamp>| {
        let t = t?;
        let at = pingan_platform::time::from_timestamp(t).map(|at| at.timestamp_millis());
        if at.is_none() {
            violations.add(&format!("{field}.{name}"), "is not a valid time");
        }
        at
    };
    let start = end("start", range.start.as_ref());
    let until = end("end", range.end.as_ref());
    if let (Some(s), Some(u)) = (start, until)
        && s >= u
    {
        violations.add(field, "start must be before end");
    }
    (start, until)
}

/// An optional enum filter: 0 (any) or a known value.
pub(super) fn optional_enum<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    value: i32,
) {
    if value != 0 && E::try_from(value).is_err() {
        violations.add(field, "unknown value");
    }
}

/// A repeated enum filter: every value known and set.
pub(super) fn enum_list<E: TryFrom<i32>>(
    violations: &mut FieldViolations,
    field: &str,
    values: &[i32],
) {
    for (i, value) in values.iter().enumerate() {
        require_enum::<E>(violations, &format!("{field}[{i}]"), *value);
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

    fn violations(check: impl FnOnce(&mut FieldViolations)) -> Vec<String> {
        let mut v = FieldViolations::default();
        check(&mut v);
        v.fields().map(str::to_owned).collect()
    }

    #[test]
    fn read_side_pages_refuse_what_they_cannot_serve() {
        let mut v = FieldViolations::default();
        let p = strict_page(&mut v, 0, "", 50, 500);
        assert_eq!((p.offset, p.limit), (0, 50));
        let p = strict_page(&mut v, 500, "40", 50, 500);
        assert_eq!((p.offset, p.limit), (40, 500));
        assert!(v.is_empty());
        for (size, token, field) in [
            (501, "", "page_size"),
            (-1, "", "page_size"),
            (10, "x", "page_token"),
            (10, "-5", "page_token"),
        ] {
            let fields = violations(|v| {
                strict_page(v, size, token, 50, 500);
            });
            assert_eq!(fields, [field], "{size} {token}");
        }
        let page = Page {
            offset: 4,
            limit: 2,
        };
        assert_eq!(probe(page).limit, 3);
        assert_eq!(paged(page, vec![1, 2, 3]), (vec![1, 2], "6".to_owned()));
        assert_eq!(paged(page, vec![1, 2]), (vec![1, 2], String::new()));
    }

    #[test]
    fn periods_must_run_forward() {
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        let range = |start, end| TimeRange { start, end };
        let mut v = FieldViolations::default();
        assert_eq!(period(&mut v, "period", None), (None, None));
        assert_eq!(
            period(&mut v, "period", Some(&range(at(1), None))),
            (Some(1000), None)
        );
        assert!(v.is_empty());
        let inverted = violations(|v| {
            period(v, "period", Some(&range(at(2), at(1))));
        });
        assert_eq!(inverted, ["period"]);
        let empty = violations(|v| {
            period(v, "period", Some(&range(at(2), at(2))));
        });
        assert_eq!(empty, ["period"]);
        let bad = Some(prost_types::Timestamp {
            seconds: 1,
            nanos: -1,
        });
        let unreadable = violations(|v| {
            period(v, "period", Some(&range(bad, None)));
        });
        assert_eq!(unreadable, ["period.start"]);
    }

    #[test]
    fn enum_filters_name_the_entry() {
        use pingan_proto::grid::v1::NeedCategory;
        let fields = violations(|v| {
            optional_enum::<NeedCategory>(v, "category", 0);
            optional_enum::<NeedCategory>(v, "category", 99);
            enum_list::<NeedCategory>(v, "categories", &[1, 0, 42]);
        });
        assert_eq!(fields, ["category", "categories[1]", "categories[2]"]);
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
