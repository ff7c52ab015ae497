//! Who does the revisit of a mediated dispute when nobody with an officer id was on scene (a
//! patrol car with no crew registered): the mediator, on both backends.

mod support;

use pingan_case_followup::domain::ts;
use pingan_platform::storage::Backend;
use pingan_proto::dispatch::v1::{Dispatch, DispatchClosed, Disposition};
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
use pingan_proto::followup::v1::*;
use support::Harness;
use tonic::Request;

async fn mediator_revisits_when_no_attending_officer_is_known(backend: Backend) {
    let h = Harness::start(backend, None).await.expect("harness");
    h.api
        .open_mediation(Request::new(OpenMediationRequest {
            request_id: "med-1".into(),
            incident_id: "inc-car".into(),
            parties: vec![
                Party {
                    name: "李四".into(),
                    role: PartyRole::Caller as i32,
                    ..Party::default()
                },
                Party {
                    name: "王五".into(),
                    role: PartyRole::OtherParty as i32,
                    ..Party::default()
                },
            ],
            summary: "停车位纠纷".into(),
            mediator_officer_id: "st-chengnan-o4".into(),
            station_id: "st-chengnan".into(),
            ..OpenMediationRequest::default()
        }))
        .await
        .expect("mediation");
    let closed = DispatchClosed {
        dispatch: Some(Dispatch {
            dispatch_id: "d-car".into(),
            incident_id: "inc-car".into(),
            category: "DISPUTE".into(),
            station_id: "st-chengnan".into(),
            disposition: Disposition::Mediated as i32,
            closed_at: Some(ts(support::start_time())),
            ..Dispatch::default()
        }),
        officer_ids: Vec::new(),
    };
    let mut tx = h.core.context.db.begin_write().await.expect("tx");
    let revisit = h
        .core
        .on_dispatch_closed(&mut tx, &closed, None)
        .await
        .expect("handled")
        .expect("scheduled");
    tx.commit().await.expect("commit");
    assert_eq!(revisit.assigned_officer_id, "st-chengnan-o4");
    h.cleanup().await;
}

pingan_platform::backend_tests!(mediator_revisits_when_no_attending_officer_is_known);
