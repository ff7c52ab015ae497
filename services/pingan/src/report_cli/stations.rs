//! `pingan report service-requests`: the station services (非警务服务事项) a station rendered in a
//! period, from grid-registry's ServiceRequestReport.

use anyhow::Context as _;
use clap::ValueEnum;
use pingan_proto::grid::v1::service_request_service_client::ServiceRequestServiceClient;
use pingan_proto::grid::v1::{
    ServiceRequestReportRequest, ServiceRequestReportRow, ServiceRequestType,
};
use serde_json::{Value, json};

use super::{Report, ReportArgs, connect, period};

/// Service request types on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceTypeArg {
    /// 无犯罪记录证明.
    NoCriminalRecordCertificate,
    /// 居住证.
    ResidencePermit,
    /// 户口迁移/登记.
    HouseholdRegistration,
    /// 身份证补领.
    IdCardReplacement,
    /// 信息咨询.
    InformationInquiry,
    /// Any other station service.
    OtherStationService,
}

impl ServiceTypeArg {
    fn proto(self) -> ServiceRequestType {
        match self {
            Self::NoCriminalRecordCertificate => ServiceRequestType::NoCriminalRecordCertificate,
            Self::ResidencePermit => ServiceRequestType::ResidencePermit,
            Self::HouseholdRegistration => ServiceRequestType::HouseholdRegistration,
            Self::IdCardReplacement => ServiceRequestType::IdCardReplacement,
            Self::InformationInquiry => ServiceRequestType::InformationInquiry,
            Self::OtherStationService => ServiceRequestType::OtherStationService,
        }
    }
}

const COLUMNS: &[&str] = &[
    "row",
    "station_id",
    "type",
    "opened",
    "submitted",
    "open",
    "closed_done",
    "closed_rejected",
    "closed_withdrawn",
    "overdue",
    "submitted_on_time",
    "share_submitted_on_time",
    "p50_hours_to_submit",
    "p90_hours_to_submit",
];

fn type_name(t: i32) -> String {
    ServiceRequestType::try_from(t)
        .ok()
        .filter(|t| *t != ServiceRequestType::Unspecified)
        .map(|t| {
            t.as_str_name()
                .trim_start_matches("SERVICE_REQUEST_TYPE_")
                .to_owned()
        })
        .unwrap_or_default()
}

fn row(name: &str, r: &ServiceRequestReportRow) -> Vec<Value> {
    vec![
        json!(name),
        json!(r.station_id),
        json!(type_name(r.r#type)),
        json!(r.opened),
        json!(r.submitted),
        json!(r.open),
        json!(r.closed_done),
        json!(r.closed_rejected),
        json!(r.closed_withdrawn),
        json!(r.overdue),
        json!(r.submitted_on_time),
        json!((r.share_submitted_on_time * 1000.0).round() / 1000.0),
        json!(r.p50_hours_to_submit),
        json!(r.p90_hours_to_submit),
    ]
}

/// `pingan report service-requests`.
pub async fn service_requests(
    common: &ReportArgs,
    service_type: Option<ServiceTypeArg>,
) -> anyhow::Result<Report> {
    let mut client = ServiceRequestServiceClient::new(connect(common).await?);
    let answer = client
        .service_request_report(ServiceRequestReportRequest {
            period: Some(period(common)?),
            station_id: common.station.clone(),
            r#type: service_type.map_or(0, |t| t.proto() as i32),
        })
        .await
        .context("ServiceRequestReport")?
        .into_inner();
    let mut rows: Vec<Vec<Value>> = answer.rows.iter().map(|r| row("station", r)).collect();
    rows.extend(answer.total.as_ref().map(|t| row("total", t)));
    let mut report = Report::default();
    report.section("rows", COLUMNS, rows);
    Ok(report)
}
