//! The rules of a version 1 document beyond its shape: ids present and bounded, texts bounded,
//! points on the earth, references that resolve, the catalogue's vocabulary, no clear number in
//! a masked document. Checked in document order; the first bad field is named.

use std::collections::BTreeSet;

use pingan_platform::phone::{Phone, PhoneKind};
use pingan_platform::report::{
    MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_SOURCE_ID_CHARS, point_in_range,
};

use super::{DocumentError, IncidentDocument, LocationRole, PhoneNumbers, Point};

/// Longest id of any record in a document.
const MAX_ID_CHARS: usize = 128;
/// Longest short text (summaries, reasons, notes).
const MAX_TEXT_CHARS: usize = 4000;
/// Most records in one list.
const MAX_ITEMS: usize = 2000;

type Checked = Result<(), DocumentError>;

fn fail(path: impl Into<String>, message: impl Into<String>) -> Checked {
    Err(DocumentError::at(path, message))
}

fn id(path: &str, value: &str) -> Checked {
    if value.trim().is_empty() {
        return fail(path, "must not be empty");
    }
    if value.chars().count() > MAX_ID_CHARS {
        return fail(path, format!("must be at most {MAX_ID_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return fail(path, "must not contain control characters");
    }
    Ok(())
}

fn optional_id(path: &str, value: &str) -> Checked {
    if value.is_empty() {
        Ok(())
    } else {
        id(path, value)
    }
}

fn text(path: &str, value: &str, max: usize) -> Checked {
    if value.chars().count() > max {
        return fail(path, format!("must be at most {max} characters"));
    }
    Ok(())
}

fn items(path: &str, len: usize) -> Checked {
    if len > MAX_ITEMS {
        return fail(path, format!("must have at most {MAX_ITEMS} items"));
    }
    Ok(())
}

fn point(path: &str, p: &Point) -> Checked {
    if !p.lat.is_finite() || !(-90.0..=90.0).contains(&p.lat) {
        return fail(format!("{path}.lat"), "must be between -90 and 90");
    }
    if !p.lon.is_finite() || !(-180.0..=180.0).contains(&p.lon) {
        return fail(format!("{path}.lon"), "must be between -180 and 180");
    }
    if !point_in_range(p.lat, p.lon) {
        return fail(path, "must be a point on the earth");
    }
    Ok(())
}

fn category(path: &str, code: &str, required: bool) -> Checked {
    if code.is_empty() && !required {
        return Ok(());
    }
    if code.len() > 64
        || code.is_empty()
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return fail(path, "must be a category code such as TRAFFIC_ACCIDENT");
    }
    // A reported category is a hint (as in ReportCall); a classification's is the catalogue's.
    match pingan_catalogue::catalogue() {
        Ok(catalogue) if required && catalogue.category(code).is_err() => {
            fail(path, format!("{code} is not a category of the catalogue"))
        }
        _ => Ok(()),
    }
}

/// Every rule, in document order.
pub(super) fn check(d: &IncidentDocument) -> Checked {
    id("document.document_id", &d.document_id)?;
    id(
        "document.issuing_bureau.bureau_id",
        &d.issuing_bureau.bureau_id,
    )?;
    if !d
        .issuing_bureau
        .bureau_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        return fail(
            "document.issuing_bureau.bureau_id",
            "must use letters, digits and - _ . : only",
        );
    }
    id("document.issuing_bureau.system", &d.issuing_bureau.system)?;
    id("document.exported_by.subject", &d.exported_by.subject)?;
    text(
        "document.exported_by.role",
        &d.exported_by.role,
        MAX_NAME_CHARS,
    )?;

    let locations = check_locations(d)?;
    check_incident(d, &locations)?;
    check_calls(d, &locations)?;

    items("document.agencies", d.agencies.len())?;
    for (n, a) in d.agencies.iter().enumerate() {
        id(&format!("document.agencies[{n}].agency_id"), &a.agency_id)?;
        text(
            &format!("document.agencies[{n}].name"),
            &a.name,
            MAX_NAME_CHARS * 2,
        )?;
    }
    items("document.units", d.units.len())?;
    for (n, u) in d.units.iter().enumerate() {
        let at = format!("document.units[{n}]");
        id(&format!("{at}.unit_id"), &u.unit_id)?;
        text(&format!("{at}.callsign"), &u.callsign, MAX_NAME_CHARS)?;
        optional_id(&format!("{at}.dispatch_id"), &u.dispatch_id)?;
        optional_id(&format!("{at}.assignment_id"), &u.assignment_id)?;
        if !u.distance_m.is_finite() || u.distance_m < 0.0 {
            return fail(format!("{at}.distance_m"), "must be a distance in metres");
        }
    }
    items("document.timeline", d.timeline.len())?;
    for (n, e) in d.timeline.iter().enumerate() {
        let at = format!("document.timeline[{n}]");
        id(&format!("{at}.entry_id"), &e.entry_id)?;
        id(&format!("{at}.kind"), &e.kind)?;
        text(&format!("{at}.summary"), &e.summary, MAX_TEXT_CHARS)?;
    }
    items("document.transfers", d.transfers.len())?;
    for (n, t) in d.transfers.iter().enumerate() {
        let at = format!("document.transfers[{n}]");
        id(&format!("{at}.transfer_id"), &t.transfer_id)?;
        if !matches!(t.direction.as_str(), "TO_12345" | "FROM_12345") {
            return fail(format!("{at}.direction"), "must be TO_12345 or FROM_12345");
        }
        text(&format!("{at}.reason"), &t.reason, MAX_TEXT_CHARS)?;
        text(
            &format!("{at}.outcome_note"),
            &t.outcome_note,
            MAX_TEXT_CHARS,
        )?;
    }
    items("document.notes", d.notes.len())?;
    for (n, note) in d.notes.iter().enumerate() {
        let at = format!("document.notes[{n}]");
        id(&format!("{at}.note_id"), &note.note_id)?;
        if note.text.trim().is_empty() {
            return fail(format!("{at}.text"), "must not be empty");
        }
        text(&format!("{at}.text"), &note.text, MAX_TEXT_CHARS)?;
    }
    Ok(())
}

