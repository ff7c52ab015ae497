//! Checks of the requests at the edge: every bad field named (INVALID_ARGUMENT), nothing
//! written. Mediations, revisits, statistics and the shared field rules.

use chrono::{DateTime, Utc};
use pingan_platform::phone::{Phone, PhoneKind};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    FollowupStatsRequest, ListDueRevisitsRequest, MediationNextStep, OpenMediationRequest,
    PartyRole, RecordMediationOutcomeRequest, StatsInterval,
};

use crate::config::FollowupConfig;
use crate::domain::stats::periods;
use crate::domain::{
    MAX_SHORT_CHARS, MAX_TEXT_CHARS, check_enum, check_enum_or_unset, from_ts, time_or,
};
use crate::store::Page;

/// Checks a phone number given in clear: a mainland number (a masked one cannot be called).
pub fn check_phone(violations: &mut FieldViolations, field: &str, phone: &str) {
    match Phone::parse(phone) {
        Ok(parsed) if parsed.kind() != PhoneKind::Masked => {}
        _ => violations.add(field, "must be a phone number"),
    }
}

/// The page asked for by a request's `page_size` and `page_token`.
pub fn page(
    violations: &mut FieldViolations,
    page_size: i32,
    page_token: &str,
    config: &FollowupConfig,
) -> Page {
    let limit = match i64::from(page_size) {
        0 => config.default_page,
        n if n < 0 => {
            violations.add("page_size", "must not be negative");
            config.default_page
        }
        n => n.min(config.max_page),
    };
    let offset = if page_token.is_empty() {
        0
    } else {
        match page_token.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                violations.add("page_token", "is not a token from a previous response");
                0
            }
        }
    };
    Page { limit, offset }
}

/// OpenMediation: when the mediation started.
pub fn open_mediation(
    req: &OpenMediationRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("incident_id", &req.incident_id);
    v.require_max_chars("incident_id", &req.incident_id, MAX_SHORT_CHARS);
    if req.parties.len() < 2 {
        v.add("parties", "must name at least two parties");
    }
    for (i, party) in req.parties.iter().enumerate() {
        v.require_non_empty(&format!("parties[{i}].name"), &party.name);
        v.require_max_chars(&format!("parties[{i}].name"), &party.name, MAX_SHORT_CHARS);
        check_enum::<PartyRole>(&mut v, &format!("parties[{i}].role"), party.role);
        if !party.phone.is_empty() {
            check_phone(&mut v, &format!("parties[{i}].phone"), &party.phone);
        }
        v.require_max_chars(
            &format!("parties[{i}].position"),
            &party.position,
            MAX_TEXT_CHARS,
        );
    }
    for (i, member) in req.committee_members.iter().enumerate() {
        v.require_non_empty(&format!("committee_members[{i}].name"), &member.name);
    }
    v.require_non_empty("summary", &req.summary);
    v.require_max_chars("summary", &req.summary, MAX_TEXT_CHARS);
    v.require_non_empty("mediator_officer_id", &req.mediator_officer_id);
    v.require_max_chars("place", &req.place, MAX_SHORT_CHARS);
    let started_at = time_or(&mut v, "started_at", req.started_at.as_ref(), now);
    v.finish()?;
    Ok(started_at)
}

/// RecordMediationOutcome: when the mediation concluded.
pub fn record_mediation_outcome(
    req: &RecordMediationOutcomeRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut v = FieldViolations::default();
    v.require_non_empty("mediation_id", &req.mediation_id);
    check_enum::<MediationNextStep>(&mut v, "next_step", req.next_step);
    if req.resolved {
        v.require_non_empty("agreement_text", &req.agreement_text);
    }
    v.require_max_chars("agreement_text", &req.agreement_text, MAX_TEXT_CHARS);
    v.require_max_chars("next_step_detail", &req.next_step_detail, MAX_TEXT_CHARS);
    v.require_max_chars("notes", &req.notes, MAX_TEXT_CHARS);
    let concluded_at = time_or(&mut v, "concluded_at", req.concluded_at.as_ref(), now);
    v.finish()?;
    Ok(concluded_at)
}

/// ListDueRevisits: the page and the due-before bound asked for.
pub fn list_due_revisits(
    req: &ListDueRevisitsRequest,
    now: DateTime<Utc>,
    config: &FollowupConfig,
) -> Result<(Page, Option<DateTime<Utc>>), ApiError> {
    let mut v = FieldViolations::default();
    let page = page(&mut v, req.page_size, &req.page_token, config);
    let due_before = req.due_before.as_ref().map(|at| {
        from_ts(at).unwrap_or_else(|| {
            v.add("due_before", "is not a valid timestamp");
            now
        })
    });
    v.finish()?;
    Ok((page, due_before))
}

/// A period of a statistics request.
pub type Window = (DateTime<Utc>, DateTime<Utc>);

/// FollowupStats: the periods of the range.
pub fn followup_stats(req: &FollowupStatsRequest) -> Result<Vec<Window>, ApiError> {
    let mut v = FieldViolations::default();
    let range = req.range.unwrap_or_default();
    let start = range.start.as_ref().and_then(from_ts);
    let end = range.end.as_ref().and_then(from_ts);
    if start.is_none() {
        v.add("range.start", "must be a valid timestamp");
    }
    if end.is_none() {
        v.add("range.end", "must be a valid timestamp");
    }
    check_enum_or_unset::<StatsInterval>(&mut v, "interval", req.interval);
    let interval = StatsInterval::try_from(req.interval).unwrap_or(StatsInterval::WholeRange);
    let mut windows = Vec::new();
    if let (Some(start), Some(end)) = (start, end) {
        if start >= end {
            v.add("range.end", "must be after the start");
        } else {
            match periods(start, end, interval) {
                Some(p) => windows = p,
                None => v.add("interval", "gives too many periods for the range"),
            }
        }
    }
    v.finish()?;
    Ok(windows)
}
