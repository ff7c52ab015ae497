//! Conformance of the SQL store on both backends: the same behaviour on SQLite and Postgres,
//! and rows written before the column layout (protobuf `doc`) still read after the upgrade.
//! One file past 600 lines on purpose: the whole Store contract reads in one place.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pingan_dispatch::MIGRATIONS;
use pingan_dispatch::domain::model::*;
use pingan_dispatch::store::{DispatchFilter, SqlStore, Store};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, StorageError};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{Db, with_db};
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1 as wire;
use pingan_proto::dispatch::v1::{
    AssignmentSource, AssignmentStatus, DispatchStatus, Disposition, TimelineEntryKind, UnitKind,
    UnitStatus,
};
use pingan_proto::grid::v1::{BroadcastAudience, StationKind};
use prost::Message;

async fn fresh(backend: Backend) -> (TestDatabase, SqlStore) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    (database, store)
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, minute, 0)
        .single()
        .expect("time")
}

fn actor(subject: &str) -> Actor {
    Actor {
        subject: subject.into(),
        role: "dispatcher".into(),
        display_name: format!("{subject} name"),
    }
}

fn new_unit(id: &str, station: &str, status: UnitStatus) -> NewUnit {
    NewUnit {
        unit_id: id.into(),
        kind: UnitKind::Drone,
        callsign: format!("{id}-call"),
        station_id: station.into(),
        grid_ids: vec!["g-1".into()],
        capabilities: vec!["aerial_video".into()],
        officer_ids: vec!["o-1".into(), "o-2".into()],
        initial_status: status,
    }
}

fn dispatch(id: &str, incident: &str, station: &str, opened: DateTime<Utc>) -> Dispatch {
    Dispatch {
        dispatch_id: id.into(),
        incident_id: incident.into(),
        status: DispatchStatus::Pending,
        priority: Priority::P1,
        category: "RESCUE".into(),
        location: Some(Point {
            lat: 31.2304,
            lon: 121.4737,
        }),
        address: "人民路 1 号".into(),
        summary: "someone in the river".into(),
        station_id: station.into(),
        grid_id: "g-1".into(),
        required_capabilities: vec!["water_rescue".into()],
        unit_requirements: vec![
            Requirement {
                kinds: vec![UnitKind::PatrolCar, UnitKind::Officer],
                capabilities: vec!["water_rescue".into()],
                count: 2,
            },
            Requirement {
                kinds: vec![UnitKind::Drone],
                capabilities: vec![],
                count: 1,
            },
        ],
        unfilled_requirements: vec![Requirement {
            kinds: vec![UnitKind::Drone],
            capabilities: vec![],
            count: 1,
        }],
        response_target: Some(Duration::from_millis(300_000) + Duration::from_nanos(7)),
        response_due_at: Some(opened + chrono::Duration::minutes(5)),
        sla_breached: false,
        assignments: Vec::new(),
        lookout: Some(Lookout {
            grid_id: "g-2".into(),
            audiences: vec![BroadcastAudience::Residents],
            message: "look out".into(),
        }),
        lookout_broadcast_id: String::new(),
        lookout_error: String::new(),
        disposition: Disposition::Unspecified,
        narrative: String::new(),
        opened_by: Some(actor("d-1")),
        closed_by: None,
        opened_at: opened,
        first_en_route_at: None,
        first_on_scene_at: None,
        closed_at: None,
        updated_at: opened,
        station_kind: StationKind::Rural,
    }
}

fn assignment(id: &str, dispatch_id: &str, unit_id: &str, assigned: DateTime<Utc>) -> Assignment {
    Assignment {
        assignment_id: id.into(),
        dispatch_id: dispatch_id.into(),
        unit_id: unit_id.into(),
        callsign: format!("{unit_id}-call"),
        unit_kind: UnitKind::Drone,
        status: AssignmentStatus::Assigned,
        source: AssignmentSource::Auto,
        escalated_from_assignment_id: String::new(),
        distance_m: 123.5,
        eta: Some(Duration::from_nanos(95_123_456_789)),
        assigned_by: Some(actor("dispatch")),
        note: "go".into(),
        assigned_at: assigned,
        ack_due_at: Some(assigned + chrono::Duration::seconds(60)),
        acknowledged_at: None,
        en_route_at: None,
        on_scene_at: None,
        ended_at: None,
        requirement: Some(Requirement {
            kinds: vec![UnitKind::Drone],
            capabilities: vec!["aerial_video".into()],
            count: 1,
        }),
    }
}