/// The location ids, unique, each place valid.
fn check_locations(d: &IncidentDocument) -> Result<BTreeSet<&str>, DocumentError> {
    items("document.locations", d.locations.len())?;
    let mut ids = BTreeSet::new();
    for (n, l) in d.locations.iter().enumerate() {
        let at = format!("document.locations[{n}]");
        id(&format!("{at}.location_id"), &l.location_id)?;
        if !ids.insert(l.location_id.as_str()) {
            return Err(DocumentError::at(
                format!("{at}.location_id"),
                "is used by an earlier location",
            ));
        }
        if let Some(p) = &l.point {
            point(&format!("{at}.point"), p)?;
        }
        text(&format!("{at}.address"), &l.address, MAX_ADDRESS_CHARS)?;
        optional_id(&format!("{at}.grid_id"), &l.grid_id)?;
        optional_id(&format!("{at}.station_id"), &l.station_id)?;
    }
    Ok(ids)
}

fn check_incident(d: &IncidentDocument, locations: &BTreeSet<&str>) -> Checked {
    let i = &d.incident;
    id("document.incident.incident_id", &i.incident_id)?;
    if i.description.trim().is_empty() {
        return fail("document.incident.description", "must not be empty");
    }
    text(
        "document.incident.description",
        &i.description,
        MAX_DESCRIPTION_CHARS,
    )?;
    if let Some(c) = &i.classification {
        let at = "document.incident.classification";
        if pingan_catalogue::Kind::parse(&c.kind).is_none() {
            return fail(
                format!("{at}.kind"),
                "must be POLICE, JOINT, NON_POLICE, COMPLAINT_ABOUT_POLICE or INVALID",
            );
        }
        category(&format!("{at}.category"), &c.category, true)?;
        if c.response_target_seconds.is_some_and(|s| s < 0) {
            return fail(
                format!("{at}.response_target_seconds"),
                "must not be negative",
            );
        }
        text(
            &format!("{at}.department"),
            &c.department,
            MAX_NAME_CHARS * 2,
        )?;
        items(&format!("{at}.matched_rules"), c.matched_rules.len())?;
        for (n, r) in c.matched_rules.iter().enumerate() {
            id(&format!("{at}.matched_rules[{n}].rule_id"), &r.rule_id)?;
            text(
                &format!("{at}.matched_rules[{n}].explanation"),
                &r.explanation,
                MAX_TEXT_CHARS,
            )?;
        }
    }
    let place = d.locations.iter().find(|l| l.location_id == i.location_ref);
    match place {
        None if !locations.contains(i.location_ref.as_str()) => {
            return fail(
                "document.incident.location_ref",
                "must name a location of document.locations",
            );
        }
        Some(l) if l.role != LocationRole::Incident => {
            return fail(
                "document.incident.location_ref",
                "must name a location whose role is INCIDENT",
            );
        }
        Some(l) if l.point.is_none() && l.address.trim().is_empty() => {
            return fail(
                "document.incident.location_ref",
                "names a location with neither a point nor an address",
            );
        }
        _ => {}
    }
    optional_id("document.incident.grid_id", &i.grid_id)?;
    optional_id("document.incident.station_id", &i.station_id)?;
    optional_id("document.incident.dispatch_id", &i.dispatch_id)?;
    optional_id("document.incident.hotline_ticket_id", &i.hotline_ticket_id)?;
    optional_id("document.incident.complaint_id", &i.complaint_id)?;
    for (n, linked) in i.linked_incident_ids.iter().enumerate() {
        id(
            &format!("document.incident.linked_incident_ids[{n}]"),
            linked,
        )?;
    }
    text(
        "document.incident.close_reason",
        &i.close_reason,
        MAX_TEXT_CHARS,
    )?;
    text(
        "document.incident.pending_reason",
        &i.pending_reason,
        MAX_TEXT_CHARS,
    )?;
    if let Some(link) = &i.source_link {
        id("document.incident.source_link.bureau_id", &link.bureau_id)?;
        id(
            "document.incident.source_link.incident_id",
            &link.incident_id,
        )?;
        id(
            "document.incident.source_link.document_id",
            &link.document_id,
        )?;
    }
    Ok(())
}

