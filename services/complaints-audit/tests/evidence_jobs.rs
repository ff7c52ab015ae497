//! The dispatch timeline fetched later while dispatch is down, as a durable platform job on both
//! backends: written with the complaint, retried with backoff, dead-lettered after its attempts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Harness, INSPECTOR, get, walk_in};
use pingan_complaints_audit::Settings;
use pingan_complaints_audit::app::Core;
use pingan_complaints_audit::app::fetch_job::FETCH;
use pingan_platform::auth::Role;
use pingan_platform::backend_tests;
use pingan_platform::jobs::JobState;
use pingan_platform::storage::Backend;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;
use pingan_proto::audit::v1::{EvidenceStatus, GetComplaintRequest};

async fn timeline_waits_while_dispatch_is_down(backend: Backend) {
    let h = Harness::start(backend).await;
    let filed = h
        .api
        .file_complaint(h.request(
            "so-1",
            &[Role::StationOfficer],
            walk_in("c-1", "off-cn-1", "INC-5"),
        ))
        .await
        .expect("file")
        .into_inner()
        .complaint
        .unwrap();
    // A station officer filing it sees the complainant masked.
    let complainant = filed.complainant.clone().unwrap();
    assert!(complainant.phone.is_empty() && complainant.id_number.is_empty());
    assert_eq!(
        complainant.phone_masked,
        pingan_platform::pii::mask_phone("13812345678")
    );
    let pending = &filed.evidence[0];
    assert_eq!(pending.status, EvidenceStatus::Pending as i32);
    assert!(
        pending.pending_reason.contains("Unavailable"),
        "{}",
        pending.pending_reason
    );
    // Its fetch job was written with it: not due yet, still down: nothing happens.
    let jobs = pingan_complaints_audit::job_worker(h.core.clone());
    assert_eq!(jobs.run_once().await.unwrap(), 0);
    let waiting = get(&h, "insp-1", INSPECTOR, &filed.complaint_id).await;
    assert_eq!(waiting.evidence[0].status, EvidenceStatus::Pending as i32);
    h.clock.advance(Duration::from_secs(5));
    // Due, still down: one more attempt, still nothing attached.
    assert_eq!(jobs.run_once().await.unwrap(), 1);
    let still = get(&h, "insp-1", INSPECTOR, &filed.complaint_id).await;
    assert_eq!(still.evidence[0].status, EvidenceStatus::Pending as i32);
    assert_eq!(still.evidence[0].fetch_attempts, 2);
    // Dispatch is back: the next due round attaches it.
    h.dispatch.up.store(true, Ordering::SeqCst);
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(jobs.run_once().await.unwrap(), 1);
    let job = jobs
        .queue()
        .get(
            pingan_complaints_audit::app::fetch_job::FETCH,
            &pending.evidence_id,
        )
        .await
        .unwrap()
        .expect("fetch job");
    assert_eq!(job.state, pingan_platform::jobs::JobState::Done);
    let attached = get(&h, "insp-1", INSPECTOR, &filed.complaint_id).await;
    let evidence = &attached.evidence[0];
    assert_eq!(evidence.status, EvidenceStatus::Attached as i32);
    assert_eq!(evidence.evidence_id, pending.evidence_id);
    assert_eq!(
        evidence.content_sha256,
        pingan_complaints_audit::domain::evidence::sha256_hex(&evidence.content)
    );
    // Inspectors see the complainant in clear; a command center only masked; others nothing.
    assert_eq!(
        attached.complainant.unwrap().id_number,
        "11010519491231002X"
    );
    let masked = get(&h, "cc-1", &[Role::CommandCenter], &filed.complaint_id).await;
    assert_eq!(masked.complainant.unwrap().name, "王*");
    let denied = h
        .api
        .get_complaint(h.request(
            "d-1",
            &[Role::Dispatcher],
            GetComplaintRequest {
                reason: "case file review".into(),
                complaint_id: filed.complaint_id.clone(),
                ..GetComplaintRequest::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    // A repeat of the filing returns the first result.
    let repeat = h
        .api
        .file_complaint(h.request(
            "so-1",
            &[Role::StationOfficer],
            walk_in("c-1", "off-cn-1", "INC-5"),
        ))
        .await
        .expect("repeat")
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(repeat.complaint_id, filed.complaint_id);
    h.shutdown().await;
}

async fn a_fetch_that_never_succeeds_is_a_dead_letter(backend: Backend) {
    let h = Harness::start(backend).await;
    let filed = h
        .api
        .file_complaint(h.request("insp-1", INSPECTOR, walk_in("d-1", "off-1", "INC-9")))
        .await
        .expect("file")
        .into_inner()
        .complaint
        .unwrap();
    let evidence_id = filed.evidence[0].evidence_id.clone();
    // The same service with two fetch attempts: the job gives up after the second.
    let settings = Settings {
        fetch_max_attempts: 2,
        ..h.core.settings.clone()
    };
    let core = Arc::new(Core::new(h.core.context.clone(), settings));
    let jobs = pingan_complaints_audit::job_worker(core);
    for _ in 0..2 {
        h.clock.advance(Duration::from_secs(60));
        assert_eq!(jobs.run_once().await.unwrap(), 1);
    }
    let job = jobs
        .queue()
        .get(FETCH, &evidence_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Dead, 2));
    assert_eq!(jobs.queue().dead_jobs(0, 10).await.unwrap().len(), 1);
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        jobs.run_once().await.unwrap(),
        0,
        "a dead letter is not run again"
    );
    // The item stays PENDING and says why; an operator may retry the dead job.
    let item = &get(&h, "insp-1", INSPECTOR, &filed.complaint_id)
        .await
        .evidence[0];
    assert_eq!(item.status, EvidenceStatus::Pending as i32);
    assert_eq!(item.fetch_attempts, 3);
    assert!(
        item.pending_reason.contains("no more attempts"),
        "{}",
        item.pending_reason
    );
    h.dispatch.up.store(true, Ordering::SeqCst);
    assert!(jobs.queue().retry_dead(job.id).await.unwrap());
    assert_eq!(jobs.run_once().await.unwrap(), 1);
    let item = &get(&h, "insp-1", INSPECTOR, &filed.complaint_id)
        .await
        .evidence[0];
    assert_eq!(item.status, EvidenceStatus::Attached as i32);
    h.shutdown().await;
}

async fn pending_items_stored_without_a_job_get_one_on_start(backend: Backend) {
    let h = Harness::start(backend).await;
    let filed = h
        .api
        .file_complaint(h.request("insp-1", INSPECTOR, walk_in("o-1", "off-1", "INC-7")))
        .await
        .expect("file")
        .into_inner()
        .complaint
        .unwrap();
    // As a database from before the fetch jobs: the item is pending and has no job.
    h.sql("DELETE FROM platform_jobs").await;
    let jobs = pingan_complaints_audit::job_worker(h.core.clone());
    h.clock.advance(Duration::from_secs(60));
    assert_eq!(jobs.run_once().await.unwrap(), 0);
    let queued = pingan_complaints_audit::app::fetch_job::enqueue_pending(&h.core);
    assert_eq!(queued.await.unwrap(), 1);
    let again = pingan_complaints_audit::app::fetch_job::enqueue_pending(&h.core);
    assert_eq!(again.await.unwrap(), 1, "idempotent: the job is there once");
    h.dispatch.up.store(true, Ordering::SeqCst);
    assert_eq!(jobs.run_once().await.unwrap(), 1);
    let item = &get(&h, "insp-1", INSPECTOR, &filed.complaint_id)
        .await
        .evidence[0];
    assert_eq!(item.status, EvidenceStatus::Attached as i32);
    h.shutdown().await;
}

backend_tests!(
    timeline_waits_while_dispatch_is_down,
    a_fetch_that_never_succeeds_is_a_dead_letter,
    pending_items_stored_without_a_job_get_one_on_start,
);
