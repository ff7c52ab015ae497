//! The case-followup service on both backends: the revisit scheduler (directly and through the
//! event sink), revisits on a manual clock, mediation, statistics and input errors. Lost and
//! found is in `lostfound.rs`, the owner lookup job (unreachable registry) in `lookup_job.rs`.

mod support;

use pingan_case_followup::domain::ts;
use pingan_platform::storage::Backend;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::dispatch::v1::{Dispatch, DispatchClosed, Disposition};
use pingan_proto::events::v1::EventEnvelope;
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;
use pingan_proto::followup::v1::*;
use prost::Message;
use support::{Harness, bad_fields, found_id_card};
use tonic::Request;

fn closed_event(
    event_id: &str,
    incident: &str,
    category: &str,
    disposition: Disposition,
) -> EventEnvelope {
    let closed = DispatchClosed {
        dispatch: Some(Dispatch {
            dispatch_id: format!("d-{incident}"),
            incident_id: incident.into(),
            category: category.into(),
            station_id: "st-chengnan".into(),
            grid_id: "st-chengnan-g1".into(),
            disposition: disposition as i32,
            summary: "扫码付款纠纷".into(),
            narrative: "双方已调解".into(),
            closed_at: Some(ts(support::start_time())),
            ..Dispatch::default()
        }),
        officer_ids: vec!["officer-1".into()],
    };
    EventEnvelope {
        event_id: event_id.into(),
        event_type: pingan_case_followup::DISPATCH_CLOSED.into(),
        source: "dispatch".into(),
        aggregate_id: format!("d-{incident}"),
        sequence: 1,
        occurred_at: Some(ts(support::start_time())),
        payload: Some(prost_types::Any {
            type_url: "type.googleapis.com/pingan.dispatch.v1.DispatchClosed".into(),
            value: closed.encode_to_vec(),
        }),
        ..EventEnvelope::default()
    }
}

fn open_mediation_request(incident: &str) -> OpenMediationRequest {
    OpenMediationRequest {
        request_id: format!("med-{incident}"),
        incident_id: incident.into(),
        parties: vec![
            Party {
                name: "李四".into(),
                role: PartyRole::Caller as i32,
                phone: "13900001111".into(),
                ..Party::default()
            },
            Party {
                name: "王五".into(),
                role: PartyRole::OtherParty as i32,
                ..Party::default()
            },
        ],
        summary: "扫码付款金额争议".into(),
        mediator_officer_id: "officer-1".into(),
        station_id: "st-chengnan".into(),
        ..OpenMediationRequest::default()
    }
}

async fn list_due(h: &Harness) -> ListDueRevisitsResponse {
    h.api
        .list_due_revisits(Request::new(ListDueRevisitsRequest {
            station_id: "st-chengnan".into(),
            ..ListDueRevisitsRequest::default()
        }))
        .await
        .expect("list")
        .into_inner()
}

async fn revisit_scheduled_once_per_incident(backend: Backend) {
    let h = Harness::start(backend, None).await.expect("harness");
    let mediation = h
        .api
        .open_mediation(Request::new(open_mediation_request("inc-1")))
        .await
        .expect("mediation")
        .into_inner()
        .mediation
        .expect("mediation");
    assert_eq!(mediation.parties[0].phone_masked, "139****1111");

    // The handler, called directly.
    let event = closed_event("ev-1", "inc-1", "DISPUTE", Disposition::Mediated);
    let closed = DispatchClosed::decode(event.payload.as_ref().expect("payload").value.as_slice())
        .expect("decode");
    let mut tx = h.core.context.db.begin_write().await.expect("tx");
    let revisit = h
        .core
        .on_dispatch_closed(&mut tx, &closed, None)
        .await
        .expect("handled")
        .expect("scheduled");
    tx.commit().await.expect("commit");
    assert_eq!(revisit.reason, RevisitReason::Dispute as i32);
    assert_eq!(revisit.policy_rule_id, "dispute-mediated");
    assert_eq!(revisit.contact_name, "李四");
    assert_eq!(revisit.mediation_id, mediation.mediation_id);

    // Through the event sink: the same close under another event id, then a redelivery.
    assert!(
        !h.sink
            .apply(&closed_event(
                "ev-2",
                "inc-1",
                "DISPUTE",
                Disposition::Mediated
            ))
            .await
            .expect("apply")
    );
    assert!(
        h.sink
            .apply(&closed_event(
                "ev-2",
                "inc-1",
                "DISPUTE",
                Disposition::Mediated
            ))
            .await
            .expect("apply")
    );
    // A traffic accident needs no revisit; a false report neither.
    assert!(
        !h.sink
            .apply(&closed_event(
                "ev-3",
                "inc-2",
                "TRAFFIC_ACCIDENT",
                Disposition::ResolvedOnScene
            ))
            .await
            .expect("apply")
    );
    assert!(
        !h.sink
            .apply(&closed_event(
                "ev-4",
                "inc-3",
                "DISPUTE",
                Disposition::FalseReport
            ))
            .await
            .expect("apply")
    );
    // A fresh dispute through the sink alone.
    assert!(
        !h.sink
            .apply(&closed_event(
                "ev-5",
                "inc-4",
                "DISPUTE",
                Disposition::ResolvedOnScene
            ))
            .await
            .expect("apply")
    );

    let due = list_due(&h).await;
    assert_eq!(due.total_count, 2, "{due:?}");
    let first = due
        .revisits
        .iter()
        .find(|r| r.incident_id == "inc-1")
        .expect("inc-1");
    assert_eq!(first.contact_phone, "13900001111");
    assert_eq!(first.contact_phone_masked, "139****1111");
    assert_eq!(
        first.due_at,
        Some(ts(support::start_time() + chrono::Duration::hours(72)))
    );

    let outbox = h.outbox().await.expect("outbox");
    let scheduled = outbox
        .iter()
        .filter(|(t, d)| t == "pingan.followup.v1.RevisitScheduled" && d == "intake")
        .count();
    assert_eq!(scheduled, 2);
    assert!(outbox.contains(&("pingan.followup.v1.MediationOpened".into(), "intake".into())));
    assert!(outbox.contains(&(
        "pingan.audit.v1.AuditRecord".into(),
        "complaints-audit".into()
    )));
    assert!(
        !h.stored_text()
            .await
            .expect("stored")
            .contains("13900001111")
    );
    h.cleanup().await;
}

