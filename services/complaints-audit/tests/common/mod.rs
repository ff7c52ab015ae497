//! Shared setup: the service over a fresh database of either backend, a manual clock, tokens,
//! and a fake dispatch that can be switched off.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod rows;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pingan_complaints_audit::app::Core;
use pingan_complaints_audit::{ComplaintsAuditApi, MIGRATIONS, Settings};
use pingan_platform::ServiceContext;
use pingan_platform::auth::{Authenticator, Role, TokenIssuer};
use pingan_platform::clients::Peers;
use pingan_platform::clock::ManualClock;
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{
    Accused, Complainant, Complaint, ComplaintSource, FileComplaintRequest, GetComplaintRequest,
};
use pingan_proto::dispatch::v1::dispatch_service_server::{DispatchService, DispatchServiceServer};
use pingan_proto::dispatch::v1::{
    GetDispatchTimelineRequest, GetDispatchTimelineResponse, TimelineEntry, TimelineEntryKind,
};
use pingan_proto::events::v1::EventEnvelope;

pub const INSPECTOR: &[Role] = &[Role::Inspector];

pub const SECRET: &[u8] = b"complaints-audit-test-secret-0123456789";

/// A dispatch that answers UNAVAILABLE until switched on.
#[derive(Debug, Clone, Default)]
pub struct FakeDispatch {
    pub up: Arc<AtomicBool>,
}

#[tonic::async_trait]
impl DispatchService for FakeDispatch {
    async fn get_dispatch_timeline(
        &self,
        request: tonic::Request<GetDispatchTimelineRequest>,
    ) -> Result<tonic::Response<GetDispatchTimelineResponse>, tonic::Status> {
        if !self.up.load(Ordering::SeqCst) {
            return Err(tonic::Status::unavailable("dispatch is down"));
        }
        let incident = request.into_inner().incident_id;
        let entry = |n: i64, kind: TimelineEntryKind, text: &str| TimelineEntry {
            entry_id: format!("te-{n}"),
            dispatch_id: "D-1".into(),
            incident_id: incident.clone(),
            kind: kind as i32,
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_758_000_000 + n * 60,
                nanos: 0,
            }),
            unit_id: "unit-cn-1".into(),
            description: text.into(),
            ..TimelineEntry::default()
        };
        Ok(tonic::Response::new(GetDispatchTimelineResponse {
            entries: vec![
                entry(1, TimelineEntryKind::Opened, "dispatch opened"),
                entry(2, TimelineEntryKind::OnScene, "officer on scene"),
                entry(3, TimelineEntryKind::Closed, "mediated, closed"),
            ],
        }))
    }
}

pub struct Harness {
    pub database: TestDatabase,
    pub core: Arc<Core>,
    pub api: ComplaintsAuditApi,
    pub clock: ManualClock,
    pub issuer: TokenIssuer,
    pub dispatch: FakeDispatch,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub fn start_time() -> DateTime<Utc> {
    // Monday 2025-09-22 10:00 Beijing time.
    Utc.with_ymd_and_hms(2025, 9, 22, 2, 0, 0).single().unwrap()
}

impl Harness {
    pub async fn start(backend: Backend) -> Self {
        let database = TestDatabase::create(backend, &MIGRATIONS)
            .await
            .expect("database");
        let clock = ManualClock::new(start_time());
        let shared: pingan_platform::clock::SharedClock = Arc::new(clock.clone());
        let dispatch = FakeDispatch::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = DispatchServiceServer::new(dispatch.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await;
        });
        let peers = Peers::new(
            &BTreeMap::from([("dispatch".to_owned(), format!("http://{addr}"))]),
            None,
        )
        .expect("peers");
        let mut subscriptions = Subscriptions::default();
        subscriptions
            .subscribe(
                "triage",
                [
                    "pingan.audit.v1.ComplaintFiled",
                    "pingan.audit.v1.ComplaintAnswered",
                ],
            )
            .subscribe("intake", ["pingan.audit.v1.ComplaintFiled"]);
        let db = database.db.clone();
        let context = ServiceContext {
            db: db.clone(),
            redis: None,
            peers,
            auth: Authenticator::new(SECRET, "pingan-test").expect("auth"),
            pii: PiiKeys::random(),
            clock: shared.clone(),
            outbox: Outbox::new(
                "complaints-audit",
                db.clone(),
                Arc::new(subscriptions),
                shared.clone(),
            ),
            requests: RequestLog::new(db, shared),
        };
        let settings = Settings {
            dispatch_timeout: Duration::from_secs(2),
            worker_interval: Duration::from_secs(1),
            ..Settings::default()
        };
        let core = Arc::new(Core::new(context, settings));
        Self {
            database,
            api: ComplaintsAuditApi::new(core.clone()),
            core,
            clock,
            issuer: TokenIssuer::new(SECRET, "pingan-test").expect("issuer"),
            dispatch,
            stop: Some(stop),
        }
    }

