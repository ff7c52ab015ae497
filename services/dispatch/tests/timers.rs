//! The response clocks as durable jobs, on both backends: arming writes the job in the same
//! transaction (due at the deadline, not before), the job worker escalates and breaches when the
//! manual clock passes it, and a job that fires after the state moved on changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pingan_dispatch::app::deadlines::{ACK_DEADLINE, RESPONSE_TARGET};
use pingan_dispatch::{DispatchApi, DispatchSettings, MIGRATIONS, Runtime};
use pingan_platform::auth::{Authenticator, random_secret};
use pingan_platform::backend_tests;
use pingan_platform::clients::Peers;
use pingan_platform::clock::{Clock, ManualClock, SharedClock};
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::jobs::{JobState, JobWorker};
use pingan_platform::pii::PiiKeys;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_platform::time::to_timestamp;
use pingan_platform::{ServiceContext, with_db};
use pingan_proto::common::v1::{GeoPoint, Priority};
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchService;
use pingan_proto::dispatch::v1::*;
use tonic::Request;

backend_tests!(
    an_unanswered_assignment_escalates_once_when_its_job_is_due,
    a_job_after_the_state_moved_on_changes_nothing,
    clocks_armed_without_a_job_get_one_at_start,
);

struct Harness {
    _database: TestDatabase,
    clock: ManualClock,
    runtime: Arc<Runtime>,
    api: DispatchApi,
    worker: JobWorker,
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .expect("time")
}

const SCENE: GeoPoint = GeoPoint {
    lat: 30.0,
    lon: 104.0,
};

fn north(metres: f64) -> GeoPoint {
    GeoPoint {
        lat: SCENE.lat + metres / 111_195.0,
        lon: SCENE.lon,
    }
}

impl Harness {
    async fn start(backend: Backend) -> Self {
        let database = TestDatabase::create(backend, &MIGRATIONS)
            .await
            .expect("test database");
        let db = database.db.clone();
        let clock = ManualClock::new(start_time());
        let shared: SharedClock = Arc::new(clock.clone());
        let context = ServiceContext {
            db: db.clone(),
            redis: None,
            peers: Peers::new(&BTreeMap::new(), None).expect("peers"),
            auth: Authenticator::allowing_anonymous_dev(&random_secret(), "pingan-test")
                .expect("auth"),
            pii: PiiKeys::random(),
            clock: shared.clone(),
            outbox: Outbox::new(
                "dispatch",
                db.clone(),
                Arc::new(Subscriptions::default()),
                shared.clone(),
            ),
            requests: RequestLog::new(db, shared),
        };
        let runtime = pingan_dispatch::runtime(&context, DispatchSettings::default());
        Self {
            _database: database,
            clock,
            api: DispatchApi::new(runtime.clone()),
            runtime: runtime.clone(),
            worker: pingan_dispatch::job_worker(&runtime),
        }
    }

    async fn unit(&self, unit_id: &str, metres_north: f64) {
        self.api
            .register_unit(Request::new(RegisterUnitRequest {
                request_id: format!("reg-{unit_id}"),
                unit_id: unit_id.into(),
                kind: UnitKind::Officer as i32,
                callsign: unit_id.to_uppercase(),
                station_id: "st-1".into(),
                initial_status: UnitStatus::Available as i32,
                ..Default::default()
            }))
            .await
            .expect("register");
        self.api
            .update_position(Request::new(UpdatePositionRequest {
                unit_id: unit_id.into(),
                location: Some(north(metres_north)),
                at: Some(to_timestamp(self.clock.now())),
                ..Default::default()
            }))
            .await
            .expect("position");
    }

    async fn open(&self, incident: &str) -> Dispatch {
        self.api
            .open_dispatch(Request::new(OpenDispatchRequest {
                request_id: format!("open-{incident}"),
                incident_id: incident.into(),
                priority: Priority::P1 as i32,
                location: Some(SCENE),
                category: "ASSISTANCE".into(),
                station_id: "st-1".into(),
                grid_id: "st-1-g1".into(),
                summary: "test".into(),
                ..Default::default()
            }))
            .await
            .expect("open")
            .into_inner()
            .dispatch
            .expect("dispatch")
    }

    async fn get(&self, dispatch_id: &str) -> Dispatch {
        self.api
            .get_dispatch(Request::new(GetDispatchRequest {
                dispatch_id: dispatch_id.into(),
            }))
            .await
            .expect("get")
            .into_inner()
            .dispatch
            .expect("dispatch")
    }

    async fn job_state(&self, kind: &str, key: &str) -> JobState {
        self.worker
            .queue()
            .get(kind, key)
            .await
            .expect("job")
            .expect("armed")
            .state
    }
}

