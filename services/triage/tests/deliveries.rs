//! Deliveries as platform jobs, on both backends, driven round by round on a manual clock: a
//! transfer's CreateTicket is retried while 12345 is down and delivered once when it is back;
//! one that runs out of attempts is a listed dead letter, never called again; a delivery the
//! retired queue still held is moved into a job once and delivered once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pingan_platform::ServiceContext;
use pingan_platform::auth::{Authenticator, Role, TokenIssuer};
use pingan_platform::clients::Peers;
use pingan_platform::clock::{ManualClock, SharedClock};
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::service::ShutdownSwitch;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::hotline::v1::{ReplyKind, ReplyTicketRequest};
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_server::TriageService;
use pingan_triage::{HotlineSimulator, MIGRATIONS, Parts, TriageConfig};
use prost::Message;

const SECRET: &[u8] = b"triage-deliveries-test-secret-0123456789";

struct Bench {
    database: TestDatabase,
    clock: ManualClock,
    context: ServiceContext,
    simulator: HotlineSimulator,
    parts: Parts,
    issuer: TokenIssuer,
}

async fn bench(backend: Backend, attempts: u32) -> Bench {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("database");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2025, 9, 22, 2, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let db = database.db.clone();
    let context = ServiceContext {
        db: db.clone(),
        redis: None,
        peers: Peers::new(&BTreeMap::new(), None).expect("peers"),
        auth: Authenticator::new(SECRET, "pingan-test").expect("auth"),
        pii: PiiKeys::random(),
        clock: shared.clone(),
        outbox: Outbox::new(
            "triage",
            db.clone(),
            Arc::new(Subscriptions::default()),
            shared.clone(),
        ),
        requests: RequestLog::new(db, shared.clone()),
    };
    let simulator = HotlineSimulator::new(shared);
    let config = TriageConfig {
        delivery_poll: Duration::from_millis(20),
        retry_initial: Duration::from_secs(1),
        retry_max: Duration::from_secs(2),
        retry_attempts: attempts,
        simulator: Some(simulator.clone()),
        ..TriageConfig::default()
    };
    let parts = pingan_triage::build(&context, &config).expect("build");
    Bench {
        database,
        clock,
        context,
        simulator,
        parts,
        issuer: TokenIssuer::new(SECRET, "pingan-test").expect("issuer"),
    }
}

impl Bench {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let token = self
            .issuer
            .issue(
                "dispatcher-1",
                &[Role::Dispatcher],
                &[],
                Duration::from_secs(3600),
            )
            .expect("token");
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata"),
        );
        request
    }

    async fn divert(&self, n: usize) -> pb::Transfer {
        let request = self.request(pb::DivertTo12345Request {
            request_id: format!("divert-{n}"),
            incident_id: format!("inc-{n}"),
            classification: Some(pb::Classification {
                kind: pb::Kind::NonPolice as i32,
                category: "UTILITIES".into(),
                category_name: "水电气暖".into(),
                department: "市公用事业".into(),
                ..Default::default()
            }),
            description: format!("第{n}户停电"),
            caller_phone: "13900001111".into(),
            ..Default::default()
        });
        self.parts
            .api
            .divert_to12345(request)
            .await
            .expect("divert")
            .into_inner()
            .transfer
            .expect("transfer")
    }

    async fn get(&self, transfer_id: &str) -> pb::Transfer {
        let request = self.request(pb::GetTransferRequest {
            transfer_id: transfer_id.into(),
            ..Default::default()
        });
        self.parts
            .api
            .get_transfer(request)
            .await
            .expect("get")
            .into_inner()
            .transfer
            .expect("transfer")
    }

    async fn dead_letters(&self) -> Vec<pb::DeadLetter> {
        let request = self.request(pb::ListDeadLettersRequest::default());
        self.parts
            .api
            .list_dead_letters(request)
            .await
            .expect("dead letters")
            .into_inner()
            .dead_letters
    }

    /// Moves the clock past any backoff and runs one round of the job worker.
    async fn round(&self) -> usize {
        self.clock.advance(Duration::from_secs(5));
        self.parts.jobs.run_once().await.expect("round")
    }
}

