//! Link decisions lock the cells of their area, on both backends: a decision near one in
//! progress waits for it to end (so it sees that decision's primary), and on Postgres a
//! decision far away goes ahead meanwhile (SQLite has one writer for the whole file, so there
//! every decision waits).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use pingan_intake::MIGRATIONS;
use pingan_intake::domain::{distance_m, link_cells};
use pingan_intake::store::{SqlStore, Store};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, Db};
use pingan_platform::testing::TestDatabase;
use tokio::sync::oneshot;

backend_tests!(nearby_decisions_wait_and_distant_ones_do_not);

const RADIUS_M: f64 = 300.0;
/// Long enough for a decision that is not blocked to take its cells on a loaded machine.
const GO_AHEAD: Duration = Duration::from_secs(10);
/// How long a blocked decision is watched before the first one ends.
const HELD: Duration = Duration::from_millis(400);

/// Starts a decision at (`lat`, `lon`) in its own task: it begins a write transaction, takes
/// the cells and reports that it holds them, then ends when told.
fn decide(
    db: &Db,
    store: &SqlStore,
    lat: f64,
    lon: f64,
) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (holding, held) = oneshot::channel();
    let (release, released) = oneshot::channel::<()>();
    let (db, store) = (db.clone(), store.clone());
    tokio::spawn(async move {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).single();
        let at = at.expect("valid time");
        let mut tx = db.begin_write().await.expect("begin");
        let cells = link_cells(lat, lon, RADIUS_M);
        store
            .take_link_cells(&mut tx, &cells, at)
            .await
            .expect("cells");
        let _ = holding.send(());
        let _ = released.await;
        tx.commit().await.expect("commit");
    });
    (held, release)
}

async fn nearby_decisions_wait_and_distant_ones_do_not(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    // A cell corner in Shigatse, so the first decision's box spans four cells.
    let (lat, lon) = (29.27, 88.88);
    let (first, release_first) = decide(&database.db, &store, lat, lon);
    tokio::time::timeout(GO_AHEAD, first)
        .await
        .expect("the first decision takes its cells")
        .expect("holding");

    // 250 m away across the corner: a call the first one may be linked with.
    let (near_lat, near_lon) = (lat - 0.0016, lon - 0.0018);
    assert!(distance_m(lat, lon, near_lat, near_lon) < RADIUS_M);
    let (mut near, release_near) = decide(&database.db, &store, near_lat, near_lon);
    // 5 km away: nothing to link with.
    let (far, release_far) = decide(&database.db, &store, lat + 0.045, lon);
    match backend {
        Backend::Postgres => {
            tokio::time::timeout(GO_AHEAD, far)
                .await
                .expect("a distant decision does not wait")
                .expect("holding");
            let _ = release_far.send(());
        }
        // One writer per file: the distant decision waits like the near one.
        Backend::Sqlite => drop(release_far),
    }
    assert!(
        tokio::time::timeout(HELD, &mut near).await.is_err(),
        "a nearby decision waits while the first holds its cells"
    );
    let _ = release_first.send(());
    tokio::time::timeout(GO_AHEAD, near)
        .await
        .expect("the nearby decision goes on once the first ends")
        .expect("holding");
    let _ = release_near.send(());
    database.cleanup().await;
}
