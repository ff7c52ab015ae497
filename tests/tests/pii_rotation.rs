//! PII key rotation through the front door, on SQLite and on Postgres + Redis: grid-registry
//! runs with encryption key k1 and index key I1 and imports the jurisdiction (residents with ID
//! and phone numbers); both keys are rotated, `reencrypt` and `reindex` run on its database, and
//! a grid-registry that holds only the new keys (k1 gone) finds a resident by ID number and shows
//! the numbers in clear. The same replica before the runs finds nobody, so the runs are what
//! made the difference.

mod grid_common;

use std::time::Duration;

use grid_common::*;
use pingan::Security;
use pingan_platform::auth::Role;
use pingan_platform::pii::reencrypt::reencrypt_all;
use pingan_platform::pii::reindex::reindex_all;
use pingan_platform::pii::{KeyId, PiiKeys};
use pingan_proto::grid::v1 as pb;
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_tests::{
    Bearer, ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests,
};
use tonic::Code;
use tonic::transport::Endpoint;

backend_tests!(rotated_keys_keep_every_number_readable_and_findable,);

const SECRET: &[u8] = b"pii-rotation-test-token-secret-0123456789";
const I1: &[u8] = b"blind-index-key-2026-11-0123456789abcdef";
const I2: &[u8] = b"blind-index-key-2026-12-0123456789abcdef";
const K1: &[u8] = b"encryption-key-2026-11-0123456789abcdef";
const K2: &[u8] = b"encryption-key-2026-12-0123456789abcdef";
const ID_NUMBER: &str = "540523194701041012";

fn keys(index: &[u8], encryption: &[(&str, &[u8])]) -> PiiKeys {
    let named: Vec<(KeyId, Vec<u8>)> = encryption
        .iter()
        .map(|(id, key)| ((*id).to_owned(), key.to_vec()))
        .collect();
    PiiKeys::from_parts(index, &named, None).expect("keys")
}

fn client_at(endpoint: &str, token: &str) -> Client {
    let channel = Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(3))
        .connect_lazy();
    GridRegistryServiceClient::with_interceptor(channel, Bearer::new(token).expect("bearer"))
}

fn lookup() -> pb::FindResidentByIdNumberRequest {
    pb::FindResidentByIdNumberRequest {
        id_number: ID_NUMBER.into(),
        purpose: pb::LookupPurpose::LostAndFound as i32,
        reason: "拾获身份证归还失主".into(),
        reference_id: "found-rotation".into(),
    }
}

async fn rotated_keys_keep_every_number_readable_and_findable(backend: TestBackend) {
    let security = Security::new(SECRET, "pingan-test", keys(I1, &[("k1", K1)])).expect("security");
    let mut cluster = TestCluster::start_with_security(
        backend,
        &[Service::GridRegistry],
        Topology::PortPerService,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        pingan_tests::test_server_config(),
        security,
    )
    .await
    .expect("cluster");
    let admin_token = cluster
        .token("admin-1", &[Role::Admin], &[])
        .expect("token");
    pingan::registry_import::import(
        cluster.channel(Service::GridRegistry).expect("channel"),
        None,
        Some(&admin_token),
        JURISDICTION,
    )
    .await
    .expect("import");
    let leader = cluster
        .token("leader", &[Role::StationOfficer], &[RONGXIANG])
        .expect("token");
    let before = client(&cluster, "leader", &[Role::StationOfficer], &[RONGXIANG])
        .find_resident_by_id_number(lookup())
        .await
        .expect("found under the first keys")
        .into_inner();
    assert_eq!(before.resident.expect("resident").id_number, ID_NUMBER);

    // The new keys alone, before the runs: the new index finds nobody.
    let only_new = keys(I2, &[("k2", K2)]);
    let early = cluster
        .start_replica_with_pii(Service::GridRegistry, only_new.clone())
        .await
        .expect("replica");
    let status = client_at(&early, &leader)
        .find_resident_by_id_number(lookup())
        .await
        .expect_err("the index is still under I1");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // Rotation: new keys first, the old encryption key kept until the runs are done.
    let rotating = keys(I2, &[("k2", K2), ("k1", K1)]);
    let db = cluster.context(Service::GridRegistry).expect("context").db;
    let moved = reencrypt_all(&db, &rotating).await.expect("reencrypt");
    let residents = moved
        .iter()
        .find(|r| r.table == "residents" && r.column == "id_number_sealed")
        .expect("residents' ID numbers are found by the convention");
    assert_eq!(
        (residents.moved, residents.unreadable),
        (30, 0),
        "{moved:?}"
    );
    assert!(moved.iter().all(|r| r.unreadable == 0), "{moved:?}");
    let indexed = reindex_all(&db, &rotating).await.expect("reindex");
    let ids = indexed
        .iter()
        .find(|r| r.table == "residents")
        .expect("residents' index is found by the convention");
    assert_eq!((ids.rewritten, ids.unreadable), (30, 0), "{indexed:?}");

    // Only the new keys: found by ID number, numbers in clear for the station, phone for services.
    let after = cluster
        .start_replica_with_pii(Service::GridRegistry, only_new)
        .await
        .expect("replica");
    let found = client_at(&after, &leader)
        .find_resident_by_id_number(lookup())
        .await
        .expect("found under the new keys only")
        .into_inner();
    let resident = found.resident.expect("resident");
    assert_eq!(resident.id_number, ID_NUMBER);
    assert_eq!(resident.id_number_masked, "540523********1012");
    let service = cluster
        .token("case-followup", &[Role::Service], &[])
        .expect("token");
    let for_service = client_at(&after, &service)
        .find_resident_by_id_number(lookup())
        .await
        .expect("found by a service")
        .into_inner()
        .resident
        .expect("resident");
    assert_eq!(for_service.phone, "18247856977", "the owner must be called");
    cluster.shutdown().await.expect("shutdown");
}
