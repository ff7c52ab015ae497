//! The other services as witnesses of the audit chain, through gRPC on both backends: a service
//! polls complaints-audit's signed checkpoint as itself and keeps the newest in its own
//! database; presenting it back lets complaints-audit, restarted on a rolled-back database
//! without its file sink, report ROLLED_BACK and refuse to sign the cut chain, while the witness
//! counts the conflict and keeps what it saw. Forged presented checkpoints are refused, previous
//! keys still verify after a rotation, and racing witnesses keep the highest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use pingan_platform::ServiceContext;
use pingan_platform::audit_checkpoint::{Checkpoint, Signer, Witnessed, to_proto};
use pingan_platform::audit_witness::{
    self, AuditWitness, AuditWitnessConfig, Polled, WitnessError, conflicts_counted,
};
use pingan_platform::auth::Role;
use pingan_platform::clients::{Peers, ServiceCredentials};
use pingan_platform::service::ServiceConfig;
use pingan_platform::storage::{Db, PoolSettings};
use pingan_platform::testing::unique_name;
use pingan_proto::audit::v1::complaints_audit_service_client::ComplaintsAuditServiceClient;
use pingan_proto::audit::v1::{
    AuditCheckpoint, ChainStatus, GetAuditCheckpointRequest, RecordAuditRequest,
    VerifyAuditChainRequest, VerifyAuditChainResponse,
};
use pingan_tests::{
    Bearer, ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests,
    test_server_config,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

mod audit_support;
use audit_support::{SEED, cut_tail, lift_guards, record};

type Client = ComplaintsAuditServiceClient<InterceptedService<Channel, Bearer>>;

/// The checkpoint key complaints-audit used before a rotation.
const OLD_SEED: &str = "77665544332211000f0e0d0c0b0a09080706050403020100ffeeddccbbaa9988";

/// The service that witnesses in these tests.
const WITNESS: &str = "grid-registry";

struct Witnessing {
    cluster: TestCluster,
    dir: PathBuf,
    audit_db: Db,
    witness_db: Db,
}

/// complaints-audit signing every 100 ms with no file sink (previous key: `OLD_SEED`), and
/// grid-registry witnessing every `witness_ms` (0: by hand).
async fn start(backend: TestBackend, topology: Topology, witness_ms: u64) -> Witnessing {
    let dir = std::env::temp_dir().join(unique_name("pingan_witness"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("checkpoint.key");
    std::fs::write(&key, format!("{SEED}\n")).unwrap();
    let old = Signer::from_hex_seed(OLD_SEED).unwrap();
    let mut config = ServiceConfig::default();
    config.insert(pingan_complaints_audit::Settings {
        checkpoint_key: Some(key),
        checkpoint_previous_keys: vec![old.public_key().to_owned()],
        checkpoint_interval: Duration::from_millis(100),
        ..pingan_complaints_audit::Settings::default()
    });
    config.insert(AuditWitnessConfig {
        interval_ms: witness_ms,
        public_keys: Vec::new(),
    });
    let cluster = TestCluster::start_with_settings(
        backend,
        &[Service::ComplaintsAudit, Service::GridRegistry],
        topology,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        test_server_config(),
        config,
    )
    .await
    .expect("cluster");
    let audit_db = Db::connect(
        &cluster.database_url(Service::ComplaintsAudit).unwrap(),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    let witness_db = cluster.context(Service::GridRegistry).unwrap().db;
    Witnessing {
        cluster,
        dir,
        audit_db,
        witness_db,
    }
}

impl Witnessing {
    /// A client of complaints-audit at `url` (default: the cluster's) as `subject`.
    fn client(&self, url: Option<&str>, subject: &str, roles: &[Role]) -> Client {
        let token = self.cluster.token(subject, roles, &[]).unwrap();
        let url = url.map_or_else(
            || self.cluster.endpoint(Service::ComplaintsAudit).unwrap(),
            str::to_owned,
        );
        let channel = Endpoint::from_shared(url).unwrap().connect_lazy();
        ComplaintsAuditServiceClient::new(InterceptedService::new(
            channel,
            Bearer::new(&token).unwrap(),
        ))
    }

    fn inspector(&self, url: Option<&str>) -> Client {
        self.client(url, "insp-1", &[Role::Inspector])
    }

    /// grid-registry's witness, driven by hand, calling complaints-audit at `url` as itself.
    fn witness(&self, url: Option<&str>, public_keys: Vec<String>) -> AuditWitness {
        let mut context: ServiceContext = self.cluster.context(Service::GridRegistry).unwrap();
        let url = url.map_or_else(
            || self.cluster.endpoint(Service::ComplaintsAudit).unwrap(),
            str::to_owned,
        );
        let peers = BTreeMap::from([(audit_witness::AUDIT_PEER.to_owned(), url)]);
        let credentials = ServiceCredentials::new(self.cluster.issuer().clone(), WITNESS);
        context.peers = Peers::new(&peers, Some(credentials)).unwrap();
        let config = AuditWitnessConfig {
            interval_ms: 0,
            public_keys,
        };
        AuditWitness::new(WITNESS, &context, &config).unwrap()
    }

    async fn kept(&self) -> Option<Checkpoint> {
        audit_witness::kept(&self.witness_db).await.unwrap()
    }

    async fn stop(self) {
        self.audit_db.close().await;
        self.cluster.shutdown().await.expect("shutdown");
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn append(client: &mut Client, prefix: &str, range: std::ops::Range<i64>) {
    for n in range {
        client
            .record_audit(RecordAuditRequest {
                request_id: format!("{prefix}-{n}"),
                record: Some(record(n)),
            })
            .await
            .expect("record");
    }
}

/// Waits (bounded) until complaints-audit's own newest checkpoint is at `sequence`.
async fn published_at(client: &mut Client, sequence: i64) -> AuditCheckpoint {
    for _ in 0..200 {
        let latest = client
            .get_audit_checkpoint(GetAuditCheckpointRequest::default())
            .await
            .expect("checkpoint")
            .into_inner()
            .checkpoint;
        if let Some(checkpoint) = latest
            && checkpoint.sequence == sequence
        {
            return checkpoint;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no checkpoint at sequence {sequence} within 10 s");
}

/// Waits (bounded) until the witness keeps a checkpoint at `sequence`.
async fn kept_at(w: &Witnessing, sequence: i64) -> Checkpoint {
    for _ in 0..200 {
        if let Some(kept) = w.kept().await
            && kept.sequence >= sequence
        {
            return kept;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the witness kept no checkpoint at sequence {sequence} within 10 s");
}

async fn verify(client: &mut Client) -> VerifyAuditChainResponse {
    client
        .verify_audit_chain(VerifyAuditChainRequest::default())
        .await
        .expect("verify")
        .into_inner()
}

fn violated_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The `pingan dev` shape (one process): grid-registry's own worker polls and keeps the newest.
async fn a_witness_keeps_the_checkpoint_it_polled(backend: TestBackend) {
    let w = start(backend, Topology::SharedPort, 100).await;
    let mut grid = w.client(None, WITNESS, &[Role::Service]);
    append(&mut grid, "r", 0..3).await;
    let mut inspector = w.inspector(None);
    let first = published_at(&mut inspector, 3).await;
    let kept = kept_at(&w, 3).await;
    assert_eq!(to_proto(&kept), first, "kept as signed");
    append(&mut grid, "r", 3..6).await;
    let newest = published_at(&mut inspector, 6).await;
    let kept = kept_at(&w, 6).await;
    assert_eq!(to_proto(&kept), newest);
    assert_eq!(verify(&mut inspector).await.status, ChainStatus::Ok as i32);
    w.stop().await;
}

/// complaints-audit restarted on a rolled-back database with no sink answers OK until a
/// witness polls: then ROLLED_BACK, no signature on the cut chain, and a conflict counted by
/// the witness, which keeps its checkpoint.
async fn a_witness_exposes_a_restart_on_a_rolled_back_chain(backend: TestBackend) {
    let mut w = start(backend, Topology::PortPerService, 100).await;
    let mut grid = w.client(None, WITNESS, &[Role::Service]);
    append(&mut grid, "r", 0..6).await;
    let witnessed = kept_at(&w, 6).await;
    assert_eq!(witnessed.sequence, 6);

    // The intruder cuts rows 5 and 6 and moves the head back; complaints-audit restarts on it
    // (a new process: nothing in memory, no sink) and signs the cut head.
    lift_guards(&w.audit_db, backend).await;
    cut_tail(&w.audit_db, 4).await;
    let restarted = w
        .cluster
        .start_replica(Service::ComplaintsAudit)
        .await
        .expect("restart");
    let mut inspector = w.inspector(Some(&restarted));
    published_at(&mut inspector, 4).await;
    let unseen = verify(&mut inspector).await;
    assert_eq!(
        unseen.status,
        ChainStatus::Ok as i32,
        "no witness yet: {unseen:?}"
    );

    // The witness's next poll presents 6 and gets 4 back.
    let witness = w.witness(Some(&restarted), Vec::new());
    let before = conflicts_counted(WITNESS);
    let polled = witness.poll_once().await.expect("poll");
    assert_eq!(
        polled,
        Polled::Compared(Witnessed::RolledBack {
            kept: 6,
            returned: 4
        })
    );
    assert!(conflicts_counted(WITNESS) > before, "conflict counted");
    assert_eq!(
        w.kept().await,
        Some(witnessed.clone()),
        "kept checkpoint stays"
    );

    let caught = verify(&mut inspector).await;
    assert_eq!(caught.status, ChainStatus::RolledBack as i32, "{caught:?}");
    assert_eq!(caught.first_broken_sequence, 5);
    assert_eq!(caught.expected_hash, witnessed.head_hash);
    assert_eq!(caught.checkpoint, Some(to_proto(&witnessed)));

    // Regrowing the chain past the cut is never signed: the presented 6 contradicts it.
    let mut regrow = w.client(Some(&restarted), WITNESS, &[Role::Service]);
    append(&mut regrow, "again", 10..13).await;
    let rewritten = verify(&mut inspector).await;
    assert_eq!(
        rewritten.status,
        ChainStatus::CheckpointMismatch as i32,
        "{rewritten:?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = published_at(&mut inspector, 4).await;
    assert_eq!(still.sequence, 4, "a contradicting head is never signed");
    let again = witness.poll_once().await.expect("poll");
    assert_eq!(
        again,
        Polled::Compared(Witnessed::RolledBack {
            kept: 6,
            returned: 4
        })
    );
    assert_eq!(w.kept().await, Some(witnessed));
    w.stop().await;
}

/// A presented checkpoint must verify: a flipped bit or a foreign key is INVALID_ARGUMENT by
/// field; one under a previous key still verifies (rotation); a witness whose configured keys
/// do not include complaints-audit's refuses the answer and keeps nothing.
async fn forged_and_foreign_checkpoints_are_refused(backend: TestBackend) {
    let w = start(backend, Topology::PortPerService, 0).await;
    let mut grid = w.client(None, WITNESS, &[Role::Service]);
    append(&mut grid, "r", 0..2).await;
    let mut inspector = w.inspector(None);
    let latest = published_at(&mut inspector, 2).await;

    let mut flipped = latest.clone();
    flipped.signature[0] ^= 1;
    let stranger = Signer::from_hex_seed(&"33".repeat(32)).unwrap();
    let foreign = to_proto(&stranger.sign(9, &latest.head_hash, chrono::Utc::now()));
    for (forged, field) in [
        (flipped, "witnessed_checkpoint.signature"),
        (foreign, "witnessed_checkpoint.public_key"),
    ] {
        let status = grid
            .get_audit_checkpoint(GetAuditCheckpointRequest {
                witnessed_checkpoint: Some(forged),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert_eq!(violated_fields(&status), [field]);
    }
    // Signed by the key before the rotation: still verifies, and is consistent with the chain.
    let old = Signer::from_hex_seed(OLD_SEED).unwrap();
    let signed_at = chrono::DateTime::from_timestamp_micros(1_758_600_000_000_000).unwrap();
    let rotated = to_proto(&old.sign(latest.sequence, &latest.head_hash, signed_at));
    let answer = grid
        .get_audit_checkpoint(GetAuditCheckpointRequest {
            witnessed_checkpoint: Some(rotated),
        })
        .await
        .expect("a previous key verifies")
        .into_inner();
    assert_eq!(answer.checkpoint.map(|c| c.sequence), Some(2));
    assert_eq!(verify(&mut inspector).await.status, ChainStatus::Ok as i32);

    // A witness configured for another key refuses complaints-audit's checkpoint.
    let picky = w.witness(None, vec![stranger.public_key().to_owned()]);
    let refused = picky.poll_once().await.unwrap_err();
    assert!(matches!(refused, WitnessError::Refused(_)), "{refused:?}");
    assert_eq!(w.kept().await, None);
    // With complaints-audit's key configured it is kept.
    let own = Signer::from_hex_seed(SEED).unwrap();
    let trusting = w.witness(None, vec![own.public_key().to_owned()]);
    assert_eq!(
        trusting.poll_once().await.expect("poll"),
        Polled::Compared(Witnessed::First)
    );
    assert_eq!(w.kept().await.map(|c| c.sequence), Some(2));
    w.stop().await;
}

/// Two witnesses of one service (two replicas on one database) storing at once keep the
/// highest, whichever lands last.
async fn racing_witnesses_keep_the_highest(backend: TestBackend) {
    let w = start(backend, Topology::PortPerService, 0).await;
    let (a, b) = (w.witness(None, Vec::new()), w.witness(None, Vec::new()));
    // Both poll complaints-audit at once: the one checkpoint is kept once.
    let mut grid = w.client(None, WITNESS, &[Role::Service]);
    append(&mut grid, "r", 0..3).await;
    let mut inspector = w.inspector(None);
    let published = published_at(&mut inspector, 3).await;
    let (x, y) = tokio::join!(a.poll_once(), b.poll_once());
    let outcomes = [x.expect("poll a"), y.expect("poll b")];
    // Whichever reads the store after the other kept it sees the same checkpoint: both are right.
    let first = Polled::Compared(Witnessed::First);
    let same = Polled::Compared(Witnessed::Same);
    assert!(outcomes.contains(&first), "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| *o == first || *o == same),
        "{outcomes:?}"
    );
    assert_eq!(w.kept().await.map(|c| to_proto(&c)), Some(published));
    // Then two checkpoints stored at once, the higher by either witness, in turn.
    let signer = Signer::from_hex_seed(SEED).unwrap();
    let at = chrono::DateTime::from_timestamp_micros(1_758_600_000_000_000).unwrap();
    for round in 0..10_i64 {
        let kept = w.kept().await;
        let low = signer.sign(10 * round + 5, &format!("h{round}5"), at);
        let high = signer.sign(10 * round + 7, &format!("h{round}7"), at);
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (x, y) = tokio::join!(
            first.observe(kept.as_ref(), &high),
            second.observe(kept.as_ref(), &low)
        );
        x.expect("store high");
        y.expect("store low");
        assert_eq!(w.kept().await, Some(high), "round {round}");
    }
    w.stop().await;
}

backend_tests!(
    a_witness_keeps_the_checkpoint_it_polled,
    a_witness_exposes_a_restart_on_a_rolled_back_chain,
    forged_and_foreign_checkpoints_are_refused,
    racing_witnesses_keep_the_highest,
);
