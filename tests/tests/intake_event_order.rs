//! Events from different services carry no common order: a revisit reported before the close
//! of the dispatch reaches intake must still leave the incident FOLLOWED_UP once the close
//! arrives (seen under CI load in story 5, where the close's delivery was in backoff).

mod intake_support;

use intake_support::BASE_LAT;
use intake_support::BASE_LON;
use intake_support::harness::{Harness, call, start_time, ts};
use pingan_proto::dispatch::v1::{Dispatch, DispatchClosed, Disposition};
use pingan_proto::followup::v1::{RevisitCompleted, RevisitStatus};
use pingan_proto::intake::v1::{IncidentStatus, Outcome};
use pingan_tests::{TestBackend, backend_tests};

async fn revisit_before_close_still_ends_followed_up(backend: TestBackend) {
    let mut h = Harness::start(backend).await;
    let t0 = start_time();
    let response = h
        .report(call(
            "order-1",
            "两人因为扫码付款发生争执，请民警来处理",
            BASE_LAT,
            BASE_LON,
        ))
        .await;
    assert_eq!(
        response.outcome,
        Outcome::PendingDispatch as i32,
        "{response:?}"
    );
    assert_eq!(response.status, IncidentStatus::Dispatched as i32);
    let id = response.incident_id.clone();

    let revisit = RevisitCompleted {
        revisit_id: "rv-early".into(),
        incident_id: id.clone(),
        status: RevisitStatus::Completed as i32,
        issue_resolved: true,
        satisfaction: 4,
        another_revisit_scheduled: false,
        completed_at: Some(ts(t0 + chrono::Duration::days(3))),
        recorded_by: None,
    };
    h.deliver("case-followup", "ev-revisit-early", &id, &revisit)
        .await;
    let incident = h.incident(&id).await;
    assert_eq!(
        incident.status,
        IncidentStatus::Dispatched as i32,
        "not followed up before it is closed"
    );

    let closed = DispatchClosed {
        dispatch: Some(Dispatch {
            dispatch_id: format!("d-{id}"),
            incident_id: id.clone(),
            disposition: Disposition::Mediated as i32,
            closed_at: Some(ts(t0 + chrono::Duration::minutes(40))),
            ..Default::default()
        }),
        officer_ids: Vec::new(),
    };
    h.deliver("dispatch", "ev-closed-late", &id, &closed).await;
    let incident = h.incident(&id).await;
    assert_eq!(incident.status, IncidentStatus::FollowedUp as i32);
    let statuses: Vec<i32> = h
        .timeline(&id)
        .await
        .iter()
        .map(|e| e.to_status)
        .filter(|s| *s != 0)
        .collect();
    let closed_at = statuses
        .iter()
        .position(|s| *s == IncidentStatus::Closed as i32)
        .expect("closed on the timeline");
    let followed_at = statuses
        .iter()
        .position(|s| *s == IncidentStatus::FollowedUp as i32)
        .expect("followed up on the timeline");
    assert!(
        closed_at < followed_at,
        "closed, then followed up: {statuses:?}"
    );
    h.shutdown().await;
}

backend_tests!(revisit_before_close_still_ends_followed_up);
