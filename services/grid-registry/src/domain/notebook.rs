//! The village officer's notebook: need deadlines and transitions, welfare visits due.

use pingan_proto::grid::v1::{NeedCategory, NeedStatus, ResidentTag};

use super::records::{ActorRef, Millis, Need, Resident};

const DAY_MS: i64 = 86_400_000;

/// Welfare visit interval when neither the request nor the resident sets one.
pub const DEFAULT_VISIT_INTERVAL_MS: i64 = 30 * DAY_MS;

/// Tags that call for regular welfare visits.
pub const CARE_TAGS: [ResidentTag; 5] = [
    ResidentTag::ElderlyLivingAlone,
    ResidentTag::Disabled,
    ResidentTag::LeftBehindChild,
    ResidentTag::LeftBehindElderly,
    ResidentTag::SeriousMentalDisorder,
];

/// When a need is due when the request gives no deadline.
pub fn default_due(category: i32, urgent: bool, now: Millis) -> Millis {
    let days = if urgent {
        1
    } else {
        match NeedCategory::try_from(category).unwrap_or(NeedCategory::Other) {
            NeedCategory::Medical | NeedCategory::Safety => 3,
            NeedCategory::DailyLiving | NeedCategory::Dispute => 7,
            _ => 14,
        }
    };
    now + days * DAY_MS
}

/// Why a need cannot be settled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeedError {
    /// Only open needs can be settled.
    #[error("need is not open")]
    NotOpen,
    /// Resolution must be RESOLVED, REFERRED or CLOSED_UNRESOLVED.
    #[error("must be RESOLVED, REFERRED or CLOSED_UNRESOLVED")]
    BadResolution,
    /// REFERRED needs the body it went to.
    #[error("required when the need is referred")]
    ReferredToRequired,
}

/// Settles an open need.
pub fn settle(
    need: &mut Need,
    resolution: i32,
    note: &str,
    referred_to: &str,
    actor: ActorRef,
    now: Millis,
) -> Result<(), NeedError> {
    let wanted = NeedStatus::try_from(resolution).unwrap_or(NeedStatus::Unspecified);
    if !matches!(
        wanted,
        NeedStatus::Resolved | NeedStatus::Referred | NeedStatus::ClosedUnresolved
    ) {
        return Err(NeedError::BadResolution);
    }
    if need.status != NeedStatus::Open as i32 {
        return Err(NeedError::NotOpen);
    }
    if wanted == NeedStatus::Referred && referred_to.trim().is_empty() {
        return Err(NeedError::ReferredToRequired);
    }
    need.status = wanted as i32;
    need.resolution_note = note.to_owned();
    need.referred_to = referred_to.to_owned();
    need.resolved_by = Some(actor);
    need.resolved_at = Some(now);
    need.updated_at = now;
    Ok(())
}

/// True when the need is open past its deadline.
pub fn is_overdue(need: &Need, now: Millis) -> bool {
    need.status == NeedStatus::Open as i32 && need.due_at < now
}

/// True when the resident carries any of `tags` (the care tags when empty).
pub fn has_any_tag(resident: &Resident, tags: &[i32]) -> bool {
    if tags.is_empty() {
        CARE_TAGS
            .iter()
            .any(|t| resident.tags.contains(&(*t as i32)))
    } else {
        tags.iter().any(|t| resident.tags.contains(t))
    }
}

/// When the resident's next welfare visit is due, and how late it is at `now` (None: not due).
pub fn welfare_due(
    resident: &Resident,
    interval_override_ms: Option<i64>,
    now: Millis,
) -> Option<(Millis, i64)> {
    let interval = interval_override_ms
        .or((resident.visit_interval_secs > 0).then(|| resident.visit_interval_secs * 1000))
        .unwrap_or(DEFAULT_VISIT_INTERVAL_MS);
    // Never visited: due from the moment the resident was registered as needing care.
    let due_at = match resident.last_visit_at {
        Some(last) => last + interval,
        None => resident.created_at,
    };
    (due_at <= now).then_some((due_at, now - due_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_need() -> Need {
        Need {
            status: NeedStatus::Open as i32,
            due_at: 100,
            ..Need::default()
        }
    }

    #[test]
    fn needs_settle_once() {
        let mut need = open_need();
        let actor = ActorRef::default();
        assert_eq!(
            settle(
                &mut need,
                NeedStatus::Open as i32,
                "x",
                "",
                actor.clone(),
                5
            ),
            Err(NeedError::BadResolution)
        );
        assert_eq!(
            settle(
                &mut need,
                NeedStatus::Referred as i32,
                "x",
                " ",
                actor.clone(),
                5
            ),
            Err(NeedError::ReferredToRequired)
        );
        settle(
            &mut need,
            NeedStatus::Resolved as i32,
            "送药上门",
            "",
            actor.clone(),
            5,
        )
        .expect("settled");
        assert_eq!(need.status, NeedStatus::Resolved as i32);
        assert_eq!(need.resolved_at, Some(5));
        assert_eq!(
            settle(
                &mut need,
                NeedStatus::Resolved as i32,
                "again",
                "",
                actor,
                6
            ),
            Err(NeedError::NotOpen)
        );
    }

    #[test]
    fn overdue_only_while_open() {
        let mut need = open_need();
        assert!(!is_overdue(&need, 100));
        assert!(is_overdue(&need, 101));
        need.status = NeedStatus::Resolved as i32;
        assert!(!is_overdue(&need, 101));
        assert_eq!(
            default_due(NeedCategory::Medical as i32, false, 0),
            3 * DAY_MS
        );
        assert_eq!(default_due(NeedCategory::Other as i32, true, 0), DAY_MS);
    }

    #[test]
    fn welfare_visits_fall_due_after_the_interval() {
        let mut resident = Resident {
            tags: vec![ResidentTag::ElderlyLivingAlone as i32],
            created_at: 0,
            ..Resident::default()
        };
        assert!(has_any_tag(&resident, &[]));
        assert!(!has_any_tag(&resident, &[ResidentTag::FraudRisk as i32]));
        assert_eq!(welfare_due(&resident, None, 10), Some((0, 10)));
        resident.last_visit_at = Some(1_000);
        assert_eq!(welfare_due(&resident, None, 2_000), None);
        assert_eq!(welfare_due(&resident, Some(500), 2_000), Some((1_500, 500)));
        resident.visit_interval_secs = 1;
        assert_eq!(welfare_due(&resident, None, 2_000), Some((2_000, 0)));
    }
}
