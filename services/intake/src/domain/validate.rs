//! Validation of inbound calls: every bad field is named at once.

use chrono::{DateTime, Utc};
use pingan_platform::FieldViolations;
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::ReportCallRequest;

/// Longest description accepted (characters).
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest address accepted (characters).
pub const MAX_ADDRESS_CHARS: usize = 500;
/// Longest caller name accepted (characters).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest source call id accepted (characters).
pub const MAX_SOURCE_ID_CHARS: usize = 128;
/// How far in the future `received_at` may be (clock skew between platforms).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

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
        let mobile = bytes.len() == 11 && bytes[0] == b'1' && (3..=8).contains(&stars);
        let landline =
            bytes[0] == b'0' && (10..=12).contains(&bytes.len()) && (3..=8).contains(&stars);
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

/// Checks a ReportCall request; `now` bounds `received_at`.
pub fn report_call(
    request: &ReportCallRequest,
    now: DateTime<Utc>,
) -> Result<(), pingan_platform::ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("request_id", &request.request_id);
    v.require_max_chars("request_id", &request.request_id, 128);
    match Channel::try_from(request.channel) {
        Ok(Channel::Unspecified) | Err(_) => v.add("channel", "must be one of the channels"),
        Ok(_) => {}
    }
    v.require_max_chars(
        "source_call_id",
        &request.source_call_id,
        MAX_SOURCE_ID_CHARS,
    );
    if !request.caller_phone.trim().is_empty() && phone_kind(&request.caller_phone).is_none() {
        v.add(
            "caller_phone",
            "must be a mainland mobile or landline number (or a masked one such as 138****5678)",
        );
    }
    v.require_max_chars("caller_name", &request.caller_name, MAX_NAME_CHARS);
    match &request.location {
        Some(point) => v.require_coordinates("location", point.lat, point.lon),
        None if request.address.trim().is_empty() => {
            v.add("location", "location or address is required")
        }
        None => {}
    }
    v.require_max_chars("address", &request.address, MAX_ADDRESS_CHARS);
    v.require_non_empty("description", &request.description);
    v.require_max_chars("description", &request.description, MAX_DESCRIPTION_CHARS);
    let category = &request.reported_category;
    if category.len() > 64
        || !category
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        v.add(
            "reported_category",
            "must be a category code such as TRAFFIC_ACCIDENT",
        );
    }
    if let Some(at) = &request.received_at {
        match DateTime::<Utc>::from_timestamp(
            at.seconds,
            u32::try_from(at.nanos).unwrap_or(u32::MAX),
        ) {
            None => v.add("received_at", "must be a valid timestamp"),
            Some(at) if (at - now).num_seconds() > MAX_CLOCK_SKEW_SECS => {
                v.add("received_at", "must not be in the future")
            }
            Some(_) => {}
        }
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingan_proto::common::v1::GeoPoint;

    fn valid() -> ReportCallRequest {
        ReportCallRequest {
            request_id: "r-1".into(),
            channel: Channel::Channel110 as i32,
            source_call_id: "110-0001".into(),
            caller_phone: "18247856977".into(),
            caller_name: "王先生".into(),
            location: Some(GeoPoint {
                lat: 29.6,
                lon: 91.1,
            }),
            description: "出租车上丢了手机".into(),
            ..Default::default()
        }
    }

    fn fields(request: &ReportCallRequest) -> Vec<String> {
        match report_call(request, Utc::now()) {
            Ok(()) => Vec::new(),
            Err(pingan_platform::ApiError::InvalidArgument(v)) => {
                v.fields().map(str::to_owned).collect()
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

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
            "12345",
            "1234567890123",
            "2824785697",
            "abc",
            "12247856977",
            "***",
        ] {
            assert_eq!(phone_kind(phone), None, "{phone}");
        }
    }

    #[test]
    fn a_valid_call_passes_and_every_bad_field_is_named() {
        assert!(fields(&valid()).is_empty());
        let bad = ReportCallRequest {
            request_id: String::new(),
            channel: 0,
            caller_phone: "12345".into(),
            location: Some(GeoPoint {
                lat: 95.0,
                lon: 181.0,
            }),
            description: " ".into(),
            reported_category: "bad category".into(),
            ..valid()
        };
        assert_eq!(
            fields(&bad),
            [
                "request_id",
                "channel",
                "caller_phone",
                "location.lat",
                "location.lon",
                "description",
                "reported_category"
            ]
        );
        let too_long = ReportCallRequest {
            description: "警".repeat(MAX_DESCRIPTION_CHARS + 1),
            ..valid()
        };
        assert_eq!(fields(&too_long), ["description"]);
        let nowhere = ReportCallRequest {
            location: None,
            ..valid()
        };
        assert_eq!(fields(&nowhere), ["location"]);
        let address_only = ReportCallRequest {
            location: None,
            address: "城南路 12 号".into(),
            ..valid()
        };
        assert!(fields(&address_only).is_empty());
    }
}