async fn an_unanswered_assignment_escalates_once_when_its_job_is_due(backend: Backend) {
    let h = Harness::start(backend).await;
    h.unit("u-near", 100.0).await;
    h.unit("u-next", 600.0).await;
    let dispatch = h.open("inc-1").await;
    let first = dispatch.assignments[0].clone();
    assert_eq!(first.unit_id, "u-near");
    // Armed with the open: due at the deadlines, so nothing runs before them.
    assert_eq!(
        h.job_state(ACK_DEADLINE, &first.assignment_id).await,
        JobState::Pending
    );
    assert_eq!(
        h.job_state(RESPONSE_TARGET, &dispatch.dispatch_id).await,
        JobState::Pending
    );
    h.clock.advance(Duration::from_secs(59));
    assert_eq!(h.worker.run_once().await.expect("round"), 0);

    h.clock.advance(Duration::from_secs(2));
    assert_eq!(h.worker.run_once().await.expect("round"), 1);
    let current = h.get(&dispatch.dispatch_id).await;
    assert_eq!(current.assignments.len(), 2, "{:?}", current.assignments);
    assert_eq!(current.assignments[0].status(), AssignmentStatus::Escalated);
    let next = &current.assignments[1];
    assert_eq!(next.unit_id, "u-next");
    assert_eq!(next.source(), AssignmentSource::Escalation);
    assert_eq!(
        h.job_state(ACK_DEADLINE, &first.assignment_id).await,
        JobState::Done
    );
    // The escalation armed the new assignment's deadline in its own transaction.
    assert_eq!(
        h.job_state(ACK_DEADLINE, &next.assignment_id).await,
        JobState::Pending
    );
    assert_eq!(
        h.worker.run_once().await.expect("round"),
        0,
        "nothing runs twice"
    );

    // At 5 min (urban P1) with nobody en route the target is missed, once.
    h.clock.advance(Duration::from_secs(240));
    assert_eq!(h.worker.run_once().await.expect("round"), 2);
    let current = h.get(&dispatch.dispatch_id).await;
    assert!(current.sla_breached);
    assert_eq!(
        current.assignments.len(),
        2,
        "u-next escalated too; nobody left to send"
    );
    assert_eq!(current.assignments[1].status(), AssignmentStatus::Escalated);
    assert_eq!(
        h.job_state(RESPONSE_TARGET, &dispatch.dispatch_id).await,
        JobState::Done
    );
}

async fn a_job_after_the_state_moved_on_changes_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    h.unit("u-1", 100.0).await;
    let dispatch = h.open("inc-2").await;
    let assignment = dispatch.assignments[0].clone();
    h.clock.advance(Duration::from_secs(30));
    h.api
        .mark_en_route(Request::new(MarkEnRouteRequest {
            request_id: "enroute-1".into(),
            dispatch_id: dispatch.dispatch_id.clone(),
            unit_id: "u-1".into(),
            ..Default::default()
        }))
        .await
        .expect("en route");
    // Both clocks run out after the unit moved: both jobs run and do nothing.
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(h.worker.run_once().await.expect("round"), 2);
    let current = h.get(&dispatch.dispatch_id).await;
    assert!(!current.sla_breached);
    assert_eq!(current.assignments.len(), 1);
    assert_eq!(current.assignments[0].status(), AssignmentStatus::EnRoute);
    assert_eq!(
        h.job_state(ACK_DEADLINE, &assignment.assignment_id).await,
        JobState::Done
    );
    assert_eq!(
        h.job_state(RESPONSE_TARGET, &dispatch.dispatch_id).await,
        JobState::Done
    );
    let timeline = h
        .api
        .get_dispatch_timeline(Request::new(GetDispatchTimelineRequest {
            dispatch_id: dispatch.dispatch_id.clone(),
            ..Default::default()
        }))
        .await
        .expect("timeline")
        .into_inner()
        .entries;
    assert!(
        timeline.iter().all(|e| !matches!(
            e.kind(),
            TimelineEntryKind::Escalated | TimelineEntryKind::SlaBreached
        )),
        "{timeline:?}"
    );
}

async fn clocks_armed_without_a_job_get_one_at_start(backend: Backend) {
    let h = Harness::start(backend).await;
    h.unit("u-1", 100.0).await;
    let dispatch = h.open("inc-3").await;
    let assignment = dispatch.assignments[0].clone();
    // As if armed before the clocks were jobs.
    with_db!(&h.runtime.context.db, pool => sqlx::query("DELETE FROM platform_jobs")
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("delete jobs");
    assert_eq!(
        pingan_dispatch::app::upkeep::arm_existing(&h.runtime)
            .await
            .expect("arm"),
        2
    );
    assert_eq!(
        h.job_state(ACK_DEADLINE, &assignment.assignment_id).await,
        JobState::Pending
    );
    assert_eq!(
        h.job_state(RESPONSE_TARGET, &dispatch.dispatch_id).await,
        JobState::Pending
    );
    // Idempotent: a second start finds the same clocks and adds no job.
    pingan_dispatch::app::upkeep::arm_existing(&h.runtime)
        .await
        .expect("arm again");
    h.clock.advance(Duration::from_secs(61));
    assert_eq!(h.worker.run_once().await.expect("round"), 1);
    let current = h.get(&dispatch.dispatch_id).await;
    assert_eq!(current.assignments[0].status(), AssignmentStatus::Escalated);
}