    pub fn request<T>(&self, subject: &str, roles: &[Role], message: T) -> tonic::Request<T> {
        let token = self
            .issuer
            .issue(subject, roles, &[], Duration::from_secs(3600))
            .expect("token");
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata"),
        );
        request
    }

    pub fn envelope<M: prost::Name>(
        &self,
        event_id: &str,
        source: &str,
        message: &M,
    ) -> EventEnvelope {
        EventEnvelope {
            event_id: event_id.to_owned(),
            event_type: M::full_name(),
            source: source.to_owned(),
            aggregate_id: event_id.to_owned(),
            sequence: 1,
            occurred_at: Some(prost_types::Timestamp {
                seconds: start_time().timestamp(),
                nanos: 0,
            }),
            traceparent: String::new(),
            tracestate: String::new(),
            payload: Some(prost_types::Any {
                type_url: format!("type.googleapis.com/{}", M::full_name()),
                value: message.encode_to_vec(),
            }),
        }
    }

    /// (event_type, destination) of every outbox delivery, in order.
    pub async fn outbox(&self) -> Vec<(String, String, Vec<u8>)> {
        const SQL: &str = "SELECT e.event_type, d.destination, e.payload FROM pingan_outbox_events e \
            JOIN pingan_outbox_deliveries d ON d.event_row_id = e.id ORDER BY e.id, d.destination";
        pingan_platform::with_db!(&self.database.db, pool => sqlx::query_as::<_, (String, String, Vec<u8>)>(SQL)
            .fetch_all(pool)
            .await)
        .expect("outbox")
    }

    /// Runs raw SQL (the tamper tests act as someone with database rights).
    pub async fn sql(&self, statement: &'static str) -> u64 {
        pingan_platform::with_db!(&self.database.db, pool => sqlx::query(statement)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .expect("sql")
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.database.cleanup().await;
    }
}

/// Bad-request field names of an INVALID_ARGUMENT status.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// A complaint as `subject` sees it.
pub async fn get(h: &Harness, subject: &str, roles: &[Role], id: &str) -> Complaint {
    h.api
        .get_complaint(h.request(
            subject,
            roles,
            GetComplaintRequest {
                reason: "case file review".into(),
                complaint_id: id.into(),
                ..GetComplaintRequest::default()
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .complaint
        .expect("complaint")
}

/// A walk-in complaint against `officer`, linked to `incident` when not empty.
pub fn walk_in(request_id: &str, officer: &str, incident: &str) -> FileComplaintRequest {
    FileComplaintRequest {
        request_id: request_id.into(),
        source: ComplaintSource::WalkIn as i32,
        complainant: Some(Complainant {
            name: "王五".into(),
            phone: "13812345678".into(),
            id_number: "11010519491231002X".into(),
            ..Complainant::default()
        }),
        accused: vec![Accused {
            officer_id: officer.into(),
            station_id: "st-chengnan".into(),
            ..Accused::default()
        }],
        incident_id: incident.into(),
        allegation: "民警态度恶劣".into(),
        allegation_tags: vec!["RUDENESS".into()],
        ..FileComplaintRequest::default()
    }
}
