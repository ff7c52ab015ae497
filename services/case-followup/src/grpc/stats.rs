//! FollowupStats.

use std::collections::BTreeSet;

use pingan_platform::auth::{Jurisdiction, Role};
use pingan_platform::{ApiError, FieldViolations};
use pingan_proto::followup::v1::{
    ContactTaskStatus, FollowupStatsRequest, FollowupStatsResponse, ItemKind, MediationStatus,
    RevisitStatus, StatsInterval,
};
use tonic::Request;

use super::{CaseFollowupApi, READ_ROLES};
use crate::domain::stats::{CountFact, Facts, ItemFact, RevisitFact, build, periods};
use crate::domain::{check_enum_or_unset, from_ts};

impl CaseFollowupApi {
    pub(super) async fn followup_stats_checked(
        &self,
        request: Request<FollowupStatsRequest>,
    ) -> Result<FollowupStatsResponse, ApiError> {
        let caller = self.core.context.auth.caller(&request)?;
        let req = request.into_inner();
        let now = self.core.now();
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
        let mut roles = READ_ROLES.to_vec();
        roles.push(Role::Admin);
        caller.require_any(&roles)?;
        for station in &req.station_ids {
            caller.require_station(station)?;
        }
        let stations: Vec<String> = match (&caller.jurisdiction, req.station_ids.is_empty()) {
            (_, false) => req.station_ids.clone(),
            (Jurisdiction::Bureau, true) => Vec::new(),
            (Jurisdiction::Stations(own), true) => own.iter().cloned().collect(),
        };
        let allowed: Option<BTreeSet<&str>> =
            (!stations.is_empty()).then(|| stations.iter().map(String::as_str).collect());
        let keep = |station: &str| allowed.as_ref().is_none_or(|set| set.contains(station));
        let (Some(from), Some(to)) = (windows.first().map(|w| w.0), windows.last().map(|w| w.1))
        else {
            return Ok(build(&stations, &windows, &Facts::default(), now));
        };

        let store = &self.core.store;
        let mut facts = Facts::default();
        for revisit in store.revisits_due_in_range(from, to).await? {
            if !keep(&revisit.station_id) {
                continue;
            }
            let Some(due_at) = revisit.due_at.as_ref().and_then(from_ts) else {
                continue;
            };
            let last = revisit.attempts.last();
            facts.revisits.push(RevisitFact {
                due_at,
                completed: revisit.status == RevisitStatus::Completed as i32,
                unreachable: revisit.status == RevisitStatus::Unreachable as i32,
                completed_at: revisit.completed_at.as_ref().and_then(from_ts),
                resolved: last.is_some_and(|a| a.issue_resolved),
                satisfaction: last.map_or(0, |a| a.satisfaction),
                station_id: revisit.station_id,
            });
        }
        for item in store.found_in_range(from, to).await? {
            let station = item
                .custody
                .as_ref()
                .map(|c| c.station_id.clone())
                .unwrap_or_default();
            if !keep(&station) {
                continue;
            }
            let Some(created_at) = item.created_at.as_ref().and_then(from_ts) else {
                continue;
            };
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
            facts.items.push(ItemFact {
                station_id: station,
                created_at,
                id_card: item.kind == ItemKind::IdCard as i32,
                owner_identified: item.owner.is_some(),
                time_to_contact: contacted
                    .map(|at| (at - created_at).max(chrono::Duration::zero())),
                time_to_return: returned.map(|at| (at - created_at).max(chrono::Duration::zero())),
            });
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
        Ok(build(&stations, &windows, &facts, now))
    }
}
