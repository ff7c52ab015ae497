//! Conformance of the service request store on both backends: a request with its checklist and
//! history round-trips; an item is ticked once; steps lock the row (two transactions on one
//! request apply one after the other); the listing's filters, scope, order and paging; the
//! report's rows; the overdue counts.

use pingan_grid_registry::MIGRATIONS;
use pingan_grid_registry::domain::service_request::{
    Catalogue, RequestEvent, RequestItem, ServiceRequest,
};
use pingan_grid_registry::domain::{ActorRef, Millis, SealedValue};
use pingan_grid_registry::store::{
    Page, Scope, ServiceRequestFilter, ServiceRequestStore, SqlStore,
};
use pingan_platform::backend_tests;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::grid::v1 as pb;

const PAGE: Page = Page {
    offset: 0,
    limit: 100,
};
const T0: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: Millis = 3_600_000;

async fn fresh(backend: Backend) -> (TestDatabase, SqlStore) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    (database, store)
}

fn actor(subject: &str) -> ActorRef {
    ActorRef {
        subject: subject.into(),
        role: "village_officer".into(),
    }
}

fn request(id: &str, station: &str, kind: pb::ServiceRequestType, at: Millis) -> ServiceRequest {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let spec = catalogue.get(kind as i32).expect("type");
    let (items, due_at) = ServiceRequest::from_spec(spec, at);
    ServiceRequest {
        service_request_id: id.into(),
        request_id: format!("req-{id}"),
        kind: kind as i32,
        status: pb::ServiceRequestStatus::Open as i32,
        station_id: station.into(),
        grid_id: format!("{station}-g1"),
        resident_id: "r-1".into(),
        applicant_name: "陈桑珠".into(),
        applicant_phone: SealedValue {
            masked: "182****6977".into(),
            sealed: "abcd".into(),
        },
        channel: pb::ServiceRequestChannel::Phone as i32,
        officer_id: format!("{station}-o1"),
        description: "无犯罪记录证明".into(),
        requested_at: at,
        due_at,
        items,
        opened_by: actor("o1"),
        created_at: at,
        updated_at: at,
        ..ServiceRequest::default()
    }
}

fn opened(r: &ServiceRequest) -> RequestEvent {
    RequestEvent {
        service_request_id: r.service_request_id.clone(),
        kind: pb::ServiceRequestEventKind::Opened as i32,
        at: r.requested_at,
        actor: r.opened_by.clone(),
        status: r.status,
        ..RequestEvent::default()
    }
}

async fn put(store: &SqlStore, db: &TestDatabase, r: &ServiceRequest) {
    let mut tx = db.db.begin_write().await.expect("tx");
    store
        .insert_service_request(&mut tx, r, &opened(r))
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
}

