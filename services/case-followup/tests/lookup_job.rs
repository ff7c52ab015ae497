//! The owner lookup of a found ID card as a platform job, on both backends: enqueued with the
//! item when the registry cannot answer at once, retried with backoff, a dead letter after the
//! policy's attempts.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use pingan_case_followup::Core;
use pingan_case_followup::app::lookup_job::{OWNER_LOOKUP, worker};
use pingan_case_followup::config::FollowupConfig;
use pingan_platform::jobs::JobState;
use pingan_platform::storage::Backend;
use pingan_proto::followup::v1::*;
use support::{Harness, OWNER_ID, closed_addr, serve_registry};

async fn unreachable_registry_keeps_the_lookup_pending(backend: Backend) {
    let addr = closed_addr().await.expect("addr");
    let h = Harness::start(backend, Some(addr)).await.expect("harness");
    let item = h.register_card("f-1", OWNER_ID).await;
    assert_eq!(item.registry_lookup, RegistryLookup::Pending as i32);
    assert_eq!(item.status, FoundItemStatus::Registered as i32);
    assert_eq!(
        item.contact_task.expect("task raised at once").status,
        ContactTaskStatus::Open as i32
    );
    let jobs = h.jobs();
    assert_eq!(jobs.run_once().await.expect("retry"), 0, "not due yet");

    let (_, registry) = serve_registry(addr).await.expect("registry back");
    h.advance_minutes(1);
    assert_eq!(jobs.run_once().await.expect("retry"), 1);
    assert_eq!(registry.calls.load(Ordering::SeqCst), 1);
    let (stored, phone) = h.stored_item(&item.found_item_id).await;
    assert_eq!(stored.registry_lookup, RegistryLookup::Found as i32);
    assert_eq!(stored.status, FoundItemStatus::OwnerIdentified as i32);
    assert_eq!(stored.registry_lookup_attempts, 2);
    assert!(phone.is_some());
    assert_eq!(jobs.run_once().await.expect("retry"), 0);
    h.cleanup().await;
}

async fn the_lookup_job_is_written_with_the_item_only_when_needed(backend: Backend) {
    let (addr, _) = serve_registry("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("registry");
    let h = Harness::start(backend, Some(addr)).await.expect("harness");
    let item = h.register_card("f-1", OWNER_ID).await;
    assert_eq!(item.registry_lookup, RegistryLookup::Found as i32);
    let job = h.core.jobs.get(OWNER_LOOKUP, &item.found_item_id).await;
    assert!(job.expect("read").is_none(), "answered at once: no job");
    h.cleanup().await;

    let h = Harness::start(backend, Some(closed_addr().await.expect("addr")))
        .await
        .expect("harness");
    let item = h.register_card("f-1", OWNER_ID).await;
    let job = h
        .core
        .jobs
        .get(OWNER_LOOKUP, &item.found_item_id)
        .await
        .expect("read")
        .expect("job written with the item");
    assert_eq!(job.state, JobState::Pending);
    assert!(job.run_at > h.core.now(), "first retry after a backoff");
    h.cleanup().await;
}

async fn a_lookup_that_never_succeeds_becomes_a_dead_letter(backend: Backend) {
    let h = Harness::start(backend, Some(closed_addr().await.expect("addr")))
        .await
        .expect("harness");
    let item = h.register_card("f-1", OWNER_ID).await;
    let config = FollowupConfig {
        lookup_attempts: 2,
        ..FollowupConfig::default()
    };
    let core = Arc::new(Core::with_config(h.core.context.clone(), config));
    let jobs = worker(core);
    h.advance_minutes(1);
    assert_eq!(jobs.run_once().await.expect("run"), 1, "first retry");
    h.advance_minutes(1);
    assert_eq!(jobs.run_once().await.expect("run"), 1, "second retry");
    h.advance_minutes(60);
    assert_eq!(jobs.run_once().await.expect("run"), 0, "no third");
    let dead = h.core.jobs.dead_jobs(0, 10).await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind, OWNER_LOOKUP);
    assert_eq!(dead[0].key, item.found_item_id);
    let (stored, _) = h.stored_item(&item.found_item_id).await;
    assert_eq!(stored.registry_lookup, RegistryLookup::Pending as i32);
    assert_eq!(stored.registry_lookup_attempts, 3, "inline and two retries");
    h.cleanup().await;
}

pingan_platform::backend_tests!(
    unreachable_registry_keeps_the_lookup_pending,
    the_lookup_job_is_written_with_the_item_only_when_needed,
    a_lookup_that_never_succeeds_becomes_a_dead_letter,
);
