//! Revisits: recording an attempt, closing a revisit and asking for the next one, and the
//! overdue flag. Works on the stored `Revisit` record.

use chrono::{DateTime, Utc};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::common::v1::Actor;
use pingan_proto::followup::v1::{
    ContactMethod, RecordRevisitRequest, Revisit, RevisitAttempt, RevisitReason, RevisitStatus,
};

use super::{MAX_TEXT_CHARS, from_ts, time_or, ts};

/// Checks a RecordRevisit request; returns when the attempt was made.
pub fn validate_attempt(
    request: &RecordRevisitRequest,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    let mut violations = FieldViolations::default();
    violations.require_non_empty("revisit_id", &request.revisit_id);
    super::check_enum_or_unset::<ContactMethod>(&mut violations, "method", request.method);
    if !(0..=5).contains(&request.satisfaction) {
        violations.add("satisfaction", "must be between 1 and 5 (0: not rated)");
    } else if !request.contacted && request.satisfaction != 0 {
        violations.add(
            "satisfaction",
            "must be 0 when the person was not contacted",
        );
    }
    if !request.contacted && request.issue_resolved {
        violations.add(
            "issue_resolved",
            "can only be set when the person was contacted",
        );
    }
    if request.contacted && request.close_unreachable {
        violations.add(
            "close_unreachable",
            "can only be set when the person was not contacted",
        );
    }
    if request.another_revisit_needed && !request.contacted && !request.close_unreachable {
        violations.add(
            "another_revisit_needed",
            "needs a concluded revisit (contacted or close_unreachable); a failed attempt keeps it due",
        );
    }
    if request.next_revisit_due_at.is_some() && !request.another_revisit_needed {
        violations.add(
            "next_revisit_due_at",
            "can only be set with another_revisit_needed",
        );
    }
    violations.require_max_chars("notes", &request.notes, MAX_TEXT_CHARS);
    let performed_at = time_or(
        &mut violations,
        "performed_at",
        request.performed_at.as_ref(),
        now,
    );
    if performed_at > now + chrono::Duration::minutes(5) {
        violations.add("performed_at", "must not be in the future");
    }
    if let Some(next) = &request.next_revisit_due_at {
        match from_ts(next) {
            Some(next) if next <= now => {
                violations.add("next_revisit_due_at", "must be in the future")
            }
            Some(_) => {}
            None => violations.add("next_revisit_due_at", "is not a valid timestamp"),
        }
    }
    violations.finish()?;
    Ok(performed_at)
}

/// What recording an attempt did.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    /// The revisit concluded (completed or unreachable).
    pub concluded: bool,
    /// The next revisit to schedule, when one was asked for.
    pub next: Option<Revisit>,
}

/// Records an attempt on `revisit` (which must still be due).
pub fn record_attempt(
    revisit: &mut Revisit,
    request: &RecordRevisitRequest,
    performed_at: DateTime<Utc>,
    actor: Actor,
    now: DateTime<Utc>,
    repeat_due_after: chrono::Duration,
) -> Result<AttemptOutcome, ApiError> {
    if revisit.status != RevisitStatus::Due as i32 {
        return Err(ApiError::FailedPrecondition(format!(
            "revisit {} is already {}",
            revisit.revisit_id,
            status_name(revisit.status)
        )));
    }
    let method = if request.method == 0 {
        ContactMethod::Phone as i32
    } else {
        request.method
    };
    revisit.attempts.push(RevisitAttempt {
        performed_at: Some(ts(performed_at)),
        method,
        contacted: request.contacted,
        issue_resolved: request.issue_resolved,
        satisfaction: request.satisfaction,
        notes: request.notes.clone(),
        another_revisit_needed: request.another_revisit_needed,
        recorded_by: Some(actor),
    });
    revisit.updated_at = Some(ts(now));
    let concluded = if request.contacted {
        revisit.status = RevisitStatus::Completed as i32;
        true
    } else if request.close_unreachable {
        revisit.status = RevisitStatus::Unreachable as i32;
        true
    } else {
        false
    };
    if concluded {
        revisit.completed_at = Some(ts(performed_at));
    }
    revisit.overdue = is_overdue(revisit, now);
    let next = (concluded && request.another_revisit_needed).then(|| {
        let due_at = request
            .next_revisit_due_at
            .as_ref()
            .and_then(from_ts)
            .unwrap_or(now + repeat_due_after);
        Revisit {
            revisit_id: super::new_id("rv"),
            reason: RevisitReason::Repeat as i32,
            status: RevisitStatus::Due as i32,
            due_at: Some(ts(due_at)),
            overdue: false,
            sequence: revisit.sequence + 1,
            previous_revisit_id: revisit.revisit_id.clone(),
            attempts: Vec::new(),
            completed_at: None,
            created_at: Some(ts(now)),
            updated_at: Some(ts(now)),
            ..revisit.clone()
        }
    });
    Ok(AttemptOutcome { concluded, next })
}

