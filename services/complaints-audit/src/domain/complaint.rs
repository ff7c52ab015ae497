//! Complaint rules: deadlines in working days, the status machine, and the two-person rule
//! for findings. No I/O.

use chrono::{DateTime, Duration, Utc};
use pingan_platform::time::WorkCalendar;
use pingan_proto::audit::v1::{ComplaintStatus, Finding, FindingStep, InvestigationStage};

use crate::settings::Settings;

/// When each deadline of a complaint received at `received_at` falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Receipt (hours).
    pub receipt: DateTime<Utc>,
    /// Preliminary check (working days).
    pub preliminary: DateTime<Utc>,
    /// Investigation (working days).
    pub investigation: DateTime<Utc>,
}

impl Deadlines {
    /// The deadlines per the configured limits, working days counted on `calendar`.
    pub fn from_received(
        received_at: DateTime<Utc>,
        settings: &Settings,
        calendar: &WorkCalendar,
    ) -> Self {
        Self {
            receipt: received_at + Duration::hours(i64::from(settings.receipt_hours)),
            preliminary: calendar.add_working_days(received_at, settings.preliminary_working_days),
            investigation: calendar
                .add_working_days(received_at, settings.investigation_working_days),
        }
    }
}

/// True when a deadline was missed: met late, or still open past due.
pub fn is_overdue(due: DateTime<Utc>, met: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match met {
        Some(met) => met > due,
        None => now > due,
    }
}

/// Why a complaint cannot take a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The complaint's status does not allow the step.
    #[error("complaint is {status}: cannot {step}")]
    WrongStatus {
        /// Current status name.
        status: &'static str,
        /// What was attempted.
        step: &'static str,
    },
    /// Only the assigned investigator proposes the finding.
    #[error("only the assigned investigator may propose a finding")]
    NotInvestigator,
    /// Two-person rule: the proposer cannot review their own finding.
    #[error("the finding must be reviewed by someone other than the investigator who proposed it")]
    SelfReview,
    /// A full investigation cannot go back to a preliminary check.
    #[error("a full investigation cannot return to a preliminary check")]
    StageBackwards,
}

fn status_name(status: ComplaintStatus) -> &'static str {
    match status {
        ComplaintStatus::Unspecified => "unknown",
        ComplaintStatus::Received => "received",
        ComplaintStatus::PreliminaryCheck => "in preliminary check",
        ComplaintStatus::UnderInvestigation => "under investigation",
        ComplaintStatus::FindingProposed => "awaiting review of its finding",
        ComplaintStatus::Closed => "closed",
    }
}

/// The status after assigning an investigator for `stage`.
pub fn assign(
    status: ComplaintStatus,
    stage: InvestigationStage,
) -> Result<ComplaintStatus, RuleError> {
    match (status, stage) {
        (
            ComplaintStatus::Received | ComplaintStatus::PreliminaryCheck,
            InvestigationStage::PreliminaryCheck,
        ) => Ok(ComplaintStatus::PreliminaryCheck),
        (ComplaintStatus::UnderInvestigation, InvestigationStage::PreliminaryCheck) => {
            Err(RuleError::StageBackwards)
        }
        (
            ComplaintStatus::Received
            | ComplaintStatus::PreliminaryCheck
            | ComplaintStatus::UnderInvestigation,
            InvestigationStage::FullInvestigation,
        ) => Ok(ComplaintStatus::UnderInvestigation),
        (status, _) => Err(RuleError::WrongStatus {
            status: status_name(status),
            step: "assign an investigator",
        }),
    }
}

/// Who is involved in a finding step.
#[derive(Debug, Clone, Copy)]
pub struct FindingParties<'a> {
    /// The caller taking the step.
    pub caller: &'a str,
    /// The assigned investigator.
    pub investigator: &'a str,
    /// Who proposed the current finding (empty when none).
    pub proposer: &'a str,
}

/// The status after a finding step; enforces the two-person rule.
pub fn finding_step(
    status: ComplaintStatus,
    step: FindingStep,
    parties: FindingParties<'_>,
    full_investigation: bool,
) -> Result<ComplaintStatus, RuleError> {
    match step {
        FindingStep::Propose => match status {
            ComplaintStatus::PreliminaryCheck | ComplaintStatus::UnderInvestigation => {
                if parties.caller != parties.investigator {
                    return Err(RuleError::NotInvestigator);
                }
                Ok(ComplaintStatus::FindingProposed)
            }
            other => Err(RuleError::WrongStatus {
                status: status_name(other),
                step: "propose a finding",
            }),
        },
        FindingStep::Approve | FindingStep::Return => {
            if status != ComplaintStatus::FindingProposed {
                return Err(RuleError::WrongStatus {
                    status: status_name(status),
                    step: "review a finding",
                });
            }
            if parties.caller == parties.proposer || parties.caller == parties.investigator {
                return Err(RuleError::SelfReview);
            }
            Ok(match (step, full_investigation) {
                (FindingStep::Approve, _) => ComplaintStatus::Closed,
                (_, true) => ComplaintStatus::UnderInvestigation,
                (_, false) => ComplaintStatus::PreliminaryCheck,
            })
        }
        FindingStep::Unspecified => Err(RuleError::WrongStatus {
            status: status_name(status),
            step: "take an unspecified step",
        }),
    }
}