async fn revisits_become_overdue_and_are_recorded(backend: Backend) {
    let h = Harness::start(backend, None).await.expect("harness");
    h.sink
        .apply(&closed_event(
            "ev-1",
            "inc-1",
            "FRAUD",
            Disposition::CaseOpened,
        ))
        .await
        .expect("apply");
    let due = list_due(&h).await;
    assert_eq!((due.total_count, due.overdue_count), (1, 0));
    let revisit = due.revisits[0].clone();
    assert_eq!(revisit.reason, RevisitReason::CrimeVictim as i32);
    assert!(!revisit.overdue);

    h.advance_minutes(8 * 24 * 60);
    let due = list_due(&h).await;
    assert_eq!((due.total_count, due.overdue_count), (1, 1));
    assert!(due.revisits[0].overdue);

    let bad = h
        .api
        .record_revisit(Request::new(RecordRevisitRequest {
            request_id: "rr-bad".into(),
            revisit_id: revisit.revisit_id.clone(),
            contacted: true,
            satisfaction: 7,
            ..RecordRevisitRequest::default()
        }))
        .await
        .expect_err("satisfaction 7");
    assert_eq!(bad_fields(&bad), ["satisfaction"]);

    let request = RecordRevisitRequest {
        request_id: "rr-1".into(),
        revisit_id: revisit.revisit_id.clone(),
        contacted: true,
        method: ContactMethod::Phone as i32,
        issue_resolved: true,
        satisfaction: 4,
        notes: "对处理结果满意".into(),
        another_revisit_needed: true,
        ..RecordRevisitRequest::default()
    };
    let recorded = h
        .api
        .record_revisit(Request::new(request.clone()))
        .await
        .expect("recorded")
        .into_inner();
    let done = recorded.revisit.clone().expect("revisit");
    assert_eq!(done.status, RevisitStatus::Completed as i32);
    assert!(done.overdue, "completed after its due time");
    let next = recorded.next_revisit.clone().expect("next");
    assert_eq!(
        (next.sequence, next.reason),
        (2, RevisitReason::Repeat as i32)
    );
    let again = h
        .api
        .record_revisit(Request::new(request))
        .await
        .expect("repeat")
        .into_inner();
    assert_eq!(again.revisit.expect("revisit").revisit_id, done.revisit_id);
    assert_eq!(
        list_due(&h).await.total_count,
        1,
        "only the repeat revisit is due"
    );

    let outbox = h.outbox().await.expect("outbox");
    assert!(outbox.contains(&(
        "pingan.followup.v1.RevisitCompleted".into(),
        "intake".into()
    )));

    let stats = h
        .api
        .followup_stats(Request::new(FollowupStatsRequest {
            station_ids: vec!["st-chengnan".into()],
            range: Some(TimeRange {
                start: Some(ts(support::start_time())),
                end: Some(ts(support::start_time() + chrono::Duration::days(8))),
            }),
            interval: StatsInterval::WholeRange as i32,
        }))
        .await
        .expect("stats")
        .into_inner();
    let revisits = stats.rows[0].revisits.clone().expect("revisits");
    assert_eq!(
        (revisits.due, revisits.completed, revisits.completed_on_time),
        (1, 1, 0)
    );
    assert_eq!(revisits.satisfaction[3].count, 1);
    h.cleanup().await;
}

async fn bad_input_names_the_fields(backend: Backend) {
    let h = Harness::start(backend, None).await.expect("harness");
    let unknown_kind = h
        .api
        .register_found_item(Request::new(RegisterFoundItemRequest {
            request_id: "f-1".into(),
            kind: 99,
            ..RegisterFoundItemRequest::default()
        }))
        .await
        .expect_err("unknown kind");
    assert_eq!(bad_fields(&unknown_kind), ["kind", "custody.station_id"]);
    let bad_card = h
        .api
        .register_found_item(Request::new(found_id_card("f-2", "110105194912310021")))
        .await
        .expect_err("bad check digit");
    assert_eq!(bad_fields(&bad_card), ["id_number"]);
    let mediation = h
        .api
        .open_mediation(Request::new(OpenMediationRequest {
            request_id: "m-1".into(),
            ..OpenMediationRequest::default()
        }))
        .await
        .expect_err("empty mediation");
    assert_eq!(
        bad_fields(&mediation),
        ["incident_id", "parties", "summary", "mediator_officer_id"]
    );
    let lost = h
        .api
        .register_lost_report(Request::new(RegisterLostReportRequest {
            request_id: "l-1".into(),
            kind: ItemKind::Wallet as i32,
            ..RegisterLostReportRequest::default()
        }))
        .await
        .expect_err("empty report");
    assert_eq!(
        bad_fields(&lost),
        [
            "description",
            "lost_during",
            "owner_name",
            "owner_phone",
            "station_id"
        ]
    );
    h.cleanup().await;
}

pingan_platform::backend_tests!(
    revisit_scheduled_once_per_incident,
    revisits_become_overdue_and_are_recorded,
    bad_input_names_the_fields,
);
