//! Checks of the lost-and-found requests: every bad field named, nothing written.

use chrono::{DateTime, Utc};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    ContactMethod, IdentityCheck, ItemKind, ListMatchesRequest, MarkOwnerContactedRequest,
    MarkReturnedRequest, RegisterFoundItemRequest, RegisterLostReportRequest,
};

use pingan_platform::ids::check_id_number;

use super::check::check_phone;
use crate::config::FollowupConfig;
use crate::domain::{
    MAX_SHORT_CHARS, MAX_TEXT_CHARS, check_enum, check_enum_or_unset, from_ts, time_or,
};
use crate::store::Page;

fn check_not_future(v: &mut FieldViolations, field: &str, at: DateTime<Utc>, now: DateTime<Utc>) {
    if at > now + chrono::Duration::minutes(5) {
        v.add(field, "must not be in the future");
    }
}

/// RegisterFoundItem: when the item was found.
pub fn register_found_item(
    req: &RegisterFoundItemRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut v = FieldViolations::default();
    check_enum::<ItemKind>(&mut v, "kind", req.kind);
    v.require_max_chars("description", &req.description, MAX_TEXT_CHARS);
    let found_at = time_or(&mut v, "found_at", req.found_at.as_ref(), now);
    check_not_future(&mut v, "found_at", found_at, now);
    if let Some(at) = &req.found_location {
        v.require_coordinates("found_location", at.lat, at.lon);
    }
    v.require_max_chars("found_address", &req.found_address, MAX_TEXT_CHARS);
    v.require_max_chars("finder", &req.finder, MAX_SHORT_CHARS);
    let custody = req.custody.clone().unwrap_or_default();
    v.require_non_empty("custody.station_id", &custody.station_id);
    v.require_max_chars("name_on_item", &req.name_on_item, MAX_SHORT_CHARS);
    let id_card = req.kind == ItemKind::IdCard as i32;
    if id_card || !req.id_number.is_empty() {
        check_id_number(&mut v, "id_number", &req.id_number);
    }
    v.finish()?;
    Ok(found_at)
}

/// RegisterLostReport.
pub fn register_lost_report(
    req: &RegisterLostReportRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut v = FieldViolations::default();
    check_enum::<ItemKind>(&mut v, "kind", req.kind);
    v.require_non_empty("description", &req.description);
    v.require_max_chars("description", &req.description, MAX_TEXT_CHARS);
    match &req.lost_during {
        None => v.add("lost_during", "must give at least one end"),
        Some(range) => {
            if range.start.is_none() && range.end.is_none() {
                v.add("lost_during", "must give at least one end");
            }
            let start = range.start.as_ref().map(|s| {
                from_ts(s).ok_or(()).unwrap_or_else(|()| {
                    v.add("lost_during.start", "is not a valid timestamp");
                    now
                })
            });
            let end = range.end.as_ref().map(|e| {
                from_ts(e).ok_or(()).unwrap_or_else(|()| {
                    v.add("lost_during.end", "is not a valid timestamp");
                    now
                })
            });
            if let (Some(start), Some(end)) = (start, end)
                && start > end
            {
                v.add("lost_during.end", "must not be before the start");
            }
        }
    }
    if let Some(at) = &req.lost_location {
        v.require_coordinates("lost_location", at.lat, at.lon);
    }
    if !req.lost_radius_m.is_finite() || req.lost_radius_m < 0.0 {
        v.add("lost_radius_m", "must be zero or positive");
    }
    v.require_max_chars("lost_address", &req.lost_address, MAX_TEXT_CHARS);
    v.require_non_empty("owner_name", &req.owner_name);
    v.require_max_chars("owner_name", &req.owner_name, MAX_SHORT_CHARS);
    if req.owner_phone.is_empty() {
        v.add("owner_phone", "must not be empty");
    } else {
        check_phone(&mut v, "owner_phone", &req.owner_phone);
    }
    if !req.owner_id_number.is_empty() {
        check_id_number(&mut v, "owner_id_number", &req.owner_id_number);
    }
    v.require_non_empty("station_id", &req.station_id);
    v.finish()?;
    Ok(())
}

/// ListMatches: the page asked for.
pub fn list_matches(req: &ListMatchesRequest, config: &FollowupConfig) -> Result<Page, ApiError> {
    let mut v = FieldViolations::default();
    let page = super::check::page(&mut v, req.page_size, &req.page_token, config);
    if !req.min_score.is_finite() || !(0.0..=1.0).contains(&req.min_score) {
        v.add("min_score", "must be between 0 and 1");
    }
    v.finish()?;
    Ok(page)
}

/// MarkOwnerContacted: when the owner was contacted.
pub fn mark_owner_contacted(
    req: &MarkOwnerContactedRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("found_item_id", &req.found_item_id);
    check_enum_or_unset::<ContactMethod>(&mut v, "method", req.method);
    let contacted_at = time_or(&mut v, "contacted_at", req.contacted_at.as_ref(), now);
    check_not_future(&mut v, "contacted_at", contacted_at, now);
    v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
    v.finish()?;
    Ok(contacted_at)
}

/// MarkReturned: when the item was returned.
pub fn mark_returned(
    req: &MarkReturnedRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("found_item_id", &req.found_item_id);
    v.require_non_empty("recipient_name", &req.recipient_name);
    v.require_max_chars("recipient_name", &req.recipient_name, MAX_SHORT_CHARS);
    check_enum::<IdentityCheck>(&mut v, "identity_check", req.identity_check);
    if !req.recipient_id_number.is_empty() {
        check_id_number(&mut v, "recipient_id_number", &req.recipient_id_number);
    }
    let returned_at = time_or(&mut v, "returned_at", req.returned_at.as_ref(), now);
    check_not_future(&mut v, "returned_at", returned_at, now);
    v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
    v.finish()?;
    Ok(returned_at)
}
