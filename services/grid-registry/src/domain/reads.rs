//! Rules of the read side: when premises are next due an inspection, which need states a
//! listing asks for, and a need's follow-up history. No I/O.

use pingan_proto::grid::v1::{
    InspectionDueReason, InspectionStatus, NeedEventKind, NeedSettlement, NeedStatus,
};

use super::inspection::{DEFAULT_INTERVAL_DAYS, Templates};
use super::records::{ActorRef, Inspection, Millis, Need, Premises, Visit};

const DAY_MS: i64 = 86_400_000;

/// Where premises stand on inspections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// When the next inspection is due.
    pub next_due_at: Millis,
    /// Why then.
    pub reason: InspectionDueReason,
}

/// Days between routine inspections of `premises`: the shortest interval of its templates (the
/// defaults of its kind when it names none), else [`DEFAULT_INTERVAL_DAYS`].
pub fn interval_days(premises: &Premises, templates: &Templates) -> i64 {
    let named = if premises.inspection_template_ids.is_empty() {
        templates.defaults_for(premises.kind)
    } else {
        premises.inspection_template_ids.clone()
    };
    named
        .iter()
        .filter_map(|id| templates.get(id))
        .map(|t| t.interval_days())
        .min()
        .unwrap_or(DEFAULT_INTERVAL_DAYS)
}

/// When `premises` are next due an inspection, given their latest completed inspection: a failed
/// one not yet re-inspected by its rectification deadline, otherwise the routine interval after
/// the last completion; never inspected, from their registration.
pub fn standing(premises: &Premises, last: Option<&Inspection>, templates: &Templates) -> Standing {
    let Some(last) = last else {
        return Standing {
            next_due_at: premises.created_at,
            reason: InspectionDueReason::NeverInspected,
        };
    };
    if last.status == InspectionStatus::RectificationRequired as i32
        && last.reinspection_id.is_empty()
        && let Some(deadline) = last.rectification_deadline
    {
        return Standing {
            next_due_at: deadline,
            reason: InspectionDueReason::Reinspection,
        };
    }
    let completed = last.completed_at.unwrap_or(last.started_at);
    Standing {
        next_due_at: completed.saturating_add(interval_days(premises, templates) * DAY_MS),
        reason: InspectionDueReason::Routine,
    }
}

/// The settled states of a need.
pub const SETTLED: [NeedStatus; 3] = [
    NeedStatus::Resolved,
    NeedStatus::Referred,
    NeedStatus::ClosedUnresolved,
];

/// The need states a listing asks for: `statuses` (empty: any) narrowed by `settlement`.
/// `Some(empty)` is any state; `None` is a request no state can match.
pub fn need_states(statuses: &[i32], settlement: NeedSettlement) -> Option<Vec<i32>> {
    let allowed: Vec<i32> = match settlement {
        NeedSettlement::Unspecified => return Some(statuses.to_vec()),
        NeedSettlement::Open => vec![NeedStatus::Open as i32],
        NeedSettlement::Settled => SETTLED.iter().map(|s| *s as i32).collect(),
    };
    if statuses.is_empty() {
        return Some(allowed);
    }
    let both: Vec<i32> = statuses
        .iter()
        .copied()
        .filter(|s| allowed.contains(s))
        .collect();
    (!both.is_empty()).then_some(both)
}

/// One step of a need's follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedEvent {
    pub kind: NeedEventKind,
    pub at: Millis,
    pub actor: ActorRef,
    pub visit_id: String,
    pub status: i32,
    pub note: String,
}