async fn outage_then_delivered_once(backend: Backend) {
    let b = bench(backend, 50).await;
    b.simulator.set_down(true);
    let mut ids = Vec::new();
    for n in 0..3 {
        let t = b.divert(n).await;
        assert_eq!(t.status, pb::TransferStatus::Pending as i32);
        assert_eq!(t.delivery_attempts, 1, "attempted at once");
        assert!(!t.last_delivery_error.is_empty());
        assert!(t.next_attempt_at.is_some());
        ids.push(t.transfer_id);
    }
    for _ in 0..3 {
        assert_eq!(b.round().await, 3, "each transfer retried");
    }
    assert!(b.simulator.tickets().is_empty());
    b.simulator.set_down(false);
    assert_eq!(b.round().await, 3);
    for _ in 0..3 {
        assert_eq!(b.round().await, 0, "nothing left to deliver");
    }
    let tickets = b.simulator.tickets();
    assert_eq!(tickets.len(), 3, "every transfer delivered, once");
    for id in &ids {
        let t = b.get(id).await;
        assert_eq!(t.status, pb::TransferStatus::Sent as i32);
        assert_eq!(t.delivery_attempts, 5);
        assert!(t.next_attempt_at.is_none());
        assert!(tickets.iter().any(|s| &s.request.request_id == id));
    }
    assert!(b.dead_letters().await.is_empty());
    b.database.cleanup().await;
}

async fn attempts_run_out_into_a_dead_letter(backend: Backend) {
    let b = bench(backend, 3).await;
    b.simulator.set_down(true);
    let t = b.divert(7).await;
    assert_eq!(b.round().await, 1);
    assert_eq!(b.round().await, 1);
    assert_eq!(b.round().await, 0, "dead after its third attempt");
    let dead = b.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].transfer_id, t.transfer_id);
    assert_eq!(dead[0].action, "CREATE_TICKET");
    assert_eq!(dead[0].destination, "12345");
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].reason.contains("outage"), "{}", dead[0].reason);
    // 12345 is back: a dead letter is not tried again (an operator's case, visible).
    b.simulator.set_down(false);
    for _ in 0..3 {
        assert_eq!(b.round().await, 0);
    }
    assert!(b.simulator.tickets().is_empty());
    let after = b.get(&t.transfer_id).await;
    assert_eq!(after.status, pb::TransferStatus::Pending as i32);
    assert_eq!(after.delivery_attempts, 3);
    assert!(after.next_attempt_at.is_none());
    b.database.cleanup().await;
}

async fn the_retired_queue_is_moved_into_jobs_once(backend: Backend) {
    let b = bench(backend, 50).await;
    let t = b.divert(9).await;
    assert_eq!(t.status, pb::TransferStatus::Sent as i32);
    // A reply the previous version queued in its own table and had not sent yet.
    let reply = ReplyTicketRequest {
        request_id: "legacy-1".into(),
        ticket_id: t.hotline_ticket_id.clone(),
        transfer_id: t.transfer_id.clone(),
        kind: ReplyKind::Accepted as i32,
        ..Default::default()
    };
    let sealed = b
        .context
        .pii
        .encrypt(&hex::encode(reply.encode_to_vec()))
        .expect("seal");
    let now = pingan_platform::clock::Clock::now(&b.clock);
    let insert = "INSERT INTO triage_deliveries (delivery_id, transfer_id, action, payload, \
        status, attempts, next_attempt_at, last_error, created_at, updated_at) \
        VALUES ('legacy-1', $1, 'REPLY_TICKET', $2, 'PENDING', 2, $3, 'down', $3, $3)";
    pingan_platform::with_db!(&b.context.db, pool => sqlx::query(insert)
        .bind(&t.transfer_id).bind(&sealed).bind(now)
        .execute(pool).await.map(|r| r.rows_affected()))
    .expect("legacy row");
    for _ in 0..2 {
        let (switch, shutdown) = ShutdownSwitch::new();
        let chores = pingan_triage::build(
            &b.context,
            &TriageConfig {
                delivery_poll: Duration::from_millis(20),
                simulator: Some(b.simulator.clone()),
                ..TriageConfig::default()
            },
        )
        .expect("build")
        .chores;
        let running = tokio::spawn(chores.run(shutdown));
        tokio::time::sleep(Duration::from_millis(300)).await;
        switch.signal();
        running.await.expect("chores");
        b.round().await;
    }
    let sent: Vec<_> = b
        .simulator
        .replies()
        .into_iter()
        .filter(|r| r.request_id == "legacy-1")
        .collect();
    assert_eq!(sent.len(), 1, "moved once, delivered once");
    let status: String = pingan_platform::with_db!(&b.context.db, pool =>
        sqlx::query_scalar("SELECT status FROM triage_deliveries WHERE delivery_id = 'legacy-1'")
            .fetch_one(pool).await)
    .expect("status");
    assert_eq!(status, "MOVED");
    b.database.cleanup().await;
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await })+
        }
    };
}

both_backends!(
    outage_then_delivered_once,
    attempts_run_out_into_a_dead_letter,
    the_retired_queue_is_moved_into_jobs_once,
);
