//! The store in wire messages, for the use cases that still work in them (they move to the
//! domain records of `domain::model` with the app/ split).

use chrono::{DateTime, Utc};
use pingan_platform::storage::{StorageError, Tx};
use pingan_proto::dispatch::v1::{Assignment, AssignmentStatus, Dispatch, Flight, TimelineEntry};

use crate::domain::model;
use crate::store::{DispatchCursor, DispatchFilter, Store};

fn wire(d: model::Dispatch) -> Dispatch {
    Dispatch::from(&d)
}

pub async fn insert_dispatch(s: &dyn Store, tx: &mut Tx, d: &Dispatch) -> Result<(), StorageError> {
    s.insert_dispatch(tx, &model::Dispatch::from(d)).await
}

pub async fn update_dispatch(s: &dyn Store, tx: &mut Tx, d: &Dispatch) -> Result<(), StorageError> {
    s.update_dispatch(tx, &model::Dispatch::from(d)).await
}

pub async fn lock_dispatch(
    s: &dyn Store,
    tx: &mut Tx,
    dispatch_id: &str,
) -> Result<Option<Dispatch>, StorageError> {
    Ok(s.lock_dispatch(tx, dispatch_id).await?.map(wire))
}

pub async fn dispatch(s: &dyn Store, dispatch_id: &str) -> Result<Option<Dispatch>, StorageError> {
    Ok(s.dispatch(dispatch_id).await?.map(wire))
}

pub async fn list_dispatches(
    s: &dyn Store,
    filter: &DispatchFilter,
    cursor: Option<DispatchCursor>,
    limit: i64,
) -> Result<Vec<Dispatch>, StorageError> {
    let list = s.list_dispatches(filter, cursor, limit).await?;
    Ok(list.into_iter().map(wire).collect())
}

pub async fn open_dispatches(s: &dyn Store, limit: i64) -> Result<Vec<Dispatch>, StorageError> {
    Ok(s.open_dispatches(limit)
        .await?
        .into_iter()
        .map(wire)
        .collect())
}

pub async fn insert_assignment(
    s: &dyn Store,
    tx: &mut Tx,
    a: &Assignment,
) -> Result<(), StorageError> {
    s.insert_assignment(tx, &model::Assignment::from(a)).await
}

pub async fn update_assignment(
    s: &dyn Store,
    tx: &mut Tx,
    a: &Assignment,
    expected: i32,
) -> Result<bool, StorageError> {
    let expected = AssignmentStatus::try_from(expected).unwrap_or_default();
    s.update_assignment(tx, &model::Assignment::from(a), expected)
        .await
}

pub async fn insert_entry(
    s: &dyn Store,
    tx: &mut Tx,
    e: &TimelineEntry,
) -> Result<(), StorageError> {
    s.insert_entry(tx, &model::TimelineEntry::from(e)).await
}

pub async fn timeline(
    s: &dyn Store,
    dispatch_id: &str,
    incident_id: &str,
) -> Result<Vec<TimelineEntry>, StorageError> {
    let entries = s.timeline(dispatch_id, incident_id).await?;
    Ok(entries.iter().map(TimelineEntry::from).collect())
}

pub async fn insert_flight(
    s: &dyn Store,
    tx: &mut Tx,
    f: &Flight,
    station_id: &str,
) -> Result<(), StorageError> {
    s.insert_flight(tx, &model::Flight::from(f), station_id)
        .await
}

pub async fn flights(
    s: &dyn Store,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    station_id: &str,
) -> Result<Vec<(Flight, String)>, StorageError> {
    let flights = s.flights(from, until, station_id).await?;
    Ok(flights
        .into_iter()
        .map(|(f, station)| (Flight::from(&f), station))
        .collect())
}
