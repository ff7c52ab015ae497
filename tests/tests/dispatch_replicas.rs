//! Dispatch as several replicas on one database and one Redis (issue 19): board watchers on
//! every replica see every replica's changes exactly once; concurrent dispatch attempts spread
//! over the replicas never send a unit to two incidents; every Redis key one script or pipeline
//! touches hashes to one Redis Cluster slot. The single replica (SQLite, in-process positions and
//! board; and Postgres + Redis) still shows its own changes once.

mod dispatch_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dispatch_support::*;
use pingan_dispatch::positions::Keys;
use pingan_platform::with_db;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::*;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Streaming;

backend_tests!(one_replica_shows_its_own_changes_once);

const STATION: &str = "st-chengnan";

/// A client of `endpoint` (a replica) as the bureau's command centre.
fn client_of(cluster: &TestCluster, endpoint: &str) -> Client {
    let token = cluster
        .token(
            "officer-test",
            &[
                pingan_platform::auth::Role::CommandCenter,
                pingan_platform::auth::Role::Dispatcher,
            ],
            &[],
        )
        .expect("token");
    DispatchServiceClient::new(tonic::service::interceptor::InterceptedService::new(
        tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .expect("endpoint")
            .connect_lazy(),
        pingan_tests::Bearer::new(&token).expect("bearer"),
    ))
}

/// The key layout dispatch uses in this cluster's Redis.
fn keys(cluster: &TestCluster) -> (Keys, pingan_platform::redis_store::RedisStore) {
    let redis = cluster
        .context(Service::Dispatch)
        .expect("context")
        .redis
        .expect("redis in the Postgres + Redis run");
    (Keys::new(redis.prefix()), redis)
}

/// Waits until `wanted` relays listen on the board channel (a replica's relay starts with it).
async fn wait_for_relays(cluster: &TestCluster, wanted: i64) {
    let (keys, redis) = keys(cluster);
    let channel = keys.board_channel();
    let mut connection = redis.connection();
    for _ in 0..400 {
        let reply: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut connection)
            .await
            .expect("numsub");
        if reply.first().is_some_and(|(_, n)| *n == wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{channel} never had {wanted} relays");
}

/// A bureau-wide watcher whose snapshot has been read in full.
async fn watcher(client: &mut Client) -> Streaming<WatchBoardResponse> {
    let mut stream = client
        .watch_board(WatchBoardRequest {
            station_ids: Vec::new(),
            send_snapshot: true,
            include_positions: false,
        })
        .await
        .expect("watch")
        .into_inner();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("snapshot in time")
            .expect("message")
            .expect("open");
        if matches!(message.event, Some(Event::SnapshotComplete(_))) {
            return stream;
        }
    }
}

/// What one watcher saw after its snapshot.
#[derive(Debug, Default)]
struct Seen {
    /// Timeline entries by id, with how often each came.
    entries: BTreeMap<String, usize>,
    /// Dispatch events by dispatch id.
    dispatches: BTreeMap<String, usize>,
    /// Lagged notices (none expected).
    lagged: usize,
    /// Sequence numbers, which must rise by one.
    last_sequence: i64,
    gaps: usize,
}

impl Seen {
    fn take(&mut self, message: WatchBoardResponse) {
        if self.last_sequence != 0 && message.sequence != self.last_sequence + 1 {
            self.gaps += 1;
        }
        self.last_sequence = message.sequence;
        match message.event {
            Some(Event::TimelineEntry(entry)) => {
                *self.entries.entry(entry.entry_id).or_default() += 1;
            }
            Some(Event::Dispatch(dispatch)) => {
                *self.dispatches.entry(dispatch.dispatch_id).or_default() += 1;
            }
            Some(Event::Lagged(_)) => self.lagged += 1,
            _ => {}
        }
    }
}

