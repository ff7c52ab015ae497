//! Conformance of the read side's queries on both backends: premises and their latest completed
//! inspection, inspections, needs open and settled, and visits, each with its filters, its
//! jurisdiction scope, its order and its paging.

use pingan_grid_registry::MIGRATIONS;
use pingan_grid_registry::domain::*;
use pingan_grid_registry::store::{
    InspectionFilter, NeedQuery, Page, PremisesFilter, Scope, SqlStore, Store, VisitFilter,
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

fn bureau() -> Scope {
    Scope::default()
}

fn only(stations: &[&str]) -> Scope {
    Scope {
        stations: Some(stations.iter().map(|s| (*s).to_owned()).collect()),
        ..Scope::default()
    }
}

fn premises(id: &str, station: &str, grid: &str, kind: pb::PremisesKind) -> Premises {
    Premises {
        premises_id: id.into(),
        kind: kind as i32,
        name: id.into(),
        grid_id: grid.into(),
        station_id: station.into(),
        created_at: T0,
        updated_at: T0,
        ..Premises::default()
    }
}

fn inspection(
    id: &str,
    premises_id: &str,
    station: &str,
    status: pb::InspectionStatus,
    started: Millis,
    completed: Option<Millis>,
) -> Inspection {
    Inspection {
        inspection_id: id.into(),
        premises_id: premises_id.into(),
        premises_kind: pb::PremisesKind::LogisticsSite as i32,
        grid_id: format!("{station}-g1"),
        station_id: station.into(),
        template_id: "LOGISTICS_SAFETY".into(),
        status: status as i32,
        started_at: started,
        completed_at: completed,
        updated_at: started,
        items: vec![InspectionItem {
            item_code: "XRAY_SCREENING".into(),
            description: "过机安检".into(),
            result: pb::ItemResult::Pass as i32,
            ..InspectionItem::default()
        }],
        ..Inspection::default()
    }
}

fn need(id: &str, station: &str, officer: &str, status: pb::NeedStatus, at: Millis) -> Need {
    Need {
        need_id: id.into(),
        resident_id: format!("r-{station}"),
        grid_id: format!("{station}-g1"),
        station_id: station.into(),
        category: pb::NeedCategory::Medical as i32,
        description: "送药".into(),
        status: status as i32,
        assigned_officer_id: officer.into(),
        due_at: at + 24 * HOUR,
        visit_id: if id == "n-1" {
            "v-1".into()
        } else {
            String::new()
        },
        created_at: at,
        updated_at: at,
        ..Need::default()
    }
}

fn visit(id: &str, station: &str, officer: &str, at: Millis, need_id: &str) -> Visit {
    Visit {
        visit_id: id.into(),
        resident_id: format!("r-{station}"),
        grid_id: format!("{station}-g1"),
        station_id: station.into(),
        officer_id: officer.into(),
        purpose: if need_id.is_empty() {
            pb::VisitPurpose::WelfareCheck
        } else {
            pb::VisitPurpose::NeedFollowUp
        } as i32,
        visited_at: at,
        contacted: true,
        need_id: need_id.into(),
        created_at: at,
        ..Visit::default()
    }
}

async fn premises_with_their_last_inspection(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = database.db.begin_write().await.expect("tx");
    for p in [
        premises("p-a1", "st-a", "st-a-g1", pb::PremisesKind::LogisticsSite),
        premises("p-a2", "st-a", "st-a-g2", pb::PremisesKind::Shop),
        premises("p-a3", "st-a", "st-a-g2", pb::PremisesKind::LogisticsSite),
        premises("p-b1", "st-b", "st-b-g1", pb::PremisesKind::LogisticsSite),
    ] {
        store.put_premises(&mut tx, &p).await.expect("premises");
    }
    use pb::InspectionStatus::{InProgress, Passed, RectificationRequired, Rectified};
    for i in [
        inspection("i-1", "p-a1", "st-a", Rectified, T0, Some(T0 + HOUR)),
        inspection(
            "i-2",
            "p-a1",
            "st-a",
            Passed,
            T0 + 2 * HOUR,
            Some(T0 + 3 * HOUR),
        ),
        inspection("i-3", "p-a1", "st-a", InProgress, T0 + 4 * HOUR, None),
        inspection(
            "i-4",
            "p-b1",
            "st-b",
            RectificationRequired,
            T0 + HOUR,
            Some(T0 + 2 * HOUR),
        ),
    ] {
        store
            .insert_inspection(&mut tx, &i)
            .await
            .expect("inspection");
    }
    tx.commit().await.expect("commit");

    let ids = |list: Vec<Premises>| list.into_iter().map(|p| p.premises_id).collect::<Vec<_>>();
    let list = |scope: Scope, kind: pb::PremisesKind, page: Page| {
        let store = store.clone();
        async move {
            let filter = PremisesFilter {
                scope,
                kind: kind as i32,
            };
            ids(store.list_premises(&filter, page).await.expect("premises"))
        }
    };
    use pb::PremisesKind::{LogisticsSite, Unspecified};
    assert_eq!(
        list(bureau(), Unspecified, PAGE).await,
        ["p-a1", "p-a2", "p-a3", "p-b1"]
    );
    assert_eq!(
        list(only(&["st-a"]), LogisticsSite, PAGE).await,
        ["p-a1", "p-a3"]
    );
    let grid = Scope {
        grid_id: "st-a-g2".into(),
        ..bureau()
    };
    assert_eq!(list(grid, Unspecified, PAGE).await, ["p-a2", "p-a3"]);
    let station = Scope {
        station_id: "st-b".into(),
        ..only(&["st-a"])
    };
    assert!(list(station, Unspecified, PAGE).await.is_empty());
    assert!(list(only(&[]), Unspecified, PAGE).await.is_empty());
    let second = Page {
        offset: 1,
        limit: 2,
    };
    assert_eq!(list(bureau(), Unspecified, second).await, ["p-a2", "p-a3"]);

    // The latest completed inspection of each; in-progress ones and none at all do not count.
    let last = store
        .last_inspections(&["p-a1".into(), "p-a2".into(), "p-b1".into()])
        .await
        .expect("last");
    assert_eq!(last.len(), 2);
    assert_eq!(last["p-a1"].inspection_id, "i-2");
    assert_eq!(last["p-a1"].status, Passed as i32);
    assert_eq!(last["p-a1"].completed_at, Some(T0 + 3 * HOUR));
    assert_eq!(last["p-b1"].status, RectificationRequired as i32);
    assert!(store.last_inspections(&[]).await.expect("none").is_empty());
}

async fn inspections_by_filter(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = database.db.begin_write().await.expect("tx");
    use pb::InspectionStatus::{InProgress, Passed, RectificationRequired, Rectified};
    for i in [
        inspection("i-1", "p-a1", "st-a", Rectified, T0, Some(T0 + HOUR)),
        inspection(
            "i-2",
            "p-a1",
            "st-a",
            Passed,
            T0 + 2 * HOUR,
            Some(T0 + 3 * HOUR),
        ),
        inspection("i-3", "p-a2", "st-a", InProgress, T0 + 4 * HOUR, None),
        inspection(
            "i-4",
            "p-b1",
            "st-b",
            RectificationRequired,
            T0 + HOUR,
            Some(T0 + 2 * HOUR),
        ),
    ] {
        store
            .insert_inspection(&mut tx, &i)
            .await
            .expect("inspection");
    }
    tx.commit().await.expect("commit");
    let list = |filter: InspectionFilter, page: Page| {
        let store = store.clone();
        async move {
            store
                .list_inspections(&filter, page)
                .await
                .expect("inspections")
                .into_iter()
                .map(|i| (i.inspection_id, i.items.len()))
                .collect::<Vec<_>>()
        }
    };
    let ids = |rows: Vec<(String, usize)>| rows.into_iter().map(|r| r.0).collect::<Vec<_>>();
    let all = list(InspectionFilter::default(), PAGE).await;
    assert_eq!(ids(all.clone()), ["i-3", "i-2", "i-4", "i-1"]);
    assert!(all.iter().all(|(_, items)| *items == 1), "checklists read");
    assert_eq!(
        ids(list(
            InspectionFilter {
                scope: only(&["st-a"]),
                status: Rectified as i32,
                ..InspectionFilter::default()
            },
            PAGE
        )
        .await),
        ["i-1"]
    );
    assert_eq!(
        ids(list(
            InspectionFilter {
                premises_id: "p-a1".into(),
                from: Some(T0 + HOUR),
                until: Some(T0 + 3 * HOUR),
                ..InspectionFilter::default()
            },
            PAGE
        )
        .await),
        ["i-2"]
    );
    assert_eq!(
        ids(list(
            InspectionFilter {
                scope: Scope {
                    station_id: "st-b".into(),
                    ..bureau()
                },
                premises_kind: pb::PremisesKind::LogisticsSite as i32,
                ..InspectionFilter::default()
            },
            PAGE
        )
        .await),
        ["i-4"]
    );
    assert!(
        list(
            InspectionFilter {
                premises_kind: pb::PremisesKind::Shop as i32,
                ..InspectionFilter::default()
            },
            PAGE
        )
        .await
        .is_empty()
    );
    let page = Page {
        offset: 1,
        limit: 2,
    };
    assert_eq!(
        ids(list(InspectionFilter::default(), page).await),
        ["i-2", "i-4"]
    );
}

async fn needs_open_and_settled_and_visits(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = database.db.begin_write().await.expect("tx");
    use pb::NeedStatus::{ClosedUnresolved, Open, Referred, Resolved};
    for n in [
        need("n-1", "st-a", "o-1", Resolved, T0),
        need("n-2", "st-a", "o-2", Open, T0 + HOUR),
        need("n-3", "st-b", "o-1", Referred, T0 + 2 * HOUR),
    ] {
        store.insert_need(&mut tx, &n).await.expect("need");
    }
    for v in [
        visit("v-1", "st-a", "o-1", T0 - HOUR, ""),
        visit("v-2", "st-a", "o-1", T0 + 2 * HOUR, "n-1"),
        visit("v-3", "st-a", "o-2", T0 + 3 * HOUR, ""),
        visit("v-4", "st-b", "o-1", T0 + 4 * HOUR, "n-3"),
    ] {
        store.insert_visit(&mut tx, &v).await.expect("visit");
    }
    tx.commit().await.expect("commit");

    let needs = |query: NeedQuery| {
        let store = store.clone();
        async move {
            store
                .list_needs(&query, PAGE)
                .await
                .expect("needs")
                .into_iter()
                .map(|n| n.need_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(needs(NeedQuery::default()).await, ["n-3", "n-2", "n-1"]);
    let settled = vec![Resolved as i32, Referred as i32, ClosedUnresolved as i32];
    assert_eq!(
        needs(NeedQuery {
            statuses: settled.clone(),
            ..NeedQuery::default()
        })
        .await,
        ["n-3", "n-1"]
    );
    assert_eq!(
        needs(NeedQuery {
            scope: only(&["st-a"]),
            statuses: settled,
            ..NeedQuery::default()
        })
        .await,
        ["n-1"]
    );
    assert_eq!(
        needs(NeedQuery {
            scope: Scope {
                officer_id: "o-1".into(),
                ..bureau()
            },
            from: Some(T0),
            until: Some(T0 + 2 * HOUR),
            ..NeedQuery::default()
        })
        .await,
        ["n-1"]
    );
    assert_eq!(
        needs(NeedQuery {
            resident_id: "r-st-b".into(),
            categories: vec![pb::NeedCategory::Medical as i32],
            ..NeedQuery::default()
        })
        .await,
        ["n-3"]
    );
    assert!(
        needs(NeedQuery {
            categories: vec![pb::NeedCategory::Housing as i32],
            ..NeedQuery::default()
        })
        .await
        .is_empty()
    );

    // A need's visits: the one it was noted in and those following it up, oldest first.
    let linked: Vec<String> = store
        .need_visits("n-1", "v-1")
        .await
        .expect("linked")
        .into_iter()
        .map(|v| v.visit_id)
        .collect();
    assert_eq!(linked, ["v-1", "v-2"]);
    let linked = store.need_visits("n-2", "").await.expect("none");
    assert!(linked.is_empty());

    let visits = |filter: VisitFilter, page: Page| {
        let store = store.clone();
        async move {
            store
                .list_visits(&filter, page)
                .await
                .expect("visits")
                .into_iter()
                .map(|v| v.visit_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        visits(VisitFilter::default(), PAGE).await,
        ["v-4", "v-3", "v-2", "v-1"]
    );
    let officer = |id: &str, scope: Scope| Scope {
        officer_id: id.into(),
        ..scope
    };
    assert_eq!(
        visits(
            VisitFilter {
                scope: officer("o-1", only(&["st-a"])),
                from: Some(T0),
                until: Some(T0 + 5 * HOUR),
                ..VisitFilter::default()
            },
            PAGE
        )
        .await,
        ["v-2"]
    );
    assert_eq!(
        visits(
            VisitFilter {
                scope: officer("o-1", bureau()),
                purpose: pb::VisitPurpose::NeedFollowUp as i32,
                ..VisitFilter::default()
            },
            PAGE
        )
        .await,
        ["v-4", "v-2"]
    );
    assert_eq!(
        visits(
            VisitFilter {
                need_id: "n-3".into(),
                ..VisitFilter::default()
            },
            PAGE
        )
        .await,
        ["v-4"]
    );
    assert_eq!(
        visits(
            VisitFilter {
                scope: Scope {
                    grid_id: "st-a-g1".into(),
                    ..bureau()
                },
                resident_id: "r-st-a".into(),
                ..VisitFilter::default()
            },
            Page {
                offset: 2,
                limit: 5
            }
        )
        .await,
        ["v-1"]
    );
    let read = store.need("n-1").await.expect("need").expect("some");
    assert_eq!(read.status, Resolved as i32);
    let stored = store
        .list_visits(
            &VisitFilter {
                need_id: "n-1".into(),
                ..VisitFilter::default()
            },
            PAGE,
        )
        .await
        .expect("visit");
    assert_eq!(stored[0].need_id, "n-1", "the linked need reads back");
}

backend_tests!(
    premises_with_their_last_inspection,
    inspections_by_filter,
    needs_open_and_settled_and_visits,
);
