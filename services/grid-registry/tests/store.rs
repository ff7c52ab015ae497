//! Conformance of the SQL store on both backends: the same behaviour on SQLite and Postgres.
//! Past 500 lines because it is one suite: every Store operation once, each scenario short.

use pingan_grid_registry::MIGRATIONS;
use pingan_grid_registry::domain::*;
use pingan_grid_registry::store::{
    Inserted, NeedFilter, OutreachFilter, Page, ReinspectionFilter, Scope, SqlStore, Store,
};
use pingan_platform::Db;
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, StorageError};
use pingan_platform::testing::TestDatabase;

const PAGE: Page = Page {
    offset: 0,
    limit: 100,
};

async fn fresh(backend: Backend) -> (TestDatabase, Committing) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = Committing {
        store: SqlStore::new(database.db.clone()),
        db: database.db.clone(),
    };
    (database, store)
}

/// The store with each write in its own committed transaction (the service commits its writes
/// together with their audit records); reads go straight to the store.
struct Committing {
    store: SqlStore,
    db: Db,
}

impl std::ops::Deref for Committing {
    type Target = SqlStore;
    fn deref(&self) -> &SqlStore {
        &self.store
    }
}

macro_rules! committing {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        impl Committing {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$out, StorageError> {
                    let mut tx = self.db.begin_write().await?;
                    let out = self.store.$name(&mut tx, $($arg),*).await?;
                    tx.commit().await?;
                    Ok(out)
                }
            )*
        }
    };
}

committing! {
    put_station(s: &Station) -> bool;
    put_grid(g: &Grid) -> bool;
    put_officer(o: &GridOfficer) -> ();
    remove_officer(grid_id: &str, officer_id: &str, role: i32) -> bool;
    put_resident(r: &Resident) -> bool;
    put_address(a: &Address) -> bool;
    insert_visit(v: &Visit) -> Inserted<Visit>;
    insert_need(n: &Need) -> Inserted<Need>;
    settle_need(n: &Need) -> bool;
    insert_inspection(i: &Inspection) -> Inserted<Inspection>;
    update_inspection(i: &Inspection, original: Option<&Inspection>) -> ();
    insert_outreach(o: &Outreach) -> Inserted<Outreach>;
    insert_broadcast(b: &Broadcast) -> Inserted<Broadcast>;
}

fn station(id: &str) -> Station {
    Station {
        station_id: id.into(),
        name: format!("{id}派出所"),
        kind: 2,
        ..Station::default()
    }
}

fn grid(id: &str, station_id: &str, kind: i32) -> Grid {
    Grid {
        grid_id: id.into(),
        station_id: station_id.into(),
        name: id.into(),
        kind,
        polygon: vec![
            LatLon::new(0.0, 0.0),
            LatLon::new(0.0, 1.0),
            LatLon::new(1.0, 1.0),
            LatLon::new(0.0, 0.0),
        ],
        ..Grid::default()
    }
}

fn scoped(stations: Option<&[&str]>) -> Scope {
    Scope {
        stations: stations.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
        ..Scope::default()
    }
}

async fn stations_grids_and_officers(backend: Backend) {
    let (database, store) = fresh(backend).await;
    assert!(store.put_station(&station("st-a")).await.expect("put"));
    assert!(!store.put_station(&station("st-a")).await.expect("update"));
    store.put_station(&station("st-b")).await.expect("put");
    assert!(
        store
            .put_grid(&grid("g-a1", "st-a", 1))
            .await
            .expect("grid")
    );
    store
        .put_grid(&grid("g-a2", "st-a", 2))
        .await
        .expect("grid");
    store
        .put_grid(&grid("g-b1", "st-b", 1))
        .await
        .expect("grid");
    assert!(
        !store
            .put_grid(&grid("g-a1", "st-a", 1))
            .await
            .expect("update")
    );
    assert_eq!(
        store
            .grid("g-a1")
            .await
            .expect("get")
            .expect("some")
            .station_id,
        "st-a"
    );
    assert!(store.grid("nope").await.expect("get").is_none());
    assert_eq!(store.all_grids().await.expect("all").len(), 3);
    let ids = |grids: Vec<Grid>| grids.into_iter().map(|g| g.grid_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_grids(&scoped(None), 0, PAGE)
            .await
            .expect("list")),
        ["g-a1", "g-a2", "g-b1"]
    );
    assert_eq!(
        ids(store
            .list_grids(&scoped(Some(&["st-b"])), 0, PAGE)
            .await
            .expect("list")),
        ["g-b1"]
    );
    assert!(
        store
            .list_grids(&scoped(Some(&[])), 0, PAGE)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        ids(store
            .list_grids(&scoped(None), 2, PAGE)
            .await
            .expect("list")),
        ["g-a2"]
    );
    let second = Page {
        offset: 1,
        limit: 1,
    };
    assert_eq!(
        ids(store
            .list_grids(&scoped(None), 0, second)
            .await
            .expect("list")),
        ["g-a2"]
    );
    for (officer, role) in [("o-duty", 4), ("o-village", 1)] {
        store
            .put_officer(&GridOfficer {
                grid_id: "g-a1".into(),
                officer_id: officer.into(),
                role,
                ..GridOfficer::default()
            })
            .await
            .expect("officer");
    }
    let officers = store.officers("g-a1").await.expect("officers");
    assert_eq!(
        officers
            .iter()
            .map(|o| o.officer_id.as_str())
            .collect::<Vec<_>>(),
        ["o-village", "o-duty"]
    );
    let by_officer = Scope {
        officer_id: "o-village".into(),
        ..Scope::default()
    };
    assert_eq!(
        ids(store.list_grids(&by_officer, 0, PAGE).await.expect("list")),
        ["g-a1"]
    );
    assert!(
        store
            .remove_officer("g-a1", "o-duty", 4)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_officer("g-a1", "o-duty", 4)
            .await
            .expect("again")
    );
    database.cleanup().await;
}

