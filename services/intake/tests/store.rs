//! Conformance of the SQL store on both backends: incidents, calls and their first answers, the
//! timeline, duplicate links (and how a linked id resolves), and ListIncidents' filters and
//! keyset pages behave the same on SQLite and Postgres; the classification's columns and the
//! conversion of old blobs are in `store/classification.rs`.
//! A little past 500 lines on purpose: the whole Store contract reads in one place.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_intake::MIGRATIONS;
use pingan_intake::domain::{CallRecord, ClassificationRecord, EntryRecord, IncidentRecord};
use pingan_intake::store::{IncidentFilter, SqlStore, Store};
use pingan_platform::backend_tests;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::common::v1::Channel;
use pingan_proto::intake::v1::IncidentStatus;
use pingan_proto::triage::v1::Kind;

/// Triage's classification in columns and child rows, and blobs of the old layout converted.
#[path = "store/classification.rs"]
mod classification;
/// Dispatch's echo of intake's own dispatch.
#[path = "store/dispatch_echo.rs"]
mod dispatch_echo;
/// Incidents filed under their duplicate-search cell, old rows filed on start.
#[path = "store/link_filing.rs"]
mod link_filing;

async fn fresh(backend: Backend) -> (TestDatabase, SqlStore) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    (database, store)
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .expect("time")
        + Duration::minutes(minute)
}

/// A classified, located police incident received at `at(minute)`, station `station`.
fn incident(id: &str, minute: i64, station: &str) -> IncidentRecord {
    IncidentRecord {
        incident_id: id.into(),
        status: IncidentStatus::Classified as i32,
        channel: Channel::Channel110 as i32,
        description: "有人打架".into(),
        has_location: true,
        lat: 29.65,
        lon: 91.13,
        address: "城南路 12 号".into(),
        grid_id: format!("g-{station}"),
        station_id: station.into(),
        grid_located: true,
        station_kind: 2,
        classification: Some(ClassificationRecord {
            kind: Kind::Police,
            category: "PUBLIC_ORDER".into(),
            ..ClassificationRecord::default()
        }),
        kind: 1,
        category: "PUBLIC_ORDER".into(),
        priority: 2,
        police_override: false,
        dispatch_id: String::new(),
        assigned_unit_ids: String::new(),
        transfer_id: String::new(),
        hotline_ticket_id: String::new(),
        complaint_id: String::new(),
        pending_reason: String::new(),
        close_reason: String::new(),
        routing_pending: true,
        routing_attempts: 0,
        received_at: at(minute),
        classified_at: Some(at(minute) + Duration::seconds(3)),
        unit_assigned_at: None,
        en_route_at: None,
        on_scene_at: None,
        closed_at: None,
        followed_up_at: None,
        response_target_ms: 300_000,
        response_target_breached: false,
        created_at: at(minute),
        updated_at: at(minute),
        merged_into: String::new(),
        merged_at: None,
        link_checked: false,
    }
}

fn call(id: &str, incident_id: &str, minute: i64) -> CallRecord {
    CallRecord {
        call_id: id.into(),
        incident_id: incident_id.into(),
        request_id: format!("r-{id}"),
        channel: Channel::Channel110 as i32,
        source_call_id: format!("110-{id}"),
        caller_phone_masked: "182****6977".into(),
        caller_phone_sealed: Some(vec![1, 2, 3]),
        caller_phone_index: format!("idx-{id}"),
        caller_name: "王先生".into(),
        has_location: true,
        lat: 29.65,
        lon: 91.13,
        address: "城南路 12 号".into(),
        description: "有人打架".into(),
        reported_category: "PUBLIC_ORDER".into(),
        inbound_transfer_id: String::new(),
        received_at: at(minute),
        duplicate: false,
        distance_m: 0.0,
        created_at: at(minute),
        first_incident_id: incident_id.into(),
        answer_incident_id: None,
        answer_outcome: 0,
    }
}

fn entry(id: &str, incident_id: &str, minute: i64, summary: &str) -> EntryRecord {
    EntryRecord {
        entry_id: id.into(),
        incident_id: incident_id.into(),
        at: at(minute),
        kind: 1,
        actor_subject: "d-1".into(),
        actor_role: "dispatcher".into(),
        actor_name: "调度员".into(),
        source: "intake".into(),
        summary: summary.into(),
        from_status: 0,
        to_status: 1,
        unit_id: "u-1".into(),
        related_id: "call-1".into(),
        event_id: "ev-1".into(),
    }
}

