//! The duplicate search by place reads the cells a call's radius touches: incidents written by
//! this release are filed under their cell (inserted or given a point later), and those an
//! earlier release left unfiled are filed by the start-up step, after which a search finds them.

use pingan_platform::with_db;

use super::*;

async fn candidates(store: &SqlStore, database: &TestDatabase, lat: f64, lon: f64) -> Vec<String> {
    let cells = pingan_intake::domain::search_cells(lat, lon, 300.0).expect("a town's box");
    let mut tx = database.db.begin_write().await.expect("tx");
    let found = store
        .link_candidates(&mut tx, "inc-none", Some(&cells), at(-15), at(15))
        .await
        .expect("candidates");
    tx.rollback().await.expect("rollback");
    found.into_iter().map(|c| c.incident_id).collect()
}

async fn incidents_are_filed_and_old_rows_filed_on_start(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut unplaced = IncidentRecord {
        link_checked: true,
        has_location: false,
        ..incident("inc-placed-later", 1, "s-1")
    };
    (unplaced.lat, unplaced.lon) = (0.0, 0.0);
    let filed = IncidentRecord {
        link_checked: true,
        ..incident("inc-filed", 0, "s-1")
    };
    let old = IncidentRecord {
        link_checked: true,
        ..incident("inc-old", 2, "s-1")
    };
    insert(&store, &database, &[filed, unplaced, old]).await;
    assert_eq!(
        candidates(&store, &database, 29.65, 91.13).await,
        ["inc-filed", "inc-old"]
    );

    // A dispatcher places the held incident 100 m away: it is filed there.
    let mut tx = database.db.begin_write().await.expect("tx");
    store
        .set_location(&mut tx, "inc-placed-later", 29.651, 91.13)
        .await
        .expect("placed");
    tx.commit().await.expect("commit");
    assert_eq!(
        candidates(&store, &database, 29.65, 91.13).await,
        ["inc-filed", "inc-placed-later", "inc-old"]
    );

    // A row as the release before the search by place wrote it: unfiled, so not found...
    with_db!(&database.db, pool => sqlx::query(
        "UPDATE intake_incidents SET link_cell = '' WHERE incident_id = 'inc-old'")
        .execute(pool).await.map(|r| r.rows_affected()))
    .expect("unfile");
    assert_eq!(
        candidates(&store, &database, 29.65, 91.13).await,
        ["inc-filed", "inc-placed-later"]
    );
    // ...until the start-up step files it; rows received before `since` are left alone.
    assert_eq!(store.file_unfiled(at(3)).await.expect("file"), 0);
    assert_eq!(store.file_unfiled(at(-60)).await.expect("file"), 1);
    assert_eq!(store.file_unfiled(at(-60)).await.expect("file"), 0, "once");
    assert_eq!(
        candidates(&store, &database, 29.65, 91.13).await,
        ["inc-filed", "inc-placed-later", "inc-old"]
    );
    // Across town (~5 km) nothing of these is searched.
    assert!(
        candidates(&store, &database, 29.695, 91.13)
            .await
            .is_empty()
    );
    database.cleanup().await;
}

backend_tests!(incidents_are_filed_and_old_rows_filed_on_start);