async fn insert(store: &SqlStore, db: &Db, d: &Dispatch) -> Result<(), StorageError> {
    let mut tx = db.begin_write().await?;
    store.insert_dispatch(&mut tx, d).await?;
    for a in &d.assignments {
        store.insert_assignment(&mut tx, a).await?;
    }
    tx.commit().await
}

async fn units_are_reserved_once_and_released(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.expect("tx");
    assert!(
        store
            .register_unit(
                &mut tx,
                &new_unit("u-1", "st-a", UnitStatus::Available),
                at(0)
            )
            .await
            .expect("register")
    );
    store
        .register_unit(
            &mut tx,
            &new_unit("u-2", "st-b", UnitStatus::OffDuty),
            at(0),
        )
        .await
        .expect("register");
    let mut again = new_unit("u-1", "st-a", UnitStatus::OffDuty);
    again.callsign = "renamed".into();
    assert!(
        !store
            .register_unit(&mut tx, &again, at(1))
            .await
            .expect("update")
    );
    tx.commit().await.expect("commit");
    let unit = store.unit("u-1").await.expect("unit").expect("some");
    assert_eq!(unit.callsign, "renamed");
    assert_eq!(unit.status, UnitStatus::Available, "status kept");
    assert_eq!(unit.kind, UnitKind::Drone);
    assert_eq!(unit.officer_ids, ["o-1", "o-2"]);
    assert_eq!(unit.created_at, at(0));
    assert_eq!(unit.updated_at, at(1));
    assert!(store.unit("nope").await.expect("unit").is_none());
    // Several units in one read: unknown ids are skipped, more ids than one statement binds.
    let wanted: Vec<String> = (0..1200)
        .map(|i| format!("missing-{i}"))
        .chain(["u-2".to_owned(), "u-1".to_owned()])
        .collect();
    let mut named = store.units(&wanted).await.expect("units");
    named.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    let named: Vec<(&str, &str)> = named
        .iter()
        .map(|u| (u.unit_id.as_str(), u.callsign.as_str()))
        .collect();
    assert_eq!(named, [("u-1", "renamed"), ("u-2", "u-2-call")]);
    assert!(store.units(&[]).await.expect("no ids").is_empty());
    let ids = |units: Vec<Unit>| units.into_iter().map(|u| u.unit_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_units("", "", 10).await.expect("list")),
        ["u-1", "u-2"]
    );
    assert_eq!(
        ids(store.list_units("", "st-b", 10).await.expect("list")),
        ["u-2"]
    );
    assert_eq!(
        ids(store.list_units("u-1", "", 10).await.expect("list")),
        ["u-2"]
    );
    assert_eq!(store.all_units().await.expect("all").len(), 2);
    let mut counts = store.unit_counts().await.expect("counts");
    counts.sort();
    assert_eq!(
        counts,
        [
            (("st-a".to_owned(), UnitStatus::Available), 1),
            (("st-b".to_owned(), UnitStatus::OffDuty), 1)
        ]
    );

    let mut tx = db.begin_write().await.expect("tx");
    assert!(
        store
            .reserve(&mut tx, "u-1", "d-1", "a-1", at(2))
            .await
            .expect("reserve")
    );
    assert!(
        !store
            .reserve(&mut tx, "u-1", "d-2", "a-2", at(2))
            .await
            .expect("second")
    );
    assert!(
        !store
            .reserve(&mut tx, "u-2", "d-1", "a-3", at(2))
            .await
            .expect("off duty")
    );
    assert!(
        !store
            .set_manual_status(&mut tx, "u-1", UnitStatus::Busy, "lunch", at(2))
            .await
            .expect("held")
    );
    let held = store
        .unit_in(&mut tx, "u-1")
        .await
        .expect("unit")
        .expect("some");
    assert_eq!(held.status, UnitStatus::Assigned);
    assert_eq!(held.current_assignment_id.as_deref(), Some("a-1"));
    assert!(
        store
            .set_held_status(&mut tx, "u-1", "a-1", UnitStatus::EnRoute, at(3))
            .await
            .expect("held status")
    );
    assert!(
        !store
            .set_held_status(&mut tx, "u-1", "a-9", UnitStatus::OnScene, at(3))
            .await
            .expect("other assignment")
    );
    assert!(
        store
            .release(&mut tx, "u-1", "a-1", UnitStatus::Busy, "tired", at(4))
            .await
            .expect("release")
    );
    tx.commit().await.expect("commit");
    let free = store.unit("u-1").await.expect("unit").expect("some");
    assert_eq!(free.status, UnitStatus::Busy);
    assert_eq!(free.status_reason, "tired");
    assert_eq!(free.current_dispatch_id, None);
    let mut tx = db.begin_write().await.expect("tx");
    assert!(
        store
            .set_manual_status(&mut tx, "u-1", UnitStatus::Available, "", at(5))
            .await
            .expect("manual")
    );
    assert!(
        !store
            .set_manual_status(&mut tx, "nope", UnitStatus::Available, "", at(5))
            .await
            .expect("no unit")
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        store.unit("u-1").await.expect("unit").expect("some").status,
        UnitStatus::Available
    );
}