fn check_calls(d: &IncidentDocument, locations: &BTreeSet<&str>) -> Checked {
    if d.calls.is_empty() {
        return fail("document.calls", "must have at least one call");
    }
    items("document.calls", d.calls.len())?;
    let mut ids = BTreeSet::new();
    for (n, c) in d.calls.iter().enumerate() {
        let at = format!("document.calls[{n}]");
        id(&format!("{at}.call_id"), &c.call_id)?;
        if !ids.insert(c.call_id.as_str()) {
            return fail(format!("{at}.call_id"), "is used by an earlier call");
        }
        text(
            &format!("{at}.source_call_id"),
            &c.source_call_id,
            MAX_SOURCE_ID_CHARS,
        )?;
        let masked = &c.caller.phone_masked;
        if !masked.is_empty() && !Phone::parse(masked).is_ok_and(|p| p.kind() == PhoneKind::Masked)
        {
            return fail(
                format!("{at}.caller.phone_masked"),
                "must be a masked number such as 138****5678",
            );
        }
        if let Some(phone) = &c.caller.phone {
            if d.phone_numbers == PhoneNumbers::Masked {
                return fail(
                    format!("{at}.caller.phone"),
                    "must be absent when document.phone_numbers is masked",
                );
            }
            if !phone.is_empty() && Phone::parse(phone).is_err() {
                return fail(
                    format!("{at}.caller.phone"),
                    "must be a mainland mobile or landline number",
                );
            }
        }
        text(&format!("{at}.caller.name"), &c.caller.name, MAX_NAME_CHARS)?;
        text(
            &format!("{at}.description"),
            &c.description,
            MAX_DESCRIPTION_CHARS,
        )?;
        category(
            &format!("{at}.reported_category"),
            &c.reported_category,
            false,
        )?;
        if !c.distance_from_incident_m.is_finite() || c.distance_from_incident_m < 0.0 {
            return fail(
                format!("{at}.distance_from_incident_m"),
                "must be a distance in metres",
            );
        }
        if let Some(r) = &c.location_ref
            && !locations.contains(r.as_str())
        {
            return fail(
                format!("{at}.location_ref"),
                "must name a location of document.locations",
            );
        }
    }
    Ok(())
}
