//! FollowupStats: the facts of the range read from the store, counted by the domain rules.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_proto::followup::v1::{
    ContactTaskStatus, FollowupStatsResponse, FoundItem, ItemKind, MediationStatus, Revisit,
    RevisitStatus,
};

use super::Core;
use crate::domain::from_ts;
use crate::domain::stats::{CountFact, Facts, ItemFact, RevisitFact, build};

impl Core {
    /// FollowupStats (validated): rows per station (all stations when `stations` is empty) and
    /// period.
    pub async fn followup_stats(
        &self,
        stations: &[String],
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<FollowupStatsResponse, ApiError> {
        let now = self.now();
        let allowed: Option<BTreeSet<&str>> =
            (!stations.is_empty()).then(|| stations.iter().map(String::as_str).collect());
        let keep = |station: &str| allowed.as_ref().is_none_or(|set| set.contains(station));
        let (Some(from), Some(to)) = (windows.first().map(|w| w.0), windows.last().map(|w| w.1))
        else {
            return Ok(build(stations, windows, &Facts::default(), now));
        };

        let store = &self.store;
        let mut facts = Facts::default();
        for revisit in store.revisits_due_in_range(from, to).await? {
            if let Some(fact) = revisit_fact(revisit).filter(|f| keep(&f.station_id)) {
                facts.revisits.push(fact);
            }
        }
        for item in store.found_in_range(from, to).await? {
            if let Some(fact) = item_fact(item).filter(|f| keep(&f.station_id)) {
                facts.items.push(fact);
            }
        }
        for report in store.lost_in_range(from, to).await? {
            if !keep(&report.station_id) {
                continue;
            }
            if let Some(created_at) = report.created_at.as_ref().and_then(from_ts) {
                facts.lost_reports.push(CountFact {
                    station_id: report.station_id,
                    created_at,
                    resolved: false,
                });
            }
        }
        for mediation in store.mediations_in_range(from, to).await? {
            if !keep(&mediation.station_id) {
                continue;
            }
            if let Some(created_at) = mediation.created_at.as_ref().and_then(from_ts) {
                facts.mediations.push(CountFact {
                    station_id: mediation.station_id,
                    created_at,
                    resolved: mediation.status == MediationStatus::Resolved as i32,
                });
            }
        }
        Ok(build(stations, windows, &facts, now))
    }
}

/// A revisit as statistics and the report count it (none without a due time).
pub(super) fn revisit_fact(revisit: Revisit) -> Option<RevisitFact> {
    let due_at = revisit.due_at.as_ref().and_then(from_ts)?;
    let last = revisit.attempts.last();
    Some(RevisitFact {
        due_at,
        completed: revisit.status == RevisitStatus::Completed as i32,
        unreachable: revisit.status == RevisitStatus::Unreachable as i32,
        completed_at: revisit.completed_at.as_ref().and_then(from_ts),
        resolved: last.is_some_and(|a| a.issue_resolved),
        satisfaction: last.map_or(0, |a| a.satisfaction),
        station_id: revisit.station_id,
    })
}

/// A found item as statistics and the report count it (its custody station; none without a
/// registration time).
pub(super) fn item_fact(item: FoundItem) -> Option<ItemFact> {
    let station_id = item
        .custody
        .as_ref()
        .map(|c| c.station_id.clone())
        .unwrap_or_default();
    let created_at = item.created_at.as_ref().and_then(from_ts)?;
    let contacted = item
        .contact_task
        .as_ref()
        .filter(|t| t.status == ContactTaskStatus::Done as i32)
        .and_then(|t| t.contacted_at.as_ref())
        .and_then(from_ts);
    let returned = item
        .returned
        .as_ref()
        .and_then(|r| r.returned_at.as_ref())
        .and_then(from_ts);
    Some(ItemFact {
        station_id,
        created_at,
        id_card: item.kind == ItemKind::IdCard as i32,
        owner_identified: item.owner.is_some(),
        time_to_contact: contacted.map(|at| (at - created_at).max(chrono::Duration::zero())),
        time_to_return: returned.map(|at| (at - created_at).max(chrono::Duration::zero())),
    })
}