async fn dispatches_round_trip_in_columns(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.expect("tx");
    store
        .register_unit(
            &mut tx,
            &new_unit("u-1", "st-a", UnitStatus::Available),
            at(0),
        )
        .await
        .expect("unit");
    store
        .register_unit(
            &mut tx,
            &new_unit("u-2", "st-a", UnitStatus::Available),
            at(0),
        )
        .await
        .expect("unit");
    tx.commit().await.expect("commit");
    let mut first = dispatch("d-1", "inc-1", "st-a", at(1));
    first.assignments = vec![assignment("a-1", "d-1", "u-1", at(1))];
    insert(&store, db, &first).await.expect("insert");
    assert_eq!(
        store.dispatch("d-1").await.expect("get"),
        Some(first.clone())
    );
    assert!(store.dispatch("nope").await.expect("get").is_none());
    let again = dispatch("d-x", "inc-1", "st-a", at(2));
    assert!(matches!(
        insert(&store, db, &again).await,
        Err(StorageError::Conflict(_))
    ));

    // Every field changes and reads back.
    let mut tx = db.begin_write().await.expect("tx");
    let mut locked = store
        .lock_dispatch(&mut tx, "d-1")
        .await
        .expect("lock")
        .expect("some");
    assert_eq!(locked, first);
    let mut moved = locked.assignments[0].clone();
    moved.status = AssignmentStatus::OnScene;
    moved.acknowledged_at = Some(at(2));
    moved.en_route_at = Some(at(2));
    moved.on_scene_at = Some(at(3));
    moved.requirement = None;
    moved.assigned_by = None;
    assert!(
        !store
            .update_assignment(&mut tx, &moved, AssignmentStatus::Acknowledged)
            .await
            .expect("stale")
    );
    assert!(
        store
            .update_assignment(&mut tx, &moved, AssignmentStatus::Assigned)
            .await
            .expect("update")
    );
    locked.assignments = vec![moved];
    locked.status = DispatchStatus::Closed;
    locked.unfilled_requirements.clear();
    locked.lookout = None;
    locked.lookout_broadcast_id = "b-1".into();
    locked.lookout_error = "timeout".into();
    locked.disposition = Disposition::ResolvedOnScene;
    locked.narrative = "done".into();
    locked.closed_by = Some(actor("d-2"));
    locked.first_en_route_at = Some(at(2));
    locked.first_on_scene_at = Some(at(3));
    locked.closed_at = Some(at(4));
    locked.updated_at = at(4);
    locked.sla_breached = true;
    locked.location = None;
    locked.response_target = None;
    store
        .update_dispatch(&mut tx, &locked)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.dispatch("d-1").await.expect("get"), Some(locked));
    // Closed: the incident may have a new open dispatch.
    insert(&store, db, &dispatch("d-2", "inc-1", "st-b", at(5)))
        .await
        .expect("second dispatch");
    insert(&store, db, &dispatch("d-3", "inc-3", "st-a", at(6)))
        .await
        .expect("third dispatch");

    let ids = |list: Vec<Dispatch>| list.into_iter().map(|d| d.dispatch_id).collect::<Vec<_>>();
    let all = DispatchFilter::default();
    assert_eq!(
        ids(store.list_dispatches(&all, None, 10).await.expect("list")),
        ["d-3", "d-2", "d-1"]
    );
    assert_eq!(
        ids(store
            .list_dispatches(&all, Some((at(5), "d-2".into())), 10)
            .await
            .expect("page")),
        ["d-1"]
    );
    let filters = [
        (
            DispatchFilter {
                station_id: "st-a".into(),
                ..DispatchFilter::default()
            },
            vec!["d-3", "d-1"],
        ),
        (
            DispatchFilter {
                incident_id: "inc-1".into(),
                ..DispatchFilter::default()
            },
            vec!["d-2", "d-1"],
        ),
        (
            DispatchFilter {
                only_sla_breached: true,
                ..DispatchFilter::default()
            },
            vec!["d-1"],
        ),
        (
            DispatchFilter {
                unit_id: "u-1".into(),
                ..DispatchFilter::default()
            },
            vec!["d-1"],
        ),
        (
            DispatchFilter {
                opened_from: Some(at(5)),
                opened_until: Some(at(6)),
                ..DispatchFilter::default()
            },
            vec!["d-2"],
        ),
    ];
    for (filter, want) in filters {
        assert_eq!(
            ids(store
                .list_dispatches(&filter, None, 10)
                .await
                .expect("list")),
            want,
            "{filter:?}"
        );
    }
    assert_eq!(
        ids(store.open_dispatches(10).await.expect("open")),
        ["d-2", "d-3"]
    );
    assert_eq!(
        store.sla_due(at(11), 10).await.expect("sla"),
        ["d-2", "d-3"]
    );
    assert_eq!(store.sla_due(at(10), 10).await.expect("sla"), ["d-2"]);
    assert!(store.sla_due(at(9), 10).await.expect("sla").is_empty());

    let mut waiting = dispatch("d-4", "inc-4", "st-a", at(7));
    waiting.assignments = vec![assignment("a-4", "d-4", "u-2", at(7))];
    insert(&store, db, &waiting).await.expect("insert");
    assert!(store.ack_due(at(7), 10).await.expect("ack").is_empty());
    assert_eq!(store.ack_due(at(8), 10).await.expect("ack"), ["d-4"]);
}