/// Reads `stream` until every entry of `expected` has come, then for a quiet second more.
async fn read_until(
    stream: &mut Streaming<WatchBoardResponse>,
    expected: &BTreeSet<String>,
) -> Seen {
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !expected.iter().all(|id| seen.entries.contains_key(id)) {
        let message = tokio::time::timeout_at(deadline, stream.message())
            .await
            .unwrap_or_else(|_| {
                let missing: Vec<&String> = expected
                    .iter()
                    .filter(|id| !seen.entries.contains_key(*id))
                    .collect();
                panic!("entries never came: {missing:?}")
            })
            .expect("message")
            .expect("open");
        seen.take(message);
    }
    while let Ok(message) = tokio::time::timeout(Duration::from_secs(1), stream.message()).await {
        seen.take(message.expect("message").expect("open"));
    }
    seen
}

/// Registers `count` units near the station's origin, each with a fresh position.
async fn fleet(client: &mut Client, prefix: &str, count: usize) {
    let scene = origin(STATION);
    let now = Utc::now();
    for i in 0..count {
        let id = format!("{prefix}{i:03}");
        register(client, &id, UnitKind::Officer, STATION, &[]).await;
        place(client, &id, offset(scene, 40.0 * i as f64, 25.0), now).await;
    }
}

/// Every timeline entry of `dispatch_ids`, read back through `client`.
async fn timeline(client: &mut Client, dispatch_ids: &[String]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for dispatch_id in dispatch_ids {
        let entries = client
            .get_dispatch_timeline(GetDispatchTimelineRequest {
                dispatch_id: dispatch_id.clone(),
                incident_id: String::new(),
            })
            .await
            .expect("timeline")
            .into_inner()
            .entries;
        ids.extend(entries.into_iter().map(|e| e.entry_id));
    }
    ids
}

/// (a) Watchers on replica A and on replica B each see every assignment made on either, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watchers_on_every_replica_see_every_assignment_once() {
    let mut cluster = TestCluster::start(TestBackend::Postgres, &[Service::Dispatch])
        .await
        .expect("cluster");
    let replica = cluster
        .start_replica(Service::Dispatch)
        .await
        .expect("replica");
    wait_for_relays(&cluster, 2).await;
    let mut on_a = command_center(&cluster).await;
    let mut on_b = client_of(&cluster, &replica);
    fleet(&mut on_a, "u-a", 8).await;
    fleet(&mut on_b, "u-b", 8).await;
    let mut watchers = vec![
        watcher(&mut on_a).await,
        watcher(&mut on_a).await,
        watcher(&mut on_b).await,
        watcher(&mut on_b).await,
    ];

    // Twelve dispatches, opened (and auto-assigned) alternately on A and B, concurrently.
    let scene = origin(STATION);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let mut client = if i % 2 == 0 {
            on_a.clone()
        } else {
            on_b.clone()
        };
        let request = open_request(
            &format!("inc-rep-{i:02}"),
            Priority::P2,
            offset(scene, 30.0 * i as f64, 0.0),
            STATION,
        );
        tasks.push(tokio::spawn(
            async move { client.open_dispatch(request).await },
        ));
    }
    let mut dispatch_ids = Vec::new();
    let mut assigned = Vec::new();
    for task in tasks {
        let dispatch = task
            .await
            .expect("task")
            .expect("open dispatch")
            .into_inner()
            .dispatch
            .expect("dispatch");
        assigned.extend(dispatch.assignments.iter().map(|a| a.unit_id.clone()));
        dispatch_ids.push(dispatch.dispatch_id);
    }
    assert_eq!(assigned.len(), 12, "every dispatch got its nearest unit");

    // Both replicas read the same record: the entries the board must carry.
    let expected = timeline(&mut on_b, &dispatch_ids).await;
    assert_eq!(expected, timeline(&mut on_a, &dispatch_ids).await);
    let assignments = expected.len();
    assert!(
        assignments >= 24,
        "opened + assigned per dispatch: {assignments}"
    );

    let mut seen = Vec::new();
    for stream in &mut watchers {
        seen.push(read_until(stream, &expected).await);
    }
    for (i, seen) in seen.iter().enumerate() {
        let replica = if i < 2 { "A" } else { "B" };
        let twice: Vec<(&String, &usize)> = seen.entries.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "watcher {i} on {replica}: entries not once: {twice:?}"
        );
        let got: BTreeSet<String> = seen.entries.keys().cloned().collect();
        assert_eq!(
            got, expected,
            "watcher {i} on {replica}: exactly the record's entries"
        );
        let dispatches: BTreeSet<&String> = seen.dispatches.keys().collect();
        assert_eq!(
            dispatches,
            dispatch_ids.iter().collect::<BTreeSet<_>>(),
            "watcher {i} on {replica}: every dispatch's state"
        );
        assert_eq!(seen.lagged, 0, "watcher {i} on {replica}: nothing dropped");
        assert_eq!(
            seen.gaps, 0,
            "watcher {i} on {replica}: sequence rises by one"
        );
    }
    // The same changes, as many times, on both replicas.
    assert_eq!(seen[0].dispatches, seen[2].dispatches);
    assert_eq!(seen[1].dispatches, seen[3].dispatches);
    cluster.shutdown().await.expect("shutdown");
}

