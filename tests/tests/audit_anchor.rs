//! Audit anchoring through gRPC on both backends: complaints-audit signs its chain head with an
//! Ed25519 key the database does not hold and publishes it to an append-only file; someone with
//! database rights who deletes the newest rows and moves the head back is reported by
//! VerifyAuditChain, as is a chain regrown past the cut; an untouched chain verifies; forged
//! checkpoints (bad signature, raised sequence, forged sink lines) are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pingan_platform::auth::Role;
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
use tonic::transport::Channel;
use tonic_types::StatusExt;

mod audit_support;
use audit_support::{SEED, cut_tail, lift_guards, record};

type Client = ComplaintsAuditServiceClient<InterceptedService<Channel, Bearer>>;

struct Anchored {
    cluster: TestCluster,
    dir: PathBuf,
    sink: PathBuf,
    inspector: Client,
    grid: Client,
    db: Db,
}

fn settings(dir: &Path) -> (ServiceConfig, PathBuf) {
    let key = dir.join("checkpoint.key");
    std::fs::write(&key, format!("{SEED}\n")).unwrap();
    let sink = dir.join("checkpoints.jsonl");
    let mut config = ServiceConfig::default();
    config.insert(pingan_complaints_audit::Settings {
        checkpoint_key: Some(key),
        checkpoint_sink: Some(sink.clone()),
        checkpoint_interval: Duration::from_millis(100),
        ..pingan_complaints_audit::Settings::default()
    });
    (config, sink)
}

