//! FollowUpReport: the records of the period and of the previous one read once through the
//! store (the same reads as FollowupStats, so rows of either encoding count), kept to the
//! caller's stations, counted by `domain::report`.

use std::collections::BTreeSet;

use pingan_platform::ApiError;
use pingan_platform::time::to_timestamp;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::followup::v1::{FollowUpReportResponse, ItemKind};

use super::Core;
use super::stats::{item_fact, revisit_fact};
use crate::domain::from_ts;
use crate::domain::report::{self, LostFact, MediationFact, ReportFacts, Span};

/// The stations a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportStations {
    /// Every station.
    All,
    /// Only these (possibly none).
    Only(BTreeSet<String>),
}

fn range((start, end): Span) -> TimeRange {
    TimeRange {
        start: Some(to_timestamp(start)),
        end: Some(to_timestamp(end)),
    }
}

impl Core {
    /// FollowUpReport (validated) over `span` and the previous period of the same length.
    pub async fn follow_up_report(
        &self,
        stations: &ReportStations,
        span: Span,
    ) -> Result<FollowUpReportResponse, ApiError> {
        let as_of = self.now();
        let previous = report::previous(span);
        let keep = |station: &str| match stations {
            ReportStations::All => true,
            ReportStations::Only(set) => set.contains(station),
        };
        let (from, to) = (previous.0, span.1);
        let store = &self.store;
        let mut facts = ReportFacts::default();
        if stations != &ReportStations::Only(BTreeSet::new()) {
            for mediation in store.mediations_in_range(from, to).await? {
                let opened_at = mediation.created_at.as_ref().and_then(from_ts);
                if let Some(opened_at) = opened_at.filter(|_| keep(&mediation.station_id)) {
                    facts.mediations.push(MediationFact {
                        station_id: mediation.station_id,
                        opened_at,
                        status: mediation.status,
                    });
                }
            }
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
            for lost in store.lost_in_range(from, to).await? {
                let created_at = lost.created_at.as_ref().and_then(from_ts);
                if let Some(created_at) = created_at.filter(|_| keep(&lost.station_id)) {
                    facts.lost_reports.push(LostFact {
                        id_card: lost.kind == ItemKind::IdCard as i32,
                        station_id: lost.station_id,
                        created_at,
                    });
                }
            }
        }
        Ok(FollowUpReportResponse {
            period: Some(range(span)),
            previous_period: Some(range(previous)),
            as_of: Some(to_timestamp(as_of)),
            stations: report::stations(span, &facts)
                .iter()
                .map(|s| report::figures(Some(s), span, &facts, as_of))
                .collect(),
            total: Some(report::figures(None, span, &facts, as_of)),
            previous_total: Some(report::figures(None, previous, &facts, as_of)),
        })
    }
}
