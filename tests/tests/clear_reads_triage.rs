//! Sensitive reads of triage's exchange ledger, through gRPC on both backends: a dispatcher's
//! GetTransfer / ListTransfers / ListOverdueTransfers that show callers' phones in clear write a
//! `triage.ReadInClear` audit record (who, the transfers' ids, why; never the number); masked
//! readers (inspectors) and the services' own reads write none; under `--clear-read-reason
//! required` a clear reader without a reason is INVALID_ARGUMENT naming `reason`.

mod clear_reads_support;
mod grid_common;

use std::collections::BTreeMap;

use clear_reads_support::*;
use pingan_platform::auth::Role;
use pingan_platform::config::ClearReadReason;
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use tonic::Code;

const ACTION: &str = "triage.ReadInClear";
const PHONE: &str = "13812345678";

type Client = TriageServiceClient<Authed>;

fn client(cluster: &TestCluster, subject: &str, roles: &[Role]) -> Client {
    let token = cluster.token(subject, roles, &[]).expect("token");
    TriageServiceClient::new(
        cluster
            .channel_as(Service::Triage, &token)
            .expect("channel"),
    )
}

/// Triage under `policy` with one call diverted to 12345 by a dispatcher; its transfer id.
async fn ledger(backend: TestBackend, policy: ClearReadReason) -> (TestCluster, String) {
    let cluster = cluster(
        backend,
        &[Service::Triage],
        pingan_platform::clock::system(),
        BTreeMap::new(),
        policy,
    )
    .await;
    let transfer = client(&cluster, "dispatcher-1", &[Role::Dispatcher])
        .divert_to12345(pb::DivertTo12345Request {
            request_id: "divert-cr-1".into(),
            incident_id: "inc-cr-1".into(),
            classification: Some(pb::Classification {
                kind: pb::Kind::NonPolice as i32,
                category: "UTILITIES".into(),
                department: "供水公司".into(),
                ..Default::default()
            }),
            description: "小区停水，询问来水时间".into(),
            caller_phone: PHONE.into(),
            ..Default::default()
        })
        .await
        .expect("divert")
        .into_inner()
        .transfer
        .expect("transfer");
    (cluster, transfer.transfer_id)
}

fn get(transfer_id: &str, reason: &str) -> pb::GetTransferRequest {
    pb::GetTransferRequest {
        transfer_id: transfer_id.into(),
        reason: reason.into(),
        ..Default::default()
    }
}

async fn triage_clear_reads_are_audited(backend: TestBackend) {
    let (cluster, transfer_id) = ledger(backend, ClearReadReason::Optional).await;
    assert!(
        audit_records(&cluster, Service::Triage, ACTION)
            .await
            .is_empty(),
        "diverting is no read"
    );
    let mut dispatcher = client(&cluster, "dispatcher-2", &[Role::Dispatcher]);
    let shown = dispatcher
        .get_transfer(get(&transfer_id, "回访来电人核实诉求"))
        .await
        .expect("get")
        .into_inner()
        .transfer
        .expect("transfer");
    assert_eq!(shown.caller_phone, PHONE, "dispatchers see it");
    let listed = dispatcher
        .list_transfers(pb::ListTransfersRequest::default())
        .await
        .expect("list")
        .into_inner()
        .transfers;
    assert_eq!(listed.len(), 1);
    let records = audit_records(&cluster, Service::Triage, ACTION).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(
        records[0]
            .detail
            .starts_with("GetTransfer: caller_phone in clear"),
        "{records:#?}"
    );
    assert_eq!(records[0].resource_id, transfer_id);
    assert_clear_read(
        &records[0],
        "dispatcher-2",
        Role::Dispatcher,
        "",
        &[&transfer_id],
        "回访来电人核实诉求",
        &[PHONE],
    );
    assert!(records[1].detail.starts_with("ListTransfers: "));
    assert_clear_read(
        &records[1],
        "dispatcher-2",
        Role::Dispatcher,
        "",
        &[&transfer_id],
        "not given",
        &[PHONE],
    );

    // An inspector reads the ledger masked, and a service reads on its own flow (intake's
    // incident exchange lists transfers): no record.
    let masked = client(&cluster, "insp-1", &[Role::Inspector])
        .get_transfer(get(&transfer_id, ""))
        .await
        .expect("masked reader")
        .into_inner()
        .transfer
        .expect("transfer");
    assert_eq!(masked.caller_phone, "");
    client(&cluster, "intake", &[Role::Service])
        .list_transfers(pb::ListTransfersRequest::default())
        .await
        .expect("service");
    assert_eq!(
        audit_records(&cluster, Service::Triage, ACTION).await.len(),
        2
    );
    cluster.shutdown().await.expect("shutdown");
}

async fn triage_required_reason(backend: TestBackend) {
    let (cluster, transfer_id) = ledger(backend, ClearReadReason::Required).await;
    let mut dispatcher = client(&cluster, "dispatcher-2", &[Role::Dispatcher]);
    for refused in [
        dispatcher
            .get_transfer(get(&transfer_id, ""))
            .await
            .map(|_| ()),
        dispatcher
            .list_transfers(pb::ListTransfersRequest::default())
            .await
            .map(|_| ()),
        dispatcher
            .list_overdue_transfers(pb::ListOverdueTransfersRequest::default())
            .await
            .map(|_| ()),
    ] {
        let status = refused.expect_err("a clear reader without a reason");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(grid_common::fields(&status), ["reason"]);
    }
    client(&cluster, "insp-1", &[Role::Inspector])
        .list_transfers(pb::ListTransfersRequest::default())
        .await
        .expect("a masked reader needs no reason");
    dispatcher
        .get_transfer(get(&transfer_id, "回访来电人核实诉求"))
        .await
        .expect("with a reason");
    let records = audit_records(&cluster, Service::Triage, ACTION).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_clear_read(
        &records[0],
        "dispatcher-2",
        Role::Dispatcher,
        "",
        &[&transfer_id],
        "回访来电人核实诉求",
        &[PHONE],
    );
    cluster.shutdown().await.expect("shutdown");
}

backend_tests!(triage_clear_reads_are_audited, triage_required_reason,);
