//! Validation of inbound calls: every bad field is named at once.

use chrono::{DateTime, Utc};
use pingan_platform::FieldViolations;
use pingan_platform::{phone, report};
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::ReportCallRequest;

pub use pingan_platform::report::{
    MAX_ADDRESS_CHARS, MAX_CLOCK_SKEW_SECS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
    MAX_SOURCE_ID_CHARS,
};

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
    phone::check_optional_phone(&mut v, "caller_phone", &request.caller_phone);
    v.require_max_chars("caller_name", &request.caller_name, MAX_NAME_CHARS);
    report::check_place(&mut v, request.location.as_ref(), &request.address);
    report::check_description(&mut v, "description", &request.description);
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
    report::check_received_at(&mut v, "received_at", request.received_at.as_ref(), now);
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
        assert_eq!(fields(&nowhere), ["location", "address"]);
        let address_only = ReportCallRequest {
            location: None,
            address: "城南路 12 号".into(),
            ..valid()
        };
        assert!(fields(&address_only).is_empty());
    }
}