fn entry(id: &str, dispatch_id: &str, incident: &str, minute: u32) -> TimelineEntry {
    TimelineEntry {
        entry_id: id.into(),
        dispatch_id: dispatch_id.into(),
        incident_id: incident.into(),
        kind: TimelineEntryKind::Assigned,
        occurred_at: at(minute),
        unit_id: "u-1".into(),
        assignment_id: "a-1".into(),
        actor: Some(actor("d-1")),
        location: Some(Point {
            lat: 30.5,
            lon: 120.25,
        }),
        note: "n".into(),
        description: "u-1 assigned".into(),
        dispatch_status: DispatchStatus::Assigned,
    }
}

fn flight(id: &str, unit: &str, minute: u32) -> Flight {
    Flight {
        flight_id: id.into(),
        unit_id: unit.into(),
        dispatch_id: "d-1".into(),
        started_at: at(minute),
        ended_at: at(minute + 10),
        duration: Duration::from_secs(600),
        distance_m: 4200.5,
        pilot_officer_id: "o-1".into(),
        purpose: "search".into(),
        video_recorded: true,
        notes: "river".into(),
        logged_by: Some(actor("o-1")),
        created_at: at(minute + 11),
    }
}

async fn timeline_and_flights_round_trip(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.expect("tx");
    store
        .register_unit(
            &mut tx,
            &new_unit("u-1", "st-a", UnitStatus::Available),
            at(0),
        )
        .await
        .expect("unit");
    let mut quiet = entry("e-2", "d-2", "inc-1", 2);
    quiet.actor = None;
    quiet.location = None;
    for e in [
        entry("e-1", "d-1", "inc-1", 1),
        quiet.clone(),
        entry("e-3", "d-3", "inc-3", 3),
    ] {
        store.insert_entry(&mut tx, &e).await.expect("entry");
    }
    let mut untold = flight("f-2", "u-1", 30);
    untold.logged_by = None;
    for f in [flight("f-1", "u-1", 0), untold.clone()] {
        store
            .insert_flight(&mut tx, &f, "st-a")
            .await
            .expect("flight");
    }
    tx.commit().await.expect("commit");
    let timeline = store.timeline("d-1", "").await.expect("timeline");
    assert_eq!(timeline, [entry("e-1", "d-1", "inc-1", 1)]);
    let incident = store.timeline("", "inc-1").await.expect("timeline");
    assert_eq!(incident, [entry("e-1", "d-1", "inc-1", 1), quiet]);
    let flights = store.flights(None, None, "").await.expect("flights");
    assert_eq!(
        flights,
        [
            (flight("f-1", "u-1", 0), "st-a".to_owned()),
            (untold, "st-a".to_owned())
        ]
    );
    assert_eq!(
        store
            .flights(Some(at(1)), None, "")
            .await
            .expect("flights")
            .len(),
        1
    );
    assert!(
        store
            .flights(None, None, "st-b")
            .await
            .expect("flights")
            .is_empty()
    );
}

