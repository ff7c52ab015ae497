//! The reports answered by dispatch, triage and case-followup: `response-times`, `exchange`,
//! `followup`, each one RPC turned into the sections of a [`Report`].

use anyhow::Context as _;
use clap::ValueEnum;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::dispatch_analysis_service_client::DispatchAnalysisServiceClient;
use pingan_proto::dispatch::v1::{ResponseMeasure, ResponseTimeReportRequest};
use pingan_proto::followup::v1::followup_analysis_service_client::FollowupAnalysisServiceClient;
use pingan_proto::followup::v1::{FollowUpFigures, FollowUpReportRequest, LostFoundFigures};
use pingan_proto::triage::v1::triage_analysis_service_client::TriageAnalysisServiceClient;
use pingan_proto::triage::v1::{
    ExchangeCounts, ExchangeGroupBy, ExchangeReportRequest, ExchangeRow,
};
use serde_json::{Value, json};

use super::{Report, ReportArgs, connect, period};

/// Priorities on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    P1,
    P2,
    P3,
    P4,
}

impl PriorityArg {
    fn proto(self) -> Priority {
        match self {
            Self::P1 => Priority::P1,
            Self::P2 => Priority::P2,
            Self::P3 => Priority::P3,
            Self::P4 => Priority::P4,
        }
    }
}

/// What the exchange report's rows are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExchangeByArg {
    /// The 12345 department.
    Department,
    /// The catalogue category.
    Category,
}

fn seconds(d: Option<prost_types::Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.seconds))
}

fn priority_name(p: i32) -> String {
    Priority::try_from(p)
        .map(|p| p.as_str_name().trim_start_matches("PRIORITY_").to_owned())
        .unwrap_or_default()
}

fn measure(m: Option<&ResponseMeasure>) -> Vec<Value> {
    let m = m.cloned().unwrap_or_default();
    vec![
        json!(m.count),
        seconds(m.p50),
        seconds(m.p90),
        json!(m.within_target),
        json!((m.share_within_target * 1000.0).round() / 1000.0),
    ]
}

/// `pingan report response-times`.
pub async fn response_times(
    common: &ReportArgs,
    priorities: &[PriorityArg],
    target_minutes: u32,
    breaches: i32,
) -> anyhow::Result<Report> {
    let mut client = DispatchAnalysisServiceClient::new(connect(common).await?);
    let answer = client
        .response_time_report(ResponseTimeReportRequest {
            period: Some(period(common)?),
            station_id: common.station.clone(),
            priorities: priorities.iter().map(|p| p.proto() as i32).collect(),
            target: Some(prost_types::Duration {
                seconds: i64::from(target_minutes) * 60,
                nanos: 0,
            }),
            breach_limit: breaches,
        })
        .await
        .context("ResponseTimeReport")?
        .into_inner();
    let rows = answer
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                json!(r.station_id),
                json!(priority_name(r.priority)),
                json!(r.dispatches),
            ];
            row.extend(measure(r.ring_to_assigned.as_ref()));
            row.extend(measure(r.ring_to_on_scene.as_ref()));
            row.push(json!(r.breaches));
            row
        })
        .collect();
    let mut report = Report::default();
    report.section(
        "rows",
        &[
            "station_id",
            "priority",
            "dispatches",
            "assigned_count",
            "assigned_p50_s",
            "assigned_p90_s",
            "assigned_within",
            "assigned_share",
            "on_scene_count",
            "on_scene_p50_s",
            "on_scene_p90_s",
            "on_scene_within",
            "on_scene_share",
            "breaches",
        ],
        rows,
    );
    let breaches = answer
        .breaches
        .iter()
        .map(|b| {
            vec![
                json!(b.dispatch_id),
                json!(b.incident_id),
                json!(b.station_id),
                json!(priority_name(b.priority)),
                b.rang_at
                    .as_ref()
                    .and_then(pingan_platform::time::from_timestamp)
                    .map_or(Value::Null, |t| json!(t.to_rfc3339())),
                seconds(b.ring_to_assigned),
                seconds(b.ring_to_on_scene),
                seconds(b.over_by),
            ]
        })
        .collect();
    report.section(
        "breaches",
        &[
            "dispatch_id",
            "incident_id",
            "station_id",
            "priority",
            "rang_at",
            "ring_to_assigned_s",
            "ring_to_on_scene_s",
            "over_by_s",
        ],
        breaches,
    );
    report.section(
        "total_breaches",
        &["count"],
        vec![vec![json!(answer.total_breaches)]],
    );
    Ok(report)
}

const EXCHANGE_COLUMNS: &[&str] = &[
    "key",
    "label",
    "period",
    "diverted",
    "accepted",
    "handled",
    "bounced",
    "awaiting",
    "overdue",
    "received",
    "received_incidents",
    "received_complaints",
    "returned",
    "pushed_back",
    "received_overdue",
];