/// (b) 500 concurrent dispatch attempts over 50 units, split across two replicas: no unit is
/// ever busy on two incidents, counted from the answers and from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_attempts_over_fifty_units_never_assign_twice() {
    let mut cluster = TestCluster::start(TestBackend::Postgres, &[Service::Dispatch])
        .await
        .expect("cluster");
    let replica = cluster
        .start_replica(Service::Dispatch)
        .await
        .expect("replica");
    let mut on_a = command_center(&cluster).await;
    let on_b = client_of(&cluster, &replica);
    fleet(&mut on_a, "u-r", 50).await;
    let scene = origin(STATION);
    // Bounded concurrency: each replica has a pool of five connections.
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for i in 0..500 {
        let mut client = if i % 2 == 0 {
            on_a.clone()
        } else {
            on_b.clone()
        };
        let gate = gate.clone();
        let request = open_request(
            &format!("inc-rush-{i:03}"),
            Priority::P1,
            offset(scene, (i % 25) as f64 * 30.0, 10.0),
            STATION,
        );
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            client.open_dispatch(request).await
        }));
    }
    let mut by_unit: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(response) => {
                let dispatch = response.into_inner().dispatch.expect("dispatch");
                for assignment in &dispatch.assignments {
                    by_unit
                        .entry(assignment.unit_id.clone())
                        .or_default()
                        .push(dispatch.dispatch_id.clone());
                }
            }
            Err(status) => failures.push(status.code()),
        }
    }
    assert!(failures.is_empty(), "attempts refused: {failures:?}");
    let doubles: Vec<_> = by_unit.iter().filter(|(_, d)| d.len() > 1).collect();
    assert!(doubles.is_empty(), "units sent twice: {doubles:?}");
    assert_eq!(by_unit.len(), 50, "every unit is used, once");

    let db = cluster.context(Service::Dispatch).expect("context").db;
    const DOUBLE: &str = "SELECT unit_id, COUNT(*) FROM dispatch_assignments WHERE active \
        GROUP BY unit_id HAVING COUNT(*) > 1";
    let doubles: Vec<(String, i64)> =
        with_db!(&db, pool => sqlx::query_as(DOUBLE).fetch_all(pool).await).expect("query");
    assert!(doubles.is_empty(), "{doubles:?}");
    const ACTIVE: &str = "SELECT COUNT(*) FROM dispatch_assignments WHERE active";
    let active: i64 =
        with_db!(&db, pool => sqlx::query_scalar(ACTIVE).fetch_one(pool).await).expect("query");
    assert_eq!(active, 50);
    const HELD: &str = "SELECT COUNT(*) FROM dispatch_units u JOIN dispatch_assignments a \
        ON a.assignment_id = u.current_assignment_id AND a.active AND a.unit_id = u.unit_id";
    let held: i64 =
        with_db!(&db, pool => sqlx::query_scalar(HELD).fetch_one(pool).await).expect("query");
    assert_eq!(
        held, 50,
        "every unit row points at its one active assignment"
    );
    const OPEN: &str = "SELECT COUNT(*) FROM dispatch_dispatches";
    let opened: i64 =
        with_db!(&db, pool => sqlx::query_scalar(OPEN).fetch_one(pool).await).expect("query");
    assert_eq!(opened, 500, "every attempt is on record");
    cluster.shutdown().await.expect("shutdown");
}