async fn insert(store: &SqlStore, database: &TestDatabase, incidents: &[IncidentRecord]) {
    let mut tx = database.db.begin_write().await.expect("tx");
    store.write_lock(&mut tx).await.expect("write lock");
    for i in incidents {
        store.insert_incident(&mut tx, i).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

fn ids(incidents: &[IncidentRecord]) -> Vec<&str> {
    incidents.iter().map(|i| i.incident_id.as_str()).collect()
}

/// The first ten incidents as the list RPC would show them.
async fn first_ten(store: &SqlStore) -> Vec<IncidentRecord> {
    store
        .list(&IncidentFilter {
            limit: 10,
            ..IncidentFilter::default()
        })
        .await
        .expect("list")
}

async fn incidents_round_trip_and_save(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let original = incident("inc-1", 0, "s-1");
    insert(&store, &database, std::slice::from_ref(&original)).await;
    assert_eq!(
        store.incident_exact("inc-1").await.expect("read"),
        Some(original.clone())
    );
    assert_eq!(
        store.incident("inc-1").await.expect("read"),
        Some(original.clone())
    );
    assert_eq!(store.incident("inc-unknown").await.expect("read"), None);

    let mut tx = database.db.begin_write().await.expect("tx");
    let mut locked = store
        .lock_incident(&mut tx, "inc-1")
        .await
        .expect("lock")
        .expect("found");
    locked.status = IncidentStatus::Dispatched as i32;
    locked.dispatch_id = "d-1".into();
    locked.assigned_unit_ids = "u-1,u-2".into();
    locked.transfer_id = "tr-1".into();
    locked.unit_assigned_at = Some(at(2));
    locked.routing_pending = false;
    locked.routing_attempts = 3;
    locked.response_target_breached = true;
    locked.updated_at = at(2);
    store.save_incident(&mut tx, &locked).await.expect("save");
    store
        .set_location(&mut tx, "inc-1", 29.7, 91.2)
        .await
        .expect("location");
    store
        .set_address(&mut tx, "inc-1", "北京路 1 号")
        .await
        .expect("address");
    tx.commit().await.expect("commit");

    let saved = store
        .incident_exact("inc-1")
        .await
        .expect("read")
        .expect("found");
    let expected = IncidentRecord {
        lat: 29.7,
        lon: 91.2,
        address: "北京路 1 号".into(),
        ..locked
    };
    assert_eq!(saved, expected);

    let mut tx = database.db.begin_write().await.expect("tx");
    assert_eq!(
        store
            .incident_by_transfer(&mut tx, "tr-1")
            .await
            .expect("by transfer"),
        Some("inc-1".to_owned())
    );
    assert_eq!(
        store
            .incident_by_transfer(&mut tx, "")
            .await
            .expect("by transfer"),
        None,
        "an empty transfer id matches no incident"
    );
    assert!(
        store
            .lock_exact(&mut tx, "inc-unknown")
            .await
            .expect("lock")
            .is_none()
    );
    tx.rollback().await.expect("rollback");
    database.cleanup().await;
}

async fn calls_keep_the_first_answer(backend: Backend) {
    let (database, store) = fresh(backend).await;
    insert(&store, &database, &[incident("inc-1", 0, "s-1")]).await;
    let first = call("call-1", "inc-1", 0);
    let later = CallRecord {
        duplicate: true,
        distance_m: 42.5,
        first_incident_id: "inc-0".into(),
        caller_phone_sealed: None,
        ..call("call-2", "inc-1", 1)
    };
    let earlier_duplicate = CallRecord {
        duplicate: true,
        ..call("call-0", "inc-1", -1)
    };
    let mut tx = database.db.begin_write().await.expect("tx");
    for c in [&later, &first, &earlier_duplicate] {
        store.insert_call(&mut tx, c).await.expect("insert call");
    }
    assert_eq!(
        store
            .call_by_source(&mut tx, Channel::Channel110 as i32, "110-call-1")
            .await
            .expect("by source"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .call_by_source(&mut tx, Channel::Channel12345 as i32, "110-call-1")
            .await
            .expect("by source"),
        None,
        "a source call id is per channel"
    );
    let in_tx = store.calls_in(&mut tx, "inc-1").await.expect("calls in");
    tx.commit().await.expect("commit");

    let calls = store.calls_of("inc-1").await.expect("calls");
    // The own call first, then duplicates by time.
    let order: Vec<_> = calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(order, ["call-1", "call-0", "call-2"]);
    assert_eq!(in_tx, calls);
    assert_eq!(store.call("call-2").await.expect("call"), Some(later));
    assert_eq!(store.call("call-9").await.expect("call"), None);

    let recorded = store
        .record_answer("call-1", "inc-1", 3)
        .await
        .expect("answer");
    assert_eq!(recorded, Some(("inc-1".to_owned(), 3)));
    let again = store
        .record_answer("call-1", "inc-9", 5)
        .await
        .expect("answer");
    assert_eq!(
        again,
        Some(("inc-1".to_owned(), 3)),
        "the first answer wins"
    );
    assert_eq!(
        store
            .record_answer("call-9", "inc-1", 3)
            .await
            .expect("answer"),
        None
    );
    database.cleanup().await;
}

async fn the_timeline_reads_in_order(backend: Backend) {
    let (database, store) = fresh(backend).await;
    insert(&store, &database, &[incident("inc-1", 0, "s-1")]).await;
    let entries = [
        entry("e-3", "inc-1", 2, "third"),
        entry("e-1", "inc-1", 1, "first"),
        entry("e-2", "inc-1", 1, "second, same instant, written later"),
        entry("e-x", "inc-2", 0, "another incident"),
    ];
    let mut tx = database.db.begin_write().await.expect("tx");
    for e in &entries {
        store.insert_entry(&mut tx, e).await.expect("entry");
    }
    tx.commit().await.expect("commit");
    let timeline = store.timeline("inc-1").await.expect("timeline");
    assert_eq!(
        timeline,
        [entries[1].clone(), entries[2].clone(), entries[0].clone()]
    );
    database.cleanup().await;
}

async fn a_linked_incident_resolves_to_its_primary(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut primary = incident("inc-a", 0, "s-1");
    primary.link_checked = true;
    let newcomer = incident("inc-b", 2, "s-1");
    let far_in_time = IncidentRecord {
        link_checked: true,
        ..incident("inc-c", 60, "s-1")
    };
    let closed = IncidentRecord {
        link_checked: true,
        status: IncidentStatus::Closed as i32,
        ..incident("inc-d", 1, "s-1")
    };
    let undecided = incident("inc-e", 1, "s-1");
    // Decided and open in the window, but across town (~5 km): filed in another cell.
    let across_town = IncidentRecord {
        link_checked: true,
        lat: 29.695,
        ..incident("inc-f", 1, "s-1")
    };
    insert(
        &store,
        &database,
        &[
            primary.clone(),
            newcomer.clone(),
            far_in_time,
            closed,
            undecided,
            across_town,
        ],
    )
    .await;
    let mut tx = database.db.begin_write().await.expect("tx");
    store
        .insert_call(&mut tx, &call("call-a", "inc-a", 0))
        .await
        .expect("call");
    store
        .insert_call(&mut tx, &call("call-b", "inc-b", 2))
        .await
        .expect("call");
    tx.commit().await.expect("commit");

    let mut tx = database.db.begin_write().await.expect("tx");
    store
        .take_link_cells(&mut tx, &["1:23930:54226".to_owned()], at(3))
        .await
        .expect("link cells");
    let cells = pingan_intake::domain::search_cells(29.65, 91.13, 300.0).expect("a town's box");
    let candidates = store
        .link_candidates(&mut tx, "inc-b", Some(&cells), at(-13), at(17))
        .await
        .expect("candidates");
    let candidate_ids: Vec<_> = candidates.iter().map(|c| c.incident_id.as_str()).collect();
    assert_eq!(
        candidate_ids,
        ["inc-a"],
        "decided, open, in the window, nearby"
    );
    let anywhere = store
        .link_candidates(&mut tx, "inc-b", None, at(-13), at(17))
        .await
        .expect("candidates anywhere");
    let anywhere_ids: Vec<_> = anywhere.iter().map(|c| c.incident_id.as_str()).collect();
    assert_eq!(
        anywhere_ids,
        ["inc-a", "inc-f"],
        "the window's, wherever they are"
    );
    assert_eq!(candidates[0].category, "PUBLIC_ORDER");
    assert_eq!(candidates[0].received_at, at(0));
    assert!(
        store
            .link(&mut tx, "inc-b", "inc-a", 12.5, at(3))
            .await
            .expect("link")
    );
    assert!(
        !store
            .link(&mut tx, "inc-b", "inc-a", 12.5, at(3))
            .await
            .expect("link"),
        "linked once"
    );
    let mut undecided = store
        .lock_exact(&mut tx, "inc-e")
        .await
        .expect("lock")
        .expect("found");
    undecided.link_checked = true;
    store
        .save_incident(&mut tx, &undecided)
        .await
        .expect("primary");
    tx.commit().await.expect("commit");

    // A cell is taken again by the next decision.
    let mut tx = database.db.begin_write().await.expect("tx");
    store
        .take_link_cells(&mut tx, &["1:23930:54226".to_owned()], at(4))
        .await
        .expect("link cells again");
    let locked = store
        .lock_incident(&mut tx, "inc-b")
        .await
        .expect("lock")
        .expect("resolves");
    assert_eq!(locked.incident_id, "inc-a", "a linked id locks its primary");
    let exact = store
        .lock_exact(&mut tx, "inc-b")
        .await
        .expect("lock")
        .expect("found");
    assert_eq!(exact.merged_into, "inc-a");
    assert_eq!(exact.merged_at, Some(at(3)));
    assert!(exact.link_checked && !exact.routing_pending);
    tx.rollback().await.expect("rollback");

    let resolved = store.incident("inc-b").await.expect("read").expect("found");
    assert_eq!(resolved, primary);
    assert!(
        store
            .incident_exact("inc-e")
            .await
            .expect("read")
            .expect("found")
            .link_checked
    );
    assert_eq!(store.linked_ids("inc-a").await.expect("linked"), ["inc-b"]);
    let calls = store.calls_of("inc-a").await.expect("calls");
    let moved = calls
        .iter()
        .find(|c| c.call_id == "call-b")
        .expect("moved call");
    assert!(moved.duplicate);
    assert_eq!(moved.distance_m, 12.5);
    assert_eq!(moved.first_incident_id, "inc-b");
    assert!(store.calls_of("inc-b").await.expect("calls").is_empty());
    let listed = first_ten(&store).await;
    assert!(
        !ids(&listed).contains(&"inc-b"),
        "a linked incident is listed through its primary"
    );
    database.cleanup().await;
}

async fn lists_filter_and_page(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let dispatched = IncidentRecord {
        status: IncidentStatus::Dispatched as i32,
        priority: 1,
        ..incident("inc-1", 1, "s-1")
    };
    let hotline = IncidentRecord {
        channel: Channel::Channel12345 as i32,
        ..incident("inc-2", 2, "s-2")
    };
    let held = IncidentRecord {
        has_location: false,
        routing_pending: false,
        ..incident("inc-3", 3, "s-1")
    };
    let same_instant = incident("inc-4", 3, "s-3");
    insert(
        &store,
        &database,
        &[dispatched, hotline, held, same_instant],
    )
    .await;
    let list = |filter: IncidentFilter| {
        let store = store.clone();
        async move { store.list(&filter).await.expect("list") }
    };
    let all = IncidentFilter {
        limit: 10,
        ..IncidentFilter::default()
    };
    assert_eq!(
        ids(&list(all.clone()).await),
        ["inc-4", "inc-3", "inc-2", "inc-1"],
        "newest first, id descending within an instant"
    );
    let by_status = IncidentFilter {
        statuses: format!("{},{}", IncidentStatus::Dispatched as i32, 9),
        ..all.clone()
    };
    assert_eq!(ids(&list(by_status).await), ["inc-1"]);
    let by_station = IncidentFilter {
        station_id: "s-1".into(),
        ..all.clone()
    };
    assert_eq!(ids(&list(by_station).await), ["inc-3", "inc-1"]);
    let by_grid = IncidentFilter {
        grid_id: "g-s-2".into(),
        ..all.clone()
    };
    assert_eq!(ids(&list(by_grid).await), ["inc-2"]);
    let by_channel = IncidentFilter {
        channel: Channel::Channel12345 as i32,
        ..all.clone()
    };
    assert_eq!(ids(&list(by_channel).await), ["inc-2"]);
    let by_priority = IncidentFilter {
        priorities: "1".into(),
        ..all.clone()
    };
    assert_eq!(ids(&list(by_priority).await), ["inc-1"]);
    let in_jurisdiction = IncidentFilter {
        jurisdiction: "s-2,s-3".into(),
        ..all.clone()
    };
    assert_eq!(ids(&list(in_jurisdiction).await), ["inc-4", "inc-2"]);
    let in_range = IncidentFilter {
        received_from: Some(at(2)),
        received_to: Some(at(3)),
        ..all.clone()
    };
    assert_eq!(
        ids(&list(in_range).await),
        ["inc-2"],
        "from inclusive, to exclusive"
    );
    let held_only = IncidentFilter {
        needs_location: true,
        ..all.clone()
    };
    assert_eq!(ids(&list(held_only).await), ["inc-3"]);

    let first_page = list(IncidentFilter {
        limit: 1,
        ..all.clone()
    })
    .await;
    assert_eq!(ids(&first_page), ["inc-4"]);
    let after = |last: &IncidentRecord| IncidentFilter {
        after: Some((last.received_at, last.incident_id.clone())),
        limit: 2,
        ..all.clone()
    };
    let second_page = list(after(&first_page[0])).await;
    assert_eq!(
        ids(&second_page),
        ["inc-3", "inc-2"],
        "the same instant continues by id"
    );
    let last_page = list(after(&second_page[1])).await;
    assert_eq!(ids(&last_page), ["inc-1"]);
    database.cleanup().await;
}

backend_tests!(
    incidents_round_trip_and_save,
    calls_keep_the_first_answer,
    the_timeline_reads_in_order,
    a_linked_incident_resolves_to_its_primary,
    lists_filter_and_page,
);
