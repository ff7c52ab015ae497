//! A sender and a receiver service wired through the events backbone, for the backbone tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use pingan_platform::auth::{Authenticator, Role, TokenIssuer, random_secret};
use pingan_platform::clients::{Peers, ServiceCredentials};
use pingan_platform::clock::{ManualClock, SharedClock};
use pingan_platform::config::ServerConfig;
use pingan_platform::events::{
    EventAdmin, EventConfig, EventHandler, EventSinkRouter, Outbox, Relay, ServiceSink,
    Subscriptions,
};
use pingan_platform::server::ServiceHost;
use pingan_platform::storage::{Backend, Migrations, Tx};
use pingan_platform::testing::{TcpProxy, TestDatabase};
use pingan_platform::{ApiError, with_db, with_tx};
use pingan_proto::common::v1::Actor;
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::events::v1::event_admin_service_server::EventAdminServiceServer;
use pingan_proto::events::v1::event_sink_service_server::EventSinkServiceServer;
use prost::Message;
use tokio::sync::Notify;

use super::{Running, start};

static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./tests/migrations/sqlite");
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

pub const EVENT_TYPE: &str = "pingan.common.v1.Actor";
const RECORD: &str =
    "INSERT INTO applied_events (event_id, aggregate_id, label) VALUES ($1, $2, $3)";

/// Records each applied event; can be told to fail for one aggregate, or to hold until released.
#[derive(Default)]
pub struct Recorder {
    pub poison: std::sync::Mutex<BTreeSet<String>>,
    /// Aggregates whose events the handler refuses as unreadable (INVALID_ARGUMENT).
    pub malformed: std::sync::Mutex<BTreeSet<String>>,
    pub hold: AtomicBool,
    /// Writes batches itself (no savepoints), refusing poisoned and malformed events unwritten.
    pub batches: AtomicBool,
    pub entered: Notify,
    pub release: Notify,
}

#[tonic::async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        if self.hold.load(Ordering::SeqCst) {
            self.entered.notify_one();
            self.release.notified().await;
        }
        if self
            .poison
            .lock()
            .map(|p| p.contains(&event.aggregate_id))
            .unwrap_or(false)
        {
            return Err(ApiError::FailedPrecondition("poisoned aggregate".into()));
        }
        if self
            .malformed
            .lock()
            .map(|p| p.contains(&event.aggregate_id))
            .unwrap_or(false)
        {
            return Err(ApiError::invalid("payload", "is not a readable event"));
        }
        record(tx, event).await
    }

    fn writes_batches(&self) -> bool {
        self.batches.load(Ordering::SeqCst)
    }

    async fn handle_batch(
        &self,
        tx: &mut Tx,
        events: &[&EventEnvelope],
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        let mut results = Vec::new();
        for event in events {
            let refused = |set: &std::sync::Mutex<BTreeSet<String>>| {
                set.lock()
                    .map(|p| p.contains(&event.aggregate_id))
                    .unwrap_or(false)
            };
            results.push(if refused(&self.poison) {
                Err(ApiError::FailedPrecondition("poisoned aggregate".into()))
            } else if refused(&self.malformed) {
                Err(ApiError::invalid("payload", "is not a readable event"))
            } else {
                record(tx, event).await
            });
        }
        Ok(results)
    }
}