fn exchange_rows(rows: &[ExchangeRow]) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for row in rows {
        for (name, counts) in [
            ("current", &row.current),
            ("previous", &row.previous),
            ("change", &row.change),
        ] {
            let c: ExchangeCounts = counts.unwrap_or_default();
            out.push(vec![
                json!(row.key),
                json!(row.label),
                json!(name),
                json!(c.diverted),
                json!(c.accepted),
                json!(c.handled),
                json!(c.bounced),
                json!(c.awaiting),
                json!(c.overdue),
                json!(c.received),
                json!(c.received_incidents),
                json!(c.received_complaints),
                json!(c.returned),
                json!(c.pushed_back),
                json!(c.received_overdue),
            ]);
        }
    }
    out
}

/// `pingan report exchange`.
pub async fn exchange(
    common: &ReportArgs,
    by: ExchangeByArg,
    department: &str,
    category: &str,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        common.station.is_empty(),
        "the 12345 ledger has no station: the exchange report takes no --station"
    );
    let mut client = TriageAnalysisServiceClient::new(connect(common).await?);
    let answer = client
        .exchange_report(ExchangeReportRequest {
            period: Some(period(common)?),
            group_by: match by {
                ExchangeByArg::Department => ExchangeGroupBy::Department,
                ExchangeByArg::Category => ExchangeGroupBy::Category,
            } as i32,
            department: department.to_owned(),
            category: category.to_owned(),
        })
        .await
        .context("ExchangeReport")?
        .into_inner();
    let mut report = Report::default();
    let total: Vec<ExchangeRow> = answer.total.into_iter().collect();
    report.section("total", EXCHANGE_COLUMNS, exchange_rows(&total));
    let name = match by {
        ExchangeByArg::Department => "by_department",
        ExchangeByArg::Category => "by_category",
    };
    report.section(name, EXCHANGE_COLUMNS, exchange_rows(&answer.rows));
    Ok(report)
}

const FOLLOWUP_COLUMNS: &[&str] = &[
    "row",
    "station_id",
    "mediations_opened",
    "mediations_agreed",
    "mediations_failed",
    "mediations_open",
    "revisits_due",
    "revisits_on_time",
    "revisits_late",
    "revisits_unreachable",
    "revisits_overdue",
    "revisits_waiting",
    "satisfaction_rated",
    "satisfaction_mean",
    "found_registered",
    "found_matched",
    "found_returned",
    "found_median_hours_to_return",
    "lost_reports",
    "id_cards_registered",
    "id_cards_matched",
    "id_cards_returned",
    "id_cards_median_hours_to_return",
    "id_card_lost_reports",
];

fn lost_found(f: Option<&LostFoundFigures>) -> Vec<Value> {
    let f = f.cloned().unwrap_or_default();
    vec![
        json!(f.registered),
        json!(f.matched),
        json!(f.returned),
        f.median_to_return
            .map_or(Value::Null, |_| json!(f.median_hours_to_return)),
    ]
}

fn followup_row(name: &str, f: &FollowUpFigures) -> Vec<Value> {
    let m = f.mediations.unwrap_or_default();
    let r = f.revisits.unwrap_or_default();
    let s = f.satisfaction.clone().unwrap_or_default();
    let mut row = vec![
        json!(name),
        json!(f.station_id),
        json!(m.opened),
        json!(m.agreed),
        json!(m.failed),
        json!(m.open),
        json!(r.due),
        json!(r.done_on_time),
        json!(r.done_late),
        json!(r.unreachable),
        json!(r.overdue),
        json!(r.waiting),
        json!(s.rated),
        json!((s.mean * 100.0).round() / 100.0),
    ];
    row.extend(lost_found(f.lost_and_found.as_ref()));
    row.push(json!(
        f.lost_and_found.as_ref().map_or(0, |l| l.lost_reports)
    ));
    row.extend(lost_found(f.id_cards.as_ref()));
    row.push(json!(f.id_cards.as_ref().map_or(0, |l| l.lost_reports)));
    row
}

/// `pingan report followup`.
pub async fn followup(common: &ReportArgs) -> anyhow::Result<Report> {
    let mut client = FollowupAnalysisServiceClient::new(connect(common).await?);
    let answer = client
        .follow_up_report(FollowUpReportRequest {
            period: Some(period(common)?),
            station_id: common.station.clone(),
        })
        .await
        .context("FollowUpReport")?
        .into_inner();
    let mut figures: Vec<(&str, FollowUpFigures)> = answer
        .stations
        .into_iter()
        .map(|s| ("station", s))
        .collect();
    figures.extend(answer.total.map(|t| ("total", t)));
    figures.extend(answer.previous_total.map(|t| ("previous_total", t)));
    let mut report = Report::default();
    report.section(
        "figures",
        FOLLOWUP_COLUMNS,
        figures
            .iter()
            .map(|(name, f)| followup_row(name, f))
            .collect(),
    );
    let satisfaction = figures
        .iter()
        .filter(|(name, _)| *name != "station")
        .flat_map(|(name, f)| {
            f.satisfaction
                .iter()
                .flat_map(|s| s.scores.iter())
                .map(move |c| vec![json!(name), json!(c.score), json!(c.count)])
        })
        .collect();
    report.section("satisfaction", &["row", "score", "count"], satisfaction);
    Ok(report)
}
