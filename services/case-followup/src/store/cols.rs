//! How field types become columns and back: enums by their text names, instants as the
//! platform's timestamp type, durations in nanoseconds, an actor as subject/role/name (NULL
//! subject: none), a point as lat/lon (NULL: none).

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, t};
use pingan_proto::common::v1::{Actor, GeoPoint};
use pingan_proto::followup::v1::{
    ContactMethod, ContactTaskStatus, FoundItemStatus, IdentityCheck, ItemKind, LostReportStatus,
    MediationNextStep, MediationStatus, OwnerSource, PartyRole, RegistryLookup, RevisitReason,
    RevisitStatus,
};
use prost_types::{Duration, Timestamp};

use crate::domain::{from_ts, ts};

/// A protobuf enum stored under its text name.
pub(super) trait Named {
    /// The name of `value` (unknown values: the unspecified name).
    fn name_of(value: i32) -> &'static str;
    /// The value of `name` (unknown names: 0, unspecified).
    fn value_of(name: &str) -> i32;
}

macro_rules! named {
    ($($ty:ty),*) => {$(
        impl Named for $ty {
            fn name_of(value: i32) -> &'static str {
                <$ty>::try_from(value).unwrap_or_default().as_str_name()
            }
            fn value_of(name: &str) -> i32 {
                <$ty>::from_str_name(name).map_or(0, |e| e as i32)
            }
        }
    )*};
}

named!(
    ContactMethod,
    ContactTaskStatus,
    FoundItemStatus,
    IdentityCheck,
    ItemKind,
    LostReportStatus,
    MediationNextStep,
    MediationStatus,
    OwnerSource,
    PartyRole,
    RegistryLookup,
    RevisitReason,
    RevisitStatus
);

/// An enum value as its name.
pub(super) fn name<E: Named>(value: i32) -> Arg {
    t(E::name_of(value))
}

/// An enum column.
pub(super) fn enum_col<E: Named>(row: &dyn Cols, column: &str) -> Result<i32, StorageError> {
    Ok(E::value_of(&row.text(column)?))
}

/// A text value.
pub(super) fn s(value: &str) -> Arg {
    t(value)
}

/// An optional instant.
pub(super) fn time(at: Option<&Timestamp>) -> Arg {
    Arg::Time(at.and_then(from_ts))
}

/// An instant the row cannot go without.
pub(super) fn required_time(at: Option<&Timestamp>, what: &str) -> Result<Arg, StorageError> {
    at.and_then(from_ts)
        .map(|at| Arg::Time(Some(at)))
        .ok_or_else(|| StorageError::Other(format!("{what} has no valid time").into()))
}

/// An instant column.
pub(super) fn time_col(row: &dyn Cols, column: &str) -> Result<Option<Timestamp>, StorageError> {
    Ok(row.opt_time(column)?.map(ts))
}

/// A duration in nanoseconds (saturating).
pub(super) fn nanos(d: Option<&Duration>) -> Arg {
    Arg::Int(d.map(|d| {
        d.seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(d.nanos))
    }))
}

/// A duration column.
pub(super) fn duration_col(row: &dyn Cols, column: &str) -> Result<Option<Duration>, StorageError> {
    Ok(row.opt_int(column)?.map(|ns| Duration {
        seconds: ns / 1_000_000_000,
        nanos: i32::try_from(ns % 1_000_000_000).unwrap_or_default(),
    }))
}

/// The three columns of an actor.
pub(super) fn actor(names: [&'static str; 3], actor: Option<&Actor>) -> [(&'static str, Arg); 3] {
    let [subject, role, display] = names;
    match actor {
        Some(a) => [
            (subject, s(&a.subject)),
            (role, s(&a.role)),
            (display, s(&a.display_name)),
        ],
        None => [(subject, Arg::Text(None)), (role, t("")), (display, t(""))],
    }
}

/// An actor from its three columns.
pub(super) fn actor_col(
    row: &dyn Cols,
    [subject, role, display]: [&str; 3],
) -> Result<Option<Actor>, StorageError> {
    let Some(subject) = row.opt_text(subject)? else {
        return Ok(None);
    };
    Ok(Some(Actor {
        subject,
        role: row.text(role)?,
        display_name: row.text(display)?,
    }))
}

/// The two columns of a point.
pub(super) fn point(
    [lat, lon]: [&'static str; 2],
    point: Option<&GeoPoint>,
) -> [(&'static str, Arg); 2] {
    [
        (lat, Arg::Float(point.map(|p| p.lat))),
        (lon, Arg::Float(point.map(|p| p.lon))),
    ]
}

/// A point from its two columns.
pub(super) fn point_col(
    row: &dyn Cols,
    [lat, lon]: [&str; 2],
) -> Result<Option<GeoPoint>, StorageError> {
    Ok(match (row.opt_float(lat)?, row.opt_float(lon)?) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        _ => None,
    })
}

/// A record stored before migration 0002 (its protobuf encoding), or None for a column row.
pub(super) fn legacy<M: prost::Message + Default>(
    row: &dyn Cols,
) -> Result<Option<M>, StorageError> {
    match row.bytes("record")? {
        Some(record) if !record.is_empty() => M::decode(record.as_slice())
            .map(Some)
            .map_err(|err| StorageError::Other(Box::new(err))),
        _ => Ok(None),
    }
}