async fn record(tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
    let payload = event.payload.clone().unwrap_or_default();
    let actor = Actor::decode(payload.value.as_slice()).map_err(ApiError::internal)?;
    with_tx!(tx, conn => sqlx::query(RECORD)
        .bind(&event.event_id)
        .bind(&event.aggregate_id)
        .bind(&actor.subject)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
    .map_err(ApiError::internal)?;
    Ok(())
}

/// The sender ("dispatch") and receiver ("intake") of the tests.
pub struct Pair {
    pub clock: ManualClock,
    pub sender_db: TestDatabase,
    pub receiver_db: TestDatabase,
    pub outbox: Outbox,
    pub recorder: Arc<Recorder>,
    pub proxy: TcpProxy,
    pub receiver: Running,
    pub config: EventConfig,
    pub peers: Peers,
    pub admin_token: String,
    /// The `intake` service's token (a service that is not the sender, `dispatch`).
    pub intake_token: String,
}

impl Pair {
    pub async fn start(backend: Backend) -> Self {
        let clock = ManualClock::new(Utc::now());
        let shared: SharedClock = Arc::new(clock.clone());
        let sender_db = TestDatabase::create(backend, &MIGRATIONS)
            .await
            .expect("sender db");
        let receiver_db = TestDatabase::create(backend, &MIGRATIONS)
            .await
            .expect("receiver db");
        let secret = random_secret();
        let auth = Authenticator::new(&secret, "pingan").expect("auth");
        let issuer = TokenIssuer::new(&secret, "pingan").expect("issuer");

        let recorder = Arc::new(Recorder::default());
        let sink = ServiceSink::new(receiver_db.db.clone(), shared.clone())
            .on(EVENT_TYPE, recorder.clone());
        let mut subscriptions = Subscriptions::default();
        subscriptions.subscribe("intake", sink.event_types());
        let subscriptions = Arc::new(subscriptions);
        let outbox = Outbox::new(
            "dispatch",
            sender_db.db.clone(),
            subscriptions,
            shared.clone(),
        );

        let mut host = ServiceHost::new(ServerConfig::default());
        host.add_service(
            EventSinkServiceServer::new(EventSinkRouter::new(
                BTreeMap::from([("intake".to_owned(), sink)]),
                auth.clone(),
            )),
            vec![],
        );
        host.add_service(
            EventAdminServiceServer::new(EventAdmin::new(
                BTreeMap::from([("dispatch".to_owned(), outbox.clone())]),
                auth,
            )),
            vec![],
        );
        let receiver = start(host).await;
        let proxy = TcpProxy::start(&receiver.addr.to_string())
            .await
            .expect("proxy");
        let peers = Peers::new(
            &BTreeMap::from([(
                "intake".to_owned(),
                format!("http://{}", proxy.local_addr()),
            )]),
            Some(ServiceCredentials::new(issuer.clone(), "dispatch")),
        )
        .expect("peers");
        let config = EventConfig {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            delivery_timeout: Duration::from_secs(5),
            ..EventConfig::default()
        };
        let admin_token = issuer
            .issue("sre", &[Role::Admin], &[], Duration::from_secs(600))
            .expect("token");
        let intake_token = issuer
            .issue("intake", &[Role::Service], &[], Duration::from_secs(600))
            .expect("token");
        Self {
            clock,
            sender_db,
            receiver_db,
            outbox,
            recorder,
            proxy,
            receiver,
            config,
            peers,
            admin_token,
            intake_token,
        }
    }

    /// A relay over the sender's outbox (a fresh one is a restarted relay).
    pub fn relay(&self) -> Relay {
        Relay::new(self.outbox.clone(), self.peers.clone(), self.config.clone())
    }

    /// Writes one event for `aggregate` in its own transaction, as a service would.
    pub async fn emit(&self, aggregate: &str, label: &str) -> String {
        let mut tx = self.sender_db.db.begin_write().await.expect("begin");
        let event_id = self
            .outbox
            .enqueue(
                &mut tx,
                aggregate,
                &Actor {
                    subject: label.to_owned(),
                    ..Actor::default()
                },
            )
            .await
            .expect("enqueue")
            .expect("subscribed");
        self.outbox.commit(tx).await.expect("commit");
        event_id
    }

    /// Labels applied by the receiver for `aggregate`, in the order applied.
    pub async fn applied(&self, aggregate: &str) -> Vec<String> {
        const SELECT: &str =
            "SELECT label FROM applied_events WHERE aggregate_id = $1 ORDER BY position";
        with_db!(&self.receiver_db.db, pool => sqlx::query_scalar::<_, String>(SELECT)
            .bind(aggregate)
            .fetch_all(pool)
            .await)
        .expect("applied")
    }

    /// Every event applied, all aggregates.
    pub async fn applied_count(&self) -> i64 {
        const COUNT: &str = "SELECT COUNT(*) FROM applied_events";
        with_db!(&self.receiver_db.db, pool => sqlx::query_scalar::<_, i64>(COUNT).fetch_one(pool).await)
            .expect("count")
    }

    /// Moves time past any backoff.
    pub fn pass_backoff(&self) {
        self.clock
            .advance(self.config.max_backoff + Duration::from_millis(1));
    }

    pub async fn stop(self) {
        self.receiver.stop().await;
        self.sender_db.cleanup().await;
        self.receiver_db.cleanup().await;
    }
}
