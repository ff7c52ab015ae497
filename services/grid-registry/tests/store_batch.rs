//! Lists load their child rows in one query per child table (not one per parent): each parent
//! must still get exactly its own children, in order, on both backends.

use pingan_grid_registry::MIGRATIONS;
use pingan_grid_registry::domain::*;
use pingan_grid_registry::store::{
    NeedFilter, OutreachFilter, Page, ReinspectionFilter, Scope, SqlStore, Store,
};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, Tx};
use pingan_platform::testing::TestDatabase;

const PAGE: Page = Page {
    offset: 0,
    limit: 100,
};

/// Runs one write in its own committed transaction.
async fn commit<T>(db: &pingan_platform::Db, write: impl AsyncFnOnce(&mut Tx) -> T) -> T {
    let mut tx = db.begin_write().await.expect("begin");
    let out = write(&mut tx).await;
    tx.commit().await.expect("commit");
    out
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

async fn lists_get_their_own_children(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let db = database.db.clone();
    let store = SqlStore::new(db.clone());
    let station = Station {
        station_id: "st-a".into(),
        kind: 2,
        ..Station::default()
    };
    commit(&db, async |tx| store.put_station(tx, &station).await)
        .await
        .expect("station");
    for id in ["g-1", "g-2"] {
        let grid = Grid {
            grid_id: id.into(),
            station_id: "st-a".into(),
            polygon: vec![
                LatLon::new(0.0, 0.0),
                LatLon::new(0.0, 1.0),
                LatLon::new(1.0, 1.0),
                LatLon::new(0.0, 0.0),
            ],
            ..Grid::default()
        };
        commit(&db, async |tx| store.put_grid(tx, &grid).await)
            .await
            .expect("grid");
    }

    for (id, tags) in [("r-1", vec![2, 1]), ("r-2", vec![3]), ("r-3", vec![])] {
        let resident = Resident {
            resident_id: id.into(),
            id_number_hash: format!("hash-{id}"),
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            tags,
            ..Resident::default()
        };
        commit(&db, async |tx| store.put_resident(tx, &resident).await)
            .await
            .expect("resident");
    }
    let residents = store.residents(&Scope::default()).await.expect("residents");
    let tags: Vec<(&str, &[i32])> = residents
        .iter()
        .map(|r| (r.resident_id.as_str(), r.tags.as_slice()))
        .collect();
    assert_eq!(
        tags,
        [("r-1", &[2, 1][..]), ("r-2", &[3][..]), ("r-3", &[][..])]
    );

    for (id, templates) in [("p-1", strings(&["b", "a"])), ("p-2", strings(&["c"]))] {
        let premises = Premises {
            premises_id: id.into(),
            kind: 1,
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            inspection_template_ids: templates,
            ..Premises::default()
        };
        commit(&db, async |tx| store.put_premises(tx, &premises).await)
            .await
            .expect("premises");
    }
    let premises = store.premises_in_grid("g-1").await.expect("premises");
    assert_eq!(premises[0].inspection_template_ids, ["b", "a"]);
    assert_eq!(premises[1].inspection_template_ids, ["c"]);

    for (grid, officer, role) in [
        ("g-1", "o-duty", 4),
        ("g-1", "o-village", 1),
        ("g-2", "o-other", 1),
    ] {
        let officer = GridOfficer {
            grid_id: grid.into(),
            officer_id: officer.into(),
            role,
            ..GridOfficer::default()
        };
        commit(&db, async |tx| store.put_officer(tx, &officer).await)
            .await
            .expect("officer");
    }
    // More ids than one IN list takes: the chunks together find every officer once.
    let mut grids: Vec<String> = (0..1200).map(|n| format!("g-none-{n}")).collect();
    grids.extend(strings(&["g-2", "g-1"]));
    let officers = store.officers_of(&grids).await.expect("officers");
    let found: Vec<(&str, &str)> = officers
        .iter()
        .map(|o| (o.grid_id.as_str(), o.officer_id.as_str()))
        .collect();
    assert_eq!(
        found,
        [("g-1", "o-village"), ("g-1", "o-duty"), ("g-2", "o-other")]
    );
    assert!(store.officers_of(&[]).await.expect("none").is_empty());

    for (id, resident, status) in [("n-1", "r-1", 1), ("n-2", "r-1", 1), ("n-3", "r-2", 1)] {
        let need = Need {
            need_id: id.into(),
            request_id: format!("req-{id}"),
            resident_id: resident.into(),
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            category: 1,
            status,
            ..Need::default()
        };
        commit(&db, async |tx| store.insert_need(tx, &need).await)
            .await
            .expect("need");
    }
    let mut settled = store.need("n-2").await.expect("get").expect("some");
    settled.status = 2;
    commit(&db, async |tx| store.settle_need(tx, &settled).await)
        .await
        .expect("settle");
    let counts = store
        .open_need_counts(&strings(&["r-1", "r-2", "r-3"]))
        .await
        .expect("counts");
    assert_eq!(counts.get("r-1"), Some(&1));
    assert_eq!(counts.get("r-2"), Some(&1));
    assert_eq!(counts.get("r-3"), None);
    assert_eq!(
        store
            .open_needs(&NeedFilter::default(), PAGE)
            .await
            .expect("open")
            .len(),
        2
    );

    let item = |code: &str, evidence: &[&str]| InspectionItem {
        item_code: code.into(),
        description: code.into(),
        result: 1,
        note: String::new(),
        evidence_refs: strings(evidence),
    };
    let hazard = |id: &str| Hazard {
        hazard_id: id.into(),
        item_code: "a".into(),
        description: id.into(),
        severity: 1,
        required_action: String::new(),
    };
    let inspections = [
        Inspection {
            inspection_id: "i-1".into(),
            request_id: "req-i-1".into(),
            premises_id: "p-1".into(),
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            premises_kind: 1,
            status: 3,
            rectification_deadline: Some(1_000),
            items: vec![item("a", &["e-1", "e-2"]), item("b", &[])],
            hazards: vec![hazard("h-1")],
            inspector_officer_ids: strings(&["o-1", "o-2"]),
            ..Inspection::default()
        },
        Inspection {
            inspection_id: "i-2".into(),
            request_id: "req-i-2".into(),
            premises_id: "p-2".into(),
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            premises_kind: 1,
            status: 3,
            rectification_deadline: Some(2_000),
            items: vec![item("c", &["e-3"])],
            hazards: vec![hazard("h-2"), hazard("h-3")],
            inspector_officer_ids: strings(&["o-3"]),
            ..Inspection::default()
        },
    ];
    for inspection in &inspections {
        commit(&db, async |tx| {
            store.insert_inspection(tx, inspection).await
        })
        .await
        .expect("inspection");
    }
    let due = store
        .due_reinspections(&ReinspectionFilter::default(), PAGE)
        .await
        .expect("due");
    assert_eq!(due.len(), 2);
    for (read, written) in due.iter().zip(&inspections) {
        assert_eq!(read.inspection_id, written.inspection_id);
        assert_eq!(read.items, written.items);
        assert_eq!(read.hazards, written.hazards);
        assert_eq!(read.inspector_officer_ids, written.inspector_officer_ids);
    }

    let events = [
        Outreach {
            outreach_id: "o-1".into(),
            request_id: "req-o-1".into(),
            grid_id: "g-1".into(),
            station_id: "st-a".into(),
            topics: vec![2, 1],
            held_at: 10,
            organizer_ids: strings(&["x", "y"]),
            partners: strings(&["school"]),
            evidence_refs: strings(&["photo-1"]),
            ..Outreach::default()
        },
        Outreach {
            outreach_id: "o-2".into(),
            request_id: "req-o-2".into(),
            grid_id: "g-2".into(),
            station_id: "st-a".into(),
            topics: vec![3],
            held_at: 20,
            organizer_ids: strings(&["z"]),
            ..Outreach::default()
        },
    ];
    for event in &events {
        commit(&db, async |tx| store.insert_outreach(tx, event).await)
            .await
            .expect("outreach");
    }
    let read = store
        .outreach(&OutreachFilter::default())
        .await
        .expect("outreach");
    assert_eq!(read.len(), 2);
    for (read, written) in read.iter().zip(&events) {
        assert_eq!(read.outreach_id, written.outreach_id);
        assert_eq!(read.topics, written.topics);
        assert_eq!(read.organizer_ids, written.organizer_ids);
        assert_eq!(read.partners, written.partners);
        assert_eq!(read.evidence_refs, written.evidence_refs);
    }
    database.cleanup().await;
}

backend_tests!(lists_get_their_own_children);