async fn round_trip_and_steps(backend: Backend) {
    let (db, store) = fresh(backend).await;
    let r = request(
        "sr-1",
        "st-a",
        pb::ServiceRequestType::NoCriminalRecordCertificate,
        T0,
    );
    put(&store, &db, &r).await;
    assert_eq!(
        store.service_request("sr-1").await.expect("read"),
        Some(r.clone())
    );
    assert_eq!(store.service_request("nope").await.expect("read"), None);

    let item = RequestItem {
        key: "IDENTITY_VERIFIED".into(),
        completed_at: Some(T0 + HOUR),
        completed_by: Some(actor("o2")),
        note: "身份证核验".into(),
        ..RequestItem::default()
    };
    let mut tx = db.db.begin_write().await.expect("tx");
    let mut locked = store
        .lock_service_request(&mut tx, "sr-1")
        .await
        .expect("lock")
        .expect("found");
    assert!(
        store
            .complete_service_request_item(&mut tx, "sr-1", &item)
            .await
            .expect("tick")
    );
    let again = RequestItem {
        completed_by: Some(actor("o3")),
        ..item.clone()
    };
    assert!(
        !store
            .complete_service_request_item(&mut tx, "sr-1", &again)
            .await
            .expect("tick"),
        "an item is ticked once"
    );
    locked.status = pb::ServiceRequestStatus::Submitted as i32;
    locked.submitted_at = Some(T0 + 2 * HOUR);
    locked.submit_note = "NCR-1".into();
    let event = RequestEvent {
        service_request_id: "sr-1".into(),
        kind: pb::ServiceRequestEventKind::Submitted as i32,
        at: T0 + 2 * HOUR,
        actor: actor("o2"),
        status: locked.status,
        ..RequestEvent::default()
    };
    let stored = store
        .record_service_request_step(&mut tx, &locked, &event)
        .await
        .expect("step");
    assert_eq!(stored.seq, 2);
    tx.commit().await.expect("commit");

    let read = store
        .service_request("sr-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.status, pb::ServiceRequestStatus::Submitted as i32);
    assert_eq!(
        (read.submitted_at, read.submit_note.as_str()),
        (Some(T0 + 2 * HOUR), "NCR-1")
    );
    let ticked = &read.items[0];
    assert_eq!(ticked.key, "IDENTITY_VERIFIED");
    assert_eq!(
        ticked.completed_by,
        Some(actor("o2")),
        "the first completion stays"
    );
    assert_eq!(ticked.note, "身份证核验");
    assert!(read.items[1..].iter().all(|i| i.completed_at.is_none()));
    let history = store
        .service_request_history("sr-1")
        .await
        .expect("history");
    let kinds: Vec<(i64, i32)> = history.iter().map(|e| (e.seq, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (1, pb::ServiceRequestEventKind::Opened as i32),
            (2, pb::ServiceRequestEventKind::Submitted as i32)
        ]
    );
    let mut tx = db.db.begin_write().await.expect("tx");
    assert!(
        store
            .lock_service_request(&mut tx, "nope")
            .await
            .expect("lock")
            .is_none()
    );
    tx.rollback().await.expect("rollback");
}

/// Transactions stepping one request apply one after the other: each reads what the previous
/// wrote (no lost update of the request, no clash of history numbers).
async fn steps_on_one_request_serialise(backend: Backend) {
    let (db, store) = fresh(backend).await;
    let r = request(
        "sr-race",
        "st-a",
        pb::ServiceRequestType::InformationInquiry,
        T0,
    );
    put(&store, &db, &r).await;
    let step = |n: i64| {
        let store = store.clone();
        let db = db.db.clone();
        async move {
            let mut tx = db.begin_write().await.expect("tx");
            let mut locked = store
                .lock_service_request(&mut tx, "sr-race")
                .await
                .expect("lock")
                .expect("found");
            // Read, think, write: without the lock a concurrent step would be overwritten.
            locked.close_note.push_str(&format!("{n},"));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let event = RequestEvent {
                service_request_id: "sr-race".into(),
                kind: pb::ServiceRequestEventKind::ItemCompleted as i32,
                at: T0 + n,
                actor: actor("o1"),
                item_key: format!("K{n}"),
                status: locked.status,
                ..RequestEvent::default()
            };
            store
                .record_service_request_step(&mut tx, &locked, &event)
                .await
                .expect("step");
            tx.commit().await.expect("commit");
        }
    };
    let tasks: Vec<_> = (1..=6).map(|n| tokio::spawn(step(n))).collect();
    for task in tasks {
        task.await.expect("task");
    }
    let seqs: Vec<i64> = store
        .service_request_history("sr-race")
        .await
        .expect("history")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    let note = store
        .service_request("sr-race")
        .await
        .expect("read")
        .expect("found")
        .close_note;
    let mut steps: Vec<&str> = note.split(',').filter(|s| !s.is_empty()).collect();
    steps.sort_unstable();
    assert_eq!(
        steps,
        ["1", "2", "3", "4", "5", "6"],
        "every step kept: {note}"
    );
}

async fn listing_report_and_overdue(backend: Backend) {
    use pb::ServiceRequestType::{InformationInquiry, NoCriminalRecordCertificate};
    let (db, store) = fresh(backend).await;
    let mut submitted = request("sr-1", "st-a", NoCriminalRecordCertificate, T0);
    submitted.status = pb::ServiceRequestStatus::Submitted as i32;
    submitted.submitted_at = Some(T0 + 5 * HOUR);
    for r in [
        submitted,
        request("sr-2", "st-a", InformationInquiry, T0 + HOUR),
        request("sr-3", "st-b", InformationInquiry, T0 + 2 * HOUR),
        request("sr-4", "st-a", NoCriminalRecordCertificate, T0 + 30 * HOUR),
    ] {
        put(&store, &db, &r).await;
    }
    let ids = |list: Vec<ServiceRequest>| -> Vec<String> {
        list.into_iter().map(|r| r.service_request_id).collect()
    };
    let all = store
        .list_service_requests(&ServiceRequestFilter::default(), PAGE)
        .await
        .expect("list");
    assert_eq!(
        ids(all.clone()),
        ["sr-4", "sr-3", "sr-2", "sr-1"],
        "newest requested first"
    );
    assert_eq!(all[3].items.len(), 4, "checklists come with the page");
    let only_a = ServiceRequestFilter {
        scope: Scope {
            stations: Some(vec!["st-a".into()]),
            ..Scope::default()
        },
        ..ServiceRequestFilter::default()
    };
    let in_a = store
        .list_service_requests(&only_a, PAGE)
        .await
        .expect("list");
    assert_eq!(ids(in_a), ["sr-4", "sr-2", "sr-1"]);
    let filtered = ServiceRequestFilter {
        kind: InformationInquiry as i32,
        overdue_at: Some(T0 + 26 * HOUR),
        from: Some(T0),
        until: Some(T0 + 2 * HOUR),
        ..only_a.clone()
    };
    let overdue = store
        .list_service_requests(&filtered, PAGE)
        .await
        .expect("list");
    assert_eq!(ids(overdue), ["sr-2"]);
    let status = ServiceRequestFilter {
        status: pb::ServiceRequestStatus::Submitted as i32,
        ..ServiceRequestFilter::default()
    };
    let found = store
        .list_service_requests(&status, PAGE)
        .await
        .expect("list");
    assert_eq!(ids(found), ["sr-1"]);
    let officer = ServiceRequestFilter {
        scope: Scope {
            officer_id: "st-b-o1".into(),
            ..Scope::default()
        },
        ..ServiceRequestFilter::default()
    };
    let found = store
        .list_service_requests(&officer, PAGE)
        .await
        .expect("list");
    assert_eq!(ids(found), ["sr-3"]);
    let second = Page {
        offset: 1,
        limit: 2,
    };
    let page = store
        .list_service_requests(&ServiceRequestFilter::default(), second)
        .await
        .expect("page");
    assert_eq!(ids(page), ["sr-3", "sr-2"]);

    let report = store
        .service_requests_for_report(&only_a)
        .await
        .expect("report");
    let keys: Vec<(String, i32)> = report
        .iter()
        .map(|r| (r.station_id.clone(), r.kind))
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|(s, _)| s == "st-a"));
    assert!(report.iter().all(|r| r.items.is_empty()));

    let counts = store
        .overdue_service_request_counts(T0 + 27 * HOUR)
        .await
        .expect("counts");
    assert_eq!(counts.get(&(InformationInquiry as i32)), Some(&2));
    assert_eq!(counts.get(&(NoCriminalRecordCertificate as i32)), None);
}

backend_tests!(
    round_trip_and_steps,
    steps_on_one_request_serialise,
    listing_report_and_overdue,
);