async fn residents_match_by_hash_and_derive_last_visit(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let resident = Resident {
        resident_id: "r-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-a".into(),
        id_number_hash: "hash-1".into(),
        tags: vec![1],
        ..Resident::default()
    };
    assert!(store.put_resident(&resident).await.expect("put"));
    assert!(!store.put_resident(&resident).await.expect("update"));
    let other = Resident {
        resident_id: "r-2".into(),
        ..resident.clone()
    };
    assert!(matches!(
        store.put_resident(&other).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(
        store
            .resident_by_id_hash("hash-1")
            .await
            .expect("find")
            .expect("some")
            .resident_id,
        "r-1"
    );
    assert!(
        store
            .resident_by_id_hash("hash-2")
            .await
            .expect("find")
            .is_none()
    );
    let visit = |id: &str, request: &str, at: i64, contacted: bool| Visit {
        visit_id: id.into(),
        request_id: request.into(),
        resident_id: "r-1".into(),
        grid_id: "g-1".into(),
        visited_at: at,
        contacted,
        ..Visit::default()
    };
    assert!(matches!(
        store
            .insert_visit(&visit("v-1", "req-1", 100, true))
            .await
            .expect("visit"),
        Inserted::New(_)
    ));
    let repeat = store
        .insert_visit(&visit("v-other", "req-1", 999, true))
        .await
        .expect("repeat");
    assert_eq!(repeat, Inserted::Existing(visit("v-1", "req-1", 100, true)));
    store
        .insert_visit(&visit("v-2", "", 500, false))
        .await
        .expect("not contacted");
    store
        .insert_visit(&visit("v-3", "", 300, true))
        .await
        .expect("later");
    let found = store.resident("r-1").await.expect("get").expect("some");
    assert_eq!(
        found.last_visit_at,
        Some(300),
        "only contacted visits count"
    );
    let in_grid = Scope {
        grid_id: "g-1".into(),
        ..Scope::default()
    };
    assert_eq!(store.residents(&in_grid).await.expect("residents").len(), 1);
    assert!(
        store
            .residents(&scoped(Some(&["st-z"])))
            .await
            .expect("residents")
            .is_empty()
    );
    database.cleanup().await;
}

async fn needs_settle_once_and_list_in_order(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let need = |id: &str, urgent: bool, due: i64, category: i32| Need {
        need_id: id.into(),
        request_id: format!("req-{id}"),
        resident_id: "r-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-a".into(),
        category,
        urgent,
        due_at: due,
        status: 1,
        ..Need::default()
    };
    store
        .insert_need(&need("n-1", false, 10, 2))
        .await
        .expect("n-1");
    store
        .insert_need(&need("n-2", true, 50, 3))
        .await
        .expect("n-2");
    store
        .insert_need(&need("n-3", false, 5, 2))
        .await
        .expect("n-3");
    let open = store
        .open_needs(&NeedFilter::default(), PAGE)
        .await
        .expect("open");
    assert_eq!(
        open.iter().map(|n| n.need_id.as_str()).collect::<Vec<_>>(),
        ["n-2", "n-3", "n-1"]
    );
    let medical = NeedFilter {
        categories: vec![2],
        due_before: Some(8),
        ..NeedFilter::default()
    };
    assert_eq!(
        store.open_needs(&medical, PAGE).await.expect("open").len(),
        1
    );
    assert_eq!(store.open_need_count("r-1").await.expect("count"), 3);
    let mut settled = need("n-1", false, 10, 2);
    settled.status = 2;
    assert!(store.settle_need(&settled).await.expect("settle"));
    assert!(!store.settle_need(&settled).await.expect("only once"));
    assert_eq!(
        store.need("n-1").await.expect("get").expect("some").status,
        2
    );
    assert_eq!(store.open_need_count("r-1").await.expect("count"), 2);
    database.cleanup().await;
}

async fn inspections_outreach_and_broadcasts(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let failed = Inspection {
        inspection_id: "i-1".into(),
        request_id: "req-i-1".into(),
        premises_id: "p-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-a".into(),
        premises_kind: 1,
        status: 1,
        ..Inspection::default()
    };
    store.insert_inspection(&failed).await.expect("insert");
    let mut done = failed.clone();
    done.status = 3;
    done.rectification_deadline = Some(1_000);
    store.update_inspection(&done, None).await.expect("update");
    let filter = ReinspectionFilter::default();
    assert_eq!(
        store
            .due_reinspections(&filter, PAGE)
            .await
            .expect("due")
            .len(),
        1
    );
    let early = ReinspectionFilter {
        due_before: Some(500),
        ..ReinspectionFilter::default()
    };
    assert!(
        store
            .due_reinspections(&early, PAGE)
            .await
            .expect("due")
            .is_empty()
    );
    let recheck = Inspection {
        inspection_id: "i-2".into(),
        request_id: "req-i-2".into(),
        status: 2,
        ..failed.clone()
    };
    store.insert_inspection(&recheck).await.expect("recheck");
    let mut original = done.clone();
    original.status = 4;
    original.reinspection_id = "i-2".into();
    store
        .update_inspection(&recheck, Some(&original))
        .await
        .expect("rectified");
    assert!(
        store
            .due_reinspections(&filter, PAGE)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        store
            .inspection("i-1")
            .await
            .expect("get")
            .expect("some")
            .status,
        4
    );

    let event = |id: &str, grid: &str, at: i64| Outreach {
        outreach_id: id.into(),
        request_id: format!("req-{id}"),
        grid_id: grid.into(),
        station_id: "st-a".into(),
        held_at: at,
        ..Outreach::default()
    };
    store
        .insert_outreach(&event("o-1", "g-1", 10))
        .await
        .expect("o-1");
    store
        .insert_outreach(&event("o-2", "g-2", 20))
        .await
        .expect("o-2");
    assert!(matches!(
        store.insert_outreach(&event("o-1b", "g-1", 10)).await,
        Ok(Inserted::New(_))
    ));
    let repeat = Outreach {
        outreach_id: "o-x".into(),
        ..event("o-1", "g-1", 10)
    };
    assert!(
        matches!(store.insert_outreach(&repeat).await, Ok(Inserted::Existing(e)) if e.outreach_id == "o-1")
    );
    let window = OutreachFilter {
        from: Some(15),
        until: Some(25),
        ..OutreachFilter::default()
    };
    assert_eq!(store.outreach(&window).await.expect("outreach").len(), 1);
    let one_grid = OutreachFilter {
        grid_ids: vec!["g-1".into()],
        ..OutreachFilter::default()
    };
    assert_eq!(store.outreach(&one_grid).await.expect("outreach").len(), 2);

    let broadcast = Broadcast {
        broadcast_id: "b-1".into(),
        request_id: "req-b".into(),
        grid_id: "g-1".into(),
        ..Broadcast::default()
    };
    store.insert_broadcast(&broadcast).await.expect("broadcast");
    assert_eq!(
        store.broadcast_by_request("req-b").await.expect("get"),
        Some(broadcast)
    );
    database.cleanup().await;
}

fn address(id: &str, grid_id: &str, station_id: &str, text: &str) -> Address {
    Address {
        address_id: id.into(),
        grid_id: grid_id.into(),
        station_id: station_id.into(),
        full_text: text.into(),
        location: Some(LatLon::new(29.29, 92.24)),
        ..Address::default()
    }
}

/// Standard addresses list by scope, and resolve from what the store returns.
async fn addresses_list_by_scope_and_resolve(backend: Backend) {
    let (database, store) = fresh(backend).await;
    assert!(
        store
            .put_address(&address(
                "a-2",
                "g-b",
                "st-b",
                "日喀则市桑珠孜区东郊社区31号"
            ))
            .await
            .expect("put")
    );
    store
        .put_address(&address("a-1", "g-a", "st-a", "山南市桑日县玉村37号"))
        .await
        .expect("put");
    let mut moved = address("a-1", "g-a2", "st-a", "山南市桑日县玉村37号");
    moved.address_code = "540525".into();
    assert!(!store.put_address(&moved).await.expect("update"));
    let all = store.addresses(&Scope::default()).await.expect("all");
    let ids: Vec<_> = all.iter().map(|a| a.address_id.as_str()).collect();
    assert_eq!(ids, ["a-1", "a-2"], "by id");
    assert_eq!(all[0], moved, "the update replaced the address");
    let mine = store
        .addresses(&scoped(Some(&["st-b"])))
        .await
        .expect("scoped");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].address_id, "a-2");
    let one_station = Scope {
        station_id: "st-a".into(),
        ..Scope::default()
    };
    assert_eq!(
        store.addresses(&one_station).await.expect("station").len(),
        1
    );
    assert!(
        store
            .addresses(&scoped(Some(&[])))
            .await
            .expect("none")
            .is_empty()
    );
    let found = address_match::resolve("桑日县玉村３７號", &all).expect("resolved");
    assert_eq!(found.address.grid_id, "g-a2");
    assert_eq!(found.kind, address_match::MatchKind::Normalised);
    database.cleanup().await;
}

backend_tests!(
    addresses_list_by_scope_and_resolve,
    stations_grids_and_officers,
    residents_match_by_hash_and_derive_last_visit,
    needs_settle_once_and_list_in_order,
    inspections_outreach_and_broadcasts,
);