/// True when still due after its due time, or concluded after it.
pub fn is_overdue(revisit: &Revisit, now: DateTime<Utc>) -> bool {
    let Some(due_at) = revisit.due_at.as_ref().and_then(from_ts) else {
        return false;
    };
    if revisit.status == RevisitStatus::Due as i32 {
        now > due_at
    } else {
        revisit
            .completed_at
            .as_ref()
            .and_then(from_ts)
            .is_some_and(|done| done > due_at)
    }
}

/// The last attempt (the one that concluded a revisit).
pub fn last_attempt(revisit: &Revisit) -> Option<&RevisitAttempt> {
    revisit.attempts.last()
}

fn status_name(status: i32) -> &'static str {
    match RevisitStatus::try_from(status) {
        Ok(RevisitStatus::Completed) => "completed",
        Ok(RevisitStatus::Unreachable) => "closed as unreachable",
        Ok(RevisitStatus::Due) => "due",
        _ => "in an unknown state",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 8, 0, 0)
            .single()
            .expect("time")
    }

    fn due_revisit() -> Revisit {
        Revisit {
            revisit_id: "rv-1".into(),
            incident_id: "inc-1".into(),
            status: RevisitStatus::Due as i32,
            due_at: Some(ts(now() + chrono::Duration::days(3))),
            sequence: 1,
            ..Revisit::default()
        }
    }

    fn request() -> RecordRevisitRequest {
        RecordRevisitRequest {
            request_id: "r1".into(),
            revisit_id: "rv-1".into(),
            contacted: true,
            issue_resolved: true,
            satisfaction: 5,
            ..RecordRevisitRequest::default()
        }
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::InvalidArgument(v) => v.fields().map(str::to_owned).collect(),
            other => panic!("not invalid argument: {other}"),
        }
    }

    #[test]
    fn satisfaction_must_be_1_to_5_and_only_when_contacted() {
        let bad = RecordRevisitRequest {
            satisfaction: 7,
            ..request()
        };
        assert_eq!(
            fields(validate_attempt(&bad, now()).unwrap_err()),
            ["satisfaction"]
        );
        let not_contacted = RecordRevisitRequest {
            contacted: false,
            issue_resolved: true,
            satisfaction: 3,
            ..request()
        };
        assert_eq!(
            fields(validate_attempt(&not_contacted, now()).unwrap_err()),
            ["satisfaction", "issue_resolved"]
        );
        assert!(validate_attempt(&request(), now()).is_ok());
    }

    #[test]
    fn a_contacted_attempt_completes_and_can_ask_for_another() {
        let mut revisit = due_revisit();
        let req = RecordRevisitRequest {
            another_revisit_needed: true,
            ..request()
        };
        let outcome = record_attempt(
            &mut revisit,
            &req,
            now(),
            Actor::default(),
            now(),
            chrono::Duration::hours(72),
        )
        .expect("recorded");
        assert!(outcome.concluded);
        assert_eq!(revisit.status, RevisitStatus::Completed as i32);
        assert!(!revisit.overdue);
        let next = outcome.next.expect("next revisit");
        assert_eq!(next.sequence, 2);
        assert_eq!(next.previous_revisit_id, "rv-1");
        assert_eq!(next.reason, RevisitReason::Repeat as i32);
        assert_eq!(next.due_at, Some(ts(now() + chrono::Duration::hours(72))));
        let again = record_attempt(
            &mut revisit,
            &request(),
            now(),
            Actor::default(),
            now(),
            chrono::Duration::hours(72),
        );
        assert!(matches!(again, Err(ApiError::FailedPrecondition(_))));
    }

    #[test]
    fn a_failed_attempt_keeps_it_due_and_overdue_follows_the_clock() {
        let mut revisit = due_revisit();
        let req = RecordRevisitRequest {
            contacted: false,
            issue_resolved: false,
            satisfaction: 0,
            ..request()
        };
        let later = now() + chrono::Duration::days(4);
        let outcome = record_attempt(
            &mut revisit,
            &req,
            later,
            Actor::default(),
            later,
            chrono::Duration::hours(72),
        )
        .expect("recorded");
        assert!(!outcome.concluded);
        assert_eq!(revisit.status, RevisitStatus::Due as i32);
        assert_eq!(revisit.attempts.len(), 1);
        assert!(revisit.overdue);
        assert!(!is_overdue(&revisit, now()));
    }
}