/// CRC16/XMODEM written out here, apart from the service's own.
fn slot(key: &str) -> u16 {
    let hashed = match key.find('{') {
        Some(open) => match key[open + 1..].find('}') {
            Some(0) | None => key,
            Some(close) => &key[open + 1..open + 1 + close],
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for byte in hashed.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// (c) Every key a script or pipeline touches hashes to one slot, for the keys the layout
/// builds and for the keys a running replica actually wrote (the station sets are built inside
/// the scripts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_of_a_script_hashes_to_one_slot() {
    assert_eq!(slot("foo"), 12182);
    assert_eq!(slot("bar"), 5061);
    assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
    for prefix in [
        "pingan:",
        "pingan_t_x:dispatch:",
        "",
        "app:{blue}:",
        "a}b{c:",
    ] {
        let keys = Keys::new(prefix);
        let one = slot(&keys.geo());
        // RECORD and FORGET: unit hash, geo, seen, station set; UPSERT: unit hash, two stations.
        for key in [
            keys.unit("u-1"),
            keys.unit("u-{odd}"),
            keys.seen(),
            keys.station("st-1"),
            keys.station("st-2"),
            keys.board_watched(),
        ] {
            assert_eq!(slot(&key), one, "{prefix:?}: {key}");
            assert_eq!(pingan_dispatch::positions::keys::key_slot(&key), one);
        }
    }
    assert_ne!(
        slot(&Keys::new("blue:").geo()),
        slot(&Keys::new("green:").geo()),
        "two deployments are not crammed into one slot"
    );

    // What a replica wrote in Redis.
    let cluster = TestCluster::start(TestBackend::Postgres, &[Service::Dispatch])
        .await
        .expect("cluster");
    let mut admin = command_center(&cluster).await;
    fleet(&mut admin, "u-k", 3).await;
    register(
        &mut admin,
        "u-elsewhere",
        UnitKind::Drone,
        "st-rongxiang",
        &[],
    )
    .await;
    place(
        &mut admin,
        "u-elsewhere",
        offset(origin("st-rongxiang"), 10.0, 10.0),
        Utc::now(),
    )
    .await;
    let (keys, redis) = keys(&cluster);
    let mut connection = redis.connection();
    let written: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", redis.prefix()))
        .query_async(&mut connection)
        .await
        .expect("keys");
    assert!(
        written.contains(&keys.station("st-rongxiang")),
        "{written:?}"
    );
    assert!(written.contains(&keys.unit("u-k000")), "{written:?}");
    assert!(written.len() >= 8, "{written:?}");
    let slots: BTreeSet<u16> = written.iter().map(|k| slot(k)).collect();
    assert_eq!(slots.len(), 1, "{written:?}");
    cluster.shutdown().await.expect("shutdown");
}

/// One replica (SQLite: in-process positions and board; Postgres + Redis: the relay running)
/// shows its own changes to its watchers exactly once.
async fn one_replica_shows_its_own_changes_once(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Dispatch])
        .await
        .expect("cluster");
    if backend == TestBackend::Postgres {
        wait_for_relays(&cluster, 1).await;
    }
    let mut admin = command_center(&cluster).await;
    fleet(&mut admin, "u-s", 4).await;
    let mut stream = watcher(&mut admin).await;
    let scene = origin(STATION);
    let mut dispatch_ids = Vec::new();
    for i in 0..4 {
        let dispatch = admin
            .open_dispatch(open_request(
                &format!("inc-one-{i}"),
                Priority::P2,
                offset(scene, 20.0 * i as f64, 0.0),
                STATION,
            ))
            .await
            .expect("open")
            .into_inner()
            .dispatch
            .expect("dispatch");
        assert_eq!(dispatch.assignments.len(), 1);
        dispatch_ids.push(dispatch.dispatch_id);
    }
    let expected = timeline(&mut admin, &dispatch_ids).await;
    let seen = read_until(&mut stream, &expected).await;
    assert!(seen.entries.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(
        seen.entries.keys().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(seen.dispatches.len(), 4, "{seen:?}");
    assert_eq!(seen.lagged + seen.gaps, 0, "{seen:?}");
    cluster.shutdown().await.expect("shutdown");
}