/// Findings that clear the accused (they do not count towards an early warning by default).
pub fn clears_officer(finding: Finding) -> bool {
    matches!(finding, Finding::Unfounded | Finding::MaliciousFalseReport)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // Friday 2025-09-26 10:00 Beijing time (02:00 UTC).
        let start = at(2025, 9, 26, 2);
        let plain = WorkCalendar::weekdays_only();
        assert_eq!(plain.add_working_days(start, 3), at(2025, 10, 1, 2));
        let holidays = (1..=7).filter_map(|d| chrono::NaiveDate::from_ymd_opt(2025, 10, d));
        let local = WorkCalendar::weekdays_only().with_extra_holidays(holidays);
        assert_eq!(local.add_working_days(start, 3), at(2025, 10, 8, 2));
    }

    #[test]
    fn deadlines_cross_national_day_and_count_the_makeup_saturday() {
        let settings = Settings::default();
        // Tuesday 30 Sep 2025, 10:00 Beijing: 1-8 Oct are off, Sat 11 Oct is a working day.
        let received = at(2025, 9, 30, 2);
        let deadlines = Deadlines::from_received(received, &settings, &settings.calendar());
        // Thu 9, Fri 10, Sat 11 (make-up): the third working day.
        assert_eq!(deadlines.preliminary, at(2025, 10, 11, 2));
        // A bureau-local holiday on the make-up Saturday pushes it to Monday 13 Oct.
        let local = Settings {
            holidays: [chrono::NaiveDate::from_ymd_opt(2025, 10, 11).unwrap_or_default()].into(),
            ..Settings::default()
        };
        let later = Deadlines::from_received(received, &local, &local.calendar());
        assert_eq!(later.preliminary, at(2025, 10, 13, 2));
    }

    #[test]
    fn deadlines_follow_the_settings() {
        let settings = Settings::default();
        let received = at(2025, 9, 22, 2); // Monday
        let deadlines =
            Deadlines::from_received(received, &settings, &WorkCalendar::weekdays_only());
        assert_eq!(deadlines.receipt, at(2025, 9, 23, 2));
        assert_eq!(deadlines.preliminary, at(2025, 9, 25, 2));
        assert_eq!(deadlines.investigation, at(2025, 11, 3, 2));
        assert!(is_overdue(deadlines.receipt, None, at(2025, 9, 24, 0)));
        assert!(!is_overdue(
            deadlines.receipt,
            Some(at(2025, 9, 22, 5)),
            at(2025, 9, 30, 0)
        ));
        assert!(is_overdue(
            deadlines.receipt,
            Some(at(2025, 9, 23, 5)),
            at(2025, 9, 30, 0)
        ));
    }

    #[test]
    fn stages_only_move_forward() {
        use ComplaintStatus as S;
        use InvestigationStage as G;
        assert_eq!(
            assign(S::Received, G::PreliminaryCheck),
            Ok(S::PreliminaryCheck)
        );
        assert_eq!(
            assign(S::PreliminaryCheck, G::FullInvestigation),
            Ok(S::UnderInvestigation)
        );
        assert_eq!(
            assign(S::UnderInvestigation, G::PreliminaryCheck),
            Err(RuleError::StageBackwards)
        );
        assert!(assign(S::Closed, G::FullInvestigation).is_err());
        assert!(assign(S::FindingProposed, G::FullInvestigation).is_err());
    }

    #[test]
    fn a_finding_needs_a_second_person() {
        use ComplaintStatus as S;
        let by = |caller| FindingParties {
            caller,
            investigator: "insp-1",
            proposer: "insp-1",
        };
        assert_eq!(
            finding_step(
                S::UnderInvestigation,
                FindingStep::Propose,
                by("insp-2"),
                true
            ),
            Err(RuleError::NotInvestigator)
        );
        assert_eq!(
            finding_step(
                S::UnderInvestigation,
                FindingStep::Propose,
                by("insp-1"),
                true
            ),
            Ok(S::FindingProposed)
        );
        assert_eq!(
            finding_step(S::FindingProposed, FindingStep::Approve, by("insp-1"), true),
            Err(RuleError::SelfReview)
        );
        assert_eq!(
            finding_step(
                S::FindingProposed,
                FindingStep::Approve,
                by("legal-1"),
                true
            ),
            Ok(S::Closed)
        );
        assert_eq!(
            finding_step(
                S::FindingProposed,
                FindingStep::Return,
                by("legal-1"),
                false
            ),
            Ok(S::PreliminaryCheck)
        );
        assert!(finding_step(S::Closed, FindingStep::Approve, by("legal-1"), true).is_err());
    }
}