async fn start(backend: TestBackend, dir: Option<PathBuf>) -> Anchored {
    let dir = dir.unwrap_or_else(|| {
        let dir = std::env::temp_dir().join(unique_name("pingan_anchor"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    });
    let (config, sink) = settings(&dir);
    let cluster = TestCluster::start_with_settings(
        backend,
        &[Service::ComplaintsAudit],
        Topology::PortPerService,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        test_server_config(),
        config,
    )
    .await
    .expect("cluster");
    let client = |subject: &str, roles: &[Role]| {
        let token = cluster.token(subject, roles, &[]).unwrap();
        ComplaintsAuditServiceClient::new(
            cluster
                .channel_as(Service::ComplaintsAudit, &token)
                .unwrap(),
        )
    };
    let inspector = client("insp-1", &[Role::Inspector]);
    let grid = client("grid-registry", &[Role::Service]);
    let db = Db::connect(
        &cluster.database_url(Service::ComplaintsAudit).unwrap(),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    Anchored {
        cluster,
        dir,
        sink,
        inspector,
        grid,
        db,
    }
}

async fn append(a: &mut Anchored, prefix: &str, range: std::ops::Range<i64>) {
    for n in range {
        a.grid
            .record_audit(RecordAuditRequest {
                request_id: format!("{prefix}-{n}"),
                record: Some(record(n)),
            })
            .await
            .expect("record");
    }
}

/// Waits (bounded) until the published checkpoint reaches `sequence`.
async fn checkpoint_at(a: &mut Anchored, sequence: i64) -> AuditCheckpoint {
    for _ in 0..200 {
        let latest = a
            .inspector
            .get_audit_checkpoint(GetAuditCheckpointRequest::default())
            .await
            .expect("checkpoint")
            .into_inner()
            .checkpoint;
        if let Some(checkpoint) = latest
            && checkpoint.sequence >= sequence
        {
            return checkpoint;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no checkpoint at sequence {sequence} within 10 s");
}

async fn verify(a: &mut Anchored, presented: Option<AuditCheckpoint>) -> VerifyAuditChainResponse {
    a.inspector
        .verify_audit_chain(VerifyAuditChainRequest {
            witnessed_checkpoint: presented,
            ..VerifyAuditChainRequest::default()
        })
        .await
        .expect("verify")
        .into_inner()
}

fn sink_sequences(sink: &Path) -> Vec<i64> {
    std::fs::read_to_string(sink)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["sequence"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

async fn a_cut_tail_with_the_head_moved_back_is_reported(backend: TestBackend) {
    let mut a = start(backend, None).await;
    append(&mut a, "r", 0..6).await;
    let witnessed = checkpoint_at(&mut a, 6).await;
    assert_eq!(witnessed.sequence, 6);
    assert!(
        sink_sequences(&a.sink).contains(&6),
        "sink holds the checkpoint"
    );
    let ok = verify(&mut a, None).await;
    assert_eq!(ok.status, ChainStatus::Ok as i32, "{ok:?}");
    assert_eq!(ok.checkpoint.as_ref().map(|c| c.sequence), Some(6));

    // The intruder deletes rows 5 and 6 and moves the head back to row 4: the chain itself is
    // whole (the hash chain alone answers OK), but the witnessed checkpoint says 6.
    lift_guards(&a.db, backend).await;
    cut_tail(&a.db, 4).await;
    let cut = verify(&mut a, None).await;
    assert_eq!(cut.status, ChainStatus::RolledBack as i32, "{cut:?}");
    assert_eq!(cut.first_broken_sequence, 5);
    assert_eq!(cut.expected_hash, witnessed.head_hash);
    assert_eq!(cut.head_sequence, 4);
    assert!(
        cut.reason
            .contains("sequence 4 is below the checkpoint witnessed at sequence 6"),
        "{}",
        cut.reason
    );
    // A witness's copy says the same when presented.
    let presented = verify(&mut a, Some(witnessed.clone())).await;
    assert_eq!(presented.status, ChainStatus::RolledBack as i32);

    // Growing the chain back past the cut does not hide it: row 6 now has another hash, and
    // the publisher refuses to sign the contradicting head.
    append(&mut a, "again", 10..12).await;
    let regrown = verify(&mut a, None).await;
    assert_eq!(
        regrown.status,
        ChainStatus::CheckpointMismatch as i32,
        "{regrown:?}"
    );
    assert_eq!(regrown.first_broken_sequence, 6);
    assert_eq!(regrown.expected_hash, witnessed.head_hash);
    assert_ne!(regrown.found_hash, witnessed.head_hash);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = checkpoint_at(&mut a, 6).await;
    assert_eq!(
        (still.sequence, still.head_hash.clone()),
        (6, witnessed.head_hash.clone()),
        "a contradicting head is never signed"
    );

    // A process with an empty database (a restored backup, a wiped table) sharing the sink
    // finds the rollback from the file alone.
    let dir = a.dir.clone();
    a.db.close().await;
    a.cluster.shutdown().await.expect("shutdown");
    let mut fresh = start(backend, Some(dir)).await;
    let empty = verify(&mut fresh, None).await;
    assert_eq!(empty.status, ChainStatus::RolledBack as i32, "{empty:?}");
    assert_eq!(empty.head_sequence, 0);
    fresh.db.close().await;
    fresh.cluster.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(&fresh.dir).ok();
}

async fn an_untouched_chain_verifies_and_forgeries_are_refused(backend: TestBackend) {
    let mut a = start(backend, None).await;
    append(&mut a, "r", 0..3).await;
    let early = checkpoint_at(&mut a, 3).await;
    append(&mut a, "r", 3..5).await;
    let latest = checkpoint_at(&mut a, 5).await;
    let ok = verify(&mut a, Some(early.clone())).await;
    assert_eq!(ok.status, ChainStatus::Ok as i32, "{ok:?}");
    assert_eq!(ok.reason, "");
    assert_eq!(ok.checkpoint.as_ref().map(|c| c.sequence), Some(5));
    assert_eq!(ok.rows_checked, 5);
    let sequences = sink_sequences(&a.sink);
    assert!(
        sequences.contains(&3) && sequences.contains(&5),
        "{sequences:?}"
    );
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    // A checkpoint with a flipped signature bit, or a raised sequence, is refused by name.
    let mut flipped = latest.clone();
    flipped.signature[0] ^= 1;
    let mut raised = latest.clone();
    raised.sequence = 100;
    for forged in [flipped, raised] {
        let status = a
            .inspector
            .verify_audit_chain(VerifyAuditChainRequest {
                witnessed_checkpoint: Some(forged),
                ..VerifyAuditChainRequest::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        let fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["witnessed_checkpoint.signature"]);
    }
    // A forged line appended to the sink (claiming sequence 99) neither raises the anchor nor
    // breaks verification.
    let mut forged_line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&a.sink)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    forged_line["sequence"] = 99.into();
    let mut text = std::fs::read_to_string(&a.sink).unwrap();
    text.push_str(&format!("{forged_line}\n"));
    std::fs::write(&a.sink, text).unwrap();
    let still = verify(&mut a, None).await;
    assert_eq!(still.status, ChainStatus::Ok as i32, "{still:?}");
    assert_eq!(still.checkpoint.as_ref().map(|c| c.sequence), Some(5));
    // Only auditors and services read checkpoints.
    let token = a.cluster.token("d-1", &[Role::Dispatcher], &[]).unwrap();
    let denied = ComplaintsAuditServiceClient::new(
        a.cluster
            .channel_as(Service::ComplaintsAudit, &token)
            .unwrap(),
    )
    .get_audit_checkpoint(GetAuditCheckpointRequest::default())
    .await
    .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    a.db.close().await;
    a.cluster.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(&a.dir).ok();
}

/// Without a checkpoint key the same cut goes unseen: what the anchor exists for.
async fn without_checkpoints_a_cut_tail_is_not_seen(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::ComplaintsAudit])
        .await
        .expect("cluster");
    let token = cluster
        .token("grid-registry", &[Role::Service], &[])
        .unwrap();
    let mut grid = ComplaintsAuditServiceClient::new(
        cluster
            .channel_as(Service::ComplaintsAudit, &token)
            .unwrap(),
    );
    for n in 0..6 {
        grid.record_audit(RecordAuditRequest {
            request_id: format!("r-{n}"),
            record: Some(record(n)),
        })
        .await
        .unwrap();
    }
    let db = Db::connect(
        &cluster.database_url(Service::ComplaintsAudit).unwrap(),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    lift_guards(&db, backend).await;
    cut_tail(&db, 4).await;
    let token = cluster.token("insp-1", &[Role::Inspector], &[]).unwrap();
    let mut inspector = ComplaintsAuditServiceClient::new(
        cluster
            .channel_as(Service::ComplaintsAudit, &token)
            .unwrap(),
    );
    let unseen = inspector
        .verify_audit_chain(VerifyAuditChainRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unseen.status, ChainStatus::Ok as i32);
    assert_eq!(unseen.head_sequence, 4);
    assert!(unseen.checkpoint.is_none());
    // And GetAuditCheckpoint says why there is nothing to witness.
    let status = inspector
        .get_audit_checkpoint(GetAuditCheckpointRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    db.close().await;
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(
    a_cut_tail_with_the_head_moved_back_is_reported,
    an_untouched_chain_verifies_and_forgeries_are_refused,
    without_checkpoints_a_cut_tail_is_not_seen,
);
