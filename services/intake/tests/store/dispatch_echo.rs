//! Dispatch's echo of a dispatch intake opened itself is recognised from one row read: exactly
//! this incident, this dispatch id and a priority.

use super::*;

async fn an_incident_records_its_own_dispatch(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let dispatched = IncidentRecord {
        dispatch_id: "d-1".into(),
        ..incident("inc-dispatched", 0, "s-1")
    };
    let unprioritised = IncidentRecord {
        dispatch_id: "d-2".into(),
        priority: 0,
        ..incident("inc-no-priority", 0, "s-1")
    };
    insert(
        &store,
        &database,
        &[dispatched, unprioritised, incident("inc-new", 0, "s-1")],
    )
    .await;
    let mut tx = database.db.begin_write().await.expect("tx");
    for (incident_id, dispatch_id, expected) in [
        ("inc-dispatched", "d-1", true),
        ("inc-dispatched", "d-9", false),
        ("inc-no-priority", "d-2", false),
        ("inc-new", "", false),
        ("inc-unknown", "d-1", false),
    ] {
        let recorded = store
            .records_dispatch(&mut tx, incident_id, dispatch_id)
            .await
            .expect("read");
        assert_eq!(recorded, expected, "{incident_id} {dispatch_id}");
    }
    tx.rollback().await.expect("rollback");
    database.cleanup().await;
}

backend_tests!(an_incident_records_its_own_dispatch);
