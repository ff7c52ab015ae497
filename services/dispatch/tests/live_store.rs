//! The live store follows the database even when an update of it fails or it loses its units (a
//! Redis restart keeps nothing): position reports are authorised on the stations it holds, so the
//! next fix re-reads every unit instead of trusting a station the unit has left, or refusing a
//! registered unit. On both backends.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use pingan_dispatch::positions::{
    Candidate, Fix, LivePosition, MemoryPositions, PositionError, PositionStore, Recorded,
    SearchQuery, UnitMeta,
};
use pingan_dispatch::{DispatchApi, DispatchSettings, MIGRATIONS, Runtime};
use pingan_platform::auth::{Authenticator, random_secret};
use pingan_platform::backend_tests;
use pingan_platform::clients::Peers;
use pingan_platform::clock::{self, SharedClock};
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_platform::{ServiceContext, time::to_timestamp};
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchService;
use pingan_proto::dispatch::v1::*;
use tonic::Request;

backend_tests!(
    a_failed_live_update_is_repaired_by_the_next_fix,
    a_live_store_that_lost_its_units_is_refilled_by_the_next_fix,
    racing_fixes_after_a_loss_are_all_taken,
);

/// The in-process live store, whose next unit update fails when asked to, and which can lose
/// everything it holds.
#[derive(Debug, Default)]
struct Flaky {
    held: RwLock<Arc<MemoryPositions>>,
    fail_next_upsert: AtomicBool,
}

impl Flaky {
    fn inner(&self) -> Arc<MemoryPositions> {
        self.held.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn lose_everything(&self) {
        *self.held.write().unwrap_or_else(|e| e.into_inner()) = Arc::default();
    }
}

#[tonic::async_trait]
impl PositionStore for Flaky {
    async fn upsert_units(&self, units: &[UnitMeta]) -> Result<(), PositionError> {
        if self.fail_next_upsert.swap(false, Ordering::SeqCst) {
            return Err(PositionError::Unavailable("injected".into()));
        }
        self.inner().upsert_units(units).await
    }
    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError> {
        self.inner().set_status(unit_id, status).await
    }
    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError> {
        self.inner().record(fixes).await
    }
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        self.inner().search(query).await
    }
    async fn positions(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, LivePosition>, PositionError> {
        self.inner().positions(unit_ids).await
    }
    async fn stations(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, String>, PositionError> {
        self.inner().stations(unit_ids).await
    }
    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError> {
        self.inner().forget_before(cutoff).await
    }
}

fn register(station: &str, request_id: &str) -> Request<RegisterUnitRequest> {
    Request::new(RegisterUnitRequest {
        request_id: request_id.into(),
        unit_id: "u-1".into(),
        kind: UnitKind::Officer as i32,
        callsign: "U-1".into(),
        station_id: station.into(),
        initial_status: UnitStatus::Available as i32,
        ..Default::default()
    })
}

fn fix(clock: &SharedClock) -> Request<UpdatePositionRequest> {
    Request::new(UpdatePositionRequest {
        unit_id: "u-1".into(),
        location: Some(GeoPoint {
            lat: 30.0,
            lon: 104.0,
        }),
        at: Some(to_timestamp(clock.now())),
        ..Default::default()
    })
}

/// Dispatch over a fresh database of `backend`, with `live` as its live store.
async fn dispatch(backend: Backend, live: Arc<Flaky>) -> (TestDatabase, DispatchApi, SharedClock) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let db = database.db.clone();
    let shared: SharedClock = clock::system();
    let context = ServiceContext {
        db: db.clone(),
        redis: None,
        peers: Peers::new(&BTreeMap::new(), None).expect("peers"),
        auth: Authenticator::allowing_anonymous_dev(&random_secret(), "pingan-test").expect("auth"),
        pii: PiiKeys::random(),
        clock: shared.clone(),
        outbox: Outbox::new(
            "dispatch",
            db.clone(),
            Arc::new(Subscriptions::default()),
            shared.clone(),
        ),
        requests: RequestLog::new(db, shared.clone()),
    };
    let mut runtime = Runtime::new(context, DispatchSettings::default());
    runtime.positions = live;
    (database, DispatchApi::new(Arc::new(runtime)), shared)
}

async fn station_of(live: &Flaky) -> Option<String> {
    live.stations(&["u-1".to_owned()])
        .await
        .expect("stations")
        .remove("u-1")
}

async fn a_failed_live_update_is_repaired_by_the_next_fix(backend: Backend) {
    let live = Arc::new(Flaky::default());
    let (_database, api, shared) = dispatch(backend, live.clone()).await;
    api.register_unit(register("st-1", "reg-1"))
        .await
        .expect("registered");
    api.update_position(fix(&shared)).await.expect("first fix");
    assert_eq!(station_of(&live).await.as_deref(), Some("st-1"));

    // The unit moves to another station; the live store misses the change.
    live.fail_next_upsert.store(true, Ordering::SeqCst);
    api.register_unit(register("st-2", "reg-2"))
        .await
        .expect("moved: the database is the record");
    assert_eq!(
        station_of(&live).await.as_deref(),
        Some("st-1"),
        "update missed"
    );

    // The next fix re-reads every unit first.
    api.update_position(fix(&shared)).await.expect("next fix");
    assert_eq!(station_of(&live).await.as_deref(), Some("st-2"));
}

/// A unit registered and reported once, then a live store that lost every unit (Redis restarted).
async fn a_unit_the_live_store_lost(
    backend: Backend,
) -> (TestDatabase, DispatchApi, SharedClock, Arc<Flaky>) {
    let live = Arc::new(Flaky::default());
    let (database, api, shared) = dispatch(backend, live.clone()).await;
    api.register_unit(register("st-1", "reg-1"))
        .await
        .expect("registered");
    api.update_position(fix(&shared)).await.expect("first fix");
    live.lose_everything();
    (database, api, shared, live)
}

async fn a_live_store_that_lost_its_units_is_refilled_by_the_next_fix(backend: Backend) {
    let (_database, api, shared, live) = a_unit_the_live_store_lost(backend).await;
    let answer = api
        .update_position(fix(&shared))
        .await
        .expect("a registered unit's fix is taken")
        .into_inner();
    assert_eq!(answer.outcome, PositionOutcome::Accepted as i32);
    assert_eq!(station_of(&live).await.as_deref(), Some("st-1"));
    let held = live
        .positions(&["u-1".to_owned()])
        .await
        .expect("positions");
    assert!(held.contains_key("u-1"), "the fix is held again");
}

/// Many fixes racing into a live store that lost its units: each is taken, none refused, and
/// the store ends holding every unit again (re-reads are one at a time).
async fn racing_fixes_after_a_loss_are_all_taken(backend: Backend) {
    let (_database, api, shared, live) = a_unit_the_live_store_lost(backend).await;
    let answers =
        futures::future::join_all((0..8).map(|_| api.update_position(fix(&shared)))).await;
    for answer in answers {
        let outcome = answer
            .expect("a registered unit's fix is taken")
            .into_inner()
            .outcome;
        assert!(
            outcome == PositionOutcome::Accepted as i32
                || outcome == PositionOutcome::OutOfOrder as i32,
            "outcome {outcome}"
        );
    }
    assert_eq!(station_of(&live).await.as_deref(), Some("st-1"));
}
