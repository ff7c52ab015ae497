//! A case-followup service over a fresh database, a manual clock and a fake grid-registry.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use pingan_case_followup::{CaseFollowupApi, Core, MIGRATIONS};
use pingan_platform::auth::{Authenticator, random_secret};
use pingan_platform::clients::Peers;
use pingan_platform::clock::{ManualClock, SharedClock};
use pingan_platform::events::{Outbox, ServiceSink, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_platform::{ServiceContext, with_db};
use pingan_proto::grid::v1::grid_registry_service_server::{
    GridRegistryService, GridRegistryServiceServer,
};
use pingan_proto::grid::v1::{
    FindResidentByIdNumberRequest, FindResidentByIdNumberResponse, GridOfficer, OfficerRole,
    Resident,
};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// A resident of the fake registry (valid GB 11643 number).
pub const OWNER_ID: &str = "11010519491231002X";
/// The resident's phone.
pub const OWNER_PHONE: &str = "13812345678";

/// grid-registry's FindResidentByIdNumber, knowing one resident.
#[derive(Debug, Clone, Default)]
pub struct FakeRegistry {
    pub calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl GridRegistryService for FakeRegistry {
    async fn find_resident_by_id_number(
        &self,
        request: Request<FindResidentByIdNumberRequest>,
    ) -> Result<Response<FindResidentByIdNumberResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let request = request.into_inner();
        if request.id_number != OWNER_ID {
            return Err(Status::not_found("resident not found"));
        }
        Ok(Response::new(FindResidentByIdNumberResponse {
            resident: Some(Resident {
                resident_id: "res-1".into(),
                name: "张三".into(),
                id_number_masked: "110105********002X".into(),
                phone_masked: "138****5678".into(),
                phone: OWNER_PHONE.into(),
                grid_id: "st-chengnan-g1".into(),
                ..Resident::default()
            }),
            responsible_officers: vec![GridOfficer {
                officer_id: "officer-village-1".into(),
                role: OfficerRole::VillageOfficer as i32,
                station_id: "st-chengnan".into(),
                ..GridOfficer::default()
            }],
            lookup_id: "lookup-1".into(),
        }))
    }
}

/// Serves the fake registry on `addr` (port 0: any).
pub async fn serve_registry(addr: SocketAddr) -> anyhow::Result<(SocketAddr, FakeRegistry)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let fake = FakeRegistry::default();
    let service = GridRegistryServiceServer::new(fake.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    Ok((addr, fake))
}

/// A free loopback address where nothing listens (yet).
pub async fn closed_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?)
}

/// A found ID card with `id_number`, in custody at st-chengnan.
pub fn found_id_card(
    request_id: &str,
    id_number: &str,
) -> pingan_proto::followup::v1::RegisterFoundItemRequest {
    pingan_proto::followup::v1::RegisterFoundItemRequest {
        request_id: request_id.into(),
        kind: pingan_proto::followup::v1::ItemKind::IdCard as i32,
        description: "居民身份证".into(),
        found_location: Some(pingan_proto::common::v1::GeoPoint {
            lat: 29.655,
            lon: 91.14,
        }),
        finder: "officer-2".into(),
        custody: Some(pingan_proto::followup::v1::Custody {
            station_id: "st-chengnan".into(),
            officer_id: "officer-duty".into(),
            storage_place: "值班室保管柜 3".into(),
        }),
        name_on_item: "张三".into(),
        id_number: id_number.into(),
        ..pingan_proto::followup::v1::RegisterFoundItemRequest::default()
    }
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 1, 0, 0)
        .single()
        .expect("time")
}

pub struct Harness {
    pub database: TestDatabase,
    pub clock: ManualClock,
    pub core: Arc<Core>,
    pub api: CaseFollowupApi,
    pub sink: ServiceSink,
}