/// Writes rows the way the service did before migration 0002: the record as a protobuf `doc`,
/// only the filter columns beside it.
async fn insert_legacy(db: &Db, d: &wire::Dispatch, e: &wire::TimelineEntry, f: &wire::Flight) {
    let time = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
    };
    let header = wire::Dispatch {
        assignments: Vec::new(),
        ..d.clone()
    };
    with_db!(db, pool => sqlx::query("INSERT INTO dispatch_dispatches (dispatch_id, incident_id, station_id, grid_id, status, priority, is_open, sla_breached, response_due_at, first_en_route_at, opened_at, closed_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6, TRUE, FALSE, $7, NULL, $8, NULL, $8, $9)")
        .bind(&d.dispatch_id)
        .bind(&d.incident_id)
        .bind(&d.station_id)
        .bind(&d.grid_id)
        .bind(d.status)
        .bind(d.priority)
        .bind(time(&d.response_due_at))
        .bind(time(&d.opened_at))
        .bind(header.encode_to_vec())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("legacy dispatch");
    for a in &d.assignments {
        with_db!(db, pool => sqlx::query("INSERT INTO dispatch_assignments (assignment_id, dispatch_id, unit_id, status, active, ack_due_at, assigned_at, doc) VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7)")
            .bind(&a.assignment_id)
            .bind(&a.dispatch_id)
            .bind(&a.unit_id)
            .bind(a.status)
            .bind(time(&a.ack_due_at))
            .bind(time(&a.assigned_at))
            .bind(a.encode_to_vec())
            .execute(pool)
            .await
            .map(|_| ()))
        .expect("legacy assignment");
    }
    with_db!(db, pool => sqlx::query("INSERT INTO dispatch_timeline (entry_id, dispatch_id, incident_id, occurred_at, doc) VALUES ($1, $2, $3, $4, $5)")
        .bind(&e.entry_id)
        .bind(&e.dispatch_id)
        .bind(&e.incident_id)
        .bind(time(&e.occurred_at))
        .bind(e.encode_to_vec())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("legacy entry");
    with_db!(db, pool => sqlx::query("INSERT INTO dispatch_flights (flight_id, unit_id, station_id, dispatch_id, started_at, ended_at, distance_m, duration_ms, created_at, doc) VALUES ($1, $2, 'st-a', $3, $4, $5, $6, 600000, $7, $8)")
        .bind(&f.flight_id)
        .bind(&f.unit_id)
        .bind(&f.dispatch_id)
        .bind(time(&f.started_at))
        .bind(time(&f.ended_at))
        .bind(f.distance_m)
        .bind(time(&f.created_at))
        .bind(f.encode_to_vec())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("legacy flight");
}

async fn rows_written_before_the_column_layout_survive_the_upgrade(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let db = &database.db;
    let mut tx = db.begin_write().await.expect("tx");
    store
        .register_unit(
            &mut tx,
            &new_unit("u-1", "st-a", UnitStatus::Available),
            at(0),
        )
        .await
        .expect("unit");
    tx.commit().await.expect("commit");
    let mut record = dispatch("d-old", "inc-old", "st-a", at(1));
    record.assignments = vec![assignment("a-old", "d-old", "u-1", at(1))];
    let old_entry = entry("e-old", "d-old", "inc-old", 2);
    let old_flight = flight("f-old", "u-1", 3);
    insert_legacy(
        db,
        &wire::Dispatch::from(&record),
        &wire::TimelineEntry::from(&old_entry),
        &wire::Flight::from(&old_flight),
    )
    .await;

    // Read as they are, before the conversion ran.
    assert_eq!(
        store.dispatch("d-old").await.expect("get"),
        Some(record.clone())
    );
    assert_eq!(
        store.timeline("d-old", "").await.expect("timeline"),
        std::slice::from_ref(&old_entry)
    );
    // Converted once, then read from the columns.
    assert_eq!(store.convert_legacy_rows().await.expect("convert"), 4);
    assert_eq!(store.convert_legacy_rows().await.expect("again"), 0);
    let blobs: i64 = with_db!(db, pool => sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM dispatch_dispatches WHERE length(doc) > 0) + (SELECT COUNT(*) FROM dispatch_assignments WHERE length(doc) > 0) + (SELECT COUNT(*) FROM dispatch_timeline WHERE length(doc) > 0) + (SELECT COUNT(*) FROM dispatch_flights WHERE length(doc) > 0)")
        .fetch_one(pool)
        .await)
    .expect("count");
    assert_eq!(blobs, 0);
    assert_eq!(store.dispatch("d-old").await.expect("get"), Some(record));
    assert_eq!(
        store.timeline("", "inc-old").await.expect("timeline"),
        [old_entry]
    );
    assert_eq!(
        store.flights(None, None, "").await.expect("flights"),
        [(old_flight, "st-a".to_owned())]
    );
}

backend_tests!(
    units_are_reserved_once_and_released,
    dispatches_round_trip_in_columns,
    timeline_and_flights_round_trip,
    rows_written_before_the_column_layout_survive_the_upgrade,
);
