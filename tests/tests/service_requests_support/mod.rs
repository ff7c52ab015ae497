//! Shared by the service-request tests: clients for a desk, the certificate request and small
//! readers.

#![allow(dead_code)] // each test binary uses a different part

pub use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::grid_common::{RONGXIANG, fields, registry_with_jurisdiction};
pub use pingan_platform::auth::Role;
pub use pingan_proto::grid::v1 as pb;
pub use pingan_proto::grid::v1::service_request_service_client::ServiceRequestServiceClient;
pub use pingan_tests::{Bearer, Service, TestBackend, TestCluster, backend_tests};
pub use prost_types::Timestamp;
pub use tonic::Code;
pub use tonic::service::interceptor::InterceptedService;
pub use tonic::transport::Channel;

pub type Desk = ServiceRequestServiceClient<InterceptedService<Channel, Bearer>>;

pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;
pub const OFFICER: &str = "st-rongxiang-o3";
pub const CERT: pb::ServiceRequestType = pb::ServiceRequestType::NoCriminalRecordCertificate;
pub const INQUIRY: pb::ServiceRequestType = pb::ServiceRequestType::InformationInquiry;
pub const BEFORE_SUBMIT: [&str; 3] = [
    "IDENTITY_VERIFIED",
    "PURPOSE_STATED",
    "APPLICATION_SUBMITTED_ONLINE",
];

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

pub fn desk(cluster: &TestCluster, subject: &str, roles: &[Role], stations: &[&str]) -> Desk {
    let token = cluster.token(subject, roles, stations).expect("token");
    ServiceRequestServiceClient::new(
        cluster
            .channel_as(Service::GridRegistry, &token)
            .expect("channel"),
    )
}

pub fn village_officer(cluster: &TestCluster) -> Desk {
    desk(cluster, OFFICER, &[Role::VillageOfficer], &[RONGXIANG])
}

/// The certificate of resident r-101 (grid st-rongxiang-g6), asked for on the phone.
pub fn certificate(request_id: &str, requested_at: i64) -> pb::OpenServiceRequestRequest {
    pb::OpenServiceRequestRequest {
        request_id: request_id.into(),
        station_id: RONGXIANG.into(),
        resident_id: "r-101".into(),
        channel: pb::ServiceRequestChannel::Phone as i32,
        r#type: CERT as i32,
        description: "外出务工需开具无犯罪记录证明，电话指导掌上办".into(),
        requested_at: at(requested_at),
        ..Default::default()
    }
}

pub fn tick(request_id: &str, id: &str, key: &str) -> pb::CompleteChecklistItemRequest {
    pb::CompleteChecklistItemRequest {
        request_id: request_id.into(),
        service_request_id: id.into(),
        item_key: key.into(),
        note: String::new(),
    }
}

pub async fn open(client: &mut Desk, request: pb::OpenServiceRequestRequest) -> pb::ServiceRequest {
    client
        .open_service_request(request)
        .await
        .expect("open")
        .into_inner()
        .service_request
        .expect("request")
}

pub async fn get(client: &mut Desk, id: &str) -> pb::GetServiceRequestResponse {
    client
        .get_service_request(pb::GetServiceRequestRequest {
            service_request_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner()
}

pub async fn list(
    client: &mut Desk,
    request: pb::ListServiceRequestsRequest,
) -> Vec<pb::ServiceRequest> {
    client
        .list_service_requests(request)
        .await
        .expect("list")
        .into_inner()
        .service_requests
}

pub fn row(
    rows: &[pb::ServiceRequestReportRow],
    kind: pb::ServiceRequestType,
) -> &pb::ServiceRequestReportRow {
    rows.iter()
        .find(|r| r.station_id == RONGXIANG && r.r#type == kind as i32)
        .expect("report row")
}

/// The code a call answered with (OK when it succeeded).
pub fn code<T>(answer: Result<tonic::Response<T>, tonic::Status>) -> Code {
    answer.err().map_or(Code::Ok, |status| status.code())
}

pub fn refused(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let mut f = fields(status);
    f.sort();
    f
}