impl Harness {
    /// The service on `backend`, calling grid-registry at `registry` (when given).
    pub async fn start(backend: Backend, registry: Option<SocketAddr>) -> anyhow::Result<Self> {
        let database = TestDatabase::create(backend, &MIGRATIONS).await?;
        let db = database.db.clone();
        let clock = ManualClock::new(start_time());
        let shared: SharedClock = Arc::new(clock.clone());
        let mut subscriptions = Subscriptions::default();
        for event in [
            "pingan.followup.v1.MediationOpened",
            "pingan.followup.v1.MediationConcluded",
            "pingan.followup.v1.RevisitScheduled",
            "pingan.followup.v1.RevisitCompleted",
        ] {
            subscriptions.subscribe("intake", [event]);
        }
        subscriptions.subscribe("complaints-audit", ["pingan.audit.v1.AuditRecord"]);
        let mut urls = BTreeMap::new();
        if let Some(addr) = registry {
            urls.insert("grid-registry".to_owned(), format!("http://{addr}"));
        }
        let context = ServiceContext {
            db: db.clone(),
            redis: None,
            peers: Peers::new(&urls, None)?,
            auth: Authenticator::allowing_anonymous_dev(&random_secret(), "pingan-test")?,
            pii: PiiKeys::random(),
            clock: shared.clone(),
            outbox: Outbox::new(
                "case-followup",
                db.clone(),
                Arc::new(subscriptions),
                shared.clone(),
            ),
            requests: RequestLog::new(db.clone(), shared),
        };
        let core = Arc::new(Core::new(context.clone()));
        Ok(Self {
            database,
            clock,
            api: CaseFollowupApi::new(core.clone()),
            sink: pingan_case_followup::event_sink(&context),
            core,
        })
    }

    /// The worker of the service's jobs (owner lookups), run round by round with `run_once`.
    pub fn jobs(&self) -> pingan_platform::jobs::JobWorker {
        pingan_case_followup::app::lookup_job::worker(self.core.clone())
    }

    /// Registers the found ID card `request_id` of `id_number`; the item as answered.
    pub async fn register_card(
        &self,
        request_id: &str,
        id_number: &str,
    ) -> pingan_proto::followup::v1::FoundItem {
        use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
        self.api
            .register_found_item(tonic::Request::new(found_id_card(request_id, id_number)))
            .await
            .expect("registered")
            .into_inner()
            .found_item
            .expect("item")
    }

    /// A found item as stored, with its encrypted owner phone.
    pub async fn stored_item(
        &self,
        found_item_id: &str,
    ) -> (pingan_proto::followup::v1::FoundItem, Option<Vec<u8>>) {
        let mut tx = self.core.context.db.begin_write().await.expect("tx");
        let (stored, phone, _) = self
            .core
            .store
            .found_item_for_update(&mut tx, found_item_id)
            .await
            .expect("read")
            .expect("item kept");
        tx.rollback().await.expect("rollback");
        (stored, phone)
    }

    pub fn advance_minutes(&self, minutes: u64) {
        self.clock
            .advance(std::time::Duration::from_secs(minutes * 60));
    }

    /// (event type, destination) of every event in the outbox, oldest first.
    pub async fn outbox(&self) -> anyhow::Result<Vec<(String, String)>> {
        const SQL: &str = "SELECT e.event_type, d.destination FROM pingan_outbox_events e \
            JOIN pingan_outbox_deliveries d ON d.event_row_id = e.id ORDER BY e.id, d.destination";
        Ok(with_db!(&self.database.db, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Every stored text and byte of the service's tables (every column, child tables too),
    /// request log and outbox, as lossy text.
    pub async fn stored_text(&self) -> anyhow::Result<String> {
        use sqlx::Row;
        let mut out = String::new();
        for table in [
            "followup_mediations",
            "followup_mediation_parties",
            "followup_mediation_committee",
            "followup_revisits",
            "followup_revisit_tags",
            "followup_revisit_attempts",
            "followup_found_items",
            "followup_lost_reports",
            "followup_matches",
            "followup_match_keywords",
            "pingan_request_log",
            "pingan_outbox_events",
            "platform_jobs",
        ] {
            let sql = format!("SELECT * FROM {table}");
            with_db!(&self.database.db, pool => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
                for row in rows {
                    for i in 0..row.len() {
                        if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                            out.push_str(&text);
                        } else if let Ok(Some(bytes)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                            out.push_str(&String::from_utf8_lossy(&bytes));
                        }
                        out.push('\n');
                    }
                }
            });
        }
        Ok(out)
    }

    pub async fn cleanup(self) {
        self.database.cleanup().await;
    }
}

/// The field names of an INVALID_ARGUMENT status.
pub fn bad_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}