/// The need's history: recorded, each linked visit, settled; ordered by time (ties keep that
/// order).
pub fn need_history(need: &Need, visits: &[Visit]) -> Vec<NeedEvent> {
    let open = NeedStatus::Open as i32;
    let mut events = vec![NeedEvent {
        kind: NeedEventKind::Recorded,
        at: need.created_at,
        actor: need.recorded_by.clone(),
        visit_id: need.visit_id.clone(),
        status: open,
        note: need.description.clone(),
    }];
    for v in visits {
        events.push(NeedEvent {
            kind: NeedEventKind::Visited,
            at: v.visited_at,
            actor: ActorRef {
                subject: v.officer_id.clone(),
                role: v.recorded_by.role.clone(),
            },
            visit_id: v.visit_id.clone(),
            status: open,
            note: v.notes.clone(),
        });
    }
    if let Some(at) = need.resolved_at {
        events.push(NeedEvent {
            kind: NeedEventKind::Settled,
            at,
            actor: need.resolved_by.clone().unwrap_or_default(),
            visit_id: String::new(),
            status: need.status,
            note: need.resolution_note.clone(),
        });
    }
    events.sort_by_key(|e| (e.at, e.kind as i32));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspection(status: InspectionStatus, completed: Millis) -> Inspection {
        Inspection {
            status: status as i32,
            completed_at: Some(completed),
            started_at: completed - 10,
            ..Inspection::default()
        }
    }

    #[test]
    fn next_due_follows_the_last_inspection() {
        let templates = Templates::builtin().expect("templates");
        let site = Premises {
            kind: 1,
            created_at: 7,
            ..Premises::default()
        };
        assert_eq!(interval_days(&site, &templates), 90);
        assert_eq!(
            standing(&site, None, &templates),
            Standing {
                next_due_at: 7,
                reason: InspectionDueReason::NeverInspected
            }
        );
        let passed = inspection(InspectionStatus::Passed, 1_000);
        assert_eq!(
            standing(&site, Some(&passed), &templates),
            Standing {
                next_due_at: 1_000 + 90 * DAY_MS,
                reason: InspectionDueReason::Routine
            }
        );
        let mut failed = inspection(InspectionStatus::RectificationRequired, 1_000);
        failed.rectification_deadline = Some(5_000);
        assert_eq!(
            standing(&site, Some(&failed), &templates).reason,
            InspectionDueReason::Reinspection
        );
        assert_eq!(
            standing(&site, Some(&failed), &templates).next_due_at,
            5_000
        );
        // A shop naming the hotel template takes the shorter of the intervals it names.
        let shop = Premises {
            kind: 2,
            inspection_template_ids: vec!["SHOP_SAFETY".into(), "HOTEL_SAFETY".into()],
            ..Premises::default()
        };
        assert_eq!(interval_days(&shop, &templates), 90);
        let unknown = Premises {
            kind: 99,
            ..Premises::default()
        };
        assert_eq!(interval_days(&unknown, &templates), DEFAULT_INTERVAL_DAYS);
    }

    #[test]
    fn settlement_narrows_the_statuses() {
        let resolved = NeedStatus::Resolved as i32;
        let open = NeedStatus::Open as i32;
        assert_eq!(need_states(&[], NeedSettlement::Unspecified), Some(vec![]));
        assert_eq!(need_states(&[], NeedSettlement::Open), Some(vec![open]));
        assert_eq!(
            need_states(&[], NeedSettlement::Settled),
            Some(vec![resolved, 3, 4])
        );
        assert_eq!(
            need_states(&[open, resolved], NeedSettlement::Settled),
            Some(vec![resolved])
        );
        assert_eq!(need_states(&[open], NeedSettlement::Settled), None);
    }

    #[test]
    fn history_runs_from_recorded_to_settled() {
        let need = Need {
            created_at: 10,
            description: "需要代购降压药".into(),
            status: NeedStatus::Resolved as i32,
            resolved_at: Some(30),
            resolution_note: "已送药".into(),
            resolved_by: Some(ActorRef {
                subject: "o-1".into(),
                role: "village_officer".into(),
            }),
            ..Need::default()
        };
        let visit = Visit {
            visit_id: "v-1".into(),
            officer_id: "o-1".into(),
            visited_at: 20,
            notes: "送药上门".into(),
            ..Visit::default()
        };
        let history = need_history(&need, &[visit]);
        let kinds: Vec<NeedEventKind> = history.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                NeedEventKind::Recorded,
                NeedEventKind::Visited,
                NeedEventKind::Settled
            ]
        );
        assert_eq!(history[1].visit_id, "v-1");
        assert_eq!(history[2].status, NeedStatus::Resolved as i32);
        assert_eq!(history[2].actor.subject, "o-1");
    }
}
